//! The SQL of [`AdminStore`]: users for the admin pages.

use super::*;

fn record_from(row: &DbRow) -> Result<UserRecord> {
    Ok(UserRecord {
        user: user_from(row)?,
        pools: row
            .try_get::<&str, _>("pools")?
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        active: row.try_get("active")?,
        client_code: row.try_get("client_code")?,
    })
}

#[async_trait]
impl AdminStore for Backend {
    async fn user_records(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.pools, u.active, c.code AS client_code FROM users u \
             LEFT JOIN clients c ON c.id = u.client_id WHERE u.id > $1 ORDER BY u.id LIMIT $2"
        )))
        .bind(after.map_or(0, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(record_from).collect()
    }

    async fn user_record(&self, id: UserId) -> Result<Option<UserRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.pools, u.active, c.code AS client_code FROM users u \
             LEFT JOIN clients c ON c.id = u.client_id WHERE u.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(record_from).transpose()
    }

    async fn update_user(&self, id: UserId, change: &UserChange) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE users SET name = $2, role = $3, client_id = $4, lines = $5, pools = $6, active = $7 \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(&change.name)
        .bind(change.role.as_str())
        .bind(change.client_id.map(|c| c.0))
        .bind(lines_to_text(&change.lines))
        .bind(change.pools.join(","))
        .bind(change.active)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::NotFound("user").into());
        }
        if !change.active {
            for table in ["sessions", "api_tokens"] {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE user_id = $1"
                )))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
