use super::*;
use crate::ids::uscc_check_char;

fn uscc(n: u32) -> String {
    let body = format!("11460100{n:09}");
    format!("{body}{}", uscc_check_char(&body).unwrap())
}

fn item() -> Elements {
    let mut e = Elements::new("食品经营许可", ItemType::Licensing);
    e.legal_basis = vec![LegalBasis {
        law: "《中华人民共和国食品安全法》".into(),
        doc_no: None,
        article: Some("第三十五条".into()),
        text: "国家对食品生产经营实行许可制度。".into(),
    }];
    e.statutory_limit = Some(TimeLimit::working_days(20));
    e.promised_limit = Some(TimeLimit::working_days(5));
    e.service_objects = vec![ServiceObject::Enterprise];
    e.handling_forms = vec![HandlingForm::Window, HandlingForm::Online];
    e.online = true;
    e.online_depth = vec![OnlineDepth::Consult, OnlineDepth::Collect];
    e.materials = vec![
        material("apply", "食品经营许可申请书"),
        material("licence", "营业执照复印件"),
        material("agent", "授权委托书"),
        material("plan", "餐饮服务场所平面图"),
    ];
    e.questions = vec![
        Question {
            key: "agent".into(),
            text: "是否委托他人办理？".into(),
            choices: vec![choice("yes", &["agent"], &[]), choice("no", &[], &[])],
        },
        Question {
            key: "type".into(),
            text: "经营类型".into(),
            choices: vec![choice("catering", &["plan"], &[]), choice("sales", &[], &["licence"])],
        },
    ];
    e
}
fn material(key: &str, name: &str) -> Material {
    Material {
        key: key.into(),
        name: name.into(),
        kind: MaterialKind::Form,
        form: MaterialForm::Both,
        necessity: Necessity::Required,
        paper_spec: Some("A4".into()),
        originals: 1,
        copies: 0,
        source: MaterialSource::default(),
        standard: String::new(),
        basis: None,
        notes: None,
        blank_form: None,
        sample: None,
        sign_seal: None,
    }
}
fn choice(key: &str, adds: &[&str], removes: &[&str]) -> Choice {
    Choice {
        key: key.into(),
        text: key.into(),
        adds: adds.iter().map(|s| s.to_string()).collect(),
        removes: removes.iter().map(|s| s.to_string()).collect(),
    }
}
fn known(_: &str) -> bool {
    true
}

#[test]
fn real_codes_check_and_corruptions_fail() {
    // STANDARDS §1: real 实施编码 and 业务办理项编码.
    for c in [
        "11650000010183859F2650116013001",
        "1145072100811537184452004020000",
        "11450721MB155808114000104002000",
    ] {
        let ic = check_impl_code("code", c).unwrap();
        assert_eq!(impl_code(&ic.uscc, ic.level, &ic.basic_code), c);
    }
    let ic = check_impl_code("code", "11450721MB155808114000104002000").unwrap();
    assert_eq!(
        (ic.basic.origin.as_str(), ic.basic.item_type, ic.level),
        ("00", ItemType::Licensing, ExerciseLevel::County)
    );
    let (ic, h) = check_handling_code("code", "11450000007565194H200011501500504").unwrap();
    assert_eq!((ic.level, h.as_str()), (ExerciseLevel::Provincial, "04"));
    // A wrong credit-code check character, a bad level, a bad type, a short code.
    let e = check_impl_code("code", "11650000010183859E2650116013001").unwrap_err();
    assert_eq!(e.rule, "uscc.check_digit");
    assert_eq!(
        check_impl_code("code", "11650000010183859F7650116013001")
            .unwrap_err()
            .rule,
        "implementation_code.level"
    );
    assert_eq!(
        check_basic_code("b", "651116013001").unwrap_err().rule,
        "basic_code.item_type"
    );
    assert_eq!(check_basic_code("b", "99").unwrap_err().rule, "basic_code.format");
    assert_eq!(
        check_basic_code("b", "990116013001").unwrap_err().rule,
        "basic_code.origin"
    );
    assert_eq!(
        check_basic_code("b", "460100000000").unwrap_err().rule,
        "basic_code.main"
    );
}

#[test]
fn basic_codes_are_generated_in_sequence() {
    assert_eq!(next_basic_code("46", ItemType::Licensing, []), "460100001000");
    let used = ["460100001000", "460100007000", "462000009000"];
    assert_eq!(
        next_basic_code("46", ItemType::Licensing, used.iter().copied()),
        "460100008000"
    );
    check_basic_code("b", &next_basic_code("00", ItemType::PublicService, [])).unwrap();
}

