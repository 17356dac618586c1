//! Redmine through its REST API (JSON, `X-Redmine-API-Key`, an administrator's key):
//! projects become clients, trackers services; issues come with `include=journals,attachments`
//! and their time entries. Private notes stay internal, and so do the files added with them.

use crate::run::on_day;
use crate::source::*;
use crate::{ImportError, Result};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use tokio::sync::OnceCell;

const PAGE: u64 = 100;

pub struct Redmine {
    url: String,
    http: Http,
    /// Project id → plan key, status id → name: journals name them by id.
    names: OnceCell<Names>,
}

#[derive(Default)]
struct Names {
    projects: HashMap<String, String>,
    statuses: HashMap<String, String>,
}

impl Redmine {
    pub fn new(url: &str, key: &str) -> Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "X-Redmine-API-Key",
            key.parse().map_err(|_| ImportError::Answer {
                url: url.to_owned(),
                message: "the API key is not a valid header value".to_owned(),
            })?,
        );
        Ok(Redmine {
            url: url.trim_end_matches('/').to_owned(),
            http: Http::new(headers)?,
            names: OnceCell::new(),
        })
    }

    /// Retries of a failing request before the run stops (tests make it small).
    pub fn with_retries(mut self, retries: u32, backoff: std::time::Duration) -> Self {
        self.http.retries = retries;
        self.http.backoff = backoff;
        self
    }

    async fn get(&self, path: &str) -> Result<(Value, bool)> {
        self.http.get_json(&format!("{}{path}", self.url)).await
    }

    /// Every item of a paginated list (`limit`/`offset`, `total_count`).
    async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let join = if path.contains('?') { '&' } else { '?' };
        loop {
            let (page, _) = self
                .get(&format!("{path}{join}limit={PAGE}&offset={}", items.len()))
                .await?;
            let batch = page[key].as_array().cloned().unwrap_or_default();
            let total = page["total_count"].as_u64();
            let empty = batch.is_empty();
            items.extend(batch);
            if empty || total.is_none_or(|t| items.len() as u64 >= t) {
                return Ok(items);
            }
        }
    }

    async fn names(&self) -> Result<&Names> {
        self.names
            .get_or_try_init(|| async {
                let projects = self.all("/projects.json", "projects").await?;
                let (statuses, _) = self.get("/issue_statuses.json").await?;
                Ok::<_, ImportError>(Names {
                    projects: projects
                        .iter()
                        .filter_map(|p| Some((text(p, "id")?, project_key(p)?)))
                        .collect(),
                    statuses: statuses["issue_statuses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| Some((text(s, "id")?, text(s, "name")?)))
                        .collect(),
                })
            })
            .await
    }

    fn file_of(&self, a: &Value) -> Option<SourceFile> {
        let id = text(a, "id")?;
        Some(SourceFile {
            content: FileContent::Url(format!("{}/attachments/download/{id}", self.url)),
            name: text(a, "filename").unwrap_or_default(),
            content_type: text(a, "content_type")
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            size: a["filesize"].as_u64().unwrap_or(0),
            id,
        })
    }
}

fn project_key(p: &Value) -> Option<String> {
    Some(format!(
        "project:{}",
        text(p, "identifier").or_else(|| text(p, "id"))?
    ))
}

fn answer(url: &str, message: &str) -> ImportError {
    ImportError::Answer {
        url: url.to_owned(),
        message: message.to_owned(),
    }
}

