//! The store conformance suite: every test runs against SQLite (a fresh temporary file) and,
//! when `OKNO_TEST_DATABASE_URL` names a PostgreSQL server, against a fresh database created
//! on it for that test alone (`okno_t_<unique>`, dropped afterwards on a best-effort basis).
//!
//! Each scenario is one `async fn(Db)`; `on_both_backends!` turns it into a module with a
//! `sqlite` and a `postgres` test, e.g. `visibility::postgres`.

use jiff::{SignedDuration, Timestamp};
use okno_domain::visibility::TicketFacts;
use okno_domain::*;
use okno_store::testing::{Backend, TestDb as Db};
use okno_store::*;
use sqlx::{ConnectOptions, Connection};
use std::collections::{BTreeSet, HashSet};

okno_store::on_both_backends!(
    clients_and_users,
    services_upsert_and_order,
    ticket_creation_with_tasks_and_history,
    drafts_and_submission,
    visibility_across_scopes,
    list_filters_and_keyset_pagination,
    comments_and_their_history,
    attachments_follow_comment_visibility,
    bulk_load,
    restart_durability,
    concurrent_ticket_creation,
    migrations_are_idempotent,
);

// ---------------------------------------------------------------------------------------
// Fixtures.

fn t0() -> Timestamp {
    Timestamp::from_second(1_750_000_000).unwrap()
}

fn at(minutes: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(minutes)
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

fn line(n: u8) -> Line {
    Line::new(n).unwrap()
}

fn contact(address: &str, client: ClientId, sees_organization: bool) -> NewUser {
    NewUser {
        email: email(address),
        name: format!("Contact {address}"),
        role: Role::Client,
        client_id: Some(client),
        lines: vec![],
        sees_organization,
        password_hash: None,
    }
}

fn staff(address: &str, role: Role, lines: Vec<Line>) -> NewUser {
    NewUser {
        email: email(address),
        name: format!("Staff {address}"),
        role,
        client_id: None,
        lines,
        sees_organization: false,
        password_hash: Some("$argon2id$fake".into()),
    }
}

fn service(code: &str, sort_order: i64) -> Service {
    Service {
        code: code.into(),
        name_ru: format!("Услуга {code}"),
        name_en: format!("Service {code}"),
        description_ru: "описание".into(),
        description_en: "description".into(),
        workflow: "standard".into(),
        definition: format!(r#"{{"code":"{code}","fields":[]}}"#),
        sort_order,
        active: true,
    }
}

fn new_ticket(client: ClientId, requester: UserId, subject: &str, draft: bool) -> NewTicket {
    NewTicket {
        service: "question".into(),
        subject: subject.into(),
        description: format!("Description of {subject}"),
        client_id: client,
        requester_id: requester,
        draft,
    }
}

fn classify_task(assignee: Option<UserId>) -> NewTask {
    NewTask {
        kind: "classify".into(),
        title: "Classify the request".into(),
        line: Some(line(1)),
        pool: Some("line1".into()),
        assignee_id: assignee,
        due_at: Some(at(120)),
        priority: 7,
        stage: Some("triage".into()),
    }
}

fn answer_task() -> NewTask {
    NewTask {
        kind: "answer".into(),
        title: "Answer the client".into(),
        line: None,
        pool: None,
        assignee_id: None,
        due_at: None,
        priority: -2,
        stage: None,
    }
}

/// Two organizations with their contacts and one specialist.
struct World {
    a: ClientId,
    b: ClientId,
    /// A's contacts that see only their own tickets.
    a1: UserId,
    a2: UserId,
    /// A's contact allowed the whole organization.
    a_org: UserId,
    b1: UserId,
    b_org: UserId,
    specialist: UserId,
}

async fn world(store: &dyn Store) -> World {
    store.upsert_service(&service("question", 1)).await.unwrap();
    let a = store
        .create_client("ALFA", "Alfa LLC", Some("alfa.demo"))
        .await
        .unwrap();
    let b = store
        .create_client("BETA", "Beta JSC", Some("beta.demo"))
        .await
        .unwrap();
    World {
        a,
        b,
        a1: store
            .create_user(&contact("a1@alfa.demo", a, false))
            .await
            .unwrap(),
        a2: store
            .create_user(&contact("a2@alfa.demo", a, false))
            .await
            .unwrap(),
        a_org: store
            .create_user(&contact("boss@alfa.demo", a, true))
            .await
            .unwrap(),
        b1: store
            .create_user(&contact("b1@beta.demo", b, false))
            .await
            .unwrap(),
        b_org: store
            .create_user(&contact("boss@beta.demo", b, true))
            .await
            .unwrap(),
        specialist: store
            .create_user(&staff("line1@demo.okno", Role::Specialist, vec![line(1)]))
            .await
            .unwrap(),
    }
}

fn conflict_message(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(StoreError::Domain(DomainError::Conflict(message))) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// Domain types have no `PartialEq`; their JSON form compares every field.
macro_rules! json {
    ($value:expr) => {
        serde_json::to_value(&$value).unwrap()
    };
}

fn ids(tickets: &[Ticket]) -> Vec<i64> {
    tickets.iter().map(|t| t.id.0).collect()
}

/// The outbox as `(kind, payload)` rows in order: the trait does not expose it yet, so this
/// reads the table directly, on whichever backend the scenario runs.
async fn outbox(db: &Db) -> Vec<(String, serde_json::Value)> {
    const SQL: &str = "SELECT kind, payload FROM outbox ORDER BY id";
    let rows: Vec<(String, String)> = match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&db.url)
                .connect()
                .await
                .unwrap();
            sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap()
        }
    };
    rows.into_iter()
        .map(|(kind, payload)| (kind, serde_json::from_str(&payload).unwrap()))
        .collect()
}

