//! The data-sharing catalogue (数据资源目录): resources defined by their owner department,
//! rows loaded by push or batch import as numbered versions (each row SM4-sealed, found
//! by the subject's key), requests answered by the owner, and every use of a grant
//! checked (`core::check_access`) and logged in `data_access` — a person's reads also in
//! their data-use log.
//!
//! A subject's key is `p:` and the blind index of the resident ID number (the index the
//! `persons` table keeps, so a registered person finds their data and licences), or `e:`
//! and the blind index of the USCC (the licences' holder index).

use crate::db::Marks;
use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row as _;
use yiwang_core::Named;
use yiwang_core::error::{DomainError, FieldError};
use yiwang_core::policies::Audience;
use yiwang_core::sharing::{
    self as core, Decision, FieldDef, Frequency, Grant, RequestInput, RequestStatus, ResourceInput, SharingClass,
    SharingPolicy,
};

#[derive(Debug, Clone)]
pub enum Cmd {
    Define(Box<Resource>),
    Load(Box<Load>),
    Request(Box<Grant>),
    Decide { id: String, decision: Decision },
    Access(Box<Access>),
}

/// A resource as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// The owner department's id.
    pub owner: String,
    pub audience: Audience,
    pub fields: Vec<FieldDef>,
    pub sharing: SharingClass,
    pub frequency: Frequency,
    pub legal_basis: String,
    /// The latest load's version (0 before the first).
    pub version: i64,
    pub row_count: i64,
    pub loaded_at: Option<i64>,
}

/// One load, prepared on the request task (rows checked, keyed and sealed).
#[derive(Debug, Clone)]
pub struct Load {
    pub resource: String,
    pub source: LoadSource,
    pub rows: Vec<LoadRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadSource {
    Push,
    Import,
}

#[derive(Debug, Clone)]
pub struct LoadRow {
    pub subject_key: String,
    pub data_enc: String,
    /// From the resident ID number (GB 11643): birth date and sex, kept on the profile.
    pub birth_date: Option<NaiveDate>,
    pub male: Option<bool>,
}

/// A use of a grant.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub id: String,
    pub grant_id: String,
    pub resource: String,
    /// One subject read, or none for a count over many (a dry run).
    pub subject_key: Option<String>,
    pub subjects: i64,
    pub fields: Vec<String>,
    pub purpose: String,
}

/// What a load answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    pub resource: String,
    pub version: i64,
    pub rows: i64,
}

fn not_found(code: &str) -> StoreError {
    DomainError::not_found("resource", "数据资源", "data resource", code).into()
}

/// The keyed index of a subject's identifier (resident ID number or credit code): the one
/// persons, legal persons and licence holders are found by.
pub fn subject_index(store: &Store, audience: Audience, identifier: &str) -> String {
    let id = identifier.trim().to_uppercase();
    match audience {
        Audience::Person => store.pii.index("id_number", &id),
        Audience::Enterprise => store.pii.index("uscc", &id),
    }
}

/// The key a subject's data is found by.
pub fn subject_key(store: &Store, audience: Audience, identifier: &str) -> String {
    key_of_index(audience, &subject_index(store, audience, identifier))
}

/// The subject key of an identifier's keyed index.
pub fn key_of_index(audience: Audience, index: &str) -> String {
    match audience {
        Audience::Person => format!("p:{index}"),
        Audience::Enterprise => format!("e:{index}"),
    }
}

