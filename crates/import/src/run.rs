//! One import run: the source's tickets, page by page, mapped through the plan and written
//! one transaction per ticket; or, with `dry_run`, only counted.

use crate::plan::Plan;
use crate::source::{FileContent, Source, SourceChange, SourceFile, SourceTicket, SourceUser};
use crate::{ImportError, Result};
use jiff::{SignedDuration, Timestamp};
use okno_desk::Desk;
use okno_domain::*;
use okno_store::{
    ImportOutcome, ImportedChange, ImportedFile, ImportedItem, ImportedTicket, NewTask, NewUser,
};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read everything, write nothing: say what would be created, updated and skipped.
    pub dry_run: bool,
}

/// What a run created (or, dry, would create).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub clients: usize,
    pub staff: usize,
    pub contacts: usize,
    pub tickets_created: usize,
    pub tickets_updated: usize,
    pub tickets_unchanged: usize,
    pub messages: usize,
    pub status_changes: usize,
    pub fields: usize,
    pub files: usize,
    pub file_bytes: u64,
    pub time_entries: usize,
}

/// An item left behind, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotImported {
    pub item: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub counts: Counts,
    pub not_imported: Vec<NotImported>,
    /// What was imported differently from the source, and how.
    pub notes: Vec<String>,
    /// Set when the source failed and the run stopped there: run it again to resume.
    pub stopped: Option<String>,
}

/// The kind of task that puts an imported open ticket before a person.
pub const REVIEW_TASK: &str = "review";
/// The user that stands for the source itself (changes with no known author).
const SYSTEM_USER: &str = "system";

struct Run<'a> {
    desk: &'a Desk,
    source: &'a dyn Source,
    plan: &'a Plan,
    dry: bool,
    source_id: String,
    users: HashMap<String, SourceUser>,
    clients: HashMap<String, ClientId>,
    people: HashMap<String, UserId>,
    report: Report,
}

