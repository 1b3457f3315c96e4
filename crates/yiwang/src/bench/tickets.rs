//! `yiwang bench tickets`: 12345 intake — a ticket received through the writer and its
//! repeats looked for (重复诉求并单) — against a mass of stored tickets (`--stored`, bulk
//! inserted: a tenth of them still open, over 99 districts and 60 days), as tickets/s and as
//! a ratio to the bare single-row write ceiling measured in the same run; and the knowledge
//! base's queries/s over `--articles` generated articles (the search's own segmentation and
//! synonyms, as the console uses it).

use super::*;
use yiwang_core::hotline::{Channel, TicketInput};
use yiwang_store::hotline::{self, Received};

/// The words the generated matters are made of.
const WORDS: &[&str] = &[
    "停水",
    "漏水",
    "水压",
    "积水",
    "排水",
    "噪音",
    "施工",
    "扰民",
    "占道",
    "违建",
    "欠薪",
    "工资",
    "社保",
    "医保",
    "报销",
    "价格",
    "过期",
    "食品",
    "消费",
    "物业",
    "电梯",
    "停车",
    "垃圾",
    "绿化",
    "路灯",
    "井盖",
    "公交",
    "学校",
    "学位",
    "户口",
    "身份证",
    "营业执照",
    "租房",
    "押金",
    "装修",
    "油烟",
    "养犬",
    "充电桩",
    "燃气",
    "供电",
    "停电",
    "网络",
    "快递",
    "外卖",
    "医院",
    "挂号",
    "药店",
    "养老",
    "低保",
    "残疾",
    "补贴",
    "拆迁",
    "征地",
    "村道",
    "农田",
    "灌溉",
    "渔船",
    "台风",
    "防汛",
    "小区",
    "商铺",
    "工地",
    "夜间",
    "凌晨",
    "周末",
    "三天",
    "一个月",
    "老人",
    "孩子",
    "楼道",
    "地下室",
    "人行道",
    "马路",
];

fn matter(i: usize) -> (Vec<String>, String) {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut words = vec![];
    for _ in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = WORDS[(x % WORDS.len() as u64) as usize].to_string();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let text = words.join("，");
    (words, text)
}

fn district(i: usize) -> String {
    format!("4601{:02}", 1 + i % 99)
}

/// Districts 460101–460199 under 海口 (the benchmark's own regions).
async fn regions(store: &Store) -> Result<()> {
    use yiwang_core::regions::NewRegion;
    let add = |code: String, name: String, parent: Option<&str>| {
        let input = NewRegion {
            code,
            name,
            name_en: None,
            parent_code: parent.map(Into::into),
        };
        async move {
            if yiwang_store::regions::get(&store.read, &input.code).await?.is_none() {
                store
                    .write(
                        Meta::actor("bench"),
                        Command::Regions(yiwang_store::regions::Cmd::Create(input)),
                    )
                    .await?;
            }
            anyhow::Ok(())
        }
    };
    add("460000".into(), "海南省".into(), None).await?;
    add("460100".into(), "海口市".into(), Some("460000")).await?;
    for i in 0..99 {
        add(district(i), format!("基准区{i}"), Some("460100")).await?;
    }
    Ok(())
}

/// Bulk-inserts `n` tickets (a tenth open) straight into the table, in transactions of
/// 2,000 rows; returns rows/s.
async fn preload(store: &Store, n: usize) -> Result<f64> {
    let now = yiwang_store::now_ms();
    let started = Instant::now();
    let mut conn = store.read.acquire().await?;
    let mut i = 0;
    while i < n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for _ in 0..2_000.min(n - i) {
            let (words, text) = matter(i);
            let open = i % 10 == 0;
            let at = now - ((i as i64 * 7_919) % (60 * 86_400_000));
            sqlx::query(
                "INSERT INTO tickets (id, request_id, channel, category, priority, state, region_code, address, content,
                   caller_name, caller_phone, caller_phone_index, confidential, redirect, department_id, assisting,
                   due_at, dispute_until, unresolved, reply, history, received_by, created_at, updated_at, terms,
                   supervised_level)
                 VALUES ($1, NULL, 'phone', 'complaint', 'normal', $2, $3, NULL, $4, 'x', 'x', $5, 0, NULL, NULL, '[]',
                   NULL, NULL, 0, NULL, '[]', 'bench', $6, $6, $7, 0)",
            )
            .bind(format!("B{i:012}"))
            .bind(if open { "received" } else { "closed" })
            .bind(district(i))
            .bind(&text)
            .bind(format!("bench-{}", i % 50_000))
            .bind(at)
            .bind(words.join(" "))
            .execute(&mut *tx)
            .await?;
            i += 1;
        }
        tx.commit().await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Runs the benchmark on `store` and prints its report.
