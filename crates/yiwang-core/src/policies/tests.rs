use super::*;
use serde_json::json;

fn field(n: &str, t: AttrType, zh: &str, en: &str) -> (String, AttrType, String, String) {
    (n.to_string(), t, zh.to_string(), en.to_string())
}

fn schema() -> Schema {
    let mut s = Schema::builtin(Audience::Person);
    s.add_group(
        "hukou",
        &[field(
            "region",
            AttrType::String,
            "户籍地区划代码",
            "household registration region",
        )],
    );
    s.add_group(
        "disability",
        &[
            field("level", AttrType::Int, "残疾等级", "disability grade"),
            field("category", AttrType::String, "残疾类别", "disability category"),
        ],
    );
    s.add_group(
        "social_insurance",
        &[
            field("months", AttrType::Int, "累计缴费月数", "months contributed"),
            field("paying", AttrType::Bool, "正在缴费", "contributing now"),
        ],
    );
    s
}

fn ok(src: &str, expect: AttrType) -> Compiled {
    compile(&schema(), src, expect, &Limits::default()).unwrap_or_else(|e| panic!("{src}: {e:?}"))
}

/// The first error of a rule that must be refused.
fn refused(src: &str, expect: AttrType) -> RuleError {
    refused_with(src, expect, &Limits::default())
}

fn refused_with(src: &str, expect: AttrType, limits: &Limits) -> RuleError {
    match compile(&schema(), src, expect, limits) {
        Ok(_) => panic!("{src} compiled"),
        Err(e) => e[0].clone(),
    }
}

const RULE: &str = "age >= 80 && hukou.region.startsWith('46')";
const AMOUNT: &str = "age >= 100 ? 60000 : (age >= 90 ? 30000 : 10000)";

fn policy(rule: &str, amount: &str) -> CompiledPolicy {
    compile_policy(&schema(), rule, amount, &Limits::default()).unwrap()
}

fn profile(values: serde_json::Value) -> Profile {
    let s = schema();
    let mut p = Profile::new(&s);
    for (k, v) in values.as_object().unwrap() {
        p.set(&s, k, v).unwrap();
    }
    p
}

#[test]
fn names_and_codes() {
    assert_eq!(AttrType::StringList.as_str(), "string_list");
    assert_eq!(AttrType::parse("double"), Some(AttrType::Double));
    assert_eq!(AttrType::parse("float"), None);
    assert_eq!(AttrType::Int.name_zh(), "整数");
    assert_eq!(AttrType::Int.name_en(), "integer");
    assert_eq!(
        serde_json::to_value(AttrType::StringList).unwrap(),
        json!("string_list")
    );
    assert_eq!(Audience::parse("enterprise"), Some(Audience::Enterprise));
    assert_eq!(crate::Named::zh(&Audience::Enterprise), "法人");
    assert_eq!(PolicyMode::OneClick.as_str(), "one_click");
    assert_eq!(crate::Named::zh(&PolicyMode::Direct), "免申即享");
}

