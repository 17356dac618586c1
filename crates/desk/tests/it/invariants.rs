//! Consistency invariants over random sequences of actions, against a real store (a
//! temporary SQLite file): tickets opened on every shipped service, tasks taken, completed
//! (with allowed and unknown outcomes), transferred, client messages and decisions, drafts.
//! After every action:
//! - an open ticket has an open task or waits on the client;
//! - a closed ticket has no open tasks;
//! - the task rows mirror the route's open tasks, and the ticket shows the route's status;
//! - every status change is in the history (the chain of status events ends at the status);
//! - clients never see tasks.

use crate::common;

use common::*;
use okno_desk::DeskError;
use okno_domain::*;
use proptest::prelude::*;

const SERVICES: [&str; 4] = ["question", "documents", "license-key", "repair"];

#[derive(Debug, Clone)]
enum Action {
    Open {
        service: usize,
        draft: bool,
    },
    Submit {
        ticket: usize,
    },
    Take {
        ticket: usize,
        task: usize,
        user: usize,
    },
    Complete {
        ticket: usize,
        task: usize,
        outcome: usize,
        comment: bool,
    },
    CompleteWrong {
        ticket: usize,
        task: usize,
    },
    Transfer {
        ticket: usize,
        task: usize,
        line: u8,
    },
    ClientWrites {
        ticket: usize,
    },
    Decide {
        ticket: usize,
        decision: usize,
    },
    NoMoreKeys,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..SERVICES.len(), prop::bool::weighted(0.15))
            .prop_map(|(service, draft)| Action::Open { service, draft }),
        1 => any::<usize>().prop_map(|ticket| Action::Submit { ticket }),
        2 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(ticket, task, user)| Action::Take { ticket, task, user }),
        8 => (any::<usize>(), any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(ticket, task, outcome, comment)| Action::Complete { ticket, task, outcome, comment }),
        1 => (any::<usize>(), any::<usize>())
            .prop_map(|(ticket, task)| Action::CompleteWrong { ticket, task }),
        1 => (any::<usize>(), any::<usize>(), 1u8..=4)
            .prop_map(|(ticket, task, line)| Action::Transfer { ticket, task, line }),
        2 => any::<usize>().prop_map(|ticket| Action::ClientWrites { ticket }),
        2 => (any::<usize>(), 0usize..3).prop_map(|(ticket, decision)| Action::Decide { ticket, decision }),
        1 => Just(Action::NoMoreKeys),
    ]
}

