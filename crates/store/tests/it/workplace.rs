//! The workplaces' own store (issue 19) on SQLite and (with `OKNO_TEST_DATABASE_URL`)
//! PostgreSQL: a person's time zone, and the queue's ticket briefs.

use jiff::Timestamp;
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::*;

okno_store::on_both_backends!(
    a_persons_zone_is_kept_and_cleared,
    briefs_name_client_and_subject
);

async fn contact(store: &dyn Store) -> (ClientId, UserId) {
    let client = store
        .create_client("ALFA", "ООО «Альфа»", None)
        .await
        .unwrap();
    let user = store
        .create_user(&NewUser {
            email: Email::parse("c@alfa.test").unwrap(),
            name: "Анна".into(),
            role: Role::Client,
            client_id: Some(client),
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    (client, user)
}

async fn a_persons_zone_is_kept_and_cleared(db: TestDb) {
    let store = &*db.store;
    let (_, user) = contact(store).await;
    assert_eq!(store.user_time_zone(user).await.unwrap(), None);
    store
        .set_user_time_zone(user, Some("Asia/Novosibirsk"))
        .await
        .unwrap();
    assert_eq!(
        store.user_time_zone(user).await.unwrap().as_deref(),
        Some("Asia/Novosibirsk")
    );
    // A second choice replaces the first; none returns to the default.
    store
        .set_user_time_zone(user, Some("Europe/Kaliningrad"))
        .await
        .unwrap();
    assert_eq!(
        store.user_time_zone(user).await.unwrap().as_deref(),
        Some("Europe/Kaliningrad")
    );
    store.set_user_time_zone(user, None).await.unwrap();
    assert_eq!(store.user_time_zone(user).await.unwrap(), None);
}

async fn briefs_name_client_and_subject(db: TestDb) {
    let store = &*db.store;
    store
        .upsert_service(&Service {
            code: "question".into(),
            name_ru: "Вопрос".into(),
            name_en: "Question".into(),
            description_ru: String::new(),
            description_en: String::new(),
            workflow: "question".into(),
            definition: "{}".into(),
            sort_order: 1,
            active: true,
        })
        .await
        .unwrap();
    let (client, user) = contact(store).await;
    let mut ids = Vec::new();
    for subject in ["Первый", "Второй"] {
        let ticket = NewTicket {
            service: "question".into(),
            subject: subject.into(),
            description: String::new(),
            client_id: client,
            requester_id: user,
            draft: false,
        };
        ids.push(
            store
                .create_ticket(&ticket, &[], Timestamp::now())
                .await
                .unwrap()
                .id,
        );
    }
    ids.push(TicketId(999_999));
    let mut briefs = store.ticket_briefs(&ids).await.unwrap();
    briefs.sort_by_key(|b| b.id.0);
    let seen: Vec<_> = briefs
        .iter()
        .map(|b| {
            (
                b.subject.as_str(),
                b.client_code.as_str(),
                b.client_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Первый", "ALFA", "ООО «Альфа»"),
            ("Второй", "ALFA", "ООО «Альфа»")
        ]
    );
    assert!(store.ticket_briefs(&[]).await.unwrap().is_empty());
}
