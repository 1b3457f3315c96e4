//! Test support: every store test runs on SQLite and on PostgreSQL. PostgreSQL comes from
//! `YIWANG_TEST_PG_URL` (the test command sets it, starting a throwaway cluster if no
//! server is given). Without it the PostgreSQL half fails loudly rather than being
//! skipped; `YIWANG_TEST_PG=skip` skips it on purpose and says so.

use crate::{Engine, Store, StoreConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// One test database: a fresh SQLite file or a fresh PostgreSQL database.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    pub dir: PathBuf,
    admin_url: Option<String>,
    pg_name: Option<String>,
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("yiwang-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TestDb {
            engine: Engine::Sqlite,
            url: format!("sqlite://{}", dir.join("yiwang.db").display()),
            dir,
            admin_url: None,
            pg_name: None,
        }
    }

    /// A fresh database on the PostgreSQL server of `YIWANG_TEST_PG_URL`.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match std::env::var("YIWANG_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ if std::env::var("YIWANG_TEST_PG").as_deref() == Ok("skip") => {
                eprintln!("NOTE: PostgreSQL half of this test SKIPPED on request (YIWANG_TEST_PG=skip)");
                return None;
            }
            _ => panic!(
                "YIWANG_TEST_PG_URL is not set: store tests run on SQLite and PostgreSQL. Run the README's test command \
                 (scripts/test), which provides a server, or set YIWANG_TEST_PG_URL=postgres://…, or YIWANG_TEST_PG=skip to skip on purpose"
            ),
        };
        sqlx::any::install_default_drivers();
        let name = format!("yiwang_test_{}", random_suffix());
        let pool = crate::db::pool(&admin, 1).await.expect("connect to YIWANG_TEST_PG_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let url = replace_db(&admin, &name);
        let dir = std::env::temp_dir().join(format!("yiwang-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Some(TestDb {
            engine: Engine::Postgres,
            url,
            dir,
            admin_url: Some(admin),
            pg_name: Some(name),
        })
    }

    /// Both engines (PostgreSQL unless skipped on purpose).
    pub async fn both() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    pub fn config(&self) -> StoreConfig {
        let mut c = StoreConfig::new(
            &self.url,
            &self.dir,
            yiwang_crypto::Sm4Key::from_bytes(&[7u8; 16]).unwrap(),
        );
        c.checkpoint_interval = 50;
        c
    }

    pub async fn open(&self) -> Arc<Store> {
        Store::open(self.config()).await.expect("open store")
    }

    /// Drops the PostgreSQL database and removes the directory.
    pub async fn cleanup(self) {
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.pg_name)
            && let Ok(pool) = crate::db::pool(admin, 1).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&pool)
            .await;
            pool.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `postgres://u@h:p/db?x` with the database name replaced.
pub fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
