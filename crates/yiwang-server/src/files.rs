//! Files over HTTP: catalogue managers publish blank forms and samples (`POST
//! /api/v1/files?public=true`, or the page `/catalog/files`), which anyone downloads at
//! `/files/{sm3}`; case staff upload the materials scanned at a window and applicants
//! their own (`/api/v1/me/files`) as private files: sealed at rest, served at
//! `/files/{address}` to their uploader only and to the parties of a case that names them
//! (`/work/cases/{id}/files/{address}`, `/me/cases/{id}/files/{address}`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::pages::Base;
use crate::pages::Page;
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_store::files::{self, FileInfo, Visibility};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_upload).layer(axum::extract::DefaultBodyLimit::max(files::MAX_SIZE + 4096)))
        .route("/files/{sm3}", get(download))
        .route("/work/cases/{case_id}/files/{sm3}", get(staff_case_file))
        .routes(routes!(staff_case_file))
        .route("/me/cases/{case_id}/files/{sm3}", get(my_case_file))
        .routes(routes!(my_case_file))
        .route(
            "/catalog/files",
            get(files_page)
                .post(upload_form)
                .layer(axum::extract::DefaultBodyLimit::max(files::MAX_SIZE + (1 << 20))),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file name shown when downloading, e.g. 食品经营许可申请书.pdf
    pub name: String,
    /// A catalogue file anyone may download (blank forms, samples; needs catalog_manage).
    /// Default: private (a scanned material), for its uploader and the cases naming it.
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub file: FileInfo,
    /// Use this as a material's blank form or sample link.
    pub url: String,
}

/// Stores a file (PDF, OFD, Word, Excel, PNG or JPEG by content; at most 20 MB), once per
/// content; the answer gives its URL. `public=true` publishes a catalogue form or sample.
#[utoipa::path(post, path = "/api/v1/files", params(UploadParams), tag = "catalog",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn api_upload(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<UploadParams>,
    crate::extract::Upload(body): crate::extract::Upload,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let vis = if p.public {
        ctx.require(
            yiwang_core::access::Permission::CatalogManage,
            &yiwang_core::access::Target::Unbound,
        )?;
        Visibility::Public
    } else {
        Visibility::Private
    };
    let file = files::put(&s.store, ctx.meta(), &p.name, &body, vis).await?;
    Ok((StatusCode::CREATED, Json(Uploaded { url: file.url(), file })))
}

/// A file by its address: public ones to anyone, private ones to their uploader only (to
/// anyone else it does not exist).
async fn download(State(s): State<AppState>, ctx: Ctx, Path(sm3): Path<String>) -> ApiResult<Response> {
    match files::get(&s.store, &sm3).await? {
        Some((info, bytes)) if info.readable_by(&ctx.ledger_actor()) => Ok(serve(&info, bytes)),
        _ => Err(ApiError::not_found("file")),
    }
}

/// A material of a case, for the staff who may see the case (the route's rule checks
/// them against the case's department): only a file the case's application names.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}/files/{sm3}", tag = "cases",
    params(("case_id" = String, Path, description = "case number"), ("sm3" = String, Path, description = "file address")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn staff_case_file(
    State(s): State<AppState>,
    Path((case_id, sm3)): Path<(String, String)>,
) -> ApiResult<Response> {
    case_file(&s, &case_id, &sm3).await
}

/// A material of one's own case (or the principal's one acts for).
#[utoipa::path(get, path = "/api/v1/me/cases/{case_id}/files/{sm3}", tag = "cases",
    params(("case_id" = String, Path, description = "case number"), ("sm3" = String, Path, description = "file address")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn my_case_file(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((case_id, sm3)): Path<(String, String)>,
) -> ApiResult<Response> {
    crate::cases::my_case(&s, &ctx, &case_id).await?;
    case_file(&s, &case_id, &sm3).await
}

async fn case_file(s: &AppState, case_id: &str, sm3: &str) -> ApiResult<Response> {
    let named = yiwang_store::cases::application(&s.store, case_id)
        .await?
        .is_some_and(|(app, _)| yiwang_store::cases::files_named(&app).contains(sm3));
    if !named {
        return Err(ApiError::not_found("file"));
    }
    match files::get(&s.store, sm3).await? {
        Some((info, bytes)) => Ok(serve(&info, bytes)),
        None => Err(ApiError::not_found("file")),
    }
}

/// The answer carrying a file: its type, its name for saving, and caching by kind — a
/// public file never changes at its address; a private one is never cached.
pub fn serve(info: &FileInfo, bytes: Bytes) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&info.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let encoded: String = form_urlencoded::byte_serialize(info.name.as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"file\"; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if info.public {
            "public, max-age=31536000, immutable"
        } else {
            "private, no-store"
        }),
    );
    r
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_files.html")]
struct FilesPage {
    base: Base,
    files: Vec<FileInfo>,
    uploaded: Option<FileInfo>,
    errors: Vec<FieldError>,
}

crate::page!(FilesPage);

impl FilesPage {
    fn kb(&self, f: &FileInfo) -> String {
        format!("{:.1} KB", f.size as f64 / 1024.0)
    }
}

async fn render(s: &AppState, base: Base, uploaded: Option<FileInfo>, errors: Vec<FieldError>) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        FilesPage {
            base,
            files: files::list(&s.store, 100).await?,
            uploaded,
            errors,
        },
    )
        .into_response())
}

async fn files_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    render(&s, base, None, vec![]).await
}

/// A multipart form that cannot be read (cut off, malformed): a problem of `file`, for
/// every page that takes uploads.
pub fn upload_broken(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::bad_request(FieldError::new(
        "file",
        "upload",
        format!("上传失败：{e}"),
        format!("the upload failed: {e}"),
    ))
}

async fn upload_form(State(s): State<AppState>, ctx: Ctx, base: Base, mut mp: Multipart) -> ApiResult<Response> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(f) = mp.next_field().await.map_err(upload_broken)? {
        if f.name() == Some("file") {
            let name = f.file_name().unwrap_or("").to_string();
            let bytes = f.bytes().await.map_err(upload_broken)?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let (name, bytes) = file.unwrap_or_default();
    match files::put(&s.store, ctx.meta(), &name, &bytes, Visibility::Public).await {
        Ok(f) => render(&s, base, Some(f), vec![]).await,
        Err(e) => {
            let e = ApiError::from(e);
            render(&s, base, None, e.errors).await
        }
    }
}
