//! Departments (with their unified social credit codes), service halls (政务服务大厅) and
//! their windows (综合窗口 and others).

use crate::error::{DomainError, FieldError, Problems};
use crate::ids::check_uscc;
use serde::{Deserialize, Serialize};

/// 主体性质 (STANDARDS §1, national exchange schema): what kind of body a department is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DepartmentNature {
    /// 1 法定机关
    StatutoryAuthority,
    /// 2 法律法规授权组织
    AuthorisedOrganisation,
    /// 3 受委托组织
    EntrustedOrganisation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub region_code: String,
    pub nature: DepartmentNature,
    pub parent_id: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    #[cfg_attr(feature = "openapi", schema(example = "海口市市场监督管理局"))]
    pub name: String,
    /// Unified social credit code (GB 32100), checked.
    #[cfg_attr(feature = "openapi", schema(example = "11460100MB00000046"))]
    pub uscc: String,
    #[cfg_attr(feature = "openapi", schema(example = "460100"))]
    pub region_code: String,
    pub nature: DepartmentNature,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// What the store found for the names a department input refers to.
pub struct DepartmentRefs<'a> {
    pub region_exists: bool,
    pub parent: Option<&'a Department>,
    /// Another department already holding the same credit code.
    pub same_uscc: Option<&'a Department>,
}

fn check_phone(p: &mut Problems, field: &str, phone: Option<&str>) {
    if let Some(ph) = phone
        && (ph.is_empty() || ph.len() > 30 || !ph.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)))
    {
        p.push(FieldError::new(
            field,
            "phone.format",
            "电话号码只能包含数字、空格和 + - ( )，最长 30 位",
            "a phone number holds digits, spaces and + - ( ) only, at most 30 characters",
        ));
    }
}

