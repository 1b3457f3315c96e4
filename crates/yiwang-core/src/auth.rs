//! Login rules: lockout after repeated failures, TOTP code format and replay, session
//! timeouts, recovery codes. The hashing and HMAC themselves are in `yiwang-crypto`.

use crate::error::FieldError;

/// Lockout and session timeouts. Defaults follow GB/T 22239-2019 §8.1.4.1 b) (等保 2.0
/// level 3: "login failure handling: end the session, limit attempts, time out"); each
/// value is configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failed logins that lock an account.
    pub max_failures: i64,
    /// How long a locked account stays locked.
    pub lock_ms: i64,
    /// A session unused this long is ended (idle timeout).
    pub idle_ms: i64,
    /// A session older than this is ended whatever its use (absolute timeout).
    pub absolute_ms: i64,
    /// Staff sessions: idle timeout (shorter: staff see others' data).
    pub staff_idle_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        const MIN: i64 = 60_000;
        Policy {
            max_failures: 5,
            lock_ms: 15 * MIN,
            idle_ms: 30 * MIN,
            absolute_ms: 12 * 60 * MIN,
            staff_idle_ms: 15 * MIN,
        }
    }
}

/// The state of an account's login failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: i64,
    pub locked_until: Option<i64>,
}

impl Policy {
    /// Is the account locked at `now`?
    pub fn locked(&self, f: Failures, now: i64) -> bool {
        f.locked_until.is_some_and(|t| t > now)
    }

    /// The state after one more failure: the count grows; reaching the limit locks the
    /// account and restarts the count.
    pub fn after_failure(&self, f: Failures, now: i64) -> Failures {
        let count = if f.locked_until.is_some_and(|t| t <= now) {
            1
        } else {
            f.count + 1
        };
        if count >= self.max_failures {
            Failures {
                count: 0,
                locked_until: Some(now + self.lock_ms),
            }
        } else {
            Failures {
                count,
                locked_until: f.locked_until.filter(|t| *t > now),
            }
        }
    }

    /// Has a session authenticated at `auth_at` and last used at `seen` expired at `now`?
    pub fn session_expired(&self, staff: bool, auth_at: i64, seen: i64, now: i64) -> bool {
        let idle = if staff { self.staff_idle_ms } else { self.idle_ms };
        now - seen > idle || now - auth_at > self.absolute_ms
    }
}

/// A TOTP code as typed: 6 digits (RFC 6238 §5.3 with RFC 4226 §5.3 6-digit truncation).
pub fn check_totp_format(field: &str, code: &str) -> Result<(), FieldError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "totp.format",
            "动态验证码为 6 位数字",
            "a one-time code has 6 digits",
        ))
    }
}

/// RFC 6238 §5.2: a verifier must not accept the same code twice — a matched time step at
/// or before the last one accepted is a replay.
pub fn check_totp_step(field: &str, matched: Option<i64>, last_used: Option<i64>) -> Result<i64, FieldError> {
    match matched {
        None => Err(FieldError::new(
            field,
            "totp.wrong",
            "动态验证码错误或已过期",
            "the one-time code is wrong or has expired",
        )),
        Some(step) if last_used.is_some_and(|l| step <= l) => Err(FieldError::new(
            field,
            "totp.replayed",
            "该动态验证码已使用过，请等待下一个验证码",
            "this one-time code was already used; wait for the next one",
        )),
        Some(step) => Ok(step),
    }
}

/// A recovery code as typed, normalised: upper case, without spaces and dashes.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// How many recovery codes an enrolment issues.
pub const RECOVERY_CODES: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_five_failures_and_unlock_after_timeout() {
        let p = Policy::default();
        let mut f = Failures::default();
        for i in 1..5 {
            f = p.after_failure(f, 1000);
            assert_eq!(f.count, i);
            assert!(!p.locked(f, 1000));
        }
        f = p.after_failure(f, 1000);
        assert!(p.locked(f, 1000));
        assert!(p.locked(f, 1000 + p.lock_ms - 1));
        assert!(!p.locked(f, 1000 + p.lock_ms));
        let after = p.after_failure(f, 1000 + p.lock_ms + 1);
        assert_eq!(after.count, 1);
        assert_eq!(after.locked_until, None);
    }

    #[test]
    fn totp_replay_is_refused() {
        assert_eq!(check_totp_step("c", Some(10), None), Ok(10));
        assert_eq!(check_totp_step("c", Some(10), Some(9)), Ok(10));
        assert_eq!(
            check_totp_step("c", Some(10), Some(10)).unwrap_err().rule,
            "totp.replayed"
        );
        assert_eq!(check_totp_step("c", None, Some(1)).unwrap_err().rule, "totp.wrong");
        assert!(check_totp_format("c", "12345a").is_err());
    }

    #[test]
    fn session_timeouts() {
        let p = Policy::default();
        assert!(!p.session_expired(false, 0, 0, p.idle_ms));
        assert!(p.session_expired(false, 0, 0, p.idle_ms + 1));
        assert!(p.session_expired(true, 0, 0, p.staff_idle_ms + 1));
        assert!(p.session_expired(false, 0, p.absolute_ms, p.absolute_ms + 1));
        assert_eq!(normalise_recovery_code(" abcd-efgh "), "ABCDEFGH");
    }
}
