//! The channels beside mail and the portal (issue 20), each a narrow service over the desk:
//! telephony (caller lookup, call events from a PBX, the caller's card) and outgoing
//! webhooks. Every ticket a
//! channel opens goes through [`Desk::open_ticket`], the pipeline the portal and mail use:
//! the contact, their client, the contract's limits and the route.

pub mod telegram;
pub mod telephony;
pub mod webform;
pub mod webhooks;

use crate::{Desk, Result};
use okno_domain::{DomainError, User};

/// The channels' use cases, borrowed from the desk (`desk.channels()`).
pub struct Channels<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn channels(&self) -> Channels<'_> {
        Channels { desk: self }
    }
}

/// Settings an admin edits on the channels page, by name.
pub mod setting {
    /// Mango Office VPBX: the PBX's unique code (`vpbx_api_key`).
    pub const MANGO_API_KEY: &str = "telephony.mango.api_key";
    /// Mango Office VPBX: the signing key (`vpbx_api_salt`).
    pub const MANGO_API_SALT: &str = "telephony.mango.api_salt";
    /// The firm's site origins allowed to post the web form from their pages (CORS).
    pub const FORM_ORIGINS: &str = "webform.origins";
    /// The Telegram bot's token (else `OKNO_TELEGRAM_TOKEN`).
    pub const TELEGRAM_TOKEN: &str = "telegram.token";
    /// The Bot API's address (else `OKNO_TELEGRAM_API`, else the public one).
    pub const TELEGRAM_API: &str = "telegram.api_url";
    /// `polling` (default) or `webhook`.
    pub const TELEGRAM_MODE: &str = "telegram.mode";
    /// Webhook mode: the desk's public address of `/api/v1/telegram/webhook`.
    pub const TELEGRAM_WEBHOOK_URL: &str = "telegram.webhook_url";
    /// Webhook mode: the secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token`.
    pub const TELEGRAM_SECRET: &str = "telegram.webhook_secret";
    pub const ALL: &[&str] = &[
        MANGO_API_KEY,
        MANGO_API_SALT,
        FORM_ORIGINS,
        TELEGRAM_TOKEN,
        TELEGRAM_API,
        TELEGRAM_MODE,
        TELEGRAM_WEBHOOK_URL,
        TELEGRAM_SECRET,
    ];
}

impl Channels<'_> {
    fn require_staff(&self, user: &User) -> Result<()> {
        if user.role.is_staff() {
            Ok(())
        } else {
            Err(DomainError::Forbidden("staff only".into()).into())
        }
    }

    fn require_admin(&self, user: &User) -> Result<()> {
        if user.role == okno_domain::Role::Admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden("admins only".into()).into())
        }
    }

    /// The channel settings an admin sees (secrets included: the page is the admin's).
    pub async fn settings(&self, user: &User) -> Result<Vec<(&'static str, String)>> {
        self.require_admin(user)?;
        let mut out = Vec::new();
        for name in setting::ALL {
            let value = self.desk.store.channel_setting(name).await?;
            out.push((*name, value.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Saves one channel setting; only names the desk knows, at most 1,000 characters.
    pub async fn set_setting(&self, user: &User, name: &str, value: &str) -> Result<()> {
        self.require_admin(user)?;
        let name = setting::ALL
            .iter()
            .find(|n| **n == name)
            .ok_or_else(|| okno_domain::FieldError::new("name", "unknown setting"))?;
        if value.chars().count() > 1000 {
            return Err(okno_domain::FieldError::new("value", "at most 1,000 characters").into());
        }
        let value = value.trim();
        let url = |v: &str| v.is_empty() || v.starts_with("https://") || v.starts_with("http://");
        match *name {
            setting::TELEGRAM_MODE if !matches!(value, "" | "polling" | "webhook") => {
                return Err(okno_domain::FieldError::new(name, "polling or webhook").into());
            }
            setting::TELEGRAM_API | setting::TELEGRAM_WEBHOOK_URL if !url(value) => {
                return Err(okno_domain::FieldError::new(name, "an http(s) address").into());
            }
            // Telegram's own rule for `secret_token`.
            setting::TELEGRAM_SECRET
                if value.len() > 256
                    || !value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                return Err(okno_domain::FieldError::new(
                    name,
                    "1 to 256 of A-Z, a-z, 0-9, _ and -",
                )
                .into());
            }
            _ => {}
        }
        Ok(self
            .desk
            .store
            .set_channel_setting(name, value, self.desk.now())
            .await?)
    }
}
