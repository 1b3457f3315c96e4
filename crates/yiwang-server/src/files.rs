//! Files over HTTP: catalogue managers upload blank forms and samples, case staff the
//! materials scanned at a window (`POST /api/v1/files`, or the page `/catalog/files`); everyone downloads them by their SM3
//! address at `/files/{sm3}` (the bytes are checked against the address when served).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::pages::Base;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yiwang_core::FieldError;
use yiwang_store::files::{self, FileInfo};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/files",
            post(api_upload).layer(axum::extract::DefaultBodyLimit::max(files::MAX_SIZE + 4096)),
        )
        .route("/files/{sm3}", get(download))
        .route(
            "/catalog/files",
            get(files_page)
                .post(upload_form)
                .layer(axum::extract::DefaultBodyLimit::max(files::MAX_SIZE + (1 << 20))),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file name shown when downloading, e.g. 食品经营许可申请书.pdf
    pub name: String,
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
/// content; the answer gives its URL.
#[utoipa::path(post, path = "/api/v1/files", params(UploadParams), tag = "catalog",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn api_upload(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let file = files::put(&s.store, ctx.meta(), &p.name, &body).await?;
    Ok((StatusCode::CREATED, Json(Uploaded { url: file.url(), file })))
}

async fn download(State(s): State<AppState>, Path(sm3): Path<String>) -> ApiResult<Response> {
    let Some((info, bytes)) = files::get(&s.store, &sm3).await? else {
        return Err(ApiError::not_found("file"));
    };
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
    // Content-addressed: the bytes at this address never change.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(r)
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_files.html")]
struct FilesPage {
    base: Base,
    files: Vec<FileInfo>,
    uploaded: Option<FileInfo>,
    errors: Vec<FieldError>,
}

impl FilesPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn kb(&self, f: &FileInfo) -> String {
        format!("{:.1} KB", f.size as f64 / 1024.0)
    }
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    uploaded: Option<FileInfo>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        FilesPage {
            base: Base::new(s, headers, uri, ctx).await,
            files: files::list(&s.store, 100).await?,
            uploaded,
            errors,
        },
    )
        .into_response())
}

async fn files_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    render(&s, &ctx, &headers, &uri, None, vec![]).await
}

async fn upload_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    mut mp: Multipart,
) -> ApiResult<Response> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(f) = mp.next_field().await.map_err(|e| {
        ApiError::bad_request(FieldError::new(
            "file",
            "upload",
            format!("上传失败：{e}"),
            format!("the upload failed: {e}"),
        ))
    })? {
        if f.name() == Some("file") {
            let name = f.file_name().unwrap_or("").to_string();
            let bytes = f.bytes().await.map_err(|_| {
                ApiError::bad_request(FieldError::new("file", "upload", "上传中断", "the upload broke off"))
            })?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let (name, bytes) = file.unwrap_or_default();
    match files::put(&s.store, ctx.meta(), &name, &bytes).await {
        Ok(f) => render(&s, &ctx, &headers, &uri, Some(f), vec![]).await,
        Err(e) => {
            let e = ApiError::from(e);
            render(&s, &ctx, &headers, &uri, None, e.errors).await
        }
    }
}
