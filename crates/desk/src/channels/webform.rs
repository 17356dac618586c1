//! The web form on the firm's site (`/form`): a known contact (by email, then by phone) gets
//! a ticket in their own name; a stranger becomes a contact of their mail domain's client
//! or of the "to register" list, as a stranger's mail does. The confirmation is the
//! ticket's own "accepted" notice (the outbox mails it). A filled honeypot is taken for a
//! bot: answered like a person, nothing stored. Posts are limited per sender address and
//! per email in the database, so several processes count together.

use super::Channels;
use crate::tickets::TicketInput;
use crate::{DeskError, Result};
use jiff::SignedDuration;
use okno_domain::channels::PhoneNumber;
use okno_domain::*;
use okno_store::{ContactUpsert, UNREGISTERED_CLIENT, UNREGISTERED_CLIENT_NAME};

/// Posts one email may make in [`RATE_WINDOW`].
pub const RATE_LIMIT_EMAIL: i64 = 5;
/// Posts one network address may make in [`RATE_WINDOW`] (offices share one behind NAT).
pub const RATE_LIMIT_ADDRESS: i64 = 20;
pub const RATE_WINDOW: SignedDuration = SignedDuration::from_mins(10);
const NAME_MAX: usize = 200;

/// A form as posted.
#[derive(Debug, Clone, Default)]
pub struct FormPost {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub subject: String,
    pub message: String,
    /// The field people never see; bots fill it.
    pub honeypot: String,
    /// Where the post came from (the peer's IP address; empty or `unknown` when not known).
    pub address: String,
}

/// What a post came to.
#[derive(Debug, Clone)]
pub enum FormOutcome {
    /// A ticket for a known contact.
    Created(Ticket),
    /// A ticket of a new contact, waiting in the "to register" list (or under the client of
    /// their mail domain).
    NewContact(Ticket),
    /// A bot: nothing stored.
    Ignored,
}

impl Channels<'_> {
    pub async fn form_post(&self, post: FormPost) -> Result<FormOutcome> {
        if !post.honeypot.trim().is_empty() {
            return Ok(FormOutcome::Ignored);
        }
        let name = post.name.trim().to_owned();
        if name.chars().count() > NAME_MAX {
            return Err(FieldError::new("name", "at most 200 characters").into());
        }
        let email = match post.email.trim() {
            "" => None,
            text => Some(
                Email::parse(text).map_err(|_| FieldError::new("email", "not an email address"))?,
            ),
        };
        let phone = match post.phone.trim() {
            "" => None,
            text => Some(PhoneNumber::parse(text)?),
        };
        if email.is_none() && phone.is_none() {
            return Err(FieldError::new("email", "an email or a phone number is required").into());
        }
        if post.subject.trim().is_empty() {
            return Err(FieldError::new("subject", "a subject is required").into());
        }
        let store = &self.desk.store;
        let now = self.desk.now();
        let since = now - RATE_WINDOW;
        let mut keys = Vec::new();
        if !post.address.is_empty() && post.address != "unknown" {
            keys.push((format!("ip:{}", post.address), RATE_LIMIT_ADDRESS));
        }
        if let Some(email) = &email {
            keys.push((
                format!("email:{}", email.as_str().to_lowercase()),
                RATE_LIMIT_EMAIL,
            ));
        }
        for (key, limit) in &keys {
            if store.form_posts_since(key, since).await? >= *limit {
                return Err(DeskError::Throttled {
                    retry_after_secs: u64::try_from(RATE_WINDOW.as_secs()).unwrap_or(600),
                });
            }
        }
        for (key, _) in &keys {
            store.record_form_post(key, now).await?;
        }
        let known = match &email {
            Some(email) => store
                .user_by_email(email)
                .await?
                .map(|(user, _)| user)
                .filter(|u| u.role == Role::Client),
            None => None,
        };
        let known = match (known, &phone) {
            (Some(user), _) => Some(user),
            (None, Some(phone)) => match store.contact_by_phone(phone.key()).await? {
                Some(contact) => store.user(contact.id).await?,
                None => None,
            },
            (None, None) => None,
        };
        let input = TicketInput {
            service: String::new(),
            subject: post.subject.clone(),
            description: post.message.clone(),
            ..TicketInput::default()
        };
        if let Some(user) = known {
            return Ok(FormOutcome::Created(
                self.desk.open_ticket(&user, input).await?,
            ));
        }
        let Some(email) = email else {
            return Err(FieldError::new(
                "email",
                "the phone number is nobody's: give an email to be answered",
            )
            .into());
        };
        let domain = email.as_str().rsplit('@').next().unwrap_or_default();
        let client = match store.client_by_mail_domain(domain).await? {
            Some(client) => client.id,
            None => {
                store
                    .ensure_client(UNREGISTERED_CLIENT, UNREGISTERED_CLIENT_NAME)
                    .await?
            }
        };
        let (id, _) = store
            .upsert_contact(&ContactUpsert {
                client_id: client,
                email: email.clone(),
                name: if name.is_empty() {
                    email.as_str().to_owned()
                } else {
                    name
                },
                phone: phone.as_ref().map(ToString::to_string),
                telegram_id: None,
                sees_organization: false,
                director: false,
                external_id: None,
            })
            .await?;
        let user = store
            .user(id)
            .await?
            .ok_or(DomainError::NotFound("contact"))?;
        Ok(FormOutcome::NewContact(
            self.desk.open_ticket(&user, input).await?,
        ))
    }

    /// The site origins allowed to post the form from their pages (CORS), one per line or
    /// comma-separated in the `webform.origins` setting.
    pub async fn form_origins(&self) -> Result<Vec<String>> {
        Ok(self
            .desk
            .store
            .channel_setting(super::setting::FORM_ORIGINS)
            .await?
            .unwrap_or_default()
            .split([',', '\n', ' '])
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect())
    }
}
