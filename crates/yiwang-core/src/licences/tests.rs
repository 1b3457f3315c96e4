#[test]
fn materials_are_covered_by_valid_licences_of_their_type() {
    let mut a: crate::catalog::Material =
        serde_json::from_value(serde_json::json!({"key": "licence", "name": "营业执照"})).unwrap();
    a.source.licence_type = Some("11100000000013338W032".into());
    let b: crate::catalog::Material =
        serde_json::from_value(serde_json::json!({"key": "plan", "name": "平面图"})).unwrap();
    let ms = vec![a, b];
    let held = vec![
        ("11100000000013338W032", Status::Revoked, "old"),
        ("11100000000013338W032", Status::Valid, "current"),
        ("11100000000013338W011", Status::Valid, "other"),
    ];
    let c = covered_materials(&ms, &held, |h| (h.0, h.1));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0.key, "licence");
    assert_eq!(c[0].1.2, "current");
    assert!(covered_materials(&ms, &held[..1], |h| (h.0, h.1)).is_empty());
}
use super::*;

/// STANDARDS §6: two real identifiers.
const REAL: [&str; 2] = [
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
];

#[test]
fn real_identifiers_check_and_round_trip() {
    for id in REAL {
        let p = check_licence_id("id", id).unwrap();
        assert_eq!(licence_id(&p.type_code, &p.issuer_uscc, &p.serial, p.version), id);
    }
}

#[test]
fn every_single_corruption_is_caught() {
    for id in REAL {
        let chars: Vec<char> = id.chars().collect();
        for i in ID_PREFIX.len() + 1..chars.len() {
            if chars[i] == '.' {
                continue;
            }
            for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".chars() {
                if c == chars[i] {
                    continue;
                }
                let mut v = chars.clone();
                v[i] = c;
                let s: String = v.into_iter().collect();
                assert!(check_licence_id("id", &s).is_err(), "{s} passed");
            }
        }
        // Two neighbouring characters swapped (the usual typing slip).
        for i in ID_PREFIX.len() + 1..chars.len() - 1 {
            if chars[i] == chars[i + 1] || chars[i] == '.' || chars[i + 1] == '.' {
                continue;
            }
            let mut v = chars.clone();
            v.swap(i, i + 1);
            let s: String = v.into_iter().collect();
            assert!(check_licence_id("id", &s).is_err(), "{s} passed");
        }
    }
    assert_eq!(check_licence_id("id", "1.2.3").unwrap_err().rule, "licence_id.prefix");
    assert_eq!(
        check_licence_id("id", "1.2.156.3005.2.x").unwrap_err().rule,
        "licence_id.format"
    );
}

#[test]
fn status_changes() {
    use Status::*;
    assert!(decide_status(Valid, Suspended, "依法暂扣").is_ok());
    assert!(decide_status(Suspended, Valid, "暂扣期满").is_ok());
    assert_eq!(
        decide_status(Valid, Revoked, " ").unwrap_err().errors[0].rule,
        "required"
    );
    for fin in [Annulled, Cancelled, Expired, TransferredOut, Revoked] {
        for to in Status::ALL {
            if to != fin {
                assert_eq!(
                    decide_status(fin, to, "x").unwrap_err().errors[0].rule,
                    "licence.status_change"
                );
            }
        }
    }
    assert!(decide_status(Valid, Expired, "x").is_err());
    assert!(decide_status(Valid, Valid, "x").is_err());
}

#[test]
fn validity_rules() {
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    assert_eq!(ValidityRule::Years(5).until(d), NaiveDate::from_ymd_opt(2029, 2, 27));
    assert_eq!(ValidityRule::Months(1).until(d), NaiveDate::from_ymd_opt(2024, 3, 28));
    assert_eq!(ValidityRule::Permanent.until(d), None);
}

#[test]
fn base64url_round_trips() {
    for n in 0..40 {
        let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
        let e = b64url_encode(&data);
        assert!(!e.contains('=') && !e.contains('+') && !e.contains('/'));
        assert_eq!(b64url_decode(&e).unwrap(), data);
    }
    assert_eq!(b64url_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(b64url_encode(b"fo"), "Zm8");
    assert!(b64url_decode("Z").is_none());
    assert!(b64url_decode("Zm9v*").is_none());
}

fn data() -> LicenceData {
    LicenceData {
        id: REAL[0].into(),
        type_code: "11100000000013338W032".into(),
        type_name: "食品经营许可证".into(),
        number: "JY14601000000001".into(),
        version: 1,
        definer_uscc: "11100000000013338W".into(),
        issuer_uscc: "11220000013544541J".into(),
        issuer_name: "某市市场监督管理局".into(),
        issued_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        valid_from: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        valid_until: NaiveDate::from_ymd_opt(2031, 1, 4),
        jurisdiction: "220000".into(),
        holder_kind: HolderKind::Legal,
        holder_name: "某某餐饮有限公司".into(),
        holder_code: "11430000006122244L".into(),
        holder_code_type: "001".into(),
        related_item: None,
        face: [("business_address".to_string(), "某路 1 号".to_string())].into(),
    }
}

#[test]
fn signed_bytes_bind_data_seal_and_time() {
    let d = data();
    let a = d.signed_bytes("s1", "k1", 5);
    assert_ne!(a, d.signed_bytes("s2", "k1", 5));
    assert_ne!(a, d.signed_bytes("s1", "k1", 6));
    let mut e = d.clone();
    e.face.insert("business_address".into(), "某路 2 号".into());
    assert_ne!(a, e.signed_bytes("s1", "k1", 5));
    // Deterministic.
    assert_eq!(a, data().signed_bytes("s1", "k1", 5));
}

#[test]
fn verification_reports_each_check() {
    let d = data();
    let key = TrustedKey {
        key_id: "k1".into(),
        seal_id: Some("s1".into()),
        owner_uscc: d.issuer_uscc.clone(),
        owner_name: d.issuer_name.clone(),
        purpose: "seal".into(),
        public_key: "04aa".into(),
        valid_from_ms: 0,
        valid_until_ms: None,
        revoked_at_ms: Some(100),
    };
    let f = LicenceFile {
        format: "yiwang-licence".into(),
        signature: LicenceSignature {
            seal_id: "s1".into(),
            key_id: "k1".into(),
            signed_at_ms: 50,
            alg: ALG.into(),
            value: "3044".into(),
        },
        data: d.clone(),
    };
    let ok = |_: &[u8], _: &[u8], _: &[u8]| true;
    let no = |_: &[u8], _: &[u8], _: &[u8]| false;
    let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    assert!(verify_file(&f, Some(&key), &ok, today, Some(Status::Valid)).valid);
    let v = verify_file(&f, Some(&key), &no, today, Some(Status::Valid));
    assert_eq!(v.checks.iter().find(|c| !c.ok).unwrap().name, "signature");
    let v = verify_file(&f, Some(&key), &ok, today, Some(Status::Revoked));
    assert_eq!(v.reason.as_deref(), Some("the issuer records it as revoked"));
    let v = verify_file(&f, None, &ok, today, None);
    assert!(!v.valid);
    // Signed after the key was revoked: refused.
    let mut late = f.clone();
    late.signature.signed_at_ms = 100;
    assert_eq!(
        verify_file(&late, Some(&key), &ok, today, None)
            .checks
            .iter()
            .find(|c| !c.ok)
            .unwrap()
            .name,
        "seal"
    );
    let v = verify_file(&f, Some(&key), &ok, NaiveDate::from_ymd_opt(2032, 1, 1).unwrap(), None);
    assert_eq!(v.checks.iter().find(|c| !c.ok).unwrap().name, "validity");
}
