//! Files: content-addressed in an object store (the directory `<data_dir>/blobs` by
//! default), each described by a `files` row written through the writer with a
//! `file.stored` event, so a file's address is in the tamper-evident ledger.
//!
//! Two kinds (issue 13): **public** files — the blank forms and samples a catalogue
//! manager publishes — are addressed by the SM3 of their bytes and served to anyone;
//! **private** files — applicants' materials, scans taken at a window — are addressed by
//! a keyed SM3 of their owner and content (so an address reveals nothing and one owner's
//! upload never becomes another's), stored SM4-GCM sealed with the name sealed too
//! (GB/T 35273-2020 §6.3; GB/T 22239-2019 §8.1.4.8), and read only by their owner or
//! through a case that names them. The same bytes stored twice by one owner are one file.

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
    /// Served to anyone (catalogue forms and samples); otherwise only to its owner
    /// (`created_by`) and through the cases that name it.
    #[serde(default)]
    pub public: bool,
}

/// How a file is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// A catalogue file anyone may fetch.
    Public,
    /// Personal material: sealed, for its owner and its cases.
    Private,
}

/// Who owns what a caller uploads: the account (or token) itself, not the principal a
/// person acts for (`account:A>legal:L` owns as `account:A`).
pub fn owner_of(actor: &str) -> &str {
    actor.split('>').next().unwrap_or(actor)
}

impl FileInfo {
    /// May the caller recorded as `actor` read this file by its address alone?
    pub fn readable_by(&self, actor: &str) -> bool {
        self.public || owner_of(actor) == self.created_by
    }

    /// Where the portal serves it.
    pub fn url(&self) -> String {
        format!("/files/{}", self.sm3)
    }
}

/// `Record(info, sealed name)`: the name is sealed before the writer for private files.
#[derive(Debug, Clone)]
pub enum Cmd {
    Record(FileInfo, Option<String>),
}

