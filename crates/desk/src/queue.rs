//! The specialist's queue in priority order, and distribution (issue 5; seeds 003, 004).
//!
//! Priority rules (`priorities.toml`, [`okno_domain::priority`]) give every open task a
//! rank, stored on the task and indexed, so a queue page is a few index reads. A task's
//! rank is computed again whenever its ticket changes through the desk
//! ([`Desk::rerank_tickets`]); tasks created elsewhere (the jobs) start unranked and are
//! ranked before the next queue read ([`Desk::rank_pending`]).

use crate::tasks::TaskCard;
use crate::{Desk, DeskError, Result, viewer};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use okno_domain::policy::{self, Action, Actor};
use okno_domain::*;
use okno_store::{Candidate, QueueCursor, QueueQuery};

/// The rules file in a configuration directory.
pub const RULES_FILE: &str = "priorities.toml";

/// What a bulk assignment did: the tasks given to the chosen specialists, and those it
/// left as they were, each with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkAssignment {
    pub assigned: Vec<TaskId>,
    pub skipped: Vec<SkippedTask>,
}

/// A task a bulk assignment left alone, and why (Russian, then English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTask {
    pub task: TaskId,
    pub ticket: TicketId,
    pub reason: String,
}

impl SkippedTask {
    fn new(task: &Task, reason: String) -> Self {
        SkippedTask {
            task: task.id,
            ticket: task.ticket_id,
            reason,
        }
    }
}

/// A task in a queue: its card, its place and why, and whether its calendar runs now.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub card: TaskCard,
    pub cursor: QueueCursor,
    /// Why the task is where it is, e.g. `["critical", "due 14:30"]`.
    pub why: Vec<String>,
    /// The calendar the task is worked by is not running now (seed 003: shown greyed).
    pub idle: bool,
}

/// A specialist suggested for a ticket, best first.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub candidate: Candidate,
    /// The skills the ticket's service needs that the specialist lacks (empty: a match).
    pub missing_skills: Vec<String>,
    /// Works in the line of one of the ticket's open tasks.
    pub in_line: bool,
}

impl Suggestion {
    pub fn skills_match(&self) -> bool {
        self.missing_skills.is_empty()
    }
}

fn staff(user: &User, what: &'static str) -> Result<()> {
    if viewer(user).sees_tasks() {
        Ok(())
    } else {
        Err(DomainError::NotFound(what).into())
    }
}

impl Desk {
    /// The time zone the desk's days and explanations are told in: the default support
    /// level's calendar's.
    pub fn desk_zone(&self) -> TimeZone {
        self.sla_terms(None, None)
            .map(|t| t.calendar.time_zone().clone())
            .unwrap_or(TimeZone::UTC)
    }

    /// Ranks the open tasks of these tickets anew from their current data.
    pub async fn rerank_tickets(&self, tickets: &[TicketId]) -> Result<()> {
        let inputs = self.store.rank_inputs(tickets).await?;
        let ranks: Vec<_> = inputs
            .iter()
            .map(|(task, input)| (*task, self.priorities.rank(input)))
            .collect();
        if !ranks.is_empty() {
            self.store.set_ranks(&ranks).await?;
        }
        Ok(())
    }

