//! SMS one-time codes: issued through the writer (a `sms_codes` row holding only a keyed
//! hash of the code, and a security audit record with the masked number), sent through the
//! province's SMS gateway, and taken once. The gateway is Tencent Cloud SMS (API 3.0,
//! TC3-HMAC-SHA256, `tencent`) on a real node; a demo node prints its messages instead.
//!
//! Whether a number is registered never shows: a request for a code is answered the same,
//! counts against the same limits and writes the same row whether or not a message goes
//! out (a code for a number that cannot use it is never sent, so it never matches).

pub mod tencent;

use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, accounts, new_id, now_ms};
use serde_json::{Value, json};
use sqlx::Row;
use yiwang_core::sms::{self as core, Issued, Purpose, Refused, Verdict};
use yiwang_core::{DomainError, FieldError};

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Gateway {
    /// A demo node: each message is printed on standard output (`demo sms …`), as demo
    /// TOTP secrets are; never used when a gateway is configured.
    Console,
    /// Tencent Cloud SMS (短信 SendSms 2021-01-11), with the province's approved signature
    /// and a template taking the code and the purpose.
    Tencent(tencent::TencentSms),
}

impl Gateway {
    /// Sends `code` to a mainland number.
    pub async fn send(&self, phone: &str, code: &str, purpose: Purpose) -> Result<()> {
        match self {
            Gateway::Console => {
                println!("demo sms to {phone}: code {code} ({})", purpose.as_str());
                Ok(())
            }
            Gateway::Tencent(t) => {
                let body = t.send_sms_body(&format!("+86{phone}"), &[code, purpose.zh()]);
                let ts = now_ms() / 1000;
                let mut req = reqwest::Client::new().post(t.url()).body(body.clone());
                for (k, v) in t.request_headers(&body, ts) {
                    req = req.header(k, v);
                }
                let unavailable = |e: String| {
                    tracing::error!(error = %e, "SMS gateway");
                    StoreError::Unavailable("sms".into())
                };
                let resp = req
                    .timeout(std::time::Duration::from_secs(10))
                    .send()
                    .await
                    .map_err(|e| unavailable(e.to_string()))?;
                let text = resp.text().await.map_err(|e| unavailable(e.to_string()))?;
                tencent::parse_response(&text).map_err(unavailable)
            }
        }
    }
}

/// Commands of this capability.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// A code for a number (its keyed index) and purpose; `sent` whether it goes out.
    Issue {
        id: String,
        phone_index: String,
        phone_masked: String,
        purpose: Purpose,
        code_hash: String,
        sent: bool,
        /// The limits the writer checks against the number's codes of the last day.
        policy: core::CodePolicy,
    },
    /// An entered code: `good` takes it (once), otherwise one more wrong try.
    Attempt { id: String, good: bool },
}

fn code_hash(store: &Store, id: &str, code: &str) -> String {
    store.pii.index("sms_code", &format!("{id}\0{code}"))
}

/// Asks for a code for `phone` and `purpose`. The same answer whether or not the number can
/// use it; refused only by the limits (`StoreError::RateLimited`) or a bad number.
pub async fn request_code(store: &Store, meta: Meta, phone: &str, purpose: Purpose) -> Result<()> {
    let phone = phone.trim();
    yiwang_core::accounts::check_mobile("phone", phone).map_err(|e| DomainError::invalid(vec![e]))?;
    let Some(gateway) = &store.config.sms else {
        return Err(StoreError::Unavailable("sms".into()));
    };
    let registered = accounts::account_by_login(store, phone)
        .await?
        .is_some_and(|a| a.person_id.is_some());
    let sent = purpose.sends(registered);
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let id = new_id();
    store
        .write(
            meta,
            Command::Sms(Cmd::Issue {
                code_hash: code_hash(store, &id, &code),
                id,
                phone_index: store.pii.index("phone", phone),
                phone_masked: yiwang_core::accounts::mask_phone(phone),
                purpose,
                sent,
                policy: store.config.sms_policy,
            }),
        )
        .await?;
    if sent {
        gateway.send(phone, &code, purpose).await?;
    }
    Ok(())
}

