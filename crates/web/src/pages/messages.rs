//! The desk's refusals in the viewer's language. The domain writes its messages in English
//! (the API returns them as they are); the admin forms show them through this table: each
//! known message has a key, with `$value` for the part that varies.

use super::i18n::Lang;
use fluent_templates::fluent_bundle::FluentValue;

/// `(pattern, key)`: a pattern is the message itself, or `prefix{}suffix` where `{}` is the
/// part that varies, passed to the message as `$value`.
pub const DESK_MESSAGES: &[(&str, &str)] = &[
    ("must not be empty", "field-required"),
    ("at most {} characters", "field-too-long"),
    ("invalid", "field-invalid"),
    ("not an email address", "desk-not-email"),
    ("at least {} characters", "desk-at-least-chars"),
    ("you cannot lock yourself out", "desk-lock-out"),
    ("client, specialist, manager or admin", "desk-role"),
    ("a line is 1 to 4", "desk-line"),
    ("a line is 1 to 4, not {}", "desk-line"),
    ("no pool {}", "desk-no-pool"),
    ("unknown client", "field-client"),
    ("unknown client {}", "desk-unknown-client"),
    (
        "only a client contact has a client",
        "desk-client-for-contacts",
    ),
    (
        "a client contact has no lines or pools",
        "desk-contact-no-lines",
    ),
    ("must be a number", "desk-number"),
    ("must be a non-negative amount", "desk-amount"),
    ("is too large", "desk-too-large"),
    ("expected a date YYYY-MM-DD", "desk-date"),
    ("1–32 letters, digits, '-' or '_'", "desk-code"),
    ("a limit needs a value", "desk-limit-value"),
    ("a limit is a whole non-negative number", "desk-limit-whole"),
    ("the same limit is given twice", "desk-limit-twice"),
    ("not an IANA time zone", "desk-time-zone"),
    ("unknown calendar", "desk-unknown-calendar"),
    ("the period ends before it starts", "desk-period"),
    ("unknown service {}", "desk-unknown-service"),
    ("unknown support level", "desk-unknown-level"),
    (
        "one of accept_and_flag, offer_extension, defer, refuse",
        "desk-limit-reaction",
    ),
    ("0 to 1440 minutes", "desk-rounding"),
    ("a priority is 1 (first) to 99", "desk-priority"),
    (
        "the period overlaps contract {} of the same client for a common service",
        "desk-overlap",
    ),
    // The store's clashes (after their `field: `).
    (
        "another client has this code or mail domain",
        "desk-client-taken",
    ),
    (
        "a client with this code or mail domain exists",
        "desk-client-taken",
    ),
    ("another user has this email", "admin-email-taken"),
    ("a user with this email exists", "admin-email-taken"),
    ("another contract has this number", "desk-contract-taken"),
];

/// The part of `message` that `pattern` leaves open (`""` for an exact match).
fn matches<'a>(pattern: &str, message: &'a str) -> Option<&'a str> {
    match pattern.split_once("{}") {
        None => (pattern == message).then_some(""),
        Some((prefix, suffix)) => message
            .strip_prefix(prefix)?
            .strip_suffix(suffix)
            .filter(|value| !value.is_empty()),
    }
}

/// `message` in `lang`, if the table knows it.
pub fn desk_message(lang: Lang, message: &str) -> Option<String> {
    DESK_MESSAGES.iter().find_map(|(pattern, key)| {
        let value = matches(pattern, message)?;
        // A quoted code (`"gold"`) reads better without its quotes.
        let value = value.trim_matches('"').to_owned();
        Some(lang.t_args(key, &[("value", FluentValue::from(value))]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_desk_message_has_both_translations() {
        for (pattern, key) in DESK_MESSAGES {
            let sample = pattern.replace("{}", "7");
            for lang in [Lang::Ru, Lang::En] {
                let text = desk_message(lang, &sample).unwrap_or_default();
                assert!(
                    !text.is_empty() && !text.contains('⟦'),
                    "{key} in {lang:?}: {text}"
                );
            }
            let (ru, en) = (
                desk_message(Lang::Ru, &sample).unwrap(),
                desk_message(Lang::En, &sample).unwrap(),
            );
            assert_ne!(ru, en, "{key} is not translated");
            assert!(
                ru.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я')),
                "{key} in Russian: {ru}"
            );
        }
    }

    #[test]
    fn the_varying_part_is_kept() {
        assert_eq!(
            desk_message(Lang::Ru, "no pool licensing").as_deref(),
            Some("Нет пула ролей licensing.")
        );
        assert_eq!(
            desk_message(Lang::En, "unknown service \"gold\"").as_deref(),
            Some("No service gold.")
        );
        assert_eq!(
            desk_message(Lang::Ru, "a line is 1 to 4, not 7").as_deref(),
            Some("Линия — число от 1 до 4.")
        );
        assert_eq!(desk_message(Lang::Ru, "something else"), None);
        assert_eq!(desk_message(Lang::Ru, "no pool "), None);
    }
}