fn all(limit: u32) -> TicketFilter {
    TicketFilter {
        limit,
        ..TicketFilter::default()
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios.

async fn clients_and_users(db: Db) {
    let store = &*db.store;
    store.ping().await.unwrap();
    store.probe_write().await.unwrap();
    store.probe_write().await.unwrap();

    let alfa = store
        .create_client("ALFA", "Alfa LLC", Some("alfa.demo"))
        .await
        .unwrap();
    let beta = store.create_client("BETA", "Beta JSC", None).await.unwrap();
    assert_ne!(alfa, beta);

    let by_id = store.client(alfa).await.unwrap().expect("client by id");
    assert_eq!(
        (by_id.id, by_id.code.as_str(), by_id.name.as_str()),
        (alfa, "ALFA", "Alfa LLC")
    );
    assert_eq!(by_id.mail_domain.as_deref(), Some("alfa.demo"));
    let by_code = store
        .client_by_code("BETA")
        .await
        .unwrap()
        .expect("by code");
    assert_eq!((by_code.id, by_code.mail_domain), (beta, None));
    assert!(store.client_by_code("GAMMA").await.unwrap().is_none());
    assert!(
        store
            .client(ClientId(alfa.0 + 1000))
            .await
            .unwrap()
            .is_none()
    );

    let message = conflict_message(store.create_client("ALFA", "Another", None).await);
    assert!(message.starts_with("client"), "{message}");
    let message = conflict_message(
        store
            .create_client("ALFA2", "Same domain", Some("alfa.demo"))
            .await,
    );
    assert!(message.starts_with("client"), "{message}");
    // Two clients without a mail domain do not clash.
    store.create_client("GAMMA", "Gamma", None).await.unwrap();

    let mut new = contact("Ivan@Alfa.Demo", alfa, true);
    new.password_hash = Some("$argon2id$hash".into());
    let ivan = store.create_user(&new).await.unwrap();
    let specialist = store
        .create_user(&staff(
            "line2@demo.okno",
            Role::Specialist,
            vec![line(2), line(3)],
        ))
        .await
        .unwrap();
    assert_ne!(ivan, specialist);

    let user = store.user(ivan).await.unwrap().expect("user by id");
    assert_eq!(user.id, ivan);
    assert_eq!(user.email.as_str(), "ivan@alfa.demo");
    assert_eq!(user.name, "Contact Ivan@Alfa.Demo");
    assert_eq!(user.role, Role::Client);
    assert_eq!(user.client_id, Some(alfa));
    assert!(user.sees_organization);
    assert!(user.lines.is_empty() && user.skills.is_empty());
    assert_eq!(user.locale, "ru");

    let staff_user = store.user(specialist).await.unwrap().unwrap();
    assert_eq!(staff_user.role, Role::Specialist);
    assert_eq!(staff_user.client_id, None);
    assert_eq!(staff_user.lines, vec![line(2), line(3)]);
    assert!(!staff_user.sees_organization);

    let (found, hash) = store
        .user_by_email(&email("IVAN@alfa.demo"))
        .await
        .unwrap()
        .expect("user by email");
    assert_eq!(found.id, ivan);
    assert_eq!(hash.as_deref(), Some("$argon2id$hash"));
    let petr = store
        .create_user(&contact("petr@alfa.demo", alfa, false))
        .await
        .unwrap();
    let (found, no_hash) = store
        .user_by_email(&email("petr@alfa.demo"))
        .await
        .unwrap()
        .expect("a contact without a password");
    assert_eq!((found.id, no_hash), (petr, None));
    assert!(!found.sees_organization);
    assert!(
        store
            .user_by_email(&email("nobody@alfa.demo"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user(UserId(ivan.0 + 1000)).await.unwrap().is_none());

    let message = conflict_message(
        store
            .create_user(&contact("ivan@alfa.demo", beta, false))
            .await,
    );
    assert!(message.starts_with("email"), "{message}");
    // The store is still usable after the rejected inserts.
    store
        .create_user(&contact("olga@alfa.demo", alfa, false))
        .await
        .unwrap();
}

async fn services_upsert_and_order(db: Db) {
    let store = &*db.store;
    assert!(store.services().await.unwrap().is_empty());
    store
        .upsert_service(&service("license-key", 30))
        .await
        .unwrap();
    store
        .upsert_service(&service("question", 10))
        .await
        .unwrap();
    store
        .upsert_service(&service("documents", 20))
        .await
        .unwrap();
    let codes = |services: Vec<Service>| services.into_iter().map(|s| s.code).collect::<Vec<_>>();
    assert_eq!(
        codes(store.services().await.unwrap()),
        ["question", "documents", "license-key"]
    );
    assert_eq!(
        store.service("documents").await.unwrap(),
        Some(service("documents", 20))
    );

    let mut updated = service("license-key", 5);
    updated.name_en = "Request a license key".into();
    updated.definition = r#"{"audience":["ALFA"]}"#.into();
    updated.active = false;
    store.upsert_service(&updated).await.unwrap();
    let services = store.services().await.unwrap();
    assert_eq!(services.len(), 3, "an upsert of a known code adds nothing");
    assert_eq!(codes(services), ["license-key", "question", "documents"]);
    assert_eq!(store.service("license-key").await.unwrap(), Some(updated));
    assert_eq!(store.service("nothing").await.unwrap(), None);
}

async fn ticket_creation_with_tasks_and_history(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let tasks = [classify_task(Some(w.specialist)), answer_task()];
    let ticket = store
        .create_ticket(&new_ticket(w.a, w.a1, "Printer", false), &tasks, at(0))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::New);
    assert_eq!(ticket.service, "question");
    assert_eq!(ticket.subject, "Printer");
    assert_eq!(ticket.description, "Description of Printer");
    assert_eq!(
        (ticket.client_id, ticket.client_code.as_str()),
        (w.a, "ALFA")
    );
    assert_eq!(ticket.requester_id, w.a1);
    assert_eq!(ticket.requester_name, "Contact a1@alfa.demo");
    assert_eq!(ticket.classification, None);
    assert!(!ticket.shared_with_organization);
    assert_eq!(ticket.next_step_at, None);
    assert_eq!((ticket.created_at, ticket.updated_at), (at(0), at(0)));
    assert_eq!(
        ticket.number().to_string(),
        format!("OK-{:06}", ticket.id.0)
    );

    let read = store
        .ticket(TicketScope::All, ticket.id)
        .await
        .unwrap()
        .expect("read back");
    assert_eq!(json!(read), json!(ticket));

    let history = store.history(ticket.id, true).await.unwrap();
    let kinds: Vec<_> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "task_created", "task_created"]);
    let created = &history[0];
    assert!(created.public);
    assert_eq!(created.ticket_id, ticket.id);
    assert_eq!(created.actor_id, Some(w.a1));
    assert_eq!(created.actor_name.as_deref(), Some("Contact a1@alfa.demo"));
    assert_eq!(created.after.as_deref(), Some("new"));
    assert_eq!(created.at, at(0));
    for (event, task) in history[1..].iter().zip(&tasks) {
        assert!(!event.public, "task events are internal");
        assert_eq!(event.after.as_deref(), Some(task.kind.as_str()));
    }
    let public = store.history(ticket.id, false).await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].kind, "created");

    let stored = store.tasks(ticket.id).await.unwrap();
    assert_eq!(stored.len(), 2);
    for (task, new) in stored.iter().zip(&tasks) {
        assert_eq!(task.ticket_id, ticket.id);
        assert_eq!(task.kind, new.kind);
        assert_eq!(task.title, new.title);
        assert_eq!(task.line, new.line);
        assert_eq!(task.pool, new.pool);
        assert_eq!(task.assignee_id, new.assignee_id);
        assert_eq!(task.due_at, new.due_at);
        assert_eq!(task.priority, new.priority);
        assert_eq!(task.state, TaskState::Open);
        assert_eq!(task.created_at, at(0));
    }
    assert!(stored[0].id < stored[1].id);

    // A ticket without tasks has none, and no one else's.
    let bare = store
        .create_ticket(&new_ticket(w.b, w.b1, "Bare", false), &[], at(1))
        .await
        .unwrap();
    assert_ne!(bare.id, ticket.id);
    assert!(store.tasks(bare.id).await.unwrap().is_empty());
    assert_eq!(store.history(bare.id, true).await.unwrap().len(), 1);
    assert!(
        store
            .ticket(TicketScope::All, TicketId(bare.id.0 + 1000))
            .await
            .unwrap()
            .is_none()
    );
}

