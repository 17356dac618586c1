//! OTRS / Znuny through the GenericInterface web service `GenericTicketConnectorREST`
//! (`SessionCreate` → `POST /Session`, `TicketSearch` → `GET /Ticket`, `TicketGet` →
//! `GET /Ticket/:TicketID` with `AllArticles`, `Attachments`, `DynamicFields`). Customer
//! companies (`CustomerID`) become clients, queues services, states statuses.
//!
//! The connector has no call for history, users or the queue list, so the catalog is read
//! from the tickets themselves (their articles without attachments), status changes are
//! not known (a ticket arrives in its current state), and people are known by the `From`
//! of their articles: agents as staff candidates, customers as contacts. Times are the
//! server's local time as written; they are read as UTC.

use crate::source::*;
use crate::{ImportError, Result};
use async_trait::async_trait;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::OnceCell;

const PAGE: usize = 100;
/// Where the connector lives under a Znuny or OTRS base URL.
const CONNECTOR: &str = "/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST";

pub struct Znuny {
    url: String,
    user: String,
    password: String,
    http: Http,
    session: OnceCell<String>,
    ids: OnceCell<Vec<String>>,
}

fn answer(url: &str, message: &str) -> ImportError {
    ImportError::Answer {
        url: url.to_owned(),
        message: message.to_owned(),
    }
}

/// `"Иван Петров" <ivan@example.org>` → (name, email).
fn address(from: &str) -> (String, Option<String>) {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = from[..open].trim().trim_matches('"').trim().to_owned();
            (name, Some(from[open + 1..close].trim().to_lowercase()))
        }
        _ if from.contains('@') => (String::new(), Some(from.trim().to_lowercase())),
        _ => (from.trim().to_owned(), None),
    }
}

impl Znuny {
    /// `url`: the connector's own URL (with `/Webservice/`), or the system's base URL.
    pub fn new(url: &str, user: &str, password: &str) -> Result<Self> {
        let url = url.trim_end_matches('/');
        let url = if url.contains("/Webservice/") {
            url.to_owned()
        } else {
            format!("{url}{CONNECTOR}")
        };
        Ok(Znuny {
            url,
            user: user.to_owned(),
            password: password.to_owned(),
            http: Http::new(reqwest::header::HeaderMap::new())?,
            session: OnceCell::new(),
            ids: OnceCell::new(),
        })
    }

    pub fn with_retries(mut self, retries: u32, backoff: std::time::Duration) -> Self {
        self.http.retries = retries;
        self.http.backoff = backoff;
        self
    }

    async fn session(&self) -> Result<&str> {
        self.session
            .get_or_try_init(|| async {
                let url = format!("{}/Session", self.url);
                let body = serde_json::json!({ "UserLogin": self.user, "Password": self.password });
                let (value, _) = self.http.post_json(&url, &body).await?;
                checked(&url, &value)?;
                text(&value, "SessionID").ok_or_else(|| answer(&url, "no SessionID"))
            })
            .await
            .map(String::as_str)
    }

    async fn get(&self, path: &str, query: &str) -> Result<(Value, bool)> {
        let session = self.session().await?;
        let url = format!("{}{path}", self.url);
        let (value, repaired) = self
            .http
            .get_json(&format!("{url}?SessionID={session}{query}"))
            .await?;
        checked(&url, &value)?;
        Ok((value, repaired))
    }

    async fn ids(&self) -> Result<&Vec<String>> {
        self.ids
            .get_or_try_init(|| async {
                let (value, _) = self.get("/Ticket", "&Limit=100000000").await?;
                let mut ids: Vec<String> = match &value["TicketID"] {
                    Value::Array(ids) => ids
                        .iter()
                        .filter_map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .or(v.as_i64().map(|n| n.to_string()))
                        })
                        .collect(),
                    Value::String(one) => vec![one.clone()],
                    _ => Vec::new(),
                };
                ids.sort_by_key(|id| (id.len(), id.clone()));
                Ok::<_, ImportError>(ids)
            })
            .await
    }

    async fn raw_ticket(&self, id: &str, attachments: bool) -> Result<(Value, bool)> {
        let path = format!("/Ticket/{id}");
        let (value, repaired) = self
            .get(
                &path,
                &format!(
                    "&AllArticles=1&DynamicFields=1&Attachments={}",
                    u8::from(attachments)
                ),
            )
            .await?;
        let ticket = value["Ticket"]
            .as_array()
            .and_then(|t| t.first())
            .cloned()
            .ok_or_else(|| answer(&format!("{}{path}", self.url), "no Ticket"))?;
        Ok((ticket, repaired))
    }
}

