//! The jobs against a real database, on SQLite and (with `OKNO_TEST_DATABASE_URL`) on
//! PostgreSQL. Instants are fixed: Monday 2025-04-28 is an ordinary working day on
//! `ru-standard` (09:00–18:00 Moscow, lunch 13–14); 1–4 May 2025 are holidays.

use jiff::{SignedDuration, Timestamp};
use okno_desk::{Desk, Settings};
use okno_domain::review::{Ball, ReviewSnapshot};
use okno_domain::*;
use okno_jobs::*;
use okno_store::testing::TestDb;
use okno_store::*;
use std::sync::Arc;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

struct Fixture {
    desk: Arc<Desk>,
    client: ClientId,
    contact: UserId,
    specialist: UserId,
    _files: tempfile::TempDir,
}

async fn fixture(db: &TestDb) -> Fixture {
    fixture_on(db, Arc::new(okno_jobs::SystemClock)).await
}

/// A desk whose time is `clock`'s.
async fn fixture_on(db: &TestDb, clock: Arc<dyn okno_jobs::Clock>) -> Fixture {
    let files = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(files.path().to_owned());
    settings.clock = clock;
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let client = desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let user = |email: &str, role: Role, client_id: Option<ClientId>| NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        role,
        client_id,
        lines: vec![],
        sees_organization: false,
        password_hash: None,
    };
    let contact = desk
        .store
        .create_user(&user("anna@alfa.test", Role::Client, Some(client)))
        .await
        .unwrap();
    let specialist = desk
        .store
        .create_user(&user("line1@desk.test", Role::Specialist, None))
        .await
        .unwrap();
    Fixture {
        desk,
        client,
        contact,
        specialist,
        _files: files,
    }
}

impl Fixture {
    fn store(&self) -> &Arc<dyn Store> {
        &self.desk.store
    }

    async fn ticket(&self, subject: &str, created: Timestamp, due: Option<Timestamp>) -> Ticket {
        let task = NewTask {
            kind: "classify".into(),
            title: "Классифицировать".into(),
            line: Some(Line::new(1).unwrap()),
            pool: None,
            assignee_id: None,
            due_at: due,
            priority: 50,
            stage: Some("classify".into()),
        };
        let ticket = NewTicket {
            service: "question".into(),
            subject: subject.into(),
            description: String::new(),
            client_id: self.client,
            requester_id: self.contact,
            draft: false,
        };
        let tasks = if due.is_some() { vec![task] } else { vec![] };
        self.store()
            .create_ticket(&ticket, &tasks, created)
            .await
            .unwrap()
    }

    async fn step(&self, ticket: TicketId, at: Timestamp, steps: Vec<ChangeStep>) {
        let change = TicketChange {
            actor: None,
            at,
            from_route: "{}".into(),
            route: "{}".into(),
            complete: None,
            steps,
            next_step_at: None,
            rank: None,
        };
        self.store()
            .apply_change(ticket, &change)
            .await
            .unwrap()
            .expect("the route did not move");
    }

    async fn comment(&self, ticket: TicketId, author: UserId, at: Timestamp) {
        let comment = NewComment {
            ticket_id: ticket,
            author_id: author,
            body: "…".into(),
            internal: false,
        };
        self.store().add_comment(&comment, at).await.unwrap();
    }
}

okno_store::on_both_backends!(
    claims_are_exclusive_across_processes,
    deadline_watch_raises_each_cause_once,
    daily_review_lists_open_tickets_once_a_day,
    auto_close_after_three_working_days_of_silence,
    scheduler_runs_each_job_on_its_schedule,
    no_review_for_a_day_off_after_downtime,
    clock_pause_moves_deadlines_and_the_sla_report_counts_stages,
    an_automatic_step_a_stopped_process_left_is_resumed,
    a_used_up_hours_limit_raises_one_alert_a_month,
);