fn record_context(resource: &str, key: &str) -> String {
    format!("data_records:{resource}:{key}")
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Define(r) => {
            if resource_in(&mut *ctx.conn, &r.code).await?.is_some() {
                return Err(DomainError::conflict(
                    "code",
                    "resource.exists",
                    format!("数据资源 {} 已存在", r.code),
                    format!("data resource {} exists", r.code),
                )
                .into());
            }
            ctx.append(&format!("data:{}", r.code), Expect::New, "data.resource_defined", &**r)
                .await?;
            sqlx::query(
                "INSERT INTO data_resources (code, name, name_en, owner, audience, fields, sharing, frequency, legal_basis,
                   version, row_count, loaded_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, NULL, $10, $11)",
            )
            .bind(&r.code)
            .bind(&r.name)
            .bind(&r.name_en)
            .bind(&r.owner)
            .bind(r.audience.as_str())
            .bind(serde_json::to_string(&r.fields).expect("serialisable"))
            .bind(r.sharing.as_str())
            .bind(r.frequency.as_str())
            .bind(&r.legal_basis)
            .bind(&ctx.actor)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "code": r.code }))
        }
        Cmd::Load(l) => load_in(ctx, l).await,
        Cmd::Request(g) => {
            ctx.append(&format!("data_request:{}", g.id), Expect::New, "data.requested", &**g)
                .await?;
            sqlx::query(
                "INSERT INTO data_requests (id, resource, requester, owner, fields, purpose, legal_basis, valid_from,
                   valid_until, status, reason, created_by, created_at, decided_by, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&g.id)
            .bind(&g.resource)
            .bind(&g.requester)
            .bind(&g.owner)
            .bind(serde_json::to_string(&g.fields).expect("serialisable"))
            .bind(&g.purpose)
            .bind(&g.legal_basis)
            .bind(g.valid_from.to_string())
            .bind(g.valid_until.to_string())
            .bind(g.status.as_str())
            .bind(&g.reason)
            .bind(&ctx.actor)
            .bind(ctx.now_ms)
            .bind((g.status != RequestStatus::Requested).then_some("rule:unconditional"))
            .bind((g.status != RequestStatus::Requested).then_some(ctx.now_ms))
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "id": g.id, "status": g.status }))
        }
        Cmd::Decide { id, decision } => {
            let g = grant_in(&mut *ctx.conn, id)
                .await?
                .ok_or_else(|| DomainError::not_found("id", "共享申请", "sharing request", id))?;
            let (status, fields, until) = core::decide(&g, decision)?;
            let reason = match decision {
                Decision::Refuse { reason } | Decision::Revoke { reason } => Some(reason.trim().to_string()),
                _ => None,
            };
            ctx.append(
                &format!("data_request:{id}"),
                Expect::Exists,
                &format!("data.request_{}", status.as_str()),
                &json!({ "status": status, "fields": fields, "valid_until": until, "reason": reason }),
            )
            .await?;
            sqlx::query(
                "UPDATE data_requests SET status = $1, fields = $2, valid_until = $3, reason = $4, decided_by = $5,
                   decided_at = $6 WHERE id = $7",
            )
            .bind(status.as_str())
            .bind(serde_json::to_string(&fields).expect("serialisable"))
            .bind(until.to_string())
            .bind(&reason)
            .bind(&ctx.actor)
            .bind(ctx.now_ms)
            .bind(id)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "id": id, "status": status }))
        }
        Cmd::Access(a) => {
            ctx.append(
                &format!("data_request:{}:access", a.grant_id),
                Expect::Any,
                "data.accessed",
                &**a,
            )
            .await?;
            sqlx::query(
                "INSERT INTO data_access (id, grant_id, resource, subject_key, subjects, fields, purpose, actor, at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&a.id)
            .bind(&a.grant_id)
            .bind(&a.resource)
            .bind(&a.subject_key)
            .bind(a.subjects)
            .bind(serde_json::to_string(&a.fields).expect("serialisable"))
            .bind(&a.purpose)
            .bind(&ctx.actor)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "id": a.id }))
        }
    }
}

/// Rows a statement upserts at most (PostgreSQL's and SQLite's parameter limits).
const CHUNK: usize = 150;

