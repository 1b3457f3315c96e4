//! The knowledge base (知识库; 国办发〔2020〕53号: 权威准确, 标准统一, 实时更新, 共建共享):
//! articles owned by departments, every save a version the centre reviews (four eyes) before
//! it is published, valid between dates; the gaps consultations showed (`kb_gaps`, opened
//! when a consultation is dispatched, closed by the article that answers it). The search
//! over published articles is `yiwang_search::KnowledgeIndex`, which follows `kb.` events.

use super::*;
use yiwang_core::hotline::{ArticleInput, VersionState};

fn kb_stream(id: &str) -> String {
    format!("kb:{id}")
}

/// One version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ArticleVersion {
    pub article_id: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    #[sqlx(try_from = "JsonText")]
    pub keywords: Vec<String>,
    pub department_id: String,
    pub region_code: String,
    #[sqlx(try_from = "crate::rows::DateText")]
    pub valid_from: Option<NaiveDate>,
    #[sqlx(try_from = "crate::rows::DateText")]
    pub valid_until: Option<NaiveDate>,
    #[sqlx(try_from = "JsonText")]
    pub answers_tickets: Vec<String>,
    #[sqlx(try_from = "String")]
    pub state: VersionState,
    pub author: String,
    pub reviewer: Option<String>,
    pub review_note: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

const VCOLS: &str = "article_id, version, title, body, keywords, department_id, region_code, valid_from, valid_until,
    answers_tickets, state, author, reviewer, review_note, created_at, decided_at";

impl ArticleVersion {
    /// Valid on `day` (a published version outside its dates is not offered).
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.state == VersionState::Published && core::in_force(self.valid_from, self.valid_until, day)
    }
}

/// A version to store (numbered by the writer).
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// None: a new article (its id made on the request task).
    pub article_id: String,
    pub is_new: bool,
    pub input: ArticleInput,
    pub author: String,
}

#[derive(Debug, Clone)]
pub struct ReviewCmd {
    pub article_id: String,
    pub version: i64,
    pub to: VersionState,
    pub reviewer: String,
    pub note: Option<String>,
}

/// Saves an article as a new version to review: a new article when `id` is none. The
/// department and region must exist, the region within the department's or below it; the
/// tickets it answers must be known.
pub async fn save_article(store: &Store, meta: Meta, id: Option<&str>, input: &ArticleInput) -> Result<Written> {
    core::check_article(input)?;
    let mut errors = vec![];
    match crate::refdata::department(store, &input.department_id).await? {
        None => errors.push(FieldError::new(
            "department_id",
            "department.unknown",
            "单位不存在",
            "no such unit",
        )),
        Some(d) if !yiwang_core::access::region_within(&d.region_code, &input.region_code) => {
            errors.push(FieldError::new(
                "region_code",
                "hotline.article_region",
                "知识的适用地区须在主管单位的地区之内",
                "the article holds within its department's region",
            ))
        }
        Some(_) => {}
    }
    if crate::regions::get(&store.read, &input.region_code).await?.is_none() {
        errors.push(FieldError::new(
            "region_code",
            "region.unknown",
            "行政区划不存在",
            "no such region",
        ));
    }
    for (i, t) in input.answers_tickets.iter().enumerate() {
        if ticket(store, t).await?.is_none() {
            errors.push(FieldError::new(
                format!("answers_tickets[{i}]"),
                "ticket.unknown",
                "工单不存在",
                "no such ticket",
            ));
        }
    }
    if let Some(id) = id
        && article_versions(store, id).await?.is_empty()
    {
        return Err(DomainError::not_found("article_id", "知识", "article", id).into());
    }
    if !errors.is_empty() {
        return Err(DomainError::invalid(errors).into());
    }
    let mut input = input.clone();
    input.title = input.title.trim().to_string();
    input.body = input.body.trim().to_string();
    input.keywords = input.keywords.iter().map(|k| k.trim().to_string()).collect();
    let new = NewVersion {
        article_id: id
            .map(str::to_string)
            .unwrap_or_else(|| format!("kb-{}", crate::new_id())),
        is_new: id.is_none(),
        author: meta.actor.clone(),
        input,
    };
    store
        .write(meta, Command::Hotline(Box::new(Cmd::SaveArticle(Box::new(new)))))
        .await
}

pub(super) async fn save_article_cmd(ctx: &mut WriteCtx<'_>, v: &NewVersion) -> Result<Value> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM kb_versions WHERE article_id = $1")
        .bind(&v.article_id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let version = last.unwrap_or(0) + 1;
    let i = &v.input;
    ctx.append(
        &kb_stream(&v.article_id),
        if v.is_new { Expect::New } else { Expect::Exists },
        "kb.article_submitted",
        &json!({ "article_id": v.article_id, "version": version, "department_id": i.department_id,
                 "title": i.title, "body_sm3": hex::encode(yiwang_crypto::sm3(i.body.as_bytes())) }),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO kb_versions ({VCOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, NULL)"
    )))
    .bind(&v.article_id)
    .bind(version)
    .bind(&i.title)
    .bind(&i.body)
    .bind(serde_json::to_string(&i.keywords).map_err(internal)?)
    .bind(&i.department_id)
    .bind(&i.region_code)
    .bind(i.valid_from.map(|d| d.to_string()))
    .bind(i.valid_until.map(|d| d.to_string()))
    .bind(serde_json::to_string(&i.answers_tickets).map_err(internal)?)
    .bind(VersionState::Submitted.as_str())
    .bind(&v.author)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "article_id": v.article_id, "version": version, "state": VersionState::Submitted }))
}

