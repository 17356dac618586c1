//! A client's own calendar decides its tickets' task deadlines (per-client calendars, issue 4).

mod common;

use jiff::{SignedDuration, Timestamp};
use okno_desk::deadlines::{SlaTerms, task_due};
use okno_desk::tickets::TicketInput;
use okno_store::testing::TestDb;
use okno_workflow::Norm;

okno_store::on_both_backends!(a_clients_calendar_counts_its_deadlines);

async fn a_clients_calendar_counts_its_deadlines(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let store = &firm.desk.store;
    store
        .set_client_calendar(firm.client, Some("nsk-standard"))
        .await
        .unwrap();
    assert_eq!(
        store.client_calendar(firm.client).await.unwrap().as_deref(),
        Some("nsk-standard")
    );

    let input = TicketInput {
        service: "question".into(),
        subject: "Вопрос из Новосибирска".into(),
        description: String::new(),
        client: None,
        draft: false,
    };
    let before = Timestamp::now() - SignedDuration::from_secs(1);
    let ticket = firm.desk.open_ticket(&firm.contact, input).await.unwrap();
    let after = Timestamp::now() + SignedDuration::from_secs(1);

    let classify = store
        .tasks(ticket.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "classify")
        .unwrap();
    let due = classify
        .due_at
        .expect("the classify task has the reaction deadline");
    let nsk = SlaTerms::resolve(&firm.desk.sla, None, Some("nsk-standard")).unwrap();
    let bound = |at| {
        task_due(&nsk, None, Some("classify"), Norm::Reaction, at)
            .unwrap()
            .internal
    };
    assert!(
        bound(before) <= due && due <= bound(after),
        "{due} not within Novosibirsk's deadline window"
    );
    assert!(
        nsk.calendar.is_working(due - SignedDuration::from_secs(1)),
        "{due} ends in Novosibirsk working time"
    );
    assert_eq!(
        store.ticket_calendar(ticket.id).await.unwrap().as_deref(),
        Some("nsk-standard")
    );
}
