//! Running routes: engine steps become store changes.
//!
//! Every event on a route (ticket opened, task completed, automatic step finished, client
//! wrote or decided) goes the same way: read the ticket's route state, let the pure engine
//! compute the [`Step`], translate its effects into one [`TicketChange`] (deadlines, texts,
//! addressees resolved here), and apply it in one transaction guarded by the state it was
//! computed from. If another change landed first, the step is computed again from the fresh
//! state. Automatic actions run after the change is committed and feed their outcome back.

use crate::{Desk, DeskError, Result};
use jiff::Timestamp;
use okno_domain::*;
use okno_store::{ChangeStep, RoutedTicket, TaskCompletion, TicketChange};
use okno_workflow::{Addressee, Effect, EngineError, Norm, RouteState, Status, Step, Workflow};
use std::collections::BTreeMap;

/// How often a step is recomputed when concurrent changes keep landing first.
const ATTEMPTS: usize = 8;
/// Automatic steps one event may run in a row (a route of only automatic stages must end).
const MAX_ACTIONS: usize = 16;

/// An automatic action the route asks for.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub name: String,
    pub params: BTreeMap<String, String>,
}

/// What an automatic action gave back.
struct ActionResult {
    outcome: &'static str,
    /// `{result}` in the outcome's public message.
    result: Option<String>,
    /// Kept in the ticket's history (internal).
    event: (&'static str, String),
}

/// The facts a step's translation needs besides the effects.
pub(crate) struct StepContext<'a> {
    /// The language of the client's messages.
    pub locale: &'a str,
    pub classification: Option<Classification>,
    /// The summary a `carry_summary` task inherits.
    pub carried: Option<&'a str>,
    /// `{result}` of an automatic action.
    pub result: Option<&'a str>,
    /// The calendar the ticket's deadlines count in (the ticket's or its client's), if set.
    pub calendar: Option<&'a str>,
    /// The support level the ticket was registered with (`None`: the default level).
    pub level: Option<&'a str>,
    /// The ticket's stages and statuses so far, when the step takes it back from waiting
    /// on the client: a stage it worked before the wait keeps its clock
    /// ([`crate::deadlines::clock_origin`]).
    pub history: Option<&'a okno_store::TicketTimeline>,
    /// The next-step date the client was last promised (`None`: none yet).
    pub promised: Option<Timestamp>,
}

pub(crate) fn route_state(text: &str) -> Option<RouteState> {
    serde_json::from_str(text).ok()
}

