//! The email channel as desk use cases: one inbound pipeline shared by the IMAP poller and
//! `okno mail ingest`, and delivery of the outbox by mail.
//!
//! Inbound: parse → loops and noise → de-duplication → rate limit → who (contact, client)
//! → which ticket (number in the subject, then In-Reply-To/References) → a new ticket or
//! a comment. Whatever cannot be parsed or stored is quarantined raw with the reason; only
//! a store failure is an error (the poller then leaves the message on the server).
//!
//! Outbound: a worker leases outbox rows, renders them (Russian or English), and sends
//! them with a Message-ID derived from the outbox row, so each event has one message id;
//! a message recorded as sent is never sent again.

use crate::tickets::{Opening, Write};
use crate::{Desk, DeskError, Result};
use jiff::{SignedDuration, Timestamp};
use okno_domain::*;
use okno_mail::authentication::Verdict;
use okno_mail::outbound::{Envelope, Notice};
use okno_mail::smtp::SmtpError;
use okno_mail::{Kind, MailSettings, ParsedMail, thread};
use okno_store::{
    ChangeStep, MailAttachment, MailIn, MailRecord, MailText, NewTask, NewUser, OutboxMessage,
    Quarantine, QuarantinedMail, StoreError, TicketChange, UNREGISTERED_CLIENT,
    UNREGISTERED_CLIENT_NAME,
};
use std::fmt;
use std::future::Future;

/// What became of one inbound message (`okno mail ingest` prints it, one line each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Created(TicketNumber),
    Updated(TicketNumber),
    Ignored(String),
    Quarantined(String),
}

impl fmt::Display for IngestOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestOutcome::Created(n) => write!(f, "ticket {n} created"),
            IngestOutcome::Updated(n) => write!(f, "ticket {n} updated"),
            IngestOutcome::Ignored(reason) => write!(f, "ignored {reason}"),
            IngestOutcome::Quarantined(reason) => write!(f, "quarantined {reason}"),
        }
    }
}

/// Where a message came in: its mailbox's name, service and default client rule.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub name: String,
    pub service: String,
    /// Unknown senders go under this client (its code) instead of the "to register" list.
    pub default_client: Option<String>,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            name: "ingest".into(),
            service: "question".into(),
            default_client: None,
        }
    }
}

/// Why a message is not taken in as it is: quarantined with this reason.
struct Refusal(String);

/// What a message taken in already (by this desk or another poller) comes to.
const DUPLICATE: &str = "duplicate: taken in already";

/// How often a mail-only change is tried again when route changes keep landing first.
const MAIL_CHANGE_ATTEMPTS: usize = 8;

/// A message on its way in: what its change writes besides the ticket or comment.
struct Incoming {
    key: String,
    content_sha256: String,
    address: String,
    subject: String,
    raw: Vec<u8>,
    attachments: Vec<MailAttachment>,
}

impl Incoming {
    /// The change step taking the message in, by `author`, with the comment it adds.
    fn step(self, author: UserId, comment: Option<MailText>) -> ChangeStep {
        ChangeStep::Mail(Box::new(MailIn {
            key: self.key,
            content_sha256: self.content_sha256,
            address: self.address,
            subject: self.subject,
            raw: self.raw,
            author,
            comment,
            attachments: self.attachments,
        }))
    }
}

/// A ticket a message opens, as the pipeline decided it.
struct NewMailTicket<'a> {
    service: &'a str,
    subject: String,
    description: String,
    /// The calendar of the ticket's client.
    calendar: Option<String>,
    /// A person wrote it: the desk may answer automatically.
    auto_reply: bool,
    /// Where an answer may go (a person, not a robot or a list).
    reply_to: Option<&'a str>,
}

impl From<DeskError> for Refusal {
    fn from(e: DeskError) -> Self {
        Refusal(e.to_string())
    }
}

/// Sends one message; the SMTP transport in production, a recorder in tests.
pub trait MailSender: Send + Sync {
    fn send(
        &self,
        message: lettre_message::Message,
    ) -> impl Future<Output = Result<(), SmtpError>> + Send;
}

/// The message type senders take (lettre's, re-exported through okno-mail).
pub mod lettre_message {
    pub use okno_mail::outbound::WireMessage as Message;
}

impl MailSender for okno_mail::smtp::Smtp {
    async fn send(&self, message: lettre_message::Message) -> Result<(), SmtpError> {
        okno_mail::smtp::Smtp::send(self, message).await
    }
}

impl Desk {
    /// Takes one raw message in. `Err` only when the store failed: nothing was lost, and
    /// the same message may be fed again (it is recognised if it got through).
    pub async fn ingest_mail(
        &self,
        settings: &MailSettings,
        inbox: &Inbox,
        raw: &[u8],
    ) -> Result<IngestOutcome> {
        match self.attempt(settings, inbox, raw).await {
            Ok(done) => Ok(done),
            Err((Refusal(reason), mail)) => {
                self.store
                    .quarantine_mail(
                        &Quarantine {
                            mailbox: &inbox.name,
                            service: &inbox.service,
                            default_client: inbox.default_client.as_deref(),
                            reason: &reason,
                            sender: mail.as_ref().and_then(|m| m.from.as_deref()),
                            subject: mail.as_ref().map(|m| m.subject.as_str()),
                            raw,
                        },
                        self.now(),
                    )
                    .await?;
                Ok(IngestOutcome::Quarantined(reason))
            }
        }
    }