pub async fn tickets(store: Arc<Store>, stored: usize, intake: usize, callers: usize, articles: usize) -> Result<()> {
    regions(&store).await?;
    let rows = preload(&store, stored).await?;
    println!("stored:  {stored} tickets bulk-inserted ({rows:.0} rows/s), a tenth of them open");
    let per_caller = intake.div_ceil(callers.max(1));
    let started = Instant::now();
    let mut tasks = vec![];
    let found = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for c in 0..callers.max(1) {
        let store = store.clone();
        let found = found.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_caller);
            for k in 0..per_caller {
                let i = c * per_caller + k;
                let t = Instant::now();
                // The same matter as a stored one: its repeats are there to be found.
                let (words, text) = matter(i * 10);
                let input = TicketInput {
                    category: "complaint".into(),
                    region_code: district(i * 10),
                    content: text,
                    caller_name: "基准来电人".into(),
                    caller_phone: format!("139{:08}", i),
                    ..Default::default()
                };
                let how = Received {
                    channel: Channel::Phone,
                    channel_from_input: false,
                    by: "bench".into(),
                    centre_region: "460000".into(),
                    terms: words,
                    at: None,
                };
                let w = hotline::receive(&store, Meta::actor("bench"), &input, how).await?;
                let id = w.value["id"].as_str().unwrap_or_default().to_string();
                let ticket = hotline::ticket(&store, &id)
                    .await?
                    .context("the ticket just received")?;
                if !hotline::duplicates(&store, &ticket).await?.is_empty() {
                    found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let n = lat.len();
    let rate = n as f64 / secs;
    println!(
        "intake:  {n} tickets received with repeats looked for, {callers} callers, {secs:.2} s = {rate:.0} tickets/s (p50 {:.1} ms, p99 {:.1} ms); repeats offered for {}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        found.load(std::sync::atomic::Ordering::Relaxed)
    );
    let ceiling_rate = ceiling(&store, n.max(2_000), 512).await?;
    println!("ceiling: identical audit rows by a tight batched-insert loop = {ceiling_rate:.0} rows/s");
    println!(
        "engine {} · intake/ceiling ratio {:.3}",
        store.engine.name(),
        rate / ceiling_rate
    );
    // The knowledge base: generated articles, queried with the catalogue's terms.
    let search = yiwang_search::SearchIndex::in_ram(yiwang_search::Synonyms::builtin(), store.config.catalog.clone())?;
    let kb = yiwang_search::KnowledgeIndex::in_ram()?;
    for a in 0..articles {
        let (words, text) = matter(a * 7 + 3);
        let v = hotline::ArticleVersion {
            article_id: format!("kb-bench-{a}"),
            version: 1,
            title: format!("{}怎么办？", words.iter().take(2).cloned().collect::<String>()),
            body: format!("{text}。请向所在地相关部门咨询办理。"),
            keywords: words,
            department_id: "bench".into(),
            region_code: "460100".into(),
            valid_from: None,
            valid_until: None,
            answers_tickets: vec![],
            state: yiwang_core::hotline::VersionState::Published,
            author: "bench".into(),
            reviewer: None,
            review_note: None,
            created_at: 0,
            decided_at: None,
        };
        kb.put(&v.article_id, Some(&v))?;
    }
    kb.commit(0)?;
    let today = yiwang_store::today();
    let started = Instant::now();
    let mut q = 0usize;
    let mut hits = 0usize;
    while started.elapsed().as_secs_f64() < 3.0 {
        let (_, text) = matter(q * 13 + 5);
        let terms = search.terms(&text);
        hits += kb.search(&terms, Some("460105"), today, 5)?.len().min(1);
        q += 1;
    }
    let qps = q as f64 / started.elapsed().as_secs_f64();
    println!("knowledge base: {articles} articles, {q} queries = {qps:.0} queries/s (answered {hits})");
    Ok(())
}