#[test]
fn a_good_item_passes_and_every_bad_field_is_named() {
    let policy = CatalogPolicy::default();
    assert_eq!(check_elements(&item(), &policy, &known).0, vec![]);
    let mut e = item();
    e.promised_limit = Some(TimeLimit::working_days(25));
    e.materials[1].key = "apply".into();
    e.questions[0].choices[0].adds = vec!["nope".into()];
    e.fees.push(Fee {
        name: "工本费".into(),
        standard: "10 元".into(),
        amount_fen: Some(-1),
        basis: "x".into(),
        reducible: true,
        reduction_basis: None,
    });
    e.visits = 1;
    let rules: Vec<(String, String)> = check_elements(&e, &policy, &known)
        .0
        .into_iter()
        .map(|f| (f.field, f.rule))
        .collect();
    for want in [
        ("promised_limit", "catalog.promised_exceeds_statutory"),
        ("materials[1].key", "material.duplicate_key"),
        ("questions[0].choices[0].adds[0]", "question.unknown_material"),
        ("fees[0].amount_fen", "range"),
        ("fees[0].reduction_basis", "catalog.reduction_basis_required"),
        ("visit_reason", "catalog.visit_reason_required"),
    ] {
        assert!(
            rules.iter().any(|(f, r)| f == want.0 && r == want.1),
            "missing {want:?} in {rules:?}"
        );
    }
    let mut e = item();
    e.case_kind = CaseKind::Instant;
    assert!(
        check_elements(&e, &policy, &known)
            .0
            .iter()
            .any(|f| f.rule == "catalog.instant_limit")
    );
    let mut e = item();
    e.form = vec![FormField {
        element: "x".into(),
        label: None,
        required: true,
    }];
    assert_eq!(
        check_elements(&e, &policy, &|_| false).0[0].rule,
        "form.unknown_element"
    );
}

#[test]
fn sets_have_one_canonical_order() {
    let mut a = item();
    a.service_objects = vec![
        ServiceObject::Government,
        ServiceObject::NaturalPerson,
        ServiceObject::Government,
    ];
    a.online_depth = vec![OnlineDepth::Feedback, OnlineDepth::Consult];
    let mut b = a.clone();
    b.service_objects.reverse();
    a.normalize();
    b.normalize();
    assert_eq!(a, b);
    assert_eq!(
        a.service_objects,
        vec![ServiceObject::NaturalPerson, ServiceObject::Government]
    );
    assert_eq!(a.online_depth, vec![OnlineDepth::Consult, OnlineDepth::Feedback]);
}

#[test]
fn promised_within_statutory_across_units() {
    let wd = |v| TimeLimit::working_days(v);
    let nd = |v| TimeLimit {
        value: v,
        unit: TimeUnit::NaturalDays,
        note: None,
    };
    assert!(wd(20).within(&wd(20)));
    assert!(!wd(21).within(&wd(20)));
    assert!(nd(10).within(&wd(10)));
    assert!(!wd(5).within(&nd(7)), "5 working days can span more than 7 days");
    assert!(wd(5).within(&nd(30)));
    let m = TimeLimit {
        value: 1,
        unit: TimeUnit::Months,
        note: None,
    };
    assert!(nd(28).within(&m));
    assert!(!nd(29).within(&m));
}

#[test]
fn locked_elements_are_inherited_and_edits_refused() {
    let policy = CatalogPolicy::default();
    let basic = item();
    let mut own = item();
    own.name = "改名".into();
    own.promised_limit = Some(TimeLimit::working_days(3));
    let e = check_locked(&basic, &own, &policy).unwrap_err();
    assert_eq!(
        (e.errors[0].field.as_str(), e.errors[0].rule.as_str()),
        ("name", "catalog.locked_element")
    );
    let inherited = inherit(&basic, &own, &policy);
    assert_eq!(inherited.name, basic.name);
    assert_eq!(inherited.promised_limit, Some(TimeLimit::working_days(3)));
    check_locked(&basic, &inherited, &policy).unwrap();
    let d = level_differences(&[("a".into(), &basic), ("b".into(), &own)], &policy);
    assert_eq!(d[0].element, "name");
    assert!(d[0].locked);
    assert!(d.iter().any(|x| x.element == "promised_limit" && !x.locked));
    let mut bad = policy.clone();
    bad.locked.push("colour".into());
    assert_eq!(bad.check().unwrap_err().errors[0].field, "catalog.locked[3]");
}

fn open(state: VersionState) -> OpenVersion {
    OpenVersion {
        version: 3,
        state,
        editors: vec!["editor".into()],
        submitted_by: (state == VersionState::Submitted).then(|| "submitter".into()),
    }
}