/// Reviews a submitted version (the centre; never its author): published — the one before
/// it superseded, the gaps of the tickets it answers closed — or sent back with a note.
pub async fn review_article(
    store: &Store,
    meta: Meta,
    id: &str,
    version: i64,
    approve: bool,
    note: Option<String>,
) -> Result<Written> {
    let v = article_versions(store, id)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| DomainError::not_found("version", "知识版本", "article version", &format!("{id}/{version}")))?;
    let to = core::review(v.state, &v.author, &meta.actor, approve)?;
    if !approve && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(DomainError::invalid(vec![FieldError::new(
            "note",
            "required",
            "退回修改须说明理由",
            "say why it is sent back",
        )])
        .into());
    }
    let cmd = ReviewCmd {
        article_id: id.to_string(),
        version,
        to,
        reviewer: meta.actor.clone(),
        note: note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
    };
    store
        .write(meta, Command::Hotline(Box::new(Cmd::ReviewArticle(Box::new(cmd)))))
        .await
}

pub(super) async fn review_article_cmd(ctx: &mut WriteCtx<'_>, r: &ReviewCmd) -> Result<Value> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT state, answers_tickets FROM kb_versions WHERE article_id = $1 AND version = $2")
            .bind(&r.article_id)
            .bind(r.version)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let Some((state, answers)) = row else {
        return Err(DomainError::not_found("version", "知识版本", "article version", &r.article_id).into());
    };
    if state != VersionState::Submitted.as_str() {
        return Err(DomainError::conflict(
            "version",
            "hotline.article_not_submitted",
            "该版本已审核".into(),
            "this version was already reviewed".into(),
        )
        .into());
    }
    let kind = if r.to == VersionState::Published {
        "kb.article_published"
    } else {
        "kb.article_rejected"
    };
    ctx.append(
        &kb_stream(&r.article_id),
        Expect::Exists,
        kind,
        &json!({ "article_id": r.article_id, "version": r.version, "note": r.note }),
    )
    .await?;
    if r.to == VersionState::Published {
        sqlx::query("UPDATE kb_versions SET state = $1 WHERE article_id = $2 AND state = $3")
            .bind(VersionState::Superseded.as_str())
            .bind(&r.article_id)
            .bind(VersionState::Published.as_str())
            .execute(&mut *ctx.conn)
            .await?;
        let tickets: Vec<String> = serde_json::from_str(&answers).map_err(internal)?;
        for t in tickets {
            sqlx::query(
                "UPDATE kb_gaps SET closed_at = $1, article_id = $2 WHERE ticket_id = $3 AND closed_at IS NULL",
            )
            .bind(ctx.now_ms)
            .bind(&r.article_id)
            .bind(&t)
            .execute(&mut *ctx.conn)
            .await?;
        }
    }
    sqlx::query(
        "UPDATE kb_versions SET state = $1, reviewer = $2, review_note = $3, decided_at = $4
         WHERE article_id = $5 AND version = $6",
    )
    .bind(r.to.as_str())
    .bind(&r.reviewer)
    .bind(&r.note)
    .bind(ctx.now_ms)
    .bind(&r.article_id)
    .bind(r.version)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "article_id": r.article_id, "version": r.version, "state": r.to }))
}

fn versions_from(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<ArticleVersion>> {
    rows.iter().map(read).collect()
}

/// Every version of an article, newest first.
pub async fn article_versions(store: &Store, id: &str) -> Result<Vec<ArticleVersion>> {
    versions_from(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VCOLS} FROM kb_versions WHERE article_id = $1 ORDER BY version DESC"
        )))
        .bind(id)
        .fetch_all(&store.read)
        .await?,
    )
}

/// The published version of an article (whatever its dates).
pub async fn published_article(store: &Store, id: &str) -> Result<Option<ArticleVersion>> {
    Ok(versions_from(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VCOLS} FROM kb_versions WHERE article_id = $1 AND state = 'published'"
        )))
        .bind(id)
        .fetch_all(&store.read)
        .await?,
    )?
    .pop())
}

/// Every published version (the search index is built from them).
pub async fn published_articles(store: &Store) -> Result<Vec<ArticleVersion>> {
    versions_from(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VCOLS} FROM kb_versions WHERE state = 'published' ORDER BY article_id"
        )))
        .fetch_all(&store.read)
        .await?,
    )
}

/// The latest version of each article, for a department (or all), newest change first.
pub async fn articles(store: &Store, department_id: Option<&str>, limit: i64) -> Result<Vec<ArticleVersion>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {VCOLS} FROM kb_versions v WHERE version = (SELECT MAX(version) FROM kb_versions w
           WHERE w.article_id = v.article_id) AND ($1 IS NULL OR department_id = $1)
         ORDER BY created_at DESC LIMIT $2"
    )))
    .bind(department_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    versions_from(rows)
}

/// Versions waiting for review, oldest first.
pub async fn review_queue(store: &Store, limit: i64) -> Result<Vec<ArticleVersion>> {
    versions_from(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VCOLS} FROM kb_versions WHERE state = 'submitted' ORDER BY created_at LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&store.read)
        .await?,
    )
}

/// A consultation the base could not answer, to be added to it by its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Gap {
    pub ticket_id: String,
    pub department_id: String,
    pub due_at: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub article_id: Option<String>,
    /// The consultation's words.
    pub content: String,
}

/// Open gaps (of a department, or all), earliest deadline first.
pub async fn gaps(store: &Store, department_id: Option<&str>, limit: i64) -> Result<Vec<Gap>> {
    sqlx::query(
        "SELECT g.ticket_id, g.department_id, g.due_at, g.opened_at, g.closed_at, g.article_id, t.content
         FROM kb_gaps g JOIN tickets t ON t.id = g.ticket_id
         WHERE g.closed_at IS NULL AND ($1 IS NULL OR g.department_id = $1)
         ORDER BY g.due_at, g.ticket_id LIMIT $2",
    )
    .bind(department_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}
