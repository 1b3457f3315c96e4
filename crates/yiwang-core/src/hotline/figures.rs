//! What 12345 learns from its tickets and calls: the call-centre system's events, the
//! service levels of GB/T 33358-2016 (answer within 15 s, ≥ 95 % answered, other media
//! within 3 minutes, the mailbox within 24 hours), and hotspots (未诉先办): rising words
//! against the previous weeks, spikes of a category in a region.

use super::*;

named_enum!(
    /// An event the call-centre system (CTI) reports for a call.
    CallEvent {
        Ringing = "ringing", "振铃", "ringing";
        Answered = "answered", "接听", "answered";
        Ended = "ended", "挂断", "ended";
    }
);

/// A call event as the CTI pushes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallEventInput {
    /// The CTI's id of the call.
    pub call_id: String,
    /// ringing, answered or ended.
    pub event: String,
    /// When it happened (epoch ms; default: when received). At most a day old and not ahead.
    #[serde(default)]
    pub at: Option<i64>,
    /// The agent's extension or login (answered).
    #[serde(default)]
    pub agent: Option<String>,
    /// Where the CTI keeps the recording (ended).
    #[serde(default)]
    pub recording_ref: Option<String>,
    /// The ticket the call made, when the agent took one.
    #[serde(default)]
    pub ticket_id: Option<String>,
}

fn id_like(v: &str, max: usize) -> bool {
    !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b))
}

/// Checks a call event: a call id of 1–64 letters, digits or `-_.:@`, a known event, a time
/// within the last day and not more than a minute ahead of `now`.
pub fn check_call_event(i: &CallEventInput, now: i64) -> Result<CallEvent, DomainError> {
    let mut p = Problems::new();
    if !id_like(&i.call_id, 64) {
        p.push(FieldError::new(
            "call_id",
            "hotline.call_id",
            "通话标识为 1–64 位字母、数字或 -_.:@",
            "call_id is 1–64 letters, digits or -_.:@",
        ));
    }
    let event = CallEvent::parse(&i.event);
    if event.is_none() {
        p.push(FieldError::new(
            "event",
            "hotline.call_event",
            "事件应为 ringing、answered 或 ended",
            "event is ringing, answered or ended",
        ));
    }
    if let Some(at) = i.at
        && !(now - 86_400_000..=now + 60_000).contains(&at)
    {
        p.push(FieldError::new(
            "at",
            "hotline.call_time",
            "事件时间须在一天之内且不晚于当前时间",
            "the event's time is within the last day and not ahead",
        ));
    }
    if i.agent.as_deref().is_some_and(|a| !id_like(a, 64)) {
        p.push(FieldError::new(
            "agent",
            "hotline.agent",
            "座席标识为 1–64 位字母、数字或 -_.:@",
            "agent is 1–64 letters, digits or -_.:@",
        ));
    }
    p.opt_text("recording_ref", i.recording_ref.as_deref(), 300);
    if i.ticket_id.as_deref().is_some_and(|t| !id_like(t, 40)) {
        p.push(FieldError::new(
            "ticket_id",
            "hotline.ticket_id",
            "工单编号格式不正确",
            "not a ticket number",
        ));
    }
    p.finish()?;
    Ok(event.expect("checked"))
}

/// The service-level targets [M] (`[hotline]`): GB/T 33358-2016 as STANDARDS §8 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceTargets {
    /// A call is answered within this many seconds.
    pub answer_within_s: u32,
    /// At least this share of calls is answered (per cent, over a day).
    pub answered_percent: u32,
    /// A web or mobile request gets its first handling within this many minutes.
    pub media_within_min: u32,
    /// A letter to the mailbox within this many hours.
    pub mailbox_within_hours: u32,
}

impl Default for ServiceTargets {
    fn default() -> Self {
        ServiceTargets {
            answer_within_s: 15,
            answered_percent: 95,
            media_within_min: 3,
            mailbox_within_hours: 24,
        }
    }
}

/// The counts service levels are computed from (kept as events are recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCounts {
    /// Calls that rang.
    pub calls: i64,
    pub answered: i64,
    /// Answered within `answer_within_s`.
    pub answered_in_time: i64,
    /// Ended without an answer.
    pub abandoned: i64,
    /// Web and mobile requests handled (first step), and those within `media_within_min`.
    pub media: i64,
    pub media_in_time: i64,
    /// Mailbox letters handled, and those within `mailbox_within_hours`.
    pub mailbox: i64,
    pub mailbox_in_time: i64,
}

/// One service level: its value (per cent, none without data), its target and whether met.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Level {
    pub key: &'static str,
    pub zh: String,
    pub en: String,
    pub percent: Option<f64>,
    pub target_percent: f64,
    pub met: Option<bool>,
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64) * 100.0 / (whole as f64))
}

