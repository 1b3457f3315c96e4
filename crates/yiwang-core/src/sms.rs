//! SMS one-time codes (短信验证码) that prove a person holds a mobile number: for
//! registration, login without a password and password recovery. The rules: a code is six
//! digits, lives five minutes, takes at most five wrong tries and is used once; a number gets
//! one code a minute for each purpose and ten a day. Whether a number is registered never changes the answer
//! to a request for a code (no account enumeration).

use crate::error::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

/// What a code is for (a code for one purpose never serves another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SmsPurpose))]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Registering an account with this number.
    Register,
    /// Logging in with the number instead of the password.
    Login,
    /// Setting a new password.
    Recover,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::Recover => "recover",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        [Purpose::Register, Purpose::Login, Purpose::Recover]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
    /// Is a code sent for this purpose, given whether the number is registered? A code to
    /// register goes only to a new number, one to log in or recover only to a registered
    /// one; the caller answers the same either way.
    pub fn sends(self, registered: bool) -> bool {
        match self {
            Purpose::Register => !registered,
            Purpose::Login | Purpose::Recover => registered,
        }
    }
    /// The words of the message (the provider's approved template fills in the code).
    pub fn zh(self) -> &'static str {
        match self {
            Purpose::Register => "注册",
            Purpose::Login => "登录",
            Purpose::Recover => "找回密码",
        }
    }
}

/// Limits of SMS codes [M] (STANDARDS: identity; MIIT 《通信短信息服务管理规定》 and the
/// providers' own limits: one code a minute, ten a day per number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodePolicy {
    /// How long a code is valid, in seconds.
    pub ttl_secs: i64,
    /// Wrong entries before a code is void.
    pub max_attempts: i64,
    /// Seconds between two codes to one number.
    pub resend_secs: i64,
    /// Codes to one number in 24 hours.
    pub per_day: usize,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy {
            ttl_secs: 300,
            max_attempts: 5,
            resend_secs: 60,
            per_day: 10,
        }
    }
}

/// Why no code is sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The last code went out less than a minute ago: wait this many seconds.
    TooSoon(i64),
    /// Ten codes today: wait this many seconds.
    DailyCap(i64),
}

impl CodePolicy {
    /// May another code for a purpose go to a number that was sent codes at `sent` (ms,
    /// the last 24 hours, any purpose) — `same` of them for this purpose — at `now` (ms)?
    /// One a minute per purpose, ten a day in all.
    pub fn may_send(&self, sent: &[i64], same: &[i64], now: i64) -> Result<(), Refused> {
        let day = 86_400_000;
        let recent: Vec<i64> = sent.iter().copied().filter(|t| now - t < day).collect();
        if let Some(last) = same.iter().max()
            && now - last < self.resend_secs * 1000
        {
            return Err(Refused::TooSoon((self.resend_secs * 1000 - (now - last) + 999) / 1000));
        }
        if recent.len() >= self.per_day {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            return Err(Refused::DailyCap((day - (now - oldest) + 999) / 1000));
        }
        Ok(())
    }

    /// What an entered code comes to.
    pub fn judge(&self, code: &Issued, now: i64, matches: bool) -> Verdict {
        if code.used {
            Verdict::Void
        } else if now - code.sent_at > self.ttl_secs * 1000 {
            Verdict::Expired
        } else if code.attempts >= self.max_attempts {
            Verdict::Void
        } else if matches {
            Verdict::Good
        } else {
            Verdict::Wrong {
                left: self.max_attempts - code.attempts - 1,
            }
        }
    }
}

/// The state of the latest code sent to a number for a purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub sent_at: i64,
    pub attempts: i64,
    pub used: bool,
}

/// The outcome of entering a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Wrong {
        left: i64,
    },
    Expired,
    /// Used already, or too many wrong entries.
    Void,
}

impl Verdict {
    /// The error for every verdict but `Good`, naming the field.
    pub fn error(self, field: &str) -> Option<DomainError> {
        let e = |rule: &str, zh: String, en: String| DomainError::invalid(vec![FieldError::new(field, rule, zh, en)]);
        match self {
            Verdict::Good => None,
            Verdict::Wrong { left } => Some(e(
                "sms_code.wrong",
                format!("验证码不正确，还可尝试 {left} 次"),
                format!("the code is wrong; {left} tries left"),
            )),
            Verdict::Expired => Some(e(
                "sms_code.expired",
                "验证码已过期，请重新获取".into(),
                "the code has expired; ask for a new one".into(),
            )),
            Verdict::Void => Some(e(
                "sms_code.void",
                "验证码已失效，请重新获取".into(),
                "the code is no longer valid; ask for a new one".into(),
            )),
        }
    }
}

/// A code as typed: six digits.
pub fn check_code_format(field: &str, code: &str) -> Result<(), FieldError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "sms_code.format",
            "请输入短信中的 6 位验证码",
            "enter the 6-digit code from the text message",
        ))
    }
}

/// The error when no code was asked for (or none lives): the same as an expired code.
pub fn no_code(field: &str) -> DomainError {
    Verdict::Expired.error(field).expect("an error")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn one_code_a_minute_and_ten_a_day() {
        let p = CodePolicy::default();
        assert_eq!(p.may_send(&[], &[], 0), Ok(()));
        assert_eq!(p.may_send(&[100 * S], &[100 * S], 130 * S), Err(Refused::TooSoon(30)));
        assert_eq!(p.may_send(&[100 * S], &[100 * S], 160 * S), Ok(()));
        // Another purpose need not wait.
        assert_eq!(p.may_send(&[100 * S], &[], 130 * S), Ok(()));
        let ten: Vec<i64> = (0..10).map(|i| i * 120 * S).collect();
        let now = 10 * 120 * S;
        assert!(matches!(p.may_send(&ten, &[], now), Err(Refused::DailyCap(_))));
        // A day after the first, one more may go.
        assert_eq!(p.may_send(&ten, &[], 86_400 * S + 1), Ok(()));
    }

    #[test]
    fn a_code_is_good_once_within_five_minutes_and_five_tries() {
        let p = CodePolicy::default();
        let fresh = Issued {
            sent_at: 0,
            attempts: 0,
            used: false,
        };
        assert_eq!(p.judge(&fresh, 299 * S, true), Verdict::Good);
        assert_eq!(p.judge(&fresh, 301 * S, true), Verdict::Expired);
        assert_eq!(p.judge(&fresh, S, false), Verdict::Wrong { left: 4 });
        let tried = Issued {
            attempts: 5,
            ..fresh.clone()
        };
        assert_eq!(p.judge(&tried, S, true), Verdict::Void, "five wrong tries void it");
        let used = Issued { used: true, ..fresh };
        assert_eq!(p.judge(&used, S, true), Verdict::Void);
        assert_eq!(
            Verdict::Wrong { left: 1 }.error("sms_code").unwrap().errors[0].rule,
            "sms_code.wrong"
        );
    }

    #[test]
    fn codes_go_only_where_they_can_be_used() {
        assert!(Purpose::Register.sends(false));
        assert!(!Purpose::Register.sends(true));
        assert!(Purpose::Login.sends(true) && Purpose::Recover.sends(true));
        assert!(!Purpose::Login.sends(false) && !Purpose::Recover.sends(false));
        assert!(check_code_format("c", "012345").is_ok());
        for bad in ["12345", "1234567", "12a456", ""] {
            assert!(check_code_format("c", bad).is_err(), "{bad}");
        }
    }
}
