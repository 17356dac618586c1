//! The Telegram bot (issue 20): a contact links their Telegram account once (a one-time
//! code from the portal, or their own phone number shared from Telegram), then opens
//! tickets by choosing a service from buttons, writes and sends photos and files into the
//! ticket they are in (or the one whose bot message they reply to), answers the question a
//! ticket waits on exactly as on the portal, and rates a solved ticket with buttons.
//! Everything the desk tells a contact by mail it also tells a linked contact here, and
//! managers who link their account get their alerts.
//!
//! Updates come by long polling (`getUpdates`, the offset kept in the database) or by
//! webhook; each update is taken in once (`telegram_updates`). What the bot says goes into
//! its queue (`telegram_messages`): replies as they are made, notices by the dispatcher,
//! which follows the outbox and the alerts with cursors moved in the same transaction as
//! the messages it queues. The sender keeps Telegram's limits: 4096 characters a message
//! (longer texts are split), about 30 messages a second, and a 429's `retry_after`.
//!
//! The Bot API's types are `frankenstein`'s; the HTTP calls are the desk's own `reqwest`
//! client, against a configurable API address (tests run a local fake of it).

use super::{Channels, setting};
use crate::tickets::TicketInput;
use crate::{Desk, DeskError, Result};
use frankenstein::types::{CallbackQuery, ChatType, Contact, Message};
use frankenstein::updates::{Update, UpdateContent};
use jiff::{SignedDuration, Timestamp};
use okno_domain::channels::{
    LINK_CODE_ALPHABET, LINK_CODE_LEN, PhoneNumber, TELEGRAM_TEXT_MAX, link_code,
    split_telegram_text,
};
use okno_domain::policy::Action;
use okno_domain::*;
use okno_store::telegram::state;
use okno_store::{NewTelegramMessage, TelegramLink};
use rand::Rng;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The public Bot API.
pub const API_DEFAULT: &str = "https://api.telegram.org";
/// How long a link code shown on the portal works.
pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(15);
/// About 30 messages a second in all (Telegram's broadcast limit).
pub const SEND_INTERVAL: Duration = Duration::from_millis(34);
/// Messages one send pass leases, and how long a lease lasts.
const SEND_BATCH: u32 = 100;
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Failed sends are tried this many times (a 429 waits its `retry_after` and does not count).
const SEND_ATTEMPTS: i64 = 8;
/// Outbox rows and alerts one dispatch pass reads.
const FEED_BATCH: u32 = 500;
/// How long an update id is remembered against a second delivery.
const UPDATE_MEMORY: SignedDuration = SignedDuration::from_hours(24);
/// How long a `getUpdates` long poll waits.
pub const POLL_TIMEOUT_S: u64 = 25;

/// How updates reach the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Polling,
    Webhook,
}

/// The bot's settings, from **Admin → Channels**, else `OKNO_TELEGRAM_TOKEN` and
/// `OKNO_TELEGRAM_API` (the desk's [`crate::Settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    pub token: String,
    /// The Bot API's address, without a trailing slash.
    pub api: String,
    pub mode: Mode,
    /// Webhook mode: the desk's public address Telegram posts to.
    pub webhook_url: String,
    /// Webhook mode: `X-Telegram-Bot-Api-Secret-Token` of every post.
    pub secret: String,
}

/// A failed Bot API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BotError {
    /// Telegram answered `{ok: false, error_code, description, parameters}`.
    #[error("Telegram error {code}: {description}")]
    Api {
        code: i64,
        description: String,
        retry_after: Option<u64>,
    },
    #[error("Telegram unreachable: {0}")]
    Transport(String),
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
}

/// One client of the Bot API (a `reqwest` client, the API address and the token).
#[derive(Debug, Clone)]
pub struct BotApi {
    http: reqwest::Client,
    api: String,
    token: String,
}

fn shared_http() -> reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
    .clone()
}

impl BotApi {
    pub fn new(config: &TelegramConfig) -> BotApi {
        BotApi {
            http: shared_http(),
            api: config.api.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
        }
    }

    /// Calls `method` with JSON `params`; the `result` of `{ok: true, result}`.
    pub async fn call(&self, method: &str, params: &Value) -> Result<Value, BotError> {
        self.call_within(method, params, Duration::from_secs(30))
            .await
    }

    async fn call_within(
        &self,
        method: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value, BotError> {
        let url = format!("{}/bot{}/{method}", self.api, self.token);
        let response = self
            .http
            .post(url)
            .timeout(timeout)
            .json(params)
            .send()
            .await
            // Never log the address: it carries the token.
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        if body.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(body.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(BotError::Api {
            code: body.get("error_code").and_then(Value::as_i64).unwrap_or(0),
            description: body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("no description")
                .to_owned(),
            retry_after: body
                .pointer("/parameters/retry_after")
                .and_then(Value::as_u64),
        })
    }

    /// Downloads a file `getFile` named, refusing one over `limit` bytes.
    pub async fn download(&self, file_path: &str, limit: u64) -> Result<Vec<u8>, BotError> {
        let url = format!("{}/file/bot{}/{file_path}", self.api, self.token);
        let mut response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(BotError::Transport(format!(
                "file download answered {}",
                response.status()
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(BotError::TooLarge(limit));
            }
        }
        Ok(bytes)
    }
}

/// What one update came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Taken in before (a webhook retry, a replayed poll).
    Duplicate,
    /// Nothing for the desk (a group chat, a bot, an update kind the bot does not handle).
    Ignored,
    /// From a Telegram account linked to nobody: told how to link, nothing else done.
    Unlinked,
    /// Refused with a reply saying why (someone else's contact, an unknown code, …).
    Refused(String),
    /// The account is now linked to this user.
    Linked(UserId),
    /// A menu, a service chosen, a prompt: nothing stored on a ticket.
    Answered,
    Opened(TicketId),
    /// A message (with its files) posted on the ticket.
    Commented(TicketId),
    Rated(TicketId),
}

/// What one send pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TelegramSendCounts {
    pub sent: usize,
    pub failed: usize,
    /// Messages put back because Telegram asked to wait (429).
    pub throttled: usize,
}

/// The bot's use cases over one API client (`desk.telegram(&api)`).
pub struct Telegram<'a> {
    desk: &'a Desk,
    api: &'a BotApi,
}

