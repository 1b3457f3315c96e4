//! The board's figures (国办发〔2019〕51号: results and fixes published) and the national
//! record of each rating. The counters in `rating_stats` are kept by the writer as ratings
//! and follow-ups happen, per month, department, item and window clerk, so the public board
//! reads a few small rows and never counts the ratings themselves.

use super::*;
use yiwang_core::ratings::{Counts, Outcome};

/// The row of the board a rating counts in.
pub(super) struct StatKey<'a> {
    pub month: &'a str,
    pub department_id: &'a str,
    pub item_code: &'a str,
    pub item_name: &'a str,
    pub clerk: &'a str,
    /// '' for a rating not given at a hall.
    pub hall_id: &'a str,
}

impl<'a> StatKey<'a> {
    pub(super) fn of(r: &'a Rating) -> StatKey<'a> {
        StatKey {
            month: r.created_on.get(..7).unwrap_or(&r.created_on),
            department_id: &r.department_id,
            item_code: &r.item_code,
            item_name: &r.item_name,
            clerk: r.clerk.as_deref().unwrap_or(""),
            hall_id: r.hall_id.as_deref().unwrap_or(""),
        }
    }
}

/// What changes in a row of the board.
#[derive(Default)]
pub(super) struct Delta {
    /// By level, index 0 = level 1.
    pub levels: [i64; 5],
    pub defaulted: i64,
    pub bad: i64,
    pub called_back: i64,
    pub closed: i64,
}

impl Delta {
    pub(super) fn level(level: i64, n: i64) -> Delta {
        let mut d = Delta::default();
        if let Some(i) = usize::try_from(level - 1).ok().filter(|i| *i < 5) {
            d.levels[i] = n;
        }
        d
    }
}

/// Adds a delta to a row of the board (creating it), in one statement.
pub(super) async fn bump(ctx: &mut WriteCtx<'_>, k: &StatKey<'_>, d: &Delta) -> Result<()> {
    sqlx::query(
        "INSERT INTO rating_stats (month, department_id, item_code, clerk, hall_id, item_name, level1, level2, level3,
             level4, level5, defaulted, bad, called_back, closed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (month, department_id, item_code, clerk, hall_id) DO UPDATE SET
             level1 = rating_stats.level1 + excluded.level1, level2 = rating_stats.level2 + excluded.level2,
             level3 = rating_stats.level3 + excluded.level3, level4 = rating_stats.level4 + excluded.level4,
             level5 = rating_stats.level5 + excluded.level5, defaulted = rating_stats.defaulted + excluded.defaulted,
             bad = rating_stats.bad + excluded.bad, called_back = rating_stats.called_back + excluded.called_back,
             closed = rating_stats.closed + excluded.closed",
    )
    .bind(k.month)
    .bind(k.department_id)
    .bind(k.item_code)
    .bind(k.clerk)
    .bind(k.hall_id)
    .bind(k.item_name)
    .bind(d.levels[0])
    .bind(d.levels[1])
    .bind(d.levels[2])
    .bind(d.levels[3])
    .bind(d.levels[4])
    .bind(d.defaulted)
    .bind(d.bad)
    .bind(d.called_back)
    .bind(d.closed)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// One row of the board's counters.
#[derive(Debug, Clone, Serialize)]
pub struct StatRow {
    pub department_id: String,
    pub item_code: String,
    pub item_name: String,
    pub clerk: String,
    /// '' for ratings not given at a hall.
    pub hall_id: String,
    pub counts: Counts,
}

/// The counters of the months `from`..=`to` (YYYY-MM), summed per department, item, clerk
/// and hall.
pub async fn stats(store: &Store, from: &str, to: &str) -> Result<Vec<StatRow>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT department_id, item_code, clerk, hall_id, MIN(item_name), CAST(SUM(level1) AS BIGINT), CAST(SUM(level2) AS BIGINT), CAST(SUM(level3) AS BIGINT), CAST(SUM(level4) AS BIGINT),
                CAST(SUM(level5) AS BIGINT), CAST(SUM(defaulted) AS BIGINT), CAST(SUM(bad) AS BIGINT), CAST(SUM(called_back) AS BIGINT), CAST(SUM(closed) AS BIGINT)
         FROM rating_stats WHERE month >= $1 AND month <= $2
         GROUP BY department_id, item_code, clerk, hall_id ORDER BY department_id, item_code, clerk, hall_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&store.read)
    .await?;
    let n = |x: i64| u64::try_from(x).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|(d, i, c, h, name, l1, l2, l3, l4, l5, def, bad, cb, closed)| StatRow {
            department_id: d,
            item_code: i,
            item_name: name,
            clerk: c,
            hall_id: h,
            counts: Counts {
                by_level: [n(l1), n(l2), n(l3), n(l4), n(l5)],
                defaulted: n(def),
                bad: n(bad),
                called_back: n(cb),
                closed: n(closed),
            },
        })
        .collect())
}

