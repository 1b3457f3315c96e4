//! The demo province's 免申即享: data resources of the 公安, 残联, 民政, 人社 and 税务
//! departments with generated rows for a few thousand persons and enterprises (and the two
//! demo citizens and the demo enterprise), the paying departments' grants, and five policies
//! dry-run and published by a second officer (four eyes).

use super::*;
use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use yiwang_core::catalog::Action;
use yiwang_core::policies::{AttrType, Audience, PolicyInput, PolicyMode};
use yiwang_core::sharing::{
    Decision, FieldDef, Frequency, RequestInput, RequestStatus, ResourceInput, SharingClass, SharingPolicy,
};
use yiwang_store::sharing::LoadSource;
use yiwang_store::{policies, sharing};

/// Generated subjects (a few thousand persons, a few hundred enterprises).
const PERSONS: usize = 2000;
const ENTERPRISES: usize = 300;

const EDITOR: &str = "system:demo:policy-officer";
const REVIEWER: &str = "system:demo:policy-reviewer";

struct Res {
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    owner: &'static str,
    audience: Audience,
    sharing: SharingClass,
    basis: &'static str,
    fields: &'static [(&'static str, AttrType, &'static str, &'static str)],
}

const RESOURCES: &[Res] = &[
    Res {
        code: "hukou",
        name: "户籍人口信息",
        name_en: "Household registration",
        owner: "海口市公安局",
        audience: Audience::Person,
        sharing: SharingClass::Unconditional,
        basis: "《中华人民共和国户口登记条例》",
        fields: &[(
            "region",
            AttrType::String,
            "户籍地行政区划代码",
            "registered region code",
        )],
    },
    Res {
        code: "disability",
        name: "残疾人证信息",
        name_en: "Disability certificates",
        owner: "海南省残疾人联合会",
        audience: Audience::Person,
        sharing: SharingClass::Conditional,
        basis: "《中华人民共和国残疾人保障法》",
        fields: &[
            ("level", AttrType::Int, "残疾等级", "disability level"),
            ("category", AttrType::String, "残疾类别", "category"),
        ],
    },
    Res {
        code: "dibao",
        name: "最低生活保障对象信息",
        name_en: "Minimum living allowance",
        owner: "海口市民政局",
        audience: Audience::Person,
        sharing: SharingClass::Conditional,
        basis: "《社会救助暂行办法》",
        fields: &[("since_year", AttrType::Int, "纳入低保年份", "in the allowance since")],
    },
    Res {
        code: "startup_loan",
        name: "创业担保贷款信息",
        name_en: "Business start-up guaranteed loans",
        owner: "海口市人力资源和社会保障局",
        audience: Audience::Person,
        sharing: SharingClass::Conditional,
        basis: "《就业促进法》",
        fields: &[
            ("amount", AttrType::Int, "贷款金额（分）", "loan amount (fen)"),
            ("on_time", AttrType::Bool, "按期还款", "repaid on time"),
        ],
    },
    Res {
        code: "employment",
        name: "企业用工与参保信息",
        name_en: "Employment and insurance of enterprises",
        owner: "海口市人力资源和社会保障局",
        audience: Audience::Enterprise,
        sharing: SharingClass::Conditional,
        basis: "《失业保险条例》",
        fields: &[
            ("headcount", AttrType::Int, "参保职工人数", "insured employees"),
            (
                "insured_months",
                AttrType::Int,
                "连续参保月数",
                "months insured without a break",
            ),
            (
                "layoff_rate",
                AttrType::Double,
                "上年裁员率（%）",
                "last year's layoff rate (%)",
            ),
            (
                "unemployment_paid",
                AttrType::Int,
                "上年缴纳失业保险费（分）",
                "unemployment insurance paid last year (fen)",
            ),
        ],
    },
    Res {
        code: "tax_credit",
        name: "纳税信用等级",
        name_en: "Tax credit ratings",
        owner: "国家税务总局海口市税务局",
        audience: Audience::Enterprise,
        sharing: SharingClass::Conditional,
        basis: "《纳税信用管理办法》",
        fields: &[("grade", AttrType::String, "纳税信用级别", "tax credit grade")],
    },
];

