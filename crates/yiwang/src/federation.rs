//! `yiwang federation`: the operator's side of 跨域通办 — this node's document, the
//! agreements and their decisions, the exchange log, a retry, a key rotation, the check of an envelope
//! file kept by either side, and pairing two running nodes through their administrators'
//! APIs (the README's two-node walkthrough in one command). The store commands are the
//! ones the API and pages call.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;
use yiwang_core::federation::{AgreementAction, Envelope, NodeDoc};
use yiwang_store::Meta;
use yiwang_store::federation as fed;

#[derive(Subcommand)]
pub enum FederationCmd {
    /// This node's signed document (what partners fetch from /federation/v1/node).
    Node,
    /// The agreements (授权信任) with their state, rights and the partner's key fingerprint.
    Agreements,
    /// Approves, declines or revokes an agreement here (a serving node tells the partner).
    Decide {
        id: String,
        /// approve, decline or revoke.
        action: String,
        /// Required to decline or revoke.
        #[arg(long)]
        reason: Option<String>,
    },
    /// The exchange log: envelopes sent (with attempts and the last error), received, refused.
    Envelopes {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Sends a refused or waiting envelope again now (a serving node delivers it).
    Retry { id: String },
    /// Makes a new node key and announces it to every partner with an agreement in force,
    /// signed with the old key (a serving node delivers the announcement first).
    RotateKey,
    /// Checks an envelope file (JSON, as stored by either side): its digest and its SM2
    /// signature against the sender's node document — a file given with --node, else the
    /// partner's document this node holds. Exit 0 when it verifies, 1 otherwise.
    Verify {
        file: std::path::PathBuf,
        #[arg(long)]
        node: Option<std::path::PathBuf>,
    },
    /// Pairs two running nodes: A's administrator proposes, B's approves (each through its
    /// own API and admin token), then waits until A has the agreement in force.
    Pair {
        #[arg(long)]
        a: String,
        #[arg(long, env = "YIWANG_A_TOKEN")]
        a_token: String,
        #[arg(long)]
        b: String,
        #[arg(long, env = "YIWANG_B_TOKEN")]
        b_token: String,
        /// Rights A grants B (receive, inform, verify_originals, deliver), comma-separated.
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Rights A asks B to grant it, comma-separated.
        #[arg(long, value_delimiter = ',')]
        ask: Vec<String>,
        #[arg(long, default_value = "one_working_day")]
        forward_limit: String,
        #[arg(long, default_value = "2099-12-31")]
        valid_until: chrono::NaiveDate,
    },
}

async fn local(cfg: &Config, store: &yiwang_store::Store) -> Result<fed::Local> {
    let name = yiwang_store::regions::get(&store.read, &cfg.home_region)
        .await?
        .map(|r| r.name)
        .unwrap_or_else(|| format!("yiwang {}", cfg.home_region));
    let endpoint = cfg.public_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}",
            cfg.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into())
        )
    });
    Ok(fed::local(store, &cfg.home_region, &name, &endpoint).await?)
}

