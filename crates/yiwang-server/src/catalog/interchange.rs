//! Import and export.

use super::*;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Check only, write nothing.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Submit the created and changed entries for review (default true).
    #[serde(default)]
    pub submit: Option<bool>,
    /// `json`, `xlsx` or `csv` (a zip of sheets, or one sheet); by Content-Type when absent.
    #[serde(default)]
    pub format: Option<String>,
}

/// Reads, checks and (unless every entry is fine) refuses an import; the caller's scope
/// is checked for each entry (basic entries: the province; items: their department).
pub async fn import_bytes(
    s: &AppState,
    ctx: &Ctx,
    format: sheets::Format,
    bytes: &[u8],
    dry_run: bool,
    submit: bool,
) -> ApiResult<store::ImportReport> {
    let (doc, prov) = match sheets::read(&s.store, format, bytes).await? {
        Ok(x) => x,
        Err(problems) => {
            return Ok(store::ImportReport {
                ok: false,
                dry_run,
                problems,
                ..Default::default()
            });
        }
    };
    if !doc.basic.is_empty() {
        ctx.require(
            Permission::CatalogManage,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )?;
    }
    for it in &doc.items {
        let dept = match (&it.department_uscc, &it.department_name) {
            (Some(u), _) => yiwang_store::orgs::department_by_uscc(&s.store.read, u).await?,
            (None, Some(n)) => yiwang_store::orgs::departments(&s.store.read, None)
                .await?
                .into_iter()
                .find(|d| &d.name == n),
            _ => None,
        };
        if let Some(d) = dept {
            ctx.require(
                Permission::CatalogManage,
                &Target::Department {
                    id: d.id,
                    region_code: d.region_code,
                },
            )?;
        }
    }
    let opts = store::ImportOptions {
        dry_run,
        submit,
        region_code: s.home_region.clone(),
        chunk: 100,
    };
    let mut report = store::import(&s.store, ctx.meta(), &doc, &opts, &|_, _, _| {}).await?;
    if let Some(p) = prov {
        for x in &mut report.problems {
            p.place(x);
        }
    }
    Ok(report)
}

/// Imports catalogue entries from our JSON format, an xlsx workbook or CSV (a zip of
/// sheets): every row is checked first and every problem reported with its place; only
/// a file without problems is written; unchanged entries are skipped.
#[utoipa::path(post, path = "/api/v1/catalog/import", params(ImportParams), tag = "catalog",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Object), (status = 422, body = Object), (status = 403, body = Problem)))]
pub async fn api_import(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> ApiResult<Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match p.format.as_deref() {
        Some("json") => sheets::Format::Json,
        Some("xlsx") => sheets::Format::Xlsx,
        Some("csv") => sheets::Format::Csv,
        Some(_) => {
            return Err(ApiError::bad_request(FieldError::new(
                "format",
                "type",
                "格式应为 json、xlsx 或 csv",
                "format is json, xlsx or csv",
            )));
        }
        None => sheets::Format::guess(ct, &body),
    };
    let report = import_bytes(
        &s,
        &ctx,
        format,
        &body,
        p.dry_run.unwrap_or(false),
        p.submit.unwrap_or(true),
    )
    .await?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default, lossless), `xlsx` or `csv` (a zip of sheets).
    #[serde(default)]
    pub format: Option<String>,
    /// `current` (default: drafts as managers see them) or `published`.
    #[serde(default)]
    pub state: Option<String>,
}

/// Exports the catalogue (JSON round-trips losslessly; spreadsheets carry the elements
/// their sheets have).
#[utoipa::path(get, path = "/api/v1/catalog/export", params(ExportParams), tag = "catalog",
    responses((status = 200, body = Object), (status = 400, body = Problem)))]
pub async fn api_export(State(s): State<AppState>, ApiQuery(p): ApiQuery<ExportParams>) -> ApiResult<Response> {
    let state = match p.state.as_deref() {
        None | Some("current") => ExportState::Current,
        Some("published") => ExportState::Published,
        Some(_) => {
            return Err(ApiError::bad_request(FieldError::new(
                "state",
                "type",
                "应为 current 或 published",
                "state is current or published",
            )));
        }
    };
    let doc = store::export(&s.store, state).await?;
    let day = store::date_of(now_ms());
    match p.format.as_deref() {
        None | Some("json") => Ok(download(
            "application/json",
            &format!("catalog-{day}.json"),
            serde_json::to_vec_pretty(&doc).map_err(|_| ApiError::internal())?,
        )),
        Some("xlsx") => Ok(download(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("事项目录-{day}.xlsx"),
            sheets::tables_to_xlsx(&sheets::doc_to_tables(&doc))?,
        )),
        Some("csv") => Ok(download(
            "application/zip",
            &format!("事项目录-{day}.zip"),
            sheets::tables_to_csv_zip(&sheets::doc_to_tables(&doc))?,
        )),
        Some(_) => Err(ApiError::bad_request(FieldError::new(
            "format",
            "type",
            "格式应为 json、xlsx 或 csv",
            "format is json, xlsx or csv",
        ))),
    }
}
