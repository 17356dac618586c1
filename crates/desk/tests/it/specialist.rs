//! The specialist's day through the desk (issue 5), on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: queues in the order of the priority rules with
//! their explanations, taking the top task, distribution, timers and time entries,
//! planning, the iCalendar feed and personal figures.

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::DeskError;
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::{TimeFilter, TimeGroup};
use std::sync::Arc;

okno_store::on_both_backends!(
    queues_follow_the_priority_rules,
    distribution_suggests_and_assigns,
    timers_and_time_entries,
    a_finished_task_stops_its_timers,
    a_transfer_carries_its_reason,
    bulk_assignment_leaves_alert_tasks_to_managers,
    planning_load_feed_and_figures,
);

fn field(result: Result<impl std::fmt::Debug, DeskError>) -> &'static str {
    match result {
        Err(DeskError::Domain(DomainError::Invalid(e))) => e.field,
        other => panic!("expected a 422, got {other:?}"),
    }
}

/// A ticket from `who`, classified by line 1 with `class`: its develop task waits on line 3.
async fn classified(f: &Firm, who: &User, class: &str) -> (TicketId, TaskId) {
    let desk = &f.desk;
    let ticket = desk.open_ticket(who, input("question")).await.unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, classify.id, class, None)
        .await
        .unwrap();
    let develop = open_task(desk, ticket.id, "develop").await;
    (ticket.id, develop.id)
}

async fn queues_follow_the_priority_rules(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (_, bug_first) = classified(&f, &f.contact, "bug").await;
    let (bug_second_ticket, bug_second) = classified(&f, &f.contact, "bug").await;
    let (_, critical) = classified(&f, &f.other_contact, "critical").await;

    let ids = |entries: &[okno_desk::queue::QueueEntry]| -> Vec<TaskId> {
        entries.iter().map(|e| e.card.task.id).collect()
    };
    let dev = desk.work_queue(&f.dev, None, 50).await.unwrap();
    assert_eq!(
        ids(&dev),
        [critical, bug_first, bug_second],
        "critical first, then by due"
    );
    assert_eq!(dev[0].why[0], "критическая ошибка", "{:?}", dev[0].why);
    assert!(dev[0].why[1].starts_with("срок "), "{:?}", dev[0].why);
    assert_eq!(dev[1].why[0], "ошибка");

    // The client's URGENT mark counts as critical; the due instant then decides.
    desk.mark_urgent(&f.contact, bug_second_ticket, true)
        .await
        .unwrap();
    let dev = desk.work_queue(&f.dev, None, 50).await.unwrap();
    assert_eq!(ids(&dev), [critical, bug_second, bug_first]);
    assert_eq!(dev[1].why[0], "критическая ошибка (срочно)");

    // A director's tickets are always urgent: the other contact's critical stays first
    // (sooner due), and the first bug moves up once its requester is a director.
    desk.set_director(&f.manager, f.contact.id, true)
        .await
        .unwrap();
    let dev = desk.work_queue(&f.dev, None, 50).await.unwrap();
    assert_eq!(dev[0].card.task.id, critical);
    assert!(
        dev.iter().all(|e| e.why[0].starts_with("критическая")),
        "{:?}",
        dev.iter().map(|e| &e.why).collect::<Vec<_>>()
    );
    assert!(matches!(
        desk.set_director(&f.dev, f.contact.id, false).await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));

    // Line 1 goes by arrival only, whatever the marks.
    let older = desk
        .open_ticket(&f.other_contact, input("question"))
        .await
        .unwrap();
    let newer = desk
        .open_ticket(&f.other_contact, input("question"))
        .await
        .unwrap();
    desk.mark_urgent(&f.other_contact, newer.id, true)
        .await
        .unwrap();
    let line1 = desk.work_queue(&f.line1, None, 50).await.unwrap();
    let tickets: Vec<TicketId> = line1.iter().map(|e| e.card.task.ticket_id).collect();
    assert_eq!(tickets, [older.id, newer.id]);
    assert!(
        line1[0].why[0].starts_with("поступило "),
        "{:?}",
        line1[0].why
    );

    // Paging by cursor gives the same order.
    let first = desk.work_queue(&f.dev, None, 2).await.unwrap();
    let rest = desk
        .work_queue(&f.dev, Some(first[1].cursor), 2)
        .await
        .unwrap();
    assert_eq!(
        [ids(&first), ids(&rest)].concat(),
        ids(&desk.work_queue(&f.dev, None, 50).await.unwrap())
    );

    // Taking the top task is one call; the next call answers the same task, now the dev's.
    let top = desk.take_next(&f.dev).await.unwrap().unwrap();
    assert_eq!(top.card.task.id, critical);
    assert_eq!(top.card.task.assignee_id, Some(f.dev.id));
    assert_eq!(
        desk.take_next(&f.dev).await.unwrap().unwrap().card.task.id,
        critical
    );
    assert!(
        desk.take_next(&f.accountant).await.unwrap().is_none(),
        "an empty queue"
    );

    // A client has no queue.
    assert!(desk.work_queue(&f.contact, None, 10).await.is_err());
}

