use super::*;
use crate::catalog::{ItemType, MaterialForm, MaterialKind, MaterialSource, ResultKind};

fn material(key: &str, name: &str, licence_type: Option<&str>) -> Material {
    Material {
        key: key.into(),
        name: name.into(),
        kind: MaterialKind::Certificate,
        form: MaterialForm::Both,
        necessity: Necessity::Required,
        paper_spec: None,
        originals: 1,
        copies: 0,
        source: MaterialSource {
            licence_type: licence_type.map(Into::into),
            ..Default::default()
        },
        standard: String::new(),
        basis: None,
        notes: None,
        blank_form: None,
        sample: None,
        sign_seal: None,
    }
}

fn field(e: &str) -> FormField {
    FormField {
        element: e.into(),
        label: None,
        required: true,
    }
}

fn choice(key: &str, adds: &[&str]) -> Choice {
    Choice {
        key: key.into(),
        text: key.into(),
        adds: adds.iter().map(|s| s.to_string()).collect(),
        removes: vec![],
    }
}

const BIRTH_CERT: &str = "114600000000002001001";

/// 出生医学证明 (result: a licence), 出生登记 (needs it), 医保参保 (needs it and an ID card).
fn items() -> Vec<(String, String, Elements)> {
    let mut a = Elements::new("出生医学证明签发", ItemType::PublicService);
    a.service_objects = vec![ServiceObject::NaturalPerson];
    a.materials = vec![material("sfz", "父母居民身份证", None)];
    a.form = vec![field("newborn_name"), field("mother_name")];
    a.promised_limit = Some(TimeLimit::working_days(3));
    a.visits = 1;
    a.result = Some(ResultSpec {
        kind: ResultKind::Licence,
        name: "出生医学证明".into(),
        sample: None,
        licence_type: Some(BIRTH_CERT.into()),
    });
    let mut b = Elements::new("出生登记", ItemType::Confirmation);
    b.materials = vec![
        material("csyxzm", "出生医学证明", None),
        material("sfz", "父母居民身份证", None),
        material("hkb", "户口簿", None),
    ];
    b.form = vec![field("newborn_name"), field("household_address")];
    b.promised_limit = Some(TimeLimit::working_days(5));
    b.visits = 1;
    b.questions = vec![Question {
        key: "married".into(),
        text: "父母是否已登记结婚？".into(),
        choices: vec![choice("yes", &[]), choice("no", &[])],
    }];
    let mut c = Elements::new("城乡居民医保参保登记", ItemType::PublicService);
    c.materials = vec![
        material("cert", "出生医学证明", Some(BIRTH_CERT)),
        material("sfz", "父母 居民身份证", None),
    ];
    c.form = vec![field("newborn_name")];
    c.promised_limit = Some(TimeLimit::working_days(10));
    c.visits = 1;
    vec![
        ("460100000000000000000000000001A".into(), "460100".into(), a),
        ("460100000000000000000000000002B".into(), "460106".into(), b),
        ("460100000000000000000000000003C".into(), "460100".into(), c),
    ]
}

fn map(v: &[(String, String, Elements)]) -> BTreeMap<String, MemberItem<'_>> {
    v.iter()
        .map(|(code, region, e)| {
            (
                code.clone(),
                MemberItem {
                    code,
                    region_code: region,
                    department_id: "d",
                    department_name: "部门",
                    elements: e,
                },
            )
        })
        .collect()
}

fn doc() -> BundleDoc {
    let v = items();
    BundleDoc {
        code: "460100YJS0001".into(),
        name: "新生儿出生".into(),
        name_en: None,
        aliases: vec![],
        audience: Audience::Person,
        theme: "出生".into(),
        region_code: "460100".into(),
        level: ExerciseLevel::Municipal,
        lead_department_id: "lead".into(),
        members: vec![
            Member {
                key: "cert".into(),
                item_code: v[0].0.clone(),
                node: None,
                after: vec![],
            },
            Member {
                key: "hukou".into(),
                item_code: v[1].0.clone(),
                node: None,
                after: vec![Dependency {
                    member: "cert".into(),
                    feeds: vec!["csyxzm".into()],
                }],
            },
            Member {
                key: "medical".into(),
                item_code: v[2].0.clone(),
                node: None,
                after: vec![],
            },
        ],
        questions: vec![Question {
            key: "insure".into(),
            text: "是否为新生儿参加城乡居民医保？".into(),
            choices: vec![choice("yes", &["medical"]), choice("no", &[])],
        }],
        promised_days: 5,
        channels: vec![HandlingForm::Window, HandlingForm::Online],
        legal_basis: vec![],
        on_refusal: OnRefusal::Continue,
        description: String::new(),
    }
}

