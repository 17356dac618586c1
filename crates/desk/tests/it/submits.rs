//! The ticket form's double-submit guard lives in the database (issue 24): two desks on one
//! database — two `okno serve` processes — given the same form at once open one ticket, and
//! the second is shown the ticket the first opened.

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::submits::Submitted;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::{Claim, ClaimTerms, TicketFilter};
use std::sync::Arc;

okno_store::on_both_backends!(
    one_form_sent_to_two_processes_opens_one_ticket,
    a_refused_form_can_be_sent_again,
    a_claim_is_taken_over_after_its_lease_and_forgotten_after_it_is_kept,
);

/// A second desk on the same database, as a second process has it.
async fn second_desk(db: &TestDb) -> (Arc<Desk>, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let store = okno_store::open(&db.url).await.unwrap();
    let desk = Desk::start(store, Settings::new(files.path().to_owned()))
        .await
        .unwrap();
    (desk, files)
}

async fn client_tickets(desk: &Desk, user: &User) -> Vec<Ticket> {
    let filter = TicketFilter {
        limit: 100,
        ..TicketFilter::default()
    };
    desk.tickets(user, &filter).await.unwrap()
}

async fn one_form_sent_to_two_processes_opens_one_ticket(db: TestDb) {
    let (other, _files) = second_desk(&db).await;
    let f = firm(db.store).await;
    let (here, there) = (f.desk.submits(), other.submits());
    let (a, b) = tokio::join!(
        here.once(
            &f.contact,
            "nonce-1",
            f.desk.open_ticket(&f.contact, input("question"))
        ),
        there.once(
            &f.contact,
            "nonce-1",
            other.open_ticket(&f.contact, input("question"))
        ),
    );
    let (opened, shown) = match (a.unwrap(), b.unwrap()) {
        (Submitted::Now(Ok(t)), Submitted::Before(id))
        | (Submitted::Before(id), Submitted::Now(Ok(t))) => (t, id),
        (a, b) => panic!("expected one opened and one shown, got {a:?} and {b:?}"),
    };
    assert_eq!(opened.id, shown);
    assert_eq!(client_tickets(&f.desk, &f.contact).await.len(), 1);
    // Sent again later, to either process: still the same ticket.
    let again = other
        .submits()
        .once(
            &f.contact,
            "nonce-1",
            other.open_ticket(&f.contact, input("question")),
        )
        .await
        .unwrap();
    assert!(
        matches!(again, Submitted::Before(id) if id == opened.id),
        "{again:?}"
    );
    // Another form (another nonce), or the same nonce from another person, opens its own.
    let next = f
        .desk
        .submits()
        .once(
            &f.contact,
            "nonce-2",
            f.desk.open_ticket(&f.contact, input("question")),
        )
        .await
        .unwrap();
    assert!(
        matches!(next, Submitted::Now(Ok(ref t)) if t.id != opened.id),
        "{next:?}"
    );
    let theirs = other
        .submits()
        .once(
            &f.other_contact,
            "nonce-1",
            other.open_ticket(&f.other_contact, input("question")),
        )
        .await
        .unwrap();
    assert!(matches!(theirs, Submitted::Now(Ok(_))), "{theirs:?}");
    assert_eq!(client_tickets(&f.desk, &f.contact).await.len(), 2);
}

async fn a_refused_form_can_be_sent_again(db: TestDb) {
    let (other, _files) = second_desk(&db).await;
    let f = firm(db.store).await;
    let mut empty = input("question");
    empty.subject = String::new();
    let refused = f
        .desk
        .submits()
        .once(&f.contact, "nonce-r", f.desk.open_ticket(&f.contact, empty))
        .await
        .unwrap();
    assert!(matches!(refused, Submitted::Now(Err(_))), "{refused:?}");
    let corrected = other
        .submits()
        .once(
            &f.contact,
            "nonce-r",
            other.open_ticket(&f.contact, input("question")),
        )
        .await
        .unwrap();
    assert!(matches!(corrected, Submitted::Now(Ok(_))), "{corrected:?}");
    assert_eq!(client_tickets(&f.desk, &f.contact).await.len(), 1);
}

async fn a_claim_is_taken_over_after_its_lease_and_forgotten_after_it_is_kept(db: TestDb) {
    let other = okno_store::open(&db.url).await.unwrap();
    let store = db.store;
    let at: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
    let terms = ClaimTerms {
        lease: SignedDuration::from_secs(30),
        keep: Some(SignedDuration::from_hours(24)),
    };
    let later = |secs: i64| at + SignedDuration::from_secs(secs);
    assert_eq!(store.claim_once("k", terms, at).await.unwrap(), Claim::Won);
    // Its holder is still within the lease: the other process waits.
    assert_eq!(
        other.claim_once("k", terms, later(29)).await.unwrap(),
        Claim::Pending
    );
    // The holder went away: the first to ask after the lease takes it, the next waits.
    assert_eq!(
        other.claim_once("k", terms, later(31)).await.unwrap(),
        Claim::Won
    );
    assert_eq!(
        store.claim_once("k", terms, later(32)).await.unwrap(),
        Claim::Pending
    );
    other.finish_once("k", 42).await.unwrap();
    assert_eq!(
        store.claim_once("k", terms, later(33)).await.unwrap(),
        Claim::Done(42)
    );
    // Released work is claimable again; kept-for-good claims are never forgotten.
    let forever = ClaimTerms {
        keep: None,
        ..terms
    };
    assert_eq!(
        store.claim_once("f", forever, at).await.unwrap(),
        Claim::Won
    );
    store.release_once("f").await.unwrap();
    assert_eq!(
        other.claim_once("f", forever, at).await.unwrap(),
        Claim::Won
    );
    other.finish_once("f", 1).await.unwrap();
    let next_day = later(25 * 3600);
    assert_eq!(
        store.claim_once("f", forever, next_day).await.unwrap(),
        Claim::Done(1)
    );
    // A day on, the submit's claim is forgotten: the key is new again.
    assert_eq!(
        store.claim_once("k", terms, next_day).await.unwrap(),
        Claim::Won
    );
}
