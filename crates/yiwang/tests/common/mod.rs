//! A real `yiwang serve` process for end-to-end tests, on SQLite or PostgreSQL.
#![allow(dead_code)]

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
        let mut child = Command::new(BIN)
            .args(db_args(db))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
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
