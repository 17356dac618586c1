//! The daily review as the manager's work (seed 004): the scheduler takes the snapshot each
//! working morning ([`okno_domain::review`]); a manager finds it waiting in their workplace
//! until someone has gone through it and marked it done.

use crate::{Desk, Result};
use jiff::Timestamp;
use okno_domain::policy::Action;
use okno_domain::review::ReviewSnapshot;
use okno_domain::*;
use okno_store::DailyReview;

/// A day's review as a manager reads it.
#[derive(Debug, Clone)]
pub struct Review {
    pub id: i64,
    pub day: String,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<UserId>,
    /// The snapshot; a review written before snapshots were data is its text.
    pub content: std::result::Result<ReviewSnapshot, String>,
}

impl Review {
    fn from_stored(review: DailyReview) -> Review {
        Review {
            id: review.id,
            day: review.day,
            created_at: review.created_at,
            done_at: review.done_at,
            done_by: review.done_by,
            content: ReviewSnapshot::from_stored(&review.body),
        }
    }

    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// The daily reviews, for managers and admins only.
pub struct Reviews<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn reviews(&self) -> Reviews<'_> {
        Reviews { desk: self }
    }
}

impl Reviews<'_> {
    /// The reviews, newest first (at most `limit`, up to 500).
    pub async fn list(&self, user: &User, limit: u32) -> Result<Vec<Review>> {
        crate::authorize(user, Action::ReadReports)?;
        let reviews = self.desk.store.daily_reviews(limit).await?;
        Ok(reviews.into_iter().map(Review::from_stored).collect())
    }

    pub async fn get(&self, user: &User, id: i64) -> Result<Review> {
        crate::authorize(user, Action::ReadReports)?;
        match self.desk.store.daily_review(id).await? {
            Some(review) => Ok(Review::from_stored(review)),
            None => Err(DomainError::NotFound("review").into()),
        }
    }

    /// The latest review while nobody has gone through it: what waits in a manager's
    /// workplace. `None` for anyone else, or when it is done.
    pub async fn waiting(&self, user: &User) -> Result<Option<Review>> {
        if !okno_domain::policy::person_allows(user, Action::DailyReview) {
            return Ok(None);
        }
        let latest = self.desk.store.daily_reviews(1).await?.into_iter().next();
        Ok(latest
            .filter(|review| review.done_at.is_none())
            .map(Review::from_stored))
    }

    /// Marks the review done by `user` (idempotent: a review done already stays as it was).
    pub async fn finish(&self, user: &User, id: i64) -> Result<Review> {
        crate::authorize(user, Action::DailyReview)?;
        self.desk
            .store
            .finish_daily_review(id, user.id, self.desk.now())
            .await?;
        self.get(user, id).await
    }
}
