//! Clients, contracts, limits, registration, billing and import through the desk, on a real
//! store (SQLite and, with `OKNO_TEST_DATABASE_URL`, PostgreSQL).

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::DeskError;
use okno_desk::contracts::{ContractInput, LimitInput};
use okno_desk::import::{ImportKind, read_rows};
use okno_domain::*;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(
    bad_contracts_are_refused_naming_the_field,
    tickets_without_a_contract_wait_to_be_registered,
    daily_limit_per_contact_refuses_and_history_stays,
    monthly_limit_offers_an_extension,
    deferred_tickets_start_their_clock_in_the_next_period,
    concurrent_tickets_never_overrun_a_limit,
    hours_over_the_limit_are_counted,
    license_keys_follow_the_contract,
    renewal_invoice_and_revenue,
    work_report_keeps_spent_and_billed_apart,
    import_is_idempotent_and_reports_bad_rows,
    repair_route_reads_the_warranty,
    registration_fills_from_the_defaults,
    configured_defaults_and_notice_windows,
    tickets_about_equipment_of_their_client_only,
    staff_register_a_ticket_for_a_contact,
);

fn today() -> jiff::civil::Date {
    Timestamp::now()
        .to_zoned_datetime(okno_desk::contracts::zone_of(None))
        .date()
}

fn day(offset: i64) -> String {
    today()
        .saturating_add(jiff::Span::new().days(offset))
        .to_string()
}

fn limit(value: f64, unit: &str, per: &str) -> LimitInput {
    LimitInput {
        value: Some(value),
        unit: Some(unit.into()),
        per: Some(per.into()),
    }
}

fn contract(number: &str, from: i64, to: i64) -> ContractInput {
    ContractInput {
        number: number.into(),
        client: "ALFA".into(),
        starts_on: day(from),
        ends_on: day(to),
        tariff: 10_000.0,
        hourly_rate: 2_000.0,
        rounding_minutes: 15,
        ..ContractInput::default()
    }
}

