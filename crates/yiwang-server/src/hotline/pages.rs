//! Pages of 12345: the public request and follow pages, the agent console (the intake form,
//! keyboard-first, beside the centre's board), the unit's inbox and a ticket's page with the
//! steps the looker may take. They call the same functions as the API.

use super::*;
use crate::pages::{Base, Fields, Page, field};
use askama::Template;
use axum::Form;
use axum::response::{IntoResponse, Redirect};
use yiwang_core::FieldError;
use yiwang_core::Named;
use yiwang_core::hotline::{Category, Redirect as Elsewhere, Satisfaction, State as TicketState};

fn opt(f: &Fields, k: &str) -> Option<String> {
    Some(field(f, k).trim().to_string()).filter(|v| !v.is_empty())
}

fn input_of(f: &Fields) -> TicketInput {
    TicketInput {
        category: field(f, "category").to_string(),
        priority: opt(f, "priority"),
        region_code: field(f, "region_code").trim().to_string(),
        address: opt(f, "address"),
        content: field(f, "content").to_string(),
        caller_name: field(f, "caller_name").to_string(),
        caller_phone: field(f, "caller_phone").trim().to_string(),
        confidential: field(f, "confidential") == "on",
        redirect: opt(f, "redirect"),
        request_id: opt(f, "request_id"),
        channel: opt(f, "channel"),
    }
}

/// What the intake forms offer.
pub(super) struct Choices {
    pub categories: Vec<(&'static str, &'static str)>,
    pub redirects: Vec<(&'static str, &'static str)>,
    pub regions: Vec<(String, String)>,
}

async fn choices(s: &AppState, lang: crate::i18n::Lang) -> ApiResult<Choices> {
    let mut regions: Vec<(String, String)> = yiwang_store::regions::all(&s.store.read)
        .await?
        .into_iter()
        .filter(|r| yiwang_core::access::region_within(&s.home_region, &r.code))
        .map(|r| (r.code, r.name))
        .collect();
    regions.sort();
    Ok(Choices {
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), lang.pick(c.zh(), c.en())))
            .collect(),
        redirects: Elsewhere::ALL
            .iter()
            .map(|c| (c.as_str(), lang.pick(c.zh(), c.en())))
            .collect(),
        regions,
    })
}

// ---------------------------------------------------------------------------------------
// The public pages
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_public.html")]
struct PublicPage {
    base: Base,
    choices: Choices,
    values: Fields,
    errors: Vec<FieldError>,
    /// The number just given.
    done: Option<String>,
}
crate::page!(PublicPage);

impl PublicPage {
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn invalid(&self, k: &str) -> bool {
        self.errors.iter().any(|e| e.field == k)
    }
}

pub(super) async fn public_page(State(s): State<AppState>, ctx: Ctx, mut base: Base) -> ApiResult<Response> {
    // A visitor without a login still posts with its session's form token.
    base.csrf = ctx.csrf().await;
    let choices = choices(&s, base.lang).await?;
    Ok(PublicPage {
        base,
        choices,
        values: vec![("request_id".into(), yiwang_store::new_id())],
        errors: vec![],
        done: None,
    }
    .into_response())
}

pub(super) async fn public_form(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let mut base = base;
    base.csrf = ctx.csrf().await;
    let mut input = input_of(&f);
    input.redirect = None;
    input.channel = None;
    let choices = choices(&s, base.lang).await?;
    match submit(&s, &ctx, &ip, &input).await {
        Ok(w) => Ok(PublicPage {
            base,
            choices,
            values: vec![],
            errors: vec![],
            done: w.value["id"].as_str().map(str::to_string),
        }
        .into_response()),
        Err(e) => {
            let errors = e.into_field_errors();
            Ok((
                crate::pages::form_status(&errors),
                PublicPage {
                    base,
                    choices,
                    values: f,
                    errors,
                    done: None,
                },
            )
                .into_response())
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_follow.html")]
struct FollowPage {
    base: Base,
    id: String,
    phone: String,
    progress: Option<Progress>,
    /// Asked and not found.
    missing: bool,
}
crate::page!(FollowPage);

#[derive(Debug, Default, Deserialize)]
pub(super) struct FollowForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    phone: String,
}

pub(super) async fn follow_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<FollowForm>,
) -> ApiResult<Response> {
    let asked = !q.id.trim().is_empty() && !q.phone.trim().is_empty();
    let progress = if asked {
        store::follow(&s.store, q.id.trim(), &q.phone).await?
    } else {
        None
    };
    let missing = asked && progress.is_none();
    let status = if missing {
        axum::http::StatusCode::NOT_FOUND
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        FollowPage {
            base,
            id: q.id,
            phone: q.phone,
            progress,
            missing,
        },
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// The agent console and the unit's inbox
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_console.html")]
struct ConsolePage {
    base: Base,
    choices: Choices,
    board: HotlineBoard,
    values: Fields,
    errors: Vec<FieldError>,
    /// The knowledge base beside the intake form: what was looked up, what it found.
    kb_q: String,
    kb: Option<KbResults>,
}
crate::page!(ConsolePage);

impl ConsolePage {
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn invalid(&self, k: &str) -> bool {
        self.errors.iter().any(|e| e.field == k)
    }
}

async fn render_console(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    values: Fields,
    errors: Vec<FieldError>,
    kb_q: String,
) -> ApiResult<Response> {
    let kb = if kb_q.trim().is_empty() {
        None
    } else {
        Some(find(s, &kb_q, None, 5).await?)
    };
    let choices = choices(s, base.lang).await?;
    let board = board(s, ctx).await?;
    let values = if values.is_empty() {
        vec![("request_id".into(), yiwang_store::new_id())]
    } else {
        values
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ConsolePage {
            base,
            choices,
            board,
            values,
            errors,
            kb_q,
            kb,
        },
    )
        .into_response())
}

pub(super) async fn console_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    ApiQuery(q): ApiQuery<KbQuery>,
) -> ApiResult<Response> {
    render_console(&s, &ctx, base, vec![], vec![], q.q).await
}

pub(super) async fn console_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    match receive(&s, &ctx, &input_of(&f)).await {
        Ok(w) => {
            let id = w.value["id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/work/hotline/tickets/{id}")).into_response())
        }
        Err(e) => render_console(&s, &ctx, base, f, e.into_field_errors(), String::new()).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_inbox.html")]