/// Refusals a random action may meet; anything else (a store failure) fails the test.
fn expected(result: Result<(), DeskError>) -> Result<(), String> {
    match result {
        Ok(())
        | Err(DeskError::Domain(
            DomainError::Conflict(_)
            | DomainError::Forbidden(_)
            | DomainError::NotFound(_)
            | DomainError::Invalid(_),
        )) => Ok(()),
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

fn pick<T: Clone>(items: &[T], n: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[n % items.len()].clone())
}

async fn act(f: &Firm, tickets: &mut Vec<TicketId>, action: &Action) -> Result<(), String> {
    let desk = &f.desk;
    let staff = [
        &f.line1,
        &f.line2,
        &f.dev,
        &f.manager,
        &f.accountant,
        &f.licensing,
        &f.engineer,
    ];
    let open_task_of = |ticket: usize, task: usize| {
        let ticket = pick(tickets, ticket);
        async move {
            match ticket {
                Some(id) => pick(&open_tasks(desk, id).await, task),
                None => None,
            }
        }
    };
    let result = match action {
        Action::Open { service, draft } => {
            let mut request = input(SERVICES[*service]);
            request.draft = *draft;
            match desk.open_ticket(&f.contact, request).await {
                Ok(ticket) => {
                    tickets.push(ticket.id);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Action::Submit { ticket } => match pick(tickets, *ticket) {
            Some(id) => desk.submit_draft(&f.contact, id).await.map(|_| ()),
            None => Ok(()),
        },
        Action::Take { ticket, task, user } => match open_task_of(*ticket, *task).await {
            Some(task) => desk
                .take_task(staff[user % staff.len()], task.id)
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        Action::Complete {
            ticket,
            task,
            outcome,
            comment,
        } => match open_task_of(*ticket, *task).await {
            Some(task) => {
                let card = desk
                    .task(&f.manager, task.id)
                    .await
                    .map_err(|e| e.to_string())?;
                let outcome = pick(&card.outcomes, *outcome).unwrap_or_default();
                // The assignee finishes it; a pool task, a manager (who works any pool).
                let by = staff
                    .iter()
                    .find(|u| Some(u.id) == task.assignee_id)
                    .copied()
                    .unwrap_or(&f.manager);
                let comment = comment.then_some("итог");
                desk.complete_task(by, task.id, &outcome, comment)
                    .await
                    .map(|_| ())
            }
            None => Ok(()),
        },
        Action::CompleteWrong { ticket, task } => match open_task_of(*ticket, *task).await {
            Some(task) => {
                let result = desk
                    .complete_task(&f.manager, task.id, "nonsense", None)
                    .await;
                if result.is_ok() {
                    return Err("an unknown outcome was accepted".into());
                }
                Ok(())
            }
            None => Ok(()),
        },
        Action::Transfer { ticket, task, line } => match open_task_of(*ticket, *task).await {
            Some(task) => desk
                .transfer_task(&f.manager, task.id, *line, "нужен специалист")
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        Action::ClientWrites { ticket } => match pick(tickets, *ticket) {
            Some(id) => desk
                .comment(&f.contact, id, "Есть новости?", false)
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        Action::Decide { ticket, decision } => match pick(tickets, *ticket) {
            Some(id) => desk
                .decide(&f.contact, id, ["approved", "declined", "maybe"][*decision])
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        Action::NoMoreKeys => desk
            .store
            .set_license_key_quota(f.client, Some(0))
            .await
            .map_err(Into::into),
    };
    expected(result)
}

async fn check(f: &Firm, id: TicketId) -> Result<(), String> {
    let desk = &f.desk;
    let okno_store::RoutedTicket { ticket, route, .. } = desk
        .store
        .routed_ticket(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the ticket is gone")?;
    let open = open_tasks(desk, id).await;
    let waiting = ticket.status == TicketStatus::WaitingClient;
    match ticket.status {
        TicketStatus::Draft => prop_ok(open.is_empty(), "a draft has no tasks")?,
        TicketStatus::Closed => prop_ok(open.is_empty(), "a closed ticket has no open tasks")?,
        _ => prop_ok(
            !open.is_empty() || waiting,
            "an open ticket has an open task or waits on the client",
        )?,
    }
    if ticket.status != TicketStatus::Draft {
        let state: okno_workflow::RouteState =
            serde_json::from_str(&route).map_err(|e| format!("route state: {e}"))?;
        prop_ok(
            state.status.as_str() == ticket.status.as_str(),
            "the ticket shows its route's status",
        )?;
        let mut rows: Vec<(String, String)> = open
            .iter()
            .map(|t| (t.kind.clone(), t.stage.clone().unwrap_or_default()))
            .collect();
        let mut engine: Vec<(String, String)> = state
            .open_tasks
            .iter()
            .map(|t| (t.kind.clone(), t.stage.clone()))
            .collect();
        rows.sort();
        engine.sort();
        prop_ok(rows == engine, "task rows mirror the route's open tasks")?;
    }

    // Every status change is in the history: the chain of status events ends at the status.
    let history = desk
        .store
        .history(id, true)
        .await
        .map_err(|e| e.to_string())?;
    let mut status = match history.first() {
        Some(created) if created.kind == "created" => created.after.clone().unwrap_or_default(),
        _ => return Err("the history starts with the creation".into()),
    };
    for event in history.iter().filter(|h| h.kind == "status") {
        prop_ok(
            event.before.as_deref() == Some(status.as_str()) && event.public,
            "status events chain from one status to the next, publicly",
        )?;
        status = event.after.clone().unwrap_or_default();
    }
    prop_ok(
        status == ticket.status.as_str(),
        "the last status event is the status",
    )?;

    // Clients never see tasks.
    let client = &f.contact;
    prop_ok(
        matches!(
            desk.ticket_tasks(client, id).await,
            Err(DeskError::Domain(DomainError::NotFound(_)))
        ),
        "a client cannot list a ticket's tasks",
    )?;
    for task in &open {
        prop_ok(
            matches!(
                desk.task(client, task.id).await,
                Err(DeskError::Domain(DomainError::NotFound(_)))
            ),
            "a client cannot read a task",
        )?;
    }
    let seen = desk.history(client, id).await.map_err(|e| e.to_string())?;
    prop_ok(
        seen.iter().all(|h| h.public && !h.kind.starts_with("task")),
        "a client's history has no task events",
    )?;
    Ok(())
}

fn prop_ok(holds: bool, what: &str) -> Result<(), String> {
    if holds { Ok(()) } else { Err(what.to_owned()) }
}

async fn run(actions: Vec<Action>) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = okno_store::open(dir.path().join("okno.db").to_str().unwrap_or_default())
        .await
        .map_err(|e| e.to_string())?;
    let f = firm(store).await;
    allow_license_keys(&f, 1_000.0).await;
    let mut tickets = Vec::new();
    for (n, action) in actions.iter().enumerate() {
        act(&f, &mut tickets, action)
            .await
            .map_err(|e| format!("action {n} {action:?}: {e}"))?;
        for id in &tickets {
            check(&f, *id)
                .await
                .map_err(|e| format!("after action {n} {action:?}, ticket {id}: {e}"))?;
        }
        let queue = f.desk.queue(&f.contact, None, 10).await;
        prop_ok(
            matches!(queue, Err(DeskError::Domain(DomainError::NotFound(_)))),
            "a client has no queue",
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn routes_stay_consistent(actions in prop::collection::vec(action(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = runtime.block_on(run(actions));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