struct Pol {
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    payer: &'static str,
    audience: Audience,
    rule: &'static str,
    amount: &'static str,
    basis: &'static str,
    summary: &'static str,
    /// 即申即享: the item applied for in one click (basic code, implementing department);
    /// none for a direct grant (免申即享).
    one_click: Option<(&'static str, &'static str)>,
}

const POLICIES: &[Pol] = &[
    Pol {
        code: "gaoling-jintie",
        name: "高龄老人长寿补贴",
        name_en: "Longevity allowance for the very old",
        payer: "海口市民政局",
        audience: Audience::Person,
        rule: "age >= 80 && hukou.region.startsWith('46')",
        amount: "age >= 100 ? 50000 : (age >= 90 ? 20000 : 10000)",
        basis: "《海南省老年人权益保障条例》",
        summary: "本省户籍、年满八十周岁的老人按月领取长寿补贴：80–89 岁每月 100 元，90–99 岁 200 元，百岁以上 500 元。",
        one_click: None,
    },
    Pol {
        code: "canji-huli",
        name: "重度残疾人护理补贴",
        name_en: "Care allowance for the severely disabled",
        payer: "海口市民政局",
        audience: Audience::Person,
        rule: "hukou.region.startsWith('46') && disability.level <= 2",
        amount: "disability.level == 1 ? 15000 : 10000",
        basis: "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》",
        summary: "持一级、二级残疾人证的本省户籍残疾人按月领取护理补贴：一级每月 150 元，二级 100 元。",
        // 重度残疾人护理补贴 of the 海口市民政局 (demo catalogue).
        one_click: Some(("460500002000", "海口市民政局")),
    },
    Pol {
        code: "chuangye-tiexi",
        name: "创业担保贷款贴息",
        name_en: "Interest subsidy on start-up guaranteed loans",
        payer: "海口市人力资源和社会保障局",
        audience: Audience::Person,
        rule: "startup_loan.amount > 0 && startup_loan.on_time && hukou.region.startsWith('46')",
        amount: "startup_loan.amount * 2 / 100",
        basis: "《就业促进法》第十九条",
        summary: "按期还款的创业担保贷款借款人，按贷款金额的 2% 领取贴息。",
        one_click: None,
    },
    Pol {
        code: "wengang-fanhuan",
        name: "失业保险稳岗返还",
        name_en: "Unemployment insurance refund for keeping jobs",
        payer: "海口市人力资源和社会保障局",
        audience: Audience::Enterprise,
        rule: "employment.insured_months >= 12 && employment.layoff_rate <= 5.5",
        amount: "employment.unemployment_paid * 60 / 100",
        basis: "《失业保险条例》第十七条",
        summary: "连续参保满 12 个月、上年裁员率不高于 5.5% 的企业，返还上年缴纳失业保险费的 60%。",
        one_click: None,
    },
    Pol {
        code: "huiqi-wenjiuye",
        name: "诚信企业稳就业补贴",
        name_en: "Employment subsidy for creditworthy enterprises",
        payer: "海口市人力资源和社会保障局",
        audience: Audience::Enterprise,
        rule: "tax_credit.grade in ['A', 'B'] && employment.headcount >= 10",
        amount: "employment.headcount >= 100 ? 5000000 : employment.headcount * 50000",
        basis: "《海南省促进就业规定》",
        summary: "纳税信用 A、B 级且参保职工不少于 10 人的企业，按每人 500 元领取补贴，最多 5 万元。",
        one_click: None,
    },
];

const CATEGORIES: [&str; 4] = ["视力", "听力", "肢体", "智力"];
/// 纳税信用级别 A, B, M, C, D (《纳税信用管理办法》第十八条).
const GRADES: [&str; 5] = ["A", "B", "M", "C", "D"];

fn purpose(p: &Pol) -> String {
    format!("{}免申即享资格比对", p.name)
}