struct InboxPage {
    base: Base,
    tickets: Vec<Ticket>,
    now: i64,
}
crate::page!(InboxPage);

pub(super) async fn inbox_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let tickets = inbox(&s, &ctx).await?;
    Ok(InboxPage {
        base,
        tickets,
        now: yiwang_store::now_ms(),
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// A ticket
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_ticket.html")]
struct TicketPage {
    base: Base,
    v: TicketView,
    /// The units a dispatch may choose: the catalogue's suggestions first, then every unit
    /// of the region.
    units: Vec<(String, String)>,
    names: std::collections::HashMap<String, String>,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
    /// The ticket's region by name.
    region_name: String,
}
crate::page!(TicketPage);

impl TicketPage {
    fn is(&self, st: &str) -> bool {
        self.v.ticket.state.as_str() == st
    }
    fn centre(&self) -> bool {
        self.v.party == Party::Centre
    }
    fn main_unit(&self) -> bool {
        self.v.role == "main"
    }
    fn assisting(&self) -> bool {
        self.v.role == "assisting"
    }
    fn role_name(&self, role: &str) -> &'static str {
        let l = self.base.lang;
        match role {
            "main" => l.pick("主办", "main"),
            "assisting" => l.pick("协办", "assisting"),
            _ => l.pick("上级督办", "superior (escalated)"),
        }
    }
    fn unit_name(&self, id: &Option<String>) -> String {
        id.as_deref().map(|d| self.unit_of(d)).unwrap_or_default()
    }
    fn unit_of(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
    fn satisfactions(&self) -> Vec<(&'static str, &'static str)> {
        Satisfaction::ALL
            .iter()
            .map(|x| (x.as_str(), self.base.lang.pick(x.zh(), x.en())))
            .collect()
    }
    fn step_text(&self, h: &serde_json::Value) -> String {
        let l = self.base.lang;
        let name = match h["action"].as_str().unwrap_or("") {
            "receive" => l.pick("受理", "Received"),
            "dispatch" => l.pick("派单", "Dispatched"),
            "answer" => l.pick("直接答复办结", "Answered at once"),
            "dispute" => l.pick("退单", "Sent back"),
            "reject_dispute" => l.pick("退单不予认可", "Sent back: not accepted"),
            "reply" => l.pick("承办单位回复", "The unit's answer"),
            "call_back" => l.pick("回访", "Call-back"),
            "reopen" => l.pick("重办", "Reopened"),
            "merge" => l.pick("并单", "Merged"),
            "extend" => l.pick("申请延期", "Extension asked"),
            "decide_extension" => {
                if h["approve"].as_bool() == Some(true) {
                    l.pick("同意延期", "Extension granted")
                } else {
                    l.pick("不同意延期", "Extension refused")
                }
            }
            "assist" => l.pick("协办意见", "Assisting unit's part"),
            "supervise" => l.pick("督办", "Supervised"),
            other => return other.to_string(),
        };
        let detail: Vec<String> = [
            h["department_id"].as_str().map(|d| self.unit_of(d)),
            h["satisfaction"]
                .as_str()
                .and_then(Satisfaction::parse)
                .map(|x| l.pick(x.zh(), x.en()).to_string()),
            h["resolved"].as_bool().map(|r| {
                l.pick(
                    if r { "已解决" } else { "未解决" },
                    if r { "resolved" } else { "unresolved" },
                )
                .to_string()
            }),
            h["into"].as_str().map(|x| format!("→ {x}")),
            h["days"]
                .as_u64()
                .map(|d| format!("{d} {}", l.pick("个工作日", "working days"))),
            h["article_title"]
                .as_str()
                .map(|x| format!("{}{x}", l.pick("引用知识：", "citing: "))),
            h["reason"]
                .as_str()
                .or(h["reply"].as_str())
                .or(h["answer"].as_str())
                .or(if l.pick("zh", "en") == "en" {
                    h["note_en"].as_str()
                } else {
                    None
                })
                .or(h["note"].as_str())
                .map(str::to_string),
        ]
        .into_iter()
        .flatten()
        .collect();
        if detail.is_empty() {
            name.to_string()
        } else {
            format!("{name}{}{}", l.colon(), detail.join(l.sep()))
        }
    }
    fn at(&self, h: &serde_json::Value) -> String {
        h["at"].as_i64().map(|t| self.when(&t)).unwrap_or_default()
    }
}

async fn render_ticket(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
) -> ApiResult<Response> {
    let v = view(s, ctx, id).await?;
    let mut names = std::collections::HashMap::new();
    let mut units = vec![];
    for e in &v.suggestions {
        if let Some(d) = yiwang_store::refdata::department(&s.store, &e.department_id).await?
            && !units.iter().any(|(id, _)| id == &d.id)
        {
            units.push((d.id.clone(), format!("{}（{}）", d.name, e.name)));
        }
    }
    for (d, n) in &v.past_units {
        if let Some(d) = yiwang_store::refdata::department(&s.store, d).await?
            && !units.iter().any(|(id, _)| id == &d.id)
        {
            let label = base.lang.pick("以往同类工单", "similar past tickets");
            units.push((d.id.clone(), format!("{}（{label} {n}）", d.name)));
        }
    }
    for d in yiwang_store::orgs::departments(&s.store.read, None).await? {
        names.insert(d.id.clone(), d.name.clone());
        let near = yiwang_core::access::region_within(&d.region_code, &v.ticket.region_code)
            || yiwang_core::access::region_within(&v.ticket.region_code, &d.region_code);
        if v.party == Party::Centre && near && !units.iter().any(|(id, _)| id == &d.id) {
            units.push((d.id, d.name));
        }
    }
    let region_name = yiwang_store::regions::get(&s.store.read, &v.ticket.region_code)
        .await?
        .map(|r| r.name)
        .unwrap_or_else(|| v.ticket.region_code.clone());
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        TicketPage {
            region_name,
            base,
            v,
            units,
            names,
            values,
            errors,
            done,
        },
    )
        .into_response())
}

