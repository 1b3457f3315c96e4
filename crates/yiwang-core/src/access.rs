//! Access control: permissions (checked in code), roles (data: a role is a named set of
//! permissions), who is acting, and the scope rule "staff see and act only within their
//! department and region" (DESIGN principle 8; GB/T 22239-2019 §8.1.4.2 access control:
//! least privilege, default deny).

use crate::error::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

/// Everything the platform lets someone do. Handlers check permissions, never role names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create and change administrative regions.
    RegionManage,
    /// Create and change departments, halls and windows.
    OrgManage,
    /// Publish the official calendar and set local holidays.
    CalendarManage,
    /// Ledger status, verification and checkpoints.
    LedgerAdmin,
    /// Read the security audit (logins, failures, permission changes, unmaskings, token use).
    AuditRead,
    /// Create staff accounts, assign roles, disable accounts.
    StaffManage,
    /// Change which permissions a role carries.
    RoleManage,
    /// Issue and revoke API tokens for systems.
    TokenManage,
    /// Read a person's profile (masked), recorded in the person's data-use log.
    PersonRead,
    /// See a person's identifiers unmasked, recorded in the data-use log and the ledger.
    PersonUnmask,
    /// Act for a person present at the window (帮办), recorded as assisted.
    PersonAssist,
    /// Edit and submit the service items of one's department (事项管理).
    CatalogManage,
    /// Review and publish (or return) other managers' submitted items, within one's
    /// region (the four-eyes step of 事项管理).
    CatalogReview,
    /// Accept applications at a window: any department's item in one's region (一窗受理,
    /// 受审分离: the case then goes to the competent department's back office).
    CaseAccept,
    /// Review cases (issue 6).
    CaseReview,
    /// Decide cases (issue 6).
    CaseDecide,
    /// Handle the 12345 tickets dispatched to one's department (承办: reply, send back).
    HotlineHandle,
    /// The 12345 centre: receive, dispatch, answer, call back and reopen tickets of one's
    /// region, and keep its dispatch catalogue.
    HotlineDispatch,
    /// Supervision dashboards and drill-down.
    SuperviseRead,
    /// Make, rotate and revoke the e-seals of departments in one's region.
    SealManage,
    /// Define licence types and issue, change and annotate the licences of one's department.
    LicenceIssue,
    /// Manage the trust list: import other nodes' keys, remove them (互认).
    TrustManage,
    /// 作废 a mistaken case record, with a reason (administrators of the region).
    CaseVoid,
    /// Follow up the bad ratings of one's department (国办发〔2019〕51号 谁办理谁负责: 回访,
    /// 整改, 申诉).
    RatingHandle,
    /// Decide appeals of bad ratings and publish the rating options, within one's region
    /// (申诉复核, 监督考评).
    RatingManage,
    /// Publish one's department's data resources and load their data; ask other
    /// departments for theirs and answer their requests (数据共享).
    DataShare,
    /// Edit, dry-run and submit one's department's policies (惠民惠企政策, 免申即享).
    PolicyManage,
    /// Publish or return submitted policies within one's region (four eyes).
    PolicyReview,
}

impl Permission {
    pub const ALL: [Permission; 28] = [
        Permission::RegionManage,
        Permission::OrgManage,
        Permission::CalendarManage,
        Permission::LedgerAdmin,
        Permission::AuditRead,
        Permission::StaffManage,
        Permission::RoleManage,
        Permission::TokenManage,
        Permission::PersonRead,
        Permission::PersonUnmask,
        Permission::PersonAssist,
        Permission::CatalogManage,
        Permission::CatalogReview,
        Permission::CaseAccept,
        Permission::CaseReview,
        Permission::CaseDecide,
        Permission::HotlineHandle,
        Permission::HotlineDispatch,
        Permission::SuperviseRead,
        Permission::SealManage,
        Permission::LicenceIssue,
        Permission::TrustManage,
        Permission::CaseVoid,
        Permission::RatingHandle,
        Permission::RatingManage,
        Permission::DataShare,
        Permission::PolicyManage,
        Permission::PolicyReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::RegionManage => "region_manage",
            Permission::OrgManage => "org_manage",
            Permission::CalendarManage => "calendar_manage",
            Permission::LedgerAdmin => "ledger_admin",
            Permission::AuditRead => "audit_read",
            Permission::StaffManage => "staff_manage",
            Permission::RoleManage => "role_manage",
            Permission::TokenManage => "token_manage",
            Permission::PersonRead => "person_read",
            Permission::PersonUnmask => "person_unmask",
            Permission::PersonAssist => "person_assist",
            Permission::CatalogManage => "catalog_manage",
            Permission::CatalogReview => "catalog_review",
            Permission::CaseAccept => "case_accept",
            Permission::CaseReview => "case_review",
            Permission::CaseDecide => "case_decide",
            Permission::HotlineHandle => "hotline_handle",
            Permission::HotlineDispatch => "hotline_dispatch",
            Permission::SuperviseRead => "supervise_read",
            Permission::SealManage => "seal_manage",
            Permission::LicenceIssue => "licence_issue",
            Permission::TrustManage => "trust_manage",
            Permission::CaseVoid => "case_void",
            Permission::RatingHandle => "rating_handle",
            Permission::RatingManage => "rating_manage",
            Permission::DataShare => "data_share",
            Permission::PolicyManage => "policy_manage",
            Permission::PolicyReview => "policy_review",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// How far a staff member's grant of this permission reaches.
    pub fn reach(self) -> Reach {
        match self {
            Permission::CatalogManage
            | Permission::CaseReview
            | Permission::CaseDecide
            | Permission::LicenceIssue
            | Permission::RatingHandle
            | Permission::HotlineHandle
            | Permission::DataShare
            | Permission::PolicyManage => Reach::Department,
            _ => Reach::Region,
        }
    }
}

/// The scope a permission reaches for a staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only objects of the staff member's own department.
    Department,
    /// Objects of any department in the staff member's region or below it.
    Region,
}

