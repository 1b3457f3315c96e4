//! The two interface languages: Simplified Chinese (default) and English. The choice is a
//! cookie set by `/lang/{code}`; large-text mode (适老化) is a cookie too.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
    pub fn is_en(self) -> bool {
        self == Lang::En
    }
    /// The name of a coded value in this language.
    pub fn name<T: yiwang_core::Named>(self, x: &T) -> &'static str {
        match self {
            Lang::Zh => x.zh(),
            Lang::En => x.en(),
        }
    }
    /// A field problem in this language.
    pub fn problem(self, e: &yiwang_core::FieldError) -> String {
        match self {
            Lang::Zh => e.zh.clone(),
            Lang::En => e.en.clone(),
        }
    }
    /// Picks `zh` or `en`.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    /// `s` in brackets as this language writes them: full-width （…） in Chinese, " (…)" in
    /// English (GB/T 15834-2011 标点符号用法 for the Chinese forms).
    pub fn paren(self, s: impl std::fmt::Display) -> String {
        format!("{}{s}{}", self.open(), self.close())
    }
    pub fn open(self) -> &'static str {
        self.pick("（", " (")
    }
    pub fn close(self) -> &'static str {
        self.pick("）", ")")
    }
    /// The colon after a label: full-width in Chinese.
    pub fn colon(self) -> &'static str {
        self.pick("：", ": ")
    }
    /// The separator of a list: 顿号 in Chinese, a comma in English.
    pub fn sep(self) -> &'static str {
        self.pick("、", ", ")
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The page settings of a request.
#[derive(Debug, Clone, Copy)]
pub struct Prefs {
    pub lang: Lang,
    pub large_text: bool,
}

impl Prefs {
    pub fn from_headers(h: &HeaderMap) -> Prefs {
        Prefs {
            lang: cookie(h, "lang").and_then(Lang::parse).unwrap_or(Lang::Zh),
            large_text: cookie(h, "text") == Some("large"),
        }
    }
}

/// A day's kind as shown to people.
pub fn day_kind_label(lang: Lang, kind: &yiwang_core::calendar::DayKind, weekday: chrono::Weekday) -> String {
    let wd_zh = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][weekday.num_days_from_monday() as usize];
    match kind {
        yiwang_core::calendar::DayKind::Workday => format!(
            "{}{}",
            lang.pick("工作日", "working day"),
            lang.paren(lang.pick(wd_zh, &weekday.to_string()))
        ),
        yiwang_core::calendar::DayKind::Weekend => format!(
            "{}{}",
            lang.pick("休息日", "day off"),
            lang.paren(lang.pick(wd_zh, &weekday.to_string()))
        ),
        yiwang_core::calendar::DayKind::Holiday(n) => {
            format!("{}{}{n}", lang.pick("法定节假日", "public holiday"), lang.colon())
        }
        yiwang_core::calendar::DayKind::MakeupWorkday(n) => {
            format!("{}{}{n}", lang.pick("调休上班日", "make-up working day"), lang.colon())
        }
    }
}
