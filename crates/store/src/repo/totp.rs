//! The SQL of [`TotpStore`].

use super::*;

#[async_trait]
impl TotpStore for Backend {
    async fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>> {
        let row = sqlx::query(
            "SELECT secret, created_at, confirmed_at, last_step FROM totp_factors WHERE user_id = $1",
        )
        .bind(user.0)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(TotpFactor {
                secret: row.try_get("secret")?,
                created_at: instant(row.try_get("created_at")?)?,
                confirmed_at: row
                    .try_get::<Option<i64>, _>("confirmed_at")?
                    .map(instant)
                    .transpose()?,
                last_step: row.try_get("last_step")?,
            })
        })
        .transpose()
    }

    async fn begin_totp(&self, user: UserId, secret: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3, \
             confirmed_at = NULL, last_step = NULL",
        )
        .bind(user.0)
        .bind(secret)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        at: Timestamp,
        recovery_hashes: &[String],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let confirmed = sqlx::query(
            "UPDATE totp_factors SET confirmed_at = $2, last_step = $3 \
             WHERE user_id = $1 AND confirmed_at IS NULL",
        )
        .bind(user.0)
        .bind(ms(at))
        .bind(step)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !confirmed {
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user.0)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_step = $2 \
             WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user.0)
        .bind(step)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_totp(&self, user: UserId) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(removed)
    }

    async fn recovery_codes(&self, user: UserId) -> Result<Vec<RecoveryCode>> {
        let rows = sqlx::query(
            "SELECT id, code_hash FROM totp_recovery_codes \
             WHERE user_id = $1 AND used_at IS NULL ORDER BY id",
        )
        .bind(user.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecoveryCode {
                    id: row.try_get("id")?,
                    hash: row.try_get("code_hash")?,
                })
            })
            .collect()
    }

    async fn use_recovery_code(&self, id: i64, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE totp_recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
        )
        .bind(id)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_login_challenge(
        &self,
        id_hash: &str,
        user: UserId,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_challenges (id_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(id_hash)
        .bind(user.0)
        .bind(ms(expires_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn login_challenge(&self, id_hash: &str, now: Timestamp) -> Result<Option<UserId>> {
        let row = sqlx::query(
            "SELECT user_id FROM login_challenges WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(ms(now))
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok(UserId(row.try_get("user_id")?)))
            .transpose()
    }

    async fn delete_login_challenge(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
