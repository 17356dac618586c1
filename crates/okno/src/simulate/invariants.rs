//! The promises that cross the desk's capabilities, checked after every simulated step.
//!
//! Each check reads what the database holds (tickets, tasks, history, the outbox, timers,
//! alerts) and compares it with what the configuration and the history say it must be:
//! norms come from the shipped support levels and calendars read here on their own, not
//! from the desk's deadline code; promises seen are recorded step by step, so a mail can be
//! held to the promise in force at its event.

use super::people::World;
use super::ticket_label;
use jiff::Timestamp;
use jiff::civil::Date;
use okno_desk::Desk;
use okno_domain::{Role, TaskState, TicketId, TicketScope, TicketStatus};
use okno_sla::{NormKind, SlaConfig};
use okno_store::{ALERT_TASK, MANAGER_POOL};
use std::collections::{BTreeMap, BTreeSet};

/// One broken promise.
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub ticket: Option<TicketId>,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "violation {} {}: {}",
            self.invariant,
            ticket_label(self.ticket),
            self.detail
        )
    }
}

/// How long an outbox row may wait before it is undelivered for good (a sender retries
/// within minutes; a day is far beyond any back-off).
const OUTBOX_PATIENCE: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

pub struct Checks {
    /// The configuration as shipped, read apart from the desk.
    sla: SlaConfig,
    pub checked: u64,
    pub violations: Vec<Violation>,
    /// Each (invariant, ticket) is reported once: a broken promise stays broken.
    reported: BTreeSet<(&'static str, Option<TicketId>, String)>,
    /// Promises seen: for each ticket, `(since, next_step_at)` in order.
    promises: BTreeMap<TicketId, Vec<(Timestamp, Option<Timestamp>)>>,
    /// Tickets whose first promise was checked.
    opened: BTreeSet<TicketId>,
    outbox_after: i64,
    /// Outbox rows still unsettled, by id.
    outbox_pending: BTreeSet<i64>,
    outbox_written: BTreeMap<i64, (String, Timestamp)>,
    messages_seen: usize,
    /// Client messages nobody has picked up yet.
    messages_pending: Vec<super::people::ClientMessage>,
    message_ids: BTreeSet<String>,
    timers_reported: BTreeSet<i64>,
}

impl Checks {
    pub fn new() -> anyhow::Result<Checks> {
        Ok(Checks {
            sla: okno_sla::shipped::config().map_err(|e| anyhow::anyhow!("{e}"))?,
            checked: 0,
            violations: Vec::new(),
            reported: BTreeSet::new(),
            promises: BTreeMap::new(),
            opened: BTreeSet::new(),
            outbox_after: 0,
            outbox_pending: BTreeSet::new(),
            outbox_written: BTreeMap::new(),
            messages_seen: 0,
            messages_pending: Vec::new(),
            message_ids: BTreeSet::new(),
            timers_reported: BTreeSet::new(),
        })
    }

    /// Counts a check and records its failure once.
    fn expect(
        &mut self,
        holds: bool,
        invariant: &'static str,
        ticket: Option<TicketId>,
        detail: impl FnOnce() -> String,
    ) {
        self.checked += 1;
        if holds {
            return;
        }
        let detail = detail();
        let key = (
            invariant,
            ticket,
            if ticket.is_some() {
                String::new()
            } else {
                detail.clone()
            },
        );
        if self.reported.insert(key) {
            self.violations.push(Violation {
                invariant,
                ticket,
                detail,
            });
        }
    }

    pub fn job_failed(&mut self, job: okno_jobs::Job, error: &str) {
        self.expect(false, "job_failed", None, || {
            format!("{}: {error}", job.name())
        });
    }

    /// Everything a step may have broken.
    pub async fn after_step(
        &mut self,
        desk: &Desk,
        world: &World,
        step_started: Timestamp,
    ) -> anyhow::Result<()> {
        let now = desk.now();
        let mut touched = world.touched.clone();
        touched.extend(changed_since(desk, step_started).await?);
        for ticket in touched {
            self.ticket(desk, world, ticket, now).await?;
        }
        self.client_messages(desk, world, now).await?;
        self.outbox(desk, now).await?;
        self.mails(world);
        self.timers(desk).await?;
        Ok(())
    }

    /// The calendar and level a ticket's norms follow, as the configuration says.
    fn norms_of(
        &self,
        world: &World,
        ticket: TicketId,
    ) -> Option<(okno_sla::Calendar, okno_sla::SupportLevel)> {
        let model = world.tickets.get(&ticket)?;
        let client = &world.firm.clients[model.client];
        let level = self.sla.level(model.level?)?;
        let calendar = self.sla.calendars.get(client.calendar).ok()?;
        Some((calendar.clone(), level.clone()))
    }

