//! Submitting an application: pre-check, prefill, submit and import, and the writer's command.

use super::*;
use crate::deferred::{Arg, Table};

// ---------------------------------------------------------------------------------------
// Entry points (outside the writer: reads and the pre-check; then one command)
// ---------------------------------------------------------------------------------------

/// Has the subject a serious credit default not yet repaired (STANDARDS §3)?
pub async fn serious_default(store: &Store, subject: &Subject) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credit_records WHERE subject = $1 AND serious = 1 AND repaired_at IS NULL",
    )
    .bind(subject.key())
    .fetch_one(&store.read)
    .await?;
    Ok(n > 0)
}

/// The data-element dictionary by code (shared by the pre-check and the prefill).
pub use crate::refdata::Dictionary;

/// The dictionary, from the reference-data cache.
pub async fn dictionary(store: &Store) -> Result<Arc<Dictionary>> {
    crate::refdata::dictionary(store).await
}

/// Whose uploads an application may name: the submitter's (`uploader`, a ledger actor),
/// and the files the case already names (`prior`, for corrections and supplements).
pub struct FilesOf<'a> {
    pub uploader: &'a str,
    pub prior: std::collections::BTreeSet<String>,
}

/// The files an application names.
pub fn files_named(app: &Application) -> std::collections::BTreeSet<String> {
    app.materials.values().flat_map(|p| p.files.iter().cloned()).collect()
}

/// What the platform holds about an applicant that the pre-check and the prefill use:
/// their profile and the licences they may use — the newest valid one of each type and
/// those the application offers (`licences::usable_of_holder`) — read once per submission.
#[derive(Debug, Clone)]
pub struct Holdings {
    pub subject: Subject,
    pub person: Option<crate::accounts::PersonRow>,
    pub legal: Option<crate::accounts::LegalPerson>,
    pub licences: Vec<licences::LicenceSummary>,
    /// The sealed data of the newest valid licence of each type, by licence id (opened only
    /// while the prefill still has a field to fill).
    pub sealed: std::collections::HashMap<String, String>,
}

/// The licences an application offers in place of materials (免提交).
pub fn licences_offered(app: &Application) -> Vec<&str> {
    app.materials
        .values()
        .filter(|p| p.kind == ProvisionKind::Licence)
        .filter_map(|p| p.licence_id.as_deref())
        .collect()
}