/// The connector answers errors as `{"Error": {"ErrorCode", "ErrorMessage"}}` with 200.
fn checked(url: &str, value: &Value) -> Result<()> {
    match value.get("Error") {
        Some(error) => Err(answer(
            url,
            &format!(
                "{}: {}",
                text(error, "ErrorCode").unwrap_or_default(),
                text(error, "ErrorMessage").unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

fn internal(article: &Value) -> bool {
    match text(article, "IsVisibleForCustomer") {
        Some(visible) => visible == "0",
        None => text(article, "ArticleType").is_some_and(|t| t.contains("internal")),
    }
}

/// The author of an article as a source user (id: the email, else the name).
fn author(article: &Value) -> Option<SourceUser> {
    let (name, email) = address(&text(article, "From").unwrap_or_default());
    let id = email
        .clone()
        .or_else(|| (!name.is_empty()).then(|| name.clone()))?;
    Some(SourceUser {
        staff: text(article, "SenderType").as_deref() == Some("agent"),
        admin: false,
        name: if name.is_empty() { id.clone() } else { name },
        email,
        id,
    })
}

#[async_trait]
impl Source for Znuny {
    fn kind(&self) -> SourceKind {
        SourceKind::Znuny
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn catalog(&self) -> Result<Catalog> {
        let mut clients = BTreeMap::new();
        let mut services = BTreeMap::new();
        let mut statuses = BTreeMap::new();
        let mut users = BTreeMap::new();
        for id in self.ids().await? {
            let (ticket, _) = self.raw_ticket(id, false).await?;
            let customer = text(&ticket, "CustomerID").unwrap_or_default();
            clients.insert(format!("customer:{customer}"), customer);
            let queue = text(&ticket, "Queue").unwrap_or_default();
            services.insert(format!("queue:{queue}"), queue);
            if let Some(state) = text(&ticket, "State") {
                let closed = text(&ticket, "StateType").is_some_and(|t| t.contains("closed"));
                statuses.insert(state, closed);
            }
            for article in ticket["Article"].as_array().into_iter().flatten() {
                if let Some(user) = author(article) {
                    users.entry(user.id.clone()).or_insert(user);
                }
            }
        }
        Ok(Catalog {
            clients: clients
                .into_iter()
                .map(|(key, name)| SourceGroup { key, name })
                .collect(),
            services: services
                .into_iter()
                .map(|(key, name)| SourceGroup { key, name })
                .collect(),
            statuses: statuses
                .into_iter()
                .map(|(name, closed)| SourceStatus { name, closed })
                .collect(),
            users: users.into_values().collect(),
        })
    }

    async fn tickets(&self, cursor: Option<&str>) -> Result<TicketPage> {
        let ids = self.ids().await?;
        let offset: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let page: Vec<TicketRef> = ids
            .iter()
            .skip(offset)
            .take(PAGE)
            .map(|id| TicketRef {
                id: id.clone(),
                // The search answers no change times: each ticket is read, and one whose
                // `Changed` is the same is left as it is.
                stamp: String::new(),
            })
            .collect();
        let next = offset + page.len();
        Ok(TicketPage {
            next: (next < ids.len()).then(|| next.to_string()),
            tickets: page,
            total: Some(ids.len() as u64),
        })
    }

    async fn ticket(&self, id: &str) -> Result<SourceTicket> {
        let (ticket, repaired) = self.raw_ticket(id, true).await?;
        let url = format!("{}/Ticket/{id}", self.url);
        let created_at = instant(
            &text(&ticket, "Created").ok_or_else(|| answer(&url, "no Created"))?,
            &url,
        )?;
        let stamp = text(&ticket, "Changed").unwrap_or_default();
        let mut people = Vec::new();
        let mut events = Vec::new();
        let mut description = None;
        let mut requester = None;
        for article in ticket["Article"].as_array().into_iter().flatten() {
            let Some(aid) = text(article, "ArticleID") else {
                continue;
            };
            let at = instant(
                &text(article, "CreateTime")
                    .or_else(|| text(article, "Created"))
                    .unwrap_or_default(),
                &url,
            )
            .unwrap_or(created_at);
            let who = author(article);
            if requester.is_none()
                && let Some(w) = who.as_ref().filter(|w| !w.staff)
            {
                requester = Some(w.id.clone());
            }
            let mut files = Vec::new();
            for (n, a) in article["Attachment"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let encoded: String = text(a, "Content")
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| answer(&url, &format!("attachment is not base64: {e}")))?;
                files.push(SourceFile {
                    id: format!("{aid}:{n}"),
                    name: text(a, "Filename").unwrap_or_default(),
                    content_type: text(a, "ContentType")
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                    size: bytes.len() as u64,
                    content: FileContent::Inline(bytes),
                });
            }
            let body = text(article, "Body").unwrap_or_default();
            let author_id = who.as_ref().map(|w| w.id.clone());
            if let Some(w) = who {
                people.push(w);
            }
            if description.is_none() && !internal(article) {
                description = Some(body);
                for f in files {
                    events.push(SourceEvent {
                        id: f.id.clone(),
                        at,
                        author: author_id.clone(),
                        change: SourceChange::File(f),
                    });
                }
                continue;
            }
            events.push(SourceEvent {
                id: aid,
                at,
                author: author_id,
                change: SourceChange::Message {
                    body,
                    internal: internal(article),
                    files,
                },
            });
        }
        for field in ticket["DynamicField"].as_array().into_iter().flatten() {
            let (Some(name), Some(value)) = (text(field, "Name"), text(field, "Value")) else {
                continue;
            };
            events.push(SourceEvent {
                id: format!("df:{name}"),
                at: created_at,
                author: None,
                change: SourceChange::Field {
                    name,
                    before: None,
                    after: Some(value),
                },
            });
        }
        let customer = text(&ticket, "CustomerID").unwrap_or_default();
        Ok(SourceTicket {
            id: id.to_owned(),
            number: text(&ticket, "TicketNumber").unwrap_or_else(|| id.to_owned()),
            subject: text(&ticket, "Title").unwrap_or_default(),
            description: description.unwrap_or_default(),
            client_key: format!("customer:{customer}"),
            service_key: format!("queue:{}", text(&ticket, "Queue").unwrap_or_default()),
            status: text(&ticket, "State").unwrap_or_default(),
            requester: requester.or_else(|| text(&ticket, "CustomerUserID")),
            created_at,
            updated_at: instant(&stamp, &url).unwrap_or(created_at),
            stamp,
            events,
            people,
            notes: repaired
                .then(|| "the source's answer was not UTF-8: read as Windows-1251".to_owned())
                .into_iter()
                .collect(),
        })
    }

    async fn file(&self, file: &SourceFile, limit: u64) -> Result<Vec<u8>> {
        match &file.content {
            FileContent::Inline(bytes) if bytes.len() as u64 > limit => {
                Err(ImportError::TooLarge {
                    what: file.name.clone(),
                    size: bytes.len() as u64,
                    limit,
                })
            }
            FileContent::Inline(bytes) => Ok(bytes.clone()),
            FileContent::Url(url) => self.http.get_bytes(url, limit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_read() {
        assert_eq!(
            super::address("\"Иван Петров\" <Ivan@Example.org>"),
            (
                "Иван Петров".to_owned(),
                Some("ivan@example.org".to_owned())
            )
        );
        assert_eq!(
            super::address("a@b.c"),
            (String::new(), Some("a@b.c".to_owned()))
        );
        assert_eq!(super::address("root"), ("root".to_owned(), None));
    }
}
