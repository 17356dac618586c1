//! What every source system gives the importer, whatever its API: the catalog the plan is
//! made from, tickets in pages, each ticket with its history, and file contents.

use crate::{ImportError, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Redmine,
    RequestTracker,
    Znuny,
}

impl SourceKind {
    /// The short name in source ids, plans and labels.
    pub fn code(self) -> &'static str {
        match self {
            Self::Redmine => "redmine",
            Self::RequestTracker => "rt",
            Self::Znuny => "znuny",
        }
    }

    /// How people name the system (in ticket labels: `Redmine #12`).
    pub fn title(self) -> &'static str {
        match self {
            Self::Redmine => "Redmine",
            Self::RequestTracker => "RT",
            Self::Znuny => "Znuny",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Redmine, Self::RequestTracker, Self::Znuny]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// A source's grouping (a project, queue, tracker or customer company) by its plan key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGroup {
    /// `project:support`, `tracker:Ошибка`, `queue:General`, `customer:acme`.
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    /// Whether the source counts it as closed.
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUser {
    /// The source's user id (as text).
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// Works at the firm (an agent, a privileged user, an administrator).
    pub staff: bool,
    pub admin: bool,
}

/// What a plan is made from.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub clients: Vec<SourceGroup>,
    pub services: Vec<SourceGroup>,
    pub statuses: Vec<SourceStatus>,
    pub users: Vec<SourceUser>,
}

/// A ticket in a listing: its id and its last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub id: String,
    pub stamp: String,
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct TicketPage {
    pub tickets: Vec<TicketRef>,
    pub next: Option<String>,
    /// All tickets of the source, when it says.
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Fetched on demand from this URL (with the source's credentials).
    Url(String),
    /// Sent inline by the source.
    Inline(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub content: FileContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChange {
    Message {
        body: String,
        internal: bool,
        files: Vec<SourceFile>,
    },
    /// Status names as the source calls them.
    Status {
        before: String,
        after: String,
    },
    Field {
        name: String,
        before: Option<String>,
        after: Option<String>,
    },
    File(SourceFile),
    Time {
        seconds: i64,
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    /// Unique within the ticket, stable across runs.
    pub id: String,
    pub at: Timestamp,
    /// The source user id.
    pub author: Option<String>,
    pub change: SourceChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTicket {
    pub id: String,
    /// The number people know it by (Znuny's TicketNumber; else the id).
    pub number: String,
    pub subject: String,
    pub description: String,
    pub client_key: String,
    pub service_key: String,
    pub status: String,
    /// The source user id of whoever asked.
    pub requester: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub stamp: String,
    pub events: Vec<SourceEvent>,
    /// The people the ticket names, for sources that describe users only on tickets.
    pub people: Vec<SourceUser>,
    /// Repairs the source's answer needed (e.g. text that was not UTF-8).
    pub notes: Vec<String>,
}

/// A system tickets come from.
#[async_trait]
pub trait Source: Send + Sync {
    fn kind(&self) -> SourceKind;
    /// Where it is (the base URL), for the source id and messages.
    fn url(&self) -> &str;
    async fn catalog(&self) -> Result<Catalog>;
    /// The page of tickets at `cursor` (`None`: the first), in a stable order.
    async fn tickets(&self, cursor: Option<&str>) -> Result<TicketPage>;
    async fn ticket(&self, id: &str) -> Result<SourceTicket>;
    /// A file's bytes; more than `limit` bytes is [`ImportError::TooLarge`].
    async fn file(&self, file: &SourceFile, limit: u64) -> Result<Vec<u8>>;
}

/// The one HTTP client of a source: timeouts, retries of failed answers, bounded bodies,
/// text repaired to UTF-8.
pub struct Http {
    client: reqwest::Client,
    /// Added to every request (`Authorization`, `X-Redmine-API-Key`, …).
    headers: reqwest::header::HeaderMap,
    pub retries: u32,
    pub backoff: Duration,
}

/// The largest JSON answer read (a ticket with inline attachments may be big).
pub const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;

impl Http {
    pub fn new(headers: reqwest::header::HeaderMap) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Http {
            client,
            headers,
            retries: 3,
            backoff: Duration::from_millis(500),
        })
    }

    /// Sends the request, retrying network errors and 5xx answers with a growing pause;
    /// another 4xx is an error at once.
    async fn send(
        &self,
        make: &(dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
        url: &str,
    ) -> Result<reqwest::Response> {
        // Messages name the path, not the query (it may carry a session).
        let url = url.split('?').next().unwrap_or(url);
        let mut attempt = 0;
        loop {
            let outcome = make().headers(self.headers.clone()).send().await;
            let retry = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) if response.status().is_server_error() => ImportError::Source {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                },
                Ok(response) => {
                    return Err(ImportError::Source {
                        url: url.to_owned(),
                        status: response.status().as_u16(),
                    });
                }
                Err(error) => ImportError::Http(error.without_url()),
            };
            attempt += 1;
            if attempt > self.retries {
                return Err(retry);
            }
            tokio::time::sleep(self.backoff * attempt).await;
        }
    }

    /// GETs JSON; answers the value and whether its text had to be repaired.
    pub async fn get_json(&self, url: &str) -> Result<(serde_json::Value, bool)> {
        self.get_json_limited(url, MAX_JSON_BYTES).await
    }

    /// [`Http::get_json`] reading at most `limit` bytes.
    pub async fn get_json_limited(
        &self,
        url: &str,
        limit: u64,
    ) -> Result<(serde_json::Value, bool)> {
        let make = || self.client.get(url);
        self.json(&make, url, limit).await
    }

    /// POSTs a JSON body and reads JSON back.
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<(serde_json::Value, bool)> {
        let make = || self.client.post(url).json(body);
        self.json(&make, url, MAX_JSON_BYTES).await
    }

    async fn json(
        &self,
        make: &(dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
        url: &str,
        limit: u64,
    ) -> Result<(serde_json::Value, bool)> {
        let response = self.send(make, url).await?;
        let url = url.split('?').next().unwrap_or(url);
        let bytes = read_bounded(response, limit, url).await?;
        let (text, repaired) = repair_text(&bytes);
        let value = serde_json::from_str(&text).map_err(|error| ImportError::Answer {
            url: url.to_owned(),
            message: error.to_string(),
        })?;
        Ok((value, repaired))
    }

    /// GETs raw bytes, at most `limit` of them.
    pub async fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>> {
        let make = || self.client.get(url);
        let response = self.send(&make, url).await?;
        read_bounded(response, limit, url).await
    }
}

/// Reads a body chunk by chunk, stopping as soon as it passes `limit`.
async fn read_bounded(mut response: reqwest::Response, limit: u64, url: &str) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(ImportError::TooLarge {
            what: url.to_owned(),
            size: response.content_length().unwrap_or(limit + 1),
            limit,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(ImportError::TooLarge {
                what: url.to_owned(),
                size: body.len() as u64,
                limit,
            });
        }
    }
    Ok(body)
}

/// Text as UTF-8: valid runs are kept, and each run of bytes that is not UTF-8 is read as
/// Windows-1251 (what Cyrillic text in old systems most often is). Answers whether any
/// repair was needed.
pub fn repair_text(bytes: &[u8]) -> (String, bool) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_owned(), false);
    }
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    let mut invalid = Vec::new();
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            flush_cp1251(&mut invalid, &mut text);
            text.push_str(chunk.valid());
        }
        invalid.extend_from_slice(chunk.invalid());
    }
    flush_cp1251(&mut invalid, &mut text);
    (text, true)
}

