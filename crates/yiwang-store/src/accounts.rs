//! Accounts: persons (identifiers encrypted, blind-indexed, masked), legal persons with
//! their agents, staff with roles, and roles as data. Service functions shared by the
//! API, the pages and the CLI.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id, now_ms, orgs};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Any, Executor, Row};
use yiwang_core::access::{self, Permission};
use yiwang_core::accounts::{self as core, LegalKind, LegalPersonInput, PersonInput, PersonRefs, StaffInput};
use yiwang_core::audit::AuditRecord;
use yiwang_core::mandates::{MandateKind, Scope, Subject};
use yiwang_core::{DomainError, FieldError};

/// A person registration ready to store: identifiers already sealed and indexed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewPerson {
    pub person_id: String,
    pub account_id: String,
    pub name: String,
    pub id_number_enc: String,
    pub id_number_index: String,
    pub id_number_masked: String,
    pub phone_enc: String,
    pub phone_index: String,
    pub phone_masked: String,
    pub address_enc: Option<String>,
    /// The staff account that registered the person at a window (帮办), if any.
    pub registered_by: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewLegal {
    pub legal_id: String,
    pub name: String,
    pub uscc: String,
    pub kind: LegalKind,
    pub legal_representative: String,
    pub agent_person_id: String,
    pub agent_name: String,
    pub mandate_id: String,
    /// How the agent was shown to stand for it: `licence`, `window:<clerk>`, `administrator`
    /// (in the ledger event).
    pub proven_by: String,
}

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub account_id: String,
    pub login: String,
    pub name: String,
    pub department_id: String,
    pub roles: Vec<String>,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    RegisterPerson(Box<NewPerson>),
    RegisterLegal(Box<NewLegal>),
    CreateStaff(Box<NewStaff>),
    SetStaffRoles {
        account_id: String,
        roles: Vec<String>,
    },
    SetDisabled {
        account_id: String,
        disabled: bool,
    },
    SetRole {
        code: String,
        name_zh: String,
        name_en: String,
        permissions: Vec<Permission>,
        builtin: bool,
    },
    SetPassword {
        account_id: String,
        password_hash: String,
    },
    /// Records the permissions this node knows (see `seed_roles`).
    MarkPermissionsSeen(Vec<String>),
}

/// A security audit record in the ledger (category `security`), in the command's savepoint.
pub(crate) async fn security(ctx: &mut WriteCtx<'_>, action: &str, subject: &str, detail: Value) -> Result<()> {
    crate::audit::execute(
        ctx,
        &AuditRecord {
            category: "security".into(),
            action: action.into(),
            subject: subject.into(),
            detail,
        },
    )
    .await?;
    Ok(())
}