/// Imports every ticket of `source` through `plan`. `progress` hears `(done, total)` after
/// each ticket. A failing source stops the run with [`Report::stopped`] set (what was
/// imported stays; the next run resumes); other errors are the store's.
pub async fn import(
    desk: &Desk,
    source: &dyn Source,
    plan: &Plan,
    options: Options,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
) -> Result<Report> {
    let catalog = source.catalog().await?;
    let mut run = Run {
        desk,
        source,
        plan,
        dry: options.dry_run,
        source_id: source_id(source),
        users: catalog
            .users
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect(),
        clients: HashMap::new(),
        people: HashMap::new(),
        report: Report::default(),
    };
    let mut cursor: Option<String> = None;
    let mut done = 0u64;
    let mut touched = Vec::new();
    loop {
        let page = match source.tickets(cursor.as_deref()).await {
            Ok(page) => page,
            Err(error) if error.source_failed() => {
                run.report.stopped = Some(error.to_string());
                break;
            }
            Err(error) => return Err(error),
        };
        for reference in &page.tickets {
            let label = format!("{} #{}", source.kind().title(), reference.id);
            match run.ticket(&reference.id, &reference.stamp).await {
                Ok(Some(id)) => touched.push(id),
                Ok(None) => {}
                Err(error) if error.source_failed() => {
                    run.report.stopped = Some(format!("{label}: {error}"));
                    break;
                }
                Err(
                    error @ (ImportError::Answer { .. }
                    | ImportError::Source { .. }
                    | ImportError::TooLarge { .. }),
                ) => run.skip(&label, error.to_string()),
                Err(error) => return Err(error),
            }
            done += 1;
            progress(done, page.total);
        }
        if run.report.stopped.is_some() {
            break;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for chunk in touched.chunks(500) {
        desk.search_put_tickets(chunk).await?;
    }
    Ok(run.report)
}

/// The source's id in links: its kind and base URL.
pub fn source_id(source: &dyn Source) -> String {
    format!(
        "{}:{}",
        source.kind().code(),
        source.url().trim_end_matches('/')
    )
}

/// At most `max` characters of `text`, and whether it was cut.
fn bounded(text: &str, max: usize) -> (String, bool) {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => (text[..at].to_owned(), true),
        None => (text.to_owned(), false),
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

impl Run<'_> {
    fn skip(&mut self, item: &str, reason: String) {
        self.report.not_imported.push(NotImported {
            item: item.to_owned(),
            reason,
        });
    }

    fn note(&mut self, note: String) {
        self.report.notes.push(note);
    }

    /// The client a plan key stands for: linked before, else one of that code, else new.
    async fn client(&mut self, key: &str) -> Result<Option<ClientId>> {
        if let Some(id) = self.clients.get(key) {
            return Ok(Some(*id));
        }
        let Some(planned) = self.plan.clients.get(key) else {
            return Ok(None);
        };
        let store = &self.desk.store;
        let id = match store.import_link(&self.source_id, "client", key).await? {
            Some((id, _)) => ClientId(id),
            None => match store.client_by_code(&planned.code).await? {
                Some(client) => {
                    if !self.dry {
                        store
                            .link_import(&self.source_id, "client", key, client.id.0)
                            .await?;
                    }
                    client.id
                }
                None => {
                    self.report.counts.clients += 1;
                    if self.dry {
                        ClientId(0)
                    } else {
                        let id = store
                            .create_client(&planned.code, &planned.name, None)
                            .await?;
                        store
                            .link_import(&self.source_id, "client", key, id.0)
                            .await?;
                        id
                    }
                }
            },
        };
        self.clients.insert(key.to_owned(), id);
        Ok(Some(id))
    }

    /// The user a source user id stands for: staff as the plan says, else a contact of
    /// `client`. A user with no usable email gets an address that cannot receive mail
    /// (`redmine-7@import.invalid`), and the report says so.
    async fn person(
        &mut self,
        id: Option<&str>,
        client: ClientId,
        seen: &[SourceUser],
    ) -> Result<UserId> {
        let id = id.unwrap_or(SYSTEM_USER);
        if let Some(user) = self.people.get(id) {
            return Ok(*user);
        }
        let store = &self.desk.store;
        if let Some((user, _)) = store.import_link(&self.source_id, "user", id).await? {
            self.people.insert(id.to_owned(), UserId(user));
            return Ok(UserId(user));
        }
        let kind = self.source.kind();
        let known = seen
            .iter()
            .find(|u| u.id == id)
            .or_else(|| self.users.get(id))
            .cloned();
        let name = match &known {
            Some(user) if !user.name.trim().is_empty() => user.name.trim().to_owned(),
            _ if id == SYSTEM_USER => kind.title().to_owned(),
            _ => format!("{} user {id}", kind.title()),
        };
        let email = match known.as_ref().and_then(|u| u.email.as_deref()) {
            Some(text) if Email::parse(text).is_ok() => Email::parse(text).ok(),
            _ => None,
        };
        let email = match email {
            Some(email) => email,
            None => {
                // The id itself when it is plain, else its bytes in hex: distinct ids
                // stay distinct addresses.
                let plain = id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
                let local: String = if plain {
                    id.to_owned()
                } else {
                    id.bytes().map(|b| format!("{b:02x}")).collect()
                };
                let placeholder = Email::parse(&format!("{}-{local}@import.invalid", kind.code()))
                    .map_err(|e| ImportError::Answer {
                        url: self.source.url().to_owned(),
                        message: format!("user {id}: {}", e.message),
                    })?;
                if id != SYSTEM_USER {
                    let what = match known.as_ref().and_then(|u| u.email.as_deref()) {
                        Some(bad) => format!("has no usable email ({bad:?})"),
                        None => "has no email".to_owned(),
                    };
                    self.note(format!(
                        "user {id} «{name}» {what}: kept as {placeholder} (cannot log in or get mail until an admin sets an address)"
                    ));
                }
                placeholder
            }
        };
        let user = match store.user_by_email(&email).await? {
            Some((user, _)) => user.id,
            None => {
                let role = self.plan.staff.get(id).copied();
                match role {
                    Some(_) => self.report.counts.staff += 1,
                    None => self.report.counts.contacts += 1,
                }
                if self.dry {
                    UserId(0)
                } else {
                    let role = role.unwrap_or(Role::Client);
                    store
                        .create_user(&NewUser {
                            email,
                            name,
                            role,
                            client_id: (role == Role::Client).then_some(client),
                            lines: if role == Role::Client {
                                Vec::new()
                            } else {
                                Line::new(1).into_iter().collect()
                            },
                            sees_organization: false,
                            password_hash: None,
                        })
                        .await?
                }
            }
        };
        if !self.dry {
            store
                .link_import(&self.source_id, "user", id, user.0)
                .await?;
        }
        self.people.insert(id.to_owned(), user);
        Ok(user)
    }

    /// A file's bytes into the attachment store, or why not.
    async fn file(&mut self, label: &str, file: &SourceFile) -> Result<Option<ImportedFile>> {
        let limit = self.desk.settings.attachment_limit;
        let too_large = |size: u64| {
            format!(
                "the file {} ({}) is over the attachment limit of {}",
                file.name,
                megabytes(size),
                megabytes(limit)
            )
        };
        if file.size > limit {
            self.skip(label, too_large(file.size));
            return Ok(None);
        }
        let (name, _) = bounded(&file.name, 255);
        let imported = |size: u64, sha256: String| ImportedFile {
            file_name: if name.is_empty() {
                "file".to_owned()
            } else {
                name.clone()
            },
            content_type: file.content_type.clone(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            sha256,
        };
        if self.dry {
            self.report.counts.files += 1;
            self.report.counts.file_bytes += file.size;
            return Ok(Some(imported(file.size, String::new())));
        }
        let bytes = match &file.content {
            FileContent::Inline(bytes) if bytes.len() as u64 > limit => {
                self.skip(label, too_large(bytes.len() as u64));
                return Ok(None);
            }
            FileContent::Inline(bytes) => bytes.clone(),
            FileContent::Url(_) => match self.source.file(file, limit).await {
                Ok(bytes) => bytes,
                Err(ImportError::TooLarge { size, .. }) => {
                    self.skip(label, too_large(size));
                    return Ok(None);
                }
                Err(error) => return Err(error),
            },
        };
        let sha256 = self.desk.files.put(&bytes).await?;
        self.report.counts.files += 1;
        self.report.counts.file_bytes += bytes.len() as u64;
        Ok(Some(imported(bytes.len() as u64, sha256)))
    }

    async fn files(&mut self, label: &str, files: &[SourceFile]) -> Result<Vec<ImportedFile>> {
        let mut out = Vec::new();
        for file in files {
            if let Some(f) = self.file(label, file).await? {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Imports one ticket unless its stamp says it is unchanged; answers its id when it
    /// was written (or, dry, `None`).
    async fn ticket(&mut self, id: &str, stamp: &str) -> Result<Option<TicketId>> {
        let kind = self.source.kind();
        let store = self.desk.store.clone();
        let linked = store.import_link(&self.source_id, "ticket", id).await?;
        if let Some((_, known)) = &linked
            && known == stamp
            && !stamp.is_empty()
        {
            self.report.counts.tickets_unchanged += 1;
            return Ok(None);
        }
        let ticket = self.source.ticket(id).await?;
        let label = format!("{} #{}", kind.title(), ticket.number);
        for note in &ticket.notes {
            self.note(format!("{label}: {note}"));
        }
        let Some(mapped) = self.check_plan(&label, &ticket) else {
            return Ok(None);
        };
        let (service, status, client_key) = mapped;
        let Some(client) = self.client(&client_key).await? else {
            return Ok(None);
        };
        let seen = ticket.people.clone();
        let requester = self
            .person(ticket.requester.as_deref(), client, &seen)
            .await?;
        let (subject, cut) = bounded(&ticket.subject, SUBJECT_MAX_CHARS);
        if cut {
            self.note(format!(
                "{label}: the subject was cut to {SUBJECT_MAX_CHARS} characters"
            ));
        }
        let subject = if subject.is_empty() {
            label.clone()
        } else {
            subject
        };
        let (description, cut) = bounded(&ticket.description, BODY_MAX_CHARS);
        if cut {
            self.note(format!(
                "{label}: the description was cut to {BODY_MAX_CHARS} characters"
            ));
        }
        let mut items = Vec::new();
        for event in &ticket.events {
            let author = match &event.author {
                Some(a) => Some(self.person(Some(a), client, &seen).await?),
                None => None,
            };
            let change = match &event.change {
                SourceChange::Message {
                    body,
                    internal,
                    files,
                } => {
                    let files = self.files(&label, files).await?;
                    let (body, cut) = bounded(body, BODY_MAX_CHARS);
                    if cut {
                        self.note(format!(
                            "{label}: a message was cut to {BODY_MAX_CHARS} characters"
                        ));
                    }
                    if body.is_empty() && files.is_empty() {
                        continue;
                    }
                    self.report.counts.messages += 1;
                    ImportedChange::Comment {
                        author: match author {
                            Some(a) => a,
                            None => self.person(None, client, &seen).await?,
                        },
                        body,
                        internal: *internal,
                        files,
                    }
                }
                SourceChange::Status { before, after } => {
                    match (
                        self.plan.statuses.get(before),
                        self.plan.statuses.get(after),
                    ) {
                        (Some(b), Some(a)) if b == a => continue,
                        (Some(b), Some(a)) => {
                            self.report.counts.status_changes += 1;
                            ImportedChange::Status {
                                by: author,
                                before: *b,
                                after: *a,
                            }
                        }
                        _ => {
                            self.report.counts.fields += 1;
                            ImportedChange::Field {
                                by: author,
                                name: "status".to_owned(),
                                before: Some(before.clone()),
                                after: Some(after.clone()),
                            }
                        }
                    }
                }
                SourceChange::Field {
                    name,
                    before,
                    after,
                } => {
                    self.report.counts.fields += 1;
                    ImportedChange::Field {
                        by: author,
                        name: name.clone(),
                        before: before.clone(),
                        after: after.clone(),
                    }
                }
                SourceChange::File(file) => {
                    let Some(file) = self.file(&label, file).await? else {
                        continue;
                    };
                    ImportedChange::File {
                        by: match author {
                            Some(a) => a,
                            None => requester,
                        },
                        file,
                    }
                }
                SourceChange::Time { seconds, note } => {
                    self.report.counts.time_entries += 1;
                    ImportedChange::Time {
                        user: match author {
                            Some(a) => a,
                            None => self.person(None, client, &seen).await?,
                        },
                        stopped_at: event
                            .at
                            .checked_add(SignedDuration::from_secs((*seconds).max(0)))
                            .unwrap_or(event.at),
                        note: bounded(note, 1000).0,
                    }
                }
            };
            items.push(ImportedItem {
                external_id: event.id.clone(),
                at: event.at,
                change,
            });
        }
        let open_task = matches!(
            status,
            TicketStatus::New | TicketStatus::InProgress | TicketStatus::WaitingClient
        )
        .then(|| NewTask {
            kind: REVIEW_TASK.to_owned(),
            title: bounded(&format!("{label}: {subject}"), SUBJECT_MAX_CHARS).0,
            line: Line::new(1).ok(),
            pool: None,
            assignee_id: None,
            due_at: None,
            priority: 0,
            stage: None,
        });
        let created_at = ticket.created_at;
        let updated_at = ticket
            .updated_at
            .max(items.iter().map(|i| i.at).max().unwrap_or(created_at));
        if self.dry {
            match linked {
                Some(_) => self.report.counts.tickets_updated += 1,
                None => self.report.counts.tickets_created += 1,
            }
            return Ok(None);
        }
        let imported = ImportedTicket {
            source: self.source_id.clone(),
            external_id: ticket.id.clone(),
            label: label.clone(),
            stamp: ticket.stamp.clone(),
            service,
            subject,
            description,
            client_id: client,
            requester_id: requester,
            status,
            created_at,
            updated_at,
            items,
            open_task,
        };
        let outcome = store.import_ticket(&imported).await?;
        match outcome {
            ImportOutcome::Created(_) => self.report.counts.tickets_created += 1,
            ImportOutcome::Updated(..) => self.report.counts.tickets_updated += 1,
            ImportOutcome::Unchanged(_) => self.report.counts.tickets_unchanged += 1,
        }
        Ok(Some(outcome.ticket()))
    }

    /// The plan's service, status and client key for the ticket, or why it cannot go.
    fn check_plan(
        &mut self,
        label: &str,
        ticket: &SourceTicket,
    ) -> Option<(String, TicketStatus, String)> {
        let Some(service) = self.plan.services.get(&ticket.service_key).cloned() else {
            self.skip(
                label,
                format!("{:?} is not in the plan's [services]", ticket.service_key),
            );
            return None;
        };
        let Some(status) = self.plan.statuses.get(&ticket.status).copied() else {
            self.skip(
                label,
                format!(
                    "the status {:?} is not in the plan's [statuses]",
                    ticket.status
                ),
            );
            return None;
        };
        if !self.plan.clients.contains_key(&ticket.client_key) {
            self.skip(
                label,
                format!("{:?} is not in the plan's [clients]", ticket.client_key),
            );
            return None;
        }
        Some((service, status, ticket.client_key.clone()))
    }
}

/// When work logged on a date starts: 09:00 UTC that day (sources log it by date).
pub fn on_day(date: jiff::civil::Date) -> Timestamp {
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.at(9, 0, 0, 0))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Distinct values, for the plan's catalog.
pub fn distinct<I: IntoIterator<Item = String>>(values: I) -> Vec<String> {
    values
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}