/// The service levels of GB/T 33358-2016 from the counts: calls answered within the
/// seconds allowed (of those answered; every one should be), calls answered (of those that
/// rang; ≥ `answered_percent`), other media and the mailbox within their times.
pub fn levels(c: &ServiceCounts, t: &ServiceTargets) -> Vec<Level> {
    let level = |key, zh: String, en: String, percent: Option<f64>, target: f64| Level {
        key,
        zh,
        en,
        met: percent.map(|p| p + 1e-9 >= target),
        percent,
        target_percent: target,
    };
    vec![
        level(
            "answered_in_time",
            format!("{} 秒内接听", t.answer_within_s),
            format!("answered within {} s", t.answer_within_s),
            share(c.answered_in_time, c.answered),
            100.0,
        ),
        level(
            "answered",
            "接通率".into(),
            "calls answered".into(),
            share(c.answered, c.calls),
            f64::from(t.answered_percent),
        ),
        level(
            "media_in_time",
            format!("网站、移动端 {} 分钟内响应", t.media_within_min),
            format!("web and mobile within {} min", t.media_within_min),
            share(c.media_in_time, c.media),
            100.0,
        ),
        level(
            "mailbox_in_time",
            format!("信箱 {} 小时内响应", t.mailbox_within_hours),
            format!("mailbox within {} h", t.mailbox_within_hours),
            share(c.mailbox_in_time, c.mailbox),
            100.0,
        ),
    ]
}

/// A word rising this week against the weeks before (未诉先办).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rising {
    pub term: String,
    pub this_week: i64,
    /// Its mean over the previous weeks compared.
    pub before: f64,
    /// this_week + 1 over before + 1.
    pub ratio: f64,
}

/// The words of this week's tickets that rose most against the mean of the previous weeks:
/// at least `min` tickets this week and at least twice as many (+1 smoothing), best first.
pub fn rising(
    this_week: &[(String, i64)],
    before: &[(String, i64)],
    weeks_before: usize,
    min: i64,
    top: usize,
) -> Vec<Rising> {
    let mut past: std::collections::HashMap<&str, i64> = Default::default();
    for (t, n) in before {
        *past.entry(t.as_str()).or_default() += n;
    }
    let weeks = weeks_before.max(1) as f64;
    let mut out: Vec<Rising> = this_week
        .iter()
        .filter(|(t, n)| *n >= min && !t.is_empty())
        .map(|(t, n)| {
            let b = past.get(t.as_str()).copied().unwrap_or(0) as f64 / weeks;
            Rising {
                term: t.clone(),
                this_week: *n,
                before: b,
                ratio: (*n as f64 + 1.0) / (b + 1.0),
            }
        })
        .filter(|r| r.ratio >= 2.0)
        .collect();
    out.sort_by(|a, b| {
        b.ratio
            .total_cmp(&a.ratio)
            .then(b.this_week.cmp(&a.this_week))
            .then(a.term.cmp(&b.term))
    });
    out.truncate(top);
    out
}

/// Is today's count a spike against the days before (an alert: 未诉先办)? At least
/// `min` and at least `factor` times the daily mean before (a mean below one counts as one).
pub fn spike(today: i64, before: &[i64], min: i64, factor: i64) -> bool {
    let mean = if before.is_empty() {
        0.0
    } else {
        before.iter().sum::<i64>() as f64 / before.len() as f64
    };
    today >= min && (today as f64) >= (factor as f64) * mean.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_events_are_checked() {
        let now = 1_800_000_000_000;
        let ok = CallEventInput {
            call_id: "cti-20261207-0001".into(),
            event: "answered".into(),
            at: Some(now - 1_000),
            agent: Some("8001".into()),
            ..Default::default()
        };
        assert_eq!(check_call_event(&ok, now).unwrap(), CallEvent::Answered);
        let bad = CallEventInput {
            call_id: "a b".into(),
            event: "hold".into(),
            at: Some(now + 3_600_000),
            ..Default::default()
        };
        let f: Vec<String> = check_call_event(&bad, now)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(f, ["call_id", "event", "at"]);
    }

    #[test]
    fn service_levels_rising_words_and_spikes() {
        let c = ServiceCounts {
            calls: 100,
            answered: 96,
            answered_in_time: 90,
            abandoned: 4,
            media: 10,
            media_in_time: 10,
            ..Default::default()
        };
        let l = levels(&c, &ServiceTargets::default());
        assert_eq!(l[0].percent.map(|p| p.round()), Some(94.0));
        assert_eq!(l[0].met, Some(false));
        assert_eq!((l[1].percent, l[1].met), (Some(96.0), Some(true)));
        assert_eq!((l[2].met, l[3].met), (Some(true), None));
        let w = |x: &[(&str, i64)]| x.iter().map(|(t, n)| (t.to_string(), *n)).collect::<Vec<_>>();
        let r = rising(
            &w(&[("停水", 12), ("噪音", 4), ("社保", 3)]),
            &w(&[("停水", 4), ("噪音", 8)]),
            4,
            3,
            5,
        );
        let terms: Vec<&str> = r.iter().map(|x| x.term.as_str()).collect();
        assert_eq!(terms, ["停水", "社保"]);
        assert!(spike(9, &[1, 2, 1, 0, 2, 1, 2], 5, 3));
        assert!(!spike(4, &[0; 7], 5, 3));
        assert!(!spike(9, &[4, 4, 4], 5, 3));
    }
}