    async fn ticket(
        &mut self,
        desk: &Desk,
        world: &World,
        id: TicketId,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let Some(ticket) = desk.store.ticket(TicketScope::All, id).await? else {
            return Ok(());
        };
        let seen = self.promises.entry(id).or_default();
        if seen.last().map(|(_, p)| *p) != Some(ticket.next_step_at) {
            seen.push((now, ticket.next_step_at));
        }

        // The first promise: the contract level's first-reaction norm for a question,
        // counted in the client's calendar from the ticket's creation.
        if self.opened.insert(id)
            && ticket.service == "question"
            && ticket.status == TicketStatus::New
            && let Some((calendar, level)) = self.norms_of(world, id)
        {
            let norm = level.norm_minutes(NormKind::Stage("classify")).or_else(|| {
                level.norm_minutes(NormKind::Reaction(okno_sla::Classification::Question))
            });
            if let Some(norm) = norm {
                let expected = calendar.due(ticket.created_at, norm);
                self.expect(
                    ticket.next_step_at == Some(expected),
                    "promise_from_contract_level",
                    Some(id),
                    || {
                        format!(
                            "level {} in {}: expected {expected}, promised {:?}",
                            level.code,
                            calendar.code(),
                            ticket.next_step_at.map(|t| t.to_string())
                        )
                    },
                );
            }
        }

        let history = desk.store.history(id, true).await?;
        // Every status change is in the history: the last one recorded is the status now.
        let last_status = history
            .iter()
            .rev()
            .find(|e| e.kind == "status")
            .and_then(|e| e.after.clone())
            .unwrap_or_else(|| TicketStatus::New.as_str().to_owned());
        self.expect(
            ticket.status == TicketStatus::Draft || last_status == ticket.status.as_str(),
            "status_in_history",
            Some(id),
            || format!("status {} but history ends at {last_status}", ticket.status),
        );

        // One promise: the next-step date and the latest public promise agree; a ticket
        // waiting on the client promises no next step.
        match ticket.status {
            TicketStatus::Resolved if ticket.next_step_at.is_some() => {
                // Solved, with the client still to be told (line 1's notify task): that
                // task's deadline is the promise.
                let open = desk
                    .store
                    .tasks(id)
                    .await?
                    .iter()
                    .any(|t| t.state == TaskState::Open);
                self.expect(open, "no_promise_while_not_ours", Some(id), || {
                    format!(
                        "resolved, no open task, next step {:?}",
                        ticket.next_step_at
                    )
                });
            }
            TicketStatus::WaitingClient | TicketStatus::Closed => {
                self.expect(
                    ticket.next_step_at.is_none(),
                    "no_promise_while_not_ours",
                    Some(id),
                    || {
                        format!(
                            "status {} with next step {:?}",
                            ticket.status, ticket.next_step_at
                        )
                    },
                );
            }
            TicketStatus::New | TicketStatus::InProgress => {
                if let Some(promised) = ticket.next_step_at
                    && let Some(model) = world.tickets.get(&id)
                {
                    let client = &world.firm.clients[model.client];
                    let comments = desk.store.comments(id, false).await?;
                    let latest = comments
                        .iter()
                        .rev()
                        .filter(|c| c.author_id.is_none())
                        .find(|c| has_time(&c.body));
                    if let Some(latest) = latest
                        && let Ok(calendar) = self.sla.calendars.get(client.calendar)
                    {
                        // The message names its zone: the client's, or Moscow's.
                        let zones = [calendar.time_zone().clone(), super::moscow()];
                        let body = latest.body.clone();
                        self.expect(
                            zones.iter().any(|zone| mentions(&body, promised, zone)),
                            "one_promise",
                            Some(id),
                            || {
                                format!(
                                    "next step {promised}, the latest public promise says {body:?}"
                                )
                            },
                        );
                    }
                }
            }
            _ => {}
        }

        // Alert tasks stay with managers, whoever assigned what since.
        for task in desk.store.tasks(id).await? {
            if task.kind != ALERT_TASK {
                continue;
            }
            let holder = task.assignee_id.map(|a| world.role_of(a));
            let with_managers = task.pool.as_deref() == Some(MANAGER_POOL)
                && holder.is_none_or(|r| matches!(r, Some(Role::Manager | Role::Admin)));
            self.expect(
                with_managers,
                "alert_tasks_stay_with_managers",
                Some(id),
                || {
                    format!(
                        "alert task {} in pool {:?} held by a {holder:?}",
                        task.id, task.pool
                    )
                },
            );
        }

        // Clients never see tasks or internal events; whatever the channel, the ticket is
        // the contact's own.
        if let Some(model) = world.tickets.get(&id) {
            let client = world.firm.clients[model.client].contacts[model.contact].clone();
            self.expect(
                ticket.requester_id == client.id,
                "ticket_belongs_to_the_contact",
                Some(id),
                || {
                    format!(
                        "requester {} instead of the contact {}",
                        ticket.requester_id, client.id
                    )
                },
            );
            let tasks = desk.ticket_tasks(&client, id).await;
            self.expect(
                tasks.as_ref().map_or(true, |t| t.is_empty()),
                "client_sees_no_tasks",
                Some(id),
                || "the requester's task list is not empty".into(),
            );
            if let Ok(events) = desk.history(&client, id).await {
                self.expect(
                    events.iter().all(|e| e.public),
                    "client_sees_no_internal_events",
                    Some(id),
                    || "an internal event in the requester's history".into(),
                );
            }
        }
        Ok(())
    }

