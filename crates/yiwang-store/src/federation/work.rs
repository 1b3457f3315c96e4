//! Cases that cross nodes. Here as the receiving node (异地代收代办, 收受分离): the window
//! takes an application for a partner's item and forwards it within the agreement's limit;
//! the partner's answers update the case as this node shows it. Here as the competent
//! node: a forwarded application becomes a case of ours (once, by its message id), and
//! every change of that case is reported back.

use super::*;
use yiwang_core::cases::Channel;
pub use yiwang_core::federation::ForwardInput;
use yiwang_core::federation::{Forwarded, ForwardedApplicant};

pub(super) async fn insert_crossing(ctx: &mut WriteCtx<'_>, r: &CrossingRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO fed_cases (id, role, partner, item_code, item_name, mode, applicant_name, applicant_key, local_case,
           remote_case, state, status_seq, detail, forward_by, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(&r.id)
    .bind(&r.role)
    .bind(&r.partner)
    .bind(&r.item_code)
    .bind(&r.item_name)
    .bind(r.mode.as_str())
    .bind(&r.applicant_name)
    .bind(&r.applicant_key)
    .bind(&r.local_case)
    .bind(&r.remote_case)
    .bind(&r.state)
    .bind(r.status_seq)
    .bind(r.detail.to_string())
    .bind(r.forward_by.map(|d| d.to_string()))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// The competent node's word on a case forwarded from here: kept if newer than the last.
pub(super) async fn apply_status(ctx: &mut WriteCtx<'_>, sender: &str, s: &Status) -> Result<()> {
    let row =
        sqlx::query("SELECT status_seq, detail FROM fed_cases WHERE id = $1 AND partner = $2 AND role = 'origin'")
            .bind(&s.origin_ref)
            .bind(sender)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let seq: i64 = row.try_get("status_seq")?;
    if seq >= s.seq && seq != 0 {
        return Ok(());
    }
    let detail: String = row.try_get("detail")?;
    let mut detail: Value = serde_json::from_str(&detail).unwrap_or(json!({}));
    detail["status"] = serde_json::to_value(s).expect("serialisable");
    ctx.append(
        &format!("fed_case:{}", s.origin_ref),
        Expect::Any,
        "fed.case.status",
        &json!({ "state": s.state, "case_id": s.case_id, "seq": s.seq }),
    )
    .await?;
    sqlx::query(
        "UPDATE fed_cases SET state = $2, remote_case = COALESCE($3, remote_case), status_seq = $4, detail = $5, updated_ms = $6 WHERE id = $1",
    )
    .bind(&s.origin_ref)
    .bind(&s.state)
    .bind(&s.case_id)
    .bind(s.seq.max(1))
    .bind(detail.to_string())
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// Takes an application for a partner's item and forwards it: the partner must offer the
/// item in that mode under an agreement in force, and grant what the application claims
/// (原件核验权, 收件受理权); the forwarding limit is counted on this node's calendar.
pub async fn forward(
    store: &Store,
    meta: Meta,
    local: &Local,
    taken_by: &str,
    applicant_key: Option<String>,
    input: ForwardInput,
) -> Result<Value> {
    let (row, out) = prepare_forward(store, local, taken_by, applicant_key, input, json!({})).await?;
    let w = store
        .write(
            meta,
            Command::Federation(Box::new(Cmd::Origin {
                row: Box::new(row),
                out,
            })),
        )
        .await?;
    Ok(w.value)
}

/// Everything [`forward`] checks and prepares, before the writer: the crossing as this node
/// keeps it (`detail` merged into its detail) and the envelope to send. A bundle case
/// (多地联办) stores these with its own command.
pub(crate) async fn prepare_forward(
    store: &Store,
    local: &Local,
    taken_by: &str,
    applicant_key: Option<String>,
    input: ForwardInput,
    extra: Value,
) -> Result<(CrossingRow, Outgoing)> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("applicant.name", &input.applicant.name, 50);
    if let Err(e) = yiwang_core::ids::check_resident_id("applicant.id_number", input.applicant.id_number.trim()) {
        p.push(e);
    }
    if !(input.applicant.phone.len() == 11
        && input.applicant.phone.starts_with('1')
        && input.applicant.phone.chars().all(|c| c.is_ascii_digit()))
    {
        p.push(yiwang_core::error::FieldError::new(
            "applicant.phone",
            "phone",
            "手机号码须为 11 位数字",
            "a mobile number is 11 digits",
        ));
    }
    if !input.application.is_object() {
        p.push(yiwang_core::error::FieldError::new(
            "application",
            "object",
            "申请内容须为 JSON 对象",
            "the application must be a JSON object",
        ));
    }
    for (i, sc) in input.scans.iter().enumerate() {
        if sc.content_hex.is_empty() || hex::decode(&sc.content_hex).is_err() {
            p.push(yiwang_core::error::FieldError::new(
                format!("scans[{i}].content_hex"),
                "hex",
                "扫描件内容须为十六进制",
                "a scan's content must be hex",
            ));
        }
    }
    p.finish()?;
    let offer = offer(store, &input.partner, &input.item_code)
        .await?
        .filter(|o| o.modes.contains(&input.mode))
        .ok_or_else(|| {
            DomainError::one(
                yiwang_core::ErrorKind::NotFound,
                yiwang_core::error::FieldError::new(
                    "item_code",
                    "federation.not_offered",
                    format!("节点「{}」未以该方式开通此事项的跨域通办", input.partner),
                    format!("node '{}' does not offer this item in that mode", input.partner),
                ),
            )
        })?;
    let a = agreement_with(store, &input.partner).await?;
    core::admit(a.as_ref().map(|a| (a.state, &a.terms)), crate::today()).map_err(|r| r.error())?;
    let a = a.expect("admitted");
    let forwarded_probe = Forwarded {
        origin_ref: String::new(),
        item_code: input.item_code.clone(),
        mode: input.mode,
        applicant: input.applicant.clone(),
        application: input.application.clone(),
        scans: input.scans.clone(),
        originals_checked: input.originals_checked,
        accept_on_behalf: input.accept_on_behalf,
        taken_by: taken_by.to_string(),
        taken_ms: crate::now_ms(),
        forward_by: crate::today(),
    };
    for right in core::forward_needs(&forwarded_probe) {
        // The same rule the partner applies on receipt: refused here first, clearly.
        if !a.terms.grants(&input.partner, &local.id, right, &input.item_code) {
            return Err(DomainError::forbidden(yiwang_core::error::FieldError::new(
                match right {
                    yiwang_core::federation::Right::Receive => "accept_on_behalf",
                    _ => "originals_checked",
                },
                "federation.not_granted",
                format!("对方未授予本节点「{}」", yiwang_core::Named::zh(&right)),
                format!(
                    "the partner has not granted this node {}",
                    yiwang_core::Named::en(&right)
                ),
            ))
            .into());
        }
    }
    let cal = crate::calendar::calendar_for(store, Some(&local.region)).await?;
    let today = crate::today();
    let id = new_id();
    let forwarded = Forwarded {
        origin_ref: id.clone(),
        forward_by: core::forward_by(a.terms.forward_limit, today, &cal),
        ..forwarded_probe
    };
    let out = Outgoing::new(&input.partner, "application.forward", &id, &forwarded);
    let mut detail = json!({ "taken_by": taken_by, "department": offer.department, "originals_checked": input.originals_checked,
                             "accept_on_behalf": input.accept_on_behalf });
    if let (Some(d), Some(x)) = (detail.as_object_mut(), extra.as_object()) {
        d.extend(x.clone());
    }
    let row = CrossingRow {
        id: id.clone(),
        role: "origin".into(),
        partner: input.partner.clone(),
        item_code: input.item_code.clone(),
        item_name: offer.name.clone(),
        mode: input.mode,
        applicant_name: input.applicant.name.trim().to_string(),
        applicant_key,
        local_case: None,
        remote_case: None,
        state: "forwarded".into(),
        status_seq: 0,
        detail,
        forward_by: Some(forwarded.forward_by),
        created_ms: crate::now_ms(),
        updated_ms: crate::now_ms(),
    };
    Ok((row, out))
}

/// Makes a case of an application forwarded here (once: the submission's idempotency key
/// is the message id) and answers the origin: the case number, or the problems the
/// pre-check found (told once, 一次性告知). The applicant gets an account here if they
/// have none, registered by the federation under the partner's assertion of their identity
/// (a password only they can set, by SMS recovery).
pub async fn take_forwarded(store: &Store, message_id: &str) -> Result<()> {
    let env = incoming(store, message_id)
        .await?
        .ok_or_else(|| internal(format!("envelope {message_id} not stored")))?;
    let f: Forwarded = serde_json::from_str(&env.body).map_err(internal)?;
    let actor = format!("node:{}", env.sender);
    let service = crate::cases::service_for(store, &f.item_code).await;
    let person = applicant_here(store, &actor, &f.applicant).await?;
    let outcome: std::result::Result<String, DomainError> = match (service, person) {
        (Err(StoreError::Domain(e)), _) | (_, Err(e)) => Err(e),
        (Err(e), _) => return Err(e),
        (Ok(_), Ok(person)) => {
            let mut application: yiwang_core::cases::Application = match serde_json::from_value(f.application.clone()) {
                Ok(a) => a,
                Err(e) => {
                    return answer(
                        store,
                        &env,
                        &f,
                        Err(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
                            "application",
                            "json",
                            format!("申请内容无法读取：{e}"),
                            format!("the application cannot be read: {e}"),
                        )])),
                    )
                    .await;
                }
            };
            // The scans made at the receiving node become this node's files, named by the
            // case (the material provided as uploaded files).
            let mut bad = None;
            for sc in &f.scans {
                let bytes = hex::decode(&sc.content_hex).unwrap_or_default();
                match crate::files::put(
                    store,
                    Meta::actor(&actor),
                    &sc.name,
                    &bytes,
                    crate::files::Visibility::Private,
                )
                .await
                {
                    Ok(info) => {
                        let p =
                            application
                                .materials
                                .entry(sc.material.clone())
                                .or_insert(yiwang_core::cases::Provision {
                                    kind: yiwang_core::cases::ProvisionKind::Files,
                                    files: vec![],
                                    licence_id: None,
                                    case_id: None,
                                    originals_checked: None,
                                });
                        p.kind = yiwang_core::cases::ProvisionKind::Files;
                        p.files.push(info.sm3);
                        if f.originals_checked {
                            p.originals_checked = Some(true);
                        }
                    }
                    Err(StoreError::Domain(e)) => bad = Some(e),
                    Err(e) => return Err(e),
                }
            }
            if let Some(e) = bad {
                return answer(store, &env, &f, Err(e)).await;
            }
            let sub = crate::cases::Submission {
                item_code: f.item_code.clone(),
                applicant: crate::cases::Applicant {
                    subject: yiwang_core::mandates::Subject::Person(person.id.clone()),
                    name: person.name.clone(),
                    code: f.applicant.id_number.trim().to_uppercase(),
                },
                channel: if f.mode == Mode::Online {
                    Channel::Online
                } else {
                    Channel::Window
                },
                assisted: f.mode != Mode::Online,
                application,
                draft_id: None,
            };
            let meta = Meta::actor(&actor).with_idempotency(format!("fed:{message_id}"), env.digest.clone());
            match crate::cases::submit(store, meta, sub).await {
                Ok(w) => Ok(w.value["id"].as_str().unwrap_or_default().to_string()),
                Err(StoreError::Domain(e)) => Err(e),
                Err(e) => return Err(e),
            }
        }
    };
    let taken = outcome.as_ref().ok().cloned();
    answer(store, &env, &f, outcome).await?;
    if let Some(case_id) = taken
        && f.accept_on_behalf
    {
        accept_for_partner(store, &env, &f, &case_id).await?;
    }
    Ok(())
}

