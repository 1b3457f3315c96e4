//! Departments, service halls and windows: commands, projections and queries.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Result, StoreError, new_id, regions};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sqlx::{Any, Executor, Row};
use yiwang_core::DomainError;
use yiwang_core::orgs::{
    self as core, Department, DepartmentInput, DepartmentRefs, Hall, HallInput, Window, WindowInput, WindowRefs,
};

#[derive(Debug, Clone)]
pub enum Cmd {
    CreateDepartment(DepartmentInput),
    ChangeDepartment {
        id: String,
        input: DepartmentInput,
    },
    CreateHall(HallInput),
    ChangeHall {
        id: String,
        input: HallInput,
    },
    CreateWindow {
        hall_id: String,
        input: WindowInput,
    },
    ChangeWindow {
        hall_id: String,
        id: String,
        input: WindowInput,
    },
}

/// A unit enum as its snake_case name (how enums are stored in TEXT columns).
fn enum_text<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("unit enum")
}
fn text_enum<T: DeserializeOwned>(s: String) -> Result<T> {
    serde_json::from_value(Value::String(s.clone())).map_err(|_| StoreError::Internal(format!("stored enum value {s}")))
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::CreateDepartment(input) => save_department(ctx, &new_id(), input, true).await,
        Cmd::ChangeDepartment { id, input } => save_department(ctx, id, input, false).await,
        Cmd::CreateHall(input) => save_hall(ctx, &new_id(), input, true).await,
        Cmd::ChangeHall { id, input } => save_hall(ctx, id, input, false).await,
        Cmd::CreateWindow { hall_id, input } => save_window(ctx, hall_id, &new_id(), input, true).await,
        Cmd::ChangeWindow { hall_id, id, input } => save_window(ctx, hall_id, id, input, false).await,
    }
}

async fn save_department(ctx: &mut WriteCtx<'_>, id: &str, input: &DepartmentInput, create: bool) -> Result<Value> {
    if !create && department(&mut *ctx.conn, id).await?.is_none() {
        return Err(DomainError::not_found("id", "部门", "department", id).into());
    }
    let region_exists = regions::get(&mut *ctx.conn, &input.region_code).await?.is_some();
    let parent = match &input.parent_id {
        Some(p) => department(&mut *ctx.conn, p).await?,
        None => None,
    };
    let same = department_by_uscc(&mut *ctx.conn, &input.uscc).await?;
    let d = core::decide_department(
        id,
        input,
        DepartmentRefs {
            region_exists,
            parent: parent.as_ref(),
            same_uscc: same.as_ref(),
        },
    )?;
    let (expect, kind) = if create {
        (Expect::New, "department.created")
    } else {
        (Expect::Exists, "department.changed")
    };
    ctx.append(&format!("department:{id}"), expect, kind, &d).await?;
    sqlx::query(
        "INSERT INTO departments (id, name, uscc, region_code, nature, parent_id, phone, address, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, uscc = excluded.uscc, region_code = excluded.region_code,
           nature = excluded.nature, parent_id = excluded.parent_id, phone = excluded.phone, address = excluded.address,
           updated_at = excluded.updated_at",
    )
    .bind(&d.id)
    .bind(&d.name)
    .bind(&d.uscc)
    .bind(&d.region_code)
    .bind(enum_text(&d.nature))
    .bind(&d.parent_id)
    .bind(&d.phone)
    .bind(&d.address)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(serde_json::to_value(&d).expect("serialisable"))
}

async fn save_hall(ctx: &mut WriteCtx<'_>, id: &str, input: &HallInput, create: bool) -> Result<Value> {
    if !create && hall(&mut *ctx.conn, id).await?.is_none() {
        return Err(DomainError::not_found("id", "政务服务大厅", "service hall", id).into());
    }
    let region_exists = regions::get(&mut *ctx.conn, &input.region_code).await?.is_some();
    let h = core::decide_hall(id, input, region_exists)?;
    let (expect, kind) = if create {
        (Expect::New, "hall.created")
    } else {
        (Expect::Exists, "hall.changed")
    };
    ctx.append(&format!("hall:{id}"), expect, kind, &h).await?;
    sqlx::query(
        "INSERT INTO halls (id, name, region_code, address, hours, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, address = excluded.address,
           hours = excluded.hours, phone = excluded.phone, updated_at = excluded.updated_at",
    )
    .bind(&h.id)
    .bind(&h.name)
    .bind(&h.region_code)
    .bind(&h.address)
    .bind(&h.hours)
    .bind(&h.phone)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(serde_json::to_value(&h).expect("serialisable"))
}

