//! Verification: API and pages.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// What a public verification shows: the checks and what the QR code carries (holder's
/// code masked), never the full face data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    pub valid: bool,
    pub reason: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<core::Check>,
    pub licence: Option<PublicLicence>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicLicence {
    pub id: String,
    pub type_name: String,
    pub number: String,
    pub holder_name: String,
    /// The holder's code, masked for persons.
    pub holder_code: String,
    pub issuer_uscc: String,
    pub issuer_name: Option<String>,
    pub valid_until: Option<String>,
    /// As recorded by the issuer, when it is this node.
    #[schema(value_type = Option<String>)]
    pub status: Option<Status>,
}

pub(super) fn from_claims(c: &QrClaims, issuer_name: Option<String>, status: Option<Status>) -> PublicLicence {
    PublicLicence {
        id: c.i.clone(),
        type_name: c.t.clone(),
        number: c.n.clone(),
        holder_name: c.h.clone(),
        holder_code: c.c.clone(),
        issuer_uscc: c.s.clone(),
        issuer_name,
        valid_until: (!c.u.is_empty()).then(|| c.u.clone()),
        status,
    }
}

pub(super) fn from_file(f: &LicenceFile, status: Option<Status>) -> PublicLicence {
    let d = &f.data;
    PublicLicence {
        id: d.id.clone(),
        type_name: d.type_name.clone(),
        number: d.number.clone(),
        holder_name: d.holder_name.clone(),
        holder_code: d.holder_kind.mask(&d.holder_code),
        issuer_uscc: d.issuer_uscc.clone(),
        issuer_name: Some(d.issuer_name.clone()),
        valid_until: d.valid_until.map(|u| u.to_string()),
        status,
    }
}

pub(super) fn view(v: Verification, licence: Option<PublicLicence>) -> VerifyView {
    VerifyView {
        valid: v.valid,
        reason: v.reason,
        checks: v.checks,
        licence,
    }
}

/// Verifies a QR payload (as an offline verifier would, plus the live status when the
/// licence is this node's).
pub async fn verify_payload(s: &AppState, payload: &str) -> ApiResult<VerifyView> {
    // A scanned URL or the bare payload.
    let p = payload
        .split_once("p=")
        .map(|(_, p)| p.split('&').next().unwrap_or(p))
        .unwrap_or(payload)
        .trim();
    let (claims, v) = licences::verify_qr(&s.store, p).await?;
    let licence = match claims {
        Some(c) => {
            let local = licences::summary(&s.store, &c.i).await?;
            let issuer = match &local {
                Some(l) => yiwang_store::refdata::department(&s.store, &l.issuer_department_id)
                    .await?
                    .map(|d| d.name),
                None => None,
            };
            Some(from_claims(&c, issuer, local.map(|l| l.status)))
        }
        None => None,
    };
    Ok(view(v, licence))
}

pub(super) async fn verify_id(s: &AppState, id: &str) -> ApiResult<VerifyView> {
    let id = id.trim();
    if let Err(e) = core::check_licence_id("id", id) {
        return Err(domain(DomainError::invalid(vec![e])));
    }
    let (f, v) = licences::verify_id(&s.store, id).await?.ok_or_else(not_found)?;
    let status = licences::summary(&s.store, id).await?.map(|l| l.status);
    Ok(view(v, Some(from_file(&f, status))))
}

pub(super) async fn verify_file(s: &AppState, f: &LicenceFile) -> ApiResult<VerifyView> {
    let v = licences::verify_file(&s.store, f).await?;
    let status = licences::summary(&s.store, &f.data.id).await?.map(|l| l.status);
    Ok(view(v, Some(from_file(f, status))))
}

