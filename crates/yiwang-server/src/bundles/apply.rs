//! Applying for a 一件事 (一表申请, 一套材料, 一窗(端)受理): online, by the applicant or
//! their agent (`/bundles/{code}/apply`), and at any window of the bundle's region, where a
//! clerk takes it for a registered applicant with paper or scans (`/work/window/bundles/{code}`,
//! `POST /api/v1/window/bundles/{code}/applications`). One page for both: the merged
//! questions, the one form by data element (prefilled from the profile and licences as a
//! single application is), the one set of materials (what earlier members produce is not
//! asked). Every path calls `yiwang_store::bundles::apply`.

use super::*;
use crate::cases::{FieldView, WindowApplicant};
use axum::extract::Multipart;
use axum::response::Redirect;
use yiwang_core::bundles::BundleApplication;
use yiwang_core::cases::Channel;
use yiwang_core::mandates::Subject;

/// A window clerk's application for a registered applicant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBundleBody {
    /// `person:ID` or `legal:ID` (found with the person lookup).
    pub applicant: String,
    #[serde(default)]
    pub application: BundleApplication,
}

/// The window application the API and the page share: the bundle's region lies in the
/// clerk's (一窗受理 by any window of the region), the applicant is registered.
async fn window_apply(
    s: &AppState,
    ctx: &Ctx,
    code: &str,
    applicant: &Subject,
    application: BundleApplication,
    meta: yiwang_store::Meta,
) -> ApiResult<yiwang_store::Written> {
    let (_, v) = store::published_of(&s.store, code)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    ctx.require(
        Permission::CaseAccept,
        &Target::Region {
            code: v.doc.region_code.clone(),
        },
    )?;
    let applicant = crate::cases::applicant_of(s, applicant).await?;
    Ok(store::apply(
        &s.store,
        meta,
        store::BundleSubmission {
            code: code.to_string(),
            applicant,
            channel: Channel::Window,
            assisted: true,
            application,
        },
    )
    .await?)
}

/// A window clerk applies for a bundle for a registered applicant (一窗受理, 帮办): like the
/// online application, channel 窗口; the clerk's region must hold the bundle's. Send an
/// Idempotency-Key: a retry returns the first bundle case.
#[utoipa::path(post, path = "/api/v1/window/bundles/{bundle_code}/applications",
    request_body = WindowBundleBody, tag = "bundles",
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_window_apply(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: crate::extract::IdempotencyKey,
    method: axum::http::Method,
    uri: axum::http::Uri,
    Path(code): Path<String>,
    body: ApiJson<WindowBundleBody>,
) -> ApiResult<Response> {
    let meta = crate::cases::idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let subject = crate::cases::applicant_subject(&body.value.applicant)?;
    let w = window_apply(&s, &ctx, &code, &subject, body.value.application, meta).await?;
    Ok(crate::cases::created(w))
}

// ---------------------------------------------------------------------------------------
// The application page
// ---------------------------------------------------------------------------------------

/// A material of the one set as the page asks for it.
struct MaterialRow {
    key: String,
    name: String,
    /// The members that ask for it (names).
    for_members: String,
    required: bool,
    /// 容缺: every member asking for it may accept the case without it for now.
    tolerable: bool,
    /// Valid licences of the type it names that the applicant holds: (id, label).
    licences: Vec<(String, String)>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "bundle_apply.html")]
struct ApplyPage {
    base: Base,
    v: GuideView,
    fields: Vec<FieldView>,
    materials: Vec<MaterialRow>,
    /// What was typed (`q.K`, `form.X`, `how.K`, `files.K`, `licence.K`, `originals.K`).
    values: BTreeMap<String, String>,
    errors: Vec<yiwang_core::FieldError>,
    window: Option<WindowApplicant>,
    /// A one-time key: a double click makes one bundle case.
    submission_key: String,
}
crate::page!(ApplyPage);

impl ApplyPage {
    fn val(&self, k: &str) -> &str {
        self.values.get(k).map_or("", String::as_str)
    }
    /// How a material was chosen to be provided (`how.K`).
    fn how(&self, key: &str) -> &str {
        self.val(&format!("how.{key}"))
    }
    fn chosen(&self, q: &str, c: &str) -> bool {
        self.values.get(&format!("q.{q}")).is_some_and(|a| a == c)
    }
    fn member_name(&self, key: &str) -> String {
        self.v
            .guide
            .members
            .iter()
            .find(|m| m.key == key)
            .map_or_else(|| key.to_string(), |m| m.name.clone())
    }
    fn produced(&self) -> Vec<&MergedMaterial> {
        self.v
            .guide
            .materials
            .iter()
            .filter(|m| m.produced_by.is_some() && m.need != Need::NotNeeded)
            .collect()
    }
    fn commitment_offered(&self) -> bool {
        self.v
            .guide
            .members
            .iter()
            .any(|m| m.commitment && m.need != Need::NotNeeded)
    }
    fn action(&self) -> String {
        match &self.window {
            Some(_) => format!("/work/window/bundles/{}", self.v.version.doc.code),
            None => format!("/bundles/{}/apply", self.v.version.doc.code),
        }
    }
    /// The message of a problem, with the member it concerns named.
    fn problem(&self, e: &yiwang_core::FieldError) -> String {
        match e.field.strip_prefix("members.").and_then(|r| r.split_once('.')) {
            Some((k, _)) => format!("{}{}{}", self.member_name(k), self.base.lang.colon(), self.msg(e)),
            None => self.msg(e),
        }
    }
    fn choices(&self, f: &FieldView) -> Vec<(String, String)> {
        f.choices(self.base.lang)
    }
    fn has_error(&self, field: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.field == field || e.field.ends_with(&format!(".{field}")))
    }
}