/// The taking node handed this node's result over (结果送达权, checked when its envelope was
/// admitted): the case is delivered and concluded in its name. One already delivered (a
/// second run) stays as it is.
pub async fn take_handover(store: &Store, message_id: &str) -> Result<()> {
    let env = incoming(store, message_id)
        .await?
        .ok_or_else(|| internal(format!("envelope {message_id} not stored")))?;
    let h: core::Handover = serde_json::from_str(&env.body).map_err(internal)?;
    let action = yiwang_core::cases::Action::Deliver {
        method: h.method,
        post: None,
    };
    act_for_partner(
        store,
        &env.sender,
        &h.case_id,
        action,
        "a partner's handover not applied",
    )
    .await
}

/// Acts on a case of this node in a partner's name as a clerk (under a right it granted);
/// a case that does not allow it as it stands is left to this node's staff, logged.
async fn act_for_partner(
    store: &Store,
    partner: &str,
    case_id: &str,
    action: yiwang_core::cases::Action,
    left: &str,
) -> Result<()> {
    let meta = Meta::actor(format!("node:{partner}"));
    match crate::cases::act(store, meta, case_id, yiwang_core::cases::Party::Clerk, action).await {
        Ok(_) => Ok(()),
        Err(StoreError::Domain(e)) => {
            tracing::info!(case = %case_id, partner = %partner, error = %e, "{left}");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// 结果送达权: the result of a case a partner decided, handed over here (at the window or
/// electronically), and the partner told so — it delivers and concludes its case, whose
/// status then comes back. Only a decided case, and only where the partner granted the right.
pub async fn hand_over(
    store: &Store,
    meta: Meta,
    local: &Local,
    crossing_id: &str,
    method: yiwang_core::cases::DeliveryMethod,
) -> Result<Value> {
    let row = crossing(store, crossing_id)
        .await?
        .filter(|r| r.role == "origin")
        .ok_or_else(|| DomainError::not_found("id", "跨域办件", "case across nodes", crossing_id))?;
    let remote = row
        .remote_case
        .clone()
        .filter(|_| row.state == "decided")
        .ok_or_else(|| {
            DomainError::conflict(
                "id",
                "federation.not_due",
                "办理地尚未作出决定，无结果可送达".into(),
                "the competent node has not decided: there is no result to hand over".into(),
            )
        })?;
    if method == yiwang_core::cases::DeliveryMethod::Post {
        return Err(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
            "method",
            "federation.method",
            "代为送达限窗口领取或电子送达；邮寄由办理地寄出",
            "a result is handed over at the window or electronically; the competent node posts it",
        )])
        .into());
    }
    let granted = granted(store, &local.id, &row.partner, core::Right::Deliver, &row.item_code)
        .await?
        .unwrap_or(false);
    if !granted {
        return Err(DomainError::one(
            yiwang_core::ErrorKind::Forbidden,
            yiwang_core::error::FieldError::new(
                "id",
                "federation.not_granted",
                "办理地未授予本节点结果送达权",
                "the competent node did not grant this node the right to deliver its result",
            ),
        )
        .into());
    }
    let h = core::Handover {
        case_id: remote,
        method,
        by: meta.actor.clone(),
        at_ms: crate::now_ms(),
    };
    let out = Outgoing::new(&row.partner, "case.delivered", crossing_id, &h);
    let id = out.id.clone();
    store
        .write(meta, Command::Federation(Box::new(Cmd::Enqueue(vec![out]))))
        .await?;
    Ok(json!({ "id": crossing_id, "envelope": id }))
}