#[test]
fn schemas() {
    let s = schema();
    assert_eq!(s.audience(), Audience::Person);
    assert_eq!(
        s.roots(),
        [
            "age",
            "sex",
            "licences",
            "results",
            "hukou",
            "disability",
            "social_insurance"
        ]
    );
    let level = s.find("disability.level").unwrap();
    assert_eq!(
        (level.ty, level.source.as_str()),
        (AttrType::Int, "resource:disability")
    );
    assert_eq!(s.find("age").unwrap().source, "identity");
    assert!(s.find("disability").is_none());
    let e = Schema::builtin(Audience::Enterprise);
    assert_eq!(e.roots(), ["licences", "results"]);

    let mut s = schema();
    for bad in ["age", "hukou", "int", "has", "1x", "a-b", ""] {
        assert!(s.try_add_group(bad, &[]).is_err(), "{bad}");
    }
    let twice = [field("a", AttrType::Int, "", ""), field("a", AttrType::Int, "", "")];
    assert!(s.try_add_group("x", &twice).is_err());
    assert!(s.try_add_group("x", &[field("a b", AttrType::Int, "", "")]).is_err());
    assert!(s.try_add_group("x", &[field("for", AttrType::Int, "", "")]).is_err());
    assert!(check_group_name("dibao").is_ok());
    assert!(check_field_name("type").is_ok() && check_field_name("in").is_err());
    // add_group leaves out what a rule could not read, and never panics.
    let before = s.attrs().len();
    s.add_group("import", &[field("a", AttrType::Int, "", "")]);
    s.add_group("hukou", &[field("a", AttrType::Int, "", "")]);
    assert_eq!(s.attrs().len(), before);
    s.add_group(
        "y",
        &[twice[0].clone(), twice[1].clone(), field("if", AttrType::Int, "", "")],
    );
    assert_eq!(s.attrs().len(), before + 1);
    assert_eq!(s.roots().last(), Some(&"y"));
}

#[test]
fn whole_years_count_anniversaries() {
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(whole_years(d("1944-06-15"), d("2024-06-14")), 79);
    assert_eq!(whole_years(d("1944-06-15"), d("2024-06-15")), 80);
    assert_eq!(whole_years(d("2000-02-29"), d("2001-02-28")), 0);
    assert_eq!(whole_years(d("2000-02-29"), d("2001-03-01")), 1);
}

#[test]
fn good_rules_compile() {
    for src in [
        RULE,
        "'C001' in licences || size(results) > 0",
        "has(disability.level) && disability.level <= 2",
        "age * 1.5 > 100.0",
        "sex == 'female' ? age >= 55 : age >= 60",
        "hukou.region in ['460100', '460200']",
        "!(age < 18) && licences.size() == 0",
        "string(age) == '80' && double(age) >= 79.5 && int('3') == 3",
        "disability.category.contains('视力') || disability.category.endsWith('听力')",
        "age % 10 == 0 && -age < 0 && age / 2 >= 40 && age - 1 != 0",
        "licences == [] || 1 in [1, 2.5]",
    ] {
        ok(src, AttrType::Bool);
    }
    for src in [AMOUNT, "int(social_insurance.months * 12.5)", "age > 60 ? 100 : 0"] {
        ok(src, AttrType::Int);
    }
    // A mixed ternary is a double.
    ok("age > 60 ? 1.5 : 2", AttrType::Double);
}

#[test]
fn conditions_are_the_top_level_conjuncts() {
    let c = ok(
        "age >= 80 && hukou.region.startsWith('46') && (sex == 'male' || sex == 'female') && has(disability.level)",
        AttrType::Bool,
    );
    let texts: Vec<&str> = c.conditions().iter().map(|c| c.text()).collect();
    assert_eq!(
        texts,
        [
            "age >= 80",
            "hukou.region.startsWith('46')",
            "sex == 'male' || sex == 'female'",
            "has(disability.level)"
        ]
    );
    assert_eq!(c.conditions()[1].paths(), ["hukou.region"]);
    assert_eq!(c.conditions()[2].paths(), ["sex"]);
    assert!(c.conditions()[3].paths().is_empty());
    assert_eq!(c.conditions()[3].tested(), ["disability.level"]);
    assert_eq!(c.paths(), ["age", "hukou.region", "sex", "disability.level"]);
    assert_eq!(c.result_type(), AttrType::Bool);
    // A condition ending in a selection keeps the field's name (its node is the `.`).
    let d = ok("hukou.region == '460108' && age >= 60", AttrType::Bool);
    assert_eq!(d.conditions()[0].text(), "hukou.region == '460108'");
    let d = ok(
        "disability.category == 'x' && hukou.region.size() > 0 && disability.category.startsWith('肢') && disability.level > 0",
        AttrType::Bool,
    );
    let texts: Vec<&str> = d.conditions().iter().map(|c| c.text()).collect();
    assert_eq!(texts[2], "disability.category.startsWith('肢')");
    let d = ok("age >= 60 && social_insurance.paying", AttrType::Bool);
    assert_eq!(d.conditions()[1].text(), "social_insurance.paying");
    assert!(c.source().starts_with("age >= 80 && hukou"));
    // An amount formula is one condition.
    let a = ok(AMOUNT, AttrType::Int);
    assert_eq!(a.conditions().len(), 1);
    assert_eq!(a.conditions()[0].text(), AMOUNT);
    // Calls keep their closing parenthesis, global calls their name.
    let c = ok("size(licences) > 0 && int(age) > 1", AttrType::Bool);
    assert_eq!(c.conditions()[0].text(), "size(licences) > 0");
    assert_eq!(c.conditions()[1].text(), "int(age) > 1");
}

