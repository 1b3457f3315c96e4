//! Seal and licence store tests, each on SQLite and PostgreSQL: making, rotating and
//! revoking seals; licence types; issuing with GB/T 36904 identifiers and the seal's
//! signature; tamper detection on every part; status changes and annotations; QR payloads;
//! trust lists between two nodes (互认); grants that let a department use a licence
//! instead of a material, recorded in the holder's data-use log.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use yiwang_core::ErrorKind;
use yiwang_core::accounts::PersonInput;
use yiwang_core::licences::{self as core, HolderKind, LicenceType, Status, ValidityRule};
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_core::seals::{Purpose, SealInput, SealStatus};
use yiwang_store::licences::{self, GrantInput, IssueInput};
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, accounts, catalog, datause, ledger, orgs, regions, seals};

fn uscc(prefix: &str, n: u32) -> String {
    let body = format!("{prefix}{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

fn m() -> Meta {
    Meta::actor("admin")
}

/// Regions, one department, the dictionary. Returns the department id and its credit code.
async fn setup(s: &Arc<Store>) -> (String, String) {
    for (code, name, parent) in [("460000", "海南省", None), ("460100", "海口市", Some("460000"))] {
        s.write(
            m(),
            Command::Regions(regions::Cmd::Create(NewRegion {
                code: code.into(),
                name: name.into(),
                name_en: None,
                parent_code: parent.map(Into::into),
            })),
        )
        .await
        .unwrap();
    }
    let code = uscc("11460100", 1);
    let w = s
        .write(
            m(),
            Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                name: "海口市市场监督管理局".into(),
                uscc: code.clone(),
                region_code: "460100".into(),
                nature: DepartmentNature::StatutoryAuthority,
                parent_id: None,
                phone: None,
                address: None,
            })),
        )
        .await
        .unwrap();
    catalog::seed_dictionary(s).await.unwrap();
    (w.value["id"].as_str().unwrap().to_string(), code)
}

fn food_type(definer: &str) -> LicenceType {
    serde_json::from_value(json!({
        "code": format!("{definer}001"),
        "name": "食品经营许可证",
        "holder": "legal",
        "validity": {"kind": "years", "value": 5},
        "face": [
            {"element": "legal_representative", "required": true},
            {"element": "business_address", "label": "经营场所", "required": true},
            {"element": "business_scope"}
        ],
        "note": "凭二维码核验"
    }))
    .unwrap()
}

async fn make_seal(s: &Arc<Store>, dept: &str) -> String {
    let w = s
        .write(
            m(),
            Command::Seals(seals::Cmd::Make(SealInput {
                department_id: dept.into(),
                purpose: Purpose::Approval,
                name: None,
                valid_from: None,
                valid_until: None,
            })),
        )
        .await
        .unwrap();
    w.value["seal"]["id"].as_str().unwrap().to_string()
}

fn issue_input(dept: &str, definer: &str, holder: &str) -> IssueInput {
    IssueInput {
        type_code: format!("{definer}001"),
        department_id: dept.into(),
        holder_name: "海口椰风食品有限公司".into(),
        holder_code: holder.into(),
        face: BTreeMap::from([
            ("legal_representative".to_string(), "王小明".to_string()),
            ("business_address".to_string(), "海口市龙华区滨海大道 1 号".to_string()),
        ]),
        valid_from: None,
        number: None,
        related_item: None,
        case_id: None,
    }
}

async fn issue(s: &Arc<Store>, input: IssueInput) -> Result<String, StoreError> {
    let w = s
        .write(
            Meta::actor("clerk"),
            Command::Licences(Box::new(licences::Cmd::Issue(input))),
        )
        .await?;
    Ok(w.value["id"].as_str().unwrap().to_string())
}

