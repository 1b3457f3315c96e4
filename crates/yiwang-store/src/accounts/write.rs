//! Registering accounts, staff, passwords and roles.

use super::*;
use yiwang_core::policies::Audience;

pub(super) async fn insert_account(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    kind: core::AccountKind,
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
    .bind(kind.as_str())
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
        birth: yiwang_core::ids::check_resident_id("id_number", &p.id_number)
            .ok()
            .map(|c| (c.birth_date, c.male)),
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
pub(super) async fn representative_on_licence(store: &Store, uscc: &str, name: &str) -> Result<bool> {
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
        uscc_index: crate::sharing::subject_index(store, Audience::Enterprise, &l.uscc),
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
pub(super) fn check_grant(
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
pub(super) async fn store_password(store: &Store, meta: Meta, acc: &AccountRow, new: &str, field: &str) -> Result<()> {
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

/// Gives persons and legal persons registered before migration 0025 their profile rows
/// (and legal persons their credit-code index), a page at a time; nothing to do on a node
/// that has done it (both lookups walk an index of the empty marks).
pub async fn index_legal_persons(store: &Store) -> Result<usize> {
    let mut done = 0;
    loop {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM persons WHERE profiled IS NULL ORDER BY id LIMIT 500")
                .fetch_all(&store.read)
                .await?;
        if ids.is_empty() {
            break;
        }
        done += ids.len();
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(p) = person(&store.read, &id).await? else {
                continue;
            };
            let number = reveal(store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
            let birth = yiwang_core::ids::check_resident_id("id_number", &number)
                .ok()
                .map(|c| (c.birth_date, c.male));
            rows.push((id, store.pii.index("id_number", &number.trim().to_uppercase()), birth));
        }
        store
            .write(Meta::actor("system"), Command::Accounts(Cmd::ProfilePersons(rows)))
            .await?;
    }
    loop {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, uscc FROM legal_persons WHERE uscc_index IS NULL ORDER BY id LIMIT 500")
                .fetch_all(&store.read)
                .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        done += rows.len();
        let rows = rows
            .into_iter()
            .map(|(id, uscc)| (id, crate::sharing::subject_index(store, Audience::Enterprise, &uscc)))
            .collect();
        store
            .write(Meta::actor("system"), Command::Accounts(Cmd::IndexLegal(rows)))
            .await?;
    }
}