/// 收件受理权 granted to the taking node (checked when its envelope was admitted): its
/// window's acceptance stands here — the case is accepted in its name, after the answer
/// so the acceptance travels back as the case's next status (国办发〔2020〕35号: acceptance
/// stays with the competent place unless granted). A case that cannot be accepted as it
/// stands (or was already, on a second run) waits for this node's clerk.
async fn accept_for_partner(store: &Store, env: &Envelope, f: &Forwarded, case_id: &str) -> Result<()> {
    act_for_partner(
        store,
        &env.sender,
        case_id,
        yiwang_core::cases::Action::Accept,
        &format!(
            "accepting on the partner's behalf (taken by {}): left to this node's clerk",
            f.taken_by
        ),
    )
    .await
}

/// The applicant's account here: found by their ID number, or registered now by the
/// federation under the partner's assertion (`Err` a domain problem to tell the origin).
async fn applicant_here(
    store: &Store,
    actor: &str,
    a: &ForwardedApplicant,
) -> Result<std::result::Result<crate::accounts::PersonRow, DomainError>> {
    if let Some(p) = crate::accounts::person_by_id_number(store, a.id_number.trim()).await? {
        return Ok(Ok(p));
    }
    let input = yiwang_core::accounts::PersonInput {
        name: a.name.clone(),
        id_number: a.id_number.clone(),
        phone: a.phone.clone(),
        address: None,
        password: format!("Fed#{}", new_id()),
        sms_code: None,
    };
    match crate::accounts::register_person(store, Meta::actor(actor), &input, Some(actor)).await {
        Ok(_) => Ok(crate::accounts::person_by_id_number(store, a.id_number.trim())
            .await?
            .ok_or_else(|| DomainError::not_found("applicant.id_number", "办事人", "applicant", "?"))),
        Err(StoreError::Domain(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

async fn answer(
    store: &Store,
    env: &Envelope,
    f: &Forwarded,
    outcome: std::result::Result<String, DomainError>,
) -> Result<()> {
    let item_name = crate::cases::service_for(store, &f.item_code)
        .await
        .map(|s| s.elements.name.clone())
        .unwrap_or_else(|_| f.item_code.clone());
    let (state, case_id, problems) = match &outcome {
        Ok(c) => ("received".to_string(), Some(c.clone()), vec![]),
        Err(e) => ("refused".to_string(), None, e.errors.clone()),
    };
    let (zh, en) = if case_id.is_some() {
        ("已收件，待受理", "received, to be accepted")
    } else {
        (
            "未能收件：请一次性补正所列问题",
            "not taken: correct the problems listed, all at once",
        )
    };
    let status = Status {
        origin_ref: f.origin_ref.clone(),
        case_id: case_id.clone(),
        state: state.clone(),
        label_zh: zh.into(),
        label_en: en.into(),
        seq: 1,
        due_on: None,
        licence_id: None,
        decision: None,
        problems,
    };
    let out = Outgoing::new(&env.sender, "application.received", &f.origin_ref, &status);
    let row = CrossingRow {
        id: env.id.clone(),
        role: "competent".into(),
        partner: env.sender.clone(),
        item_code: f.item_code.clone(),
        item_name,
        mode: f.mode,
        applicant_name: f.applicant.name.clone(),
        applicant_key: None,
        local_case: case_id,
        remote_case: Some(f.origin_ref.clone()),
        state,
        status_seq: 1,
        detail: json!({ "taken_by": f.taken_by, "originals_checked": f.originals_checked, "forward_by": f.forward_by }),
        forward_by: Some(f.forward_by),
        created_ms: crate::now_ms(),
        updated_ms: crate::now_ms(),
    };
    store
        .write(
            Meta::actor(format!("node:{}", env.sender)),
            Command::Federation(Box::new(Cmd::Took {
                row: Box::new(row),
                out,
            })),
        )
        .await?;
    Ok(())
}

/// The follower that takes forwarded applications (at least once; `take_forwarded` is
/// idempotent by message id).
pub struct Inbox {
    pub store: std::sync::Arc<Store>,
}

impl crate::outbox::Subscriber for Inbox {
    fn name(&self) -> &str {
        "federation-inbox"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["fed.in.application.forward", "fed.in.case.delivered"])
    }
    async fn handle(&self, events: &[crate::outbox::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        for e in events {
            let Some(id) = e.body["id"].as_str() else { continue };
            let done = if e.kind == "fed.in.case.delivered" {
                take_handover(&self.store, id).await
            } else {
                take_forwarded(&self.store, id).await
            };
            done.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The follower that reports every change of a crossing case to the node it came from.
pub struct Reporter {
    pub store: std::sync::Arc<Store>,
}

impl crate::outbox::Subscriber for Reporter {
    fn name(&self) -> &str {
        "federation-reporter"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["case."])
    }
    fn bodies(&self) -> bool {
        false
    }
    async fn handle(&self, events: &[crate::outbox::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        let mut last: std::collections::BTreeMap<String, i64> = Default::default();
        for e in events {
            if let Some(id) = e.stream_id.strip_prefix("case:") {
                last.insert(id.to_string(), e.seq);
            }
        }
        if last.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = last.keys().cloned().collect();
        for chunk in ids.chunks(200) {
            let mut sql = String::from(
                "SELECT id, partner, local_case, remote_case, status_seq FROM fed_cases WHERE role = 'competent' AND local_case IN (",
            );
            crate::db::Marks::of(self.store.engine).push_list(&mut sql, chunk.len());
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id);
            }
            let rows = q.fetch_all(&self.store.read).await.map_err(|e| e.to_string())?;
            for r in rows {
                let get = |c: &str| r.try_get::<Option<String>, _>(c).ok().flatten().unwrap_or_default();
                let (id, partner, case_id, origin) = (get("id"), get("partner"), get("local_case"), get("remote_case"));
                let seq = last.get(&case_id).copied().unwrap_or(0);
                report(&self.store, &id, &partner, &case_id, &origin, seq)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

async fn report(store: &Store, id: &str, partner: &str, case_id: &str, origin: &str, seq: i64) -> Result<()> {
    let Some(c) = crate::cases::case(store, case_id).await? else {
        return Ok(());
    };
    // A correction asked for goes to the node that took the application, which tells the
    // applicant (一次性告知 through the receiving node: everything in one notice, the latest
    // request being the one outstanding).
    let mut problems = vec![];
    if c.state == yiwang_core::cases::State::Correcting
        && let Some(e) = crate::cases::timeline(store, case_id)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.event == "correction_requested")
    {
        let items: Vec<yiwang_core::cases::CorrectionItem> =
            serde_json::from_value(e.body["items"].clone()).unwrap_or_default();
        problems = items
            .into_iter()
            .map(|i| yiwang_core::error::FieldError::new(i.target, "case.correction", i.problem.clone(), i.problem))
            .collect();
    }
    let status = Status {
        origin_ref: origin.to_string(),
        case_id: Some(case_id.to_string()),
        state: c.state.as_str().to_string(),
        label_zh: yiwang_core::Named::zh(&c.state).to_string(),
        label_en: yiwang_core::Named::en(&c.state).to_string(),
        seq,
        due_on: c.due_on,
        licence_id: c.licence_id.clone(),
        decision: c.decision.clone(),
        problems,
    };
    let out = Outgoing::new(partner, "case.status", origin, &status);
    store
        .write(
            Meta::actor("system:federation"),
            Command::Federation(Box::new(Cmd::Report {
                id: id.to_string(),
                seq,
                state: status.state.clone(),
                out,
            })),
        )
        .await?;
    Ok(())
}

const CROSSING_COLS: &str = "id, role, partner, item_code, item_name, mode, applicant_name, applicant_key, local_case, remote_case, state, status_seq, detail, forward_by, created_ms, updated_ms";

fn crossing_of(r: &sqlx::any::AnyRow) -> Result<CrossingRow> {
    let mode: String = r.try_get("mode")?;
    let detail: String = r.try_get("detail")?;
    let forward_by: Option<String> = r.try_get("forward_by")?;
    Ok(CrossingRow {
        id: r.try_get("id")?,
        role: r.try_get("role")?,
        partner: r.try_get("partner")?,
        item_code: r.try_get("item_code")?,
        item_name: r.try_get("item_name")?,
        mode: Mode::parse(&mode).ok_or_else(|| internal(format!("mode {mode}")))?,
        applicant_name: r.try_get("applicant_name")?,
        applicant_key: r.try_get("applicant_key")?,
        local_case: r.try_get("local_case")?,
        remote_case: r.try_get("remote_case")?,
        state: r.try_get("state")?,
        status_seq: r.try_get("status_seq")?,
        detail: serde_json::from_str(&detail).map_err(internal)?,
        forward_by: forward_by.and_then(|d| d.parse().ok()),
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

/// The crossing cases of one role (`origin` or `competent`), newest first.
pub async fn crossings(store: &Store, role: &str, limit: i64) -> Result<Vec<CrossingRow>> {
    let sql = format!("SELECT {CROSSING_COLS} FROM fed_cases WHERE role = $1 ORDER BY created_ms DESC LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(role)
        .bind(limit)
        .fetch_all(&store.read)
        .await?;
    rows.iter().map(crossing_of).collect()
}

pub async fn crossing(store: &Store, id: &str) -> Result<Option<CrossingRow>> {
    let sql = format!("SELECT {CROSSING_COLS} FROM fed_cases WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    row.as_ref().map(crossing_of).transpose()
}

/// An applicant's crossing cases (their account here), newest first.
pub async fn crossings_of(store: &Store, applicant_key: &str) -> Result<Vec<CrossingRow>> {
    let sql =
        format!("SELECT {CROSSING_COLS} FROM fed_cases WHERE applicant_key = $1 ORDER BY created_ms DESC LIMIT 100");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(applicant_key)
        .fetch_all(&store.read)
        .await?;
    rows.iter().map(crossing_of).collect()
}

/// Offers one of this node's items in force for 跨域通办 (or changes its modes) and tells
/// every partner.
pub async fn set_offer(store: &Store, meta: Meta, local: &Local, item_code: &str, modes: Vec<Mode>) -> Result<Value> {
    let svc = crate::cases::service_for(store, item_code).await?;
    if modes.is_empty() {
        return Err(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
            "modes",
            "required",
            "至少选择一种跨域通办方式",
            "choose at least one mode",
        )])
        .into());
    }
    let dept = crate::refdata::department(store, &svc.department_id)
        .await?
        .map(|d| d.name)
        .unwrap_or_default();
    let e = &svc.elements;
    // A sample application of the item's form, materials as paper taken at the window: what
    // a partner's clerk starts from.
    let dict = crate::cases::dictionary(store).await?;
    let mut sample = yiwang_core::cases::sample_application(e, &|k| dict.get(k).cloned(), "");
    for p in sample.materials.values_mut() {
        p.kind = yiwang_core::cases::ProvisionKind::Paper;
        p.files.clear();
    }
    let offer = Offer {
        item_code: svc.code.clone(),
        name: e.name.clone(),
        department: dept,
        modes,
        detail: json!({
            // The whole published guide (公开的办事指南): what a partner's 一件事 merges when
            // it joins this item (多地联办).
            "elements": e,
            "version": svc.version,
            "region": svc.region_code,
            "materials": e.materials.iter().map(|m| json!({ "key": m.key, "name": m.name })).collect::<Vec<_>>(),
            "promised_limit": e.promised_limit,
            "guide": format!("{}/services/{}", local.endpoint, svc.code),
            "sample": sample,
            // The form as the partner's portal asks for it (全程网办 at the partner).
            "fields": e.form.iter().map(|f| {
                let name = f.label.clone()
                    .or_else(|| dict.get(&f.element).map(|d| d.name.clone()))
                    .unwrap_or_else(|| f.element.clone());
                json!({ "key": f.element, "name": name, "required": f.required })
            }).collect::<Vec<_>>(),
        }),
    };
    let mut with = vec![offer.clone()];
    let mut out = vec![];
    for a in agreements(store).await? {
        if a.state == AgreementState::Active {
            let mut all = offers(store, &local.id).await?;
            all.retain(|o| o.item_code != offer.item_code);
            all.append(&mut with.clone());
            out.push(Outgoing::new(
                &a.partner,
                "offers.publish",
                &local.id,
                &json!({ "offers": all }),
            ));
        }
    }
    with.clear();
    Ok(store
        .write(
            meta,
            Command::Federation(Box::new(Cmd::SetOffer {
                node: local.id.clone(),
                offer: Box::new(offer),
                out,
            })),
        )
        .await?
        .value)
}

/// Withdraws an item from 跨域通办 and tells every partner.
pub async fn remove_offer(store: &Store, meta: Meta, local: &Local, item_code: &str) -> Result<Value> {
    let mut out = vec![];
    for a in agreements(store).await? {
        if a.state == AgreementState::Active {
            let mut all = offers(store, &local.id).await?;
            all.retain(|o| o.item_code != item_code);
            out.push(Outgoing::new(
                &a.partner,
                "offers.publish",
                &local.id,
                &json!({ "offers": all }),
            ));
        }
    }
    Ok(store
        .write(
            meta,
            Command::Federation(Box::new(Cmd::RemoveOffer {
                node: local.id.clone(),
                item_code: item_code.to_string(),
                out,
            })),
        )
        .await?
        .value)
}