fn rules(e: DomainError) -> Vec<(String, String)> {
    e.errors.into_iter().map(|f| (f.field, f.rule)).collect()
}

#[test]
fn a_good_definition_passes() {
    let v = items();
    check(&doc(), &map(&v)).unwrap();
}

#[test]
fn unpublished_foreign_cycle_and_conflicts_are_refused_with_their_field() {
    let v = items();
    let mut m = map(&v);
    // An item not in force.
    let mut d = doc();
    d.members[2].item_code = "460100000000000000000000000009Z".into();
    let r = rules(check(&d, &m).unwrap_err());
    assert!(
        r.contains(&("members[2].item_code".into(), "bundles.unpublished_item".into())),
        "{r:?}"
    );
    // An item of another city.
    let mut d = doc();
    d.region_code = "460106".into();
    d.code = "460106YJS0001".into();
    let r = rules(check(&d, &m).unwrap_err());
    assert!(
        r.contains(&("members[0].item_code".into(), "bundles.foreign_region".into())),
        "{r:?}"
    );
    // A cycle: cert after hukou after cert.
    let mut d = doc();
    d.members[0].after = vec![Dependency {
        member: "hukou".into(),
        feeds: vec![],
    }];
    let r = rules(check(&d, &m).unwrap_err());
    assert!(r.iter().any(|(_, rule)| rule == "bundles.dependency_cycle"), "{r:?}");
    // Feeding a material the item does not have; depending on an unknown member.
    let mut d = doc();
    d.members[1].after[0].feeds = vec!["nope".into()];
    d.members[2].after = vec![Dependency {
        member: "ghost".into(),
        feeds: vec![],
    }];
    let r = rules(check(&d, &m).unwrap_err());
    assert!(r.contains(&("members[1].after[0].feeds[0]".into(), "bundles.unknown_material".into())));
    assert!(r.contains(&("members[2].after[0].member".into(), "bundles.unknown_member".into())));
    // Two members ask the same question with different answers.
    let mut c = v[2].2.clone();
    c.questions = vec![Question {
        key: "married".into(),
        text: "婚否".into(),
        choices: vec![choice("y", &[]), choice("n", &[])],
    }];
    m.get_mut(&v[2].0).unwrap().elements = &c;
    let r = rules(check(&doc(), &m).unwrap_err());
    assert!(
        r.contains(&("members[2].item_code".into(), "bundles.question_conflict".into())),
        "{r:?}"
    );
    // Bad code, too few members.
    let mut d = doc();
    d.code = "460100-0001".into();
    d.members.truncate(1);
    let r = rules(check(&d, &map(&v)).unwrap_err());
    assert!(r.contains(&("code".into(), "bundles.code_format".into())));
    assert!(r.contains(&("members".into(), "bundles.member_count".into())));
}

#[test]
fn members_at_partner_nodes_take_no_results_and_serve_persons() {
    let v = items();
    let m = map(&v);
    // 多地联办: a member decided at a partner node may wait for another's result …
    let mut d = doc();
    d.members[2].node = Some("guangdong-1".into());
    d.members[2].after = vec![Dependency {
        member: "cert".into(),
        feeds: vec![],
    }];
    check(&d, &m).unwrap();
    // … but no result stands in for a material across nodes, either way.
    let mut fed = doc();
    fed.members[1].node = Some("guangdong-1".into());
    let r = rules(check(&fed, &m).unwrap_err());
    assert_eq!(
        r,
        [(
            "members[1].after[0].feeds".to_string(),
            "bundles.remote_feeds".to_string()
        )]
    );
    let mut feeding = doc();
    feeding.members[0].node = Some("guangdong-1".into());
    let r = rules(check(&feeding, &m).unwrap_err());
    assert!(
        r.contains(&("members[1].after[0].feeds".into(), "bundles.remote_feeds".into())),
        "{r:?}"
    );
    // An enterprise's bundle stays at one node.
    d.audience = Audience::Enterprise;
    let r = rules(check(&d, &m).unwrap_err());
    assert!(
        r.contains(&("members[2].node".into(), "bundles.remote_audience".into())),
        "{r:?}"
    );
}