pub(crate) fn route_text(state: &RouteState) -> String {
    serde_json::to_string(state).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn engine_error(error: EngineError) -> DeskError {
    DomainError::Conflict(error.to_string()).into()
}

fn ticket_status(status: Status) -> TicketStatus {
    TicketStatus::parse(status.as_str()).unwrap_or(TicketStatus::InProgress)
}

impl Desk {
    /// The terms a ticket's deadlines follow: the support level it was registered with
    /// (its contract's at registration, so a contract changed afterwards does not rewrite its
    /// promises) counted in its calendar (the ticket's, else its client's, else the
    /// level's).
    pub(crate) fn ticket_terms(
        &self,
        level: Option<&str>,
        calendar: Option<&str>,
    ) -> Option<crate::deadlines::SlaTerms<'_>> {
        crate::deadlines::SlaTerms::resolve(self.sla(), level, calendar)
    }

    /// The deadline of a task with `norm`, counted from `from` under the ticket's `level`
    /// and `calendar` and pushed back by the client's `waits` since `from`: the promised
    /// instant (the ticket's next-step date, in the client's calendar) and the internal one
    /// (the task's `due_at`, in the calendar of the team doing the work when it has its
    /// own).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn due_for(
        &self,
        norm: Norm,
        classification: Option<Classification>,
        stage: &str,
        level: Option<&str>,
        calendar: Option<&str>,
        team: Option<&str>,
        from: Timestamp,
        waits: &[(Timestamp, Timestamp)],
    ) -> Option<okno_sla::Deadline> {
        let sla = self.sla();
        let terms = self.ticket_terms(level, calendar)?;
        let due = crate::deadlines::task_due(&terms, classification, Some(stage), norm, from)?;
        let (due, team_calendar) = match team.and_then(|t| sla.calendars.team_calendar(t)) {
            Some(team_calendar) => (
                crate::deadlines::count_in_team(due, terms.calendar, team_calendar, from),
                team_calendar,
            ),
            None => (due, terms.calendar),
        };
        let waits: Vec<_> = waits.iter().copied().filter(|&(w, _)| w >= from).collect();
        Some(okno_sla::Deadline {
            promised: crate::deadlines::after_waits(terms.calendar, due.promised, &waits),
            internal: crate::deadlines::after_waits(team_calendar, due.internal, &waits),
        })
    }

    /// An instant as the client reads it: in the time zone of the calendar the ticket's
    /// deadlines count in (a Novosibirsk client reads Novosibirsk time).
    fn client_time(
        &self,
        at: Timestamp,
        level: Option<&str>,
        calendar: Option<&str>,
        locale: &str,
    ) -> String {
        let zone = self
            .ticket_terms(level, calendar)
            .map(|terms| terms.calendar.time_zone().clone())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        crate::deadlines::format_instant(at, &zone, locale)
    }

    /// Translates an engine step into a store change and the actions to run afterwards.
    pub(crate) async fn plan(
        &self,
        from_route: String,
        step: &Step,
        context: &StepContext<'_>,
        at: Timestamp,
    ) -> Result<(TicketChange, Vec<Action>)> {
        let mut classification = context.classification;
        let mut steps = Vec::with_capacity(step.effects.len());
        let mut actions = Vec::new();
        let mut next_step: Option<Option<Timestamp>> = None;
        let mut messages = Vec::new();
        for effect in &step.effects {
            match effect {
                Effect::EnterStage { stage } => steps.push(ChangeStep::EnterStage(stage.clone())),
                Effect::SetStatus { status, .. } => {
                    steps.push(ChangeStep::SetStatus(ticket_status(*status)));
                    if matches!(status, Status::WaitingClient | Status::Closed) {
                        next_step = Some(None);
                    }
                }
                Effect::SetClassification { classification: c } => {
                    if let Some(c) = Classification::parse(c) {
                        classification = Some(c);
                        steps.push(ChangeStep::SetClassification(c));
                    }
                }
                Effect::PublicMessage { text } => {
                    messages.push(steps.len());
                    steps.push(ChangeStep::PublicMessage(
                        text.get(context.locale).to_owned(),
                    ));
                }
                Effect::CreateTask(task) => {
                    let (line, pool, assignee_id) = self.addressee(&task.addressee).await?;
                    let team = match (line, &pool) {
                        (Some(line), _) => Some(format!("line-{}", line.get())),
                        (None, Some(pool)) => Some(pool.clone()),
                        (None, None) => None,
                    };
                    let (from, waits) = match context.history {
                        Some(history) => crate::deadlines::clock_origin(
                            &history.stages,
                            &history.statuses,
                            &task.stage,
                            at,
                        ),
                        None => (at, Vec::new()),
                    };
                    let due = self.due_for(
                        task.norm,
                        classification,
                        &task.stage,
                        context.level,
                        context.calendar,
                        team.as_deref(),
                        from,
                        &waits,
                    );
                    // The reply a client's message asks for is side work under the promise
                    // the ticket has: it does not change what the client was told.
                    if task.kind != okno_workflow::engine::REPLY_TASK {
                        let promised = due.map(|d| d.promised);
                        next_step = Some(match next_step.flatten() {
                            Some(earlier) => Some(promised.map_or(earlier, |p| p.min(earlier))),
                            None => promised,
                        });
                    }
                    let row = okno_store::NewTask {
                        kind: task.kind.clone(),
                        title: Bilingual::new(&task.title.ru, &task.title.en).to_stored(),
                        line,
                        pool,
                        assignee_id,
                        due_at: due.map(|d| d.internal),
                        priority: task.priority.weight(),
                        stage: Some(task.stage.clone()),
                    };
                    let summary = task
                        .carry_summary
                        .then(|| context.carried.map(str::to_owned))
                        .flatten();
                    steps.push(ChangeStep::CreateTask(row, summary));
                }
                Effect::CancelTask { kind, stage } => steps.push(ChangeStep::CancelTask {
                    kind: kind.clone(),
                    stage: stage.clone(),
                }),
                Effect::RunAction { action, params } => actions.push(Action {
                    name: action.clone(),
                    params: params.clone(),
                }),
                Effect::CloseTicket => {
                    steps.push(ChangeStep::Close);
                    next_step = Some(None);
                }
            }
        }
        // `{due}` is the promised date of this step's tasks; `{result}` the action's output.
        let due_text = next_step.flatten().map_or_else(
            || "—".to_owned(),
            |due| self.client_time(due, context.level, context.calendar, context.locale),
        );
        // A new promise is told to the client: in this step's own message when it names
        // `{due}`, else in a message of the desk's, so the ticket's next-step date and the
        // latest public promise never disagree.
        let told = messages.iter().any(|&index| {
            matches!(&steps[index], ChangeStep::PublicMessage(text) if text.contains("{due}"))
        });
        if let Some(Some(due)) = next_step
            && context.promised != Some(due)
            && !told
        {
            steps.push(ChangeStep::PublicMessage(
                crate::deadlines::next_step_message(&due_text, context.locale),
            ));
        }
        for index in messages {
            if let ChangeStep::PublicMessage(text) = &mut steps[index] {
                *text = text
                    .replace("{due}", &due_text)
                    .replace("{result}", context.result.unwrap_or_default());
            }
        }
        let change = TicketChange {
            actor: None,
            at,
            from_route,
            route: route_text(&step.state),
            complete: None,
            steps,
            next_step_at: next_step,
            rank: Some(self.priorities.clone()),
        };
        Ok((change, actions))
    }

    /// Line, pool and assignee of a task for `addressee`. A person unknown to the desk
    /// leaves the task to line 1, so it is never lost.
    async fn addressee(
        &self,
        addressee: &Addressee,
    ) -> Result<(Option<Line>, Option<String>, Option<UserId>)> {
        Ok(match addressee {
            Addressee::Line(n) => (Line::new(*n).ok(), None, None),
            Addressee::Pool(pool) => (None, Some(pool.clone()), None),
            Addressee::Person(email) => {
                let found = match Email::parse(email) {
                    Ok(email) => self.store.user_by_email(&email).await?,
                    Err(_) => None,
                };
                match found {
                    Some((user, _)) if user.role.is_staff() => (None, None, Some(user.id)),
                    _ => {
                        tracing::warn!(%email, "a task's person is not on the staff; it goes to line 1");
                        (Line::new(1).ok(), None, None)
                    }
                }
            }
        })
    }

    /// Runs one event on a ticket's route: `event` computes the engine step from the
    /// current workflow and state; `complete` finishes a task row in the same transaction;
    /// `prefix` steps go before the engine's. Then runs the automatic actions that follow.
    pub(crate) async fn advance<F>(
        &self,
        id: TicketId,
        actor: Option<UserId>,
        complete: Option<TaskCompletion>,
        carried: Option<&str>,
        event: F,
    ) -> Result<Ticket>
    where
        F: Fn(&Workflow, &RouteState) -> std::result::Result<Step, EngineError>,
    {
        self.advance_read(id, None, actor, complete, carried, event)
            .await
    }

    /// [`Desk::advance`] from a ticket the caller has just read (one read less; a ticket
    /// that changed since is read again).
    pub(crate) async fn advance_read<F>(
        &self,
        id: TicketId,
        read: Option<RoutedTicket>,
        actor: Option<UserId>,
        complete: Option<TaskCompletion>,
        carried: Option<&str>,
        event: F,
    ) -> Result<Ticket>
    where
        F: Fn(&Workflow, &RouteState) -> std::result::Result<Step, EngineError>,
    {
        let (ticket, actions) = self
            .advance_once(id, read, actor, complete, carried, None, Vec::new(), &event)
            .await?;
        self.run_actions(ticket, actions).await
    }

    /// One event on the route, with `prefix` steps written in the same change (a mail
    /// reply's comment, say); the automatic actions it asks for are returned, not run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn advance_once<F>(
        &self,
        id: TicketId,
        mut read: Option<RoutedTicket>,
        actor: Option<UserId>,
        complete: Option<TaskCompletion>,
        carried: Option<&str>,
        result: Option<&str>,
        prefix: Vec<ChangeStep>,
        event: &F,
    ) -> Result<(Ticket, Vec<Action>)>
    where
        F: Fn(&Workflow, &RouteState) -> std::result::Result<Step, EngineError>,
    {
        let mut resumed = false;
        for _ in 0..ATTEMPTS {
            let routed = match read.take() {
                Some(routed) => routed,
                None => self
                    .store
                    .routed_ticket(id)
                    .await?
                    .ok_or(DomainError::NotFound("ticket"))?,
            };
            let RoutedTicket {
                ticket,
                route,
                calendar,
                support_level,
                requester_locale,
            } = routed;
            let state = route_state(&route).ok_or_else(|| {
                DomainError::Conflict("this ticket has no route to follow".into())
            })?;
            let catalog = self.workflow_catalog_for(&state).await?;
            let workflow = catalog.workflow_of(&state).map_err(engine_error)?;
            let step = event(workflow, &state).map_err(engine_error)?;
            let now = self.now();
            // Back from waiting on the client: the history decides where clocks resume.
            let history = if ticket.status == TicketStatus::WaitingClient {
                self.store.ticket_timelines(Some(id), now, now).await?.pop()
            } else {
                None
            };
            let context = StepContext {
                locale: &requester_locale,
                classification: ticket.classification,
                carried,
                result,
                calendar: calendar.as_deref(),
                level: support_level.as_deref(),
                history: history.as_ref(),
                promised: ticket.next_step_at,
            };
            let (mut change, actions) = self.plan(route, &step, &context, now).await?;
            let leaves_wait = change.steps.iter().any(|s| {
                matches!(
                    s,
                    ChangeStep::SetStatus(TicketStatus::New | TicketStatus::InProgress)
                )
            });
            if let Some(history) = history.as_ref().filter(|_| leaves_wait) {
                // Once per event: a step computed again after a conflict finds the
                // deadlines that waited moved already.
                if !resumed {
                    self.resume_from_wait(id, history, now).await?;
                    resumed = true;
                }
                change.steps.push(ChangeStep::ResumeClock);
            }
            change.actor = actor;
            change.complete = complete.clone();
            if !prefix.is_empty() {
                change.steps.splice(0..0, prefix.iter().cloned());
            }
            if let Some(ticket) = self.store.apply_change(id, &change).await? {
                return Ok((ticket, actions));
            }
        }
        Err(DomainError::Conflict("the ticket is changing right now; try again".into()).into())
    }

    /// The ticket leaves its wait on the client at `at`: its clock, stopped when the wait
    /// began (by the clock job, or here when the answer came before the job ran), runs
    /// again, moving the deadlines that waited. The change that follows clears the pause
    /// in its own transaction too ([`ChangeStep::ResumeClock`]), so the clock job never
    /// moves its new deadlines again.
    async fn resume_from_wait(
        &self,
        id: TicketId,
        history: &okno_store::TicketTimeline,
        at: Timestamp,
    ) -> Result<()> {
        if let Some(&(since, _)) = crate::deadlines::waiting_spans(&history.statuses, at).last() {
            self.store.pause_ticket_clock(id, since).await?;
        }
        self.resume_clock(id, at).await
    }

    /// Runs the automatic actions routes wait for that no process has run since
    /// `idle_since`: one stopped between writing a ticket's route and running its action
    /// (a key to generate, say), and the route goes on as it would have. Returns how many
    /// were resumed; a ticket that fails is logged and does not hold up the others.
    pub async fn resume_actions(&self, idle_since: Timestamp) -> Result<usize> {
        let mut resumed = 0;
        for id in self.store.tickets_awaiting_action(idle_since, 100).await? {
            match self.resume_action(id).await {
                Ok(true) => resumed += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(ticket = %id, %error, "an automatic step was not resumed")
                }
            }
        }
        Ok(resumed)
    }

    async fn resume_action(&self, id: TicketId) -> Result<bool> {
        let Some(routed) = self.store.routed_ticket(id).await? else {
            return Ok(false);
        };
        let Some(state) = route_state(&routed.route) else {
            return Ok(false);
        };
        let catalog = self.workflow_catalog_for(&state).await?;
        let workflow = catalog.workflow_of(&state).map_err(engine_error)?;
        let Some(Effect::RunAction { action, params }) =
            okno_workflow::pending_action(workflow, &state)
        else {
            return Ok(false);
        };
        let action = Action {
            name: action,
            params,
        };
        self.run_actions(routed.ticket, vec![action]).await?;
        Ok(true)
    }

    /// Runs the automatic steps a route asked for, one after another, feeding each outcome
    /// back into the engine.
    pub(crate) async fn run_actions(
        &self,
        mut ticket: Ticket,
        mut actions: Vec<Action>,
    ) -> Result<Ticket> {
        for _ in 0..MAX_ACTIONS {
            let Some(action) = actions.pop() else {
                return Ok(ticket);
            };
            let done = self.run_action(&ticket, &action).await;
            let (kind, detail) = done.event;
            let note = ChangeStep::Event {
                kind: kind.to_owned(),
                detail,
                public: false,
            };
            let outcome = done.outcome;
            let (next, more) = self
                .advance_once(
                    ticket.id,
                    None,
                    None,
                    None,
                    None,
                    done.result.as_deref(),
                    vec![note],
                    &|workflow: &Workflow, state: &RouteState| {
                        okno_workflow::action_finished(workflow, state, outcome)
                    },
                )
                .await?;
            ticket = next;
            actions.extend(more);
        }
        tracing::warn!(ticket = %ticket.id, "too many automatic steps in a row; the rest wait");
        Ok(ticket)
    }

    /// Carries out one automatic action. Never fails: any failure is the `error` outcome,
    /// which gives the work to a person.
    async fn run_action(&self, ticket: &Ticket, action: &Action) -> ActionResult {
        let failed = |reason: String| ActionResult {
            outcome: "error",
            result: None,
            event: ("action_failed", format!("{}: {reason}", action.name)),
        };
        match action.name.as_str() {
            "issue_license_key" => {
                let Some(format) = action.params.get("key_format") else {
                    return failed("no key_format configured".into());
                };
                let key = {
                    use rand::Rng;
                    let mut rng = rand::rng();
                    okno_workflow::generate_key(format, || rng.random())
                };
                match self
                    .store
                    .issue_license_key(ticket.client_id, ticket.id, &key, self.now())
                    .await
                {
                    Ok(true) => ActionResult {
                        outcome: "ok",
                        event: ("license_key_issued", key.clone()),
                        result: Some(key),
                    },
                    Ok(false) => failed("the client's license-key quota is used up".into()),
                    Err(e) => failed(format!("the key could not be recorded: {e}")),
                }
            }
            // The repair route reads the warranty of the equipment the ticket is about
            // (issue 6): `in_warranty` or `out_of_warranty` with the date as the result,
            // `unknown` when no equipment or no date is on record.
            "check_warranty" => match self.store.ticket_equipment(ticket.id).await {
                Ok(Some(item)) => match item.item.warranty_until {
                    Some(until) => {
                        let zone = crate::contracts::zone_of(None);
                        let today = self.now().to_zoned_datetime(zone).date();
                        let outcome = if today <= until {
                            "in_warranty"
                        } else {
                            "out_of_warranty"
                        };
                        ActionResult {
                            outcome,
                            event: ("warranty_checked", format!("{outcome}: {until}")),
                            result: Some(until.to_string()),
                        }
                    }
                    None => ActionResult {
                        outcome: "unknown",
                        event: ("warranty_checked", "no warranty date on record".into()),
                        result: None,
                    },
                },
                Ok(None) => ActionResult {
                    outcome: "unknown",
                    event: ("warranty_checked", "no equipment linked".into()),
                    result: None,
                },
                Err(e) => failed(format!("the equipment could not be read: {e}")),
            },
            other => failed(format!("unknown automatic action \"{other}\"")),
        }
    }
}