fn field<T: std::fmt::Debug>(result: Result<T, DeskError>) -> (&'static str, String) {
    match result {
        Err(DeskError::Domain(DomainError::Invalid(e))) => (e.field, e.message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

async fn bad_contracts_are_refused_naming_the_field(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let save = |c: ContractInput| desk.save_contract(&f.manager, None, c);
    assert_eq!(field(save(contract("D-1", 10, 5)).await).0, "ends_on");
    assert_eq!(
        field(
            save(ContractInput {
                limits: vec![LimitInput {
                    value: Some(3.0),
                    unit: None,
                    per: None
                }],
                ..contract("D-1", 0, 30)
            })
            .await
        )
        .0,
        "limits.unit"
    );
    assert_eq!(
        field(
            save(ContractInput {
                tariff: -1.0,
                ..contract("D-1", 0, 30)
            })
            .await
        )
        .0,
        "tariff"
    );
    assert_eq!(
        field(
            save(ContractInput {
                services: vec!["nonsense".into()],
                ..contract("D-1", 0, 30)
            })
            .await
        )
        .0,
        "services"
    );
    // A specialist may not write contracts.
    assert!(matches!(
        desk.save_contract(&f.line1, None, contract("D-1", 0, 30))
            .await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));

    let (first, created) = save(ContractInput {
        services: vec!["question".into()],
        ..contract("D-1", 0, 30)
    })
    .await
    .unwrap();
    assert!(created);
    let (name, message) = field(save(contract("D-2", 30, 60)).await);
    assert_eq!(name, "starts_on");
    assert!(message.contains("D-1"), "{message}");
    // Another service, the same period: no overlap.
    save(ContractInput {
        services: vec!["documents".into()],
        ..contract("D-3", 0, 30)
    })
    .await
    .unwrap();
    // Saving the same number again updates it, not a second contract.
    let (again, created) = save(ContractInput {
        services: vec!["question".into()],
        tariff: 12_000.0,
        ..contract("D-1", 0, 30)
    })
    .await
    .unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    assert_eq!(again.terms.tariff, 1_200_000);
}

async fn tickets_without_a_contract_wait_to_be_registered(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    assert!(ticket.next_step_at.is_some(), "the reaction clock runs");
    let list = desk.to_register(&f.line1, None, 50).await.unwrap();
    assert_eq!(
        list.iter().map(|t| t.ticket_id).collect::<Vec<_>>(),
        [ticket.id]
    );
    // Clients see no such list.
    assert!(desk.to_register(&f.contact, None, 50).await.is_err());

    desk.save_contract(&f.manager, None, contract("D-1", -10, 30))
        .await
        .unwrap();
    let registered = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let registered_ids: Vec<_> = desk
        .to_register(&f.line1, None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.ticket_id)
        .collect();
    assert!(!registered_ids.contains(&registered.id));

    // Line 1 registers the first one to the other contact; it leaves the list.
    let (field_name, _) = field(
        desk.register_ticket(&f.line1, ticket.id, "ALFA", "line2@demo.okno")
            .await,
    );
    assert_eq!(field_name, "requester");
    let done = desk
        .register_ticket(&f.line1, ticket.id, "ALFA", "other@alfa.demo")
        .await
        .unwrap();
    assert_eq!(done.requester_id, f.other_contact.id);
    assert!(
        desk.to_register(&f.line1, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let history = desk.history(&f.line1, ticket.id).await.unwrap();
    assert!(history.iter().any(|h| h.kind == "registered"));
}

async fn daily_limit_per_contact_refuses_and_history_stays(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (saved, _) = desk
        .save_contract(
            &f.manager,
            None,
            ContractInput {
                limits: vec![limit(3.0, "tickets", "contact_day")],
                limit_reaction: Some("refuse".into()),
                ..contract("D-1", -10, 30)
            },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        desk.open_ticket(&f.contact, input("question"))
            .await
            .unwrap();
    }
    let (name, message) = field(desk.open_ticket(&f.contact, input("question")).await);
    assert_eq!(name, "limit");
    assert!(message.contains("Обращение не принято"), "{message}");
    // The other contact has their own three.
    desk.open_ticket(&f.other_contact, input("question"))
        .await
        .unwrap();
    // A refused ticket leaves nothing behind.
    let all = desk
        .tickets(
            &f.manager,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 4);

    // Raising the limit keeps what was counted: two more, then refused again.
    desk.save_contract(
        &f.manager,
        Some(saved.id),
        ContractInput {
            limits: vec![limit(5.0, "tickets", "contact_day")],
            limit_reaction: Some("refuse".into()),
            ..contract("D-1", -10, 30)
        },
    )
    .await
    .unwrap();
    for _ in 0..2 {
        desk.open_ticket(&f.contact, input("question"))
            .await
            .unwrap();
    }
    assert_eq!(
        field(desk.open_ticket(&f.contact, input("question")).await).0,
        "limit"
    );
}

async fn monthly_limit_offers_an_extension(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            limits: vec![limit(1.0, "tickets", "month")],
            limit_reaction: Some("offer_extension".into()),
            ..contract("D-1", -10, 30)
        },
    )
    .await
    .unwrap();
    let within = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let over = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    assert_eq!(
        desk.ticket_limits(&f.line1, within.id).await.unwrap().0,
        None
    );
    assert_eq!(
        desk.ticket_limits(&f.line1, over.id)
            .await
            .unwrap()
            .0
            .as_deref(),
        Some("tickets_per_month:offer_extension")
    );
    let comments = desk.comments(&f.contact, over.id).await.unwrap();
    assert!(
        comments
            .iter()
            .any(|c| c.body.contains("Предлагаем расширить договор")),
        "the client is offered an extension: {comments:?}"
    );
    // One alert per cause: the limit used up this month, not each ticket over it.
    let again = desk
        .open_ticket(&f.other_contact, input("question"))
        .await
        .unwrap();
    assert_eq!(
        desk.ticket_limits(&f.line1, again.id)
            .await
            .unwrap()
            .0
            .as_deref(),
        Some("tickets_per_month:offer_extension")
    );
    let alerts = desk.store.alerts(true).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, "limit_used_up");
    assert_eq!(alerts[0].ticket_id, over.id);
    assert_eq!(
        alerts[0].cause_key,
        format!(
            "limit_used_up:client:{}:tickets_per_month:{}",
            f.client.0,
            okno_desk::contracts::month_period(today())
        )
    );
    let usage = desk.client_usage(&f.manager, "ALFA").await.unwrap();
    assert_eq!(usage[0].tickets_this_month, 3);
}

/// `defer`: the ticket over the daily limit is accepted, but its reaction deadline and
/// task deadlines count from the first working minute of tomorrow on the client's
/// calendar, exactly as long as a ticket arriving then would get; the client is told.
async fn deferred_tickets_start_their_clock_in_the_next_period(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (saved, _) = desk
        .save_contract(
            &f.manager,
            None,
            ContractInput {
                limits: vec![limit(1.0, "tickets", "contact_day")],
                limit_reaction: Some("defer".into()),
                ..contract("D-1", -10, 30)
            },
        )
        .await
        .unwrap();
    let within = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let deferred = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let tomorrow = today().tomorrow().unwrap();
    assert_eq!(
        desk.ticket_limits(&f.line1, deferred.id)
            .await
            .unwrap()
            .0
            .unwrap(),
        format!("tickets_per_contact_day:defer:{tomorrow}")
    );

    // ALFA has no calendar of its own: the default level's (Moscow working hours).
    let calendar = desk
        .sla()
        .calendar_of(desk.sla().default_level().unwrap())
        .unwrap();
    let zone = okno_desk::contracts::zone_of(None);
    let start = calendar.next_working_moment(okno_desk::contracts::day_start(tomorrow, &zone));
    assert!(start > Timestamp::now());
    let reaction = deferred.next_step_at.expect("a reaction deadline");
    assert!(reaction > start, "{reaction} is not after {start}");
    let norm = |from: Timestamp, to: Timestamp| calendar.working_minutes_between(from, to);
    assert_eq!(
        norm(start, reaction),
        norm(within.created_at, within.next_step_at.unwrap()),
        "the same reaction norm, counted from the next period"
    );
    for task in open_tasks(desk, deferred.id).await {
        if let Some(due) = task.due_at {
            assert!(due > start, "task {} due {due} before {start}", task.kind);
        }
    }
    // The ticket itself arrived now.
    assert!(deferred.created_at < start);

    let told = desk.comments(&f.contact, deferred.id).await.unwrap();
    assert!(
        told.iter().any(|c| c
            .body
            .contains("сроки по нему начнутся со следующего периода")
            && c.body.contains("its deadlines start in the next period")
            && c.body.contains(&tomorrow.to_string())),
        "the client is told, in Russian and English: {told:?}"
    );
    // Still counted: the contact's counter for today shows both tickets.
    let counter = format!("contact:{}:{}", f.contact.id.0, today());
    assert_eq!(desk.store.usage(saved.id, &counter).await.unwrap(), 2);
}

async fn concurrent_tickets_never_overrun_a_limit(db: TestDb) {
    let f = firm(db.store).await;
    let desk = f.desk.clone();
    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            limits: vec![limit(3.0, "tickets", "month")],
            limit_reaction: Some("refuse".into()),
            ..contract("D-1", -10, 30)
        },
    )
    .await
    .unwrap();
    let mut handles = Vec::new();
    for _ in 0..10 {
        let desk = desk.clone();
        let contact = f.contact.clone();
        handles.push(tokio::spawn(async move {
            desk.open_ticket(&contact, input("question")).await
        }));
    }
    let mut created = 0;
    for handle in handles {
        if handle.await.unwrap().is_ok() {
            created += 1;
        }
    }
    assert_eq!(created, 3);
    let usage = desk.client_usage(&f.manager, "ALFA").await.unwrap();
    assert_eq!(
        usage[0].tickets_this_month, 3,
        "refusals gave their place back"
    );
}

