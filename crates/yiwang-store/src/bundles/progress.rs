//! How a bundle case moves on after it is filed (国发〔2024〕3号, 国办发〔2025〕24号):
//! a follower of the case events ([`Follower`]) reads the bundle case of a sub-case that
//! changed and calls [`advance`]: the members' states are read from their sub-cases,
//! `yiwang_core::bundles::progress` says what happens next, and then — prepared on this
//! task like any submission — a waiting member whose predecessors are granted starts, with
//! each material a predecessor's result provides given as that licence (or that case's
//! result where it issues no licence); members that can no longer start are cancelled; under
//! the definition's `stop` the running members are withdrawn on the applicant's behalf; the
//! applicant is told of it all in one notification. `deliver` hands over every decided
//! result at once (统一出件); the bundle concludes when every member has ended.

use super::*;
use crate::cases::{self, Applicant, CaseRow, Submission, SubmitCmd};
use crate::federation::CrossingRow;
use yiwang_core::bundles::{BundleState, MemberState, MemberView, OnRefusal};
use yiwang_core::cases::{Action as CaseAction, DeliveryMethod, Party, PostDetail, Provision, ProvisionKind};
use yiwang_core::mandates::Subject;

/// What one step of a bundle case carries into the writer.
#[derive(Debug, Clone)]
pub struct AdvanceCmd {
    pub bundle_case_id: String,
    pub applicant: String,
    /// Members that start now, with their prepared submissions.
    pub starts: Vec<(BundleCaseMember, SubmitCmd)>,
    /// Members decided at partner nodes that start now (多地联办).
    pub forwards: Vec<Forward>,
    /// Members whose state changes otherwise: (key, as read, new).
    pub changes: Vec<(String, MemberState, MemberState)>,
    /// The bundle's state: as read, new.
    pub state: (BundleState, BundleState),
    /// The one notification of this step (zh, en), if anything is to be told.
    pub notice: Option<(String, String)>,
    /// The bundle's one acceptance notice, when this step completes its acceptance
    /// (prepared and signed here; stored unless the bundle has one already).
    pub acceptance: Option<cases::Notice>,
}

impl AdvanceCmd {
    pub(crate) fn new_streams(&self) -> Vec<String> {
        self.starts
            .iter()
            .map(|(m, _)| cases::stream(m.case_id.as_deref().unwrap_or_default()))
            .collect()
    }
}

/// Where a member stands, from its stored state and its sub-case (if it has one); and
/// whether that sub-case has ended.
pub fn member_state(stored: MemberState, case: Option<&CaseRow>) -> (MemberState, bool) {
    let Some(c) = case else {
        return (stored, false);
    };
    let ended = c.state.is_final();
    let s = match c.decision.as_deref() {
        Some("approve") => MemberState::Granted,
        Some(_) => MemberState::Refused,
        None if ended => MemberState::Refused,
        None => MemberState::Started,
    };
    (s, ended)
}

/// Where a member decided at a partner node stands (多地联办), from the status that node
/// last reported on its crossing; and whether its case there has ended.
pub fn remote_state(stored: MemberState, crossing: Option<&CrossingRow>) -> (MemberState, bool) {
    let Some(x) = crossing else {
        return (stored, false);
    };
    // Not taken at all (the partner's pre-check refused it): ended without a grant.
    if x.state == "refused" {
        return (MemberState::Refused, true);
    }
    let state = yiwang_core::cases::State::parse(&x.state);
    let ended = state.is_some_and(|s| s.is_final());
    let s = match x.detail["status"]["decision"].as_str() {
        Some("approve") => MemberState::Granted,
        Some(_) => MemberState::Refused,
        None if ended => MemberState::Refused,
        None => MemberState::Started,
    };
    (s, ended)
}

/// A member's case at a partner node has been accepted there (or has gone further).
pub fn remote_accepted(x: &CrossingRow) -> bool {
    use yiwang_core::cases::State as S;
    matches!(
        S::parse(&x.state),
        Some(S::Accepted | S::Suspended | S::Decided | S::Concluded)
    )
}

/// A bundle case with its members, their sub-cases and the states read from them.
pub struct Snapshot {
    pub case: BundleCase,
    pub members: Vec<(BundleCaseMember, Option<CaseRow>, MemberState, bool)>,
    /// The crossings of the members decided at partner nodes, by member key.
    pub remote: BTreeMap<String, CrossingRow>,
}

