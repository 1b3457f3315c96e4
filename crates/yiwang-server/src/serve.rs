//! Serving: the listener, graceful shutdown, and the ledger checkpoints.

use super::*;

/// Binds a listener with a deep accept queue (4096), so a burst of new connections (a
/// morning rush, a load test) is queued instead of dropped into SYN retransmits.
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish, signs a
/// checkpoint over the ledger's tail and closes the store.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut state = state;
    let store = state.store.clone();
    // This node as partners know it: its id from the node key (or `[federation] node_id`).
    let region_name = state.node_name().await;
    match yiwang_store::federation::local(&store, &state.home_region, &region_name, &state.public_url).await {
        Ok(l) => {
            let _ = store.node.set(l.clone());
            state.node = Arc::new(l);
        }
        Err(e) => tracing::error!(error = %e, "federation: this node's identity"),
    }
    // An unclean stop (SIGKILL, power loss) leaves a tail no checkpoint covers: sign it now,
    // before serving, so it cannot later be cut unnoticed (issue 13, item 5).
    checkpoint(&store).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_cp = stop_rx.clone();
    let cp_store = store.clone();
    let checkpointer = tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => checkpoint(&cp_store).await,
                _ = stop_cp.changed() => break,
            }
        }
    });
    let stop_rx_sched = stop_rx.clone();
    let sub = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::outbox::EventMetrics),
        Duration::from_secs(1),
        stop_rx.clone(),
    );
    // 一件事: a sub-case's decision, withdrawal or delivery moves its bundle case on.
    let bundles = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::bundles::Follower { store: store.clone() }),
        Duration::from_millis(500),
        stop_rx.clone(),
    );
    // 免申即享: a publication or a load of shared data finds the eligible.
    let finder = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::policies::Finder { store: store.clone() }),
        Duration::from_millis(500),
        stop_rx.clone(),
    );
    // 跨域通办: the courier delivers queued envelopes; the inbox takes forwarded
    // applications; the reporter tells origins what became of their cases.
    let courier = tokio::spawn(yiwang_store::federation::courier(
        store.clone(),
        (*state.node).clone(),
        stop_rx.clone(),
    ));
    let fed_inbox = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::federation::Inbox { store: store.clone() }),
        Duration::from_millis(500),
        stop_rx.clone(),
    );
    let fed_reporter = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::federation::Reporter { store: store.clone() }),
        Duration::from_millis(500),
        stop_rx.clone(),
    );
    // 互认: a seal changed here sends the trust list to the partners again.
    let fed_trust = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::federation::TrustFollower {
            store: store.clone(),
            local: (*state.node).clone(),
        }),
        Duration::from_millis(500),
        stop_rx.clone(),
    );
    // The knowledge base's index: built now, then following every process's reviews.
    if let Err(e) = state.knowledge.ensure_built(&store).await {
        tracing::error!(error = %e, "building the knowledge index failed");
    }
    let knowledge = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_search::KnowledgeFollower {
            index: state.knowledge.clone(),
            store: store.clone(),
        }),
        Duration::from_secs(1),
        stop_rx.clone(),
    );
    // The search index: built from the store when new, then following every commit.
    let search = state.search.clone();
    let follower = if search.is_writable() {
        if search.cursor() == 0 {
            match yiwang_search::reindex(&search, &store, &|_, _| {}).await {
                Ok(n) => tracing::info!(items = n, "search index built"),
                Err(e) => tracing::error!(error = %e, "building the search index failed"),
            }
        }
        Some(yiwang_store::outbox::spawn(
            store.clone(),
            Arc::new(yiwang_search::Follower {
                index: search,
                store: store.clone(),
            }),
            Duration::from_secs(1),
            stop_rx,
        ))
    } else {
        tracing::warn!("the search index is held by another process: searching it read-only");
        None
    };
    // 《行政许可法》第三十二条 deemed acceptance and overdue materials to follow.
    let scheduler = tokio::spawn(cases::scheduler(store.clone(), Duration::from_secs(600), stop_rx_sched));
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let _ = stop_tx.send(true);
    let _ = checkpointer.await;
    let _ = sub.await;
    let _ = bundles.await;
    let _ = finder.await;
    let _ = knowledge.await;
    let _ = courier.await;
    let _ = fed_inbox.await;
    let _ = fed_reporter.await;
    let _ = fed_trust.await;
    let _ = scheduler.await;
    if let Some(f) = follower {
        let _ = f.await;
    }
    checkpoint(&store).await;
    store.close().await;
    Ok(())
}

/// How often a serving node signs a checkpoint over events not yet covered (besides every
/// `checkpoint_interval` events, at start and at shutdown): the most a cut tail can hide.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Signs a checkpoint over the uncovered tail, if there is one.
pub(super) async fn checkpoint(store: &Store) {
    if let Err(e) = store
        .write(yiwang_store::Meta::actor("system"), yiwang_store::Command::Checkpoint)
        .await
    {
        tracing::warn!(error = %e, "checkpoint failed");
    }
}

/// Submits a command for an actor, honouring the request's Idempotency-Key: the key is
/// scoped to the actor, and fingerprinted with the method, path and body, so a retry
/// returns the first response (header `Idempotent-Replayed: true`) and a different
/// request under the same key is refused.
pub(crate) async fn submit(
    state: &AppState,
    actor: &str,
    idem: extract::IdempotencyKey,
    request: (&axum::http::Method, &axum::http::Uri, &[u8]),
    cmd: yiwang_store::Command,
    status: StatusCode,
) -> error::ApiResult<Response> {
    let mut meta = yiwang_store::Meta::actor(actor);
    if let Some(key) = idem.0 {
        let (method, uri, body) = request;
        let mut fp = format!("{method} {}\n", uri.path()).into_bytes();
        fp.extend_from_slice(body);
        meta = meta.with_idempotency(format!("{actor}:{key}"), hex::encode(yiwang_crypto::sm3(&fp)));
    }
    let w = state.store.write(meta, cmd).await?;
    let mut resp = (status, Json(w.value)).into_response();
    if w.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}
