//! 12345's figures: the call-centre system's events (CTI) kept per call, and the counters the
//! writer keeps as calls and tickets are recorded — per day, region, category and measure
//! (`hotline_stats`), and the matter's words per week, for all and per unit (`hotline_terms`)
//! — from which the service levels of GB/T 33358-2016, the hotspots and the weekly report are
//! read for a period without reading a ticket.

use super::*;
use yiwang_core::hotline::{CallEvent, CallEventInput, Level, Rising, ServiceCounts};

/// A call event to record (checked on the request task).
#[derive(Debug, Clone)]
pub struct CallCmd {
    pub call_id: String,
    pub event: CallEvent,
    pub at: i64,
    pub agent: Option<String>,
    pub recording_ref: Option<String>,
    pub ticket_id: Option<String>,
    /// An answer within this long counts as in time (GB/T 33358: 15 s [M]).
    pub answer_within_ms: i64,
}

/// Records an event the CTI reports for a call (`now` is when it arrives: the event may not
/// be older than a day). A repeated event changes nothing; events may come in any order.
pub async fn call_event(store: &Store, meta: Meta, input: &CallEventInput, now: i64) -> Result<Written> {
    let event = core::check_call_event(input, now)?;
    let cmd = CallCmd {
        call_id: input.call_id.clone(),
        event,
        at: input.at.unwrap_or(now),
        agent: input.agent.clone(),
        recording_ref: input.recording_ref.clone(),
        ticket_id: input.ticket_id.clone(),
        answer_within_ms: i64::from(store.config.hotline.answer_within_s) * 1_000,
    };
    store
        .write(meta, Command::Hotline(Box::new(Cmd::Call(Box::new(cmd)))))
        .await
}

/// Which counters a call has fed (bits), so that no event counts twice.
const COUNTED_CALL: i64 = 1;
const COUNTED_ANSWER: i64 = 2;
const COUNTED_ABANDONED: i64 = 4;

