//! A policy's definition (惠民 / 惠企政策): what the editor saves as a version. The rule
//! and the amount formula are checked by `compile_policy`; the rest here.

use super::{Audience, PolicyMode};
use crate::error::{DomainError, FieldError, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A policy version's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInput {
    /// Lower-case letters, digits and hyphens, e.g. `gaoling-jintie`.
    pub code: String,
    pub name: String,
    pub name_en: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub audience: Audience,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: PolicyMode,
    /// Who qualifies: a CEL condition over the attribute schema.
    pub rule: String,
    /// How much, in 分: a CEL integer expression over the same attributes.
    pub amount: String,
    pub period_from: NaiveDate,
    pub period_until: NaiveDate,
    /// The paying department (its grants of shared data must cover the rule).
    pub department_id: String,
    pub legal_basis: String,
    /// The purpose shared data is read for; the department's grants name the same purpose.
    pub purpose: String,
    /// For 即申即享 and 申请: the catalogue item the application is made for.
    #[serde(default)]
    pub item_code: Option<String>,
    /// What the citizen reads about it.
    pub summary: String,
}

fn code_ok(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Checks what is not the rule: names, period, purpose, the item a non-direct mode needs.
pub fn check_input(p: &PolicyInput) -> Result<(), DomainError> {
    let mut e = Problems::new();
    if !code_ok(&p.code) {
        e.push(FieldError::new(
            "code",
            "policy.code",
            "政策代码为 2–40 个小写字母、数字或连字符，以字母开头",
            "a policy code is 2–40 lower-case letters, digits or hyphens, starting with a letter",
        ));
    }
    e.text("name", &p.name, 60);
    e.text("name_en", &p.name_en, 120);
    e.text("legal_basis", &p.legal_basis, 200);
    e.text("purpose", &p.purpose, 200);
    e.text("summary", &p.summary, 1000);
    e.text("department_id", &p.department_id, 64);
    if p.period_until < p.period_from {
        e.push(FieldError::new(
            "period_until",
            "policy.period",
            "政策期限的截止日期不能早于起始日期",
            "the policy's period cannot end before it starts",
        ));
    }
    // 国发〔2024〕3号: 即申即享 prefills an application for an item; 免申即享 grants directly.
    if p.mode != PolicyMode::Direct && p.item_code.as_deref().is_none_or(|c| c.trim().is_empty()) {
        e.push(FieldError::new(
            "item_code",
            "policy.item",
            "即申即享和申请类政策须指定申请的事项",
            "a one-click or application policy names the item applied for",
        ));
    }
    e.finish()
}

/// Is the policy in its period on `day`?
pub fn in_period(p: &PolicyInput, day: NaiveDate) -> bool {
    p.period_from <= day && day <= p.period_until
}

/// Checks the account a direct grant is paid into and answers it masked: a bank card of
/// 16–19 digits whose last digit is its Luhn check digit (ISO/IEC 7812-1), or a social
/// security card number of 9 letters and digits (人社部《社会保障卡规范》: 卡号 9 位).
pub fn check_account(account: &str) -> Result<String, FieldError> {
    let a: String = account.chars().filter(|c| !c.is_whitespace()).collect();
    let bad = || {
        FieldError::new(
            "account",
            "account.format",
            "请填写 16–19 位银行卡号或 9 位社会保障卡卡号",
            "give a bank card number of 16–19 digits or a 9-character social security card number",
        )
    };
    if a.len() == 9 && a.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(format!("社保卡 {}****{}", &a[..2], &a[7..]));
    }
    if !(16..=19).contains(&a.len()) || !a.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let sum: u32 = a
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(FieldError::new(
            "account",
            "account.check_digit",
            "银行卡号校验位不正确，请核对",
            "the bank card number's check digit is wrong",
        ));
    }
    Ok(format!("银行卡 {}****{}", &a[..4], &a[a.len() - 4..]))
}