fn print(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

pub async fn run(cfg: &Config, cmd: FederationCmd) -> Result<ExitCode> {
    if let FederationCmd::Pair {
        a,
        a_token,
        b,
        b_token,
        grant,
        ask,
        forward_limit,
        valid_until,
    } = cmd
    {
        return pair(&a, &a_token, &b, &b_token, grant, ask, &forward_limit, valid_until).await;
    }
    let store = crate::open(cfg).await?;
    let out: Result<ExitCode> = async {
        match cmd {
            FederationCmd::Node => {
                let l = local(cfg, &store).await?;
                let doc = fed::node_doc(&store, &l).await?;
                println!("fingerprint {}", fed::fingerprint(&doc.public_key));
                print(&doc);
            }
            FederationCmd::Agreements => print(&fed::agreements(&store).await?),
            FederationCmd::Decide { id, action, reason } => {
                let action = match action.as_str() {
                    "approve" => AgreementAction::Approve,
                    "decline" => AgreementAction::Decline,
                    "revoke" => AgreementAction::Revoke,
                    other => bail!("action: approve, decline or revoke (got `{other}`)"),
                };
                let l = local(cfg, &store).await?;
                print(&fed::decide(&store, Meta::actor("admin:cli"), &l, &id, action, reason.as_deref()).await?);
            }
            FederationCmd::Envelopes { limit } => print(&fed::log(&store, limit.clamp(1, 10_000)).await?),
            FederationCmd::Retry { id } => print(&fed::retry_envelope(&store, Meta::actor("admin:cli"), &id).await?),
            FederationCmd::RotateKey => {
                let l = local(cfg, &store).await?;
                print(&fed::rotate_key(&store, Meta::actor("admin:cli"), &l).await?);
            }
            FederationCmd::Verify { file, node } => {
                let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                let env: Envelope = serde_json::from_str(&text).context("not an envelope")?;
                let mut doc: NodeDoc = match node {
                    Some(p) => serde_json::from_str(&std::fs::read_to_string(&p)?).context("not a node document")?,
                    None => fed::partner(&store, &env.sender)
                        .await?
                        .with_context(|| format!("no document of node {} here: give --node", env.sender))?,
                };
                fed::check_doc(&doc).map_err(|e| anyhow::anyhow!("the node document: {e}"))?;
                // Signed before the partner rotated its key: verified with the key it then had
                // (kept here when it announced the new one).
                if env.key_id != doc.key_id
                    && let Some(key) = fed::partner_key_ever(&store, &env.sender, &env.key_id).await?
                {
                    doc.key_id = env.key_id.clone();
                    doc.public_key = key;
                }
                return Ok(match fed::verify_envelope(&env, &doc) {
                    Ok(()) => {
                        println!(
                            "valid: {} from {} to {} ({}), signed at {} by key {}",
                            env.id, env.sender, env.receiver, env.kind, env.at_ms, doc.key_id
                        );
                        ExitCode::SUCCESS
                    }
                    Err(r) => {
                        println!(
                            "invalid: {} / {}",
                            yiwang_core::Named::zh(&r),
                            yiwang_core::Named::en(&r)
                        );
                        ExitCode::from(1)
                    }
                });
            }
            FederationCmd::Pair { .. } => unreachable!("handled above"),
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    out
}

async fn call(c: &reqwest::Client, m: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Result<Value> {
    let mut r = c.request(m, &url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.with_context(|| format!("reaching {url}"))?;
    let st = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !st.is_success() {
        bail!("{url}: {st}: {v}");
    }
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
async fn pair(
    a: &str,
    a_token: &str,
    b: &str,
    b_token: &str,
    grant: Vec<String>,
    ask: Vec<String>,
    forward_limit: &str,
    valid_until: chrono::NaiveDate,
) -> Result<ExitCode> {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    let c = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let proposed = call(
        &c,
        reqwest::Method::POST,
        format!("{a}/api/v1/federation/agreements"),
        a_token,
        Some(
            json!({ "partner_endpoint": b, "grant": grant, "ask": ask, "forward_limit": forward_limit,
                     "valid_until": valid_until }),
        ),
    )
    .await?;
    let id = proposed["id"].as_str().context("no agreement id")?.to_string();
    println!("proposed {id} at {a}");
    let mut held = false;
    for _ in 0..150 {
        let list = call(
            &c,
            reqwest::Method::GET,
            format!("{b}/api/v1/federation/agreements"),
            b_token,
            None,
        )
        .await?;
        if let Some(x) = list.as_array().and_then(|l| l.iter().find(|x| x["id"] == id.as_str())) {
            println!(
                "{b} holds it from {} (key fingerprint {})",
                x["partner"].as_str().unwrap_or_default(),
                x["partner_fingerprint"].as_str().unwrap_or_default()
            );
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !held {
        bail!("{b} did not receive the proposal within 30 s (is it serving, and can it be reached from {a}?)");
    }
    call(
        &c,
        reqwest::Method::POST,
        format!("{b}/api/v1/federation/agreements/{id}/decision"),
        b_token,
        Some(json!({ "action": "approve" })),
    )
    .await?;
    println!("approved at {b}");
    for _ in 0..150 {
        let list = call(
            &c,
            reqwest::Method::GET,
            format!("{a}/api/v1/federation/agreements"),
            a_token,
            None,
        )
        .await?;
        if list
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["id"] == id.as_str() && x["state"] == "active"))
        {
            println!("in force at both nodes: {id}");
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{a} did not hear of the approval within 30 s")
}