pub(super) async fn ticket_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render_ticket(&s, &ctx, base, &id, vec![], vec![], None).await
}

/// The step a ticket page's form asks for (`action` and its fields).
fn action_of(f: &Fields) -> Result<Action, FieldError> {
    let text = |k: &str| field(f, k).to_string();
    Ok(match field(f, "action") {
        "dispatch" => Action::Dispatch {
            department_id: text("department_id"),
            assisting: f
                .iter()
                .filter(|(k, v)| k == "assisting" && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect(),
            note: opt(f, "note"),
        },
        "answer" => Action::Answer {
            answer: text("answer"),
            article_id: opt(f, "article_id"),
        },
        "merge" => Action::Merge { into: text("into") },
        "extend" => Action::Extend {
            days: field(f, "days").trim().parse().map_err(|_| {
                FieldError::new(
                    "days",
                    "hotline.extension_days",
                    "请填写延期的工作日数",
                    "give the working days to add",
                )
            })?,
            reason: text("reason"),
        },
        "decide_extension" => Action::DecideExtension {
            approve: field(f, "decision") == "approve",
            reason: text("reason"),
        },
        "assist" => Action::Assist { note: text("note") },
        "supervise" => Action::Supervise { note: text("note") },
        "dispute" => Action::Dispute { reason: text("reason") },
        "reject_dispute" => Action::RejectDispute { reason: text("reason") },
        "reply" => Action::Reply { reply: text("reply") },
        "call_back" => Action::CallBack {
            reached: field(f, "reached") != "no",
            resolved: field(f, "resolved") == "yes",
            satisfaction: Satisfaction::parse(field(f, "satisfaction")).ok_or_else(|| {
                FieldError::new(
                    "satisfaction",
                    "hotline.satisfaction",
                    "请选择满意程度",
                    "choose how satisfied the person is",
                )
            })?,
            note: opt(f, "note"),
        },
        "reopen" => Action::Reopen { reason: text("reason") },
        _ => {
            return Err(FieldError::new(
                "action",
                "hotline.action",
                "未知的操作",
                "unknown step",
            ));
        }
    })
}

pub(super) async fn ticket_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let result = match action_of(&f) {
        Ok(a) => act(&s, &ctx, &id, a).await.map_err(|e| e.into_field_errors()),
        Err(e) => Err(vec![e]),
    };
    match result {
        Ok(_) => {
            let done = field(&f, "action").to_string();
            render_ticket(&s, &ctx, base, &id, vec![], vec![], Some(done)).await
        }
        Err(errors) => render_ticket(&s, &ctx, base, &id, f, errors, None).await,
    }
}

impl TicketPage {
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn state_name(&self) -> &'static str {
        let st: TicketState = self.v.ticket.state;
        self.name(&st)
    }
}
