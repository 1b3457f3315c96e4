//! The working-day calendar (STANDARDS §9). Legal time is working time: every statutory
//! or promised limit is counted here, never as `date + N days`.
//!
//! 《行政许可法》第八十二条: time limits count working days, excluding statutory holidays.
//! 国务院办公厅 annual notice (关于部分节假日安排的通知): holidays and 调休 make-up workdays.

use crate::error::{DomainError, FieldError, Problems};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One declared day: a holiday (`off_day`) or a make-up workday on a weekend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DayRule {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-10-01"))]
    pub date: NaiveDate,
    /// true: a day off (holiday); false: a make-up workday (调休上班).
    pub off_day: bool,
    /// The holiday's name, e.g. 国庆节.
    pub name: String,
}

/// The kind of a day in a calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum DayKind {
    Workday,
    Weekend,
    Holiday(String),
    MakeupWorkday(String),
}

/// A working-day calendar: the national schedule plus any regional additions.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    rules: BTreeMap<NaiveDate, (bool, String)>,
    published: BTreeSet<i32>,
}

/// A closed interval of dates during which the clock is stopped (《行政许可法》第四十五条:
/// time for hearings, tests, expert review etc. is not counted; also 补正 waiting time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A computed deadline with its arithmetic, so any screen can show how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The last day of the limit: the Nth counted working day after `start`.
    pub date: NaiveDate,
    pub start: NaiveDate,
    pub working_days: u32,
    /// Holidays met on the way (date, name).
    pub holidays: Vec<(NaiveDate, String)>,
    /// Weekend make-up workdays met and counted (date, name).
    pub makeup_workdays: Vec<(NaiveDate, String)>,
    /// Ordinary weekend days skipped.
    pub weekend_days: u32,
    /// Working days not counted because the clock was suspended.
    pub suspended_days: Vec<NaiveDate>,
    /// True when any day examined lies in a year whose schedule is not yet published
    /// (STANDARDS §9): the date may move once the State Council publishes it.
    pub provisional: bool,
}

impl Calendar {
    /// A calendar from declared days and the years whose schedule is published.
    pub fn new(rules: impl IntoIterator<Item = DayRule>, published_years: impl IntoIterator<Item = i32>) -> Self {
        let mut c = Calendar {
            rules: BTreeMap::new(),
            published: published_years.into_iter().collect(),
        };
        c.overlay(rules);
        c
    }

    /// Adds regional rules on top (local holidays such as ethnic festivals win over the
    /// national schedule for that region).
    pub fn overlay(&mut self, rules: impl IntoIterator<Item = DayRule>) {
        for r in rules {
            self.rules.insert(r.date, (r.off_day, r.name));
        }
    }

    pub fn published_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.published.iter().copied()
    }

    pub fn is_published(&self, year: i32) -> bool {
        self.published.contains(&year)
    }

    pub fn day_kind(&self, d: NaiveDate) -> DayKind {
        match self.rules.get(&d) {
            Some((true, name)) => DayKind::Holiday(name.clone()),
            Some((false, name)) => DayKind::MakeupWorkday(name.clone()),
            None if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) => DayKind::Weekend,
            None => DayKind::Workday,
        }
    }

    /// STANDARDS §9: Mon–Fri, minus holidays, plus declared make-up workdays.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.rules.get(&d) {
            Some((off, _)) => !off,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The Nth working day after `start` (counting starts the day after the triggering
    /// act, STANDARDS §9); `n = 0` gives `start` itself (decided on the spot).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        self.deadline(start, n, &[])
    }

    /// Like `add_working_days`, but working days inside any suspension are not counted
    /// (《行政许可法》第四十五条), which moves the deadline out by the suspended time.
    pub fn deadline(&self, start: NaiveDate, n: u32, suspensions: &[Suspension]) -> Deadline {
        let mut out = Deadline {
            date: start,
            start,
            working_days: n,
            holidays: vec![],
            makeup_workdays: vec![],
            weekend_days: 0,
            suspended_days: vec![],
            provisional: n > 0 && !self.is_published(start.year()),
        };
        let mut counted = 0;
        let mut d = start;
        while counted < n {
            d = d.succ_opt().expect("date in range");
            if !self.is_published(d.year()) {
                out.provisional = true;
            }
            match self.day_kind(d) {
                DayKind::Weekend => out.weekend_days += 1,
                DayKind::Holiday(name) => out.holidays.push((d, name)),
                kind => {
                    if suspensions.iter().any(|s| s.from <= d && d <= s.to) {
                        out.suspended_days.push(d);
                        continue;
                    }
                    if let DayKind::MakeupWorkday(name) = kind {
                        out.makeup_workdays.push((d, name));
                    }
                    counted += 1;
                }
            }
        }
        out.date = d;
        out
    }

    /// Working days in the half-open interval (a, b]; negative when b is before a.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        a.iter_days()
            .skip(1)
            .take_while(|d| *d <= b)
            .filter(|d| self.is_working_day(*d))
            .count() as i64
    }
}

