//! The data-element dictionary (数据元) forms draw on.

use super::*;

// ---------------------------------------------------------------------------------------
// Data elements (数据元)
// ---------------------------------------------------------------------------------------

/// A data element: what a form field means and how its value is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DataElement {
    /// 1–64 of A-Z a-z 0-9 _, starting with a letter.
    pub code: String,
    pub name: String,
    pub kind: ElementKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// The allowed values of a `choice` element.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where a value can be prefilled from (`person.name`, `legal.uscc`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
}

/// The profile facts a data element may be prefilled from.
pub const PREFILL_SOURCES: &[&str] = &[
    "person.name",
    "person.id_number",
    "person.phone",
    "person.address",
    "legal.name",
    "legal.uscc",
    "legal.kind",
    "legal.representative",
];

/// Checks a dictionary entry.
pub fn check_data_element(e: &DataElement) -> Result<(), DomainError> {
    let mut p = Problems::new();
    let ok_code = (1..=64).contains(&e.code.len())
        && e.code.as_bytes()[0].is_ascii_alphabetic()
        && e.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok_code {
        p.push(FieldError::new(
            "code",
            "data_element.code_format",
            "数据元代码为 1–64 位字母、数字或下划线，以字母开头",
            "a data element code has 1–64 letters, digits or underscores and starts with a letter",
        ));
    }
    p.text("name", &e.name, 50);
    if e.kind == ElementKind::Choice && e.options.len() < 2 {
        p.push(FieldError::new(
            "options",
            "data_element.options",
            "选项类数据元至少需要 2 个选项",
            "a choice element needs at least 2 options",
        ));
    }
    if e.kind != ElementKind::Choice && !e.options.is_empty() {
        p.push(FieldError::new(
            "options",
            "data_element.options_unused",
            "只有选项类数据元可以设置选项",
            "only choice elements take options",
        ));
    }
    if let Some(src) = &e.prefill
        && !PREFILL_SOURCES.contains(&src.as_str())
    {
        p.push(FieldError::new(
            "prefill",
            "data_element.prefill_source",
            format!("未知的预填来源「{src}」，可用：{}", PREFILL_SOURCES.join("、")),
            format!("unknown prefill source '{src}'; known: {}", PREFILL_SOURCES.join(", ")),
        ));
    }
    if e.max_len == Some(0) {
        p.push(FieldError::new(
            "max_len",
            "range",
            "最大长度至少为 1",
            "max_len is at least 1",
        ));
    }
    p.opt_text("description", e.description.as_deref(), 500);
    p.finish()
}

