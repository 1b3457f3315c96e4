//! The 12345 knowledge base (知识库; 国办发〔2020〕53号: 权威准确, 标准统一, 实时更新,
//! 共建共享): articles owned by departments, each change a version reviewed by the centre
//! before it is published (four eyes), valid between two dates; the gaps a consultation
//! showed, which the unit that answered it must fill.

use super::*;
use chrono::NaiveDate;

named_enum!(
    /// Where a version of an article stands.
    VersionState {
        Submitted = "submitted", "待审核", "to be reviewed";
        Published = "published", "已发布", "published";
        Rejected = "rejected", "退回修改", "sent back";
        Superseded = "superseded", "已被新版本取代", "superseded";
    }
);

/// An article as its department writes it (each save is a new version, reviewed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// The question as people ask it, e.g. 自来水开户需要什么材料？
    pub title: String,
    /// The answer.
    pub body: String,
    /// The department whose answer it is (its owner).
    pub department_id: String,
    /// Where it holds (the department's region or one below).
    pub region_code: String,
    /// Words people use for it besides the title's.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// From when it holds (default: when published).
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// Until when it holds (inclusive; none: until changed).
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// Consultations the base could not answer that this article now answers (their gaps
    /// close when it is published).
    #[serde(default)]
    pub answers_tickets: Vec<String>,
}

pub const ARTICLE_BODY_MAX: usize = 5_000;

/// Checks an article: a title of 1–100 characters, an answer of 1–5,000, at most 20
/// keywords of 1–20, dates in order, at most 20 tickets.
pub fn check_article(a: &ArticleInput) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text("title", &a.title, 100);
    p.text("body", &a.body, ARTICLE_BODY_MAX);
    if a.department_id.trim().is_empty() {
        p.push(FieldError::new(
            "department_id",
            "required",
            "请选择知识的主管单位",
            "choose the department the answer belongs to",
        ));
    }
    if a.keywords.len() > 20 || a.keywords.iter().any(|k| k.trim().is_empty() || k.chars().count() > 20) {
        p.push(FieldError::new(
            "keywords",
            "hotline.keywords",
            "关键词最多 20 个，每个 1–20 字",
            "at most 20 keywords of 1–20 characters each",
        ));
    }
    if let (Some(f), Some(u)) = (a.valid_from, a.valid_until)
        && u < f
    {
        p.push(FieldError::new(
            "valid_until",
            "hotline.valid_until",
            "失效日期不得早于生效日期",
            "the end of validity may not come before its start",
        ));
    }
    if a.answers_tickets.len() > 20 || a.answers_tickets.iter().any(|t| t.is_empty() || t.len() > 40) {
        p.push(FieldError::new(
            "answers_tickets",
            "hotline.answers_tickets",
            "最多关联 20 个工单编号",
            "at most 20 ticket numbers",
        ));
    }
    p.finish()
}

/// Is a version valid on `day`?
pub fn in_force(valid_from: Option<NaiveDate>, valid_until: Option<NaiveDate>, day: NaiveDate) -> bool {
    valid_from.is_none_or(|f| f <= day) && valid_until.is_none_or(|u| day <= u)
}

/// The review of a submitted version: only a submitted version, and never by its author
/// (四眼原则: the centre checks what a department wrote, 权威准确).
pub fn review(state: VersionState, author: &str, reviewer: &str, approve: bool) -> Result<VersionState, DomainError> {
    if state != VersionState::Submitted {
        return Err(DomainError::one(
            ErrorKind::Conflict,
            FieldError::new(
                "version",
                "hotline.article_not_submitted",
                "只有待审核的版本可以审核",
                "only a version to be reviewed can be reviewed",
            ),
        ));
    }
    if author == reviewer {
        return Err(DomainError::one(
            ErrorKind::Forbidden,
            FieldError::new(
                "version",
                "hotline.article_four_eyes",
                "不能审核自己提交的知识",
                "an article is reviewed by someone other than its author",
            ),
        ));
    }
    Ok(if approve {
        VersionState::Published
    } else {
        VersionState::Rejected
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article() -> ArticleInput {
        ArticleInput {
            title: "自来水开户需要什么材料？".into(),
            body: "携带身份证和房产证明到供水营业厅办理。".into(),
            department_id: "d".into(),
            region_code: "460100".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_article_is_checked_and_reviewed_by_another() {
        check_article(&article()).unwrap();
        let mut bad = article();
        bad.title = String::new();
        bad.body = "水".repeat(ARTICLE_BODY_MAX + 1);
        bad.valid_from = NaiveDate::from_ymd_opt(2026, 12, 1);
        bad.valid_until = NaiveDate::from_ymd_opt(2026, 11, 1);
        let e = check_article(&bad).unwrap_err();
        let f: Vec<&str> = e.errors.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(f, ["title", "body", "valid_until"]);
        assert_eq!(
            review(VersionState::Submitted, "staff:a", "staff:a", true)
                .unwrap_err()
                .errors[0]
                .rule,
            "hotline.article_four_eyes"
        );
        assert_eq!(
            review(VersionState::Submitted, "staff:a", "staff:b", true).unwrap(),
            VersionState::Published
        );
        assert!(review(VersionState::Published, "staff:a", "staff:b", false).is_err());
        let d = |m, dd| NaiveDate::from_ymd_opt(2026, m, dd);
        assert!(in_force(d(12, 1), d(12, 31), d(12, 7).unwrap()));
        assert!(!in_force(d(12, 8), None, d(12, 7).unwrap()));
        assert!(!in_force(None, d(12, 6), d(12, 7).unwrap()));
    }
}