async fn claims_are_exclusive_across_processes(db: TestDb) {
    // A second "process": another store on the same database.
    let other = okno_store::open(&db.url).await.unwrap();
    let now = at("2025-04-28T09:00:00Z");
    let lease = SignedDuration::from_mins(5);
    let claims = (0..16).map(|i| {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            store
                .claim_job("watch", &format!("w{i}"), now, lease, now)
                .await
                .unwrap()
                .map(|row| row.locked_by.unwrap())
        })
    });
    let winners: Vec<String> = futures::future::join_all(claims)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = &winners[0];

    // Only the holder finishes it; then it is not due until its next run.
    let next = now + SignedDuration::from_secs(60);
    assert!(
        !db.store
            .finish_job("watch", "nobody", now, next, None)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .finish_job("watch", winner, now, next, None)
            .await
            .unwrap()
    );
    let row = other.job("watch").await.unwrap().unwrap();
    assert_eq!((row.run_at, row.locked_by, row.attempts), (next, None, 0));
    assert!(
        other
            .claim_job("watch", "a", now, lease, now)
            .await
            .unwrap()
            .is_none()
    );

    // A holder that dies keeps it until its lease runs out, then another takes over.
    assert!(
        other
            .claim_job("watch", "a", next, lease, now)
            .await
            .unwrap()
            .is_some()
    );
    let during = next + SignedDuration::from_mins(4);
    assert!(
        db.store
            .claim_job("watch", "b", during, lease, now)
            .await
            .unwrap()
            .is_none()
    );
    let after = next + SignedDuration::from_mins(6);
    let taken = db
        .store
        .claim_job("watch", "b", after, lease, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.locked_by.as_deref(), Some("b"));
    assert!(
        !other
            .finish_job("watch", "a", after, after, None)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .finish_job("watch", "b", after, after, Some("boom"))
            .await
            .unwrap()
    );
    let row = db.store.job("watch").await.unwrap().unwrap();
    assert_eq!((row.attempts, row.last_error.as_deref()), (1, Some("boom")));
}

