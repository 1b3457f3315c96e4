//! The yiwang binary: `serve`, `migrate`, `demo`, `calendar`, `ledger verify|checkpoint`,
//! `bench writer`. Every command accepts `--data-dir` and `--database-url` (and the other
//! settings of `config::Overrides`); they call the same store functions as the server.

mod bench;
mod config;
mod demo;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use config::{Config, Overrides};
use std::sync::Arc;
use yiwang_store::{Command, Meta, Store};

#[derive(Parser)]
#[command(
    name = "yiwang",
    version,
    about = "yiwang (一网): integrated online government-service platform"
)]
struct Cli {
    #[command(flatten)]
    settings: Overrides,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the web server (pages and /api/v1).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "YIWANG_LISTEN")]
        listen: Option<String>,
        /// Create (or reuse) the demo province first.
        #[arg(long)]
        demo: bool,
    },
    /// Create or update the database schema.
    Migrate,
    /// Create (or complete) the demo province without serving.
    Demo,
    /// Working-day calendar (national schedule plus local holidays).
    Calendar {
        #[command(subcommand)]
        cmd: CalendarCmd,
    },
    /// The tamper-evident ledger.
    Ledger {
        #[command(subcommand)]
        cmd: LedgerCmd,
    },
    /// Benchmarks that print ratios against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// The Nth working day after DATE (counting starts the day after).
    AddDays {
        date: NaiveDate,
        n: u32,
        #[arg(long)]
        region: Option<String>,
    },
    /// Working days in (A, B].
    Between {
        a: NaiveDate,
        b: NaiveDate,
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Subcommand)]
enum LedgerCmd {
    /// Re-check every hash chain, checkpoint and signature; exit 1 naming the first bad event.
    Verify,
    /// Sign a checkpoint over the events after the last one.
    Checkpoint,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Durable commands/s through the writer vs. a bare batched-insert loop.
    Writer {
        /// Concurrent callers (default: one full writer batch).
        #[arg(long, default_value_t = 512)]
        callers: usize,
        #[arg(long, default_value_t = 20000)]
        commands: usize,
        #[arg(long, default_value_t = 512)]
        ceiling_batch: usize,
        /// Also measure the whole write path over HTTP (a real server on 127.0.0.1).
        #[arg(long)]
        http: bool,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YIWANG_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn open(cfg: &Config) -> Result<Arc<Store>> {
    Store::open(cfg.store_config())
        .await
        .with_context(|| format!("opening {}", redact(&cfg.database_url)))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let cfg = Config::load(&cli.settings)?;
    match cli.command {
        Cmd::Migrate => {
            let store = open(&cfg).await?;
            println!(
                "schema up to date ({}, {})",
                store.engine.name(),
                redact(&cfg.database_url)
            );
            store.close().await;
        }
        Cmd::Demo => {
            let store = open(&cfg).await?;
            let n = demo::seed(&store).await?;
            println!("demo province ready ({n} new events)");
            store.close().await;
        }
        Cmd::Serve {
            listen,
            demo: with_demo,
        } => {
            let store = open(&cfg).await?;
            if with_demo {
                let n = demo::seed(&store).await?;
                eprintln!("demo province ready ({n} new events)");
            }
            let (token, token_file) = cfg.admin_token_or_generate()?;
            let listen = listen.or(cfg.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
            let addr: std::net::SocketAddr = tokio::net::lookup_host(&listen)
                .await
                .with_context(|| format!("resolving {listen}"))?
                .next()
                .with_context(|| format!("no address for {listen}"))?;
            let demo_accounts = if with_demo {
                demo::seed_accounts(&store).await?
            } else {
                vec![]
            };
            let listener = yiwang_server::bind(addr).with_context(|| format!("listening on {listen}"))?;
            let addr = listener.local_addr()?;
            println!("yiwang serving on http://{addr}/  (API docs: http://{addr}/api/v1/docs)");
            match (with_demo, token_file) {
                (true, _) => println!("demo admin token: {token}"),
                (false, Some(p)) => println!("admin token in {}", p.display()),
                (false, None) => println!("admin token from configuration"),
            }
            for a in &demo_accounts {
                match &a.totp_secret {
                    Some(sec) => println!("demo account: {} {} totp {}", a.role, a.login, sec),
                    None => println!("demo account: {} {}", a.role, a.login),
                }
            }
            if with_demo {
                println!("demo accounts: password for all: {}", demo::DEMO_PASSWORD);
            }
            let state = yiwang_server::AppState::new(
                store,
                Some(token),
                cfg.home_region.clone(),
                yiwang_server::metrics_handle(),
            );
            yiwang_server::serve(state, listener, shutdown_signal()).await?;
        }
        Cmd::Calendar { cmd } => {
            let store = open(&cfg).await?;
            let out = match cmd {
                CalendarCmd::AddDays { date, n, region } => yiwang_store::calendar::add_days(&store, date, n, region.as_deref()).await.map(|d| {
                    let mut s = d.date.to_string();
                    if d.provisional {
                        s.push_str("  provisional: the schedule of that year is not yet published");
                    }
                    s.push_str(&format!(
                        "\n  {} working days after {}; weekend days skipped {}; holidays skipped {}; make-up workdays counted {}",
                        d.working_days,
                        d.start,
                        d.weekend_days,
                        d.holidays.len(),
                        d.makeup_workdays.len()
                    ));
                    s
                }),
                CalendarCmd::Between { a, b, region } => yiwang_store::calendar::between(&store, a, b, region.as_deref()).await.map(|n| n.to_string()),
            };
            store.close().await;
            match out {
                Ok(s) => println!("{s}"),
                Err(yiwang_store::StoreError::Domain(e)) => {
                    for f in &e.errors {
                        eprintln!("error: {}: {} / {}", f.field, f.zh, f.en);
                    }
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Cmd::Ledger { cmd: LedgerCmd::Verify } => {
            let store = open(&cfg).await?;
            let r = yiwang_store::ledger::verify_store(&store).await?;
            store.close().await;
            if let Some(p) = r.problem {
                eprintln!("ledger: NOT VALID: {p}");
                println!("checked {} events before the problem", r.events);
                return Ok(ExitCode::from(1));
            }
            println!(
                "ledger: valid — {} events in {} streams, {} signed checkpoints",
                r.events, r.streams, r.checkpoints
            );
        }
        Cmd::Ledger {
            cmd: LedgerCmd::Checkpoint,
        } => {
            let store = open(&cfg).await?;
            let w = store.write(Meta::actor("system"), Command::Checkpoint).await?;
            store.close().await;
            println!(
                "checkpoint to seq {} ({})",
                w.value["checkpoint_to"],
                if w.value["new"] == true {
                    "new"
                } else {
                    "already covered"
                }
            );
        }
        Cmd::Bench {
            cmd:
                BenchCmd::Writer {
                    callers,
                    commands,
                    ceiling_batch,
                    http,
                },
        } => {
            if callers == 0 || commands == 0 || ceiling_batch == 0 {
                bail!("--callers, --commands and --ceiling-batch must be at least 1");
            }
            // Without --data-dir / --database-url the benchmark uses a temporary SQLite database.
            let tmp;
            let cfg = if cli.settings.data_dir.is_none() && cli.settings.database_url.is_none() {
                tmp = std::env::temp_dir().join(format!("yiwang-bench-{}", uuid::Uuid::new_v4().simple()));
                Config::load(&Overrides {
                    data_dir: Some(tmp.clone()),
                    ..cli.settings.clone()
                })?
            } else {
                tmp = std::path::PathBuf::new();
                cfg
            };
            let o = bench::Options {
                callers,
                commands,
                ceiling_batch,
            };
            let r = async {
                if http {
                    // The HTTP run first: its server closes its store when it stops.
                    bench::http(open(&cfg).await?, &o).await?;
                }
                let store = open(&cfg).await?;
                let r = bench::writer(store.clone(), &o).await;
                store.close().await;
                r
            }
            .await;
            if !tmp.as_os_str().is_empty() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            r?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