pub(super) async fn call_cmd(ctx: &mut WriteCtx<'_>, c: &CallCmd) -> Result<Value> {
    type Row = (Option<i64>, Option<i64>, Option<i64>, i64);
    let row: Option<Row> =
        sqlx::query_as("SELECT ringing_at, answered_at, ended_at, counted FROM hotline_calls WHERE call_id = $1")
            .bind(&c.call_id)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let new = row.is_none();
    let (mut ringing, mut answered, mut ended, mut counted) = row.unwrap_or((None, None, None, 0));
    let slot = match c.event {
        CallEvent::Ringing => &mut ringing,
        CallEvent::Answered => &mut answered,
        CallEvent::Ended => &mut ended,
    };
    if slot.is_some() {
        return Ok(json!({ "call_id": c.call_id, "event": c.event, "repeated": true }));
    }
    *slot = Some(c.at);
    ctx.append(
        &format!("call:{}", c.call_id),
        Expect::Any,
        &format!("hotline.call_{}", c.event.as_str()),
        &json!({ "call_id": c.call_id, "at": c.at, "agent": c.agent, "recording_ref": c.recording_ref,
                 "ticket_id": c.ticket_id }),
    )
    .await?;
    if let Some(r) = ringing {
        let day = crate::date_of(r);
        if counted & COUNTED_CALL == 0 {
            bump(ctx, day, "", "", "calls", 1).await?;
            counted |= COUNTED_CALL;
        }
        if let Some(a) = answered
            && counted & COUNTED_ANSWER == 0
        {
            bump(ctx, day, "", "", "answered", 1).await?;
            if a - r <= c.answer_within_ms {
                bump(ctx, day, "", "", "answered_in_time", 1).await?;
            }
            counted |= COUNTED_ANSWER;
        }
        if answered.is_none() && ended.is_some() && counted & (COUNTED_ANSWER | COUNTED_ABANDONED) == 0 {
            bump(ctx, day, "", "", "abandoned", 1).await?;
            counted |= COUNTED_ABANDONED;
        }
    }
    if new {
        sqlx::query(
            "INSERT INTO hotline_calls (call_id, ringing_at, answered_at, ended_at, agent, recording_ref, ticket_id, counted)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.call_id)
        .bind(ringing)
        .bind(answered)
        .bind(ended)
        .bind(&c.agent)
        .bind(&c.recording_ref)
        .bind(&c.ticket_id)
        .bind(counted)
        .execute(&mut *ctx.conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE hotline_calls SET ringing_at = $1, answered_at = $2, ended_at = $3, agent = COALESCE($4, agent),
                 recording_ref = COALESCE($5, recording_ref), ticket_id = COALESCE($6, ticket_id), counted = $7
             WHERE call_id = $8",
        )
        .bind(ringing)
        .bind(answered)
        .bind(ended)
        .bind(&c.agent)
        .bind(&c.recording_ref)
        .bind(&c.ticket_id)
        .bind(counted)
        .bind(&c.call_id)
        .execute(&mut *ctx.conn)
        .await?;
    }
    Ok(json!({ "call_id": c.call_id, "event": c.event }))
}

/// Adds to a day's counter.
pub(super) async fn bump(
    ctx: &mut WriteCtx<'_>,
    day: NaiveDate,
    region: &str,
    category: &str,
    metric: &str,
    n: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO hotline_stats (day, region_code, category, metric, n) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (day, region_code, category, metric) DO UPDATE SET n = hotline_stats.n + excluded.n",
    )
    .bind(day.to_string())
    .bind(region)
    .bind(category)
    .bind(metric)
    .bind(n)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// The Monday of a day's week.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The words counted per ticket (the first ones of the matter).
const TERMS_COUNTED: usize = 16;

/// Counts a ticket and its words in its week, for all (`scope` empty) or for a unit: the
/// empty word counts the tickets. One statement.
pub(super) async fn bump_terms(ctx: &mut WriteCtx<'_>, week: NaiveDate, scope: &str, terms: &[String]) -> Result<()> {
    let words: Vec<&str> = std::iter::once("")
        .chain(
            terms
                .iter()
                .map(String::as_str)
                .filter(|t| !t.is_empty())
                .take(TERMS_COUNTED),
        )
        .collect();
    let values: Vec<String> = (0..words.len()).map(|i| format!("($1, $2, ${}, 1)", i + 3)).collect();
    let sql = format!(
        "INSERT INTO hotline_terms (week, scope, term, n) VALUES {}
         ON CONFLICT (week, scope, term) DO UPDATE SET n = hotline_terms.n + excluded.n",
        values.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(week.to_string()).bind(scope);
    for w in words {
        q = q.bind(w);
    }
    q.execute(&mut *ctx.conn).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

/// A spike: a category's tickets in a region today against the week before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spike {
    pub region_code: String,
    pub category: Category,
    pub today: i64,
    pub mean_before: f64,
}

/// A unit's week: its tickets and the words most said in them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitWeek {
    pub department_id: String,
    pub tickets: i64,
    pub top_terms: Vec<(String, i64)>,
}

/// What the hotspot dashboard shows for a period ending today.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub service: ServiceCounts,
    pub levels: Vec<Level>,
    /// Tickets received per region, category and both, in the period.
    pub by_region: Vec<(String, i64)>,
    pub by_category: Vec<(Category, i64)>,
    pub grid: Vec<(String, Category, i64)>,
    /// Tickets per day in the period.
    pub by_day: Vec<(NaiveDate, i64)>,
    /// This week's rising words against the four weeks before.
    pub rising: Vec<Rising>,
    pub spikes: Vec<Spike>,
    /// Last week per unit (周报), most tickets first.
    pub week: NaiveDate,
    pub units: Vec<UnitWeek>,
}

