//! Reads: accounts, persons, staff, roles, legal persons.

use super::*;
use crate::rows::{Flag, JsonText, read};

/// An account row as login and session checks need it. Never serialised.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: core::AccountKind,
    pub login: Option<String>,
    pub person_id: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub totp_enc: Option<String>,
    pub totp_pending_enc: Option<String>,
    pub totp_last_step: Option<i64>,
    #[sqlx(try_from = "JsonText")]
    pub recovery_codes: Vec<String>,
    pub failed_count: i64,
    pub locked_until: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
}

impl AccountRow {
    pub fn totp_enabled(&self) -> bool {
        self.totp_enc.is_some()
    }
    pub fn is_staff(&self) -> bool {
        self.kind == core::AccountKind::Staff
    }
}

pub(super) const ACCOUNT_COLS: &str = "id, kind, login, person_id, display_name, password_hash, totp_enc, totp_pending_enc, totp_last_step, recovery_codes, failed_count, locked_until, disabled";

pub async fn account<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(read)
        .transpose()
}

/// Finds the account a login names: a staff login name, or a person's mobile number or
/// resident ID number (through their blind indexes).
pub async fn account_by_login(store: &Store, login: &str) -> Result<Option<AccountRow>> {
    let login = login.trim();
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE login = $1");
    if let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(login)
        .fetch_optional(&store.read)
        .await?
    {
        return read(r).map(Some);
    }
    let pid = match person_id_by_phone_index(&store.read, &store.pii.index("phone", login)).await? {
        Some(p) => Some(p),
        None => person_id_by_index(&store.read, &store.pii.index("id_number", &login.to_uppercase())).await?,
    };
    let Some(pid) = pid else { return Ok(None) };
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE person_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(pid)
        .fetch_optional(&store.read)
        .await?
        .map(read)
        .transpose()
}

pub(super) async fn person_id_by_index(pool: &sqlx::AnyPool, index: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM persons WHERE id_number_index = $1")
        .bind(index)
        .fetch_optional(pool)
        .await?)
}

pub(crate) async fn person_id_by_phone_index(pool: &sqlx::AnyPool, index: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM persons WHERE phone_index = $1")
        .bind(index)
        .fetch_optional(pool)
        .await?)
}

/// A person as stored: identifiers sealed, masked forms for display.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub id_number_enc: String,
    pub id_number_masked: String,
    pub phone_enc: String,
    pub phone_masked: String,
    pub address_enc: Option<String>,
    pub registered_by: Option<String>,
    pub created_at: i64,
}

/// A person as shown: masked unless a field was unmasked (and that use logged).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: Option<String>,
    /// Which fields are shown in full.
    pub unmasked: Vec<yiwang_core::datause::PersonalField>,
    pub assisted_registration: bool,
    pub created_at: i64,
}

pub(super) const PERSON_COLS: &str =
    "id, name, id_number_enc, id_number_masked, phone_enc, phone_masked, address_enc, registered_by, created_at";

pub async fn person<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLS} FROM persons WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(read)
        .transpose()
}

/// Exact lookup by resident ID number (blind index; the number itself is never queried).
pub async fn person_by_id_number(store: &Store, id_number: &str) -> Result<Option<PersonRow>> {
    match person_id_by_index(
        &store.read,
        &store.pii.index("id_number", &id_number.trim().to_uppercase()),
    )
    .await?
    {
        Some(id) => person(&store.read, &id).await,
        None => Ok(None),
    }
}

/// Decrypts one field of a person. Callers record the use first (see `datause`).
pub fn reveal(store: &Store, p: &PersonRow, field: yiwang_core::datause::PersonalField) -> Result<String> {
    use yiwang_core::datause::PersonalField as F;
    match field {
        F::Name => Ok(p.name.clone()),
        F::IdNumber => store.pii.open(&format!("persons.id_number:{}", p.id), &p.id_number_enc),
        F::Phone => store.pii.open(&format!("persons.phone:{}", p.id), &p.phone_enc),
        F::Address => match &p.address_enc {
            Some(a) => store.pii.open(&format!("persons.address:{}", p.id), a),
            None => Ok(String::new()),
        },
    }
}