async fn load_in(ctx: &mut WriteCtx<'_>, l: &Load) -> Result<Value> {
    let r = resource_in(&mut *ctx.conn, &l.resource)
        .await?
        .ok_or_else(|| not_found(&l.resource))?;
    let version = r.version + 1;
    // A load is a version of the resource: its rows replace the subjects' earlier rows.
    ctx.append(
        &format!("data:{}", l.resource),
        Expect::Exists,
        "data.loaded",
        &json!({ "resource": l.resource, "version": version, "rows": l.rows.len(), "source": l.source }),
    )
    .await?;
    let conflict = "ON CONFLICT (resource, subject_key) DO UPDATE SET data_enc = excluded.data_enc, \
                    version = excluded.version, updated_at = excluded.updated_at";
    for chunk in l.rows.chunks(CHUNK) {
        let mut sql =
            String::from("INSERT INTO data_records (resource, subject_key, data_enc, version, updated_at) VALUES ");
        Marks::of_conn(&*ctx.conn).push_rows(&mut sql, chunk.len(), 5);
        sql.push(' ');
        sql.push_str(conflict);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            q = q
                .bind(&l.resource)
                .bind(&row.subject_key)
                .bind(&row.data_enc)
                .bind(version)
                .bind(ctx.now_ms);
        }
        q.execute(&mut *ctx.conn).await?;
        let mut sql =
            String::from("INSERT INTO profiles (subject_key, audience, birth_date, male, updated_at) VALUES ");
        Marks::of_conn(&*ctx.conn).push_rows(&mut sql, chunk.len(), 5);
        sql.push_str(" ON CONFLICT (subject_key) DO UPDATE SET updated_at = excluded.updated_at");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            q = q
                .bind(&row.subject_key)
                .bind(r.audience.as_str())
                .bind(row.birth_date.map(|d| d.to_string()))
                .bind(row.male.map(i16::from))
                .bind(ctx.now_ms);
        }
        q.execute(&mut *ctx.conn).await?;
    }
    sqlx::query("INSERT INTO data_loads (id, resource, version, source, row_count, loaded_by, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(new_id())
        .bind(&l.resource)
        .bind(version)
        .bind(match l.source {
            LoadSource::Push => "push",
            LoadSource::Import => "import",
        })
        .bind(l.rows.len() as i64)
        .bind(&ctx.actor)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    sqlx::query(
        "UPDATE data_resources SET version = $1, loaded_at = $2,
           row_count = (SELECT COUNT(*) FROM data_records WHERE resource = $3) WHERE code = $3",
    )
    .bind(version)
    .bind(ctx.now_ms)
    .bind(&l.resource)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(serde_json::to_value(Loaded {
        resource: l.resource.clone(),
        version,
        rows: l.rows.len() as i64,
    })
    .expect("serialisable"))
}

const RESOURCE_COLS: &str =
    "code, name, name_en, owner, audience, fields, sharing, frequency, legal_basis, version, row_count, loaded_at";

fn to_resource(r: sqlx::any::AnyRow) -> Result<Resource> {
    let bad = |what: &str, v: &str| StoreError::Internal(format!("stored {what} {v:?}"));
    let audience: String = r.try_get("audience")?;
    let sharing: String = r.try_get("sharing")?;
    let frequency: String = r.try_get("frequency")?;
    let fields: String = r.try_get("fields")?;
    Ok(Resource {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        owner: r.try_get("owner")?,
        audience: Audience::parse(&audience).ok_or_else(|| bad("audience", &audience))?,
        fields: serde_json::from_str(&fields).map_err(|e| StoreError::Internal(e.to_string()))?,
        sharing: SharingClass::parse(&sharing).ok_or_else(|| bad("sharing", &sharing))?,
        frequency: Frequency::parse(&frequency).ok_or_else(|| bad("frequency", &frequency))?,
        legal_basis: r.try_get("legal_basis")?,
        version: r.try_get("version")?,
        row_count: r.try_get("row_count")?,
        loaded_at: r.try_get("loaded_at")?,
    })
}

async fn resource_in<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, code: &str) -> Result<Option<Resource>> {
    let sql = format!("SELECT {RESOURCE_COLS} FROM data_resources WHERE code = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(e)
        .await?
        .map(to_resource)
        .transpose()
}

pub async fn resource(store: &Store, code: &str) -> Result<Option<Resource>> {
    resource_in(&store.read, code).await
}

/// The catalogue, by code.
pub async fn resources(store: &Store) -> Result<Vec<Resource>> {
    let sql = format!("SELECT {RESOURCE_COLS} FROM data_resources ORDER BY code");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_resource)
        .collect()
}

