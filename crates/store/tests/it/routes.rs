//! Conformance of the route store on SQLite and (with `OKNO_TEST_DATABASE_URL`) PostgreSQL:
//! routed tickets and their changes, work queues, taking tasks under real concurrency,
//! completion guards, reassign/transfer, co-assignees and watchers, published workflows and
//! license-key quotas.

use jiff::{SignedDuration, Timestamp};
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::*;
use std::sync::Arc;

okno_store::on_both_backends!(
    routed_ticket_and_its_changes,
    stale_changes_do_not_land,
    completion_is_for_the_assignee_of_an_open_task,
    queue_shows_own_and_pool_tasks_in_order,
    exactly_one_of_concurrent_takers_wins,
    reassign_transfer_coassignees_watchers,
    workflow_files_and_pools,
    license_key_quota,
);

fn line(n: u8) -> Line {
    Line::new(n).unwrap()
}

struct World {
    client: ClientId,
    contact: UserId,
    line1: UserId,
    line1b: UserId,
    dev: UserId,
    accountant: UserId,
}

async fn world(store: &dyn Store) -> World {
    store
        .upsert_service(&Service {
            code: "question".into(),
            name_ru: "Вопрос".into(),
            name_en: "Question".into(),
            description_ru: String::new(),
            description_en: String::new(),
            workflow: "question".into(),
            definition: "{}".into(),
            sort_order: 1,
            active: true,
        })
        .await
        .unwrap();
    let client = store.create_client("ALFA", "Alfa", None).await.unwrap();
    let person = |email: &str, role: Role, client: Option<ClientId>, lines: Vec<Line>| NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        role,
        client_id: client,
        lines,
        sees_organization: false,
        password_hash: None,
    };
    let mut ids = Vec::new();
    for user in [
        person("c@alfa.demo", Role::Client, Some(client), vec![]),
        person("l1@demo.okno", Role::Specialist, None, vec![line(1)]),
        person("l1b@demo.okno", Role::Specialist, None, vec![line(1)]),
        person("dev@demo.okno", Role::Specialist, None, vec![line(3)]),
        person("acc@demo.okno", Role::Specialist, None, vec![]),
    ] {
        ids.push(store.create_user(&user).await.unwrap());
    }
    store
        .set_user_pools(ids[4], &["accounting".to_owned()])
        .await
        .unwrap();
    World {
        client,
        contact: ids[0],
        line1: ids[1],
        line1b: ids[2],
        dev: ids[3],
        accountant: ids[4],
    }
}

fn new_ticket(w: &World) -> NewTicket {
    NewTicket {
        service: "question".into(),
        subject: "Не открывается отчёт".into(),
        description: "Ошибка при открытии".into(),
        client_id: w.client,
        requester_id: w.contact,
        draft: false,
    }
}

fn task(kind: &str, line_no: Option<u8>, pool: Option<&str>, priority: i32) -> NewTask {
    NewTask {
        kind: kind.into(),
        title: format!("Task {kind}"),
        line: line_no.map(line),
        pool: pool.map(str::to_owned),
        assignee_id: None,
        due_at: None,
        priority,
        stage: Some("stage".into()),
    }
}

fn change(from: &str, to: &str, at: Timestamp, steps: Vec<ChangeStep>) -> TicketChange {
    TicketChange {
        actor: None,
        at,
        from_route: from.into(),
        route: to.into(),
        complete: None,
        steps,
        next_step_at: None,
        rank: None,
    }
}

/// A ticket whose route created one classify task for line 1.
async fn opened(store: &dyn Store, w: &World, at: Timestamp) -> (Ticket, Task) {
    let mut first = change(
        "{}",
        r#"{"r":1}"#,
        at,
        vec![
            ChangeStep::EnterStage("classify".into()),
            ChangeStep::PublicMessage("Мы получили ваше обращение".into()),
            ChangeStep::CreateTask(task("classify", Some(1), None, 50), None),
        ],
    );
    first.next_step_at = Some(Some(at + SignedDuration::from_hours(4)));
    let ticket = store
        .create_routed_ticket(&new_ticket(w), &first)
        .await
        .unwrap();
    let tasks = store.tasks(ticket.id).await.unwrap();
    assert_eq!(tasks.len(), 1);
    (ticket, tasks[0].clone())
}

