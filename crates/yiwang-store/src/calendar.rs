//! The working-day calendar in the database: the national schedule (seeded from the
//! official data the project carries, extended by admins when the State Council publishes
//! a new year) and local additions per region. Reads go through the reference-data cache
//! (`refdata`): a calendar change this process commits clears it at commit, one another
//! process commits reaches it through the ledger follower within about a second.

use crate::ledger::Expect;
use crate::writer::{Command, Meta, WriteCtx};
use crate::{Result, Store, regions};
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yiwang_core::DomainError;
use yiwang_core::calendar::{self as core, Calendar, DayRule, NATIONAL, PublishedYear};

#[derive(Debug, Clone)]
pub enum Cmd {
    /// Publish (or replace) a year's national schedule.
    PublishYear(PublishedYear),
    /// Add or change local days of a region.
    SetLocalDays { region_code: String, days: Vec<DayRule> },
}

/// Calendars by region, each with the reference-data generation it was read in.
pub(crate) type Cache = Mutex<HashMap<String, (u64, Arc<Calendar>)>>;

async fn upsert_day(ctx: &mut WriteCtx<'_>, region: &str, d: &DayRule, source_year: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO calendar_days (region_code, day, off_day, name, source_year) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (region_code, day) DO UPDATE SET off_day = excluded.off_day, name = excluded.name, source_year = excluded.source_year",
    )
    .bind(region)
    .bind(d.date.to_string())
    .bind(d.off_day as i16)
    .bind(&d.name)
    .bind(source_year)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    ctx.calendar_changed();
    match cmd {
        Cmd::PublishYear(y) => {
            core::decide_publish(y)?;
            ctx.append(
                &format!("calendar:{NATIONAL}"),
                Expect::Any,
                "calendar.year_published",
                y,
            )
            .await?;
            // Replacing a year removes what its earlier notice declared.
            sqlx::query("DELETE FROM calendar_days WHERE region_code = $1 AND source_year = $2")
                .bind(NATIONAL)
                .bind(y.year as i64)
                .execute(&mut *ctx.conn)
                .await?;
            for d in &y.days {
                upsert_day(ctx, NATIONAL, d, y.year as i64).await?;
            }
            sqlx::query(
                "INSERT INTO calendar_years (year, papers, published_at) VALUES ($1, $2, $3)
                 ON CONFLICT (year) DO UPDATE SET papers = excluded.papers, published_at = excluded.published_at",
            )
            .bind(y.year as i64)
            .bind(serde_json::to_string(&y.papers).expect("serialisable"))
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(serde_json::json!({ "year": y.year, "days": y.days.len() }))
        }
        Cmd::SetLocalDays { region_code, days } => {
            core::decide_local(days)?;
            if regions::get(&mut *ctx.conn, region_code).await?.is_none() {
                return Err(DomainError::not_found("region_code", "行政区划", "region", region_code).into());
            }
            ctx.append(
                &format!("calendar:{region_code}"),
                Expect::Any,
                "calendar.local_days_set",
                &serde_json::json!({ "days": days }),
            )
            .await?;
            for d in days {
                upsert_day(ctx, region_code, d, 0).await?;
            }
            Ok(serde_json::json!({ "region_code": region_code, "days": days.len() }))
        }
    }
}

/// Publishes every shipped official year the database does not have yet (at start).
pub async fn seed_official(store: &Store) -> Result<()> {
    let have: Vec<i64> = sqlx::query_scalar("SELECT year FROM calendar_years")
        .fetch_all(&store.read)
        .await?;
    let missing: Vec<PublishedYear> = core::official_years()
        .into_iter()
        .filter(|y| !have.contains(&(y.year as i64)))
        .collect();
    let writes = missing
        .into_iter()
        .map(|y| store.write(Meta::actor("system:seed"), Command::Calendar(Cmd::PublishYear(y))));
    // Submitted together, so the writer commits them as one batch.
    for r in futures::future::join_all(writes).await {
        r?;
    }
    Ok(())
}