#[test]
fn syntax_errors_keep_the_parsers_position() {
    let e = refused("age >= ", AttrType::Bool);
    assert_eq!(e.rule, "rule.syntax");
    assert_eq!((e.line, e.column), (1, 8));
    let e = refused("age >= 80 &&\n  (sex == 'male'", AttrType::Bool);
    assert_eq!(e.rule, "rule.syntax");
    assert_eq!(e.line, 2);
    let e = refused("   ", AttrType::Bool);
    assert_eq!(e.rule, "rule.syntax");
}

#[test]
fn unknown_attributes_are_named_with_their_column() {
    let e = refused("age >= 80 && agee < 100", AttrType::Bool);
    assert_eq!(e.rule, "rule.unknown_attribute");
    assert_eq!((e.line, e.column), (1, 14));
    assert!(e.zh.contains("未知属性 agee") && e.zh.contains("age"), "{}", e.zh);
    assert_eq!(e.en, "unknown attribute agee (did you mean age?)");
    let f = e.field_error("rule");
    assert_eq!(f.field, "rule");
    assert_eq!(f.rule, "rule.unknown_attribute");
    assert!(f.zh.starts_with("第 1 行第 14 列：未知属性 agee"), "{}", f.zh);
    assert!(
        f.en.starts_with("line 1, column 14: unknown attribute agee"),
        "{}",
        f.en
    );

    let e = refused("age > 1 && hukou.regoin == '46'", AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.unknown_attribute", 12));
    assert!(e.en.contains("hukou.regoin"), "{}", e.en);
    let e = refused("nobody.field == 1", AttrType::Bool);
    assert_eq!(e.rule, "rule.unknown_attribute");
    // A group used bare.
    let e = refused("hukou == '46'", AttrType::Bool);
    assert_eq!(e.rule, "rule.unknown_attribute");
    assert!(e.en.contains("hukou.<field>"), "{}", e.en);
    // A scalar is not a group.
    assert_eq!(refused("age.years > 1", AttrType::Bool).rule, "rule.type");
    // Every problem at once.
    let all = compile(
        &schema(),
        "agee > 1 && sexx == 'male'",
        AttrType::Bool,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].column, 13);
}

