//! The SQL of [`OnceStore`]: one row per key, won by the INSERT that made it.

use super::*;
use crate::once::*;

impl Backend {
    /// Inserts the claim; true when this call made the row.
    async fn insert_claim(&self, key: &str, terms: ClaimTerms, at: Timestamp) -> Result<bool> {
        let expires = terms.keep.map(|keep| ms(at) + keep.as_millis() as i64);
        let inserted = sqlx::query(
            "INSERT INTO once_claims (key, result, claimed_at, expires_at) VALUES ($1, NULL, $2, $3) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(ms(at))
        .bind(expires)
        .execute(self.writer())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl OnceStore for Backend {
    async fn once_result(&self, key: &str) -> Result<Option<i64>> {
        let result: Option<Option<i64>> =
            sqlx::query_scalar("SELECT result FROM once_claims WHERE key = $1")
                .bind(key)
                .fetch_optional(self.reader())
                .await?;
        Ok(result.flatten())
    }

    async fn claim_once(&self, key: &str, terms: ClaimTerms, at: Timestamp) -> Result<Claim> {
        sqlx::query("DELETE FROM once_claims WHERE expires_at < $1")
            .bind(ms(at))
            .execute(self.writer())
            .await?;
        if self.insert_claim(key, terms, at).await? {
            return Ok(Claim::Won);
        }
        // A holder that went away leaves a claim without a result: the first caller after
        // its lease moves the claim to itself (the UPDATE's condition decides who).
        let stale = ms(at) - terms.lease.as_millis() as i64;
        let taken = sqlx::query(
            "UPDATE once_claims SET claimed_at = $2 WHERE key = $1 AND result IS NULL AND claimed_at < $3",
        )
        .bind(key)
        .bind(ms(at))
        .bind(stale)
        .execute(self.writer())
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Claim::Won);
        }
        let row = sqlx::query("SELECT result FROM once_claims WHERE key = $1")
            .bind(key)
            .fetch_optional(self.writer())
            .await?;
        match row {
            Some(row) => Ok(match row.try_get::<Option<i64>, _>("result")? {
                Some(result) => Claim::Done(result),
                None => Claim::Pending,
            }),
            // Released between the INSERT and the SELECT: try once more.
            None if self.insert_claim(key, terms, at).await? => Ok(Claim::Won),
            None => Ok(Claim::Pending),
        }
    }

    async fn finish_once(&self, key: &str, result: i64) -> Result<()> {
        sqlx::query("UPDATE once_claims SET result = $2 WHERE key = $1")
            .bind(key)
            .bind(result)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn release_once(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM once_claims WHERE key = $1 AND result IS NULL")
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