impl Desk {
    pub fn telegram<'a>(&'a self, api: &'a BotApi) -> Telegram<'a> {
        Telegram { desk: self, api }
    }

    /// The bot's settings; `None` while no token is set.
    pub async fn telegram_config(&self) -> Result<Option<TelegramConfig>> {
        let read = |name: &'static str| async move {
            Ok::<_, DeskError>(
                self.store
                    .channel_setting(name)
                    .await?
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty()),
            )
        };
        let Some(token) = read(setting::TELEGRAM_TOKEN)
            .await?
            .or_else(|| self.settings.telegram_token.clone())
        else {
            return Ok(None);
        };
        let api = read(setting::TELEGRAM_API)
            .await?
            .or_else(|| self.settings.telegram_api.clone())
            .unwrap_or_else(|| API_DEFAULT.to_owned());
        let mode = match read(setting::TELEGRAM_MODE).await?.as_deref() {
            Some("webhook") => Mode::Webhook,
            _ => Mode::Polling,
        };
        Ok(Some(TelegramConfig {
            token,
            api: api.trim_end_matches('/').to_owned(),
            mode,
            webhook_url: read(setting::TELEGRAM_WEBHOOK_URL)
                .await?
                .unwrap_or_default(),
            secret: read(setting::TELEGRAM_SECRET).await?.unwrap_or_default(),
        }))
    }

    /// Records a failure talking to Telegram for the admin's status line.
    pub async fn telegram_error(&self, error: &str) {
        let value = format!("{} {error}", self.now().as_millisecond());
        if let Err(e) = self
            .store
            .set_telegram_state(state::LAST_ERROR, &value)
            .await
        {
            tracing::warn!(error = %e, "cannot record a Telegram error");
        }
    }
}

/// The bot's status for the admin: when the last update came and the last error.
#[derive(Debug, Clone, Default)]
pub struct TelegramStatus {
    pub last_update_at: Option<Timestamp>,
    pub last_error: Option<(Timestamp, String)>,
    pub offset: i64,
    pub webhook_set: bool,
}

impl Channels<'_> {
    /// A one-time code for the user to send the bot (`/start CODE`), valid for 15 minutes;
    /// a new code replaces the user's earlier one.
    pub async fn telegram_code(&self, user: &User) -> Result<(String, Timestamp)> {
        let code: String = {
            // The generator is not `Send`: it is gone before the first await.
            let mut rng = rand::rng();
            (0..LINK_CODE_LEN)
                .map(|_| LINK_CODE_ALPHABET[rng.random_range(0..LINK_CODE_ALPHABET.len())] as char)
                .collect()
        };
        let now = self.desk.now();
        let expires = now + CODE_TTL;
        self.desk
            .store
            .create_telegram_code(user.id, &code, now, expires)
            .await?;
        Ok((code, expires))
    }

    /// The user's linked Telegram account, if any.
    pub async fn telegram_link(&self, user: &User) -> Result<Option<TelegramLink>> {
        Ok(self.desk.store.telegram_link_of(user.id).await?)
    }

    pub async fn unlink_telegram(&self, user: &User) -> Result<bool> {
        Ok(self.desk.store.unlink_telegram(user.id).await?)
    }

    pub async fn telegram_status(&self, user: &User) -> Result<TelegramStatus> {
        self.require(user, Action::ReadChannels)?;
        let store = &self.desk.store;
        let ms = |v: Option<String>| {
            v.and_then(|v| v.parse::<i64>().ok())
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        };
        let last_error = store
            .telegram_state(state::LAST_ERROR)
            .await?
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                let (at, text) = v.split_once(' ')?;
                Some((ms(Some(at.to_owned()))?, text.to_owned()))
            });
        Ok(TelegramStatus {
            last_update_at: ms(store.telegram_state(state::LAST_UPDATE_AT).await?),
            last_error,
            offset: store
                .telegram_state(state::OFFSET)
                .await?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            webhook_set: store
                .telegram_state(state::WEBHOOK_SET)
                .await?
                .is_some_and(|v| !v.is_empty()),
        })
    }
}

/// What the bot says, in Russian or (for an account whose language is English) English.
fn say(lang: &str, ru: &str, en: &str) -> String {
    if lang.starts_with("en") {
        en.to_owned()
    } else {
        ru.to_owned()
    }
}

fn explain_unlinked(lang: &str) -> String {
    say(
        lang,
        "Здравствуйте! Этот бот — служба поддержки для наших клиентов. Мы пока не знаем, кто вы: \
         откройте портал поддержки, в профиле нажмите «Подключить Telegram» и отправьте сюда \
         полученный код. Или поделитесь своим номером телефона (кнопка ниже), если он записан у нас.",
        "Hello! This bot is the support desk for our clients. We do not know who you are yet: \
         open the support portal, press \"Connect Telegram\" on your profile and send the code \
         here. Or share your phone number (the button below) if we have it on file.",
    )
}