/// Reads a bundle case with its members' sub-cases.
pub async fn snapshot(store: &Store, id: &str) -> Result<Option<Snapshot>> {
    let Some((case, members)) = bundle_case(store, id).await? else {
        return Ok(None);
    };
    let mut out = vec![];
    let mut remote = BTreeMap::new();
    for m in members {
        let stored = MemberState::parse(&m.state).unwrap_or(MemberState::Waiting);
        if m.node.is_some() {
            let x = match &m.crossing_id {
                Some(id) => crate::federation::crossing(store, id).await?,
                None => None,
            };
            let (s, ended) = remote_state(stored, x.as_ref());
            if let Some(x) = x {
                remote.insert(m.member_key.clone(), x);
            }
            out.push((m, None, s, ended));
            continue;
        }
        let row = match &m.case_id {
            Some(cid) => cases::case(store, cid).await?,
            None => None,
        };
        let (s, ended) = member_state(stored, row.as_ref());
        out.push((m, row, s, ended));
    }
    Ok(Some(Snapshot {
        case,
        members: out,
        remote,
    }))
}

fn names(keys: &[String], snap: &Snapshot) -> String {
    keys.iter()
        .map(|k| {
            let n = snap
                .members
                .iter()
                .find(|(m, ..)| &m.member_key == k)
                .map_or(k.as_str(), |(m, ..)| m.item_name.as_str());
            format!("「{n}」")
        })
        .collect()
}

/// Moves a bundle case on (see the module's note). Returns the new state, or None when
/// nothing changed.
pub async fn advance(store: &Store, id: &str) -> Result<Option<BundleState>> {
    let Some(snap) = snapshot(store, id).await? else {
        return Ok(None);
    };
    let c = &snap.case;
    let read_state = BundleState::parse(&c.state).unwrap_or(BundleState::Open);
    let Some(version) = version(store, &c.bundle_id, c.bundle_version).await? else {
        return Err(internal(format!("bundle case {id}: its bundle version is gone")));
    };
    let doc = &version.doc;
    let views: Vec<MemberView> = snap
        .members
        .iter()
        .map(|(m, _, s, ended)| MemberView {
            key: m.member_key.clone(),
            after: m.after_members.clone(),
            state: *s,
            ended: *ended,
        })
        .collect();
    let p = core::progress(doc.on_refusal, &views);
    let new_state = p.state.unwrap_or(BundleState::Open);
    let mut changes = vec![];
    let mut refused_now = vec![];
    let mut withdrawn_now = vec![];
    for (m, row, s, _) in &snap.members {
        let stored = MemberState::parse(&m.state).unwrap_or(MemberState::Waiting);
        let to = if p.cancel.contains(&m.member_key) {
            MemberState::Cancelled
        } else {
            *s
        };
        if to != stored && !p.release.contains(&m.member_key) {
            if to == MemberState::Refused {
                match row.as_ref().map(|r| r.state) {
                    Some(yiwang_core::cases::State::Withdrawn) => withdrawn_now.push(m.member_key.clone()),
                    _ => refused_now.push(m.member_key.clone()),
                }
            }
            changes.push((m.member_key.clone(), stored, to));
        }
    }
    // The members that start now: prepared like any submission, outside the writer.
    let mut starts = vec![];
    let mut forwards = vec![];
    let mut released = vec![];
    if !p.release.is_empty() {
        let services = member_services(store, doc, crate::now_ms()).await?;
        let subject = Subject::parse(&c.applicant).ok_or_else(|| internal("a bundle case without its applicant"))?;
        for key in &p.release {
            let remote = snap
                .members
                .iter()
                .any(|(m, ..)| &m.member_key == key && m.node.is_some());
            if remote {
                match forward_released(store, &snap, &subject, key).await {
                    Ok(f) => {
                        released.push(key.clone());
                        forwards.push(f);
                    }
                    Err(e) => tracing::warn!(bundle_case = id, member = key.as_str(), error = %e,
                                             "a released member could not be forwarded"),
                }
                continue;
            }
            match start_member(store, &snap, &services, &subject, key).await {
                Ok(s) => {
                    released.push(key.clone());
                    starts.push(s);
                }
                // The sealed part stays as it was: staff see the member still waiting.
                Err(e) => tracing::warn!(bundle_case = id, member = key.as_str(), error = %e,
                                         "a released member could not start"),
            }
        }
    }
    let acceptance = acceptance_notice(store, &snap, doc).await?;
    if starts.is_empty() && forwards.is_empty() && changes.is_empty() && new_state == read_state && acceptance.is_none()
    {
        return stop_running(store, &snap, &p.stop).await.map(|_| None);
    }
    // The one notification of this step (一次告知).
    let mut zh = vec![];
    let mut en = vec![];
    if acceptance.is_some() {
        zh.push("各主管部门已受理，一件事受理通知书已出具".to_string());
        en.push("accepted by every department; the bundle's acceptance notice is issued".to_string());
    }
    if !refused_now.is_empty() {
        zh.push(format!(
            "{}未获准予；按该一件事的规定，{}",
            names(&refused_now, &snap),
            match doc.on_refusal {
                OnRefusal::Continue => "其余事项继续办理",
                OnRefusal::Stop => "其余事项停止办理",
            }
        ));
        en.push(format!(
            "{} not granted; as the bundle provides, the others {}",
            refused_now.join(", "),
            match doc.on_refusal {
                OnRefusal::Continue => "go on",
                OnRefusal::Stop => "stop",
            }
        ));
    }
    if !withdrawn_now.is_empty() {
        zh.push(format!("已撤回：{}", names(&withdrawn_now, &snap)));
        en.push(format!("withdrawn: {}", withdrawn_now.join(", ")));
    }
    if !p.cancel.is_empty() {
        zh.push(format!("不再办理：{}", names(&p.cancel, &snap)));
        en.push(format!("not pursued: {}", p.cancel.join(", ")));
    }
    if !released.is_empty() {
        zh.push(format!(
            "前序事项已准予，{}已开始办理（前序结果免提交）",
            names(&released, &snap)
        ));
        en.push(format!("earlier results granted; now started: {}", released.join(", ")));
    }
    match (read_state == new_state, new_state) {
        (false, BundleState::Decided) => {
            zh.push("全部事项已作出决定，将统一送达".into());
            en.push("every item is decided; the results are delivered together".into());
        }
        (false, BundleState::Concluded) => {
            let count = |s: MemberState| snap.members.iter().filter(|(_, _, x, _)| *x == s).count();
            zh.push(format!(
                "已办结：准予 {} 项，未获准予 {} 项",
                count(MemberState::Granted),
                count(MemberState::Refused)
            ));
            en.push(format!(
                "concluded: {} granted, {} not granted",
                count(MemberState::Granted),
                count(MemberState::Refused)
            ));
        }
        _ => {}
    }
    let notice = (!zh.is_empty()).then(|| {
        (
            format!("您的一件事「{}」（{}）：{}。", c.name, c.id, zh.join("；")),
            format!("Your bundle '{}' ({}): {}.", c.name, c.id, en.join("; ")),
        )
    });
    // A member that could not start stays waiting: the bundle stays open.
    let new_state = if released.len() < p.release.len() {
        BundleState::Open
    } else {
        new_state
    };
    let cmd = AdvanceCmd {
        bundle_case_id: c.id.clone(),
        applicant: c.applicant.clone(),
        starts,
        forwards,
        changes,
        state: (read_state, new_state),
        notice,
        acceptance,
    };
    store
        .write(
            Meta::actor("system:bundles"),
            Command::Bundles(Box::new(Cmd::Advance(Box::new(cmd)))),
        )
        .await?;
    stop_running(store, &snap, &p.stop).await?;
    Ok(Some(new_state))
}