fn flush_cp1251(bytes: &mut Vec<u8>, into: &mut String) {
    if !bytes.is_empty() {
        let (decoded, _, _) = encoding_rs::WINDOWS_1251.decode(bytes);
        into.push_str(&decoded);
        bytes.clear();
    }
}

/// The text at `key` of a JSON object (numbers as their text).
pub fn text(value: &serde_json::Value, key: &str) -> Option<String> {
    match value.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An instant the source wrote: RFC 3339, or `YYYY-MM-DD HH:MM:SS` taken as UTC.
pub fn instant(text: &str, what: &str) -> Result<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| jiff::tz::TimeZone::UTC.to_timestamp(dt).ok())
        .ok_or_else(|| ImportError::Answer {
            url: what.to_owned(),
            message: format!("not a date and time: {text:?}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_a_broken_charset_is_read_as_windows_1251() {
        assert_eq!(
            repair_text("Ошибка".as_bytes()),
            ("Ошибка".to_owned(), false)
        );
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Ошибка печати");
        let mut mixed = "Тема: ".as_bytes().to_vec();
        mixed.extend_from_slice(&cp1251);
        assert_eq!(
            repair_text(&mixed),
            ("Тема: Ошибка печати".to_owned(), true)
        );
    }

    #[test]
    fn source_instants_are_read() {
        assert_eq!(
            instant("2024-03-01T10:15:00Z", "x").unwrap().to_string(),
            "2024-03-01T10:15:00Z"
        );
        assert_eq!(
            instant("2024-03-01 10:15:00", "x").unwrap().to_string(),
            "2024-03-01T10:15:00Z"
        );
        assert!(instant("yesterday", "x").is_err());
    }
}