    /// Every client message reaches a person within its norm: an open task on the ticket
    /// (or one made for it since), or a new ticket of the same requester.
    async fn client_messages(
        &mut self,
        desk: &Desk,
        world: &World,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        self.messages_pending
            .extend(world.client_messages[self.messages_seen..].iter().cloned());
        self.messages_seen = world.client_messages.len();
        let mut still = Vec::new();
        for message in std::mem::take(&mut self.messages_pending) {
            let tasks = desk.store.tasks(message.ticket).await?;
            let reached = tasks
                .iter()
                .any(|t| t.state == TaskState::Open || t.created_at >= message.at);
            let reached = reached || self.new_ticket_since(desk, world, &message).await?;
            let norm_end = self
                .norms_of(world, message.ticket)
                .and_then(|(calendar, level)| {
                    let norm = level
                        .norm_minutes(NormKind::Reaction(okno_sla::Classification::Question))?;
                    Some(calendar.due(message.at, norm))
                })
                .unwrap_or(message.at + jiff::SignedDuration::from_hours(24));
            if reached {
                self.expect(
                    true,
                    "client_message_reaches_a_person",
                    Some(message.ticket),
                    String::new,
                );
            } else if now >= norm_end {
                let closed = message.after_close;
                self.expect(
                    false,
                    "client_message_reaches_a_person",
                    Some(message.ticket),
                    || {
                        format!(
                            "the client wrote at {}{}; no task by {norm_end}",
                            message.at,
                            if closed {
                                " after the ticket was solved"
                            } else {
                                ""
                            }
                        )
                    },
                );
            } else {
                still.push(message);
            }
        }
        self.messages_pending = still;
        Ok(())
    }