/// A department defines a resource it owns.
pub async fn define(store: &Store, meta: Meta, owner: &str, input: ResourceInput) -> Result<Resource> {
    core::check_resource(&input)?;
    let r = Resource {
        code: input.code,
        name: input.name.trim().to_string(),
        name_en: input.name_en.trim().to_string(),
        owner: owner.to_string(),
        audience: input.audience,
        fields: input.fields,
        sharing: input.sharing,
        frequency: input.frequency,
        legal_basis: input.legal_basis.trim().to_string(),
        version: 0,
        row_count: 0,
        loaded_at: None,
    };
    store
        .write(meta, Command::Sharing(Cmd::Define(Box::new(r.clone()))))
        .await?;
    Ok(r)
}

/// Reads a CSV text (header row: the subject's identifier column and field names) as rows.
pub fn csv_rows(text: &str) -> Result<Vec<Map<String, Value>>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_problem(0, &e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| csv_problem(i, &e))?;
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.clone(), Value::from(v)))
                .collect(),
        );
    }
    Ok(rows)
}

fn csv_problem(i: usize, e: &csv::Error) -> StoreError {
    DomainError::invalid(vec![FieldError::new(
        format!("rows[{i}]"),
        "csv.format",
        format!("CSV 格式错误：{e}"),
        format!("not valid CSV: {e}"),
    )])
    .into()
}

/// Most row errors one answer lists.
const MAX_ROW_ERRORS: usize = 200;

/// Loads rows into a resource as its next version: every row checked first (errors name
/// `rows[i].field`); one bad row and nothing is written.
pub async fn load(
    store: &Store,
    meta: Meta,
    code: &str,
    rows: &[Map<String, Value>],
    source: LoadSource,
    policy: &SharingPolicy,
) -> Result<Loaded> {
    let r = resource(store, code).await?.ok_or_else(|| not_found(code))?;
    if rows.is_empty() || rows.len() > policy.max_rows_per_load {
        return Err(DomainError::invalid(vec![FieldError::new(
            "rows",
            "load.rows",
            format!("一次加载 1–{} 行", policy.max_rows_per_load),
            format!("a load has 1–{} rows", policy.max_rows_per_load),
        )])
        .into());
    }
    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        match core::check_row(i, r.audience, &r.fields, row) {
            Ok(c) => {
                if !seen.insert(c.subject.clone()) {
                    errors.push(FieldError::new(
                        format!("rows[{i}]"),
                        "row.duplicate",
                        "同一主体在本次加载中出现两次",
                        "the same subject appears twice in this load",
                    ));
                }
                checked.push(c)
            }
            Err(e) => errors.extend(e),
        }
        if errors.len() >= MAX_ROW_ERRORS {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::invalid(errors).into());
    }
    let rows = checked
        .into_iter()
        .map(|c| {
            let key = subject_key(store, r.audience, &c.subject);
            let id = (r.audience == Audience::Person)
                .then(|| yiwang_core::ids::check_resident_id("id_number", &c.subject).ok())
                .flatten();
            LoadRow {
                data_enc: store
                    .pii
                    .seal(&record_context(code, &key), &Value::Object(c.values).to_string()),
                subject_key: key,
                birth_date: id.as_ref().map(|i| i.birth_date),
                male: id.as_ref().map(|i| i.male),
            }
        })
        .collect();
    let w = store
        .write(
            meta,
            Command::Sharing(Cmd::Load(Box::new(Load {
                resource: code.to_string(),
                source,
                rows,
            }))),
        )
        .await?;
    serde_json::from_value(w.value).map_err(|e| StoreError::Internal(e.to_string()))
}

/// A subject's row of a resource, opened (callers check the grant and log the use first).
pub(crate) async fn record_of(store: &Store, code: &str, key: &str) -> Result<Option<(Map<String, Value>, i64)>> {
    let row = sqlx::query("SELECT data_enc, updated_at FROM data_records WHERE resource = $1 AND subject_key = $2")
        .bind(code)
        .bind(key)
        .fetch_optional(&store.read)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let enc: String = row.try_get("data_enc")?;
    let plain = store.pii.open(&record_context(code, key), &enc)?;
    let v: Map<String, Value> = serde_json::from_str(&plain).map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(Some((v, row.try_get("updated_at")?)))
}

