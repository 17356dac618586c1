//! Tickets and what hangs on them: comments, history, attachments.
//!
//! Every read goes through the caller's visibility scope; a ticket the caller may not see
//! answers exactly like one that does not exist.

use crate::closed::ClosedOutcome;
use crate::route::{StepContext, route_state};
use crate::{Desk, DeskError, Result, viewer};
use jiff::Timestamp;
use okno_domain::*;
use okno_store::{ChangeStep, NewAttachment, TicketFilter};
use okno_workflow::Workflow;

/// A ticket as submitted by a person or a channel, before validation.
#[derive(Debug, Clone, Default)]
pub struct TicketInput {
    pub service: String,
    pub subject: String,
    pub description: String,
    /// The client's code; contacts may leave it out (their own organization).
    pub client: Option<String>,
    /// Staff registering a ticket for a client: the contact it is for (email or user id),
    /// who must belong to `client`; the ticket is then the contact's own. `None`: the caller's.
    pub requester: Option<String>,
    pub draft: bool,
}

/// A comment as posted, with what it did to a closed ticket.
#[derive(Debug, Clone)]
pub struct Posted {
    pub comment: Comment,
    /// `Some` when a client wrote on a closed ticket.
    pub outcome: Option<ClosedOutcome>,
}

/// A new ticket's route about to start: see [`Desk::open_admitted`].
pub(crate) struct Opening<'a> {
    pub write: Write<'a>,
    /// The contact the ticket is for when staff register it for them; `None`: the caller.
    pub requester: Option<&'a User>,
    pub client: ClientId,
    pub service: &'a okno_workflow::Service,
    pub equipment: Option<i64>,
    /// Steps before the route's first (a sent draft's status) and after the registration
    /// (a message taken in).
    pub before: Vec<ChangeStep>,
    pub after: Vec<ChangeStep>,
}

/// Where a new ticket is written: a row of its own, or over the draft it was saved as.
pub(crate) enum Write<'a> {
    New(&'a NewTicket),
    Draft(TicketId),
}

impl Desk {
    pub async fn open_ticket(&self, user: &User, input: TicketInput) -> Result<Ticket> {
        self.open_ticket_about(user, input, None).await
    }

