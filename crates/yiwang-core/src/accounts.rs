//! Accounts: natural persons (自然人), legal persons (法人) with their agents (经办人), and
//! staff with roles. Checks of names, identifiers, phones and passwords, and masking.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use crate::ids::{check_resident_id, check_uscc};
use serde::{Deserialize, Serialize};

/// What kind of account logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Person,
    Staff,
}

impl AccountKind {
    /// The stored name (`accounts.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Person => "person",
            AccountKind::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<AccountKind> {
        [AccountKind::Person, AccountKind::Staff]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}
crate::from_text!(AccountKind);

/// 法人类型 (types of legal persons and other organisations, as in the issue and the credit
/// code's registering-authority categories, GB 32100-2015 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalKind {
    /// 企业法人
    Enterprise,
    /// 事业法人
    Institution,
    /// 社会组织
    SocialOrganisation,
    /// 非法人企业
    UnincorporatedEnterprise,
    /// 机关
    Organ,
}

crate::from_text!(LegalKind);

impl LegalKind {
    pub const ALL: [LegalKind; 5] = [
        LegalKind::Enterprise,
        LegalKind::Institution,
        LegalKind::SocialOrganisation,
        LegalKind::UnincorporatedEnterprise,
        LegalKind::Organ,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            LegalKind::Enterprise => "enterprise",
            LegalKind::Institution => "institution",
            LegalKind::SocialOrganisation => "social_organisation",
            LegalKind::UnincorporatedEnterprise => "unincorporated_enterprise",
            LegalKind::Organ => "organ",
        }
    }
    pub fn parse(s: &str) -> Option<LegalKind> {
        LegalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            LegalKind::Enterprise => "企业法人",
            LegalKind::Institution => "事业法人",
            LegalKind::SocialOrganisation => "社会组织",
            LegalKind::UnincorporatedEnterprise => "非法人企业",
            LegalKind::Organ => "机关",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            LegalKind::Enterprise => "Enterprise legal person",
            LegalKind::Institution => "Public institution",
            LegalKind::SocialOrganisation => "Social organisation",
            LegalKind::UnincorporatedEnterprise => "Unincorporated enterprise",
            LegalKind::Organ => "State organ",
        }
    }
}

/// A natural person's registration.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    #[cfg_attr(feature = "openapi", schema(example = "王小明"))]
    pub name: String,
    /// 18-character resident ID number (GB 11643), checked.
    #[cfg_attr(feature = "openapi", schema(example = "11010519491231002X"))]
    pub id_number: String,
    /// Mainland mobile number (11 digits).
    #[cfg_attr(feature = "openapi", schema(example = "13800138000"))]
    pub phone: String,
    #[serde(default)]
    pub address: Option<String>,
    pub password: String,
    /// The code sent to `phone` (`POST /api/v1/auth/sms-codes`, purpose `register`):
    /// required when registering oneself; not for a clerk's registration at a window.
    #[serde(default)]
    pub sms_code: Option<String>,
}

/// A checked person registration (identifiers normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPerson {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: Option<String>,
}

/// What the store found for a person registration.
#[derive(Debug, Default, Clone, Copy)]
pub struct PersonRefs {
    pub id_number_taken: bool,
    pub phone_taken: bool,
}

/// A person's name: 1–50 characters, letters (any script) with the separators names use:
/// the middle dot of transliterated names (GB/T 28039-2011 §5.1.3, e.g. 阿依古丽·买买提),
/// spaces, hyphens, apostrophes and full stops of foreign names — never markup or control
/// characters.
pub fn check_name(p: &mut Problems, field: &str, name: &str) {
    p.text(field, name, 50);
    let allowed =
        |c: char| c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '·' | '•' | '・' | ' ' | '-' | '\'' | '.');
    if name.chars().any(|c| !allowed(c)) {
        p.push(FieldError::new(
            field,
            "name.charset",
            "姓名只能包含文字及间隔号（·）、空格、连字符",
            "a name has letters and only the separators · space - ' .",
        ));
    }
}

/// A mainland mobile number.
pub fn check_mobile(field: &str, phone: &str) -> Result<(), FieldError> {
    // MIIT telecommunication numbering plan: mobile numbers are 11 digits starting 13–19.
    let b = phone.as_bytes();
    if b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "phone.mobile",
            "请输入 11 位手机号码（以 13–19 开头）",
            "enter an 11-digit mobile number starting with 13–19",
        ))
    }
}

/// Shortest password accepted.
pub const PASSWORD_MIN: usize = 8;

