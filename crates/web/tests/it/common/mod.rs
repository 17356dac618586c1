//! What the web test binaries share: the app served on 127.0.0.1:0, and people with tokens.

#![allow(dead_code)] // each test binary uses its own part

use okno_desk::Desk;
use okno_domain::*;
use okno_store::NewUser;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::sync::Arc;

/// Serves the whole app on a free loopback port; returns its base URL.
pub async fn serve(desk: Arc<Desk>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, okno_web::app(desk)).into_future());
    base
}

/// A user (named by its email) and a fresh API token for it.
pub async fn user_with_token(
    desk: &Desk,
    email: &str,
    role: Role,
    client: Option<ClientId>,
    lines: &[u8],
    password_hash: Option<String>,
) -> (User, String) {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        role,
        client_id: client,
        lines: lines.iter().map(|&n| Line::new(n).unwrap()).collect(),
        sees_organization: false,
        password_hash,
    };
    let id = desk.store.create_user(&user).await.unwrap();
    let user = desk.store.user(id).await.unwrap().unwrap();
    let token = desk.create_token(&user).await.unwrap();
    (user, token)
}

/// The password of the people tests make to log in through the form.
pub const PASSWORD: &str = "secret-pass";

/// The value of the hidden form field `name` on a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The value of the cookie `name` the response sets.
pub fn cookie_of(headers: &HeaderMap, name: &str) -> String {
    let set = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .expect("cookie set");
    set.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

/// Logs in through the form; the session cookie and its CSRF token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> (String, String) {
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(form.headers(), "okno_login");
    let html = form.text().await.unwrap();
    let response = http
        .post(format!("{base}/login"))
        .header(header::COOKIE, format!("okno_login={login_cookie}"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf", &hidden(&html, "csrf")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} logs in");
    let cookie = cookie_of(response.headers(), "okno_session");
    let home = http
        .get(format!("{base}/"))
        .header(header::COOKIE, format!("okno_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie, hidden(&home, "csrf"))
}