/// A unique-index violation turned into a conflict on `field` (a race the read-side check
/// could not see); any other error passes through.
pub(crate) fn unique(e: sqlx::Error, field: &str, zh: &str, en: &str) -> StoreError {
    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
        DomainError::conflict(field, &format!("{field}.unique"), zh.into(), en.into()).into()
    } else {
        e.into()
    }
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::RegisterPerson(p) => {
            ctx.append(
                &format!("person:{}", p.person_id),
                Expect::New,
                "person.registered",
                &**p,
            )
            .await?;
            sqlx::query(
                "INSERT INTO persons (id, name, id_number_enc, id_number_index, id_number_masked, phone_enc, phone_index,
                   phone_masked, address_enc, registered_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(&p.person_id)
            .bind(&p.name)
            .bind(&p.id_number_enc)
            .bind(&p.id_number_index)
            .bind(&p.id_number_masked)
            .bind(&p.phone_enc)
            .bind(&p.phone_index)
            .bind(&p.phone_masked)
            .bind(&p.address_enc)
            .bind(&p.registered_by)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await
            .map_err(|e| {
                unique(
                    e,
                    "id_number",
                    "该证件号码或手机号码已注册",
                    "this ID number or mobile number is registered",
                )
            })?;
            insert_account(
                ctx,
                &p.account_id,
                "person",
                None,
                Some(&p.person_id),
                &p.name,
                &p.password_hash,
            )
            .await?;
            Ok(json!({ "account_id": p.account_id, "person_id": p.person_id, "assisted": p.registered_by.is_some() }))
        }
        Cmd::RegisterLegal(l) => {
            ctx.append(
                &format!("legal:{}", l.legal_id),
                Expect::New,
                "legal_person.registered",
                &**l,
            )
            .await?;
            sqlx::query(
                "INSERT INTO legal_persons (id, name, uscc, kind, legal_representative, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&l.legal_id)
            .bind(&l.name)
            .bind(&l.uscc)
            .bind(l.kind.as_str())
            .bind(&l.legal_representative)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await
            .map_err(|e| unique(e, "uscc", "该统一社会信用代码已注册", "this credit code is registered"))?;
            crate::mandates::insert(
                ctx,
                &crate::mandates::Row {
                    id: l.mandate_id.clone(),
                    kind: MandateKind::Agent,
                    principal: Subject::Legal(l.legal_id.clone()),
                    principal_name: l.name.clone(),
                    grantee_person_id: l.agent_person_id.clone(),
                    grantee_name: l.agent_name.clone(),
                    scope: Scope::All,
                    valid_from: chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
                    valid_until: chrono::NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"),
                },
            )
            .await?;
            Ok(json!({ "legal_person_id": l.legal_id, "agent_mandate_id": l.mandate_id }))
        }
        Cmd::CreateStaff(s) => {
            let dept = orgs::department(&mut *ctx.conn, &s.department_id)
                .await?
                .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &s.department_id))?;
            let body = json!({ "account_id": s.account_id, "login": s.login, "name": s.name,
                "department_id": s.department_id, "region_code": dept.region_code, "roles": s.roles });
            ctx.append(
                &format!("account:{}", s.account_id),
                Expect::New,
                "staff.created",
                &body,
            )
            .await?;
            insert_account(
                ctx,
                &s.account_id,
                "staff",
                Some(&s.login),
                None,
                &s.name,
                &s.password_hash,
            )
            .await?;
            sqlx::query(
                "INSERT INTO staff (account_id, name, department_id, region_code, roles) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&s.account_id)
            .bind(&s.name)
            .bind(&s.department_id)
            .bind(&dept.region_code)
            .bind(json!(s.roles).to_string())
            .execute(&mut *ctx.conn)
            .await?;
            security(ctx, "roles.assigned", &s.account_id, json!({ "roles": s.roles })).await?;
            Ok(body)
        }
        Cmd::SetStaffRoles { account_id, roles } => {
            let before: Option<String> = sqlx::query_scalar("SELECT roles FROM staff WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            let before =
                before.ok_or_else(|| DomainError::not_found("account_id", "工作人员", "staff member", account_id))?;
            let body = json!({ "account_id": account_id, "roles": roles });
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Exists,
                "staff.roles_changed",
                &body,
            )
            .await?;
            sqlx::query("UPDATE staff SET roles = $1 WHERE account_id = $2")
                .bind(json!(roles).to_string())
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            let before: Value = serde_json::from_str(&before).unwrap_or(Value::Null);
            security(
                ctx,
                "roles.changed",
                account_id,
                json!({ "before": before, "after": roles }),
            )
            .await?;
            Ok(body)
        }
        Cmd::SetDisabled { account_id, disabled } => {
            let body = json!({ "account_id": account_id, "disabled": disabled });
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Exists,
                "account.disabled_changed",
                &body,
            )
            .await
            .map_err(|e| match e {
                StoreError::Concurrency(_) => {
                    DomainError::not_found("account_id", "账号", "account", account_id).into()
                }
                e => e,
            })?;
            sqlx::query("UPDATE accounts SET disabled = $1, updated_at = $2 WHERE id = $3")
                .bind(i16::from(*disabled))
                .bind(ctx.now_ms)
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            if *disabled {
                sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *ctx.conn)
                    .await?;
            }
            security(
                ctx,
                if *disabled {
                    "account.disabled"
                } else {
                    "account.enabled"
                },
                account_id,
                json!({}),
            )
            .await?;
            Ok(body)
        }
        Cmd::SetRole {
            code,
            name_zh,
            name_en,
            permissions,
            builtin,
        } => {
            let body = json!({ "code": code, "name_zh": name_zh, "name_en": name_en, "permissions": permissions });
            ctx.append(&format!("role:{code}"), Expect::Any, "role.set", &body)
                .await?;
            sqlx::query(
                "INSERT INTO roles (code, name_zh, name_en, permissions, builtin, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
                   permissions = excluded.permissions, updated_at = excluded.updated_at",
            )
            .bind(code)
            .bind(name_zh)
            .bind(name_en)
            .bind(json!(permissions).to_string())
            .bind(i16::from(*builtin))
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            security(ctx, "role.permissions_set", code, json!({ "permissions": permissions })).await?;
            Ok(body)
        }
        Cmd::MarkPermissionsSeen(ps) => {
            for p in ps {
                sqlx::query(
                    "INSERT INTO permissions_seen (permission) VALUES ($1) ON CONFLICT (permission) DO NOTHING",
                )
                .bind(p)
                .execute(&mut *ctx.conn)
                .await?;
            }
            Ok(json!({ "seen": ps }))
        }
        Cmd::SetPassword {
            account_id,
            password_hash,
        } => {
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Any,
                "account.password_changed",
                &json!({ "account_id": account_id }),
            )
            .await?;
            sqlx::query("UPDATE accounts SET password_hash = $1, failed_count = 0, locked_until = NULL, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(ctx.now_ms)
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            security(ctx, "password.changed", account_id, json!({})).await?;
            Ok(json!({ "account_id": account_id }))
        }
    }
}