/// GB/T 22239-2019 §8.1.4.1 a) (等保 2.0 level 3 identity authentication): passwords must
/// be complex — at least 8 characters from at least 3 of lower case, upper case, digits and
/// symbols, and not containing the account's own identifiers.
pub fn check_password(field: &str, password: &str, identifiers: &[&str]) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=128).contains(&n) {
        return Err(FieldError::new(
            field,
            "password.length",
            format!("密码长度应为 {PASSWORD_MIN}–128 个字符"),
            format!("a password has {PASSWORD_MIN}–128 characters"),
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < 3 {
        return Err(FieldError::new(
            field,
            "password.classes",
            "密码过于简单：须包含小写字母、大写字母、数字、符号中的至少三类",
            "the password is too weak: use at least three of lower case, upper case, digits and symbols",
        ));
    }
    let lower = password.to_lowercase();
    for id in identifiers {
        let id = id.trim().to_lowercase();
        if id.chars().count() >= 4 && lower.contains(&id) {
            return Err(FieldError::new(
                field,
                "password.contains_identity",
                "密码不能包含账号、手机号码或证件号码",
                "the password must not contain the login name, phone number or ID number",
            ));
        }
    }
    Ok(())
}

/// Checks a person registration. The resident ID is upper-cased (a lower-case `x` check
/// character is a common typing variant of `X`).
pub fn decide_person(input: &PersonInput, refs: PersonRefs) -> Result<CheckedPerson, DomainError> {
    let mut p = Problems::new();
    check_name(&mut p, "name", &input.name);
    let id_number = input.id_number.trim().to_uppercase();
    p.check(check_resident_id("id_number", &id_number).map(|_| ()));
    let phone = input.phone.trim().to_string();
    p.check(check_mobile("phone", &phone));
    p.opt_text("address", input.address.as_deref(), 200);
    p.check(check_password("password", &input.password, &[&id_number, &phone]));
    p.finish()?;
    if refs.id_number_taken {
        return Err(DomainError::conflict(
            "id_number",
            "id_number.unique",
            "该公民身份号码已注册，请直接登录或找回密码".into(),
            "an account with this resident ID number exists; log in or reset the password".into(),
        ));
    }
    if refs.phone_taken {
        return Err(DomainError::conflict(
            "phone",
            "phone.unique",
            "该手机号码已被其他账号使用".into(),
            "this mobile number is used by another account".into(),
        ));
    }
    Ok(CheckedPerson {
        name: input.name.trim().to_string(),
        id_number,
        phone,
        address: input
            .address
            .as_ref()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty()),
    })
}

/// A legal person's registration.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LegalPersonInput {
    #[cfg_attr(feature = "openapi", schema(example = "海口椰风食品有限公司"))]
    pub name: String,
    /// Unified social credit code (GB 32100), checked.
    pub uscc: String,
    pub kind: LegalKind,
    /// 法定代表人 (or person in charge).
    pub legal_representative: String,
}

/// Checks a legal-person registration; the credit code is upper-cased.
pub fn decide_legal_person(input: &LegalPersonInput, uscc_taken: bool) -> Result<LegalPersonInput, DomainError> {
    let mut p = Problems::new();
    p.text("name", &input.name, 100);
    let uscc = input.uscc.trim().to_uppercase();
    p.check(check_uscc("uscc", &uscc));
    check_name(&mut p, "legal_representative", &input.legal_representative);
    p.finish()?;
    if uscc_taken {
        return Err(DomainError::conflict(
            "uscc",
            "uscc.unique",
            "该统一社会信用代码已注册；如需成为经办人，请该单位现有经办人授权".into(),
            "this credit code is registered; ask one of its agents to grant you a mandate".into(),
        ));
    }
    Ok(LegalPersonInput {
        name: input.name.trim().to_string(),
        uscc,
        kind: input.kind,
        legal_representative: input.legal_representative.trim().to_string(),
    })
}

/// A staff login name: 3–32 lowercase letters, digits, `.`, `_` or `-`.
pub fn check_login_name(field: &str, s: &str) -> Result<(), FieldError> {
    if (3..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && s.as_bytes()[0].is_ascii_lowercase()
    {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "login.format",
            "工作人员账号为 3–32 位小写字母、数字或 . _ -，以字母开头",
            "a staff login has 3–32 lowercase letters, digits, '.', '_' or '-', starting with a letter",
        ))
    }
}

/// A new staff account.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    #[cfg_attr(feature = "openapi", schema(example = "hk.clerk2"))]
    pub login: String,
    pub name: String,
    pub department_id: String,
    pub roles: Vec<String>,
    /// Initial password; the second factor (TOTP) is enrolled at first login.
    pub password: String,
}

/// Checks a staff account: login format, roles known, department existing.
pub fn decide_staff(
    input: &StaffInput,
    department_exists: bool,
    login_taken: bool,
    known_roles: &[String],
) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.check(check_login_name("login", &input.login));
    check_name(&mut p, "name", &input.name);
    check_roles(&mut p, &input.roles, known_roles);
    p.check(check_password("password", &input.password, &[&input.login]));
    p.finish()?;
    if !department_exists {
        return Err(DomainError::not_found(
            "department_id",
            "部门",
            "department",
            &input.department_id,
        ));
    }
    if login_taken {
        return Err(DomainError::conflict(
            "login",
            "login.unique",
            format!("账号「{}」已存在", input.login),
            format!("login '{}' exists", input.login),
        ));
    }
    Ok(())
}

