//! `contracts.toml`: the registration defaults (seed 003) and the contract lifecycle's
//! windows (seed 001), read from text and checked against the catalog and support levels;
//! every problem is a `file:line: message`.

use okno_sla::{ConfigError, SlaConfig};
use okno_workflow::Catalog;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// The file as shipped in the binary (the one in `config/`).
pub const SHIPPED: &str = include_str!("../../../config/contracts.toml");
/// Its name in a configuration directory.
pub const FILE: &str = "contracts.toml";

/// Priorities a ticket may be registered with.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "critical"];

/// What fills a new ticket's particulars besides its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationDefaults {
    pub company: String,
    pub department: String,
    /// A staff member's email; `None`: the staff member registering the ticket.
    pub owner: Option<String>,
    pub category: String,
    pub priority: String,
    pub line: i64,
    pub support_level: String,
    pub service: String,
}

/// How far ahead the contract lifecycle looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// Days before a contract starts that its contacts are told.
    pub notice_before_start_days: i64,
    /// Days before a contract ends that its contacts are told (and the manager alerted
    /// when there is no successor).
    pub notice_before_end_days: i64,
    /// Days before a contract ends that its renewal invoice is drafted.
    pub invoice_before_end_days: i64,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            notice_before_start_days: 7,
            notice_before_end_days: 14,
            invoice_before_end_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractSettings {
    pub registration: RegistrationDefaults,
    pub lifecycle: LifecycleSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    registration: Spanned<RegistrationFile>,
    lifecycle: Option<Spanned<LifecycleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    company: Spanned<String>,
    department: Spanned<String>,
    owner: Option<Spanned<String>>,
    category: Spanned<String>,
    priority: Spanned<String>,
    line: Spanned<i64>,
    support_level: Spanned<String>,
    service: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleFile {
    notice_before_start_days: Option<Spanned<i64>>,
    notice_before_end_days: Option<Spanned<i64>>,
    invoice_before_end_days: Option<Spanned<i64>>,
}

impl ContractSettings {
    /// The shipped file, checked against the shipped catalog and levels.
    pub fn shipped(catalog: &Catalog, sla: &SlaConfig) -> Result<Self, Vec<ConfigError>> {
        Self::parse(&format!("config/{FILE}"), SHIPPED, catalog, sla)
    }

    /// Reads `text` (the file `file`); services and levels must exist in `catalog` and `sla`.
    pub fn parse(
        file: &str,
        text: &str,
        catalog: &Catalog,
        sla: &SlaConfig,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut at = |span: Range<usize>, message: String| {
            errors.push(ConfigError {
                file: file.to_owned(),
                line: line_of(text, span.start),
                message,
            })
        };
        let parsed: File = match toml::from_str(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                at(e.span().unwrap_or(0..0), e.message().trim_end().to_owned());
                return Err(errors);
            }
        };
        let r = parsed.registration.into_inner();
        let mut text_of = |value: Spanned<String>, name: &str, max: usize| {
            let span = value.span();
            let value = value.into_inner().trim().to_owned();
            if value.is_empty() || value.chars().count() > max {
                at(span, format!("registration.{name}: 1 to {max} characters"));
            }
            value
        };
        let company = text_of(r.company, "company", 200);
        let department = text_of(r.department, "department", 200);
        let category = text_of(r.category, "category", 200);
        let owner_span = r.owner.as_ref().map_or(0..0, Spanned::span);
        let owner = r
            .owner
            .map(|o| o.into_inner().trim().to_lowercase())
            .filter(|o| !o.is_empty());
        if let Some(owner) = &owner
            && okno_domain::Email::parse(owner).is_err()
        {
            at(
                owner_span,
                format!("registration.owner: {owner:?} is not an email address"),
            );
        }
        let priority = r.priority.get_ref().trim().to_owned();
        if !PRIORITIES.contains(&priority.as_str()) {
            at(
                r.priority.span(),
                format!(
                    "registration.priority: {priority:?} is not one of {}",
                    PRIORITIES.join(", ")
                ),
            );
        }
        let line = *r.line.get_ref();
        if !(1..=4).contains(&line) {
            at(
                r.line.span(),
                "registration.line: a support line, 1 to 4".into(),
            );
        }
        let support_level = r.support_level.get_ref().trim().to_owned();
        if sla.level(&support_level).is_none() {
            let known: Vec<_> = sla.levels().map(|l| l.code.clone()).collect();
            at(
                r.support_level.span(),
                format!(
                    "registration.support_level: unknown level {support_level:?} (known: {})",
                    known.join(", ")
                ),
            );
        }
        let service = r.service.get_ref().trim().to_owned();
        if !catalog.service(&service).is_some_and(|s| s.active) {
            at(
                r.service.span(),
                format!(
                    "registration.service: {service:?} is not an active service of the catalog"
                ),
            );
        }

        let mut lifecycle = LifecycleSettings::default();
        if let Some(file) = parsed.lifecycle.map(Spanned::into_inner) {
            for (value, slot, name) in [
                (
                    file.notice_before_start_days,
                    &mut lifecycle.notice_before_start_days,
                    "notice_before_start_days",
                ),
                (
                    file.notice_before_end_days,
                    &mut lifecycle.notice_before_end_days,
                    "notice_before_end_days",
                ),
                (
                    file.invoice_before_end_days,
                    &mut lifecycle.invoice_before_end_days,
                    "invoice_before_end_days",
                ),
            ] {
                let Some(value) = value else { continue };
                if !(0..=366).contains(value.get_ref()) {
                    at(value.span(), format!("lifecycle.{name}: 0 to 366 days"));
                }
                *slot = value.into_inner();
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ContractSettings {
            registration: RegistrationDefaults {
                company,
                department,
                owner,
                category,
                priority,
                line,
                support_level,
                service,
            },
            lifecycle,
        })
    }
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> (Catalog, SlaConfig) {
        let config = crate::config::Config::shipped().unwrap();
        (config.catalog, config.sla)
    }

    #[test]
    fn the_shipped_file_reads() {
        let (catalog, sla) = shipped();
        let settings = ContractSettings::shipped(&catalog, &sla).unwrap();
        assert_eq!(settings.registration.line, 1);
        assert_eq!(settings.registration.owner, None);
        assert_eq!(settings.lifecycle, LifecycleSettings::default());
    }

    #[test]
    fn every_bad_value_is_reported_at_its_line() {
        let (catalog, sla) = shipped();
        let text = SHIPPED
            .replace("line = 1", "line = 7")
            .replace("priority = \"normal\"", "priority = \"asap\"")
            .replace("support_level = \"standard\"", "support_level = \"gold\"")
            .replace("service = \"question\"", "service = \"coffee\"")
            .replace("owner = \"\"", "owner = \"nobody\"")
            .replace("notice_before_end_days = 14", "notice_before_end_days = -1");
        let errors = ContractSettings::parse("c.toml", &text, &catalog, &sla).unwrap_err();
        let line_of_text =
            |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let expect = [
            ("line = 7", "registration.line"),
            ("asap", "registration.priority"),
            ("gold", "registration.support_level"),
            ("coffee", "registration.service"),
            ("nobody", "registration.owner"),
            ("= -1", "lifecycle.notice_before_end_days"),
        ];
        assert_eq!(errors.len(), expect.len(), "{errors:?}");
        for (needle, field) in expect {
            let line = line_of_text(needle);
            assert!(
                errors
                    .iter()
                    .any(|e| e.line == line && e.message.starts_with(field) && e.file == "c.toml"),
                "{field} at line {line}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_missing_section_and_an_unknown_key_are_reported() {
        let (catalog, sla) = shipped();
        let errors =
            ContractSettings::parse("c.toml", "[lifecycle]\n", &catalog, &sla).unwrap_err();
        assert!(errors[0].message.contains("registration"), "{errors:?}");
        let text = SHIPPED.replace("[lifecycle]", "[lifecycle]\nnotice_days = 3");
        let errors = ContractSettings::parse("c.toml", &text, &catalog, &sla).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("notice_days = 3"))
            .unwrap()
            + 1;
        assert_eq!(errors[0].line, line, "{errors:?}");
    }
}