/// The official schedules 2007–2026 that the project carries (converted from the
/// holiday-cn data set, MIT; see `data/holidays-cn/LICENSE`).
const OFFICIAL: &[(i32, &str)] = &[
    (2007, include_str!("../data/holidays-cn/2007.json")),
    (2008, include_str!("../data/holidays-cn/2008.json")),
    (2009, include_str!("../data/holidays-cn/2009.json")),
    (2010, include_str!("../data/holidays-cn/2010.json")),
    (2011, include_str!("../data/holidays-cn/2011.json")),
    (2012, include_str!("../data/holidays-cn/2012.json")),
    (2013, include_str!("../data/holidays-cn/2013.json")),
    (2014, include_str!("../data/holidays-cn/2014.json")),
    (2015, include_str!("../data/holidays-cn/2015.json")),
    (2016, include_str!("../data/holidays-cn/2016.json")),
    (2017, include_str!("../data/holidays-cn/2017.json")),
    (2018, include_str!("../data/holidays-cn/2018.json")),
    (2019, include_str!("../data/holidays-cn/2019.json")),
    (2020, include_str!("../data/holidays-cn/2020.json")),
    (2021, include_str!("../data/holidays-cn/2021.json")),
    (2022, include_str!("../data/holidays-cn/2022.json")),
    (2023, include_str!("../data/holidays-cn/2023.json")),
    (2024, include_str!("../data/holidays-cn/2024.json")),
    (2025, include_str!("../data/holidays-cn/2025.json")),
    (2026, include_str!("../data/holidays-cn/2026.json")),
];

/// One published year: its days and the State Council notice(s) it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedYear {
    pub year: i32,
    pub days: Vec<DayRule>,
    pub papers: Vec<String>,
}