    /// Opens a ticket about a piece of its client's equipment (seed 002); equipment of
    /// another client is refused naming `equipment`, like equipment that does not exist.
    /// A ticket naming no service gets the configured default one.
    pub async fn open_ticket_about(
        &self,
        user: &User,
        input: TicketInput,
        equipment: Option<i64>,
    ) -> Result<Ticket> {
        let catalog = self.catalog();
        let service_code = match input.service.trim() {
            "" => self.contract_settings.registration.service.as_str(),
            code => code,
        };
        let service = catalog
            .service(service_code)
            .filter(|s| s.active)
            .ok_or_else(|| {
                FieldError::new("service", format!("unknown service {:?}", input.service))
            })?;
        let subject = parse_text("subject", &input.subject, SUBJECT_MAX_CHARS, true)?;
        let description = parse_text("description", &input.description, BODY_MAX_CHARS, false)?;
        let requested_client = match input
            .client
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(code) => {
                let code = parse_client_code(code)?;
                let client = self.store.client_by_code(&code).await?;
                // A contact naming an organization not its own learns nothing about it.
                Some(client.map(|c| c.id).ok_or_else(|| {
                    FieldError::new("client", okno_domain::visibility::UNKNOWN_CLIENT)
                })?)
            }
            None => None,
        };
        let client_id = viewer(user).client_for_new_ticket(requested_client)?;
        let requester = match input
            .requester
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(contact) => Some(
                self.contact_for(user, client_id, contact, input.draft)
                    .await?,
            ),
            None => None,
        };
        if let Some(equipment) = equipment {
            self.check_equipment_of(client_id, equipment).await?;
        }
        let ticket = NewTicket {
            service: service.code.clone(),
            subject,
            description,
            client_id,
            requester_id: requester.as_ref().map_or(user.id, |r| r.id),
            draft: input.draft,
        };
        if ticket.draft {
            // Checked again, with the contracts of that day, when it is sent.
            self.check_audience(client_id, service, None).await?;
            let now = self.now();
            let draft = self.store.create_ticket(&ticket, &[], now).await?;
            if let Some(equipment) = equipment {
                self.store
                    .link_equipment(draft.id, equipment, user.id, now)
                    .await?;
            }
            return Ok(draft);
        }
        let calendar = self.store.client_calendar(client_id);
        let opening = Opening {
            write: Write::New(&ticket),
            requester: requester.as_ref(),
            client: client_id,
            service,
            equipment,
            before: Vec::new(),
            after: Vec::new(),
        };
        self.open_admitted(user, opening, calendar).await
    }

    /// The contact a staff member registers a ticket for (`requester`: an email or a user
    /// id): a contact of `client`. Anything else is refused naming `requester`.
    async fn contact_for(
        &self,
        user: &User,
        client: ClientId,
        contact: &str,
        draft: bool,
    ) -> Result<User> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::RegisterTickets) {
            return Err(FieldError::new(
                "requester",
                "only staff register a ticket for another person",
            )
            .into());
        }
        if draft {
            return Err(FieldError::new(
                "requester",
                "a draft is its author's own: register the ticket for the contact without saving a draft",
            )
            .into());
        }
        let found = match contact.parse::<i64>() {
            Ok(id) => self.store.user(UserId(id)).await?,
            Err(_) => {
                let email = Email::parse(contact).map_err(|_| {
                    FieldError::new("requester", "neither an email address nor a user id")
                })?;
                self.store.user_by_email(&email).await?.map(|(u, _)| u)
            }
        };
        match found {
            Some(u) if u.role == Role::Client && u.client_id == Some(client) => Ok(u),
            Some(_) => {
                Err(FieldError::new("requester", "not a contact of the ticket's client").into())
            }
            None => Err(FieldError::new("requester", "no such contact").into()),
        }
    }

    /// Sends a draft the user saved earlier: it becomes `new` and its route starts.
    pub async fn submit_draft(&self, user: &User, id: TicketId) -> Result<Ticket> {
        let ticket = self.ticket(user, id).await?;
        if ticket.requester_id != user.id {
            return Err(DomainError::Forbidden("only the author sends a draft".into()).into());
        }
        if ticket.status != TicketStatus::Draft {
            return Err(DomainError::Conflict("the ticket is not a draft".into()).into());
        }
        let catalog = self.catalog();
        let service = catalog
            .service(&ticket.service)
            .ok_or_else(|| FieldError::new("service", "the draft's service is gone"))?;
        let calendar = self.store.ticket_calendar(id);
        let opening = Opening {
            write: Write::Draft(id),
            requester: None,
            client: ticket.client_id,
            service,
            equipment: None,
            before: vec![
                ChangeStep::SetStatus(TicketStatus::New),
                ChangeStep::Submitted,
            ],
            after: Vec::new(),
        };
        self.open_admitted(user, opening, calendar).await
    }

    /// Starts a new ticket's route under its contract (seed 003), whatever brought it
    /// (the portal, the API, a sent draft, a message): the service's audience and the
    /// admission from one read of the client's contracts in force, the route's
    /// first step (its deadlines from now, or from the next period when deferred), the
    /// registration defaults and the caller's own steps in one change, written again when
    /// another ticket used up a counted limit meanwhile; then the manager's alert and the
    /// route's automatic actions. The caller is the requester; `refuse` is an error
    /// naming `limit`, with nothing written.
    pub(crate) async fn open_admitted(
        &self,
        user: &User,
        opening: Opening<'_>,
        calendar: impl Future<Output = okno_store::Result<Option<String>>>,
    ) -> Result<Ticket> {
        let now = self.now();
        let service = opening.service;
        let (in_force, calendar) = tokio::join!(
            self.contracts_in_force(opening.client, &service.code, now),
            calendar
        );
        let (in_force, calendar) = (in_force?, calendar?);
        self.check_audience(opening.client, service, Some(&in_force))
            .await?;
        let contract = in_force.into_iter().next();
        // Limits count the requester's tickets; the route speaks the requester's language.
        let requester = opening.requester.unwrap_or(user);
        let mut admission = self
            .admit(opening.client, requester.id, contract, now)
            .await?;
        let (created, actions) = loop {
            let clock = self.clock_start(&admission, calendar.as_deref(), now);
            let level = self.admitted_level(&admission);
            let (mut change, actions) = self
                .start_route(
                    requester,
                    &service.workflow,
                    Some(level),
                    calendar.as_deref(),
                    clock,
                )
                .await?;
            change.actor = Some(user.id);
            change.at = now;
            change.steps.splice(0..0, opening.before.iter().cloned());
            change.steps.extend(admission.steps());
            change
                .steps
                .push(self.registration(user, &admission, opening.equipment));
            change.steps.extend(opening.after.iter().cloned());
            let written = match opening.write {
                Write::New(ticket) => self.store.create_routed_ticket(ticket, &change).await,
                Write::Draft(id) => match self.store.apply_change(id, &change).await {
                    Ok(Some(submitted)) => Ok(submitted),
                    Ok(None) => {
                        return Err(
                            DomainError::Conflict("the ticket is not a draft".into()).into()
                        );
                    }
                    Err(failure) => Err(failure),
                },
            };
            match written {
                Ok(created) => break (created, actions),
                Err(failure) => admission.retry_after(failure)?,
            }
        };
        self.admitted(&created, admission, now).await?;
        self.run_actions(created, actions).await
    }

    /// The first step of a new route: the latest version of the service's workflow, which
    /// the ticket then keeps while newer versions are published; its deadlines counted
    /// from `clock` (a deferred ticket's next period, or now) under the support `level`
    /// it is registered with. The change is dated `clock` too, which the caller may set
    /// back.
    pub(crate) async fn start_route(
        &self,
        user: &User,
        workflow: &str,
        level: Option<&str>,
        calendar: Option<&str>,
        clock: Timestamp,
    ) -> Result<(okno_store::TicketChange, Vec<crate::route::Action>)> {
        let catalog = self.catalog();
        let step = okno_workflow::start(latest_workflow(&catalog, workflow)?);
        let context = StepContext {
            locale: &user.locale,
            classification: None,
            carried: None,
            result: None,
            calendar,
            level,
            history: None,
            promised: None,
        };
        let (mut change, actions) = self.plan("{}".into(), &step, &context, clock).await?;
        change.actor = Some(user.id);
        Ok((change, actions))
    }

    /// The client's decision in a stage that waits for it (e.g. `approved` or `declined` a
    /// paid repair offer). Staff may record a decision the client gave by phone.
    pub async fn decide(&self, user: &User, id: TicketId, decision: &str) -> Result<Ticket> {
        let ticket = self.ticket(user, id).await?;
        let decision = decision.trim().to_owned();
        self.advance(ticket.id, Some(user.id), None, None, |workflow, state| {
            okno_workflow::client_decided(workflow, state, &decision)
        })
        .await
    }

    /// The ticket, if the user may see it.
    /// Another person's unsent draft is nobody else's business, staff's included.
    pub async fn ticket(&self, user: &User, id: TicketId) -> Result<Ticket> {
        let ticket = self.store.ticket(viewer(user).ticket_scope(), id).await?;
        ticket
            .filter(|t| t.status != TicketStatus::Draft || t.requester_id == user.id)
            .ok_or(DeskError::Domain(DomainError::NotFound("ticket")))
    }

    pub async fn tickets(&self, user: &User, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let filter = TicketFilter {
            drafts_of: Some(user.id),
            ..filter.clone()
        };
        Ok(self
            .store
            .tickets(viewer(user).ticket_scope(), &filter)
            .await?)
    }

    pub async fn comment(
        &self,
        user: &User,
        id: TicketId,
        body: &str,
        internal: bool,
    ) -> Result<Comment> {
        Ok(self.post_comment(user, id, body, internal).await?.comment)
    }

    /// A comment on a ticket, and what a client's message on a closed ticket came to
    /// (reopened, or a new ticket: see [`crate::closed`]).
    pub async fn post_comment(
        &self,
        user: &User,
        id: TicketId,
        body: &str,
        internal: bool,
    ) -> Result<Posted> {
        viewer(user).may_post(internal)?;
        let ticket = self.ticket(user, id).await?;
        let body = parse_text("body", body, BODY_MAX_CHARS, true)?;
        let closed = if viewer(user).is_staff() {
            None
        } else {
            self.closed_reply(&ticket).await?
        };
        let comment = NewComment {
            ticket_id: ticket.id,
            author_id: user.id,
            body: body.clone(),
            internal,
        };
        let comment = self.store.add_comment(&comment, self.now()).await?;
        let outcome = match closed {
            Some(ClosedReply::Reopen) => Some(ClosedOutcome::Reopened(
                self.reopen_for(ticket.id, user, Vec::new()).await?,
            )),
            Some(ClosedReply::FollowUp) => Some(ClosedOutcome::FollowUp(
                self.follow_up(&ticket, user, &body).await?,
            )),
            // A client's message mid-route never breaks the route: line 1 gets a reply task
            // (or a stage waiting for the reply resumes) and the route goes on where it was.
            None if !viewer(user).is_staff() && ticket.status.is_open() => {
                let routed = self
                    .store
                    .routed_ticket(ticket.id)
                    .await?
                    .ok_or(DomainError::NotFound("ticket"))?;
                if route_state(&routed.route).is_some() {
                    self.advance_read(
                        ticket.id,
                        Some(routed),
                        Some(user.id),
                        None,
                        None,
                        |workflow, state| Ok(okno_workflow::client_replied(workflow, state)),
                    )
                    .await?;
                }
                None
            }
            None => None,
        };
        Ok(Posted { comment, outcome })
    }

    pub async fn comments(&self, user: &User, id: TicketId) -> Result<Vec<Comment>> {
        let ticket = self.ticket(user, id).await?;
        Ok(self
            .store
            .comments(ticket.id, viewer(user).sees_internal())
            .await?)
    }

    pub async fn history(&self, user: &User, id: TicketId) -> Result<Vec<HistoryEvent>> {
        let ticket = self.ticket(user, id).await?;
        Ok(self
            .store
            .history(ticket.id, viewer(user).sees_internal())
            .await?)
    }

    /// Tasks of a ticket: staff only; to a client they do not exist.
    pub async fn ticket_tasks(&self, user: &User, id: TicketId) -> Result<Vec<Task>> {
        if !viewer(user).sees_tasks() {
            return Err(DomainError::NotFound("ticket").into());
        }
        // Whoever sees every ticket sees the tasks of any ticket that has some: one read.
        if viewer(user).ticket_scope() == TicketScope::All {
            let tasks = self.store.tasks(id).await?;
            if tasks.is_empty() {
                // A ticket that is not there is not found, not empty.
                self.ticket(user, id).await?;
            }
            return Ok(tasks);
        }
        let ticket = self.ticket(user, id).await?;
        Ok(self.store.tasks(ticket.id).await?)
    }

    /// Stores an uploaded file on the ticket (or on one of its comments the user may see).
    pub async fn attach(
        &self,
        user: &User,
        id: TicketId,
        comment: Option<CommentId>,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Attachment> {
        self.check_upload(bytes)?;
        let ticket = self.ticket(user, id).await?;
        if let Some(comment) = comment {
            let visible = self
                .store
                .comments(ticket.id, viewer(user).sees_internal())
                .await?;
            if !visible.iter().any(|c| c.id == comment) {
                return Err(DomainError::NotFound("comment").into());
            }
        }
        let (file_name, content_type) = upload_names(file_name, content_type)?;
        let sha256 = self.files.put(bytes).await?;
        let attachment = NewAttachment {
            ticket_id: ticket.id,
            comment_id: comment,
            file_name,
            content_type,
            size: bytes.len() as i64,
            sha256,
            uploaded_by: user.id,
        };
        Ok(self.store.add_attachment(&attachment, self.now()).await?)
    }

    /// Refuses a file over the desk's attachment limit (tickets' and articles' alike).
    pub(crate) fn check_upload(&self, bytes: &[u8]) -> Result<()> {
        let limit = self.settings.attachment_limit;
        if bytes.len() as u64 > limit {
            return Err(DeskError::TooLarge {
                what: "the file",
                limit,
            });
        }
        Ok(())
    }

    pub async fn attachments(&self, user: &User, id: TicketId) -> Result<Vec<Attachment>> {
        let ticket = self.ticket(user, id).await?;
        Ok(self
            .store
            .attachments(ticket.id, viewer(user).sees_internal())
            .await?)
    }

    /// An attachment's record and bytes, if the user may see it.
    pub async fn attachment(
        &self,
        user: &User,
        id: TicketId,
        attachment: AttachmentId,
    ) -> Result<(Attachment, Vec<u8>)> {
        let found = self
            .attachments(user, id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment);
        let found = found.ok_or(DomainError::NotFound("attachment"))?;
        let bytes = self.files.get(&found.sha256).await?;
        Ok((found, bytes))
    }
}

fn latest_workflow<'a>(catalog: &'a okno_workflow::Catalog, code: &str) -> Result<&'a Workflow> {
    catalog.latest(code).ok_or_else(|| {
        DomainError::Conflict(format!(
            "the service's workflow \"{code}\" is not in the catalog"
        ))
        .into()
    })
}

/// An uploaded file's name and content type, checked (`file` / `content_type` errors).
pub(crate) fn upload_names(file_name: &str, content_type: &str) -> Result<(String, String)> {
    Ok((
        safe_file_name(file_name)?,
        parse_text("content_type", content_type, 200, false)?,
    ))
}

/// The last path component of an uploaded name, without control characters.
fn safe_file_name(name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = parse_text("file", &clean, 255, true)?;
    if clean == "." || clean == ".." {
        return Err(FieldError::new("file", "not a file name").into());
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn uploaded_names_lose_their_paths() {
        assert_eq!(safe_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(safe_file_name("C:\\tmp\\отчёт.pdf").unwrap(), "отчёт.pdf");
        assert_eq!(safe_file_name("a\u{0}b.txt").unwrap(), "ab.txt");
        assert!(safe_file_name("dir/").is_err());
        assert!(safe_file_name("..").is_err());
    }
}
