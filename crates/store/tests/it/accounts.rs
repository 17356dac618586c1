//! Sessions, API tokens and login-failure counters (issue 22), on both databases.

use jiff::{SignedDuration, Timestamp};
use okno_domain::accounts::{Failures, TokenScope};
use okno_domain::*;
use okno_store::testing::TestDb as Db;
use okno_store::*;

okno_store::on_both_backends!(
    sessions_are_listed_and_ended,
    tokens_are_named_scoped_and_revoked,
    failures_count_per_key
);

fn at(minutes: i64) -> Timestamp {
    "2026-12-07T09:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

async fn person(store: &dyn Store, address: &str) -> UserId {
    store
        .create_user(&NewUser {
            email: Email::parse(address).unwrap(),
            name: address.into(),
            role: Role::Specialist,
            client_id: None,
            lines: vec![Line::new(1).unwrap()],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap()
}

fn session<'a>(hash: &'a str, user: UserId, created: i64, expires: i64) -> NewSession<'a> {
    NewSession {
        id_hash: hash,
        user,
        csrf: "csrf",
        created_at: at(created),
        expires_at: at(expires),
        address: "192.0.2.7",
        agent: "Firefox",
    }
}

async fn sessions_are_listed_and_ended(db: Db) {
    let store = &*db.store;
    let anna = person(store, "anna@desk.test").await;
    let boris = person(store, "boris@desk.test").await;
    store
        .create_session(&session("a-laptop", anna, 0, 600))
        .await
        .unwrap();
    store
        .create_session(&session("a-phone", anna, 5, 600))
        .await
        .unwrap();
    store
        .create_session(&session("a-old", anna, -700, 1))
        .await
        .unwrap();
    store
        .create_session(&session("b-laptop", boris, 0, 600))
        .await
        .unwrap();

    let live = store
        .session("a-laptop", at(1))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(
        (live.user.id, live.last_seen_at, live.expires_at),
        (anna, at(0), at(600))
    );
    assert!(
        store.session("a-old", at(1)).await.unwrap().is_none(),
        "dead at its expiry"
    );
    store.touch_session("a-laptop", at(30)).await.unwrap();
    assert_eq!(
        store
            .session("a-laptop", at(31))
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        at(30)
    );

    let listed = store.sessions(anna, at(31), Some("a-phone")).await.unwrap();
    assert_eq!(
        listed.len(),
        2,
        "expired sessions are not listed: {listed:?}"
    );
    assert_eq!((listed[0].created_at, listed[0].current), (at(5), true));
    assert_eq!((listed[1].last_seen_at, listed[1].current), (at(30), false));
    assert_eq!(
        (listed[1].address.as_str(), listed[1].agent.as_str()),
        ("192.0.2.7", "Firefox")
    );

    // Everywhere but here: the phone stays, the laptop and the dead one go, Boris keeps his.
    assert_eq!(
        store.delete_sessions(anna, Some("a-phone")).await.unwrap(),
        2
    );
    assert!(store.session("a-laptop", at(31)).await.unwrap().is_none());
    assert!(store.session("a-phone", at(31)).await.unwrap().is_some());
    assert!(store.session("b-laptop", at(31)).await.unwrap().is_some());
    assert_eq!(store.delete_sessions(anna, None).await.unwrap(), 1);
    assert!(store.sessions(anna, at(31), None).await.unwrap().is_empty());
    store.delete_session("b-laptop").await.unwrap();
    assert!(store.session("b-laptop", at(31)).await.unwrap().is_none());
}

async fn tokens_are_named_scoped_and_revoked(db: Db) {
    let store = &*db.store;
    let anna = person(store, "anna@desk.test").await;
    let boris = person(store, "boris@desk.test").await;
    let token =
        |hash: &'static str, user, name: &'static str, scope, expires: Option<i64>| NewToken {
            hash,
            user,
            name,
            scope,
            created_at: at(0),
            expires_at: expires.map(at),
        };
    let ci = store
        .create_token(&token("h-ci", anna, "CI", TokenScope::Write, Some(100)))
        .await
        .unwrap();
    let report = store
        .create_token(&token("h-report", anna, "Отчёты", TokenScope::Read, None))
        .await
        .unwrap();
    let borises = store
        .create_token(&token("h-boris", boris, "CI", TokenScope::Write, Some(100)))
        .await
        .unwrap();
    assert!(report.id > ci.id && borises.id > report.id);

    let (user, record) = store
        .token_caller("h-report", at(1))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(
        (user.id, record.scope, record.name.as_str()),
        (anna, TokenScope::Read, "Отчёты")
    );
    assert_eq!(record.last_used_at, None);
    store.touch_token(report.id, at(2)).await.unwrap();
    let (_, record) = store
        .token_caller("h-report", at(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.last_used_at, Some(at(2)));
    assert!(store.token_caller("h-ci", at(99)).await.unwrap().is_some());
    assert!(
        store.token_caller("h-ci", at(100)).await.unwrap().is_none(),
        "dead at expiry"
    );
    assert!(
        store
            .token_caller("nothing", at(0))
            .await
            .unwrap()
            .is_none()
    );

    let listed = store.tokens(anna).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [report.id, ci.id]
    );
    assert_eq!(listed[0].last_used_at, Some(at(2)));

    // Nobody revokes another person's token; the owner does, and it stops working.
    assert_eq!(store.revoke_token(anna, borises.id).await.unwrap(), None);
    assert!(
        store
            .token_caller("h-boris", at(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .revoke_token(anna, report.id)
            .await
            .unwrap()
            .map(|t| t.name),
        Some("Отчёты".into())
    );
    assert!(
        store
            .token_caller("h-report", at(1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.revoke_token(anna, report.id).await.unwrap(), None);

    // A new token forgets the owner's expired ones.
    let fresh = NewToken {
        created_at: at(200),
        ..token("h-new", anna, "new", TokenScope::Write, Some(300))
    };
    store.create_token(&fresh).await.unwrap();
    let names: Vec<_> = store
        .tokens(anna)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["new"]);
}

async fn failures_count_per_key(db: Db) {
    let store = &*db.store;
    assert_eq!(
        store.login_failures("account:x").await.unwrap(),
        Failures::default()
    );
    for minute in [0, 1, 2] {
        store
            .record_login_failure(
                &["account:anna", "source:192.0.2.7"],
                at(minute),
                at(minute - 15),
            )
            .await
            .unwrap();
    }
    store
        .record_login_failure(&["account:boris", "source:192.0.2.7"], at(3), at(-12))
        .await
        .unwrap();
    let anna = store.login_failures("account:anna").await.unwrap();
    assert_eq!((anna.count, anna.last_at), (3, Some(at(2))));
    let source = store.login_failures("source:192.0.2.7").await.unwrap();
    assert_eq!((source.count, source.last_at), (4, Some(at(3))));
    // A failure after a quiet spell starts the count over.
    store
        .record_login_failure(&["account:anna"], at(40), at(25))
        .await
        .unwrap();
    assert_eq!(store.login_failures("account:anna").await.unwrap().count, 1);
    store.clear_login_failures("account:anna").await.unwrap();
    assert_eq!(
        store.login_failures("account:anna").await.unwrap(),
        Failures::default()
    );
    assert_eq!(
        store.login_failures("account:boris").await.unwrap().count,
        1
    );
}