async fn insert_account(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    kind: &str,
    login: Option<&str>,
    person_id: Option<&str>,
    name: &str,
    hash: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, kind, login, person_id, display_name, password_hash, recovery_codes, failed_count, disabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, '[]', 0, 0, $7, $7)",
    )
    .bind(id)
    .bind(kind)
    .bind(login)
    .bind(person_id)
    .bind(name)
    .bind(hash)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await
    .map_err(|e| unique(e, "login", "该账号已存在", "this login exists"))?;
    Ok(())
}

/// Hashes a password off the async threads (Argon2id takes tens of milliseconds).
pub async fn hash_password(password: &str) -> Result<String> {
    let p = zeroize::Zeroizing::new(password.to_string());
    tokio::task::spawn_blocking(move || yiwang_crypto::password::hash(&p))
        .await
        .map_err(|e| StoreError::Internal(format!("hashing: {e}")))
}

/// Checks a password off the async threads.
pub async fn verify_password(password: &str, hash: Option<String>) -> Result<bool> {
    let p = zeroize::Zeroizing::new(password.to_string());
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => yiwang_crypto::password::verify(&p, &h),
        None => {
            yiwang_crypto::password::verify_dummy(&p);
            false
        }
    })
    .await
    .map_err(|e| StoreError::Internal(format!("hashing: {e}")))
}

/// The outcome of a registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    pub account_id: String,
    pub person_id: String,
    pub assisted: bool,
}

/// Registers a natural person with an account. `registered_by`: the staff account of a
/// window clerk registering the person at the window (帮办), recorded as such.
/// Registering oneself: the number proved by the SMS code sent to it, then the person.
/// A number already registered never gets a registration code; an identity number already
/// registered is refused without saying so to the form (申请人 is told to log in, recover the
/// password, or bring the ID card to a window if someone else registered it).
pub async fn register_self(store: &Store, meta: Meta, input: &PersonInput) -> Result<Registered> {
    // The form's own mistakes first: they do not cost the code.
    core::decide_person(
        input,
        PersonRefs {
            id_number_taken: false,
            phone_taken: false,
        },
    )?;
    let code = input.sms_code.as_deref().unwrap_or_default();
    crate::sms::take_code(
        store,
        meta.clone(),
        &input.phone,
        yiwang_core::sms::Purpose::Register,
        code,
        "sms_code",
    )
    .await?;
    match register_person(store, meta, input, None).await {
        Err(StoreError::Domain(e)) if e.kind == yiwang_core::ErrorKind::Conflict => {
            Err(DomainError::conflict(
                "id_number",
                "registration.refused",
                "无法用这些信息注册。如您已有账号，请登录或找回密码；如身份证号被他人冒用，请携带身份证到任一政务服务窗口办理".into(),
                "these details cannot be registered. If you have an account, log in or recover the password; if someone else used your ID number, bring your ID card to any service window".into(),
            )
            .into())
        }
        other => other,
    }
}

