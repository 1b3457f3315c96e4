//! Applying for a 一件事 (一窗(端)受理, STANDARDS §5): one application, cut into the members'
//! (`yiwang_core::bundles::split`), becomes one bundle case with its own number and, in the
//! same command (all or nothing), the sub-cases of the members that start at once, each in
//! its competent department with the shared answers, form values and materials, pre-checked
//! and numbered, sealed and signed on the request task like any submission. A member that
//! waits for a predecessor's result keeps its part of the application sealed (SM4) until
//! then. A retried request with the same Idempotency-Key returns the first bundle case.

use super::*;
use crate::cases::{self, Applicant, Submission, SubmitCmd};
use yiwang_core::bundles::BundleApplication;
use yiwang_core::cases::Channel;

/// An application for a bundle: which one, by whom, how.
#[derive(Debug, Clone)]
pub struct BundleSubmission {
    pub code: String,
    pub applicant: Applicant,
    pub channel: Channel,
    /// 帮办: filled in for the applicant (a clerk, or an agent under a mandate).
    pub assisted: bool,
    pub application: BundleApplication,
}

/// A member as the bundle case records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct BundleCaseMember {
    pub member_key: String,
    pub item_code: String,
    pub item_name: String,
    pub department_id: String,
    /// `started` (its sub-case exists) or `waiting` (for the results it names in `after`).
    pub state: String,
    pub case_id: Option<String>,
    #[sqlx(try_from = "JsonText")]
    pub after_members: Vec<String>,
    /// Its materials a predecessor's result provides (免提交): material key → member.
    #[sqlx(try_from = "JsonText")]
    pub fed: BTreeMap<String, String>,
    /// 多地联办: the partner node that decides it, and the case as it crosses to that node
    /// (its status is the partner's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing_id: Option<String>,
}

/// A member forwarded to its node as it starts (多地联办): as the bundle case records it,
/// the crossing this node keeps, the envelope.
pub type Forward = (
    BundleCaseMember,
    crate::federation::CrossingRow,
    crate::federation::Outgoing,
);

/// A bundle case (一件事办件).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct BundleCase {
    pub id: String,
    pub bundle_id: String,
    pub bundle_code: String,
    pub bundle_version: i64,
    pub name: String,
    pub lead_department_id: String,
    pub region_code: String,
    pub applicant: String,
    pub applicant_name: String,
    pub submitted_by: String,
    pub channel: String,
    pub state: String,
    pub promised_days: i64,
    pub received_on: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A member that waits: its part of the application, sealed.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub member: BundleCaseMember,
    pub application_enc: String,
}

/// What an application carries into the writer, prepared on the request task.
#[derive(Debug, Clone)]
pub struct ApplyCmd {
    pub case: BundleCase,
    /// The sub-cases that start now, by member key.
    pub starts: Vec<(BundleCaseMember, SubmitCmd)>,
    /// The members decided at partner nodes that start now.
    pub forwards: Vec<Forward>,
    pub waiting: Vec<Waiting>,
    /// One receipt for the whole bundle, listing every sub-case (一次收件), signed by the
    /// lead department.
    pub receipt: cases::Notice,
}

impl ApplyCmd {
    /// The streams the command opens (read as absent at the start of the batch).
    pub(crate) fn new_streams(&self) -> Vec<String> {
        let mut v = vec![case_stream(&self.case.id)];
        v.extend(
            self.starts
                .iter()
                .map(|(m, _)| cases::stream(m.case_id.as_deref().unwrap_or_default())),
        );
        v
    }
}

pub(super) fn case_stream(id: &str) -> String {
    format!("bundle_case:{id}")
}

/// Puts a member's name before the fields of its pre-check's problems.
fn in_member(key: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Domain(mut d) => {
            for f in &mut d.errors {
                f.field = format!("members.{key}.{}", f.field);
            }
            StoreError::Domain(d)
        }
        other => other,
    }
}

