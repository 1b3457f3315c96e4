//! Import pages.

use super::*;

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_import.html")]
pub(super) struct ImportPage {
    pub(super) base: Base,
    pub(super) report: Option<store::ImportReport>,
    pub(super) file: Option<String>,
}

impl ImportPage {
    pub(super) fn place(&self, p: &store::ImportProblem) -> String {
        if self.base.lang.is_en() {
            p.place_en()
        } else {
            p.place_zh()
        }
    }
    pub(super) fn text(&self, p: &store::ImportProblem) -> String {
        self.base.lang.pick(&p.zh, &p.en).to_string()
    }
}

pub(super) async fn import_page(base: Base) -> ApiResult<ImportPage> {
    Ok(ImportPage {
        base,
        report: None,
        file: None,
    })
}

pub(super) async fn import_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    mut mp: Multipart,
) -> ApiResult<Response> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    let mut submit = false;
    let bad = crate::files::upload_broken;
    while let Some(f) = mp.next_field().await.map_err(bad)? {
        match f.name().unwrap_or("") {
            "file" => {
                let name = f.file_name().unwrap_or("").to_string();
                let bytes = f.bytes().await.map_err(bad)?;
                file = Some((name, bytes.to_vec()));
            }
            "dry_run" => dry_run = true,
            "submit" => submit = true,
            _ => {}
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let report = store::ImportReport {
            problems: vec![store::ImportProblem::of(FieldError::new(
                "file",
                "required",
                "请选择要导入的文件",
                "choose a file to import",
            ))],
            ..Default::default()
        };
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage {
                base,
                report: Some(report),
                file: None,
            },
        )
            .into_response());
    };
    let format = sheets::Format::guess(&name, &bytes);
    let report = import_bytes(&s, &ctx, format, &bytes, dry_run, submit).await?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        ImportPage {
            base,
            report: Some(report),
            file: Some(name),
        },
    )
        .into_response())
}