/// Checks one form value against its data element; `field` names it in the error.
pub fn check_value(field: &str, e: &DataElement, v: &Value) -> Result<(), FieldError> {
    let err = |rule: &str, zh: String, en: String| Err(FieldError::new(field, rule, zh, en));
    let s = match (e.kind, v) {
        (ElementKind::Boolean, Value::Bool(_)) => return Ok(()),
        (ElementKind::Boolean, _) => return err("value.boolean", "应为是或否".into(), "must be true or false".into()),
        (ElementKind::Integer, Value::Number(n)) if n.is_i64() => return Ok(()),
        (ElementKind::Decimal | ElementKind::Money, Value::Number(_)) => return Ok(()),
        (_, Value::String(s)) => s.trim(),
        _ => return err("value.type", "取值类型不正确".into(), "wrong type of value".into()),
    };
    if s.is_empty() {
        return err("required", "不能为空".into(), "must not be empty".into());
    }
    if let Some(max) = e.max_len
        && s.chars().count() > max as usize
    {
        return err(
            "max_length",
            format!("长度不能超过 {max} 个字符"),
            format!("must be at most {max} characters"),
        );
    }
    match e.kind {
        ElementKind::Text => Ok(()),
        ElementKind::Integer => match s.parse::<i64>() {
            Ok(_) => Ok(()),
            Err(_) => err("value.integer", "应为整数".into(), "must be a whole number".into()),
        },
        ElementKind::Decimal | ElementKind::Money => match s.parse::<f64>() {
            Ok(x) if x.is_finite() && (e.kind != ElementKind::Money || x >= 0.0) => Ok(()),
            _ => err("value.number", "应为数字".into(), "must be a number".into()),
        },
        ElementKind::Date => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(_) => Ok(()),
            Err(_) => err(
                "value.date",
                "日期格式应为 YYYY-MM-DD".into(),
                "a date is written YYYY-MM-DD".into(),
            ),
        },
        ElementKind::Boolean => unreachable!("handled above"),
        ElementKind::Choice => {
            if e.options.iter().any(|o| o == s) {
                Ok(())
            } else {
                err(
                    "value.choice",
                    format!("应为以下之一：{}", e.options.join("、")),
                    format!("must be one of: {}", e.options.join(", ")),
                )
            }
        }
        ElementKind::IdNumber => crate::ids::check_resident_id(field, s).map(|_| ()),
        ElementKind::Uscc => check_uscc(field, s),
        ElementKind::Phone => {
            let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
            if (7..=20).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) {
                Ok(())
            } else {
                err(
                    "value.phone",
                    "电话号码格式不正确".into(),
                    "not a valid phone number".into(),
                )
            }
        }
        ElementKind::Email => {
            let ok = s
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.'))
                && !s.contains(char::is_whitespace);
            if ok {
                Ok(())
            } else {
                err(
                    "value.email",
                    "电子邮箱格式不正确".into(),
                    "not a valid e-mail address".into(),
                )
            }
        }
        ElementKind::Region => crate::regions::level_of(field, s).map(|_| ()),
    }
}

/// A plausible value of a data element, for a filled-in sample form (示例样表): valid for
/// its type (check digits included), obviously an example by its content.
pub fn example_value(e: &DataElement) -> String {
    let uscc = || {
        let body = "91460100MA5T00001";
        format!("{body}{}", crate::ids::uscc_check_char(body).expect("valid body"))
    };
    let text = |name: &str| -> String {
        if name.contains("姓名") || name.contains("法定代表人") || name.contains("负责人") {
            "张三".into()
        } else if ["地址", "住址", "坐落", "场所"].iter().any(|k| name.contains(k)) {
            "海南省海口市龙华区滨海大道 1 号".into()
        } else if name.contains("名称") {
            "海口椰风食品有限公司".into()
        } else if name.contains("号牌") {
            "琼A12345".into()
        } else if name.contains("号") {
            "B460100202600123".into()
        } else if name.contains("范围") {
            "餐饮服务；食品销售".into()
        } else {
            "（按实际情况填写）".into()
        }
    };
    let fit = |v: String| match e.max_len {
        Some(m) => v.chars().take(m as usize).collect(),
        None => v,
    };
    match e.kind {
        ElementKind::Text => fit(text(&e.name)),
        ElementKind::Integer => "2".into(),
        ElementKind::Decimal => "120.5".into(),
        ElementKind::Money => "1000.00".into(),
        ElementKind::Date => "2026-01-05".into(),
        ElementKind::Boolean => "是".into(),
        ElementKind::Choice => e.options.first().cloned().unwrap_or_default(),
        ElementKind::IdNumber => "11010519491231002X".into(),
        ElementKind::Uscc => uscc(),
        ElementKind::Phone => "13800138000".into(),
        ElementKind::Email => "zhangsan@example.com".into(),
        ElementKind::Region => "460106".into(),
    }
}

