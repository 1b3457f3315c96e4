//! Reads on one connection.

use super::*;

// ---------------------------------------------------------------------------------------
// Reads on one connection (used inside the writer and for import planning)
// ---------------------------------------------------------------------------------------

/// The entry whose `column` (a fixed name: `id` or `code`) is `value`.
pub(super) async fn entry_where(conn: &mut AnyConnection, column: &'static str, value: &str) -> Result<Option<Entry>> {
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries WHERE {column} = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

pub async fn entry(conn: &mut AnyConnection, id: &str) -> Result<Option<Entry>> {
    entry_where(conn, "id", id).await
}

pub async fn entry_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Entry>> {
    entry_where(conn, "code", code).await
}

pub async fn version(conn: &mut AnyConnection, entry_id: &str, v: i64) -> Result<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLS} FROM catalog_versions WHERE entry_id = $1 AND version = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry_id)
        .bind(v)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// All versions of an entry, oldest first.
pub async fn versions(conn: &mut AnyConnection, entry_id: &str) -> Result<Vec<Version>> {
    let sql = format!("SELECT {VERSION_COLS} FROM catalog_versions WHERE entry_id = $1 ORDER BY version");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry_id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The version other levels and the lists refer to: the latest publication, or the
/// latest version when the entry was never published.
pub async fn reference(conn: &mut AnyConnection, e: &Entry) -> Result<Version> {
    let v = e.published_version.unwrap_or(e.latest_version);
    version(conn, &e.id, v)
        .await?
        .ok_or_else(|| internal(format!("entry {} lacks version {v}", e.id)))
}

/// What the entry says now for its managers: the open draft or submission, else the
/// reference version (export and import compare against this).
pub async fn current(conn: &mut AnyConnection, e: &Entry) -> Result<Version> {
    match e.open_version {
        Some(v) => version(conn, &e.id, v)
            .await?
            .ok_or_else(|| internal(format!("entry {} lacks version {v}", e.id))),
        None => reference(conn, e).await,
    }
}

pub async fn element_codes(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    Ok(sqlx::query_scalar::<_, String>("SELECT code FROM data_elements")
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect())
}