async fn hours_over_the_limit_are_counted(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            limits: vec![limit(1.0, "hours", "month")],
            limit_reaction: Some("accept_and_flag".into()),
            ..contract("D-1", -40, 30)
        },
    )
    .await
    .unwrap();
    let first = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let now = Timestamp::now();
    let (month_start, _) =
        okno_desk::contracts::month_bounds(today(), &okno_desk::contracts::zone_of(None));
    let start = month_start.max(now - SignedDuration::from_mins(90));
    desk.store
        .add_time_entry(
            f.line1.id,
            first.id,
            None,
            start,
            Some(start + SignedDuration::from_mins(90)),
        )
        .await
        .unwrap();
    let usage = desk.client_usage(&f.manager, "ALFA").await.unwrap();
    assert_eq!(usage[0].minutes_this_month, 90);
    assert_eq!(usage[0].minutes_over_limit, 30);
    let flagged = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let (over, minutes_over) = desk.ticket_limits(&f.line1, flagged.id).await.unwrap();
    assert_eq!(over.as_deref(), Some("hours_per_month"));
    assert_eq!(minutes_over, 30);
    let history = desk.history(&f.line1, flagged.id).await.unwrap();
    assert!(history.iter().any(|h| h.kind == "over_limit"));
    // The client does not see the internal flag.
    let public = desk.history(&f.contact, flagged.id).await.unwrap();
    assert!(!public.iter().any(|h| h.kind == "over_limit"));
}

