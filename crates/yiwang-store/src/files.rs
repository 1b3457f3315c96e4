//! Files: content-addressed by SM3 in an object store (the directory `<data_dir>/blobs` by
//! default), each described by a `files` row written through the writer with a
//! `file.stored` event, so a file's hash is in the tamper-evident ledger. The same bytes
//! stored twice are one file.

use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError};
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;
use yiwang_core::{DomainError, FieldError};

/// Largest file accepted (20 MiB).
pub const MAX_SIZE: usize = 20 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// SM3 of the content, hex: the file's name in the store and in its URL.
    pub sm3: String,
    pub size: i64,
    pub content_type: String,
    /// The file name as uploaded (shown when downloading).
    pub name: String,
    pub created_by: String,
    pub created_at: i64,
}

impl FileInfo {
    /// Where the portal serves it.
    pub fn url(&self) -> String {
        format!("/files/{}", self.sm3)
    }
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Record(FileInfo),
}

/// The object store of an installation.
pub fn open_store(data_dir: &std::path::Path) -> Result<Arc<dyn ObjectStore>> {
    let dir = data_dir.join("blobs");
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Internal(format!("creating {}: {e}", dir.display())))?;
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
        .map_err(|e| StoreError::Internal(format!("blob store {}: {e}", dir.display())))?;
    Ok(Arc::new(fs))
}

/// What a file is, from its first bytes (never from the name the uploader gave): the
/// document types of government forms and samples.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // OLE compound file: .doc / .xls of older office suites.
        Some("application/msword")
    } else if starts(b"PK\x03\x04") {
        // Office Open XML and OFD (GB/T 33190) are zip packages.
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        if has(b"word/") {
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        } else if has(b"xl/") {
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        } else if has(b"OFD.xml") {
            Some("application/ofd")
        } else {
            None
        }
    } else {
        None
    }
}

fn path(sm3: &str) -> object_store::path::Path {
    object_store::path::Path::from(format!("{}/{sm3}", &sm3[..2]))
}

/// Stores a file (checked: type by content, size, name) and records it; returns its
/// description. Storing the same bytes again returns the existing file.
pub async fn put(store: &Store, meta: Meta, name: &str, bytes: &[u8]) -> Result<FileInfo> {
    let name = name.trim();
    let bad = |rule: &str, zh: String, en: String| {
        StoreError::from(DomainError::invalid(vec![FieldError::new("file", rule, zh, en)]))
    };
    if bytes.is_empty() {
        return Err(bad("required", "文件为空".into(), "the file is empty".into()));
    }
    if bytes.len() > MAX_SIZE {
        return Err(bad(
            "file.size",
            format!("文件不能超过 {} MB", MAX_SIZE >> 20),
            format!("a file is at most {} MB", MAX_SIZE >> 20),
        ));
    }
    let Some(content_type) = sniff(bytes) else {
        return Err(bad(
            "file.type",
            "只接受 PDF、OFD、Word、Excel、PNG 或 JPEG 文件".into(),
            "only PDF, OFD, Word, Excel, PNG or JPEG files are accepted".into(),
        ));
    };
    if name.is_empty() || name.chars().count() > 100 || name.contains(['/', '\\', '\0']) {
        return Err(StoreError::from(DomainError::invalid(vec![FieldError::new(
            "name",
            "file.name",
            "文件名为 1–100 个字符，不含 / 或 \\",
            "a file name has 1–100 characters without / or \\",
        )])));
    }
    let sm3 = hex::encode(yiwang_crypto::sm3(bytes));
    if let Some(existing) = info(store, &sm3).await? {
        return Ok(existing);
    }
    // The bytes first: a row never points at a file that is not there.
    store
        .files
        .put(&path(&sm3), bytes.to_vec().into())
        .await
        .map_err(|e| StoreError::Internal(format!("storing file: {e}")))?;
    let info = FileInfo {
        sm3,
        size: bytes.len() as i64,
        content_type: content_type.into(),
        name: name.into(),
        created_by: meta.actor.clone(),
        created_at: crate::now_ms(),
    };
    let w = store.write(meta, Command::Files(Cmd::Record(info))).await?;
    serde_json::from_value(w.value).map_err(|e| StoreError::Internal(e.to_string()))
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<serde_json::Value> {
    let Cmd::Record(b) = cmd;
    let existing = sqlx::query("SELECT sm3 FROM files WHERE sm3 = $1")
        .bind(&b.sm3)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    if existing.is_none() {
        let mut b = b.clone();
        b.created_by = ctx.actor.clone();
        b.created_at = ctx.now_ms;
        ctx.append(
            &format!("file:{}", b.sm3),
            crate::ledger::Expect::New,
            "file.stored",
            &b,
        )
        .await?;
        sqlx::query(
            "INSERT INTO files (sm3, size, content_type, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&b.sm3)
        .bind(b.size)
        .bind(&b.content_type)
        .bind(&b.name)
        .bind(&b.created_by)
        .bind(b.created_at)
        .execute(&mut *ctx.conn)
        .await?;
        return Ok(serde_json::to_value(&b).expect("serialisable"));
    }
    let row = sqlx::query("SELECT sm3, size, content_type, name, created_by, created_at FROM files WHERE sm3 = $1")
        .bind(&b.sm3)
        .fetch_one(&mut *ctx.conn)
        .await?;
    Ok(serde_json::to_value(to_info(&row)?).expect("serialisable"))
}

fn to_info(r: &sqlx::any::AnyRow) -> Result<FileInfo> {
    Ok(FileInfo {
        sm3: r.try_get("sm3")?,
        size: r.try_get("size")?,
        content_type: r.try_get("content_type")?,
        name: r.try_get("name")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn info(store: &Store, sm3: &str) -> Result<Option<FileInfo>> {
    sqlx::query("SELECT sm3, size, content_type, name, created_by, created_at FROM files WHERE sm3 = $1")
        .bind(sm3)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(to_info)
        .transpose()
}

/// A file's description and bytes; the bytes are checked against the hash they are
/// stored under (a file altered in the store is refused, not served).
pub async fn get(store: &Store, sm3: &str) -> Result<Option<(FileInfo, bytes::Bytes)>> {
    if sm3.len() != 64 || !sm3.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(info) = info(store, sm3).await? else {
        return Ok(None);
    };
    let bytes = store
        .files
        .get(&path(sm3))
        .await
        .map_err(|e| StoreError::Internal(format!("reading file {sm3}: {e}")))?
        .bytes()
        .await
        .map_err(|e| StoreError::Internal(format!("reading file {sm3}: {e}")))?;
    if hex::encode(yiwang_crypto::sm3(&bytes)) != sm3 {
        return Err(StoreError::Internal(format!(
            "file {sm3} does not match its hash (altered)"
        )));
    }
    Ok(Some((info, bytes)))
}

/// Files, newest first.
pub async fn list(store: &Store, limit: i64) -> Result<Vec<FileInfo>> {
    sqlx::query(
        "SELECT sm3, size, content_type, name, created_by, created_at FROM files ORDER BY created_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(to_info)
    .collect()
}
