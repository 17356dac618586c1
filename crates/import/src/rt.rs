//! Request Tracker 5 through REST2 (`/REST/2.0`, `Authorization: token …`, a SuperUser's
//! token): requestors' organizations become clients, queues services. A ticket's history is
//! its transactions: `Create` gives the description, `Correspond` public messages, `Comment`
//! internal ones, `Status` status changes, `Set`/`CustomField` fields, and `TimeTaken`
//! (minutes) the work logged. Attachment contents come base64-encoded.

use crate::source::*;
use crate::{ImportError, Result};
use async_trait::async_trait;
use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use tokio::sync::OnceCell;

const PAGE: u64 = 100;
/// RT's default lifecycle; `resolved`, `rejected` and `deleted` are inactive (closed).
const STATUSES: [(&str, bool); 6] = [
    ("new", false),
    ("open", false),
    ("stalled", false),
    ("resolved", true),
    ("rejected", true),
    ("deleted", true),
];

pub struct RequestTracker {
    url: String,
    http: Http,
    lookups: OnceCell<Lookups>,
}

#[derive(Default)]
struct Lookups {
    /// Queue id → name.
    queues: HashMap<String, String>,
    /// User name → organization.
    organizations: HashMap<String, String>,
}

fn answer(url: &str, message: &str) -> ImportError {
    ImportError::Answer {
        url: url.to_owned(),
        message: message.to_owned(),
    }
}

fn organization_key(organization: &str) -> String {
    format!("org:{}", organization.trim())
}

