//! An entry: versions, history, diff, actions.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// An entry: versions, history, diff, actions
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct EntryQuery {
    #[serde(default)]
    pub(super) from: Option<i64>,
    #[serde(default)]
    pub(super) to: Option<i64>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_entry.html")]
pub(super) struct EntryPage {
    pub(super) base: Base,
    pub(super) entry: store::Entry,
    pub(super) department: Option<String>,
    pub(super) versions: Vec<VersionSummary>,
    pub(super) open: Option<store::Version>,
    pub(super) history: Vec<HistoryRow>,
    pub(super) actors: BTreeMap<String, String>,
    pub(super) diff: Option<(i64, i64, Vec<core::Change>)>,
    pub(super) can_edit: bool,
    pub(super) can_review: bool,
    pub(super) me: String,
    pub(super) errors: Vec<FieldError>,
    pub(super) notice: Option<String>,
    pub(super) public_code: Option<String>,
}

crate::page!(EntryPage);

impl EntryPage {
    pub(super) fn who(&self, a: &str) -> String {
        let first = a.split('>').next().unwrap_or(a);
        self.actors.get(first).cloned().unwrap_or_else(|| a.to_string())
    }
    pub(super) fn who_opt(&self, a: &Option<String>) -> String {
        a.as_deref().map(|a| self.who(a)).unwrap_or_default()
    }
    pub(super) fn state(&self, s: &VersionState) -> &'static str {
        self.base.lang.name(&s)
    }
    pub(super) fn open_state(&self) -> &'static str {
        state_name(self.base.lang, self.entry.open_state)
    }
    pub(super) fn event(&self, k: &str) -> &'static str {
        let l = self.base.lang;
        match k {
            "catalog.entry_created" => l.pick("创建", "created"),
            "catalog.draft_saved" => l.pick("保存草稿", "draft saved"),
            "catalog.submitted" => l.pick("提交审核", "submitted"),
            "catalog.recalled" => l.pick("撤回", "recalled"),
            "catalog.returned" => l.pick("审核退回", "returned"),
            "catalog.published" => l.pick("审核发布", "published"),
            "catalog.discarded" => l.pick("废弃草稿", "discarded"),
            "catalog.inherited" => l.pick("继承基本目录的锁定要素", "locked elements inherited"),
            "catalog.draft_rebased" => l.pick("草稿同步基本目录", "draft rebased"),
            _ => l.pick("变更", "change"),
        }
    }
    pub(super) fn changed(&self, h: &HistoryRow) -> String {
        if h.changed.len() > 8 {
            return format!("{} {}", h.changed.len(), self.base.lang.pick("项要素", "elements"));
        }
        h.changed
            .iter()
            .map(|c| core::element_zh(c))
            .collect::<Vec<_>>()
            .join(self.base.lang.pick("、", ", "))
    }
    pub(super) fn show(&self, v: &Value) -> String {
        match v {
            Value::Null => "–".into(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    pub(super) fn may_submit(&self) -> bool {
        self.can_edit && self.entry.open_state == Some(VersionState::Draft)
    }
    pub(super) fn may_recall(&self) -> bool {
        self.can_edit
            && self.entry.open_state == Some(VersionState::Submitted)
            && self.open.as_ref().and_then(|o| o.submitted_by.as_deref()) == Some(self.me.as_str())
    }
    pub(super) fn may_review(&self) -> bool {
        self.can_review && self.entry.open_state == Some(VersionState::Submitted)
    }
    /// Four eyes, shown before trying: the reviewer edited or submitted this version.
    pub(super) fn own_work(&self) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.submitted_by.as_deref() == Some(self.me.as_str()) || o.editors.iter().any(|e| e == &self.me)
        })
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_entry(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    q: EntryQuery,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> ApiResult<Response> {
    let entry = load_entry(s, id).await?;
    let target = entry_target(s, &entry);
    let all = store::versions_of(&s.store, id).await?;
    let versions: Vec<VersionSummary> = all.iter().map(summary).rev().collect();
    let open = entry
        .open_version
        .and_then(|v| all.iter().find(|x| x.version == v).cloned());
    let diff = match (q.from, q.to) {
        (Some(a), Some(b)) => match store::diff(&s.store, id, a, b).await {
            Ok(d) => Some((a, b, d)),
            Err(_) => None,
        },
        _ => {
            // By default: what the open version changes against the last publication.
            match (entry.published_version, entry.open_version) {
                (Some(p), Some(o)) => Some((p, o, store::diff(&s.store, id, p, o).await?)),
                _ => None,
            }
        }
    };
    let department = match &entry.department_id {
        Some(d) => yiwang_store::orgs::department(&s.store.read, d).await?.map(|d| d.name),
        None => None,
    };
    let public_code = match entry.kind {
        EntryKind::Item => store::service(&s.store, &entry.code, now_ms()).await?.map(|x| x.code),
        EntryKind::Basic => None,
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        EntryPage {
            can_edit: ctx.actor.authorize(Permission::CatalogManage, &target).is_ok(),
            can_review: ctx.actor.authorize(Permission::CatalogReview, &target).is_ok(),
            me: ctx.ledger_actor(),
            history: history(s, id).await?,
            actors: actor_names(s).await,
            base,
            entry,
            department,
            versions,
            open,
            diff,
            errors,
            notice,
            public_code,
        },
    )
        .into_response())
}

pub(super) async fn entry_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<EntryQuery>,
    base: Base,
) -> ApiResult<Response> {
    render_entry(&s, &ctx, base, &id, q, vec![], None).await
}