/// The built-in roles with their default permissions (seeded as data; an admin with
/// `role_manage` may change a role's permissions, each change recorded in the ledger).
pub fn default_roles() -> Vec<(&'static str, &'static str, &'static str, Vec<Permission>)> {
    use Permission::*;
    vec![
        (
            "window_clerk",
            "综合窗口人员",
            "Window clerk",
            vec![PersonRead, PersonUnmask, PersonAssist, CaseAccept],
        ),
        ("reviewer", "审查人员", "Reviewer", vec![PersonRead, CaseReview]),
        // Approvers issue the licences their decisions grant (一枚印章管审批).
        (
            "approver",
            "审批决定人员",
            "Approver",
            vec![PersonRead, CaseDecide, LicenceIssue, RatingHandle],
        ),
        // 谁办理谁负责: each department names who calls back its bad ratings.
        (
            "rating_officer",
            "好差评整改人员",
            "Rating follow-up officer",
            vec![PersonRead, RatingHandle],
        ),
        ("licence_officer", "证照管理人员", "Licence officer", vec![LicenceIssue]),
        (
            "catalog_manager",
            "事项管理人员",
            "Catalogue manager",
            vec![CatalogManage, CatalogReview],
        ),
        (
            "catalog_editor",
            "事项编辑人员",
            "Catalogue editor",
            vec![CatalogManage],
        ),
        (
            "hotline_agent",
            "12345 热线座席",
            "Hotline agent",
            vec![PersonRead, HotlineDispatch],
        ),
        // 谁主管谁负责: each unit names who handles the tickets sent to it.
        (
            "hotline_officer",
            "12345 承办人员",
            "Hotline handling officer",
            vec![HotlineHandle],
        ),
        // 国发〔2016〕51号: each department names who keeps its data resources and answers
        // requests for them.
        (
            "data_officer",
            "数据共享管理人员",
            "Data-sharing officer",
            vec![DataShare],
        ),
        // 国发〔2024〕3号: the paying department's policy staff, with the data they need.
        (
            "policy_officer",
            "惠民惠企政策专员",
            "Policy officer",
            vec![PolicyManage, DataShare],
        ),
        ("policy_reviewer", "政策审核人员", "Policy reviewer", vec![PolicyReview]),
        (
            "supervisor",
            "监督考评人员",
            "Supervisor",
            vec![SuperviseRead, AuditRead, RatingManage],
        ),
        (
            "admin",
            "系统管理员",
            "Administrator",
            vec![
                RegionManage,
                OrgManage,
                CalendarManage,
                LedgerAdmin,
                AuditRead,
                StaffManage,
                RoleManage,
                TokenManage,
                SealManage,
                TrustManage,
                CaseVoid,
            ],
        ),
    ]
}

/// A role code: 2–32 lowercase letters, digits or underscores.
pub fn check_role_code(field: &str, code: &str) -> Result<(), FieldError> {
    if (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "role.format",
            "角色代码为 2–32 位小写字母、数字或下划线",
            "a role code has 2–32 lowercase letters, digits or underscores",
        ))
    }
}

