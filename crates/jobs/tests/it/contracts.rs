//! The contract lifecycle job against a real database (SQLite and, with
//! `OKNO_TEST_DATABASE_URL`, PostgreSQL), at a fixed instant.

use jiff::Timestamp;
use okno_desk::contracts::ContractInput;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_jobs::contracts::{LifecycleSettings, contract_lifecycle};
use okno_store::testing::TestDb;
use okno_store::*;

okno_store::on_both_backends!(lifecycle_notices_alerts_and_invoices_once);

/// Noon in Moscow on an ordinary day.
const NOW: &str = "2026-03-10T09:00:00Z";

fn contract(number: &str, client: &str, starts: &str, ends: &str) -> ContractInput {
    ContractInput {
        number: number.into(),
        client: client.into(),
        starts_on: starts.into(),
        ends_on: ends.into(),
        tariff: 1_000.0,
        ..ContractInput::default()
    }
}

async fn outbox(db: &TestDb, kind: &str) -> Vec<serde_json::Value> {
    let url = db.url.clone();
    let rows: Vec<String> = match db.backend {
        okno_store::testing::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query_scalar("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id")
                .bind(kind)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        okno_store::testing::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query_scalar("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id")
                .bind(kind)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    rows.iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

async fn lifecycle_notices_alerts_and_invoices_once(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_owned()))
        .await
        .unwrap();
    let admin_id = desk
        .store
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
    let admin = desk.store.user(admin_id).await.unwrap().unwrap();
    for code in ["ALFA", "BETA", "GAMMA"] {
        desk.save_client(
            &admin,
            okno_desk::contracts::ClientInput {
                code: code.into(),
                name: code.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        desk.save_contact(
            &admin,
            okno_desk::contracts::ContactInput {
                client: code.into(),
                email: format!("boss@{}.test", code.to_lowercase()),
                name: "Boss".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let save = |c| desk.save_contract(&admin, None, c);
    // ALFA: ends in 5 days and is renewed; BETA: ends in 5 days with no successor;
    // GAMMA: starts in 3 days; and an old one of GAMMA ended last week.
    save(contract("A-1", "ALFA", "2025-03-16", "2026-03-15"))
        .await
        .unwrap();
    save(contract("A-2", "ALFA", "2026-03-16", "2027-03-15"))
        .await
        .unwrap();
    save(contract("B-1", "BETA", "2026-02-16", "2026-03-15"))
        .await
        .unwrap();
    save(contract("G-2", "GAMMA", "2026-03-13", "2026-12-31"))
        .await
        .unwrap();
    save(contract("G-1", "GAMMA", "2025-03-04", "2026-03-04"))
        .await
        .unwrap();

    let now: Timestamp = NOW.parse().unwrap();
    let settings = LifecycleSettings::default();
    let report = contract_lifecycle(&desk, &settings, now).await.unwrap();
    assert_eq!(
        report.notices, 4,
        "{report:?}: A-1 and B-1 end, A-2 and G-2 start"
    );
    assert_eq!(report.alerts, 1, "{report:?}");
    assert_eq!(report.ended, 1, "{report:?}");
    assert_eq!(report.invoices, 2, "{report:?}: A-1 and B-1 renewals");

    let notices = outbox(&db, "contract_notice").await;
    let starts = notices
        .iter()
        .find(|n| n["event"] == "starts" && n["contract"] == "G-2")
        .unwrap();
    assert_eq!(starts["contract"], "G-2");
    assert_eq!(starts["days"], 3);
    assert_eq!(starts["contacts"], serde_json::json!(["boss@gamma.test"]));
    assert!(
        notices
            .iter()
            .any(|n| n["event"] == "ended" && n["contract"] == "G-1")
    );
    let alerts = outbox(&db, "contract_alert").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["contract"], "B-1");

    let invoices = desk.store.invoices(None, None, None, 10).await.unwrap();
    let b = invoices
        .iter()
        .find(|i| i.contract_number == "B-1")
        .unwrap();
    assert_eq!(b.period_start.to_string(), "2026-03-16");
    assert_eq!(b.period_end.to_string(), "2026-04-15");
    assert_eq!(b.amount, 100_000);

    // A second run (another process, or the next hour) does nothing twice.
    let again = contract_lifecycle(&desk, &settings, now).await.unwrap();
    assert_eq!(
        (again.notices, again.alerts, again.invoices, again.ended),
        (0, 0, 0, 0)
    );
    assert_eq!(outbox(&db, "contract_notice").await.len(), 5);

    // The windows are configuration (`[lifecycle]` of contracts.toml): a contract ending in
    // 40 days is not told with the default 14 days, and is with 45.
    desk.save_client(
        &admin,
        okno_desk::contracts::ClientInput {
            code: "DELTA".into(),
            name: "DELTA".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    save(contract("D-1", "DELTA", "2025-06-01", "2026-04-19"))
        .await
        .unwrap();
    let quiet = contract_lifecycle(&desk, &settings, now).await.unwrap();
    assert_eq!((quiet.notices, quiet.alerts, quiet.invoices), (0, 0, 0));
    let wider = LifecycleSettings {
        notice_before_end_days: 45,
        ..settings.clone()
    };
    let told = contract_lifecycle(&desk, &wider, now).await.unwrap();
    assert_eq!((told.notices, told.alerts), (1, 1), "{told:?}");
    let notices = outbox(&db, "contract_notice").await;
    let ends = notices
        .iter()
        .find(|n| n["event"] == "ends" && n["contract"] == "D-1")
        .unwrap();
    assert_eq!(ends["days"], 40);
    assert_eq!(
        desk.contract_settings.lifecycle, settings,
        "shipped: 7, 14, 30"
    );
}