/// 一件事 一次受理 (国办发〔2025〕24号 一窗受理、并联办理): once every member that has a
/// sub-case has been accepted by its department or has ended, and at least one was
/// accepted, the lead department issues one acceptance notice listing every member — its
/// sub-case, how it was accepted (容缺 / 告知承诺 as the item allows), its promised date —
/// and the members still waiting for a predecessor. Issued once per bundle case; members
/// that start later are accepted by their own departments' notices.
async fn acceptance_notice(
    store: &Store,
    snap: &Snapshot,
    doc: &yiwang_core::bundles::BundleDoc,
) -> Result<Option<cases::Notice>> {
    let rows: Vec<&CaseRow> = snap.members.iter().filter_map(|(_, r, ..)| r.as_ref()).collect();
    // A member at a partner node counts as accepted when its status says so (the day the
    // word arrived).
    let accepted_on = rows
        .iter()
        .filter_map(|r| r.accepted_on)
        .chain(
            snap.remote
                .values()
                .filter(|x| remote_accepted(x))
                .map(|x| crate::date_of(x.updated_ms)),
        )
        .max();
    let settled = rows.iter().all(|r| r.accepted_on.is_some() || r.state.is_final())
        && snap
            .remote
            .values()
            .all(|x| remote_accepted(x) || x.state == "refused" || remote_state(MemberState::Started, Some(x)).1);
    let (Some(accepted_on), true) = (accepted_on, settled) else {
        return Ok(None);
    };
    let c = &snap.case;
    if cases::notices(store, &c.id)
        .await?
        .iter()
        .any(|n| n.kind == yiwang_core::cases::NoticeKind::Acceptance)
    {
        return Ok(None);
    }
    let at = |k: &str| doc.members.iter().position(|m| m.key == k).unwrap_or(usize::MAX);
    let mut members: Vec<_> = snap.members.iter().collect();
    members.sort_by_key(|(m, ..)| at(&m.member_key));
    let mut listed = vec![];
    for (m, row, s, _) in members {
        if let Some(x) = snap.remote.get(&m.member_key) {
            let status = &x.detail["status"];
            listed.push(json!({ "member": m.member_key, "item_name": m.item_name,
                "department": x.detail["department"], "node": m.node, "case_id": x.remote_case,
                "status": if remote_accepted(x) { "accepted" } else { x.state.as_str() },
                "accepted_on": remote_accepted(x).then(|| crate::date_of(x.updated_ms).to_string()),
                "due_on": status["due_on"], "after": Vec::<String>::new() }));
            continue;
        }
        let dept = crate::refdata::department(store, &m.department_id)
            .await?
            .map(|d| d.name);
        let status = match (row, s) {
            (None, MemberState::Cancelled) => "cancelled",
            (None, _) => "waiting",
            (Some(r), _) if r.accepted_on.is_none() => r.state.as_str(),
            (Some(r), _) => match r.route.as_str() {
                "tolerance" => "tolerance",
                "commitment" => "commitment",
                _ => "accepted",
            },
        };
        let after: Vec<&str> = m
            .after_members
            .iter()
            .filter_map(|k| snap.members.iter().find(|(x, ..)| &x.member_key == k))
            .map(|(x, ..)| x.item_name.as_str())
            .collect();
        listed.push(
            json!({ "member": m.member_key, "item_name": m.item_name, "department": dept,
            "case_id": m.case_id, "status": status,
            "accepted_on": row.as_ref().and_then(|r| r.accepted_on).map(|d| d.to_string()),
            "due_on": row.as_ref().and_then(|r| r.due_on).map(|d| d.to_string()),
            "after": after }),
        );
    }
    let lead = crate::refdata::department(store, &c.lead_department_id)
        .await?
        .map(|d| d.name);
    let n = cases::prepare_notice(
        store,
        &cases::NoticeFor {
            id: &c.id,
            item_code: &c.bundle_code,
            item_name: &c.name,
            applicant_name: &c.applicant_name,
            department_id: &c.lead_department_id,
        },
        lead.as_deref(),
        yiwang_core::cases::NoticeKind::Acceptance,
        json!({ "bundle": true, "accepted_on": accepted_on.to_string(),
                "promised_days": c.promised_days, "due_on": due_on(store, c).await?.to_string(),
                "members": listed }),
        crate::now_ms(),
    )
    .await?;
    Ok(Some(n))
}

