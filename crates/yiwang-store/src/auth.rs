//! Logins (password, then TOTP or a recovery code), lockout, TOTP enrolment, server-side
//! sessions and API tokens. Every login, failure, lock, enrolment, revocation and token
//! use is a security audit record in the ledger; secrets never are.

use crate::accounts::{self, AccountRow, security};
use crate::rows::{JsonText, read};
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id, now_ms};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use yiwang_core::access::{self, Permission};
use yiwang_core::accounts::refused;
use yiwang_core::auth::{self as core, Failures, Policy};
use yiwang_core::{DomainError, FieldError};

#[derive(Debug, Clone)]
pub enum Cmd {
    LoginFailed {
        account_id: Option<String>,
        reason: String,
        ip: String,
        policy: Policy,
    },
    LoginSucceeded {
        account_id: String,
        method: String,
        totp_step: Option<i64>,
        recovery_hash: Option<String>,
        ip: String,
    },
    TotpPending {
        account_id: String,
        sealed: String,
    },
    TotpEnable {
        account_id: String,
        sealed: String,
        step: i64,
        recovery_hashes: Vec<String>,
    },
    SessionSave {
        id: String,
        account_id: Option<String>,
        data: String,
        expires_at: i64,
    },
    SessionDelete {
        id: String,
    },
    SessionsRevoke {
        account_id: String,
        except: Option<String>,
    },
    TokenCreate(Box<TokenInfo>, String),
    TokenRevoke {
        id: String,
    },
    TokenUsed {
        id: String,
    },
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::LoginFailed {
            account_id,
            reason,
            ip,
            policy,
        } => {
            let subject = account_id.clone().unwrap_or_else(|| "(unknown)".into());
            security(ctx, "login.failed", &subject, json!({ "reason": reason, "ip": ip })).await?;
            let Some(id) = account_id else {
                return Ok(json!({ "locked": false }));
            };
            let row = sqlx::query("SELECT failed_count, locked_until FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *ctx.conn)
                .await?;
            let before = Failures {
                count: row.try_get("failed_count")?,
                locked_until: row.try_get("locked_until")?,
            };
            let after = policy.after_failure(before, ctx.now_ms);
            sqlx::query("UPDATE accounts SET failed_count = $1, locked_until = $2 WHERE id = $3")
                .bind(after.count)
                .bind(after.locked_until)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            let locked = policy.locked(after, ctx.now_ms) && !policy.locked(before, ctx.now_ms);
            if locked {
                security(ctx, "account.locked", id, json!({ "until": after.locked_until })).await?;
            }
            Ok(json!({ "locked": locked, "locked_until": after.locked_until }))
        }
        Cmd::LoginSucceeded {
            account_id,
            method,
            totp_step,
            recovery_hash,
            ip,
        } => {
            let acc = accounts::account(&mut *ctx.conn, account_id)
                .await?
                .ok_or_else(|| DomainError::not_found("login", "账号", "account", account_id))?;
            if let Some(step) = totp_step {
                // RFC 6238 §5.2, checked again inside the writer: two logins racing with
                // the same code cannot both pass.
                core::check_totp_step("totp_code", Some(*step), acc.totp_last_step)
                    .map_err(|e| DomainError::invalid(vec![e]))?;
            }
            let mut codes = acc.recovery_codes.clone();
            if let Some(h) = recovery_hash {
                let Some(pos) = codes.iter().position(|c| c == h) else {
                    return Err(accounts::invalid(FieldError::new(
                        "recovery_code",
                        "recovery.used",
                        "恢复码无效或已使用",
                        "the recovery code is wrong or already used",
                    )));
                };
                codes.remove(pos);
            }
            security(
                ctx,
                "login.succeeded",
                account_id,
                json!({ "method": method, "ip": ip, "recovery_codes_left": codes.len() }),
            )
            .await?;
            sqlx::query(
                "UPDATE accounts SET failed_count = 0, locked_until = NULL, totp_last_step = COALESCE($1, totp_last_step),
                   recovery_codes = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(totp_step)
            .bind(json!(codes).to_string())
            .bind(ctx.now_ms)
            .bind(account_id)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "account_id": account_id }))
        }
        Cmd::TotpPending { account_id, sealed } => {
            ctx.begin_write().await?;
            sqlx::query("UPDATE accounts SET totp_pending_enc = $1 WHERE id = $2")
                .bind(sealed)
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({}))
        }
        Cmd::TotpEnable {
            account_id,
            sealed,
            step,
            recovery_hashes,
        } => {
            security(
                ctx,
                "totp.enabled",
                account_id,
                json!({ "recovery_codes": recovery_hashes.len() }),
            )
            .await?;
            sqlx::query(
                "UPDATE accounts SET totp_enc = $1, totp_pending_enc = NULL, totp_last_step = $2, recovery_codes = $3,
                   updated_at = $4 WHERE id = $5",
            )
            .bind(sealed)
            .bind(step)
            .bind(json!(recovery_hashes).to_string())
            .bind(ctx.now_ms)
            .bind(account_id)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "account_id": account_id }))
        }
        Cmd::SessionSave {
            id,
            account_id,
            data,
            expires_at,
        } => {
            ctx.begin_write().await?;
            sqlx::query(
                "INSERT INTO sessions (id, account_id, data, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, data = excluded.data,
                   expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(account_id)
            .bind(data)
            .bind(expires_at)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({}))
        }
        Cmd::SessionDelete { id } => {
            ctx.begin_write().await?;
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({}))
        }
        Cmd::SessionsRevoke { account_id, except } => {
            security(
                ctx,
                "sessions.revoked",
                account_id,
                json!({ "kept_current": except.is_some() }),
            )
            .await?;
            let n = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id <> $2")
                .bind(account_id)
                .bind(except.clone().unwrap_or_default())
                .execute(&mut *ctx.conn)
                .await?
                .rows_affected();
            Ok(json!({ "revoked": n }))
        }
        Cmd::TokenCreate(t, hash) => {
            security(
                ctx,
                "token.created",
                &t.id,
                json!({ "name": t.name, "permissions": t.permissions, "department_id": t.department_id, "region_code": t.region_code }),
            )
            .await?;
            sqlx::query(
                "INSERT INTO api_tokens (id, name, secret_hash, permissions, department_id, region_code, created_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(hash)
            .bind(json!(t.permissions).to_string())
            .bind(&t.department_id)
            .bind(&t.region_code)
            .bind(&t.created_by)
            .bind(ctx.now_ms)
            .bind(t.expires_at)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(serde_json::to_value(&**t).expect("serialisable"))
        }
        Cmd::TokenRevoke { id } => {
            security(ctx, "token.revoked", id, json!({})).await?;
            let n = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(DomainError::not_found("token_id", "令牌", "token", id).into());
            }
            Ok(json!({ "id": id, "revoked": true }))
        }
        Cmd::TokenUsed { id } => {
            security(ctx, "token.used", id, json!({})).await?;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({}))
        }
    }
}

