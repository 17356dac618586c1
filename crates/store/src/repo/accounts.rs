//! The SQL of [`AccountStore`]: sessions, API tokens and login-failure counters.

use super::*;
use okno_domain::accounts::{Failures, TokenScope};

const TOKEN_COLUMNS: &str = "k.id AS token_id, k.name AS token_name, k.scope, \
     k.created_at AS token_created_at, k.last_used_at, k.expires_at AS token_expires_at";

/// [`TOKEN_COLUMNS`] of a statement's own row (`RETURNING` takes no table alias).
const TOKEN_RETURNED: &str = "id AS token_id, name AS token_name, scope, \
     created_at AS token_created_at, last_used_at, expires_at AS token_expires_at";

fn token_from(row: &DbRow) -> Result<TokenRecord> {
    let optional = |name: &str| -> Result<Option<Timestamp>> {
        row.try_get::<Option<i64>, _>(name)?
            .map(instant)
            .transpose()
    };
    Ok(TokenRecord {
        id: row.try_get("token_id")?,
        name: row.try_get("token_name")?,
        scope: code(
            |s| TokenScope::parse(s).ok(),
            row.try_get("scope")?,
            "token scope",
        )?,
        created_at: instant(row.try_get("token_created_at")?)?,
        last_used_at: optional("last_used_at")?,
        expires_at: optional("token_expires_at")?,
    })
}

#[async_trait]
impl AccountStore for Backend {
    async fn create_session(&self, s: &NewSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at, last_seen_at, address, agent) \
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7)",
        )
        .bind(s.id_hash)
        .bind(s.user.0)
        .bind(s.csrf)
        .bind(ms(s.created_at))
        .bind(ms(s.expires_at))
        .bind(s.address)
        .bind(s.agent)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<SessionData>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.expires_at, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.active = TRUE"
        )))
        .bind(id_hash)
        .bind(ms(now))
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(SessionData {
                user: user_from(&row)?,
                csrf: row.try_get("csrf")?,
                expires_at: instant(row.try_get("expires_at")?)?,
                last_seen_at: instant(row.try_get("last_seen_at")?)?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(ms(at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn sessions(
        &self,
        user: UserId,
        now: Timestamp,
        current: Option<&str>,
    ) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query(
            "SELECT id_hash, created_at, last_seen_at, expires_at, address, agent FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT $3",
        )
        .bind(user.0)
        .bind(ms(now))
        .bind(i64::from(SESSIONS_LISTED))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionRecord {
                    created_at: instant(row.try_get("created_at")?)?,
                    last_seen_at: instant(row.try_get("last_seen_at")?)?,
                    expires_at: instant(row.try_get("expires_at")?)?,
                    address: row.try_get("address")?,
                    agent: row.try_get("agent")?,
                    current: current == Some(row.try_get::<&str, _>("id_hash")?),
                })
            })
            .collect()
    }

    async fn delete_sessions(&self, user: UserId, except: Option<&str>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user.0)
            .bind(except.unwrap_or(""))
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_token(&self, t: &NewToken<'_>) -> Result<TokenRecord> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND expires_at <= $2")
            .bind(t.user.0)
            .bind(ms(t.created_at))
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (token_hash, user_id, name, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(t.hash)
        .bind(t.user.0)
        .bind(t.name)
        .bind(t.scope.as_str())
        .bind(ms(t.created_at))
        .bind(t.expires_at.map(ms))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TokenRecord {
            id,
            name: t.name.to_owned(),
            scope: t.scope,
            created_at: t.created_at,
            last_used_at: None,
            expires_at: t.expires_at,
        })
    }

    async fn token_caller(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, TokenRecord)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, {TOKEN_COLUMNS} FROM api_tokens k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = $1 AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.active = TRUE"
        )))
        .bind(hash)
        .bind(ms(now))
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok((user_from(&row)?, token_from(&row)?)))
            .transpose()
    }

    async fn touch_token(&self, id: i64, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn tokens(&self, user: UserId) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens k WHERE k.user_id = $1 ORDER BY k.id DESC LIMIT $2"
        )))
        .bind(user.0)
        .bind(i64::from(TOKENS_LISTED))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, user: UserId, id: i64) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM api_tokens WHERE user_id = $1 AND id = $2 RETURNING {TOKEN_RETURNED}"
        )))
        .bind(user.0)
        .bind(id)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn login_failures(&self, key: &str) -> Result<Failures> {
        let row =
            sqlx::query("SELECT failures, last_failure_at FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(self.reader())
                .await?;
        row.map(|row| {
            Ok(Failures {
                count: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
                last_at: Some(instant(row.try_get("last_failure_at")?)?),
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn record_login_failure(
        &self,
        keys: &[&str],
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for key in keys {
            sqlx::query(
                "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
                 last_failure_at = $2",
            )
            .bind(key)
            .bind(ms(at))
            .bind(ms(forget_before))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