async fn deadline_watch_raises_each_cause_once(db: TestDb) {
    let f = fixture(&db).await;
    let rules = okno_sla::WatchRules::default();
    let created = at("2025-04-28T09:00:00+03:00");
    let due = at("2025-04-28T13:00:00+03:00"); // 4 working hours
    let idle = f.ticket("Никто не трогал", created, Some(due)).await;
    let busy = f.ticket("В работе", created, Some(due)).await;
    f.comment(busy.id, f.specialist, at("2025-04-28T10:00:00+03:00"))
        .await;
    let paused = f.ticket("Ждём клиента", created, Some(due)).await;
    f.step(
        paused.id,
        created,
        vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
    )
    .await;

    let watch = |now: &str| {
        let desk = f.desk.clone();
        let now = at(now);
        async move { deadline_watch(&desk, &rules, now).await.unwrap() }
    };
    // 80% of 240 working minutes is 192: 12:12.
    assert_eq!(
        watch("2025-04-28T12:11:00+03:00").await,
        WatchReport::default()
    );
    let report = watch("2025-04-28T12:12:00+03:00").await;
    let task = f.store().tasks(idle.id).await.unwrap()[0].clone();
    assert_eq!(
        report.raised,
        vec![format!("at_risk:task:{}:{}", task.id, due.as_millisecond())]
    );
    assert_eq!(watch("2025-04-28T12:30:00+03:00").await.known, 1);

    let manager_tasks: Vec<Task> = f
        .store()
        .tasks(idle.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == "alert")
        .collect();
    assert_eq!(manager_tasks.len(), 1);
    assert_eq!(manager_tasks[0].pool.as_deref(), Some(MANAGER_POOL));
    // Written once, read in each reader's language.
    let (ru, en) = (
        manager_tasks[0].title_in("ru"),
        manager_tasks[0].title_in("en"),
    );
    assert!(ru.starts_with("Срок под угрозой: задача «"), "{ru}");
    assert!(en.starts_with("Deadline at risk: task “"), "{en}");
    assert!(
        !en.contains("Срок") && !ru.contains("Deadline"),
        "{ru} | {en}"
    );

    // The manager finishes the alert's task: the alert is resolved; a second time, nothing.
    // Through the desk, as the manager's queue does: only `done`, and only once.
    let manager_task = manager_tasks[0].id;
    let manager = NewUser {
        email: Email::parse("boss@desk.test").unwrap(),
        name: "Boss".into(),
        role: Role::Manager,
        client_id: None,
        lines: vec![],
        sees_organization: false,
        password_hash: None,
    };
    let manager = f.store().create_user(&manager).await.unwrap();
    let manager = f.store().user(manager).await.unwrap().unwrap();
    let refused = f
        .desk
        .complete_task(&manager, manager_task, "question", None)
        .await;
    assert!(refused.unwrap_err().to_string().contains("allowed: done"));
    f.desk
        .complete_task(&manager, manager_task, "done", None)
        .await
        .unwrap();
    assert!(
        f.desk
            .complete_task(&manager, manager_task, "done", None)
            .await
            .is_err()
    );
    assert!(
        !f.store()
            .finish_alert_task(manager_task, f.specialist, created)
            .await
            .unwrap()
    );
    assert!(
        !f.store()
            .finish_alert_task(task.id, f.specialist, created)
            .await
            .unwrap()
    );
    assert!(f.store().alerts(true).await.unwrap().is_empty());
    assert_eq!(f.store().alerts(false).await.unwrap().len(), 1);

    // At the deadline both the idle and the busy task breach; the paused one does not.
    let report = watch("2025-04-28T13:00:00+03:00").await;
    assert_eq!(report.raised.len(), 2, "{report:?}");
    assert!(
        report
            .raised
            .iter()
            .all(|k| k.starts_with("breached:task:"))
    );
    assert_eq!(
        watch("2025-04-28T15:00:00+03:00").await,
        WatchReport::default()
    );
    let alerts = f.store().alerts(false).await.unwrap();
    assert_eq!(alerts.len(), 3);
    assert!(alerts.iter().all(|a| a.ticket_id != paused.id));
    assert!(alerts.iter().all(|a| a.manager_task_id.is_some()));

    // The promised next-step date: breached once; moved, it is a new cause.
    let promised = at("2025-04-28T16:00:00+03:00");
    f.store()
        .set_deadlines(busy.id, Some(promised), &[], created)
        .await
        .unwrap();
    let report = watch("2025-04-28T16:00:00+03:00").await;
    assert_eq!(
        report.raised,
        vec![format!(
            "breached:ticket:{}:{}",
            busy.id,
            promised.as_millisecond()
        )]
    );
    let moved = at("2025-04-29T10:00:00+03:00");
    f.store()
        .set_deadlines(busy.id, Some(moved), &[], at("2025-04-28T16:30:00+03:00"))
        .await
        .unwrap();
    assert_eq!(
        watch("2025-04-28T17:00:00+03:00").await,
        WatchReport::default()
    );
    assert_eq!(watch("2025-04-29T10:00:00+03:00").await.raised.len(), 1);

    // Specialist hours: over 10 hours, once.
    let start = at("2025-04-28T06:00:00Z");
    f.store()
        .add_time_entry(
            f.specialist,
            busy.id,
            None,
            start,
            Some(start + SignedDuration::from_hours(6)),
        )
        .await
        .unwrap();
    let later = at("2025-04-29T06:00:00Z");
    f.store()
        .add_time_entry(f.specialist, busy.id, None, later, None)
        .await
        .unwrap();
    assert_eq!(watch("2025-04-29T10:00:00Z").await, WatchReport::default()); // 6 h + 4 h
    let report = watch("2025-04-29T10:01:00Z").await;
    assert_eq!(
        report.raised,
        vec![format!("over_hours:ticket:{}", busy.id)]
    );
    assert!(watch("2025-04-29T12:00:00Z").await.raised.is_empty());

    // A used-up allowance.
    f.store()
        .set_license_key_quota(f.client, Some(1))
        .await
        .unwrap();
    assert!(
        f.store()
            .issue_license_key(f.client, idle.id, "K-1", created)
            .await
            .unwrap()
    );
    let report = watch("2025-04-29T12:00:00Z").await;
    assert_eq!(
        report.raised,
        vec![format!("quota_used_up:client:{}:license_keys:1", f.client)]
    );
    assert!(watch("2025-04-29T12:01:00Z").await.raised.is_empty());
}