/// What a login attempt asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// Staff login name, or a person's mobile number or resident ID number.
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub totp_code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// How a login attempt ended (refusals are errors).
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Logged in.
    Done(Box<AccountRow>),
    /// The password was right; a TOTP code or recovery code is needed.
    NeedSecondFactor(String),
    /// The password was right; this staff account must enrol a TOTP authenticator first.
    NeedEnrolment(String),
}

fn wrong_login() -> StoreError {
    refused(
        "login",
        "login.failed",
        "账号或密码错误",
        "the login or the password is wrong",
    )
    .into()
}

async fn fail(store: &Store, account_id: Option<&str>, reason: &str, ip: &str) -> Result<()> {
    store
        .write(
            Meta::actor(
                account_id
                    .map(|a| format!("account:{a}"))
                    .unwrap_or_else(|| "anonymous".into()),
            ),
            Command::Auth(Cmd::LoginFailed {
                account_id: account_id.map(str::to_string),
                reason: reason.into(),
                ip: ip.into(),
                policy: store.policy,
            }),
        )
        .await?;
    Ok(())
}

fn locked_error(until: i64) -> StoreError {
    let mins = ((until - now_ms()) / 60_000).max(1);
    refused(
        "login",
        "account.locked",
        &format!("登录失败次数过多，账号已锁定，请 {mins} 分钟后再试"),
        &format!("too many failed logins: the account is locked; try again in {mins} minutes"),
    )
    .into()
}