/// A fix as the board shows it: what was rated and how the unit answered (the rater is
/// never shown).
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub item_name: String,
    pub department_id: String,
    pub level: i64,
    pub options: Vec<String>,
    pub outcome: Option<Outcome>,
    /// What the unit told the rater (the outcome's and the fix's notes).
    pub answer: Vec<String>,
    pub closed_at: i64,
}

/// The latest closed follow-ups (appeals upheld left out), newest first.
pub async fn recent_fixes(store: &Store, limit: i64) -> Result<Vec<Fix>> {
    let tasks: Vec<TaskRow> =
        sqlx::query("SELECT * FROM rating_tasks WHERE state = 'closed' ORDER BY updated_at DESC LIMIT $1")
            .bind(limit * 2)
            .fetch_all(&store.read)
            .await?
            .iter()
            .map(read)
            .collect::<Result<_>>()?;
    let tasks: Vec<TaskRow> = tasks.into_iter().filter(|t| !t.task.excluded).collect();
    let mut ratings = ratings_by_id(store, tasks.iter().map(|t| t.id.as_str())).await?;
    let mut out = vec![];
    for t in tasks {
        let Some(r) = ratings.remove(&t.id) else {
            continue;
        };
        out.push(Fix {
            item_name: r.item_name,
            department_id: r.department_id,
            level: r.level,
            options: r.options,
            outcome: t.task.outcome,
            answer: t.answers(),
            closed_at: t.updated_at,
        });
        if out.len() as i64 >= limit {
            break;
        }
    }
    Ok(out)
}

/// The national record of each rating given in `from`..=`to` (the fields the national
/// 好差评 system takes: case number, item code and version, department and its credit
/// code, applicant type, channel, level and options, the case's state, region, window
/// staff), oldest first.
pub async fn national(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<Value>> {
    let rows: Vec<Rating> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RATING_COLUMNS} FROM ratings WHERE created_on >= $1 AND created_on <= $2 ORDER BY created_on, id"
    )))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect::<Result<_>>()?;
    let (_, options) = super::options(store).await?;
    let mut out = vec![];
    for r in rows {
        let case = crate::cases::case(store, &r.case_id).await?;
        let dept = crate::refdata::department(store, &r.department_id).await?;
        let names: Vec<&str> = r
            .options
            .iter()
            .map(|k| {
                options
                    .iter()
                    .find(|o| &o.key == k)
                    .map_or(k.as_str(), |o| o.zh.as_str())
            })
            .collect();
        out.push(json!({
            "rating_id": r.id,
            "case_number": r.case_id,
            "item_code": r.item_code,
            "item_version": case.as_ref().map(|c| c.item_version),
            "item_name": r.item_name,
            "department_name": dept.as_ref().map(|d| d.name.clone()),
            "department_code": dept.as_ref().map(|d| d.uscc.clone()),
            "applicant_type": r.rater_type,
            "channel": r.channel,
            "stage": r.stage,
            "level": r.level,
            "dimensions": r.dimensions,
            "options": r.options,
            "option_names": names,
            "option_set": r.option_set,
            "defaulted": r.defaulted,
            "counted": !r.excluded,
            "handling_state": case.as_ref().map(|c| c.state.as_str()),
            "region_code": r.region_code,
            "window_staff": r.clerk,
            "hall_id": r.hall_id,
            "window_id": r.window_id,
            "rated_at_ms": r.created_at,
        }));
    }
    Ok(out)
}