    /// The admin's view of the quarantine: open entries, newest first, after `after`.
    pub async fn quarantine(
        &self,
        user: &User,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<QuarantinedMail>> {
        admin_only(user)?;
        Ok(self.store.quarantined(after, limit).await?)
    }

    /// The admin retries an entry with the desk's mail settings.
    pub async fn retry_quarantine(&self, user: &User, id: i64) -> Result<IngestOutcome> {
        admin_only(user)?;
        self.retry_quarantined(&self.settings.mail, id).await
    }

    /// Feeds a quarantined message through the pipeline again, as its own mailbox (service
    /// and default client) took it; it leaves the quarantine when it gets through (or is
    /// ignored), and stays with one more attempt counted if not.
    pub async fn retry_quarantined(
        &self,
        settings: &MailSettings,
        id: i64,
    ) -> Result<IngestOutcome> {
        let (entry, raw) = self
            .store
            .quarantined_raw(id)
            .await?
            .ok_or(DomainError::NotFound("quarantined message"))?;
        if entry.resolved_at.is_some() {
            return Err(
                DomainError::Conflict("the message left the quarantine already".into()).into(),
            );
        }
        let inbox = Inbox {
            name: entry.mailbox.clone(),
            // Entries from before the mailbox's rule was kept: the default service.
            service: entry
                .service
                .clone()
                .unwrap_or_else(|| Inbox::default().service),
            default_client: entry.default_client.clone(),
        };
        let now = self.now();
        match self.attempt(settings, &inbox, &raw).await {
            Ok(done) => {
                self.store
                    .resolve_quarantine(id, Some(&done.to_string()), now)
                    .await?;
                Ok(done)
            }
            Err((Refusal(reason), _)) => {
                self.store.resolve_quarantine(id, None, now).await?;
                Ok(IngestOutcome::Quarantined(reason))
            }
        }
    }

    /// Parse, then take in; a refusal comes back with the message as far as it was read.
    async fn attempt(
        &self,
        settings: &MailSettings,
        inbox: &Inbox,
        raw: &[u8],
    ) -> std::result::Result<IngestOutcome, (Refusal, Option<ParsedMail>)> {
        match okno_mail::parse(raw) {
            Ok(mail) => match self.take_in(settings, inbox, raw, &mail).await {
                Ok(done) => Ok(done),
                Err(refusal) => Err((refusal, Some(mail))),
            },
            Err(e) => Err((Refusal(format!("unreadable: {e}")), None)),
        }
    }

    async fn take_in(
        &self,
        settings: &MailSettings,
        inbox: &Inbox,
        raw: &[u8],
        mail: &ParsedMail,
    ) -> std::result::Result<IngestOutcome, Refusal> {
        let policy = settings.loop_policy();
        let from = mail.from.clone().unwrap_or_default();
        let kind = okno_mail::classify(mail, &policy);
        let auto_reply = match kind {
            Kind::Ignore { reason } => return Ok(IngestOutcome::Ignored(reason.into())),
            Kind::Bounce => return self.bounce(mail).await.map_err(Refusal::from),
            Kind::Automatic { .. } | Kind::AutoReply { .. } => false,
            Kind::Person { auto_reply } => auto_reply,
        };
        let content = content_sha256(mail);
        let key = match &mail.message_id {
            Some(id) => id.clone(),
            None => format!("sha256:{}", sha256_hex(raw)),
        };
        // Where a refusal may be answered: a person, not a robot or a list.
        let reply_to =
            (auto_reply && okno_mail::classify::may_mail(&from, &policy)).then_some(from.as_str());
        let now = self.now();
        // Everything known about the sender in one read: taken in already, the hour's
        // count, vendor, user and the user's client's calendar.
        let sender = self
            .store
            .mail_sender(
                &key,
                &content,
                &from,
                Email::parse_sender(&from).ok().as_ref(),
                now - SignedDuration::from_hours(1),
            )
            .await
            .map_err(store)?;
        if sender.taken {
            return Ok(IngestOutcome::Ignored(DUPLICATE.into()));
        }
        if sender.recent >= settings.rate_limit_per_hour {
            return Err(Refusal(format!(
                "rate limit: {} messages from {from} in the last hour",
                sender.recent
            )));
        }
        let (text, notes) = self.body_and_notes(mail);
        let incoming = Incoming {
            key: key.clone(),
            content_sha256: content.clone(),
            address: from.clone(),
            subject: mail.subject.chars().take(500).collect(),
            raw: raw.to_vec(),
            attachments: self.store_attachments(mail).await?,
        };

        let threaded = self.threaded_ticket(mail).await.map_err(store)?;

        // An auto-reply is recorded on the ticket it answers, as a note: no client's word,
        // no task, no reopening. Without such a ticket there is nothing to record it on.
        if let Kind::AutoReply { reason } = kind {
            let author = match &sender.vendor {
                Some(vendor) => Some(self.vendor_user(vendor).await?),
                None => sender.user.clone(),
            };
            return match (threaded, author) {
                (Some((ticket, route)), Some(author)) => {
                    let note = format!("Автоответ / Auto-reply ({reason})");
                    self.note_by_mail(&ticket, route, &author, &note, &text, incoming)
                        .await
                }
                _ => Ok(IngestOutcome::Ignored(format!(
                    "auto-reply ({reason}) to no ticket of the sender"
                ))),
            };
        }

        // A sender our receiving server says is not proven: never the contact's word.
        let verdict = match settings.authserv_id.as_deref() {
            Some(authserv_id) => okno_mail::authentication::verdict(
                mail.signals
                    .authentication_results
                    .iter()
                    .map(String::as_str),
                authserv_id,
                from.rsplit('@').next().unwrap_or_default(),
            ),
            None => Verdict::Unknown,
        };
        if let Verdict::Fail(why) = verdict {
            let author = sender.user.clone().or(match &sender.vendor {
                Some(vendor) => Some(self.vendor_user(vendor).await?),
                None => None,
            });
            if settings.unverified_mail == "note"
                && let (Some((ticket, route)), Some(author)) = (threaded, author)
            {
                let note = format!(
                    "Отправитель не подтверждён ({why}): письмо от {from} принято как заметка / Unverified sender"
                );
                return self
                    .note_by_mail(&ticket, route, &author, &note, &text, incoming)
                    .await;
            }
            return Err(Refusal(format!("unverified sender {from}: {why}")));
        }

        // Line 4: a vendor's answer on a ticket handed to it, and on no other.
        if let Some(vendor) = &sender.vendor
            && let Some((ticket, route)) = threaded.clone()
        {
            if !self
                .store
                .handed_to_vendor(ticket.id, &vendor.code)
                .await
                .map_err(store)?
            {
                return Err(Refusal(format!(
                    "vendor {} wrote about {}, which was not handed to it",
                    vendor.code,
                    ticket.number()
                )));
            }
            let author = self.vendor_user(vendor).await?;
            let task = NewTask {
                kind: "vendor_reply".into(),
                title: format!("Ответ вендора {} по {}", vendor.name, ticket.number()),
                line: Some(Line::new(1).expect("line 1 exists")),
                pool: None,
                assignee_id: None,
                due_at: None,
                priority: 75,
                stage: None,
            };
            return self
                .comment_by_mail(
                    &ticket,
                    route,
                    &author,
                    &text,
                    &notes,
                    true,
                    Some(task),
                    incoming,
                )
                .await;
        }

        let known = sender.user;
        if let Some((ticket, route)) = threaded {
            let trusted = match &known {
                Some(user) if user.role.is_staff() => Some(user.clone()),
                Some(user) if user.client_id == Some(ticket.client_id) => {
                    // A colleague of the contact who may not see the ticket is no
                    // participant: the message is kept as a note, not as their word.
                    let scope = crate::viewer(user).ticket_scope();
                    if self
                        .store
                        .ticket(scope, ticket.id)
                        .await
                        .map_err(store)?
                        .is_none()
                    {
                        let note = format!(
                            "Письмо от {from}, не участника обращения / From a non-participant"
                        );
                        return self
                            .note_by_mail(&ticket, route, user, &note, &text, incoming)
                            .await;
                    }
                    Some(user.clone())
                }
                _ if settings.foreign_number == "any" => {
                    Some(self.contact(&from, mail, ticket.client_id).await?)
                }
                _ => None,
            };
            if let Some(author) = trusted {
                return self
                    .comment_by_mail(
                        &ticket, route, &author, &text, &notes, false, None, incoming,
                    )
                    .await;
            }
            // A stranger quoting a ticket number: not trusted, a ticket of its own.
        }
        let (user, calendar) = match known {
            Some(user) if user.role.is_staff() => {
                return Ok(IngestOutcome::Ignored(
                    "a staff address without a ticket to reply to".into(),
                ));
            }
            Some(user) => (user, Some(sender.calendar)),
            None => match self
                .client_for_stranger(&from, inbox)
                .await
                .map_err(store)?
            {
                Some(client) => (self.contact(&from, mail, client).await?, None),
                None if settings.unknown_senders == "refuse" => {
                    self.tell_refused(reply_to, &key, &mail.subject, None)
                        .await
                        .map_err(store)?;
                    return Ok(IngestOutcome::Ignored("unknown sender refused".into()));
                }
                None => {
                    let client = self
                        .store
                        .ensure_client(UNREGISTERED_CLIENT, UNREGISTERED_CLIENT_NAME)
                        .await
                        .map_err(store)?;
                    (self.contact(&from, mail, client).await?, None)
                }
            },
        };
        let client_id = user
            .client_id
            .ok_or_else(|| Refusal("the sender belongs to no client".into()))?;
        let calendar = match calendar {
            Some(known) => known,
            None => self.store.client_calendar(client_id).await.map_err(store)?,
        };
        let mut description = text;
        append_notes(&mut description, &notes);
        let opened = NewMailTicket {
            service: &inbox.service,
            subject: new_subject(&mail.subject),
            description,
            calendar,
            auto_reply,
            reply_to,
        };
        self.open_mail_ticket(&user, client_id, opened, incoming)
            .await
    }

    /// The ticket a message threads into, with its route state: the number in its
    /// subject, then its ids.
    async fn threaded_ticket(
        &self,
        mail: &ParsedMail,
    ) -> okno_store::Result<Option<(Ticket, String)>> {
        let id = match thread::ticket_in_subject(&mail.subject) {
            Some(number) => Some(TicketId(number.0)),
            None => {
                let ids = thread::candidate_ids(&mail.in_reply_to, &mail.references);
                self.store.mail_ticket(&ids).await?
            }
        };
        match id {
            Some(id) => Ok(self
                .store
                .routed_ticket(id)
                .await?
                .map(|routed| (routed.ticket, routed.route))),
            None => Ok(None),
        }
    }

    async fn bounce(&self, mail: &ParsedMail) -> Result<IngestOutcome> {
        let mut ids = mail.signals.bounced_ids.clone();
        ids.extend(thread::candidate_ids(&mail.in_reply_to, &mail.references));
        let ticket = match thread::ticket_in_subject(&mail.subject) {
            Some(n) => Some(TicketId(n.0)),
            None => self.store.mail_ticket(&ids).await?,
        };
        let ticket = match ticket {
            Some(id) => self.store.ticket(TicketScope::All, id).await?,
            None => None,
        };
        match ticket {
            Some(ticket) => {
                let detail = format!(
                    "{}: {}",
                    mail.from.as_deref().unwrap_or_default(),
                    mail.subject.chars().take(200).collect::<String>()
                );
                self.store
                    .record_bounce(ticket.id, &detail, self.now())
                    .await?;
                Ok(IngestOutcome::Ignored(format!(
                    "bounce recorded on {}",
                    ticket.number()
                )))
            }
            None => Ok(IngestOutcome::Ignored(
                "bounce about no known ticket".into(),
            )),
        }
    }

    /// The client an unknown sender belongs to: the one whose mail domain it writes from,
    /// else the mailbox's default client.
    async fn client_for_stranger(
        &self,
        from: &str,
        inbox: &Inbox,
    ) -> okno_store::Result<Option<ClientId>> {
        let domain = from.rsplit('@').next().unwrap_or_default();
        if let Some(client) = self.store.client_by_mail_domain(domain).await? {
            return Ok(Some(client.id));
        }
        match &inbox.default_client {
            Some(code) => Ok(self.store.client_by_code(code).await?.map(|c| c.id)),
            None => Ok(None),
        }
    }

    /// A contact (client role, no password) for an address, created on first mail.
    async fn contact(
        &self,
        from: &str,
        mail: &ParsedMail,
        client: ClientId,
    ) -> std::result::Result<User, Refusal> {
        let email = parse_email(from)?;
        let name = mail
            .from_name
            .clone()
            .unwrap_or_else(|| from.split('@').next().unwrap_or(from).to_owned());
        let new = NewUser {
            email: email.clone(),
            name: name.chars().take(200).collect(),
            role: Role::Client,
            client_id: Some(client),
            lines: Vec::new(),
            sees_organization: false,
            password_hash: None,
        };
        match self.store.create_user(&new).await {
            Ok(_) | Err(StoreError::Domain(DomainError::Conflict(_))) => {}
            Err(e) => return Err(store(e)),
        }
        self.store
            .user_by_email(&email)
            .await
            .map_err(store)?
            .map(|(u, _)| u)
            .ok_or_else(|| Refusal(format!("the address {from} belongs to a disabled user")))
    }

    /// A vendor writes as a line 4 specialist (no password) named after it.
    async fn vendor_user(&self, vendor: &okno_store::Vendor) -> std::result::Result<User, Refusal> {
        let email = parse_email(&vendor.support_email)?;
        if let Some((user, _)) = self.store.user_by_email(&email).await.map_err(store)? {
            return Ok(user);
        }
        let new = NewUser {
            email: email.clone(),
            name: vendor.name.clone(),
            role: Role::Specialist,
            client_id: None,
            lines: vec![Line::new(4).expect("line 4 exists")],
            sees_organization: false,
            password_hash: None,
        };
        match self.store.create_user(&new).await {
            Ok(_) | Err(StoreError::Domain(DomainError::Conflict(_))) => {}
            Err(e) => return Err(store(e)),
        }
        self.store
            .user_by_email(&email)
            .await
            .map_err(store)?
            .map(|(u, _)| u)
            .ok_or_else(|| Refusal("the vendor's user is disabled".into()))
    }

    async fn open_mail_ticket(
        &self,
        user: &User,
        client_id: ClientId,
        opened: NewMailTicket<'_>,
        incoming: Incoming,
    ) -> std::result::Result<IngestOutcome, Refusal> {
        let catalog = self.catalog();
        let service = catalog
            .service(opened.service)
            .filter(|s| s.active)
            .ok_or_else(|| {
                Refusal(format!(
                    "the mailbox's service {:?} is not in the catalog",
                    opened.service
                ))
            })?;
        let subject = parse_text("subject", &opened.subject, SUBJECT_MAX_CHARS, true)
            .map_err(|e| Refusal(e.to_string()))?;
        let ticket = NewTicket {
            service: service.code.clone(),
            subject,
            description: opened.description.chars().take(BODY_MAX_CHARS).collect(),
            client_id,
            requester_id: user.id,
            draft: false,
        };
        // The message's record, raw bytes and attachments go in the ticket's own
        // transaction: a message is taken in whole, once, or not at all. A ticket by mail
        // is admitted and registered as one from the portal: the contract's limits and
        // the registration defaults apply, and a sender with no contract in force lands
        // in the "to register" list.
        let message_key = incoming.key.clone();
        let mut after = vec![incoming.step(user.id, None)];
        if !opened.auto_reply {
            after.push(ChangeStep::Event {
                kind: "mail_quiet".into(),
                detail: "an automatic message: no automatic answer".into(),
                public: false,
            });
        }
        let opening = Opening {
            write: Write::New(&ticket),
            requester: None,
            client: client_id,
            service,
            equipment: None,
            before: Vec::new(),
            after,
        };
        let calendar = std::future::ready(Ok(opened.calendar));
        match self.open_admitted(user, opening, calendar).await {
            Ok(created) => Ok(IngestOutcome::Created(created.number())),
            // Kept aside with the reason, to be taken in once the contract allows; the
            // sender is told why.
            Err(DeskError::Domain(DomainError::Invalid(refused))) if refused.field == "limit" => {
                let reason = refused.message;
                self.tell_refused(
                    opened.reply_to,
                    &message_key,
                    &ticket.subject,
                    Some(&reason),
                )
                .await
                .map_err(store)?;
                Err(Refusal(format!("refused by the contract: {reason}")))
            }
            Err(e) => taken_in_or_refused(e),
        }
    }

    /// Tells the sender of the message keyed `message_key` that it was not taken in, once,
    /// when the desk may answer them (`reply_to`): in the contract's words (`reason`), or
    /// else that only registered clients are served.
    async fn tell_refused(
        &self,
        reply_to: Option<&str>,
        message_key: &str,
        subject: &str,
        reason: Option<&str>,
    ) -> okno_store::Result<()> {
        let Some(to) = reply_to else {
            return Ok(());
        };
        let payload = serde_json::json!({
            "to": to, "subject": subject, "reason": reason, "locale": "ru",
        });
        self.store
            .enqueue_outbox(
                OutboxKind::MailRefusal,
                &payload.to_string(),
                &format!("refusal:{message_key}"),
                self.now(),
            )
            .await
    }

    /// A reply on a ticket: the comment, the message and its attachments in one change,
    /// which also moves the route when a client writes mid-route (to line 1, as a comment
    /// on the portal does).
    #[allow(clippy::too_many_arguments)]
    async fn comment_by_mail(
        &self,
        ticket: &Ticket,
        route: String,
        author: &User,
        text: &str,
        notes: &[String],
        internal: bool,
        task: Option<NewTask>,
        incoming: Incoming,
    ) -> std::result::Result<IngestOutcome, Refusal> {
        let mut body = if text.trim().is_empty() {
            "(пустое письмо)".to_owned()
        } else {
            text.chars().take(BODY_MAX_CHARS).collect()
        };
        append_notes(&mut body, notes);
        let from_client = !author.role.is_staff();
        let closed = if from_client {
            self.closed_reply(ticket).await?
        } else {
            None
        };
        let mut steps = vec![incoming.step(
            author.id,
            Some(MailText {
                body: body.clone(),
                internal,
            }),
        )];
        steps.extend(task.map(|t| ChangeStep::CreateTask(t, None)));
        // A reply to a closed ticket reaches a person: the ticket reopens, or the message
        // (kept on the closed ticket) opens a new one.
        match closed {
            Some(ClosedReply::Reopen) => {
                return match self.reopen_for(ticket.id, author, steps).await {
                    Ok(_) => Ok(IngestOutcome::Updated(ticket.number())),
                    Err(e) => taken_in_or_refused(e),
                };
            }
            Some(ClosedReply::FollowUp) => {
                if let Err(e) = self.mail_change(ticket.id, route, author, steps).await {
                    return taken_in_or_refused(e);
                }
                let new = self.follow_up(ticket, author, &body).await?;
                return Ok(IngestOutcome::Created(new.number()));
            }
            None => {}
        }
        let routed =
            from_client && ticket.status.is_open() && crate::route::route_state(&route).is_some();
        let written = if routed {
            match self
                .advance_once(
                    ticket.id,
                    None,
                    Some(author.id),
                    None,
                    None,
                    None,
                    steps,
                    &|w, s| Ok(okno_workflow::client_replied(w, s)),
                )
                .await
            {
                Ok((changed, actions)) => self.run_actions(changed, actions).await.map(|_| ()),
                Err(e) => Err(e),
            }
        } else {
            self.mail_change(ticket.id, route, author, steps).await
        };
        match written {
            Ok(()) => Ok(IngestOutcome::Updated(ticket.number())),
            Err(e) => taken_in_or_refused(e),
        }
    }

    /// Records a message on the ticket as an internal note headed by `why`: nobody's public
    /// word, no task, no status change, no mail out.
    async fn note_by_mail(
        &self,
        ticket: &Ticket,
        route: String,
        author: &User,
        why: &str,
        text: &str,
        incoming: Incoming,
    ) -> std::result::Result<IngestOutcome, Refusal> {
        let text: String = text.chars().take(BODY_MAX_CHARS).collect();
        let body = format!("{why}\n\n{text}");
        let steps = vec![incoming.step(
            author.id,
            Some(MailText {
                body,
                internal: true,
            }),
        )];
        match self.mail_change(ticket.id, route, author, steps).await {
            Ok(()) => Ok(IngestOutcome::Updated(ticket.number())),
            Err(e) => taken_in_or_refused(e),
        }
    }

    /// A change of `steps` alone (no route step), guarded by the route state as read and
    /// read again when another change lands first.
    async fn mail_change(
        &self,
        id: TicketId,
        mut route: String,
        author: &User,
        steps: Vec<ChangeStep>,
    ) -> Result<()> {
        for _ in 0..MAIL_CHANGE_ATTEMPTS {
            let change = TicketChange {
                actor: Some(author.id),
                at: self.now(),
                from_route: route.clone(),
                route: route.clone(),
                complete: None,
                steps: steps.clone(),
                next_step_at: None,
                rank: Some(self.priorities.clone()),
            };
            if self.store.apply_change(id, &change).await?.is_some() {
                return Ok(());
            }
            route = match self.store.routed_ticket(id).await? {
                Some(routed) => routed.route,
                None => return Err(DomainError::NotFound("ticket").into()),
            };
        }
        Err(DomainError::Conflict("the ticket is changing right now; try again".into()).into())
    }

    /// The text to keep (quotes and signature folded away; the raw message keeps them) and
    /// a note for every attachment refused.
    fn body_and_notes(&self, mail: &ParsedMail) -> (String, Vec<String>) {
        let (visible, _) = okno_mail::quote::fold(&mail.text);
        let limit = self.settings.attachment_limit;
        let notes = mail
            .attachments
            .iter()
            .filter(|a| a.bytes.len() as u64 > limit)
            .map(|a| {
                format!(
                    "Вложение «{}» ({} МБ) не принято: больше предела {} МБ. / Attachment not accepted: over the size limit.",
                    a.file_name,
                    a.bytes.len().div_ceil(1024 * 1024),
                    limit / (1024 * 1024)
                )
            })
            .collect();
        (visible, notes)
    }

    /// Puts the attachments within the limit in the file store (by content: a file left
    /// by a message that is then not taken in is harmless); their rows are written with
    /// the message.
    async fn store_attachments(
        &self,
        mail: &ParsedMail,
    ) -> std::result::Result<Vec<MailAttachment>, Refusal> {
        let limit = self.settings.attachment_limit;
        let mut stored = Vec::new();
        for a in mail
            .attachments
            .iter()
            .filter(|a| a.bytes.len() as u64 <= limit)
        {
            let sha256 = self
                .files
                .put(&a.bytes)
                .await
                .map_err(|e| Refusal(e.to_string()))?;
            stored.push(MailAttachment {
                file_name: clean_file_name(&a.file_name),
                content_type: a.content_type.chars().take(200).collect(),
                size: a.bytes.len() as i64,
                sha256,
            });
        }
        Ok(stored)
    }

    /// One pass over an IMAP mailbox: every message goes through the pipeline, and is
    /// removed from the server only after its outcome is committed. A store failure stops
    /// the pass and leaves the message where it is for the next one.
    pub async fn poll_mailbox(
        &self,
        settings: &MailSettings,
        mailbox: &okno_mail::imap::MailboxConfig,
    ) -> std::result::Result<Vec<IngestOutcome>, PollError> {
        let inbox = Inbox {
            name: format!("{}@{}/{}", mailbox.user, mailbox.host, mailbox.folder),
            service: mailbox.service.clone(),
            default_client: mailbox.default_client.clone(),
        };
        let mut session = okno_mail::imap::ImapMailbox::open(mailbox).await?;
        let mut outcomes = Vec::new();
        for uid in session.uids().await? {
            let Some(raw) = session.fetch(uid).await? else {
                continue;
            };
            let outcome = self.ingest_mail(settings, &inbox, &raw).await?;
            session.remove(uid).await?;
            outcomes.push(outcome);
        }
        session.close().await;
        Ok(outcomes)
    }

    /// Hands a ticket to a vendor (line 4): the vendor's support address gets a message
    /// with our reference in the subject; its replies come back as internal comments.
    pub async fn transfer_to_vendor(
        &self,
        user: &User,
        id: TicketId,
        vendor: &str,
        text: &str,
    ) -> Result<()> {
        if !user.role.is_staff() {
            return Err(DomainError::NotFound("ticket").into());
        }
        let ticket = self.ticket(user, id).await?;
        self.store
            .vendor(vendor)
            .await?
            .ok_or_else(|| FieldError::new("vendor", format!("unknown vendor {vendor:?}")))?;
        let text = parse_text("text", text, BODY_MAX_CHARS, false)?;
        Ok(self
            .store
            .transfer_to_vendor(ticket.id, vendor, user.id, &text, self.now())
            .await?)
    }

    /// Delivers due outbox rows by mail until none is left; returns how many were sent.
    pub async fn deliver_mail<S: MailSender>(
        &self,
        settings: &MailSettings,
        sender: &S,
    ) -> Result<usize> {
        let mut sent = 0;
        loop {
            let now = self.now();
            let Some(row) = self
                .store
                .claim_outbox(OutboxKind::ALL, now, now + SignedDuration::from_mins(5))
                .await?
            else {
                return Ok(sent);
            };
            match self.deliver_one(settings, sender, &row).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => {
                    let (error, permanent) = match &e {
                        Delivery::Permanent(m) => (m.clone(), true),
                        Delivery::Transient(m) => (m.clone(), false),
                        Delivery::Store(s) => (s.to_string(), false),
                    };
                    let next = (!permanent && row.attempts < 10).then(|| {
                        let minutes = 1_i64 << row.attempts.clamp(0, 9);
                        self.now() + SignedDuration::from_mins(minutes.min(360))
                    });
                    tracing::warn!(outbox = row.id, kind = %row.kind, %error, "mail not sent");
                    self.store.outbox_failed(row.id, &error, next).await?;
                    if let Delivery::Store(s) = e {
                        return Err(s.into());
                    }
                }
            }
        }
    }