/// Where a login attempt comes from: the client's address and the device cookie its
/// browser holds from an earlier successful login, if any.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub ip: &'a str,
    pub device: Option<&'a str>,
}

/// A device cookie for a browser that has just logged in to `account_id`: a random nonce
/// and its keyed SM3 MAC, bound to the account (OWASP "Slow Down Online Guessing Attacks
/// with Device Cookies"). It carries no secret of the account and proves only "this browser
/// logged in here before".
pub fn device_token(store: &Store, account_id: &str) -> String {
    let mut raw = [0u8; 16];
    rand::fill(&mut raw);
    let nonce = hex::encode(raw);
    let mac = store.pii.index("login_device", &format!("{account_id}\0{nonce}"));
    format!("{nonce}.{mac}")
}

/// The nonce of a valid device cookie for `account_id`.
fn device_of(store: &Store, account_id: &str, token: Option<&str>) -> Option<String> {
    let (nonce, mac) = token?.split_once('.')?;
    let want = store.pii.index("login_device", &format!("{account_id}\0{nonce}"));
    bool::from(subtle::ConstantTimeEq::ct_eq(want.as_bytes(), mac.as_bytes())).then(|| nonce.to_string())
}

/// Until when further attempts are refused: for a known browser its own lock, for any
/// other client the account's lock of unknown clients. So an attacker guessing a known
/// login locks out only unknown clients, never the real user's browser, and each known
/// browser has its own five tries (GB/T 22239-2019 §8.1.4.1 b: 登录失败处理).
fn locked_until(store: &Store, acc: &AccountRow, device: Option<&str>) -> Option<i64> {
    let now = now_ms();
    let f = match device {
        Some(d) => store
            .device_failures
            .lock()
            .expect("device failures")
            .get(d)
            .copied()
            .unwrap_or_default(),
        None => Failures {
            count: acc.failed_count,
            locked_until: acc.locked_until,
        },
    };
    store.policy.locked(f, now).then(|| f.locked_until.unwrap_or(now))
}

/// Records a failed attempt against what `locked_until` checks.
async fn failed(store: &Store, account_id: &str, device: Option<&str>, reason: &str, ip: &str) -> Result<()> {
    let Some(d) = device else {
        return fail(store, Some(account_id), reason, ip).await;
    };
    {
        let mut m = store.device_failures.lock().expect("device failures");
        let f = m.get(d).copied().unwrap_or_default();
        m.insert(d.to_string(), store.policy.after_failure(f, now_ms()));
    }
    store
        .write(
            Meta::actor(format!("account:{account_id}")),
            Command::Audit(yiwang_core::audit::AuditRecord {
                category: "security".into(),
                action: "login.failed".into(),
                subject: account_id.into(),
                detail: json!({ "reason": reason, "ip": ip, "known_device": true }),
            }),
        )
        .await?;
    Ok(())
}