/// A department asks for a resource. An unconditional resource is granted at once
/// (国发〔2016〕51号 第十四条: 无条件共享类 … 直接获取); a conditional one waits for its owner.
pub async fn request(
    store: &Store,
    meta: Meta,
    requester: &str,
    input: RequestInput,
    policy: &SharingPolicy,
) -> Result<Grant> {
    let r = resource(store, &input.resource)
        .await?
        .ok_or_else(|| not_found(&input.resource))?;
    core::check_request(&input, &r.fields, r.sharing, policy)?;
    let g = Grant {
        id: new_id(),
        resource: r.code,
        requester: requester.to_string(),
        owner: r.owner,
        fields: input.fields,
        purpose: input.purpose.trim().to_string(),
        legal_basis: input.legal_basis.trim().to_string(),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        status: if r.sharing == SharingClass::Unconditional {
            RequestStatus::Approved
        } else {
            RequestStatus::Requested
        },
        reason: None,
    };
    store
        .write(meta, Command::Sharing(Cmd::Request(Box::new(g.clone()))))
        .await?;
    Ok(g)
}

/// The owner decides (callers check that the actor speaks for the owner department).
pub async fn decide(store: &Store, meta: Meta, id: &str, decision: Decision) -> Result<Grant> {
    store
        .write(
            meta,
            Command::Sharing(Cmd::Decide {
                id: id.to_string(),
                decision,
            }),
        )
        .await?;
    grant(store, id)
        .await?
        .ok_or_else(|| StoreError::Internal("decided request vanished".into()))
}

const GRANT_COLS: &str =
    "id, resource, requester, owner, fields, purpose, legal_basis, valid_from, valid_until, status, reason";

fn to_grant(r: sqlx::any::AnyRow) -> Result<Grant> {
    let bad = |v: String| StoreError::Internal(format!("stored {v:?}"));
    let fields: String = r.try_get("fields")?;
    let status: String = r.try_get("status")?;
    let date = |s: String| s.parse::<NaiveDate>().map_err(|_| bad(s));
    Ok(Grant {
        id: r.try_get("id")?,
        resource: r.try_get("resource")?,
        requester: r.try_get("requester")?,
        owner: r.try_get("owner")?,
        fields: serde_json::from_str(&fields).map_err(|e| StoreError::Internal(e.to_string()))?,
        purpose: r.try_get("purpose")?,
        legal_basis: r.try_get("legal_basis")?,
        valid_from: date(r.try_get("valid_from")?)?,
        valid_until: date(r.try_get("valid_until")?)?,
        status: RequestStatus::parse(&status).ok_or_else(|| bad(status.clone()))?,
        reason: r.try_get("reason")?,
    })
}

async fn grant_in<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, id: &str) -> Result<Option<Grant>> {
    let sql = format!("SELECT {GRANT_COLS} FROM data_requests WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_grant)
        .transpose()
}

pub async fn grant(store: &Store, id: &str) -> Result<Option<Grant>> {
    grant_in(&store.read, id).await
}

/// Requests a department made (`requester`) or must answer (`owner`), newest first.
pub async fn requests(store: &Store, department: &str, as_owner: bool) -> Result<Vec<Grant>> {
    let col = if as_owner { "owner" } else { "requester" };
    let sql = format!("SELECT {GRANT_COLS} FROM data_requests WHERE {col} = $1 ORDER BY created_at DESC, id DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department)
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_grant)
        .collect()
}

/// The grant a department may use now for `resource`, `purpose` and `fields`; otherwise
/// the refusal of the closest grant (or that there is none).
pub async fn usable_grant(
    store: &Store,
    department: &str,
    resource: &str,
    purpose: &str,
    fields: &[String],
    today: NaiveDate,
) -> Result<Grant> {
    let sql = format!(
        "SELECT {GRANT_COLS} FROM data_requests WHERE requester = $1 AND resource = $2 ORDER BY created_at DESC, id DESC"
    );
    let grants: Vec<Grant> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department)
        .bind(resource)
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_grant)
        .collect::<Result<_>>()?;
    let mut refusal = None;
    for g in grants {
        match core::check_access(&g, purpose, fields, today) {
            Ok(()) => return Ok(g),
            Err(e) => {
                // Report the grant for this purpose before any other.
                if refusal.is_none() || g.purpose.trim() == purpose.trim() {
                    refusal = Some(e);
                }
            }
        }
    }
    Err(refusal
        .unwrap_or_else(|| {
            DomainError::forbidden(FieldError::new(
                "grant",
                "access.no_grant",
                format!("本部门没有数据资源 {resource} 的共享授权"),
                format!("the department holds no grant for data resource {resource}"),
            ))
        })
        .into())
}

