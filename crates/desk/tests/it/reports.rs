//! Reports (issue 21): figures from history that a later norm change leaves alone, every
//! filter, bad input, and exports equal to the JSON.

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::DeskError;
use okno_desk::calendars::Section;
use okno_desk::contracts::ContractInput;
use okno_desk::reports::{Cell, Report, ReportParams};
use okno_domain::*;
use okno_store::testing::TestDb;
use std::sync::Arc;

okno_store::on_both_backends!(
    a_past_month_keeps_its_figures_when_the_norm_changes,
    filters_naming_nothing_and_odd_periods_answer,
    money_counts_spent_and_billed_time_per_contract,
);

/// A Monday, 10:00 in Moscow: working time on ru-standard.
const START: &str = "2026-11-02T10:00:00+03:00";

async fn firm_at_start(db: TestDb) -> (Firm, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START.parse::<Timestamp>().unwrap()));
    (firm_on(db.store, None, clock.clone()).await, clock)
}

fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

/// A question classified after `classify` minutes and answered and closed `answer`
/// minutes later, by line 1.
async fn answered(f: &Firm, clock: &ManualClock, classify: i64, answer: i64) -> Ticket {
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    clock.advance(minutes(classify));
    let task = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, task.id, "question", None)
        .await
        .unwrap();
    clock.advance(minutes(answer));
    let task = open_task(desk, ticket.id, "answer").await;
    let closed = desk
        .complete_task(&f.line1, task.id, "closed", None)
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    closed
}

fn params(from: &str, to: &str) -> ReportParams {
    ReportParams {
        from: Some(from.into()),
        to: Some(to.into()),
        ..Default::default()
    }
}

async fn report(f: &Firm, name: &str, p: &ReportParams) -> Report {
    let desk = &f.desk;
    let today = desk
        .now()
        .to_zoned_datetime(desk.reports().desk_zone())
        .date();
    let request = p.parse(name, today).unwrap();
    desk.reports().build(&f.manager, &request).await.unwrap()
}

/// The cells of `column` in the rows of `table` whose `key` column is `value`.
fn cells(r: &Report, table: &str, key: &str, value: &str, column: &str) -> Vec<Cell> {
    let t = r.table(table).unwrap();
    let k = t.columns.iter().position(|c| *c == key).unwrap();
    let c = t.columns.iter().position(|c| *c == column).unwrap();
    t.rows
        .iter()
        .filter(|row| row[k].plain() == value)
        .map(|row| row[c].clone())
        .collect()
}

async fn a_past_month_keeps_its_figures_when_the_norm_changes(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    let first = answered(&f, &clock, 30, 60).await;
    desk.rate_ticket(&f.contact, first.id, 4, "Быстро, спасибо")
        .await
        .unwrap();
    let november = params("2026-11-01", "2026-11-30");
    let sla = report(&f, "sla", &november).await;
    let number = first.number().to_string();
    let classify = |r: &Report, column: &str| {
        cells(r, "rows", "ticket", &number, column)
            .into_iter()
            .zip(cells(r, "rows", "ticket", &number, "stage"))
            .find(|(_, stage)| stage.plain() == "classify")
            .map(|(cell, _)| cell)
            .unwrap()
    };
    assert_eq!(classify(&sla, "spent_minutes"), Cell::Int(30));
    assert_eq!(classify(&sla, "norm_minutes"), Cell::Int(240));
    assert_eq!(classify(&sla, "met"), Cell::Bool(true));
    assert_eq!(
        cells(&sla, "by_client", "key", "ALFA", "tickets"),
        [Cell::Int(1)]
    );
    // The tasks with their deadlines, as set when each was created.
    let tasks = sla.table("tasks").unwrap();
    assert_eq!(tasks.rows.len(), 2, "{tasks:?}");

    // The admin tightens the classification norm to ten minutes.
    let level = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/support-levels/standard.toml"),
    )
    .unwrap()
    .replace("classify = \"4h\"", "classify = \"10m\"");
    desk.publish_sla_file(&f.admin, Section::SupportLevels, "standard", &level)
        .await
        .unwrap();
    let again = report(&f, "sla", &november).await;
    assert_eq!(classify(&again, "norm_minutes"), Cell::Int(240));
    assert_eq!(classify(&again, "met"), Cell::Bool(true));
    // A ticket closed since counts against the new norm.
    clock.advance(SignedDuration::from_hours(24));
    let second = answered(&f, &clock, 30, 5).await;
    let later = report(&f, "sla", &november).await;
    let rows = later.table("rows").unwrap();
    let stage = rows.columns.iter().position(|c| *c == "stage").unwrap();
    let norm = rows
        .columns
        .iter()
        .position(|c| *c == "norm_minutes")
        .unwrap();
    let ticket = rows.columns.iter().position(|c| *c == "ticket").unwrap();
    let second_classify = rows
        .rows
        .iter()
        .find(|r| {
            r[ticket].plain() == second.number().to_string() && r[stage].plain() == "classify"
        })
        .unwrap();
    assert_eq!(second_classify[norm], Cell::Int(10));
    assert_eq!(classify(&later, "norm_minutes"), Cell::Int(240));

    // Flow: two new, two closed, reaction and resolution medians from the settled times.
    let flow = report(&f, "flow", &november).await;
    assert_eq!(
        cells(&flow, "rows", "period", "2026-11-02", "new"),
        [Cell::Int(1)]
    );
    assert_eq!(
        cells(&flow, "rows", "period", "2026-11-02", "closed"),
        [Cell::Int(1)]
    );
    assert_eq!(
        cells(&flow, "rows", "period", "2026-11-03", "closed"),
        [Cell::Int(1)]
    );
    assert_eq!(
        flow.table("rows").unwrap().rows.len(),
        30,
        "every day of the month"
    );
    assert_eq!(
        cells(&flow, "times", "measure", "resolution", "tickets"),
        [Cell::Int(2)]
    );
    assert_eq!(
        cells(&flow, "times", "measure", "resolution", "p90_minutes"),
        [Cell::Int(90)]
    );

    // Ratings with the comment; the specialist is line 1 (who closed it).
    let ratings = report(&f, "ratings", &november).await;
    assert_eq!(
        cells(&ratings, "rows", "ticket", &number, "comment"),
        [Cell::Text("Быстро, спасибо".into())]
    );
    assert_eq!(
        cells(&ratings, "by_specialist", "key", "line1", "average"),
        [Cell::Number(4.0)]
    );

    // The exports carry the JSON's figures.
    let json = sla.json();
    assert_eq!(json["by_client"][0]["tickets"], 1);
    let csv = String::from_utf8(sla.csv().unwrap()).unwrap();
    assert!(
        csv.contains(&format!("{number},ALFA,question,question")),
        "{csv}"
    );
    assert!(csv.contains(",classify,30,240,true,true,"), "{csv}");
}