/// The dictionary every installation starts with (the common facts of applications).
pub fn default_dictionary() -> Vec<DataElement> {
    use ElementKind::*;
    let e = |code: &str, name: &str, kind: ElementKind, max: Option<u32>, prefill: Option<&str>| DataElement {
        code: code.into(),
        name: name.into(),
        kind,
        max_len: max,
        options: vec![],
        description: None,
        prefill: prefill.map(Into::into),
    };
    let choice = |code: &str, name: &str, options: &[&str]| DataElement {
        code: code.into(),
        name: name.into(),
        kind: Choice,
        max_len: None,
        options: options.iter().map(|s| s.to_string()).collect(),
        description: None,
        prefill: None,
    };
    vec![
        e("applicant_name", "申请人姓名", Text, Some(50), Some("person.name")),
        e(
            "applicant_id_number",
            "申请人公民身份号码",
            IdNumber,
            None,
            Some("person.id_number"),
        ),
        e("applicant_phone", "联系电话", Phone, None, Some("person.phone")),
        e("applicant_address", "联系地址", Text, Some(200), Some("person.address")),
        e("applicant_email", "电子邮箱", Email, Some(100), None),
        choice("gender", "性别", &["男", "女"]),
        e("birth_date", "出生日期", Date, None, None),
        e("ethnicity", "民族", Text, Some(20), None),
        e("household_address", "户籍地址", Text, Some(200), None),
        e("residence_address", "居住地址", Text, Some(200), None),
        e(
            "enterprise_name",
            "企业（单位）名称",
            Text,
            Some(100),
            Some("legal.name"),
        ),
        e("enterprise_uscc", "统一社会信用代码", Uscc, None, Some("legal.uscc")),
        e(
            "legal_representative",
            "法定代表人（负责人）",
            Text,
            Some(50),
            Some("legal.representative"),
        ),
        e("business_address", "经营场所", Text, Some(200), None),
        e("registered_capital", "注册资本（万元）", Decimal, None, None),
        e("business_scope", "经营范围", Text, Some(2000), None),
        e("business_area", "经营场所面积（平方米）", Decimal, None, None),
        e("employee_count", "从业人员数", Integer, None, None),
        choice(
            "food_business_type",
            "食品经营主体业态",
            &["食品销售经营者", "餐饮服务经营者", "单位食堂"],
        ),
        e("newborn_name", "新生儿姓名", Text, Some(50), None),
        e("newborn_birth_date", "新生儿出生日期", Date, None, None),
        e("birth_certificate_no", "出生医学证明编号", Text, Some(20), None),
        e("father_name", "父亲姓名", Text, Some(50), None),
        e("father_id_number", "父亲公民身份号码", IdNumber, None, None),
        e("mother_name", "母亲姓名", Text, Some(50), None),
        e("mother_id_number", "母亲公民身份号码", IdNumber, None, None),
        e("property_certificate_no", "不动产权证书号", Text, Some(50), None),
        e("property_location", "不动产坐落", Text, Some(200), None),
        e("property_area", "建筑面积（平方米）", Decimal, None, None),
        e("transaction_price", "成交价格（元）", Money, None, None),
        e("buyer_name", "买受人姓名（名称）", Text, Some(100), None),
        e("buyer_id_number", "买受人证件号码", Text, Some(30), None),
        e("utility_account_no", "水电气户号", Text, Some(30), None),
        choice(
            "disability_category",
            "残疾类别",
            &["视力", "听力", "言语", "肢体", "智力", "精神", "多重"],
        ),
        choice("disability_grade", "残疾等级", &["一级", "二级", "三级", "四级"]),
        e(
            "social_security_no",
            "社会保障号码",
            IdNumber,
            None,
            Some("person.id_number"),
        ),
        e("retirement_date", "退休日期", Date, None, None),
        e("bank_name", "开户银行", Text, Some(100), None),
        e("bank_account", "银行账号", Text, Some(40), None),
        e("vehicle_plate", "号牌号码", Text, Some(10), None),
        e("signboard_size", "招牌尺寸（米）", Text, Some(50), None),
        e("drainage_volume", "日排水量（立方米）", Decimal, None, None),
        e("apply_reason", "申请事由", Text, Some(500), None),
        e("remark", "备注", Text, Some(500), None),
    ]
}