fn conflict(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(StoreError::Domain(DomainError::Conflict(m))) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn routed_ticket_and_its_changes(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let at = Timestamp::from_second(1_750_000_000).unwrap();
    let (ticket, classify) = opened(store, &w, at).await;
    assert_eq!(ticket.status, TicketStatus::New);
    assert_eq!(
        ticket.next_step_at,
        Some(at + SignedDuration::from_hours(4))
    );
    let routed = store.routed_ticket(ticket.id).await.unwrap().unwrap();
    assert_eq!(routed.route, r#"{"r":1}"#);
    assert_eq!(routed.ticket.id, ticket.id);
    assert_eq!(routed.calendar, None);
    assert_eq!(routed.requester_locale, "ru");
    // The client's calendar is the ticket's while the ticket has none of its own.
    store
        .set_client_calendar(ticket.client_id, Some("nsk-standard"))
        .await
        .unwrap();
    let (read, routed) = store.routed_task(classify.id).await.unwrap().unwrap();
    assert_eq!(
        (read.id, read.ticket_id, &read.kind, read.created_at),
        (classify.id, ticket.id, &classify.kind, classify.created_at)
    );
    assert_eq!(routed.ticket.id, ticket.id);
    assert_eq!(routed.ticket.created_at, ticket.created_at);
    assert_eq!(routed.route, r#"{"r":1}"#);
    assert_eq!(routed.calendar.as_deref(), Some("nsk-standard"));
    assert!(
        store
            .routed_task(TaskId(classify.id.0 + 1_000))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(classify.stage.as_deref(), Some("stage"));
    assert_eq!(classify.state, TaskState::Open);

    // The system's public message is a comment without an author, visible to the client.
    let comments = store.comments(ticket.id, false).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!((comments[0].author_id, comments[0].internal), (None, false));

    // Classify as a bug: the task is done, a dev task appears with line 1's summary.
    let later = at + SignedDuration::from_mins(30);
    let mut step = change(
        r#"{"r":1}"#,
        r#"{"r":2}"#,
        later,
        vec![
            ChangeStep::SetClassification(Classification::Bug),
            ChangeStep::EnterStage("fix".into()),
            ChangeStep::SetStatus(TicketStatus::InProgress),
            ChangeStep::CreateTask(
                task("develop", Some(3), None, 75),
                Some("steps to reproduce".into()),
            ),
        ],
    );
    step.actor = Some(w.line1);
    step.complete = Some(TaskCompletion {
        task: classify.id,
        by: w.line1,
        outcome: "bug".into(),
        summary: Some("steps to reproduce".into()),
    });
    let changed = store.apply_change(ticket.id, &step).await.unwrap().unwrap();
    assert_eq!(changed.status, TicketStatus::InProgress);
    assert_eq!(changed.classification, Some(Classification::Bug));
    let tasks = store.tasks(ticket.id).await.unwrap();
    let done = &tasks[0];
    assert_eq!(
        (done.state, done.outcome.as_deref(), done.assignee_id),
        (TaskState::Done, Some("bug"), Some(w.line1)),
        "an unassigned task is taken by the one finishing it"
    );
    let develop = &tasks[1];
    assert_eq!(develop.summary.as_deref(), Some("steps to reproduce"));
    assert_eq!((develop.line, develop.priority), (Some(line(3)), 75));

    // Cancel and close: no task stays open; the status change is public history.
    let close = change(
        r#"{"r":2}"#,
        r#"{"r":3}"#,
        later,
        vec![
            ChangeStep::CancelTask {
                kind: "develop".into(),
                stage: "stage".into(),
            },
            ChangeStep::SetStatus(TicketStatus::Closed),
            ChangeStep::Close,
            ChangeStep::Event {
                kind: "license_key_issued".into(),
                detail: "KEY".into(),
                public: false,
            },
        ],
    );
    let closed = store
        .apply_change(ticket.id, &close)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    let tasks = store.tasks(ticket.id).await.unwrap();
    assert!(tasks.iter().all(|t| t.state != TaskState::Open));
    assert_eq!(tasks[1].state, TaskState::Cancelled);

    let history = store.history(ticket.id, true).await.unwrap();
    let statuses: Vec<(Option<&str>, Option<&str>, bool)> = history
        .iter()
        .filter(|h| h.kind == "status")
        .map(|h| (h.before.as_deref(), h.after.as_deref(), h.public))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some("new"), Some("in_progress"), true),
            (Some("in_progress"), Some("closed"), true)
        ]
    );
    let classification = history.iter().find(|h| h.kind == "classification").unwrap();
    assert_eq!(classification.after.as_deref(), Some("bug"));
    let public = store.history(ticket.id, false).await.unwrap();
    assert!(
        public
            .iter()
            .all(|h| !h.kind.starts_with("task") && h.kind != "stage"),
        "task events are internal: {public:?}"
    );
}

async fn stale_changes_do_not_land(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let at = Timestamp::now();
    let (ticket, _) = opened(store, &w, at).await;
    let stale = change(
        r#"{"r":0}"#,
        r#"{"r":9}"#,
        at,
        vec![ChangeStep::CreateTask(task("x", Some(1), None, 50), None)],
    );
    assert!(
        store
            .apply_change(ticket.id, &stale)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.tasks(ticket.id).await.unwrap().len(),
        1,
        "nothing landed"
    );
    let route = store.routed_ticket(ticket.id).await.unwrap().unwrap().route;
    assert_eq!(route, r#"{"r":1}"#);
}

async fn completion_is_for_the_assignee_of_an_open_task(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let at = Timestamp::now();
    let (ticket, classify) = opened(store, &w, at).await;
    store.take_task(classify.id, w.line1, at).await.unwrap();
    let mut by_other = change(r#"{"r":1}"#, r#"{"r":2}"#, at, vec![]);
    by_other.complete = Some(TaskCompletion {
        task: classify.id,
        by: w.line1b,
        outcome: "question".into(),
        summary: None,
    });
    let message = conflict(store.apply_change(ticket.id, &by_other).await);
    assert!(message.contains("assigned"), "{message}");
    let route = store.routed_ticket(ticket.id).await.unwrap().unwrap().route;
    assert_eq!(route, r#"{"r":1}"#, "the failed change rolled back whole");

    let mut by_owner = by_other.clone();
    by_owner.complete.as_mut().unwrap().by = w.line1;
    store
        .apply_change(ticket.id, &by_owner)
        .await
        .unwrap()
        .unwrap();
    let mut again = by_owner.clone();
    again.from_route = r#"{"r":2}"#.into();
    again.route = r#"{"r":3}"#.into();
    let message = conflict(store.apply_change(ticket.id, &again).await);
    assert!(message.contains("already done"), "{message}");
}

async fn queue_shows_own_and_pool_tasks_in_order(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let at = Timestamp::from_second(1_750_000_000).unwrap();
    let (ticket, classify) = opened(store, &w, at).await;
    let due = |h: i64| Some(at + SignedDuration::from_hours(h));
    let mut urgent_late = task("urgent_late", Some(1), None, 100);
    urgent_late.due_at = due(5);
    let mut urgent_soon = task("urgent_soon", Some(1), None, 100);
    urgent_soon.due_at = due(1);
    let no_deadline = task("no_deadline", Some(1), None, 100);
    let accounting = task("invoice", None, Some("accounting"), 50);
    let dev = task("develop", Some(3), None, 100);
    let mut mine = task("mine", Some(2), None, 25);
    mine.assignee_id = Some(w.line1);
    let add = change(
        r#"{"r":1}"#,
        r#"{"r":2}"#,
        at,
        [urgent_late, urgent_soon, no_deadline, accounting, dev, mine]
            .into_iter()
            .map(|t| ChangeStep::CreateTask(t, None))
            .collect(),
    );
    store.apply_change(ticket.id, &add).await.unwrap().unwrap();
    // The store orders by the rank the desk's rules computed; here a rule of workflow
    // priority, then deadline.
    let rules = okno_domain::priority::PriorityRules::parse(
        "test.toml",
        "[[rule]]\nname = \"all\"\nkeys = [\"task_priority\", \"due\"]\n",
    )
    .unwrap();
    let ranks: Vec<_> = store
        .rank_inputs(&[ticket.id])
        .await
        .unwrap()
        .iter()
        .map(|(task, input)| (*task, rules.rank(input)))
        .collect();
    store.set_ranks(&ranks).await.unwrap();

    let kinds = |items: &[QueueItem]| -> Vec<String> {
        items.iter().map(|i| i.task.kind.clone()).collect()
    };
    let query = |user, lines: Vec<Line>, pools: Vec<String>| QueueQuery {
        user,
        lines,
        pools,
        after: None,
        limit: 50,
    };
    let line1_queue = store
        .queue(&query(w.line1, vec![line(1)], vec![]))
        .await
        .unwrap();
    assert_eq!(
        kinds(&line1_queue),
        [
            "urgent_soon",
            "urgent_late",
            "no_deadline",
            "classify",
            "mine"
        ],
        "priority first, then the soonest deadline, none last"
    );
    assert_eq!(line1_queue[0].route, r#"{"r":2}"#);

    // Keyset pages give the same order.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let mut q = query(w.line1, vec![line(1)], vec![]);
        q.after = after;
        q.limit = 2;
        let page = store.queue(&q).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(QueueCursor::of(last));
        paged.extend(kinds(&page));
    }
    assert_eq!(paged, kinds(&line1_queue));
    let cursor = QueueCursor::of(&line1_queue[1]);
    assert_eq!(QueueCursor::parse(&cursor.encode()), Some(cursor));

    let accountant = store
        .queue(&query(
            w.accountant,
            vec![],
            store.user_pools(w.accountant).await.unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(kinds(&accountant), ["invoice"]);
    assert_eq!(
        kinds(
            &store
                .queue(&query(w.dev, vec![line(3)], vec![]))
                .await
                .unwrap()
        ),
        ["develop"]
    );

    // A taken task leaves the pool: it shows only in its taker's queue.
    store.take_task(classify.id, w.line1b, at).await.unwrap();
    let other = store
        .queue(&query(w.line1, vec![line(1)], vec![]))
        .await
        .unwrap();
    assert!(!kinds(&other).contains(&"classify".to_owned()));
    let taker = store
        .queue(&query(w.line1b, vec![line(1)], vec![]))
        .await
        .unwrap();
    assert!(kinds(&taker).contains(&"classify".to_owned()));
}

async fn exactly_one_of_concurrent_takers_wins(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let w = world(&*store).await;
    let at = Timestamp::now();
    for _ in 0..10 {
        let (_, classify) = opened(&*store, &w, at).await;
        let takers = [w.line1, w.line1b, w.dev, w.accountant];
        let barrier = Arc::new(tokio::sync::Barrier::new(takers.len()));
        let handles: Vec<_> = takers
            .into_iter()
            .map(|user| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    (user, store.take_task(classify.id, user, at).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for handle in handles {
            let (user, result) = handle.await.unwrap();
            match result {
                Ok(task) => winners.push((user, task.assignee_id)),
                Err(StoreError::Domain(DomainError::Conflict(m))) => {
                    assert!(m.contains("assigned"), "{m}")
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one taker wins: {winners:?}");
        let (user, assignee) = winners[0];
        assert_eq!(assignee, Some(user));
        let stored = store.task(classify.id).await.unwrap().unwrap();
        assert_eq!(stored.assignee_id, Some(user));
    }
}

async fn reassign_transfer_coassignees_watchers(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let at = Timestamp::now();
    let (ticket, classify) = opened(store, &w, at).await;
    let reassigned = store
        .reassign_task(classify.id, w.line1b, w.line1, at)
        .await
        .unwrap();
    assert_eq!(reassigned.assignee_id, Some(w.line1b));

    let transferred = store
        .transfer_task(
            classify.id,
            line(2),
            "needs an experienced specialist",
            w.line1b,
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            transferred.line,
            transferred.pool.clone(),
            transferred.assignee_id
        ),
        (Some(line(2)), None, None)
    );
    let history = store.history(ticket.id, true).await.unwrap();
    let transfer = history.iter().find(|h| h.kind == "transferred").unwrap();
    assert_eq!(transfer.before.as_deref(), Some("line 1"));
    assert_eq!(
        transfer.after.as_deref(),
        Some("line 2: needs an experienced specialist")
    );
    assert_eq!(transfer.actor_id, Some(w.line1b));
    assert!(!transfer.public);

    store
        .add_coassignee(classify.id, w.dev, w.line1, at)
        .await
        .unwrap();
    store
        .add_coassignee(classify.id, w.dev, w.line1, at)
        .await
        .unwrap();
    assert_eq!(store.coassignees(classify.id).await.unwrap(), vec![w.dev]);
    let dev_queue = store
        .queue(&QueueQuery {
            user: w.dev,
            lines: vec![line(3)],
            pools: vec![],
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        dev_queue.len(),
        1,
        "a co-assignee sees the task in the queue"
    );

    store
        .add_watcher(ticket.id, w.accountant, w.line1, at)
        .await
        .unwrap();
    assert_eq!(store.watchers(ticket.id).await.unwrap(), vec![w.accountant]);

    // Finished tasks cannot be moved.
    let mut finish = change(r#"{"r":1}"#, r#"{"r":2}"#, at, vec![]);
    finish.complete = Some(TaskCompletion {
        task: classify.id,
        by: w.line1,
        outcome: "done".into(),
        summary: None,
    });
    store
        .apply_change(ticket.id, &finish)
        .await
        .unwrap()
        .unwrap();
    let message = conflict(store.reassign_task(classify.id, w.line1, w.line1, at).await);
    assert!(message.contains("already done"), "{message}");
    conflict(
        store
            .transfer_task(classify.id, line(1), "x", w.line1, at)
            .await,
    );
    conflict(store.take_task(classify.id, w.line1, at).await);
    assert!(matches!(
        store.take_task(TaskId(999_999), w.line1, at).await,
        Err(StoreError::Domain(DomainError::NotFound("task")))
    ));
}

async fn workflow_files_and_pools(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let file = |version| WorkflowFile {
        code: "question".into(),
        version,
        file_name: "question.toml".into(),
        text: format!("[workflow]\nversion = {version}\n"),
    };
    assert!(store.workflow_files().await.unwrap().is_empty());
    store
        .save_workflow_file(&file(2), Some(w.line1), Timestamp::now())
        .await
        .unwrap();
    store
        .save_workflow_file(&file(3), None, Timestamp::now())
        .await
        .unwrap();
    conflict(
        store
            .save_workflow_file(&file(2), None, Timestamp::now())
            .await,
    );
    assert_eq!(
        store.workflow_files().await.unwrap(),
        vec![file(2), file(3)]
    );

    assert_eq!(
        store.user_pools(w.line1).await.unwrap(),
        Vec::<String>::new()
    );
    let pools = vec!["engineer".to_owned(), "quality".to_owned()];
    store.set_user_pools(w.line1, &pools).await.unwrap();
    assert_eq!(store.user_pools(w.line1).await.unwrap(), pools);
}

async fn license_key_quota(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let (ticket, _) = opened(store, &w, Timestamp::now()).await;
    let now = Timestamp::now();
    assert!(
        store
            .issue_license_key(w.client, ticket.id, "K-1", now)
            .await
            .unwrap()
    );
    store
        .set_license_key_quota(w.client, Some(2))
        .await
        .unwrap();
    assert!(
        store
            .issue_license_key(w.client, ticket.id, "K-2", now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .issue_license_key(w.client, ticket.id, "K-3", now)
            .await
            .unwrap(),
        "the quota of 2 is used up"
    );
    store.set_license_key_quota(w.client, None).await.unwrap();
    assert!(
        store
            .issue_license_key(w.client, ticket.id, "K-3", now)
            .await
            .unwrap()
    );
}
