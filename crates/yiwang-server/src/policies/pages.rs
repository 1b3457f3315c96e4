//! Pages: the policy editor with its dry run and workflow (`/work/policies`), and the
//! person's `/me/policies` — their profile, the policies that may be for them with every
//! condition explained, and confirming a direct grant.

use super::*;
use crate::pages::{Base, Page};
use askama::Template;
use axum::Form;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use yiwang_core::FieldError;
use yiwang_core::policies::{Audience, Outcome, PolicyMode};
use yiwang_store::policies::{Attribute, ForYou};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/work/policies", get(list_page).post(save_form))
        .route("/work/policies/new", get(new_page))
        .route("/work/policies/{policy_id}", get(policy_page))
        .route("/work/policies/{policy_id}/dry-run", post(dry_run_form))
        .route("/work/policies/{policy_id}/actions", post(act_form))
        .route("/me/policies", get(mine_page))
        .route("/me/policies/{policy_id}/confirm", post(confirm_form))
        .route("/me/policies/{policy_id}/apply", post(one_click_form))
}

fn yuan(fen: i64) -> String {
    format!("{:.2}", fen as f64 / 100.0)
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "work_policies.html")]
struct ListPage {
    base: Base,
    policies: Vec<Policy>,
}
crate::page!(ListPage);

async fn list_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    Ok(ListPage {
        base,
        policies: store::policies(&s.store).await?,
    }
    .into_response())
}

/// The editor's form, as typed (kept on a refusal).
#[derive(Deserialize, Default, Clone)]
struct PolicyForm {
    code: String,
    name: String,
    name_en: String,
    audience: String,
    mode: String,
    rule: String,
    amount: String,
    period_from: String,
    period_until: String,
    legal_basis: String,
    purpose: String,
    #[serde(default)]
    item_code: String,
    summary: String,
}

impl PolicyForm {
    fn of(i: &PolicyInput) -> PolicyForm {
        PolicyForm {
            code: i.code.clone(),
            name: i.name.clone(),
            name_en: i.name_en.clone(),
            audience: i.audience.as_str().into(),
            mode: i.mode.as_str().into(),
            rule: i.rule.clone(),
            amount: i.amount.clone(),
            period_from: i.period_from.to_string(),
            period_until: i.period_until.to_string(),
            legal_basis: i.legal_basis.clone(),
            purpose: i.purpose.clone(),
            item_code: i.item_code.clone().unwrap_or_default(),
            summary: i.summary.clone(),
        }
    }
    fn input(&self, department_id: &str) -> Result<PolicyInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let date = |field: &str, v: &str, errors: &mut Vec<FieldError>| {
            v.trim().parse::<NaiveDate>().unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    field,
                    "date",
                    "日期格式为 YYYY-MM-DD",
                    "a date is YYYY-MM-DD",
                ));
                NaiveDate::MIN
            })
        };
        let period_from = date("period_from", &self.period_from, &mut errors);
        let period_until = date("period_until", &self.period_until, &mut errors);
        let audience = Audience::parse(&self.audience).unwrap_or(Audience::Person);
        let mode = PolicyMode::parse(&self.mode).unwrap_or(PolicyMode::Direct);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PolicyInput {
            code: self.code.trim().to_string(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            audience,
            mode,
            rule: self.rule.clone(),
            amount: self.amount.clone(),
            period_from,
            period_until,
            department_id: department_id.to_string(),
            legal_basis: self.legal_basis.clone(),
            purpose: self.purpose.clone(),
            item_code: Some(self.item_code.trim().to_string()).filter(|c| !c.is_empty()),
            summary: self.summary.clone(),
        })
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "work_policy.html")]
struct PolicyPage {
    base: Base,
    policy: Option<Policy>,
    version: Option<PolicyVersion>,
    form: PolicyForm,
    errors: Vec<FieldError>,
    counts: Vec<(String, i64, String)>,
    disbursements: Vec<Disbursement>,
    can_edit: bool,
    can_review: bool,
    resources: Vec<yiwang_store::sharing::Resource>,
}
crate::page!(PolicyPage);

impl PolicyPage {
    fn yuan(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn state(&self) -> &'static str {
        self.version.as_ref().map_or("", |v| v.state.as_str())
    }
    fn state_name(&self) -> String {
        self.version
            .as_ref()
            .map(|v| self.base.lang.pick(v.state.zh(), v.state.en()).to_string())
            .unwrap_or_default()
    }
}