/// The bundle's promised date (国发〔2024〕3号: its promised limit, in working days from
/// receipt).
async fn due_on(store: &Store, c: &BundleCase) -> Result<chrono::NaiveDate> {
    let cal = crate::calendar::calendar_for(store, Some(&c.region_code)).await?;
    let received = chrono::NaiveDate::parse_from_str(&c.received_on, "%Y-%m-%d").map_err(internal)?;
    Ok(cal
        .add_working_days(received, u32::try_from(c.promised_days).unwrap_or(0))
        .date)
}

/// Under `stop`: withdraws the running members on the applicant's behalf (the definition
/// they applied under says so). A member whose case cannot be withdrawn now is left to
/// its department; one at a partner node to that node (no message withdraws a case there).
async fn stop_running(store: &Store, snap: &Snapshot, stop: &[String]) -> Result<()> {
    for (m, row, ..) in &snap.members {
        let (true, Some(r)) = (stop.contains(&m.member_key), row) else {
            continue;
        };
        let reason = format!("一件事「{}」中有事项未获准予，按其规定停止办理", snap.case.name);
        if let Err(e) = cases::act(
            store,
            Meta::actor("system:bundles"),
            &r.id,
            Party::Applicant,
            CaseAction::Withdraw { reason },
        )
        .await
        {
            tracing::info!(case = r.id.as_str(), error = %e, "a member of a stopped bundle goes on");
        }
    }
    Ok(())
}