async fn license_keys_follow_the_contract(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            limits: vec![limit(1.0, "license_keys", "period")],
            ..contract("D-1", -10, 30)
        },
    )
    .await
    .unwrap();
    let first = desk
        .open_ticket(&f.contact, input("license-key"))
        .await
        .unwrap();
    assert_eq!(first.status, TicketStatus::Closed, "the key was issued");
    let second = desk
        .open_ticket(&f.contact, input("license-key"))
        .await
        .unwrap();
    assert_ne!(
        second.status,
        TicketStatus::Closed,
        "the allowance is used up"
    );
    let usage = desk.client_usage(&f.manager, "ALFA").await.unwrap();
    assert_eq!(usage[0].license_keys_used, 1);
}

async fn renewal_invoice_and_revenue(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let (c, _) = desk
        .save_contract(
            &f.manager,
            None,
            ContractInput {
                limits: vec![limit(1.0, "hours", "month")],
                ..contract("D-1", -5, 25)
            },
        )
        .await
        .unwrap();
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let now = Timestamp::now();
    let (month_start, _) =
        okno_desk::contracts::month_bounds(today(), &okno_desk::contracts::zone_of(None));
    let start = month_start.max(now - SignedDuration::from_mins(90));
    desk.store
        .add_time_entry(
            f.line1.id,
            ticket.id,
            None,
            start,
            Some(start + SignedDuration::from_mins(90)),
        )
        .await
        .unwrap();
    assert!(
        desk.draft_invoice_for(&f.line1, c.id).await.is_err(),
        "billing is for managers"
    );
    let invoice = desk
        .draft_invoice_for(&f.manager, c.id)
        .await
        .unwrap()
        .expect("a draft");
    assert_eq!(invoice.tariff_amount, 1_000_000, "one month at the tariff");
    assert_eq!(invoice.extra_minutes, 30);
    assert_eq!(invoice.extra_amount, 100_000, "half an hour at 2000 ₽");
    assert_eq!(invoice.amount, 1_100_000);
    assert_eq!(invoice.status, "draft");
    assert!(
        desk.draft_invoice_for(&f.manager, c.id)
            .await
            .unwrap()
            .is_none(),
        "once per period"
    );

    let sent = desk
        .set_invoice_status(&f.manager, invoice.id, "sent")
        .await
        .unwrap();
    assert!(sent.sent_at.is_some());
    assert!(matches!(
        desk.set_invoice_status(&f.manager, invoice.id, "sent")
            .await,
        Err(DeskError::Domain(DomainError::Conflict(_)))
    ));
    let paid = desk
        .set_invoice_status(&f.manager, invoice.id, "paid")
        .await
        .unwrap();
    let month = paid
        .paid_at
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let month = format!("{:04}-{:02}", month.year(), month.month());
    let revenue = desk.revenue(&f.manager, &month, &month).await.unwrap();
    assert_eq!(revenue.len(), 1);
    assert_eq!(revenue[0].amount, 1_100_000);
    assert_eq!(revenue[0].client_code, "ALFA");

    let list = desk
        .invoices(&f.manager, Some("ALFA"), Some("paid"), None, 10)
        .await
        .unwrap();
    let csv = String::from_utf8(okno_desk::billing::invoices_csv(&list).unwrap()).unwrap();
    assert!(csv.starts_with("number,client,contract"), "{csv}");
    assert!(csv.contains("11000.00"), "{csv}");
    let xlsx = okno_desk::billing::invoices_xlsx(&list).unwrap();
    assert_eq!(read_rows(&xlsx).unwrap()[0].line, 2);
}

