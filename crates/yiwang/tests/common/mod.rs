//! A real `yiwang serve` process for end-to-end tests, on SQLite or PostgreSQL.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use yiwang_store::testing::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_yiwang");
pub const TOKEN: &str = "test-admin-token-0123456789";

pub struct Server {
    pub child: Child,
    pub url: String,
    /// Everything the server printed on stdout so far.
    pub out: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// The command-line settings that point `yiwang` at a test database.
pub fn db_args(db: &TestDb) -> Vec<String> {
    vec![
        "--data-dir".into(),
        db.dir.display().to_string(),
        "--database-url".into(),
        db.url.clone(),
    ]
}

impl Server {
    pub fn start(db: &TestDb, extra: &[&str]) -> Server {
        // `--listen ADDR` among `extra` (a restart on the same address) replaces the default.
        let listen = extra
            .iter()
            .position(|a| *a == "--listen")
            .and_then(|i| extra.get(i + 1))
            .copied()
            .unwrap_or("127.0.0.1:0");
        let mut rest: Vec<&str> = vec![];
        let mut skip = false;
        for a in extra {
            if skip {
                skip = false;
            } else if *a == "--listen" {
                skip = true;
            } else {
                rest.push(a);
            }
        }
        let mut child = Command::new(BIN)
            .args(db_args(db))
            .args(["serve", "--listen", listen])
            .args(rest)
            .env("YIWANG_ADMIN_TOKEN", TOKEN)
            .env("YIWANG_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start yiwang serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("server printed its address").expect("stdout");
            if let Some(rest) = line.strip_prefix("yiwang serving on ") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        let out = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let keep = out.clone();
        std::thread::spawn(move || {
            for l in lines.by_ref().map_while(Result::ok) {
                keep.lock().unwrap().push(l);
            }
        });
        Server { child, url, out }
    }

    /// The demo TOTP secret printed for a staff login (`serve --demo`).
    pub fn demo_secret(&self, login: &str) -> String {
        for _ in 0..200 {
            let found = self.out.lock().unwrap().iter().find_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() == 6 && w[0] == "demo" && w[3] == login && w[4] == "totp").then(|| w[5].to_string())
            });
            if let Some(s) = found {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no demo secret printed for {login}");
    }

