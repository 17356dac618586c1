//! What the web test binaries share: the app served on 127.0.0.1:0, and people with tokens.

#![allow(dead_code)] // each test binary uses its own part

use okno_desk::Desk;
use okno_domain::*;
use okno_store::NewUser;
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
