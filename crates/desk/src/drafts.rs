//! A draft changed after it was saved (issue 8): its author opens it again, changes the
//! subject and description, and saves it again or sends it ([`Desk::submit_draft`]).

use crate::{Desk, Result};
use okno_domain::*;

impl Desk {
    /// Changes a saved draft's subject and description: only its author, only while it is
    /// a draft. The fields are checked like a new ticket's (errors name `subject` or
    /// `description`).
    pub async fn update_draft(
        &self,
        user: &User,
        id: TicketId,
        subject: &str,
        description: &str,
    ) -> Result<Ticket> {
        let ticket = self.ticket(user, id).await?;
        if ticket.requester_id != user.id {
            return Err(DomainError::Forbidden("only the author edits a draft".into()).into());
        }
        if ticket.status != TicketStatus::Draft {
            return Err(DomainError::Conflict("the ticket is not a draft".into()).into());
        }
        let subject = parse_text("subject", subject, SUBJECT_MAX_CHARS, true)?;
        let description = parse_text("description", description, BODY_MAX_CHARS, false)?;
        self.store
            .update_draft(ticket.id, user.id, &subject, &description, self.now())
            .await?
            // Sent (or gone) meanwhile, in another tab.
            .ok_or_else(|| DomainError::Conflict("the ticket is not a draft".into()).into())
    }
}
