//! The SQL of [`QueueStore`]: rank inputs and ranks, priority flags, distribution.

use super::*;
use okno_domain::priority::{RankInput, UNRANKED};

/// The inputs of a task's rank: the task, its ticket, the client and the requester.
pub(super) const RANK_COLUMNS: &str = "k.line AS rank_line, k.pool AS rank_pool, k.stage AS rank_stage, \
     k.due_at AS rank_due, k.priority AS rank_priority, t.classification AS rank_class, \
     t.urgent AS rank_urgent, r.director AS rank_director, c.vip AS rank_vip, t.created_at AS rank_arrived";

pub(super) const RANK_JOINS: &str = " JOIN tickets t ON t.id = k.ticket_id JOIN clients c ON c.id = t.client_id \
     JOIN users r ON r.id = t.requester_id";

pub(super) fn rank_input_from(row: &DbRow) -> Result<RankInput> {
    let line = match row.try_get::<Option<i64>, _>("rank_line")? {
        Some(n) => Some(
            u8::try_from(n)
                .ok()
                .and_then(|n| Line::new(n).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("line {n}")))?,
        ),
        None => None,
    };
    Ok(RankInput {
        line,
        pool: row.try_get("rank_pool")?,
        stage: row.try_get("rank_stage")?,
        due_at: row
            .try_get::<Option<i64>, _>("rank_due")?
            .map(instant)
            .transpose()?,
        task_priority: i32::try_from(row.try_get::<i64, _>("rank_priority")?).unwrap_or(i32::MAX),
        classification: match row.try_get::<Option<&str>, _>("rank_class")? {
            Some(text) => Some(code(Classification::parse, text, "classification")?),
            None => None,
        },
        urgent: row.try_get("rank_urgent")?,
        director: row.try_get("rank_director")?,
        vip: row.try_get("rank_vip")?,
        arrived_at: instant(row.try_get("rank_arrived")?)?,
    })
}

fn with_inputs(rows: &[DbRow]) -> Result<Vec<(TaskId, RankInput)>> {
    rows.iter()
        .map(|row| Ok((TaskId(row.try_get("id")?), rank_input_from(row)?)))
        .collect()
}

/// The rank inputs of these tickets' open tasks.
pub(super) fn rank_inputs_sql(tickets: &[TicketId]) -> Sql {
    let mut sql = Sql::new(&rank_select());
    sql.push(" AND k.ticket_id IN (");
    for (i, ticket) in tickets.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Param::Int(ticket.0));
    }
    sql.push(")");
    sql
}

/// The statements that set these tasks' ranks (one per 400 tasks).
pub(super) fn rank_statements(ranks: &[(TaskId, i64)]) -> Vec<Sql> {
    ranks
        .chunks(400)
        .map(|chunk| {
            let mut sql = Sql::new("UPDATE tasks SET rank = CASE id");
            for (task, rank) in chunk {
                sql.push(" WHEN ")
                    .bind(Param::Int(task.0))
                    .push(" THEN ")
                    .bind(Param::Int(*rank));
            }
            sql.push(" ELSE rank END WHERE id IN (");
            for (i, (task, _)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Param::Int(task.0));
            }
            sql.push(")");
            sql
        })
        .collect()
}

/// The tasks' new ranks by `rules`, from the rows of [`rank_inputs_sql`].
pub(super) fn ranks_from(
    rows: &[DbRow],
    rules: &okno_domain::priority::PriorityRules,
) -> Result<Vec<(TaskId, i64)>> {
    Ok(with_inputs(rows)?
        .iter()
        .map(|(task, input)| (*task, rules.rank(input)))
        .collect())
}

fn rank_select() -> String {
    format!("SELECT k.id, {RANK_COLUMNS} FROM tasks k{RANK_JOINS} WHERE k.state = 'open'")
}

