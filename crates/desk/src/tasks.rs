//! Tasks: the specialist's side of a ticket. A work queue in the order to take it, each task
//! with its stage's help and allowed outcomes; take, complete, reassign, transfer to another
//! line, co-assignees and watchers. Clients never see any of it: to them tasks do not exist.

use crate::{Desk, Result};
use okno_domain::*;
use okno_store::{QueueCursor, TaskCompletion};
use okno_workflow::engine::{DONE, REOPENED_TASK, REPLY_TASK};
use okno_workflow::{Catalog, RouteState};

/// The pool every manager (and admin) belongs to without being listed in it, and the kind
/// of the tasks the deadline watch raises there.
pub use okno_store::{ALERT_TASK, MANAGER_POOL};

/// A task with what its stage says about it, in the reader's language.
#[derive(Debug, Clone)]
pub struct TaskCard {
    pub task: Task,
    /// The title in the reader's language.
    pub title: String,
    /// How to do the work (Markdown), from the stage or the task template.
    pub instructions: Option<String>,
    /// The outcome codes the task may end with (`["done"]` for one way forward).
    pub outcomes: Vec<String>,
}

/// Outcomes, title and instructions of a task, from the workflow version its ticket runs on.
pub(crate) fn card(catalog: &Catalog, task: Task, route: &str, locale: &str) -> TaskCard {
    let state: Option<RouteState> = crate::route::route_state(route);
    let workflow = state.as_ref().and_then(|s| catalog.workflow_of(s).ok());
    let stage = task.stage.as_deref().unwrap_or_default();
    let template = workflow
        .and_then(|w| w.stage(stage))
        .and_then(|s| s.task(&task.kind).map(|t| (s, t)));
    let (title, instructions, outcomes) = match (template, workflow) {
        (Some((stage, template)), _) => (
            Some(template.title.get(locale).to_owned()),
            template
                .instructions
                .as_ref()
                .or(stage.instructions.as_ref())
                .map(|t| t.get(locale).to_owned()),
            template.outcomes.iter().map(|o| o.code.clone()).collect(),
        ),
        (None, Some(workflow)) if task.kind == REOPENED_TASK => {
            let reopened = okno_workflow::reopened_task(workflow);
            (
                Some(reopened.title.get(locale).to_owned()),
                reopened.instructions.map(|t| t.get(locale).to_owned()),
                reopened.outcomes,
            )
        }
        (None, Some(workflow)) if task.kind == REPLY_TASK => {
            let reply = okno_workflow::reply_task(workflow, stage.to_owned());
            (
                Some(reply.title.get(locale).to_owned()),
                reply.instructions.map(|t| t.get(locale).to_owned()),
                reply.outcomes,
            )
        }
        _ => (None, None, vec![DONE.to_owned()]),
    };
    TaskCard {
        title: title.unwrap_or_else(|| task.title_in(locale).to_owned()),
        instructions,
        outcomes,
        task,
    }
}