/// Prepares the sub-case of a waiting member: its sealed part opened, each material a
/// predecessor's result provides given as that licence (when the material asks for the
/// licence's type) or as that case's result.
async fn start_member(
    store: &Store,
    snap: &Snapshot,
    services: &BTreeMap<String, Service>,
    subject: &Subject,
    key: &str,
) -> Result<(BundleCaseMember, SubmitCmd)> {
    let c = &snap.case;
    let (m, mut application, code) = released(store, snap, key).await?;
    let svc = services
        .get(&m.item_code)
        .cloned()
        .ok_or_else(|| StoreError::from(DomainError::not_found("item_code", "事项", "item", &m.item_code)))?;
    for (material, by) in &m.fed {
        let Some((_, Some(pred), ..)) = snap.members.iter().find(|(x, ..)| &x.member_key == by) else {
            return Err(internal(format!("member {key}: predecessor {by} has no case")));
        };
        let wanted = svc
            .elements
            .materials
            .iter()
            .find(|x| &x.key == material)
            .and_then(|x| x.source.licence_type.clone());
        let produced = services
            .get(&pred.item_code)
            .and_then(|s| s.elements.result.as_ref())
            .and_then(|r| r.licence_type.clone());
        let p = match (&pred.licence_id, wanted) {
            (Some(lid), Some(w)) if produced.as_deref() == Some(w.as_str()) => Provision {
                kind: ProvisionKind::Licence,
                files: vec![],
                licence_id: Some(lid.clone()),
                case_id: None,
                originals_checked: None,
            },
            _ => Provision {
                kind: ProvisionKind::Result,
                files: vec![],
                licence_id: None,
                case_id: Some(pred.id.clone()),
                originals_checked: None,
            },
        };
        application.materials.insert(material.clone(), p);
    }
    let sub = Submission {
        item_code: m.item_code.clone(),
        applicant: Applicant {
            subject: subject.clone(),
            name: c.applicant_name.clone(),
            code,
        },
        channel: yiwang_core::cases::Channel::parse(&c.channel).unwrap_or(yiwang_core::cases::Channel::Online),
        assisted: c.submitted_by != format!("account:{}", subject_id(subject)),
        application,
        draft_id: None,
    };
    // Files named in the part were uploaded by whoever filed the bundle.
    let meta = Meta::actor(c.submitted_by.clone());
    let cmd = match cases::prepare_submission(store, &meta, sub, svc, None).await? {
        Ok(cmd) => cmd,
        Err(_) => return Err(internal("a released member without an idempotency key was answered")),
    };
    let mut member = m.clone();
    member.state = MemberState::Started.as_str().into();
    member.case_id = cmd.prepared.as_ref().map(|x| x.row.id.clone());
    Ok((member, cmd))
}

/// Prepares a released member decided at a partner node: its sealed part opened and
/// forwarded there (多地联办).
async fn forward_released(store: &Store, snap: &Snapshot, subject: &Subject, key: &str) -> Result<Forward> {
    let c = &snap.case;
    let (m, application, code) = released(store, snap, key).await?;
    let applicant = Applicant {
        subject: subject.clone(),
        name: c.applicant_name.clone(),
        code,
    };
    let channel = yiwang_core::cases::Channel::parse(&c.channel).unwrap_or(yiwang_core::cases::Channel::Online);
    let node = m.node.clone().unwrap_or_default();
    let (row, out) = forward_member(
        store,
        &c.submitted_by,
        &applicant,
        channel,
        &node,
        &c.id,
        key,
        &m.item_name,
        &m.item_code,
        application,
    )
    .await?;
    let mut member = m.clone();
    member.state = MemberState::Started.as_str().into();
    member.crossing_id = Some(row.id.clone());
    Ok((member, row, out))
}

/// A released member: as the bundle case records it, its sealed part opened — its
/// application and the applicant's code.
async fn released<'a>(
    store: &Store,
    snap: &'a Snapshot,
    key: &str,
) -> Result<(&'a BundleCaseMember, yiwang_core::cases::Application, String)> {
    let (m, ..) = snap
        .members
        .iter()
        .find(|(m, ..)| m.member_key == key)
        .ok_or_else(|| internal("released member missing"))?;
    let id = &snap.case.id;
    let enc: Option<String> = sqlx::query_scalar(
        "SELECT application_enc FROM bundle_case_members WHERE bundle_case_id = $1 AND member_key = $2",
    )
    .bind(id)
    .bind(key)
    .fetch_one(&store.read)
    .await?;
    let enc = enc.ok_or_else(|| internal(format!("member {key} has no sealed part")))?;
    let bytes = store
        .keyring
        .pii
        .open_bytes(&format!("bundle_cases.application:{id}:{key}"), &enc)?;
    let part: Value = serde_json::from_slice(&bytes).map_err(internal)?;
    let application = serde_json::from_value(part["application"].clone()).map_err(internal)?;
    Ok((
        m,
        application,
        part["applicant_code"].as_str().unwrap_or_default().to_string(),
    ))
}

fn subject_id(s: &Subject) -> &str {
    match s {
        Subject::Person(id) | Subject::Legal(id) => id,
    }
}