    /// Sends one outbox row's message; `Ok(false)`: nothing to send (the row ends with
    /// the reason).
    async fn deliver_one<S: MailSender>(
        &self,
        settings: &MailSettings,
        sender: &S,
        row: &OutboxMessage,
    ) -> std::result::Result<bool, Delivery> {
        let message_id = format!("okno.{}@{}", row.id, settings.id_domain());
        if self.store.mail_sent(&message_id).await? {
            // Sent before a crash kept it from being marked: never twice.
            self.store.outbox_delivered(row.id, self.now()).await?;
            return Ok(false);
        }
        let Some(kind) = OutboxKind::parse(&row.kind) else {
            let reason = format!("unknown kind {:?}", row.kind);
            self.store.outbox_ended(row.id, &reason, self.now()).await?;
            return Ok(false);
        };
        let payload: serde_json::Value = serde_json::from_str(&row.payload)
            .map_err(|e| Delivery::Permanent(format!("payload: {e}")))?;
        let mail = match self.compose(settings, kind, &payload).await? {
            Composed::Mail(mail) => mail,
            Composed::Nothing(reason) => {
                self.store.outbox_ended(row.id, &reason, self.now()).await?;
                return Ok(false);
            }
        };
        let policy = settings.loop_policy();
        let to: Vec<&str> = mail
            .to
            .split(',')
            .map(str::trim)
            .filter(|a| okno_mail::classify::may_mail(a, &policy))
            .collect();
        if to.is_empty() {
            let reason = format!("no address that may be mailed in {:?}", mail.to);
            self.store.outbox_ended(row.id, &reason, self.now()).await?;
            return Ok(false);
        }
        let to = to.join(", ");
        let thread_ids = match mail.ticket {
            Some(t) => self.store.mail_thread(t, 10).await?,
            None => Vec::new(),
        };
        let envelope = Envelope {
            from: settings.from.clone(),
            from_name: settings.from_name.clone(),
            to: to.clone(),
            message_id: message_id.clone(),
            in_reply_to: mail
                .in_reply_to
                .clone()
                .or_else(|| thread_ids.last().cloned()),
            references: thread_ids,
            x_loop: policy.x_loop.clone(),
        };
        let wire = okno_mail::build_with_files(&envelope, &mail.rendered, &mail.files)
            .map_err(|e| Delivery::Permanent(e.to_string()))?;
        sender.send(wire).await.map_err(|e| match e {
            SmtpError::Permanent(m) | SmtpError::Config(m) => Delivery::Permanent(m),
            SmtpError::Transient(m) => Delivery::Transient(m),
        })?;
        let now = self.now();
        self.store
            .record_mail(
                &MailRecord {
                    inbound: false,
                    message_id,
                    ticket_id: mail.ticket,
                    address: to,
                    subject: mail.rendered.subject.chars().take(500).collect(),
                    raw_sha256: None,
                    outbox_id: Some(row.id),
                },
                now,
            )
            .await?;
        self.store.outbox_delivered(row.id, now).await?;
        Ok(true)
    }