fn row(key: &str, id: &str, fields: Value) -> Map<String, Value> {
    let mut m = fields.as_object().cloned().unwrap_or_default();
    m.insert(key.into(), Value::from(id));
    m
}

/// The demo province's data resources, their rows, the grants and five published policies.
pub async fn seed_policies(store: &Store) -> Result<()> {
    if policies::policy_by_code(store, POLICIES[0].code).await?.is_some() {
        return Ok(());
    }
    let depts = orgs::departments(&store.read, None).await?;
    let dept = |name: &str| {
        depts
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.id.clone())
            .ok_or_else(|| anyhow::anyhow!("demo department {name} missing"))
    };
    let m = |a: &str| Meta::actor(a);
    for r in RESOURCES {
        if sharing::resource(store, r.code).await?.is_some() {
            continue;
        }
        let input = ResourceInput {
            code: r.code.into(),
            name: r.name.into(),
            name_en: r.name_en.into(),
            audience: r.audience,
            fields: r
                .fields
                .iter()
                .map(|(n, t, zh, en)| FieldDef {
                    name: (*n).into(),
                    ty: *t,
                    zh: (*zh).into(),
                    en: (*en).into(),
                })
                .collect(),
            sharing: r.sharing,
            frequency: Frequency::Daily,
            legal_basis: r.basis.into(),
        };
        sharing::define(store, m("system:demo"), &dept(r.owner)?, input).await?;
    }
    let rows = generated_rows();
    let limits = SharingPolicy::default();
    for r in RESOURCES {
        if let Some(rs) = rows.get(r.code)
            && !rs.is_empty()
        {
            sharing::load(store, m("system:demo"), r.code, rs, LoadSource::Import, &limits).await?;
        }
    }
    let today = yiwang_store::today();
    let (from, until) = (
        today - chrono::Days::new(7),
        NaiveDate::from_ymd_opt(today.year() + 2, 12, 31).unwrap_or(today),
    );
    let services = yiwang_store::catalog::services(store, &Default::default(), yiwang_store::now_ms()).await?;
    for p in POLICIES {
        let payer = dept(p.payer)?;
        let item_code = match p.one_click {
            Some((basic, department)) => Some(
                services
                    .iter()
                    .find(|s| s.basic_code == basic && s.department_name == department)
                    .map(|s| s.code.clone())
                    .ok_or_else(|| anyhow::anyhow!("policy {}: no item {basic} of {department}", p.code))?,
            ),
            None => None,
        };
        // The grants the rule needs, asked for by the payer and approved by each owner.
        let input = PolicyInput {
            code: p.code.into(),
            name: p.name.into(),
            name_en: p.name_en.into(),
            audience: p.audience,
            mode: if item_code.is_some() {
                PolicyMode::OneClick
            } else {
                PolicyMode::Direct
            },
            rule: p.rule.into(),
            amount: p.amount.into(),
            period_from: from,
            period_until: until,
            department_id: payer.clone(),
            legal_basis: p.basis.into(),
            purpose: purpose(p),
            item_code,
            summary: p.summary.into(),
        };
        for r in RESOURCES {
            let fields: Vec<String> = r
                .fields
                .iter()
                .filter(|(f, ..)| {
                    p.rule.contains(&format!("{}.{f}", r.code)) || p.amount.contains(&format!("{}.{f}", r.code))
                })
                .map(|(f, ..)| (*f).to_string())
                .collect();
            if fields.is_empty() {
                continue;
            }
            let g = sharing::request(
                store,
                m("system:demo"),
                &payer,
                RequestInput {
                    resource: r.code.into(),
                    fields,
                    purpose: purpose(p),
                    legal_basis: p.basis.into(),
                    valid_from: from,
                    valid_until: until,
                },
                &limits,
            )
            .await?;
            if g.status == RequestStatus::Requested {
                sharing::decide(store, m("system:demo"), &g.id, Decision::Approve).await?;
            }
        }
        let (pol, _) = policies::save(store, m(EDITOR), input).await?;
        policies::dry_run(store, m(EDITOR), &pol.id).await?;
        policies::act(store, m(EDITOR), &pol.id, Action::Submit).await?;
        policies::act(store, m(REVIEWER), &pol.id, Action::Publish).await?;
        // Found now, before the node serves: its follower then finds nothing changed.
        policies::find(store, &pol.id, None).await?;
    }
    Ok(())
}

