//! Store tests: every one runs on SQLite and on PostgreSQL.

use rand::Rng;
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use yiwang_core::ErrorKind;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, StoreError, ledger, orgs, outbox, regions};

fn region(code: &str, name: &str, parent: Option<&str>) -> Command {
    Command::Regions(regions::Cmd::Create(NewRegion {
        code: code.into(),
        name: name.into(),
        name_en: None,
        parent_code: parent.map(Into::into),
    }))
}

fn audit(i: usize) -> Command {
    Command::Audit(yiwang_core::audit::AuditRecord {
        category: "test".into(),
        action: "poke".into(),
        subject: format!("s{i}"),
        detail: json!({ "i": i }),
    })
}

/// A valid credit code whose body is derived from `n`.
fn uscc(n: u32) -> String {
    let body = format!("11460100{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

fn dept(n: u32, region: &str) -> Command {
    Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
        name: format!("部门{n}"),
        uscc: uscc(n),
        region_code: region.into(),
        nature: DepartmentNature::StatutoryAuthority,
        parent_id: None,
        phone: None,
        address: None,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_and_departments_round_trip_with_clear_errors() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let m = || Meta::actor("admin");
        s.write(m(), region("460000", "海南省", None)).await.unwrap();
        s.write(m(), region("460100", "海口市", Some("460000"))).await.unwrap();
        let w = s.write(m(), region("460105", "秀英区", Some("460100"))).await.unwrap();
        assert_eq!(w.value["level"], "county");
        let chain: Vec<String> = regions::chain(&s.read, "460105")
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(chain, ["460000", "460100", "460105"], "{:?}", db.engine);
        // Duplicates and orphans are refused with the field named.
        match s.write(m(), region("460105", "x", Some("460100"))).await {
            Err(StoreError::Domain(e)) => {
                assert_eq!((e.kind, e.errors[0].field.as_str()), (ErrorKind::Conflict, "code"))
            }
            other => panic!("{other:?}"),
        }
        match s.write(m(), dept(1, "469999")).await {
            Err(StoreError::Domain(e)) => assert_eq!(
                (e.kind, e.errors[0].field.as_str()),
                (ErrorKind::NotFound, "region_code")
            ),
            other => panic!("{other:?}"),
        }
        let d = s.write(m(), dept(1, "460100")).await.unwrap();
        let id = d.value["id"].as_str().unwrap().to_string();
        assert_eq!(orgs::department(&s.read, &id).await.unwrap().unwrap().uscc, uscc(1));
        // Same credit code twice: conflict, nothing written.
        let before = s.head().await.unwrap();
        assert!(
            matches!(s.write(m(), dept(1, "460100")).await, Err(StoreError::Domain(e)) if e.kind == ErrorKind::Conflict)
        );
        assert_eq!(s.head().await.unwrap(), before);
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok(), "{r:?}");
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_isolates_bad_commands_and_orders_events() {
    for db in TestDb::both().await {
        let s = db.open().await;
        s.write(Meta::actor("admin"), region("460000", "海南省", None))
            .await
            .unwrap();
        let mut tasks = vec![];
        let mut others = vec![];
        for i in 0..300u32 {
            let s = s.clone();
            // Audit records (events that wait for the end of their batch) and checkpoints
            // among them: a checkpoint inside a batch reads the events before it.
            let s2 = s.clone();
            others.push(tokio::spawn(async move {
                let cmd = if i % 50 == 25 {
                    Command::Checkpoint
                } else {
                    audit(i as usize)
                };
                s2.write(Meta::actor("admin"), cmd).await
            }));
            tasks.push(tokio::spawn(async move {
                // Every 7th command is bad (its region does not exist).
                let region = if i % 7 == 3 { "469999" } else { "460000" };
                (i, s.write(Meta::actor("admin"), dept(1000 + i, region)).await)
            }));
        }
        for c in others {
            c.await.unwrap().unwrap();
        }
        let mut ok = 0;
        for t in tasks {
            let (i, r) = t.await.unwrap();
            match (i % 7 == 3, r) {
                (true, Err(StoreError::Domain(e))) => assert_eq!(e.kind, ErrorKind::NotFound),
                (false, Ok(_)) => ok += 1,
                (bad, r) => panic!("command {i} (bad={bad}): {r:?}"),
            }
        }
        assert_eq!(ok, 300 - 300 / 7 - 1);
        assert_eq!(orgs::departments(&s.read, None).await.unwrap().len(), ok);
        // Gap-free global sequence; checkpoints every 50 events were written and verify.
        let head = s.head().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&s.read)
            .await
            .unwrap();
        assert_eq!(head, count);
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok() && r.checkpoints >= 5, "{r:?}");
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_and_refuses_a_different_body() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let m = |fp: &str| Meta::actor("admin").with_idempotency("k-1", fp);
        let a = s.write(m("fp-a"), region("460000", "海南省", None)).await.unwrap();
        assert!(!a.replayed);
        let head = s.head().await.unwrap();
        // Concurrent retries of the same request: all replays, nothing new.
        let mut tasks = vec![];
        for _ in 0..10 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.write(
                    Meta::actor("admin").with_idempotency("k-1", "fp-a"),
                    region("460000", "海南省", None),
                )
                .await
            }));
        }
        for t in tasks {
            let b = t.await.unwrap().unwrap();
            assert!(b.replayed);
            assert_eq!(b.value, a.value);
        }
        assert_eq!(s.head().await.unwrap(), head);
        assert!(matches!(
            s.write(m("fp-b"), region("350000", "福建省", None)).await,
            Err(StoreError::IdempotencyMismatch)
        ));
        // Concurrent first tries of a new request (most land in one batch, where the key's
        // record is not yet in the table): exactly one writes, the others replay it, and
        // one with another body under the same key is refused.
        let head = s.head().await.unwrap();
        let tries = (0..12).map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let fp = if i == 11 { "fp-other" } else { "fp-c" };
                s.write(
                    Meta::actor("admin").with_idempotency("k-2", fp),
                    region("350000", "福建省", None),
                )
                .await
                .map(|w| (fp, w))
            })
        });
        let (mut written, mut replayed, mut refused) = (vec![], 0, 0);
        for t in tries.collect::<Vec<_>>() {
            match t.await.unwrap() {
                Ok((_, w)) if w.replayed => replayed += 1,
                Ok((fp, _)) => written.push(fp),
                Err(StoreError::IdempotencyMismatch) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(written.len(), 1, "one write under the key");
        // Whichever body came first is the key's; the others of that body replay it.
        let same = if written[0] == "fp-c" { 10 } else { 0 };
        assert_eq!((replayed, refused), (same, 11 - same));
        assert_eq!(s.head().await.unwrap(), head + 1);
        s.close().await;
        db.cleanup().await;
    }
}