pub async fn register_person(
    store: &Store,
    meta: Meta,
    input: &PersonInput,
    registered_by: Option<&str>,
) -> Result<Registered> {
    let id_norm = input.id_number.trim().to_uppercase();
    let phone_norm = input.phone.trim().to_string();
    let refs = PersonRefs {
        id_number_taken: person_id_by_index(&store.read, &store.pii.index("id_number", &id_norm))
            .await?
            .is_some(),
        phone_taken: person_id_by_phone_index(&store.read, &store.pii.index("phone", &phone_norm))
            .await?
            .is_some(),
    };
    let p = core::decide_person(input, refs)?;
    let person_id = new_id();
    let password_hash = hash_password(&input.password).await?;
    let new = NewPerson {
        account_id: new_id(),
        name: p.name.clone(),
        id_number_enc: store.pii.seal(&format!("persons.id_number:{person_id}"), &p.id_number),
        id_number_index: store.pii.index("id_number", &p.id_number),
        id_number_masked: core::mask_id_number(&p.id_number),
        phone_enc: store.pii.seal(&format!("persons.phone:{person_id}"), &p.phone),
        phone_index: store.pii.index("phone", &p.phone),
        phone_masked: core::mask_phone(&p.phone),
        address_enc: p
            .address
            .as_ref()
            .map(|a| store.pii.seal(&format!("persons.address:{person_id}"), a)),
        registered_by: registered_by.map(str::to_string),
        password_hash,
        person_id,
    };
    let w = store
        .write(meta, Command::Accounts(Cmd::RegisterPerson(Box::new(new))))
        .await?;
    serde_json::from_value(w.value).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Registers a legal person with `agent_person_id` as its first agent (经办人).
/// How a person is shown to stand for an enterprise they register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegalProof {
    /// Self-service: a valid licence the platform holds names the enterprise as holder and
    /// the person as its legal representative (营业执照 and the like).
    Licence,
    /// A window clerk checked the papers in person (recorded as such).
    Window { clerk: String },
    /// Set up by the platform's administrator (the bootstrap token, the demo).
    Administrator,
}