/// The workflow step a manager's form asks for (`action`, and `reasons` for a return):
/// the action, the permission it needs (editors submit, recall and discard; reviewers
/// publish and return) and what the page says once it is done. Catalogue entries and
/// 一件事 share it.
pub(crate) fn workflow_action(
    form: &BTreeMap<String, String>,
    lang: Lang,
) -> Result<(Action, Permission, &'static str), FieldError> {
    Ok(match form.get("action").map(String::as_str) {
        Some("submit") => (
            Action::Submit,
            Permission::CatalogManage,
            lang.pick("已提交审核", "Submitted for review"),
        ),
        Some("recall") => (
            Action::Recall,
            Permission::CatalogManage,
            lang.pick("已撤回", "Recalled"),
        ),
        Some("discard") => (
            Action::Discard,
            Permission::CatalogManage,
            lang.pick("草稿已废弃", "Draft discarded"),
        ),
        Some("publish") => (
            Action::Publish,
            Permission::CatalogReview,
            lang.pick("已审核发布", "Published"),
        ),
        Some("return") => (
            Action::Return {
                reasons: form.get("reasons").cloned().unwrap_or_default(),
            },
            Permission::CatalogReview,
            lang.pick("已退回修改", "Returned"),
        ),
        _ => return Err(FieldError::new("action", "required", "未知操作", "unknown action")),
    })
}

/// Submit, recall, discard (editors); publish, return (reviewers).
pub(super) async fn act_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let entry = load_entry(&s, &id).await?;
    let target = entry_target(&s, &entry);
    let lang = base.lang;
    let (action, perm, done) = match workflow_action(&form, lang) {
        Ok(a) => a,
        Err(e) => return render_entry(&s, &ctx, base, &id, EntryQuery::default(), vec![e], None).await,
    };
    ctx.require(perm, &target)?;
    match s
        .store
        .write(
            ctx.meta(),
            catalog_cmd(Cmd::Act {
                entry_id: id.clone(),
                action,
            }),
        )
        .await
    {
        Ok(_) => render_entry(&s, &ctx, base, &id, EntryQuery::default(), vec![], Some(done.into())).await,
        Err(e) => {
            render_entry(
                &s,
                &ctx,
                base,
                &id,
                EntryQuery::default(),
                ApiError::from(e).into_field_errors(),
                None,
            )
            .await
        }
    }
}