#[async_trait]
impl QueueStore for Backend {
    async fn rank_inputs(&self, tickets: &[TicketId]) -> Result<Vec<(TaskId, RankInput)>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let sql = rank_inputs_sql(tickets);
        // A reader: a change is committed (and visible to readers) before its caller
        // hears back, and the writer stays free for the writes queued behind it.
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        with_inputs(&rows)
    }

    async fn unranked_inputs(&self, limit: u32) -> Result<Vec<(TaskId, RankInput)>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            // The literal (not a parameter) lets both databases use the partial index.
            "{} AND k.rank = {UNRANKED} ORDER BY k.id LIMIT $1",
            rank_select()
        )))
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        with_inputs(&rows)
    }

    async fn open_rank_inputs(
        &self,
        after: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<(TaskId, RankInput)>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} AND k.id > $1 ORDER BY k.id LIMIT $2",
            rank_select()
        )))
        .bind(after.map_or(0, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        with_inputs(&rows)
    }

    async fn set_ranks(&self, ranks: &[(TaskId, i64)]) -> Result<()> {
        let mut tx = self.begin().await?;
        run_batch(&mut tx, rank_statements(ranks)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn bulk_load(&self, tickets: &[BulkTicket], tasks: &[BulkTask]) -> Result<()> {
        let mut tx = self.begin().await?;
        // Ids are assigned in insert order on a database only this writer uses: read them
        // back as a range and check its size.
        let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM tickets")
            .fetch_one(&mut *tx)
            .await?;
        let rows = tickets
            .iter()
            .map(|t| {
                let created = ms(t.created_at);
                let closed =
                    matches!(t.status, TicketStatus::Closed).then_some(created + 3_600_000);
                vec![
                    Param::Text(t.service.clone()),
                    Param::Text(t.subject.clone()),
                    Param::Text(String::new()),
                    Param::Text(t.status.as_str().to_owned()),
                    Param::MaybeText(t.classification.map(|c| c.as_str().to_owned())),
                    Param::Int(t.client.0),
                    Param::Int(t.requester.0),
                    Param::Bool(t.urgent),
                    Param::Int(created),
                    Param::Int(created),
                    Param::MaybeInt(closed),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "tickets",
            &[
                "service",
                "subject",
                "description",
                "status",
                "classification",
                "client_id",
                "requester_id",
                "urgent",
                "created_at",
                "updated_at",
                "closed_at",
            ],
            rows,
        )
        .await?;
        let (count, first, last): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM tickets WHERE id > $1",
        )
        .bind(before)
        .fetch_one(&mut *tx)
        .await?;
        if usize::try_from(count).ok() != Some(tickets.len()) || last - first + 1 != count {
            return Err(StoreError::Corrupt(
                "bulk load: ticket ids are not a range".into(),
            ));
        }
        let rows = tasks
            .iter()
            .map(|k| {
                let done = (k.state != TaskState::Open).then(|| ms(k.created_at) + 1_800_000);
                vec![
                    Param::Int(first + i64::try_from(k.ticket).unwrap_or(i64::MAX)),
                    Param::Text(k.kind.to_owned()),
                    Param::Text(k.kind.to_owned()),
                    Param::MaybeInt(k.line.map(|l| i64::from(l.get()))),
                    Param::MaybeText(k.pool.map(str::to_owned)),
                    Param::MaybeInt(k.assignee.map(|a| a.0)),
                    Param::MaybeInt(k.due_at.map(ms)),
                    Param::Int(i64::from(k.priority)),
                    Param::Text(k.state.as_str().to_owned()),
                    Param::Int(ms(k.created_at)),
                    Param::MaybeInt(done),
                    Param::Int(k.rank),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "tasks",
            &[
                "ticket_id",
                "kind",
                "title",
                "line",
                "pool",
                "assignee_id",
                "due_at",
                "priority",
                "state",
                "created_at",
                "completed_at",
                "rank",
            ],
            rows,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn suspend_indexes(&self) -> Result<SuspendedIndexes> {
        let indexes: Vec<(String, String)> = sqlx::query_as(SECONDARY_INDEXES)
            .fetch_all(self.writer())
            .await?;
        let mut tx = self.begin().await?;
        for (name, _) in &indexes {
            sqlx::query(AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(SuspendedIndexes(
            indexes
                .into_iter()
                .map(|(_, definition)| definition)
                .collect(),
        ))
    }

    async fn restore_indexes(&self, indexes: SuspendedIndexes) -> Result<()> {
        let mut tx = self.begin().await?;
        for definition in &indexes.0 {
            sqlx::query(AssertSqlSafe(definition.clone()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn analyze(&self) -> Result<()> {
        sqlx::query("ANALYZE").execute(self.writer()).await?;
        Ok(())
    }

    async fn set_ticket_urgent(
        &self,
        ticket: TicketId,
        urgent: bool,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let before: Option<bool> = sqlx::query_scalar("SELECT urgent FROM tickets WHERE id = $1")
            .bind(ticket.0)
            .fetch_optional(&mut *tx)
            .await?;
        let before = before.ok_or(DomainError::NotFound("ticket"))?;
        if before != urgent {
            sqlx::query("UPDATE tickets SET urgent = $2 WHERE id = $1")
                .bind(ticket.0)
                .bind(urgent)
                .execute(&mut *tx)
                .await?;
            let text = |b: bool| if b { "urgent" } else { "normal" };
            record(
                &mut tx,
                ticket,
                at,
                by,
                "urgent",
                (Some(text(before)), Some(text(urgent))),
                true,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_client_vip(&self, client: ClientId, vip: bool) -> Result<()> {
        let done = sqlx::query("UPDATE clients SET vip = $2 WHERE id = $1")
            .bind(client.0)
            .bind(vip)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("client").into());
        }
        Ok(())
    }

    async fn set_user_director(&self, user: UserId, director: bool) -> Result<()> {
        let done = sqlx::query("UPDATE users SET director = $2 WHERE id = $1")
            .bind(user.0)
            .bind(director)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("user").into());
        }
        Ok(())
    }

    async fn open_tickets_of(
        &self,
        client: Option<ClientId>,
        requester: Option<UserId>,
    ) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT k.ticket_id FROM tasks k JOIN tickets t ON t.id = k.ticket_id \
             WHERE k.state = 'open' AND (t.client_id = $1 OR t.requester_id = $2)",
        )
        .bind(client.map_or(-1, |c| c.0))
        .bind(requester.map_or(-1, |r| r.0))
        .fetch_all(self.writer())
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn set_user_skills(&self, user: UserId, skills: &[String]) -> Result<()> {
        let done = sqlx::query("UPDATE users SET skills = $2 WHERE id = $1")
            .bind(user.0)
            .bind(skills.join(","))
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("user").into());
        }
        Ok(())
    }

    async fn set_service_skills(&self, service: &str, skills: &[String]) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM service_skills WHERE service = $1")
            .bind(service)
            .execute(&mut *tx)
            .await?;
        for skill in skills {
            sqlx::query(
                "INSERT INTO service_skills (service, skill) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(service)
            .bind(skill)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn service_skills(&self, service: &str) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT skill FROM service_skills WHERE service = $1 ORDER BY skill",
            )
            .bind(service)
            .fetch_all(self.reader())
            .await?,
        )
    }

    async fn set_specialist_priority(
        &self,
        user: UserId,
        service: &str,
        priority: Option<i32>,
        comment: &str,
    ) -> Result<()> {
        match priority {
            Some(priority) => {
                sqlx::query(
                    "INSERT INTO specialist_priorities (user_id, service, priority, comment) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, service) DO UPDATE SET priority = $3, comment = $4",
                )
                .bind(user.0)
                .bind(service)
                .bind(priority)
                .bind(comment)
                .execute(self.writer())
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM specialist_priorities WHERE user_id = $1 AND service = $2",
                )
                .bind(user.0)
                .bind(service)
                .execute(self.writer())
                .await?;
            }
        }
        Ok(())
    }

    async fn candidates(
        &self,
        service: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<Candidate>> {
        // Staff are tens, not thousands: one row each, counts from indexed subqueries.
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.lines, u.skills, CAST(p.priority AS BIGINT) AS priority, COALESCE(p.comment, '') AS comment, \
               (SELECT COUNT(*) FROM tasks k WHERE k.assignee_id = u.id AND k.state = 'open') AS open_tasks, \
               (SELECT COALESCE(SUM(CASE WHEN k.planned_minutes > 1440 THEN 1440 WHEN k.planned_minutes < 0 THEN 0 ELSE k.planned_minutes END), 0) FROM tasks k WHERE k.assignee_id = u.id \
                  AND k.planned_at IS NOT NULL AND k.planned_at >= $2 AND k.planned_at < $3) AS planned \
             FROM users u LEFT JOIN specialist_priorities p ON p.user_id = u.id AND p.service = $1 \
             WHERE u.active = TRUE AND u.role IN ('specialist', 'manager', 'admin') ORDER BY u.id",
        )
        .bind(service)
        .bind(ms(from))
        .bind(ms(until))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Candidate {
                    user: UserId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    lines: lines_from_text(row.try_get("lines")?),
                    skills: row
                        .try_get::<&str, _>("skills")?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    service_priority: row
                        .try_get::<Option<i64>, _>("priority")?
                        .and_then(|p| i32::try_from(p).ok()),
                    comment: row.try_get("comment")?,
                    open_tasks: row.try_get("open_tasks")?,
                    planned_minutes: row.try_get("planned")?,
                })
            })
            .collect()
    }

    async fn set_line_lead(&self, user: UserId, lead: bool) -> Result<()> {
        let done = sqlx::query("UPDATE users SET line_lead = $2 WHERE id = $1")
            .bind(user.0)
            .bind(lead)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("user").into());
        }
        Ok(())
    }

    async fn is_line_lead(&self, user: UserId) -> Result<bool> {
        let lead: Option<bool> = sqlx::query_scalar("SELECT line_lead FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(self.reader())
            .await?;
        Ok(lead.unwrap_or(false))
    }

    async fn open_task_count(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE state = 'open'")
            .fetch_one(self.reader())
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn assign_tasks(
        &self,
        plan: &[TaskAssignment],
        by: UserId,
        at: Timestamp,
    ) -> Result<Vec<TaskId>> {
        let mut tx = self.begin().await?;
        let mut touched = Vec::new();
        // Per ticket, in the order first met: who joined its tasks.
        let mut events: Vec<(TicketId, Vec<UserId>)> = Vec::new();
        for step in plan {
            let Some((first, _)) = step.specialists.split_first() else {
                continue;
            };
            let assignee: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT assignee_id FROM tasks WHERE id = $1 AND ticket_id = $2 AND state = 'open'",
            )
            .bind(step.task.0)
            .bind(step.ticket.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(assignee) = assignee else {
                continue;
            };
            if assignee.is_none() {
                sqlx::query("UPDATE tasks SET assignee_id = $2 WHERE id = $1")
                    .bind(step.task.0)
                    .bind(first.0)
                    .execute(&mut *tx)
                    .await?;
            }
            let owner = assignee.unwrap_or(first.0);
            for other in step.specialists.iter().filter(|s| s.0 != owner) {
                sqlx::query(
                    "INSERT INTO task_coassignees (task_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(step.task.0)
                .bind(other.0)
                .execute(&mut *tx)
                .await?;
            }
            touched.push(step.task);
            let at_ticket = match events.iter().position(|(t, _)| *t == step.ticket) {
                Some(i) => i,
                None => {
                    events.push((step.ticket, Vec::new()));
                    events.len() - 1
                }
            };
            let names = &mut events[at_ticket].1;
            for s in &step.specialists {
                if !names.contains(s) {
                    names.push(*s);
                }
            }
        }
        for (ticket, names) in events {
            let names: Vec<String> = names.iter().map(ToString::to_string).collect();
            record(
                &mut tx,
                ticket,
                at,
                Some(by),
                "assigned",
                (None, Some(&names.join(","))),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(touched)
    }
}