/// Applies for a published bundle: checks and splits the application, pre-checks and
/// prepares every member that starts now, seals the parts that wait, and stores it all in
/// one command.
pub async fn apply(store: &Store, meta: Meta, sub: BundleSubmission) -> Result<Written> {
    let (bundle, version) = published_of(store, &sub.code)
        .await?
        .ok_or_else(|| StoreError::from(DomainError::not_found("bundle_code", "一件事", "bundle", &sub.code)))?;
    let doc = &version.doc;
    // 一窗受理 at a window or online: the bundle's channels say which.
    let channel_form = match sub.channel {
        Channel::Online => yiwang_core::catalog::HandlingForm::Online,
        _ => yiwang_core::catalog::HandlingForm::Window,
    };
    if !doc.channels.contains(&channel_form) {
        return Err(DomainError::invalid(vec![FieldError::new(
            "channel",
            "bundles.channel",
            "该一件事不提供这种办理渠道",
            "this bundle is not applied for through this channel",
        )])
        .into());
    }
    let services = member_services(store, doc, crate::now_ms()).await?;
    let parts = core::split(doc, &member_items(&services), &sub.application)?;
    if let Some(w) = crate::writer::answered(store, &meta).await? {
        return Ok(w);
    }
    let now = crate::now_ms();
    let today = crate::date_of(now);
    let id = cases::next_case_number(store, &bundle.region_code, today).await?;
    let dict = cases::dictionary(store).await?;
    let mut starts = vec![];
    let mut forwards = vec![];
    let mut remote_now = vec![];
    let mut waiting = vec![];
    for p in parts {
        let node = doc.members.iter().find(|m| m.key == p.key).and_then(|m| m.node.clone());
        let svc = services
            .get(&p.item_code)
            .cloned()
            .ok_or_else(|| internal(format!("member {} lost its item", p.key)))?;
        let mut member = BundleCaseMember {
            member_key: p.key.clone(),
            item_code: p.item_code.clone(),
            item_name: svc.elements.name.clone(),
            department_id: svc.department_id.clone(),
            state: "waiting".into(),
            case_id: None,
            after_members: p.after.clone(),
            fed: p.fed.clone(),
            node: node.clone(),
            crossing_id: None,
        };
        if node.is_some() && p.after.is_empty() {
            // 多地联办: pre-checked here against the partner's published guide (its node checks
            // again), forwarded once every member here is prepared (below).
            yiwang_core::cases::precheck(&svc.elements, &|c| dict.get(c).cloned(), &p.application, true)
                .map_err(|e| in_member(&p.key, e.into()))?;
            remote_now.push((member, p.application));
        } else if p.after.is_empty() {
            let s = Submission {
                item_code: p.item_code.clone(),
                applicant: sub.applicant.clone(),
                channel: sub.channel,
                assisted: sub.assisted,
                application: p.application,
                draft_id: None,
            };
            // The bundle's key answers for the whole: each member is prepared without one.
            let inner = Meta::actor(meta.actor.clone());
            let cmd = match cases::prepare_submission(store, &inner, s, svc, None).await {
                Ok(Ok(cmd)) => cmd,
                Ok(Err(_)) => return Err(internal("a member without an idempotency key was answered")),
                Err(e) => return Err(in_member(&p.key, e)),
            };
            member.state = "started".into();
            member.case_id = cmd.prepared.as_ref().map(|x| x.row.id.clone());
            starts.push((member, cmd));
        } else {
            // 智能预审 over the whole bundle: a waiting member's part is checked now against its
            // item, less the materials its predecessors' results will provide.
            let mut e = svc.elements.clone();
            e.materials.retain(|m| !p.fed.contains_key(&m.key));
            yiwang_core::cases::precheck(&e, &|c| dict.get(c).cloned(), &p.application, true)
                .map_err(|e| in_member(&p.key, e.into()))?;
            let bytes = serde_json::to_vec(&json!({ "application": p.application,
                                                    "applicant_code": sub.applicant.code }))
            .map_err(internal)?;
            let application_enc = store
                .keyring
                .pii
                .seal_bytes(&format!("bundle_cases.application:{id}:{}", p.key), &bytes);
            waiting.push(Waiting {
                member,
                application_enc,
            });
        }
    }
    // 多地联办: each member decided at a partner node goes there, in this bundle case's name.
    for (mut member, application) in remote_now {
        let node = member.node.clone().unwrap_or_default();
        let (row, out) = forward_member(
            store,
            &meta.actor,
            &sub.applicant,
            sub.channel,
            &node,
            &id,
            &member.member_key,
            &member.item_name,
            &member.item_code,
            application,
        )
        .await
        .map_err(|e| in_member(&member.member_key, e))?;
        member.state = "started".into();
        member.crossing_id = Some(row.id.clone());
        forwards.push((member, row, out));
    }
    // 一次收件: one receipt of the lead department naming every member and its sub-case.
    let listed: Vec<Value> = starts
        .iter()
        .map(|(m, _)| m)
        .chain(forwards.iter().map(|(m, ..)| m))
        .chain(waiting.iter().map(|w| &w.member))
        .map(|m| {
            let dept = services
                .get(&m.item_code)
                .map(|s| s.department_name.clone())
                .unwrap_or_default();
            let after: Vec<String> = m
                .after_members
                .iter()
                .filter_map(|k| doc.members.iter().find(|x| &x.key == k))
                .filter_map(|x| services.get(&x.item_code).map(|s| s.elements.name.clone()))
                .collect();
            json!({ "member": m.member_key, "item_name": m.item_name, "department": dept,
                    "case_id": m.case_id, "node": m.node, "after": after })
        })
        .collect();
    let lead = crate::refdata::department(store, &doc.lead_department_id)
        .await?
        .map(|d| d.name);
    let receipt = cases::prepare_notice(
        store,
        &cases::NoticeFor {
            id: &id,
            item_code: &bundle.code,
            item_name: &doc.name,
            applicant_name: &sub.applicant.name,
            department_id: &doc.lead_department_id,
        },
        lead.as_deref(),
        yiwang_core::cases::NoticeKind::Receipt,
        json!({ "bundle": true, "channel": sub.channel, "received_on": today,
                "promised_days": doc.promised_days, "members": listed }),
        now,
    )
    .await?;
    let case = BundleCase {
        id,
        bundle_id: bundle.id.clone(),
        bundle_code: bundle.code.clone(),
        bundle_version: version.version,
        name: doc.name.clone(),
        lead_department_id: doc.lead_department_id.clone(),
        region_code: doc.region_code.clone(),
        applicant: sub.applicant.subject.key(),
        applicant_name: sub.applicant.name.clone(),
        submitted_by: meta.actor.clone(),
        channel: sub.channel.as_str().to_string(),
        state: "open".into(),
        promised_days: i64::from(doc.promised_days),
        received_on: today.to_string(),
        created_at: now,
        updated_at: now,
    };
    store
        .write(
            meta,
            Command::Bundles(Box::new(Cmd::Apply(Box::new(ApplyCmd {
                case,
                starts,
                forwards,
                waiting,
                receipt,
            })))),
        )
        .await
}

