//! Reads: cases, timelines, suspensions, clocks, tasks, drafts, notifications, credit records.

use super::*;

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

pub async fn case(store: &Store, id: &str) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// The application as submitted (decrypted). Staff reads are the caller's to log.
pub async fn application(store: &Store, id: &str) -> Result<Option<(Application, String)>> {
    let enc: Option<String> = sqlx::query_scalar("SELECT application_enc FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    let Some(enc) = enc else { return Ok(None) };
    let bytes = store.pii.open_bytes(&format!("cases.application:{id}"), &enc)?;
    let s: Sealed = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    Ok(Some((s.application, s.applicant_code)))
}

pub async fn of_applicant(store: &Store, subject: &Subject) -> Result<Vec<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE applicant = $1 ORDER BY updated_at DESC LIMIT 500");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject.key())
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// Where an officer's inbox looks. Each part is one indexed query; the caller still checks
/// each case against the officer's permission (this only narrows what is read).
#[derive(Debug, Clone, Default)]
pub struct InboxScope {
    /// Cases waiting at a window (submitted, decided) of departments whose region code
    /// starts with this prefix ("" for every region).
    pub window_prefix: Option<String>,
    /// Cases at a review or decision step of this department.
    pub step_department: Option<String>,
    /// Cases at a review or decision step in regions starting with this prefix (a
    /// department-less system token; not together with `step_department`).
    pub step_prefix: Option<String>,
}

/// The open cases an inbox of `scope` may show, oldest first, at most `limit` a part.
pub async fn inbox_cases(store: &Store, scope: &InboxScope, limit: i64) -> Result<Vec<CaseRow>> {
    const WINDOW: &str = "state IN ('submitted', 'decided')";
    const STEP: &str = "state IN ('accepted', 'suspended')";
    let mut out: Vec<CaseRow> = vec![];
    // A prefix as a range (region codes are digits), which both engines answer from the
    // (region_code, state) index; LIKE would not use it in SQLite.
    let range = |p: &str| -> (String, Vec<String>) {
        match region_upper(p) {
            Some(upper) => (
                "region_code >= $1 AND region_code < $2 AND ".into(),
                vec![p.to_string(), upper],
            ),
            None => (String::new(), vec![]),
        }
    };
    let mut parts: Vec<(String, Vec<String>)> = vec![];
    if let Some(p) = &scope.window_prefix {
        let (cond, binds) = range(p);
        parts.push((format!("{cond}{WINDOW}"), binds));
    }
    if let Some(d) = &scope.step_department {
        parts.push((format!("department_id = $1 AND {STEP}"), vec![d.clone()]));
    }
    if let Some(p) = &scope.step_prefix {
        let (cond, binds) = range(p);
        parts.push((format!("{cond}{STEP}"), binds));
    }
    for (cond, binds) in parts {
        let sql = format!("SELECT {COLS} FROM cases WHERE {cond} ORDER BY received_on LIMIT {limit}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        // The parts ask for different states, so no case comes twice.
        for r in q.fetch_all(&store.read).await?.iter() {
            out.push(read(r)?);
        }
    }
    out.sort_by_key(|a| a.received_on);
    Ok(out)
}

/// The first code after every code starting with `prefix` (None for "": no bound).
fn region_upper(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < b'9' {
            bytes.push(last + 1);
            return Some(String::from_utf8(bytes).expect("digits"));
        }
    }
    None
}

/// Open cases (someone other than the applicant has a move), for the bootstrap root
/// token's inbox: the server filters by role and orders by remaining working time.
pub async fn open_cases(store: &Store) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE state IN ('submitted', 'accepted', 'suspended', 'decided') \
         ORDER BY received_on LIMIT 5000"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// Records that staff read a person applicant's case (their application holds personal
/// data) in the person's data-use log, with the case as the purpose.
pub async fn record_read(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    person_id: &str,
    case_id: &str,
) -> Result<()> {
    let u = yiwang_core::datause::DataUse {
        id: new_id(),
        person_id: person_id.to_string(),
        actor_kind: reader.kind.clone(),
        actor_id: reader.id.clone(),
        actor_name: reader.name.clone(),
        department: reader.department.clone(),
        fields: vec![yiwang_core::datause::PersonalField::Name],
        unmasked: false,
        purpose: "办理办件".into(),
        case_id: Some(case_id.to_string()),
        at_ms: crate::now_ms(),
    };
    store
        .write(meta, Command::DataUse(crate::datause::Cmd::Record(Box::new(u))))
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub n: i64,
    pub event: String,
    pub body: Value,
    pub party: String,
    pub actor: String,
    pub at_ms: i64,
    pub zh: String,
    pub en: String,
}

pub async fn timeline(store: &Store, id: &str) -> Result<Vec<TimelineEntry>> {
    let rows = sqlx::query("SELECT n, event, body, party, actor, at FROM case_timeline WHERE case_id = $1 ORDER BY n")
        .bind(id)
        .fetch_all(&store.read)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            let body: Value = serde_json::from_str(&body).map_err(|e| sql_err(&e.to_string()))?;
            let ev: Option<Event> = serde_json::from_value(body.clone()).ok();
            let mut zh = ev.as_ref().map(|e| e.zh()).unwrap_or_default();
            let mut en = ev.as_ref().map(|e| e.en()).unwrap_or_default();
            if let Ok(m) = serde_json::from_value::<Migration>(body["migrated"].clone()) {
                zh = format!(
                    "{zh}（历史办件迁移：原系统「{}」编号 {}，{} 收件）",
                    m.source, m.legacy_no, m.received_on
                );
                en = format!(
                    "{en} (migrated from {}: number {}, received {})",
                    m.source, m.legacy_no, m.received_on
                );
            }
            Ok(TimelineEntry {
                n: r.try_get("n")?,
                event: r.try_get("event")?,
                zh,
                en,
                body,
                party: r.try_get("party")?,
                actor: r.try_get("actor")?,
                at_ms: r.try_get("at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SuspensionRow {
    pub n: i64,
    #[sqlx(try_from = "String")]
    pub kind: yiwang_core::catalog::SpecialKind,
    pub reason: String,
    #[sqlx(try_from = "DateText")]
    pub from_on: NaiveDate,
    #[sqlx(try_from = "DateText")]
    pub to_on: Option<NaiveDate>,
    pub result: Option<String>,
}

pub(super) async fn suspensions_on<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    id: &str,
) -> Result<Vec<SuspensionRow>> {
    let rows = sqlx::query(
        "SELECT n, kind, reason, from_on, to_on, result FROM case_suspensions WHERE case_id = $1 ORDER BY n",
    )
    .bind(id)
    .fetch_all(e)
    .await?;
    rows.iter().map(read).collect()
}

pub async fn suspensions(store: &Store, id: &str) -> Result<Vec<SuspensionRow>> {
    suspensions_on(&store.read, id).await
}

/// Suspensions as calendar intervals; an open one runs to `today`.
pub fn intervals(s: &[SuspensionRow], today: NaiveDate) -> Vec<Suspension> {
    s.iter()
        .map(|x| Suspension {
            from: x.from_on,
            to: x.to_on.unwrap_or(today),
        })
        .collect()
}

/// A case's clocks with their arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clocks {
    pub promised: Option<(Deadline, core::Reading)>,
    pub statutory: Option<(Deadline, core::Reading)>,
}

impl Clocks {
    /// Before acceptance no clock runs.
    pub const NONE: Clocks = Clocks {
        promised: None,
        statutory: None,
    };
}

/// The promised and statutory clocks of an accepted case on `today` (by its region's
/// calendar, extended by suspensions, 《行政许可法》第四十二条、第四十五条).
pub async fn clocks(store: &Store, c: &CaseRow, today: NaiveDate) -> Result<Clocks> {
    if c.accepted_on.is_none() {
        return Ok(Clocks::NONE);
    }
    let cal = calendar::calendar_for(store, Some(&c.region_code)).await?;
    let susp = suspensions(store, &c.id).await?;
    Ok(clocks_with(store, c, today, &cal, &susp))
}

/// The clocks of many cases (an inbox): one calendar per region and one query for the
/// suspensions of every case, instead of two queries a case.
pub async fn clocks_many(store: &Store, cases: &[&CaseRow], today: NaiveDate) -> Result<Vec<Clocks>> {
    let running: Vec<&CaseRow> = cases.iter().copied().filter(|c| c.accepted_on.is_some()).collect();
    let mut calendars: BTreeMap<&str, Arc<Calendar>> = BTreeMap::new();
    for c in &running {
        if !calendars.contains_key(c.region_code.as_str()) {
            calendars.insert(
                &c.region_code,
                calendar::calendar_for(store, Some(&c.region_code)).await?,
            );
        }
    }
    let mut susp: BTreeMap<String, Vec<SuspensionRow>> = BTreeMap::new();
    for chunk in running.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT case_id, n, kind, reason, from_on, to_on, result FROM case_suspensions \
             WHERE case_id IN ({}) ORDER BY case_id, n",
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for c in chunk {
            q = q.bind(&c.id);
        }
        for r in q.fetch_all(&store.read).await? {
            let case_id: String = r.try_get("case_id")?;
            susp.entry(case_id).or_default().push(read(&r)?);
        }
    }
    Ok(cases
        .iter()
        .map(|c| match calendars.get(c.region_code.as_str()) {
            Some(cal) if c.accepted_on.is_some() => {
                clocks_with(store, c, today, cal, susp.get(&c.id).map(Vec::as_slice).unwrap_or(&[]))
            }
            _ => Clocks::NONE,
        })
        .collect())
}

/// A case's clocks from its calendar and suspensions.
fn clocks_with(store: &Store, c: &CaseRow, today: NaiveDate, cal: &Calendar, susp: &[SuspensionRow]) -> Clocks {
    let Some(start) = c.accepted_on else {
        return Clocks::NONE;
    };
    let susp = intervals(susp, today);
    let read_on = if c.state.is_final() || c.state == State::Decided {
        c.decided_at.map(date_of).unwrap_or(today)
    } else {
        today
    };
    let one = |l: &Option<TimeLimit>| {
        l.as_ref().filter(|l| l.value > 0).map(|l| {
            let mut d = core::due(cal, start, l, &susp);
            d.working_days = core::limit_working_days(cal, &d);
            let r = core::reading_with(cal, &d, &susp, read_on, store.config.cases.yellow_percent);
            (d, r)
        })
    };
    Clocks {
        promised: one(&c.promised_limit),
        statutory: one(&c.statutory_limit),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub department_id: String,
    #[sqlx(try_from = "String")]
    pub kind: core::TaskKind,
    #[sqlx(try_from = "DateText")]
    pub due_on: NaiveDate,
    pub state: String,
    pub outcome: Option<String>,
}

pub async fn tasks_of_case(store: &Store, case_id: &str) -> Result<Vec<Task>> {
    sqlx::query(
        "SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE case_id = $1 ORDER BY created_at",
    )
    .bind(case_id)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

pub async fn open_tasks(store: &Store, department_ids: &[String]) -> Result<Vec<Task>> {
    let rows = sqlx::query(
        "SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE state = 'open' ORDER BY due_on",
    )
    .fetch_all(&store.read)
    .await?;
    let mut out = vec![];
    for r in rows {
        let t = read::<Task, _>(&r)?;
        if department_ids.contains(&t.department_id) {
            out.push(t);
        }
    }
    Ok(out)
}

pub async fn task(store: &Store, id: &str) -> Result<Option<Task>> {
    sqlx::query("SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Draft {
    pub id: String,
    pub item_code: String,
    pub item_name: String,
    pub updated_at: i64,
}

pub async fn drafts_of(store: &Store, subject: &Subject) -> Result<Vec<Draft>> {
    let rows = sqlx::query(
        "SELECT id, item_code, item_name, updated_at FROM case_drafts WHERE applicant = $1 ORDER BY updated_at DESC",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(read).collect()
}

/// How many of the subject's cases are open and how many of those wait on them (补正, or
/// materials accepted to follow: 容缺后补), and how many drafts they keep: counted by the
/// applicant index, not read.
pub async fn applicant_counts(store: &Store, subject: &Subject) -> Result<ApplicantCounts> {
    let key = subject.key();
    let rows = sqlx::query(
        "SELECT state, COUNT(*) AS n, SUM(CASE WHEN outstanding <> '[]' THEN 1 ELSE 0 END) AS owed \
         FROM cases WHERE applicant = $1 \
         AND state IN ('submitted', 'correcting', 'accepted', 'suspended', 'decided') GROUP BY state",
    )
    .bind(&key)
    .fetch_all(&store.read)
    .await?;
    let mut c = ApplicantCounts::default();
    for r in &rows {
        let state: String = r.try_get("state")?;
        let n: i64 = r.try_get("n")?;
        let owed: i64 = r.try_get("owed")?;
        c.open += n;
        if state == State::Correcting.as_str() {
            c.to_do += n;
        } else if state == State::Accepted.as_str() || state == State::Suspended.as_str() {
            c.to_do += owed;
        }
    }
    c.drafts = sqlx::query_scalar("SELECT COUNT(*) FROM case_drafts WHERE applicant = $1")
        .bind(&key)
        .fetch_one(&store.read)
        .await?;
    Ok(c)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplicantCounts {
    /// Not final and not a draft.
    pub open: i64,
    /// Open cases whose next move is the applicant's.
    pub to_do: i64,
    pub drafts: i64,
}

/// A draft of the subject's, with its application.
pub async fn draft(store: &Store, subject: &Subject, id: &str) -> Result<Option<(Draft, Application)>> {
    let r = sqlx::query(
        "SELECT id, item_code, item_name, updated_at, application_enc FROM case_drafts WHERE id = $1 AND applicant = $2",
    )
    .bind(id)
    .bind(subject.key())
    .fetch_optional(&store.read)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let enc: String = r.try_get("application_enc")?;
    let bytes = store.pii.open_bytes(&format!("case_drafts.application:{id}"), &enc)?;
    let app: Application = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    Ok(Some((read(&r)?, app)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Notification {
    pub id: String,
    pub case_id: Option<String>,
    pub text_zh: String,
    pub text_en: String,
    pub created_at: i64,
}

pub async fn notifications(store: &Store, subject: &Subject) -> Result<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, case_id, text_zh, text_en, created_at FROM notifications WHERE recipient = $1 ORDER BY created_at DESC LIMIT 100",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(read).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CreditRecord {
    pub id: String,
    pub subject: String,
    #[sqlx(try_from = "Flag")]
    pub serious: bool,
    pub reason: String,
    pub case_id: Option<String>,
    pub created_at: i64,
}

pub async fn credit_records(store: &Store, subject: &Subject) -> Result<Vec<CreditRecord>> {
    let rows = sqlx::query(
        "SELECT id, subject, serious, reason, case_id, created_at FROM credit_records WHERE subject = $1 ORDER BY created_at",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(read).collect()
}

/// An item counted among the most applied for (热门服务).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PopularItem {
    pub item_code: String,
    pub item_name: String,
    pub applications: i64,
}

/// The items most applied for since `since` (received on or after it), most first: what
/// the portal offers as popular services. Reads the window of recent receipts through its
/// index; callers cache it.
pub async fn popular_items(store: &Store, since: NaiveDate, limit: i64) -> Result<Vec<PopularItem>> {
    sqlx::query(
        "SELECT item_code, MAX(item_name) AS item_name, COUNT(*) AS applications FROM cases
         WHERE received_on >= $1 AND state <> 'draft' GROUP BY item_code
         ORDER BY applications DESC, item_code LIMIT $2",
    )
    .bind(since.to_string())
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

/// Valid licences the applicant already holds of the type an approval of this case
/// would issue: a second one of the same kind for the same holder is likely a mistake
/// (重复发证), so the decider is warned before approving.
pub async fn duplicate_licences(store: &Store, c: &CaseRow) -> Result<Vec<crate::licences::LicenceSummary>> {
    let Some(version) = crate::catalog::version_of(store, &c.entry_id, c.item_version).await? else {
        return Ok(vec![]);
    };
    let Some(spec) = version.elements.result.as_ref() else {
        return Ok(vec![]);
    };
    let (ResultKind::Licence, Some(type_code)) = (spec.kind, spec.licence_type.as_ref()) else {
        return Ok(vec![]);
    };
    let Some(subject) = c.subject() else {
        return Ok(vec![]);
    };
    Ok(crate::licences::valid_of_type(
        crate::licences::of_subject(store, &subject).await?,
        type_code,
    ))
}