async fn filters_naming_nothing_and_odd_periods_answer(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    answered(&f, &clock, 10, 10).await;
    for (name, field) in [
        ("client", "NOPE"),
        ("specialist", "nobody@demo.okno"),
        ("specialist", "client@alfa.demo"),
        ("service", "no-such-service"),
        ("line", "4"),
    ] {
        let mut p = params("2026-11-01", "2026-11-30");
        match name {
            "client" => p.client = Some(field.into()),
            "specialist" => p.specialist = Some(field.into()),
            "service" => p.service = Some(field.into()),
            _ => p.line = Some(field.into()),
        }
        for report_name in ["sla", "ratings", "money"] {
            let r = report(&f, report_name, &p).await;
            assert!(
                r.table("rows").unwrap().rows.is_empty(),
                "{report_name} with {name}={field}"
            );
        }
        let flow = report(&f, "flow", &p).await;
        assert_eq!(
            cells(&flow, "rows", "period", "2026-11-02", "new"),
            [Cell::Int(0)]
        );
    }
    // The filters that name the ticket keep it.
    let mut p = params("2026-11-01", "2026-11-30");
    p.client = Some("alfa".into());
    p.line = Some("1".into());
    p.specialist = Some("line1@demo.okno".into());
    assert_eq!(
        report(&f, "sla", &p)
            .await
            .table("tasks")
            .unwrap()
            .rows
            .len(),
        2
    );
    // An empty period and a ten-year one answer.
    let empty = report(&f, "flow", &params("2030-01-01", "2030-01-01")).await;
    assert_eq!(empty.table("rows").unwrap().rows.len(), 1);
    let decade = report(&f, "flow", &params("2017-01-01", "2026-12-31")).await;
    assert_eq!(decade.table("rows").unwrap().rows.len(), 120, "months");
    for name in ["sla", "ratings", "money"] {
        report(&f, name, &params("2017-01-01", "2026-12-31")).await;
    }
    // Only managers and admins read reports.
    let request = params("2026-11-01", "2026-11-30")
        .parse("sla", jiff::civil::date(2026, 11, 2))
        .unwrap();
    for user in [&f.line1, &f.contact] {
        assert!(matches!(
            desk.reports().build(user, &request).await,
            Err(DeskError::Domain(DomainError::Forbidden(_)))
        ));
    }
    assert!(desk.reports().build(&f.admin, &request).await.is_ok());
}

async fn money_counts_spent_and_billed_time_per_contract(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    let contract = ContractInput {
        number: "D-7".into(),
        client: "ALFA".into(),
        starts_on: "2026-10-01".into(),
        ends_on: "2026-12-31".into(),
        support_level: None,
        services: Vec::new(),
        tariff: 10_000.0,
        hourly_rate: 2_000.0,
        after_hours_rate: 0.0,
        rounding_minutes: 15,
        billable_services: Vec::new(),
        limits: Vec::new(),
        limit_reaction: None,
        external_id: None,
    };
    desk.save_contract(&f.manager, None, contract)
        .await
        .unwrap();
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let task = open_task(desk, ticket.id, "classify").await;
    let started = desk.now();
    clock.advance(minutes(40));
    desk.add_time_entry(
        &f.line1,
        task.id,
        started,
        started.saturating_add(minutes(20)).unwrap(),
        "",
    )
    .await
    .unwrap();
    let money = report(&f, "money", &params("2026-11-01", "2026-11-30")).await;
    assert_eq!(
        cells(&money, "rows", "contract", "D-7", "spent_minutes"),
        [Cell::Int(20)]
    );
    assert_eq!(
        cells(&money, "rows", "contract", "D-7", "billed_minutes"),
        [Cell::Int(30)]
    );
    // 30 minutes at 2,000 roubles an hour.
    assert_eq!(
        cells(&money, "rows", "contract", "D-7", "amount"),
        [Cell::Money(100_000)]
    );
    assert_eq!(
        cells(&money, "clients", "kind", "paid", "clients"),
        [Cell::Int(1)]
    );
    // The contract ends within 60 days of the desk's today (2 November).
    assert_eq!(
        cells(&money, "ending", "contract", "D-7", "within_days"),
        [Cell::Int(60)]
    );
    // The act for 1C carries the contract's number and the billed half hour.
    let act = desk.work_act(&f.manager, "ALFA", "2026-11").await.unwrap();
    assert!(act.contains("<Номер>D-7</Номер>"), "{act}");
    assert!(act.contains("<Количество>0.50</Количество>"), "{act}");
    assert!(act.contains("<Сумма>1000.00</Сумма>"), "{act}");
}