/// Parses a list of permission names, naming each unknown one.
pub fn parse_permissions(field: &str, names: &[String]) -> Result<Vec<Permission>, DomainError> {
    let mut out = vec![];
    let mut errs = vec![];
    for (i, n) in names.iter().enumerate() {
        match Permission::parse(n) {
            Some(p) => {
                if !out.contains(&p) {
                    out.push(p)
                }
            }
            None => errs.push(FieldError::new(
                format!("{field}[{i}]"),
                "permission.unknown",
                format!("未知权限「{n}」"),
                format!("unknown permission '{n}'"),
            )),
        }
    }
    if errs.is_empty() {
        out.sort();
        Ok(out)
    } else {
        Err(DomainError::invalid(errs))
    }
}

/// May `granter` give a staff member of `target` (account `grantee`) these roles, each
/// `(code, permissions)` in the order asked? Only permissions the granter itself holds over
/// that department or region, and never to itself (GB/T 22239-2019 §8.1.4.2: 授予管理用户
/// 所需的最小权限, 实现管理用户的权限分离). So an administrator without business duties
/// cannot hand them out, and nobody raises their own rights. Errors name `{field}[i]`.
pub fn check_grant(
    granter: &Actor,
    grantee: &str,
    target: &Target,
    roles: &[(String, Vec<Permission>)],
    field: &str,
) -> Result<(), DomainError> {
    let own = match granter {
        Actor::Staff { account_id, .. } | Actor::Person { account_id, .. } => Some(account_id.as_str()),
        _ => None,
    };
    if own == Some(grantee) {
        return Err(DomainError::forbidden(FieldError::new(
            "account_id",
            "grant.self",
            "不能为自己授予或变更角色，请由另一名管理员办理",
            "you cannot grant or change your own roles; another administrator must",
        )));
    }
    let mut errs = vec![];
    for (i, (code, perms)) in roles.iter().enumerate() {
        if let Some(p) = perms.iter().find(|p| granter.authorize(**p, target).is_err()) {
            errs.push(FieldError::new(
                format!("{field}[{i}]"),
                "grant.exceeds_grantor",
                format!("角色「{code}」含有您在该范围内不具备的权限「{}」，不能授予", p.as_str()),
                format!(
                    "role '{code}' carries '{}', which you do not hold in that scope; you cannot grant it",
                    p.as_str()
                ),
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DomainError::forbidden_many(errs))
    }
}

/// Is `code` the region `ancestor` or inside it? By GB/T 2260 §4 code structure: a
/// province is its first 2 digits, a city its first 4, a county its 6, a township its 9.
pub fn region_within(ancestor: &str, code: &str) -> bool {
    code.starts_with(region_prefix(ancestor))
}

/// The code prefix every region inside `ancestor` starts with (GB/T 2260 §4): "46" for a
/// province, "4601" for a city, the code itself below; "" for "000000", which stands for
/// the whole country (the national calendar's region).
pub fn region_prefix(ancestor: &str) -> &str {
    match ancestor.len() {
        6 if ancestor == "000000" => "",
        6 if ancestor.ends_with("0000") => &ancestor[..2],
        6 if ancestor.ends_with("00") => &ancestor[..4],
        _ => ancestor,
    }
}

/// What an object belongs to, for scope checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Something owned by a department (its cases, items, staff, windows).
    Department { id: String, region_code: String },
    /// Something of a region as a whole (the region itself, its halls, its local days).
    Region { code: String },
    /// Not bound to a department or region (e.g. persons: the whole province's).
    Unbound,
}

/// Who is acting, as far as access control needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    /// A natural person logged in with their own account.
    Person {
        account_id: String,
        person_id: String,
    },
    /// A staff member of one department in one region, with their permissions.
    Staff {
        account_id: String,
        department_id: String,
        region_code: String,
        permissions: Vec<Permission>,
    },
    /// A department system or another node, by API token.
    System {
        token_id: String,
        department_id: Option<String>,
        region_code: String,
        permissions: Vec<Permission>,
    },
    /// The bootstrap administrator token from configuration (before any staff exists).
    Root,
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Not logged in (HTTP 401).
    Unauthenticated,
    /// Logged in, but the permission is missing (HTTP 403).
    Missing(Permission),
    /// The permission is held, but not for this department or region (HTTP 403).
    OutOfScope(Permission),
}

