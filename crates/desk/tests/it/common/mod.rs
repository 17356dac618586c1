//! A desk on a fresh store with a small firm: a client with a contact, line 1, 2 and 3
//! specialists, a manager, an accountant, a licensing officer, an engineer/master/quality
//! crew, and an admin.

#![allow(dead_code)] // each test binary uses its own part

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::{NewUser, Store};
use std::sync::Arc;

pub struct Firm {
    pub desk: Arc<Desk>,
    pub client: ClientId,
    pub contact: User,
    pub other_contact: User,
    pub line1: User,
    pub line2: User,
    pub dev: User,
    pub manager: User,
    pub admin: User,
    pub accountant: User,
    pub licensing: User,
    pub engineer: User,
    /// Keeps the file store's directory alive.
    pub _files: tempfile::TempDir,
}

pub async fn firm(store: Arc<dyn Store>) -> Firm {
    firm_in(store, None).await
}

/// The firm on a desk with a configuration directory of its own (`None`: the shipped one).
pub async fn firm_in(store: Arc<dyn Store>, config_dir: Option<std::path::PathBuf>) -> Firm {
    firm_on(store, config_dir, Arc::new(SystemClock)).await
}

/// The firm on a desk whose time is `clock` (a [`ManualClock`] in tests that move time).
pub async fn firm_on(
    store: Arc<dyn Store>,
    config_dir: Option<std::path::PathBuf>,
    clock: Arc<dyn Clock>,
) -> Firm {
    let files = tempfile::tempdir().unwrap();
    let settings = Settings {
        config_dir,
        clock,
        ..Settings::new(files.path().to_owned())
    };
    let desk = Desk::start(store.clone(), settings).await.unwrap();
    let client = store
        .create_client("ALFA", "Alfa LLC", Some("alfa.demo"))
        .await
        .unwrap();
    let add = |email: &str, role: Role, client: Option<ClientId>, lines: &[u8]| NewUser {
        email: Email::parse(email).unwrap(),
        name: email.split('@').next().unwrap().to_owned(),
        role,
        client_id: client,
        lines: lines.iter().map(|n| Line::new(*n).unwrap()).collect(),
        sees_organization: false,
        password_hash: None,
    };
    let people = [
        add("client@alfa.demo", Role::Client, Some(client), &[]),
        add("other@alfa.demo", Role::Client, Some(client), &[]),
        add("line1@demo.okno", Role::Specialist, None, &[1]),
        add("line2@demo.okno", Role::Specialist, None, &[2]),
        add("dev@demo.okno", Role::Specialist, None, &[3]),
        add("manager@demo.okno", Role::Manager, None, &[]),
        add("admin@demo.okno", Role::Admin, None, &[]),
        add("accountant@demo.okno", Role::Specialist, None, &[]),
        add("keys@demo.okno", Role::Specialist, None, &[]),
        add("engineer@demo.okno", Role::Specialist, None, &[]),
    ];
    let mut users = Vec::new();
    for person in people {
        let id = store.create_user(&person).await.unwrap();
        users.push(store.user(id).await.unwrap().unwrap());
    }
    store
        .set_user_pools(users[7].id, &["accounting".into()])
        .await
        .unwrap();
    store
        .set_user_pools(users[8].id, &["licensing".into()])
        .await
        .unwrap();
    store
        .set_user_pools(
            users[9].id,
            &["engineer".into(), "master".into(), "quality".into()],
        )
        .await
        .unwrap();
    let mut users = users.into_iter();
    let mut next = || users.next().unwrap();
    Firm {
        desk,
        client,
        contact: next(),
        other_contact: next(),
        line1: next(),
        line2: next(),
        dev: next(),
        manager: next(),
        admin: next(),
        accountant: next(),
        licensing: next(),
        engineer: next(),
        _files: files,
    }
}

pub fn input(service: &str) -> okno_desk::tickets::TicketInput {
    okno_desk::tickets::TicketInput {
        service: service.into(),
        subject: "Не работает отчёт".into(),
        description: "При открытии отчёта ошибка".into(),
        client: None,
        requester: None,
        draft: false,
    }
}

/// The open tasks of a ticket.
pub async fn open_tasks(desk: &Desk, ticket: TicketId) -> Vec<Task> {
    desk.store
        .tasks(ticket)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.state == TaskState::Open)
        .collect()
}

/// The single open task of a ticket of `kind`.
pub async fn open_task(desk: &Desk, ticket: TicketId, kind: &str) -> Task {
    let open = open_tasks(desk, ticket).await;
    let found: Vec<_> = open.iter().filter(|t| t.kind == kind).collect();
    assert_eq!(found.len(), 1, "one open {kind} task among {open:?}");
    found[0].clone()
}

/// Gives the firm's client a contract, active from a month back for a year, that allows
/// `keys` license keys: the `license-key` service is for clients whose contract has keys.
pub async fn allow_license_keys(f: &Firm, keys: f64) {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(okno_desk::contracts::zone_of(None))
        .date();
    let day = |days: i64| {
        today
            .saturating_add(jiff::Span::new().days(days))
            .to_string()
    };
    f.desk
        .save_contract(
            &f.manager,
            None,
            okno_desk::contracts::ContractInput {
                number: "KEYS-1".into(),
                client: "ALFA".into(),
                starts_on: day(-30),
                ends_on: day(365),
                limits: vec![okno_desk::contracts::LimitInput {
                    value: Some(keys),
                    unit: Some("license_keys".into()),
                    per: Some("period".into()),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
}