    /// The message an outbox row means, or why it means none. Every kind has its sender
    /// here: the match is exhaustive, so a new kind cannot be written without one.
    async fn compose(
        &self,
        settings: &MailSettings,
        kind: OutboxKind,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        match kind {
            OutboxKind::ContractNotice => Ok(compose_contract_notice(payload)),
            OutboxKind::ContractAlert => self.compose_contract_alert(payload).await,
            OutboxKind::MailRefusal => Ok(compose_refusal(payload)),
            OutboxKind::Announcement => self.compose_announcement(payload).await,
            OutboxKind::WorkReport => self.compose_work_report(payload).await,
            OutboxKind::ScheduledReport => self.compose_scheduled_report(payload).await,
            OutboxKind::VendorTransfer => self.compose_vendor_transfer(payload).await,
            OutboxKind::CommentAdded => self.compose_comment(settings, payload).await,
            OutboxKind::TicketCreated
            | OutboxKind::StatusChanged
            | OutboxKind::TicketResolved
            | OutboxKind::TicketAutoClosed
            | OutboxKind::TicketReopened => self.compose_notice(settings, kind, payload).await,
        }
    }

    /// The ticket a row names and its requester, or why there is none to write to.
    async fn ticket_of(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<std::result::Result<(Ticket, User), String>> {
        let Some(id) = payload.get("ticket_id").and_then(|v| v.as_i64()) else {
            return Ok(Err("the row names no ticket".into()));
        };
        let Some(ticket) = self.store.ticket(TicketScope::All, TicketId(id)).await? else {
            return Ok(Err(format!("ticket {id} is gone")));
        };
        let Some(requester) = self.store.user(ticket.requester_id).await? else {
            return Ok(Err(format!("the requester of {} is gone", ticket.number())));
        };
        Ok(Ok((ticket, requester)))
    }

    /// A public comment for the requester (not their own, nor the desk's on a ticket a
    /// robot opened).
    async fn compose_comment(
        &self,
        settings: &MailSettings,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let (ticket, requester) = match self.ticket_of(payload).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Composed::Nothing(reason)),
        };
        let comment_id = payload.get("comment_id").and_then(|v| v.as_i64());
        let comments = self.store.comments(ticket.id, false).await?;
        let Some(comment) = comments.iter().find(|c| Some(c.id.0) == comment_id) else {
            return Ok(Composed::Nothing(
                "the comment is not public or is gone".into(),
            ));
        };
        if comment.author_id == Some(requester.id) {
            return Ok(Composed::Nothing("the requester wrote it".into()));
        }
        if comment.author_id.is_none() && self.quiet(ticket.id).await? {
            return Ok(Composed::Nothing(QUIET.into()));
        }
        let author = if comment.author_name.is_empty() {
            settings.from_name.clone()
        } else {
            comment.author_name.clone()
        };
        let notice = Notice::Comment {
            author,
            body: comment.body.clone(),
        };
        Ok(Composed::Mail(Outgoing::about(
            &ticket,
            requester.email.to_string(),
            okno_mail::render(&notice, ticket.number(), &ticket.subject, &requester.locale),
        )))
    }

    /// A notice of the ticket's life for its requester, carrying the desk's message of the
    /// same change.
    async fn compose_notice(
        &self,
        settings: &MailSettings,
        kind: OutboxKind,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let (ticket, requester) = match self.ticket_of(payload).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Composed::Nothing(reason)),
        };
        // A ticket a robot opened hears nothing automatic.
        if self.quiet(ticket.id).await? {
            return Ok(Composed::Nothing(QUIET.into()));
        }
        let locale = requester.locale.clone();
        // The promise as the event left it (the row carries it); a row queued before rows
        // carried it tells the ticket's current one.
        let promise = match payload.get("next_step_at") {
            Some(value) => value
                .as_i64()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            None => ticket.next_step_at,
        };
        // Dates in the client's calendar's zone and words, as the desk's own messages.
        let routed = self.store.routed_ticket(ticket.id).await?;
        let zone = self
            .ticket_terms(
                routed.as_ref().and_then(|r| r.support_level.as_deref()),
                routed.as_ref().and_then(|r| r.calendar.as_deref()),
            )
            .map(|terms| terms.calendar.time_zone().clone())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let when =
            |t: Option<Timestamp>| t.map(|t| crate::deadlines::format_instant(t, &zone, &locale));
        let notice = match kind {
            OutboxKind::TicketCreated => Notice::Accepted {
                reaction_due: when(promise),
            },
            OutboxKind::TicketResolved => Notice::Solved {
                rating_url: format!(
                    "{}/tickets/{}#rate",
                    settings.base_url.trim_end_matches('/'),
                    ticket.number()
                ),
            },
            OutboxKind::TicketAutoClosed => Notice::AutoClosed {
                days: payload.get("days").and_then(|v| v.as_i64()).unwrap_or(3),
            },
            OutboxKind::TicketReopened => Notice::Reopened { due: when(promise) },
            _ => Notice::Status {
                status: payload
                    .get("status")
                    .and_then(|v| v.as_str())
                    .map_or_else(|| ticket.status.as_str().into(), str::to_owned),
                next_step: when(promise),
            },
        };
        let mut rendered = okno_mail::render(&notice, ticket.number(), &ticket.subject, &locale);
        // The desk's message of the same change travels in this one mail; the auto-close
        // message says all the notice would.
        if let Some(message) = self.comment_body(ticket.id, payload).await? {
            rendered.body = if kind == OutboxKind::TicketAutoClosed {
                message
            } else {
                format!("{message}\n\n{}", rendered.body)
            };
        }
        Ok(Composed::Mail(Outgoing::about(
            &ticket,
            requester.email.to_string(),
            rendered,
        )))
    }

    /// Line 4: the ticket for the vendor's support address.
    async fn compose_vendor_transfer(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let (ticket, _) = match self.ticket_of(payload).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Composed::Nothing(reason)),
        };
        let code = text(payload, "vendor").unwrap_or_default();
        let Some(vendor) = self.store.vendor(&code).await? else {
            return Ok(Composed::Nothing(format!("vendor {code:?} is gone")));
        };
        let body = format!(
            "{}\n\n---\n{}\n\n{}\n\nОтвечайте, пожалуйста, не меняя номер {} в теме письма.",
            text(payload, "text").unwrap_or_default(),
            ticket.subject,
            ticket.description,
            ticket.number()
        );
        let rendered = okno_mail::render(
            &Notice::VendorTransfer { body },
            ticket.number(),
            &ticket.subject,
            "ru",
        );
        Ok(Composed::Mail(Outgoing::about(
            &ticket,
            vendor.support_email,
            rendered,
        )))
    }

    /// A contract ends with no successor: every active manager hears of it, in their
    /// language.
    async fn compose_contract_alert(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let managers = self.store.active_users_of(Role::Manager).await?;
        if managers.is_empty() {
            return Ok(Composed::Nothing("the desk has no active manager".into()));
        }
        let locales: Vec<String> = managers.iter().map(|m| m.locale.clone()).collect();
        let (contract, client, ends_on) = (
            text(payload, "contract").unwrap_or_default(),
            text(payload, "client").unwrap_or_default(),
            text(payload, "ends_on").unwrap_or_default(),
        );
        let days = payload.get("days").and_then(|v| v.as_i64()).unwrap_or(0);
        let rendered = okno_mail::outbound::for_readers(&locales, |locale| {
            okno_mail::outbound::render_contract_alert(&contract, &client, &ends_on, days, locale)
        });
        Ok(Composed::Mail(Outgoing::to(
            managers
                .iter()
                .map(|m| m.email.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            rendered,
        )))
    }

    /// A client's work report for a month: to the contacts it was sent to, in their
    /// language, with the report attached as a printable page.
    async fn compose_work_report(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let contacts = strings(payload, "contacts");
        let Some(html) = text(payload, "html") else {
            return Ok(Composed::Nothing("the row carries no report".into()));
        };
        let mut to = Vec::new();
        let mut locales = Vec::new();
        for address in &contacts {
            // Looked up by address: only an active account is found that way.
            let Ok(email) = Email::parse(address) else {
                continue;
            };
            if let Some((contact, _)) = self.store.user_by_email(&email).await? {
                to.push(contact.email.to_string());
                locales.push(contact.locale);
            }
        }
        if to.is_empty() {
            return Ok(Composed::Nothing(
                "none of the report's contacts is active".into(),
            ));
        }
        let month = text(payload, "month").unwrap_or_default();
        let client = text(payload, "client").unwrap_or_default();
        let name = text(payload, "client_name").unwrap_or_else(|| client.clone());
        let rendered = okno_mail::outbound::for_readers(&locales, |locale| {
            okno_mail::outbound::render_work_report(&name, &month, locale)
        });
        let mut outgoing = Outgoing::to(to.join(", "), rendered);
        outgoing.files.push(okno_mail::MailFile {
            file_name: format!("work-report-{client}-{month}.html"),
            content_type: "text/html; charset=utf-8".into(),
            bytes: html.into_bytes(),
        });
        Ok(Composed::Mail(outgoing))
    }
}