impl Actor {
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Actor::Anonymous)
    }

    pub fn has(&self, p: Permission) -> bool {
        match self {
            Actor::Root => true,
            Actor::Staff { permissions, .. } | Actor::System { permissions, .. } => permissions.contains(&p),
            _ => false,
        }
    }

    /// The single decision every guarded endpoint goes through: default deny.
    pub fn authorize(&self, p: Permission, target: &Target) -> Result<(), Denied> {
        if !self.is_authenticated() {
            return Err(Denied::Unauthenticated);
        }
        if !self.has(p) {
            return Err(Denied::Missing(p));
        }
        let (own_dept, own_region) = match self {
            Actor::Root => return Ok(()),
            Actor::Staff {
                department_id,
                region_code,
                ..
            } => (Some(department_id.as_str()), region_code.as_str()),
            Actor::System {
                department_id,
                region_code,
                ..
            } => (department_id.as_deref(), region_code.as_str()),
            _ => return Err(Denied::Missing(p)),
        };
        let ok = match (target, p.reach()) {
            (Target::Unbound, _) => true,
            (Target::Department { id, region_code }, Reach::Department) => {
                own_dept == Some(id.as_str()) || (own_dept.is_none() && region_within(own_region, region_code))
            }
            (Target::Department { region_code, .. }, Reach::Region) => region_within(own_region, region_code),
            (Target::Region { code }, _) => region_within(own_region, code),
        };
        if ok { Ok(()) } else { Err(Denied::OutOfScope(p)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(dept: &str, region: &str, perms: Vec<Permission>) -> Actor {
        Actor::Staff {
            account_id: "a".into(),
            department_id: dept.into(),
            region_code: region.into(),
            permissions: perms,
        }
    }

    #[test]
    fn region_containment_follows_code_structure() {
        assert!(region_within("460000", "460100"));
        assert!(region_within("460000", "469001"));
        assert!(region_within("460100", "460105"));
        assert!(region_within("460100", "460105001"));
        assert!(!region_within("460100", "460200"));
        assert!(!region_within("460105", "460106"));
        assert!(region_within("000000", "110000"));
        assert!(!region_within("460000", "450000"));
    }

    #[test]
    fn default_deny_and_scope() {
        let t_own = Target::Department {
            id: "d1".into(),
            region_code: "460100".into(),
        };
        let t_foreign = Target::Department {
            id: "d2".into(),
            region_code: "460200".into(),
        };
        let t_sibling = Target::Department {
            id: "d3".into(),
            region_code: "460100".into(),
        };
        assert_eq!(
            Actor::Anonymous.authorize(Permission::PersonRead, &Target::Unbound),
            Err(Denied::Unauthenticated)
        );
        let person = Actor::Person {
            account_id: "p".into(),
            person_id: "q".into(),
        };
        for p in Permission::ALL {
            assert_eq!(person.authorize(p, &Target::Unbound), Err(Denied::Missing(p)));
        }
        // 一窗受理: a window clerk accepts for every department of the region, not beyond.
        let clerk = staff("d1", "460100", vec![Permission::CaseAccept]);
        assert_eq!(clerk.authorize(Permission::CaseAccept, &t_own), Ok(()));
        assert_eq!(clerk.authorize(Permission::CaseAccept, &t_sibling), Ok(()));
        let reviewer = staff("d1", "460100", vec![Permission::CaseReview]);
        assert_eq!(
            reviewer.authorize(Permission::CaseReview, &t_sibling),
            Err(Denied::OutOfScope(Permission::CaseReview))
        );
        assert_eq!(
            clerk.authorize(Permission::CaseAccept, &t_foreign),
            Err(Denied::OutOfScope(Permission::CaseAccept))
        );
        assert_eq!(
            clerk.authorize(Permission::CaseDecide, &t_own),
            Err(Denied::Missing(Permission::CaseDecide))
        );
        let admin = staff("d1", "460100", vec![Permission::OrgManage]);
        assert_eq!(admin.authorize(Permission::OrgManage, &t_sibling), Ok(()));
        assert_eq!(
            admin.authorize(Permission::OrgManage, &t_foreign),
            Err(Denied::OutOfScope(Permission::OrgManage))
        );
        assert_eq!(
            admin.authorize(Permission::OrgManage, &Target::Region { code: "460000".into() }),
            Err(Denied::OutOfScope(Permission::OrgManage))
        );
        assert_eq!(Actor::Root.authorize(Permission::RoleManage, &t_foreign), Ok(()));
    }

    #[test]
    fn permission_names_round_trip_and_roles_use_known_permissions() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        let roles = default_roles();
        assert!(roles.len() >= 8);
        for (code, ..) in &roles {
            check_role_code("role", code).unwrap();
        }
        let err = parse_permissions("permissions", &["org_manage".into(), "fly".into()]).unwrap_err();
        assert_eq!(err.errors[0].field, "permissions[1]");
    }
}