/// A keyboard asking for the sender's own phone number.
fn share_phone_keyboard(lang: &str) -> String {
    json!({
        "keyboard": [[{"text": say(lang, "Поделиться номером", "Share my phone number"), "request_contact": true}]],
        "one_time_keyboard": true,
        "resize_keyboard": true,
    })
    .to_string()
}

fn rating_keyboard(ticket: TicketId) -> String {
    let row: Vec<Value> = (1..=5)
        .map(|score| json!({"text": "⭐".repeat(score), "callback_data": format!("rate:{}:{score}", ticket.0)}))
        .collect();
    json!({"inline_keyboard": [row]}).to_string()
}

/// A file in a message: the largest size of a photo, or a document.
struct IncomingFile {
    file_id: String,
    name: String,
    content_type: String,
    size: Option<u64>,
}

fn files_of(message: &Message) -> Vec<IncomingFile> {
    let mut files = Vec::new();
    if let Some(photo) = message.photo.as_ref().and_then(|sizes| {
        sizes
            .iter()
            .max_by_key(|p| (p.width * p.height, p.file_size))
    }) {
        files.push(IncomingFile {
            file_id: photo.file_id.clone(),
            name: format!("photo-{}.jpg", message.message_id),
            content_type: "image/jpeg".into(),
            size: photo.file_size,
        });
    }
    if let Some(document) = &message.document {
        files.push(IncomingFile {
            file_id: document.file_id.clone(),
            name: document
                .file_name
                .clone()
                .unwrap_or_else(|| format!("file-{}", message.message_id)),
            content_type: document
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: document.file_size,
        });
    }
    files
}

fn megabytes(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
}