pub(super) async fn apply_cmd(ctx: &mut WriteCtx<'_>, a: &ApplyCmd) -> Result<Value> {
    let c = &a.case;
    ctx.write_later();
    ctx.append(
        &case_stream(&c.id),
        Expect::New,
        "bundle_case.submitted",
        &json!({ "id": c.id, "bundle_code": c.bundle_code, "bundle_version": c.bundle_version,
                 "applicant": c.applicant, "channel": c.channel,
                 "started": a.starts.iter().map(|(m, _)| json!({ "member": m.member_key, "case_id": m.case_id }))
                     .collect::<Vec<_>>(),
                 "forwarded": a.forwards.iter().map(|(m, r, _)| json!({ "member": m.member_key, "node": r.partner, "crossing": r.id }))
                     .collect::<Vec<_>>(),
                 "waiting": a.waiting.iter().map(|w| &w.member.member_key).collect::<Vec<_>>() }),
    )
    .await?;
    for (_, s) in &a.starts {
        cases::submit_cmd(ctx, s).await?;
    }
    ctx.begin_write().await?;
    sqlx::query(
        "INSERT INTO bundle_cases (id, bundle_id, bundle_code, bundle_version, name, lead_department_id, region_code,
           applicant, applicant_name, submitted_by, channel, state, promised_days, received_on, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&c.id)
    .bind(&c.bundle_id)
    .bind(&c.bundle_code)
    .bind(c.bundle_version)
    .bind(&c.name)
    .bind(&c.lead_department_id)
    .bind(&c.region_code)
    .bind(&c.applicant)
    .bind(&c.applicant_name)
    .bind(&c.submitted_by)
    .bind(&c.channel)
    .bind(&c.state)
    .bind(c.promised_days)
    .bind(&c.received_on)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut *ctx.conn)
    .await?;
    cases::store_prepared_notice(ctx, &a.receipt).await?;
    for (_, row, out) in &a.forwards {
        crate::federation::origin_cmd(ctx, row, out).await?;
    }
    let members = a
        .starts
        .iter()
        .map(|(m, _)| (m, None))
        .chain(a.forwards.iter().map(|(m, ..)| (m, None)))
        .chain(a.waiting.iter().map(|w| (&w.member, Some(w.application_enc.as_str()))));
    let mut out = vec![];
    for (m, enc) in members {
        sqlx::query(
            "INSERT INTO bundle_case_members (bundle_case_id, member_key, item_code, item_name, department_id, state,
               case_id, after_members, fed, application_enc, node, crossing_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(&m.member_key)
        .bind(&m.item_code)
        .bind(&m.item_name)
        .bind(&m.department_id)
        .bind(&m.state)
        .bind(&m.case_id)
        .bind(serde_json::to_string(&m.after_members).map_err(internal)?)
        .bind(serde_json::to_string(&m.fed).map_err(internal)?)
        .bind(enc)
        .bind(&m.node)
        .bind(&m.crossing_id)
        .execute(&mut *ctx.conn)
        .await?;
        out.push(
            json!({ "member": m.member_key, "item_code": m.item_code, "item_name": m.item_name,
                         "state": m.state, "case_id": m.case_id, "node": m.node, "crossing_id": m.crossing_id,
                         "after": m.after_members }),
        );
    }
    Ok(
        json!({ "id": c.id, "bundle_code": c.bundle_code, "name": c.name, "received_on": c.received_on,
               "members": out }),
    )
}