async fn editor(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: Option<&str>,
    form: Option<PolicyForm>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let (policy, version) = match id {
        Some(id) => {
            let (p, v) = managed(s, ctx, id).await?;
            (Some(p), Some(v))
        }
        None => (None, None),
    };
    let (can_edit, can_review) = match &policy {
        Some(p) => {
            let t = policy_target(s, p).await?;
            (
                ctx.require(Permission::PolicyManage, &t).is_ok(),
                ctx.require(Permission::PolicyReview, &t).is_ok(),
            )
        }
        None => (ctx.has(Permission::PolicyManage), false),
    };
    let mut counts = Vec::new();
    let mut disbursements = Vec::new();
    if let Some(p) = &policy {
        for (o, (n, a)) in store::finding_counts(&s.store, &p.id).await? {
            counts.push((o, n, yuan(a)));
        }
        disbursements = store::disbursements(&s.store, &p.id).await?;
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let form = form.unwrap_or_else(|| version.as_ref().map(|v| PolicyForm::of(&v.input)).unwrap_or_default());
    Ok((
        status,
        PolicyPage {
            base,
            policy,
            version,
            form,
            errors,
            counts,
            disbursements,
            can_edit,
            can_review,
            resources: yiwang_store::sharing::resources(&s.store).await?,
        },
    )
        .into_response())
}

async fn new_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    editor(&s, &ctx, base, None, None, vec![]).await
}

async fn policy_page(State(s): State<AppState>, ctx: Ctx, base: Base, Path(id): Path<String>) -> ApiResult<Response> {
    editor(&s, &ctx, base, Some(&id), None, vec![]).await
}

fn problems(e: ApiError) -> ApiResult<Vec<FieldError>> {
    if matches!(
        e.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::FORBIDDEN
    ) {
        Ok(e.errors)
    } else {
        Err(e)
    }
}

async fn save_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<PolicyForm>) -> ApiResult<Response> {
    let department = crate::sharing::acting_department(&ctx)?;
    let existing = store::policy_by_code(&s.store, f.code.trim()).await?;
    let id = existing.as_ref().map(|p| p.id.clone());
    let input = match f.input(&department) {
        Ok(i) => i,
        Err(errors) => return editor(&s, &ctx, base, id.as_deref(), Some(f), errors).await,
    };
    let r = async {
        ctx.require(
            Permission::PolicyManage,
            &crate::accounts::department_target(&s, &department).await?,
        )?;
        Ok::<_, ApiError>(store::save(&s.store, ctx.meta(), input).await?)
    }
    .await;
    match r {
        Ok((p, _)) => Ok(Redirect::to(&format!("/work/policies/{}", p.id)).into_response()),
        Err(e) => {
            let errors = problems(e)?;
            editor(&s, &ctx, base, id.as_deref(), Some(f), errors).await
        }
    }
}

async fn dry_run_form(State(s): State<AppState>, ctx: Ctx, base: Base, Path(id): Path<String>) -> ApiResult<Response> {
    let r = async {
        let (p, _) = managed(&s, &ctx, &id).await?;
        ctx.require(Permission::PolicyManage, &policy_target(&s, &p).await?)?;
        Ok::<_, ApiError>(store::dry_run(&s.store, ctx.meta(), &id).await?)
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/work/policies/{id}#dry-run")).into_response()),
        Err(e) => editor(&s, &ctx, base, Some(&id), None, problems(e)?).await,
    }
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    reasons: String,
}

async fn act_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> ApiResult<Response> {
    let r = async {
        let action = action_of(&f.action, Some(f.reasons))?;
        act(&s, &ctx, &id, action).await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/work/policies/{id}")).into_response()),
        Err(e) => editor(&s, &ctx, base, Some(&id), None, problems(e)?).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "me_policies.html")]
struct MinePage {
    base: Base,
    /// The enterprise the person acts for (its policies and profile are shown), if any.
    enterprise: Option<String>,
    items: Vec<ForYou>,
    profile: Vec<Attribute>,
    errors: Vec<FieldError>,
    /// The policy whose confirmation the errors belong to.
    failed: String,
}
crate::page!(MinePage);