async fn drafts_and_submission(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let draft = store
        .create_ticket(
            &new_ticket(w.a, w.a1, "Draft", true),
            &[classify_task(None)],
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(draft.status, TicketStatus::Draft);
    assert!(outbox(&db).await.is_empty(), "a draft notifies no one");
    assert!(
        store.tasks(draft.id).await.unwrap().is_empty(),
        "a draft starts no route"
    );
    let history = store.history(draft.id, true).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "created");
    assert_eq!(history[0].after.as_deref(), Some("draft"));

    // Its author changes it while it is a draft; nobody else does.
    let other = store
        .update_draft(draft.id, w.a2, "Чужая правка", "", at(10))
        .await
        .unwrap();
    assert!(other.is_none(), "only the author changes a draft");
    let changed = store
        .update_draft(draft.id, w.a1, "Draft, changed", "More detail", at(20))
        .await
        .unwrap()
        .expect("the author's change");
    assert_eq!(
        (changed.subject.as_str(), changed.description.as_str()),
        ("Draft, changed", "More detail")
    );
    assert_eq!(changed.status, TicketStatus::Draft);
    assert_eq!(changed.updated_at, at(20));
    let history = store.history(draft.id, false).await.unwrap();
    assert_eq!(
        history.last().map(|e| e.kind.as_str()),
        Some("draft_edited")
    );
    assert!(
        outbox(&db).await.is_empty(),
        "an edited draft notifies no one"
    );

    let sent = store
        .submit_draft(
            draft.id,
            w.a1,
            &[classify_task(None), answer_task()],
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(sent.id, draft.id);
    assert_eq!(sent.status, TicketStatus::New);
    assert_eq!(sent.created_at, at(30));
    let read = store
        .ticket(TicketScope::All, draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, TicketStatus::New);
    let tasks = store.tasks(draft.id).await.unwrap();
    assert_eq!(
        tasks.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(),
        ["classify", "answer"]
    );
    assert!(tasks.iter().all(|t| t.created_at == at(30)));
    let history = store.history(draft.id, true).await.unwrap();
    let status = history
        .iter()
        .find(|e| e.kind == "status")
        .expect("a status event");
    assert!(status.public);
    assert_eq!(
        (status.before.as_deref(), status.after.as_deref()),
        (Some("draft"), Some("new"))
    );
    assert_eq!(status.actor_id, Some(w.a1));
    assert_eq!(
        history.iter().filter(|e| e.kind == "task_created").count(),
        2
    );

    let created = (
        "ticket_created".to_owned(),
        // A ticket without a route promises no next step at its event.
        serde_json::json!({ "ticket_id": draft.id.0, "next_step_at": null }),
    );
    assert_eq!(outbox(&db).await, std::slice::from_ref(&created));
    let late = store
        .update_draft(draft.id, w.a1, "Too late", "", at(40))
        .await
        .unwrap();
    assert!(late.is_none(), "a sent ticket is no longer a draft");

    conflict_message(
        store
            .submit_draft(draft.id, w.a1, &[answer_task()], at(40))
            .await,
    );
    assert_eq!(outbox(&db).await, [created], "nor does a refused one");
    assert_eq!(
        store.tasks(draft.id).await.unwrap().len(),
        2,
        "a refused submission inserts nothing"
    );
    let other = store
        .create_ticket(&new_ticket(w.a, w.a1, "Sent", false), &[], at(1))
        .await
        .unwrap();
    conflict_message(store.submit_draft(other.id, w.a1, &[], at(2)).await);
    assert_eq!(outbox(&db).await.len(), 2);
    // The store still writes after a rolled-back transaction.
    store
        .create_ticket(&new_ticket(w.a, w.a1, "After", false), &[], at(3))
        .await
        .unwrap();
}

async fn visibility_across_scopes(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let mk = |client, requester, subject: &'static str, draft| {
        let ticket = new_ticket(client, requester, subject, draft);
        async move { store.create_ticket(&ticket, &[], at(0)).await.unwrap() }
    };
    let t_a1 = mk(w.a, w.a1, "a1's", false).await;
    let t_a2 = mk(w.a, w.a2, "a2's", false).await;
    let t_a2_watched = mk(w.a, w.a2, "a2's, watched by a1", false).await;
    let t_org = mk(w.a, w.a_org, "a_org's", false).await;
    let t_b1 = mk(w.b, w.b1, "b1's", false).await;
    let t_b1_watched = mk(w.b, w.b1, "b1's, watched by a1", false).await;
    let t_a2_draft = mk(w.a, w.a2, "a2's draft", true).await;
    let tickets = [
        &t_a1,
        &t_a2,
        &t_a2_watched,
        &t_org,
        &t_b1,
        &t_b1_watched,
        &t_a2_draft,
    ];

    // a1 watches one of a2's tickets and, wrongly invited, one of B's: a watcher of
    // another organization must still not see it.
    store
        .add_watcher(t_a2_watched.id, w.a1, w.specialist, at(1))
        .await
        .unwrap();
    store
        .add_watcher(t_b1_watched.id, w.a1, w.specialist, at(1))
        .await
        .unwrap();
    // Adding the same watcher twice is harmless and recorded once.
    store
        .add_watcher(t_a2_watched.id, w.a1, w.specialist, at(2))
        .await
        .unwrap();
    let watcher_events = store
        .history(t_a2_watched.id, true)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "watcher_added")
        .collect::<Vec<_>>();
    assert_eq!(watcher_events.len(), 1);
    assert!(!watcher_events[0].public);
    assert_eq!(watcher_events[0].after, Some(w.a1.to_string()));
    let watches = HashSet::from([(t_a2_watched.id, w.a1), (t_b1_watched.id, w.a1)]);

    // Scopes as the policy derives them from the stored users.
    let mut viewers = Vec::new();
    for user in [w.a1, w.a2, w.a_org, w.b1, w.b_org, w.specialist] {
        let user = store.user(user).await.unwrap().unwrap();
        viewers.push((
            user.email.to_string(),
            Some(user.id),
            Viewer::from(&user).ticket_scope(),
        ));
    }
    viewers.push(("no organization".into(), None, TicketScope::Nothing));
    assert_eq!(
        viewers[0].2,
        TicketScope::OwnOrShared {
            client: w.a,
            user: w.a1
        }
    );
    assert_eq!(viewers[2].2, TicketScope::Organization(w.a));
    assert_eq!(viewers[5].2, TicketScope::All);

    let missing = TicketId(tickets.iter().map(|t| t.id.0).max().unwrap() + 1);
    for (who, user, scope) in &viewers {
        let mut expected_list = BTreeSet::new();
        for ticket in tickets {
            let facts = TicketFacts {
                client: ticket.client_id,
                requester: ticket.requester_id,
                shared_with_organization: ticket.shared_with_organization,
                watched_by_viewer: user.is_some_and(|u| watches.contains(&(ticket.id, u))),
                handed_to_viewer: false,
            };
            let admitted = scope.admits(facts);
            let seen = store.ticket(*scope, ticket.id).await.unwrap();
            assert_eq!(
                seen.is_some(),
                admitted,
                "{who} ({scope:?}) and ticket {:?}",
                ticket.subject
            );
            if let Some(seen) = seen {
                assert_eq!(json!(seen), json!(*ticket));
            }
            if admitted && ticket.status != TicketStatus::Draft {
                expected_list.insert(ticket.id.0);
            }
        }
        assert!(
            store.ticket(*scope, missing).await.unwrap().is_none(),
            "{who}"
        );
        let listed: BTreeSet<i64> = ids(&store.tickets(*scope, &all(500)).await.unwrap())
            .into_iter()
            .collect();
        assert_eq!(listed, expected_list, "the list of {who} ({scope:?})");
    }

    // The facts spelled out, so a policy change cannot silently move both sides.
    let a1_scope = viewers[0].2;
    let seen = |scope| async move {
        ids(&store.tickets(scope, &all(500)).await.unwrap())
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        seen(a1_scope).await,
        BTreeSet::from([t_a1.id.0, t_a2_watched.id.0])
    );
    assert_eq!(
        seen(viewers[1].2).await,
        BTreeSet::from([t_a2.id.0, t_a2_watched.id.0])
    );
    assert_eq!(
        seen(TicketScope::Organization(w.a)).await,
        BTreeSet::from([t_a1.id.0, t_a2.id.0, t_a2_watched.id.0, t_org.id.0])
    );
    assert_eq!(
        seen(viewers[3].2).await,
        BTreeSet::from([t_b1.id.0, t_b1_watched.id.0])
    );
    assert_eq!(seen(TicketScope::All).await.len(), 6);
    assert!(seen(TicketScope::Nothing).await.is_empty());
    assert!(
        store
            .ticket(a1_scope, t_b1_watched.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.ticket(a1_scope, t_a2.id).await.unwrap().is_none());
    assert!(
        store
            .ticket(TicketScope::Nothing, t_a1.id)
            .await
            .unwrap()
            .is_none()
    );

    // Drafts are listed only when asked for, still within the scope.
    let drafts = TicketFilter {
        status: Some(TicketStatus::Draft),
        limit: 100,
        ..TicketFilter::default()
    };
    assert_eq!(
        ids(&store.tickets(viewers[1].2, &drafts).await.unwrap()),
        [t_a2_draft.id.0]
    );
    assert!(store.tickets(a1_scope, &drafts).await.unwrap().is_empty());
    assert!(
        store
            .tickets(viewers[4].2, &drafts)
            .await
            .unwrap()
            .is_empty()
    );

    // A client filter never widens a scope.
    let b_only = TicketFilter {
        client: Some(w.b),
        limit: 100,
        ..TicketFilter::default()
    };
    assert!(store.tickets(a1_scope, &b_only).await.unwrap().is_empty());
    assert!(
        store
            .tickets(TicketScope::Organization(w.a), &b_only)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn list_filters_and_keyset_pagination(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let mut a_ids = Vec::new();
    let mut a1_ids = Vec::new();
    for i in 0..25 {
        let requester = if i % 2 == 0 { w.a1 } else { w.a2 };
        let ticket = store
            .create_ticket(
                &new_ticket(w.a, requester, &format!("A #{i}"), false),
                &[],
                at(i),
            )
            .await
            .unwrap();
        a_ids.push(ticket.id.0);
        if requester == w.a1 {
            a1_ids.push(ticket.id.0);
        }
        if i % 6 == 3 {
            // Interleave other organizations' tickets and drafts.
            store
                .create_ticket(&new_ticket(w.b, w.b1, "B", false), &[], at(i))
                .await
                .unwrap();
            store
                .create_ticket(&new_ticket(w.a, w.a1, "A draft", true), &[], at(i))
                .await
                .unwrap();
        }
    }
    a_ids.reverse(); // newest first
    a1_ids.reverse();

    let page = |scope, after| {
        let filter = TicketFilter {
            client: Some(w.a),
            after,
            limit: 10,
            ..TicketFilter::default()
        };
        async move { store.tickets(scope, &filter).await.unwrap() }
    };
    let mut collected = Vec::new();
    let mut after = None;
    let mut sizes = Vec::new();
    loop {
        let tickets = page(TicketScope::All, after).await;
        sizes.push(tickets.len());
        if tickets.is_empty() {
            break;
        }
        assert!(
            tickets.windows(2).all(|p| p[0].id > p[1].id),
            "newest first within a page"
        );
        assert!(
            tickets
                .windows(2)
                .all(|p| p[0].created_at >= p[1].created_at)
        );
        assert!(tickets.iter().all(|t| t.client_id == w.a));
        assert!(tickets.iter().all(|t| t.status == TicketStatus::New));
        after = tickets.last().map(|t| t.id);
        collected.extend(ids(&tickets));
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [10, 10, 5, 0]);
    assert_eq!(collected, a_ids, "no duplicates, no gaps");

    // The same in a contact's scope: a1 requested every other one.
    let a1_scope = TicketScope::OwnOrShared {
        client: w.a,
        user: w.a1,
    };
    let mut collected = Vec::new();
    let mut after = None;
    loop {
        let tickets = page(a1_scope, after).await;
        if tickets.is_empty() {
            break;
        }
        assert!(tickets.iter().all(|t| t.requester_id == w.a1));
        after = tickets.last().map(|t| t.id);
        collected.extend(ids(&tickets));
    }
    assert_eq!(collected, a1_ids);
    assert_eq!(collected.len(), 13);

    let count = |filter: TicketFilter| async move {
        store
            .tickets(TicketScope::All, &filter)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(count(all(500)).await, 25 + 4, "drafts excluded by default");
    let with = |status| TicketFilter {
        status: Some(status),
        limit: 500,
        ..TicketFilter::default()
    };
    assert_eq!(count(with(TicketStatus::New)).await, 29);
    assert_eq!(count(with(TicketStatus::Draft)).await, 4);
    assert_eq!(count(with(TicketStatus::Closed)).await, 0);
    let drafts = store
        .tickets(TicketScope::All, &with(TicketStatus::Draft))
        .await
        .unwrap();
    assert!(drafts.iter().all(|t| t.status == TicketStatus::Draft));
    let b = store
        .tickets(
            TicketScope::All,
            &TicketFilter {
                client: Some(w.b),
                limit: 500,
                ..TicketFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(b.len(), 4);
    assert!(b.iter().all(|t| t.client_code == "BETA"));
    let b_drafts = TicketFilter {
        client: Some(w.b),
        ..with(TicketStatus::Draft)
    };
    assert_eq!(count(b_drafts).await, 0);
    assert_eq!(count(all(7)).await, 7, "the limit is honoured");
    let past_the_end = TicketFilter {
        after: Some(TicketId(*a_ids.last().unwrap())),
        client: Some(w.a),
        limit: 10,
        ..TicketFilter::default()
    };
    assert_eq!(count(past_the_end).await, 0);
}

async fn comments_and_their_history(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let ticket = store
        .create_ticket(&new_ticket(w.a, w.a1, "Comments", false), &[], at(0))
        .await
        .unwrap();
    let other = store
        .create_ticket(&new_ticket(w.a, w.a1, "Other", false), &[], at(0))
        .await
        .unwrap();
    let public = store
        .add_comment(
            &NewComment {
                ticket_id: ticket.id,
                author_id: w.a1,
                body: "Привет, it still fails".into(),
                internal: false,
            },
            at(5),
        )
        .await
        .unwrap();
    let internal = store
        .add_comment(
            &NewComment {
                ticket_id: ticket.id,
                author_id: w.specialist,
                body: "Looks like the driver".into(),
                internal: true,
            },
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(public.ticket_id, ticket.id);
    assert_eq!(public.author_id, Some(w.a1));
    assert_eq!(public.author_name, "Contact a1@alfa.demo");
    assert_eq!(public.body, "Привет, it still fails");
    assert!(!public.internal);
    assert_eq!(public.created_at, at(5));
    assert!(internal.internal);
    assert_eq!(internal.author_name, "Staff line1@demo.okno");

    let visible = store.comments(ticket.id, false).await.unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!(json!(visible[0]), json!(public));
    let every = store.comments(ticket.id, true).await.unwrap();
    assert_eq!(
        every.iter().map(|c| c.id).collect::<Vec<_>>(),
        [public.id, internal.id]
    );
    assert_eq!(json!(every[1]), json!(internal));
    assert!(store.comments(other.id, true).await.unwrap().is_empty());

    let history = store.history(ticket.id, true).await.unwrap();
    let comment_events: Vec<_> = history.iter().filter(|e| e.kind == "comment").collect();
    assert_eq!(comment_events.len(), 2);
    assert!(comment_events[0].public);
    assert_eq!(
        comment_events[0].after.as_deref(),
        Some(public.id.to_string().as_str())
    );
    assert_eq!(comment_events[0].actor_id, Some(w.a1));
    assert_eq!(comment_events[0].at, at(5));
    assert!(!comment_events[1].public);
    assert_eq!(
        comment_events[1].after.as_deref(),
        Some(internal.id.to_string().as_str())
    );
    let public_history = store.history(ticket.id, false).await.unwrap();
    assert!(public_history.iter().all(|e| e.public));
    assert_eq!(
        public_history
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["created", "comment"]
    );
    assert!(history.windows(2).all(|p| p[0].id < p[1].id));

    let updated = store
        .ticket(TicketScope::All, ticket.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.updated_at, at(6), "a comment touches the ticket");
    let messages = outbox(&db).await;
    assert_eq!(
        messages.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["ticket_created", "ticket_created", "comment_added"],
        "only the public comment notifies"
    );
    assert_eq!(
        messages[2].1,
        serde_json::json!({ "ticket_id": ticket.id.0, "comment_id": public.id.0 })
    );
    assert_eq!(updated.created_at, at(0));
}

async fn attachments_follow_comment_visibility(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let ticket = store
        .create_ticket(&new_ticket(w.a, w.a1, "Files", false), &[], at(0))
        .await
        .unwrap();
    let other = store
        .create_ticket(&new_ticket(w.a, w.a2, "Other", false), &[], at(0))
        .await
        .unwrap();
    let comment = |ticket_id, internal| NewComment {
        ticket_id,
        author_id: w.specialist,
        body: "see attached".into(),
        internal,
    };
    let public = store
        .add_comment(&comment(ticket.id, false), at(1))
        .await
        .unwrap();
    let internal = store
        .add_comment(&comment(ticket.id, true), at(2))
        .await
        .unwrap();
    let foreign = store
        .add_comment(&comment(other.id, false), at(3))
        .await
        .unwrap();
    let file = |comment_id, name: &str| NewAttachment {
        ticket_id: ticket.id,
        comment_id,
        file_name: name.into(),
        content_type: "application/pdf".into(),
        size: 12_345,
        sha256: format!("{:0>64}", name.len()),
        uploaded_by: w.specialist,
    };

    let on_ticket = store
        .add_attachment(&file(None, "scan.pdf"), at(4))
        .await
        .unwrap();
    assert_eq!(on_ticket.ticket_id, ticket.id);
    assert_eq!(on_ticket.comment_id, None);
    assert_eq!(on_ticket.file_name, "scan.pdf");
    assert_eq!(on_ticket.content_type, "application/pdf");
    assert_eq!(on_ticket.size, 12_345);
    assert_eq!(on_ticket.sha256, format!("{:0>64}", 8));
    assert_eq!(on_ticket.created_at, at(4));
    let on_public = store
        .add_attachment(&file(Some(public.id), "reply.pdf"), at(5))
        .await
        .unwrap();
    assert_eq!(on_public.comment_id, Some(public.id));
    let on_internal = store
        .add_attachment(&file(Some(internal.id), "dump.log"), at(6))
        .await
        .unwrap();

    let for_client = store.attachments(ticket.id, false).await.unwrap();
    assert_eq!(
        for_client.iter().map(|a| a.id).collect::<Vec<_>>(),
        [on_ticket.id, on_public.id]
    );
    assert_eq!(json!(for_client[0]), json!(on_ticket));
    let for_staff = store.attachments(ticket.id, true).await.unwrap();
    assert_eq!(
        for_staff.iter().map(|a| a.id).collect::<Vec<_>>(),
        [on_ticket.id, on_public.id, on_internal.id]
    );
    assert!(store.attachments(other.id, true).await.unwrap().is_empty());

    match store
        .add_attachment(&file(Some(foreign.id), "wrong.pdf"), at(7))
        .await
    {
        Err(StoreError::Domain(DomainError::NotFound(_))) => {}
        other => panic!("a comment of another ticket must be NotFound, got {other:?}"),
    }
    match store
        .add_attachment(
            &file(Some(CommentId(foreign.id.0 + 1000)), "none.pdf"),
            at(7),
        )
        .await
    {
        Err(StoreError::Domain(DomainError::NotFound(_))) => {}
        other => panic!("a missing comment must be NotFound, got {other:?}"),
    }
    assert_eq!(store.attachments(ticket.id, true).await.unwrap().len(), 3);

    let history = store.history(ticket.id, true).await.unwrap();
    let events: Vec<_> = history
        .iter()
        .filter(|e| e.kind == "attachment")
        .map(|e| (e.after.as_deref().unwrap_or_default(), e.public))
        .collect();
    assert_eq!(
        events,
        [("scan.pdf", true), ("reply.pdf", true), ("dump.log", false)]
    );
    assert!(
        store
            .history(ticket.id, false)
            .await
            .unwrap()
            .iter()
            .all(|e| e.after.as_deref() != Some("dump.log"))
    );
}

async fn bulk_load(db: Db) {
    let store = &*db.store;
    let w = world(store).await;
    let batch: Vec<NewTicket> = (0..120)
        .map(|i| {
            let (client, requester) = match i % 3 {
                0 => (w.a, w.a1),
                1 => (w.a, w.a2),
                _ => (w.b, w.b1),
            };
            new_ticket(client, requester, &format!("Generated {i}"), i % 10 == 9)
        })
        .collect();
    store.load_tickets(&batch, at(0)).await.unwrap();
    store.load_tickets(&[], at(0)).await.unwrap();

    let listed = store.tickets(TicketScope::All, &all(500)).await.unwrap();
    assert_eq!(listed.len(), 108, "120 loaded, 12 of them drafts");
    assert!(listed.iter().all(|t| t.created_at == at(0)));
    let subjects: BTreeSet<_> = listed.iter().map(|t| t.subject.clone()).collect();
    assert_eq!(subjects.len(), 108);
    let count = |scope, status| async move {
        let filter = TicketFilter {
            status,
            limit: 500,
            ..TicketFilter::default()
        };
        store.tickets(scope, &filter).await.unwrap().len()
    };
    assert_eq!(count(TicketScope::All, Some(TicketStatus::Draft)).await, 12);
    let expected_a1 = batch
        .iter()
        .filter(|t| t.requester_id == w.a1 && !t.draft)
        .count();
    assert_eq!(
        count(
            TicketScope::OwnOrShared {
                client: w.a,
                user: w.a1
            },
            None
        )
        .await,
        expected_a1
    );
    assert_eq!(count(TicketScope::Organization(w.b), None).await, 36);
    let one = listed.last().unwrap();
    let read = store
        .ticket(TicketScope::All, one.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.subject, one.subject);
}

async fn restart_durability(db: Db) {
    let Db {
        store,
        url,
        backend,
        ..
    } = db;
    let w = world(&*store).await;
    let ticket = store
        .create_ticket(
            &new_ticket(w.a, w.a1, "Survives", false),
            &[classify_task(None)],
            at(0),
        )
        .await
        .unwrap();
    let comment = store
        .add_comment(
            &NewComment {
                ticket_id: ticket.id,
                author_id: w.a1,
                body: "still here?".into(),
                internal: false,
            },
            at(1),
        )
        .await
        .unwrap();
    store
        .create_session(&NewSession {
            id_hash: "session",
            user: w.a1,
            csrf: "csrf",
            created_at: at(0),
            expires_at: at(60),
            address: "192.0.2.1",
            agent: "test",
        })
        .await
        .unwrap();
    let before = store
        .ticket(TicketScope::All, ticket.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.updated_at, at(1));
    drop(store);
    if backend == Backend::Sqlite {
        let size = std::fs::metadata(&url).expect("the database file").len();
        assert!(size > 0);
    }

    let store = open(&url).await.expect("re-open");
    let read = store
        .ticket(TicketScope::All, ticket.id)
        .await
        .unwrap()
        .expect("the ticket survives");
    assert_eq!(json!(read), json!(before));
    assert_eq!(
        store.comments(ticket.id, true).await.unwrap()[0].id,
        comment.id
    );
    assert_eq!(store.tasks(ticket.id).await.unwrap().len(), 1);
    assert_eq!(store.history(ticket.id, true).await.unwrap().len(), 3);
    assert_eq!(store.client_by_code("ALFA").await.unwrap().unwrap().id, w.a);
    assert!(store.session("session", at(0)).await.unwrap().is_some());
    // Ids keep counting up after a restart.
    let next = store
        .create_ticket(&new_ticket(w.a, w.a1, "Next", false), &[], at(2))
        .await
        .unwrap();
    assert!(next.id > ticket.id);
}

async fn concurrent_ticket_creation(db: Db) {
    let store = db.store.clone();
    let w = world(&*store).await;
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let store = store.clone();
        let (client, requester) = if i % 2 == 0 { (w.a, w.a1) } else { (w.b, w.b1) };
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for j in 0..4 {
                let ticket = store
                    .create_ticket(
                        &new_ticket(client, requester, &format!("Concurrent {i}/{j}"), false),
                        &[classify_task(None)],
                        at(i),
                    )
                    .await
                    .expect("a concurrent create succeeds");
                store
                    .add_comment(
                        &NewComment {
                            ticket_id: ticket.id,
                            author_id: requester,
                            body: format!("comment {i}/{j}"),
                            internal: false,
                        },
                        at(i),
                    )
                    .await
                    .expect("a concurrent comment succeeds");
                made.push(ticket.id.0);
            }
            made
        }));
    }
    let mut made = Vec::new();
    for task in tasks {
        made.extend(task.await.unwrap());
    }
    let distinct: BTreeSet<i64> = made.iter().copied().collect();
    assert_eq!(made.len(), 64);
    assert_eq!(distinct.len(), 64, "distinct ids");
    let listed: BTreeSet<i64> = ids(&store.tickets(TicketScope::All, &all(500)).await.unwrap())
        .into_iter()
        .collect();
    assert_eq!(listed, distinct);
    for id in distinct.iter().step_by(7) {
        assert_eq!(store.tasks(TicketId(*id)).await.unwrap().len(), 1);
        assert_eq!(store.comments(TicketId(*id), false).await.unwrap().len(), 1);
    }
}

async fn migrations_are_idempotent(db: Db) {
    let w = world(&*db.store).await;
    // A second store on the same database while the first is open, then a third after both
    // are gone: each applies no migration twice and sees the same data.
    let second = open(&db.url).await.expect("open twice");
    assert_eq!(
        second.client_by_code("ALFA").await.unwrap().unwrap().id,
        w.a
    );
    let ticket = second
        .create_ticket(&new_ticket(w.a, w.a1, "Via second", false), &[], at(0))
        .await
        .unwrap();
    assert!(
        db.store
            .ticket(TicketScope::All, ticket.id)
            .await
            .unwrap()
            .is_some()
    );
    drop(second);
    let Db { store, url, .. } = db;
    drop(store);
    let third = open(&url).await.expect("open a third time");
    third.ping().await.unwrap();
    assert_eq!(third.services().await.unwrap().len(), 1);
    assert!(
        third
            .ticket(TicketScope::All, ticket.id)
            .await
            .unwrap()
            .is_some()
    );
}