/// Rows of every resource: the demo citizens (王小明 severely disabled with a 海口
/// household; 李四 a young 海口 resident), the demo enterprise, and generated subjects
/// drawn from a fixed seed (so every demo has the same figures).
fn generated_rows() -> std::collections::BTreeMap<&'static str, Vec<Map<String, Value>>> {
    let mut out: std::collections::BTreeMap<&'static str, Vec<Map<String, Value>>> = Default::default();
    let mut push = |code: &'static str, r: Map<String, Value>| out.entry(code).or_default().push(r);
    let wang = "11010519491231002X";
    push("hukou", row("id_number", wang, json!({"region": "460108"})));
    push(
        "disability",
        row("id_number", wang, json!({"level": 2, "category": "肢体"})),
    );
    let lisi = demo_id("460100", "19900101", 123);
    push("hukou", row("id_number", &lisi, json!({"region": "460106"})));
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_2026);
    let districts = ["460105", "460106", "460107", "460108", "460202", "460203"];
    for i in 0..PERSONS {
        let year = 1920 + rng.random_range(0..86);
        let birth = format!("{year}{:02}{:02}", rng.random_range(1..=12), rng.random_range(1..=28));
        let id = demo_id("460100", &birth, 200 + (i % 700) as u32);
        let region = if rng.random_bool(0.9) {
            districts[i % districts.len()]
        } else {
            "440106"
        };
        push("hukou", row("id_number", &id, json!({ "region": region })));
        if rng.random_bool(0.06) {
            push(
                "disability",
                row(
                    "id_number",
                    &id,
                    json!({"level": rng.random_range(1..=4), "category": CATEGORIES[i % 4]}),
                ),
            );
        }
        if rng.random_bool(0.03) {
            push(
                "dibao",
                row("id_number", &id, json!({"since_year": 2015 + rng.random_range(0..11)})),
            );
        }
        if (1975..2004).contains(&year) && rng.random_bool(0.04) {
            push(
                "startup_loan",
                row(
                    "id_number",
                    &id,
                    json!({"amount": rng.random_range(5..=30) * 1_000_000, "on_time": rng.random_bool(0.85)}),
                ),
            );
        }
    }
    let yefeng = "91460100MA5T00001";
    let yefeng = format!("{yefeng}{}", yiwang_core::ids::uscc_check_char(yefeng).expect("valid"));
    push(
        "employment",
        row(
            "uscc",
            &yefeng,
            json!({"headcount": 36, "insured_months": 40, "layoff_rate": 2.8, "unemployment_paid": 1_240_000}),
        ),
    );
    push("tax_credit", row("uscc", &yefeng, json!({"grade": "A"})));
    for i in 0..ENTERPRISES {
        let body = format!("91460100{:09}", 700_000 + i);
        let uscc = format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"));
        let headcount = rng.random_range(1..300);
        push(
            "employment",
            row(
                "uscc",
                &uscc,
                json!({
                    "headcount": headcount,
                    "insured_months": rng.random_range(0..120),
                    "layoff_rate": (rng.random_range(0..120) as f64) / 10.0,
                    "unemployment_paid": headcount * rng.random_range(20_000..60_000),
                }),
            ),
        );
        if rng.random_bool(0.8) {
            push(
                "tax_credit",
                row("uscc", &uscc, json!({"grade": GRADES[rng.random_range(0..5)]})),
            );
        }
    }
    // Generated serials may repeat a birth date: one row a subject per load.
    for rows in out.values_mut() {
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| {
            let k = r
                .get("id_number")
                .or_else(|| r.get("uscc"))
                .cloned()
                .unwrap_or_default();
            seen.insert(k.to_string())
        });
    }
    out
}
