//! The pages' language and clock: Fluent messages (`crates/web/locales/{ru,en}/*.ftl`,
//! compiled into the binary), CLDR plural rules, and instants shown in the viewer's zone.
//!
//! The language comes from `?lang=` (then remembered in the `lang` cookie), the `lang`
//! cookie, or `Accept-Language`; Russian when none names a language we speak.

use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::borrow::Cow;
use std::collections::HashMap;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "ru",
        // No Unicode isolation marks around arguments: they would end up in the HTML.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

pub const LANG_COOKIE: &str = "lang";
/// A cookie naming the viewer's IANA time zone; the desk's home zone otherwise.
pub const TZ_COOKIE: &str = "tz";
pub const DEFAULT_ZONE: &str = "Europe/Moscow";

static RU: LanguageIdentifier = langid!("ru");
static EN: LanguageIdentifier = langid!("en");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// `ru`, `en`, `en-GB`, `ru_RU`… ; `None` for languages the pages do not speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag
            .trim()
            .split(['-', '_', ';'])
            .next()?
            .to_ascii_lowercase();
        match primary.as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch in the header.
    pub fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }

    /// The `?lang=` value if it names a language, else the cookie, else `Accept-Language`.
    pub fn negotiate(query_lang: Option<Lang>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query_lang {
            return lang;
        }
        let jar = CookieJar::from_headers(headers);
        if let Some(lang) = jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept_language)
            .unwrap_or(Lang::Ru)
    }

    /// The preferred language we speak in an `Accept-Language` value (by q-weight).
    fn from_accept_language(value: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(lang, _)| lang)
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }

    /// The message `key`; a missing key shows itself, so it is noticed, not hidden.
    pub fn t(self, key: &str) -> String {
        LOCALES
            .try_lookup(self.id(), key)
            .unwrap_or_else(|| missing(key))
    }

    /// The message `key` with arguments.
    pub fn t_args(self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        LOCALES
            .try_lookup_with_args(self.id(), key, &args)
            .unwrap_or_else(|| missing(key))
    }

    /// A message taking `$count`, with the language's plural rules (ru: one/few/many).
    pub fn count(self, key: &str, count: i64) -> String {
        self.t_args(key, &[("count", FluentValue::from(count))])
    }

    /// `5 марта 2025, 14:30` / `5 Mar 2025, 14:30` in `zone`.
    /// "Tue 14:00" / "вт 14:00", for promises in plain words; the date is added when it is
    /// not within the coming week.
    pub fn weekday_time(self, at: Timestamp, zone: &TimeZone, now: Timestamp) -> String {
        let local = at.to_zoned_datetime(zone.clone());
        let day = self.t(&format!(
            "weekday-{}",
            local.weekday().to_monday_one_offset()
        ));
        let within_week = (at - now).as_hours() < 6 * 24;
        if within_week {
            format!("{day} {:02}:{:02}", local.hour(), local.minute())
        } else {
            format!("{day} {}", self.instant(at, zone))
        }
    }

    pub fn instant(self, at: Timestamp, zone: &TimeZone) -> String {
        let local = at.to_zoned_datetime(zone.clone());
        let month = self.t(&format!("month-{}", local.month()));
        format!(
            "{} {} {}, {:02}:{:02}",
            local.day(),
            month,
            local.year(),
            local.hour(),
            local.minute()
        )
    }
}

/// The viewer's zone: the `tz` cookie if it names a known zone, else Moscow.
/// A key no language has: shown marked, so a page test finds it (`⟦key⟧`).
fn missing(key: &str) -> String {
    tracing::warn!(key, "untranslated message");
    format!("⟦{key}⟧")
}

pub fn viewer_zone(headers: &HeaderMap) -> TimeZone {
    let jar = CookieJar::from_headers(headers);
    jar.get(TZ_COOKIE)
        .and_then(|c| TimeZone::get(c.value()).ok())
        .or_else(|| TimeZone::get(DEFAULT_ZONE).ok())
        // Without a zone database Moscow is still UTC+3 (no DST since 2014).
        .unwrap_or_else(|| TimeZone::fixed(jiff::tz::offset(3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals_follow_cldr() {
        let forms: Vec<String> = [1, 2, 5, 11, 21, 22, 25, 111]
            .iter()
            .map(|&n| Lang::Ru.count("tickets-count", n))
            .collect();
        assert_eq!(
            forms,
            [
                "1 тикет",
                "2 тикета",
                "5 тикетов",
                "11 тикетов",
                "21 тикет",
                "22 тикета",
                "25 тикетов",
                "111 тикетов"
            ]
        );
        assert_eq!(Lang::En.count("tickets-count", 1), "1 ticket");
        assert_eq!(Lang::En.count("tickets-count", 21), "21 tickets");
    }

    #[test]
    fn every_message_exists_in_both_languages() {
        let ids = |text: &str| -> Vec<String> {
            let mut ids: Vec<String> = text
                .lines()
                .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_owned()))
                .collect();
            ids.sort();
            ids
        };
        let ru = ids(include_str!("../../locales/ru/pages.ftl"));
        let en = ids(include_str!("../../locales/en/pages.ftl"));
        assert!(ru.len() > 50);
        assert_eq!(ru, en);
        // The portal's and desk panels' messages (issue 8) live in their own file.
        let ru = ids(include_str!("../../locales/ru/portal.ftl"));
        let en = ids(include_str!("../../locales/en/portal.ftl"));
        assert!(ru.len() > 50);
        assert_eq!(ru, en);
        // The admin pages' and the knowledge base's.
        let ru = ids(include_str!("../../locales/ru/admin.ftl"));
        let en = ids(include_str!("../../locales/en/admin.ftl"));
        assert!(ru.len() > 50);
        assert_eq!(ru, en);
        let ru = ids(include_str!("../../locales/ru/kb.ftl"));
        let en = ids(include_str!("../../locales/en/kb.ftl"));
        assert!(!ru.is_empty());
        assert_eq!(ru, en);
        let ru = ids(include_str!("../../locales/ru/reports.ftl"));
        let en = ids(include_str!("../../locales/en/reports.ftl"));
        assert!(ru.len() > 50);
        assert_eq!(ru, en);
    }

    #[test]
    fn language_comes_from_query_cookie_or_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &headers), Lang::Ru);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE, en-US;q=0.8, ru;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(None, &headers), Lang::En);
        headers.insert(header::COOKIE, "lang=ru".parse().unwrap());
        assert_eq!(Lang::negotiate(None, &headers), Lang::Ru);
        assert_eq!(Lang::negotiate(Some(Lang::En), &headers), Lang::En);
    }

    #[test]
    fn instants_show_in_the_viewer_zone() {
        let at: Timestamp = "2025-03-05T11:30:00Z".parse().unwrap();
        let zone = viewer_zone(&HeaderMap::new());
        assert_eq!(Lang::Ru.instant(at, &zone), "5 марта 2025, 14:30");
        assert_eq!(Lang::En.instant(at, &zone), "5 Mar 2025, 14:30");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "tz=Asia/Novosibirsk".parse().unwrap());
        assert_eq!(
            Lang::Ru.instant(at, &viewer_zone(&headers)),
            "5 марта 2025, 18:30"
        );
    }
}
