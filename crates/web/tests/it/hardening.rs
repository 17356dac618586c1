//! What an outsider sends cannot crash the desk (issue 22), over HTTP on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL alike: a sheet claiming its last cell, NUL
//! characters, query strings of the wrong type, unknown routes, two file parts, a login
//! `next` leading off the site.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(outsiders_cannot_break_the_api);
okno_store::on_both_backends!(login_next_stays_on_the_site);
okno_store::on_both_backends!(upserts_keep_what_they_leave_out);
okno_store::on_both_backends!(health_tells_live_from_ready);
okno_store::on_both_backends!(the_openapi_document_validates);

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    _files: tempfile::TempDir,
}

impl App {
    async fn start(db: &TestDb) -> App {
        Self::with_disk_floor(db, Settings::new(std::env::temp_dir()).min_free_disk).await
    }

    async fn with_disk_floor(db: &TestDb, min_free_disk: u64) -> App {
        let files = tempfile::tempdir().unwrap();
        let settings = Settings {
            min_free_disk,
            ..Settings::new(files.path().to_path_buf())
        };
        let desk = Desk::start(db.store.clone(), settings).await.unwrap();
        App {
            base: common::serve(desk.clone()).await,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            desk,
            _files: files,
        }
    }

    async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
        assert!(
            json,
            "{method_path} answered without JSON",
            method_path = path
        );
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A refusal in the API's error shape naming `field`.
fn names(answer: &(StatusCode, Value), status: StatusCode, field: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert!(answer.1["error"].is_string(), "{}", answer.1);
    assert!(answer.1["message"].is_string(), "{}", answer.1);
    assert_eq!(answer.1["field"], field, "{}", answer.1);
}

async fn outsiders_cannot_break_the_api(db: TestDb) {
    let app = App::start(&db).await;
    let alfa = app
        .desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let (_, client) = common::user_with_token(
        &app.desk,
        "client@alfa.test",
        Role::Client,
        Some(alfa),
        &[],
        None,
    )
    .await;
    let (_, manager) =
        common::user_with_token(&app.desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    // NUL in a subject, a description, a comment or a query: 422 naming the field, and
    // nothing stored.
    let ticket = |subject: &str, description: &str| json!({"service": "question", "subject": subject, "description": description});
    names(
        &app.call(
            Method::POST,
            &client,
            "/api/v1/tickets",
            Some(ticket("a\u{0}b", "x")),
        )
        .await,
        unprocessable,
        "subject",
    );
    names(
        &app.call(
            Method::POST,
            &client,
            "/api/v1/tickets",
            Some(ticket("ok", "x\u{0}")),
        )
        .await,
        unprocessable,
        "description",
    );
    let (status, created) = app
        .call(
            Method::POST,
            &client,
            "/api/v1/tickets",
            Some(ticket("Принтер", "не печатает")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let comments = format!(
        "/api/v1/tickets/{}/comments",
        created["id"].as_str().unwrap()
    );
    names(
        &app.call(
            Method::POST,
            &client,
            &comments,
            Some(json!({"body": "\u{0}"})),
        )
        .await,
        unprocessable,
        "body",
    );
    let (_, listed) = app.call(Method::GET, &client, &comments, None).await;
    assert!(!listed.to_string().contains("\\u0000"), "{listed}");
    for path in [
        "/api/v1/kb/search?q=%00",
        "/api/v1/search/tickets?q=a%00b",
        "/api/v1/tickets?status=%00",
    ] {
        let field = if path.contains("status") {
            "status"
        } else {
            "q"
        };
        names(
            &app.call(Method::GET, &manager, path, None).await,
            unprocessable,
            field,
        );
    }

    // Query strings of the wrong type and unknown routes answer the JSON shape.
    names(
        &app.call(Method::GET, &manager, "/api/v1/invoices?limit=many", None)
            .await,
        unprocessable,
        "limit",
    );
    names(
        &app.call(Method::GET, &manager, "/api/v1/invoices?limit=0", None)
            .await,
        unprocessable,
        "limit",
    );
    let (status, invoices) = app
        .call(Method::GET, &manager, "/api/v1/invoices?limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(invoices.as_array().unwrap().len() <= 1);
    for (method, path, status) in [
        (Method::GET, "/api/v1/nothing-here", StatusCode::NOT_FOUND),
        (Method::GET, "/api/v2/tickets", StatusCode::NOT_FOUND),
        (Method::GET, "/api/", StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/api/v1/services",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let (got, body) = app.call(method, &manager, path, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }

    // Two `file` parts: refused naming `file`, nothing attached.
    let attachments = format!(
        "/api/v1/tickets/{}/attachments",
        created["id"].as_str().unwrap()
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"one".to_vec()).file_name("a.txt"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"two".to_vec()).file_name("b.txt"),
        );
    let response = app
        .http
        .post(format!("{}{attachments}", app.base))
        .bearer_auth(&client)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), unprocessable);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "file");
    let (_, listed) = app.call(Method::GET, &client, &attachments, None).await;
    assert_eq!(listed.as_array().map_or(0, Vec::len), 0, "{listed}");

    // The 1.6 KB sheet claiming cell XFD1048576: a 422 naming the file, and the server
    // still answers.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "code").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bomb = book.save_to_buffer().unwrap();
    let response = app
        .http
        .post(format!("{}/api/v1/import/clients", app.base))
        .bearer_auth(&manager)
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), unprocessable);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "file");
    assert!(
        error["message"].as_str().unwrap().contains("XFD1048576"),
        "{error}"
    );
    let csv = "code,name\nGAMMA,\"Гамма\nDELTA,Дельта\n";
    let response = app
        .http
        .post(format!("{}/api/v1/import/clients", app.base))
        .bearer_auth(&manager)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), unprocessable);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("line 2"),
        "{error}"
    );
    let (status, _) = app.call(Method::GET, &manager, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn login_next_stays_on_the_site(db: TestDb) {
    let app = App::start(&db).await;
    let hash = okno_desk::auth::hash_password("secret-1").unwrap();
    common::user_with_token(
        &app.desk,
        "boss@desk.test",
        Role::Manager,
        None,
        &[],
        Some(hash),
    )
    .await;
    for next in [
        "%2F%09%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%0D%0A%2Fevil.example",
    ] {
        let response = app
            .http
            .get(format!("{}/login?next={next}", app.base))
            .send()
            .await
            .unwrap();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let page = response.text().await.unwrap();
        // The form sends the person nowhere else (the language switch may keep the query:
        // it links to this same login page).
        let kept = page
            .split("name=\"next\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default();
        assert!(!kept.contains("evil.example"), "{next}: {kept}");
        assert!(!page.contains("href=\"//") && !page.contains("href=\"https://evil"));
        let token = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        let decoded = next
            .replace("%2F", "/")
            .replace("%09", "\t")
            .replace("%5C", "\\")
            .replace("%3A", ":")
            .replace("%0D", "\r")
            .replace("%0A", "\n");
        let response = app
            .http
            .post(format!("{}/login", app.base))
            .header("cookie", cookie)
            .header("origin", app.base.clone())
            .form(&[
                ("email", "boss@desk.test"),
                ("password", "secret-1"),
                ("csrf", token.as_str()),
                ("next", decoded.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()["location"], "/", "{next}");
    }
    // A NUL in a page form is refused before it reaches the desk.
    let response = app
        .http
        .post(format!("{}/login", app.base))
        .header("origin", app.base.clone())
        .form(&[("email", "boss@desk.test\u{0}"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn upserts_keep_what_they_leave_out(db: TestDb) {
    let app = App::start(&db).await;
    let (_, manager) =
        common::user_with_token(&app.desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let full = json!({"code": "ALFA", "name": "Альфа", "vip": true, "mail_domain": "alfa.test",
        "notes": "ключ у охраны", "external_id": "1c-7"});
    let (status, client) = app
        .call(Method::POST, &manager, "/api/v1/clients", Some(full))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    // The accounting system knows only the name: nothing else changes.
    let (status, client) = app
        .call(
            Method::POST,
            &manager,
            "/api/v1/clients",
            Some(json!({"code": "ALFA", "name": "Альфа-Групп"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{client}");
    assert_eq!(client["name"], "Альфа-Групп");
    assert_eq!(client["vip"], true, "{client}");
    assert_eq!(client["mail_domain"], "alfa.test");
    assert_eq!(client["notes"], "ключ у охраны");
    // By the external id alone, and `null` clears.
    let (_, client) = app
        .call(
            Method::POST,
            &manager,
            "/api/v1/clients",
            Some(json!({"code": "ALFA", "external_id": "1c-7", "mail_domain": null, "vip": false})),
        )
        .await;
    assert_eq!(client["name"], "Альфа-Групп", "{client}");
    assert_eq!(client["vip"], false);
    assert_eq!(client["mail_domain"], Value::Null);
    assert_eq!(client["notes"], "ключ у охраны");
    // A new client still needs its name.
    names(
        &app.call(
            Method::POST,
            &manager,
            "/api/v1/clients",
            Some(json!({"code": "BETA"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "name",
    );

    let contract = json!({"number": "D-1", "client": "ALFA", "starts_on": "2026-01-01",
        "ends_on": "2030-12-31", "tariff": 1500.5, "rounding_minutes": 15,
        "limits": [{"value": 30, "unit": "tickets", "per": "month"}, {"value": 8, "unit": "hours", "per": "month"}]});
    let (status, created) = app
        .call(Method::POST, &manager, "/api/v1/contracts", Some(contract))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, updated) = app
        .call(
            Method::POST,
            &manager,
            "/api/v1/contracts",
            Some(json!({"number": "D-1", "tariff": 2000})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["tariff"], 2000.0, "{updated}");
    assert_eq!(updated["rounding_minutes"], 15, "{updated}");
    assert_eq!(updated["limits"], created["limits"], "{updated}");
    assert_eq!(updated["ends_on"], "2030-12-31");
    let path = format!("/api/v1/contracts/{}", created["id"].as_str().unwrap());
    let (_, updated) = app
        .call(
            Method::PUT,
            &manager,
            &path,
            Some(json!({"number": "D-1", "limits": []})),
        )
        .await;
    assert_eq!(updated["limits"], json!([]), "{updated}");
    assert_eq!(updated["rounding_minutes"], 15);

    // `okno import`'s path: columns left out, or empty cells, keep the stored values.
    let import = |body: &'static str, kind: &'static str| {
        app.http
            .post(format!("{}/api/v1/import/{kind}", app.base))
            .bearer_auth(&manager)
            .body(body)
            .send()
    };
    app.call(
        Method::POST,
        &manager,
        "/api/v1/clients",
        Some(json!({"code": "ALFA", "vip": true})),
    )
    .await;
    let report: Value = import("code;name;vip\nALFA;Альфа;\n", "clients")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["updated"], 1, "{report}");
    let (_, client) = app
        .call(Method::GET, &manager, "/api/v1/clients/ALFA", None)
        .await;
    assert_eq!(client["vip"], true, "{client}");
    assert_eq!(client["name"], "Альфа");
    let report: Value = import(
        "number,client,tickets_per_month,rounding_minutes\nD-1,ALFA,40,\n",
        "contracts",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(report["updated"], 1, "{report}");
    let (_, contract) = app.call(Method::GET, &manager, &path, None).await;
    assert_eq!(contract["rounding_minutes"], 15, "{contract}");
    assert_eq!(contract["tariff"], 2000.0, "{contract}");
    assert_eq!(
        contract["limits"],
        json!([{"value": 40.0, "unit": "tickets", "per": "month"}]),
        "{contract}"
    );
}

async fn health_tells_live_from_ready(db: TestDb) {
    let get = |app: &App, path: &str| app.http.get(format!("{}{path}", app.base)).send();
    let app = App::start(&db).await;
    for path in ["/healthz", "/healthz/ready", "/healthz/live"] {
        assert_eq!(
            get(&app, path).await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // No disk has room for this much: live, but not ready, saying why.
    let app = App::with_disk_floor(&db, u64::MAX).await;
    assert_eq!(
        get(&app, "/healthz/live").await.unwrap().status(),
        StatusCode::OK
    );
    for path in ["/healthz", "/healthz/ready"] {
        let response = get(&app, path).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            response.text().await.unwrap().starts_with("disk: "),
            "{path}"
        );
    }
}

/// Walks `/api/openapi.json` checking what OpenAPI 3.1 requires: the root's fields, every
/// operation's responses, a description on every response, a name, place and (in the
/// path) `required: true` on every parameter, and every `{param}` of a path declared.
async fn the_openapi_document_validates(db: TestDb) {
    let app = App::start(&db).await;
    let doc: Value = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let mut problems = Vec::new();
    let (mut operations, mut responses) = (0, 0);
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        let templated: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            if ![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            operations += 1;
            let at = format!("{method} {path}");
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for param in &params {
                let (Some(name), Some(place)) = (param["name"].as_str(), param["in"].as_str())
                else {
                    problems.push(format!("{at}: a parameter without name or in"));
                    continue;
                };
                if !["query", "header", "path", "cookie"].contains(&place) {
                    problems.push(format!("{at}: parameter {name} in {place}"));
                }
                if place == "path" && param["required"] != true {
                    problems.push(format!("{at}: path parameter {name} not required"));
                }
            }
            for name in &templated {
                let declared = params
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == *name);
                if !declared {
                    problems.push(format!("{at}: path parameter {name} not declared"));
                }
            }
            let Some(answers) = operation["responses"].as_object().filter(|r| !r.is_empty()) else {
                problems.push(format!("{at}: no responses"));
                continue;
            };
            for (status, response) in answers {
                responses += 1;
                if response.get("$ref").is_some() {
                    continue;
                }
                let described = response["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty());
                if !described {
                    problems.push(format!("{at} {status}: no description"));
                }
            }
        }
    }
    assert!(operations > 100, "{operations} operations");
    assert!(
        problems.is_empty(),
        "{} of {responses} responses or parameters:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
