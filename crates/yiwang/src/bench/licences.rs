//! `yiwang bench licences`: issuing and verifying signed licences, and SM2 against OpenSSL.

use super::*;

/// Runs `openssl speed` for SM2 and returns (sign/s, verify/s), when openssl is installed.
pub(super) fn openssl_sm2_speed(seconds: u32) -> Option<(f64, f64)> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "sm2"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("SM2"))?;
    let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    // "256 bits SM2 (CurveSM2)   0.0003s   0.0003s   3090.5   3334.0": the last two.
    (nums.len() >= 2).then(|| (nums[nums.len() - 2], nums[nums.len() - 1]))
}

/// SM2 operations per second of this build over `seconds`.
pub(super) fn our_sm2_speed(seconds: f64) -> (f64, f64) {
    use yiwang_crypto::Signer;
    let key = yiwang_crypto::SoftKey::generate();
    let msg = [7u8; 512];
    let t = Instant::now();
    let mut n = 0;
    let mut sig = key.sign(&msg);
    while t.elapsed().as_secs_f64() < seconds {
        sig = key.sign(&msg);
        n += 1;
    }
    let sign = n as f64 / t.elapsed().as_secs_f64();
    let pk = key.public_key();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < seconds {
        yiwang_crypto::verify(&pk, &msg, &sig).expect("verifies");
        n += 1;
    }
    (sign, n as f64 / t.elapsed().as_secs_f64())
}

