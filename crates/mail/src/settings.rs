//! The channel's settings, read from a TOML file (`okno mail … --mail-config FILE`).

use crate::classify::LoopPolicy;
use crate::imap::MailboxConfig;
use crate::smtp::SmtpConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The address notifications come from (and replies go to).
    #[serde(default = "default_from")]
    pub from: String,
    #[serde(default = "default_from_name")]
    pub from_name: String,
    /// Every address of ours (mailboxes, aliases): never mailed, never taken in.
    #[serde(default)]
    pub own_addresses: Vec<String>,
    /// Unknown senders: `register` (a ticket in the "to register" list) or `refuse`.
    #[serde(default = "default_unknown")]
    pub unknown_senders: String,
    /// A ticket number in the subject from an address that is not the ticket's client:
    /// `same-client` (only contacts of the ticket's client) or `any`.
    #[serde(default = "default_foreign")]
    pub foreign_number: String,
    /// Inbound messages per sender per hour before the rest go to quarantine.
    #[serde(default = "default_rate")]
    pub rate_limit_per_hour: i64,
    /// Where the rating link and ticket links point.
    #[serde(default = "default_url")]
    pub base_url: String,
    #[serde(default)]
    pub mailboxes: Vec<MailboxConfig>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// Line 4: vendors' support addresses.
    #[serde(default)]
    pub vendors: Vec<VendorConfig>,
    /// The authserv-id our receiving server writes into `Authentication-Results`
    /// (e.g. `mx.firm.ru`); only its results are believed. Unset: senders are not checked.
    #[serde(default)]
    pub authserv_id: Option<String>,
    /// A message our server says is not from its sender (DMARC failed, or SPF and DKIM
    /// both did), or one about a ticket from a client contact who is no participant of it:
    /// `note` (default) — an internal note on the ticket it names, for staff to check;
    /// without such a ticket it goes to quarantine — or `quarantine` (always). Never the
    /// contact's public word: a note keeps the message beside the case it is about and
    /// starts no work and no mail to anyone, so a forger gains nothing and staff lose nothing.
    #[serde(default = "default_unverified")]
    pub unverified_mail: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VendorConfig {
    pub code: String,
    pub name: String,
    pub support_email: String,
}

fn default_from() -> String {
    "support@okno.localhost".into()
}
fn default_from_name() -> String {
    "Окно — служба поддержки".into()
}
fn default_unknown() -> String {
    "register".into()
}
fn default_foreign() -> String {
    "same-client".into()
}
fn default_unverified() -> String {
    "note".into()
}
fn default_rate() -> i64 {
    30
}
fn default_url() -> String {
    "http://127.0.0.1:8080".into()
}

impl Default for MailSettings {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl MailSettings {
    /// Reads and checks a settings file; errors name the file and what is wrong.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let settings: MailSettings = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
                .unwrap_or(1);
            format!("{}:{line}: {}", path.display(), e.message())
        })?;
        if !matches!(settings.unknown_senders.as_str(), "register" | "refuse") {
            return Err(format!(
                "{}: unknown_senders must be register or refuse",
                path.display()
            ));
        }
        if !matches!(settings.foreign_number.as_str(), "same-client" | "any") {
            return Err(format!(
                "{}: foreign_number must be same-client or any",
                path.display()
            ));
        }
        if !matches!(settings.unverified_mail.as_str(), "note" | "quarantine") {
            return Err(format!(
                "{}: unverified_mail must be note or quarantine",
                path.display()
            ));
        }
        Ok(settings)
    }

    pub fn loop_policy(&self) -> LoopPolicy {
        let mut own: Vec<String> = self
            .own_addresses
            .iter()
            .map(|a| a.to_lowercase())
            .collect();
        own.push(self.from.to_lowercase());
        own.extend(
            self.mailboxes
                .iter()
                .filter(|m| m.user.contains('@'))
                .map(|m| m.user.to_lowercase()),
        );
        own.sort();
        own.dedup();
        LoopPolicy {
            own_addresses: own,
            x_loop: self.from.to_lowercase(),
        }
    }

    /// The domain our Message-IDs end in.
    pub fn id_domain(&self) -> &str {
        self.from.rsplit('@').next().unwrap_or("okno.localhost")
    }
}
