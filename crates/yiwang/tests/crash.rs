//! Crash safety: writes over HTTP, SIGKILL mid-load, restart. Every acknowledged write is
//! there, retries with the same Idempotency-Key create nothing new, and the ledger verifies.

mod common;
use common::{Server, TOKEN, cli, client, uscc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Mutex;
use yiwang_store::testing::TestDb;

/// Idempotency key -> (request number, department id once acknowledged).
type Attempts = HashMap<String, (u64, Option<String>)>;

fn body(n: u64) -> Value {
    json!({ "name": format!("崩溃测试部门{n}"), "uscc": uscc(n), "region_code": "460000", "nature": "statutory_authority" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_and_duplicates_nothing() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let url = srv.url.clone();
        // key -> (body number, id if acknowledged)
        let attempts: Arc<Mutex<Attempts>> = Default::default();
        let acked = Arc::new(AtomicUsize::new(0));
        let mut clients = vec![];
        for k in 0..8u64 {
            let (url, attempts, acked) = (url.clone(), attempts.clone(), acked.clone());
            clients.push(tokio::spawn(async move {
                let c = client();
                for i in 0..100_000u64 {
                    let n = k * 1_000_000 + i;
                    let key = format!("crash-{n}");
                    attempts.lock().await.insert(key.clone(), (n, None));
                    let r = c
                        .post(format!("{url}/api/v1/departments"))
                        .bearer_auth(TOKEN)
                        .header("Idempotency-Key", &key)
                        .json(&body(n))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 201 => {
                            let v: Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => return, // cut off mid-response: unknown outcome
                            };
                            attempts
                                .lock()
                                .await
                                .insert(key, (n, Some(v["id"].as_str().unwrap().to_string())));
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        while acked.load(Ordering::SeqCst) < 300 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        srv.kill(); // SIGKILL while the clients are sending
        for c in clients {
            c.await.unwrap();
        }
        let attempts = attempts.lock().await.clone();
        let acked_ids: HashMap<&String, &String> = attempts
            .iter()
            .filter_map(|(k, (_, id))| id.as_ref().map(|id| (k, id)))
            .collect();
        assert!(acked_ids.len() >= 300);

        // Restart on the same data and retry every request, acknowledged or not.
        let srv = Server::start(&db, &[]);
        let c = client();
        let mut created_now = 0;
        for (key, (n, id)) in &attempts {
            let r = c
                .post(format!("{}/api/v1/departments", srv.url))
                .bearer_auth(TOKEN)
                .header("Idempotency-Key", key)
                .json(&body(*n))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{:?} retry of {key}", db.engine);
            let replayed = r.headers().get("idempotent-replayed").is_some();
            let v: Value = r.json().await.unwrap();
            match id {
                // Acknowledged before the crash: still there, same answer.
                Some(id) => {
                    assert!(replayed, "{:?}: acknowledged {key} was lost", db.engine);
                    assert_eq!(v["id"].as_str().unwrap(), id);
                }
                None if !replayed => created_now += 1,
                None => {}
            }
        }
        // Exactly one department per attempted key: nothing duplicated.
        let all: Vec<Value> = c
            .get(format!("{}/api/v1/departments", srv.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let crash_depts = all
            .iter()
            .filter(|d| d["name"].as_str().unwrap().starts_with("崩溃测试部门"))
            .count();
        assert_eq!(crash_depts, attempts.len(), "{:?}", db.engine);
        eprintln!(
            "{:?}: {} acknowledged before SIGKILL, {} in flight ({} created on retry)",
            db.engine,
            acked_ids.len(),
            attempts.len() - acked_ids.len(),
            created_now
        );
        let mut srv = srv;
        srv.stop();
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        db.cleanup().await;
    }
}