async fn distribution_suggests_and_assigns(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (ticket, develop) = classified(&f, &f.contact, "bug").await;
    let (other, _) = classified(&f, &f.contact, "bug").await;
    desk.set_service_skills(&f.manager, "question", &["1C".into(), " sql ".into()])
        .await
        .unwrap();
    desk.set_skills(&f.manager, f.line2.id, &["1c".into()])
        .await
        .unwrap();
    desk.set_skills(&f.manager, f.dev.id, &["1c".into(), "sql".into()])
        .await
        .unwrap();
    desk.set_specialist_priority(&f.manager, f.line2.id, "question", Some(1), "знает отчёты")
        .await
        .unwrap();
    assert_eq!(
        field(
            desk.set_specialist_priority(&f.manager, f.dev.id, "question", Some(0), "")
                .await
        ),
        "priority"
    );

    let list = desk.suggest_specialists(&f.manager, ticket).await.unwrap();
    assert_eq!(
        list[0].candidate.user, f.dev.id,
        "the full skill match first"
    );
    assert!(list[0].skills_match() && list[0].in_line);
    let line2 = list
        .iter()
        .find(|s| s.candidate.user == f.line2.id)
        .unwrap();
    assert_eq!(line2.missing_skills, ["sql"]);
    assert_eq!(line2.candidate.service_priority, Some(1));
    assert_eq!(line2.candidate.comment, "знает отчёты");
    assert!(
        list.iter().all(|s| s.candidate.user != f.contact.id),
        "staff only"
    );

    // Two tickets to three staff members in one action: each line-3 task goes to the dev,
    // the manager joins; line 2 does not work in line 3 and joins no task.
    let touched = desk
        .assign_tickets(
            &f.manager,
            &[ticket, other],
            &[f.line2.id, f.dev.id, f.manager.id],
        )
        .await
        .unwrap();
    assert_eq!(touched.assigned.len(), 2);
    assert!(touched.skipped.is_empty());
    let task = desk.store.task(develop).await.unwrap().unwrap();
    assert_eq!(task.assignee_id, Some(f.dev.id));
    assert_eq!(
        desk.store.coassignees(develop).await.unwrap(),
        [f.manager.id]
    );
    assert!(
        desk.work_queue(&f.line2, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing of line 3 in line 2's queue"
    );
    let dev = desk.suggest_specialists(&f.manager, ticket).await.unwrap();
    let dev = dev.iter().find(|s| s.candidate.user == f.dev.id).unwrap();
    assert_eq!(
        dev.candidate.open_tasks, 2,
        "load counts the assigned tasks"
    );

    assert!(matches!(
        desk.assign_tickets(&f.dev, &[ticket], &[f.dev.id]).await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));
    assert_eq!(
        field(
            desk.assign_tickets(&f.manager, &[ticket], &[f.contact.id])
                .await
        ),
        "specialists"
    );
    assert_eq!(
        field(desk.assign_tickets(&f.manager, &[], &[f.dev.id]).await),
        "tickets"
    );
}

/// Completing a task stops every timer running on it at the completion instant, whoever
/// runs it; a finished task takes no timer (issue 18, defect 10).
async fn a_finished_task_stops_its_timers(db: TestDb) {
    let start: Timestamp = "2026-12-08T07:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let f = firm_on(db.store, None, clock.clone()).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    let own = desk.start_timer(&f.line1, classify.id).await.unwrap();

    clock.advance(SignedDuration::from_mins(10));
    let classified_at = clock.now();
    desk.complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    assert!(desk.running_timer(&f.line1).await.unwrap().is_none());
    let stopped = desk
        .store
        .time_entry(own.started.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stopped.stopped_at,
        Some(classified_at),
        "stopped when completed"
    );
    assert!(
        matches!(
            desk.start_timer(&f.line1, classify.id).await,
            Err(DeskError::Domain(DomainError::Conflict(_)))
        ),
        "a finished task takes no timer"
    );

    // A manager timing the answer task: line 1 completes it (the ticket closes), and the
    // manager's timer stops then too.
    let answer = open_task(desk, ticket.id, "answer").await;
    let watching = desk.start_timer(&f.manager, answer.id).await.unwrap();
    clock.advance(SignedDuration::from_mins(25));
    let answered_at = clock.now();
    desk.complete_task(&f.line1, answer.id, "closed", Some("ответили"))
        .await
        .unwrap();
    let stopped = desk
        .store
        .time_entry(watching.started.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.stopped_at, Some(answered_at));
    assert!(desk.running_timer(&f.manager).await.unwrap().is_none());
    assert!(
        desk.store
            .timers_on_finished_tasks()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        desk.store
            .ticket(TicketScope::All, ticket.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        TicketStatus::Closed
    );
}

/// The reason for a transfer reaches the next line: the task's carried text and the
/// history event's detail (issue 18, defect 11).
async fn a_transfer_carries_its_reason(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    let moved = desk
        .transfer_task(&f.line1, classify.id, 2, " нужен опытный специалист ")
        .await
        .unwrap();
    assert_eq!(moved.task.line, Some(Line::new(2).unwrap()));
    assert_eq!(
        moved.task.summary.as_deref(),
        Some("нужен опытный специалист")
    );
    let seen = desk.task(&f.line2, classify.id).await.unwrap();
    assert_eq!(
        seen.task.summary.as_deref(),
        Some("нужен опытный специалист")
    );
    let history = desk.history(&f.line2, ticket.id).await.unwrap();
    let transfer = history.iter().find(|h| h.kind == "transferred").unwrap();
    assert_eq!(transfer.before.as_deref(), Some("line 1"));
    assert_eq!(
        transfer.after.as_deref(),
        Some("line 2: нужен опытный специалист")
    );

    // Sent on again: both reasons, in order.
    let again = desk
        .transfer_task(&f.line2, classify.id, 3, "нужен разработчик")
        .await
        .unwrap();
    assert_eq!(
        again.task.summary.as_deref(),
        Some("нужен опытный специалист\n\nнужен разработчик")
    );
}

/// Bulk assignment gives a specialist only the tasks of their lines and pools: the
/// manager's alert task on the same ticket stays in the manager pool, and the answer says
/// it was skipped (issue 18, defect 8).
async fn bulk_assignment_leaves_alert_tasks_to_managers(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    let alert = desk
        .store
        .raise_alert(
            &okno_store::NewAlert {
                kind: "breached".into(),
                ticket_id: ticket.id,
                task_id: Some(classify.id),
                cause_key: format!("breached:task:{}", classify.id),
                detail: "test".into(),
                title: "Срок нарушен".into(),
                priority: 100,
            },
            desk.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let alert_task = alert.manager_task_id.unwrap();

    let done = desk
        .assign_tickets(&f.manager, &[ticket.id], &[f.line1.id, f.line2.id])
        .await
        .unwrap();
    assert_eq!(done.assigned, [classify.id]);
    assert_eq!(done.skipped.len(), 1, "{done:?}");
    assert_eq!(done.skipped[0].task, alert_task);
    assert!(done.skipped[0].reason.contains("pool manager"));
    let kept = desk.store.task(alert_task).await.unwrap().unwrap();
    assert_eq!(
        kept.assignee_id, None,
        "the alert task stays in the manager pool"
    );
    assert!(desk.store.coassignees(alert_task).await.unwrap().is_empty());
    assert_eq!(
        desk.store
            .task(classify.id)
            .await
            .unwrap()
            .unwrap()
            .assignee_id,
        Some(f.line1.id)
    );
    assert!(
        desk.store
            .coassignees(classify.id)
            .await
            .unwrap()
            .is_empty(),
        "line 2 does not join a line-1 task"
    );

    // A manager chosen too takes the alert task.
    let done = desk
        .assign_tickets(&f.manager, &[ticket.id], &[f.line2.id, f.manager.id])
        .await
        .unwrap();
    assert!(done.assigned.contains(&alert_task) && done.skipped.is_empty());
    assert_eq!(
        desk.store
            .task(alert_task)
            .await
            .unwrap()
            .unwrap()
            .assignee_id,
        Some(f.manager.id)
    );
}

async fn timers_and_time_entries(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (ticket, first) = classified(&f, &f.contact, "bug").await;
    let (_, second) = classified(&f, &f.contact, "bug").await;

    let one = desk.start_timer(&f.dev, first).await.unwrap();
    assert!(one.stopped.is_none());
    assert_eq!(one.started.ticket, ticket);
    let two = desk.start_timer(&f.dev, second).await.unwrap();
    let stopped = two.stopped.expect("starting another timer stops the first");
    assert_eq!(stopped.id, one.started.id);
    assert!(stopped.stopped_at.is_some());
    assert_eq!(
        desk.running_timer(&f.dev).await.unwrap().unwrap().id,
        two.started.id
    );
    desk.stop_timer(&f.dev).await.unwrap();
    assert!(matches!(
        desk.stop_timer(&f.dev).await,
        Err(DeskError::Domain(DomainError::Conflict(_)))
    ));

    let now = Timestamp::now();
    let ago = |minutes: i64| now - SignedDuration::from_mins(minutes);
    let manual = desk
        .add_time_entry(&f.dev, first, ago(120), ago(60), "созвон с клиентом")
        .await
        .unwrap();
    assert!(manual.manual);
    assert_eq!(manual.seconds(now), 3600);
    assert_eq!(
        field(
            desk.add_time_entry(&f.dev, first, ago(90), ago(30), "")
                .await
        ),
        "started_at",
        "overlapping entries are refused"
    );
    assert_eq!(
        field(
            desk.add_time_entry(
                &f.dev,
                first,
                ago(10),
                now + SignedDuration::from_mins(30),
                ""
            )
            .await
        ),
        "stopped_at",
        "an entry in the future"
    );
    assert_eq!(
        field(
            desk.add_time_entry(&f.dev, first, ago(200), ago(210), "")
                .await
        ),
        "stopped_at",
        "a negative duration"
    );
    // Another person's entries do not clash with the dev's.
    desk.add_time_entry(&f.manager, first, ago(90), ago(30), "")
        .await
        .unwrap();

    // A correction keeps what the entry was.
    let corrected = desk
        .correct_time_entry(&f.dev, manual.id, ago(150), ago(60), "начали раньше")
        .await
        .unwrap();
    assert_eq!(corrected.seconds(now), 90 * 60);
    let history = desk.time_entry_history(&f.dev, manual.id).await.unwrap();
    assert_eq!(history.len(), 2, "the manual entry and its correction");
    assert_eq!(history[1].before.0, Some(manual.started_at));
    assert_eq!(history[1].reason, "начали раньше");
    assert!(
        matches!(
            desk.correct_time_entry(&f.line1, manual.id, ago(150), ago(60), "x")
                .await,
            Err(DeskError::Domain(DomainError::NotFound(_)))
        ),
        "someone else's entry is not found"
    );

    // Totals: the dev sees their own time; the manager everyone's.
    let by_task = desk
        .time_totals(&f.dev, TimeGroup::Task, TimeFilter::default())
        .await
        .unwrap();
    let on_first = by_task.iter().find(|(k, _)| *k == first.0).unwrap().1;
    assert!((90 * 60..90 * 60 + 60).contains(&on_first), "{by_task:?}");
    let by_user = desk
        .time_totals(
            &f.manager,
            TimeGroup::User,
            TimeFilter {
                ticket: Some(ticket),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_user.len(), 2, "{by_user:?}");
    let by_client = desk
        .time_totals(&f.manager, TimeGroup::Client, TimeFilter::default())
        .await
        .unwrap();
    assert_eq!(by_client.len(), 1);
    assert_eq!(by_client[0].0, f.client.0);
    assert!(by_client[0].1 >= 90 * 60 + 60 * 60);

    // The workday map: the day's intervals per task. The day is the one holding the last
    // minute of the corrected entry: just after midnight (desk time) today's only interval
    // on the task would be the timer's, a few milliseconds long.
    let today = ago(61).to_zoned_datetime(desk.desk_zone()).date();
    let day = desk.workday(&f.dev, f.dev.id, today).await.unwrap();
    let row = day.rows.iter().find(|r| r.task == Some(first)).unwrap();
    assert!(!row.intervals.is_empty());
    assert!(day.seconds >= row.seconds);
    let per_day = desk
        .time_per_day(&f.dev, f.dev.id, ago(24 * 60), now)
        .await
        .unwrap();
    let last_day: i64 = per_day.iter().map(|d| d.1).sum();
    assert!(
        last_day >= 90 * 60 && last_day >= day.seconds,
        "{per_day:?}"
    );
}

fn plan(minutes: i64) -> PlanMinutes {
    PlanMinutes::parse(minutes).unwrap()
}

async fn planning_load_feed_and_figures(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (_, first) = classified(&f, &f.contact, "bug").await;
    let (_, second) = classified(&f, &f.contact, "bug").await;
    desk.take_task(&f.dev, first).await.unwrap();
    desk.take_task(&f.dev, second).await.unwrap();

    // Monday 1 March 2027, a working day of 8 hours in the default calendar.
    let monday: Timestamp = "2027-03-01T07:00:00Z".parse().unwrap();
    desk.plan_task(&f.dev, first, Some((monday, plan(300))))
        .await
        .unwrap();
    assert_eq!(
        field(
            desk.plan_task(&f.dev, second, Some((monday, plan(200))))
                .await
        ),
        "minutes",
        "500 minutes do not fit an 8-hour day"
    );
    for absurd in [0, -1, 1441, i64::MAX] {
        assert_eq!(PlanMinutes::parse(absurd).unwrap_err().field, "minutes");
    }
    let sunday: Timestamp = "2027-02-28T07:00:00Z".parse().unwrap();
    assert_eq!(
        field(
            desk.plan_task(&f.dev, second, Some((sunday, plan(60))))
                .await
        ),
        "planned_at"
    );
    desk.plan_task(
        &f.dev,
        second,
        Some((monday + SignedDuration::from_hours(6), plan(180))),
    )
    .await
    .unwrap();
    assert!(matches!(
        desk.plan_task(&f.line2, first, Some((monday, plan(30))))
            .await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));

    let load = desk.load(&f.manager, None, monday, 2).await.unwrap();
    let monday_load = load
        .iter()
        .find(|d| d.user == f.dev.id && d.day.to_string() == "2027-03-01")
        .unwrap();
    assert_eq!(monday_load.planned_minutes, 480);
    assert_eq!(monday_load.working_minutes, 480);
    assert_eq!(monday_load.planned_tasks, 2);

    let secret = desk.new_calendar_feed(&f.dev).await.unwrap();
    let feed = desk.calendar_feed(&secret, "okno.test").await;
    // The plans are in 2027, beyond the feed's 90 days ahead unless "now" is close.
    let feed = feed.unwrap();
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(matches!(
        desk.calendar_feed("not-the-secret", "okno.test").await,
        Err(DeskError::Domain(DomainError::NotFound(_)))
    ));
    let renewed = desk.new_calendar_feed(&f.dev).await.unwrap();
    assert!(
        desk.calendar_feed(&secret, "okno.test").await.is_err(),
        "the old URL stops"
    );
    // A plan close to now is in the feed (set in the store: the day may be a weekend).
    let soon = Timestamp::now() + SignedDuration::from_hours(24 * 3);
    let (_, third) = classified(&f, &f.contact, "bug").await;
    desk.take_task(&f.dev, third).await.unwrap();
    desk.store.plan_task(third, Some((soon, 30))).await.unwrap();
    let feed = desk.calendar_feed(&renewed, "okno.test").await.unwrap();
    assert!(
        feed.contains(&format!("UID:task-{third}@okno.test")),
        "{feed}"
    );

    // Figures: a task closed today, time logged today.
    let now = Timestamp::now();
    desk.add_time_entry(
        &f.dev,
        second,
        now - SignedDuration::from_mins(3),
        now - SignedDuration::from_mins(1),
        "",
    )
    .await
    .unwrap();
    desk.complete_task(&f.dev, second, "done", None)
        .await
        .unwrap();
    let figures = desk.personal_figures(&f.dev, None).await.unwrap();
    assert_eq!(figures.today.closed, 1);
    assert!(figures.week.closed >= 1);
    assert!(figures.today.logged_seconds >= 100, "{figures:?}");
    assert_eq!(figures.today.overdue, 0);
    assert!(desk.personal_figures(&f.contact, None).await.is_err());
}