/// The guide for the page's answers and its one form's fields. Answers the guide does not
/// know are named by the pre-check on submission.
async fn guide_and_fields(
    s: &AppState,
    code: &str,
    values: &BTreeMap<String, String>,
) -> ApiResult<(GuideView, Vec<FieldView>)> {
    let (v, _) = guide_for(s, code, &crate::cases::answers_of(values)).await?;
    let form: Vec<_> = v.guide.form.iter().map(|f| f.field.clone()).collect();
    let fields = crate::cases::field_views(s, &form).await?;
    Ok((v, fields))
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    code: &str,
    values: BTreeMap<String, String>,
    errors: Vec<yiwang_core::FieldError>,
    window: Option<WindowApplicant>,
) -> ApiResult<Response> {
    let (v, fields) = guide_and_fields(s, code, &values).await?;
    let holder = match &window {
        Some(w) => Some(w.subject.clone()),
        None => ctx.principal(),
    };
    let held = match holder {
        Some(p) => yiwang_store::licences::of_subject(&s.store, &p).await?,
        None => vec![],
    };
    let name_of = |k: &str| {
        v.guide
            .members
            .iter()
            .find(|m| m.key == k)
            .map_or_else(|| k.to_string(), |m| m.name.clone())
    };
    let materials = v
        .guide
        .materials
        .iter()
        .filter(|m| m.produced_by.is_none() && m.need != Need::NotNeeded)
        .map(|m| MaterialRow {
            key: m.key.clone(),
            name: m.material.name.clone(),
            for_members: m
                .members
                .iter()
                .map(|(k, _)| name_of(k))
                .collect::<Vec<_>>()
                .join(base.lang.sep()),
            required: m.need == Need::Needed && m.material.necessity == yiwang_core::catalog::Necessity::Required,
            // The merged necessity is the strictest of the members' (容缺 only where each allows it).
            tolerable: m.material.necessity == yiwang_core::catalog::Necessity::Tolerated,
            licences: held
                .iter()
                .filter(|l| {
                    l.status == yiwang_core::licences::Status::Valid
                        && m.material.source.licence_type.as_deref() == Some(l.type_code.as_str())
                })
                .map(|l| (l.id.clone(), format!("{} {}", l.type_name, l.number)))
                .collect(),
        })
        .collect();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ApplyPage {
            base,
            v,
            fields,
            materials,
            submission_key: values
                .get("submission_key")
                .cloned()
                .unwrap_or_else(yiwang_store::new_id),
            values,
            errors,
            window,
        },
    )
        .into_response())
}

/// The values a new application page starts with: the answers from the guide (its query),
/// the form prefilled from the applicant's profile and licences, member by member.
async fn start_values(
    s: &AppState,
    code: &str,
    subject: &Subject,
    agent: Option<&str>,
    query: &BTreeMap<String, String>,
) -> ApiResult<BTreeMap<String, String>> {
    let mut values: BTreeMap<String, String> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (format!("q.{}", k.strip_prefix("q.").unwrap_or(k)), v.clone()))
        .collect();
    if let Some((_, version)) = store::published_of(&s.store, code).await? {
        let dict = yiwang_store::cases::dictionary(&s.store).await?;
        let services = store::member_services(&s.store, &version.doc, yiwang_store::now_ms()).await?;
        for svc in services.values() {
            for (k, v) in yiwang_store::cases::prefill(&s.store, subject, agent, &svc.elements, &dict).await? {
                values.entry(format!("form.{k}")).or_insert(v);
            }
        }
    }
    Ok(values)
}

/// The online application page (the guide's answers carried in the query).
pub(super) async fn apply_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let values = start_values(&s, &code, &subject, ctx.person_id.as_deref(), &q).await?;
    render(&s, &ctx, base, &code, values, vec![], None).await
}