/// Decides a new or changed department (`id` is the department's id either way).
pub fn decide_department(
    id: &str,
    input: &DepartmentInput,
    refs: DepartmentRefs<'_>,
) -> Result<Department, DomainError> {
    let mut p = Problems::new();
    p.text("name", &input.name, 100);
    p.check(check_uscc("uscc", &input.uscc));
    check_phone(&mut p, "phone", input.phone.as_deref());
    p.opt_text("address", input.address.as_deref(), 200);
    if input.parent_id.as_deref() == Some(id) {
        p.push(FieldError::new(
            "parent_id",
            "department.self_parent",
            "部门不能是自己的上级",
            "a department cannot be its own parent",
        ));
    }
    p.finish()?;
    if !refs.region_exists {
        return Err(DomainError::not_found(
            "region_code",
            "行政区划",
            "region",
            &input.region_code,
        ));
    }
    if let Some(pid) = &input.parent_id
        && refs.parent.is_none()
    {
        return Err(DomainError::not_found(
            "parent_id",
            "上级部门",
            "parent department",
            pid,
        ));
    }
    if let Some(other) = refs.same_uscc
        && other.id != id
    {
        return Err(DomainError::conflict(
            "uscc",
            "department.duplicate_uscc",
            format!("统一社会信用代码已被「{}」使用", other.name),
            format!("this credit code is already used by '{}'", other.name),
        ));
    }
    Ok(Department {
        id: id.to_string(),
        name: input.name.trim().to_string(),
        uscc: input.uscc.clone(),
        region_code: input.region_code.clone(),
        nature: input.nature,
        parent_id: input.parent_id.clone(),
        phone: input.phone.clone(),
        address: input.address.clone(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hall {
    pub id: String,
    pub name: String,
    pub region_code: String,
    pub address: String,
    /// Opening hours as shown to citizens, e.g. 周一至周五 9:00-17:00.
    pub hours: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HallInput {
    #[cfg_attr(feature = "openapi", schema(example = "海口市政务服务中心"))]
    pub name: String,
    pub region_code: String,
    pub address: String,
    #[cfg_attr(feature = "openapi", schema(example = "周一至周五 9:00-12:00 13:30-17:00"))]
    pub hours: String,
    #[serde(default)]
    pub phone: Option<String>,
}

pub fn decide_hall(id: &str, input: &HallInput, region_exists: bool) -> Result<Hall, DomainError> {
    let mut p = Problems::new();
    p.text("name", &input.name, 100);
    p.text("address", &input.address, 200);
    p.text("hours", &input.hours, 100);
    check_phone(&mut p, "phone", input.phone.as_deref());
    p.finish()?;
    if !region_exists {
        return Err(DomainError::not_found(
            "region_code",
            "行政区划",
            "region",
            &input.region_code,
        ));
    }
    Ok(Hall {
        id: id.to_string(),
        name: input.name.trim().to_string(),
        region_code: input.region_code.clone(),
        address: input.address.trim().to_string(),
        hours: input.hours.trim().to_string(),
        phone: input.phone.clone(),
    })
}

/// What a window is for. 综合窗口 accept any item of any department (一窗受理).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// 综合受理窗口
    Comprehensive,
    /// 专业窗口 of one department
    Dedicated,
    /// 出件窗口 (results handed out)
    Pickup,
    /// 帮办代办窗口
    Assistance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Window {
    pub id: String,
    pub hall_id: String,
    /// The number shown above the window, e.g. A01.
    pub number: String,
    pub name: String,
    pub kind: WindowKind,
    pub department_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[cfg_attr(feature = "openapi", schema(example = "A01"))]
    pub number: String,
    #[cfg_attr(feature = "openapi", schema(example = "综合受理窗口"))]
    pub name: String,
    pub kind: WindowKind,
    /// Required for a dedicated window; not allowed for the others.
    #[serde(default)]
    pub department_id: Option<String>,
}

pub struct WindowRefs {
    pub hall_exists: bool,
    pub department_exists: bool,
    /// Another window of the same hall with the same number.
    pub same_number: Option<String>,
}

pub fn decide_window(id: &str, hall_id: &str, input: &WindowInput, refs: WindowRefs) -> Result<Window, DomainError> {
    let mut p = Problems::new();
    p.text("name", &input.name, 60);
    if input.number.is_empty()
        || input.number.len() > 10
        || !input.number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        p.push(FieldError::new(
            "number",
            "window.number_format",
            "窗口号为 1–10 位字母、数字或 -",
            "a window number is 1–10 letters, digits or '-'",
        ));
    }
    match (input.kind, &input.department_id) {
        (WindowKind::Dedicated, None) => p.push(FieldError::new(
            "department_id",
            "required",
            "专业窗口必须指定所属部门",
            "a dedicated window needs its department",
        )),
        (WindowKind::Comprehensive, Some(_)) => p.push(FieldError::new(
            "department_id",
            "window.comprehensive_no_department",
            "综合窗口受理所有部门事项，不能指定部门（一窗受理）",
            "a comprehensive window serves every department and takes no department (一窗受理)",
        )),
        _ => {}
    }
    p.finish()?;
    if !refs.hall_exists {
        return Err(DomainError::not_found(
            "hall_id",
            "政务服务大厅",
            "service hall",
            hall_id,
        ));
    }
    if let Some(d) = &input.department_id
        && !refs.department_exists
    {
        return Err(DomainError::not_found("department_id", "部门", "department", d));
    }
    if let Some(other) = refs.same_number
        && other != id
    {
        return Err(DomainError::conflict(
            "number",
            "window.duplicate_number",
            format!("本大厅已有窗口号「{}」", input.number),
            format!("this hall already has a window numbered '{}'", input.number),
        ));
    }
    Ok(Window {
        id: id.to_string(),
        hall_id: hall_id.to_string(),
        number: input.number.clone(),
        name: input.name.trim().to_string(),
        kind: input.kind,
        department_id: input.department_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn input(uscc: &str) -> DepartmentInput {
        DepartmentInput {
            name: "海口市市场监督管理局".into(),
            uscc: uscc.into(),
            region_code: "460100".into(),
            nature: DepartmentNature::StatutoryAuthority,
            parent_id: None,
            phone: Some("0898-12345".into()),
            address: None,
        }
    }
    const OK: &str = "11450000007565194H";

    #[test]
    fn department_rules() {
        let refs = || DepartmentRefs {
            region_exists: true,
            parent: None,
            same_uscc: None,
        };
        assert!(decide_department("d1", &input(OK), refs()).is_ok());
        let e = decide_department("d1", &input("11450000007565194J"), refs()).unwrap_err();
        assert_eq!(
            (e.kind, e.errors[0].rule.as_str()),
            (ErrorKind::Invalid, "uscc.check_digit")
        );
        let e = decide_department(
            "d1",
            &input(OK),
            DepartmentRefs {
                region_exists: false,
                ..refs()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        let other = decide_department("d2", &input(OK), refs()).unwrap();
        let e = decide_department(
            "d1",
            &input(OK),
            DepartmentRefs {
                same_uscc: Some(&other),
                ..refs()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        // Changing a department keeps its own code.
        assert!(
            decide_department(
                "d2",
                &input(OK),
                DepartmentRefs {
                    same_uscc: Some(&other),
                    ..refs()
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn window_rules() {
        let refs = || WindowRefs {
            hall_exists: true,
            department_exists: true,
            same_number: None,
        };
        let w = |kind, dept: Option<&str>| WindowInput {
            number: "A01".into(),
            name: "综合受理".into(),
            kind,
            department_id: dept.map(Into::into),
        };
        assert!(decide_window("w", "h", &w(WindowKind::Comprehensive, None), refs()).is_ok());
        assert_eq!(
            decide_window("w", "h", &w(WindowKind::Comprehensive, Some("d")), refs())
                .unwrap_err()
                .errors[0]
                .field,
            "department_id"
        );
        assert_eq!(
            decide_window("w", "h", &w(WindowKind::Dedicated, None), refs())
                .unwrap_err()
                .errors[0]
                .rule,
            "required"
        );
        let e = decide_window(
            "w",
            "h",
            &w(WindowKind::Pickup, None),
            WindowRefs {
                same_number: Some("w2".into()),
                ..refs()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
    }
}
