//! The yiwang binary: `serve`, `migrate`, `demo`, `calendar`, `ledger verify|checkpoint`,
//! `bench writer`. Every command accepts `--data-dir` and `--database-url` (and the other
//! settings of `config::Overrides`); they call the same store functions as the server.

mod bench;
mod config;
mod demo;
mod federation;

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
    /// The service catalogue: import, export, search.
    Catalog {
        #[command(subcommand)]
        cmd: CatalogCmd,
    },
    /// Rebuilds the search index from the published catalogue.
    Reindex,
    /// E-licences: verification.
    Licence {
        #[command(subcommand)]
        cmd: LicenceCmd,
    },
    /// Cases (办件).
    Cases {
        #[command(subcommand)]
        cmd: CasesCmd,
    },
    /// Exports for other systems.
    Export {
        #[command(subcommand)]
        cmd: ExportCmd,
    },
    /// 跨域通办 between nodes: this node's document, agreements, the exchange log.
    Federation {
        #[command(subcommand)]
        cmd: federation::FederationCmd,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// The national aggregation records (STANDARDS §2) of the cases received in a date
    /// range: one JSON object per line, each with its acceptance, process rows, special
    /// procedures, result and materials.
    Cases {
        /// Only `national` so far.
        #[arg(long, default_value = "national")]
        format: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// The national records of the ratings (好差评) given in a date range: one JSON object
    /// per line with the case number, item code and version, department and its code,
    /// applicant type, channel, level and options, the case's state, region, window staff.
    Ratings {
        /// Only `national` so far.
        #[arg(long, default_value = "national")]
        format: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum CasesCmd {
    /// Runs the case scheduler once (a running server does this every 10 minutes):
    /// applications received more than 5 working days ago with no correction requested
    /// are accepted from receipt (《行政许可法》第三十二条), overdue materials to follow
    /// (容缺) get a termination task, and cases left unrated for `[ratings]
    /// default_after_days` are rated 基本满意 by default (好差评).
    Tick,
}

#[derive(Subcommand)]
enum LicenceCmd {
    /// Verifies a licence: a GB/T 36904 identifier issued here, a licence file (JSON), or a
    /// QR payload (YWL1.… or the URL the QR code carries). Exit 0 when valid; 1 with the
    /// reason otherwise; 2 when it cannot be checked at all.
    Verify { what: String },
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Imports entries from our JSON format, an xlsx workbook or CSV (a zip of sheets):
    /// every row is checked first, and nothing is written when any row is wrong.
    Import {
        file: std::path::PathBuf,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Submit the created and changed entries for review.
        #[arg(long)]
        submit: bool,
        /// Who is importing, as the ledger records it (default: cli:$USER).
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Exports the catalogue: .json (lossless), .xlsx or .zip (CSV sheets), by extension.
    Export {
        file: std::path::PathBuf,
        /// current (drafts as managers see them) or published.
        #[arg(long, default_value = "current")]
        state: String,
    },
    /// Prints the best published items for a query, one per line: code TAB name.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
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
    /// 跨域通办: two nodes on 127.0.0.1 (temporary SQLite data directories), paired; A
    /// sends --envelopes envelopes to B, each signed, sent, verified, recorded on both
    /// sides and acknowledged by a verified receipt: envelopes/s, and the ratio to a bare
    /// SM2 sign + verify loop in the same run.
    Federation {
        #[arg(long, default_value_t = 2000)]
        envelopes: usize,
    },
    /// 12345: tickets received with their repeats looked for (重复诉求并单) against
    /// --stored tickets, as tickets/s and as a ratio to the bare write ceiling in the same
    /// run; and knowledge-base queries/s over --articles articles. Uses a temporary SQLite
    /// database unless --data-dir or --database-url is given.
    Tickets {
        #[arg(long, default_value_t = 1_000_000)]
        stored: usize,
        #[arg(long, default_value_t = 5_000)]
        intake: usize,
        #[arg(long, default_value_t = 32)]
        callers: usize,
        #[arg(long, default_value_t = 2_000)]
        articles: usize,
    },
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
    /// Search: queries/s and p99 on generated items, against SQLite FTS5 and (with a
    /// PostgreSQL URL) PostgreSQL full-text search on the same corpus and queries.
    /// E-licences: issued and signed per second, verifications per second, against SM2
    /// sign/verify loops of this build and of the openssl CLI in the same run.
    Licences {
        #[arg(long, default_value_t = 500)]
        licences: usize,
    },
    /// Cases: durable submissions/s through the HTTP API and whole lifecycles/s (submit →
    /// accept → review → grant with the licence signed → deliver), p50/p99, against the
    /// foundation's bare write ceiling measured in the same run; ends with `ratio <n>`
    /// (submissions/s over the ceiling). Without --url it serves a demo province from a
    /// temporary data directory; with --url, the server must hold the demo province and
    /// --token is its admin token (the ceiling then runs on the configured database).
    Cases {
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "YIWANG_ADMIN_TOKEN")]
        token: Option<String>,
        #[arg(long, default_value_t = 2000)]
        submissions: usize,
        #[arg(long, default_value_t = 200)]
        lifecycles: usize,
        #[arg(long, default_value_t = 32)]
        callers: usize,
        /// After the measurements, add this many cases by the bulk path (copies of a real
        /// submission) and measure the submissions again: `full/empty ratio`.
        #[arg(long, default_value_t = 0)]
        preload: usize,
    },
    /// Reads: staff case detail (of the demo enterprise's case: no personal data-use
    /// record), the applicant's case list, the
    /// inbox, a guide page, the home page, the search API and a licence verification, each
    /// as req/s from keep-alive clients and as a ratio to `/healthz` in the same run, after
    /// --cases submissions. Without --url it serves a demo province from a temporary data
    /// directory; with --url, the server must hold the demo province and --token is its
    /// admin token.
    Reads {
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "YIWANG_ADMIN_TOKEN")]
        token: Option<String>,
        #[arg(long, default_value_t = 20_000)]
        cases: usize,
        #[arg(long, default_value_t = 5_000)]
        requests: usize,
        #[arg(long, default_value_t = 32)]
        callers: usize,
        /// Cases added by the bulk path (copies of a real submission) before the reads.
        #[arg(long, default_value_t = 0)]
        preload: usize,
    },
    /// 免申即享: two policies (CEL rules and amounts) over --profiles generated person
    /// profiles on --threads threads: profiles/s of the product path (conditions, missing
    /// data, outcome, amount, tally) and of the same rules as bare CEL programs, in the
    /// same run, and their ratio.
    Policies {
        #[arg(long, default_value_t = 1_000_000)]
        profiles: usize,
        /// Threads (default: the available parallelism).
        #[arg(long)]
        threads: Option<usize>,
    },
    Search {
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// PostgreSQL for the baseline (default: YIWANG_BENCH_PG_URL, else skipped with a note).
        #[arg(long, env = "YIWANG_BENCH_PG_URL")]
        pg_url: Option<String>,
    },
}