pub(super) async fn advance_cmd(ctx: &mut WriteCtx<'_>, a: &AdvanceCmd) -> Result<Value> {
    // What the writer finds is what counts: a step prepared twice (two followers, a
    // retry) starts a member once.
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT member_key, state FROM bundle_case_members WHERE bundle_case_id = $1")
            .bind(&a.bundle_case_id)
            .fetch_all(&mut *ctx.conn)
            .await?;
    let is = |k: &str, s: MemberState| stored.iter().any(|(key, st)| key == k && st == s.as_str());
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM bundle_cases WHERE id = $1")
        .bind(&a.bundle_case_id)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    let state_now = state.ok_or_else(|| internal("bundle case missing"))?;
    let starts: Vec<_> = a
        .starts
        .iter()
        .filter(|(m, _)| is(&m.member_key, MemberState::Waiting))
        .collect();
    let forwards: Vec<_> = a
        .forwards
        .iter()
        .filter(|(m, ..)| is(&m.member_key, MemberState::Waiting))
        .collect();
    let changes: Vec<_> = a.changes.iter().filter(|(k, from, _)| is(k, *from)).collect();
    let state_changes = state_now == a.state.0.as_str() && a.state.0 != a.state.1;
    // One acceptance notice per bundle case, whatever was prepared twice.
    let acceptance = match &a.acceptance {
        Some(n) => sqlx::query_scalar::<_, i64>("SELECT 1 FROM case_notices WHERE case_id = $1 AND kind = $2")
            .bind(&a.bundle_case_id)
            .bind(n.kind.as_str())
            .fetch_optional(&mut *ctx.conn)
            .await?
            .is_none()
            .then_some(n),
        None => None,
    };
    if starts.is_empty() && forwards.is_empty() && changes.is_empty() && !state_changes && acceptance.is_none() {
        return Ok(json!({ "id": a.bundle_case_id, "changed": false }));
    }
    ctx.append(
        &case_stream(&a.bundle_case_id),
        Expect::Exists,
        "bundle_case.progressed",
        &json!({ "id": a.bundle_case_id,
                 "started": starts.iter().map(|(m, _)| json!({ "member": m.member_key, "case_id": m.case_id })).collect::<Vec<_>>(),
                 "forwarded": forwards.iter().map(|(m, r, _)| json!({ "member": m.member_key, "node": r.partner, "crossing": r.id })).collect::<Vec<_>>(),
                 "changed": changes.iter().map(|(k, _, to)| json!({ "member": k, "state": to })).collect::<Vec<_>>(),
                 "accepted": acceptance.is_some(),
                 "state": if state_changes { a.state.1 } else { BundleState::parse(&state_now).unwrap_or(BundleState::Open) } }),
    )
    .await?;
    for (_, s) in &starts {
        cases::submit_cmd(ctx, s).await?;
    }
    ctx.begin_write().await?;
    for (m, _) in &starts {
        started(ctx, &a.bundle_case_id, &m.member_key, "case_id", m.case_id.as_deref()).await?;
    }
    for (m, row, out) in &forwards {
        crate::federation::origin_cmd(ctx, row, out).await?;
        started(ctx, &a.bundle_case_id, &m.member_key, "crossing_id", Some(&row.id)).await?;
    }
    for (k, _, to) in &changes {
        sqlx::query("UPDATE bundle_case_members SET state = $1 WHERE bundle_case_id = $2 AND member_key = $3")
            .bind(to.as_str())
            .bind(&a.bundle_case_id)
            .bind(k)
            .execute(&mut *ctx.conn)
            .await?;
    }
    let new_state = if state_changes {
        a.state.1.as_str()
    } else {
        state_now.as_str()
    };
    sqlx::query("UPDATE bundle_cases SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(new_state)
        .bind(ctx.now_ms)
        .bind(&a.bundle_case_id)
        .execute(&mut *ctx.conn)
        .await?;
    if let Some(n) = acceptance {
        cases::store_prepared_notice(ctx, n).await?;
    }
    if let Some((zh, en)) = &a.notice {
        cases::notify_to(ctx, &a.applicant, &a.bundle_case_id, zh.clone(), en.clone());
    }
    Ok(json!({ "id": a.bundle_case_id, "changed": true, "state": new_state,
               "started": starts.iter().map(|(m, _)| &m.member_key).chain(forwards.iter().map(|(m, ..)| &m.member_key))
                   .collect::<Vec<_>>() }))
}

/// Marks a waiting member started, with its sub-case here (`case_id`) or its crossing to a
/// partner node (`crossing_id`); its sealed part is no longer kept.
async fn started(
    ctx: &mut WriteCtx<'_>,
    bundle_case_id: &str,
    key: &str,
    column: &'static str,
    id: Option<&str>,
) -> Result<()> {
    let sql = format!(
        "UPDATE bundle_case_members SET state = $1, {column} = $2, application_enc = NULL
         WHERE bundle_case_id = $3 AND member_key = $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(MemberState::Started.as_str())
        .bind(id)
        .bind(bundle_case_id)
        .bind(key)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(())
}

/// 统一出件: hands over every decided result of a bundle case at once, by one method.
/// Returns the sub-cases delivered. Members decided later are delivered by a later call.
pub async fn deliver(
    store: &Store,
    meta: &Meta,
    id: &str,
    method: DeliveryMethod,
    post: Option<PostDetail>,
) -> Result<Vec<String>> {
    let snap = snapshot(store, id).await?.ok_or_else(|| {
        StoreError::from(DomainError::not_found(
            "bundle_case_id",
            "一件事办件",
            "bundle case",
            id,
        ))
    })?;
    let decided: Vec<&CaseRow> = snap
        .members
        .iter()
        .filter_map(|(_, r, ..)| r.as_ref())
        .filter(|r| r.state == yiwang_core::cases::State::Decided)
        .collect();
    // 多地联办: this node, the receiving one, hands over the partners' results too (结果送达权,
    // granted for every such member when the bundle was defined).
    let remote: Vec<&CrossingRow> = snap.remote.values().filter(|x| x.state == "decided").collect();
    if !remote.is_empty() && method == DeliveryMethod::Post {
        return Err(DomainError::invalid(vec![FieldError::new(
            "method",
            "bundles.remote_post",
            "其他节点作出的结果由本节点窗口领取或电子送达",
            "results decided at other nodes are handed over at the window or electronically",
        )])
        .into());
    }
    if decided.is_empty() && remote.is_empty() {
        return Err(DomainError::invalid(vec![FieldError::new(
            "bundle_case_id",
            "bundles.nothing_to_deliver",
            "该一件事没有待送达的结果",
            "this bundle case has no decided result to deliver",
        )])
        .into());
    }
    let mut out = vec![];
    for r in decided {
        cases::act(
            store,
            Meta::actor(meta.actor.clone()),
            &r.id,
            Party::Clerk,
            CaseAction::Deliver {
                method,
                post: post.clone(),
            },
        )
        .await?;
        out.push(r.id.clone());
    }
    if !remote.is_empty() {
        let local = store
            .node
            .get()
            .ok_or_else(|| internal("no federation identity loaded"))?;
        for x in remote {
            crate::federation::hand_over(store, Meta::actor(meta.actor.clone()), local, &x.id, method).await?;
            out.push(x.remote_case.clone().unwrap_or_else(|| x.id.clone()));
        }
    }
    Ok(out)
}

/// The bundle cases some of the given sub-cases belong to.
pub async fn bundle_cases_of_cases(store: &Store, case_ids: &[String]) -> Result<Vec<String>> {
    bundle_cases_where(store, "case_id", case_ids).await
}

/// The bundle cases whose members' `column` (`case_id`, or `crossing_id` for members decided
/// at partner nodes) is one of `ids`.
async fn bundle_cases_where(store: &Store, column: &'static str, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = format!("SELECT DISTINCT bundle_case_id FROM bundle_case_members WHERE {column} IN (");
    crate::db::Marks::of(store.engine).push_list(&mut sql, ids.len());
    sql.push(')');
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(&store.read).await?)
}

/// The follower that moves bundle cases on: every case event of a sub-case (its decision,
/// its withdrawal, its delivery) calls [`advance`] on its bundle case. At least once:
/// [`advance`] reads the state afresh and the writer applies only what it still finds.
pub struct Follower {
    pub store: std::sync::Arc<Store>,
}

impl crate::outbox::Subscriber for Follower {
    fn name(&self) -> &str {
        "bundles"
    }
    fn kinds(&self) -> Option<&[&str]> {
        // A partner's word on a member decided there (多地联办) moves the bundle as well.
        Some(&["case.", "fed.case.status"])
    }
    fn bodies(&self) -> bool {
        false
    }
    async fn handle(&self, events: &[crate::outbox::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        // A sub-case here (`case:`) or a member's case at a partner node (`fed_case:`).
        for (prefix, column) in [("case:", "case_id"), ("fed_case:", "crossing_id")] {
            let mut ids: Vec<String> = events
                .iter()
                .filter_map(|e| e.stream_id.strip_prefix(prefix).map(str::to_string))
                .collect();
            ids.sort();
            ids.dedup();
            for chunk in ids.chunks(500) {
                let bundles = bundle_cases_where(&self.store, column, chunk)
                    .await
                    .map_err(|e| e.to_string())?;
                for b in bundles {
                    if let Err(e) = advance(&self.store, &b).await {
                        tracing::warn!(bundle_case = b.as_str(), error = %e, "a bundle case could not move on");
                    }
                }
            }
        }
        Ok(())
    }
}

/// A member as the applicant and the lead department see it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberProgress {
    pub member_key: String,
    pub item_code: String,
    pub item_name: String,
    pub department_id: String,
    /// 多地联办: the partner node deciding it (its case number is then that node's), and its
    /// department as that node names it, with the node's name.
    pub node: Option<String>,
    pub remote_department: Option<String>,
    pub state: MemberState,
    pub after: Vec<String>,
    pub case_id: Option<String>,
    pub case_state: Option<yiwang_core::cases::State>,
    /// The sub-case's promised date (its department's clock).
    pub due_on: Option<chrono::NaiveDate>,
    pub licence_id: Option<String>,
    /// What its department asks to correct, while it waits for the correction.
    pub corrections: Vec<yiwang_core::cases::CorrectionItem>,
}

/// One status for the whole bundle case (一网办理): its members' progress, its own promised
/// date, and the corrections every department asks for, together (one combined notice).
#[derive(Debug, Clone, Serialize)]
pub struct BundleCaseView {
    pub case: BundleCase,
    pub state: BundleState,
    /// The bundle's promised date: its promised working days from receipt.
    pub due_on: chrono::NaiveDate,
    pub members: Vec<MemberProgress>,
    /// Its own documents: the one receipt.
    pub notices: Vec<cases::Notice>,
}

impl BundleCaseView {
    /// The members waiting for the applicant's correction.
    pub fn correcting(&self) -> Vec<&MemberProgress> {
        self.members.iter().filter(|m| !m.corrections.is_empty()).collect()
    }
}

/// Reads the one status of a bundle case.
pub async fn view(store: &Store, id: &str) -> Result<Option<BundleCaseView>> {
    let Some(mut snap) = snapshot(store, id).await? else {
        return Ok(None);
    };
    // In the definition's order (the first member first).
    if let Some(v) = version(store, &snap.case.bundle_id, snap.case.bundle_version).await? {
        let at = |k: &str| v.doc.members.iter().position(|m| m.key == k).unwrap_or(usize::MAX);
        snap.members.sort_by_key(|(m, ..)| at(&m.member_key));
    }
    let mut members = vec![];
    for (m, row, s, _) in snap.members {
        // (its case number, that case's state, promised date, licence, corrections asked)
        let mut remote_department = None;
        let (case_id, case_state, due, licence_id, corrections) = match snap.remote.get(&m.member_key) {
            // 多地联办: as the partner node last reported it; a correction it asks for is told
            // here with the others (一次性告知).
            Some(x) => {
                let status: Option<crate::federation::Status> = serde_json::from_value(x.detail["status"].clone()).ok();
                // Taken there as a case (`received`): submitted, to be accepted.
                let case_state = yiwang_core::cases::State::parse(&x.state)
                    .or((x.state == "received").then_some(yiwang_core::cases::State::Submitted));
                let node_name = crate::federation::partner(store, &x.partner)
                    .await?
                    .map_or_else(|| x.partner.clone(), |d| d.name);
                remote_department = Some(format!(
                    "{}（{node_name}）",
                    x.detail["department"].as_str().unwrap_or_default()
                ));
                let corrections = match (&status, case_state) {
                    (Some(st), Some(yiwang_core::cases::State::Correcting)) => st
                        .problems
                        .iter()
                        .map(|p| yiwang_core::cases::CorrectionItem {
                            target: p.field.clone(),
                            problem: p.zh.clone(),
                        })
                        .collect(),
                    _ => vec![],
                };
                let st = status.as_ref();
                (
                    x.remote_case.clone(),
                    case_state,
                    st.and_then(|st| st.due_on),
                    st.and_then(|st| st.licence_id.clone()),
                    corrections,
                )
            }
            None => {
                let mut corrections = vec![];
                if let Some(r) = row
                    .as_ref()
                    .filter(|r| r.state == yiwang_core::cases::State::Correcting)
                {
                    // The latest request is the one outstanding (一次性告知: it lists everything).
                    if let Some(e) = cases::timeline(store, &r.id)
                        .await?
                        .into_iter()
                        .rev()
                        .find(|e| e.event == "correction_requested")
                    {
                        corrections = serde_json::from_value(e.body["items"].clone()).unwrap_or_default();
                    }
                }
                (
                    m.case_id.clone(),
                    row.as_ref().map(|r| r.state),
                    row.as_ref().and_then(|r| r.due_on),
                    row.as_ref().and_then(|r| r.licence_id.clone()),
                    corrections,
                )
            }
        };
        members.push(MemberProgress {
            member_key: m.member_key,
            item_code: m.item_code,
            item_name: m.item_name,
            department_id: m.department_id,
            node: m.node,
            remote_department,
            state: s,
            after: m.after_members,
            case_id,
            case_state,
            due_on: due,
            licence_id,
            corrections,
        });
    }
    let due_on = due_on(store, &snap.case).await?;
    let notices = cases::notices(store, &snap.case.id).await?;
    Ok(Some(BundleCaseView {
        notices,
        state: BundleState::parse(&snap.case.state).unwrap_or(BundleState::Open),
        case: snap.case,
        due_on,
        members,
    }))
}
