//! The clients/contracts/billing API over a real server on 127.0.0.1:0, on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: upserts, 422 naming the field, limits on ticket
//! creation, registration, exports, and what clients may not see.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common;

okno_store::on_both_backends!(
    contracts_api_end_to_end,
    tickets_about_equipment_and_their_registration
);

async fn contracts_api_end_to_end(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk: std::sync::Arc<Desk> =
        Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
            .await
            .unwrap();
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (_, line1) =
        common::user_with_token(&desk, "line1@desk.test", Role::Specialist, None, &[1], None).await;
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    use reqwest::Method;

    // A client, twice by its external id: created, then updated in place.
    let client = json!({"code": "BETA", "name": "Бета", "external_id": "1c-1",
                        "access_notes": "VPN: beta-gw", "time_zone": "Europe/Moscow"});
    let r = call(Method::POST, "/clients", &manager, Some(client.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = call(Method::POST, "/clients", &manager, Some(client))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(
        Method::POST,
        "/clients/BETA/contacts",
        &manager,
        Some(json!({"email": "b@beta.test", "name": "Борис", "telegram_id": "12345"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Bad contracts: 422 naming the field.
    let contract = |patch: Value| {
        let mut c = json!({"number": "B-1", "client": "BETA", "starts_on": "2020-01-01",
                           "ends_on": "2099-12-31", "tariff": 5000,
                           "limits": [{"value": 1, "unit": "tickets", "per": "contact_day"}],
                           "limit_reaction": "refuse"});
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for (patch, field) in [
        (json!({"ends_on": "2019-12-31"}), "ends_on"),
        (json!({"tariff": -5}), "tariff"),
        (json!({"limits": [{"value": 3}]}), "limits.unit"),
        (json!({"starts_on": "soon"}), "starts_on"),
        (json!({"limit_reaction": "shrug"}), "limit_reaction"),
    ] {
        let r = call(Method::POST, "/contracts", &manager, Some(contract(patch)))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["field"], field, "{body}");
    }
    let r = call(
        Method::POST,
        "/contracts",
        &line1,
        Some(contract(json!({}))),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(
        Method::POST,
        "/contracts",
        &manager,
        Some(contract(json!({}))),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["limits"][0]["unit"], "tickets");
    let r = call(
        Method::POST,
        "/contracts",
        &manager,
        Some(contract(json!({"number": "B-2"}))),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "overlapping");
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "starts_on");

    // The contact's second ticket of the day is refused by the contract.
    let beta_contact = desk
        .store
        .user_by_email(&Email::parse("b@beta.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let contact = desk.create_token(&beta_contact).await.unwrap();
    let ticket = json!({"service": "question", "subject": "Вопрос", "description": "…"});
    let r = call(Method::POST, "/tickets", &contact, Some(ticket.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let r = call(Method::POST, "/tickets", &contact, Some(ticket))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "limit");

    // The client reads its own record without staff notes, and no other client's.
    let r = call(Method::GET, "/clients/BETA", &contact, None)
        .await
        .unwrap();
    let own: Value = r.json().await.unwrap();
    assert_eq!(own["access_notes"], "");
    let r = call(Method::GET, "/clients/BETA", &line1, None)
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["access_notes"],
        "VPN: beta-gw"
    );
    let r = call(Method::GET, "/registration", &contact, None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = call(Method::GET, "/clients/BETA/usage", &line1, None)
        .await
        .unwrap();
    let usage: Value = r.json().await.unwrap();
    assert_eq!(usage[0]["active"], true);
    let r = call(
        Method::GET,
        &format!("/tickets/{}/limits", created["id"].as_str().unwrap()),
        &line1,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Invoices: a draft, exported as CSV and XLSX, sent and paid.
    let id = saved["id"].as_str().unwrap();
    let r = call(
        Method::POST,
        &format!("/contracts/{id}/invoice"),
        &manager,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invoice: Value = r.json().await.unwrap();
    let r = call(Method::GET, "/invoices?format=csv", &manager, None)
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(r.text().await.unwrap().contains("B-1"));
    let r = call(Method::GET, "/invoices?format=xlsx", &manager, None)
        .await
        .unwrap();
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK");
    let r = call(Method::GET, "/invoices", &line1, None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let status = format!("/invoices/{}/status", invoice["id"].as_str().unwrap());
    let r = call(
        Method::POST,
        &status,
        &manager,
        Some(json!({"status": "paid"})),
    )
    .await
    .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "paid");

    // Import through the API: the body is the file.
    let csv = "code,name,external_id\nGAMMA,Гамма,1c-2\n,Без кода,1c-3\n";
    let r = http
        .post(format!("{base}/api/v1/import/clients"))
        .bearer_auth(&manager)
        .body(csv)
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["created"], 1);
    assert_eq!(report["refused"][0]["line"], 3);
    assert_eq!(report["refused"][0]["field"], "code");

    // Reports: JSON for accounting, printable HTML.
    let r = call(
        Method::GET,
        "/clients/BETA/reports/2026-01?format=html",
        &manager,
        None,
    )
    .await
    .unwrap();
    assert!(r.text().await.unwrap().contains("Отчёт о работах"));
    let r = call(Method::GET, "/clients/BETA/reports/2026-01", &manager, None)
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["month"], "2026-01");

    let doc: Value = http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/contracts",
        "/api/v1/registration",
        "/api/v1/import/{kind}",
        "/api/v1/equipment/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

/// `POST /tickets` with `equipment`: linked when it is the ticket client's, 422 naming
/// `equipment` when it is another client's, missing or not an id (nothing created); the
/// registration particulars come from the shipped defaults and are for staff only.
async fn tickets_about_equipment_and_their_registration(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk: std::sync::Arc<Desk> =
        Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
            .await
            .unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", None)
        .await
        .unwrap();
    let beta = desk
        .store
        .create_client("BETA", "Бета", None)
        .await
        .unwrap();
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (_, contact) =
        common::user_with_token(&desk, "c@alfa.test", Role::Client, Some(alfa), &[], None).await;
    let (_, stranger) =
        common::user_with_token(&desk, "c@beta.test", Role::Client, Some(beta), &[], None).await;
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let post = |path: &str, token: &str, body: Value| {
        http.post(format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let get = |path: &str, token: &str| {
        http.get(format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .send()
    };
    let printer = json!({"kind": "printer", "model": "Atol 30F", "site": "Склад"});
    let r = post("/clients/ALFA/equipment", &manager, printer.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let alfas: Value = r.json().await.unwrap();
    let r = post("/clients/BETA/equipment", &manager, printer)
        .await
        .unwrap();
    let betas: Value = r.json().await.unwrap();

    let ticket = |equipment: &Value| json!({"service": "repair", "subject": "Не печатает", "equipment": equipment});
    for (equipment, who) in [
        (&betas["id"], "another client's"),
        (&json!("999999"), "missing"),
        (&json!("printer"), "not an id"),
    ] {
        let r = post("/tickets", &contact, ticket(equipment)).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{who}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["field"],
            "equipment",
            "{who}"
        );
    }
    let r = get("/tickets", &contact).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["items"],
        json!([]),
        "nothing created"
    );
    // The other client's contact cannot aim at ALFA's printer either.
    let r = post("/tickets", &stranger, ticket(&alfas["id"]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = post("/tickets", &contact, ticket(&alfas["id"]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let r = get(
        &format!("/equipment/{}", alfas["id"].as_str().unwrap()),
        &manager,
    )
    .await
    .unwrap();
    let history: Value = r.json().await.unwrap();
    assert_eq!(history["tickets"][0]["id"], created["id"]);

    let r = get(&format!("/tickets/{id}/registration"), &manager)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let registration: Value = r.json().await.unwrap();
    assert_eq!(registration["equipment"], alfas["id"]);
    assert_eq!(registration["company"], "ООО «Окно»");
    assert_eq!(registration["category"], "Выполнение работ");
    assert_eq!(registration["priority"], "normal");
    assert_eq!(registration["line"], 1);
    assert_eq!(registration["support_level"], "standard");
    assert_eq!(registration["owner"], Value::Null, "a client's own ticket");
    let r = get(&format!("/tickets/{id}/registration"), &contact)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "staff only");

    // No service named: the configured default one.
    let r = post("/tickets", &contact, json!({"subject": "Вопрос"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["service"], "question");
}
