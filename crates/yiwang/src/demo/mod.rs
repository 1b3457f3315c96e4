//! The demo province: Hainan (460000) with 海口 and 三亚, districts, sample townships and
//! communities, departments, service halls and windows, plus the other seed regions for
//! cross-region work (信阳, 莆田, 合肥, 丹东). Everything goes through the ordinary write
//! path (ledger events, projections) and is created only if missing, so `--demo` on an
//! existing data directory reuses what is there.
//!
//! Region codes down to county level are GB/T 2260 codes. The township and community
//! codes and names, the departments' credit codes (valid check characters, but not the
//! real registrations) and the hall addresses are illustrative demo data.

use anyhow::Result;
use std::sync::Arc;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature, HallInput, WindowInput, WindowKind};
use yiwang_core::regions::NewRegion;
use yiwang_store::{Command, Meta, Store, StoreError, orgs, regions};

mod policies;
pub use policies::*;

const REGIONS: &[(&str, &str, &str, Option<&str>)] = &[
    ("460000", "海南省", "Hainan Province", None),
    ("460100", "海口市", "Haikou", Some("460000")),
    ("460105", "秀英区", "Xiuying District", Some("460100")),
    ("460106", "龙华区", "Longhua District", Some("460100")),
    ("460107", "琼山区", "Qiongshan District", Some("460100")),
    ("460108", "美兰区", "Meilan District", Some("460100")),
    ("460200", "三亚市", "Sanya", Some("460000")),
    ("460202", "海棠区", "Haitang District", Some("460200")),
    ("460203", "吉阳区", "Jiyang District", Some("460200")),
    ("460204", "天涯区", "Tianya District", Some("460200")),
    ("460205", "崖州区", "Yazhou District", Some("460200")),
    ("469001", "五指山市", "Wuzhishan", Some("460000")),
    ("469002", "琼海市", "Qionghai", Some("460000")),
    ("460106001", "中山街道", "Zhongshan Subdistrict", Some("460106")),
    ("460106002", "滨海街道", "Binhai Subdistrict", Some("460106")),
    ("460106100", "新坡镇", "Xinpo Town", Some("460106")),
    ("460203001", "河东街道", "Hedong Subdistrict", Some("460203")),
    ("460106001001", "博爱社区", "Bo'ai Community", Some("460106001")),
    ("460106100201", "新坡村", "Xinpo Village", Some("460106100")),
    ("410000", "河南省", "Henan Province", None),
    ("411500", "信阳市", "Xinyang", Some("410000")),
    ("350000", "福建省", "Fujian Province", None),
    ("350300", "莆田市", "Putian", Some("350000")),
    ("340000", "安徽省", "Anhui Province", None),
    ("340100", "合肥市", "Hefei", Some("340000")),
    ("210000", "辽宁省", "Liaoning Province", None),
    ("210600", "丹东市", "Dandong", Some("210000")),
];

/// (name, region, nature).
const DEPARTMENTS: &[(&str, &str, DepartmentNature)] = &[
    ("海南省政务服务中心", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省市场监督管理局", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省公安厅", "460000", DepartmentNature::StatutoryAuthority),
    (
        "海南省人力资源和社会保障厅",
        "460000",
        DepartmentNature::StatutoryAuthority,
    ),
    ("海南省卫生健康委员会", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省民政厅", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省教育厅", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省自然资源和规划厅", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省住房和城乡建设厅", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省交通运输厅", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省医疗保障局", "460000", DepartmentNature::StatutoryAuthority),
    ("海南省残疾人联合会", "460000", DepartmentNature::AuthorisedOrganisation),
    ("海口市行政审批服务局", "460100", DepartmentNature::StatutoryAuthority),
    ("海口市市场监督管理局", "460100", DepartmentNature::StatutoryAuthority),
    ("海口市公安局", "460100", DepartmentNature::StatutoryAuthority),
    (
        "海口市人力资源和社会保障局",
        "460100",
        DepartmentNature::StatutoryAuthority,
    ),
    ("海口市卫生健康委员会", "460100", DepartmentNature::StatutoryAuthority),
    (
        "海口市不动产登记中心",
        "460100",
        DepartmentNature::AuthorisedOrganisation,
    ),
    ("海口市医疗保障局", "460100", DepartmentNature::StatutoryAuthority),
    (
        "海口市龙华区政务服务中心",
        "460106",
        DepartmentNature::StatutoryAuthority,
    ),
    ("三亚市行政审批服务局", "460200", DepartmentNature::StatutoryAuthority),
    ("三亚市市场监督管理局", "460200", DepartmentNature::StatutoryAuthority),
    ("三亚市公安局", "460200", DepartmentNature::StatutoryAuthority),
    // Added for the demo catalogue's 一件事 (STANDARDS §5): appended so that the earlier
    // departments keep their demo credit codes.
    ("海口市民政局", "460100", DepartmentNature::StatutoryAuthority),
    ("海口市残疾人联合会", "460100", DepartmentNature::AuthorisedOrganisation),
    ("海口市消防救援支队", "460100", DepartmentNature::StatutoryAuthority),
    ("海口市综合行政执法局", "460100", DepartmentNature::StatutoryAuthority),
    ("海口市水务局", "460100", DepartmentNature::StatutoryAuthority),
    (
        "国家税务总局海口市税务局",
        "460100",
        DepartmentNature::StatutoryAuthority,
    ),
    (
        "海口市住房公积金管理局",
        "460100",
        DepartmentNature::AuthorisedOrganisation,
    ),
    ("海口市供水服务中心", "460100", DepartmentNature::EntrustedOrganisation),
    ("海口供电局", "460100", DepartmentNature::EntrustedOrganisation),
    ("海口市燃气服务中心", "460100", DepartmentNature::EntrustedOrganisation),
    ("三亚市卫生健康委员会", "460200", DepartmentNature::StatutoryAuthority),
    (
        "三亚市人力资源和社会保障局",
        "460200",
        DepartmentNature::StatutoryAuthority,
    ),
];

