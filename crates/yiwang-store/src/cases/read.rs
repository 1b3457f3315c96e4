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

/// The department that handles a case (what access to it is decided by).
pub async fn department_of(store: &Store, id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT department_id FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?)
}

/// The application as submitted (decrypted). Staff reads are the caller's to log.
pub async fn application(store: &Store, id: &str) -> Result<Option<(Application, String)>> {
    let enc: Option<String> = sqlx::query_scalar("SELECT application_enc FROM case_applications WHERE case_id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    enc.map(|enc| open_application(store, id, &enc)).transpose()
}

/// One page of a list read in key order (keyset paging: every page is an index range,
/// however deep): its rows and, when more follow, the cursor that continues after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
}

/// The most rows a page may ask for.
pub const PAGE_MAX: i64 = 200;

/// A cursor this platform did not give out (the field is the query parameter `after`).
fn bad_cursor() -> FieldError {
    FieldError::new(
        "after",
        "cursor",
        "翻页标记无效，请从第一页重新开始",
        "not a page cursor this list gave out; start again from the first page",
    )
}

fn id_like(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Where a page of an applicant's cases starts: after the case with this key (the most
/// recently changed first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey {
    pub updated_at: i64,
    pub id: String,
}

impl ListKey {
    pub fn of(c: &CaseRow) -> ListKey {
        ListKey {
            updated_at: c.updated_at,
            id: c.id.clone(),
        }
    }
    /// `updated_at.id`.
    pub fn cursor(&self) -> String {
        format!("{}.{}", self.updated_at, self.id)
    }
    pub fn parse(s: &str) -> std::result::Result<ListKey, FieldError> {
        let (at, id) = s.split_once('.').ok_or_else(bad_cursor)?;
        let updated_at = at.parse().map_err(|_| bad_cursor())?;
        if !id_like(id) {
            return Err(bad_cursor());
        }
        Ok(ListKey {
            updated_at,
            id: id.to_string(),
        })
    }
}

fn page_size(limit: i64) -> i64 {
    limit.clamp(1, PAGE_MAX)
}

/// An applicant's cases, the most recently changed first, a page at a time (the
/// `(applicant, updated_at)` index). The cursor is `updated_at.id` of the last row.
pub async fn of_applicant(
    store: &Store,
    subject: &Subject,
    after: Option<&ListKey>,
    limit: i64,
) -> Result<Paged<CaseRow>> {
    let limit = page_size(limit);
    let cond = if after.is_some() {
        "AND (updated_at, id) < ($2, $3)"
    } else {
        ""
    };
    let order = "updated_at DESC, id DESC";
    let select = format!(
        "SELECT {COLS} FROM cases WHERE applicant = $1 {cond} ORDER BY {order} LIMIT {}",
        limit + 1
    );
    let sql = crate::db::json_rows(store.engine, COLS, &select, order);
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(subject.key());
    if let Some(k) = after {
        q = q.bind(k.updated_at).bind(k.id.clone());
    }
    let mut rows = cases_of_json(&q.fetch_one(&store.read).await?)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        ListKey::of(rows.last().expect("a full page")).cursor()
    });
    Ok(Paged { rows, next })
}

/// Where an officer's inbox looks. Each part is read by index; the caller still checks
/// each case against the officer's permission (this only narrows what is read).
#[derive(Debug, Clone, Default)]
pub struct InboxScope {
    /// Cases waiting at a window (submitted, decided) of departments whose region code
    /// starts with this prefix ("" for every region).
    pub window_prefix: Option<String>,
    /// Cases at a review or decision step of this department.
    pub step_department: Option<String>,
    /// Cases at a review or decision step in regions starting with this prefix (a
    /// department-less system token; "" for every region).
    pub step_prefix: Option<String>,
}

/// Where an inbox page starts: after the case with this key. Inboxes are ordered by the
/// promised due date (earliest first; cases without a running clock last), then date of
/// receipt, then case number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InboxKey {
    /// `None` sorts after every date (no clock running).
    pub due: DueKey,
    pub received: NaiveDate,
    pub id: String,
}

/// A due date for ordering: dates first, then "no due date".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DueKey {
    On(NaiveDate),
    None,
}