impl MinePage {
    fn outcome(&self, o: &Outcome) -> &'static str {
        match o {
            Outcome::Eligible { .. } => "eligible",
            Outcome::Ineligible => "ineligible",
            Outcome::Undetermined { .. } => "undetermined",
            Outcome::Failed { .. } => "failed",
        }
    }
    fn outcome_text(&self, o: &Outcome) -> String {
        let l = self.base.lang;
        match o {
            Outcome::Eligible { amount_fen } => format!(
                "{}{} {}",
                l.pick(
                    "按现有数据，您符合条件，金额约 ",
                    "By the data held you qualify; about CNY "
                ),
                yuan(*amount_fen),
                l.pick("元", "")
            ),
            Outcome::Ineligible => l
                .pick(
                    "按现有数据，您暂不符合条件。",
                    "By the data held you do not qualify now.",
                )
                .into(),
            Outcome::Undetermined { .. } => l
                .pick(
                    "缺少部分数据，暂时无法判断。",
                    "Some data is missing, so this cannot be decided yet.",
                )
                .into(),
            Outcome::Failed { .. } => l
                .pick(
                    "判断时出错，已记录，工作人员会处理。",
                    "The check failed; it is recorded for the staff.",
                )
                .into(),
        }
    }
    fn value_text(&self, v: &serde_json::Value) -> String {
        match v {
            // The built-in `sex` attribute (GB 11643 §4.3), in words.
            serde_json::Value::String(s) if s == "male" => self.base.lang.pick("男", "male").into(),
            serde_json::Value::String(s) if s == "female" => self.base.lang.pick("女", "female").into(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(self.base.lang.pick("、", ", ")),
            serde_json::Value::Null => "–".into(),
            other => other.to_string(),
        }
    }
    fn source_text(&self, source: &str) -> String {
        let l = self.base.lang;
        match source {
            "identity" => l
                .pick("身份信息（公民身份号码）", "identity (resident ID number)")
                .into(),
            "licences" => l.pick("您持有的电子证照", "your e-licences").into(),
            "cases" => l.pick("您办结的事项", "your granted cases").into(),
            other => match other.strip_prefix("resource:") {
                Some(r) => format!("{}{r}", l.pick("共享数据资源 ", "shared data resource ")),
                None => other.into(),
            },
        }
    }
    fn at(&self, t: &Option<i64>) -> String {
        t.map(|t| self.when(&t)).unwrap_or_default()
    }
    fn direct(&self, f: &ForYou) -> bool {
        f.version.input.mode == PolicyMode::Direct
    }
    fn one_click(&self, f: &ForYou) -> bool {
        f.version.input.mode == PolicyMode::OneClick
    }
    fn eligible(&self, f: &ForYou) -> bool {
        matches!(f.explanation.outcome, Outcome::Eligible { .. })
    }
}

async fn render_mine(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    errors: Vec<FieldError>,
    failed: &str,
) -> ApiResult<Response> {
    let (_, who) = me(ctx)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        MinePage {
            enterprise: ctx.acting_for.as_ref().and_then(|(w, name)| match w {
                Who::Legal(_) => Some(name.clone()),
                Who::Person(_) => None,
            }),
            base,
            items: store::for_subject(&s.store, &who).await?,
            profile: store::own_profile(&s.store, &who).await?,
            errors,
            failed: failed.to_string(),
        },
    )
        .into_response())
}

async fn mine_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_mine(&s, &ctx, base, vec![], "").await
}

#[derive(Deserialize)]
struct ConfirmForm {
    account: String,
    #[serde(default)]
    consent: Option<String>,
}

async fn confirm_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> ApiResult<Response> {
    let (pid, who) = me(&ctx)?;
    let consent = f.consent.as_deref() == Some("yes");
    match store::confirm(&s.store, ctx.meta(), &pid, &who, &id, &f.account, consent).await {
        Ok(_) => Ok(Redirect::to(&format!("/me/policies#policy-{id}")).into_response()),
        Err(e) => render_mine(&s, &ctx, base, problems(ApiError::from(e))?, &id).await,
    }
}

/// 即申即享: the prefilled application made (or reopened) and opened for checking.
async fn one_click_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (pid, who) = me(&ctx)?;
    match store::one_click(&s.store, ctx.meta(), &pid, &who, &id).await {
        Ok(d) => Ok(Redirect::to(&format!(
            "/services/{}/apply?draft={}",
            crate::pages::urlencode(&d.item_code),
            crate::pages::urlencode(&d.draft_id)
        ))
        .into_response()),
        Err(e) => render_mine(&s, &ctx, base, problems(ApiError::from(e))?, &id).await,
    }
}