impl RequestTracker {
    pub fn new(url: &str, token: &str) -> Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("token {token}")
                .parse()
                .map_err(|_| answer(url, "the token is not a valid header value"))?,
        );
        Ok(RequestTracker {
            url: url.trim_end_matches('/').to_owned(),
            http: Http::new(headers)?,
            lookups: OnceCell::new(),
        })
    }

    pub fn with_retries(mut self, retries: u32, backoff: std::time::Duration) -> Self {
        self.http.retries = retries;
        self.http.backoff = backoff;
        self
    }

    fn api(&self, path: &str) -> String {
        format!("{}/REST/2.0{path}", self.url)
    }

    async fn get(&self, path: &str) -> Result<(Value, bool)> {
        self.http.get_json(&self.api(path)).await
    }

    /// Every item of a paged collection (`page`, `per_page`, `pages`).
    async fn all(&self, path: &str) -> Result<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut repaired = false;
        let join = if path.contains('?') { '&' } else { '?' };
        for page in 1.. {
            let (value, fixed) = self
                .get(&format!("{path}{join}per_page={PAGE}&page={page}"))
                .await?;
            repaired |= fixed;
            let batch = value["items"].as_array().cloned().unwrap_or_default();
            let pages = value["pages"].as_u64().unwrap_or(1);
            let empty = batch.is_empty();
            items.extend(batch);
            if empty || page >= pages {
                break;
            }
        }
        Ok((items, repaired))
    }

    async fn users(&self) -> Result<Vec<Value>> {
        Ok(self
            .all("/users?fields=Name,EmailAddress,RealName,Privileged,Organization")
            .await?
            .0)
    }

    async fn queues(&self) -> Result<Vec<Value>> {
        Ok(self.all("/queues/all?fields=Name").await?.0)
    }

    async fn lookups(&self) -> Result<&Lookups> {
        self.lookups
            .get_or_try_init(|| async {
                Ok::<_, ImportError>(Lookups {
                    queues: self
                        .queues()
                        .await?
                        .iter()
                        .filter_map(|q| Some((text(q, "id")?, text(q, "Name")?)))
                        .collect(),
                    organizations: self
                        .users()
                        .await?
                        .iter()
                        .filter_map(|u| {
                            Some((
                                text(u, "Name")?,
                                text(u, "Organization").unwrap_or_default(),
                            ))
                        })
                        .collect(),
                })
            })
            .await
    }

    /// A transaction's message text (its first part without a file name) and its files.
    async fn parts(&self, transaction: &str) -> Result<(String, Vec<SourceFile>, bool)> {
        let (items, mut repaired) = self
            .all(&format!(
                "/transaction/{transaction}/attachments?fields=Filename,ContentType,ContentLength"
            ))
            .await?;
        let mut body = None;
        let mut files = Vec::new();
        for part in &items {
            let Some(id) = text(part, "id") else { continue };
            let name = text(part, "Filename").unwrap_or_default();
            let content_type = text(part, "ContentType").unwrap_or_default();
            if name.is_empty() {
                if body.is_none() && content_type.starts_with("text/plain") {
                    let (bytes, fixed) = self.content(&id, crate::source::MAX_JSON_BYTES).await?;
                    repaired |= fixed;
                    let (text, fixed) = repair_text(&bytes);
                    repaired |= fixed;
                    body = Some(text);
                }
                continue;
            }
            files.push(SourceFile {
                size: part["ContentLength"]
                    .as_u64()
                    .or_else(|| text(part, "ContentLength").and_then(|l| l.parse().ok()))
                    .unwrap_or(0),
                content: FileContent::Url(self.api(&format!("/attachment/{id}"))),
                name,
                content_type: if content_type.is_empty() {
                    "application/octet-stream".to_owned()
                } else {
                    content_type
                },
                id,
            });
        }
        Ok((body.unwrap_or_default(), files, repaired))
    }

    /// An attachment's decoded bytes, at most `limit`.
    async fn content(&self, id: &str, limit: u64) -> Result<(Vec<u8>, bool)> {
        self.decode(&self.api(&format!("/attachment/{id}")), limit)
            .await
    }

    async fn decode(&self, url: &str, limit: u64) -> Result<(Vec<u8>, bool)> {
        // Base64 is 4 bytes for 3, and the record has a few fields besides.
        let json_limit = limit.saturating_mul(4) / 3 + 64 * 1024;
        let (value, repaired) = match self.http.get_json_limited(url, json_limit).await {
            Err(ImportError::TooLarge { size, .. }) => {
                return Err(ImportError::TooLarge {
                    what: url.to_owned(),
                    size: size / 4 * 3,
                    limit,
                });
            }
            other => other?,
        };
        let encoded = text(&value, "Content").unwrap_or_default();
        if (encoded.len() as u64) / 4 * 3 > limit.saturating_add(3) {
            return Err(ImportError::TooLarge {
                what: url.to_owned(),
                size: (encoded.len() as u64) / 4 * 3,
                limit,
            });
        }
        let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map_err(|e| answer(url, &format!("Content is not base64: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge {
                what: url.to_owned(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok((bytes, repaired))
    }
}

#[async_trait]
impl Source for RequestTracker {
    fn kind(&self) -> SourceKind {
        SourceKind::RequestTracker
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn catalog(&self) -> Result<Catalog> {
        let users = self.users().await?;
        let queues = self.queues().await?;
        let mut organizations: Vec<String> = users
            .iter()
            .filter(|u| !privileged(u))
            .map(|u| {
                text(u, "Organization")
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .collect();
        organizations.sort();
        organizations.dedup();
        Ok(Catalog {
            clients: organizations
                .into_iter()
                .map(|o| SourceGroup {
                    key: organization_key(&o),
                    name: if o.is_empty() { "RT".to_owned() } else { o },
                })
                .collect(),
            services: queues
                .iter()
                .filter_map(|q| {
                    let name = text(q, "Name")?;
                    Some(SourceGroup {
                        key: format!("queue:{name}"),
                        name,
                    })
                })
                .collect(),
            statuses: STATUSES
                .iter()
                .map(|(name, closed)| SourceStatus {
                    name: (*name).to_owned(),
                    closed: *closed,
                })
                .collect(),
            users: users
                .iter()
                .filter_map(|u| {
                    let name = text(u, "Name")?;
                    Some(SourceUser {
                        email: text(u, "EmailAddress").filter(|e| !e.trim().is_empty()),
                        name: text(u, "RealName")
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or_else(|| name.clone()),
                        // REST2 does not say who is privileged; root is staff, the
                        // plan lists everyone else for the admin to choose.
                        staff: privileged(u) || name == "root",
                        admin: name == "root",
                        id: name,
                    })
                })
                .collect(),
        })
    }

    async fn tickets(&self, cursor: Option<&str>) -> Result<TicketPage> {
        let page: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
        let (value, _) = self
            .get(&format!(
                "/tickets?query=id>0&orderby=id&order=ASC&fields=LastUpdated&per_page={PAGE}&page={page}"
            ))
            .await?;
        let tickets: Vec<TicketRef> = value["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(TicketRef {
                    id: text(t, "id")?,
                    stamp: text(t, "LastUpdated").unwrap_or_default(),
                })
            })
            .collect();
        let pages = value["pages"].as_u64().unwrap_or(1);
        Ok(TicketPage {
            next: (!tickets.is_empty() && page < pages).then(|| (page + 1).to_string()),
            tickets,
            total: value["total"].as_u64(),
        })
    }

    async fn ticket(&self, id: &str) -> Result<SourceTicket> {
        let lookups = self.lookups().await?;
        let path = format!("/ticket/{id}");
        let url = self.api(&path);
        let (ticket, mut repaired) = self.get(&path).await?;
        let created_at = instant(
            &text(&ticket, "Created").ok_or_else(|| answer(&url, "no Created"))?,
            &url,
        )?;
        let stamp = text(&ticket, "LastUpdated").unwrap_or_default();
        let requester = ticket["Requestor"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|r| text(r, "id"));
        let organization = requester
            .as_ref()
            .and_then(|r| lookups.organizations.get(r))
            .cloned()
            .unwrap_or_default();
        let queue = text(&ticket["Queue"], "id")
            .and_then(|q| lookups.queues.get(&q).cloned())
            .ok_or_else(|| answer(&url, "the ticket names no known queue"))?;
        let fields: HashMap<String, String> = ticket["CustomFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| Some((text(f, "id")?, text(f, "name")?)))
            .collect();
        let (history, fixed) = self
            .all(&format!(
                "/ticket/{id}/history?fields=Type,Creator,Created,Field,OldValue,NewValue,TimeTaken"
            ))
            .await?;
        repaired |= fixed;
        let mut description = String::new();
        let mut events = Vec::new();
        for t in &history {
            let Some(tid) = text(t, "id") else { continue };
            let at = instant(&text(t, "Created").unwrap_or_default(), &url)?;
            let author = text(&t["Creator"], "id").filter(|c| c != "RT_System");
            let kind = text(t, "Type").unwrap_or_default();
            let field = text(t, "Field").unwrap_or_default();
            let before = text(t, "OldValue").filter(|v| !v.is_empty());
            let after = text(t, "NewValue").filter(|v| !v.is_empty());
            match kind.as_str() {
                "Create" | "Correspond" | "Comment" => {
                    let (body, files, fixed) = self.parts(&tid).await?;
                    repaired |= fixed;
                    if kind == "Create" {
                        description = body;
                        for f in files {
                            events.push(SourceEvent {
                                id: format!("{tid}:{}", f.id),
                                at,
                                author: author.clone(),
                                change: SourceChange::File(f),
                            });
                        }
                    } else {
                        events.push(SourceEvent {
                            id: tid.clone(),
                            at,
                            author: author.clone(),
                            change: SourceChange::Message {
                                body,
                                internal: kind == "Comment",
                                files,
                            },
                        });
                    }
                }
                "Status" => events.push(SourceEvent {
                    id: tid.clone(),
                    at,
                    author: author.clone(),
                    change: SourceChange::Status {
                        before: before.unwrap_or_default(),
                        after: after.unwrap_or_default(),
                    },
                }),
                "Set" | "CustomField" => events.push(SourceEvent {
                    id: tid.clone(),
                    at,
                    author: author.clone(),
                    change: SourceChange::Field {
                        name: if kind == "CustomField" {
                            fields.get(&field).cloned().unwrap_or(field)
                        } else {
                            field
                        },
                        before,
                        after,
                    },
                }),
                _ => {}
            }
            let minutes: i64 = text(t, "TimeTaken")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if minutes > 0 {
                events.push(SourceEvent {
                    id: format!("{tid}:time"),
                    at,
                    author,
                    change: SourceChange::Time {
                        seconds: minutes * 60,
                        note: String::new(),
                    },
                });
            }
        }
        Ok(SourceTicket {
            id: id.to_owned(),
            number: id.to_owned(),
            subject: text(&ticket, "Subject").unwrap_or_default(),
            description,
            client_key: organization_key(&organization),
            service_key: format!("queue:{queue}"),
            status: text(&ticket, "Status").unwrap_or_default(),
            requester,
            created_at,
            updated_at: instant(&stamp, &url).unwrap_or(created_at),
            stamp,
            events,
            people: Vec::new(),
            notes: repaired
                .then(|| "the source's answer was not UTF-8: read as Windows-1251".to_owned())
                .into_iter()
                .collect(),
        })
    }

    async fn file(&self, file: &SourceFile, limit: u64) -> Result<Vec<u8>> {
        match &file.content {
            FileContent::Inline(bytes) => Ok(bytes.clone()),
            FileContent::Url(url) => Ok(self.decode(url, limit).await?.0),
        }
    }
}

fn privileged(user: &Value) -> bool {
    matches!(text(user, "Privileged").as_deref(), Some("1" | "true"))
}