/// Does a valid licence the platform holds name `name` as the legal representative of the
/// enterprise `uscc`? (《市场主体登记管理条例》第二十二条: the business licence records the
/// legal representative.)
async fn representative_on_licence(store: &Store, uscc: &str, name: &str) -> Result<bool> {
    let today = crate::today();
    for l in crate::licences::of_legal(store, uscc).await? {
        if l.status != yiwang_core::licences::Status::Valid {
            continue;
        }
        if let Some(f) = crate::licences::file(store, &l.id).await?
            && f.data.valid_from <= today
            && f.data.valid_until.is_none_or(|u| u >= today)
            && f.data
                .face
                .get("legal_representative")
                .is_some_and(|r| r.trim() == name.trim())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Registers an enterprise with `agent_person_id` as its agent, shown by `proof` to stand
/// for it (issue 13: nobody acts for an enterprise on their word alone).
pub async fn register_legal(
    store: &Store,
    meta: Meta,
    input: &LegalPersonInput,
    agent_person_id: &str,
    proof: &LegalProof,
) -> Result<Value> {
    let uscc = input.uscc.trim().to_uppercase();
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM legal_persons WHERE uscc = $1")
        .bind(&uscc)
        .fetch_optional(&store.read)
        .await?;
    let l = core::decide_legal_person(input, taken.is_some())?;
    let agent = person(&store.read, agent_person_id)
        .await?
        .ok_or_else(|| DomainError::not_found("agent", "经办人", "agent", agent_person_id))?;
    if *proof == LegalProof::Licence && !representative_on_licence(store, &l.uscc, &agent.name).await? {
        return Err(DomainError::forbidden(FieldError::new(
            "uscc",
            "legal.not_representative",
            "平台未查到以您为法定代表人的该单位有效营业执照。请由法定代表人登记后授权您办理，或携带营业执照和授权书到政务服务窗口办理",
            "the platform holds no valid business licence of this organisation naming you as its legal representative: have the legal representative register it and grant you a mandate, or bring the licence and an authorisation to a service window",
        ))
        .into());
    }
    let proven_by = match proof {
        LegalProof::Licence => "licence".to_string(),
        LegalProof::Window { clerk } => format!("window:{clerk}"),
        LegalProof::Administrator => "administrator".to_string(),
    };
    let new = NewLegal {
        legal_id: new_id(),
        name: l.name,
        uscc: l.uscc,
        kind: l.kind,
        legal_representative: l.legal_representative,
        agent_person_id: agent.id,
        agent_name: agent.name,
        mandate_id: new_id(),
        proven_by,
    };
    Ok(store
        .write(meta, Command::Accounts(Cmd::RegisterLegal(Box::new(new))))
        .await?
        .value)
}

/// The roles among `asked` that `granter` may give a staff member of `target` (account
/// `grantee`); roles the member already holds (`held`) are not re-checked, so taking a role
/// away never needs it. See `access::check_grant`.
fn check_grant(
    granter: &access::Actor,
    grantee: &str,
    target: &access::Target,
    all: &[RoleInfo],
    asked: &[String],
    held: &[String],
) -> Result<()> {
    let added: Vec<(String, Vec<access::Permission>)> = asked
        .iter()
        .map(|code| {
            let perms = match all.iter().find(|r| &r.code == code) {
                Some(r) if !held.contains(code) => r.permissions.clone(),
                _ => vec![],
            };
            (code.clone(), perms)
        })
        .collect();
    Ok(access::check_grant(granter, grantee, target, &added, "roles")?)
}

/// Creates a staff account (the second factor is enrolled at first login).
pub async fn create_staff(store: &Store, meta: Meta, granter: &access::Actor, input: &StaffInput) -> Result<Value> {
    let all = roles(&store.read).await?;
    let known: Vec<String> = all.iter().map(|r| r.code.clone()).collect();
    let dept = orgs::department(&store.read, &input.department_id).await?;
    let taken = account_by_login(store, &input.login).await?.is_some();
    core::decide_staff(input, dept.is_some(), taken, &known)?;
    if let Some(d) = &dept {
        let target = access::Target::Department {
            id: d.id.clone(),
            region_code: d.region_code.clone(),
        };
        check_grant(granter, "", &target, &all, &input.roles, &[])?;
    }
    let password_hash = hash_password(&input.password).await?;
    let new = NewStaff {
        account_id: new_id(),
        login: input.login.clone(),
        name: input.name.trim().to_string(),
        department_id: input.department_id.clone(),
        roles: input.roles.clone(),
        password_hash,
    };
    Ok(store
        .write(meta, Command::Accounts(Cmd::CreateStaff(Box::new(new))))
        .await?
        .value)
}

/// Replaces a staff member's roles; `granter` may add only roles within its own rights,
/// and never to itself.
pub async fn set_staff_roles(
    store: &Store,
    meta: Meta,
    granter: &access::Actor,
    account_id: &str,
    roles_in: &[String],
) -> Result<Value> {
    let all = roles(&store.read).await?;
    let known: Vec<String> = all.iter().map(|r| r.code.clone()).collect();
    let mut p = yiwang_core::error::Problems::new();
    core::check_roles(&mut p, roles_in, &known);
    p.finish()?;
    let member = staff(&store.read, account_id)
        .await?
        .ok_or_else(|| DomainError::not_found("account_id", "工作人员", "staff member", account_id))?;
    let target = access::Target::Department {
        id: member.department_id.clone(),
        region_code: member.region_code.clone(),
    };
    check_grant(granter, account_id, &target, &all, roles_in, &member.roles)?;
    Ok(store
        .write(
            meta,
            Command::Accounts(Cmd::SetStaffRoles {
                account_id: account_id.into(),
                roles: roles_in.to_vec(),
            }),
        )
        .await?
        .value)
}

pub async fn set_disabled(store: &Store, meta: Meta, account_id: &str, disabled: bool) -> Result<Value> {
    Ok(store
        .write(
            meta,
            Command::Accounts(Cmd::SetDisabled {
                account_id: account_id.into(),
                disabled,
            }),
        )
        .await?
        .value)
}

/// Changes a role's permissions (names checked).
/// Changes a role's permissions (names checked). A permission added to a role must be one
/// the changer holds itself (GB/T 22239-2019 §8.1.4.2: no grant beyond one's own rights),
/// so `role_manage` cannot be turned into any other right.
pub async fn set_role_permissions(
    store: &Store,
    meta: Meta,
    granter: &access::Actor,
    code: &str,
    names: &[String],
) -> Result<Value> {
    let role = roles(&store.read)
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .ok_or_else(|| DomainError::not_found("role", "角色", "role", code))?;
    let permissions = access::parse_permissions("permissions", names)?;
    let beyond: Vec<FieldError> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| access::Permission::parse(n).map(|p| (i, p)))
        .filter(|(_, p)| !role.permissions.contains(p) && !granter.has(*p))
        .map(|(i, p)| {
            FieldError::new(
                format!("permissions[{i}]"),
                "grant.exceeds_grantor",
                format!("您不具备权限「{}」，不能把它加入角色", p.as_str()),
                format!("you do not hold '{}' and cannot add it to a role", p.as_str()),
            )
        })
        .collect();
    if !beyond.is_empty() {
        return Err(DomainError::forbidden_many(beyond).into());
    }
    Ok(store
        .write(
            meta,
            Command::Accounts(Cmd::SetRole {
                code: role.code,
                name_zh: role.name_zh,
                name_en: role.name_en,
                permissions,
                builtin: role.builtin,
            }),
        )
        .await?
        .value)
}

/// Changes an account's password after checking the current one.
pub async fn change_password(store: &Store, meta: Meta, account_id: &str, current: &str, new: &str) -> Result<()> {
    let acc = account(&store.read, account_id)
        .await?
        .ok_or_else(|| DomainError::not_found("account", "账号", "account", account_id))?;
    if !verify_password(current, Some(acc.password_hash.clone())).await? {
        return Err(core::refused(
            "current_password",
            "password.wrong",
            "当前密码不正确",
            "the current password is wrong",
        )
        .into());
    }
    store_password(store, meta, &acc, new, "new_password").await
}

/// Sets a new password for an account whose holder proved themselves another way (an SMS
/// code to their number: `sms::reset_password`).
pub async fn set_password(store: &Store, meta: Meta, account_id: &str, new: &str) -> Result<()> {
    let acc = account(&store.read, account_id)
        .await?
        .ok_or_else(|| DomainError::not_found("account", "账号", "account", account_id))?;
    store_password(store, meta, &acc, new, "password").await
}

/// Checks a new password against the account's identifiers and stores its hash.
async fn store_password(store: &Store, meta: Meta, acc: &AccountRow, new: &str, field: &str) -> Result<()> {
    let account_id = acc.id.as_str();
    let mut ids = vec![acc.login.clone().unwrap_or_default()];
    if let Some(pid) = &acc.person_id
        && let Some(p) = person(&store.read, pid).await?
    {
        ids.push(reveal(store, &p, yiwang_core::datause::PersonalField::Phone)?);
        ids.push(reveal(store, &p, yiwang_core::datause::PersonalField::IdNumber)?);
    }
    let idrefs: Vec<&str> = ids.iter().map(String::as_str).collect();
    core::check_password(field, new, &idrefs).map_err(|e| DomainError::invalid(vec![e]))?;
    let password_hash = hash_password(new).await?;
    store
        .write(
            meta,
            Command::Accounts(Cmd::SetPassword {
                account_id: account_id.into(),
                password_hash,
            }),
        )
        .await?;
    Ok(())
}

/// Seeds the built-in roles at open (existing roles keep their edited permissions). A
/// permission new to this node (added by an upgrade) is given once to the built-in roles
/// whose defaults carry it; every such change is in the ledger like any role change.
pub async fn seed_roles(store: &Store) -> Result<()> {
    let existing = roles(&store.read).await?;
    let have: Vec<String> = existing.iter().map(|r| r.code.clone()).collect();
    let seen: Vec<String> = sqlx::query_scalar("SELECT permission FROM permissions_seen")
        .fetch_all(&store.read)
        .await?;
    let new: Vec<Permission> = if seen.is_empty() && !existing.is_empty() {
        // A node from before permissions were tracked knew all but these.
        vec![
            Permission::SealManage,
            Permission::LicenceIssue,
            Permission::TrustManage,
        ]
    } else {
        Permission::ALL
            .into_iter()
            .filter(|p| !seen.iter().any(|s| s == p.as_str()))
            .collect()
    };
    // On a node that already had roles, new permissions reach the built-in roles.
    if !seen.is_empty() || !existing.is_empty() {
        for (code, _, _, perms) in access::default_roles() {
            let Some(r) = existing.iter().find(|r| r.code == code && r.builtin) else {
                continue;
            };
            let add: Vec<Permission> = perms
                .into_iter()
                .filter(|p| new.contains(p) && !r.permissions.contains(p))
                .collect();
            if add.is_empty() {
                continue;
            }
            let mut permissions = r.permissions.clone();
            permissions.extend(add);
            permissions.sort();
            store
                .write(
                    Meta::actor("system"),
                    Command::Accounts(Cmd::SetRole {
                        code: r.code.clone(),
                        name_zh: r.name_zh.clone(),
                        name_en: r.name_en.clone(),
                        permissions,
                        builtin: true,
                    }),
                )
                .await?;
        }
    }
    if !new.is_empty() {
        store
            .write(
                Meta::actor("system"),
                Command::Accounts(Cmd::MarkPermissionsSeen(
                    new.iter().map(|p| p.as_str().to_string()).collect(),
                )),
            )
            .await?;
    }
    for (code, zh, en, perms) in access::default_roles() {
        if have.iter().any(|h| h == code) {
            continue;
        }
        store
            .write(
                Meta::actor("system"),
                Command::Accounts(Cmd::SetRole {
                    code: code.into(),
                    name_zh: zh.into(),
                    name_en: en.into(),
                    permissions: perms,
                    builtin: true,
                }),
            )
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- reads

/// An account row as login and session checks need it. Never serialised.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub kind: core::AccountKind,
    pub login: Option<String>,
    pub person_id: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub totp_enc: Option<String>,
    pub totp_pending_enc: Option<String>,
    pub totp_last_step: Option<i64>,
    pub recovery_codes: Vec<String>,
    pub failed_count: i64,
    pub locked_until: Option<i64>,
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

const ACCOUNT_COLS: &str = "id, kind, login, person_id, display_name, password_hash, totp_enc, totp_pending_enc, totp_last_step, recovery_codes, failed_count, locked_until, disabled";

fn to_account(r: sqlx::any::AnyRow) -> Result<AccountRow> {
    let kind: String = r.try_get("kind")?;
    let codes: String = r.try_get("recovery_codes")?;
    Ok(AccountRow {
        id: r.try_get("id")?,
        kind: if kind == "staff" {
            core::AccountKind::Staff
        } else {
            core::AccountKind::Person
        },
        login: r.try_get("login")?,
        person_id: r.try_get("person_id")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        totp_enc: r.try_get("totp_enc")?,
        totp_pending_enc: r.try_get("totp_pending_enc")?,
        totp_last_step: r.try_get("totp_last_step")?,
        recovery_codes: serde_json::from_str(&codes).unwrap_or_default(),
        failed_count: r.try_get("failed_count")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

pub async fn account<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_account)
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
        return to_account(r).map(Some);
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
        .map(to_account)
        .transpose()
}

async fn person_id_by_index(pool: &sqlx::AnyPool, index: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM persons WHERE id_number_index = $1")
        .bind(index)
        .fetch_optional(pool)
        .await?)
}

async fn person_id_by_phone_index(pool: &sqlx::AnyPool, index: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM persons WHERE phone_index = $1")
        .bind(index)
        .fetch_optional(pool)
        .await?)
}

/// A person as stored: identifiers sealed, masked forms for display.
#[derive(Debug, Clone)]
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

const PERSON_COLS: &str =
    "id, name, id_number_enc, id_number_masked, phone_enc, phone_masked, address_enc, registered_by, created_at";

fn to_person(r: sqlx::any::AnyRow) -> Result<PersonRow> {
    Ok(PersonRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        id_number_enc: r.try_get("id_number_enc")?,
        id_number_masked: r.try_get("id_number_masked")?,
        phone_enc: r.try_get("phone_enc")?,
        phone_masked: r.try_get("phone_masked")?,
        address_enc: r.try_get("address_enc")?,
        registered_by: r.try_get("registered_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn person<'c, E: Executor<'c, Database = Any>>(e: E, id: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLS} FROM persons WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_person)
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffInfo {
    pub account_id: String,
    pub login: String,
    pub name: String,
    pub department_id: String,
    pub department_name: String,
    pub region_code: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub totp_enabled: bool,
}

const STAFF_SQL: &str =
    "SELECT s.account_id, a.login, s.name, s.department_id, COALESCE(d.name, '') AS department_name,
    s.region_code, s.roles, a.disabled, a.totp_enc FROM staff s JOIN accounts a ON a.id = s.account_id
    LEFT JOIN departments d ON d.id = s.department_id";

fn to_staff(r: sqlx::any::AnyRow) -> Result<StaffInfo> {
    let roles: String = r.try_get("roles")?;
    Ok(StaffInfo {
        account_id: r.try_get("account_id")?,
        login: r.try_get::<Option<String>, _>("login")?.unwrap_or_default(),
        name: r.try_get("name")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        region_code: r.try_get("region_code")?,
        roles: serde_json::from_str(&roles).unwrap_or_default(),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        totp_enabled: r.try_get::<Option<String>, _>("totp_enc")?.is_some(),
    })
}

pub async fn staff(pool: &sqlx::AnyPool, account_id: &str) -> Result<Option<StaffInfo>> {
    let sql = format!("{STAFF_SQL} WHERE s.account_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        .map(to_staff)
        .transpose()
}

/// Staff of a region and every region below it.
pub async fn staff_in_region(pool: &sqlx::AnyPool, region: &str) -> Result<Vec<StaffInfo>> {
    let sql = format!("{STAFF_SQL} ORDER BY s.region_code, department_name, a.login");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(to_staff)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| access::region_within(region, &s.region_code))
        .collect())
}

/// A role with its permissions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleInfo {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub permissions: Vec<Permission>,
    pub builtin: bool,
}

pub async fn roles(pool: &sqlx::AnyPool) -> Result<Vec<RoleInfo>> {
    let rows =
        sqlx::query("SELECT code, name_zh, name_en, permissions, builtin FROM roles ORDER BY builtin DESC, code")
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|r| {
            let p: String = r.try_get("permissions")?;
            Ok(RoleInfo {
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                permissions: serde_json::from_str(&p).unwrap_or_default(),
                builtin: r.try_get::<i64, _>("builtin")? != 0,
            })
        })
        .collect()
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegalPerson {
    pub id: String,
    pub name: String,
    pub uscc: String,
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
    let Some(r) = sqlx::query("SELECT id, name, uscc, kind, legal_representative FROM legal_persons WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let kind: String = r.try_get("kind")?;
    Ok(Some(LegalPerson {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        uscc: r.try_get("uscc")?,
        kind: LegalKind::parse(&kind).ok_or_else(|| StoreError::Internal(format!("legal kind {kind}")))?,
        legal_representative: r.try_get("legal_representative")?,
    }))
}

/// A field error as a refused command (helper for callers).
pub fn invalid(e: FieldError) -> StoreError {
    DomainError::invalid(vec![e]).into()
}

/// Milliseconds now (re-exported for callers computing lockouts).
pub fn now() -> i64 {
    now_ms()
}