    async fn new_ticket_since(
        &self,
        desk: &Desk,
        world: &World,
        message: &super::people::ClientMessage,
    ) -> anyhow::Result<bool> {
        let Some(model) = world.tickets.get(&message.ticket) else {
            return Ok(false);
        };
        let requester = world.firm.clients[model.client].contacts[model.contact].id;
        for id in changed_since(desk, message.at).await? {
            if id == message.ticket {
                continue;
            }
            if let Some(t) = desk.store.ticket(TicketScope::All, id).await?
                && t.requester_id == requester
                && t.created_at >= message.at
                && !world.tickets.contains_key(&id)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every outbox row is delivered once or ends with a reason, within a day. One pass
    /// from the oldest row still unsettled takes in the new rows too.
    async fn outbox(&mut self, desk: &Desk, now: Timestamp) -> anyhow::Result<()> {
        let mut after = self
            .outbox_pending
            .first()
            .map_or(self.outbox_after, |id| id - 1);
        loop {
            let rows = desk.store.outbox_rows(Some(after), 1_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                if row.id > self.outbox_after {
                    self.outbox_written
                        .insert(row.id, (row.kind.clone(), row.created_at));
                    self.outbox_pending.insert(row.id);
                }
                if self.outbox_pending.contains(&row.id) {
                    self.settle(&row, now);
                }
            }
            self.outbox_after = self.outbox_after.max(after);
        }
        Ok(())
    }

    /// A row settled (checked and forgotten), or waiting past patience (reported).
    fn settle(&mut self, row: &okno_store::OutboxRow, now: Timestamp) {
        let (id, kind) = (row.id, row.kind.clone());
        if row.settled() {
            let messages = row.messages;
            self.expect(messages <= 1, "outbox_delivered_once", None, || {
                format!("outbox row {id} of kind {kind} sent {messages} times")
            });
            let ended =
                row.delivered_at.is_some() || row.ended.is_some() || row.last_error.is_some();
            self.expect(ended, "outbox_delivered_or_ended", None, || {
                format!("outbox row {id} of kind {kind} settled with no message and no reason")
            });
            self.outbox_pending.remove(&id);
        } else if now.duration_since(row.created_at) > OUTBOX_PATIENCE {
            let attempts = row.attempts;
            self.expect(false, "outbox_delivered_or_ended", None, || {
                format!(
                    "outbox row {id} of kind {kind} undelivered for a day (attempts {attempts})"
                )
            });
            self.outbox_pending.remove(&id);
        }
    }

    /// Each mail is sent once, and its dates are the promise at its event.
    fn mails(&mut self, world: &World) {
        let sent = world.sink.take();
        for raw in &sent {
            let Ok(mail) = okno_mail::parse(raw) else {
                self.expect(false, "mail_parses", None, || {
                    "a sent mail does not parse".into()
                });
                continue;
            };
            let id = mail.message_id.clone().unwrap_or_default();
            let first = self.message_ids.insert(id.clone());
            self.expect(first, "mail_sent_once", None, || {
                format!("message {id} sent twice")
            });
            let Some(outbox) = id
                .strip_prefix("okno.")
                .and_then(|rest| rest.split('@').next())
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let Some((kind, event_at)) = self.outbox_written.get(&outbox).cloned() else {
                continue;
            };
            let Some(ticket) =
                okno_mail::thread::ticket_in_subject(&mail.subject).map(|n| TicketId(n.0))
            else {
                continue;
            };
            let Some(model) = world.tickets.get(&ticket) else {
                continue;
            };
            let promised = self.promise_at(ticket, event_at);
            let client = &world.firm.clients[model.client];
            let Ok(calendar) = self.sla.calendars.get(client.calendar) else {
                continue;
            };
            let zones = [calendar.time_zone().clone(), super::moscow()];
            let holds = match promised {
                Some(at) => times_in(&mail.text)
                    .iter()
                    .all(|t| zones.iter().any(|z| t.matches(at, z))),
                None => times_in(&mail.text).is_empty(),
            };
            let text = mail.text.clone();
            self.expect(holds, "mail_dated_at_its_event", Some(ticket), || {
                format!(
                    "{kind} mail written at {event_at} (promise then {promised:?}) says {:?}",
                    text.lines().filter(|l| has_time(l)).collect::<Vec<_>>()
                )
            });
        }
    }

    fn promise_at(&self, ticket: TicketId, at: Timestamp) -> Option<Timestamp> {
        self.promises
            .get(&ticket)?
            .iter()
            .rev()
            .find(|(since, _)| *since <= at)
            .and_then(|(_, p)| *p)
    }

    /// No timer runs on a finished task.
    async fn timers(&mut self, desk: &Desk) -> anyhow::Result<()> {
        let running = desk.store.timers_on_finished_tasks().await?;
        self.expect(
            running.is_empty(),
            "no_timer_on_a_finished_task",
            None,
            String::new,
        );
        for timer in running {
            if !self.timers_reported.insert(timer.id) {
                continue;
            }
            self.expect(
                false,
                "no_timer_on_a_finished_task",
                Some(timer.ticket),
                || {
                    format!(
                        "timer {} of user {} still runs on the finished task {:?}",
                        timer.id, timer.user, timer.task
                    )
                },
            );
        }
        Ok(())
    }

    /// Once a day: one daily review per working day, none on other days, and that one
    /// reached a manager (it waited in their workplace and they went through it that day);
    /// one alert per cause.
    pub async fn after_day(&mut self, desk: &Desk, day: Date, working: bool) -> anyhow::Result<()> {
        let reviews = desk.store.daily_reviews(500).await?;
        let today = day.to_string();
        let made = reviews.iter().filter(|r| r.day == today).count();
        for review in reviews.iter().filter(|r| r.day == today) {
            let by_manager = match review.done_by {
                Some(user) => desk
                    .store
                    .user(user)
                    .await?
                    .is_some_and(|u| matches!(u.role, Role::Manager | Role::Admin)),
                None => false,
            };
            let same_day = review
                .done_at
                .is_some_and(|at| at.to_zoned_datetime(super::moscow()).date() == day);
            self.expect(
                by_manager && same_day,
                "daily_review_reaches_a_manager",
                None,
                || {
                    format!(
                        "review {today}: done at {:?} by {:?}",
                        review.done_at, review.done_by
                    )
                },
            );
        }
        let expected = usize::from(working);
        self.expect(
            made == expected,
            "one_daily_review_per_working_day",
            None,
            || {
                format!(
                    "{today} ({}): {made} reviews",
                    if working { "working day" } else { "day off" }
                )
            },
        );
        let mut causes: BTreeMap<String, usize> = BTreeMap::new();
        for alert in desk.store.alerts(false).await? {
            let key = if alert.kind.contains("quota") || alert.kind.contains("limit") {
                // A used-up allowance is one cause per client, allowance and month.
                let ticket = desk.store.ticket(TicketScope::All, alert.ticket_id).await?;
                let client = ticket.map(|t| t.client_code).unwrap_or_default();
                let allowance = alert
                    .detail
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let month = alert
                    .raised_at
                    .to_zoned_datetime(super::moscow())
                    .strftime("%Y-%m")
                    .to_string();
                format!("{} {client} {allowance} {month}", alert.kind)
            } else if matches!(alert.kind.as_str(), "breached" | "at_risk") {
                // A deadline breached or at risk: one cause per deadline (its detail).
                format!(
                    "{} {} {:?} {}",
                    alert.kind, alert.ticket_id, alert.task_id, alert.detail
                )
            } else {
                // Hours over the limit and the rest: one per ticket and task.
                format!("{} {} {:?}", alert.kind, alert.ticket_id, alert.task_id)
            };
            *causes.entry(key).or_default() += 1;
        }
        for (cause, count) in causes {
            self.expect(count == 1, "one_alert_per_cause", None, || {
                format!("{cause}: {count} alerts")
            });
        }
        Ok(())
    }

    /// The last look: rows still pending are reported with their kind.
    pub async fn at_end(&mut self, desk: &Desk, world: &World) -> anyhow::Result<()> {
        let now = desk.now();
        self.outbox(desk, now).await?;
        self.mails(world);
        self.reports(desk, now).await?;
        self.telegram(desk, world).await?;
        Ok(())
    }

    /// Every public message of staff on a ticket of the Telegram-linked contact was queued
    /// to their chat (issue 20: notices reach a linked contact by Telegram as by mail).
    async fn telegram(&mut self, desk: &Desk, world: &World) -> anyhow::Result<()> {
        let Some((contact, account)) = world.telegram else {
            return Ok(());
        };
        let mut queued: BTreeMap<TicketId, Vec<String>> = BTreeMap::new();
        let mut after = 0;
        loop {
            let page = desk.store.telegram_messages(after, 1_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for m in page {
                if let (Some(ticket), true) = (m.ticket_id, m.chat_id == account) {
                    queued.entry(ticket).or_default().push(m.text);
                }
            }
        }
        for ticket in world.tickets.keys() {
            let Some(t) = desk.store.ticket(TicketScope::All, *ticket).await? else {
                continue;
            };
            if t.requester_id != contact {
                continue;
            }
            let texts = queued.get(ticket).cloned().unwrap_or_default();
            for comment in desk.store.comments(*ticket, false).await? {
                let Some(author) = comment.author_id.filter(|a| *a != contact) else {
                    continue;
                };
                let staff = desk
                    .store
                    .user(author)
                    .await?
                    .is_some_and(|u| u.role.is_staff());
                if !staff {
                    continue;
                }
                let head: String = comment
                    .body
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(40)
                    .collect();
                let sent = texts.iter().any(|t| t.contains(head.trim()));
                self.expect(sent, "telegram_staff_message_queued", Some(*ticket), || {
                    format!(
                        "public message {} of staff never queued to Telegram",
                        comment.id.0
                    )
                });
            }
        }
        Ok(())
    }

    /// The flow report over the whole run counts every closed ticket exactly once (issue
    /// 21: each closing is settled into the reports' facts once, a reopened and closed
    /// again ticket under its latest closing).
    async fn reports(&mut self, desk: &Desk, now: Timestamp) -> anyhow::Result<()> {
        let mut closed = 0i64;
        let mut after = None;
        loop {
            let filter = okno_store::TicketFilter {
                status: Some(TicketStatus::Closed),
                after,
                limit: 500,
                ..Default::default()
            };
            let page = desk.store.tickets(TicketScope::All, &filter).await?;
            closed += page.len() as i64;
            match page.last() {
                Some(last) if page.len() == 500 => after = Some(last.id),
                _ => break,
            }
        }
        let reports = desk.reports();
        let zone = reports.desk_zone();
        let today = now.to_zoned_datetime(zone.clone()).date();
        let params = okno_desk::reports::ReportParams {
            from: Some(today.saturating_sub(jiff::ToSpan::years(20)).to_string()),
            to: Some(today.to_string()),
            group: Some("month".into()),
            ..Default::default()
        };
        let request = params
            .parse("flow", today)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = reports
            .build_unchecked(&request, &zone)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let counted: i64 = report
            .table("rows")
            .map(|t| {
                let column = t.columns.iter().position(|c| *c == "closed");
                t.rows
                    .iter()
                    .filter_map(|row| match column.map(|c| &row[c]) {
                        Some(okno_desk::reports::Cell::Int(n)) => Some(*n),
                        _ => None,
                    })
                    .sum()
            })
            .unwrap_or(0);
        self.expect(counted == closed, "report_counts_closed_once", None, || {
            format!("the flow report counts {counted} closed tickets, the desk has {closed}")
        });
        Ok(())
    }
}

/// Tickets changed at or after `since`.
async fn changed_since(desk: &Desk, since: Timestamp) -> anyhow::Result<Vec<TicketId>> {
    let (mut from, mut after) = (since.as_millisecond(), 0);
    let mut ids = Vec::new();
    loop {
        let page = desk.store.tickets_changed_since(from, after, 1_000).await?;
        let Some(&(last, last_ms)) = page.last() else {
            return Ok(ids);
        };
        (from, after) = (last_ms, last.0);
        ids.extend(page.into_iter().map(|(id, _)| id));
    }
}

/// An `HH:MM` in a text, with the day of the month written before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClockTime {
    day: Option<i8>,
    hour: i8,
    minute: i8,
}

impl ClockTime {
    fn matches(&self, at: Timestamp, zone: &jiff::tz::TimeZone) -> bool {
        let local = at.to_zoned_datetime(zone.clone());
        local.hour() == self.hour
            && local.minute() == self.minute
            && self.day.is_none_or(|d| d == local.day())
    }
}

fn has_time(text: &str) -> bool {
    !times_in(text).is_empty()
}

/// Every `HH:MM` in `text` with the day written in the 25 characters before it (`25
/// ноября 2026, 14:30`, `25.11.2026 14:30`, `Tue 14:30` without one).
fn times_in(text: &str) -> Vec<ClockTime> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).and_then(|c| c.to_digit(10));
    let mut found = Vec::new();
    for i in 0..chars.len() {
        if chars[i] != ':' || i < 2 {
            continue;
        }
        let (Some(h1), Some(h2), Some(m1), Some(m2)) =
            (digit(i - 2), digit(i - 1), digit(i + 1), digit(i + 2))
        else {
            continue;
        };
        if i >= 3 && digit(i - 3).is_some() || digit(i + 3).is_some() {
            continue;
        }
        let before: String = chars[i.saturating_sub(27)..i - 2].iter().collect();
        let day = before
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty() && s.len() <= 2)
            .find_map(|s| s.parse::<i8>().ok().filter(|d| (1..=31).contains(d)));
        found.push(ClockTime {
            day,
            hour: (h1 * 10 + h2) as i8,
            minute: (m1 * 10 + m2) as i8,
        });
    }
    found
}

/// Whether `text` names `at` (in `zone`) as its time.
fn mentions(text: &str, at: Timestamp, zone: &jiff::tz::TimeZone) -> bool {
    times_in(text).iter().any(|t| t.matches(at, zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_found_with_their_day() {
        let zone = jiff::tz::TimeZone::get("Europe/Moscow").unwrap();
        let at: Timestamp = "2026-11-25T11:30:00Z".parse().unwrap();
        assert!(mentions(
            "Мы ответим вам до 25 ноября 2026, 14:30 (МСК).",
            at,
            &zone
        ));
        assert!(mentions(
            "We will respond by 25.11.2026 14:30 (MSK).",
            at,
            &zone
        ));
        assert!(!mentions("до 26 ноября 2026, 14:30 (МСК)", at, &zone));
        assert!(!mentions("до 25 ноября 2026, 14:31", at, &zone));
        assert!(times_in("версия 3.0.150, ошибка").is_empty());
        assert_eq!(times_in("вт 09:18")[0].day, None);
    }
}