/// glibc raises its mmap threshold to the size of every large block freed (up to 32 MB),
/// after which such blocks come from a thread's arena and stay resident when freed: every
/// Argon2 hash (19 MiB, hashed on the blocking threads) left ~57 MB per arena behind. A
/// fixed threshold keeps blocks of 1 MB and more in their own mappings, returned to the
/// system when freed (mallopt(3): setting it turns the dynamic adjustment off).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_malloc_retention() {
    // SAFETY: mallopt only changes a malloc parameter; called first in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> std::process::ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    bound_malloc_retention();
    let cli = Cli::parse();
    {
        use tracing_subscriber::prelude::*;
        let filter =
            tracing_subscriber::EnvFilter::try_from_env("YIWANG_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
        // `bench cases` counts statements per submission (and only it pays for counting).
        let count = matches!(
            cli.command,
            Cmd::Bench {
                cmd: BenchCmd::Cases { url: None, .. }
            }
        );
        bench::statements::INSTALLED.store(count, std::sync::atomic::Ordering::Relaxed);
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .with(count.then(bench::statements::layer))
            .init();
    }
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

/// Runs `f` against a demo province served on 127.0.0.1 from a temporary data directory
/// (removed afterwards), with a fresh admin token: `f(url, token, store)`.
async fn with_demo_server<T>(
    settings: &Overrides,
    f: impl AsyncFnOnce(String, String, Arc<Store>) -> Result<T>,
) -> Result<T> {
    let tmp = std::env::temp_dir().join(format!("yiwang-bench-{}", uuid::Uuid::new_v4().simple()));
    let cfg = Config::load(&Overrides {
        data_dir: Some(tmp.clone()),
        ..settings.clone()
    })?;
    let r = async {
        let store = open(&cfg).await?;
        demo::seed(&store).await?;
        demo::seed_accounts(&store).await?;
        let token = hex::encode(rand::random::<[u8; 16]>());
        let listener = yiwang_server::bind("127.0.0.1:0".parse()?)?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = yiwang_server::AppState::new(
            store.clone(),
            Some(token.clone()),
            cfg.home_region.clone(),
            yiwang_server::metrics_handle(),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(yiwang_server::serve(state, listener, async {
            let _ = stop_rx.await;
        }));
        let r = f(url, token, store).await;
        let _ = stop_tx.send(());
        server.await??;
        r
    }
    .await;
    let _ = std::fs::remove_dir_all(&tmp);
    r
}

/// Prints this process's resident memory (Linux: `VmRSS` of /proc/self/status).
fn print_rss(what: &str) {
    let rss = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .map(|l| l[6..].trim().to_string())
    });
    if let Some(rss) = rss {
        println!("memory: {rss} resident ({what})");
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
            let mut sc = cfg.store_config();
            if with_demo && sc.sms.is_none() {
                // A demo province prints its text messages (`demo sms to …`).
                sc.sms = Some(yiwang_store::sms::Gateway::Console);
            }
            let store = Store::open(sc)
                .await
                .with_context(|| format!("opening {}", redact(&cfg.database_url)))?;
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
            )
            .with_search(cfg.open_search()?)
            .with_public_url(&cfg.public_url.clone().unwrap_or_else(|| format!("http://{addr}")))
            .with_trusted_proxies(cfg.trusted_proxies.clone());
            let state = match cfg.secure_cookies {
                Some(b) => state.with_secure_cookies(b),
                None => state,
            };
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
        Cmd::Catalog { cmd } => return catalog(&cfg, cmd).await,
        Cmd::Reindex => {
            let store = open(&cfg).await?;
            let ix = cfg.open_search()?;
            if !ix.is_writable() {
                store.close().await;
                bail!(
                    "the search index is in use by a running server, which keeps it current; stop it to rebuild the index"
                );
            }
            let pb = progress_bar("reindex");
            let n = yiwang_search::reindex(&ix, &store, &|done, total| {
                pb.set_length(total as u64);
                pb.set_position(done as u64);
            })
            .await?;
            pb.finish_and_clear();
            store.close().await;
            println!("search index rebuilt: {n} published items, {} documents", ix.num_docs());
        }
        Cmd::Licence {
            cmd: LicenceCmd::Verify { what },
        } => return verify_licence(&cfg, &what).await,
        Cmd::Federation { cmd } => return federation::run(&cfg, cmd).await,
        Cmd::Export { cmd } => {
            let (what, format, from, to, out) = match cmd {
                ExportCmd::Cases { format, from, to, out } => ("cases", format, from, to, out),
                ExportCmd::Ratings { format, from, to, out } => ("ratings", format, from, to, out),
            };
            if format != "national" {
                bail!("--format: only `national` is supported (got `{format}`)");
            }
            if to < from {
                bail!("--to ({to}) is before --from ({from})");
            }
            let store = open(&cfg).await?;
            let r = match what {
                "cases" => yiwang_store::cases::national(&store, from, to).await.map(|v| {
                    v.iter()
                        .map(|x| serde_json::to_value(x).expect("serialisable"))
                        .collect()
                }),
                _ => yiwang_store::ratings::national(&store, from, to).await,
            };
            store.close().await;
            let records: Vec<serde_json::Value> = r?;
            let mut text = String::new();
            for rec in &records {
                text.push_str(&serde_json::to_string(rec)?);
                text.push('\n');
            }
            match out {
                Some(p) => {
                    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
                    eprintln!("{} {what} written to {}", records.len(), p.display());
                }
                None => print!("{text}"),
            }
        }
        Cmd::Cases { cmd: CasesCmd::Tick } => {
            let store = open(&cfg).await?;
            let r = yiwang_store::cases::tick(&store, yiwang_store::today()).await;
            let rated = match &r {
                Ok(_) => yiwang_store::ratings::tick(&store, yiwang_store::today()).await,
                Err(_) => Ok(vec![]),
            };
            let escalated = match &rated {
                Ok(_) => yiwang_store::ratings::escalate(&store, yiwang_store::today()).await,
                Err(_) => Ok(vec![]),
            };
            let supervised = match &escalated {
                Ok(_) => yiwang_store::hotline::supervise(&store, yiwang_store::now_ms()).await,
                Err(_) => Ok(Default::default()),
            };
            store.close().await;
            let t = r?;
            let rated = rated?;
            let escalated = escalated?;
            let supervised = supervised?;
            println!(
                "12345 tickets past their limit: units told (督办) {}, escalated to their superior {}",
                supervised.told, supervised.escalated
            );
            println!(
                "bad-rating follow-ups overdue, escalated: {}{}",
                escalated.len(),
                if escalated.is_empty() {
                    String::new()
                } else {
                    let v: Vec<String> = escalated.iter().map(|(id, w)| format!("{id} {}", w.as_str())).collect();
                    format!(" ({})", v.join(", "))
                },
            );
            println!(
                "rated fairly satisfied by default (not rated in time): {}{}",
                rated.len(),
                if rated.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", rated.join(", "))
                },
            );
            println!(
                "deemed accepted (Licensing Law art. 32): {}{}\nmaterials to follow overdue: {}{}",
                t.deemed_accepted.len(),
                if t.deemed_accepted.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", t.deemed_accepted.join(", "))
                },
                t.tolerance_overdue.len(),
                if t.tolerance_overdue.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", t.tolerance_overdue.join(", "))
                },
            );
        }
        Cmd::Bench {
            cmd:
                BenchCmd::Cases {
                    url,
                    token,
                    submissions,
                    lifecycles,
                    callers,
                    preload,
                },
        } => {
            if submissions == 0 || lifecycles == 0 || callers == 0 {
                bail!("--submissions, --lifecycles and --callers must be at least 1");
            }
            let o = bench::CaseOptions {
                submissions,
                lifecycles,
                callers,
                ceiling_batch: 512,
                preload,
            };
            match url {
                Some(url) => {
                    let token = token.context("--token (the server's admin token) is needed with --url")?;
                    let store = open(&cfg).await?;
                    let r = bench::cases(url.trim_end_matches('/'), &token, &store, &o).await;
                    store.close().await;
                    r?;
                }
                None => {
                    with_demo_server(&cli.settings, async |url, token, store| {
                        bench::cases(&url, &token, &store, &o).await
                    })
                    .await?;
                }
            }
        }
        Cmd::Bench {
            cmd:
                BenchCmd::Reads {
                    url,
                    token,
                    cases,
                    requests,
                    callers,
                    preload,
                },
        } => {
            if requests == 0 || callers == 0 {
                bail!("--requests and --callers must be at least 1");
            }
            if preload > 0 && cases == 0 {
                bail!("--preload copies a submitted case: --cases must be at least 1");
            }
            let o = bench::ReadOptions {
                cases,
                requests,
                callers,
                preload,
            };
            match url {
                Some(url) => {
                    let token = token.context("--token (the server's admin token) is needed with --url")?;
                    let store = if preload > 0 { Some(open(&cfg).await?) } else { None };
                    let r = bench::reads(url.trim_end_matches('/'), &token, store.as_deref(), &o).await;
                    if let Some(s) = store {
                        s.close().await;
                    }
                    r?;
                }
                None => {
                    with_demo_server(&cli.settings, async |url, token, store| {
                        let r = bench::reads(&url, &token, Some(&store), &o).await;
                        print_rss("server and load generator in one process");
                        r
                    })
                    .await?;
                }
            }
        }
        Cmd::Bench {
            cmd:
                BenchCmd::Tickets {
                    stored,
                    intake,
                    callers,
                    articles,
                },
        } => {
            if intake == 0 || callers == 0 {
                bail!("--intake and --callers must be at least 1");
            }
            let (cfg, tmp) = bench_config(&cli.settings, cfg)?;
            let store = open(&cfg).await?;
            let r = bench::tickets(store.clone(), stored, intake, callers, articles).await;
            store.close().await;
            if !tmp.as_os_str().is_empty() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            r?;
        }
        Cmd::Bench {
            cmd: BenchCmd::Federation { envelopes },
        } => {
            if envelopes == 0 {
                bail!("--envelopes must be at least 1");
            }
            let mut dirs = vec![];
            let mut stores = vec![];
            for _ in 0..2 {
                let tmp = std::env::temp_dir().join(format!("yiwang-bench-{}", uuid::Uuid::new_v4().simple()));
                let cfg = Config::load(&Overrides {
                    data_dir: Some(tmp.clone()),
                    database_url: None,
                    ..cli.settings.clone()
                })?;
                stores.push(open(&cfg).await?);
                dirs.push(tmp);
            }
            let b = stores.pop().expect("two");
            let a = stores.pop().expect("two");
            let r = bench::federation(a, b, envelopes).await;
            for d in dirs {
                let _ = std::fs::remove_dir_all(d);
            }
            r?;
        }
        Cmd::Bench {
            cmd: BenchCmd::Licences { licences },
        } => {
            if licences == 0 {
                bail!("--licences must be at least 1");
            }
            bench::licences(licences).await?;
        }
        Cmd::Bench {
            cmd: BenchCmd::Policies { profiles, threads },
        } => {
            let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if profiles == 0 || threads == 0 {
                bail!("--profiles and --threads must be at least 1");
            }
            bench::policies(profiles, threads)?;
        }
        Cmd::Bench {
            cmd: BenchCmd::Search { items, rounds, pg_url },
        } => {
            bench::search(items, rounds, pg_url.as_deref()).await?;
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
            let (cfg, tmp) = bench_config(&cli.settings, cfg)?;
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

/// A benchmark's configuration: without --data-dir / --database-url, a temporary SQLite
/// database (its directory returned, to be removed afterwards; else an empty path).
fn bench_config(settings: &Overrides, cfg: Config) -> Result<(Config, std::path::PathBuf)> {
    if settings.data_dir.is_none() && settings.database_url.is_none() {
        let tmp = std::env::temp_dir().join(format!("yiwang-bench-{}", uuid::Uuid::new_v4().simple()));
        let cfg = Config::load(&Overrides {
            data_dir: Some(tmp.clone()),
            ..settings.clone()
        })?;
        Ok((cfg, tmp))
    } else {
        Ok((cfg, std::path::PathBuf::new()))
    }
}

/// `yiwang licence verify`: the same store functions as `/api/v1/verify`.
async fn verify_licence(cfg: &Config, what: &str) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    use yiwang_store::licences;
    let what = what.trim();
    let store = open(cfg).await?;
    let path = std::path::Path::new(what);
    let outcome = if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {what}"))?;
        match serde_json::from_slice::<yiwang_core::licences::LicenceFile>(&bytes) {
            Ok(f) => Some((f.data.id.clone(), licences::verify_file(&store, &f).await?)),
            Err(e) => {
                store.close().await;
                eprintln!("error: {what} is not a licence file: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    } else if what.contains(yiwang_core::licences::QR_PREFIX) {
        let p = what
            .split_once("p=")
            .map(|(_, p)| p.split('&').next().unwrap_or(p))
            .unwrap_or(what);
        let (claims, v) = licences::verify_qr(&store, p).await?;
        Some((claims.map(|c| c.i).unwrap_or_else(|| "(QR payload)".into()), v))
    } else if let Err(e) = yiwang_core::licences::check_licence_id("id", what) {
        // Still checked: a wrong check character is a reason, not an error.
        Some((
            what.to_string(),
            yiwang_core::licences::Verification {
                valid: false,
                checks: vec![],
                reason: Some(e.en),
            },
        ))
    } else {
        licences::verify_id(&store, what)
            .await?
            .map(|(_, v)| (what.to_string(), v))
    };
    store.close().await;
    let Some((id, v)) = outcome else {
        eprintln!(
            "NOT FOUND: no licence {what} on this node (give its file or QR payload to verify one issued elsewhere)"
        );
        return Ok(ExitCode::from(2));
    };
    for c in &v.checks {
        println!("{} {:<14} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.en);
    }
    match v.reason {
        None => {
            println!("VALID: {id}");
            Ok(ExitCode::SUCCESS)
        }
        Some(r) => {
            eprintln!("NOT VALID: {id}: {r}");
            Ok(ExitCode::from(1))
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

async fn catalog(cfg: &Config, cmd: CatalogCmd) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    use yiwang_store::catalog::{self as cat, sheets};
    match cmd {
        CatalogCmd::Import {
            file,
            dry_run,
            submit,
            actor,
        } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let store = open(cfg).await?;
            let format = sheets::Format::guess(&file.display().to_string(), &bytes);
            let (doc, prov) = match sheets::read(&store, format, &bytes).await? {
                Ok(x) => x,
                Err(problems) => {
                    store.close().await;
                    print_problems(&problems);
                    return Ok(ExitCode::from(1));
                }
            };
            let actor =
                actor.unwrap_or_else(|| format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "operator".into())));
            let pb = progress_bar("check");
            let show = |phase: &str, done: usize, total: usize| {
                pb.set_message(phase.to_string());
                pb.set_length(total as u64);
                pb.set_position(done as u64);
            };
            let opts = cat::ImportOptions {
                dry_run,
                submit,
                region_code: cfg.home_region.clone(),
                chunk: 100,
            };
            let mut r = cat::import(&store, Meta::actor(actor), &doc, &opts, &show).await?;
            pb.finish_and_clear();
            store.close().await;
            if let Some(p) = prov {
                for x in &mut r.problems {
                    p.place(x);
                }
            }
            if !r.ok {
                print_problems(&r.problems);
                return Ok(ExitCode::from(1));
            }
            println!(
                "{}: {} created, {} changed, {} unchanged ({} data elements){}",
                if dry_run {
                    "checked (nothing written)"
                } else {
                    "imported"
                },
                r.created,
                r.changed,
                r.unchanged,
                r.data_elements,
                if submit && !dry_run {
                    "; created and changed entries submitted for review"
                } else {
                    ""
                }
            );
        }
        CatalogCmd::Export { file, state } => {
            let state = match state.as_str() {
                "current" => cat::ExportState::Current,
                "published" => cat::ExportState::Published,
                other => bail!("--state is current or published, not {other}"),
            };
            let store = open(cfg).await?;
            let doc = cat::export(&store, state).await?;
            store.close().await;
            let name = file.display().to_string().to_lowercase();
            let bytes = if name.ends_with(".xlsx") {
                sheets::tables_to_xlsx(&sheets::doc_to_tables(&doc))?
            } else if name.ends_with(".zip") || name.ends_with(".csv") {
                sheets::tables_to_csv_zip(&sheets::doc_to_tables(&doc))?
            } else {
                serde_json::to_vec_pretty(&doc)?
            };
            std::fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            println!(
                "exported {} basic entries and {} items to {}",
                doc.basic.len(),
                doc.items.len(),
                file.display()
            );
        }
        CatalogCmd::Search { query, limit } => {
            let store = open(cfg).await?;
            let ix = cfg.open_search()?;
            catch_up(&store, &ix).await?;
            let q = yiwang_search::SearchQuery {
                text: query,
                limit: limit.clamp(1, 100),
                at_ms: yiwang_store::now_ms(),
                ..Default::default()
            };
            let r = ix.search(&q)?;
            store.close().await;
            for h in r.hits {
                println!("{}\t{}", h.code, h.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Brings the search index up to the ledger's head when this process may write it (a
/// running server holds it otherwise, and keeps it current itself).
async fn catch_up(store: &Arc<Store>, ix: &Arc<yiwang_search::SearchIndex>) -> Result<()> {
    if !ix.is_writable() {
        return Ok(());
    }
    if ix.cursor() == 0 {
        yiwang_search::reindex(ix, store, &|_, _| {}).await?;
        return Ok(());
    }
    let follower = yiwang_search::Follower {
        index: ix.clone(),
        store: store.clone(),
    };
    yiwang_store::outbox::catch_up(store, &follower, 500).await?;
    Ok(())
}

fn print_problems(problems: &[yiwang_store::catalog::ImportProblem]) {
    eprintln!("{} problem(s); nothing was imported:", problems.len());
    for p in problems {
        eprintln!("  {}: {} / {} [{}]", p.place_zh(), p.zh, p.en, p.rule);
    }
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