/// The figures of the `days` days up to `today`, for the regions within `region`.
pub async fn figures(store: &Store, region: &str, days: u32, today: NaiveDate) -> Result<Figures> {
    let policy = store.config.hotline;
    let from = today - chrono::Days::new(u64::from(days.clamp(1, 366)) - 1);
    let spike_from = today - chrono::Days::new(7);
    let first = from.min(spike_from);
    let rows: Vec<(String, String, String, String, i64)> =
        sqlx::query_as("SELECT day, region_code, category, metric, n FROM hotline_stats WHERE day >= $1 AND day <= $2")
            .bind(first.to_string())
            .bind(today.to_string())
            .fetch_all(&store.read)
            .await?;
    let mut service = ServiceCounts::default();
    let mut by_region: std::collections::BTreeMap<String, i64> = Default::default();
    let mut by_category: std::collections::BTreeMap<Category, i64> = Default::default();
    let mut grid: std::collections::BTreeMap<(String, Category), i64> = Default::default();
    let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
    let mut daily: std::collections::HashMap<(String, Category), [i64; 8]> = Default::default();
    for (day, reg, cat, metric, n) in rows {
        let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        let mine = reg.is_empty() || yiwang_core::access::region_within(region, &reg);
        if !mine {
            continue;
        }
        if metric == "received"
            && let Some(c) = Category::parse(&cat)
        {
            if day >= spike_from {
                daily.entry((reg.clone(), c)).or_default()[(day - spike_from).num_days() as usize] += n;
            }
            if day < from {
                continue;
            }
            *by_region.entry(reg.clone()).or_default() += n;
            *by_category.entry(c).or_default() += n;
            *grid.entry((reg, c)).or_default() += n;
            *by_day.entry(day).or_default() += n;
            continue;
        }
        if day < from {
            continue;
        }
        let slot = match metric.as_str() {
            "calls" => &mut service.calls,
            "answered" => &mut service.answered,
            "answered_in_time" => &mut service.answered_in_time,
            "abandoned" => &mut service.abandoned,
            "media" => &mut service.media,
            "media_in_time" => &mut service.media_in_time,
            "mailbox" => &mut service.mailbox,
            "mailbox_in_time" => &mut service.mailbox_in_time,
            _ => continue,
        };
        *slot += n;
    }
    let mut spikes: Vec<Spike> = daily
        .into_iter()
        .filter(|(_, d)| {
            core::spike(
                d[7],
                &d[..7],
                i64::from(policy.spike_min),
                i64::from(policy.spike_factor),
            )
        })
        .map(|((region_code, category), d)| Spike {
            region_code,
            category,
            today: d[7],
            mean_before: d[..7].iter().sum::<i64>() as f64 / 7.0,
        })
        .collect();
    spikes.sort_by(|a, b| b.today.cmp(&a.today).then(a.region_code.cmp(&b.region_code)));
    // Words: this week against the four before; last week per unit.
    let this_week = week_of(today);
    let four_before = this_week - chrono::Days::new(28);
    let words: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT week, term, n FROM hotline_terms WHERE scope = '' AND week >= $1 AND week <= $2 AND term <> ''",
    )
    .bind(four_before.to_string())
    .bind(this_week.to_string())
    .fetch_all(&store.read)
    .await?;
    let (now, before): (Vec<_>, Vec<_>) = words.into_iter().partition(|(w, _, _)| *w == this_week.to_string());
    let now: Vec<(String, i64)> = now.into_iter().map(|(_, t, n)| (t, n)).collect();
    let before: Vec<(String, i64)> = before.into_iter().map(|(_, t, n)| (t, n)).collect();
    let rising = core::rising(&now, &before, 4, 3, 10);
    let week = this_week - chrono::Days::new(7);
    let unit_rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT scope, term, n FROM hotline_terms WHERE week = $1 AND scope <> ''")
            .bind(week.to_string())
            .fetch_all(&store.read)
            .await?;
    let mut units: std::collections::BTreeMap<String, UnitWeek> = Default::default();
    for (scope, term, n) in unit_rows {
        let u = units.entry(scope.clone()).or_insert_with(|| UnitWeek {
            department_id: scope,
            tickets: 0,
            top_terms: vec![],
        });
        if term.is_empty() {
            u.tickets += n;
        } else {
            u.top_terms.push((term, n));
        }
    }
    let mut units: Vec<UnitWeek> = units
        .into_values()
        .map(|mut u| {
            u.top_terms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            u.top_terms.truncate(5);
            u
        })
        .collect();
    units.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.department_id.cmp(&b.department_id)));
    let mut by_region: Vec<(String, i64)> = by_region.into_iter().collect();
    by_region.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Figures {
        from,
        to: today,
        levels: core::levels(&service, &policy.targets()),
        service,
        by_region,
        by_category: by_category.into_iter().collect(),
        grid: grid.into_iter().map(|((r, c), n)| (r, c, n)).collect(),
        by_day: by_day.into_iter().collect(),
        rising,
        spikes,
        week,
        units,
    })
}
