//! `yiwang bench federation`: two nodes served on 127.0.0.1 from temporary data
//! directories, paired by their own agreement; A queues envelopes for B, and the run ends
//! when every one is signed, sent, verified and recorded by B (its ledger and `fed_incoming`),
//! and acknowledged by B's signed receipt that A verified and recorded. Printed as
//! envelopes/s and as a ratio to a bare SM2 sign + verify loop measured in the same run.

use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yiwang_core::federation::{AgreementAction, AgreementState, ForwardLimit, Status, Terms};
use yiwang_store::federation as fed;
use yiwang_store::{Command, Meta, Store};

struct Node {
    store: Arc<Store>,
    url: String,
    local: fed::Local,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve(store: Arc<Store>) -> Result<Node> {
    super::ensure_province(&store).await?;
    let listener = yiwang_server::bind("127.0.0.1:0".parse()?)?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = yiwang_server::AppState::new(
        store.clone(),
        Some(hex::encode(rand::random::<[u8; 16]>())),
        "460000".into(),
        yiwang_server::metrics_handle(),
    )
    .with_public_url(&url);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(yiwang_server::serve(state, listener, async {
        let _ = stop_rx.await;
    }));
    let local = fed::local(&store, "460000", "海南省", &url).await?;
    Ok(Node {
        store,
        url,
        local,
        stop,
        server,
    })
}

async fn wait(what: &str, mut f: impl AsyncFnMut() -> Result<bool>) -> Result<()> {
    for _ in 0..1500 {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("timed out waiting for {what}")
}

pub async fn federation(a: Arc<Store>, b: Arc<Store>, envelopes: usize) -> Result<()> {
    let (a, b) = (serve(a).await?, serve(b).await?);
    // The agreement: A proposes, B's administrator approves.
    let doc_b = fed::fetch_node_doc(&b.url).await?;
    let today = yiwang_store::today();
    let terms = Terms {
        grants: vec![],
        forward_limit: ForwardLimit::OneWorkingDay,
        valid_from: today,
        valid_until: today + chrono::Days::new(365),
    };
    let v = fed::propose(&a.store, Meta::actor("bench"), &a.local, doc_b, terms).await?;
    let id = v["id"].as_str().context("agreement id")?.to_string();
    wait("B to hold the proposal", async || {
        Ok(fed::agreement(&b.store, &id).await?.is_some())
    })
    .await?;
    fed::decide(
        &b.store,
        Meta::actor("bench"),
        &b.local,
        &id,
        AgreementAction::Approve,
        None,
    )
    .await?;
    wait("the agreement in force at A", async || {
        Ok(fed::agreement(&a.store, &id)
            .await?
            .is_some_and(|x| x.state == AgreementState::Active))
    })
    .await?;

    // The envelopes: status messages (B records each and finds no case of its own to
    // change), queued 500 to a command.
    let outs: Vec<fed::Outgoing> = (0..envelopes)
        .map(|i| {
            let s = Status {
                origin_ref: format!("bench-{i}"),
                case_id: None,
                state: "bench".into(),
                label_zh: "压测".into(),
                label_en: "benchmark".into(),
                seq: 1,
                due_on: None,
                licence_id: None,
                decision: None,
                problems: vec![],
            };
            fed::Outgoing::new(&b.local.id, "case.status", &s.origin_ref, &s)
        })
        .collect();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fed_incoming WHERE kind = 'case.status'")
        .fetch_one(&b.store.read)
        .await?;
    let started = Instant::now();
    for chunk in outs.chunks(500) {
        a.store
            .write(
                Meta::actor("bench"),
                Command::Federation(Box::new(fed::Cmd::Enqueue(chunk.to_vec()))),
            )
            .await?;
    }
    let n = envelopes as i64;
    wait("every envelope acknowledged", async || {
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM fed_outgoing WHERE kind = 'case.status' AND state = 'delivered'")
                .fetch_one(&a.store.read)
                .await?;
        Ok(done >= n)
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let received: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fed_incoming WHERE kind = 'case.status'")
        .fetch_one(&b.store.read)
        .await?;
    anyhow::ensure!(received - before == n, "B recorded {} of {n}", received - before);
    let rate = envelopes as f64 / secs;
    println!(
        "federation: {envelopes} envelopes A → B signed, sent, verified and recorded by B, receipts verified and recorded by A, in {secs:.2} s = {rate:.0} envelopes/s"
    );

    // The baseline: SM2 sign + verify of envelope bytes, one after the other, this run.
    let key = yiwang_crypto::SoftKey::generate();
    let public = yiwang_crypto::Signer::public_key(&key);
    let iters = envelopes.clamp(200, 2000);
    let t = Instant::now();
    for i in 0..iters {
        let msg = format!("yiwang-envelope/1\na\nb\n{i}\nc\ncase.status\n{i}\n{:064}\nnode-1", i);
        let sig = yiwang_crypto::Signer::sign(&key, msg.as_bytes());
        yiwang_crypto::verify_uncached(&public, msg.as_bytes(), &sig).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let bare = iters as f64 / t.elapsed().as_secs_f64();
    println!(
        "baseline: bare SM2 sign + verify loop (one task) = {bare:.0} pairs/s (an envelope needs two pairs: its own and its receipt's)"
    );
    println!("federation ratio {:.3}", rate / bare);

    for node in [a, b] {
        let _ = node.stop.send(());
        let _ = node.server.await;
        let _ = &node.url;
    }
    Ok(())
}