/// First step of a login: the password (and, if sent at once, the second factor).
pub async fn login(store: &Store, input: &LoginInput, client: Client<'_>) -> Result<LoginOutcome> {
    let ip = client.ip;
    let acc = accounts::account_by_login(store, &input.login).await?;
    let Some(acc) = acc else {
        accounts::verify_password(&input.password, None).await?;
        fail(store, None, "unknown login", ip).await?;
        return Err(wrong_login());
    };
    if acc.disabled {
        fail(store, Some(&acc.id), "account disabled", ip).await?;
        return Err(refused("login", "account.disabled", "该账号已停用", "this account is disabled").into());
    }
    let device = device_of(store, &acc.id, client.device);
    let device = device.as_deref();
    if let Some(until) = locked_until(store, &acc, device) {
        store
            .write(
                Meta::actor(format!("account:{}", acc.id)),
                Command::Audit(yiwang_core::audit::AuditRecord {
                    category: "security".into(),
                    action: "login.refused_locked".into(),
                    subject: acc.id.clone(),
                    detail: json!({ "ip": ip }),
                }),
            )
            .await?;
        return Err(locked_error(until));
    }
    if !accounts::verify_password(&input.password, Some(acc.password_hash.clone())).await? {
        failed(store, &acc.id, device, "wrong password", ip).await?;
        return Err(wrong_login());
    }
    if acc.totp_enabled() {
        if input.totp_code.as_deref().is_some_and(|c| !c.is_empty())
            || input.recovery_code.as_deref().is_some_and(|c| !c.is_empty())
        {
            return second_factor(
                store,
                &acc.id,
                input.totp_code.as_deref(),
                input.recovery_code.as_deref(),
                client,
            )
            .await;
        }
        return Ok(LoginOutcome::NeedSecondFactor(acc.id));
    }
    if acc.is_staff() {
        return Ok(LoginOutcome::NeedEnrolment(acc.id));
    }
    succeed(store, &acc.id, device, "password", None, None, ip).await
}

/// Logs a person in with an SMS code sent to their number (no password). Staff accounts
/// have no number here and log in with password and TOTP.
pub async fn sms_login(store: &Store, phone: &str, code: &str, client: Client<'_>) -> Result<LoginOutcome> {
    let acc = accounts::account_by_login(store, phone.trim())
        .await?
        .filter(|a| a.person_id.is_some() && !a.disabled);
    let actor = acc
        .as_ref()
        .map(|a| format!("account:{}", a.id))
        .unwrap_or_else(|| "anonymous".into());
    crate::sms::take_code(
        store,
        Meta::actor(actor),
        phone,
        yiwang_core::sms::Purpose::Login,
        code,
        "sms_code",
    )
    .await?;
    // A login code is sent only to a registered number, so one that matched has an account.
    let acc = acc.ok_or_else(wrong_login)?;
    let device = device_of(store, &acc.id, client.device);
    succeed(store, &acc.id, device.as_deref(), "sms", None, None, client.ip).await
}

/// Ends every session of an account (after a password reset).
pub async fn end_all_sessions(store: &Store, account_id: &str) -> Result<()> {
    store
        .write(
            Meta::actor(format!("account:{account_id}")),
            Command::Auth(Cmd::SessionsRevoke {
                account_id: account_id.into(),
                except: None,
            }),
        )
        .await?;
    Ok(())
}

async fn succeed(
    store: &Store,
    account_id: &str,
    device: Option<&str>,
    method: &str,
    totp_step: Option<i64>,
    recovery_hash: Option<String>,
    ip: &str,
) -> Result<LoginOutcome> {
    store
        .write(
            Meta::actor(format!("account:{account_id}")),
            Command::Auth(Cmd::LoginSucceeded {
                account_id: account_id.into(),
                method: method.into(),
                totp_step,
                recovery_hash,
                ip: ip.into(),
            }),
        )
        .await?;
    if let Some(d) = device {
        store.device_failures.lock().expect("device failures").remove(d);
    }
    let acc = accounts::account(&store.read, account_id)
        .await?
        .ok_or_else(|| StoreError::Internal("account vanished".into()))?;
    Ok(LoginOutcome::Done(Box::new(acc)))
}

fn totp_context(account_id: &str) -> String {
    format!("accounts.totp:{account_id}")
}
fn pending_context(account_id: &str) -> String {
    format!("accounts.totp_pending:{account_id}")
}
fn recovery_kind(account_id: &str) -> String {
    format!("recovery:{account_id}")
}

