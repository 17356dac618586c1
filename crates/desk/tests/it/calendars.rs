//! A client's own calendar decides its tickets' task deadlines (per-client calendars, issue 4).

use crate::common;

use jiff::{SignedDuration, Timestamp};
use okno_desk::calendars::Section;
use okno_desk::deadlines::{SlaTerms, task_due};
use okno_desk::tickets::TicketInput;
use okno_desk::{Desk, DeskError, Settings};
use okno_domain::{DomainError, Ticket};
use okno_store::testing::TestDb;
use okno_workflow::Norm;

okno_store::on_both_backends!(
    a_clients_calendar_counts_its_deadlines,
    an_admin_edits_calendars_and_levels_and_new_deadlines_follow,
);

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
        requester: None,
        draft: false,
    };
    let before = Timestamp::now() - SignedDuration::from_secs(1);
    let ticket = firm.desk.open_ticket(&firm.contact, input).await.unwrap();
    let after = Timestamp::now() + SignedDuration::from_secs(1);

    let classify = classify_task(&firm.desk, &ticket).await;
    let due = classify
        .due_at
        .expect("the classify task has the reaction deadline");
    let nsk = SlaTerms::resolve(firm.desk.sla(), None, Some("nsk-standard")).unwrap();
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

/// The ticket's classify task (its first, with the reaction deadline).
async fn classify_task(desk: &Desk, ticket: &Ticket) -> okno_domain::Task {
    desk.store
        .tasks(ticket.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "classify")
        .unwrap()
}

/// Working minutes from the ticket's creation to its classify task's deadline, in the
/// ticket's calendar.
async fn classify_minutes(desk: &Desk, ticket: &Ticket) -> i64 {
    let classify = classify_task(desk, ticket).await;
    let calendar = desk.sla().calendars.get("ru-standard").unwrap();
    calendar.working_minutes_between(ticket.created_at, classify.due_at.unwrap())
}

async fn an_admin_edits_calendars_and_levels_and_new_deadlines_follow(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let desk = &firm.desk;
    let level = desk
        .sla_file(&firm.admin, Section::SupportLevels, "standard")
        .unwrap();
    assert_eq!(level.version, 1);
    assert!(level.text.contains("classify = \"4h\""));

    // The stage norm is 4h; a third of it is the internal target.
    let before = desk
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    assert!((79..=81).contains(&classify_minutes(desk, &before).await));

    // A mistake is refused with its file and line; nothing changes.
    let broken = level
        .text
        .replace("classify = \"4h\"", "classify = \"6 hours\"");
    let line = broken.lines().position(|l| l.contains("6 hours")).unwrap() + 1;
    match desk
        .publish_sla_file(&firm.admin, Section::SupportLevels, "standard", &broken)
        .await
    {
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            assert_eq!(e.field, "support_level");
            assert!(
                e.message
                    .starts_with(&format!("support-levels/standard.toml:{line}: ")),
                "{}",
                e.message
            );
        }
        other => panic!("a bad norm is refused: {other:?}"),
    }
    assert_eq!(
        desk.sla().level("standard").unwrap().stages["classify"],
        240
    );

    // Only an admin edits; a file that is not there is not found.
    let fixed = level.text.replace("classify = \"4h\"", "classify = \"6h\"");
    assert!(matches!(
        desk.publish_sla_file(&firm.manager, Section::SupportLevels, "standard", &fixed)
            .await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));
    assert!(matches!(
        desk.publish_sla_file(&firm.admin, Section::SupportLevels, "gold", &fixed)
            .await,
        Err(DeskError::Domain(DomainError::NotFound(_)))
    ));

    // Saved: new tickets count by it at once; the earlier ticket keeps its deadline.
    let version = desk
        .publish_sla_file(&firm.admin, Section::SupportLevels, "standard", &fixed)
        .await
        .unwrap();
    assert_eq!(version, 2);
    let after = desk
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    assert!((119..=121).contains(&classify_minutes(desk, &after).await));
    assert!((79..=81).contains(&classify_minutes(desk, &before).await));

    // A holiday added to the production calendar, and Saturday made a working day.
    let holidays = desk
        .sla_file(&firm.admin, Section::Calendars, "holidays-ru")
        .unwrap();
    let added = holidays
        .text
        .replacen("\"2027-02-23\",", "\"2027-02-23\", \"2027-06-15\",", 1);
    assert_ne!(added, holidays.text);
    desk.publish_sla_file(&firm.admin, Section::Calendars, "holidays-ru", &added)
        .await
        .unwrap();
    let calendar = desk
        .sla_file(&firm.admin, Section::Calendars, "ru-standard")
        .unwrap();
    let saturday = calendar.text.replace(
        "friday    = [\"09:00-13:00\", \"14:00-18:00\"]",
        "friday    = [\"09:00-13:00\", \"14:00-18:00\"]\nsaturday  = [\"10:00-14:00\"]",
    );
    assert_ne!(saturday, calendar.text);
    desk.publish_sla_file(&firm.admin, Section::Calendars, "ru-standard", &saturday)
        .await
        .unwrap();
    let june_15: jiff::civil::Date = "2027-06-15".parse().unwrap();
    let check = |desk: &Desk| {
        let schedule = desk
            .sla()
            .calendars
            .get("ru-standard")
            .unwrap()
            .schedule()
            .clone();
        assert!(schedule.special_days.holidays.contains(&june_15));
        assert_eq!(schedule.week[5].len(), 1, "Saturday works 10–14");
        assert_eq!(
            desk.sla().level("standard").unwrap().stages["classify"],
            360
        );
    };
    check(desk.as_ref());

    // A calendar's code stays: levels, clients and contracts name it.
    let renamed = saturday.replace("code = \"ru-standard\"", "code = \"ru-other\"");
    let refused = desk
        .publish_sla_file(&firm.admin, Section::Calendars, "ru-standard", &renamed)
        .await;
    assert!(
        matches!(&refused, Err(DeskError::Domain(DomainError::Invalid(e))) if e.message.contains("ru-standard")),
        "{refused:?}"
    );

    // After a restart the saved versions are in force again.
    let files = tempfile::tempdir().unwrap();
    let restarted = Desk::start(db.store.clone(), Settings::new(files.path().to_owned()))
        .await
        .unwrap();
    check(restarted.as_ref());
    assert_eq!(
        restarted
            .sla_file(&firm.admin, Section::SupportLevels, "standard")
            .unwrap()
            .version,
        2
    );
    // Workflows are not confused by the calendar files kept beside them.
    assert_eq!(restarted.catalog().latest("question").unwrap().version, 1);
}