/// The object store of an installation: `<data_dir>/blobs` by default, or `files_url`:
/// `s3://bucket/prefix` for an S3-compatible store (endpoint, region and keys from the
/// `AWS_*` environment: `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP` for a plain-HTTP endpoint such as MinIO),
/// `file:///directory`, or `memory:///` (tests). A URL the store cannot use is refused here,
/// at start, naming `files_url`.
pub fn open_store(data_dir: &std::path::Path, files_url: Option<&str>) -> Result<Arc<dyn ObjectStore>> {
    let bad = |u: &str, e: &dyn std::fmt::Display| StoreError::Internal(format!("files_url {u}: {e}"));
    let local = |dir: std::path::PathBuf| -> Result<Arc<dyn ObjectStore>> {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Internal(format!("creating {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| StoreError::Internal(format!("blob store {}: {e}", dir.display())))?;
        Ok(Arc::new(fs))
    };
    let Some(u) = files_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return local(data_dir.join("blobs"));
    };
    let parsed = url::Url::parse(u).map_err(|e| bad(u, &e))?;
    if parsed.scheme() == "file" {
        let dir = parsed.to_file_path().map_err(|_| bad(u, &"not a local directory"))?;
        return local(dir);
    }
    if !matches!(parsed.scheme(), "s3" | "s3a" | "memory") {
        return Err(bad(u, &"use s3://bucket/prefix, file:///directory or memory:///"));
    }
    let options: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    remote(u, &parsed, options)
}

/// An object store by URL (`s3://`, `memory://`) with the builder's options, under the
/// URL's path as prefix.
fn remote(u: &str, parsed: &url::Url, options: Vec<(String, String)>) -> Result<Arc<dyn ObjectStore>> {
    let bad = |e: &dyn std::fmt::Display| StoreError::Internal(format!("files_url {u}: {e}"));
    let (store, prefix) = object_store::parse_url_opts(parsed, options).map_err(|e| bad(&e))?;
    if prefix.as_ref().is_empty() {
        Ok(Arc::from(store))
    } else {
        Ok(Arc::new(object_store::prefix::PrefixStore::new(store, prefix)))
    }
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
/// description. Storing the same bytes again (the same owner's, for a private file)
/// returns the existing file. Hashing and sealing happen here, before the writer.
pub async fn put(store: &Store, meta: Meta, name: &str, bytes: &[u8], vis: Visibility) -> Result<FileInfo> {
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
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(StoreError::from(DomainError::invalid(vec![FieldError::new(
            "name",
            "file.name",
            "文件名为 1–100 个字符，不含 / 、\\ 或控制字符",
            "a file name has 1–100 characters without /, \\ or control characters",
        )])));
    }
    let owner = owner_of(&meta.actor).to_string();
    let digest = hex::encode(yiwang_crypto::sm3(bytes));
    let (address, blob, sealed_name) = match vis {
        Visibility::Public => (digest, bytes.to_vec(), None),
        Visibility::Private => {
            let address = private_address(store, &owner, &digest);
            let blob = store.pii.seal_raw(&format!("files.blob:{address}"), bytes);
            let sealed = store.pii.seal(&format!("files.name:{address}"), name);
            (address, blob, Some(sealed))
        }
    };
    if let Some(existing) = info(store, &address).await? {
        return Ok(existing);
    }
    // The bytes first: a row never points at a file that is not there.
    store
        .files
        .put(&path(&address), blob.into())
        .await
        .map_err(|e| StoreError::Internal(format!("storing file: {e}")))?;
    let info = FileInfo {
        sm3: address,
        size: bytes.len() as i64,
        content_type: content_type.into(),
        name: name.into(),
        created_by: owner,
        created_at: crate::now_ms(),
        public: vis == Visibility::Public,
    };
    let mut out = info.clone();
    let w = store
        .write(meta, Command::Files(Cmd::Record(info, sealed_name)))
        .await?;
    // The writer answers with the event's facts (no name for a private file).
    out.created_at = w.value["created_at"].as_i64().unwrap_or(out.created_at);
    Ok(out)
}

/// A private file's address: keyed SM3 of its owner and content digest.
fn private_address(store: &Store, owner: &str, digest: &str) -> String {
    store.pii.index("file", &format!("{owner}\0{digest}"))
}

/// What the `file.stored` event says: for a private file no name (sealed in the row only).
#[derive(Serialize)]
struct Stored<'a> {
    sm3: &'a str,
    size: i64,
    content_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    created_by: &'a str,
    created_at: i64,
    public: bool,
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<serde_json::Value> {
    let Cmd::Record(b, sealed_name) = cmd;
    let existing = sqlx::query("SELECT sm3 FROM files WHERE sm3 = $1")
        .bind(&b.sm3)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    let stored = Stored {
        sm3: &b.sm3,
        size: b.size,
        content_type: &b.content_type,
        name: if b.public { &b.name } else { "" },
        created_by: &b.created_by,
        created_at: ctx.now_ms,
        public: b.public,
    };
    if existing.is_none() {
        ctx.append(
            &format!("file:{}", b.sm3),
            crate::ledger::Expect::New,
            "file.stored",
            &stored,
        )
        .await?;
        sqlx::query(
            "INSERT INTO files (sm3, size, content_type, name, created_by, created_at, public, sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&b.sm3)
        .bind(b.size)
        .bind(&b.content_type)
        .bind(sealed_name.as_deref().unwrap_or(&b.name))
        .bind(&b.created_by)
        .bind(ctx.now_ms)
        .bind(i16::from(b.public))
        .bind(i16::from(sealed_name.is_some()))
        .execute(&mut *ctx.conn)
        .await?;
    }
    Ok(serde_json::to_value(&stored).expect("serialisable"))
}

const COLS: &str = "sm3, size, content_type, name, created_by, created_at, public, sealed";

fn to_info(store: &Store, r: &sqlx::any::AnyRow) -> Result<FileInfo> {
    let sm3: String = r.try_get("sm3")?;
    let name: String = r.try_get("name")?;
    let sealed: i16 = r.try_get("sealed")?;
    let name = if sealed != 0 {
        store.pii.open(&format!("files.name:{sm3}"), &name)?
    } else {
        name
    };
    let public: i16 = r.try_get("public")?;
    Ok(FileInfo {
        sm3,
        size: r.try_get("size")?,
        content_type: r.try_get("content_type")?,
        name,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        public: public != 0,
    })
}

pub async fn info(store: &Store, sm3: &str) -> Result<Option<FileInfo>> {
    let sql = format!("SELECT {COLS} FROM files WHERE sm3 = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(sm3)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(|r| to_info(store, r))
        .transpose()
}

/// Which of `sm3s` are private files that `actor` owns (one query): what an application
/// by this caller may name. Public files and other people's uploads are not materials.
pub async fn known(store: &Store, sm3s: &[&str], actor: &str) -> Result<std::collections::BTreeSet<String>> {
    if sm3s.is_empty() {
        return Ok(Default::default());
    }
    let mut marks = crate::db::Marks::of(store.engine);
    let owner = marks.one();
    let sql = format!(
        "SELECT sm3 FROM files WHERE created_by = {owner} AND public = 0 AND sm3 IN ({})",
        marks.list(sm3s.len())
    );
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(owner_of(actor).to_string());
    for s in sm3s {
        q = q.bind(*s);
    }
    Ok(q.fetch_all(&store.read).await?.into_iter().collect())
}

/// A file's description and bytes (opened if sealed); the bytes are checked against the
/// address they are stored under (a file altered in the store is refused, not served).
/// Who may read it is the caller's to check (`FileInfo::readable_by`, or a case naming it).
pub async fn get(store: &Store, sm3: &str) -> Result<Option<(FileInfo, bytes::Bytes)>> {
    if sm3.len() != 64 || !sm3.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLS} FROM files WHERE sm3 = $1");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(sm3)
        .fetch_optional(&store.read)
        .await?
    else {
        return Ok(None);
    };
    let info = to_info(store, &row)?;
    let sealed: i16 = row.try_get("sealed")?;
    let raw = store
        .files
        .get(&path(sm3))
        .await
        .map_err(|e| StoreError::Internal(format!("reading file {sm3}: {e}")))?
        .bytes()
        .await
        .map_err(|e| StoreError::Internal(format!("reading file {sm3}: {e}")))?;
    let altered = || StoreError::Internal(format!("file {sm3} does not match its address (altered)"));
    let bytes = if sealed != 0 {
        let plain = store.pii.open_raw(&format!("files.blob:{sm3}"), &raw)?;
        let digest = hex::encode(yiwang_crypto::sm3(&plain));
        if private_address(store, &info.created_by, &digest) != sm3 {
            return Err(altered());
        }
        bytes::Bytes::from(plain.to_vec())
    } else {
        if hex::encode(yiwang_crypto::sm3(&raw)) != sm3 {
            return Err(altered());
        }
        raw
    };
    Ok(Some((info, bytes)))
}

/// Public files (catalogue forms and samples), newest first.
pub async fn list(store: &Store, limit: i64) -> Result<Vec<FileInfo>> {
    let sql = format!("SELECT {COLS} FROM files WHERE public = 1 ORDER BY created_at DESC LIMIT $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(|r| to_info(store, r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_go_where_files_url_says() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("elsewhere");
        let url = url::Url::from_directory_path(&dir).unwrap().to_string();
        let store = open_store(tmp.path(), Some(&url)).unwrap();
        store
            .put(&path(&"ab".repeat(32)), b"%PDF-1.4".to_vec().into())
            .await
            .unwrap();
        assert!(dir.join("ab").join("ab".repeat(32)).exists());
        assert!(!tmp.path().join("blobs").exists());
        // The default: the data directory's blobs/.
        let store = open_store(tmp.path(), None).unwrap();
        store.put(&path(&"cd".repeat(32)), b"x".to_vec().into()).await.unwrap();
        assert!(tmp.path().join("blobs/cd").join("cd".repeat(32)).exists());
        // In memory, under a prefix.
        let store = open_store(tmp.path(), Some("memory:///tenant-a")).unwrap();
        store.put(&path(&"ef".repeat(32)), b"y".to_vec().into()).await.unwrap();
        assert_eq!(
            store
                .get(&path(&"ef".repeat(32)))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .as_ref(),
            b"y"
        );
        // Refused at start, naming the setting.
        for u in ["ftp://host/x", "not a url", "gs://bucket"] {
            let e = open_store(tmp.path(), Some(u)).expect_err(u).to_string();
            assert!(e.contains("files_url"), "{e}");
        }
    }

    #[test]
    fn an_s3_compatible_store_is_addressed_by_url_and_the_aws_options() {
        let u = "s3://yiwang-files/hainan";
        let parsed = url::Url::parse(u).unwrap();
        let options = [
            ("aws_endpoint", "http://127.0.0.1:9000"),
            ("aws_allow_http", "true"),
            ("aws_region", "cn-south-1"),
            ("aws_access_key_id", "minio"),
            ("aws_secret_access_key", "minio-secret"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let store = remote(u, &parsed, options).unwrap();
        assert_eq!(store.to_string(), "PrefixObjectStore(hainan)");
        let inner = format!("{store:?}");
        for want in ["AmazonS3", "yiwang-files", "http://127.0.0.1:9000", "cn-south-1"] {
            assert!(inner.contains(want), "{want} in {inner}");
        }
    }
}