async fn daily_review_lists_open_tickets_once_a_day(db: TestDb) {
    let f = fixture(&db).await;
    let created = at("2025-04-28T10:00:00+03:00");
    let ours = f.ticket("Не печатает счёт", created, None).await;
    let theirs = f.ticket("Нужен доступ", created, None).await;
    f.step(
        theirs.id,
        created,
        vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
    )
    .await;
    let done = f.ticket("Закрытый", created, None).await;
    f.step(
        done.id,
        created,
        vec![
            ChangeStep::SetStatus(TicketStatus::Closed),
            ChangeStep::Close,
        ],
    )
    .await;

    let settings = JobSettings::default();
    let now = at("2025-04-29T09:30:00+03:00");
    let review = daily_review(&f.desk, &settings, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(review.day, "2025-04-29");
    assert_eq!(review.pool, MANAGER_POOL);
    let snapshot = ReviewSnapshot::from_stored(&review.body).unwrap();
    assert_eq!((snapshot.ours_total, snapshot.theirs_total), (1, 1));
    let side = |snapshot: &ReviewSnapshot, ball| -> Vec<TicketId> {
        snapshot.side(ball).map(|item| item.ticket).collect()
    };
    assert_eq!(side(&snapshot, Ball::Ours), [ours.id]);
    assert_eq!(side(&snapshot, Ball::Theirs), [theirs.id]);
    assert_eq!(snapshot.items[0].subject, "Не печатает счёт");
    assert_eq!(snapshot.items[0].client_code, "ALFA");
    assert!(
        daily_review(&f.desk, &settings, now + SignedDuration::from_hours(2))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.store().daily_reviews(10).await.unwrap().len(), 1);

    // A big desk: the review lists the oldest few on each side and counts the rest exactly.
    let newer = f.ticket("Ещё вопрос", created, None).await;
    let small = JobSettings {
        review_limit: 1,
        ..JobSettings::default()
    };
    let next_day = at("2025-04-30T09:30:00+03:00");
    let review = daily_review(&f.desk, &small, next_day)
        .await
        .unwrap()
        .unwrap();
    let snapshot = ReviewSnapshot::from_stored(&review.body).unwrap();
    assert_eq!((snapshot.ours_total, snapshot.theirs_total), (2, 1));
    assert_eq!(side(&snapshot, Ball::Ours), [ours.id]);
    assert!(snapshot.items.iter().all(|item| item.ticket != newer.id));
    assert_eq!(snapshot.not_listed(Ball::Ours), 1);
    assert_eq!(snapshot.not_listed(Ball::Theirs), 0);

    // A manager goes through it: it is done once, by the first, and waits no more.
    let manager = f
        .store()
        .create_user(&NewUser {
            email: Email::parse("boss@desk.test").unwrap(),
            name: "Руководитель".into(),
            role: Role::Manager,
            client_id: None,
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let manager = f.store().user(manager).await.unwrap().unwrap();
    let specialist = f.store().user(f.specialist).await.unwrap().unwrap();
    assert!(
        f.desk
            .reviews()
            .waiting(&specialist)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.desk
            .reviews()
            .finish(&specialist, review.id)
            .await
            .is_err()
    );
    assert_eq!(
        f.desk
            .reviews()
            .waiting(&manager)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(review.id)
    );
    let done = f.desk.reviews().finish(&manager, review.id).await.unwrap();
    assert_eq!(done.done_by, Some(manager.id));
    assert!(f.desk.reviews().waiting(&manager).await.unwrap().is_none());
    let again = f.desk.reviews().finish(&manager, review.id).await.unwrap();
    assert_eq!(again.done_at, done.done_at);

    // The next review: 09:30 Moscow on the next working day, skipping weekends and holidays.
    let calendar = f.desk.sla().calendars.get("ru-standard").unwrap();
    let review_at = settings.review_at;
    assert_eq!(
        next_review(calendar, review_at, at("2025-04-25T10:00:00+03:00")),
        at("2025-04-28T09:30:00+03:00")
    );
    assert_eq!(
        next_review(calendar, review_at, at("2025-04-28T09:00:00+03:00")),
        at("2025-04-28T09:30:00+03:00")
    );
    assert_eq!(
        next_review(calendar, review_at, at("2025-04-30T10:00:00+03:00")),
        at("2025-05-05T09:30:00+03:00")
    );
}

async fn auto_close_after_three_working_days_of_silence(db: TestDb) {
    let f = fixture(&db).await;
    let settings = JobSettings::default();
    let created = at("2025-04-21T09:00:00+03:00");
    let silent = f
        .ticket(
            "Клиент молчит",
            created,
            Some(at("2025-04-25T09:00:00+03:00")),
        )
        .await;
    let answered = f.ticket("Клиент ответил", created, None).await;
    let asked_friday = f.ticket("Спросили в пятницу", created, None).await;
    for (ticket, asked) in [
        (&silent, "2025-04-21T10:00:00+03:00"),
        (&answered, "2025-04-21T10:00:00+03:00"),
        (&asked_friday, "2025-04-25T10:00:00+03:00"),
    ] {
        f.comment(ticket.id, f.specialist, at(asked)).await;
        f.step(
            ticket.id,
            at(asked),
            vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
        )
        .await;
    }
    f.comment(answered.id, f.contact, at("2025-04-22T11:00:00+03:00"))
        .await;

    let close = |now: &str| {
        let desk = f.desk.clone();
        let settings = settings.clone();
        let now = at(now);
        async move { auto_close(&desk, &settings, now).await.unwrap() }
    };
    // Three working days of 8 hours after Monday 10:00 end on Thursday 10:00.
    assert!(close("2025-04-24T09:59:00+03:00").await.is_empty());
    assert_eq!(close("2025-04-24T10:00:00+03:00").await, vec![silent.id]);
    assert!(close("2025-04-24T10:05:00+03:00").await.is_empty());

    let ticket = f
        .store()
        .ticket(TicketScope::All, silent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
    assert_eq!(ticket.next_step_at, None);
    let comments = f.store().comments(silent.id, false).await.unwrap();
    let last = comments.last().unwrap();
    assert_eq!(last.author_id, None);
    assert!(last.body.contains("3 рабочих дней"), "{}", last.body);
    let tasks = f.store().tasks(silent.id).await.unwrap();
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Cancelled),
        "{tasks:?}"
    );
    let history = f.store().history(silent.id, true).await.unwrap();
    assert!(history.iter().any(|e| e.kind == "auto_closed"));
    // The client hears of it in one mail, the closing notice carrying the message.
    let far = at("2030-01-01T00:00:00Z");
    let lease = far + SignedDuration::from_mins(5);
    let mut notices = Vec::new();
    while let Some(row) = f
        .store()
        .claim_outbox(
            &[OutboxKind::TicketAutoClosed, OutboxKind::CommentAdded],
            far,
            lease,
        )
        .await
        .unwrap()
    {
        let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
        if payload["comment_id"] == last.id.0 {
            notices.push(row.kind);
        }
    }
    assert_eq!(notices, ["ticket_auto_closed"]);

    // Friday 10:00 + 3 working days (the weekend does not count) = Wednesday 10:00.
    assert!(close("2025-04-29T17:00:00+03:00").await.is_empty());
    assert_eq!(
        close("2025-04-30T10:00:00+03:00").await,
        vec![asked_friday.id]
    );
    let answered = f
        .store()
        .ticket(TicketScope::All, answered.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.status, TicketStatus::WaitingClient);

    // A ticket on a real route closes through the workflow engine: its route ends too.
    let contact = f.store().user(f.contact).await.unwrap().unwrap();
    let input = okno_desk::tickets::TicketInput {
        service: "question".into(),
        subject: "По маршруту".into(),
        description: "…".into(),
        client: None,
        requester: None,
        draft: false,
    };
    let routed = f.desk.open_ticket(&contact, input).await.unwrap();
    let route = f
        .store()
        .routed_ticket(routed.id)
        .await
        .unwrap()
        .unwrap()
        .route;
    // The route posted its reaction message just now: ask after it.
    let asked = Timestamp::now() + SignedDuration::from_mins(1);
    f.comment(routed.id, f.specialist, asked).await;
    let waiting = TicketChange {
        actor: None,
        at: asked,
        from_route: route.clone(),
        route: route.clone(),
        complete: None,
        steps: vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
        next_step_at: None,
        rank: None,
    };
    f.store()
        .apply_change(routed.id, &waiting)
        .await
        .unwrap()
        .unwrap();
    let month_later = asked + SignedDuration::from_hours(30 * 24);
    assert_eq!(
        auto_close(&f.desk, &settings, month_later).await.unwrap(),
        vec![routed.id]
    );
    let okno_store::RoutedTicket {
        ticket: closed,
        route,
        ..
    } = f.store().routed_ticket(routed.id).await.unwrap().unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    let state: okno_workflow::RouteState = serde_json::from_str(&route).unwrap();
    assert!(state.is_closed(), "{route}");
    let open = f.store().tasks(routed.id).await.unwrap();
    assert!(open.iter().all(|t| t.state != TaskState::Open), "{open:?}");
}

async fn scheduler_runs_each_job_on_its_schedule(db: TestDb) {
    let clock = Arc::new(ManualClock::new(at("2025-04-28T09:00:00+03:00")));
    let f = fixture_on(&db, clock.clone()).await;
    let scheduler = Scheduler::new(f.desk.clone(), JobSettings::default());
    assert!(scheduler.tick(Job::DeadlineWatch).await.unwrap().is_some());
    assert!(scheduler.tick(Job::DeadlineWatch).await.unwrap().is_none());
    clock.advance(SignedDuration::from_secs(60));
    assert!(scheduler.tick(Job::DeadlineWatch).await.unwrap().is_some());

    // The review waits for 09:30, then runs once and is due the next working day.
    assert!(scheduler.tick(Job::DailyReview).await.unwrap().is_none());
    clock.set(at("2025-04-28T09:31:00+03:00"));
    assert_eq!(
        scheduler.tick(Job::DailyReview).await.unwrap().as_deref(),
        Some("review 2025-04-28 created")
    );
    assert!(scheduler.tick(Job::DailyReview).await.unwrap().is_none());
    let row = f.store().job("daily_review").await.unwrap().unwrap();
    assert_eq!(row.run_at, at("2025-04-29T09:30:00+03:00"));

    // Two servers on one database: exactly one runs a due job.
    let other_store = okno_store::open(&db.url).await.unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(files.path().to_owned());
    settings.clock = clock.clone();
    let other_desk = Desk::start(other_store, settings).await.unwrap();
    let other = Scheduler::new(other_desk, JobSettings::default());
    clock.set(at("2025-04-28T12:00:00+03:00"));
    let (a, b) = tokio::join!(scheduler.tick(Job::AutoClose), other.tick(Job::AutoClose));
    let ran = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(ran, 1);
}

async fn no_review_for_a_day_off_after_downtime(db: TestDb) {
    let clock = Arc::new(ManualClock::new(at("2025-04-24T09:31:00+03:00")));
    let f = fixture_on(&db, clock.clone()).await;
    let scheduler = Scheduler::new(f.desk.clone(), JobSettings::default());
    assert_eq!(
        scheduler.tick(Job::DailyReview).await.unwrap().as_deref(),
        Some("review 2025-04-24 created")
    );
    // Down from Thursday until Sunday noon: Friday's run is long due, but Sunday is a day
    // off, so no review is made; the next is Monday's.
    clock.set(at("2025-04-27T12:00:00+03:00"));
    assert!(scheduler.tick(Job::DailyReview).await.unwrap().is_some());
    let days: Vec<String> = f
        .store()
        .daily_reviews(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.day)
        .collect();
    assert_eq!(days, ["2025-04-24"]);
    let row = f.store().job("daily_review").await.unwrap().unwrap();
    assert_eq!(row.run_at, at("2025-04-28T09:30:00+03:00"));
    clock.set(at("2025-04-28T09:30:00+03:00"));
    assert_eq!(
        scheduler.tick(Job::DailyReview).await.unwrap().as_deref(),
        Some("review 2025-04-28 created")
    );

    // The rule itself: a working day from its review time on, never a day off.
    let calendar = f.desk.sla().calendars.get("ru-standard").unwrap();
    let review_at = JobSettings::default().review_at;
    let day = |t: &str| review_day(calendar, review_at, at(t)).map(|d| d.to_string());
    assert_eq!(day("2025-04-28T09:29:00+03:00"), None);
    assert_eq!(
        day("2025-04-28T17:00:00+03:00").as_deref(),
        Some("2025-04-28")
    );
    assert_eq!(day("2025-04-26T10:00:00+03:00"), None, "Saturday");
    assert_eq!(day("2025-05-01T10:00:00+03:00"), None, "a holiday");
}

async fn clock_pause_moves_deadlines_and_the_sla_report_counts_stages(db: TestDb) {
    let f = fixture(&db).await;
    let created = at("2025-04-28T09:00:00+03:00");
    let due = at("2025-04-29T12:00:00+03:00");
    let ticket = f.ticket("Пауза", created, Some(due)).await;
    f.step(
        ticket.id,
        created,
        vec![ChangeStep::EnterStage("classify".into())],
    )
    .await;
    f.store()
        .set_deadlines(ticket.id, Some(due), &[], created)
        .await
        .unwrap();

    // Waiting on the client from Monday 17:00 to Wednesday 10:00: 4 working hours were
    // left, so the deadlines move to Wednesday 15:00.
    let paused = at("2025-04-28T17:00:00+03:00");
    f.step(
        ticket.id,
        paused,
        vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
    )
    .await;
    f.desk.pause_clock(ticket.id, paused).await.unwrap();
    let resumed = at("2025-04-30T10:00:00+03:00");
    f.step(
        ticket.id,
        resumed,
        vec![ChangeStep::SetStatus(TicketStatus::InProgress)],
    )
    .await;
    f.desk.resume_clock(ticket.id, resumed).await.unwrap();
    f.desk.resume_clock(ticket.id, resumed).await.unwrap(); // running already: no change
    let moved = at("2025-04-30T15:00:00+03:00");
    let task = f.store().tasks(ticket.id).await.unwrap()[0].clone();
    assert_eq!(task.due_at, Some(moved));
    let current = f
        .store()
        .ticket(TicketScope::All, ticket.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.next_step_at, Some(moved));
    let history = f.store().history(ticket.id, true).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"clock_paused") && kinds.contains(&"clock_resumed"),
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "task_due").count(), 1);

    // Without anyone calling pause/resume, the watch's clock sync does it from the status
    // history, at the instants the status changed.
    let other = f.ticket("Пауза сама", created, Some(due)).await;
    f.step(
        other.id,
        paused,
        vec![ChangeStep::SetStatus(TicketStatus::WaitingClient)],
    )
    .await;
    assert_eq!(sync_clocks(&f.desk).await.unwrap(), 1);
    assert_eq!(sync_clocks(&f.desk).await.unwrap(), 0);
    f.step(
        other.id,
        resumed,
        vec![ChangeStep::SetStatus(TicketStatus::InProgress)],
    )
    .await;
    assert_eq!(sync_clocks(&f.desk).await.unwrap(), 1);
    let task = f.store().tasks(other.id).await.unwrap()[0].clone();
    assert_eq!(task.due_at, Some(moved));

    // Stage times: classify Monday 09:00–17:00 (7 working hours) and Wednesday 10:00–11:00;
    // answer from 11:00 to closing at 12:00. The wait does not count.
    f.step(
        ticket.id,
        at("2025-04-30T11:00:00+03:00"),
        vec![ChangeStep::EnterStage("answer".into())],
    )
    .await;
    f.step(
        ticket.id,
        at("2025-04-30T12:00:00+03:00"),
        vec![
            ChangeStep::SetStatus(TicketStatus::Closed),
            ChangeStep::Close,
        ],
    )
    .await;
    let now = at("2025-05-06T00:00:00Z");
    let sla = f.desk.ticket_sla(ticket.id, now).await.unwrap();
    let figures: Vec<(&str, i64, Option<i64>)> = sla
        .stages
        .iter()
        .map(|s| (s.stage.as_str(), s.spent_minutes, s.norm_minutes))
        .collect();
    assert_eq!(
        figures,
        vec![("classify", 8 * 60, Some(240)), ("answer", 60, Some(1440))]
    );
    assert!(sla.over_norm());
    // Tuesday's 8 working hours plus Monday 17–18 and Wednesday 9–10.
    assert_eq!(sla.waiting_client_minutes, 10 * 60);
    let report = f
        .desk
        .sla_report(at("2025-04-28T00:00:00Z"), at("2025-04-29T00:00:00Z"), now)
        .await
        .unwrap();
    assert_eq!(report.len(), 2);
    assert_eq!(report[0], sla);
    let none = f
        .desk
        .sla_report(at("2025-04-29T00:00:00Z"), at("2025-04-30T00:00:00Z"), now)
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// A process that stopped between writing a new ticket and running its route's automatic
/// step (the license-key route's first stage) leaves the route waiting; the job runs the
/// step once the route has been idle for [`ACTION_IDLE`], and not before.
async fn an_automatic_step_a_stopped_process_left_is_resumed(db: TestDb) {
    let created = at("2025-04-28T09:00:00+03:00");
    let clock = Arc::new(ManualClock::new(created + SignedDuration::from_mins(1)));
    let f = fixture_on(&db, clock.clone()).await;
    // What the desk writes before running the actions, and nothing after.
    let catalog = f.desk.catalog();
    let step = okno_workflow::start(catalog.latest("license-key").unwrap());
    assert!(
        step.effects
            .iter()
            .any(|e| matches!(e, okno_workflow::Effect::RunAction { .. })),
        "{:?}",
        step.effects
    );
    let change = TicketChange {
        actor: Some(f.contact),
        at: created,
        from_route: "{}".into(),
        route: serde_json::to_string(&step.state).unwrap(),
        complete: None,
        steps: Vec::new(),
        next_step_at: None,
        rank: None,
    };
    let ticket = NewTicket {
        service: "license-key".into(),
        subject: "Нужен ключ".into(),
        description: String::new(),
        client_id: f.client,
        requester_id: f.contact,
        draft: false,
    };
    let stuck = f
        .store()
        .create_routed_ticket(&ticket, &change)
        .await
        .unwrap();
    let waiting = |route: &str| {
        serde_json::from_str::<okno_workflow::RouteState>(route)
            .unwrap()
            .awaiting_action
    };
    assert!(waiting(&change.route).is_some());

    let scheduler = Scheduler::new(f.desk.clone(), JobSettings::default());
    assert_eq!(
        scheduler.tick(Job::ResumeActions).await.unwrap().as_deref(),
        Some("0 automatic steps resumed"),
        "a minute is not long enough to give up on the process running it"
    );
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(
        scheduler.tick(Job::ResumeActions).await.unwrap().as_deref(),
        Some("1 automatic steps resumed")
    );
    let okno_store::RoutedTicket {
        ticket: resumed,
        route,
        ..
    } = f.store().routed_ticket(stuck.id).await.unwrap().unwrap();
    assert_eq!(waiting(&route), None, "{route}");
    // ALFA has no license keys under a contract: the route gives the key to a person
    // instead — the ticket is no longer stuck, whichever way the step went.
    let open = f.store().tasks(stuck.id).await.unwrap();
    assert!(
        resumed.status == TicketStatus::Closed || open.iter().any(|t| t.state == TaskState::Open),
        "{resumed:?} {open:?}"
    );
    // Nothing waits any more.
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(
        scheduler.tick(Job::ResumeActions).await.unwrap().as_deref(),
        Some("0 automatic steps resumed")
    );
}