    /// The last SMS code a demo server printed for a number and purpose
    /// (`demo sms to PHONE: code CODE (PURPOSE)`), waiting for it to appear.
    pub fn demo_sms(&self, phone: &str, purpose: &str) -> String {
        let head = format!("demo sms to {phone}: code ");
        let tail = format!(" ({purpose})");
        for _ in 0..200 {
            let found = self.out.lock().unwrap().iter().rev().find_map(|l| {
                l.strip_prefix(&head)
                    .and_then(|r| r.strip_suffix(&tail))
                    .map(str::to_string)
            });
            if let Some(c) = found {
                return c;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no demo sms printed for {phone} ({purpose})");
    }

    /// How many SMS codes a demo server printed for a number so far.
    pub fn demo_sms_count(&self, phone: &str) -> usize {
        let head = format!("demo sms to {phone}: ");
        self.out.lock().unwrap().iter().filter(|l| l.starts_with(&head)).count()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// SIGTERM: graceful shutdown (final checkpoint).
    pub fn stop(&mut self) {
        unsafe_sigterm(self.child.id());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unsafe_sigterm(pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Runs a yiwang CLI command against the test database; returns (exit code, stdout, stderr).
/// Uploads a small scanned PDF as the admin token (a window's scan); returns its SM3.
#[allow(dead_code)]
pub async fn upload_scan(url: &str, note: &str) -> String {
    let r = client()
        .post(format!("{url}/api/v1/files?name=scan.pdf"))
        .bearer_auth(TOKEN)
        .body(format!("%PDF-1.4\n% {note}\ntrailer<<>>\n%%EOF\n").into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    v["sm3"].as_str().expect("uploaded").to_string()
}

pub fn cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(db_args(db))
        .args(args)
        .env("YIWANG_LOG", "warn")
        .output()
        .expect("run yiwang");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A valid credit code derived from `n`.
pub fn uscc(n: u64) -> String {
    let body = format!("11460000{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

/// The demo accounts' password.
pub const PW: &str = "Demo#2026yw";

/// A logged-in session: its cookie and CSRF token.
pub struct Session {
    pub c: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// Logs in over the API (with a TOTP code from the secret, for staff); panics unless 200.
    pub async fn login(url: &str, login: &str, totp_secret: Option<String>) -> Session {
        let (status, v, cookie) = login_raw(url, login, PW, totp_secret.map(|s| totp_now(&s))).await;
        assert_eq!(status, 200, "login {login}: {v}");
        Session {
            c: client(),
            cookie: cookie.expect("a session cookie"),
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
        }
    }
    pub fn req(&self, m: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.c
            .request(m, url)
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }
    pub async fn get(&self, url: String) -> reqwest::Response {
        self.req(reqwest::Method::GET, url).send().await.unwrap()
    }
    pub async fn post(&self, url: String, body: &Value) -> reqwest::Response {
        self.req(reqwest::Method::POST, url).json(body).send().await.unwrap()
    }
    /// GET: the response as is.
    pub async fn fetch(&self, url: &str) -> reqwest::Response {
        self.get(url.to_string()).await
    }
    /// GET: (status, JSON body or Null).
    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        status_json(self.get(url.to_string()).await).await
    }
    /// POST a JSON body with the CSRF token: (status, JSON body or Null).
    pub async fn post_json(&self, url: &str, body: Value) -> (u16, Value) {
        status_json(self.post(url.to_string(), &body).await).await
    }
}

/// (status, JSON body or Null) of a response.
pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// The current TOTP code of a base32 secret.
pub fn totp_now(secret_b32: &str) -> String {
    let secret = yiwang_crypto::totp::from_base32(secret_b32).unwrap();
    let t = chrono::Utc::now().timestamp();
    yiwang_crypto::totp::hotp(&secret, yiwang_crypto::totp::step_of(t) as u64)
}

/// A client that does not follow redirects (to see a 303 and its Location).
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `yiwang_session=…` pair a response sets, if any.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("yiwang_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// `POST /api/v1/auth/login` as is: (status, body, session cookie).
pub async fn login_raw(
    url: &str,
    login: &str,
    password: &str,
    totp_code: Option<String>,
) -> (reqwest::StatusCode, Value, Option<String>) {
    let mut body = json!({ "login": login, "password": password });
    if let Some(t) = totp_code {
        body["totp_code"] = json!(t);
    }
    let r = no_redirects()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r);
    (r.status(), r.json().await.unwrap_or(Value::Null), cookie)
}

/// The ledger head a server reports on `/readyz`.
pub async fn ledger_head(c: &reqwest::Client, url: &str) -> i64 {
    let (_, v) = status_json(c.get(format!("{url}/readyz")).send().await.unwrap()).await;
    v["ledger_head"].as_i64().unwrap()
}

/// The (field, rule) pairs of a problem's `errors`.
pub fn rules(v: &Value) -> Vec<(String, String)> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").into(),
                        e["rule"].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asks a server for an SMS code; panics unless the request is accepted (202).
pub async fn ask_code(url: &str, phone: &str, purpose: &str) {
    let r = client()
        .post(format!("{url}/api/v1/auth/sms-codes"))
        .json(&json!({ "phone": phone, "purpose": purpose }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
}

/// A local SMS gateway speaking Tencent Cloud SMS API 3.0 (`SendSms`, TC3-HMAC-SHA256): it
/// checks every request's signature exactly as the provider does and answers in the
/// provider's shapes; what it accepted is kept for the test to read.
pub struct SmsGateway {
    pub url: String,
    pub secret_id: String,
    pub secret_key: String,
    /// The SendSms bodies accepted.
    pub got: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    /// Requests refused, with the provider's error code.
    pub refused: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmsGateway {
    pub fn start() -> SmsGateway {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (secret_id, secret_key) = (
            "AKIDyiwangTEST0000000001".to_string(),
            "yiwang-test-secret-key-0001".to_string(),
        );
        let got: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let refused: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let (g, r, id, key) = (got.clone(), refused.clone(), secret_id.clone(), secret_key.clone());
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(mut sock) = sock else { return };
                let mut buf = vec![];
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    match sock.read(&mut chunk) {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i);
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < len {
                    match sock.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                let payload = String::from_utf8_lossy(&body).to_string();
                let checked =
                    yiwang_store::sms::tencent::verify(|sid| (sid == id).then(|| key.clone()), &headers, &payload);
                let answer = match checked {
                    Ok(_) => {
                        let v: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
                        let phone = v["PhoneNumberSet"][0].as_str().unwrap_or("").to_string();
                        g.lock().unwrap().push(v);
                        json!({"Response": {"SendStatusSet": [{"SerialNo": "5000:1045710669157053657849499619",
                            "PhoneNumber": phone, "Fee": 1, "SessionContext": "", "Code": "Ok",
                            "Message": "send success", "IsoCode": "CN"}], "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}})
                    }
                    Err(e) => {
                        let code = e.split(':').next().unwrap_or("").to_string();
                        r.lock().unwrap().push(code.clone());
                        json!({"Response": {"Error": {"Code": code, "Message": e},
                            "RequestId": "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}})
                    }
                }
                .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(resp.as_bytes());
            }
        });
        SmsGateway {
            url,
            secret_id,
            secret_key,
            got,
            refused,
        }
    }

    /// The `[sms]` table of a yiwang.toml pointing at this gateway.
    pub fn config(&self) -> String {
        format!(
            "[sms]\nprovider = \"tencent\"\nsecret_id = \"{}\"\nsecret_key = \"{}\"\nregion = \"ap-guangzhou\"\nsdk_app_id = \"1400000001\"\nsign_name = \"海南政务服务\"\ntemplate_id = \"1888888\"\nendpoint = \"{}\"\n",
            self.secret_id, self.secret_key, self.url
        )
    }

    /// The last code the gateway accepted for a mainland number.
    pub fn code_for(&self, phone: &str) -> Option<String> {
        let want = format!("+86{phone}");
        self.got
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|v| v["PhoneNumberSet"][0] == want.as_str())
            .and_then(|v| v["TemplateParamSet"][0].as_str().map(str::to_string))
    }
}