impl Desk {
    /// To a client, tasks do not exist: every task call answers "not found".
    fn staff_only(&self, user: &User) -> Result<()> {
        if okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
            Ok(())
        } else {
            Err(DomainError::NotFound("task").into())
        }
    }

    /// The role pools the user takes tasks from.
    pub async fn pools_of(&self, user: &User) -> Result<Vec<String>> {
        let mut pools = self.store.user_pools(user.id).await?;
        if matches!(user.role, Role::Manager | Role::Admin)
            && !pools.iter().any(|p| p == MANAGER_POOL)
        {
            pools.push(MANAGER_POOL.to_owned());
        }
        Ok(pools)
    }

    /// Whether the user may work on the task: it is theirs, or it waits in one of their
    /// lines or pools; managers and admins may work on any.
    async fn may_work(&self, user: &User, task: &Task) -> Result<bool> {
        if okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReassignTasks)
            || task.assignee_id == Some(user.id)
        {
            return Ok(true);
        }
        if task.assignee_id.is_some() {
            return Ok(self.store.coassignees(task.id).await?.contains(&user.id));
        }
        if task.line.is_some_and(|l| user.lines.contains(&l)) {
            return Ok(true);
        }
        Ok(match &task.pool {
            Some(pool) => self.pools_of(user).await?.contains(pool),
            None => false,
        })
    }

    async fn open_task(&self, user: &User, id: TaskId) -> Result<Task> {
        self.staff_only(user)?;
        let task = self
            .store
            .task(id)
            .await?
            .ok_or(DomainError::NotFound("task"))?;
        // A vendor's login reaches the tasks of the tickets handed to it only.
        let scope = crate::viewer(user).ticket_scope();
        if scope != TicketScope::All && self.store.ticket(scope, task.ticket_id).await?.is_none() {
            return Err(DomainError::NotFound("task").into());
        }
        Ok(task)
    }

    async fn workable_task(&self, user: &User, id: TaskId) -> Result<Task> {
        let task = self.open_task(user, id).await?;
        if !self.may_work(user, &task).await? {
            return Err(DomainError::Forbidden(
                "this task waits in a line or pool you do not work in".into(),
            )
            .into());
        }
        Ok(task)
    }

    async fn card_of(&self, user: &User, task: Task) -> Result<TaskCard> {
        let route = self
            .store
            .routed_ticket(task.ticket_id)
            .await?
            .map(|routed| routed.route)
            .unwrap_or_default();
        Ok(card(&self.catalog(), task, &route, &user.locale))
    }

    /// The user's work queue: own tasks and the unassigned tasks of the user's lines and
    /// pools, in priority order ("never think what to do next, take the top one"); see
    /// [`Desk::work_queue`] for the explanation of each place.
    pub async fn queue(
        &self,
        user: &User,
        after: Option<QueueCursor>,
        limit: u32,
    ) -> Result<Vec<TaskCard>> {
        Ok(self
            .work_queue(user, after, limit)
            .await?
            .into_iter()
            .map(|entry| entry.card)
            .collect())
    }

    /// A task with its help, for staff.
    pub async fn task(&self, user: &User, id: TaskId) -> Result<TaskCard> {
        let task = self.open_task(user, id).await?;
        self.card_of(user, task).await
    }

    /// Takes a pool task: from then on it is the user's alone. Two taking at once: one
    /// wins, the other gets a conflict.
    pub async fn take_task(&self, user: &User, id: TaskId) -> Result<TaskCard> {
        // A task someone has taken is a conflict for everyone; the store says so.
        let task = self.open_task(user, id).await?;
        if task.assignee_id.is_none() && !self.may_work(user, &task).await? {
            return Err(DomainError::Forbidden(
                "this task waits in a line or pool you do not work in".into(),
            )
            .into());
        }
        let taken = self.store.take_task(task.id, user.id, self.now()).await?;
        self.card_of(user, taken).await
    }

    /// Completes a task with an outcome its stage allows, and moves the route on. An
    /// unassigned task in the user's line or pool is taken on the way; someone else's task
    /// is a conflict. `comment` becomes the task's summary (carried into the next task when
    /// the workflow says so).
    pub async fn complete_task(
        &self,
        user: &User,
        id: TaskId,
        outcome: &str,
        comment: Option<&str>,
    ) -> Result<Ticket> {
        self.staff_only(user)?;
        let (task, routed) = self
            .store
            .routed_task(id)
            .await?
            .ok_or(DomainError::NotFound("task"))?;
        if task.state != TaskState::Open {
            return Err(
                DomainError::Conflict(format!("the task is already {}", task.state)).into(),
            );
        }
        if let Some(assignee) = task.assignee_id.filter(|a| *a != user.id) {
            let name = self
                .store
                .user(assignee)
                .await?
                .map_or_else(|| assignee.to_string(), |u| u.name);
            return Err(DomainError::Conflict(format!(
                "the task is assigned to {name}; only the assignee completes it"
            ))
            .into());
        }
        if !self.may_work(user, &task).await? {
            return Err(DomainError::Conflict(
                "the task waits in a line or pool you do not work in; it is not yours to complete"
                    .into(),
            )
            .into());
        }
        // An alert task (deadline watch) stands outside any route: done resolves its alert.
        if task.kind == ALERT_TASK && task.stage.is_none() {
            if outcome.trim() != "done" {
                return Err(DomainError::Conflict(format!(
                    "outcome {:?} is not allowed here; allowed: done",
                    outcome.trim()
                ))
                .into());
            }
            self.store
                .finish_alert_task(task.id, user.id, self.now())
                .await?;
            return self.ticket(user, task.ticket_id).await;
        }
        let summary = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(parse_text("comment", c, BODY_MAX_CHARS, false)?),
            None => None,
        };
        let carried = summary.clone().or_else(|| task.summary.clone());
        let outcome = outcome.trim().to_owned();
        let completion = TaskCompletion {
            task: task.id,
            by: user.id,
            outcome: outcome.clone(),
            summary,
        };
        let kind = task.kind.clone();
        self.advance_read(
            task.ticket_id,
            Some(routed),
            Some(user.id),
            Some(completion),
            carried.as_deref(),
            move |workflow, state| okno_workflow::complete_task(workflow, state, &kind, &outcome),
        )
        .await
    }

    /// Gives an open task to another staff member.
    pub async fn reassign_task(&self, user: &User, id: TaskId, to: UserId) -> Result<TaskCard> {
        let task = self.workable_task(user, id).await?;
        self.staff_member(to, "assignee").await?;
        let task = self
            .store
            .reassign_task(task.id, to, user.id, self.now())
            .await?;
        self.card_of(user, task).await
    }

    /// Transfers a task to another line's pool (the ticket action "transfer"), with a reason
    /// kept in the ticket's history.
    pub async fn transfer_task(
        &self,
        user: &User,
        id: TaskId,
        line: u8,
        reason: &str,
    ) -> Result<TaskCard> {
        let task = self.workable_task(user, id).await?;
        let line = Line::new(line)?;
        let reason = parse_text("reason", reason, 1000, true)?;
        let task = self
            .store
            .transfer_task(task.id, line, &reason, user.id, self.now())
            .await?;
        // Another line, another rule.
        self.rerank_tickets(&[task.ticket_id]).await?;
        self.card_of(user, task).await
    }

    /// Adds a co-assignee: the task shows in their queue too.
    pub async fn add_coassignee(&self, user: &User, id: TaskId, who: UserId) -> Result<()> {
        let task = self.workable_task(user, id).await?;
        self.staff_member(who, "user").await?;
        Ok(self
            .store
            .add_coassignee(task.id, who, user.id, self.now())
            .await?)
    }

    /// Adds a watcher to a ticket: the user themselves, or (staff only) someone else.
    pub async fn watch(&self, user: &User, ticket: TicketId, who: Option<UserId>) -> Result<()> {
        let ticket = self.ticket(user, ticket).await?;
        let who = who.unwrap_or(user.id);
        if who != user.id {
            if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::WorkTasks) {
                return Err(DomainError::Forbidden("clients add only themselves".into()).into());
            }
            self.store
                .user(who)
                .await?
                .ok_or_else(|| FieldError::new("user", "no such user"))?;
        }
        Ok(self
            .store
            .add_watcher(ticket.id, who, user.id, self.now())
            .await?)
    }

    async fn staff_member(&self, id: UserId, field: &'static str) -> Result<User> {
        match self.store.user(id).await? {
            Some(u) if u.role.is_staff() => Ok(u),
            _ => Err(FieldError::new(field, "no such staff member").into()),
        }
    }
}
