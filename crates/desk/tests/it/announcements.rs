//! A manager's announcement "also sent by mail" (issue 8): one mail per active contact of
//! the clients it is for, in the contact's language, through the outbox, never twice.

use crate::common;

use common::*;
use okno_desk::admin::UserInput;
use okno_desk::mail::MailSender;
use okno_domain::*;
use okno_mail::MailSettings;
use okno_mail::smtp::SmtpError;
use okno_store::testing::TestDb;
use std::sync::Mutex;

okno_store::on_both_backends!(announcements_go_by_mail_once_per_contact);

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<String>>,
}

impl MailSender for Recorder {
    async fn send(
        &self,
        message: okno_desk::mail::lettre_message::Message,
    ) -> Result<(), SmtpError> {
        self.sent
            .lock()
            .unwrap()
            .push(String::from_utf8(message.formatted()).unwrap());
        Ok(())
    }
}

impl Recorder {
    /// The recipients of everything sent so far, sorted, and forgets the messages.
    fn take_recipients(&self) -> Vec<String> {
        let mut to: Vec<String> = self
            .sent
            .lock()
            .unwrap()
            .drain(..)
            .map(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("To: "))
                    .unwrap()
                    .to_owned()
            })
            .collect();
        to.sort();
        to
    }
}

async fn announcements_go_by_mail_once_per_contact(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let desk = &firm.desk;
    let beta = desk
        .store
        .create_client("BETA", "Beta JSC", Some("beta.demo"))
        .await
        .unwrap();
    let contact = |email: &str, client| okno_store::NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        role: Role::Client,
        client_id: Some(client),
        lines: vec![],
        sees_organization: false,
        password_hash: None,
    };
    let boris = desk
        .store
        .create_user(&contact("boris@beta.demo", beta))
        .await
        .unwrap();
    // A deactivated contact of ALFA hears nothing.
    let gone = desk
        .store
        .create_user(&contact("gone@alfa.demo", firm.client))
        .await
        .unwrap();
    let deactivate = UserInput {
        name: "gone".into(),
        role: "client".into(),
        client: "ALFA".into(),
        active: false,
        ..UserInput::default()
    };
    desk.change_user(&firm.admin, gone, &deactivate)
        .await
        .unwrap();
    let settings = MailSettings {
        from: "support@okno.test".into(),
        ..MailSettings::default()
    };
    let sender = Recorder::default();
    // Whatever the set-up queued goes first.
    desk.deliver_mail(&settings, &sender).await.unwrap();
    sender.take_recipients();

    // To ALFA by mail: its two active contacts, one mail each.
    desk.announce(
        &firm.manager,
        "Плановые работы в субботу",
        "Сервер будет недоступен с 10 до 12.",
        &["ALFA".into()],
        true,
    )
    .await
    .unwrap();
    assert_eq!(desk.deliver_mail(&settings, &sender).await.unwrap(), 2);
    assert_eq!(
        sender.take_recipients(),
        vec!["client@alfa.demo", "other@alfa.demo"]
    );
    // Delivered once: a second pass sends nothing.
    assert_eq!(desk.deliver_mail(&settings, &sender).await.unwrap(), 0);

    // Without "by mail": the feed only.
    desk.announce(&firm.manager, "Новость", "Только в ленте.", &[], false)
        .await
        .unwrap();
    assert_eq!(desk.deliver_mail(&settings, &sender).await.unwrap(), 0);

    // To everyone by mail: every active contact of every client.
    let id = desk
        .announce(&firm.manager, "Release 3.2", "What is new.", &[], true)
        .await
        .unwrap();
    assert_eq!(desk.deliver_mail(&settings, &sender).await.unwrap(), 3);
    assert_eq!(
        sender.take_recipients(),
        vec!["boris@beta.demo", "client@alfa.demo", "other@alfa.demo"]
    );
    // A client sees the announcements in its feed as before.
    let feed = desk.announcements(&firm.contact).await.unwrap();
    assert_eq!(feed.len(), 3);
    let other_feed = desk
        .announcements(&desk.store.user(boris).await.unwrap().unwrap())
        .await
        .unwrap();
    assert_eq!(other_feed.len(), 2, "BETA did not get ALFA's news");

    // The mail in each language: the title as the subject, the text, why it came.
    let news = desk.store.announcement(id).await.unwrap().unwrap();
    let ru = okno_desk::mail::render_announcement(&news, "ru");
    assert_eq!(ru.subject, "Новости поддержки: Release 3.2");
    assert!(ru.body.contains("What is new.") && ru.body.contains("контактное лицо"));
    let en = okno_desk::mail::render_announcement(&news, "en");
    assert_eq!(en.subject, "Support news: Release 3.2");
    assert!(en.body.contains("What is new.") && en.body.contains("as a contact"));
}
