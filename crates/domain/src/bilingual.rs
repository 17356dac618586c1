//! A text the system writes once and people read in their own language: an alert's or a
//! documentation task's title. Both languages are stored in one column, the reader gets
//! theirs; a text people typed themselves is stored as it is and read the same by everyone.

/// Joins the two languages in storage: a control character nobody types. Typed parts (a
/// person's note inside a title) have it replaced when stored, so they never split.
const SEPARATOR: char = '\u{1F}';

/// Russian and English forms of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilingual {
    pub ru: String,
    pub en: String,
}

impl Bilingual {
    pub fn new(ru: impl Into<String>, en: impl Into<String>) -> Self {
        Bilingual {
            ru: ru.into(),
            en: en.into(),
        }
    }

    /// The one column that keeps both.
    pub fn to_stored(&self) -> String {
        let clean = |text: &str| text.replace(SEPARATOR, " ");
        format!("{}{SEPARATOR}{}", clean(&self.ru), clean(&self.en))
    }

    /// The stored text in `locale` (`en…` English, anything else Russian). A text stored in
    /// one language comes back as it is. Alerts of earlier releases joined the languages with
    /// ` / `; `legacy` says the text may be one of those.
    pub fn read<'a>(stored: &'a str, locale: &str, legacy: bool) -> &'a str {
        let halves = stored
            .split_once(SEPARATOR)
            .or_else(|| legacy.then(|| stored.split_once(" / ")).flatten());
        match halves {
            Some((_, en)) if locale.to_ascii_lowercase().starts_with("en") => en,
            Some((ru, _)) => ru,
            None => stored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reader_gets_their_language_and_typed_text_stays_whole() {
        let stored = Bilingual::new("Срок нарушен", "Deadline breached").to_stored();
        assert_eq!(Bilingual::read(&stored, "en", false), "Deadline breached");
        assert_eq!(
            Bilingual::read(&stored, "EN-us", false),
            "Deadline breached"
        );
        assert_eq!(Bilingual::read(&stored, "ru", false), "Срок нарушен");
        assert_eq!(Bilingual::read(&stored, "", false), "Срок нарушен");
        // Someone's own title with a slash is not a pair of languages.
        assert_eq!(Bilingual::read("1С / отчёты", "en", false), "1С / отчёты");
        assert_eq!(Bilingual::read("Лимит / Limit", "en", true), "Limit");
    }
}
