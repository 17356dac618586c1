//! A form sent twice (a double click, a retry after a slow answer) opens one ticket: each
//! rendered form carries a nonce, and the first submit of it claims the nonce in the
//! database, so the guard holds across several `okno serve` processes (issue 24). A second
//! submit waits for the first and is shown the ticket it opened.

use crate::{Desk, Result};
use jiff::SignedDuration;
use okno_domain::*;
use okno_store::{Claim, ClaimTerms};
use std::future::Future;
use std::time::Duration;

/// A submit's claim is taken over when its process has not finished it in this long.
const LEASE: SignedDuration = SignedDuration::from_secs(30);
/// A nonce is remembered this long (a form left open in a tab for longer is a new submit).
const KEEP: SignedDuration = SignedDuration::from_hours(24);
/// How often, and how many times, a repeated submit looks whether the first one is done.
const POLL: Duration = Duration::from_millis(50);
const POLLS: usize = 100;

/// What became of a submit.
#[derive(Debug)]
pub enum Submitted<T> {
    /// This submit was the first: what opening the ticket returned.
    Now(T),
    /// The same form was submitted before and opened this ticket.
    Before(TicketId),
}

/// The double-submit guard of the ticket forms.
pub struct Submits<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn submits(&self) -> Submits<'_> {
        Submits { desk: self }
    }
}

impl Submits<'_> {
    /// Runs `open` unless `user` submitted the form `nonce` before; a submit still being
    /// handled (here or in another process) is waited for, up to about five seconds, after
    /// which `open` runs anyway. An empty nonce (a form from before nonces) always opens.
    pub async fn once<F>(
        &self,
        user: &User,
        nonce: &str,
        open: F,
    ) -> Result<Submitted<Result<Ticket>>>
    where
        F: Future<Output = Result<Ticket>>,
    {
        if nonce.is_empty() {
            return Ok(Submitted::Now(open.await));
        }
        let key = format!("submit:{}:{nonce}", user.id.0);
        let terms = ClaimTerms {
            lease: LEASE,
            keep: Some(KEEP),
        };
        let mut won = false;
        for _ in 0..POLLS {
            match self
                .desk
                .store
                .claim_once(&key, terms, self.desk.now())
                .await?
            {
                Claim::Won => {
                    won = true;
                    break;
                }
                Claim::Done(ticket) => return Ok(Submitted::Before(TicketId(ticket))),
                Claim::Pending => tokio::time::sleep(POLL).await,
            }
        }
        let opened = open.await;
        if won {
            match &opened {
                Ok(ticket) => self.desk.store.finish_once(&key, ticket.id.0).await?,
                // A refused form may be corrected and sent again with the same nonce.
                Err(_) => self.desk.store.release_once(&key).await?,
            }
        }
        Ok(Submitted::Now(opened))
    }
}
