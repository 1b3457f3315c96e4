//! Regions: commands, the `regions` projection and queries.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Result, StoreError};
use serde_json::Value;
use sqlx::{Any, Executor, Row};
use yiwang_core::regions::{self as core, Level, NewRegion, Region, RegionChange};

#[derive(Debug, Clone)]
pub enum Cmd {
    Create(NewRegion),
    Change { code: String, change: RegionChange },
}

fn stream(code: &str) -> String {
    format!("region:{code}")
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Create(input) => {
            let existing = get(&mut *ctx.conn, &input.code).await?;
            let parent = match &input.parent_code {
                Some(p) => get(&mut *ctx.conn, p).await?,
                None => None,
            };
            let region = core::decide_create(input, existing.as_ref(), parent.as_ref())?;
            ctx.append(&stream(&region.code), Expect::New, "region.created", &region)
                .await?;
            sqlx::query("INSERT INTO regions (code, name, name_en, level, parent_code, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(&region.code)
                .bind(&region.name)
                .bind(&region.name_en)
                .bind(region.level as i64)
                .bind(&region.parent_code)
                .bind(ctx.now_ms)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(serde_json::to_value(&region).expect("serialisable"))
        }
        Cmd::Change { code, change } => {
            let current = get(&mut *ctx.conn, code)
                .await?
                .ok_or_else(|| core::unknown("code", code))?;
            let region = core::decide_change(&current, change)?;
            ctx.append(
                &stream(code),
                Expect::Exists,
                "region.changed",
                &serde_json::json!({ "name": region.name, "name_en": region.name_en }),
            )
            .await?;
            sqlx::query("UPDATE regions SET name = $1, name_en = $4, updated_at = $2 WHERE code = $3")
                .bind(&region.name)
                .bind(ctx.now_ms)
                .bind(code)
                .bind(&region.name_en)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(serde_json::to_value(&region).expect("serialisable"))
        }
    }
}

fn to_region(r: sqlx::any::AnyRow) -> Result<Region> {
    let level: i64 = r.try_get("level")?;
    let level = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
    ]
    .into_iter()
    .find(|l| *l as i64 == level)
    .ok_or_else(|| StoreError::Internal(format!("region level {level}")))?;
    Ok(Region {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        level,
        parent_code: r.try_get("parent_code")?,
    })
}

/// One region by code.
pub async fn get<'c, E: Executor<'c, Database = Any>>(e: E, code: &str) -> Result<Option<Region>> {
    let row = sqlx::query("SELECT code, name, name_en, level, parent_code FROM regions WHERE code = $1")
        .bind(code)
        .fetch_optional(e)
        .await?;
    row.map(to_region).transpose()
}

/// The children of a region, or the top-level regions (provinces) when `parent` is None.
pub async fn children(pool: &sqlx::AnyPool, parent: Option<&str>) -> Result<Vec<Region>> {
    let rows =
        match parent {
            Some(p) => {
                sqlx::query(
                    "SELECT code, name, name_en, level, parent_code FROM regions WHERE parent_code = $1 ORDER BY code",
                )
                .bind(p)
                .fetch_all(pool)
                .await?
            }
            None => sqlx::query(
                "SELECT code, name, name_en, level, parent_code FROM regions WHERE parent_code IS NULL ORDER BY code",
            )
            .fetch_all(pool)
            .await?,
        };
    rows.into_iter().map(to_region).collect()
}

/// Every region, ordered by code.
pub async fn all(pool: &sqlx::AnyPool) -> Result<Vec<Region>> {
    let rows = sqlx::query("SELECT code, name, name_en, level, parent_code FROM regions ORDER BY code")
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(to_region).collect()
}

/// The chain from the top-level ancestor down to `code` itself (empty if unknown).
pub async fn chain(pool: &sqlx::AnyPool, code: &str) -> Result<Vec<Region>> {
    let mut out = vec![];
    let mut next = Some(code.to_string());
    while let Some(c) = next {
        match get(pool, &c).await? {
            Some(r) if out.len() < 8 => {
                next = r.parent_code.clone();
                out.push(r);
            }
            _ => break,
        }
    }
    out.reverse();
    Ok(out)
}