/// Records a use of a grant (before the data is used).
pub async fn log_access(store: &Store, meta: Meta, a: Access) -> Result<()> {
    store.write(meta, Command::Sharing(Cmd::Access(Box::new(a)))).await?;
    Ok(())
}

/// A staff member reads one subject's row under a grant: the grant checked for purpose,
/// period and fields, the use logged (and put in the person's data-use log) first.
#[allow(clippy::too_many_arguments)]
pub async fn read_subject(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    department: &str,
    code: &str,
    identifier: &str,
    purpose: &str,
    fields: &[String],
) -> Result<Map<String, Value>> {
    let r = resource(store, code).await?.ok_or_else(|| not_found(code))?;
    let today = crate::today();
    let g = usable_grant(store, department, code, purpose, fields, today).await?;
    let key = subject_key(store, r.audience, identifier);
    log_access(
        store,
        meta.clone(),
        Access {
            id: new_id(),
            grant_id: g.id.clone(),
            resource: code.to_string(),
            subject_key: Some(key.clone()),
            subjects: 1,
            fields: fields.to_vec(),
            purpose: g.purpose.clone(),
        },
    )
    .await?;
    if let Some(person_id) = person_of_key(store, &key).await? {
        let names = fields
            .iter()
            .map(|f| {
                let zh = r
                    .fields
                    .iter()
                    .find(|d| &d.name == f)
                    .map_or(f.as_str(), |d| d.zh.as_str());
                format!("{}·{zh}", r.name)
            })
            .collect();
        crate::datause::record_shared(store, meta, reader, &person_id, names, &g.purpose).await?;
    }
    let values = record_of(store, code, &key).await?.map(|(v, _)| v).unwrap_or_default();
    Ok(values.into_iter().filter(|(k, _)| fields.contains(k)).collect())
}

/// One resource of a subject as a staff member may see it: the granted fields, named.
#[derive(Debug, Clone, Serialize)]
pub struct SharedPart {
    pub resource: String,
    pub name: String,
    pub grant_id: String,
    /// (field, Chinese name, value); a field the subject has no value for is absent.
    pub fields: Vec<(String, String, Value)>,
    /// When the subject's row was last loaded; none if the resource has no row for it.
    pub as_of_ms: Option<i64>,
}

