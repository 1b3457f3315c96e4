//! 督办 of overdue follow-ups (国办发〔2019〕51号: every bad rating is called back and fixed in
//! time; what is late is supervised). The scheduler finds call-backs past their working-day
//! limit and fixes past their deadline through two indexes over open tasks, and escalates
//! each once: an event on the rating's stream, a step in the task's history, and the task
//! shows as escalated to the department and to the supervisors of its region, who list
//! the overdue tasks (`overdue_only`).

use super::*;
use yiwang_core::ratings::Warning;

/// One overdue task to escalate, as the scheduler found it.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub id: String,
    pub warning: Warning,
    /// The day it was found overdue.
    pub on: NaiveDate,
}

/// How many tasks one statement finds at most (the loop goes on until none is left).
const BATCH: i64 = 200;

/// The scheduler's step: every call-back past `call_back_due` and every fix past its
/// deadline not yet escalated is escalated now, once. Returns the tasks escalated.
pub async fn escalate(store: &Store, today: NaiveDate) -> Result<Vec<(String, Warning)>> {
    let mut out = vec![];
    // GB/T 39734-2020 / 国办发〔2019〕51号: the call-back within the province's working days
    // ([ratings] call_back_days), the fix by the deadline the department set.
    for (warning, sql) in [
        (
            Warning::CallBackOverdue,
            "SELECT id FROM rating_tasks WHERE state = 'calling_back' AND call_back_escalated_on IS NULL
             AND call_back_due < $1 ORDER BY call_back_due, id LIMIT $2",
        ),
        (
            Warning::FixOverdue,
            "SELECT id FROM rating_tasks WHERE state = 'fixing' AND fix_escalated_on IS NULL
             AND fix_due < $1 ORDER BY fix_due, id LIMIT $2",
        ),
    ] {
        loop {
            let ids: Vec<String> = sqlx::query_scalar(sql)
                .bind(today.to_string())
                .bind(BATCH)
                .fetch_all(&store.read)
                .await?;
            let n = ids.len();
            for id in ids {
                let w = store
                    .write(
                        Meta::actor("system:ratings"),
                        Command::Ratings(Box::new(Cmd::Escalate(Escalation {
                            id: id.clone(),
                            warning,
                            on: today,
                        }))),
                    )
                    .await?;
                if w.value["escalated"].as_bool() == Some(true) {
                    out.push((id, warning));
                }
            }
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    Ok(out)
}

/// In the writer: escalates a task that is still overdue and not yet escalated (a step
/// taken meanwhile leaves it alone).
pub(super) async fn escalate_cmd(ctx: &mut WriteCtx<'_>, e: &Escalation) -> Result<Value> {
    type Row = (String, String, Option<String>, Option<String>, Option<String>, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT state, call_back_due, fix_due, call_back_escalated_on, fix_escalated_on, history
         FROM rating_tasks WHERE id = $1",
    )
    .bind(&e.id)
    .fetch_optional(&mut *ctx.conn)
    .await?;
    let Some((state, call_back_due, fix_due, cb_on, fix_on, history)) = row else {
        return Ok(json!({ "id": e.id, "escalated": false }));
    };
    let on = e.on.to_string();
    let (due, still) = match e.warning {
        Warning::CallBackOverdue => (
            Some(call_back_due.clone()),
            state == TaskState::CallingBack.as_str() && cb_on.is_none() && call_back_due < on,
        ),
        Warning::FixOverdue => (
            fix_due.clone(),
            state == TaskState::Fixing.as_str() && fix_on.is_none() && fix_due.as_ref().is_some_and(|d| *d < on),
        ),
    };
    if !still {
        return Ok(json!({ "id": e.id, "escalated": false }));
    }
    let entry = json!({ "action": "overdue", "warning": e.warning, "due": due, "at": ctx.now_ms,
                        "by": ctx.actor, "party": "system" });
    let mut history: Vec<Value> = serde_json::from_str(&history).map_err(internal)?;
    history.push(entry.clone());
    ctx.append(
        &stream(&e.id),
        Expect::Exists,
        "rating_task.overdue",
        &json!({ "id": e.id, "warning": e.warning, "due": due, "escalated_on": on }),
    )
    .await?;
    let column = match e.warning {
        Warning::CallBackOverdue => "call_back_escalated_on",
        Warning::FixOverdue => "fix_escalated_on",
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE rating_tasks SET {column} = $1, history = $2 WHERE id = $3"
    )))
    .bind(&on)
    .bind(serde_json::to_string(&history).map_err(internal)?)
    .bind(&e.id)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": e.id, "escalated": true, "warning": e.warning }))
}

/// Which follow-up tasks of departments to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFilter {
    /// Every state but closed, oldest first.
    Open,
    /// Open and overdue today (a call-back or fix late), oldest first: the supervisor's list.
    Overdue(NaiveDate),
    /// All, newest first.
    All,
}

/// The follow-up tasks of departments with their ratings, in one statement each (at most
/// `limit` per department).
pub async fn tasks_with_ratings(
    store: &Store,
    departments: &[String],
    filter: TaskFilter,
    limit: i64,
) -> Result<Vec<(TaskRow, Rating)>> {
    if departments.is_empty() {
        return Ok(vec![]);
    }
    let mut marks = crate::db::Marks::of(store.engine);
    let mut sql = String::from("SELECT * FROM rating_tasks WHERE department_id IN (");
    marks.push_list(&mut sql, departments.len());
    sql.push(')');
    match filter {
        TaskFilter::Open => sql.push_str(" AND state <> 'closed' ORDER BY created_at, id"),
        TaskFilter::Overdue(_) => sql.push_str(
            " AND (state = 'calling_back' OR state = 'fixing') AND (call_back_escalated_on IS NOT NULL
               OR fix_escalated_on IS NOT NULL OR call_back_due < ",
        ),
        TaskFilter::All => sql.push_str(" ORDER BY created_at DESC, id DESC"),
    }
    if let TaskFilter::Overdue(_) = filter {
        marks.push(&mut sql);
        sql.push_str(" OR fix_due < ");
        marks.push(&mut sql);
        sql.push_str(") ORDER BY created_at, id");
    }
    sql.push_str(" LIMIT ");
    marks.push(&mut sql);
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for d in departments {
        q = q.bind(d.as_str());
    }
    if let TaskFilter::Overdue(today) = filter {
        q = q.bind(today.to_string()).bind(today.to_string());
    }
    let cap = limit.saturating_mul(i64::try_from(departments.len()).unwrap_or(i64::MAX));
    let tasks: Vec<TaskRow> = q
        .bind(cap)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
    let tasks: Vec<TaskRow> = match filter {
        // A task escalated, then called back or fixed, is no longer overdue today.
        TaskFilter::Overdue(today) => tasks.into_iter().filter(|t| !t.warnings(today).is_empty()).collect(),
        _ => tasks,
    };
    let mut ratings = ratings_by_id(store, tasks.iter().map(|t| t.id.as_str())).await?;
    Ok(tasks
        .into_iter()
        .filter_map(|t| ratings.remove(&t.id).map(|r| (t, r)))
        .collect())
}

/// Ratings by id, in statements of at most 500 ids.
pub async fn ratings_by_id<'a>(
    store: &Store,
    ids: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, Rating>> {
    let ids: Vec<&str> = ids.collect();
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = format!("SELECT {RATING_COLUMNS} FROM ratings WHERE id IN (");
        crate::db::Marks::of(store.engine).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&store.read).await? {
            let r: Rating = read(&row)?;
            out.insert(r.id.clone(), r);
        }
    }
    Ok(out)
}
