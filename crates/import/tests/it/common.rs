//! What every source's tests share: a desk on the test database, a fake server on port 0.

use okno_desk::{Desk, Settings};
use okno_store::testing::TestDb;
use std::sync::Arc;

/// A desk on the scenario's database with its files in a temporary directory.
pub async fn desk(db: &TestDb, attachment_limit: u64) -> (Arc<Desk>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        attachment_limit,
        search_indexer: false,
        ..Settings::new(dir.path().to_owned())
    };
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    (desk, dir)
}

/// Serves `app` on a loopback port; answers its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}")
}

/// A staff member of the desk to read tickets as.
pub async fn admin(desk: &Desk) -> okno_domain::User {
    let email = okno_domain::Email::parse("importer-admin@okno.test").unwrap();
    if let Some((user, _)) = desk.store.user_by_email(&email).await.unwrap() {
        return user;
    }
    let id = desk
        .store
        .create_user(&okno_store::NewUser {
            email,
            name: "Admin".into(),
            role: okno_domain::Role::Admin,
            client_id: None,
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    desk.store.user(id).await.unwrap().unwrap()
}