/// What a staff member may see of one subject for one purpose (一人一档 / 一企一档, staff
/// view): the granted fields of every resource their department holds a grant in force
/// for that purpose — each read checked and logged first (and put in a person's data-use
/// log) by `read_subject`. Nothing else of the subject is shown.
pub async fn staff_profile(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    department: &str,
    identifier: &str,
    purpose: &str,
) -> Result<Vec<SharedPart>> {
    let id = identifier.trim().to_uppercase();
    // GB 11643 (resident ID) or GB 32100 (credit code): the subject is named by either.
    let audience = if yiwang_core::ids::check_resident_id("subject", &id).is_ok() {
        Audience::Person
    } else if yiwang_core::ids::check_uscc("subject", &id).is_ok() {
        Audience::Enterprise
    } else {
        return Err(DomainError::invalid(vec![FieldError::new(
            "subject",
            "subject.format",
            "请填写有效的公民身份号码（GB 11643）或统一社会信用代码（GB 32100）",
            "give a valid resident ID number (GB 11643) or credit code (GB 32100)",
        )])
        .into());
    };
    let today = crate::today();
    let mut out = Vec::new();
    for g in requests(store, department, false).await? {
        if core::check_access(&g, purpose, &g.fields, today).is_err() {
            continue;
        }
        let Some(r) = resource(store, &g.resource).await? else {
            continue;
        };
        if r.audience != audience {
            continue;
        }
        let values = read_subject(
            store,
            meta.clone(),
            reader,
            department,
            &r.code,
            &id,
            purpose,
            &g.fields,
        )
        .await?;
        let as_of_ms: Option<i64> =
            sqlx::query_scalar("SELECT updated_at FROM data_records WHERE resource = $1 AND subject_key = $2")
                .bind(&r.code)
                .bind(subject_key(store, audience, &id))
                .fetch_optional(&store.read)
                .await?;
        let fields = r
            .fields
            .iter()
            .filter_map(|f| values.get(&f.name).map(|v| (f.name.clone(), f.zh.clone(), v.clone())))
            .collect();
        out.push(SharedPart {
            resource: r.code.clone(),
            name: r.name.clone(),
            grant_id: g.id.clone(),
            fields,
            as_of_ms,
        });
    }
    if out.is_empty() {
        return Err(DomainError::forbidden(FieldError::new(
            "purpose",
            "access.no_grant",
            "本部门没有为此目的、在有效期内的共享授权",
            "the department holds no grant in force for this purpose",
        ))
        .into());
    }
    Ok(out)
}

/// The registered person a subject key belongs to, if any.
pub async fn person_of_key(store: &Store, key: &str) -> Result<Option<String>> {
    let Some(index) = key.strip_prefix("p:") else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar("SELECT id FROM persons WHERE id_number_index = $1")
        .bind(index)
        .fetch_optional(&store.read)
        .await?)
}

/// The registered applicants (`person:ID`, `legal:ID`) of a batch of subject keys, in one
/// statement per kind; keys of nobody registered are absent.
pub async fn applicants_of_keys(store: &Store, keys: &[String]) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for (prefix, table, column, kind) in [
        ("p:", "persons", "id_number_index", "person"),
        ("e:", "legal_persons", "uscc_index", "legal"),
    ] {
        let indexes: Vec<&str> = keys.iter().filter_map(|k| k.strip_prefix(prefix)).collect();
        for chunk in indexes.chunks(500) {
            let mut sql = format!("SELECT {column}, id FROM {table} WHERE {column} IN (");
            crate::db::Marks::of(store.engine).push_list(&mut sql, chunk.len());
            sql.push(')');
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for i in chunk {
                q = q.bind(*i);
            }
            for (index, id) in q.fetch_all(&store.read).await? {
                out.insert(format!("{prefix}{index}"), format!("{kind}:{id}"));
            }
        }
    }
    Ok(out)
}

/// The uses of a grant, newest first.
pub async fn accesses(store: &Store, grant_id: &str, limit: i64) -> Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT id, resource, subject_key, subjects, fields, purpose, actor, at_ms FROM data_access
         WHERE grant_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
    )
    .bind(grant_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.into_iter()
        .map(|r| {
            let fields: String = r.try_get("fields")?;
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "resource": r.try_get::<String, _>("resource")?,
                "subjects": r.try_get::<i64, _>("subjects")?,
                "one_subject": r.try_get::<Option<String>, _>("subject_key")?.is_some(),
                "fields": serde_json::from_str::<Value>(&fields).unwrap_or_default(),
                "purpose": r.try_get::<String, _>("purpose")?,
                "actor": r.try_get::<String, _>("actor")?,
                "at_ms": r.try_get::<i64, _>("at_ms")?,
            }))
        })
        .collect()
}

/// Status names for pages.
pub fn status_zh(s: RequestStatus) -> &'static str {
    s.zh()
}