/// The view of a person with `unmask` fields in full (the caller has logged that use).
pub fn view(store: &Store, p: &PersonRow, unmask: &[yiwang_core::datause::PersonalField]) -> Result<PersonView> {
    use yiwang_core::datause::PersonalField as F;
    let address = match &p.address_enc {
        None => None,
        Some(_) if unmask.contains(&F::Address) => Some(reveal(store, p, F::Address)?),
        Some(_) => Some("******".into()),
    };
    Ok(PersonView {
        id: p.id.clone(),
        name: p.name.clone(),
        id_number: if unmask.contains(&F::IdNumber) {
            reveal(store, p, F::IdNumber)?
        } else {
            p.id_number_masked.clone()
        },
        phone: if unmask.contains(&F::Phone) {
            reveal(store, p, F::Phone)?
        } else {
            p.phone_masked.clone()
        },
        address,
        unmasked: unmask.to_vec(),
        assisted_registration: p.registered_by.is_some(),
        created_at: p.created_at,
    })
}

/// A staff member as listed.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct StaffInfo {
    pub account_id: String,
    pub login: String,
    pub name: String,
    pub department_id: String,
    pub department_name: String,
    pub region_code: String,
    #[sqlx(try_from = "JsonText")]
    pub roles: Vec<String>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
    #[sqlx(try_from = "Flag")]
    pub totp_enabled: bool,
}

pub(super) const STAFF_SQL: &str = "SELECT s.account_id, COALESCE(a.login, '') AS login, s.name, s.department_id,
    COALESCE(d.name, '') AS department_name, s.region_code, s.roles, a.disabled,
    CASE WHEN a.totp_enc IS NULL THEN 0 ELSE 1 END AS totp_enabled FROM staff s JOIN accounts a ON a.id = s.account_id
    LEFT JOIN departments d ON d.id = s.department_id";

pub async fn staff(pool: &sqlx::AnyPool, account_id: &str) -> Result<Option<StaffInfo>> {
    let sql = format!("{STAFF_SQL} WHERE s.account_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        .map(read)
        .transpose()
}

/// Staff of a region and every region below it.
pub async fn staff_in_region(pool: &sqlx::AnyPool, region: &str) -> Result<Vec<StaffInfo>> {
    let sql = format!("{STAFF_SQL} ORDER BY s.region_code, department_name, a.login");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(read::<StaffInfo, _>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| access::region_within(region, &s.region_code))
        .collect())
}

/// A role with its permissions.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct RoleInfo {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[sqlx(try_from = "JsonText")]
    pub permissions: Vec<Permission>,
    #[sqlx(try_from = "Flag")]
    pub builtin: bool,
}

pub async fn roles(pool: &sqlx::AnyPool) -> Result<Vec<RoleInfo>> {
    let rows =
        sqlx::query("SELECT code, name_zh, name_en, permissions, builtin FROM roles ORDER BY builtin DESC, code")
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(read).collect()
}

/// The union of the permissions of `role_codes`.
pub async fn permissions_of(pool: &sqlx::AnyPool, role_codes: &[String]) -> Result<Vec<Permission>> {
    let mut out: Vec<Permission> = roles(pool)
        .await?
        .into_iter()
        .filter(|r| role_codes.contains(&r.code))
        .flat_map(|r| r.permissions)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A legal person as shown.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct LegalPerson {
    pub id: String,
    pub name: String,
    pub uscc: String,
    #[sqlx(try_from = "String")]
    pub kind: LegalKind,
    pub legal_representative: String,
}

/// The legal person with this unified social credit code.
pub async fn legal_by_uscc(store: &Store, uscc: &str) -> Result<Option<LegalPerson>> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM legal_persons WHERE uscc = $1")
        .bind(uscc.trim().to_uppercase())
        .fetch_optional(&store.read)
        .await?;
    match id {
        Some(id) => legal_person(&store.read, &id).await,
        None => Ok(None),
    }
}

pub async fn legal_person(pool: &sqlx::AnyPool, id: &str) -> Result<Option<LegalPerson>> {
    sqlx::query("SELECT id, name, uscc, kind, legal_representative FROM legal_persons WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(read)
        .transpose()
}