async fn work_report_keeps_spent_and_billed_apart(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            billable_services: vec!["question".into()],
            ..contract("D-1", -40, 30)
        },
    )
    .await
    .unwrap();
    let question = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let documents = desk
        .open_ticket(&f.contact, input("documents"))
        .await
        .unwrap();
    let now = Timestamp::now();
    let (month_start, _) =
        okno_desk::contracts::month_bounds(today(), &okno_desk::contracts::zone_of(None));
    let start = month_start.max(now - SignedDuration::from_hours(2));
    for (ticket, minutes) in [(question.id, 20), (documents.id, 10)] {
        desk.store
            .add_time_entry(
                f.line1.id,
                ticket,
                None,
                start,
                Some(start + SignedDuration::from_mins(minutes)),
            )
            .await
            .unwrap();
    }
    let month = {
        let d = today();
        format!("{:04}-{:02}", d.year(), d.month())
    };
    let report = desk.work_report(&f.manager, "ALFA", &month).await.unwrap();
    assert_eq!(report.lines.len(), 2);
    assert_eq!(report.minutes_spent, 30);
    assert_eq!(
        report.minutes_billed, 30,
        "20 minutes rounded up to 30; documents not billed"
    );
    let billed: Vec<i64> = report.lines.iter().map(|l| l.minutes_billed).collect();
    assert!(billed.contains(&0) && billed.contains(&30), "{billed:?}");
    let html = okno_desk::billing::work_report_html(&report);
    assert!(html.contains("Отчёт о работах"));
    assert_eq!(
        field(desk.work_report(&f.manager, "ALFA", "2026-13").await).0,
        "month"
    );
    assert!(matches!(
        desk.send_work_report(&f.manager, "ALFA", &month).await,
        Ok(2)
    ));
}