/// A contract's monthly hours limit, used up by the time logged on two tickets, raises one
/// alert for the client, the limit and the month, not one per ticket and not one per run;
/// the next month is a new cause (issue 18, defect 12).
async fn a_used_up_hours_limit_raises_one_alert_a_month(db: TestDb) {
    let f = fixture(&db).await;
    let admin = f
        .store()
        .create_user(&NewUser {
            email: Email::parse("admin@desk.test").unwrap(),
            name: "admin".into(),
            role: Role::Admin,
            client_id: None,
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let admin = f.store().user(admin).await.unwrap().unwrap();
    f.desk
        .save_contract(
            &admin,
            None,
            okno_desk::contracts::ContractInput {
                number: "H-1".into(),
                client: "ALFA".into(),
                starts_on: "2025-01-01".into(),
                ends_on: "2025-12-31".into(),
                tariff: 1_000.0,
                limits: vec![okno_desk::contracts::LimitInput {
                    value: Some(2.0),
                    unit: Some("hours".into()),
                    per: Some("month".into()),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let created = at("2025-04-28T10:00:00+03:00");
    let first = f.ticket("Отчёт", created, None).await;
    let second = f.ticket("Печать", created, None).await;
    let rules = okno_sla::WatchRules::default();
    let watch = |now: &str| {
        let desk = f.desk.clone();
        let now = at(now);
        async move { deadline_watch(&desk, &rules, now).await.unwrap() }
    };
    let log = |ticket: TicketId, from: &str, hours: i64| {
        let store = f.desk.store.clone();
        let (specialist, from) = (f.specialist, at(from));
        async move {
            store
                .add_time_entry(
                    specialist,
                    ticket,
                    None,
                    from,
                    Some(from + SignedDuration::from_hours(hours)),
                )
                .await
                .unwrap();
        }
    };
    log(first.id, "2025-04-28T08:00:00Z", 1).await;
    assert_eq!(watch("2025-04-28T12:00:00Z").await, WatchReport::default());
    log(second.id, "2025-04-28T10:00:00Z", 1).await;
    let report = watch("2025-04-28T12:00:00Z").await;
    let cause = format!("limit_used_up:client:{}:hours_per_month:2025-04", f.client);
    assert_eq!(report.raised, vec![cause.clone()]);
    // More time on either ticket, later runs: the same cause, no new alert.
    log(first.id, "2025-04-29T08:00:00Z", 1).await;
    assert!(watch("2025-04-29T12:00:00Z").await.raised.is_empty());
    let alerts = f.store().alerts(true).await.unwrap();
    let hours: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == "limit_used_up")
        .collect();
    assert_eq!(hours.len(), 1, "{alerts:?}");
    assert_eq!(hours[0].cause_key, cause);
    assert_eq!(
        hours[0].ticket_id, second.id,
        "filed on the ticket last worked on when used up"
    );
    assert!(hours[0].manager_task_id.is_some());
    // May is another period: used up again, alerted again, once.
    log(second.id, "2025-05-05T08:00:00Z", 2).await;
    assert_eq!(
        watch("2025-05-05T12:00:00Z").await.raised,
        vec![format!(
            "limit_used_up:client:{}:hours_per_month:2025-05",
            f.client
        )]
    );
    assert!(watch("2025-05-05T12:05:00Z").await.raised.is_empty());
}
