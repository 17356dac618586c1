//! `okno bench workflow`: complete `question` routes per second, in-process on a fresh
//! store (`--database`), through the desk's API: a client opens a ticket, line 1 classifies it as
//! a bug, the developer finishes the fix, line 1 tells the client, and the ticket closes.

use super::Figure;
use anyhow::{Context, ensure};
use okno_desk::Desk;
use okno_desk::tickets::TicketInput;
use okno_domain::*;
use std::sync::Arc;
use std::time::Instant;

/// Routes driven at once: requests overlap as they would from several specialists.
const CONCURRENCY: usize = 8;

struct People {
    contact: User,
    line1: User,
    dev: User,
}

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let routes = if quick { 300 } else { 5_000 };
    let store = okno_store::open(&db.url).await?;
    let desk = Desk::start(store, okno_desk::Settings::new(db.dir.path().to_path_buf())).await?;
    let people = Arc::new(people(&desk).await?);

    // Warm up (statement caches, pages), then measure.
    drive(&desk, &people, CONCURRENCY * 4).await?;
    let started = Instant::now();
    drive(&desk, &people, routes).await?;
    let elapsed = started.elapsed();
    Ok(vec![
        Figure::new(
            "workflow_routes_per_s",
            routes as f64 / elapsed.as_secs_f64(),
            "1/s",
        )
        .at_least(1000.0),
    ])
}

async fn people(desk: &Desk) -> anyhow::Result<People> {
    let client = desk
        .store
        .create_client("BENCH", "ООО «Нагрузка»", None)
        .await?;
    let add = async |email: &str, role: Role, client: Option<ClientId>, lines: Vec<Line>| {
        let id = desk
            .store
            .create_user(&okno_store::NewUser {
                email: Email::parse(email)?,
                name: email.into(),
                role,
                client_id: client,
                lines,
                sees_organization: false,
                password_hash: None,
            })
            .await?;
        desk.store.user(id).await?.context("bench user")
    };
    Ok(People {
        contact: add("client@bench.test", Role::Client, Some(client), vec![]).await?,
        line1: add(
            "line1@bench.test",
            Role::Specialist,
            None,
            vec![Line::new(1)?],
        )
        .await?,
        dev: add(
            "dev@bench.test",
            Role::Specialist,
            None,
            vec![Line::new(3)?],
        )
        .await?,
    })
}

/// Drives `total` routes, `CONCURRENCY` at a time.
async fn drive(desk: &Arc<Desk>, people: &Arc<People>, total: usize) -> anyhow::Result<()> {
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let (desk, people) = (desk.clone(), people.clone());
        let share = total / CONCURRENCY + usize::from(worker < total % CONCURRENCY);
        workers.push(tokio::spawn(async move {
            for n in 0..share {
                route(&desk, &people, n).await?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

async fn route(desk: &Desk, people: &People, n: usize) -> anyhow::Result<()> {
    let input = TicketInput {
        service: "question".into(),
        subject: format!("Ошибка в отчёте №{n}"),
        description: "Отчёт не формируется".into(),
        client: None,
        requester: None,
        draft: false,
    };
    let ticket = desk.open_ticket(&people.contact, input).await?;
    let steps = [
        (&people.line1, "classify", "bug"),
        (&people.dev, "develop", "done"),
        (&people.line1, "notify", "done"),
    ];
    let mut last = ticket;
    for (user, kind, outcome) in steps {
        let task = desk
            .ticket_tasks(user, last.id)
            .await?
            .into_iter()
            .find(|t| t.kind == kind && t.state == TaskState::Open)
            .with_context(|| format!("no open {kind} task on ticket {}", last.id))?;
        last = desk.complete_task(user, task.id, outcome, None).await?;
    }
    ensure!(
        last.status == TicketStatus::Closed,
        "ticket {} ended {}",
        last.id,
        last.status
    );
    Ok(())
}