/// Every role named must exist; at least one role.
pub fn check_roles(p: &mut Problems, roles: &[String], known: &[String]) {
    if roles.is_empty() {
        p.push(FieldError::new(
            "roles",
            "required",
            "至少指定一个角色",
            "give at least one role",
        ));
    }
    for (i, r) in roles.iter().enumerate() {
        if !known.contains(r) {
            p.push(FieldError::new(
                format!("roles[{i}]"),
                "role.unknown",
                format!("未知角色「{r}」"),
                format!("unknown role '{r}'"),
            ));
        }
    }
}

/// Masks a resident ID number for display: the 6-digit region, 8 stars, the last 4
/// (the form the issue and common practice use: `460100********1234`).
pub fn mask_id_number(id: &str) -> String {
    let c: Vec<char> = id.chars().collect();
    if c.len() < 10 {
        return "*".repeat(c.len());
    }
    let head: String = c[..6].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 10))
}

/// Masks a mobile number: `138****8000`.
pub fn mask_phone(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    if c.len() < 7 {
        return "*".repeat(c.len());
    }
    let head: String = c[..3].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 7))
}

/// Masks a name: the family name, then stars (`王**`).
pub fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count())),
        None => String::new(),
    }
}

/// A refusal that is the caller's fault but names no field (e.g. a wrong login).
pub fn refused(field: &str, rule: &str, zh: &str, en: &str) -> DomainError {
    DomainError::one(ErrorKind::Invalid, FieldError::new(field, rule, zh, en))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are letters and their separators; markup and control characters are refused
    /// (issue 13, items 7 and 12).
    #[test]
    fn names_are_letters_and_separators() {
        for ok in [
            "王小明",
            "阿依古丽·买买提",
            "Anne-Marie O'Neil",
            "J. R. Smith",
            "Nguyễn Văn An",
        ] {
            let mut p = Problems::new();
            check_name(&mut p, "name", ok);
            assert!(p.0.is_empty(), "{ok}: {:?}", p.0);
        }
        for bad in [
            "<script>alert(1)</script>",
            "a\u{0}b",
            "a\tb",
            "王\u{202e}明",
            "x;DROP",
            "\u{7f}",
        ] {
            let mut p = Problems::new();
            check_name(&mut p, "name", bad);
            assert!(p.0.iter().any(|e| e.rule == "name.charset"), "{bad:?}");
        }
    }

    fn input() -> PersonInput {
        PersonInput {
            name: "王小明".into(),
            id_number: "11010519491231002x".into(),
            phone: "13800138000".into(),
            address: None,
            password: "Yiwang#2026".into(),
            sms_code: None,
        }
    }

    #[test]
    fn person_is_checked_and_normalised() {
        let p = decide_person(&input(), PersonRefs::default()).unwrap();
        assert_eq!(p.id_number, "11010519491231002X");
        let mut bad = input();
        bad.id_number = "110105194912310021".into();
        bad.phone = "1380013800".into();
        bad.password = "password".into();
        let e = decide_person(&bad, PersonRefs::default()).unwrap_err();
        let rules: Vec<_> = e.errors.iter().map(|e| e.rule.as_str()).collect();
        assert_eq!(rules, ["resident_id.check_digit", "phone.mobile", "password.classes"]);
        let e = decide_person(
            &input(),
            PersonRefs {
                id_number_taken: true,
                phone_taken: false,
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
    }

    #[test]
    fn passwords() {
        assert!(check_password("p", "Abcdef12", &[]).is_ok());
        assert_eq!(check_password("p", "Ab1!", &[]).unwrap_err().rule, "password.length");
        assert_eq!(
            check_password("p", "abcdefgh12", &[]).unwrap_err().rule,
            "password.classes"
        );
        assert_eq!(
            check_password("p", "X13800138000x!", &["13800138000"])
                .unwrap_err()
                .rule,
            "password.contains_identity"
        );
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id_number("460100199001011234"), "460100********1234");
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_name("王小明"), "王**");
    }

    #[test]
    fn staff_and_legal_persons() {
        let roles = vec!["admin".to_string(), "reviewer".to_string()];
        let s = StaffInput {
            login: "hk.admin".into(),
            name: "管理员".into(),
            department_id: "d".into(),
            roles: vec!["admin".into(), "pilot".into()],
            password: "Strong#Pass1".into(),
        };
        let e = decide_staff(&s, true, false, &roles).unwrap_err();
        assert_eq!(e.errors[0].field, "roles[1]");
        assert!(check_login_name("l", "Admin").is_err());
        let body = "91460100MA5T0000";
        let uscc = format!("{body}1{}", crate::ids::uscc_check_char(&format!("{body}1")).unwrap());
        let lp = LegalPersonInput {
            name: "海口椰风食品有限公司".into(),
            uscc: uscc.to_lowercase(),
            kind: LegalKind::Enterprise,
            legal_representative: "李四".into(),
        };
        assert_eq!(decide_legal_person(&lp, false).unwrap().uscc, uscc);
        let mut bad = lp.clone();
        let wrong = if uscc.ends_with('0') { '1' } else { '0' };
        bad.uscc = format!("{}{wrong}", &uscc[..17]);
        assert_eq!(
            decide_legal_person(&bad, false).unwrap_err().errors[0].rule,
            "uscc.check_digit"
        );
    }
}