#[test]
fn type_errors_are_placed_at_the_offending_node() {
    let e = refused("age > 'x'", AttrType::Bool);
    assert_eq!((e.rule, e.line, e.column), ("rule.type", 1, 5));
    let e = refused("sex == 'male' && age", AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.type", 18));
    let e = refused("sex + 'x' == 'y'", AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.type", 5));
    assert_eq!(refused("age in licences", AttrType::Bool).rule, "rule.type");
    assert_eq!(refused("'A' in sex", AttrType::Bool).rule, "rule.type");
    assert_eq!(refused("age.startsWith('4')", AttrType::Bool).rule, "rule.type");
    assert_eq!(refused("size(age) > 1", AttrType::Bool).rule, "rule.type");
    assert_eq!(refused("age > 1 ? 'a' : 2", AttrType::Int).rule, "rule.type");
    assert_eq!(refused("age % 2.0 == 0", AttrType::Bool).rule, "rule.type");
    assert_eq!(refused("[1, 'a'] == []", AttrType::Bool).rule, "rule.type");
}

#[test]
fn the_result_must_have_the_expected_type() {
    let e = refused("age + 1", AttrType::Bool);
    assert_eq!((e.rule, e.line, e.column), ("rule.result_type", 1, 1));
    let e = refused("age * 1.5", AttrType::Int);
    assert_eq!(e.rule, "rule.result_type");
    assert!(e.zh.contains("int("), "{}", e.zh);
    assert_eq!(refused("age > 1", AttrType::Int).rule, "rule.result_type");
}

#[test]
fn unsupported_constructs_are_refused() {
    for src in [
        "licences.exists(l, l == 'A')",
        "licences.all(l, l == 'A')",
        "size(licences.filter(l, l == 'A')) > 0",
        "{'a': 1}.a == 1",
        "licences[0] == 'A'",
        "matches(sex, 'm.*')",
        "age > 1u",
        "sex == null",
    ] {
        assert_eq!(refused(src, AttrType::Bool).rule, "rule.unsupported", "{src}");
    }
}

#[test]
fn caps_are_checked_first() {
    let long = format!("{}true", "age > 1 && ".repeat(190));
    let e = refused(&long, AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.too_long", 2001));

    let deep = format!("{}age > 1{}", "(".repeat(20), ")".repeat(20));
    let e = refused(&deep, AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.too_deep", 13));
    // Brackets inside a string literal do not count.
    ok(&format!("sex == '{}'", "(".repeat(20)), AttrType::Bool);
    // Nesting without brackets: a chain of ?:.
    let chain = format!("{}0", "age > 1 ? 1 : ".repeat(30));
    let e = compile(&schema(), &chain, AttrType::Int, &Limits::default()).unwrap_err();
    assert_eq!(e[0].rule, "rule.too_deep", "{e:?}");

    let many = (0..120).map(|i| format!("age == {i}")).collect::<Vec<_>>().join(" || ");
    let e = refused(&many, AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.too_large", 1));

    let tight = Limits {
        max_chars: 10,
        ..Limits::default()
    };
    assert_eq!(
        refused_with("age >= 80 && true", AttrType::Bool, &tight).rule,
        "rule.too_long"
    );
}

#[test]
fn positions_count_characters_not_bytes() {
    let e = refused("hukou.region == '海南省' && agee > 1", AttrType::Bool);
    assert_eq!((e.rule, e.line, e.column), ("rule.unknown_attribute", 1, 26));
    let e = refused("sex == '女' &&\n  agee > 1", AttrType::Bool);
    assert_eq!((e.line, e.column), (2, 3));
    let e = refused("sex == '女性' && age > '八十'", AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.type", 20));
    // The end of the input, after the 20th character.
    let e = refused("sex == '女性' && age >", AttrType::Bool);
    assert_eq!((e.rule, e.column), ("rule.syntax", 21));
    assert_eq!(source::position("'中' x", 6), (1, 5));
}

#[test]
fn policies_report_both_fields() {
    let e = compile_policy(&schema(), "agee > 1", "age * 1.5", &Limits::default()).unwrap_err();
    let fields: Vec<(&str, &str)> = e.errors.iter().map(|f| (f.field.as_str(), f.rule.as_str())).collect();
    assert_eq!(
        fields,
        [("rule", "rule.unknown_attribute"), ("amount", "rule.result_type")]
    );
}

#[test]
fn eligible_with_the_amount() {
    let p = policy(RULE, AMOUNT);
    let ev = Evaluator::new();
    let o = |age: i64| p.evaluate(&ev, &profile(json!({"age": age, "hukou.region": "460105"})));
    assert_eq!(o(85), Outcome::Eligible { amount_fen: 10000 });
    assert_eq!(o(92), Outcome::Eligible { amount_fen: 30000 });
    assert_eq!(o(101), Outcome::Eligible { amount_fen: 60000 });
    assert_eq!(o(79), Outcome::Ineligible);
    let elsewhere = profile(json!({"age": 85, "hukou.region": "440105"}));
    assert_eq!(p.evaluate(&ev, &elsewhere), Outcome::Ineligible);
}

#[test]
fn a_false_condition_decides_whatever_is_missing() {
    let p = policy(RULE, AMOUNT);
    let ev = Evaluator::new();
    assert_eq!(p.evaluate(&ev, &profile(json!({"age": 70}))), Outcome::Ineligible);
    assert_eq!(
        p.evaluate(&ev, &profile(json!({"hukou.region": "440100"}))),
        Outcome::Ineligible
    );
}

#[test]
fn undetermined_names_what_is_missing() {
    let p = policy(RULE, AMOUNT);
    let ev = Evaluator::new();
    assert_eq!(
        p.evaluate(&ev, &profile(json!({"age": 85}))),
        Outcome::Undetermined {
            missing: vec!["hukou.region".into()]
        }
    );
    assert_eq!(
        p.evaluate(&ev, &profile(json!({}))),
        Outcome::Undetermined {
            missing: vec!["age".into(), "hukou.region".into()]
        }
    );
    // Null makes an attribute missing again.
    let s = schema();
    let mut pr = profile(json!({"age": 85, "hukou.region": "460100"}));
    pr.set(&s, "hukou.region", &json!(null)).unwrap();
    assert_eq!(pr.get(&s, "hukou.region"), None);
    assert!(matches!(p.evaluate(&ev, &pr), Outcome::Undetermined { .. }));
    // The amount's attributes are needed too.
    let q = policy("hukou.region.startsWith('46')", "social_insurance.months * 100");
    assert_eq!(
        q.evaluate(&ev, &profile(json!({"hukou.region": "460100"}))),
        Outcome::Undetermined {
            missing: vec!["social_insurance.months".into()]
        }
    );
}

#[test]
fn runtime_errors_fail_and_are_never_ineligible() {
    let ev = Evaluator::new();
    let p = policy(RULE, "1000 / (age - age)");
    let o = p.evaluate(&ev, &profile(json!({"age": 85, "hukou.region": "460100"})));
    let Outcome::Failed { message } = o else {
        panic!("{o:?}")
    };
    assert!(message.to_lowercase().contains("division by zero"), "{message}");
    // A negative amount fails.
    let p = policy(RULE, "-1");
    assert!(matches!(
        p.evaluate(&ev, &profile(json!({"age": 85, "hukou.region": "460100"}))),
        Outcome::Failed { .. }
    ));
    // An error in a condition fails, even if a later one is false.
    let p = policy("int(sex) > 1 && age > 200", "0");
    assert!(matches!(
        p.evaluate(&ev, &profile(json!({"age": 85, "sex": "male"}))),
        Outcome::Failed { .. }
    ));
    let mut t = Tally::default();
    t.add(&p.evaluate(&ev, &profile(json!({"age": 85, "sex": "male"}))));
    assert_eq!((t.failed, t.ineligible), (1, 0));
}

#[test]
fn presence_tests_and_mixed_numbers() {
    let ev = Evaluator::new();
    let p = policy("has(disability.level) && disability.level <= 2", "age * 150 / 100");
    assert_eq!(p.evaluate(&ev, &profile(json!({"age": 30}))), Outcome::Ineligible);
    assert_eq!(
        p.evaluate(&ev, &profile(json!({"age": 30, "disability.level": 1}))),
        Outcome::Eligible { amount_fen: 45 }
    );
    assert_eq!(
        p.evaluate(&ev, &profile(json!({"age": 30, "disability.level": 3}))),
        Outcome::Ineligible
    );
    let p = policy("age * 1.5 >= 120.0 && 1 in [1.0, 2.0]", "int(age * 100.5)");
    assert_eq!(
        p.evaluate(&ev, &profile(json!({"age": 80}))),
        Outcome::Eligible { amount_fen: 8040 }
    );
    let p = policy("'C001' in licences && size(results) == 0", "age > 60 ? 100 : 0");
    assert_eq!(
        p.evaluate(
            &ev,
            &profile(json!({"age": 61, "licences": ["C001", "C002"], "results": []}))
        ),
        Outcome::Eligible { amount_fen: 100 }
    );
}

#[test]
fn explanations_list_every_condition_with_its_values() {
    let s = schema();
    let p = policy(
        "age >= 80 && hukou.region.startsWith('46') && has(disability.level)",
        AMOUNT,
    );
    let ev = Evaluator::new();
    let mut pr = profile(json!({"age": 92}));
    pr.set_as_of(&s, "age", 1_700_000_000_000);
    let x = p.explain(&s, &ev, &pr);
    // The last condition is false: it decides, though hukou.region is missing.
    assert_eq!(x.outcome, Outcome::Ineligible);
    assert_eq!(x.conditions.len(), 3);
    let c0 = &x.conditions[0];
    assert_eq!((c0.text.as_str(), c0.met), ("age >= 80", Some(true)));
    assert_eq!(
        c0.values,
        [ValueReport {
            path: "age".into(),
            zh: "年龄（周岁）".into(),
            en: "age (whole years)".into(),
            value: json!(92),
            source: "identity".into(),
            as_of_ms: Some(1_700_000_000_000),
        }]
    );
    assert_eq!(
        (x.conditions[1].met, x.conditions[1].missing.clone()),
        (None, vec!["hukou.region".to_string()])
    );
    assert_eq!(x.conditions[2].met, Some(false));
    assert_eq!(x.outcome, p.evaluate(&ev, &pr));
}

#[test]
fn explanation_and_evaluation_agree() {
    let s = schema();
    let ev = Evaluator::new();
    let p = policy("age >= 80 && hukou.region.startsWith('46')", AMOUNT);
    for v in [
        json!({}),
        json!({"age": 92}),
        json!({"age": 70}),
        json!({"age": 92, "hukou.region": "460100"}),
        json!({"age": 92, "hukou.region": "110100"}),
    ] {
        let pr = profile(v.clone());
        assert_eq!(p.explain(&s, &ev, &pr).outcome, p.evaluate(&ev, &pr), "{v}");
    }
    let mut pr = profile(json!({"age": 92, "hukou.region": "460100", "disability.level": 2}));
    pr.set_as_of(&s, "hukou", 1);
    let x = p.explain(&s, &ev, &pr);
    assert_eq!(x.outcome, Outcome::Eligible { amount_fen: 30000 });
    let v = &x.conditions[1].values[0];
    assert_eq!(
        (v.path.as_str(), v.source.as_str(), v.as_of_ms, v.value.clone()),
        ("hukou.region", "resource:hukou", Some(1), json!("460100"))
    );
    assert_eq!(pr.as_of(&s, "hukou.region"), Some(1));
    assert_eq!(pr.get(&s, "disability.level"), Some(json!(2)));
    assert_eq!(pr.get(&s, "disability.category"), None);
}

#[test]
fn profiles_refuse_wrong_types() {
    let s = schema();
    let mut p = Profile::new(&s);
    for (path, v) in [
        ("age", json!("80")),
        ("age", json!(80.5)),
        ("age", json!(true)),
        ("sex", json!(1)),
        ("licences", json!(["A", 1])),
        ("licences", json!("A")),
        ("disability.level", json!("一级")),
    ] {
        let e = p.set(&s, path, &v).unwrap_err();
        assert_eq!((e.field.as_str(), e.rule.as_str()), (path, "attribute.type"), "{v}");
    }
    let e = p.set(&s, "hukou.city", &json!("x")).unwrap_err();
    assert_eq!(e.rule, "attribute.unknown");
    p.set(&s, "age", &json!(80)).unwrap();
    p.set(&s, "licences", &json!(["A", "B"])).unwrap();
    p.set(&s, "social_insurance.months", &json!(36)).unwrap();
    assert_eq!(p.get(&s, "age"), Some(json!(80)));
    assert_eq!(p.get(&s, "licences"), Some(json!(["A", "B"])));
    assert_eq!(p.get(&s, "social_insurance.months"), Some(json!(36)));
    // A double takes any number.
    let mut d = Schema::builtin(Audience::Enterprise);
    d.add_group("tax", &[field("rate", AttrType::Double, "税率", "rate")]);
    let mut q = Profile::new(&d);
    q.set(&d, "tax.rate", &json!(3)).unwrap();
    assert_eq!(q.get(&d, "tax.rate"), Some(json!(3.0)));
    // A profile of another schema is refused.
    assert_eq!(q.set(&s, "age", &json!(1)).unwrap_err().rule, "attribute.schema");
    let o = policy(RULE, AMOUNT).evaluate(&Evaluator::new(), &q);
    assert!(matches!(o, Outcome::Failed { .. }));
}

#[test]
fn tallies_count_and_merge() {
    let mut a = Tally::default();
    for o in [
        Outcome::Eligible { amount_fen: 100 },
        Outcome::Eligible { amount_fen: 250 },
        Outcome::Ineligible,
        Outcome::Undetermined { missing: vec![] },
        Outcome::Failed { message: "x".into() },
    ] {
        a.add(&o);
    }
    let mut b = Tally {
        eligible: 1,
        total_fen: i64::MAX,
        ..Tally::default()
    };
    b.merge(&a);
    assert_eq!(
        (a.eligible, a.ineligible, a.undetermined, a.failed, a.total_fen),
        (2, 1, 1, 1, 350)
    );
    assert_eq!((b.eligible, b.total_fen, b.total()), (3, i64::MAX, 6));
    let j = serde_json::to_value(Outcome::Eligible { amount_fen: 5 }).unwrap();
    assert_eq!(j, json!({"outcome": "eligible", "amount_fen": 5}));
}

#[test]
fn bare_programs_run_over_profiles() {
    let ev = Evaluator::new();
    let b = bare_program(RULE).unwrap();
    assert_eq!(
        b.run(&ev, &profile(json!({"age": 85, "hukou.region": "460100"}))),
        Some(true)
    );
    assert_eq!(
        b.run(&ev, &profile(json!({"age": 75, "hukou.region": "460100"}))),
        Some(false)
    );
    assert_eq!(b.run(&ev, &profile(json!({"age": 85}))), None);
    assert!(bare_program("age >").is_err());
}

#[test]
fn shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Compiled>();
    send_sync::<CompiledPolicy>();
    send_sync::<Profile>();
    send_sync::<BareProgram>();
    send::<Evaluator>();
    let p = policy(RULE, AMOUNT);
    let profiles: Vec<Profile> = (0..40)
        .map(|i| profile(json!({"age": 60 + i, "hukou.region": "460100"})))
        .collect();
    let total = std::thread::scope(|s| {
        let handles: Vec<_> = profiles
            .chunks(10)
            .map(|chunk| {
                let p = &p;
                s.spawn(move || {
                    let ev = Evaluator::new();
                    let mut t = Tally::default();
                    for pr in chunk {
                        t.add(&p.evaluate(&ev, pr));
                    }
                    t
                })
            })
            .collect();
        let mut t = Tally::default();
        for h in handles {
            t.merge(&h.join().unwrap());
        }
        t
    });
    assert_eq!((total.eligible, total.ineligible), (20, 20));
}