async fn import_is_idempotent_and_reports_bad_rows(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let clients = "code;name;external_id;time_zone;vip\n\
                   BETA;Бета;1c-beta;Asia/Novosibirsk;да\n\
                   ;Без кода;1c-x;;\n\
                   GAMMA;Гамма;1c-gamma;Mars/Base;\n";
    let rows = read_rows(clients.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let report = desk
        .import_rows(ImportKind::Clients, &rows, |done, total| {
            seen.push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(seen.last(), Some(&(3, 3)));
    assert_eq!((report.created, report.updated), (1, 0));
    let refused: Vec<(usize, Option<&str>)> = report
        .refused
        .iter()
        .map(|r| (r.line, r.field.as_deref()))
        .collect();
    assert_eq!(refused, [(3, Some("code")), (4, Some("time_zone"))]);

    let contacts = "client,email,name,external_id,sees_organization\n\
                    BETA,boss@beta.test,Борис,1c-p1,yes\n\
                    BETA,not-an-email,Кто-то,1c-p2,no\n";
    let report = desk
        .import_rows(
            ImportKind::Contacts,
            &read_rows(contacts.as_bytes()).unwrap(),
            |_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    assert_eq!(report.refused[0].field.as_deref(), Some("email"));

    let contracts = format!(
        "number,client,starts_on,ends_on,tariff,tickets_per_contact_day,limit_reaction,external_id\n\
         B-1,BETA,{},{},5000,3,refuse,1c-c1\n\
         B-2,BETA,{},{},5000,3,refuse,1c-c2\n",
        day(-10),
        day(30),
        day(0),
        day(5)
    );
    let rows = read_rows(contracts.as_bytes()).unwrap();
    let report = desk
        .import_rows(ImportKind::Contracts, &rows, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].line, 3);
    assert_eq!(report.refused[0].field.as_deref(), Some("starts_on"));

    // The same files again: nothing new, the good rows updated in place.
    let again = desk
        .import_rows(ImportKind::Contracts, &rows, |_, _| {})
        .await
        .unwrap();
    assert_eq!((again.created, again.updated), (0, 1));
    let beta = desk.client_record(&f.manager, "BETA").await.unwrap();
    assert!(beta.vip);
    assert_eq!(beta.time_zone.as_deref(), Some("Asia/Novosibirsk"));
    let contacts = desk.contacts(&f.manager, "BETA").await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert!(contacts[0].sees_organization);
    assert_eq!(
        desk.contracts(&f.manager, Some("BETA"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn repair_route_reads_the_warranty(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let item = |until: i64| okno_store::EquipmentInput {
        client_id: ClientId(0),
        site: "Склад, ул. Ленина 1".into(),
        kind: "Принтер".into(),
        model: "HP LaserJet".into(),
        serial: format!("SN-{until}"),
        warranty_until: Some(today().saturating_add(jiff::Span::new().days(until))),
        notes: String::new(),
        external_id: None,
    };
    let under = desk
        .save_equipment(&f.engineer, None, "ALFA", item(100))
        .await
        .unwrap();
    let expired = desk
        .save_equipment(&f.engineer, None, "ALFA", item(-1))
        .await
        .unwrap();
    for (equipment, expect) in [
        (under.id, "на гарантии"),
        (expired.id, "Гарантия на оборудование закончилась"),
    ] {
        let ticket = desk.open_ticket(&f.contact, input("repair")).await.unwrap();
        desk.link_equipment(&f.engineer, ticket.id, equipment)
            .await
            .unwrap();
        let analyze = open_task(desk, ticket.id, "analyze").await;
        desk.complete_task(&f.engineer, analyze.id, "done", None)
            .await
            .unwrap();
        open_task(desk, ticket.id, "diagnose").await;
        let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
        assert!(
            comments.iter().any(|c| c.body.contains(expect)),
            "{expect}: {comments:?}"
        );
        let (_, history) = desk
            .equipment_history(&f.engineer, equipment)
            .await
            .unwrap();
        assert_eq!(
            history.iter().map(|t| t.id).collect::<Vec<_>>(),
            [ticket.id]
        );
    }
    // Equipment of another client cannot be linked.
    let beta = desk
        .save_client(
            &f.manager,
            okno_desk::contracts::ClientInput {
                code: "BETA".into(),
                name: "Бета".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0;
    let foreign = desk
        .save_equipment(&f.engineer, None, &beta.code, item(10))
        .await
        .unwrap();
    let ticket = desk.open_ticket(&f.contact, input("repair")).await.unwrap();
    assert_eq!(
        field(
            desk.link_equipment(&f.engineer, ticket.id, foreign.id)
                .await
        )
        .0,
        "equipment"
    );
}

async fn registration_of(
    desk: &okno_desk::Desk,
    user: &User,
    id: TicketId,
) -> okno_store::Registration {
    desk.ticket_registration(user, id).await.unwrap()
}

/// A copy of the shipped `config/` with `contracts.toml` replaced by `contracts`.
fn config_with(contracts: &str) -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config"),
        dir.path(),
    );
    std::fs::write(dir.path().join("contracts.toml"), contracts).unwrap();
    dir
}

/// Seed 003: a ticket needs only the client; our company, department, owner, category,
/// priority, line, support level and service fill from the shipped defaults, a contract's
/// own level wins, and the staff member registering a ticket owns it.
async fn registration_fills_from_the_defaults(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let own = desk
        .open_ticket(
            &f.contact,
            okno_desk::tickets::TicketInput {
                service: "  ".into(),
                ..input("question")
            },
        )
        .await
        .unwrap();
    assert_eq!(own.service, "question", "the default service");
    let r = registration_of(desk, &f.line1, own.id).await;
    assert_eq!(
        r,
        okno_store::Registration {
            company: "ООО «Окно»".into(),
            department: "Отдел сопровождения".into(),
            owner: None,
            category: "Выполнение работ".into(),
            priority: "normal".into(),
            line: Some(1),
            support_level: "standard".into(),
            equipment: None,
        }
    );
    // Clients do not see our side's particulars.
    assert!(desk.ticket_registration(&f.contact, own.id).await.is_err());

    desk.save_contract(
        &f.manager,
        None,
        ContractInput {
            support_level: Some("premium".into()),
            ..contract("D-1", -10, 30)
        },
    )
    .await
    .unwrap();
    let by_phone = desk
        .open_ticket(
            &f.line1,
            okno_desk::tickets::TicketInput {
                client: Some("ALFA".into()),
                ..input("question")
            },
        )
        .await
        .unwrap();
    let r = registration_of(desk, &f.manager, by_phone.id).await;
    assert_eq!(r.support_level, "premium", "the contract's level");
    assert_eq!(
        r.owner.as_deref(),
        Some("line1@demo.okno"),
        "who registered it"
    );

    // A draft is registered when it is sent.
    let draft = desk
        .open_ticket(
            &f.contact,
            okno_desk::tickets::TicketInput {
                draft: true,
                ..input("question")
            },
        )
        .await
        .unwrap();
    let unsent = desk
        .store
        .ticket_registration(draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unsent.company, "");
    assert!(
        desk.ticket_registration(&f.line1, draft.id).await.is_err(),
        "staff do not see another person's draft"
    );
    desk.submit_draft(&f.contact, draft.id).await.unwrap();
    assert_eq!(
        registration_of(desk, &f.line1, draft.id)
            .await
            .support_level,
        "premium"
    );
}

/// `contracts.toml` of a configuration directory sets the registration defaults and the
/// lifecycle's windows; a bad one is refused with `file:line` messages, as
/// `okno config check` prints them.
async fn configured_defaults_and_notice_windows(db: TestDb) {
    let shipped = okno_desk::contract_settings::SHIPPED;
    let text = shipped
        .replace("owner = \"\"", "owner = \"Manager@demo.okno\"")
        .replace("service = \"question\"", "service = \"documents\"")
        .replace("priority = \"normal\"", "priority = \"high\"")
        .replace("line = 1", "line = 2")
        .replace("notice_before_end_days = 14", "notice_before_end_days = 45")
        .replace(
            "notice_before_start_days = 7",
            "notice_before_start_days = 2",
        );
    let dir = config_with(&text);
    let f = firm_in(db.store, Some(dir.path().to_owned())).await;
    let desk = &f.desk;
    let lifecycle = &desk.contract_settings.lifecycle;
    assert_eq!(lifecycle.notice_before_end_days, 45);
    assert_eq!(lifecycle.notice_before_start_days, 2);
    assert_eq!(lifecycle.invoice_before_end_days, 30);
    let ticket = desk
        .open_ticket(
            &f.contact,
            okno_desk::tickets::TicketInput {
                service: String::new(),
                ..input("question")
            },
        )
        .await
        .unwrap();
    assert_eq!(ticket.service, "documents");
    let r = registration_of(desk, &f.line1, ticket.id).await;
    assert_eq!(r.owner.as_deref(), Some("manager@demo.okno"));
    assert_eq!((r.priority.as_str(), r.line), ("high", Some(2)));

    let bad = shipped.replace("support_level = \"standard\"", "support_level = \"gold\"");
    let dir = config_with(&bad);
    let errors = okno_desk::config::ConfigFiles::read(dir.path())
        .unwrap()
        .validate()
        .err()
        .expect("refused");
    let line = bad.lines().position(|l| l.contains("gold")).unwrap() + 1;
    assert!(
        errors.contains(&format!(
            "contracts.toml:{line}: registration.support_level"
        )),
        "{errors}"
    );
}

/// Equipment at creation: the ticket client's is linked in the ticket's own transaction;
/// another client's is refused naming `equipment`, and nothing is created.
async fn tickets_about_equipment_of_their_client_only(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let other = desk
        .store
        .create_client("BETA", "Beta", None)
        .await
        .unwrap();
    let item = |client| okno_store::EquipmentInput {
        client_id: client,
        site: "Склад".into(),
        kind: "printer".into(),
        model: "Atol 30F".into(),
        serial: "A-1".into(),
        warranty_until: None,
        notes: String::new(),
        external_id: None,
    };
    let ours = desk
        .save_equipment(&f.manager, None, "ALFA", item(f.client))
        .await
        .unwrap();
    let theirs = desk
        .save_equipment(&f.manager, None, "BETA", item(other))
        .await
        .unwrap();
    let (name, _) = field(
        desk.open_ticket_about(&f.contact, input("question"), Some(theirs.id))
            .await,
    );
    assert_eq!(name, "equipment");
    let (name, _) = field(
        desk.open_ticket_about(&f.contact, input("question"), Some(i64::MAX))
            .await,
    );
    assert_eq!(name, "equipment");
    let none = desk
        .tickets(
            &f.manager,
            &okno_store::TicketFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "nothing created: {none:?}");

    let ticket = desk
        .open_ticket_about(&f.contact, input("question"), Some(ours.id))
        .await
        .unwrap();
    assert_eq!(
        registration_of(desk, &f.line1, ticket.id).await.equipment,
        Some(ours.id)
    );
    let (_, history) = desk.equipment_history(&f.line1, ours.id).await.unwrap();
    assert_eq!(
        history.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ticket.id]
    );
    let events = desk.history(&f.line1, ticket.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "equipment"));
}

/// A ticket line 1 registers for a client by phone is the contact's own: the contact sees
/// it and is its requester; a requester who is not a contact of that client is refused
/// naming `requester` (issue 18, defect 9).
async fn staff_register_a_ticket_for_a_contact(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let beta = desk
        .store
        .create_client("BETA", "Beta LLC", Some("beta.demo"))
        .await
        .unwrap();
    desk.store
        .create_user(&okno_store::NewUser {
            email: Email::parse("client@beta.demo").unwrap(),
            name: "Beta contact".into(),
            role: Role::Client,
            client_id: Some(beta),
            lines: Vec::new(),
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let for_client = |requester: &str| okno_desk::tickets::TicketInput {
        client: Some("ALFA".into()),
        requester: Some(requester.into()),
        ..input("question")
    };

    let ticket = desk
        .open_ticket(&f.line1, for_client(" other@alfa.demo "))
        .await
        .unwrap();
    assert_eq!(ticket.requester_id, f.other_contact.id);
    assert_eq!(ticket.client_id, f.client);
    let seen = desk.ticket(&f.other_contact, ticket.id).await.unwrap();
    assert_eq!(seen.id, ticket.id, "the contact sees their ticket");
    let created = desk.history(&f.line1, ticket.id).await.unwrap();
    assert_eq!(created[0].actor_id, Some(f.other_contact.id));

    // By user id too.
    let by_id = desk
        .open_ticket(&f.line1, for_client(&f.contact.id.0.to_string()))
        .await
        .unwrap();
    assert_eq!(by_id.requester_id, f.contact.id);

    for (requester, why) in [
        ("client@beta.demo", "another client's contact"),
        ("line2@demo.okno", "staff are no contact"),
        ("nobody@alfa.demo", "no such person"),
        ("не адрес", "garbage"),
    ] {
        assert_eq!(
            field(desk.open_ticket(&f.line1, for_client(requester)).await).0,
            "requester",
            "{why}"
        );
    }
    assert_eq!(
        field(
            desk.open_ticket(&f.contact, for_client("other@alfa.demo"))
                .await
        )
        .0,
        "requester",
        "a contact registers only their own tickets"
    );
}
