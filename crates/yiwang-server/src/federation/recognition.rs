//! Mutual recognition (互认) for holders: present a licence a partner node issued (its
//! licence file, as that node's wallet gives it) and, once its seal, signature, validity,
//! holder and the issuer's live status check out, use it here in place of a material.
//! API and page call `federation::recognise`.

use super::*;
use yiwang_core::licences::{LicenceFile, Verification};
use yiwang_store::licences::LicenceSummary;

/// Why a presented licence was not recognised: each failed check as a problem of `file`.
fn refused(v: &Verification) -> ApiError {
    let errors: Vec<FieldError> = v
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| FieldError::new("file", format!("licence.check.{}", c.name), &c.zh, &c.en))
        .collect();
    yiwang_store::StoreError::from(yiwang_core::DomainError::invalid(errors)).into()
}

/// Presents a licence another node issued (its licence file); when every check passes —
/// the signing seal is in a partner's trust list, the signature holds, it is within its
/// validity, it is the presenter's (or their enterprise's) and the issuing node answers
/// that it is valid now — it is kept in the wallet for use in place of a material.
#[utoipa::path(post, path = "/api/v1/me/licences/recognise", tag = "federation", request_body = Object,
    responses((status = 201, body = Object), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn api_recognise(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<LicenceFile>,
) -> ApiResult<(StatusCode, Json<fed::Recognition>)> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let r = fed::recognise(&s.store, ctx.meta(), &subject, &body.value).await?;
    if r.licence.is_none() {
        return Err(refused(&r.verification));
    }
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_recognise.html")]
struct RecognisePage {
    base: Base,
    held: Vec<LicenceSummary>,
    names: std::collections::HashMap<String, (String, String)>,
    outcome: Option<fed::Recognition>,
    errors: Vec<FieldError>,
}
crate::page!(RecognisePage);

impl RecognisePage {
    fn node_name(&self, l: &LicenceSummary) -> String {
        let node = l.node.clone().unwrap_or_default();
        self.names.get(&node).map(|n| n.0.clone()).unwrap_or(node)
    }
    fn verify_url(&self, l: &LicenceSummary) -> String {
        let node = l.node.clone().unwrap_or_default();
        self.names
            .get(&node)
            .map(|n| format!("{}/verify?id={}", n.1, l.id))
            .unwrap_or_default()
    }
    fn status(&self, l: &LicenceSummary) -> &'static str {
        self.base
            .lang
            .pick(yiwang_core::Named::zh(&l.status), yiwang_core::Named::en(&l.status))
    }
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    outcome: Option<fed::Recognition>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let held = yiwang_store::licences::of_subject(&s.store, &subject)
        .await?
        .into_iter()
        .filter(|l| l.node.is_some())
        .collect();
    let status = if errors.is_empty() && outcome.as_ref().is_none_or(|o| o.licence.is_some()) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        RecognisePage {
            base,
            held,
            names: partner_names(s).await?,
            outcome,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn recognise_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render(&s, &ctx, base, None, vec![]).await
}

/// The page's form: the licence file uploaded, or its text pasted.
pub(super) async fn recognise_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    mut mp: axum::extract::Multipart,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let mut text = String::new();
    while let Some(f) = mp.next_field().await.map_err(crate::files::upload_broken)? {
        match f.name().unwrap_or_default() {
            "file" => {
                let bytes = f.bytes().await.map_err(crate::files::upload_broken)?;
                if !bytes.is_empty() {
                    text = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
            "text" if text.is_empty() => text = f.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let file: LicenceFile = match serde_json::from_str(text.trim()) {
        Ok(f) => f,
        Err(e) => {
            let err = FieldError::new(
                "file",
                "licence.format",
                format!("不是有效的电子证照文件（JSON）：{e}"),
                format!("not a licence file (JSON): {e}"),
            );
            return render(&s, &ctx, base, None, vec![err]).await;
        }
    };
    match fed::recognise(&s.store, ctx.meta(), &subject, &file).await {
        Ok(r) => render(&s, &ctx, base, Some(r), vec![]).await,
        Err(yiwang_store::StoreError::Domain(e)) => render(&s, &ctx, base, None, e.errors).await,
        Err(e) => Err(e.into()),
    }
}
