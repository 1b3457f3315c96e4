//! `yiwang bench policies`: 免申即享 rules over generated person profiles, as a dry run
//! over a province's residents would evaluate them. In the same run, on the same profiles
//! and threads: the bare loop (the rules as plain CEL programs, one `bool` each) and the
//! product path (checked rules split into conditions, missing data looked for, the
//! outcome and its amount, a tally per thread merged at the end). Prints profiles/s of
//! each and their ratio (goal ≥ 0.5); no timing is asserted.

use super::*;
use yiwang_core::policies::{
    AttrType, Audience, BareProgram, CompiledPolicy, Evaluator, Limits, Profile, Schema, Tally, bare_program,
    compile_policy,
};

/// The policies measured: (name, rule, amount formula in fen).
const POLICIES: &[(&str, &str, &str)] = &[
    // Shaped like a provincial 高龄津贴 (amounts illustrative): residents of 80 and over
    // registered in the province.
    (
        "高龄津贴 (senior allowance)",
        "age >= 80 && hukou.region.startsWith('46')",
        "age >= 100 ? 60000 : (age >= 90 ? 30000 : 10000)",
    ),
    // 国发〔2015〕52号: 困难残疾人生活补贴和重度残疾人护理补贴 (amounts illustrative):
    // grades 1–2 get the care allowance, families on 低保 the living allowance too.
    (
        "残疾人两项补贴 (disability allowances)",
        "has(disability.level) && disability.level <= 2 && hukou.region.startsWith('46')",
        "(disability.level == 1 ? 12000 : 8000) + (has(dibao.since_year) ? 10000 : 0)",
    ),
];

/// Measured rounds of each loop (after a warm-up pass).
const ROUNDS: usize = 3;

/// The benchmark's schema: the built-in person attributes and four data resources.
fn schema() -> Schema {
    let f = |n: &str, t: AttrType, zh: &str, en: &str| (n.to_string(), t, zh.to_string(), en.to_string());
    let mut s = Schema::builtin(Audience::Person);
    s.add_group(
        "hukou",
        &[f(
            "region",
            AttrType::String,
            "户籍地区划代码",
            "household registration region",
        )],
    );
    s.add_group(
        "disability",
        &[
            f("level", AttrType::Int, "残疾等级", "disability grade"),
            f("category", AttrType::String, "残疾类别", "disability category"),
        ],
    );
    s.add_group(
        "dibao",
        &[f("since_year", AttrType::Int, "低保起始年份", "on 低保 since")],
    );
    s.add_group(
        "social_insurance",
        &[f("months", AttrType::Int, "累计缴费月数", "months contributed")],
    );
    s
}

/// SplitMix64: a small deterministic generator, one stream per profile.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const LICENCES: &[&str] = &["L001", "L002", "L003", "L004", "L005", "L006"];
const ITEMS: &[&str] = &["460001", "460002", "460003", "460004"];
const CATEGORIES: &[&str] = &["视力", "听力", "言语", "肢体", "智力", "精神"];

/// The `i`-th person: the same for every run. Some attributes are missing on purpose
/// (identity 1%, household registration 3%).
fn person(s: &Schema, i: usize) -> Result<Profile> {
    use serde_json::json;
    let mut r = Rng(0x5EED ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut p = Profile::new(s);
    let mut set = |path: &str, v: serde_json::Value| p.set(s, path, &v).map_err(|e| anyhow::anyhow!("{}", e.en));
    if !r.chance(1) {
        let age = if r.chance(15) { 80 + r.below(25) } else { r.below(80) };
        set("age", json!(age))?;
        set("sex", json!(if r.chance(50) { "male" } else { "female" }))?;
    }
    let licences: Vec<&str> = (0..r.below(4)).map(|_| LICENCES[r.below(6) as usize]).collect();
    set("licences", json!(licences))?;
    let results: Vec<&str> = (0..r.below(3)).map(|_| ITEMS[r.below(4) as usize]).collect();
    set("results", json!(results))?;
    if !r.chance(3) {
        let region = if r.chance(70) {
            format!("46{:02}{:02}", 1 + r.below(3), r.below(30))
        } else {
            format!("{}{:04}", 11 + r.below(54), r.below(10000))
        };
        set("hukou.region", json!(region))?;
    }
    if r.chance(5) {
        set("disability.level", json!(1 + r.below(4)))?;
        set("disability.category", json!(CATEGORIES[r.below(6) as usize]))?;
    }
    if r.chance(3) {
        set("dibao.since_year", json!(2010 + r.below(15)))?;
    }
    if r.chance(80) {
        set("social_insurance.months", json!(r.below(361)))?;
    }
    Ok(p)
}

/// Runs `f` over `items` split into `threads` chunks, each thread with its own
/// `Evaluator`; returns the per-thread results and the wall time (s).
fn split<T, R: Send>(items: &[T], threads: usize, f: impl Fn(&Evaluator, &[T]) -> R + Sync) -> (Vec<R>, f64)
where
    T: Sync,
{
    let per = items.len().div_ceil(threads).max(1);
    let t = Instant::now();
    let out = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| {
                let f = &f;
                s.spawn(move || f(&Evaluator::new(), chunk))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a bench thread")).collect()
    });
    (out, t.elapsed().as_secs_f64())
}