async fn save_window(
    ctx: &mut WriteCtx<'_>,
    hall_id: &str,
    id: &str,
    input: &WindowInput,
    create: bool,
) -> Result<Value> {
    if !create
        && window(&mut *ctx.conn, id)
            .await?
            .filter(|w| w.hall_id == hall_id)
            .is_none()
    {
        return Err(DomainError::not_found("id", "窗口", "window", id).into());
    }
    let hall_exists = hall(&mut *ctx.conn, hall_id).await?.is_some();
    let department_exists = match &input.department_id {
        Some(d) => department(&mut *ctx.conn, d).await?.is_some(),
        None => false,
    };
    let same_number: Option<String> = sqlx::query_scalar("SELECT id FROM windows WHERE hall_id = $1 AND number = $2")
        .bind(hall_id)
        .bind(&input.number)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    let w = core::decide_window(
        id,
        hall_id,
        input,
        WindowRefs {
            hall_exists,
            department_exists,
            same_number,
        },
    )?;
    // Windows belong to their hall's stream: the hall's history shows its windows.
    let kind = if create { "window.created" } else { "window.changed" };
    ctx.append(&format!("hall:{hall_id}"), Expect::Exists, kind, &w).await?;
    sqlx::query(
        "INSERT INTO windows (id, hall_id, number, name, kind, department_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (id) DO UPDATE SET number = excluded.number, name = excluded.name, kind = excluded.kind,
           department_id = excluded.department_id, updated_at = excluded.updated_at",
    )
    .bind(&w.id)
    .bind(&w.hall_id)
    .bind(&w.number)
    .bind(&w.name)
    .bind(enum_text(&w.kind))
    .bind(&w.department_id)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(serde_json::to_value(&w).expect("serialisable"))
}

const DEPT_COLS: &str = "id, name, uscc, region_code, nature, parent_id, phone, address";

fn to_department(r: sqlx::any::AnyRow) -> Result<Department> {
    Ok(Department {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        uscc: r.try_get("uscc")?,
        region_code: r.try_get("region_code")?,
        nature: text_enum(r.try_get("nature")?)?,
        parent_id: r.try_get("parent_id")?,
        phone: r.try_get("phone")?,
        address: r.try_get("address")?,
    })
}

pub async fn department<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<Department>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_department)
        .transpose()
}

pub async fn department_by_uscc<'c, E: Executor<'c, Database = Any>>(e: E, uscc: &str) -> Result<Option<Department>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE uscc = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_optional(e)
        .await?
        .map(to_department)
        .transpose()
}

/// Departments, optionally of one region only, by name.
pub async fn departments(pool: &sqlx::AnyPool, region: Option<&str>) -> Result<Vec<Department>> {
    let rows = match region {
        Some(r) => {
            let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE region_code = $1 ORDER BY region_code, name");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(r).fetch_all(pool).await?
        }
        None => {
            let sql = format!("SELECT {DEPT_COLS} FROM departments ORDER BY region_code, name");
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        }
    };
    rows.into_iter().map(to_department).collect()
}

/// One page of `departments`, with the number of all that match.
pub async fn departments_page(
    pool: &sqlx::AnyPool,
    region: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Department>, i64)> {
    let filter = if region.is_some() { "WHERE region_code = $1" } else { "" };
    let (l, o) = if region.is_some() { ("$2", "$3") } else { ("$1", "$2") };
    let sql =
        format!("SELECT {DEPT_COLS} FROM departments {filter} ORDER BY region_code, name, id LIMIT {l} OFFSET {o}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    let count_sql = format!("SELECT COUNT(*) FROM departments {filter}");
    let mut c = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
    if let Some(r) = region {
        q = q.bind(r.to_string());
        c = c.bind(r.to_string());
    }
    let rows = q.bind(limit).bind(offset).fetch_all(pool).await?;
    let total = c.fetch_one(pool).await?;
    Ok((rows.into_iter().map(to_department).collect::<Result<_>>()?, total))
}

const HALL_COLS: &str = "id, name, region_code, address, hours, phone";

fn to_hall(r: sqlx::any::AnyRow) -> Result<Hall> {
    Ok(Hall {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        region_code: r.try_get("region_code")?,
        address: r.try_get("address")?,
        hours: r.try_get("hours")?,
        phone: r.try_get("phone")?,
    })
}

pub async fn hall<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<Hall>> {
    let sql = format!("SELECT {HALL_COLS} FROM halls WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_hall)
        .transpose()
}

pub async fn halls(pool: &sqlx::AnyPool) -> Result<Vec<Hall>> {
    let sql = format!("SELECT {HALL_COLS} FROM halls ORDER BY region_code, name");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(to_hall)
        .collect()
}

const WINDOW_COLS: &str = "id, hall_id, number, name, kind, department_id";

fn to_window(r: sqlx::any::AnyRow) -> Result<Window> {
    Ok(Window {
        id: r.try_get("id")?,
        hall_id: r.try_get("hall_id")?,
        number: r.try_get("number")?,
        name: r.try_get("name")?,
        kind: text_enum(r.try_get("kind")?)?,
        department_id: r.try_get("department_id")?,
    })
}

pub async fn window<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<Window>> {
    let sql = format!("SELECT {WINDOW_COLS} FROM windows WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_window)
        .transpose()
}

pub async fn windows(pool: &sqlx::AnyPool, hall_id: &str) -> Result<Vec<Window>> {
    let sql = format!("SELECT {WINDOW_COLS} FROM windows WHERE hall_id = $1 ORDER BY number");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hall_id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(to_window)
        .collect()
}