/// Verifies a licence issued here by its identifier: signature, seal, digest, validity,
/// current status and the identifier's check character.
#[utoipa::path(get, path = "/api/v1/verify/{licence_id}", tag = "licences",
    responses((status = 200, body = VerifyView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_verify_id(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<VerifyView>> {
    Ok(Json(verify_id(&s, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// A QR payload (YWL1.…) or the URL the QR code carries.
    #[serde(default)]
    pub qr: Option<String>,
    /// A licence file (yiwang-licence JSON), e.g. from another node.
    #[serde(default)]
    pub file: Option<LicenceFile>,
}

/// Verifies a QR payload or a licence file. Licences of other nodes verify when their
/// issuer's key is in the trust list.
#[utoipa::path(post, path = "/api/v1/verify", request_body = VerifyBody, tag = "licences",
    responses((status = 200, body = VerifyView), (status = 422, body = Problem)))]
pub async fn api_verify(State(s): State<AppState>, body: ApiJson<VerifyBody>) -> ApiResult<Json<VerifyView>> {
    match body.value {
        VerifyBody { file: Some(f), .. } => Ok(Json(verify_file(&s, &f).await?)),
        VerifyBody { qr: Some(p), .. } => Ok(Json(verify_payload(&s, &p).await?)),
        _ => Err(domain(DomainError::invalid(vec![FieldError::new(
            "qr",
            "required",
            "请提供二维码内容或证照文件",
            "give a QR payload or a licence file",
        )]))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresentationView {
    #[serde(flatten)]
    pub verification: VerifyView,
    pub valid_until_ms: i64,
    /// The face data shown with the holder's consent.
    pub face: BTreeMap<String, String>,
}

/// What a presentation code shows: the licence in full (the holder chose to show it) and
/// its verification.
#[utoipa::path(get, path = "/api/v1/presentations/{token}", tag = "licences",
    responses((status = 200, body = PresentationView), (status = 410, body = Problem)))]
pub async fn api_presentation(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<PresentationView>> {
    let (f, v, until) = presentation(&s, &token).await?;
    let status = licences::summary(&s.store, &f.data.id).await?.map(|l| l.status);
    Ok(Json(PresentationView {
        verification: view(v, Some(from_file(&f, status))),
        valid_until_ms: until,
        face: f.data.face.clone(),
    }))
}

pub(super) async fn presentation(s: &AppState, token: &str) -> ApiResult<(LicenceFile, Verification, i64)> {
    let (id, until) = licences::check_presentation(&s.store, token).map_err(|(zh, en)| {
        ApiError::new(
            StatusCode::GONE,
            "/problems/presentation",
            "Presentation not valid",
            "展示码无效",
            en.clone(),
        )
        .with(FieldError::new("token", "presentation", zh, en))
    })?;
    let (f, v) = licences::verify_id(&s.store, &id).await?.ok_or_else(not_found)?;
    Ok((f, v, until))
}

// ---------------------------------------------------------------------------------------
// Pages: verification
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "verify.html")]
pub(super) struct VerifyPage {
    pub(super) base: Base,
    pub(super) result: Option<VerifyView>,
    /// The face, shown for presentations (the holder chose to show it).
    pub(super) face: Option<String>,
    pub(super) presented_until: Option<String>,
    pub(super) query: String,
    pub(super) errors: Vec<FieldError>,
}

crate::page!(VerifyPage);

impl VerifyPage {
    pub(super) fn check(&self, c: &core::Check) -> String {
        if self.base.lang.is_en() {
            c.en.clone()
        } else {
            c.zh.clone()
        }
    }
    pub(super) fn status(&self, l: &PublicLicence) -> String {
        match l.status {
            Some(s) => self.base.lang.name(&s).to_string(),
            None => self.base.lang.pick("请向颁发机构查询", "ask the issuer").to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct VerifyQuery {
    /// A QR payload (the QR code's URL carries it).
    pub(super) p: Option<String>,
    /// A licence identifier.
    pub(super) id: Option<String>,
    /// Whatever the verifier pasted: an identifier, a QR payload or URL, a licence file.
    pub(super) q: Option<String>,
}

pub(super) async fn render_verify(base: Base, query: String, r: Option<ApiResult<VerifyView>>) -> ApiResult<Response> {
    let (result, errors) = match r {
        None => (None, vec![]),
        Some(Ok(v)) => (Some(v), vec![]),
        Some(Err(e)) if e.status == StatusCode::NOT_FOUND => (
            None,
            vec![FieldError::new(
                "id",
                "licence.unknown",
                "本平台没有该证照；外地证照请上传证照文件或扫描其二维码",
                "this node has no such licence: for one issued elsewhere, upload its file or scan its QR code",
            )],
        ),
        Some(Err(e)) => (None, e.into_field_errors()),
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        VerifyPage {
            base,
            result,
            face: None,
            presented_until: None,
            query,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn verify_page(
    State(s): State<AppState>,
    Query(q): Query<VerifyQuery>,
    base: Base,
) -> ApiResult<Response> {
    let text = [q.p, q.id, q.q]
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty());
    let Some(text) = text else {
        return render_verify(base, String::new(), None).await;
    };
    // Verification reads nothing private and changes nothing: a GET form, no session needed.
    let r = if text.starts_with('{') {
        match crate::extract::parse_json::<LicenceFile>(text.as_bytes()) {
            Ok(f) => verify_file(&s, &f).await,
            Err(e) => Err(e),
        }
    } else if text.contains(core::QR_PREFIX) {
        verify_payload(&s, &text).await
    } else {
        verify_id(&s, &text).await
    };
    render_verify(base, text, Some(r)).await
}

pub(super) async fn presentation_page(
    State(s): State<AppState>,
    base: Base,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (f, v, until) = match presentation(&s, &token).await {
        Ok(x) => x,
        Err(e) => {
            let errors = e.into_field_errors();
            return Ok((
                StatusCode::GONE,
                VerifyPage {
                    base,
                    result: None,
                    face: None,
                    presented_until: None,
                    query: String::new(),
                    errors,
                },
            )
                .into_response());
        }
    };
    let sum = summary(&s, &f.data.id).await?;
    let face = face_svg(&s, &sum, &f).await?;
    Ok(VerifyPage {
        base,
        result: Some(view(v, Some(from_file(&f, Some(sum.status))))),
        face: Some(face),
        presented_until: Some(china_time(until)),
        query: String::new(),
        errors: vec![],
    }
    .into_response())
}
