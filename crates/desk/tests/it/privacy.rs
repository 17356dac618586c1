//! Issue 22: nobody reads another person's unsent draft, and a contact cannot tell which
//! client codes exist by naming them.

use crate::common::*;
use okno_desk::DeskError;
use okno_desk::tickets::TicketInput;
use okno_domain::*;
use okno_store::TicketFilter;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(drafts_are_their_authors_own, client_codes_cannot_be_probed,);

fn input(subject: &str, client: Option<&str>, draft: bool) -> TicketInput {
    TicketInput {
        service: "question".into(),
        subject: subject.into(),
        description: "черновик".into(),
        client: client.map(str::to_owned),
        requester: None,
        draft,
    }
}

fn drafts() -> TicketFilter {
    TicketFilter {
        status: Some(TicketStatus::Draft),
        limit: 100,
        ..Default::default()
    }
}

async fn drafts_are_their_authors_own(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let draft = firm
        .desk
        .open_ticket(&firm.contact, input("Не отправлено", None, true))
        .await
        .unwrap();
    let staff_draft = firm
        .desk
        .open_ticket(&firm.line1, input("Мой черновик", Some("ALFA"), true))
        .await
        .unwrap();
    assert_eq!(draft.status, TicketStatus::Draft);
    for other in [&firm.line1, &firm.manager, &firm.admin, &firm.other_contact] {
        let read = firm.desk.ticket(other, draft.id).await;
        assert!(
            matches!(
                read,
                Err(DeskError::Domain(DomainError::NotFound("ticket")))
            ),
            "{}: {read:?}",
            other.email
        );
        let listed = firm.desk.tickets(other, &drafts()).await.unwrap();
        assert!(
            listed.iter().all(|t| t.id != draft.id),
            "{} lists it",
            other.email
        );
        assert!(firm.desk.comments(other, draft.id).await.is_err());
    }
    assert_eq!(
        firm.desk
            .ticket(&firm.contact, draft.id)
            .await
            .unwrap()
            .subject,
        "Не отправлено"
    );
    let own: Vec<_> = firm
        .desk
        .tickets(&firm.contact, &drafts())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(own, [draft.id]);
    let own: Vec<_> = firm
        .desk
        .tickets(&firm.line1, &drafts())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(own, [staff_draft.id]);
    // Once sent, it is an ordinary ticket for staff.
    firm.desk
        .submit_draft(&firm.contact, draft.id)
        .await
        .unwrap();
    assert_eq!(
        firm.desk
            .ticket(&firm.line1, draft.id)
            .await
            .unwrap()
            .status,
        TicketStatus::New
    );
}

async fn client_codes_cannot_be_probed(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    db.store
        .create_client("BETA", "Beta", Some("beta.demo"))
        .await
        .unwrap();
    let existing = firm
        .desk
        .open_ticket(&firm.contact, input("x", Some("BETA"), false))
        .await
        .unwrap_err();
    let missing = firm
        .desk
        .open_ticket(&firm.contact, input("x", Some("NOPE"), false))
        .await
        .unwrap_err();
    assert_eq!(existing.to_string(), missing.to_string());
    assert!(
        matches!(&existing, DeskError::Domain(DomainError::Invalid(e)) if e.field == "client"),
        "{existing:?}"
    );
    assert!(
        matches!(&missing, DeskError::Domain(DomainError::Invalid(e)) if e.field == "client"),
        "{missing:?}"
    );
    // The contact's own code works.
    assert!(
        firm.desk
            .open_ticket(&firm.contact, input("x", Some("ALFA"), false))
            .await
            .is_ok()
    );
}
