//! The channels beside mail and the portal (issue 20), each a narrow service over the desk:
//! telephony (caller lookup, call events from a PBX, the caller's card) and outgoing
//! webhooks. Every ticket a
//! channel opens goes through [`Desk::open_ticket`], the pipeline the portal and mail use:
//! the contact, their client, the contract's limits and the route.

pub mod telephony;
pub mod webform;
pub mod webhooks;

use crate::{Desk, Result};
use okno_domain::User;
use okno_domain::policy::Action;

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
    pub const ALL: &[&str] = &[MANGO_API_KEY, MANGO_API_SALT, FORM_ORIGINS];
}

impl Channels<'_> {
    fn require(&self, user: &User, action: Action) -> Result<()> {
        crate::authorize(user, action)
    }

    /// The channel settings an admin sees (secrets included: the page is the admin's).
    pub async fn settings(&self, user: &User) -> Result<Vec<(&'static str, String)>> {
        self.require(user, Action::ReadChannels)?;
        let mut out = Vec::new();
        for name in setting::ALL {
            let value = self.desk.store.channel_setting(name).await?;
            out.push((*name, value.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Saves one channel setting; only names the desk knows, at most 1,000 characters.
    pub async fn set_setting(&self, user: &User, name: &str, value: &str) -> Result<()> {
        self.require(user, Action::ManageChannels)?;
        let name = setting::ALL
            .iter()
            .find(|n| **n == name)
            .ok_or_else(|| okno_domain::FieldError::new("name", "unknown setting"))?;
        if value.chars().count() > 1000 {
            return Err(okno_domain::FieldError::new("value", "at most 1,000 characters").into());
        }
        Ok(self
            .desk
            .store
            .set_channel_setting(name, value.trim(), self.desk.now())
            .await?)
    }
}
