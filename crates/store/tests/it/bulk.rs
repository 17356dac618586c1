//! The benchmark loader (issue 5's `okno bench queue`) on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: generated rows go in by multi-row INSERTs or COPY,
//! text with tabs, newlines and backslashes intact, with the secondary indexes dropped
//! for the load and created again after it.

use jiff::{SignedDuration, Timestamp};
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::*;

okno_store::on_both_backends!(bulk_load_without_indexes_and_back);

async fn bulk_load_without_indexes_and_back(db: TestDb) {
    let store = &*db.store;
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
    let contact = store
        .create_user(&person("c@alfa.test", Role::Client, Some(client), vec![]))
        .await
        .unwrap();
    let dev = store
        .create_user(&person(
            "dev@desk.test",
            Role::Specialist,
            None,
            vec![Line::new(2).unwrap()],
        ))
        .await
        .unwrap();

    let suspended = store.suspend_indexes().await.unwrap();
    assert!(suspended.len() >= 10, "{suspended:?}");
    assert!(
        store.suspend_indexes().await.unwrap().is_empty(),
        "every secondary index is gone"
    );

    let t0 = Timestamp::from_second(1_750_000_000).unwrap();
    let tickets: Vec<BulkTicket> = (0..250)
        .map(|i| BulkTicket {
            service: "question".into(),
            subject: format!("Обращение {i}\tс табом\nи \\ строкой"),
            status: if i % 5 == 0 {
                TicketStatus::Closed
            } else {
                TicketStatus::InProgress
            },
            classification: (i % 3 == 0).then_some(Classification::Bug),
            client,
            requester: contact,
            urgent: i % 7 == 0,
            created_at: t0 + SignedDuration::from_mins(i),
        })
        .collect();
    // One open line-2 task per open ticket, ranked in reverse order of the tickets.
    let tasks: Vec<BulkTask> = (0..250)
        .filter(|i| i % 5 != 0)
        .map(|i| BulkTask {
            ticket: i,
            kind: "develop",
            line: Some(Line::new(2).unwrap()),
            pool: None,
            assignee: None,
            due_at: Some(t0 + SignedDuration::from_hours(1)),
            priority: 50,
            state: TaskState::Open,
            created_at: t0,
            rank: 1_000 - i as i64,
        })
        .collect();
    // Two loads: ids continue after the first.
    store
        .bulk_load(&tickets[..100], &tasks[..80])
        .await
        .unwrap();
    let rest: Vec<BulkTask> = tasks[80..]
        .iter()
        .map(|k| BulkTask {
            ticket: k.ticket - 100,
            ..k.clone()
        })
        .collect();
    store.bulk_load(&tickets[100..], &rest).await.unwrap();
    store.restore_indexes(suspended).await.unwrap();
    store.analyze().await.unwrap();
    let again = store.suspend_indexes().await.unwrap();
    assert!(again.len() >= 10);
    store.restore_indexes(again).await.unwrap();

    let loaded = store
        .ticket(TicketScope::All, TicketId(250))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.subject, "Обращение 249\tс табом\nи \\ строкой");
    assert_eq!(loaded.status, TicketStatus::InProgress);
    assert_eq!(loaded.classification, Some(Classification::Bug));
    assert_eq!(store.open_task_count().await.unwrap(), 200);

    let page = store
        .queue(&QueueQuery {
            user: dev,
            lines: vec![Line::new(2).unwrap()],
            pools: vec![],
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    let tickets: Vec<i64> = page.iter().map(|item| item.task.ticket_id.0).collect();
    assert_eq!(
        tickets,
        [250, 249, 248, 247, 245, 244, 243, 242, 240, 239],
        "the queue index is back, in rank order"
    );
}