#[derive(Clone, Copy, Debug)]
enum Tamper {
    Change(&'static str),
    Delete,
    Reorder,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tampering_is_detected() {
    for db in TestDb::both().await {
        let s = db.open().await;
        // A ledger of several streams: regions, departments, audit; checkpoints every 50.
        s.write(Meta::actor("admin"), region("460000", "海南省", None))
            .await
            .unwrap();
        let writes = (0..120u32).map(|i| {
            let s = s.clone();
            async move {
                s.write(
                    Meta::actor("admin"),
                    if i % 2 == 0 {
                        dept(i, "460000")
                    } else {
                        audit(i as usize)
                    },
                )
                .await
                .unwrap()
            }
        });
        futures::future::join_all(writes).await;
        let trusted = yiwang_store::keys::trusted_ledger_keys(&s.read, &db.config().master_key)
            .await
            .unwrap();
        let n: i64 = s.head().await.unwrap();
        assert!(n > 140, "{n}");
        let mut conn = s.read.acquire().await.unwrap();
        assert!(ledger::verify(&mut conn, &trusted).await.unwrap().ok());

        let kinds = [
            Tamper::Change("body"),
            Tamper::Change("kind"),
            Tamper::Change("actor"),
            Tamper::Change("at_ms"),
            Tamper::Change("stream_id"),
            Tamper::Change("version"),
            Tamper::Change("hash"),
            Tamper::Change("prev_hash"),
            Tamper::Delete,
            Tamper::Reorder,
        ];
        let trials = 60;
        let mut rng = rand::rng();
        for t in 0..trials {
            let kind = kinds[t % kinds.len()];
            let a = rng.random_range(1..=n);
            let b = loop {
                let b = rng.random_range(1..=n);
                if b != a {
                    break b;
                }
            };
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
            let sql = match kind {
                Tamper::Change("body") => format!("UPDATE events SET body = '{{\"x\":1}}' WHERE seq = {a}"),
                Tamper::Change("kind") => format!("UPDATE events SET kind = kind || 'x' WHERE seq = {a}"),
                Tamper::Change("actor") => format!("UPDATE events SET actor = 'mallory' WHERE seq = {a}"),
                Tamper::Change("at_ms") => format!("UPDATE events SET at_ms = at_ms + 1 WHERE seq = {a}"),
                Tamper::Change("stream_id") => {
                    format!("UPDATE events SET stream_id = stream_id || 'x' WHERE seq = {a}")
                }
                Tamper::Change("version") => format!("UPDATE events SET version = version + 1000 WHERE seq = {a}"),
                Tamper::Change("hash") => format!("UPDATE events SET hash = prev_hash WHERE seq = {a}"),
                Tamper::Change(_) => format!("UPDATE events SET prev_hash = hash WHERE seq = {a}"),
                Tamper::Delete => format!("DELETE FROM events WHERE seq = {a}"),
                Tamper::Reorder => format!(
                    "UPDATE events SET seq = -1 WHERE seq = {a}; UPDATE events SET seq = {a} WHERE seq = {b}; UPDATE events SET seq = {b} WHERE seq = -1"
                ),
            };
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await
                .unwrap();
            let r = ledger::verify(&mut conn, &trusted).await.unwrap();
            sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
            assert!(!r.ok(), "{:?}: tampering {kind:?} at {a}/{b} went unnoticed", db.engine);
            let p = r.problem.unwrap();
            assert!(
                p.contains("seq") || p.contains("stream") || p.contains("checkpoint") || p.contains("head"),
                "{p}"
            );
        }
        // A careful forger who recomputes every hash of a stream after changing an event
        // is caught by the signed checkpoint over that range.
        sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
        let row = sqlx::query("SELECT stream_id FROM events WHERE seq = 10")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let stream: String = row.get("stream_id");
        sqlx::query("UPDATE events SET actor = 'mallory' WHERE seq = 10")
            .execute(&mut *conn)
            .await
            .unwrap();
        rechain(&mut conn, &stream).await;
        let r = ledger::verify(&mut conn, &trusted).await.unwrap();
        sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
        assert!(r.problem.as_deref().unwrap_or("").contains("Merkle root"), "{r:?}");
        drop(conn);
        s.close().await;
        db.cleanup().await;
    }
}

/// Recomputes a stream's hash chain and head the way a forger without the node key would.
async fn rechain(conn: &mut sqlx::AnyConnection, stream: &str) {
    let rows = sqlx::query(
        "SELECT seq, stream_id, version, kind, body, actor, at_ms FROM events WHERE stream_id = $1 ORDER BY version",
    )
    .bind(stream)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut prev = yiwang_core::ledger::GENESIS;
    for r in rows {
        let ev = yiwang_core::ledger::EventRecord {
            seq: r.get("seq"),
            stream_id: r.get("stream_id"),
            version: r.get("version"),
            kind: r.get("kind"),
            body: r.get("body"),
            actor: r.get("actor"),
            at_ms: r.get("at_ms"),
        };
        let h = yiwang_crypto::sm3(&ev.chain_input(&prev));
        sqlx::query("UPDATE events SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(hex::encode(prev))
            .bind(hex::encode(h))
            .bind(ev.seq)
            .execute(&mut *conn)
            .await
            .unwrap();
        prev = h;
    }
    sqlx::query("UPDATE streams SET hash = $1 WHERE stream_id = $2")
        .bind(hex::encode(prev))
        .bind(stream)
        .execute(&mut *conn)
        .await
        .unwrap();
}

struct Collect(tokio::sync::Mutex<Vec<i64>>);

impl outbox::Subscriber for Collect {
    fn name(&self) -> &str {
        "collect"
    }
    async fn handle(&self, events: &[outbox::StoredEvent], _upto: i64) -> Result<(), String> {
        self.0.lock().await.extend(events.iter().map(|e| e.seq));
        Ok(())
    }
}

/// A subscriber of the calendar's events only: the others are passed over unread.
struct CalendarOnly(tokio::sync::Mutex<Vec<(i64, String)>>);

impl outbox::Subscriber for CalendarOnly {
    fn name(&self) -> &str {
        "calendar-only"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["calendar."])
    }
    async fn handle(&self, events: &[outbox::StoredEvent], _upto: i64) -> Result<(), String> {
        self.0
            .lock()
            .await
            .extend(events.iter().map(|e| (e.seq, e.kind.clone())));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_never_skip_with_concurrent_writers() {
    for db in TestDb::both().await {
        // Three stores on one database stand for three processes (PostgreSQL: truly
        // concurrent writers; SQLite: serialised by the file lock).
        let stores = vec![db.open().await, db.open().await, db.open().await];
        let sub = Arc::new(Collect(Default::default()));
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let calendar = Arc::new(CalendarOnly(Default::default()));
        let runners = [
            outbox::spawn(
                stores[0].clone(),
                sub.clone(),
                std::time::Duration::from_millis(5),
                stop.clone(),
            ),
            outbox::spawn(
                stores[1].clone(),
                calendar.clone(),
                std::time::Duration::from_millis(5),
                stop,
            ),
        ];
        let mut tasks = vec![];
        for (k, s) in stores.iter().enumerate() {
            for j in 0..4usize {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..40 {
                        s.write(Meta::actor("admin"), audit(k * 10_000 + j * 100 + i))
                            .await
                            .unwrap();
                    }
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let total = stores[0].head().await.unwrap();
        assert!(total >= 480, "{total}");
        for _ in 0..500 {
            if sub.0.lock().await.len() as i64 >= total {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let all = ledger::read_after(&stores[0].read, 0, 10_000).await.unwrap();
        let want: Vec<(i64, String)> = all
            .iter()
            .filter(|e| e.kind.starts_with("calendar."))
            .map(|e| (e.seq, e.kind.clone()))
            .collect();
        assert!(!want.is_empty() && want.len() < all.len());
        for _ in 0..500 {
            if calendar.0.lock().await.len() >= want.len() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        stop_tx.send(true).unwrap();
        for r in runners {
            r.await.unwrap();
        }
        let seen = sub.0.lock().await.clone();
        // Every event exactly once, in sequence order (calendar seeding included).
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "{:?}", db.engine);
        assert_eq!(outbox::cursor(&stores[0], "collect").await.unwrap(), total);
        // The filtered subscriber: its events only, each once and in order, and its cursor
        // recorded at the head although the last events were not its own.
        assert_eq!(*calendar.0.lock().await, want, "{:?}", db.engine);
        assert_eq!(outbox::cursor(&stores[0], "calendar-only").await.unwrap(), total);
        let r = ledger::verify_store(&stores[0]).await.unwrap();
        assert!(r.ok(), "{r:?}");
        for s in stores {
            s.close().await;
        }
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_is_seeded_extended_and_regional() {
    use chrono::NaiveDate;
    use yiwang_core::calendar::{DayRule, PublishedYear};
    use yiwang_store::calendar;
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    for db in TestDb::both().await {
        let s = db.open().await;
        let cal = calendar::calendar_for(&s, None).await.unwrap();
        assert!(!cal.is_working_day(d("2025-01-28")));
        assert!(cal.add_working_days(d("2026-12-20"), 20).provisional);
        // Reopening does not seed twice.
        let head = s.head().await.unwrap();
        s.close().await;
        let s = db.open().await;
        assert_eq!(s.head().await.unwrap(), head);
        // An admin publishes 2027 (here: New Year only); the cache follows.
        let y = PublishedYear {
            year: 2027,
            days: vec![DayRule {
                date: d("2027-01-01"),
                off_day: true,
                name: "元旦".into(),
            }],
            papers: vec![],
        };
        s.write(Meta::actor("admin"), Command::Calendar(calendar::Cmd::PublishYear(y)))
            .await
            .unwrap();
        let cal = calendar::calendar_for(&s, None).await.unwrap();
        assert!(!cal.add_working_days(d("2026-12-20"), 20).provisional);
        assert!(!cal.is_working_day(d("2027-01-01")));
        // A bad year is refused with every problem named.
        let bad = PublishedYear {
            year: 2027,
            days: vec![DayRule {
                date: d("2027-03-03"),
                off_day: false,
                name: "".into(),
            }],
            papers: vec![],
        };
        match s
            .write(Meta::actor("admin"), Command::Calendar(calendar::Cmd::PublishYear(bad)))
            .await
        {
            Err(StoreError::Domain(e)) => assert_eq!(e.errors.len(), 2, "{e:?}"),
            other => panic!("{other:?}"),
        }
        // Local holiday in Hainan applies to its cities, not to other provinces.
        s.write(Meta::actor("admin"), region("460000", "海南省", None))
            .await
            .unwrap();
        s.write(Meta::actor("admin"), region("460100", "海口市", Some("460000")))
            .await
            .unwrap();
        s.write(Meta::actor("admin"), region("350000", "福建省", None))
            .await
            .unwrap();
        let local = vec![DayRule {
            date: d("2026-04-20"),
            off_day: true,
            name: "三月三".into(),
        }];
        s.write(
            Meta::actor("admin"),
            Command::Calendar(calendar::Cmd::SetLocalDays {
                region_code: "460000".into(),
                days: local,
            }),
        )
        .await
        .unwrap();
        assert!(
            !calendar::calendar_for(&s, Some("460100"))
                .await
                .unwrap()
                .is_working_day(d("2026-04-20"))
        );
        assert!(
            calendar::calendar_for(&s, Some("350000"))
                .await
                .unwrap()
                .is_working_day(d("2026-04-20"))
        );
        // The tail checkpoint covers everything written so far.
        let w = s.write(Meta::actor("admin"), Command::Checkpoint).await.unwrap();
        assert_eq!(w.value["checkpoint_to"], json!(s.head().await.unwrap()));
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok(), "{r:?}");
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_an_existing_stream_is_a_conflict_not_an_error() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let m = || Meta::actor("admin");
        s.write(m(), region("460000", "海南省", None)).await.unwrap();
        // The projection row vanishes but the stream remains: the ledger refuses a second
        // creation cleanly, and the batch's other commands are unaffected.
        sqlx::query("DELETE FROM regions WHERE code = '460000'")
            .execute(&s.read)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            s.write(m(), region("460000", "海南省", None)),
            s.write(m(), region("350000", "福建省", None))
        );
        assert!(matches!(a, Err(StoreError::Concurrency(_))), "{a:?}");
        b.unwrap();
        s.close().await;
        db.cleanup().await;
    }
}

/// Issue 13, item 5: events cut from the unsigned tail, with the head and the stream heads
/// patched to match, are found through the rows they projected; a checkpoint then covers
/// the tail so it cannot be cut at all without breaking a signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_tail_is_found_through_its_projections() {
    for db in TestDb::both().await {
        let s = db.open().await;
        s.write(Meta::actor("admin"), region("460000", "海南省", None))
            .await
            .unwrap();
        for i in 0..5 {
            s.write(Meta::actor("admin"), dept(900 + i, "460000")).await.unwrap();
        }
        assert!(ledger::verify_store(&s).await.unwrap().ok());
        // The attacker's edit: drop the last two events (two departments), fix the head and
        // drop the two new streams' heads.
        let head = s.head().await.unwrap();
        let cut: Vec<String> = sqlx::query_scalar("SELECT stream_id FROM events WHERE seq > $1")
            .bind(head - 2)
            .fetch_all(&s.read)
            .await
            .unwrap();
        assert_eq!(cut.len(), 2);
        let mut conn = s.read.acquire().await.unwrap();
        sqlx::query("DELETE FROM events WHERE seq > $1")
            .bind(head - 2)
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("UPDATE ledger_head SET seq = $1 WHERE id = 1")
            .bind(head - 2)
            .execute(&mut *conn)
            .await
            .unwrap();
        for st in &cut {
            sqlx::query("DELETE FROM streams WHERE stream_id = $1")
                .bind(st)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        drop(conn);
        let r = ledger::verify_store(&s).await.unwrap();
        let p = r.problem.expect("the cut is found");
        assert!(p.contains("departments") && p.contains("2 row"), "{p}");
        db.cleanup().await;
    }
}