/// Reads an applicant's [`Holdings`]; `offered`: the licences the application names.
pub async fn holdings(store: &Store, subject: &Subject, offered: &[&str]) -> Result<Holdings> {
    let mut h = Holdings {
        subject: subject.clone(),
        person: None,
        legal: None,
        licences: vec![],
        sealed: Default::default(),
    };
    let index = match subject {
        Subject::Person(id) => match crate::accounts::person(&store.read, id).await? {
            Some(p) => {
                let number = crate::accounts::reveal(store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
                h.person = Some(p);
                licences::holder_index(&store.pii, yiwang_core::licences::HolderKind::Person, &number)
            }
            None => return Ok(h),
        },
        Subject::Legal(id) => match crate::accounts::legal_person(&store.read, id).await? {
            Some(l) => {
                let index = licences::holder_index(&store.pii, yiwang_core::licences::HolderKind::Legal, &l.uscc);
                h.legal = Some(l);
                index
            }
            None => return Ok(h),
        },
    };
    (h.licences, h.sealed) = licences::usable_of_holder(store, &index, offered).await?;
    // A recognised licence of another node is offered: its issuer's word now (互认).
    crate::federation::recheck(store, &mut h.licences, offered).await?;
    Ok(h)
}

/// The pre-check (智能预审) of an application for a published item, with the licences
/// the applicant offers in place of materials checked against what they hold.
pub async fn precheck(
    store: &Store,
    service: &Service,
    h: &Holdings,
    app: &Application,
    dict: &Dictionary,
    files_of: &FilesOf<'_>,
) -> Result<core::Prechecked> {
    let applicant = &h.subject;
    let tolerance_allowed = !serious_default(store, applicant).await?;
    let mut problems = vec![];
    let out = match core::precheck(&service.elements, &|c| dict.get(c).cloned(), app, tolerance_allowed) {
        Ok(o) => Some(o),
        Err(e) => {
            problems.extend(e.errors);
            None
        }
    };
    // Every file named must be one the platform holds and the submitter uploaded (or one
    // the case already names): uploads are checked for type and size when they arrive, so
    // an address never uploaded is not a material, and nobody attaches — and so reads
    // through the case — another person's file.
    let named: Vec<&str> = app
        .materials
        .values()
        .flat_map(|p| p.files.iter().map(String::as_str))
        .filter(|f| !files_of.prior.contains(*f))
        .collect();
    let mut held = crate::files::known(store, &named, files_of.uploader).await?;
    held.extend(files_of.prior.iter().cloned());
    for (key, p) in &app.materials {
        if p.files.iter().any(|f| !held.contains(f)) {
            problems.push(FieldError::new(
                format!("materials.{key}"),
                "file.unknown",
                "所附文件未上传或已不存在，请重新上传",
                "a file named here was never uploaded: upload it again",
            ));
        }
    }
    // A licence offered in place of a material must be held, valid, and of the type the
    // material names (免提交, STANDARDS §6).
    for (key, p) in &app.materials {
        if p.kind != ProvisionKind::Licence {
            continue;
        }
        let Some(id) = &p.licence_id else { continue };
        let field = format!("materials.{key}");
        let wanted = service
            .elements
            .materials
            .iter()
            .find(|m| &m.key == key)
            .and_then(|m| m.source.licence_type.clone());
        match h.licences.iter().find(|l| &l.id == id) {
            None => problems.push(FieldError::new(
                &field,
                "case.licence_not_held",
                "所选电子证照不存在或不属于申请人",
                "the licence does not exist or is not the applicant's",
            )),
            Some(l) if l.status != yiwang_core::licences::Status::Valid => problems.push(FieldError::new(
                &field,
                "case.licence_not_valid",
                format!("电子证照状态为「{}」，不能使用", l.status.zh()),
                format!("the licence is {}", l.status.en()),
            )),
            Some(l) if wanted.as_deref().is_some_and(|w| w != l.type_code) => problems.push(FieldError::new(
                &field,
                "case.licence_type",
                format!("该材料需要「{}」类电子证照", wanted.clone().unwrap_or_default()),
                "the material needs a licence of another type",
            )),
            Some(_) => {}
        }
    }
    // 国发〔2024〕3号: an earlier case's result stands in for a material only when that case
    // is the applicant's own and was granted.
    for (key, p) in &app.materials {
        let (ProvisionKind::Result, Some(id)) = (p.kind, &p.case_id) else {
            continue;
        };
        let granted: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT applicant, decision FROM cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&store.read)
                .await?;
        if !granted.is_some_and(|(who, d)| who == applicant.key() && d.as_deref() == Some("approve")) {
            problems.push(FieldError::new(
                format!("materials.{key}"),
                "case.result_not_granted",
                "所注明的前序办件不存在、不属于申请人或未获准予",
                "the earlier case named does not exist, is not the applicant's or was not granted",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(DomainError::invalid(problems).into());
    }
    Ok(out.unwrap_or_default())
}

/// Values the platform can fill in for the applicant (一次不用重复填): from the profile
/// (each data element names its source, e.g. `legal.uscc`) and from the faces of the
/// valid licences they hold (a face field is a data element too). An agent applying for an
/// enterprise (`agent`: their person id) is its contact: their phone fills `person.phone`.
pub async fn prefill(
    store: &Store,
    subject: &Subject,
    agent: Option<&str>,
    e: &yiwang_core::catalog::Elements,
    dict: &Dictionary,
) -> Result<BTreeMap<String, String>> {
    prefill_from(store, &holdings(store, subject, &[]).await?, agent, e, dict).await
}

/// [`prefill`] from holdings already read. A licence's face is decrypted only while some
/// field of the form is still without a value.
pub async fn prefill_from(
    store: &Store,
    held: &Holdings,
    agent: Option<&str>,
    e: &yiwang_core::catalog::Elements,
    dict: &Dictionary,
) -> Result<BTreeMap<String, String>> {
    let mut profile: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(p) = &held.person {
        use yiwang_core::datause::PersonalField as F;
        profile.insert("person.name", p.name.clone());
        profile.insert("person.id_number", crate::accounts::reveal(store, p, F::IdNumber)?);
        profile.insert("person.phone", crate::accounts::reveal(store, p, F::Phone)?);
        profile.insert("person.address", crate::accounts::reveal(store, p, F::Address)?);
    }
    if let Some(l) = &held.legal {
        profile.insert("legal.name", l.name.clone());
        profile.insert("legal.uscc", l.uscc.clone());
        profile.insert("legal.kind", l.kind.name_zh().to_string());
        profile.insert("legal.representative", l.legal_representative.clone());
        if let Some(agent) = agent
            && let Some(p) = crate::accounts::person(&store.read, agent).await?
        {
            let phone = crate::accounts::reveal(store, &p, yiwang_core::datause::PersonalField::Phone)?;
            profile.insert("person.phone", phone);
        }
    }
    let mut out = BTreeMap::new();
    for f in &e.form {
        let v = dict
            .get(&f.element)
            .and_then(|d| d.prefill.as_deref())
            .and_then(|src| profile.get(src).cloned())
            .filter(|v| !v.is_empty());
        if let Some(v) = v {
            out.insert(f.element.clone(), v);
        }
    }
    // Then the licences' faces, for the fields the profile left empty: the newest valid
    // licence of each type only (an older one of the same type has the same fields, less
    // current; `holdings` reads no other but those offered), so a holder of many licences
    // costs no more than one per type.
    let mut types = std::collections::HashSet::new();
    for l in &held.licences {
        if e.form.iter().all(|f| out.contains_key(&f.element)) {
            break;
        }
        if l.status != yiwang_core::licences::Status::Valid || !types.insert(l.type_code.as_str()) {
            continue;
        }
        if let Some(sealed) = held.sealed.get(&l.id) {
            let data = licences::open_data(store, &l.id, sealed)?;
            for f in &e.form {
                if !out.contains_key(&f.element)
                    && let Some(v) = data.face.get(&f.element)
                {
                    out.insert(f.element.clone(), v.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The published item an application is for.
pub async fn service_for(store: &Store, item_code: &str) -> Result<Service> {
    let s = crate::catalog::service(store, item_code.trim(), crate::now_ms())
        .await?
        .ok_or_else(|| DomainError::not_found("item_code", "在用事项", "item in force", item_code))?;
    Ok(s)
}

/// An application as submitted: for which item, by whom, how.
#[derive(Debug, Clone)]
pub struct Submission {
    pub item_code: String,
    pub applicant: Applicant,
    pub channel: Channel,
    /// 帮办: a clerk (or an agent) filled it in for the applicant.
    pub assisted: bool,
    pub application: Application,
    /// The draft it comes from (deleted once submitted).
    pub draft_id: Option<String>,
}

/// Submits an application (online, or at a window for the applicant): pre-check, then the
/// case is numbered and stored with its receipt. With an Idempotency-Key in `meta`, a
/// retried request returns the first case (`Written::replayed`).
pub async fn submit(store: &Store, meta: Meta, sub: Submission) -> Result<crate::writer::Written> {
    let service = service_for(store, &sub.item_code).await?;
    submit_inner(store, meta, sub, service, None).await
}

/// Takes over a case from the previous platform (历史办件迁移): pre-checked like any
/// submission, numbered by its original date of receipt, and accepted on its original
/// date when the previous platform had accepted it, so its clocks (and traffic lights)
/// are the real ones. One command: either all of it lands or nothing.
pub async fn import(store: &Store, meta: Meta, sub: Submission, m: Migration) -> Result<crate::writer::Written> {
    m.check(crate::today())?;
    let service = service_for(store, &sub.item_code).await?;
    let cal = calendar::calendar_for(store, Some(&service.region_code)).await?;
    submit_inner(store, meta, sub, service, Some((m, cal, store.config.cases))).await
}

pub(super) async fn submit_inner(
    store: &Store,
    meta: Meta,
    sub: Submission,
    service: Service,
    migrated: Option<(Migration, Arc<Calendar>, core::CasePolicy)>,
) -> Result<crate::writer::Written> {
    let cmd = match prepare_submission(store, &meta, sub, service, migrated).await? {
        Ok(cmd) => cmd,
        Err(answered) => return Ok(answered),
    };
    let w = store
        .writer
        .submit(meta, Command::Cases(Box::new(Cmd::Submit(Box::new(cmd)))))
        .await?;
    Ok(w)
}

/// Everything a submission does before the writer: the channel rule, the pre-check (智能预审),
/// the prefill count, and the number, sealing and signing (`prepare`). `Err`: the request's
/// Idempotency-Key was answered before: that answer, replayed.
pub(crate) async fn prepare_submission(
    store: &Store,
    meta: &Meta,
    sub: Submission,
    service: Service,
    migrated: Option<(Migration, Arc<Calendar>, core::CasePolicy)>,
) -> Result<std::result::Result<SubmitCmd, crate::writer::Written>> {
    let Submission {
        item_code: _,
        applicant,
        channel,
        assisted,
        application,
        draft_id,
    } = sub;
    core::check_channel(channel, &application)?;
    let dict = dictionary(store).await?;
    let files_of = FilesOf {
        uploader: &meta.actor,
        prior: Default::default(),
    };
    let held = holdings(store, &applicant.subject, &licences_offered(&application)).await?;
    let prechecked = precheck(store, &service, &held, &application, &dict, &files_of).await?;
    // The prefill rate: form fields whose submitted value is the one the platform filled in.
    let filled = prefill_from(store, &held, None, &service.elements, &dict).await?;
    let prefilled = application
        .form
        .iter()
        .filter(|(k, v)| {
            filled.get(*k).is_some_and(|p| match v {
                Value::String(s) => s.trim() == p.trim(),
                other => other.to_string() == *p,
            })
        })
        .count();
    if let Some(w) = crate::writer::answered(store, meta).await? {
        return Ok(Err(w));
    }
    let mut cmd = SubmitCmd {
        service,
        applicant,
        channel,
        assisted,
        application,
        prechecked,
        draft_id,
        prefilled,
        migrated,
        prepared: None,
    };
    cmd.prepared = Some(prepare(store, &meta.actor, &cmd).await?);
    Ok(Ok(cmd))
}

/// What a submission carries into the writer, prepared on the request task (DESIGN "The
/// write path": signatures, sealing and hashing happen before a command enters the
/// writer, in parallel): the case number from this process's block of serials, the case
/// row, the application sealed (SM4) with its digest (SM3), and the receipt numbered and
/// signed (SM2) — 《行政许可法》第三十二条: the receipt is issued, sealed and dated, on
/// receipt.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub row: CaseRow,
    pub application_enc: String,
    pub application_sm3: String,
    pub receipt: Notice,
}

/// The next 办件编号 of a region and day: region + date + serial; serials come from blocks
/// reserved through the writer, so numbers are unique across processes (issue 6 item 10).
pub(crate) async fn next_case_number(store: &Store, region_code: &str, today: NaiveDate) -> Result<String> {
    let prefix = format!(
        "{}{}",
        core::case_number(region_code, today, 0).get(..12).unwrap_or(""),
        today.format("%Y%m%d")
    );
    let serial = crate::numbers::next(store, crate::numbers::Counter::CaseSerial { prefix }).await?;
    Ok(core::case_number(region_code, today, serial as u64))
}

async fn prepare(store: &Store, actor: &str, s: &SubmitCmd) -> Result<Prepared> {
    let at_ms = crate::now_ms();
    // A migrated case keeps its original date of receipt (number, clocks, art. 32).
    let today = match &s.migrated {
        Some((m, _, _)) => m.received_on,
        None => date_of(at_ms),
    };
    let svc = &s.service;
    let e = &svc.elements;
    let id = next_case_number(store, &svc.region_code, today).await?;
    let route = core::Route::of(&s.application, &s.prechecked).as_str();
    let sealed = Sealed {
        application: s.application.clone(),
        applicant_code: s.applicant.code.clone(),
    };
    let bytes = serde_json::to_vec(&sealed).expect("serialisable");
    let application_sm3 = hex::encode(yiwang_crypto::sm3(&bytes));
    let application_enc = store.keyring.pii.seal_bytes(&format!("cases.application:{id}"), &bytes);
    let row = CaseRow {
        id: id.clone(),
        entry_id: svc.entry_id.clone(),
        item_code: svc.code.clone(),
        item_version: svc.version,
        item_name: e.name.clone(),
        department_id: svc.department_id.clone(),
        region_code: svc.region_code.clone(),
        applicant: s.applicant.subject.key(),
        applicant_name: s.applicant.name.clone(),
        submitted_by: actor.to_string(),
        channel: s.channel,
        assisted: s.assisted,
        route: route.into(),
        state: State::Submitted,
        steps: core::workflow(e),
        step: 0,
        handler: None,
        instant: e.case_kind == CaseKind::Instant,
        outstanding: s.prechecked.tolerated.iter().cloned().collect(),
        statutory_limit: e.statutory_limit.clone(),
        promised_limit: e.promised_limit.clone(),
        received_on: today,
        accepted_on: None,
        due_on: None,
        statutory_due_on: None,
        decision: None,
        decided_at: None,
        licence_id: None,
        delivery: None,
        concluded_at: None,
        form_fields: e.form.len() as i64,
        prefilled_fields: s.prefilled as i64,
        created_at: at_ms,
        updated_at: at_ms,
    };
    let materials: Vec<Value> = e
        .materials
        .iter()
        .filter_map(|m| {
            s.application
                .materials
                .get(&m.key)
                .map(|p| json!({ "key": m.key, "name": m.name, "how": p.kind, "files": p.files.len() }))
        })
        .collect();
    let receipt = prepare_notice(
        store,
        &(&row).into(),
        Some(svc.department_name.as_str()).filter(|n| !n.is_empty()),
        NoticeKind::Receipt,
        json!({ "channel": s.channel, "received_on": today, "materials": materials,
                "promised_limit": e.promised_limit.as_ref().map(|l| l.text_zh()) }),
        at_ms,
    )
    .await?;
    Ok(Prepared {
        row,
        application_enc,
        application_sm3,
        receipt,
    })
}

pub(crate) async fn submit_cmd(ctx: &mut WriteCtx<'_>, s: &SubmitCmd) -> Result<Value> {
    let p = s
        .prepared
        .as_ref()
        .ok_or_else(|| StoreError::Internal("a submission reached the writer unprepared".into()))?;
    let row = &p.row;
    let (id, today) = (&row.id, row.received_on);
    let svc = &s.service;
    let e = &svc.elements;
    let ev = Event::Submitted;
    // A plain submission's rows all wait for the end of the batch; a draft to delete or a
    // migrated case (acted on at once) writes now.
    if s.draft_id.is_none() && s.migrated.is_none() {
        ctx.write_later();
    }
    ctx.append(
        &stream(id),
        Expect::New,
        "case.submitted",
        &json!({ "id": id, "item_code": svc.code, "item_version": svc.version, "department_id": svc.department_id,
                 "applicant": row.applicant, "applicant_name": row.applicant_name, "channel": s.channel,
                 "assisted": s.assisted, "route": row.route, "application_sm3": p.application_sm3,
                 "form_fields": e.form.len(), "prefilled_fields": s.prefilled,
                 "tolerated": s.prechecked.tolerated, "promised": s.prechecked.promised,
                 "migrated": s.migrated.as_ref().map(|(m, _, _)| m) }),
    )
    .await?;
    let case = vec![
        Arg::Text(id.clone()),
        Arg::Text(row.entry_id.clone()),
        Arg::Text(row.item_code.clone()),
        Arg::Int(row.item_version),
        Arg::Text(row.item_name.clone()),
        Arg::Text(row.department_id.clone()),
        Arg::Text(row.region_code.clone()),
        Arg::Text(row.applicant.clone()),
        Arg::Text(row.applicant_name.clone()),
        Arg::Text(row.submitted_by.clone()),
        Arg::Text(row.channel.as_str().to_string()),
        Arg::Flag(row.assisted),
        Arg::Text(row.route.clone()),
        Arg::Text(State::Submitted.as_str().to_string()),
        Arg::Text(json_text(&row.steps)),
        Arg::Int(0),
        Arg::OptText(None),
        Arg::Flag(row.instant),
        Arg::Text(json_text(&row.outstanding)),
        Arg::OptText(row.statutory_limit.as_ref().map(json_text)),
        Arg::OptText(row.promised_limit.as_ref().map(json_text)),
        Arg::Text(today.to_string()),
        Arg::Int(row.created_at),
        Arg::Int(row.created_at),
        Arg::Int(row.form_fields),
        Arg::Int(row.prefilled_fields),
    ];
    // A migrated case is acted on in this same command (its acceptance reads the row):
    // it goes in now; any other waits for the end of the batch.
    let application = vec![
        Arg::Text(id.clone()),
        Arg::Text(p.application_enc.clone()),
        Arg::Text(p.application_sm3.clone()),
    ];
    if s.migrated.is_some() {
        crate::deferred::insert_now(&mut *ctx.conn, Table::Cases, case).await?;
        crate::deferred::insert_now(&mut *ctx.conn, Table::Applications, application).await?;
    } else {
        ctx.batch.deferred.push(Table::Cases, case);
        ctx.batch.deferred.push(Table::Applications, application);
    }
    if let Some(d) = &s.draft_id {
        sqlx::query("DELETE FROM case_drafts WHERE id = $1 AND applicant = $2")
            .bind(d)
            .bind(&row.applicant)
            .execute(&mut *ctx.conn)
            .await?;
    }
    // A migrated case's first entry names where it came from.
    let body = match &s.migrated {
        Some((m, _, _)) => json!({ "event": "submitted", "migrated": m }),
        None => serde_json::to_value(&ev).expect("serialisable"),
    };
    timeline_insert(ctx, id, 1, ev.name(), &body, Party::Applicant);
    store_prepared_notice(ctx, &p.receipt).await?;
    ctx.count_receipt(today, &row.item_code, &row.item_name);
    notify(
        ctx,
        row,
        format!("您申报的「{}」已收件，办件编号 {id}", e.name),
        format!("Your application for '{}' was received: case {id}", e.name),
    );
    if let Some((m, cal, policy)) = &s.migrated
        && let Some(on) = m.accepted_on
    {
        let how = Acting {
            cal,
            policy,
            replace: None,
            elements: Some(e),
            ready: Ready::default(),
        };
        let v = act_cmd(ctx, id, Party::Clerk, &Action::Accept, &how, on).await?;
        return Ok(
            json!({ "id": id, "state": v["state"], "route": row.route, "received_on": today,
                    "accepted_on": on, "due_on": v["due_on"], "legacy_no": m.legacy_no }),
        );
    }
    Ok(
        json!({ "id": id, "state": State::Submitted, "route": row.route, "received_on": today,
               "tolerated": s.prechecked.tolerated, "promised": s.prechecked.promised }),
    )
}

/// A value as JSON text (a document column).
fn json_text<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

/// Adds a batch's receipts to the per-item, per-day counts (multi-row upserts, a few
/// hundred rows a statement: 4 parameters a row, well under both engines' limits).
pub(crate) async fn add_receipts(
    conn: &mut AnyConnection,
    receipts: &std::collections::HashMap<(String, String), (String, i64)>,
) -> Result<()> {
    const ROWS: usize = 300;
    let rows: Vec<_> = receipts.iter().collect();
    for chunk in rows.chunks(ROWS) {
        let mut sql = String::from("INSERT INTO item_receipts (day, item_code, item_name, received) VALUES ");
        crate::db::Marks::of_conn(conn).push_rows(&mut sql, chunk.len(), 4);
        sql.push_str(
            " ON CONFLICT (day, item_code) DO UPDATE SET received = item_receipts.received + excluded.received, \
             item_name = excluded.item_name",
        );
        // Not kept prepared: each batch size is another text (see `write_stream_heads`).
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for ((day, code), (name, n)) in chunk {
            q = q.bind(day).bind(code).bind(name).bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
