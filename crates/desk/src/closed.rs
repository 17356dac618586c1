//! A client's message on a closed ticket always reaches a person, whichever channel it came
//! by (the portal's comment form, `POST /api/v1/tickets/{id}/comments`, a reply by mail).
//!
//! The rule is [`okno_domain::notice::reply_to_closed`]: within [`Settings::reopen_within`]
//! (14 days by default) of closing, the ticket reopens — status in progress, a `reopened`
//! task for the workflow's reply line with the message on the ticket, the client told by
//! the desk's public message and a "reopened" mail. Later, the message stays on the closed
//! ticket and opens a new ticket that names the old one; the client is told its number on
//! the old ticket (and by mail), and the new ticket is accepted like any other.
//!
//! [`Settings::reopen_within`]: crate::Settings::reopen_within

use crate::{Desk, Result};
use jiff::Timestamp;
use okno_domain::notice::{ClosedReply, reply_to_closed};
use okno_domain::*;
use okno_store::{ChangeStep, TicketChange};

/// What a client's message on a closed ticket came to.
#[derive(Debug, Clone)]
pub enum ClosedOutcome {
    /// The ticket is under way again.
    Reopened(Ticket),
    /// The message opened this new ticket, linked to the closed one.
    FollowUp(Ticket),
}

/// How often a change on the closed ticket is tried again when another lands first.
const ATTEMPTS: usize = 8;

impl Desk {
    /// When the ticket last became closed (its status history), if it did.
    pub async fn closed_at(&self, ticket: TicketId) -> Result<Option<Timestamp>> {
        let history = self.store.history(ticket, true).await?;
        Ok(history
            .iter()
            .rev()
            .find(|h| h.kind == "status" && h.after.as_deref() == Some("closed"))
            .map(|h| h.at))
    }

    /// What the rule makes of a client's message on `ticket` now: `None` when the ticket
    /// is not closed (the route takes the message as usual).
    pub(crate) async fn closed_reply(&self, ticket: &Ticket) -> Result<Option<ClosedReply>> {
        if ticket.status != TicketStatus::Closed {
            return Ok(None);
        }
        let closed_at = self.closed_at(ticket.id).await?;
        let routed = self
            .store
            .routed_ticket(ticket.id)
            .await?
            .and_then(|r| crate::route::route_state(&r.route));
        // A ticket with no route to follow again (imported, say) continues as a new one.
        if routed.is_none() {
            return Ok(Some(ClosedReply::FollowUp));
        }
        Ok(Some(reply_to_closed(
            closed_at,
            self.now(),
            self.settings.reopen_within,
        )))
    }

    /// Reopens a closed ticket for a client's message (`prefix`: the steps taking the
    /// message in, written in the same change).
    pub(crate) async fn reopen_for(
        &self,
        ticket: TicketId,
        author: &User,
        prefix: Vec<ChangeStep>,
    ) -> Result<Ticket> {
        let (reopened, actions) = self
            .advance_once(
                ticket,
                None,
                Some(author.id),
                None,
                None,
                None,
                prefix,
                &|workflow, state| Ok(okno_workflow::reopen(workflow, state)),
            )
            .await?;
        self.run_actions(reopened, actions).await
    }

    /// Opens the new ticket a late message on closed `old` becomes, and tells the client
    /// on the old ticket which one it is.
    pub(crate) async fn follow_up(
        &self,
        old: &Ticket,
        author: &User,
        body: &str,
    ) -> Result<Ticket> {
        let ru = !author.locale.starts_with("en");
        let description = if ru {
            format!(
                "{body}\n\n(Продолжение закрытого обращения {})",
                old.number()
            )
        } else {
            format!("{body}\n\n(Follows up closed request {})", old.number())
        };
        let input = crate::tickets::TicketInput {
            service: old.service.clone(),
            subject: old.subject.clone(),
            description: description.chars().take(BODY_MAX_CHARS).collect(),
            client: None,
            draft: false,
            requester: None,
        };
        let new = self.open_ticket(author, input).await?;
        let days = self.settings.reopen_within.as_hours() / 24;
        let message = if ru {
            format!(
                "Обращение было закрыто более {days} дн. назад, поэтому ваше сообщение \
                 зарегистрировано как новое обращение {}. Ответ придёт в нём.",
                new.number()
            )
        } else {
            format!(
                "This request was closed more than {days} days ago, so your message is \
                 registered as a new request, {}. We will answer there.",
                new.number()
            )
        };
        let steps = vec![
            ChangeStep::PublicMessage(message),
            ChangeStep::Event {
                kind: "follow_up".into(),
                detail: new.number().to_string(),
                public: false,
            },
        ];
        self.write_steps(old.id, author, steps).await?;
        let link = ChangeStep::Event {
            kind: "follow_up_of".into(),
            detail: old.number().to_string(),
            public: false,
        };
        self.write_steps(new.id, author, vec![link]).await?;
        Ok(new)
    }

    /// A change of `steps` alone on a ticket, guarded by its route state as read and read
    /// again when another change lands first.
    pub(crate) async fn write_steps(
        &self,
        id: TicketId,
        author: &User,
        steps: Vec<ChangeStep>,
    ) -> Result<()> {
        for _ in 0..ATTEMPTS {
            let route = match self.store.routed_ticket(id).await? {
                Some(routed) => routed.route,
                None => return Err(DomainError::NotFound("ticket").into()),
            };
            let change = TicketChange {
                actor: Some(author.id),
                at: self.now(),
                from_route: route.clone(),
                route,
                complete: None,
                steps: steps.clone(),
                next_step_at: None,
                rank: Some(self.priorities.clone()),
            };
            if self.store.apply_change(id, &change).await?.is_some() {
                return Ok(());
            }
        }
        Err(DomainError::Conflict("the ticket is changing right now; try again".into()).into())
    }
}