#[test]
fn the_guide_merges_questions_materials_and_form_and_counts_the_savings() {
    let v = items();
    let m = map(&v);
    let d = doc();
    // Nothing answered: the medical member depends on the bundle question.
    let g = guide(&d, &m, &BTreeMap::new()).unwrap();
    assert_eq!(g.members[2].need, Need::Depends);
    assert_eq!(g.unanswered(), 2, "the bundle's question and the hukou item's");
    let answers: BTreeMap<String, String> = [("insure", "yes"), ("married", "yes")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let g = guide(&d, &m, &answers).unwrap();
    assert!(g.members.iter().all(|m| m.need == Need::Needed));
    // ID cards asked by three members (one spelled with a space) are one material; the
    // birth certificate is produced on the way by the first member, both where it is fed
    // explicitly and where the item names its licence type.
    let names: Vec<(&str, Option<&str>, usize)> = g
        .materials
        .iter()
        .map(|x| (x.material.name.as_str(), x.produced_by.as_deref(), x.members.len()))
        .collect();
    assert_eq!(
        names,
        [
            ("父母居民身份证", None, 3),
            ("出生医学证明", Some("cert"), 2),
            ("户口簿", None, 1),
        ]
    );
    // One form: newborn_name asked once.
    let fields: Vec<&str> = g.form.iter().map(|f| f.field.element.as_str()).collect();
    assert_eq!(fields, ["newborn_name", "mother_name", "household_address"]);
    assert_eq!(
        g.savings,
        Savings {
            separate_applications: 3,
            applications: 1,
            separate_materials: 6,
            materials: 2,
            separate_fields: 5,
            fields: 3,
            separate_visits: 3,
            visits: 1,
            separate_days: 18,
            days: 5,
        }
    );
    // Not insured: the medical member drops out of materials and form.
    let no: BTreeMap<String, String> = [("insure".to_string(), "no".to_string())].into();
    let g = guide(&d, &m, &no).unwrap();
    assert_eq!(g.members[2].need, Need::NotNeeded);
    assert_eq!(g.savings.separate_applications, 2);
    // Unknown answers are refused with their field.
    let bad: BTreeMap<String, String> = [("insure".to_string(), "maybe".to_string()), ("x".into(), "y".into())].into();
    let r = rules(guide(&d, &m, &bad).unwrap_err());
    assert_eq!(
        r,
        [
            ("answers.insure".to_string(), "questionnaire.unknown_choice".to_string()),
            ("answers.x".to_string(), "questionnaire.unknown_question".to_string())
        ]
    );
}

#[test]
fn one_application_is_cut_into_the_members_applications() {
    use crate::cases::{Provision, ProvisionKind};
    let v = items();
    let m = map(&v);
    let d = doc();
    let file = |h: &str| Provision {
        kind: ProvisionKind::Files,
        files: vec![h.into()],
        licence_id: None,
        case_id: None,
        originals_checked: None,
    };
    let g = guide(&d, &m, &BTreeMap::new()).unwrap();
    let keys: Vec<&str> = g.materials.iter().map(|x| x.key.as_str()).collect();
    assert_eq!(
        keys,
        ["cert.sfz", "hukou.csyxzm", "hukou.hkb"],
        "the birth certificate counted once"
    );
    let mut app = BundleApplication {
        answers: [("married".to_string(), "yes".to_string())].into(),
        form: [
            ("newborn_name".to_string(), serde_json::json!("王小宝")),
            ("mother_name".to_string(), serde_json::json!("李梅")),
            ("household_address".to_string(), serde_json::json!("海口市龙华区")),
        ]
        .into(),
        materials: [
            ("cert.sfz".to_string(), file("a")),
            ("hukou.hkb".to_string(), file("b")),
        ]
        .into(),
        commitment: false,
    };
    // The bundle's own question decides whether the medical member applies: answered first.
    let r = rules(split(&d, &m, &app).unwrap_err());
    assert_eq!(r, [("answers.insure".to_string(), "bundles.unanswered".to_string())]);
    app.answers.insert("insure".into(), "yes".into());
    let parts = split(&d, &m, &app).unwrap();
    let keys: Vec<&str> = parts.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["cert", "hukou", "medical"]);
    // Each member gets its own form fields and answers, the ID card once given to all three,
    // and what the first member's result provides is not asked of the others.
    let hukou = &parts[1];
    assert_eq!(hukou.after, ["cert"]);
    assert_eq!(
        hukou.application.form.keys().collect::<Vec<_>>(),
        ["household_address", "newborn_name"]
    );
    assert_eq!(
        hukou.application.answers.get("married").map(String::as_str),
        Some("yes")
    );
    assert_eq!(hukou.application.materials.keys().collect::<Vec<_>>(), ["hkb", "sfz"]);
    assert_eq!(hukou.fed.get("csyxzm").map(String::as_str), Some("cert"));
    let medical = &parts[2];
    assert_eq!(
        medical.after,
        ["cert"],
        "the licence it needs comes from the first member"
    );
    assert_eq!(medical.application.materials.keys().collect::<Vec<_>>(), ["sfz"]);
    assert_eq!(medical.fed.get("cert").map(String::as_str), Some("cert"));
    assert_eq!(
        parts[0].application.form.keys().collect::<Vec<_>>(),
        ["mother_name", "newborn_name"]
    );
    // Not insured: two members; a material key the guide does not have is refused.
    app.answers.insert("insure".into(), "no".into());
    assert_eq!(split(&d, &m, &app).unwrap().len(), 2);
    app.materials.insert("nope.x".into(), file("c"));
    let r = rules(split(&d, &m, &app).unwrap_err());
    assert_eq!(
        r,
        [("materials.nope.x".to_string(), "bundles.unknown_material".to_string())]
    );
}