/// `yiwang bench licences`: licences issued (identifier, seal signature, QR signature,
/// sealed data, ledger event, one transaction each) and verified per second, one at a
/// time and with many callers sharing group commits; in the same run SM2 sign/verify of
/// this build and `openssl speed sm2`, with the ratios.
pub async fn licences(n: usize) -> Result<()> {
    use yiwang_core::seals::{Purpose, SealInput};
    use yiwang_store::licences::{self, IssueInput};
    let dir = std::env::temp_dir().join(format!("yiwang-bench-lic-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let cfg = yiwang_store::StoreConfig::new(
        format!("sqlite://{}", dir.join("bench.db").display()),
        &dir,
        yiwang_crypto::Sm4Key::generate(),
    );
    let store = Store::open(cfg).await?;
    let r = async {
        let m = || Meta::actor("bench");
        store
            .write(
                m(),
                Command::Regions(yiwang_store::regions::Cmd::Create(yiwang_core::regions::NewRegion {
                    code: "460000".into(),
                    name: "海南省".into(),
                    name_en: None,
                    parent_code: None,
                })),
            )
            .await?;
        let w = store
            .write(
                m(),
                Command::Orgs(yiwang_store::orgs::Cmd::CreateDepartment(serde_json::from_value(
                    department(1),
                )?)),
            )
            .await?;
        let dept = w.value["id"].as_str().unwrap_or_default().to_string();
        let uscc = bench_uscc(1);
        store
            .write(
                m(),
                Command::Seals(yiwang_store::seals::Cmd::Make(SealInput {
                    department_id: dept.clone(),
                    purpose: Purpose::Approval,
                    name: None,
                    valid_from: None,
                    valid_until: None,
                })),
            )
            .await?;
        let t: yiwang_core::licences::LicenceType = serde_json::from_value(serde_json::json!({
            "code": format!("{uscc}001"), "name": "食品经营许可证", "holder": "legal",
            "validity": {"kind": "years", "value": 5},
            "face": [{"element": "business_address", "required": true}, {"element": "business_scope"}]
        }))?;
        store
            .write(
                m(),
                Command::Licences(Box::new(licences::Cmd::DefineType {
                    department_id: dept.clone(),
                    t: t.clone(),
                })),
            )
            .await?;
        let input = |i: usize| IssueInput {
            type_code: t.code.clone(),
            department_id: dept.clone(),
            holder_name: format!("海口测试企业{i}有限公司"),
            holder_code: {
                let body = format!("91460100MA{i:07}");
                format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"))
            },
            face: [
                ("business_address".to_string(), format!("海口市龙华区滨海大道 {i} 号")),
                ("business_scope".to_string(), "热食类食品制售".to_string()),
            ]
            .into_iter()
            .collect(),
            valid_from: None,
            number: None,
            related_item: None,
            case_id: None,
        };
        // One at a time: each licence its own transaction.
        let half = n.div_ceil(2);
        let t0 = Instant::now();
        let mut ids = vec![];
        for i in 0..half {
            let w = store
                .write(m(), Command::Licences(Box::new(licences::Cmd::Issue(input(i)))))
                .await?;
            ids.push(w.value["id"].as_str().unwrap_or_default().to_string());
        }
        let serial = half as f64 / t0.elapsed().as_secs_f64();
        // Many callers: the writer commits them in groups.
        let t0 = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in half..n {
            let store = store.clone();
            let inp = input(i);
            tasks.spawn(async move {
                store
                    .write(
                        Meta::actor("bench"),
                        Command::Licences(Box::new(licences::Cmd::Issue(inp))),
                    )
                    .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            let w = r??;
            ids.push(w.value["id"].as_str().unwrap_or_default().to_string());
        }
        let concurrent = (n - half).max(1) as f64 / t0.elapsed().as_secs_f64();
        // Verification by identifier: decrypt, signature, seal certification, status.
        let t0 = Instant::now();
        for id in &ids {
            let (_, v) = licences::verify_id(&store, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("licence {id} missing"))?;
            anyhow::ensure!(v.valid, "licence {id} does not verify: {:?}", v.reason);
        }
        let verify_online = ids.len() as f64 / t0.elapsed().as_secs_f64();
        // Offline verification of QR payloads against the trust list (no database).
        let keys = yiwang_store::seals::trusted_keys(&store).await?;
        let mut payloads = vec![];
        for id in &ids {
            payloads.push(
                licences::summary(&store, id)
                    .await?
                    .map(|s| s.qr_payload)
                    .unwrap_or_default(),
            );
        }
        let today = yiwang_store::today();
        let ok = |pk: &[u8], m: &[u8], s: &[u8]| yiwang_crypto::verify(pk, m, s).is_ok();
        let t0 = Instant::now();
        for p in &payloads {
            let (_, v) =
                yiwang_core::licences::verify_qr(p, &|k| keys.iter().find(|x| x.key_id == k).cloned(), &ok, today);
            anyhow::ensure!(v.valid, "a QR payload does not verify: {:?}", v.reason);
        }
        let verify_qr = payloads.len() as f64 / t0.elapsed().as_secs_f64();
        let (our_sign, our_verify) = our_sm2_speed(1.0);
        println!(
            "licences: {n} issued ({half} one at a time, {} by concurrent callers), SQLite",
            n - half
        );
        println!("  issue + sign, one at a time      {serial:>9.0} licences/s");
        println!("  issue + sign, concurrent callers {concurrent:>9.0} licences/s");
        println!("  verify by identifier (online)    {verify_online:>9.0} verifications/s");
        println!("  verify QR payload (offline)      {verify_qr:>9.0} verifications/s");
        println!("  SM2 sign, this build             {our_sign:>9.0} /s");
        println!("  SM2 verify, this build           {our_verify:>9.0} /s");
        match openssl_sm2_speed(1) {
            Some((os_sign, os_verify)) => {
                println!("  SM2 sign, openssl speed          {os_sign:>9.0} /s");
                println!("  SM2 verify, openssl speed        {os_verify:>9.0} /s");
                println!("ratios against openssl (same run):");
                println!("  issuing (concurrent) / openssl sign   {:.3}", concurrent / os_sign);
                println!(
                    "  online verification / openssl verify  {:.3}",
                    verify_online / os_verify
                );
                println!(
                    "  offline QR verification / openssl verify {:.3}",
                    verify_qr / os_verify
                );
                println!("  our SM2 sign / openssl sign           {:.3}", our_sign / os_sign);
                println!("  our SM2 verify / openssl verify       {:.3}", our_verify / os_verify);
            }
            None => println!("openssl not found: install it for the baseline (ratios against this build's SM2 only)"),
        }
        println!("ratios against this build's SM2 (same run):");
        println!(
            "  issuing (concurrent) / SM2 sign       {:.3}  (each licence signs twice: data and QR)",
            concurrent / our_sign
        );
        println!(
            "  online verification / SM2 verify      {:.3}  (signature and seal certification)",
            verify_online / our_verify
        );
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    r
}