/// Takes the latest code sent to `phone` for `purpose` if `code` is it (once); a wrong code
/// counts a try. Errors name `field`.
pub async fn take_code(
    store: &Store,
    meta: Meta,
    phone: &str,
    purpose: Purpose,
    code: &str,
    field: &str,
) -> Result<()> {
    let code = code.trim();
    core::check_code_format(field, code).map_err(|e| DomainError::invalid(vec![e]))?;
    let row = sqlx::query(
        "SELECT id, code_hash, sent_at, attempts, used_at FROM sms_codes
         WHERE phone_index = $1 AND purpose = $2 ORDER BY sent_at DESC LIMIT 1",
    )
    .bind(store.pii.index("phone", phone.trim()))
    .bind(purpose.as_str())
    .fetch_optional(&store.read)
    .await?;
    let Some(row) = row else {
        return Err(core::no_code(field).into());
    };
    let id: String = row.try_get("id")?;
    let stored: String = row.try_get("code_hash")?;
    let matches = bool::from(subtle::ConstantTimeEq::ct_eq(
        code_hash(store, &id, code).as_bytes(),
        stored.as_bytes(),
    ));
    let issued = Issued {
        sent_at: row.try_get("sent_at")?,
        attempts: row.try_get::<i64, _>("attempts")?,
        used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
    };
    let verdict = store.config.sms_policy.judge(&issued, now_ms(), matches);
    if matches!(verdict, Verdict::Good | Verdict::Wrong { .. }) {
        store
            .write(
                meta,
                Command::Sms(Cmd::Attempt {
                    id,
                    good: verdict == Verdict::Good,
                }),
            )
            .await?;
    }
    match verdict.error(field) {
        None => Ok(()),
        Some(e) => Err(e.into()),
    }
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Issue {
            id,
            phone_index,
            phone_masked,
            purpose,
            code_hash,
            sent,
            policy,
        } => {
            // The limits, read inside the writer: two requests at once cannot both pass.
            let since = ctx.now_ms - 86_400_000;
            let rows = sqlx::query("SELECT sent_at, purpose FROM sms_codes WHERE phone_index = $1 AND sent_at > $2")
                .bind(phone_index)
                .bind(since)
                .fetch_all(&mut *ctx.conn)
                .await?;
            let mut times = vec![];
            let mut same = vec![];
            for r in rows {
                let t: i64 = r.try_get("sent_at")?;
                if r.try_get::<String, _>("purpose")? == purpose.as_str() {
                    same.push(t);
                }
                times.push(t);
            }
            if let Err(r) = policy.may_send(&times, &same, ctx.now_ms) {
                let secs = match r {
                    Refused::TooSoon(s) | Refused::DailyCap(s) => s,
                };
                return Err(StoreError::RateLimited(secs.max(1) as u64));
            }
            accounts::security(
                ctx,
                "sms.code_requested",
                phone_masked,
                json!({ "purpose": purpose.as_str(), "sent": sent }),
            )
            .await?;
            sqlx::query(
                "INSERT INTO sms_codes (id, phone_index, purpose, code_hash, sent_at, attempts, used_at)
                 VALUES ($1, $2, $3, $4, $5, 0, NULL)",
            )
            .bind(id)
            .bind(phone_index)
            .bind(purpose.as_str())
            .bind(code_hash)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            Ok(json!({ "id": id }))
        }
        Cmd::Attempt { id, good } => {
            accounts::security(ctx, "sms.code_entered", id, json!({ "good": good })).await?;
            let q = if *good {
                sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(ctx.now_ms)
            } else {
                sqlx::query("UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1")
            };
            let n = q.bind(id).execute(&mut *ctx.conn).await?.rows_affected();
            if *good && n != 1 {
                // Taken by a request that came first.
                return Err(Verdict::Void.error("sms_code").expect("an error").into());
            }
            Ok(json!({ "id": id }))
        }
    }
}

/// Sets a new password for the person whose number took a recovery code; their sessions end.
pub async fn reset_password(store: &Store, meta: Meta, phone: &str, code: &str, new_password: &str) -> Result<()> {
    let acc = accounts::account_by_login(store, phone.trim())
        .await?
        .filter(|a| a.person_id.is_some());
    // Checked before the code is taken, so a weak password does not cost the code.
    if let Err(e) = yiwang_core::accounts::check_password("password", new_password, &[phone.trim()]) {
        return Err(DomainError::invalid(vec![e]).into());
    }
    take_code(store, meta.clone(), phone, Purpose::Recover, code, "sms_code").await?;
    // A code for recovery is sent only to a registered number; one that matched has one.
    let acc = acc.ok_or_else(|| {
        DomainError::invalid(vec![FieldError::new(
            "sms_code",
            "sms_code.void",
            "验证码已失效，请重新获取",
            "the code is no longer valid; ask for a new one",
        )])
    })?;
    accounts::set_password(store, meta, &acc.id, new_password).await?;
    crate::auth::end_all_sessions(store, &acc.id).await
}
