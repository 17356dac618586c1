//! An admin loads a newer production calendar (xmlcalendar.ru XML, data.gov.ru CSV) without a
//! release: new deadlines follow it at once and after a restart; tickets under way carry on.

use crate::common;

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use okno_desk::calendars::Section;
use okno_desk::{Desk, DeskError, Settings};
use okno_domain::{DomainError, ManualClock, Ticket};
use okno_sla::SourceFormat;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(a_loaded_production_calendar_moves_new_deadlines);

const XML_2027: &str = include_str!("../../../sla/tests/fixtures/xmlcalendar-ru-2027.xml");
const CSV: &str = include_str!("../../../sla/tests/fixtures/datagov-ru-2024-2027.csv");

/// The Moscow date of an instant.
fn moscow_date(at: Timestamp) -> Date {
    at.in_tz("Europe/Moscow").unwrap().date()
}

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

/// The due instant of the ticket's classify task (the reaction deadline's internal target).
async fn classify_due(desk: &Desk, ticket: &Ticket) -> Timestamp {
    desk.store
        .tasks(ticket.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "classify")
        .and_then(|t| t.due_at)
        .expect("a classify task with a deadline")
}

async fn a_loaded_production_calendar_moves_new_deadlines(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    // Friday 19 February 2027, 17:00 in Moscow: one working hour left in the week.
    let friday: Timestamp = "2027-02-19T17:00:00+03:00".parse().unwrap();
    let files = tempfile::tempdir().unwrap();
    let settings = || Settings {
        clock: Arc::new(ManualClock::new(friday)),
        ..Settings::new(files.path().to_owned())
    };
    let desk = Desk::start(db.store.clone(), settings()).await.unwrap();

    // The desk runs with the draft of 2027 (a working Saturday 13 November, Monday 22
    // February working and short).
    let shipped = desk
        .sla_file(&firm.admin, Section::Calendars, "holidays-ru")
        .unwrap();
    let draft = shipped
        .text
        .replace("\"2027-02-22\", \"2027-02-23\",", "\"2027-02-23\",")
        .replace(
            "working_days = [\"2027-02-20\"]",
            "working_days = [\"2027-11-13\"]",
        )
        .replace(
            "short_days = [\"2027-02-20\",",
            "short_days = [\"2027-02-22\",",
        );
    assert_ne!(draft, shipped.text);
    let draft_version = desk
        .publish_sla_file(&firm.admin, Section::Calendars, "holidays-ru", &draft)
        .await
        .unwrap();
    let before = desk
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    let due_before = classify_due(&desk, &before).await;
    assert_eq!(
        moscow_date(due_before),
        date("2027-02-22"),
        "the draft works Monday"
    );

    // Only an admin loads one; a damaged file is refused with its line, nothing changes.
    assert!(matches!(
        desk.import_production_calendar(&firm.manager, "calendar.xml", XML_2027.as_bytes())
            .await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));
    let damaged = XML_2027.replace("d=\"02.22\" t=\"1\"", "d=\"02.22\" t=\"9\"");
    let line = damaged.lines().position(|l| l.contains("t=\"9\"")).unwrap() + 1;
    match desk
        .import_production_calendar(&firm.admin, "calendar.xml", damaged.as_bytes())
        .await
    {
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            assert_eq!(e.field, "file");
            assert!(
                e.message
                    .starts_with(&format!("calendar.xml:{line}: t=\"9\"")),
                "{}",
                e.message
            );
        }
        other => panic!("a bad day type is refused: {other:?}"),
    }
    let belarus = XML_2027.replace("country=\"ru\"", "country=\"by\"");
    match desk
        .import_production_calendar(&firm.admin, "by.xml", belarus.as_bytes())
        .await
    {
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            assert!(e.message.contains("holidays-by"), "{}", e.message)
        }
        other => panic!("another country's calendar is refused: {other:?}"),
    }
    let running = desk
        .sla_file(&firm.admin, Section::Calendars, "holidays-ru")
        .unwrap();
    assert_eq!((running.version, running.text), (draft_version, draft));

    // The published calendar: Saturday 20 February works.
    let loaded = desk
        .import_production_calendar(&firm.admin, "calendar.xml", XML_2027.as_bytes())
        .await
        .unwrap();
    assert_eq!(loaded.list, "holidays-ru");
    assert_eq!(loaded.version, draft_version + 1);
    assert_eq!(loaded.format, SourceFormat::XmlCalendar);
    assert_eq!(
        loaded
            .years
            .iter()
            .map(|y| (y.year, y.working_days, y.hours_40))
            .collect::<Vec<_>>(),
        [(2027, 247, 1972)]
    );
    assert!(
        ["ru-standard", "nsk-standard"]
            .iter()
            .all(|c| loaded.calendars.iter().any(|l| l == c)),
        "{:?}",
        loaded.calendars
    );
    let list = desk
        .sla_file(&firm.admin, Section::Calendars, "holidays-ru")
        .unwrap();
    assert!(
        list.text.contains(
            "# Imported from calendar.xml (xmlcalendar.ru XML, dated 2026.09.02) on 2027-02-19."
        ),
        "{}",
        list.text
    );
    for code in ["ru-standard", "nsk-standard"] {
        let calendar = desk.sla().calendars.get(code).unwrap();
        let saturday_noon: Timestamp = "2027-02-20T09:00:00Z".parse().unwrap();
        assert!(calendar.is_working(saturday_noon), "{code} works on 20 Feb");
    }
    let after = desk
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    assert_eq!(
        moscow_date(classify_due(&desk, &after).await),
        date("2027-02-20")
    );
    let promised = after.next_step_at.expect("the reaction is promised");
    assert_eq!(moscow_date(promised), date("2027-02-20"), "{promised}");

    // The ticket opened before keeps its deadline and carries on.
    assert_eq!(classify_due(&desk, &before).await, due_before);
    let classify = desk
        .store
        .tasks(before.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "classify")
        .unwrap();
    desk.complete_task(&firm.line1, classify.id, "question", None)
        .await
        .unwrap();
    let next = common::open_tasks(&desk, before.id).await;
    assert!(!next.is_empty(), "the route moved on");

    // The same days from the data.gov.ru CSV, from the command line's entry: a new version,
    // the same deadlines.
    let from_csv = desk
        .import_production_calendar_from_console("proizvcalendar.csv", CSV.as_bytes())
        .await
        .unwrap();
    assert_eq!(from_csv.version, loaded.version + 1);
    assert_eq!(from_csv.format, SourceFormat::DataGovCsv);
    assert_eq!(from_csv.years.len(), 4);
    let again = desk
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    assert_eq!(
        classify_due(&desk, &again).await,
        classify_due(&desk, &after).await
    );

    // After a restart the loaded calendar is in force.
    let restarted = Desk::start(db.store.clone(), settings()).await.unwrap();
    let later = restarted
        .open_ticket(&firm.contact, common::input("question"))
        .await
        .unwrap();
    assert_eq!(
        moscow_date(classify_due(&restarted, &later).await),
        date("2027-02-20")
    );
    assert_eq!(
        restarted
            .sla_file(&firm.admin, Section::Calendars, "holidays-ru")
            .unwrap()
            .version,
        from_csv.version
    );
}