fn mv(key: &str, after: &[&str], state: MemberState, ended: bool) -> MemberView {
    MemberView {
        key: key.into(),
        after: after.iter().map(|s| s.to_string()).collect(),
        state,
        ended,
    }
}

#[test]
fn a_granted_predecessor_releases_its_successors() {
    use MemberState::*;
    let ms = [
        mv("yyzz", &[], Started, false),
        mv("spjy", &["yyzz"], Waiting, false),
        mv("sbk", &["spjy"], Waiting, false),
    ];
    let p = progress(OnRefusal::Continue, &ms);
    assert!(p.release.is_empty() && p.cancel.is_empty());
    assert_eq!(p.state, Some(BundleState::Open));
    let ms = [
        mv("yyzz", &[], Granted, false),
        mv("spjy", &["yyzz"], Waiting, false),
        mv("sbk", &["spjy"], Waiting, false),
    ];
    let p = progress(OnRefusal::Continue, &ms);
    assert_eq!(
        p.release,
        ["spjy"],
        "only the member whose predecessors are all granted"
    );
    assert_eq!(p.state, Some(BundleState::Open));
}

#[test]
fn a_refusal_cancels_what_depends_on_it_and_under_stop_everything_else() {
    use MemberState::*;
    let ms = [
        mv("a", &[], Refused, true),
        mv("b", &["a"], Waiting, false),
        mv("c", &["b"], Waiting, false),
        mv("d", &[], Started, false),
        mv("e", &[], Waiting, false),
    ];
    let p = progress(OnRefusal::Continue, &ms);
    assert_eq!(p.cancel, ["b", "c"], "cancellation runs along the dependencies");
    assert_eq!(p.release, ["e"], "a member without predecessors is not held up");
    assert!(p.stop.is_empty());
    assert_eq!(p.state, Some(BundleState::Open));
    let p = progress(OnRefusal::Stop, &ms);
    assert_eq!(p.cancel, ["b", "c", "e"]);
    assert!(p.release.is_empty());
    assert_eq!(p.stop, ["d"]);
    assert_eq!(
        p.state,
        Some(BundleState::Open),
        "open until the stopped member has ended"
    );
}

#[test]
fn the_bundle_is_decided_then_concluded() {
    use MemberState::*;
    let ms = [
        mv("a", &[], Granted, false),
        mv("b", &["a"], Refused, false),
        mv("c", &["b"], Cancelled, false),
    ];
    assert_eq!(progress(OnRefusal::Continue, &ms).state, Some(BundleState::Decided));
    let ms = [
        mv("a", &[], Granted, true),
        mv("b", &["a"], Refused, true),
        mv("c", &["b"], Cancelled, false),
    ];
    assert_eq!(progress(OnRefusal::Continue, &ms).state, Some(BundleState::Concluded));
    for s in [Waiting, Started, Granted, Refused, Cancelled] {
        assert_eq!(MemberState::parse(s.as_str()), Some(s));
    }
}