impl Desk {
    /// A subscribed report: made now from settled figures, to the manager who subscribed
    /// (while still a manager or an admin).
    async fn compose_scheduled_report(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        use crate::reports::ReportParams;
        let Some(user_id) = payload.get("user_id").and_then(|v| v.as_i64()) else {
            return Ok(Composed::Nothing("the row names no manager".into()));
        };
        let user = match self.store.user(UserId(user_id)).await? {
            Some(u) if matches!(u.role, Role::Manager | Role::Admin) => u,
            _ => return Ok(Composed::Nothing("the subscriber is no manager now".into())),
        };
        let report = text(payload, "report").unwrap_or_default();
        let params: ReportParams = payload
            .get("params")
            .and_then(|p| serde_json::from_value(p.clone()).ok())
            .unwrap_or_default();
        let today = self
            .now()
            .to_zoned_datetime(self.reports().desk_zone())
            .date();
        let built = match params.parse(&report, today) {
            Ok(request) => {
                self.reports()
                    .build_unchecked(&request, &self.reports().desk_zone())
                    .await
            }
            Err(e) => Err(e),
        };
        let xlsx = match built.and_then(|r| r.xlsx(&|column| column.to_owned())) {
            Ok(bytes) => bytes,
            Err(crate::DeskError::Store(e)) => return Err(e),
            Err(e) => return Ok(Composed::Nothing(format!("the report failed: {e}"))),
        };
        let from = params.from.unwrap_or_default();
        let to = params.to.unwrap_or_default();
        let rendered =
            okno_mail::outbound::render_scheduled_report(&report, &from, &to, &user.locale);
        let mut outgoing = Outgoing::to(user.email.to_string(), rendered);
        outgoing.files.push(okno_mail::MailFile {
            file_name: format!("{report}-{from}-{to}.xlsx"),
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                .into(),
            bytes: xlsx,
        });
        Ok(Composed::Mail(outgoing))
    }
}