/// `yiwang bench policies`.
pub fn policies(n: usize, threads: usize) -> Result<()> {
    let s = schema();
    let compiled: Vec<CompiledPolicy> = POLICIES
        .iter()
        .map(|(_, rule, amount)| compile_policy(&s, rule, amount, &Limits::default()))
        .collect::<Result<_, _>>()?;
    let bare: Vec<BareProgram> = POLICIES
        .iter()
        .map(|(_, rule, _)| bare_program(rule).map_err(|e| anyhow::anyhow!(e)))
        .collect::<Result<_>>()?;

    // The profiles, generated in parallel (each from its own index, so the same for any
    // number of threads).
    let t = Instant::now();
    let indexes: Vec<usize> = (0..n).collect();
    let per = n.div_ceil(threads).max(1);
    let profiles: Vec<Profile> = std::thread::scope(|sc| {
        let handles: Vec<_> = indexes
            .chunks(per)
            .map(|chunk| {
                let s = &s;
                sc.spawn(move || chunk.iter().map(|&i| person(s, i)).collect::<Result<Vec<_>>>())
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(h.join().expect("a generator thread")?);
        }
        anyhow::Ok(all)
    })?;
    drop(indexes);
    println!(
        "generate: {n} person profiles (identity, licences, cases, 4 data resources; some attributes missing) in {:.2} s on {threads} threads",
        t.elapsed().as_secs_f64()
    );
    crate::print_rss(&format!("{n} profiles"));

    // The bare loop: each rule as a plain CEL program, its boolean counted.
    let bare_loop = |ev: &Evaluator, chunk: &[Profile]| {
        let mut trues = vec![0u64; bare.len()];
        for p in chunk {
            for (k, b) in bare.iter().enumerate() {
                if b.run(ev, p) == Some(true) {
                    trues[k] += 1;
                }
            }
        }
        trues
    };
    // The product path: outcome with its amount, a tally per thread, merged.
    let product = |ev: &Evaluator, chunk: &[Profile]| {
        let mut tallies = vec![Tally::default(); compiled.len()];
        for p in chunk {
            for (k, c) in compiled.iter().enumerate() {
                tallies[k].add(&c.evaluate(ev, p));
            }
        }
        tallies
    };
    // A warm-up pass of each over a tenth of the profiles, then rounds in turn: the best
    // round of each is reported (this machine is shared; the ratio is what counts).
    let warm = &profiles[..(n / 10).max(1)];
    split(warm, threads, bare_loop);
    split(warm, threads, product);
    let (mut bare_secs, mut product_secs) = (vec![], vec![]);
    let (mut trues, mut tallies) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        let (t, secs) = split(&profiles, threads, bare_loop);
        trues = t;
        bare_secs.push(secs);
        let (t, secs) = split(&profiles, threads, product);
        tallies = t;
        product_secs.push(secs);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let rounds = |v: &[f64]| v.iter().map(|s| format!("{s:.3}")).collect::<Vec<_>>().join(" / ");
    let (bare_best, product_best) = (best(&bare_secs), best(&product_secs));
    let (bare_rate, product_rate) = (n as f64 / bare_best, n as f64 / product_best);
    let trues: Vec<u64> = (0..bare.len()).map(|k| trues.iter().map(|t| t[k]).sum()).collect();
    println!(
        "bare:     {n} profiles × {} rules as plain CEL programs (same resolver), {threads} threads: {bare_rate:.0} profiles/s (best of {ROUNDS} rounds: {} s; true: {trues:?})",
        bare.len(),
        rounds(&bare_secs)
    );
    println!(
        "product:  {n} profiles × {} policies evaluated (conditions, missing data, outcome, amount) and tallied, {threads} threads: {product_rate:.0} profiles/s (a whole run {product_best:.3} s; rounds: {} s)",
        compiled.len(),
        rounds(&product_secs)
    );
    for (k, (name, rule, _)) in POLICIES.iter().enumerate() {
        let mut t = Tally::default();
        for per_thread in &tallies {
            t.merge(&per_thread[k]);
        }
        println!(
            "tally:    {name}: eligible {} · ineligible {} · undetermined {} · failed {} · total {:.2} 元  [{rule}]",
            t.eligible,
            t.ineligible,
            t.undetermined,
            t.failed,
            t.total_fen as f64 / 100.0
        );
    }
    println!(
        "policies ratio {:.3} (product/bare, goal ≥ 0.5)",
        product_rate / bare_rate
    );
    Ok(())
}