/// Second step of a login: a TOTP code (not replayed) or an unused recovery code.
pub async fn second_factor(
    store: &Store,
    account_id: &str,
    totp_code: Option<&str>,
    recovery_code: Option<&str>,
    client: Client<'_>,
) -> Result<LoginOutcome> {
    let ip = client.ip;
    let acc = accounts::account(&store.read, account_id)
        .await?
        .ok_or_else(wrong_login)?;
    let device = device_of(store, &acc.id, client.device);
    let device = device.as_deref();
    if let Some(until) = locked_until(store, &acc, device) {
        return Err(locked_error(until));
    }
    let Some(sealed) = &acc.totp_enc else {
        return Err(wrong_login());
    };
    if let Some(code) = totp_code.filter(|c| !c.trim().is_empty()) {
        let code = code.trim();
        core::check_totp_format("totp_code", code).map_err(accounts::invalid)?;
        let secret = store.pii.open_bytes(&totp_context(&acc.id), sealed)?;
        let matched = yiwang_crypto::totp::matching_step(&secret, code, now_ms() / 1000);
        if let Err(e) = core::check_totp_step("totp_code", matched, acc.totp_last_step) {
            failed(store, &acc.id, device, &e.rule, ip).await?;
            return Err(accounts::invalid(e));
        }
        return succeed(store, &acc.id, device, "password+totp", matched, None, ip).await;
    }
    if let Some(code) = recovery_code.filter(|c| !c.trim().is_empty()) {
        let h = store
            .pii
            .index(&recovery_kind(&acc.id), &core::normalise_recovery_code(code));
        if !acc.recovery_codes.contains(&h) {
            failed(store, &acc.id, device, "wrong recovery code", ip).await?;
            return Err(accounts::invalid(FieldError::new(
                "recovery_code",
                "recovery.wrong",
                "恢复码无效或已使用",
                "the recovery code is wrong or already used",
            )));
        }
        return succeed(store, &acc.id, device, "password+recovery_code", None, Some(h), ip).await;
    }
    Err(accounts::invalid(FieldError::new(
        "totp_code",
        "required",
        "请输入动态验证码或恢复码",
        "enter the one-time code or a recovery code",
    )))
}

/// Starts TOTP enrolment: a new secret, kept sealed as pending until confirmed. Returns
/// the secret for the enrolment page to show once (QR and text).
pub async fn totp_begin(store: &Store, account_id: &str) -> Result<Vec<u8>> {
    let secret = yiwang_crypto::totp::generate_secret();
    store
        .write(
            Meta::actor(format!("account:{account_id}")),
            Command::Auth(Cmd::TotpPending {
                account_id: account_id.into(),
                sealed: store.pii.seal_bytes(&pending_context(account_id), &secret),
            }),
        )
        .await?;
    Ok(secret)
}

/// The pending secret of an enrolment in progress (for re-showing the QR).
pub async fn totp_pending(store: &Store, account_id: &str) -> Result<Option<Vec<u8>>> {
    let acc = accounts::account(&store.read, account_id).await?;
    match acc.and_then(|a| a.totp_pending_enc) {
        Some(s) => Ok(Some(store.pii.open_bytes(&pending_context(account_id), &s)?.to_vec())),
        None => Ok(None),
    }
}

/// Confirms enrolment with a code from the authenticator; returns the recovery codes,
/// shown once (only their keyed hashes are stored).
pub async fn totp_confirm(store: &Store, account_id: &str, code: &str) -> Result<Vec<String>> {
    let code = code.trim();
    core::check_totp_format("totp_code", code).map_err(accounts::invalid)?;
    let secret = totp_pending(store, account_id).await?.ok_or_else(|| {
        accounts::invalid(FieldError::new(
            "totp_code",
            "totp.not_started",
            "请先开始绑定动态验证码",
            "start the authenticator enrolment first",
        ))
    })?;
    let matched = yiwang_crypto::totp::matching_step(&secret, code, now_ms() / 1000);
    let step = core::check_totp_step("totp_code", matched, None).map_err(accounts::invalid)?;
    let codes: Vec<String> = (0..core::RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 5];
            rand::fill(&mut b);
            let s = yiwang_crypto::totp::base32(&b);
            format!("{}-{}", &s[..4], &s[4..])
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| {
            store
                .pii
                .index(&recovery_kind(account_id), &core::normalise_recovery_code(c))
        })
        .collect();
    store
        .write(
            Meta::actor(format!("account:{account_id}")),
            Command::Auth(Cmd::TotpEnable {
                account_id: account_id.into(),
                sealed: store.pii.seal_bytes(&totp_context(account_id), &secret),
                step,
                recovery_hashes: hashes,
            }),
        )
        .await?;
    Ok(codes)
}

