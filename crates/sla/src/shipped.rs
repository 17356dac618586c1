//! The configuration shipped with Okno (`config/calendars`, `config/support-levels`),
//! compiled in so a fresh install and the tests start from the same files.

use crate::config::{ConfigErrors, SlaConfig};

/// The shipped calendar directory: `(file name, text)`.
pub const CALENDAR_FILES: &[(&str, &str)] = &[
    (
        "holidays-ru.toml",
        include_str!("../../../config/calendars/holidays-ru.toml"),
    ),
    (
        "ru-standard.toml",
        include_str!("../../../config/calendars/ru-standard.toml"),
    ),
    (
        "nsk-standard.toml",
        include_str!("../../../config/calendars/nsk-standard.toml"),
    ),
    (
        "msk-24x7.toml",
        include_str!("../../../config/calendars/msk-24x7.toml"),
    ),
];

/// The shipped support-level directory: `(file name, text)`.
pub const SUPPORT_LEVEL_FILES: &[(&str, &str)] = &[
    (
        "standard.toml",
        include_str!("../../../config/support-levels/standard.toml"),
    ),
    (
        "premium.toml",
        include_str!("../../../config/support-levels/premium.toml"),
    ),
];

/// The shipped calendars and support levels, parsed.
pub fn config() -> Result<SlaConfig, ConfigErrors> {
    SlaConfig::load(
        CALENDAR_FILES.iter().copied(),
        SUPPORT_LEVEL_FILES.iter().copied(),
    )
}
