//! Legal clocks on the working-day calendar.

use super::*;

// ---------------------------------------------------------------------------------------
// Legal clocks
// ---------------------------------------------------------------------------------------

/// The due date of a limit from `start`, extended by suspensions. Working days count by
/// the calendar (《行政许可法》第八十二条); calendar days and months end on a working day
/// (STANDARDS §9: a limit ending on a holiday moves to the next working day).
pub fn due(cal: &Calendar, start: NaiveDate, limit: &TimeLimit, suspensions: &[Suspension]) -> Deadline {
    match limit.unit {
        TimeUnit::WorkingDays => cal.deadline(start, limit.value, suspensions),
        TimeUnit::NaturalDays | TimeUnit::Months => {
            let base = match limit.unit {
                TimeUnit::Months => start
                    .checked_add_months(Months::new(limit.value))
                    .unwrap_or(NaiveDate::MAX),
                _ => start + chrono::Days::new(limit.value as u64),
            };
            // Suspended days (any kind) are added on (《行政许可法》第四十五条).
            let suspended: Vec<NaiveDate> = suspensions
                .iter()
                .flat_map(|s| s.from.iter_days().take_while(move |d| *d <= s.to))
                .filter(|d| *d > start)
                .collect();
            let mut d = base + chrono::Days::new(suspended.len() as u64);
            let mut out = Deadline {
                date: d,
                start,
                working_days: 0,
                holidays: vec![],
                makeup_workdays: vec![],
                weekend_days: 0,
                suspended_days: suspended,
                provisional: !cal.is_published(start.year()),
            };
            while !cal.is_working_day(d) {
                match cal.day_kind(d) {
                    DayKind::Holiday(n) => out.holidays.push((d, n)),
                    _ => out.weekend_days += 1,
                }
                d = d.succ_opt().expect("date in range");
            }
            out.provisional |= !cal.is_published(d.year());
            out.date = d;
            out
        }
    }
}

named_enum!(
    /// Traffic light of a running clock: yellow when ≥ 80 % of the limit is used, red when
    /// overdue (issue 6).
    Light {
        Green = "green", "正常", "on time";
        Yellow = "yellow", "预警", "due soon";
        Red = "red", "超期", "overdue";
    }
);

/// Share of a limit used before the clock turns yellow, in percent [M].
pub const YELLOW_PERCENT: i64 = 80;

/// A clock's reading on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub due: NaiveDate,
    /// Working days counted so far (suspended days not counted).
    pub used: i64,
    pub limit: u32,
    pub remaining: i64,
    pub light: Light,
}

/// How far a working-day limit that started on `start` has run by `today`.
pub fn reading(cal: &Calendar, d: &Deadline, suspensions: &[Suspension], today: NaiveDate) -> Reading {
    reading_with(cal, d, suspensions, today, YELLOW_PERCENT)
}

/// `reading` with the province's yellow threshold (`CasePolicy::yellow_percent`).
pub fn reading_with(
    cal: &Calendar,
    d: &Deadline,
    suspensions: &[Suspension],
    today: NaiveDate,
    yellow_percent: i64,
) -> Reading {
    let used = d
        .start
        .iter_days()
        .skip(1)
        .take_while(|x| *x <= today)
        .filter(|x| cal.is_working_day(*x) && !suspensions.iter().any(|s| s.from <= *x && *x <= s.to))
        .count() as i64;
    let limit = d.working_days.max(1) as i64;
    let light = if today > d.date {
        Light::Red
    } else if used * 100 >= yellow_percent * limit {
        Light::Yellow
    } else {
        Light::Green
    };
    Reading {
        due: d.date,
        used,
        limit: d.working_days,
        remaining: d.working_days as i64 - used,
        light,
    }
}

/// The latest start date from which exactly `used` working days have been counted by
/// `today` (the days counted are those after the start up to and including today, as in
/// `reading`; 《行政许可法》第八十二条: limits count working days). On a weekend or holiday
/// the day itself counts nothing, so the start lies further back than on a working day.
pub fn start_with_used(cal: &Calendar, today: NaiveDate, used: u32) -> NaiveDate {
    let mut d = today;
    let mut counted = 0;
    while counted < used {
        if cal.is_working_day(d) {
            counted += 1;
        }
        d = d.pred_opt().expect("date in range");
    }
    d
}

/// The limit in working days a clock reading compares against (calendar-day limits are
/// read as the working days they span).
pub fn limit_working_days(cal: &Calendar, d: &Deadline) -> u32 {
    if d.working_days > 0 {
        d.working_days
    } else {
        cal.working_days_between(d.start, d.date).max(0) as u32
    }
}