/// Every state × every action × (editor, submitter, reviewer): allowed with its
/// transition or refused with a named rule.
#[test]
fn workflow_state_machine_is_exhaustive() {
    use VersionState::*;
    let actions = [
        Action::SaveDraft,
        Action::Submit,
        Action::Recall,
        Action::Return {
            reasons: "材料不全".into(),
        },
        Action::Return { reasons: " ".into() },
        Action::Publish,
        Action::Discard,
    ];
    let states: [Option<VersionState>; 3] = [None, Some(Draft), Some(Submitted)];
    for st in states {
        let o = st.map(open);
        for a in &actions {
            for actor in ["editor", "submitter", "reviewer"] {
                let r = decide_action(o.as_ref(), 2, a, actor);
                let expected: Result<Transition, &str> = match (st, a, actor) {
                    (None, Action::SaveDraft, _) => Ok(Transition::NewDraft(3)),
                    (Some(Draft), Action::SaveDraft, _) => Ok(Transition::To(3, Draft)),
                    (Some(Submitted), Action::SaveDraft, _) => Err("catalog.not_editable"),
                    (Some(Draft), Action::Submit, _) => Ok(Transition::To(3, Submitted)),
                    (_, Action::Submit, _) => Err("catalog.no_draft"),
                    (Some(Submitted), Action::Recall, "submitter") => Ok(Transition::To(3, Draft)),
                    (Some(Submitted), Action::Recall, _) => Err("catalog.recall_not_submitter"),
                    (_, Action::Recall, _) => Err("catalog.not_submitted"),
                    (Some(Submitted), Action::Return { reasons }, _) if reasons.trim().is_empty() => {
                        Err("catalog.return_reasons")
                    }
                    (Some(Submitted), Action::Return { .. }, "submitter") => Err("catalog.four_eyes"),
                    (Some(Submitted), Action::Return { .. }, _) => Ok(Transition::To(3, Draft)),
                    (_, Action::Return { .. }, _) => Err("catalog.not_submitted"),
                    (Some(Submitted), Action::Publish, "reviewer") => Ok(Transition::To(3, Published)),
                    (Some(Submitted), Action::Publish, _) => Err("catalog.four_eyes"),
                    (_, Action::Publish, _) => Err("catalog.not_submitted"),
                    (Some(Draft), Action::Discard, _) => Ok(Transition::To(3, Discarded)),
                    (_, Action::Discard, _) => Err("catalog.no_draft"),
                    (Some(Published | Discarded), ..) => unreachable!(),
                };
                match (r, expected) {
                    (Ok(t), Ok(e)) => assert_eq!(t, e, "{st:?} {a:?} {actor}"),
                    (Err(e), Err(rule)) => {
                        assert_eq!(e.errors[0].rule, rule, "{st:?} {a:?} {actor}");
                        assert!(!e.errors[0].zh.is_empty() && !e.errors[0].en.is_empty());
                    }
                    (r, e) => panic!("{st:?} {a:?} {actor}: got {r:?}, expected {e:?}"),
                }
            }
        }
    }
}

#[test]
fn validity_lets_one_version_be_in_force() {
    let p = |version, from, cancel| Published {
        version,
        effective_from_ms: from,
        cancel_on_ms: cancel,
    };
    // v1 from 0; v2 scheduled at 100; v3 (published last) from 50 supersedes v2.
    let v = validity(&[p(1, 0, None), p(2, 100, None), p(3, 50, Some(200))]);
    assert_eq!(v, vec![(1, 0, Some(50)), (2, 100, Some(100)), (3, 50, Some(200))]);
    for t in [0, 49, 50, 99, 100, 150, 199, 200, 300] {
        let n = v.iter().filter(|(_, f, u)| *f <= t && u.is_none_or(|u| t < u)).count();
        assert!(n <= 1, "t={t}: {n} versions in force");
    }
    assert!(check_publication_dates(10, Some(5), 0).is_err());
    assert!(check_publication_dates(-1, None, 0).is_err());
    assert!(check_publication_dates(0, Some(1), 0).is_ok());
}

#[test]
fn diff_names_paths() {
    let a = item();
    let mut b = item();
    b.materials[2].name = "委托书".into();
    b.promised_limit = Some(TimeLimit::working_days(3));
    let d = diff(&serde_json::to_value(&a).unwrap(), &serde_json::to_value(&b).unwrap());
    let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["materials[2].name", "promised_limit.value"]);
    assert_eq!(d[0].element_zh, "申请材料");
    assert_eq!(changed_elements(&a, &b), vec!["promised_limit", "materials"]);
}