fn rules(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<DayRule>> {
    rows.into_iter()
        .map(|r| {
            let day: String = r.try_get("day")?;
            Ok(DayRule {
                date: day
                    .parse::<NaiveDate>()
                    .map_err(|e| crate::StoreError::Internal(format!("calendar day {day}: {e}")))?,
                off_day: r.try_get::<i64, _>("off_day")? != 0,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

/// The calendar of a region: national schedule, then each ancestor's local days, then the
/// region's own. `None` or an unknown code gives the national calendar.
pub async fn calendar_for(store: &Store, region: Option<&str>) -> Result<Arc<Calendar>> {
    let key = region.unwrap_or(NATIONAL).to_string();
    // Kept until reference data is cleared (a calendar or region event): no read to check.
    let generation = store.refdata.generation();
    if let Some((g, c)) = store.calendars.lock().expect("cache lock").get(&key)
        && *g == generation
    {
        return Ok(c.clone());
    }
    let years: Vec<i64> = sqlx::query_scalar("SELECT year FROM calendar_years")
        .fetch_all(&store.read)
        .await?;
    let q = "SELECT day, off_day, name FROM calendar_days WHERE region_code = $1 ORDER BY day";
    let national = rules(sqlx::query(q).bind(NATIONAL).fetch_all(&store.read).await?)?;
    let mut cal = Calendar::new(national, years.into_iter().map(|y| y as i32));
    if let Some(code) = region {
        for r in regions::chain(&store.read, code).await? {
            cal.overlay(rules(sqlx::query(q).bind(&r.code).fetch_all(&store.read).await?)?);
        }
    }
    let cal = Arc::new(cal);
    store
        .calendars
        .lock()
        .expect("cache lock")
        .insert(key, (generation, cal.clone()));
    Ok(cal)
}

/// Local days declared for one region (not inherited ones).
pub async fn local_days(store: &Store, region: &str) -> Result<Vec<DayRule>> {
    rules(
        sqlx::query("SELECT day, off_day, name FROM calendar_days WHERE region_code = $1 ORDER BY day")
            .bind(region)
            .fetch_all(&store.read)
            .await?,
    )
}

/// Largest N the calculator accepts (about 14 years of working days).
pub const MAX_WORKING_DAYS: u32 = 3650;

async fn region_calendar(store: &Store, region: Option<&str>) -> Result<Arc<Calendar>> {
    if let Some(code) = region
        && regions::get(&store.read, code).await?.is_none()
    {
        return Err(DomainError::not_found("region", "行政区划", "region", code).into());
    }
    calendar_for(store, region).await
}

/// The Nth working day after `date` in a region's calendar, with its arithmetic.
/// Shared by the API, the pages and `yiwang calendar add-days`.
pub async fn add_days(
    store: &Store,
    date: NaiveDate,
    n: u32,
    region: Option<&str>,
) -> Result<yiwang_core::calendar::Deadline> {
    if n > MAX_WORKING_DAYS {
        return Err(DomainError::invalid(vec![yiwang_core::FieldError::new(
            "n",
            "range",
            format!("工作日数应在 0–{MAX_WORKING_DAYS} 之间"),
            format!("the number of working days must be within 0–{MAX_WORKING_DAYS}"),
        )])
        .into());
    }
    Ok(region_calendar(store, region).await?.add_working_days(date, n))
}

/// Working days in (a, b] in a region's calendar (`yiwang calendar between`).
pub async fn between(store: &Store, a: NaiveDate, b: NaiveDate, region: Option<&str>) -> Result<i64> {
    if (b - a).num_days().abs() > 366 * 50 {
        return Err(DomainError::invalid(vec![yiwang_core::FieldError::new(
            "b",
            "range",
            "两个日期相差不能超过 50 年",
            "the dates must be at most 50 years apart",
        )])
        .into());
    }
    Ok(region_calendar(store, region).await?.working_days_between(a, b))
}

/// What kind of day a date is in a region's calendar.
pub async fn day(
    store: &Store,
    date: NaiveDate,
    region: Option<&str>,
) -> Result<(yiwang_core::calendar::DayKind, bool, bool)> {
    let cal = region_calendar(store, region).await?;
    use chrono::Datelike;
    Ok((
        cal.day_kind(date),
        cal.is_working_day(date),
        !cal.is_published(date.year()),
    ))
}

/// Published national years with their notices.
pub async fn years(store: &Store) -> Result<Vec<(i64, Vec<String>)>> {
    let rows = sqlx::query("SELECT year, papers FROM calendar_years ORDER BY year")
        .fetch_all(&store.read)
        .await?;
    rows.into_iter()
        .map(|r| {
            let papers: String = r.try_get("papers")?;
            Ok((
                r.try_get::<i64, _>("year")?,
                serde_json::from_str(&papers).unwrap_or_default(),
            ))
        })
        .collect()
}
