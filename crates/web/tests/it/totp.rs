//! The second factor for staff (issue 22): enrolment, login with and without the code,
//! wrong codes, a replay in the same step, single-use recovery codes, the throttle, the
//! audit log, the page login's second step, and admins made to enrol when configured.

use jiff::{SignedDuration, Timestamp};
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(second_factor_for_staff);
okno_store::on_both_backends!(admins_must_enrol_when_configured);

const PASSWORD: &str = "correct horse battery";

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    clock: Arc<ManualClock>,
    _files: tempfile::TempDir,
}

async fn start(db: &TestDb, required: bool) -> App {
    let files = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        "2026-12-07T10:00:10Z".parse::<Timestamp>().unwrap(),
    ));
    let settings = Settings {
        clock: clock.clone(),
        totp_required_for_admins: required,
        ..Settings::new(files.path().to_path_buf())
    };
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let base = common::serve(desk.clone()).await;
    // Forms are posted from the desk's own pages.
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, base.parse().unwrap());
    App {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        base,
        desk,
        clock,
        _files: files,
    }
}

impl App {
    async fn person(&self, email: &str, role: Role) -> (User, String) {
        let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
        common::user_with_token(&self.desk, email, role, None, &[], Some(hash)).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, email: &str, code: Option<&str>) -> (StatusCode, Value) {
        let mut body = json!({"email": email, "password": PASSWORD});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The code the authenticator app shows now.
    fn code(&self, secret: &str) -> String {
        let bytes = totp::from_base32(secret).unwrap();
        format!(
            "{:06}",
            totp::code_at(&bytes, totp::step_of(self.desk.now()))
        )
    }

    /// The page login's first step: the answer to the password.
    async fn page_login(&self, email: &str) -> (reqwest::Response, String) {
        let form = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie(&form, "okno_login");
        let html = form.text().await.unwrap();
        let csrf = hidden(&html, "csrf");
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .header(header::COOKIE, &login_cookie)
            .form(&[("email", email), ("password", PASSWORD), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        (response, format!("{login_cookie}|{csrf}"))
    }
}

fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn second_factor_for_staff(db: TestDb) {
    let app = start(&db, false).await;
    let (admin, token) = app.person("root@desk.test", Role::Admin).await;

    // Enrolment: a secret as text and as the app's URI; active only once a code confirms it.
    let (status, enrolment) = app.post(&token, "/api/v1/me/totp", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Okno:root@desk.test?secret="),
        "{uri}"
    );
    assert!(uri.contains(&secret), "{uri}");
    assert_eq!(app.login("root@desk.test", None).await.0, StatusCode::OK);
    let wrong = app
        .post(&token, "/api/v1/me/totp/confirm", json!({"code": "000000"}))
        .await;
    let right = app.code(&secret);
    assert_ne!(right, "000000");
    assert_eq!(wrong.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.1);
    let (status, confirmed) = app
        .post(&token, "/api/v1/me/totp/confirm", json!({"code": right}))
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), totp::RECOVERY_CODES);

    // Login: the password alone is not enough; a wrong code neither; the right one is.
    let (status, refused) = app.login("root@desk.test", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused["error"], "second_factor");
    assert_eq!(refused["field"], "code");
    app.clock.advance(SignedDuration::from_secs(30));
    let code = app.code(&secret);
    let wrong = if code == "123456" { "654321" } else { "123456" };
    assert_eq!(
        app.login("root@desk.test", Some(wrong)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, signed) = app.login("root@desk.test", Some(&code)).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert!(signed["token"].is_string());
    // The same code again in its step: refused (seen once, it opens nothing again).
    assert_eq!(
        app.login("root@desk.test", Some(&code)).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(
        app.login("root@desk.test", Some(&app.code(&secret)))
            .await
            .0,
        StatusCode::OK
    );

    // A recovery code stands in once, however it is typed.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    assert_eq!(
        app.login("root@desk.test", Some(&typed)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.login("root@desk.test", Some(&recovery[0])).await.0,
        StatusCode::UNAUTHORIZED
    );
    let status = app.desk.second_factor().status(&admin).await.unwrap();
    assert!(status.active);
    assert_eq!(status.recovery_left, totp::RECOVERY_CODES - 1);

    // The page login asks for the code after the password, then signs in.
    app.clock.advance(SignedDuration::from_secs(30));
    let (first, keys) = app.page_login("root@desk.test").await;
    assert_eq!(first.status(), StatusCode::OK);
    let challenge = cookie(&first, "okno_login_challenge");
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains("action=\"/login/code\"")
    );
    let (login_cookie, csrf) = keys.split_once('|').unwrap();
    let second = app
        .http
        .post(format!("{}/login/code", app.base))
        .header(header::COOKIE, format!("{login_cookie}; {challenge}"))
        .form(&[("code", app.code(&secret).as_str()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.headers()[header::LOCATION], "/");
    cookie(&second, "okno_session");

    // Wrong codes are slowed like wrong passwords: a few are free, then the answer is 429.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.login("root@desk.test", Some(wrong)).await.0);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    app.clock.advance(SignedDuration::from_mins(16));

    // Removal needs a code; then the password alone signs in again. Both are audited.
    let (status, body) = app
        .post(&token, "/api/v1/me/totp/remove", json!({"code": "999999"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            &token,
            "/api/v1/me/totp/remove",
            json!({"code": recovery[1]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(app.login("root@desk.test", None).await.0, StatusCode::OK);
    let audit: Value = app
        .http
        .get(format!("{}/api/v1/audit", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"totp.enrolled"), "{actions:?}");
    assert!(actions.contains(&"totp.removed"), "{actions:?}");
}

async fn admins_must_enrol_when_configured(db: TestDb) {
    let app = start(&db, true).await;
    let (admin, _) = app.person("root@desk.test", Role::Admin).await;
    app.person("boss@desk.test", Role::Manager).await;
    // A manager is not asked; an admin without a factor is refused by the API and sent to
    // enrol by the pages.
    assert_eq!(app.login("boss@desk.test", None).await.0, StatusCode::OK);
    let (status, body) = app.login("root@desk.test", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "second_factor");
    let (response, _) = app.page_login("root@desk.test").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/account#second-factor"
    );
    let session = cookie(&response, "okno_session");
    let account = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("id=\"second-factor\""));
    assert!(account.contains("role=\"alert\""));
    // Enrolled, the admin signs in with a code.
    let factor = app.desk.second_factor();
    let enrolment = factor.begin(&admin).await.unwrap();
    factor
        .confirm(&admin, &app.code(&enrolment.secret))
        .await
        .unwrap();
    app.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(
        app.login("root@desk.test", Some(&app.code(&enrolment.secret)))
            .await
            .0,
        StatusCode::OK
    );
}