#[async_trait]
impl Source for Redmine {
    fn kind(&self) -> SourceKind {
        SourceKind::Redmine
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn catalog(&self) -> Result<Catalog> {
        let projects = self.all("/projects.json", "projects").await?;
        let (trackers, _) = self.get("/trackers.json").await?;
        let (statuses, _) = self.get("/issue_statuses.json").await?;
        let users = self.all("/users.json?status=", "users").await?;
        Ok(Catalog {
            clients: projects
                .iter()
                .filter_map(|p| {
                    Some(SourceGroup {
                        key: project_key(p)?,
                        name: text(p, "name").unwrap_or_default(),
                    })
                })
                .collect(),
            services: trackers["trackers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    let name = text(t, "name")?;
                    Some(SourceGroup {
                        key: format!("tracker:{name}"),
                        name,
                    })
                })
                .collect(),
            statuses: statuses["issue_statuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    Some(SourceStatus {
                        name: text(s, "name")?,
                        closed: s["is_closed"].as_bool().unwrap_or(false),
                    })
                })
                .collect(),
            users: users
                .iter()
                .filter_map(|u| {
                    let admin = u["admin"].as_bool().unwrap_or(false);
                    Some(SourceUser {
                        id: text(u, "id")?,
                        name: format!(
                            "{} {}",
                            text(u, "firstname").unwrap_or_default(),
                            text(u, "lastname").unwrap_or_default()
                        )
                        .trim()
                        .to_owned(),
                        email: text(u, "mail").filter(|m| !m.trim().is_empty()),
                        staff: admin,
                        admin,
                    })
                })
                .collect(),
        })
    }

    async fn tickets(&self, cursor: Option<&str>) -> Result<TicketPage> {
        let offset: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let (page, _) = self
            .get(&format!(
                "/issues.json?status_id=*&sort=id&limit={PAGE}&offset={offset}"
            ))
            .await?;
        let tickets: Vec<TicketRef> = page["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| {
                Some(TicketRef {
                    id: text(i, "id")?,
                    stamp: text(i, "updated_on").unwrap_or_default(),
                })
            })
            .collect();
        let total = page["total_count"].as_u64();
        let next = offset + tickets.len() as u64;
        Ok(TicketPage {
            next: (!tickets.is_empty() && total.is_some_and(|t| next < t))
                .then(|| next.to_string()),
            tickets,
            total,
        })
    }

    async fn ticket(&self, id: &str) -> Result<SourceTicket> {
        let names = self.names().await?;
        let path = format!("/issues/{id}.json?include=journals,attachments");
        let (value, repaired) = self.get(&path).await?;
        let issue = &value["issue"];
        let url = format!("{}{path}", self.url);
        let project = text(&issue["project"], "id")
            .and_then(|p| names.projects.get(&p).cloned())
            .ok_or_else(|| answer(&url, "the issue names no known project"))?;
        let created_at = instant(
            &text(issue, "created_on").ok_or_else(|| answer(&url, "no created_on"))?,
            &url,
        )?;
        let stamp = text(issue, "updated_on").unwrap_or_default();
        let updated_at = instant(&stamp, &url).unwrap_or(created_at);
        let fields: HashMap<String, String> = issue["custom_fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| Some((text(f, "id")?, text(f, "name")?)))
            .collect();
        let attachments: Vec<&Value> = issue["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let file = |att_id: &str| {
            attachments
                .iter()
                .find(|a| text(a, "id").as_deref() == Some(att_id))
                .and_then(|a| self.file_of(a))
        };
        let mut in_journals = std::collections::HashSet::new();
        let mut events = Vec::new();
        for journal in issue["journals"].as_array().into_iter().flatten() {
            let Some(jid) = text(journal, "id") else {
                continue;
            };
            let at = instant(&text(journal, "created_on").unwrap_or_default(), &url)?;
            let author = text(&journal["user"], "id");
            let internal = journal["private_notes"].as_bool().unwrap_or(false);
            let mut files = Vec::new();
            for detail in journal["details"].as_array().into_iter().flatten() {
                let property = text(detail, "property").unwrap_or_default();
                let name = text(detail, "name").unwrap_or_default();
                let before = text(detail, "old_value");
                let after = text(detail, "new_value");
                let event_id = format!("j{jid}:{property}:{name}");
                let change = match (property.as_str(), name.as_str()) {
                    ("attachment", att) => {
                        if after.is_some()
                            && let Some(f) = file(att)
                        {
                            in_journals.insert(att.to_owned());
                            files.push(f);
                        }
                        continue;
                    }
                    ("attr", "status_id") => {
                        let status = |v: &Option<String>| {
                            v.as_ref()
                                .and_then(|v| names.statuses.get(v).cloned())
                                .unwrap_or_default()
                        };
                        SourceChange::Status {
                            before: status(&before),
                            after: status(&after),
                        }
                    }
                    ("cf", field) => SourceChange::Field {
                        name: fields
                            .get(field)
                            .cloned()
                            .unwrap_or_else(|| field.to_owned()),
                        before,
                        after,
                    },
                    (_, attr) => SourceChange::Field {
                        name: attr.trim_end_matches("_id").to_owned(),
                        before,
                        after,
                    },
                };
                events.push(SourceEvent {
                    id: event_id,
                    at,
                    author: author.clone(),
                    change,
                });
            }
            let notes = text(journal, "notes").unwrap_or_default();
            if !notes.trim().is_empty() || internal {
                events.push(SourceEvent {
                    id: format!("j{jid}"),
                    at,
                    author: author.clone(),
                    change: SourceChange::Message {
                        body: notes,
                        internal,
                        files,
                    },
                });
            } else {
                for f in files {
                    events.push(SourceEvent {
                        id: format!("j{jid}:file:{}", f.id),
                        at,
                        author: author.clone(),
                        change: SourceChange::File(f),
                    });
                }
            }
        }
        for a in &attachments {
            let Some(aid) = text(a, "id") else { continue };
            if in_journals.contains(&aid) {
                continue;
            }
            let Some(f) = self.file_of(a) else { continue };
            events.push(SourceEvent {
                id: format!("a{aid}"),
                at: instant(&text(a, "created_on").unwrap_or_default(), &url).unwrap_or(created_at),
                author: text(&a["author"], "id"),
                change: SourceChange::File(f),
            });
        }
        for entry in self
            .all(&format!("/time_entries.json?issue_id={id}"), "time_entries")
            .await?
        {
            let Some(tid) = text(&entry, "id") else {
                continue;
            };
            let Ok(day) = text(&entry, "spent_on")
                .unwrap_or_default()
                .parse::<jiff::civil::Date>()
            else {
                continue;
            };
            let hours = entry["hours"].as_f64().unwrap_or(0.0);
            let activity = text(&entry["activity"], "name").unwrap_or_default();
            let comments = text(&entry, "comments").unwrap_or_default();
            events.push(SourceEvent {
                id: format!("t{tid}"),
                at: on_day(day),
                author: text(&entry["user"], "id"),
                change: SourceChange::Time {
                    seconds: (hours * 3600.0).round() as i64,
                    note: [activity, comments]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(": "),
                },
            });
        }
        events.sort_by_key(|e| e.at);
        Ok(SourceTicket {
            id: id.to_owned(),
            number: id.to_owned(),
            subject: text(issue, "subject").unwrap_or_default(),
            description: text(issue, "description").unwrap_or_default(),
            client_key: project,
            service_key: format!(
                "tracker:{}",
                text(&issue["tracker"], "name").unwrap_or_default()
            ),
            status: text(&issue["status"], "name").unwrap_or_default(),
            requester: text(&issue["author"], "id"),
            created_at,
            updated_at,
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
            FileContent::Url(url) => self.http.get_bytes(url, limit).await,
        }
    }
}