/// Enrols a known secret directly (demo accounts and tests only: the secret is printed).
pub async fn totp_set_known(store: &Store, account_id: &str, secret: &[u8]) -> Result<()> {
    store
        .write(
            Meta::actor("system:demo"),
            Command::Auth(Cmd::TotpEnable {
                account_id: account_id.into(),
                sealed: store.pii.seal_bytes(&totp_context(account_id), secret),
                step: 0,
                recovery_hashes: vec![],
            }),
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- sessions

/// A stored session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub account_id: Option<String>,
    pub data: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn session_load(store: &Store, id: &str) -> Result<Option<SessionRow>> {
    let Some(r) = sqlx::query(
        "SELECT id, account_id, data, expires_at, created_at, updated_at FROM sessions WHERE id = $1 AND expires_at > $2",
    )
    .bind(id)
    .bind(now_ms())
    .fetch_optional(&store.read)
    .await?
    else {
        return Ok(None);
    };
    read(r).map(Some)
}

pub async fn session_save(
    store: &Store,
    id: &str,
    account_id: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<()> {
    store
        .write(
            Meta::actor("system:sessions"),
            Command::Auth(Cmd::SessionSave {
                id: id.into(),
                account_id: account_id.map(str::to_string),
                data: data.into(),
                expires_at,
            }),
        )
        .await?;
    Ok(())
}

pub async fn session_delete(store: &Store, id: &str) -> Result<()> {
    store
        .write(
            Meta::actor("system:sessions"),
            Command::Auth(Cmd::SessionDelete { id: id.into() }),
        )
        .await?;
    Ok(())
}

/// The live sessions of an account, newest first.
pub async fn sessions_of(store: &Store, account_id: &str) -> Result<Vec<SessionRow>> {
    let rows = sqlx::query(
        "SELECT id, account_id, data, expires_at, created_at, updated_at FROM sessions
         WHERE account_id = $1 AND expires_at > $2 ORDER BY updated_at DESC",
    )
    .bind(account_id)
    .bind(now_ms())
    .fetch_all(&store.read)
    .await?;
    rows.into_iter().map(read).collect()
}

/// Ends every session of an account except `except` (logout everywhere, or everywhere else).
pub async fn revoke_sessions(store: &Store, meta: Meta, account_id: &str, except: Option<&str>) -> Result<u64> {
    let w = store
        .write(
            meta,
            Command::Auth(Cmd::SessionsRevoke {
                account_id: account_id.into(),
                except: except.map(str::to_string),
            }),
        )
        .await?;
    Ok(w.value["revoked"].as_u64().unwrap_or(0))
}

// ---------------------------------------------------------------- API tokens

/// An API token for a system, as listed (never with its secret).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    #[sqlx(try_from = "JsonText")]
    pub permissions: Vec<Permission>,
    pub department_id: Option<String>,
    pub region_code: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A token request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub name: String,
    pub permissions: Vec<String>,
    #[serde(default)]
    pub department_id: Option<String>,
    pub region_code: String,
    /// Days until it expires (default 365, at most 3650).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// Issues a token. The secret is returned once; only its keyed hash is stored.
/// `grantor`: the permissions and scope of the issuer, which the token cannot exceed.
pub async fn create_token(
    store: &Store,
    meta: Meta,
    input: &TokenInput,
    grantor: &access::Actor,
) -> Result<(TokenInfo, String)> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("name", &input.name, 80);
    let perms = access::parse_permissions("permissions", &input.permissions);
    let days = input.expires_in_days.unwrap_or(365);
    if !(1..=3650).contains(&days) {
        p.push(FieldError::new(
            "expires_in_days",
            "range",
            "有效期为 1–3650 天",
            "a token lasts 1–3650 days",
        ));
    }
    p.check(yiwang_core::regions::level_of("region_code", &input.region_code).map(|_| ()));
    p.finish()?;
    let perms = perms?;
    if perms.is_empty() {
        return Err(accounts::invalid(FieldError::new(
            "permissions",
            "required",
            "至少授予一项权限",
            "grant at least one permission",
        )));
    }
    // A token never carries more than its issuer holds, nor reaches outside the issuer's scope.
    let target = match &input.department_id {
        Some(d) => {
            let dept = crate::orgs::department(&store.read, d)
                .await?
                .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", d))?;
            if dept.region_code != input.region_code {
                return Err(accounts::invalid(FieldError::new(
                    "region_code",
                    "token.region",
                    "令牌的区划须与所属部门一致",
                    "the token's region must be its department's",
                )));
            }
            access::Target::Department {
                id: dept.id,
                region_code: dept.region_code,
            }
        }
        None => access::Target::Region {
            code: input.region_code.clone(),
        },
    };
    for perm in &perms {
        if grantor.authorize(*perm, &target).is_err() {
            // Named by its place in the request (the parsed list is sorted).
            let i = input
                .permissions
                .iter()
                .position(|n| access::Permission::parse(n) == Some(*perm))
                .unwrap_or_default();
            return Err(DomainError::invalid(vec![FieldError::new(
                format!("permissions[{i}]"),
                "token.exceeds_grantor",
                format!("您不能在该范围内授予权限「{}」", perm.as_str()),
                format!("you cannot grant '{}' in that scope", perm.as_str()),
            )])
            .into());
        }
    }
    let mut raw = [0u8; 20];
    rand::fill(&mut raw);
    let id = new_id();
    let secret = format!("ywt_{}", yiwang_crypto::totp::base32(&raw).to_lowercase());
    let info = TokenInfo {
        id,
        name: input.name.trim().into(),
        permissions: perms,
        department_id: input.department_id.clone(),
        region_code: input.region_code.clone(),
        created_by: meta.actor.clone(),
        created_at: now_ms(),
        expires_at: Some(now_ms() + days * 86_400_000),
        revoked_at: None,
        last_used_at: None,
    };
    let hash = store.pii.index("api_token", &secret);
    store
        .write(meta, Command::Auth(Cmd::TokenCreate(Box::new(info.clone()), hash)))
        .await?;
    Ok((info, secret))
}

const TOKEN_COLS: &str =
    "id, name, permissions, department_id, region_code, created_by, created_at, expires_at, revoked_at, last_used_at";

/// The token a bearer secret names, if it is live (not revoked, not expired).
pub async fn token_by_secret(store: &Store, secret: &str) -> Result<Option<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE secret_hash = $1");
    let t = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(store.pii.index("api_token", secret))
        .fetch_optional(&store.read)
        .await?
        .map(read::<TokenInfo, _>)
        .transpose()?;
    Ok(t.filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now_ms())))
}

pub async fn token(store: &Store, id: &str) -> Result<Option<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .map(read::<TokenInfo, _>)
        .transpose()
}

/// Tokens of a region and below, newest first.
pub async fn tokens_in_region(store: &Store, region: &str) -> Result<Vec<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(read::<TokenInfo, _>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|t| access::region_within(region, &t.region_code))
        .collect())
}

pub async fn revoke_token(store: &Store, meta: Meta, id: &str) -> Result<Value> {
    Ok(store
        .write(meta, Command::Auth(Cmd::TokenRevoke { id: id.into() }))
        .await?
        .value)
}

/// Records a token's use (the caller throttles: at most one record per token per minute).
pub async fn token_used(store: &Store, id: &str) -> Result<()> {
    store
        .write(
            Meta::actor(format!("token:{id}")),
            Command::Auth(Cmd::TokenUsed { id: id.into() }),
        )
        .await?;
    Ok(())
}

/// A stream name helper kept for symmetry with other modules.
pub fn account_stream(account_id: &str) -> String {
    format!("account:{account_id}")
}