fn field_of(e: &StoreError) -> (ErrorKind, Vec<String>, Vec<String>) {
    match e {
        StoreError::Domain(d) => (
            d.kind,
            d.errors.iter().map(|f| f.field.clone()).collect(),
            d.errors.iter().map(|f| f.rule.clone()).collect(),
        ),
        other => panic!("expected a domain error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_sign_verify_and_every_tamper_fails() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let (dept, code) = setup(&s).await;
        let holder = uscc("91460100", 7);

        // A type must be defined by the department whose code it starts with, with face
        // fields from the dictionary.
        let mut bad = food_type(&uscc("11460100", 2));
        bad.face[0].element = "no_such_element".into();
        let e = s
            .write(
                m(),
                Command::Licences(Box::new(licences::Cmd::DefineType {
                    department_id: dept.clone(),
                    t: bad,
                })),
            )
            .await
            .unwrap_err();
        let (_, fields, _) = field_of(&e);
        assert_eq!(fields, vec!["face[0].element"]);
        let e = s
            .write(
                m(),
                Command::Licences(Box::new(licences::Cmd::DefineType {
                    department_id: dept.clone(),
                    t: food_type(&uscc("11460100", 2)),
                })),
            )
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).2, vec!["licence_type.definer"]);
        s.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::DefineType {
                department_id: dept.clone(),
                t: food_type(&code),
            })),
        )
        .await
        .unwrap();
        assert_eq!(licences::types(&s).await.unwrap().len(), 1);

        // No seal yet: nothing is issued.
        let e = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap_err();
        assert_eq!(field_of(&e).2, vec!["licence.no_seal"]);
        let seal_id = make_seal(&s, &dept).await;
        let seal = seals::seal(&s, &seal_id).await.unwrap().unwrap();
        assert!(seals::certified(&s, &seal).await.unwrap());
        assert_eq!(seal.name, "海口市市场监督管理局行政审批专用章");
        // 一枚印章管审批: a second active approval seal is refused.
        let e = s
            .write(
                m(),
                Command::Seals(seals::Cmd::Make(SealInput {
                    department_id: dept.clone(),
                    purpose: Purpose::Approval,
                    name: None,
                    valid_from: None,
                    valid_until: None,
                })),
            )
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).2, vec!["seal.exists"]);

        // Bad input: every problem at once, nothing written.
        let mut wrong = issue_input(&dept, &code, "91460100000000007X");
        wrong.face.remove("business_address");
        wrong.holder_name = " ".into();
        let e = issue(&s, wrong).await.unwrap_err();
        let (kind, mut fields, _) = field_of(&e);
        fields.sort();
        assert_eq!(kind, ErrorKind::Invalid);
        assert_eq!(fields, vec!["holder_code", "holder_name"]);
        let mut wrong = issue_input(&dept, &code, &holder);
        wrong.face.remove("business_address");
        let e = issue(&s, wrong).await.unwrap_err();
        assert_eq!(field_of(&e).1, vec!["face.business_address"]);
        assert!(licences::of_legal(&s, &holder).await.unwrap().is_empty());

        let id = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap();
        let parsed = core::check_licence_id("id", &id).unwrap();
        assert_eq!(parsed.issuer_uscc, code);
        let id2 = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap();
        assert_ne!(id, id2, "serials advance");
        let mine = licences::of_legal(&s, &holder).await.unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].holder_kind, HolderKind::Legal);
        // A credit code is public (企业信息公示暂行条例 art. 8); ID numbers are masked (below).
        assert_eq!(mine[0].holder_masked, holder);

        // The file verifies; changing any part of it does not.
        let f = licences::file(&s, &id).await.unwrap().unwrap();
        assert_eq!(f.data.holder_code, holder);
        let v = licences::verify_file(&s, &f).await.unwrap();
        assert!(v.valid, "{v:?}");
        assert!(v.checks.iter().any(|c| c.name == "seal_certified" && c.ok));
        type Tamper = Box<dyn Fn(&mut core::LicenceFile)>;
        let tampers: Vec<(&str, Tamper)> = vec![
            ("holder name", Box::new(|f| f.data.holder_name.push('X'))),
            ("holder code", Box::new(|f| f.data.holder_code = uscc("91460100", 8))),
            (
                "face",
                Box::new(|f| {
                    f.data.face.insert("business_scope".into(), "预包装食品销售".into());
                }),
            ),
            (
                "validity",
                Box::new(|f| f.data.valid_until = f.data.valid_until.map(|d| d + chrono::Days::new(365))),
            ),
            (
                "signature",
                Box::new(|f| {
                    let mut b = hex::decode(&f.signature.value).unwrap();
                    let n = b.len() - 3;
                    b[n] ^= 1;
                    f.signature.value = hex::encode(b);
                }),
            ),
            ("signing time", Box::new(|f| f.signature.signed_at_ms += 1)),
            (
                "identifier",
                Box::new(|f| f.data.id = f.data.id.replacen(".001.", ".002.", 1)),
            ),
        ];
        for (what, t) in tampers {
            let mut g = f.clone();
            t(&mut g);
            let v = licences::verify_file(&s, &g).await.unwrap();
            assert!(!v.valid, "tampered {what} still verifies");
            assert!(v.reason.is_some(), "{what}: a reason is given");
        }

        // The QR payload verifies offline against the trust list; any change fails.
        let sum = licences::summary(&s, &id).await.unwrap().unwrap();
        let (claims, v) = licences::verify_qr(&s, &sum.qr_payload).await.unwrap();
        assert!(v.valid, "{v:?}");
        assert_eq!(claims.unwrap().i, id);
        let mut chars: Vec<char> = sum.qr_payload.chars().collect();
        let k = chars.len() / 3;
        chars[k] = if chars[k] == 'A' { 'B' } else { 'A' };
        let (_, v) = licences::verify_qr(&s, &chars.into_iter().collect::<String>())
            .await
            .unwrap();
        assert!(!v.valid);
        let (_, v) = licences::verify_qr(&s, "hello").await.unwrap();
        assert!(!v.valid && v.reason.is_some());

        // Status: suspended (暂扣) fails online verification, restored passes, revoked
        // (吊销) is final and takes no annotations.
        let change = |to: Status, reason: &str| {
            Command::Licences(Box::new(licences::Cmd::ChangeStatus {
                licence_id: id.clone(),
                to,
                reason: reason.into(),
            }))
        };
        s.write(m(), change(Status::Suspended, "责令整改")).await.unwrap();
        let (_, v) = licences::verify_id(&s, &id).await.unwrap().unwrap();
        assert!(!v.valid);
        let (_, v) = licences::verify_qr(&s, &sum.qr_payload).await.unwrap();
        assert!(!v.valid, "the live status overrides the offline check");
        s.write(m(), change(Status::Valid, "整改完成")).await.unwrap();
        assert!(licences::verify_id(&s, &id).await.unwrap().unwrap().1.valid);
        s.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::Annotate {
                licence_id: id.clone(),
                text: "经营场所门牌号变更为 1-1 号".into(),
            })),
        )
        .await
        .unwrap();
        s.write(m(), change(Status::Revoked, "严重违法")).await.unwrap();
        let e = s.write(m(), change(Status::Valid, "再来")).await.unwrap_err();
        assert_eq!(field_of(&e).0, ErrorKind::Conflict);
        let e = s
            .write(
                m(),
                Command::Licences(Box::new(licences::Cmd::Annotate {
                    licence_id: id.clone(),
                    text: "x".into(),
                })),
            )
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).2, vec!["licence.final"]);
        let h = licences::history_of(&s, &id).await.unwrap();
        let kinds: Vec<&str> = h.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, vec!["issued", "status", "status", "annotation", "status"]);
        assert!(h[3].signature.is_some(), "annotations are signed");
        assert_eq!(
            licences::summary(&s, &id).await.unwrap().unwrap().status,
            Status::Revoked
        );

        // Everything is in the ledger, and the chain holds.
        let report = ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        let events: Vec<String> = sqlx::query_scalar("SELECT kind FROM events WHERE stream_id = $1 ORDER BY seq")
            .bind(format!("licence:{id}"))
            .fetch_all(&s.read)
            .await
            .unwrap();
        assert_eq!(
            events,
            vec![
                "licence.issued",
                "licence.status_changed",
                "licence.status_changed",
                "licence.annotated",
                "licence.status_changed"
            ]
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_signatures_and_revocation_stops_new_ones() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let (dept, code) = setup(&s).await;
        let holder = uscc("91460100", 7);
        s.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::DefineType {
                department_id: dept.clone(),
                t: food_type(&code),
            })),
        )
        .await
        .unwrap();
        let first = make_seal(&s, &dept).await;
        let l1 = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap();
        // Rotation: a new key takes over; what the old one signed still verifies.
        let e = s
            .write(
                m(),
                Command::Seals(seals::Cmd::Rotate {
                    seal_id: first.clone(),
                    reason: " ".into(),
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).1, vec!["reason"]);
        let w = s
            .write(
                m(),
                Command::Seals(seals::Cmd::Rotate {
                    seal_id: first.clone(),
                    reason: "定期更换密钥".into(),
                }),
            )
            .await
            .unwrap();
        let second = w.value["seal"]["id"].as_str().unwrap().to_string();
        assert_ne!(first, second);
        let old = seals::seal(&s, &first).await.unwrap().unwrap();
        assert_eq!(old.status, SealStatus::Superseded);
        assert!(licences::verify_id(&s, &l1).await.unwrap().unwrap().1.valid);
        let l2 = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap();
        let f2 = licences::file(&s, &l2).await.unwrap().unwrap();
        assert_eq!(f2.signature.seal_id, second);
        // Revocation: no new signatures; those made before still verify.
        s.write(
            m(),
            Command::Seals(seals::Cmd::Revoke {
                seal_id: second.clone(),
                reason: "密钥泄露".into(),
            }),
        )
        .await
        .unwrap();
        let e = issue(&s, issue_input(&dept, &code, &holder)).await.unwrap_err();
        assert_eq!(field_of(&e).2, vec!["licence.no_seal"]);
        let e = s
            .write(
                m(),
                Command::Seals(seals::Cmd::Revoke {
                    seal_id: second.clone(),
                    reason: "again".into(),
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).0, ErrorKind::Conflict);
        assert!(licences::verify_id(&s, &l2).await.unwrap().unwrap().1.valid);
        // A signature claiming a time after the revocation is refused by the key check
        // (and by the signature, which covers the time).
        let key = seals::trusted_key_by_id(&s, &f2.signature.key_id)
            .await
            .unwrap()
            .unwrap();
        assert!(key.usable_at(key.revoked_at_ms.unwrap()).is_err());
        assert!(key.usable_at(f2.signature.signed_at_ms).is_ok());
        // A revoked seal cannot be rotated either; a new one can be made.
        let third = make_seal(&s, &dept).await;
        assert!(issue(&s, issue_input(&dept, &code, &holder)).await.is_ok());
        assert_eq!(seals::seals(&s, Some(&dept)).await.unwrap().len(), 3);
        let _ = third;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_lists_let_another_node_verify() {
    for db in TestDb::both().await {
        let a = db.open().await;
        let other = TestDb::sqlite().await;
        let b = other.open().await;
        let (dept, code) = setup(&a).await;
        let holder = uscc("91460100", 7);
        a.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::DefineType {
                department_id: dept.clone(),
                t: food_type(&code),
            })),
        )
        .await
        .unwrap();
        let seal = make_seal(&a, &dept).await;
        let id = issue(&a, issue_input(&dept, &code, &holder)).await.unwrap();
        let f = licences::file(&a, &id).await.unwrap().unwrap();
        let qr = licences::summary(&a, &id).await.unwrap().unwrap().qr_payload;

        // Node B does not know A's keys yet.
        let v = licences::verify_file(&b, &f).await.unwrap();
        assert!(!v.valid);
        assert!(v.checks.iter().any(|c| c.name == "seal" && !c.ok), "{v:?}");
        assert!(!licences::verify_qr(&b, &qr).await.unwrap().1.valid);

        // A tampered list is refused; the genuine one imported.
        let list = seals::trust_list(&a, "海南省").await.unwrap();
        let mut forged = list.clone();
        forged.keys[0].owner_name = "伪造机构".into();
        let e = seals::import_trust_list(&b, m(), &forged).await.unwrap_err();
        assert_eq!(field_of(&e).2, vec!["trust.signature"]);
        let r = seals::import_trust_list(&b, m(), &list).await.unwrap();
        assert_eq!(r["imported"], 1);
        let v = licences::verify_file(&b, &f).await.unwrap();
        assert!(v.valid, "{v:?}");
        assert!(v.checks.iter().any(|c| c.en.contains("issued elsewhere")));
        assert!(licences::verify_qr(&b, &qr).await.unwrap().1.valid);
        // Re-importing changes nothing; a revocation at A reaches B with the next list,
        // and what was signed before it still verifies there.
        a.write(
            m(),
            Command::Seals(seals::Cmd::Revoke {
                seal_id: seal.clone(),
                reason: "密钥泄露".into(),
            }),
        )
        .await
        .unwrap();
        let list = seals::trust_list(&a, "海南省").await.unwrap();
        seals::import_trust_list(&b, m(), &list).await.unwrap();
        let keys = seals::imported_keys(&b).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].0.revoked_at_ms.is_some());
        assert!(licences::verify_file(&b, &f).await.unwrap().valid);
        // Removing trust makes A's licences unverifiable at B again.
        b.write(
            m(),
            Command::Seals(seals::Cmd::Distrust {
                key_id: keys[0].0.key_id.clone(),
            }),
        )
        .await
        .unwrap();
        assert!(!licences::verify_file(&b, &f).await.unwrap().valid);
        other.cleanup().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_let_a_department_use_a_licence_and_the_holder_sees_it() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let (dept, code) = setup(&s).await;
        // A licence held by a person (e.g. a qualification certificate).
        let t: LicenceType = serde_json::from_value(json!({
            "code": format!("{code}002"),
            "name": "健康证明",
            "holder": "person",
            "validity": {"kind": "years", "value": 1},
            "face": [{"element": "gender", "required": true}]
        }))
        .unwrap();
        assert_eq!(t.validity, ValidityRule::Years(1));
        s.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::DefineType {
                department_id: dept.clone(),
                t,
            })),
        )
        .await
        .unwrap();
        make_seal(&s, &dept).await;
        let reg = accounts::register_person(
            &s,
            Meta::actor("anon"),
            &PersonInput {
                name: "王小明".into(),
                id_number: "11010519491231002X".into(),
                phone: "13800138000".into(),
                address: None,
                password: "Long-enough-1".into(),
                sms_code: None,
            },
            None,
        )
        .await
        .unwrap();
        let w = s
            .write(
                Meta::actor("clerk"),
                Command::Licences(Box::new(licences::Cmd::Issue(IssueInput {
                    type_code: format!("{code}002"),
                    department_id: dept.clone(),
                    holder_name: "王小明".into(),
                    holder_code: "11010519491231002x".into(),
                    face: BTreeMap::from([("gender".to_string(), "男".to_string())]),
                    valid_from: None,
                    number: None,
                    related_item: None,
                    case_id: None,
                }))),
            )
            .await
            .unwrap();
        let id = w.value["id"].as_str().unwrap().to_string();
        // The wallet finds it by the person's ID number (entered in lower case).
        let wallet = licences::of_person(&s, &reg.person_id).await.unwrap();
        assert_eq!(wallet.len(), 1);
        assert_eq!(wallet[0].id, id);
        assert_eq!(wallet[0].holder_masked, "110105********002X");

        let grant = |days: u32| {
            Command::Licences(Box::new(licences::Cmd::Grant(GrantInput {
                licence_id: id.clone(),
                department_id: dept.clone(),
                item_code: None,
                purpose: "办理食品经营许可".into(),
                days,
                granted_by: String::new(),
            })))
        };
        let e = s.write(Meta::actor(&reg.account_id), grant(0)).await.unwrap_err();
        assert_eq!(field_of(&e).1, vec!["days"]);
        let w = s.write(Meta::actor(&reg.account_id), grant(7)).await.unwrap();
        let grant_id = w.value["grant_id"].as_str().unwrap().to_string();
        let reader = datause::Reader {
            kind: "staff".into(),
            id: "clerk-1".into(),
            name: "李审批".into(),
            department: Some("海口市市场监督管理局".into()),
        };
        // Another department cannot use the grant.
        let e = licences::use_licence(&s, m(), &reader, &grant_id, "another-dept")
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).0, ErrorKind::NotFound);
        let used = licences::use_licence(&s, m(), &reader, &grant_id, &dept).await.unwrap();
        assert_eq!(used.trust_level, "A");
        assert!(used.verification.valid);
        assert_eq!(used.file.data.holder_code, "11010519491231002X");
        let log = datause::of_person(&s, &reg.person_id, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert!(log[0].purpose.contains("健康证明"), "{:?}", log[0].purpose);
        // Only the holder revokes their grant; after that it cannot be used.
        let revoke = |by: &str| {
            Command::Licences(Box::new(licences::Cmd::RevokeGrant {
                grant_id: grant_id.clone(),
                by: by.into(),
            }))
        };
        assert!(s.write(Meta::actor("someone"), revoke("someone")).await.is_err());
        s.write(Meta::actor(&reg.account_id), revoke(&reg.account_id))
            .await
            .unwrap();
        let e = licences::use_licence(&s, m(), &reader, &grant_id, &dept)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).2, vec!["grant.revoked"]);
        assert_eq!(datause::of_person(&s, &reg.person_id, 10).await.unwrap().len(), 1);
        // A licence that is not valid cannot be granted.
        s.write(
            m(),
            Command::Licences(Box::new(licences::Cmd::ChangeStatus {
                licence_id: id.clone(),
                to: Status::Cancelled,
                reason: "持证人申请注销".into(),
            })),
        )
        .await
        .unwrap();
        let e = s.write(Meta::actor(&reg.account_id), grant(7)).await.unwrap_err();
        assert_eq!(field_of(&e).0, ErrorKind::Conflict);
        db.cleanup().await;
    }
}
