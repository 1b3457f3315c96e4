//! Pages: the comprehensive window.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Pages: the comprehensive window (综合窗口)
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "window.html")]
pub(super) struct WindowPage {
    pub(super) base: Base,
    pub(super) id_number: String,
    pub(super) uscc: String,
    pub(super) item: String,
    pub(super) errors: Vec<FieldError>,
    /// Items whose name matches the words typed, for the clerk to pick one.
    pub(super) choices: Vec<ItemChoice>,
    /// The published 一件事 of the clerk's region: (code, name).
    pub(super) bundles: Vec<(String, String)>,
}

crate::page!(WindowPage);

impl WindowPage {
    /// The window link that starts taking `code` for the applicant looked up.
    pub(super) fn pick_href(&self, code: &str) -> String {
        let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        format!(
            "/work/window?id_number={}&uscc={}&item={}",
            enc(&self.id_number),
            enc(&self.uscc),
            enc(code)
        )
    }
}

/// An item the clerk may take, as the picker offers it.
pub(super) struct ItemChoice {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) department: String,
}

/// The window's item field takes a 实施编码 or words of the item's name. Words are looked
/// up in the catalogue index among the items the clerk may take (their region's
/// departments, 一窗受理): one match (or one of that exact name) is taken, several are
/// offered to pick from.
async fn resolve_item(s: &AppState, ctx: &Ctx, text: &str) -> ApiResult<Result<String, Vec<ItemChoice>>> {
    let keep = |code: String| async move { window_service(s, ctx, &code).await.is_ok() };
    Ok(crate::catalog::resolve_item(s, text, None, keep)
        .await?
        .map_err(|hits| {
            hits.into_iter()
                .map(|h| ItemChoice {
                    code: h.code,
                    name: h.name,
                    department: h.department,
                })
                .collect()
        }))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WindowQuery {
    #[serde(default)]
    pub(super) id_number: String,
    #[serde(default)]
    pub(super) uscc: String,
    #[serde(default)]
    pub(super) item: String,
    #[serde(flatten)]
    pub(super) rest: BTreeMap<String, String>,
}

/// Finds the applicant at the window: a person by resident ID number (the read goes into
/// their data-use log, purpose 窗口受理) or an enterprise by credit code.
pub(crate) async fn window_applicant(
    s: &AppState,
    ctx: &Ctx,
    id_number: &str,
    uscc: &str,
) -> ApiResult<WindowApplicant> {
    let unregistered = |field: &str| {
        ApiError::from(StoreError::from(DomainError::invalid(vec![FieldError::new(
            field,
            "applicant.unregistered",
            "未找到该办事人：请先为其注册（帮办注册），或核对号码",
            "no such applicant: register them first (assisted registration) or check the number",
        )])))
    };
    if !id_number.trim().is_empty() {
        let p = yiwang_store::accounts::person_by_id_number(&s.store, id_number.trim())
            .await?
            .ok_or_else(|| unregistered("id_number"))?;
        yiwang_store::datause::read_person(&s.store, ctx.meta(), &ctx.reader(), &p, &[], Some("窗口受理"), None)
            .await?;
        return Ok(WindowApplicant {
            subject: Subject::Person(p.id.clone()),
            name: p.name.clone(),
            lookup: ("id_number", id_number.trim().to_string()),
        });
    }
    if !uscc.trim().is_empty() {
        let l = yiwang_store::accounts::legal_by_uscc(&s.store, uscc.trim())
            .await?
            .ok_or_else(|| unregistered("uscc"))?;
        return Ok(WindowApplicant {
            subject: Subject::Legal(l.id.clone()),
            name: l.name.clone(),
            lookup: ("uscc", uscc.trim().to_uppercase()),
        });
    }
    Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
        FieldError::new(
            "id_number",
            "required",
            "请填写办事人的公民身份号码或企业的统一社会信用代码",
            "give the applicant's resident ID number or the enterprise's credit code",
        ),
    ]))))
}

pub(super) async fn window_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Query(q): Query<WindowQuery>,
    base: Base,
) -> ApiResult<Response> {
    let prefix = match &ctx.actor {
        yiwang_core::access::Actor::Staff { region_code, .. } => {
            yiwang_core::access::region_prefix(region_code).to_string()
        }
        _ => String::new(),
    };
    let bundles: Vec<(String, String)> = yiwang_store::refdata::published_bundles(&s.store)
        .await?
        .iter()
        .filter(|b| b.doc.region_code.starts_with(&prefix))
        .map(|b| (b.doc.code.clone(), b.doc.name.clone()))
        .collect();
    let lookup_form = |base: Base, errors: Vec<FieldError>, choices: Vec<ItemChoice>| WindowPage {
        bundles: bundles.clone(),
        id_number: q.id_number.clone(),
        uscc: q.uscc.clone(),
        item: q.item.clone(),
        errors,
        choices,
        base,
    };
    if q.item.trim().is_empty() && q.id_number.is_empty() && q.uscc.is_empty() {
        return Ok(lookup_form(base, vec![], vec![]).into_response());
    }
    let code = match resolve_item(&s, &ctx, &q.item).await? {
        Ok(code) => code,
        Err(choices) => {
            let errors = if choices.is_empty() {
                vec![FieldError::new(
                    "item",
                    "window.no_item",
                    "没有找到您可收件的这一事项，请换个说法或输入实施编码",
                    "no item you may take matches; try other words or the service code",
                )]
            } else {
                vec![]
            };
            let status = if choices.is_empty() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            return Ok((status, lookup_form(base, errors, choices)).into_response());
        }
    };
    let found = async {
        let w = window_applicant(&s, &ctx, &q.id_number, &q.uscc).await?;
        let service = window_service(&s, &ctx, &code).await?;
        Ok::<_, ApiError>((w, service))
    }
    .await;
    match found {
        Ok((w, service)) => {
            let answers = answers_of(&q.rest);
            let mut values = BTreeMap::new();
            for (k, v) in cases::prefill(
                &s.store,
                &w.subject,
                None,
                &service.elements,
                &*cases::dictionary(&s.store).await?,
            )
            .await?
            {
                values.insert(format!("form.{k}"), v);
            }
            render_apply(
                &s,
                &ctx,
                base,
                &service.code,
                answers,
                values,
                vec![],
                String::new(),
                false,
                Some(w),
            )
            .await
        }
        Err(e) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            lookup_form(base, e.into_field_errors(), vec![]),
        )
            .into_response()),
    }
}

/// A window clerk submits the application for the applicant (帮办, channel 窗口): paper
/// materials with the originals checked, scans uploaded, licences from the applicant's wallet.
pub(super) async fn window_form(State(s): State<AppState>, ctx: Ctx, base: Base, mp: Multipart) -> ApiResult<Response> {
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let w = window_applicant(&s, &ctx, &get("id_number"), &get("uscc")).await?;
    let code = get("item");
    let service = cases::service_for(&s.store, &code).await?;
    let fields = field_views(&s, &service.elements.form).await?;
    let app = application_of(&values, &fields, &service.elements);
    let answers = app.answers.clone();
    if errors.is_empty() {
        let body = WindowBody {
            item_code: code.clone(),
            applicant: w.subject.key(),
            application: app,
            assisted: true,
        };
        match window_submit(&s, &ctx, &body, ctx.meta()).await {
            Ok(v) => {
                let id = v.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/work/cases/{id}")).into_response());
            }
            Err(e) => errors.extend(e.into_field_errors()),
        }
    }
    render_apply(
        &s,
        &ctx,
        base,
        &code,
        answers,
        values,
        errors,
        String::new(),
        false,
        Some(w),
    )
    .await
}