#[test]
fn questionnaire_selects_exact_materials() {
    let e = item();
    let ans = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    let keys = |s: &Selection| s.needed.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
    let none = select_materials(&e, &ans(&[])).unwrap();
    assert_eq!(keys(&none), vec!["apply"]);
    assert_eq!(
        none.depends.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
        vec!["licence", "agent", "plan"]
    );
    let s = select_materials(&e, &ans(&[("agent", "yes"), ("type", "catering")])).unwrap();
    assert_eq!(keys(&s), vec!["apply", "licence", "agent", "plan"]);
    assert!(s.depends.is_empty() && s.unanswered.is_empty());
    let s = select_materials(&e, &ans(&[("agent", "no"), ("type", "sales")])).unwrap();
    assert_eq!(keys(&s), vec!["apply"]);
    let err = select_materials(&e, &ans(&[("agent", "maybe"), ("colour", "red")])).unwrap_err();
    let fields: Vec<&str> = err.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["answers.agent", "answers.colour"]);
}

#[test]
fn stars_follow_the_configured_rules() {
    let policy = CatalogPolicy::default();
    let mut e = item();
    assert_eq!(policy.stars(&e), 1);
    e.online_depth = OnlineDepth::ALL.to_vec();
    e.visits = 0;
    assert_eq!(policy.stars(&e), 5);
    assert!(e.full_online());
    e.visits = 1;
    e.visit_reason = Some("核验原件".into());
    assert_eq!(policy.stars(&e), 3);
    assert!(!e.full_online());
    e.online_depth.clear();
    assert_eq!(policy.stars(&e), 0);
}

#[test]
fn data_elements_check_values() {
    let dict = default_dictionary();
    for d in &dict {
        check_data_element(d).unwrap_or_else(|e| panic!("{}: {e}", d.code));
    }
    let get = |c: &str| dict.iter().find(|d| d.code == c).unwrap();
    let v = |s: &str| Value::String(s.into());
    assert!(check_value("f", get("applicant_id_number"), &v("11010519491231002X")).is_ok());
    assert_eq!(
        check_value("f", get("applicant_id_number"), &v("110105194912310021"))
            .unwrap_err()
            .rule,
        "resident_id.check_digit"
    );
    assert!(check_value("f", get("enterprise_uscc"), &v(&uscc(5))).is_ok());
    assert_eq!(
        check_value("f", get("gender"), &v("X")).unwrap_err().rule,
        "value.choice"
    );
    assert_eq!(
        check_value("f", get("birth_date"), &v("2024-02-30")).unwrap_err().rule,
        "value.date"
    );
    assert!(check_value("f", get("registered_capital"), &serde_json::json!(12.5)).is_ok());
    // Example values pass their own checks.
    for d in &dict {
        let v = example_value(d);
        let value = match d.kind {
            ElementKind::Boolean => Value::Bool(true),
            _ => Value::String(v.clone()),
        };
        check_value("f", d, &value).unwrap_or_else(|e| panic!("{}: example {v}: {}", d.code, e.en));
    }
    let bad = DataElement {
        code: "9x".into(),
        name: String::new(),
        kind: ElementKind::Choice,
        max_len: Some(0),
        options: vec![],
        description: None,
        prefill: Some("person.shoe_size".into()),
    };
    let rules: Vec<String> = check_data_element(&bad)
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| e.rule)
        .collect();
    assert_eq!(
        rules,
        vec![
            "data_element.code_format",
            "required",
            "data_element.options",
            "data_element.prefill_source",
            "range"
        ]
    );
}

#[test]
fn overlay_names_the_bad_element() {
    let basic = item();
    let mut own = serde_json::Map::new();
    own.insert(
        "promised_limit".into(),
        serde_json::json!({"value": 3, "unit": "working_days"}),
    );
    assert_eq!(
        overlay(&basic, &own, "items[0].elements")
            .unwrap()
            .promised_limit
            .unwrap()
            .value,
        3
    );
    own.insert("visits".into(), serde_json::json!("two"));
    let e = overlay(&basic, &own, "items[0].elements").unwrap_err();
    assert_eq!(e.errors[0].field, "items[0].elements.visits");
    let mut own = serde_json::Map::new();
    own.insert("colour".into(), serde_json::json!(1));
    assert_eq!(
        overlay(&basic, &own, "items[1].elements").unwrap_err().errors[0].rule,
        "catalog.unknown_element"
    );
}

#[test]
fn element_names_match_the_struct() {
    let m = item().to_map();
    // Optional elements absent from JSON when empty are still listed.
    for k in m.keys() {
        assert!(ELEMENT_NAMES.contains(&k.as_str()), "{k} missing from ELEMENT_NAMES");
    }
    for n in ELEMENT_NAMES {
        assert_ne!(element_zh(n), "要素", "{n} has no Chinese name");
    }
    let json = serde_json::to_string(&item()).unwrap();
    let back: Elements = serde_json::from_str(&json).unwrap();
    assert_eq!(back, item());
}