/// Why the desk's automatic messages skip a ticket an automatic message opened.
const QUIET: &str = "an automatic message opened the ticket: nothing automatic goes back";

fn text(payload: &serde_json::Value, name: &str) -> Option<String> {
    payload
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn strings(payload: &serde_json::Value, name: &str) -> Vec<String> {
    payload
        .get(name)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 6's lifecycle rows: the contract and its client's contacts; older rows may name
/// one recipient and their own texts instead.
fn compose_contract_notice(payload: &serde_json::Value) -> Composed {
    let contacts = strings(payload, "contacts");
    let to = match text(payload, "to") {
        Some(to) => to,
        None if !contacts.is_empty() => contacts.join(", "),
        None => return Composed::Nothing("the client has no contacts".into()),
    };
    let rendered = match (text(payload, "subject"), text(payload, "body")) {
        (Some(subject), Some(body)) => okno_mail::Rendered { subject, body },
        _ => okno_mail::outbound::render_contract(
            &text(payload, "event").unwrap_or_default(),
            &text(payload, "contract").unwrap_or_default(),
            &text(payload, "starts_on").unwrap_or_default(),
            &text(payload, "ends_on").unwrap_or_default(),
            payload.get("days").and_then(|v| v.as_i64()).unwrap_or(0),
        ),
    };
    Composed::Mail(Outgoing::to(to, rendered))
}

/// An incoming message was not taken in: its sender hears why.
fn compose_refusal(payload: &serde_json::Value) -> Composed {
    let Some(to) = text(payload, "to") else {
        return Composed::Nothing("the refused message had no address to answer".into());
    };
    let subject = text(payload, "subject").unwrap_or_default();
    Composed::Mail(Outgoing::to(
        to,
        okno_mail::Rendered {
            subject: format!("Обращение не принято: {subject}"),
            body: match text(payload, "reason") {
                // The contract's own words, in Russian and English.
                Some(reason) => format!("Здравствуйте!\n\n{reason}"),
                None => "Здравствуйте!\n\nМы принимаем обращения только от зарегистрированных клиентов. \
                   Свяжитесь с нами, чтобы заключить договор.\n\n\
                   We accept requests from registered clients only."
                    .into(),
            },
        },
    ))
}

/// Why a mailbox pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Imap(#[from] okno_mail::imap::ImapError),
    #[error(transparent)]
    Desk(#[from] DeskError),
}

impl Desk {
    /// The public comment an outbox row names (`comment_id`), if it is there.
    async fn comment_body(
        &self,
        ticket: TicketId,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Option<String>> {
        let Some(id) = payload.get("comment_id").and_then(|v| v.as_i64()) else {
            return Ok(None);
        };
        let comments = self.store.comments(ticket, false).await?;
        Ok(comments.into_iter().find(|c| c.id.0 == id).map(|c| c.body))
    }

    /// The ticket was opened by an automatic message: the desk answers it nothing automatic.
    async fn quiet(&self, ticket: TicketId) -> okno_store::Result<bool> {
        let history = self.store.history(ticket, true).await?;
        Ok(history.iter().any(|h| h.kind == "mail_quiet"))
    }
}

impl Desk {
    /// A manager's announcement to one contact (issue 8), in the contact's language; none
    /// when the announcement or the contact is gone or the contact was deactivated.
    async fn compose_announcement(
        &self,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Composed> {
        let number = |name: &str| payload.get(name).and_then(|v| v.as_i64());
        let (Some(id), Some(user)) = (number("announcement_id"), number("user_id")) else {
            return Ok(Composed::Nothing(
                "the row names no announcement or contact".into(),
            ));
        };
        let Some(announcement) = self.store.announcement(id).await? else {
            return Ok(Composed::Nothing(format!("announcement {id} is gone")));
        };
        let Some(contact) = self.store.user(UserId(user)).await? else {
            return Ok(Composed::Nothing(format!("user {user} is gone")));
        };
        // Looked up by address: only an active account is found that way.
        let active = self.store.user_by_email(&contact.email).await?.is_some();
        if !active || contact.role != Role::Client {
            return Ok(Composed::Nothing(format!(
                "{} is no longer an active contact",
                contact.email
            )));
        }
        Ok(Composed::Mail(Outgoing::to(
            contact.email.to_string(),
            render_announcement(&announcement, &contact.locale),
        )))
    }
}

/// The announcement mail: its title as the subject, its text, and why the contact gets it.
pub fn render_announcement(
    announcement: &okno_store::Announcement,
    locale: &str,
) -> okno_mail::Rendered {
    let (prefix, footer) = if locale.starts_with("ru") {
        (
            "Новости поддержки",
            "Вы получили это письмо как контактное лицо клиента нашей службы поддержки. \
             Новости также видны на вашей странице в портале.",
        )
    } else {
        (
            "Support news",
            "You receive this message as a contact of a client of our support desk. \
             The news is also shown on your portal page.",
        )
    };
    okno_mail::Rendered {
        subject: format!("{prefix}: {}", announcement.title),
        body: format!(
            "{}\n\n{}\n\n-- \n{footer}\n",
            announcement.title, announcement.body
        ),
    }
}

struct Outgoing {
    to: String,
    ticket: Option<TicketId>,
    in_reply_to: Option<String>,
    rendered: okno_mail::Rendered,
    files: Vec<okno_mail::MailFile>,
}

impl Outgoing {
    /// A message outside any ticket's thread.
    fn to(to: String, rendered: okno_mail::Rendered) -> Self {
        Outgoing {
            to,
            ticket: None,
            in_reply_to: None,
            rendered,
            files: Vec::new(),
        }
    }

    /// A message in a ticket's thread.
    fn about(ticket: &Ticket, to: String, rendered: okno_mail::Rendered) -> Self {
        Outgoing {
            ticket: Some(ticket.id),
            ..Outgoing::to(to, rendered)
        }
    }
}

/// What an outbox row comes to: a message, or none and why.
enum Composed {
    Mail(Outgoing),
    Nothing(String),
}

enum Delivery {
    Permanent(String),
    Transient(String),
    Store(StoreError),
}

impl From<StoreError> for Delivery {
    fn from(e: StoreError) -> Self {
        Delivery::Store(e)
    }
}

/// A store failure inside the pipeline: not the message's fault. It is still quarantined
/// (raw, with the reason) so the next message is not blocked; if the store is down, the
/// quarantine insert fails too and the caller sees the error.
fn store(e: StoreError) -> Refusal {
    Refusal(format!("store: {e}"))
}

/// A write taking a message in failed: because another poller took it in first (a
/// duplicate, deleted on the server like any other), or for a reason to quarantine it with.
fn taken_in_or_refused(error: DeskError) -> std::result::Result<IngestOutcome, Refusal> {
    match error {
        DeskError::Domain(DomainError::Conflict(m)) if m == okno_store::MAIL_TAKEN => {
            Ok(IngestOutcome::Ignored(DUPLICATE.into()))
        }
        other => Err(other.into()),
    }
}

fn admin_only(user: &User) -> Result<()> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(DomainError::Forbidden("the mail quarantine is for admins".into()).into())
    }
}

/// What makes a message the same one again beside its Message-ID: who wrote what, with
/// which files — not the headers each delivery adds (`Received`, the mailbox it was in).
pub fn content_sha256(mail: &ParsedMail) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [
        mail.from.as_deref().unwrap_or_default(),
        &mail.subject,
        &mail.text,
        mail.html.as_deref().unwrap_or_default(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    for attachment in &mail.attachments {
        hash.update(attachment.file_name.as_bytes());
        hash.update([0]);
        hash.update(Sha256::digest(&attachment.bytes));
    }
    hex::encode(hash.finalize())
}

fn parse_email(address: &str) -> std::result::Result<Email, Refusal> {
    Email::parse_sender(address)
        .map_err(|_| Refusal(format!("the sender address {address:?} is not valid")))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A new ticket's subject: no Re:/Fwd:, no ticket tags (not trusted), never empty.
fn new_subject(subject: &str) -> String {
    let mut s = thread::clean_subject(subject);
    while let Some(number) = thread::ticket_in_subject(&s) {
        s = s.replace(&format!("[{number}]"), "");
        let lower_tag = format!("[ok-{}]", number.0);
        if s.to_lowercase().contains(&lower_tag) || s == subject {
            break;
        }
    }
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let s: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(SUBJECT_MAX_CHARS)
        .collect();
    if s.trim().is_empty() {
        "(без темы)".into()
    } else {
        s
    }
}

fn append_notes(body: &mut String, notes: &[String]) {
    for note in notes {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(note);
    }
    if body.trim().is_empty() {
        body.push_str("(пустое письмо)");
    }
}

fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "attachment".into()
    } else {
        clean.to_owned()
    }
}

impl Desk {
    /// The words an outbox row's message has for its reader (subject and body), or `None`
    /// when it means none: the Telegram bot sends what the mail says, by the same rules.
    pub(crate) async fn compose_words(
        &self,
        kind: OutboxKind,
        payload: &serde_json::Value,
    ) -> okno_store::Result<Option<okno_mail::Rendered>> {
        Ok(
            match self.compose(&self.settings.mail, kind, payload).await? {
                Composed::Mail(mail) => Some(mail.rendered),
                Composed::Nothing(_) => None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_of_new_tickets() {
        assert_eq!(new_subject("Re: [OK-000123] Счёт"), "Счёт");
        assert_eq!(new_subject("   "), "(без темы)");
        assert_eq!(new_subject("Fwd: a\tb"), "a b");
    }

    #[test]
    fn file_names_lose_paths() {
        assert_eq!(clean_file_name("../../x.txt"), "x.txt");
        assert_eq!(clean_file_name(".."), "attachment");
    }
}
