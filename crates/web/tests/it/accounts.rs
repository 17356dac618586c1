//! Issue 22 over a real server: login throttling that slows but never locks out (with a
//! moved clock), API tokens with names, scopes, expiry and revocation, sessions a person
//! lists and ends, and the `/account` page.

use jiff::SignedDuration;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(
    wrong_passwords_slow_the_account_but_never_lock_the_owner_out,
    a_sprayed_password_slows_its_source_address_only,
    tokens_are_named_scoped_expire_and_are_revoked,
    sessions_are_listed_and_ended_everywhere,
    the_audit_log_records_who_changed_what_for_admins,
);

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

const PASSWORD: &str = "correct horse";

async fn spawn(db: &TestDb) -> App {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-12-07T09:00:00Z".parse().unwrap()));
    let mut settings = Settings::new(dir.path().to_path_buf());
    settings.clock = clock.clone();
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    for email in ["anna@desk.test", "boris@desk.test"] {
        common::user_with_token(
            &desk,
            email,
            Role::Specialist,
            None,
            &[1],
            Some(hash.clone()),
        )
        .await;
    }
    // Served with the peer's address, as `okno serve` does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app =
        okno_web::app(desk.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(axum::serve(listener, app).into_future());
    let mut headers = HeaderMap::new();
    headers.insert(header::ORIGIN, base.parse().unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    App {
        base,
        http,
        desk,
        clock,
        _dir: dir,
    }
}

impl App {
    /// `POST /api/v1/auth/login` from `address` (a proxy's `X-Forwarded-For`).
    async fn login(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> (StatusCode, Option<u64>, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().parse().unwrap());
        (response.status(), retry, response.json().await.unwrap())
    }

    async fn call(
        &self,
        method: reqwest::Method,
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
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance(SignedDuration::from_secs(seconds));
    }
}

const HOME: &str = "192.0.2.10";

async fn wrong_passwords_slow_the_account_but_never_lock_the_owner_out(db: TestDb) {
    let app = spawn(&db).await;
    // Three typos are free.
    for _ in 0..3 {
        assert_eq!(
            app.login("anna@desk.test", "wrong", HOME).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // The fourth wrong one makes the next try wait a second, whoever tries.
    assert_eq!(
        app.login("anna@desk.test", "wrong", HOME).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, retry, body) = app.login("anna@desk.test", PASSWORD, "198.51.100.1").await;
    assert_eq!(
        (status, retry, body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some(1), Some("throttled"))
    );
    app.advance(1);
    assert_eq!(
        app.login("anna@desk.test", "wrong", HOME).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Five wrong passwords: the owner waits two seconds, not a quarter of an hour.
    let (status, retry, _) = app.login("anna@desk.test", PASSWORD, HOME).await;
    assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, Some(2)));
    // Boris, on the same address, is not slowed by Anna's account.
    assert_eq!(
        app.login("boris@desk.test", PASSWORD, HOME).await.0,
        StatusCode::OK
    );
    app.advance(2);
    let (status, _, body) = app.login("anna@desk.test", PASSWORD, HOME).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The success forgot the failures: the next typo is free again.
    assert_eq!(
        app.login("anna@desk.test", "wrong", HOME).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("anna@desk.test", PASSWORD, HOME).await.0,
        StatusCode::OK
    );

    // A guesser hammering the account waits at most a minute per try; the owner too, no more.
    for n in 0..40 {
        app.advance(60);
        let (status, _, _) = app
            .login("anna@desk.test", "guess", &format!("203.0.113.{n}"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let (status, retry, _) = app.login("anna@desk.test", PASSWORD, HOME).await;
    assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, Some(60)));
    app.advance(60);
    assert_eq!(
        app.login("anna@desk.test", PASSWORD, HOME).await.0,
        StatusCode::OK
    );

    // The login page says how long to wait, with the header.
    for _ in 0..5 {
        app.advance(1);
        app.login("boris@desk.test", "wrong", HOME).await;
    }
    let form = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let login_cookie = form.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = form.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let response = app
        .http
        .post(format!("{}/login", app.base))
        .header(header::COOKIE, login_cookie)
        .header("x-forwarded-for", HOME)
        .form(&[
            ("email", "boris@desk.test"),
            ("password", PASSWORD),
            ("csrf", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Попробуйте снова через")
    );
}

async fn a_sprayed_password_slows_its_source_address_only(db: TestDb) {
    let app = spawn(&db).await;
    let sprayer = "203.0.113.66";
    for n in 0..20 {
        let (status, _, _) = app
            .login(&format!("user{n}@desk.test"), "Winter2026!", sprayer)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "try {n}");
    }
    app.advance(1);
    assert_eq!(
        app.login("user20@desk.test", "Winter2026!", sprayer)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // Each try now waits twice as long as the one before.
    for (n, wait) in [(21, 1), (22, 2), (23, 4)] {
        let (status, retry, _) = app
            .login(&format!("user{n}@desk.test"), "Winter2026!", sprayer)
            .await;
        assert_eq!(
            (status, retry),
            (StatusCode::TOO_MANY_REQUESTS, Some(wait)),
            "try {n}"
        );
        app.advance(wait as i64);
        assert_eq!(
            app.login(&format!("user{n}@desk.test"), "x", sprayer)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (_, retry, _) = app.login("anna@desk.test", "Winter2026!", sprayer).await;
    assert_eq!(retry, Some(8));
    // Everyone else logs in as usual, the accounts sprayed at included.
    assert_eq!(
        app.login("anna@desk.test", PASSWORD, HOME).await.0,
        StatusCode::OK
    );
}

async fn tokens_are_named_scoped_expire_and_are_revoked(db: TestDb) {
    let app = spawn(&db).await;
    let (_, _, login) = app.login("anna@desk.test", PASSWORD, HOME).await;
    let anna = login["token"].as_str().unwrap().to_owned();
    let (_, _, login) = app.login("boris@desk.test", PASSWORD, HOME).await;
    let boris = login["token"].as_str().unwrap().to_owned();
    use reqwest::Method;

    let (status, created) = app
        .call(
            Method::POST,
            &anna,
            "/api/v1/tokens",
            Some(json!({"name": " Отчёты ", "scope": "read", "expires_in_days": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["name"].as_str(), created["scope"].as_str()),
        (Some("Отчёты"), Some("read"))
    );
    assert_eq!(created["expires_at"], "2026-12-09T09:00:00Z");
    assert_eq!(created["last_used_at"], Value::Null);
    let read = created["token"].as_str().unwrap().to_owned();
    let read_id = created["id"].as_str().unwrap().to_owned();

    // Read-only: GET works, any write is 403, including minting a stronger token.
    app.advance(5);
    assert_eq!(
        app.call(Method::GET, &read, "/api/v1/me", None).await.0,
        StatusCode::OK
    );
    let (status, body) = app
        .call(
            Method::POST,
            &read,
            "/api/v1/tokens",
            Some(json!({"name": "escalate"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("scope"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &read,
            "/api/v1/tickets",
            Some(json!({"service": "question", "subject": "s", "description": "d"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The list: names, scopes, last use, never a secret; the login token is there too.
    let (status, list) = app.call(Method::GET, &anna, "/api/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[2]["name"], "okno token create", "the fixture's");
    assert_eq!(list[0]["name"], "Отчёты");
    assert_eq!(list[0]["last_used_at"], "2026-12-07T09:00:05Z");
    assert_eq!(list[1]["name"], "login");
    assert_eq!(
        list[1]["expires_at"], "2026-12-07T21:00:00Z",
        "a login token lives as long as a session"
    );
    assert!(list.iter().all(|t| t.get("token").is_none()));
    let (_, borises) = app.call(Method::GET, &boris, "/api/v1/tokens", None).await;
    assert_eq!(
        borises.as_array().unwrap().len(),
        2,
        "Boris sees only his own"
    );
    assert!(
        borises
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "Отчёты")
    );

    // Bad input names the field.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "scope": "admin"}), "scope"),
        (
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_in_days": 100000}),
            "expires_in_days",
        ),
    ] {
        let (status, error) = app
            .call(Method::POST, &anna, "/api/v1/tokens", Some(body))
            .await;
        assert_eq!(
            (status, error["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{error}"
        );
    }

    // Boris cannot revoke Anna's token; Anna can, and it answers 401 from then on.
    let path = format!("/api/v1/tokens/{read_id}");
    assert_eq!(
        app.call(Method::DELETE, &boris, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::GET, &read, "/api/v1/me", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::DELETE, &anna, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::GET, &read, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::DELETE, &anna, &path, None).await.0,
        StatusCode::NOT_FOUND
    );

    // Tokens expire: a one-day token is dead a day later, the default one lives 90 days.
    let (_, day) = app
        .call(
            Method::POST,
            &anna,
            "/api/v1/tokens",
            Some(json!({"name": "day", "expires_in_days": 1})),
        )
        .await;
    let day = day["token"].as_str().unwrap().to_owned();
    let (_, default) = app
        .call(
            Method::POST,
            &anna,
            "/api/v1/tokens",
            Some(json!({"name": "default"})),
        )
        .await;
    assert_eq!(default["scope"], "write");
    let default = default["token"].as_str().unwrap().to_owned();
    app.advance(24 * 3600);
    assert_eq!(
        app.call(Method::GET, &day, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::GET, &anna, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED,
        "the login token ended"
    );
    assert_eq!(
        app.call(Method::GET, &default, "/api/v1/me", None).await.0,
        StatusCode::OK
    );
    app.advance(89 * 24 * 3600);
    assert_eq!(
        app.call(Method::GET, &default, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Logs in through the login form; answers the session cookie and the page's CSRF token.
async fn browser_login(app: &App, email: &str, agent: &str) -> (String, String) {
    let form = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let login_cookie = form.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = form.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let response = app
        .http
        .post(format!("{}/login", app.base))
        .header(header::COOKIE, login_cookie)
        .header(header::USER_AGENT, agent)
        .form(&[("email", email), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("okno_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    (cookie, csrf)
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn sessions_are_listed_and_ended_everywhere(db: TestDb) {
    let app = spawn(&db).await;
    let (laptop, laptop_csrf) = browser_login(&app, "anna@desk.test", "Firefox/140").await;
    app.advance(60);
    let (phone, phone_csrf) = browser_login(&app, "anna@desk.test", "Mobile Safari").await;
    let (boris, _) = browser_login(&app, "boris@desk.test", "Chrome").await;
    // Logging in from the pages mints no API token.
    let anna = app
        .desk
        .store
        .user_by_email(&Email::parse("anna@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let names: Vec<_> = app
        .desk
        .accounts()
        .tokens(&anna)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["okno token create"], "only the fixture's token");

    app.advance(120);
    let list = app
        .http
        .get(format!("{}/api/v1/sessions", app.base))
        .header(header::COOKIE, &phone)
        .send()
        .await
        .unwrap();
    let list: Value = list.json().await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        (list[0]["agent"].as_str(), list[0]["current"].as_bool()),
        (Some("Mobile Safari"), Some(true))
    );
    assert_eq!(
        (list[1]["agent"].as_str(), list[1]["current"].as_bool()),
        (Some("Firefox/140"), Some(false))
    );
    assert_eq!(list[1]["address"], "127.0.0.1");
    assert_eq!(list[1]["created_at"], "2026-12-07T09:00:00Z");
    assert_eq!(
        list[0]["last_seen_at"], "2026-12-07T09:03:00Z",
        "seen when it listed"
    );

    // The account page lists both and the tokens; signing out everywhere else keeps the phone.
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &laptop)
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Mobile Safari")
            && html.contains("Firefox/140")
            && html.contains("okno token create"),
        "{html}"
    );
    let ended = app
        .http
        .post(format!("{}/account/sessions/end", app.base))
        .header(header::COOKIE, &phone)
        .form(&[("csrf", phone_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "the laptop is signed out"
    );
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &phone)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &boris)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "Boris is not touched");
    // A stale form from the ended session is refused.
    let stale = app
        .http
        .post(format!("{}/account/sessions/end", app.base))
        .header(header::COOKIE, &laptop)
        .form(&[("csrf", laptop_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_ne!(stale.status(), StatusCode::OK);

    // Tokens from the page: created with the secret shown once, then revoked.
    let created = app
        .http
        .post(format!("{}/account/tokens", app.base))
        .header(header::COOKIE, &phone)
        .form(&[
            ("csrf", phone_csrf.as_str()),
            ("name", "Скрипт <b>"),
            ("scope", "read"),
            ("days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    let start = html.find("<code id=\"new-token\">").unwrap() + "<code id=\"new-token\">".len();
    let secret = &html[start..start + html[start..].find('<').unwrap()];
    assert!(
        html.contains("Скрипт &#60;b&#62;") || html.contains("Скрипт &lt;b&gt;"),
        "escaped"
    );
    let me = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let again = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &phone)
        .send()
        .await
        .unwrap();
    assert!(!again.text().await.unwrap().contains(secret), "shown once");
    let bad = app
        .http
        .post(format!("{}/account/tokens", app.base))
        .header(header::COOKIE, &phone)
        .form(&[
            ("csrf", phone_csrf.as_str()),
            ("name", "x"),
            ("scope", "read"),
            ("days", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("от 1 до 3650"));
    let id = app.desk.accounts().tokens(&anna).await.unwrap()[0].id;
    let revoked = app
        .http
        .post(format!("{}/account/tokens/{id}/revoke", app.base))
        .header(header::COOKIE, &phone)
        .form(&[("csrf", phone_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let me = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // Boris cannot revoke Anna's tokens from his page.
    let (boris_cookie, boris_csrf) = browser_login(&app, "boris@desk.test", "Chrome").await;
    let other = app.desk.accounts().tokens(&anna).await.unwrap()[0].id;
    let refused = app
        .http
        .post(format!("{}/account/tokens/{other}/revoke", app.base))
        .header(header::COOKIE, &boris_cookie)
        .form(&[("csrf", boris_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.desk.accounts().tokens(&anna).await.unwrap()[0].id,
        other
    );

    // The API: sign out everywhere from a token ends every browser session.
    let token = app.desk.create_token(&anna).await.unwrap();
    let ended = app
        .http
        .delete(format!("{}/api/v1/sessions", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let ended: Value = ended.json().await.unwrap();
    assert_eq!(ended["ended"], 1);
    let page = app
        .http
        .get(format!("{}/account", app.base))
        .header(header::COOKIE, &phone)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

async fn the_audit_log_records_who_changed_what_for_admins(db: TestDb) {
    use reqwest::Method;
    let app = spawn(&db).await;
    let (admin, admin_token) = common::user_with_token(
        &app.desk,
        "root@desk.test",
        Role::Admin,
        None,
        &[],
        Some(okno_desk::auth::hash_password(PASSWORD).unwrap()),
    )
    .await;
    let (_, _, login) = app.login("anna@desk.test", PASSWORD, HOME).await;
    let anna = login["token"].as_str().unwrap().to_owned();
    let (_, created) = app
        .call(
            Method::POST,
            &anna,
            "/api/v1/tokens",
            Some(json!({"name": "CI", "scope": "read"})),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.advance(60);
    app.call(Method::DELETE, &anna, &format!("/api/v1/tokens/{id}"), None)
        .await;
    let boris = app
        .desk
        .store
        .user_by_email(&Email::parse("boris@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let change = okno_desk::admin::UserInput {
        email: "boris@desk.test".into(),
        name: "Борис".into(),
        role: "manager".into(),
        client: String::new(),
        lines: String::new(),
        pools: String::new(),
        password: String::new(),
        active: true,
    };
    app.desk
        .change_user(&admin, boris.id, &change)
        .await
        .unwrap();

    let (status, page) = app
        .call(Method::GET, &admin_token, "/api/v1/audit?limit=2", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "user.changed");
    assert_eq!(items[0]["actor_name"], "root@desk.test");
    assert_eq!(items[0]["subject"], format!("user:{}", boris.id.0));
    assert_eq!(items[0]["before"]["role"], "specialist");
    assert_eq!(items[0]["after"]["role"], "manager");
    assert_eq!(items[1]["action"], "token.revoked");
    assert_eq!(items[1]["at"], "2026-12-07T09:01:00Z");
    assert_eq!(items[1]["before"]["scope"], "read");
    assert!(items[1]["after"].is_null());
    assert!(!page.to_string().contains("okno_"), "no secret in the log");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, older) = app
        .call(
            Method::GET,
            &admin_token,
            &format!("/api/v1/audit?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    let older = older["items"].as_array().unwrap();
    assert_eq!(older[0]["action"], "token.created");
    assert_eq!(older[0]["after"]["name"], "CI");
    assert_eq!(older.len(), 1);

    // Only admins read it.
    let (status, body) = app.call(Method::GET, &anna, "/api/v1/audit", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, body) = app
        .call(Method::GET, &admin_token, "/api/v1/audit?cursor=x", None)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"))
    );

    // The admin page shows the same, in the admin's language; nobody else's.
    let (cookie, _) = browser_login(&app, "root@desk.test", "Firefox").await;
    let page = app
        .http
        .get(format!("{}/admin/audit", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("пользователь изменён") && html.contains("токен отозван"),
        "{html}"
    );
    assert!(html.contains(&format!("user:{}", boris.id.0)));
    let (cookie, _) = browser_login(&app, "anna@desk.test", "Firefox").await;
    let page = app
        .http
        .get(format!("{}/admin/audit", app.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}