/// The application from the page's values: the materials the guide asks for given the
/// answers sent (a material of a situation no longer chosen is left out, not refused).
fn application_of(values: &BTreeMap<String, String>, fields: &[FieldView], g: &Guide) -> BundleApplication {
    let materials = g
        .materials
        .iter()
        .filter(|m| m.produced_by.is_none() && m.need != Need::NotNeeded)
        .filter_map(|m| crate::cases::provision_of(values, &m.key).map(|p| (m.key.clone(), p)))
        .collect();
    BundleApplication {
        answers: crate::cases::answers_of(values),
        form: crate::cases::form_values(values, fields),
        materials,
        commitment: values.get("commitment").is_some_and(|v| v == "on" || v == "true"),
    }
}

async fn read_form(
    s: &AppState,
    ctx: &Ctx,
    code: &str,
    mp: Multipart,
) -> ApiResult<(
    BTreeMap<String, String>,
    Vec<yiwang_core::FieldError>,
    BundleApplication,
)> {
    let (values, errors) = crate::cases::read_application_form(s, ctx, mp).await?;
    let (v, fields) = guide_and_fields(s, code, &values).await?;
    let app = application_of(&values, &fields, &v.guide);
    Ok((values, errors, app))
}

/// Submits the online application; on success, the applicant's bundle case page.
pub(super) async fn apply_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    mp: Multipart,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let (values, mut errors, app) = read_form(&s, &ctx, &code, mp).await?;
    if errors.is_empty() {
        let result = async {
            let (_, v) = store::published_of(&s.store, &code)
                .await?
                .ok_or_else(|| ApiError::not_found("bundle"))?;
            for m in &v.doc.members {
                crate::cases::check_mandate_covers(&s, &ctx, &m.item_code).await?;
            }
            let applicant = crate::cases::applicant_of(&s, &subject).await?;
            let mut meta = ctx.meta();
            if let Some(k) = values.get("submission_key").filter(|k| !k.is_empty()) {
                meta = meta.with_idempotency(format!("{}:{k}", ctx.ledger_actor()), "bundle-apply-form");
            }
            Ok::<_, ApiError>(
                store::apply(
                    &s.store,
                    meta,
                    store::BundleSubmission {
                        code: code.clone(),
                        applicant,
                        channel: Channel::Online,
                        assisted: ctx.acting_for.is_some(),
                        application: app,
                    },
                )
                .await?,
            )
        }
        .await;
        match result {
            Ok(w) => {
                let id = w.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/me/bundle-cases/{id}")).into_response());
            }
            Err(e) => errors.extend(e.into_field_errors()),
        }
    }
    render(&s, &ctx, base, &code, values, errors, None).await
}

/// What the window page is asked for: the applicant's number (and the guide's answers).
#[derive(Debug, Deserialize)]
pub(super) struct WindowQuery {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    uscc: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// The window's bundle page: with the applicant's number, the application form for them
/// (prefilled from their profile); without it, the lookup.
pub(super) async fn window_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Response> {
    let w = match crate::cases::window_applicant(&s, &ctx, &q.id_number, &q.uscc).await {
        Ok(w) => w,
        Err(e) if q.id_number.is_empty() && q.uscc.is_empty() => {
            // The lookup first: asked without an error until a number is given.
            let _ = e;
            return render_lookup(&s, base, &code, vec![]).await;
        }
        Err(e) => return render_lookup(&s, base, &code, e.into_field_errors()).await,
    };
    let values = start_values(&s, &code, &w.subject, None, &q.rest).await?;
    render(&s, &ctx, base, &code, values, vec![], Some(w)).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "window_bundle_lookup.html")]
struct LookupPage {
    base: Base,
    code: String,
    name: String,
    errors: Vec<yiwang_core::FieldError>,
}
crate::page!(LookupPage);

async fn render_lookup(
    s: &AppState,
    base: Base,
    code: &str,
    errors: Vec<yiwang_core::FieldError>,
) -> ApiResult<Response> {
    let (_, v) = store::published_of(&s.store, code)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        LookupPage {
            base,
            code: code.to_string(),
            name: v.doc.name,
            errors,
        },
    )
        .into_response())
}

/// A window clerk submits the bundle application for the applicant; on success, the lead
/// department's view of the new bundle case (its receipt lists every sub-case).
pub(super) async fn window_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    mp: Multipart,
) -> ApiResult<Response> {
    let (values, mut errors, app) = read_form(&s, &ctx, &code, mp).await?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let w = crate::cases::window_applicant(&s, &ctx, &get("id_number"), &get("uscc")).await?;
    if errors.is_empty() {
        let mut meta = ctx.meta();
        if let Some(k) = values.get("submission_key").filter(|k| !k.is_empty()) {
            meta = meta.with_idempotency(format!("{}:{k}", ctx.ledger_actor()), "bundle-window-form");
        }
        match window_apply(&s, &ctx, &code, &w.subject, app, meta).await {
            Ok(r) => {
                let id = r.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/work/bundle-cases/{id}?received=1")).into_response());
            }
            Err(e) => errors.extend(e.into_field_errors()),
        }
    }
    render(&s, &ctx, base, &code, values, errors, Some(w)).await
}