impl InboxKey {
    pub fn of(c: &CaseRow) -> InboxKey {
        InboxKey {
            due: c.due_on.map(DueKey::On).unwrap_or(DueKey::None),
            received: c.received_on,
            id: c.id.clone(),
        }
    }
    /// `due.received.id`, with `-` for no due date.
    pub fn cursor(&self) -> String {
        let due = match self.due {
            DueKey::On(d) => d.to_string(),
            DueKey::None => "-".into(),
        };
        format!("{due}.{}.{}", self.received, self.id)
    }
    pub fn parse(s: &str) -> std::result::Result<InboxKey, FieldError> {
        let mut it = s.splitn(3, '.');
        let (Some(due), Some(received), Some(id)) = (it.next(), it.next(), it.next()) else {
            return Err(bad_cursor());
        };
        let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad_cursor());
        if !id_like(id) {
            return Err(bad_cursor());
        }
        Ok(InboxKey {
            due: if due == "-" {
                DueKey::None
            } else {
                DueKey::On(date(due)?)
            },
            received: date(received)?,
            id: id.to_string(),
        })
    }
}

/// One page of the open cases an inbox of `scope` may show, in [`InboxKey`] order. Every
/// part of the scope is read state by state, with and without a due date, each an index
/// range in key order (`(department_id, state, due_on, received_on, id)` for a
/// department's steps, `(state, due_on, received_on, id, region_code)` filtered by region
/// otherwise),
/// at most `limit + 1` keys each (the index holds them), all in one statement; the page is
/// the first `limit` of their merge, whose rows are then read by primary key in one statement. No open case's
/// row is read beyond the page, however many there are.
pub async fn inbox_cases(
    store: &Store,
    scope: &InboxScope,
    after: Option<&InboxKey>,
    limit: i64,
) -> Result<Paged<CaseRow>> {
    const WINDOW: [&str; 2] = ["submitted", "decided"];
    const STEP: [&str; 2] = ["accepted", "suspended"];
    let limit = page_size(limit);
    // A prefix as a range (region codes are digits); LIKE would not use an index in SQLite.
    // Each condition is a column with its comparison and the value it is compared with.
    type Conditions = Vec<(&'static str, String)>;
    // The region is a filter on the walk of `(state, due_on, received_on, id, region_code)`
    // in due order, never the range to read and sort: SQLite's planner, knowing nothing of
    // the codes' spread, would take the region index for a prefix and sort every case of
    // the region, so there the column is written `+region_code` (SQLite's way of keeping a
    // term off an index); PostgreSQL's statistics choose the walk themselves.
    let column: [&'static str; 2] = match store.engine {
        crate::Engine::Sqlite => ["+region_code >=", "+region_code <"],
        crate::Engine::Postgres => ["region_code >=", "region_code <"],
    };
    let range = |p: &str| -> Conditions {
        match region_upper(p) {
            Some(upper) => vec![(column[0], p.to_string()), (column[1], upper)],
            None => vec![],
        }
    };
    let mut parts: Vec<(Conditions, [&str; 2])> = vec![];
    if let Some(p) = &scope.window_prefix {
        parts.push((range(p), WINDOW));
    }
    if let Some(d) = &scope.step_department {
        parts.push((vec![("department_id =", d.clone())], STEP));
    }
    if let Some(p) = &scope.step_prefix {
        parts.push((range(p), STEP));
    }
    // Every part, state and dated-or-not is one stream of keys; they are read in one
    // statement (a `UNION ALL` of index ranges, each still a walk of its index in key order):
    // one round trip to the database instead of one a stream. One `Marks` numbers the
    // whole statement's parameters in the order they are bound.
    let mut marks = crate::db::Marks::of(store.engine);
    let mut selects: Vec<String> = vec![];
    let mut all_binds: Vec<String> = vec![];
    for (conds, states) in &parts {
        for state in states {
            for dated in [true, false] {
                // Where this stream starts after the cursor (and whether it is used up): the
                // text around the marks, and the values they stand for.
                let (from, from_binds): (&[&str], Vec<String>) = match (after, dated) {
                    (None, true) => (&["due_on IS NOT NULL"], vec![]),
                    (None, false) => (&["due_on IS NULL"], vec![]),
                    // Row values, so the start is a bound of the index range on both
                    // engines (an OR of comparisons was a filter over the range's start).
                    (Some(k), true) => match k.due {
                        DueKey::On(d) => (
                            &["due_on IS NOT NULL AND (due_on, received_on, id) > (", ", ", ", ", ")"],
                            vec![d.to_string(), k.received.to_string(), k.id.clone()],
                        ),
                        DueKey::None => continue,
                    },
                    (Some(k), false) => match k.due {
                        DueKey::On(_) => (&["due_on IS NULL"], vec![]),
                        DueKey::None => (
                            &["due_on IS NULL AND (received_on, id) > (", ", ", ")"],
                            vec![k.received.to_string(), k.id.clone()],
                        ),
                    },
                };
                // The marks in the order of the text: the part's conditions, the state, the start.
                let mut cond = String::new();
                for (col, value) in conds {
                    cond.push_str(col);
                    cond.push(' ');
                    marks.push(&mut cond);
                    cond.push_str(" AND ");
                    all_binds.push(value.clone());
                }
                let state_mark = marks.one();
                all_binds.push(state.to_string());
                let mut start = String::new();
                for (i, text) in from.iter().enumerate() {
                    if i > 0 {
                        marks.push(&mut start);
                    }
                    start.push_str(text);
                }
                all_binds.extend(from_binds);
                // due_on too where it is NULL throughout: PostgreSQL then walks the index in
                // order (with `received_on, id` alone it read and sorted the whole range).
                let order = "due_on, received_on, id";
                // The keys only (the index holds them); the rows of the page are read after.
                selects.push(format!(
                    "SELECT id, due_on, received_on FROM (SELECT id, due_on, received_on FROM cases \
                     WHERE {cond}state = {state_mark} AND {start} ORDER BY {order} LIMIT {}) AS s{}",
                    limit + 1,
                    selects.len()
                ));
            }
        }
    }
    let mut keys: Vec<InboxKey> = vec![];
    if !selects.is_empty() {
        // All the parts' keys as one JSON text (`db::json_rows`).
        let sql = crate::db::json_rows(
            store.engine,
            "id, due_on, received_on",
            &selects.join(" UNION ALL "),
            "id",
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for b in all_binds {
            q = q.bind(b);
        }
        // The parts ask for different states or departments, so no case comes twice.
        let text = q.fetch_one(&store.read).await?;
        for (id, due, received) in crate::rows::read_json::<(String, Option<String>, String)>(&text)? {
            let bad = |e: String| StoreError::Internal(format!("case {id}: {e}"));
            keys.push(InboxKey {
                due: Option::<NaiveDate>::try_from(DateText::from(due))
                    .map_err(bad)?
                    .map_or(DueKey::None, DueKey::On),
                received: NaiveDate::try_from(DateText::from(received)).map_err(bad)?,
                id,
            });
        }
    }
    keys.sort();
    let next = (keys.len() as i64 > limit).then(|| {
        keys.truncate(limit as usize);
        keys.last().expect("a full page").cursor()
    });
    // The page's rows, in key order: one read by primary key.
    let mut rows: std::collections::HashMap<String, CaseRow> = std::collections::HashMap::with_capacity(keys.len());
    if !keys.is_empty() {
        let select = format!(
            "SELECT {COLS} FROM cases WHERE id IN ({})",
            crate::db::Marks::of(store.engine).list(keys.len())
        );
        let sql = crate::db::json_rows(store.engine, COLS, &select, "id");
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for k in &keys {
            q = q.bind(k.id.as_str());
        }
        for c in cases_of_json(&q.fetch_one(&store.read).await?)? {
            rows.insert(c.id.clone(), c);
        }
    }
    let out = keys.iter().filter_map(|k| rows.remove(&k.id)).collect();
    Ok(Paged { rows: out, next })
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

/// Records that staff read a person applicant's case (their application holds personal
/// data) in the person's data-use log, with the case as the purpose.
pub async fn record_read(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    person_id: &str,
    case_id: &str,
) -> Result<()> {
    crate::datause::record(
        store,
        meta,
        reader,
        person_id,
        vec![yiwang_core::datause::PersonalField::Name],
        false,
        "办理办件",
        Some(case_id),
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Ascending; the version of the case's ledger event the entry records (entries written
    /// before that rule are numbered 1, 2, 3 …, all below the later ones).
    pub n: i64,
    pub event: String,
    pub body: Value,
    pub party: String,
    pub actor: String,
    pub at_ms: i64,
    pub zh: String,
    pub en: String,
}

/// A timeline entry as stored: `TIMELINE_COLS`.
type StoredEntry = (i64, String, String, String, String, i64);
const TIMELINE_COLS: &str = "n, event, body, party, actor, at";

impl TryFrom<StoredEntry> for TimelineEntry {
    type Error = String;
    fn try_from((n, event, body, party, actor, at_ms): StoredEntry) -> std::result::Result<Self, String> {
        let body: Value = serde_json::from_str(&body).map_err(|e| format!("timeline entry {n}: {e}"))?;
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
            n,
            event,
            zh,
            en,
            body,
            party,
            actor,
            at_ms,
        })
    }
}
crate::rows::row_from_stored!(TimelineEntry, StoredEntry);

pub async fn timeline(store: &Store, id: &str) -> Result<Vec<TimelineEntry>> {
    let sql = format!("SELECT {TIMELINE_COLS} FROM case_timeline WHERE case_id = $1 ORDER BY n");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// What a case's page shows besides its row, read in one statement (each list as one
/// JSON text, `db::json_rows`): its suspensions, timeline, notices and tasks, and its
/// application when asked for (decrypted; a staff read is the caller's to log).
#[derive(Debug, Clone)]
pub struct CaseParts {
    pub suspensions: Vec<SuspensionRow>,
    pub timeline: Vec<TimelineEntry>,
    pub notices: Vec<Notice>,
    pub tasks: Vec<Task>,
    pub application: Option<(Application, String)>,
}

pub async fn parts(store: &Store, id: &str, with_application: bool) -> Result<CaseParts> {
    let json = |cols: &str, table: &str, order: &str| {
        let select = format!("SELECT * FROM {table} WHERE case_id = $1");
        format!("({})", crate::db::json_rows(store.engine, cols, &select, order))
    };
    let application = if with_application {
        "(SELECT application_enc FROM case_applications WHERE case_id = $1)"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT {}, {}, {}, {}, {application}",
        json(SUSPENSION_COLS, "case_suspensions", "n"),
        json(TIMELINE_COLS, "case_timeline", "n"),
        json(NOTICE_COLS, "case_notices", "created_at, id"),
        json(TASK_COLS, "case_tasks", "created_at, id"),
    );
    let (suspensions, timeline, notices, tasks, enc): (String, String, String, String, Option<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&store.read)
            .await?;
    Ok(CaseParts {
        suspensions: crate::rows::read_json_as::<StoredSuspension, _>(&suspensions)?,
        timeline: crate::rows::read_json_as::<StoredEntry, _>(&timeline)?,
        notices: crate::rows::read_json_as::<StoredNotice, _>(&notices)?,
        tasks: crate::rows::read_json_as::<StoredTask, _>(&tasks)?,
        application: enc.map(|enc| open_application(store, id, &enc)).transpose()?,
    })
}

fn open_application(store: &Store, id: &str, enc: &str) -> Result<(Application, String)> {
    let bytes = store.pii.open_bytes(&format!("cases.application:{id}"), enc)?;
    let s: Sealed = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    Ok((s.application, s.applicant_code))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionRow {
    pub n: i64,
    pub kind: yiwang_core::catalog::SpecialKind,
    pub reason: String,
    pub from_on: NaiveDate,
    pub to_on: Option<NaiveDate>,
    pub result: Option<String>,
}

/// A suspension as stored: `SUSPENSION_COLS`.
type StoredSuspension = (i64, String, String, String, Option<String>, Option<String>);
const SUSPENSION_COLS: &str = "n, kind, reason, from_on, to_on, result";

impl TryFrom<StoredSuspension> for SuspensionRow {
    type Error = String;
    fn try_from((n, kind, reason, from_on, to_on, result): StoredSuspension) -> std::result::Result<Self, String> {
        Ok(SuspensionRow {
            n,
            kind: kind.try_into()?,
            reason,
            from_on: DateText::from(from_on).try_into()?,
            to_on: DateText::from(to_on).try_into()?,
            result,
        })
    }
}
crate::rows::row_from_stored!(SuspensionRow, StoredSuspension);

pub(super) async fn suspensions_on<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    id: &str,
) -> Result<Vec<SuspensionRow>> {
    let sql = format!("SELECT {SUSPENSION_COLS} FROM case_suspensions WHERE case_id = $1 ORDER BY n");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(e).await?;
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
    let susp = suspensions(store, &c.id).await?;
    clocks_given(store, c, today, &susp).await
}

/// A case's clocks with its suspensions already read (a case page shows both).
pub async fn clocks_given(store: &Store, c: &CaseRow, today: NaiveDate, susp: &[SuspensionRow]) -> Result<Clocks> {
    if c.accepted_on.is_none() {
        return Ok(Clocks::NONE);
    }
    let cal = calendar::calendar_for(store, Some(&c.region_code)).await?;
    Ok(clocks_with(store, c, today, &cal, susp))
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
        let sql = format!(
            "SELECT {SUSPENSION_COLS}, case_id FROM case_suspensions WHERE case_id IN ({}) ORDER BY case_id, n",
            crate::db::Marks::of(store.engine).list(chunk.len())
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub department_id: String,
    pub kind: core::TaskKind,
    pub due_on: NaiveDate,
    pub state: String,
    pub outcome: Option<String>,
}

/// A task as stored: `TASK_COLS`.
type StoredTask = (String, String, String, String, String, String, Option<String>);
const TASK_COLS: &str = "id, case_id, department_id, kind, due_on, state, outcome";

impl TryFrom<StoredTask> for Task {
    type Error = String;
    fn try_from(
        (id, case_id, department_id, kind, due_on, state, outcome): StoredTask,
    ) -> std::result::Result<Self, String> {
        Ok(Task {
            id,
            case_id,
            department_id,
            kind: kind.try_into()?,
            due_on: DateText::from(due_on).try_into()?,
            state,
            outcome,
        })
    }
}
crate::rows::row_from_stored!(Task, StoredTask);

pub async fn tasks_of_case(store: &Store, case_id: &str) -> Result<Vec<Task>> {
    let sql = format!("SELECT {TASK_COLS} FROM case_tasks WHERE case_id = $1 ORDER BY created_at, id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

pub async fn open_tasks(store: &Store, department_ids: &[String]) -> Result<Vec<Task>> {
    if department_ids.is_empty() {
        return Ok(vec![]);
    }
    // One statement for every department (the open tasks, by the (state, due_on) index),
    // as one JSON text.
    let select = format!(
        "SELECT {TASK_COLS} FROM case_tasks WHERE state = 'open' AND department_id IN ({})",
        crate::db::Marks::of(store.engine).list(department_ids.len())
    );
    let sql = crate::db::json_rows(store.engine, TASK_COLS, &select, "due_on, id");
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for d in department_ids {
        q = q.bind(d);
    }
    crate::rows::read_json_as::<StoredTask, _>(&q.fetch_one(&store.read).await?)
}

pub async fn task(store: &Store, id: &str) -> Result<Option<Task>> {
    let sql = format!("SELECT {TASK_COLS} FROM case_tasks WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
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
/// the portal offers as popular services. Sums the per-day counts the writer keeps
/// (`item_receipts`: days × items rows, however many cases there are); callers cache it.
pub async fn popular_items(store: &Store, since: NaiveDate, limit: i64) -> Result<Vec<PopularItem>> {
    sqlx::query(
        "SELECT item_code, MAX(item_name) AS item_name, CAST(SUM(received) AS BIGINT) AS applications FROM item_receipts
         WHERE day >= $1 GROUP BY item_code ORDER BY applications DESC, item_code LIMIT $2",
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
