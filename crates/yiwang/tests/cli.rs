//! The CLI on both engines: calendar answers and `ledger verify` before and after tampering.

mod common;
use common::cli;
use yiwang_store::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_and_ledger_commands() {
    for db in TestDb::both().await {
        let (code, out, err) = cli(&db, &["calendar", "add-days", "2024-09-30", "1"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("2024-10-08"), "{out}");
        let (_, out, _) = cli(&db, &["calendar", "add-days", "2026-12-20", "20"]);
        assert!(out.lines().next().unwrap().contains("provisional"), "{out}");
        let (_, out, _) = cli(&db, &["calendar", "between", "2024-09-30", "2024-10-31"]);
        assert_eq!(out.trim(), "19");
        let (code, _, err) = cli(&db, &["calendar", "add-days", "2024-09-30", "5", "--region", "999999"]);
        assert_eq!(code, 1);
        assert!(err.contains("region"), "{err}");

        let (code, out, err) = cli(&db, &["demo"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("valid"), "{out}");

        // Tamper with one stored event: verify fails naming it.
        let pool = yiwang_store::db::pool(&db.url, 1).await.unwrap();
        sqlx::query("UPDATE events SET body = '{}' WHERE seq = 30")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("event seq 30"), "{err}");
        db.cleanup().await;
    }
}