impl Telegram<'_> {
    fn reply(&self, chat: i64, ticket: Option<TicketId>, text: String) -> NewTelegramMessage {
        NewTelegramMessage {
            chat_id: chat,
            ticket_id: ticket,
            text,
            reply_markup: None,
        }
    }

    async fn queue(&self, messages: Vec<NewTelegramMessage>) -> Result<()> {
        let mut parts = Vec::with_capacity(messages.len());
        for message in messages {
            let pieces = split_telegram_text(&message.text, TELEGRAM_TEXT_MAX);
            let last = pieces.len() - 1;
            for (i, text) in pieces.into_iter().enumerate() {
                parts.push(NewTelegramMessage {
                    text,
                    // The buttons go with the last piece.
                    reply_markup: if i == last {
                        message.reply_markup.clone()
                    } else {
                        None
                    },
                    ..message.clone()
                });
            }
        }
        Ok(self
            .desk
            .store
            .queue_telegram(&parts, self.desk.now())
            .await?)
    }

    /// Takes a batch of updates in (from `getUpdates` or a webhook post), each once. One
    /// sender's updates are taken in their order; different senders' concurrently (their
    /// writes share commits).
    pub async fn take_updates(&self, updates: &[Value]) -> Result<Vec<UpdateOutcome>> {
        let mut by_sender: Vec<(Option<i64>, Vec<usize>)> = Vec::new();
        for (i, update) in updates.iter().enumerate() {
            let sender = ["/message/from/id", "/callback_query/from/id"]
                .iter()
                .find_map(|p| update.pointer(p).and_then(Value::as_i64));
            match by_sender
                .iter_mut()
                .find(|(s, _)| sender.is_some() && *s == sender)
            {
                Some((_, indexes)) => indexes.push(i),
                None => by_sender.push((sender, vec![i])),
            }
        }
        let runs = by_sender.iter().map(|(_, indexes)| async move {
            let mut taken = Vec::with_capacity(indexes.len());
            for &i in indexes {
                taken.push((i, self.take_update(&updates[i]).await?));
            }
            Ok::<_, DeskError>(taken)
        });
        let mut outcomes = vec![UpdateOutcome::Ignored; updates.len()];
        for run in futures::future::join_all(runs).await {
            for (i, outcome) in run? {
                outcomes[i] = outcome;
            }
        }
        if !updates.is_empty() {
            let now = self.desk.now().as_millisecond().to_string();
            self.desk
                .store
                .set_telegram_state(state::LAST_UPDATE_AT, &now)
                .await?;
        }
        Ok(outcomes)
    }

    /// One update: taken in once, then handled by kind.
    pub async fn take_update(&self, update: &Value) -> Result<UpdateOutcome> {
        let Some(id) = update.get("update_id").and_then(Value::as_i64) else {
            return Ok(UpdateOutcome::Ignored);
        };
        let now = self.desk.now();
        if !self
            .desk
            .store
            .claim_telegram_update(id, now, now - UPDATE_MEMORY)
            .await?
        {
            return Ok(UpdateOutcome::Duplicate);
        }
        let update: Update = match serde_json::from_value(update.clone()) {
            Ok(update) => update,
            Err(error) => {
                tracing::info!(update = id, %error, "Telegram update not understood");
                return Ok(UpdateOutcome::Ignored);
            }
        };
        match update.content {
            UpdateContent::Message(message) => self.message(&message).await,
            UpdateContent::CallbackQuery(query) => self.callback(&query).await,
            _ => Ok(UpdateOutcome::Ignored),
        }
    }

    async fn message(&self, m: &Message) -> Result<UpdateOutcome> {
        let Some(from) = m.from.as_deref().filter(|f| !f.is_bot) else {
            return Ok(UpdateOutcome::Ignored);
        };
        if m.chat.type_field != ChatType::Private {
            return Ok(UpdateOutcome::Ignored);
        }
        let lang = from.language_code.clone().unwrap_or_default();
        let account = from.id as i64;
        let chat = m.chat.id;
        if let Some(contact) = &m.contact {
            return self.link_by_contact(account, chat, &lang, contact).await;
        }
        let text = m
            .text
            .as_deref()
            .or(m.caption.as_deref())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let link = self.desk.store.telegram_link(account).await?;
        if let Some(code) = link_code(&text)
            && (link.is_none() || text.starts_with("/start"))
        {
            return self.link_by_code(account, chat, &lang, &code).await;
        }
        let user = match &link {
            Some(link) => self.desk.store.user(link.user_id).await?,
            None => None,
        };
        let (Some(link), Some(user)) = (link, user) else {
            let mut explain = self.reply(chat, None, explain_unlinked(&lang));
            explain.reply_markup = Some(share_phone_keyboard(&lang));
            self.queue(vec![explain]).await?;
            return Ok(UpdateOutcome::Unlinked);
        };
        let lang = user.locale.clone();
        if text == "/start" || text == "/help" || text == "/new" {
            return self.menu(&link, &user, &lang, text == "/new").await;
        }
        let replied = match &m.reply_to_message {
            Some(original) => {
                self.desk
                    .store
                    .ticket_of_telegram_message(chat, i64::from(original.message_id))
                    .await?
            }
            None => None,
        };
        let files = files_of(m);
        if replied.is_none()
            && let Some(service) = link.pending_service.clone()
        {
            return self.open(&link, &user, &lang, &service, &text, files).await;
        }
        match replied.or(link.current_ticket) {
            Some(ticket) => {
                self.comment(&link, &user, &lang, ticket, &text, files)
                    .await
            }
            None => self.menu(&link, &user, &lang, true).await,
        }
    }

    async fn welcome(&self, chat: i64, user: &User) -> Result<()> {
        let lang = &user.locale;
        let text = if user.role.is_staff() {
            say(
                lang,
                &format!(
                    "{}, Telegram подключён: сюда будут приходить ваши оповещения.",
                    user.name
                ),
                &format!(
                    "{}, Telegram is connected: your alerts will come here.",
                    user.name
                ),
            )
        } else {
            say(
                lang,
                &format!(
                    "{}, Telegram подключён. Здесь вы получите ответы и новости по своим обращениям. \
                     Чтобы задать вопрос, нажмите /new.",
                    user.name
                ),
                &format!(
                    "{}, Telegram is connected. Answers and news about your tickets will come here. \
                     To ask a question, press /new.",
                    user.name
                ),
            )
        };
        let mut message = self.reply(chat, None, text);
        message.reply_markup = Some(json!({"remove_keyboard": true}).to_string());
        self.queue(vec![message]).await
    }

    async fn link_by_code(
        &self,
        account: i64,
        chat: i64,
        lang: &str,
        code: &str,
    ) -> Result<UpdateOutcome> {
        let now = self.desk.now();
        let Some(user_id) = self.desk.store.take_telegram_code(code, now).await? else {
            self.queue(vec![self.reply(
                chat,
                None,
                say(
                    lang,
                    "Этот код не подходит: он неверен, уже использован или истёк. Получите новый код в профиле на портале.",
                    "This code does not work: it is wrong, used or expired. Get a new code on your portal profile.",
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Refused("code".into()));
        };
        let Some(user) = self.desk.store.user(user_id).await? else {
            return Ok(UpdateOutcome::Refused("code".into()));
        };
        self.desk
            .store
            .link_telegram(account, chat, user.id, lang, now)
            .await?;
        self.welcome(chat, &user).await?;
        Ok(UpdateOutcome::Linked(user.id))
    }

    async fn link_by_contact(
        &self,
        account: i64,
        chat: i64,
        lang: &str,
        contact: &Contact,
    ) -> Result<UpdateOutcome> {
        // Telegram lets anyone share anyone's contact card: only the sender's own counts.
        if contact.user_id != Some(account as u64) {
            self.queue(vec![self.reply(
                chat,
                None,
                say(
                    lang,
                    "Это чужой контакт. Чтобы подключиться, поделитесь своим собственным номером (кнопка «Поделиться номером»).",
                    "That is someone else's contact. To connect, share your own number (the \"Share my phone number\" button).",
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Refused("contact".into()));
        }
        let found = match PhoneNumber::parse(&contact.phone_number) {
            Ok(phone) => self.desk.store.contact_by_phone(phone.key()).await?,
            Err(_) => None,
        };
        let Some(found) = found else {
            self.queue(vec![self.reply(
                chat,
                None,
                say(
                    lang,
                    "Мы не нашли этот номер среди контактов наших клиентов. Подключитесь по коду из профиля на портале или попросите нас записать ваш номер.",
                    "We did not find this number among our clients' contacts. Connect with the code from your portal profile, or ask us to record your number.",
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Refused("phone".into()));
        };
        let Some(user) = self.desk.store.user(found.id).await? else {
            return Ok(UpdateOutcome::Refused("phone".into()));
        };
        self.desk
            .store
            .link_telegram(account, chat, user.id, lang, self.desk.now())
            .await?;
        self.welcome(chat, &user).await?;
        Ok(UpdateOutcome::Linked(user.id))
    }

    /// The services to choose from (or, for staff, what the bot is for).
    async fn menu(
        &self,
        link: &TelegramLink,
        user: &User,
        lang: &str,
        choose: bool,
    ) -> Result<UpdateOutcome> {
        if user.role.is_staff() {
            self.queue(vec![self.reply(
                link.chat_id,
                None,
                say(
                    lang,
                    "Сюда приходят ваши оповещения. Обращения разбирайте в рабочем месте.",
                    "Your alerts come here. Work on tickets in your workplace.",
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Answered);
        }
        let services = self.desk.services_for(user).await?;
        let buttons: Vec<Value> = services
            .iter()
            .map(
                |s| json!([{"text": s.name.get(lang), "callback_data": format!("svc:{}", s.code)}]),
            )
            .collect();
        let text = match (choose, link.current_ticket) {
            (false, Some(ticket)) => say(
                lang,
                &format!(
                    "Сообщения сейчас попадают в обращение {}. Чтобы задать новый вопрос, выберите услугу:",
                    TicketNumber(ticket.0)
                ),
                &format!(
                    "Your messages now go into ticket {}. To ask a new question, choose a service:",
                    TicketNumber(ticket.0)
                ),
            ),
            _ => say(
                lang,
                "Выберите услугу, затем напишите вопрос одним сообщением (можно с фото или файлом):",
                "Choose a service, then write your question in one message (a photo or a file may come with it):",
            ),
        };
        let mut message = self.reply(link.chat_id, None, text);
        message.reply_markup = Some(json!({"inline_keyboard": buttons}).to_string());
        self.queue(vec![message]).await?;
        Ok(UpdateOutcome::Answered)
    }

    async fn open(
        &self,
        link: &TelegramLink,
        user: &User,
        lang: &str,
        service: &str,
        text: &str,
        files: Vec<IncomingFile>,
    ) -> Result<UpdateOutcome> {
        let described = if text.is_empty() {
            files
                .iter()
                .map(|f| f.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            text.to_owned()
        };
        if described.is_empty() {
            self.queue(vec![self.reply(
                link.chat_id,
                None,
                say(
                    lang,
                    "Напишите, пожалуйста, ваш вопрос текстом.",
                    "Please write your question as text.",
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Answered);
        }
        let first_line = described.lines().next().unwrap_or_default().trim();
        let subject: String = first_line.chars().take(120).collect();
        let input = TicketInput {
            service: service.to_owned(),
            subject,
            description: described.clone(),
            ..TicketInput::default()
        };
        let ticket = match self.desk.open_ticket(user, input).await {
            Ok(ticket) => ticket,
            Err(DeskError::Domain(refusal)) => {
                self.desk
                    .store
                    .set_telegram_context(link.telegram_user, link.current_ticket, None)
                    .await?;
                self.queue(vec![self.reply(
                    link.chat_id,
                    None,
                    say(
                        lang,
                        &format!("Обращение не создано: {refusal}"),
                        &format!("The ticket was not opened: {refusal}"),
                    ),
                )])
                .await?;
                return Ok(UpdateOutcome::Refused(refusal.to_string()));
            }
            Err(other) => return Err(other),
        };
        self.desk
            .store
            .set_telegram_context(link.telegram_user, Some(ticket.id), None)
            .await?;
        let mut replies = vec![self.reply(
            link.chat_id,
            Some(ticket.id),
            say(
                lang,
                &format!(
                    "Обращение {} создано: «{}». Всё, что вы напишете дальше, попадёт в него; чтобы написать в другое обращение, ответьте на сообщение о нём.",
                    ticket.number(),
                    ticket.subject
                ),
                &format!(
                    "Ticket {} is open: \"{}\". What you write next goes into it; to write into another ticket, reply to a message about it.",
                    ticket.number(),
                    ticket.subject
                ),
            ),
        )];
        replies.extend(
            self.store_files(user, lang, link.chat_id, ticket.id, None, files)
                .await?,
        );
        self.queue(replies).await?;
        Ok(UpdateOutcome::Opened(ticket.id))
    }

    async fn comment(
        &self,
        link: &TelegramLink,
        user: &User,
        lang: &str,
        ticket: TicketId,
        text: &str,
        files: Vec<IncomingFile>,
    ) -> Result<UpdateOutcome> {
        let body = if text.is_empty() {
            files
                .iter()
                .map(|f| format!("📎 {}", f.name))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text.to_owned()
        };
        if body.is_empty() {
            return self.menu(link, user, lang, false).await;
        }
        // The same path as a message on the portal: it answers the question the ticket
        // waits on, reopens or follows up a closed one.
        let posted = match self.desk.post_comment(user, ticket, &body, false).await {
            Ok(posted) => posted,
            Err(DeskError::Domain(refusal)) => {
                self.queue(vec![self.reply(
                    link.chat_id,
                    None,
                    say(
                        lang,
                        &format!("Сообщение не принято: {refusal}"),
                        &format!("The message was not taken: {refusal}"),
                    ),
                )])
                .await?;
                return Ok(UpdateOutcome::Refused(refusal.to_string()));
            }
            Err(other) => return Err(other),
        };
        let ticket = match &posted.outcome {
            Some(crate::closed::ClosedOutcome::FollowUp(new)) => new.id,
            _ => ticket,
        };
        if link.current_ticket != Some(ticket) || link.pending_service.is_some() {
            self.desk
                .store
                .set_telegram_context(link.telegram_user, Some(ticket), None)
                .await?;
        }
        let comment = (ticket == posted.comment.ticket_id).then_some(posted.comment.id);
        let replies = self
            .store_files(user, lang, link.chat_id, ticket, comment, files)
            .await?;
        self.queue(replies).await?;
        Ok(UpdateOutcome::Commented(ticket))
    }

    /// Fetches the message's files into the ticket; a file over the desk's limit (or one
    /// that cannot be fetched) is not stored and the contact is told, the text stays.
    async fn store_files(
        &self,
        user: &User,
        lang: &str,
        chat: i64,
        ticket: TicketId,
        comment: Option<CommentId>,
        files: Vec<IncomingFile>,
    ) -> Result<Vec<NewTelegramMessage>> {
        let limit = self.desk.settings.attachment_limit;
        let mut replies = Vec::new();
        for file in files {
            let fetched = match file.size {
                Some(size) if size > limit => Err(BotError::TooLarge(limit)),
                _ => self.fetch(&file.file_id, limit).await,
            };
            let problem = match fetched {
                Ok(bytes) => match self
                    .desk
                    .attach(
                        user,
                        ticket,
                        comment,
                        &file.name,
                        &file.content_type,
                        &bytes,
                    )
                    .await
                {
                    Ok(_) => None,
                    Err(DeskError::TooLarge { limit, .. }) => Some(BotError::TooLarge(limit)),
                    Err(DeskError::Domain(refusal)) => {
                        Some(BotError::Transport(refusal.to_string()))
                    }
                    Err(other) => return Err(other),
                },
                Err(error) => Some(error),
            };
            let Some(problem) = problem else { continue };
            let text = match problem {
                BotError::TooLarge(limit) => say(
                    lang,
                    &format!(
                        "Файл «{}» больше {} МБ и не сохранён; текст сообщения сохранён в {}. Пришлите файл поменьше или по почте.",
                        file.name,
                        megabytes(limit),
                        TicketNumber(ticket.0)
                    ),
                    &format!(
                        "The file \"{}\" is over {} MB and was not saved; the message text is saved in {}. Send a smaller file or mail it.",
                        file.name,
                        megabytes(limit),
                        TicketNumber(ticket.0)
                    ),
                ),
                other => {
                    tracing::warn!(error = %other, "Telegram file not fetched");
                    say(
                        lang,
                        &format!(
                            "Не удалось получить файл «{}»; пришлите его ещё раз.",
                            file.name
                        ),
                        &format!(
                            "The file \"{}\" could not be fetched; please send it again.",
                            file.name
                        ),
                    )
                }
            };
            replies.push(self.reply(chat, Some(ticket), text));
        }
        Ok(replies)
    }

    async fn fetch(&self, file_id: &str, limit: u64) -> Result<Vec<u8>, BotError> {
        let file: frankenstein::types::File = serde_json::from_value(
            self.api
                .call("getFile", &json!({"file_id": file_id}))
                .await?,
        )
        .map_err(|e| BotError::Transport(e.to_string()))?;
        if file.file_size.is_some_and(|size| size > limit) {
            return Err(BotError::TooLarge(limit));
        }
        let path = file
            .file_path
            .ok_or_else(|| BotError::Transport("getFile gave no file_path".into()))?;
        self.api.download(&path, limit).await
    }

    async fn answer_callback(&self, query: &CallbackQuery, text: &str) {
        let params = json!({"callback_query_id": query.id, "text": text});
        if let Err(error) = self.api.call("answerCallbackQuery", &params).await {
            tracing::info!(%error, "answerCallbackQuery failed");
        }
    }

    async fn callback(&self, query: &CallbackQuery) -> Result<UpdateOutcome> {
        let account = query.from.id as i64;
        let lang = query.from.language_code.clone().unwrap_or_default();
        let link = self.desk.store.telegram_link(account).await?;
        let user = match &link {
            Some(link) => self.desk.store.user(link.user_id).await?,
            None => None,
        };
        let (Some(link), Some(user)) = (link, user) else {
            self.answer_callback(query, &explain_unlinked(&lang)).await;
            return Ok(UpdateOutcome::Unlinked);
        };
        let lang = user.locale.clone();
        let data = query.data.as_deref().unwrap_or_default();
        if let Some(code) = data.strip_prefix("svc:") {
            let services = self.desk.services_for(&user).await?;
            let Some(service) = services.iter().find(|s| s.code == code) else {
                self.answer_callback(
                    query,
                    &say(
                        &lang,
                        "Эта услуга недоступна.",
                        "This service is not available.",
                    ),
                )
                .await;
                return Ok(UpdateOutcome::Refused("service".into()));
            };
            self.desk
                .store
                .set_telegram_context(link.telegram_user, link.current_ticket, Some(code))
                .await?;
            self.answer_callback(query, "").await;
            self.queue(vec![self.reply(
                link.chat_id,
                None,
                say(
                    &lang,
                    &format!(
                        "«{}»: напишите ваш вопрос одним сообщением.",
                        service.name.get(&lang)
                    ),
                    &format!(
                        "\"{}\": write your question in one message.",
                        service.name.get(&lang)
                    ),
                ),
            )])
            .await?;
            return Ok(UpdateOutcome::Answered);
        }
        if let Some(rest) = data.strip_prefix("rate:")
            && let Some((ticket, score)) = rest.split_once(':')
            && let (Ok(ticket), Ok(score)) = (ticket.parse::<i64>(), score.parse::<i64>())
        {
            let ticket = TicketId(ticket);
            return match self.desk.rate_ticket(&user, ticket, score, "").await {
                Ok(_) => {
                    self.answer_callback(
                        query,
                        &say(&lang, "Спасибо за оценку!", "Thank you for the rating!"),
                    )
                    .await;
                    Ok(UpdateOutcome::Rated(ticket))
                }
                Err(DeskError::Domain(refusal)) => {
                    self.answer_callback(query, &refusal.to_string()).await;
                    Ok(UpdateOutcome::Refused(refusal.to_string()))
                }
                Err(other) => Err(other),
            };
        }
        self.answer_callback(query, "").await;
        Ok(UpdateOutcome::Ignored)
    }

    /// One long poll: the updates after the stored offset, each taken in, then the offset
    /// moved past them. Returns how many came.
    pub async fn poll(&self, timeout_s: u64) -> Result<usize> {
        let offset: i64 = self
            .desk
            .store
            .telegram_state(state::OFFSET)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let params = json!({
            "offset": offset,
            "timeout": timeout_s,
            "allowed_updates": ["message", "callback_query"],
        });
        let result = self
            .api
            .call_within("getUpdates", &params, Duration::from_secs(timeout_s + 15))
            .await
            .map_err(|e| DeskError::Domain(DomainError::Conflict(e.to_string())))?;
        let updates = result.as_array().cloned().unwrap_or_default();
        self.take_updates(&updates).await?;
        if let Some(last) = updates
            .iter()
            .filter_map(|u| u.get("update_id").and_then(Value::as_i64))
            .max()
        {
            self.desk.store.advance_telegram_offset(last + 1).await?;
        }
        Ok(updates.len())
    }

    /// Webhook mode: registers the address and secret with `setWebhook` (once per change);
    /// polling mode: drops a webhook set before (`getUpdates` refuses to run beside one).
    pub async fn configure(&self, config: &TelegramConfig) -> Result<()> {
        let wanted = match config.mode {
            Mode::Webhook if !config.webhook_url.is_empty() => {
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    config.secret.as_bytes(),
                ));
                format!("{} {digest}", config.webhook_url)
            }
            _ => String::new(),
        };
        let set = self
            .desk
            .store
            .telegram_state(state::WEBHOOK_SET)
            .await?
            .unwrap_or_default();
        if set == wanted {
            return Ok(());
        }
        let outcome = if wanted.is_empty() {
            self.api.call("deleteWebhook", &json!({})).await
        } else {
            let mut params = json!({
                "url": config.webhook_url,
                "allowed_updates": ["message", "callback_query"],
            });
            if !config.secret.is_empty() {
                params["secret_token"] = json!(config.secret);
            }
            self.api.call("setWebhook", &params).await
        };
        outcome.map_err(|e| DeskError::Domain(DomainError::Conflict(e.to_string())))?;
        self.desk
            .store
            .set_telegram_state(state::WEBHOOK_SET, &wanted)
            .await?;
        Ok(())
    }

    /// Sends the due messages (up to 100 a pass, about 30 a second). A 429 puts the message
    /// and the rest of the pass back until its `retry_after`; other failures are tried again
    /// with a doubling wait, 8 times; a chat that is gone (400, 403) is given up at once.
    pub async fn send(&self) -> Result<TelegramSendCounts> {
        let now = self.desk.now();
        let leased = self
            .desk
            .store
            .lease_telegram(now, now + LEASE, SEND_BATCH)
            .await?;
        let mut counts = TelegramSendCounts::default();
        let mut pause_until: Option<Timestamp> = None;
        for (i, message) in leased.iter().enumerate() {
            if let Some(until) = pause_until {
                self.desk
                    .store
                    .telegram_failed(
                        message.id,
                        "waiting for Telegram's retry_after",
                        Some(until),
                        now,
                    )
                    .await?;
                counts.throttled += 1;
                continue;
            }
            if i > 0 {
                tokio::time::sleep(SEND_INTERVAL).await;
            }
            let mut params = json!({"chat_id": message.chat_id, "text": message.text});
            if let Some(markup) = message
                .reply_markup
                .as_deref()
                .and_then(|m| serde_json::from_str::<Value>(m).ok())
            {
                params["reply_markup"] = markup;
            }
            let at = self.desk.now();
            match self.api.call("sendMessage", &params).await {
                Ok(sent) => {
                    let id = sent.get("message_id").and_then(Value::as_i64).unwrap_or(0);
                    self.desk.store.telegram_sent(message.id, id, at).await?;
                    counts.sent += 1;
                }
                Err(BotError::Api {
                    code: 429,
                    retry_after,
                    description,
                }) => {
                    let until = at + SignedDuration::from_secs(retry_after.unwrap_or(5) as i64);
                    pause_until = Some(until);
                    self.desk
                        .store
                        .telegram_failed(message.id, &format!("429 {description}"), Some(until), at)
                        .await?;
                    counts.throttled += 1;
                }
                Err(error) => {
                    let permanent = matches!(
                        error,
                        BotError::Api {
                            code: 400 | 403,
                            ..
                        }
                    );
                    let retry = (!permanent && message.attempts < SEND_ATTEMPTS).then(|| {
                        at + SignedDuration::from_secs(10 << message.attempts.clamp(0, 8))
                    });
                    self.desk
                        .store
                        .telegram_failed(message.id, &error.to_string(), retry, at)
                        .await?;
                    self.desk.telegram_error(&error.to_string()).await;
                    counts.failed += 1;
                }
            }
        }
        Ok(counts)
    }
}

impl Desk {
    /// A webhook post from Telegram (`POST /api/v1/telegram/webhook`): taken only in webhook
    /// mode with a secret set, and only when `X-Telegram-Bot-Api-Secret-Token` matches it.
    pub async fn telegram_webhook(
        &self,
        secret: Option<&str>,
        update: &Value,
    ) -> Result<UpdateOutcome> {
        let config = self
            .telegram_config()
            .await?
            .filter(|c| c.mode == Mode::Webhook && !c.secret.is_empty())
            .ok_or(DeskError::Unauthorized(
                "the Telegram webhook is not configured",
            ))?;
        let given = secret.unwrap_or_default();
        if !super::telephony::constant_time_eq(given.as_bytes(), config.secret.as_bytes()) {
            return Err(DeskError::Unauthorized("the secret token does not match"));
        }
        let api = BotApi::new(&config);
        let outcomes = self
            .telegram(&api)
            .take_updates(std::slice::from_ref(update))
            .await?;
        Ok(outcomes
            .into_iter()
            .next()
            .unwrap_or(UpdateOutcome::Ignored))
    }
}

impl Desk {
    /// Turns new outbox rows and alerts into Telegram messages for linked accounts: what
    /// the desk mails a ticket's requester (the same words, by the same rules) goes to the
    /// requester's chat too, alerts to linked managers. Returns how many messages it queued.
    pub async fn dispatch_telegram(&self) -> Result<usize> {
        let feed = self.store.telegram_feed(FEED_BATCH).await?;
        if feed.outbox.is_empty() && feed.alerts.is_empty() {
            return Ok(0);
        }
        let mut messages = Vec::new();
        for row in &feed.outbox {
            let Some(kind) = OutboxKind::parse(&row.kind) else {
                continue;
            };
            if !matches!(
                kind,
                OutboxKind::TicketCreated
                    | OutboxKind::CommentAdded
                    | OutboxKind::StatusChanged
                    | OutboxKind::TicketResolved
                    | OutboxKind::TicketAutoClosed
                    | OutboxKind::TicketReopened
            ) {
                continue;
            }
            let Ok(payload) = serde_json::from_str::<Value>(&row.payload) else {
                continue;
            };
            let Some(ticket) = payload.get("ticket_id").and_then(Value::as_i64) else {
                continue;
            };
            let Some(ticket) = self
                .store
                .ticket(TicketScope::All, TicketId(ticket))
                .await?
            else {
                continue;
            };
            let Some(link) = self.store.telegram_link_of(ticket.requester_id).await? else {
                continue;
            };
            let Some(words) = self.compose_words(kind, &payload).await? else {
                continue;
            };
            let text = format!("{}\n\n{}", words.subject, words.body);
            let pieces = split_telegram_text(&text, TELEGRAM_TEXT_MAX);
            let last = pieces.len() - 1;
            for (i, text) in pieces.into_iter().enumerate() {
                let rating = kind == OutboxKind::TicketResolved && i == last;
                messages.push((
                    Some(row.id),
                    NewTelegramMessage {
                        chat_id: link.chat_id,
                        ticket_id: Some(ticket.id),
                        text,
                        reply_markup: rating.then(|| rating_keyboard(ticket.id)),
                    },
                ));
            }
        }
        if !feed.alerts.is_empty() {
            let managers = self.store.telegram_manager_links().await?;
            for alert in &feed.alerts {
                for link in &managers {
                    let text = format!(
                        "⚠ {} {}: {}\n{}",
                        TicketNumber(alert.ticket_id.0),
                        alert.kind,
                        alert.detail,
                        say(
                            &link.language,
                            "Задача по происшествию ждёт вас в рабочем месте.",
                            "The alert's task waits in your workplace."
                        ),
                    );
                    for text in split_telegram_text(&text, TELEGRAM_TEXT_MAX) {
                        messages.push((
                            None,
                            NewTelegramMessage {
                                chat_id: link.chat_id,
                                ticket_id: Some(alert.ticket_id),
                                text,
                                reply_markup: None,
                            },
                        ));
                    }
                }
            }
        }
        let to = (
            feed.outbox.last().map_or(feed.outbox_cursor, |r| r.id),
            feed.alerts.last().map_or(feed.alert_cursor, |a| a.id),
        );
        let queued = messages.len();
        if self
            .store
            .queue_telegram_feed(
                (feed.outbox_cursor, feed.alert_cursor),
                to,
                &messages,
                self.now(),
            )
            .await?
        {
            Ok(queued)
        } else {
            Ok(0)
        }
    }

    /// The bot in the background (`okno serve` with a token): a long-poll loop (or, in
    /// webhook mode, `setWebhook` kept current) and a loop dispatching and sending messages
    /// every `every`. Settings are read each round, so an admin's change takes effect
    /// without a restart.
    pub fn start_telegram_worker(desk: &Arc<Desk>, every: Duration) {
        let weak = Arc::downgrade(desk);
        tokio::spawn(async move {
            loop {
                let Some(desk) = weak.upgrade() else { return };
                let config = match desk.telegram_config().await {
                    Ok(Some(config)) => config,
                    Ok(None) => {
                        drop(desk);
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Telegram settings unreadable");
                        drop(desk);
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                };
                let api = BotApi::new(&config);
                let bot = desk.telegram(&api);
                let round = async {
                    bot.configure(&config).await?;
                    match config.mode {
                        Mode::Polling => bot.poll(POLL_TIMEOUT_S).await.map(|_| ()),
                        Mode::Webhook => Ok(()),
                    }
                };
                let failed = match round.await {
                    Ok(()) => config.mode == Mode::Webhook,
                    Err(error) => {
                        tracing::warn!(%error, "Telegram polling failed");
                        desk.telegram_error(&error.to_string()).await;
                        true
                    }
                };
                drop(desk);
                if failed {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        });
        let weak = Arc::downgrade(desk);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(desk) = weak.upgrade() else { return };
                if let Err(error) = desk.dispatch_telegram().await {
                    tracing::warn!(%error, "Telegram dispatch failed");
                }
                match desk.telegram_config().await {
                    Ok(Some(config)) => {
                        let api = BotApi::new(&config);
                        if let Err(error) = desk.telegram(&api).send().await {
                            tracing::warn!(%error, "Telegram sending failed");
                        }
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "Telegram settings unreadable"),
                }
            }
        });
    }
}