    /// Ranks every open task still unranked; answers how many.
    pub async fn rank_pending(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let inputs = self.store.unranked_inputs(2000).await?;
            if inputs.is_empty() {
                return Ok(total);
            }
            total += inputs.len();
            let ranks: Vec<_> = inputs
                .iter()
                .map(|(task, input)| (*task, self.priorities.rank(input)))
                .collect();
            self.store.set_ranks(&ranks).await?;
        }
    }

    /// Ranks every open task anew (after the rules changed); answers how many.
    pub async fn rerank_all(&self) -> Result<usize> {
        self.rerank_all_with(&mut |_, _| {}).await
    }

    /// [`Desk::rerank_all`], telling `progress` `(done, total)` after every batch (`total`
    /// is the open tasks counted at the start).
    pub async fn rerank_all_with(
        &self,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<usize> {
        let open = usize::try_from(self.store.open_task_count().await?).unwrap_or(usize::MAX);
        let (mut after, mut total) = (None, 0);
        loop {
            let inputs = self.store.open_rank_inputs(after, 5000).await?;
            let Some((last, _)) = inputs.last() else {
                return Ok(total);
            };
            after = Some(*last);
            total += inputs.len();
            let ranks: Vec<_> = inputs
                .iter()
                .map(|(task, input)| (*task, self.priorities.rank(input)))
                .collect();
            self.store.set_ranks(&ranks).await?;
            progress(total, open.max(total));
        }
    }

    /// The user's work queue in priority order: own and co-assigned tasks and the unassigned
    /// tasks of the user's lines and pools, each with why it is there.
    pub async fn work_queue(
        &self,
        user: &User,
        after: Option<QueueCursor>,
        limit: u32,
    ) -> Result<Vec<QueueEntry>> {
        staff(user, "task")?;
        self.rank_pending().await?;
        let query = QueueQuery {
            user: user.id,
            lines: user.lines.clone(),
            pools: self.pools_of(user).await?,
            after,
            limit,
        };
        let items = self.store.queue(&query).await?;
        let catalog = self.catalog();
        let zone = self.desk_zone();
        let now = self.now();
        Ok(items
            .into_iter()
            .map(|item| {
                let idle = self.task_calendar_idle(
                    &item.task,
                    item.support_level.as_deref(),
                    item.calendar.as_deref(),
                    now,
                );
                let why = self
                    .priorities
                    .explain(&item.input, &user.locale, &zone, now);
                let cursor = QueueCursor::of(&item);
                QueueEntry {
                    card: crate::tasks::card(&catalog, item.task, &item.route, &user.locale),
                    cursor,
                    why,
                    idle,
                }
            })
            .collect())
    }

    /// Whether the calendar a task is worked by (its team's, else its ticket's under its
    /// support level) is not running at `now`.
    fn task_calendar_idle(
        &self,
        task: &Task,
        ticket_level: Option<&str>,
        ticket_calendar: Option<&str>,
        now: Timestamp,
    ) -> bool {
        let team = task
            .line
            .map(|l| format!("line-{}", l.get()))
            .or_else(|| task.pool.clone());
        let calendar = team
            .and_then(|t| self.sla().calendars.team_calendar(&t))
            .or_else(|| {
                self.sla_terms(ticket_level, ticket_calendar)
                    .ok()
                    .map(|t| t.calendar)
            });
        calendar.is_some_and(|c| !c.is_working(now))
    }

    /// Takes the top of the user's queue in one call: an own task is answered as it is, a
    /// pool task is taken (someone faster: the next one). `None`: the queue is empty.
    pub async fn take_next(&self, user: &User) -> Result<Option<QueueEntry>> {
        let entries = self.work_queue(user, None, 20).await?;
        for mut entry in entries {
            if entry.card.task.assignee_id == Some(user.id) {
                return Ok(Some(entry));
            }
            if entry.card.task.assignee_id.is_some() {
                // Co-assigned: it is someone else's to take.
                continue;
            }
            match self.take_task(user, entry.card.task.id).await {
                Ok(card) => {
                    entry.card = card;
                    return Ok(Some(entry));
                }
                Err(DeskError::Domain(DomainError::Conflict(_))) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// The client's URGENT mark: the requester (or anyone who sees the ticket's
    /// organization) or staff set it; the ticket's tasks move in their queues.
    pub async fn mark_urgent(&self, user: &User, ticket: TicketId, urgent: bool) -> Result<()> {
        let ticket = self.ticket(user, ticket).await?;
        self.store
            .set_ticket_urgent(ticket.id, urgent, Some(user.id), self.now())
            .await?;
        self.rerank_tickets(&[ticket.id]).await
    }

    /// A client's VIP flag (its contract's priority); managers and admins only.
    pub async fn set_client_vip(&self, user: &User, client: ClientId, vip: bool) -> Result<()> {
        crate::authorize(user, Action::ManageClients)?;
        self.store.set_client_vip(client, vip).await?;
        let tickets = self.store.open_tickets_of(Some(client), None).await?;
        self.rerank_tickets(&tickets).await
    }

    /// Marks a contact as the client's director: their tickets are always urgent.
    pub async fn set_director(&self, user: &User, contact: UserId, director: bool) -> Result<()> {
        crate::authorize(user, Action::ManageClients)?;
        self.store.set_user_director(contact, director).await?;
        let tickets = self.store.open_tickets_of(None, Some(contact)).await?;
        self.rerank_tickets(&tickets).await
    }

    /// Specialists for a ticket, best first: skills the service needs, then their priority
    /// for the service, then load (open tasks, minutes planned today).
    pub async fn suggest_specialists(
        &self,
        user: &User,
        ticket: TicketId,
    ) -> Result<Vec<Suggestion>> {
        staff(user, "ticket")?;
        let ticket = self.ticket(user, ticket).await?;
        let needed = self.store.service_skills(&ticket.service).await?;
        let lines: Vec<Line> = self
            .store
            .tasks(ticket.id)
            .await?
            .into_iter()
            .filter(|t| t.state == TaskState::Open)
            .filter_map(|t| t.line)
            .collect();
        let (from, until) = crate::planning::day_bounds(&self.desk_zone(), self.now());
        let mut list: Vec<Suggestion> = self
            .store
            .candidates(&ticket.service, from, until)
            .await?
            .into_iter()
            .map(|candidate| Suggestion {
                missing_skills: needed
                    .iter()
                    .filter(|s| !candidate.skills.contains(s))
                    .cloned()
                    .collect(),
                in_line: candidate.lines.iter().any(|l| lines.contains(l)),
                candidate,
            })
            .collect();
        list.sort_by_key(|s| {
            (
                !s.skills_match(),
                s.missing_skills.len(),
                !s.in_line,
                s.candidate.service_priority.unwrap_or(i32::MAX),
                s.candidate.open_tasks,
                s.candidate.planned_minutes,
                s.candidate.user,
            )
        });
        Ok(list)
    }

    /// Assigns one or many tickets to one or many specialists in one action (seed 003).
    /// Each open task goes only to the chosen specialists who may do it (its line or pool;
    /// managers and admins any): an unassigned one to the first of them, the others join as
    /// co-assignees. A task none of them may do (a manager's alert task, a line nobody
    /// chosen works in) is left as it is and named in [`BulkAssignment::skipped`].
    /// Managers and admins assign any ticket; a line lead the tasks waiting in the lines
    /// they work in, to the specialists of those lines.
    pub async fn assign_tickets(
        &self,
        user: &User,
        tickets: &[TicketId],
        specialists: &[UserId],
    ) -> Result<BulkAssignment> {
        let mut actor = Actor::person(user);
        let lead_of = if policy::allows(actor, Action::ReassignTasks) {
            None
        } else {
            actor.line_lead = self.store.is_line_lead(user.id).await?;
            policy::check(actor, Action::ReassignTasks)?;
            Some(user.lines.as_slice())
        };
        if tickets.is_empty() {
            return Err(FieldError::new("tickets", "name at least one ticket").into());
        }
        if specialists.is_empty() {
            return Err(FieldError::new("specialists", "name at least one specialist").into());
        }
        // Each chosen staff member with the pools they take tasks from.
        let mut chosen: Vec<(User, Vec<String>)> = Vec::with_capacity(specialists.len());
        for id in specialists {
            match self.store.user(*id).await? {
                Some(u) if u.role.is_staff() => {
                    if let Some(led) = lead_of
                        && !u.lines.iter().any(|l| led.contains(l))
                    {
                        return Err(FieldError::new(
                            "specialists",
                            format!("{} does not work in a line you lead", u.name),
                        )
                        .into());
                    }
                    if !chosen.iter().any(|(c, _)| c.id == u.id) {
                        let pools = self.pools_of(&u).await?;
                        chosen.push((u, pools));
                    }
                }
                _ => {
                    return Err(FieldError::new(
                        "specialists",
                        format!("no such staff member: {id}"),
                    )
                    .into());
                }
            }
        }
        let mut plan = Vec::new();
        let mut skipped = Vec::new();
        for ticket in tickets {
            self.ticket(user, *ticket)
                .await
                .map_err(|_| FieldError::new("tickets", format!("no such ticket: {ticket}")))?;
            let open: Vec<Task> = self
                .store
                .tasks(*ticket)
                .await?
                .into_iter()
                .filter(|t| t.state == TaskState::Open)
                .collect();
            if let Some(led) = lead_of
                && !open
                    .iter()
                    .any(|t| t.line.is_some_and(|l| led.contains(&l)))
            {
                return Err(FieldError::new(
                    "tickets",
                    format!("{ticket} has no open task in a line you lead"),
                )
                .into());
            }
            if open.is_empty() {
                return Err(DomainError::Conflict(format!(
                    "ticket {ticket} has no open task to assign"
                ))
                .into());
            }
            for task in open {
                if let Some(led) = lead_of
                    && !task.line.is_some_and(|l| led.contains(&l))
                {
                    skipped.push(SkippedTask::new(
                        &task,
                        format!(
                            "задача ждёт не в вашей линии ({place}) / the task waits outside the lines you lead ({place})",
                            place = task.place()
                        ),
                    ));
                    continue;
                }
                let able: Vec<UserId> = chosen
                    .iter()
                    .filter(|(u, pools)| task.workable_by(u.role, &u.lines, pools))
                    .map(|(u, _)| u.id)
                    .collect();
                if able.is_empty() {
                    skipped.push(SkippedTask::new(
                        &task,
                        format!(
                            "никто из выбранных не работает там, где ждёт задача ({place}) / none of the chosen works where the task waits ({place})",
                            place = task.place()
                        ),
                    ));
                    continue;
                }
                plan.push(okno_store::TaskAssignment {
                    ticket: task.ticket_id,
                    task: task.id,
                    specialists: able,
                });
            }
        }
        let assigned = self.store.assign_tasks(&plan, user.id, self.now()).await?;
        for step in plan.iter().filter(|p| !assigned.contains(&p.task)) {
            skipped.push(SkippedTask {
                task: step.task,
                ticket: step.ticket,
                reason: "задача уже закрыта / the task is no longer open".into(),
            });
        }
        Ok(BulkAssignment { assigned, skipped })
    }

    /// Makes a specialist a line lead (or not): they then assign the tickets of their lines.
    /// Managers and admins only.
    pub async fn set_line_lead(&self, user: &User, who: UserId, lead: bool) -> Result<()> {
        crate::authorize(user, Action::ManageTeam)?;
        match self.store.user(who).await? {
            Some(u) if u.role == Role::Specialist && !u.lines.is_empty() => {}
            Some(_) => {
                return Err(
                    FieldError::new("user", "a line lead is a specialist with a line").into(),
                );
            }
            None => return Err(DomainError::NotFound("user").into()),
        }
        Ok(self.store.set_line_lead(who, lead).await?)
    }

    /// A specialist's skills (distribution matches them against a service's).
    pub async fn set_skills(&self, user: &User, who: UserId, skills: &[String]) -> Result<()> {
        crate::authorize(user, Action::ManageTeam)?;
        Ok(self.store.set_user_skills(who, &clean(skills)).await?)
    }

    /// The skills a service needs.
    pub async fn set_service_skills(
        &self,
        user: &User,
        service: &str,
        skills: &[String],
    ) -> Result<()> {
        crate::authorize(user, Action::ManageTeam)?;
        if self.catalog().service(service).is_none() {
            return Err(FieldError::new("service", format!("unknown service {service:?}")).into());
        }
        Ok(self
            .store
            .set_service_skills(service, &clean(skills))
            .await?)
    }

    /// A specialist's priority for a service (1 first; `None` clears it).
    pub async fn set_specialist_priority(
        &self,
        user: &User,
        who: UserId,
        service: &str,
        priority: Option<i32>,
        comment: &str,
    ) -> Result<()> {
        crate::authorize(user, Action::ManageTeam)?;
        if priority.is_some_and(|p| !(1..=99).contains(&p)) {
            return Err(FieldError::new("priority", "a priority is 1 (first) to 99").into());
        }
        Ok(self
            .store
            .set_specialist_priority(who, service, priority, comment.trim())
            .await?)
    }
}

fn clean(skills: &[String]) -> Vec<String> {
    let mut out: Vec<String> = skills
        .iter()
        .map(|s| s.trim().to_lowercase().replace(',', " "))
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}
