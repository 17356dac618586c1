//! What the workplaces need beyond tickets and tasks (issue 19): a person's own settings —
//! the time zone their pages show times in (their own choice first; else, for a client
//! contact, the zone of the client's calendar; else none: the page then takes the
//! browser's zone, or the firm's) — and the ticket lines beside the queue's tasks.

use crate::{Desk, Result};
use jiff::tz::TimeZone;
use okno_domain::{DomainError, FieldError, Role, Task, TicketId, User};
use okno_store::TicketBrief;
use std::collections::HashMap;

/// The longest IANA zone name taken (the longest real one is 32 characters).
const ZONE_MAX: usize = 64;

/// The preferences' use cases, over the desk.
pub struct Preferences<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn preferences(&self) -> Preferences<'_> {
        Preferences { desk: self }
    }
}

impl Preferences<'_> {
    /// The zone the person chose, if any (as its IANA name).
    pub async fn chosen_zone(&self, user: &User) -> Result<Option<String>> {
        Ok(self.desk.store.user_time_zone(user.id).await?)
    }

    /// The zone the person's pages show times in, when the desk knows one: their choice,
    /// else a client contact's calendar zone.
    pub async fn zone(&self, user: &User) -> Result<Option<TimeZone>> {
        if let Some(zone) = self
            .chosen_zone(user)
            .await?
            .and_then(|name| TimeZone::get(&name).ok())
        {
            return Ok(Some(zone));
        }
        match (user.role, user.client_id) {
            (Role::Client, Some(client)) => {
                let calendar = self.desk.store.client_calendar(client).await?;
                Ok(self
                    .desk
                    .sla_terms(None, calendar.as_deref())
                    .ok()
                    .map(|terms| terms.calendar.time_zone().clone()))
            }
            _ => Ok(None),
        }
    }

    /// Sets the person's zone (an IANA name); an empty name returns to the default.
    pub async fn set_zone(&self, user: &User, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            self.desk.store.set_user_time_zone(user.id, None).await?;
            return Ok(());
        }
        if name.len() > ZONE_MAX || TimeZone::get(name).is_err() {
            return Err(FieldError::new("time_zone", "not an IANA time zone").into());
        }
        self.desk
            .store
            .set_user_time_zone(user.id, Some(name))
            .await?;
        Ok(())
    }
}

impl Desk {
    /// Subject and client of the tickets behind a queue page's tasks (staff only: the
    /// queue is theirs), by ticket.
    pub async fn queue_briefs(
        &self,
        user: &User,
        tickets: &[TicketId],
    ) -> Result<HashMap<TicketId, TicketBrief>> {
        if !user.role.is_staff() {
            return Err(DomainError::NotFound("task").into());
        }
        let mut ids = tickets.to_vec();
        ids.sort_unstable_by_key(|t| t.0);
        ids.dedup();
        let briefs = self.store.ticket_briefs(&ids).await?;
        Ok(briefs.into_iter().map(|b| (b.id, b)).collect())
    }
}

impl Desk {
    /// The ticket's tasks with their titles from the workflow in the reader's language
    /// (`user.locale`); the stored title is the desk's language at the time they were made.
    pub async fn tasks_in_language(
        &self,
        user: &User,
        ticket: TicketId,
        tasks: Vec<Task>,
    ) -> Result<Vec<Task>> {
        if tasks.is_empty() {
            return Ok(tasks);
        }
        let route = self
            .store
            .routed_ticket(ticket)
            .await?
            .map(|routed| routed.route)
            .unwrap_or_default();
        let catalog = self.catalog();
        Ok(tasks
            .into_iter()
            .map(|task| {
                let card = crate::tasks::card(&catalog, task, &route, &user.locale);
                Task {
                    title: card.title,
                    ..card.task
                }
            })
            .collect())
    }
}