/// The official schedules shipped with the project, parsed. A year's file can list days
/// of the neighbouring year (STANDARDS §9): they are kept as listed, indexed by date.
pub fn official_years() -> Vec<PublishedYear> {
    #[derive(Deserialize)]
    struct File {
        year: i32,
        #[serde(default)]
        papers: Vec<String>,
        days: Vec<Day>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Day {
        name: String,
        date: NaiveDate,
        is_off_day: bool,
    }
    OFFICIAL
        .iter()
        .map(|(year, text)| {
            let f: File = serde_json::from_str(text).expect("embedded holiday data parses");
            assert_eq!(f.year, *year, "embedded holiday file for {year}");
            PublishedYear {
                year: f.year,
                papers: f.papers,
                days: f
                    .days
                    .into_iter()
                    .map(|d| DayRule {
                        date: d.date,
                        off_day: d.is_off_day,
                        name: d.name,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The national calendar from the shipped schedules alone.
pub fn official_calendar() -> Calendar {
    let years = official_years();
    let published: Vec<i32> = years.iter().map(|y| y.year).collect();
    Calendar::new(years.into_iter().flat_map(|y| y.days), published)
}

/// The region code under which the national schedule is stored.
pub const NATIONAL: &str = "000000";

fn check_days(p: &mut Problems, days: &[DayRule], year: Option<i32>) {
    let mut seen = BTreeSet::new();
    for (i, d) in days.iter().enumerate() {
        let f = |x: &str| format!("days[{i}].{x}");
        p.text(&f("name"), &d.name, 30);
        if !seen.insert(d.date) {
            p.push(FieldError::new(
                f("date"),
                "calendar.duplicate_day",
                "同一日期出现了两次",
                "the same date is listed twice",
            ));
        }
        // A year's notice may declare days of the neighbouring years (STANDARDS §9).
        if let Some(y) = year
            && (d.date.year() - y).abs() > 1
        {
            p.push(FieldError::new(
                f("date"),
                "calendar.outside_year",
                format!("日期不属于 {y} 年及其相邻年份"),
                format!("the date is not in {y} or a neighbouring year"),
            ));
        }
        // Declared workdays are usually weekend 调休 days, but a notice may also confirm a
        // weekday as a workday (2020-02-03, after the extended Spring Festival), so both
        // are accepted.
    }
}

/// Decides whether a year's national schedule may be published (or replaced, as when the
/// 2020 Spring Festival holiday was extended).
pub fn decide_publish(year: &PublishedYear) -> Result<(), DomainError> {
    let mut p = Problems::new();
    if !(2000..=2100).contains(&year.year) {
        p.push(FieldError::new(
            "year",
            "calendar.year_range",
            "年份应在 2000–2100 之间",
            "the year must be within 2000–2100",
        ));
    }
    if !year.days.iter().any(|d| d.off_day) {
        p.push(FieldError::new(
            "days",
            "calendar.no_holidays",
            "至少应有一天法定节假日",
            "a published year has at least one holiday",
        ));
    }
    if year.days.len() > 120 {
        p.push(FieldError::new("days", "max_items", "最多 120 天", "at most 120 days"));
    }
    if year.papers.len() > 10 {
        p.push(FieldError::new(
            "papers",
            "max_items",
            "最多 10 个文件",
            "at most 10 papers",
        ));
    }
    for (i, paper) in year.papers.iter().enumerate() {
        p.text(&format!("papers[{i}]"), paper, 300);
    }
    check_days(&mut p, &year.days, Some(year.year));
    p.finish()
}

/// Decides local additions for a region (local holidays, or local make-up days).
pub fn decide_local(days: &[DayRule]) -> Result<(), DomainError> {
    let mut p = Problems::new();
    if days.is_empty() || days.len() > 100 {
        p.push(FieldError::new(
            "days",
            "calendar.local_count",
            "应提供 1–100 天",
            "give 1–100 days",
        ));
    }
    check_days(&mut p, days, None);
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_day_2007_to_2026_matches_the_source_files() {
        // Read the raw files from disk independently of the embedded parser.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/holidays-cn");
        let mut declared: BTreeMap<NaiveDate, bool> = BTreeMap::new();
        for year in 2007..=2026 {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{year}.json"))).unwrap()).unwrap();
            for day in v["days"].as_array().unwrap() {
                declared.insert(d(day["date"].as_str().unwrap()), day["isOffDay"].as_bool().unwrap());
            }
        }
        let cal = official_calendar();
        let mut n = 0;
        for day in d("2007-01-01").iter_days().take_while(|x| *x <= d("2026-12-31")) {
            let expected = match declared.get(&day) {
                Some(off) => !off,
                None => day.weekday().num_days_from_monday() < 5,
            };
            assert_eq!(cal.is_working_day(day), expected, "{day}");
            n += 1;
        }
        assert_eq!(n, 7305);
    }

    #[test]
    fn known_days() {
        let cal = official_calendar();
        assert!(!cal.is_working_day(d("2024-10-01")), "国庆节");
        assert!(
            cal.is_working_day(d("2024-02-04")),
            "Sunday make-up workday before 春节 2024"
        );
        assert!(
            !cal.is_working_day(d("2025-01-28")),
            "除夕 is a statutory holiday since 2025"
        );
        assert!(
            !cal.is_working_day(d("2025-05-02")),
            "5月2日 is a statutory holiday since 2025"
        );
        assert!(cal.is_working_day(d("2026-11-23")), "an ordinary Monday");
        assert!(!cal.is_working_day(d("2026-11-22")), "an ordinary Sunday");
        assert_eq!(cal.day_kind(d("2026-10-01")), DayKind::Holiday("国庆节".into()));
    }

    #[test]
    fn national_day_week_pushes_a_deadline() {
        let cal = official_calendar();
        // Accepted Monday 2024-09-30; 1st working day after is 10-08 (10-01..07 off).
        let dl = cal.add_working_days(d("2024-09-30"), 1);
        assert_eq!(dl.date, d("2024-10-08"));
        assert_eq!(dl.holidays.len(), 7);
        // 20 working days (《行政许可法》第四十二条) from the same acceptance; 10-12 (Sat) is
        // a make-up workday and counts.
        let dl = cal.add_working_days(d("2024-09-30"), 20);
        assert_eq!(cal.working_days_between(d("2024-09-30"), dl.date), 20);
        assert!(dl.makeup_workdays.iter().any(|(x, _)| *x == d("2024-10-12")));
        assert!(!dl.provisional);
    }

    #[test]
    fn beyond_the_last_published_year_is_provisional() {
        let cal = official_calendar();
        assert!(!cal.add_working_days(d("2026-12-01"), 10).provisional);
        let dl = cal.add_working_days(d("2026-12-20"), 20);
        assert!(dl.provisional);
        assert!(dl.date.year() == 2027);
        assert!(!cal.add_working_days(d("2026-12-20"), 0).provisional);
    }

    #[test]
    fn local_holidays_overlay_the_national_schedule() {
        let mut cal = official_calendar();
        // 三月三 (黎族苗族传统节日), a Hainan local holiday: 2026-04-20 is a Monday.
        assert!(cal.is_working_day(d("2026-04-20")));
        cal.overlay([DayRule {
            date: d("2026-04-20"),
            off_day: true,
            name: "三月三".into(),
        }]);
        assert!(!cal.is_working_day(d("2026-04-20")));
        assert_eq!(cal.add_working_days(d("2026-04-17"), 1).date, d("2026-04-21"));
    }

    #[test]
    fn suspension_moves_the_deadline_by_its_working_days() {
        let cal = official_calendar();
        let plain = cal.add_working_days(d("2026-03-02"), 20);
        let s = Suspension {
            from: d("2026-03-09"),
            to: d("2026-03-13"),
        }; // one working week
        let dl = cal.deadline(d("2026-03-02"), 20, &[s]);
        assert_eq!(dl.suspended_days.len(), 5);
        assert_eq!(cal.working_days_between(plain.date, dl.date), 5);
    }

    fn arb_calendar() -> impl Strategy<Value = Calendar> {
        proptest::collection::vec((0i64..2000, any::<bool>()), 0..80).prop_map(|rules| {
            let base = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            Calendar::new(
                rules.into_iter().map(|(o, off)| DayRule {
                    date: base + chrono::Duration::days(o),
                    off_day: off,
                    name: "x".into(),
                }),
                2020..=2024,
            )
        })
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..2200).prop_map(|o| NaiveDate::from_ymd_opt(2019, 12, 1).unwrap() + chrono::Duration::days(o))
    }

    proptest! {
        #[test]
        fn add_then_count_round_trips(cal in arb_calendar(), start in arb_date(), n in 0u32..120) {
            let dl = cal.add_working_days(start, n);
            prop_assert_eq!(cal.working_days_between(start, dl.date), n as i64);
            if n > 0 {
                prop_assert!(cal.is_working_day(dl.date));
                prop_assert!(dl.date > start);
                // Minimal: the day before holds one working day fewer.
                prop_assert_eq!(cal.working_days_between(start, dl.date.pred_opt().unwrap()), n as i64 - 1);
            }
        }

        #[test]
        fn counting_is_additive_and_antisymmetric(cal in arb_calendar(), a in arb_date(), b in arb_date(), c in arb_date()) {
            prop_assert_eq!(cal.working_days_between(a, b) + cal.working_days_between(b, c), cal.working_days_between(a, c));
            prop_assert_eq!(cal.working_days_between(a, b), -cal.working_days_between(b, a));
        }

        #[test]
        fn deadlines_are_monotonic(cal in arb_calendar(), start in arb_date(), n in 0u32..100) {
            prop_assert!(cal.add_working_days(start, n + 1).date > cal.add_working_days(start, n).date);
        }

        #[test]
        fn suspensions_add_back_exactly_their_working_days(
            cal in arb_calendar(), start in arb_date(), n in 1u32..60, off in 0i64..60, len in 0i64..30
        ) {
            let s = Suspension { from: start + chrono::Duration::days(off), to: start + chrono::Duration::days(off + len) };
            let plain = cal.add_working_days(start, n);
            let dl = cal.deadline(start, n, &[s]);
            prop_assert!(dl.date >= plain.date);
            // Counted days = all working days in (start, date] minus the suspended ones.
            let total = cal.working_days_between(start, dl.date);
            prop_assert_eq!(total - dl.suspended_days.len() as i64, n as i64);
            prop_assert!(dl.suspended_days.iter().all(|x| s.from <= *x && *x <= s.to && cal.is_working_day(*x)));
        }

        #[test]
        fn provisional_iff_an_unpublished_year_is_touched(cal in arb_calendar(), start in arb_date(), n in 1u32..80) {
            let dl = cal.add_working_days(start, n);
            let touched = start.iter_days().take_while(|x| *x <= dl.date).any(|x| !cal.is_published(x.year()));
            prop_assert_eq!(dl.provisional, touched);
        }
    }

    #[test]
    fn publish_rules() {
        let mut y = official_years().pop().unwrap();
        assert!(decide_publish(&y).is_ok());
        y.days.push(y.days[0].clone());
        y.days.push(DayRule {
            date: d("2029-01-01"),
            off_day: true,
            name: "元旦".into(),
        });
        let rules: Vec<_> = decide_publish(&y)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.rule)
            .collect();
        assert_eq!(rules, ["calendar.duplicate_day", "calendar.outside_year"]);
    }
}
