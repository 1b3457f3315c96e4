//! `yiwang bench reads`: the read paths people wait on, as requests/s from keep-alive
//! clients against a server holding many cases, each as a ratio to `/healthz` in the same
//! run (the HTTP ceiling of this build on this machine).

use super::cases::{DemoCase, demo_case, lifecycle, ok_json, submit_many};
use super::*;

/// What `yiwang bench reads` runs.
pub struct ReadOptions {
    /// Cases submitted first through the window API (the real write path).
    pub cases: usize,
    /// Requests per measured path.
    pub requests: usize,
    /// Concurrent keep-alive clients.
    pub callers: usize,
    /// Cases added by the bulk path after the submissions (0: none).
    pub preload: usize,
}

/// One measured path: what it is, and how to make its request.
struct Path {
    name: &'static str,
    url: String,
    /// `Authorization: Bearer` (staff and system reads).
    bearer: Option<String>,
    /// The citizen's session cookie.
    cookie: Option<String>,
}

/// Fills the server behind `url` (a demo province; `token` its admin token) with
/// `o.cases` cases, then measures each read path. Prints one line a path and its ratio to
/// `/healthz`. With `o.preload`, `store` (the server's database) gets that many more
/// cases by the bulk path first.
pub async fn reads(url: &str, token: &str, store: Option<&Store>, o: &ReadOptions) -> Result<()> {
    let c = reqwest::Client::builder().pool_max_idle_per_host(o.callers).build()?;
    let d = demo_case(&c, url, token).await?;
    let run_id = hex::encode(rand::random::<[u8; 4]>());

    // The cases: submitted by concurrent window clients, as in `bench cases`.
    let key = format!("reads-{run_id}");
    let (_, secs) = submit_many(&c, url, token, &d.body, o.callers, o.cases, &key).await?;
    println!(
        "cases:   {} submitted through the window API in {secs:.1} s ({:.0}/s)",
        o.cases,
        o.cases as f64 / secs
    );
    if o.preload > 0 {
        let store = store.context("--preload needs the server's database (--data-dir or --database-url)")?;
        super::preload::preload_and_report(store, &format!("{key}-0-0"), o.preload).await?;
    }
    // One concluded case with its licence: the case to read and the licence to verify.
    let (case_id, licence_id) = lifecycle(&c, url, token, &d.body, &format!("reads-{run_id}-life")).await?;
    // The agent acts for the enterprise, whose cases these are.
    let DemoCase {
        code,
        cookie,
        csrf,
        legal,
        ..
    } = d;
    ok_json(
        c.put(format!("{url}/api/v1/me/acting-for"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({ "principal": format!("legal:{legal}") }))
            .send()
            .await?,
        "acting for the demo enterprise",
    )
    .await?;

    // A window clerk of 海口's halls (a system token with the window's permission over the
    // city): their inbox is the open cases of the city's departments, a filter on the walk in
    // due order rather than the whole-province one of the admin token.
    let clerk = ok_json(
        c.post(format!("{url}/api/v1/tokens"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "name": format!("bench reads window {run_id}"),
                "permissions": ["case_accept"], "region_code": "460100", "expires_in_days": 1 }))
            .send()
            .await?,
        "a window clerk's token",
    )
    .await?["token"]
        .as_str()
        .context("a token")?
        .to_string();
    let staff = Some(token.to_string());
    let clerk = Some(clerk);
    let citizen = Some(cookie);
    let path = |name, p: String, bearer: &Option<String>, cookie: &Option<String>| Path {
        name,
        url: format!("{url}{p}"),
        bearer: bearer.clone(),
        cookie: cookie.clone(),
    };
    let paths = [
        path("healthz", "/healthz".into(), &None, &None),
        path("case detail (staff)", format!("/api/v1/cases/{case_id}"), &staff, &None),
        path("case list (applicant)", "/api/v1/me/cases".into(), &None, &citizen),
        path("inbox (staff)", "/api/v1/inbox".into(), &staff, &None),
        path("inbox (city window)", "/api/v1/inbox".into(), &clerk, &None),
        path("guide page", format!("/services/{code}"), &None, &None),
        path("home page", "/".into(), &None, &None),
        path("search API", "/api/v1/services?q=营业执照".into(), &None, &None),
        path("licence verification", format!("/verify?id={licence_id}"), &None, &None),
    ];
    let mut healthz = 0.0;
    for p in paths {
        // A few requests first, so that caches and connections are warm for every path alike.
        for _ in 0..o.callers.min(10) {
            get(&c, &p).await?;
        }
        let p = Arc::new(p);
        let (lat, secs) = load(o.callers, o.requests, {
            let (c, p) = (c.clone(), p.clone());
            move |_, _| {
                let (c, p) = (c.clone(), p.clone());
                async move { get(&c, &p).await }
            }
        })
        .await?;
        let rate = lat.len() as f64 / secs;
        if p.name == "healthz" {
            healthz = rate;
        }
        println!(
            "{:<22} {rate:>8.0} req/s  ratio {:.3}  (p50 {:.1} ms, p99 {:.1} ms)",
            p.name,
            rate / healthz,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
    }
    Ok(())
}

async fn get(c: &reqwest::Client, p: &Path) -> Result<()> {
    let mut r = c.get(&p.url);
    if let Some(t) = &p.bearer {
        r = r.bearer_auth(t);
    }
    if let Some(k) = &p.cookie {
        r = r.header("cookie", k);
    }
    let resp = r.send().await?;
    let status = resp.status();
    // The whole body is read, as a browser would.
    let body = resp.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "{}: HTTP {status}: {}",
        p.name,
        String::from_utf8_lossy(&body)
    );
    Ok(())
}