/// (name, region, address, phone).
const HALLS: &[(&str, &str, &str, &str)] = &[
    (
        "海南省政务服务中心",
        "460000",
        "海口市美兰区国兴大道（示例地址）",
        "0898-12345",
    ),
    (
        "海口市政务服务中心",
        "460100",
        "海口市龙华区滨海大道（示例地址）",
        "0898-12345",
    ),
    (
        "三亚市政务服务中心",
        "460200",
        "三亚市吉阳区迎宾路（示例地址）",
        "0898-12345",
    ),
];

const HOURS: &str = "周一至周五 9:00-12:00，13:30-17:00（法定节假日除外）";

/// A demo credit code for the i-th department of a region: 11 (机关) + region + serial,
/// with the GB 32100 check character.
pub fn demo_uscc(region: &str, i: usize) -> String {
    let body = format!("11{region}{:09}", 100 + i);
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"))
}

fn created(r: Result<yiwang_store::Written, StoreError>) -> Result<()> {
    match r {
        Ok(_)
        | Err(StoreError::Domain(yiwang_core::DomainError {
            kind: yiwang_core::ErrorKind::Conflict,
            ..
        })) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The demo province's catalogue: 52 basic entries and 73 implementation items of 28
/// departments, in our interchange format. Legal bases cite real laws; codes and
/// departments are the demo's.
pub const CATALOG: &str = include_str!("../../demo/catalog.json");

/// Imports the demo catalogue as a demo editor and publishes it as a demo reviewer (two
/// actors, so the four-eyes rule holds here too); basic entries first. Idempotent.
pub async fn seed_catalog(store: &Store) -> Result<usize> {
    use yiwang_core::catalog::{Action, CatalogDoc, EntryKind, VersionState};
    use yiwang_store::catalog::{self as cat, EntryFilter, ImportOptions};
    let doc: CatalogDoc = serde_json::from_str(CATALOG)?;
    let opts = ImportOptions {
        dry_run: false,
        submit: true,
        region_code: "460000".into(),
        chunk: 50,
    };
    let r = cat::import(store, Meta::actor("system:demo-editor"), &doc, &opts, &|_, _, _| {}).await?;
    if !r.ok {
        let first: Vec<String> = r
            .problems
            .iter()
            .take(5)
            .map(|p| format!("{}: {}", p.path, p.en))
            .collect();
        anyhow::bail!(
            "the demo catalogue has {} problems: {}",
            r.problems.len(),
            first.join("; ")
        );
    }
    let mut published = 0;
    for kind in [EntryKind::Basic, EntryKind::Item] {
        let f = EntryFilter {
            kind: Some(kind),
            open_state: Some(VersionState::Submitted),
            ..Default::default()
        };
        for e in cat::entries(store, &f).await? {
            store
                .write(
                    Meta::actor("system:demo-reviewer"),
                    Command::Catalog(Box::new(cat::Cmd::Act {
                        entry_id: e.id,
                        action: Action::Publish,
                    })),
                )
                .await?;
            published += 1;
        }
    }
    Ok(published)
}

/// Seeds (or completes) the demo province. Returns how many things were created.
pub async fn seed(store: &Arc<Store>) -> Result<usize> {
    let m = || Meta::actor("system:demo");
    let before = store.head().await?;
    for (code, name, en, parent) in REGIONS {
        if regions::get(&store.read, code).await?.is_none() {
            let input = NewRegion {
                code: (*code).into(),
                name: (*name).into(),
                name_en: Some((*en).into()),
                parent_code: parent.map(Into::into),
            };
            created(store.write(m(), Command::Regions(regions::Cmd::Create(input))).await)?;
        }
    }
    let mut police = None;
    for (i, (name, region, nature)) in DEPARTMENTS.iter().enumerate() {
        let uscc = demo_uscc(region, i);
        let existing = orgs::department_by_uscc(&store.read, &uscc).await?;
        let id = match existing {
            Some(d) => d.id,
            None => {
                let input = DepartmentInput {
                    name: (*name).into(),
                    uscc,
                    region_code: (*region).into(),
                    nature: *nature,
                    parent_id: None,
                    phone: Some("0898-12345".into()),
                    address: None,
                };
                let w = store
                    .write(m(), Command::Orgs(orgs::Cmd::CreateDepartment(input)))
                    .await?;
                w.value["id"].as_str().unwrap_or_default().to_string()
            }
        };
        if *name == "海口市公安局" {
            police = Some(id);
        }
    }
    let existing_halls = orgs::halls(&store.read).await?;
    for (name, region, address, phone) in HALLS {
        let hall_id = match existing_halls.iter().find(|h| h.name == *name) {
            Some(h) => h.id.clone(),
            None => {
                let input = HallInput {
                    name: (*name).into(),
                    region_code: (*region).into(),
                    address: (*address).into(),
                    hours: HOURS.into(),
                    phone: Some((*phone).into()),
                };
                let w = store.write(m(), Command::Orgs(orgs::Cmd::CreateHall(input))).await?;
                w.value["id"].as_str().unwrap_or_default().to_string()
            }
        };
        let mut windows: Vec<(String, &str, WindowKind, Option<String>)> = (1..=4)
            .map(|n| (format!("A{n:02}"), "综合受理窗口", WindowKind::Comprehensive, None))
            .collect();
        windows.push(("B01".into(), "出件窗口", WindowKind::Pickup, None));
        windows.push(("C01".into(), "帮办代办窗口", WindowKind::Assistance, None));
        if *region == "460100" {
            windows.push(("D01".into(), "公安户政专窗", WindowKind::Dedicated, police.clone()));
        }
        let have = orgs::windows(&store.read, &hall_id).await?;
        for (number, wname, kind, dept) in windows {
            if have.iter().any(|w| w.number == number) {
                continue;
            }
            let input = WindowInput {
                number,
                name: wname.into(),
                kind,
                department_id: dept,
            };
            created(
                store
                    .write(
                        m(),
                        Command::Orgs(orgs::Cmd::CreateWindow {
                            hall_id: hall_id.clone(),
                            input,
                        }),
                    )
                    .await,
            )?;
        }
    }
    seed_catalog(store).await?;
    seed_bundles(store).await?;
    seed_hotline(store).await?;
    Ok((store.head().await? - before) as usize)
}

/// The demo 12345 dispatch catalogue (派单目录): matters of 海口 by the duty of its units.
pub async fn seed_hotline(store: &Arc<Store>) -> Result<()> {
    use yiwang_store::hotline;
    if hotline::catalog(store).await?.0 > 0 {
        return Ok(());
    }
    let depts = orgs::departments(&store.read, None).await?;
    let id = |name: &str| depts.iter().find(|d| d.name == name).map(|d| d.id.clone());
    let lines: [(&str, &str, &str, &[&str]); 5] = [
        (
            "water_supply",
            "供水排水",
            "海口市水务局",
            &["停水", "自来水", "水压", "漏水", "排水", "积水"],
        ),
        (
            "city_management",
            "市容、噪音与违法建设",
            "海口市综合行政执法局",
            &["噪音", "施工", "占道", "违建", "违章搭建", "扰民"],
        ),
        (
            "wages_social_security",
            "欠薪与社保",
            "海口市人力资源和社会保障局",
            &["欠薪", "工资", "社保", "劳动合同"],
        ),
        (
            "market_order",
            "价格、食品与消费",
            "海口市市场监督管理局",
            &["价格", "食品", "过期", "假冒", "消费"],
        ),
        (
            "medical_insurance",
            "医保",
            "海口市医疗保障局",
            &["医保", "报销", "参保"],
        ),
    ];
    let mut entries = vec![];
    for (matter, name, dept, words) in lines {
        let Some(d) = id(dept) else { continue };
        entries.push(yiwang_core::hotline::DispatchEntry {
            matter: matter.into(),
            name: name.into(),
            region_code: "460100".into(),
            department_id: d,
            keywords: words.iter().map(|w| w.to_string()).collect(),
        });
    }
    hotline::set_catalog(store, Meta::actor("system:demo"), entries).await?;
    seed_knowledge(store).await?;
    seed_tickets(store).await
}

/// The matters the demo's history is made of: category, region, words, the catalogue's
/// matter that handles it (none: an enquiry answered at once).
const MATTERS: &[(&str, &str, &str)] = &[
    ("complaint", "460108", "小区停水一整天，没有提前通知"),
    ("help", "460106", "楼道水管漏水，地下室积水严重"),
    ("complaint", "460107", "工地夜间施工噪音扰民，影响休息"),
    ("complaint", "460105", "商铺占道经营，人行道无法通行"),
    ("report", "460106", "超市销售过期食品，价格标签不清"),
    ("help", "460108", "公司拖欠三个月工资，老板失联"),
    ("consult", "460106", "社保卡丢失怎么补办"),
    ("consult", "460107", "异地就医怎么备案报销"),
    ("suggestion", "460105", "建议完善小区周边排水设施，雨天路面积水"),
    ("consult", "460202", "个体工商户营业执照怎么办"),
    ("complaint", "460108", "装修噪音从早到晚，物业不管"),
    ("help", "460107", "自来水水压太低，高层用不上水"),
];

/// A few hundred tickets over the last six weeks so the figures have shape: a handful a day
/// of the matters above by phone (each with its call: rang, answered after a few seconds,
/// ended; a few calls abandoned), more water complaints this week and a burst of them in
/// 美兰区 today. Enquiries are answered at once; the rest go to the unit the catalogue
/// names, which answers, and the call-back closes them. Only on a demo without tickets.
async fn seed_tickets(store: &Arc<Store>) -> Result<()> {
    let none: Option<(String,)> = sqlx::query_as("SELECT id FROM tickets LIMIT 1")
        .fetch_optional(&store.read)
        .await?;
    if none.is_some() {
        return Ok(());
    }
    let words = Arc::new(yiwang_search::SearchIndex::in_ram(
        yiwang_search::Synonyms::builtin(),
        store.config.catalog.clone(),
    )?);
    let now = yiwang_store::now_ms();
    let today = yiwang_store::date_of(now);
    let mut seed: u64 = 20_261_207;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut plan: Vec<Generated> = vec![];
    let mut add = |at: i64, m: usize, next: &mut dyn FnMut(u64) -> u64| {
        let k = plan.len();
        plan.push(Generated {
            k,
            at: at.min(now - 60_000),
            m,
            wait: 3_000 + next(20_000) as i64,
            resolved: next(6) != 0,
            basic: next(5) == 0,
        });
    };
    for back in (0..42u64).rev() {
        let day_start = yiwang_store::day_start_ms(today - chrono::Days::new(back));
        let mut n = 3 + next(3);
        if back < 7 {
            n += 1;
        }
        for _ in 0..n {
            let m = next(MATTERS.len() as u64) as usize;
            // Water complaints rise this week.
            let m = if back < 5 && next(3) == 0 { 0 } else { m };
            let at = day_start + (8 * 3_600 + next(9 * 3_600) as i64) * 1_000;
            add(at, m, &mut next);
        }
    }
    // A burst of water complaints in 美兰区 this morning (a spike).
    for i in 0..12i64 {
        add(
            yiwang_store::day_start_ms(today) + (7 * 3_600 + i * 300) * 1_000,
            0,
            &mut next,
        );
    }
    // Sixteen at a time: the writer commits them together.
    for chunk in plan.chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for g in chunk.iter().cloned() {
            set.spawn(generated_ticket(store.clone(), words.clone(), g, now));
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
    }
    Ok(())
}

/// One ticket of the demo's history, its randomness drawn beforehand.
#[derive(Clone)]
struct Generated {
    k: usize,
    at: i64,
    m: usize,
    wait: i64,
    resolved: bool,
    basic: bool,
}

async fn generated_ticket(
    store: Arc<Store>,
    words: Arc<yiwang_search::SearchIndex>,
    g: Generated,
    now: i64,
) -> Result<()> {
    use yiwang_core::hotline::{Action, CallEventInput, Party, Satisfaction, TicketInput};
    use yiwang_store::hotline;
    let store = &*store;
    let (k, at, m) = (g.k, g.at, g.m);
    let agent = Meta::actor("system:demo-agent");
    let (category, region, content) = MATTERS[m];
    let call = format!("demo-call-{k}");
    // The call: rang, answered within a few seconds (now and then later than 15 s), ended.
    for (event, t) in [("ringing", at - g.wait - 60_000), ("answered", at - 60_000)] {
        let e = CallEventInput {
            call_id: call.clone(),
            event: event.into(),
            at: Some(t),
            agent: Some("8001".into()),
            ..Default::default()
        };
        hotline::call_event(store, agent.clone(), &e, t).await?;
    }
    let input = TicketInput {
        category: category.into(),
        region_code: region.into(),
        content: content.into(),
        caller_name: "演示来电人".into(),
        caller_phone: format!("1380000{:04}", k % 10_000),
        request_id: Some(format!("demo-history-{k}")),
        ..Default::default()
    };
    let how = hotline::Received {
        channel: yiwang_core::hotline::Channel::Phone,
        channel_from_input: false,
        by: "system:demo-agent".into(),
        centre_region: "460000".into(),
        terms: yiwang_core::hotline::matter_terms(words.tokens(content)),
        at: Some(at),
    };
    let w = hotline::receive(store, agent.clone(), &input, how).await?;
    let id = w.value["id"].as_str().unwrap_or_default().to_string();
    let end = CallEventInput {
        call_id: call.clone(),
        event: "ended".into(),
        at: Some(at + 120_000),
        ticket_id: Some(id.clone()),
        recording_ref: Some(format!("rec/{call}.wav")),
        ..Default::default()
    };
    hotline::call_event(store, agent.clone(), &end, at + 120_000).await?;
    if k % 17 == 0 && at + 640_000 < now {
        // An abandoned call now and then.
        for (event, t) in [("ringing", at + 600_000), ("ended", at + 640_000)] {
            let e = CallEventInput {
                call_id: format!("{call}-a"),
                event: event.into(),
                at: Some(t),
                ..Default::default()
            };
            hotline::call_event(store, agent.clone(), &e, t).await?;
        }
    }
    let ticket = hotline::ticket(store, &id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo ticket {id}"))?;
    let unit = hotline::suggestions(store, &ticket)
        .await?
        .first()
        .map(|e| e.department_id.clone());
    let steps: Vec<(Party, Action)> = match (category, unit) {
        ("consult", _) => vec![(
            Party::Centre,
            Action::Answer {
                answer: "已按知识库口径答复。".into(),
                article_id: None,
            },
        )],
        (_, None) => vec![],
        (_, Some(d)) => vec![
            (
                Party::Centre,
                Action::Dispatch {
                    department_id: d,
                    assisting: vec![],
                    note: None,
                },
            ),
            (
                Party::Unit,
                Action::Reply {
                    reply: "已核实处理，并向来电人说明。".into(),
                },
            ),
            (
                Party::Centre,
                Action::CallBack {
                    reached: true,
                    resolved: g.resolved,
                    satisfaction: if g.basic {
                        Satisfaction::Basic
                    } else {
                        Satisfaction::Satisfied
                    },
                    note: None,
                },
            ),
        ],
    };
    for (party, action) in steps {
        hotline::act(store, agent.clone(), &id, party, action).await?;
    }
    Ok(())
}

/// The demo 12345 knowledge base: answers the Haikou departments give to common questions,
/// written by a demo editor and published by a demo reviewer (four eyes). The service
/// guides are searched beside them.
async fn seed_knowledge(store: &Store) -> Result<()> {
    use yiwang_store::hotline;
    if !hotline::articles(store, None, 1).await?.is_empty() {
        return Ok(());
    }
    let depts = orgs::departments(&store.read, None).await?;
    let id = |name: &str| depts.iter().find(|d| d.name == name).map(|d| d.id.clone());
    let articles: [(&str, &str, &str, &[&str]); 8] = [
        (
            "海口市水务局",
            "自来水过户需要什么材料？",
            "携带新旧户主身份证原件、房屋产权证明（不动产权证或购房合同）到供水营业厅办理，当场办结；也可在供水公司公众号上传材料网上办理，1 个工作日内完成。",
            &["过户", "更名", "自来水"],
        ),
        (
            "海口市水务局",
            "计划停水在哪里查询？",
            "计划停水提前 24 小时在供水公司网站、公众号和受影响小区公告栏发布；突发停水可拨打供水服务热线询问抢修进度。",
            &["停水", "停水通知", "供水"],
        ),
        (
            "海口市人力资源和社会保障局",
            "社保卡丢失怎么补办？",
            "先拨打社保卡服务热线或在海南社保 App 挂失，再携带身份证到任一合作银行网点或社保服务大厅补办，即时制卡的网点当场领卡。",
            &["社保卡", "补卡", "挂失"],
        ),
        (
            "海口市人力资源和社会保障局",
            "被拖欠工资怎么办？",
            "可向用人单位所在地的劳动保障监察机构投诉，提供劳动合同、考勤、工资条等证据；也可向劳动人事争议仲裁委员会申请仲裁。",
            &["欠薪", "工资", "拖欠"],
        ),
        (
            "海口市医疗保障局",
            "异地就医怎么备案？",
            "通过国家医保服务平台 App 或海南医保公众号办理异地就医备案，备案后在就医地定点医院直接结算；急诊可先就医后补备案。",
            &["异地就医", "备案", "报销"],
        ),
        (
            "海口市市场监督管理局",
            "买到过期食品怎么投诉？",
            "保留购物凭证和商品，向经营者所在地市场监管部门投诉或拨打 12315；经营者销售过期食品的，消费者可要求退一赔十。",
            &["过期", "食品", "投诉", "赔偿"],
        ),
        (
            "海口市综合行政执法局",
            "夜间施工几点以后禁止？",
            "噪声敏感建筑物集中区域内，夜间（22 时至次日 6 时）禁止产生噪声的建筑施工，因生产工艺要求等必须连续施工的须取得证明并公告附近居民。",
            &["噪音", "施工", "夜间", "扰民"],
        ),
        (
            "海口市市场监督管理局",
            "个体工商户营业执照怎么办？",
            "登录海南政务服务网或到政务服务中心市场监管窗口申请，提交经营者身份证明和经营场所信息，材料齐全的当场或 1 个工作日内发照，不收费。",
            &["营业执照", "个体户", "开店"],
        ),
    ];
    for (dept, title, body, words) in articles {
        let Some(d) = id(dept) else { continue };
        let w = hotline::save_article(
            store,
            Meta::actor("system:demo-editor"),
            None,
            &yiwang_core::hotline::ArticleInput {
                title: title.into(),
                body: body.into(),
                department_id: d,
                region_code: "460100".into(),
                keywords: words.iter().map(|w| w.to_string()).collect(),
                ..Default::default()
            },
        )
        .await?;
        let article = w.value["article_id"].as_str().unwrap_or_default().to_string();
        hotline::review_article(store, Meta::actor("system:demo-reviewer"), &article, 1, true, None).await?;
    }
    Ok(())
}

/// The demo province's 一件事 (STANDARDS §5): 开办餐饮店, 新生儿出生 and 残疾人服务 of 海口,
/// members named by basic code and department, lead departments by name.
pub const BUNDLES: &str = include_str!("../../demo/bundles.json");

/// Defines the demo bundles as a demo editor and publishes them as a demo reviewer (four
/// eyes). Only bundles not yet defined are created.
pub async fn seed_bundles(store: &Store) -> Result<()> {
    use yiwang_core::catalog::Action;
    use yiwang_store::bundles;
    let defs: Vec<serde_json::Value> = serde_json::from_str(BUNDLES)?;
    let services = yiwang_store::catalog::services(store, &Default::default(), yiwang_store::now_ms()).await?;
    let depts = orgs::departments(&store.read, None).await?;
    for mut d in defs {
        let code = d["code"].as_str().unwrap_or_default().to_string();
        if bundles::bundle_by_code(store, &code).await?.is_some() {
            continue;
        }
        let lead = d["lead_department"].as_str().unwrap_or_default().to_string();
        let lead = depts
            .iter()
            .find(|x| x.name == lead)
            .ok_or_else(|| anyhow::anyhow!("bundle {code}: no department {lead}"))?;
        let obj = d.as_object_mut().expect("a bundle is an object");
        obj.remove("lead_department");
        obj.insert("lead_department_id".into(), lead.id.clone().into());
        for m in obj["members"].as_array_mut().into_iter().flatten() {
            let basic = m["basic_code"].as_str().unwrap_or_default().to_string();
            let dept = m["department"].as_str().unwrap_or_default().to_string();
            let svc = services
                .iter()
                .find(|s| s.basic_code == basic && s.department_name == dept)
                .ok_or_else(|| anyhow::anyhow!("bundle {code}: no item {basic} of {dept}"))?;
            let m = m.as_object_mut().expect("a member is an object");
            m.remove("basic_code");
            m.remove("department");
            m.insert("item_code".into(), svc.code.clone().into());
        }
        let doc: yiwang_core::bundles::BundleDoc = serde_json::from_value(d)?;
        let w = bundles::save(store, Meta::actor("system:demo-editor"), doc, None).await?;
        let id = w.value["bundle"]["id"].as_str().unwrap_or_default().to_string();
        bundles::act(store, Meta::actor("system:demo-editor"), &id, Action::Submit).await?;
        bundles::act(store, Meta::actor("system:demo-reviewer"), &id, Action::Publish).await?;
    }
    Ok(())
}

/// The password of every demo account (demo mode only; printed at start).
pub const DEMO_PASSWORD: &str = "Demo#2026yw";

/// A demo login, printed by `serve --demo`.
pub struct DemoAccount {
    pub role: String,
    pub login: String,
    pub totp_secret: Option<String>,
}

/// A valid demo resident ID for a birth date and serial (GB 11643 check character).
fn demo_id(region: &str, birth: &str, serial: u32) -> String {
    let body = format!("{region}{birth}{serial:03}");
    format!(
        "{body}{}",
        yiwang_core::ids::resident_id_check_char(&body).expect("digits")
    )
}

/// Demo accounts for every role (staff of 海口市行政审批服务局, a provincial administrator,
/// a Sanya clerk, the market regulator's catalogue editor, licence officer, reviewer and
/// approver), two citizens and an enterprise with its agent. Staff get a fresh TOTP
/// secret at every demo start (printed: demo mode only).
pub async fn seed_accounts(store: &Store) -> Result<Vec<DemoAccount>> {
    use yiwang_store::accounts;
    let meta = || Meta::actor("system:demo");
    let depts = orgs::departments(&store.read, None).await?;
    let dept = |name: &str| depts.iter().find(|d| d.name == name).map(|d| d.id.clone());
    let haikou = dept("海口市行政审批服务局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?;
    let province = dept("海南省政务服务中心").ok_or_else(|| anyhow::anyhow!("demo department missing"))?;
    let sanya = depts
        .iter()
        .find(|d| d.region_code == "460200")
        .map(|d| d.id.clone())
        .unwrap_or(province.clone());
    let staff: Vec<(&str, &str, &str, String)> = vec![
        ("window_clerk", "hk.clerk", "陈小窗", haikou.clone()),
        ("reviewer", "hk.reviewer", "林审查", haikou.clone()),
        ("approver", "hk.approver", "黄决定", haikou.clone()),
        ("catalog_manager", "hk.catalog", "吴事项", haikou.clone()),
        ("hotline_agent", "hk.hotline", "郑热线", haikou.clone()),
        ("supervisor", "hk.supervisor", "周监督", haikou.clone()),
        ("admin", "hk.admin", "冯管理", haikou.clone()),
        ("admin", "hn.admin", "省管理员", province.clone()),
        ("supervisor", "hn.supervisor", "省监督员", province.clone()),
        ("catalog_manager", "hn.catalog", "省事项管理员", province),
        (
            "catalog_editor",
            "hk.scjg",
            "市场监管事项员",
            dept("海口市市场监督管理局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?,
        ),
        ("window_clerk", "sy.clerk", "三亚窗口", sanya),
        (
            "licence_officer",
            "hk.licence",
            "市场监管证照员",
            dept("海口市市场监督管理局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?,
        ),
        // The back office of the market regulator (受审分离: the window takes, they decide).
        (
            "reviewer",
            "hk.scjg.reviewer",
            "市场监管审查员",
            dept("海口市市场监督管理局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?,
        ),
        (
            "reviewer",
            "hk.scjg.reviewer2",
            "市场监管审查员二",
            dept("海口市市场监督管理局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?,
        ),
        (
            "approver",
            "hk.scjg.approver",
            "市场监管审批员",
            dept("海口市市场监督管理局").ok_or_else(|| anyhow::anyhow!("demo department missing"))?,
        ),
    ];
    // The back offices of the departments the demo's 一件事 join (a reviewer and an approver
    // each; the region's window clerks take and deliver for all of them, 受审分离).
    let mut staff: Vec<(String, String, String, String)> = staff
        .into_iter()
        .map(|(r, l, n, d)| (r.to_string(), l.to_string(), n.to_string(), d))
        .collect();
    for (dept_name, short, label) in [
        ("海口市消防救援支队", "xf", "消防"),
        ("海口市综合行政执法局", "zf", "执法"),
        ("海口市水务局", "sw", "水务"),
        ("海口市卫生健康委员会", "wj", "卫健"),
        ("海口市公安局", "ga", "公安"),
        ("海口市医疗保障局", "yb", "医保"),
        ("海口市人力资源和社会保障局", "rs", "人社"),
        ("海口市残疾人联合会", "cl", "残联"),
        ("海口市民政局", "mz", "民政"),
    ] {
        let Some(id) = dept(dept_name) else { continue };
        // 12345: the units the demo dispatch catalogue names get a handling officer each.
        if matches!(short, "sw" | "zf" | "rs") {
            staff.push((
                "hotline_officer".into(),
                format!("hk.{short}.hotline"),
                format!("{label}热线承办员"),
                id.clone(),
            ));
        }
        for (role, what) in [("reviewer", "审查员"), ("approver", "审批员")] {
            staff.push((
                role.into(),
                format!("hk.{short}.{role}"),
                format!("{label}{what}"),
                id.clone(),
            ));
        }
    }
    // 免申即享: the 民政局's policy officer, a reviewer of 海口 who publishes, and the
    // provincial 残联's data officer who answers requests for its data.
    for (role, login, name, dept_name) in [
        ("policy_officer", "hk.policy", "民政政策专员", "海口市民政局"),
        (
            "policy_reviewer",
            "hk.policy.review",
            "政策审核员",
            "海口市行政审批服务局",
        ),
        ("data_officer", "hn.cl.data", "残联数据专员", "海南省残疾人联合会"),
    ] {
        let id = dept(dept_name).ok_or_else(|| anyhow::anyhow!("demo department missing"))?;
        staff.push((role.into(), login.into(), name.into(), id));
    }
    let mut out = vec![];
    for (role, login, name, dept_id) in staff {
        let id = match accounts::account_by_login(store, &login).await? {
            Some(a) => a.id,
            None => {
                let input = yiwang_core::accounts::StaffInput {
                    login: login.clone(),
                    name,
                    department_id: dept_id,
                    roles: vec![role.clone()],
                    password: DEMO_PASSWORD.into(),
                };
                let v = accounts::create_staff(store, meta(), &yiwang_core::access::Actor::Root, &input).await?;
                v["account_id"].as_str().unwrap_or_default().to_string()
            }
        };
        let secret = yiwang_crypto::totp::generate_secret();
        yiwang_store::auth::totp_set_known(store, &id, &secret).await?;
        out.push(DemoAccount {
            role,
            login,
            totp_secret: Some(yiwang_crypto::totp::base32(&secret)),
        });
    }
    let people = [
        ("王小明", "11010519491231002X".to_string(), "13800138000"),
        ("李四", demo_id("460100", "19900101", 123), "13900139000"),
    ];
    let mut wang = None;
    for (name, idn, phone) in &people {
        let pid = match accounts::person_by_id_number(store, idn).await? {
            Some(p) => p.id,
            None => {
                let input = yiwang_core::accounts::PersonInput {
                    name: (*name).into(),
                    id_number: idn.clone(),
                    phone: (*phone).into(),
                    address: Some("海南省海口市美兰区（示例地址）".into()),
                    password: DEMO_PASSWORD.into(),
                    sms_code: None,
                };
                accounts::register_person(store, meta(), &input, None).await?.person_id
            }
        };
        if wang.is_none() {
            wang = Some(pid);
        }
        out.push(DemoAccount {
            role: "person".into(),
            login: (*phone).into(),
            totp_secret: None,
        });
    }
    let uscc_body = "91460100MA5T00001";
    let uscc = format!(
        "{uscc_body}{}",
        yiwang_core::ids::uscc_check_char(uscc_body).expect("valid")
    );
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM legal_persons WHERE uscc = $1")
        .bind(&uscc)
        .fetch_optional(&store.read)
        .await?;
    if exists.is_none()
        && let Some(agent) = &wang
    {
        let input = yiwang_core::accounts::LegalPersonInput {
            name: "海口椰风食品有限公司".into(),
            uscc,
            kind: yiwang_core::accounts::LegalKind::Enterprise,
            legal_representative: "王小明".into(),
        };
        accounts::register_legal(store, meta(), &input, agent, &accounts::LegalProof::Administrator).await?;
    }
    seed_licences(store).await?;
    seed_cases(store).await?;
    seed_policies(store).await?;
    Ok(out)
}

/// A tiny PDF for the demo's scanned materials.
const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// Demo cases of 海口椰风食品有限公司 for the 海口 food business licence, taken over from
/// the "previous platform" (历史办件迁移) with real dates, so that the inbox shows every
/// traffic light: one overdue (red), one with most of its limit used (yellow), one just
/// accepted (green), and one received but not yet accepted. Created only if the
/// enterprise has no case yet.
pub async fn seed_cases(store: &Store) -> Result<()> {
    use yiwang_core::cases::{Application, sample_application};
    use yiwang_store::cases::{self, Applicant, Migration, Submission};
    let uscc_body = "91460100MA5T00001";
    let uscc = format!(
        "{uscc_body}{}",
        yiwang_core::ids::uscc_check_char(uscc_body).expect("valid")
    );
    let Some(legal) = yiwang_store::accounts::legal_by_uscc(store, &uscc).await? else {
        return Ok(());
    };
    let subject = yiwang_core::mandates::Subject::Legal(legal.id.clone());
    if !cases::of_applicant(store, &subject, None, 1).await?.rows.is_empty() {
        return Ok(());
    }
    let Some(service) = yiwang_store::catalog::services(
        store,
        &yiwang_store::catalog::ServiceFilter {
            q: Some("食品经营许可".into()),
            region: Some("460100".into()),
            ..Default::default()
        },
        yiwang_store::now_ms(),
    )
    .await?
    .into_iter()
    .find(|s| s.elements.name == "食品经营许可" && s.department_name == "海口市市场监督管理局") else {
        return Ok(());
    };
    let meta = || Meta::actor("system:demo");
    let scan = yiwang_store::files::put(
        store,
        meta(),
        "示例扫描件.pdf",
        DEMO_PDF,
        yiwang_store::files::Visibility::Private,
    )
    .await?;
    let dict = cases::dictionary(store).await?;
    let mut app: Application = sample_application(&service.elements, &|k| dict.get(k).cloned(), &scan.sm3);
    // What the platform knows of the enterprise (its profile and licences) replaces the
    // sample values, as the apply form would prefill it.
    for (k, v) in cases::prefill(store, &subject, None, &service.elements, &dict).await? {
        app.form.insert(k, serde_json::Value::String(v));
    }
    let cal = yiwang_store::calendar::calendar_for(store, Some(&service.region_code)).await?;
    let today = yiwang_store::today();
    // The promised limit in working days (10 if the item names none).
    let limit = service
        .elements
        .promised_limit
        .as_ref()
        .map(|l| {
            let d = yiwang_core::cases::due(&cal, today, l, &[]);
            yiwang_core::cases::limit_working_days(&cal, &d) as i64
        })
        .unwrap_or(10)
        .max(2);
    // Accepted so that, today, the clock has run n working days — whatever today is
    // (on a weekend or holiday today counts nothing, so the dates lie further back).
    let back = |n: i64| yiwang_core::cases::start_with_used(&cal, today, n as u32);
    let plan = [
        ("HN-OLD-2026-000101", Some(back(limit + 3))),
        ("HN-OLD-2026-000102", Some(back(((limit * 9 + 9) / 10).min(limit - 1)))),
        ("HN-OLD-2026-000103", Some(back(1))),
        ("HN-OLD-2026-000104", None),
    ];
    for (no, accepted) in plan {
        let received = accepted.unwrap_or(today);
        cases::import(
            store,
            meta(),
            Submission {
                item_code: service.code.clone(),
                applicant: Applicant {
                    subject: subject.clone(),
                    name: legal.name.clone(),
                    code: legal.uscc.clone(),
                },
                channel: yiwang_core::cases::Channel::Window,
                assisted: false,
                application: app.clone(),
                draft_id: None,
            },
            Migration {
                legacy_no: no.into(),
                source: "海南省政务服务网（旧平台）".into(),
                received_on: received,
                accepted_on: accepted,
            },
        )
        .await?;
    }
    Ok(())
}

/// Demo e-seals and e-licences: approval seals for the market regulator and the approval
/// bureau of 海口, a licence seal for the health commission; licence types defined by the
/// provincial authorities; a food business licence for 海口椰风食品有限公司 and a health
/// certificate for 王小明. Created only if missing.
pub async fn seed_licences(store: &Store) -> Result<()> {
    use yiwang_core::seals::{Purpose, SealInput};
    use yiwang_store::licences::{self, IssueInput};
    let meta = || Meta::actor("system:demo");
    let depts = orgs::departments(&store.read, None).await?;
    let dept = |name: &str| {
        depts
            .iter()
            .find(|d| d.name == name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("demo department {name} missing"))
    };
    let scjg = dept("海口市市场监督管理局")?;
    let health = dept("海口市卫生健康委员会")?;
    for (d, purpose) in [
        (&scjg, Purpose::Approval),
        (&dept("海口市行政审批服务局")?, Purpose::Approval),
        (&health, Purpose::Licence),
    ] {
        let input = SealInput {
            department_id: d.id.clone(),
            purpose,
            name: None,
            valid_from: None,
            valid_until: None,
        };
        created(
            store
                .write(meta(), Command::Seals(yiwang_store::seals::Cmd::Make(input)))
                .await,
        )?;
    }
    let province_scjg = dept("海南省市场监督管理局")?;
    let province_health = dept("海南省卫生健康委员会")?;
    let food: yiwang_core::licences::LicenceType = serde_json::from_value(serde_json::json!({
        "code": format!("{}001", province_scjg.uscc),
        "name": "食品经营许可证",
        "holder": "legal",
        "validity": {"kind": "years", "value": 5},
        "face": [
            {"element": "legal_representative", "required": true},
            {"element": "business_address", "label": "经营场所", "required": true},
            {"element": "food_business_type", "label": "主体业态", "required": true},
            {"element": "business_scope", "label": "经营项目"}
        ],
        "note": "《中华人民共和国食品安全法》第三十五条 · 扫描二维码核验真伪与状态"
    }))?;
    let health_cert: yiwang_core::licences::LicenceType = serde_json::from_value(serde_json::json!({
        "code": format!("{}001", province_health.uscc),
        "name": "食品从业人员健康证明",
        "holder": "person",
        "validity": {"kind": "years", "value": 1},
        "face": [{"element": "gender", "required": true}],
        "layout": "portrait",
        "note": "《中华人民共和国食品安全法》第四十五条"
    }))?;
    // The business licence the demo catalogue's "营业执照" materials name as their source
    // (免提交 for a holder of a valid one).
    let business: yiwang_core::licences::LicenceType = serde_json::from_value(serde_json::json!({
        "code": format!("{}002", province_scjg.uscc),
        "name": "营业执照",
        "holder": "legal",
        "validity": {"kind": "permanent"},
        "face": [
            {"element": "legal_representative", "label": "法定代表人", "required": true},
            {"element": "registered_capital", "label": "注册资本（万元）"},
            {"element": "business_address", "label": "住所", "required": true},
            {"element": "business_scope", "label": "经营范围", "required": true}
        ],
        "note": "《中华人民共和国市场主体登记管理条例》第二十二条"
    }))?;
    let have = licences::types(store).await?;
    for (d, t) in [
        (&province_scjg, business.clone()),
        (&province_scjg, food.clone()),
        (&province_health, health_cert.clone()),
    ] {
        if !have.iter().any(|(x, _)| x.code == t.code) {
            store
                .write(
                    meta(),
                    Command::Licences(Box::new(licences::Cmd::DefineType {
                        department_id: d.id.clone(),
                        t,
                    })),
                )
                .await?;
        }
    }
    let uscc_body = "91460100MA5T00001";
    let enterprise = format!(
        "{uscc_body}{}",
        yiwang_core::ids::uscc_check_char(uscc_body).expect("valid")
    );
    if licences::of_legal(store, &enterprise).await?.is_empty() {
        let input = IssueInput {
            type_code: business.code.clone(),
            department_id: scjg.id.clone(),
            holder_name: "海口椰风食品有限公司".into(),
            holder_code: enterprise.clone(),
            face: [
                ("legal_representative", "王小明"),
                ("registered_capital", "100"),
                ("business_address", "海南省海口市龙华区滨海大道 88 号（示例地址）"),
                ("business_scope", "餐饮服务；食品销售"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            valid_from: None,
            number: None,
            related_item: None,
            case_id: None,
        };
        store
            .write(meta(), Command::Licences(Box::new(licences::Cmd::Issue(input))))
            .await?;
        let input = IssueInput {
            type_code: food.code.clone(),
            department_id: scjg.id.clone(),
            holder_name: "海口椰风食品有限公司".into(),
            holder_code: enterprise,
            face: [
                ("legal_representative", "王小明"),
                ("business_address", "海南省海口市龙华区滨海大道 88 号（示例地址）"),
                ("food_business_type", "餐饮服务经营者"),
                ("business_scope", "热食类食品制售；冷食类食品制售"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            valid_from: None,
            number: None,
            related_item: None,
            case_id: None,
        };
        store
            .write(meta(), Command::Licences(Box::new(licences::Cmd::Issue(input))))
            .await?;
    }
    let index = licences::holder_index(
        &store.pii,
        yiwang_core::licences::HolderKind::Person,
        "11010519491231002X",
    );
    if licences::of_holder(store, &index).await?.is_empty() {
        let input = IssueInput {
            type_code: health_cert.code.clone(),
            department_id: health.id.clone(),
            holder_name: "王小明".into(),
            holder_code: "11010519491231002X".into(),
            face: [("gender".to_string(), "男".to_string())].into_iter().collect(),
            valid_from: None,
            number: None,
            related_item: None,
            case_id: None,
        };
        store
            .write(meta(), Command::Licences(Box::new(licences::Cmd::Issue(input))))
            .await?;
    }
    Ok(())
}