/// Prepares a member decided at a partner node (多地联办) to be forwarded there: the
/// applicant asserted as this node verified them (their data's use recorded first), the
/// crossing and its envelope.
#[allow(clippy::too_many_arguments)]
pub(super) async fn forward_member(
    store: &Store,
    taken_by: &str,
    applicant: &Applicant,
    channel: Channel,
    node: &str,
    bundle_case_id: &str,
    member_key: &str,
    item_name: &str,
    item_code: &str,
    application: yiwang_core::cases::Application,
) -> Result<(crate::federation::CrossingRow, crate::federation::Outgoing)> {
    let local = store.node.get().ok_or_else(|| {
        StoreError::from(DomainError::conflict(
            "node",
            "federation.no_node",
            "本节点未启用跨域通办（节点身份未加载），无法转递多地联办事项".into(),
            "this node has no federation identity loaded: a member decided elsewhere cannot be forwarded".into(),
        ))
    })?;
    let yiwang_core::mandates::Subject::Person(person_id) = &applicant.subject else {
        return Err(DomainError::invalid(vec![FieldError::new(
            "applicant",
            "bundles.remote_audience",
            "跨节点（多地联办）的一件事仅面向个人",
            "a bundle with members decided at other nodes serves persons only",
        )])
        .into());
    };
    let who = crate::federation::forwarded_applicant(
        store,
        taken_by,
        person_id,
        node,
        None,
        |node_name| format!("多地联办：一件事中的「{item_name}」转递至{node_name}办理"),
        channel == Channel::Online,
    )
    .await?;
    crate::federation::forward_member(
        store,
        local,
        taken_by,
        &applicant.subject.key(),
        who,
        node,
        item_code,
        application,
        bundle_case_id,
        member_key,
    )
    .await
}

const CASE_COLS: &str = "id, bundle_id, bundle_code, bundle_version, name, lead_department_id, region_code, applicant, \
     applicant_name, submitted_by, channel, state, promised_days, received_on, created_at, updated_at";

/// A bundle case with its members.
pub async fn bundle_case(store: &Store, id: &str) -> Result<Option<(BundleCase, Vec<BundleCaseMember>)>> {
    let sql = format!("SELECT {CASE_COLS} FROM bundle_cases WHERE id = $1");
    let Some(c) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read::<BundleCase, _>)
        .transpose()?
    else {
        return Ok(None);
    };
    let members = sqlx::query(
        "SELECT member_key, item_code, item_name, department_id, state, case_id, after_members, fed, node, crossing_id
         FROM bundle_case_members WHERE bundle_case_id = $1 ORDER BY member_key",
    )
    .bind(id)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect::<Result<Vec<BundleCaseMember>>>()?;
    Ok(Some((c, members)))
}

/// An applicant's bundle cases, newest first.
pub async fn bundle_cases_of(store: &Store, applicant: &str) -> Result<Vec<BundleCase>> {
    let sql = format!("SELECT {CASE_COLS} FROM bundle_cases WHERE applicant = $1 ORDER BY created_at DESC LIMIT 100");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(applicant)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The bundle cases a department leads (牵头), newest first.
pub async fn bundle_cases_led(store: &Store, department_id: &str) -> Result<Vec<BundleCase>> {
    let sql = format!(
        "SELECT {CASE_COLS} FROM bundle_cases WHERE lead_department_id = $1 ORDER BY created_at DESC LIMIT 100"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}
