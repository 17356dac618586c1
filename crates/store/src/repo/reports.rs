//! The SQL of [`ReportStore`]: settled facts of closed tickets and the period reads of the
//! reports, compiled for both backends.

use super::*;
use crate::reports::*;
use jiff::civil::Date;

/// `filter` as conditions on the ticket aliased `t` (an id column `t.{id}`).
fn push_filter(sql: &mut Sql, filter: &ReportFilter, id: &str) {
    if let Some(client) = filter.client {
        sql.push(" AND t.client_id = ").bind(Param::Int(client.0));
    }
    if let Some(service) = &filter.service {
        sql.push(" AND t.service = ")
            .bind(Param::Text(service.clone()));
    }
    if let Some(line) = filter.line {
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM tasks fl WHERE fl.ticket_id = t.{id} AND fl.line = "
        ))
        .bind(Param::Int(line))
        .push(")");
    }
    if let Some(user) = filter.specialist {
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM tasks fs WHERE fs.ticket_id = t.{id} AND fs.assignee_id = "
        ))
        .bind(Param::Int(user.0))
        .push(")");
    }
}

fn period(sql: &mut Sql, column: &str, from: Timestamp, to: Timestamp) {
    sql.push(&format!(" AND {column} >= "))
        .bind(Param::Int(ms(from)))
        .push(&format!(" AND {column} < "))
        .bind(Param::Int(ms(to)));
}

fn id_list(ids: &[TicketId]) -> String {
    ids.iter()
        .map(|id| id.0.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

const SETTLED_SELECT: &str = "SELECT t.ticket_id, t.client_id, t.service, t.classification, \
     t.line, t.specialist_id, t.created_at, t.closed_at, t.reaction_minutes, \
     t.resolution_minutes, t.deadline_met, t.stages_over, t.reopened, t.auto_closed \
     FROM report_tickets t WHERE 1 = 1";

fn facts_from(r: &DbRow) -> Result<TicketFacts> {
    Ok(TicketFacts {
        ticket_id: TicketId(r.try_get("ticket_id")?),
        client_id: ClientId(r.try_get("client_id")?),
        service: r.try_get("service")?,
        classification: r.try_get("classification")?,
        line: r.try_get("line")?,
        specialist: r.try_get::<Option<i64>, _>("specialist_id")?.map(UserId),
        created_at: instant(r.try_get("created_at")?)?,
        closed_at: instant(r.try_get("closed_at")?)?,
        reaction_minutes: r.try_get("reaction_minutes")?,
        resolution_minutes: r.try_get("resolution_minutes")?,
        deadline_met: r.try_get("deadline_met")?,
        stages_over: r.try_get("stages_over")?,
        reopened: r.try_get("reopened")?,
        auto_closed: r.try_get("auto_closed")?,
        stages: Vec::new(),
    })
}

fn subscription_from(r: &DbRow) -> Result<Subscription> {
    Ok(Subscription {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        report: r.try_get("report")?,
        cadence: r.try_get("cadence")?,
        filters: r.try_get("filters")?,
        next_run_at: instant(r.try_get("next_run_at")?)?,
        last_sent_at: r
            .try_get::<Option<i64>, _>("last_sent_at")?
            .map(instant)
            .transpose()?,
    })
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, user_id, report, cadence, filters, next_run_at, last_sent_at";

#[async_trait]
impl ReportStore for Backend {
    async fn unsettled_tickets(&self, limit: u32) -> Result<Vec<TicketId>> {
        // Closings come in the desk clock's order: start a day before the latest settled
        // one (a ticket closed again is found by its new closing instant).
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT t.id FROM tickets t LEFT JOIN report_tickets r ON r.ticket_id = t.id \
             WHERE t.closed_at IS NOT NULL \
             AND t.closed_at >= (SELECT COALESCE(MAX(closed_at), 0) - 86400000 FROM report_tickets) \
             AND t.status = 'closed' AND (r.ticket_id IS NULL OR r.closed_at <> t.closed_at) \
             ORDER BY t.closed_at, t.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn settle_inputs(&self, tickets: &[TicketId]) -> Result<Vec<SettleInput>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let ids = id_list(tickets);
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.id, t.client_id, t.service, t.classification, \
             COALESCE(t.calendar, c.calendar) AS calendar, t.support_level, t.created_at, t.closed_at, \
             (SELECT CAST(MAX(k.line) AS BIGINT) FROM tasks k WHERE k.ticket_id = t.id) AS line, \
             (SELECT k.assignee_id FROM tasks k WHERE k.ticket_id = t.id AND k.completed_at IS NOT NULL \
                AND k.assignee_id IS NOT NULL ORDER BY k.completed_at DESC, k.id DESC LIMIT 1) AS specialist, \
             EXISTS (SELECT 1 FROM alerts a WHERE a.ticket_id = t.id AND a.kind = 'breached') AS breached \
             FROM tickets t JOIN clients c ON c.id = t.client_id \
             WHERE t.id IN ({ids}) AND t.closed_at IS NOT NULL ORDER BY t.id"
        )))
        .fetch_all(self.reader())
        .await?;
        let mut inputs = Vec::with_capacity(rows.len());
        for r in &rows {
            inputs.push(SettleInput {
                ticket_id: TicketId(r.try_get("id")?),
                client_id: ClientId(r.try_get("client_id")?),
                service: r.try_get("service")?,
                classification: r.try_get("classification")?,
                calendar: r.try_get("calendar")?,
                support_level: r.try_get("support_level")?,
                created_at: instant(r.try_get("created_at")?)?,
                closed_at: instant(r.try_get("closed_at")?)?,
                line: r.try_get("line")?,
                specialist: r.try_get::<Option<i64>, _>("specialist")?.map(UserId),
                breached: r.try_get("breached")?,
                auto_closed: false,
                stages: Vec::new(),
                statuses: Vec::new(),
            });
        }
        let events = sqlx::query(AssertSqlSafe(format!(
            "SELECT h.ticket_id, h.kind, h.before, h.after, h.at FROM history h \
             WHERE h.ticket_id IN ({ids}) AND h.kind IN ('stage', 'status', 'auto_closed') \
             ORDER BY h.ticket_id, h.id"
        )))
        .fetch_all(self.reader())
        .await?;
        let mut index = 0;
        for e in &events {
            let id = TicketId(e.try_get("ticket_id")?);
            while inputs.get(index).is_some_and(|t| t.ticket_id < id) {
                index += 1;
            }
            let Some(input) = inputs.get_mut(index).filter(|t| t.ticket_id == id) else {
                continue;
            };
            let at = instant(e.try_get("at")?)?;
            let after: Option<String> = e.try_get("after")?;
            match (e.try_get::<&str, _>("kind")?, after) {
                ("stage", Some(stage)) => input.stages.push(StageEntry { stage, at }),
                ("status", Some(status)) => {
                    input.statuses.push((e.try_get("before")?, status, at));
                }
                ("auto_closed", _) => input.auto_closed = true,
                _ => {}
            }
        }
        Ok(inputs)
    }

    async fn save_facts(&self, facts: &[TicketFacts], at: Timestamp) -> Result<()> {
        if facts.is_empty() {
            return Ok(());
        }
        let ids: Vec<TicketId> = facts.iter().map(|f| f.ticket_id).collect();
        let mut tx = self.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM report_stages WHERE ticket_id IN ({})",
            id_list(&ids)
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM report_tickets WHERE ticket_id IN ({})",
            id_list(&ids)
        )))
        .execute(&mut *tx)
        .await?;
        let rows = facts
            .iter()
            .map(|f| {
                vec![
                    Param::Int(f.ticket_id.0),
                    Param::Int(f.client_id.0),
                    Param::Text(f.service.clone()),
                    Param::MaybeText(f.classification.clone()),
                    Param::MaybeInt(f.line),
                    Param::MaybeInt(f.specialist.map(|u| u.0)),
                    Param::Int(ms(f.created_at)),
                    Param::Int(ms(f.closed_at)),
                    Param::MaybeInt(f.reaction_minutes),
                    Param::Int(f.resolution_minutes),
                    Param::Bool(f.deadline_met),
                    Param::Int(f.stages_over),
                    Param::Int(f.reopened),
                    Param::Bool(f.auto_closed),
                    Param::Int(ms(at)),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "report_tickets",
            &[
                "ticket_id",
                "client_id",
                "service",
                "classification",
                "line",
                "specialist_id",
                "created_at",
                "closed_at",
                "reaction_minutes",
                "resolution_minutes",
                "deadline_met",
                "stages_over",
                "reopened",
                "auto_closed",
                "settled_at",
            ],
            rows,
        )
        .await?;
        let stages = facts
            .iter()
            .flat_map(|f| {
                f.stages.iter().enumerate().map(move |(position, s)| {
                    vec![
                        Param::Int(f.ticket_id.0),
                        Param::Text(s.stage.clone()),
                        Param::Int(position as i64),
                        Param::Int(s.spent_minutes),
                        Param::MaybeInt(s.norm_minutes),
                        Param::Int(ms(f.closed_at)),
                    ]
                })
            })
            .collect::<Vec<_>>();
        if !stages.is_empty() {
            insert_rows(
                &mut tx,
                "report_stages",
                &[
                    "ticket_id",
                    "stage",
                    "position",
                    "spent_minutes",
                    "norm_minutes",
                    "closed_at",
                ],
                stages,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn settled(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TicketFacts>> {
        let mut sql = Sql::new(SETTLED_SELECT);
        period(&mut sql, "t.closed_at", from, to);
        push_filter(&mut sql, filter, "ticket_id");
        sql.push(" ORDER BY t.closed_at, t.ticket_id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(facts_from).collect()
    }

    async fn settled_stages(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<StageRow>> {
        let mut sql = Sql::new(
            "SELECT s.ticket_id, s.stage, s.spent_minutes, s.norm_minutes FROM report_stages s \
             JOIN report_tickets t ON t.ticket_id = s.ticket_id WHERE 1 = 1",
        );
        period(&mut sql, "s.closed_at", from, to);
        push_filter(&mut sql, filter, "ticket_id");
        sql.push(" ORDER BY s.closed_at, s.ticket_id, s.position LIMIT ")
            .bind(Param::Int(i64::from(limit)));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StageRow {
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    stage: r.try_get("stage")?,
                    spent_minutes: r.try_get("spent_minutes")?,
                    norm_minutes: r.try_get("norm_minutes")?,
                })
            })
            .collect()
    }

    async fn completed_tasks(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<TaskRow>> {
        let mut sql = Sql::new(
            "SELECT k.id, k.ticket_id, k.kind, k.stage, CAST(k.line AS BIGINT) AS line, k.assignee_id, \
             k.created_at, k.due_at, k.completed_at, \
             (SELECT CAST(COALESCE(SUM(e.stopped_at - e.started_at), 0) AS BIGINT) FROM time_entries e \
                WHERE e.task_id = k.id AND e.stopped_at IS NOT NULL) AS logged_ms \
             FROM tasks k JOIN tickets t ON t.id = k.ticket_id WHERE k.completed_at IS NOT NULL",
        );
        period(&mut sql, "k.completed_at", from, to);
        push_filter(&mut sql, filter, "id");
        sql.push(" ORDER BY k.completed_at, k.id LIMIT ")
            .bind(Param::Int(i64::from(limit)));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TaskRow {
                    task_id: TaskId(r.try_get("id")?),
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    kind: r.try_get("kind")?,
                    stage: r.try_get("stage")?,
                    line: r.try_get("line")?,
                    assignee: r.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
                    created_at: instant(r.try_get("created_at")?)?,
                    due_at: r
                        .try_get::<Option<i64>, _>("due_at")?
                        .map(instant)
                        .transpose()?,
                    completed_at: instant(r.try_get("completed_at")?)?,
                    logged_minutes: r.try_get::<i64, _>("logged_ms")? / 60_000,
                })
            })
            .collect()
    }

    async fn created_instants(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        let mut sql = Sql::new("SELECT t.created_at FROM tickets t WHERE t.status <> 'draft'");
        period(&mut sql, "t.created_at", from, to);
        push_filter(&mut sql, filter, "id");
        let rows: Vec<i64> = bind_all_scalar(&sql).fetch_all(self.reader()).await?;
        rows.into_iter().map(instant).collect()
    }

    async fn flow_events(
        &self,
        event: FlowEvent,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        // Each condition is a partial index's own (migration 0050), word for word.
        let condition = match event {
            FlowEvent::Registered => "h.kind = 'registered'",
            FlowEvent::AutoClosed => "h.kind = 'auto_closed'",
            FlowEvent::Reopened => "h.kind = 'status' AND h.before IN ('closed', 'resolved')",
        };
        let mut sql = Sql::new(&format!(
            "SELECT h.at FROM history h JOIN tickets t ON t.id = h.ticket_id WHERE {condition}"
        ));
        if event == FlowEvent::Reopened {
            sql.push(" AND h.after IN ('new', 'in_progress')");
        }
        period(&mut sql, "h.at", from, to);
        push_filter(&mut sql, filter, "id");
        let rows: Vec<i64> = bind_all_scalar(&sql).fetch_all(self.reader()).await?;
        rows.into_iter().map(instant).collect()
    }

    async fn backlog(&self, filter: &ReportFilter) -> Result<Vec<Timestamp>> {
        let mut all = Vec::new();
        // One walk of tickets_status per open status.
        for status in ["new", "in_progress", "waiting_client", "resolved"] {
            let mut sql = Sql::new("SELECT t.created_at FROM tickets t WHERE t.status = ");
            sql.bind(Param::Text(status.into()));
            push_filter(&mut sql, filter, "id");
            let rows: Vec<i64> = bind_all_scalar(&sql).fetch_all(self.reader()).await?;
            for ms in rows {
                all.push(instant(ms)?);
            }
        }
        Ok(all)
    }

    async fn ratings_between(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RatingRow>> {
        let mut sql = Sql::new(
            "SELECT r.ticket_id, t.client_id, t.service, r.score, r.comment, r.rated_at, \
             (SELECT k.assignee_id FROM tasks k WHERE k.ticket_id = t.id AND k.completed_at IS NOT NULL \
                AND k.assignee_id IS NOT NULL ORDER BY k.completed_at DESC, k.id DESC LIMIT 1) AS specialist \
             FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id WHERE 1 = 1",
        );
        period(&mut sql, "r.rated_at", from, to);
        push_filter(&mut sql, filter, "id");
        sql.push(" ORDER BY r.rated_at, r.ticket_id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RatingRow {
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    client_id: ClientId(r.try_get("client_id")?),
                    service: r.try_get("service")?,
                    specialist: r.try_get::<Option<i64>, _>("specialist")?.map(UserId),
                    score: r.try_get("score")?,
                    comment: r.try_get("comment")?,
                    rated_at: instant(r.try_get("rated_at")?)?,
                })
            })
            .collect()
    }

    async fn report_work_spans(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<WorkSpanRow>> {
        let mut sql = Sql::new(
            "SELECT t.client_id, t.service, e.started_at, e.stopped_at FROM time_entries e \
             JOIN tickets t ON t.id = e.ticket_id WHERE e.stopped_at IS NOT NULL",
        );
        period(&mut sql, "e.started_at", from, to);
        push_filter(&mut sql, filter, "id");
        if let Some(user) = filter.specialist {
            sql.push(" AND e.user_id = ").bind(Param::Int(user.0));
        }
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkSpanRow {
                    client_id: ClientId(r.try_get("client_id")?),
                    service: r.try_get("service")?,
                    started_at: instant(r.try_get("started_at")?)?,
                    stopped_at: instant(r.try_get("stopped_at")?)?,
                })
            })
            .collect()
    }

    async fn contracts_in_force(&self, from: Date, to: Date) -> Result<Vec<Contract>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE k.ends_on >= $1 AND k.starts_on <= $2 ORDER BY k.id",
            super::contracts::CONTRACT_SELECT
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(super::contracts::contract_from).collect()
    }

    async fn usage_of(
        &self,
        contracts: &[i64],
        counters: &[String],
    ) -> Result<Vec<(i64, String, i64)>> {
        if contracts.is_empty() || counters.is_empty() {
            return Ok(Vec::new());
        }
        // Point reads of the (contract_id, counter) key, a page of contracts at a time.
        let mut all = Vec::new();
        for page in contracts.chunks(200) {
            let mut sql = Sql::new(&format!(
                "SELECT contract_id, counter, CAST(used AS BIGINT) AS used FROM contract_usage \
                 WHERE contract_id IN ({}) AND counter IN (",
                page.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            for (i, counter) in counters.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Param::Text(counter.clone()));
            }
            sql.push(")");
            let rows: Vec<(i64, String, i64)> =
                bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(|r| {
                        Ok((
                            r.try_get("contract_id")?,
                            r.try_get("counter")?,
                            r.try_get("used")?,
                        ))
                    })
                    .collect::<Result<_>>()?;
            all.extend(rows);
        }
        Ok(all)
    }

    async fn report_names(&self) -> Result<ReportNames> {
        let clients: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as("SELECT id, code, name, calendar FROM clients ORDER BY id")
                .fetch_all(self.reader())
                .await?;
        let staff: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM users WHERE role <> 'client' ORDER BY id")
                .fetch_all(self.reader())
                .await?;
        Ok(ReportNames {
            clients: clients
                .into_iter()
                .map(|(id, code, name, calendar)| (ClientId(id), code, name, calendar))
                .collect(),
            staff: staff.into_iter().map(|(id, n)| (UserId(id), n)).collect(),
        })
    }

    async fn bulk_report_rows(
        &self,
        history: &[BulkEvent],
        entries: &[BulkEntry],
        ratings: &[(TicketId, UserId, i64, Timestamp)],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let rows = history
            .iter()
            .map(|(ticket, at, kind, before, after)| {
                vec![
                    Param::Int(ticket.0),
                    Param::Int(ms(*at)),
                    Param::Text((*kind).to_owned()),
                    Param::MaybeText(before.map(str::to_owned)),
                    Param::MaybeText(after.clone()),
                    Param::Bool(false),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "history",
            &["ticket_id", "at", "kind", "before", "after", "public"],
            rows,
        )
        .await?;
        let rows = entries
            .iter()
            .map(|(user, ticket, task, from, to)| {
                vec![
                    Param::Int(user.0),
                    Param::Int(ticket.0),
                    Param::MaybeInt(task.map(|t| t.0)),
                    Param::Int(ms(*from)),
                    Param::Int(ms(*to)),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "time_entries",
            &[
                "user_id",
                "ticket_id",
                "task_id",
                "started_at",
                "stopped_at",
            ],
            rows,
        )
        .await?;
        let rows = ratings
            .iter()
            .map(|(ticket, user, score, at)| {
                vec![
                    Param::Int(ticket.0),
                    Param::Int(user.0),
                    Param::Int(*score),
                    Param::Int(ms(*at)),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "ticket_ratings",
            &["ticket_id", "user_id", "score", "rated_at"],
            rows,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_subscription(
        &self,
        user: UserId,
        report: &str,
        cadence: &str,
        filters: &str,
        next_run_at: Timestamp,
        at: Timestamp,
    ) -> Result<Subscription> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_subscriptions (user_id, report, cadence, filters, next_run_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SUBSCRIPTION_COLUMNS}"
        )))
        .bind(user.0)
        .bind(report)
        .bind(cadence)
        .bind(filters)
        .bind(ms(next_run_at))
        .bind(ms(at))
        .fetch_one(self.writer())
        .await?;
        subscription_from(&row)
    }

    async fn subscriptions_of(&self, user: UserId) -> Result<Vec<Subscription>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM report_subscriptions WHERE user_id = $1 ORDER BY id"
        )))
        .bind(user.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(subscription_from).collect()
    }

    async fn delete_subscription(&self, user: UserId, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM report_subscriptions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn due_subscriptions(&self, now: Timestamp, limit: u32) -> Result<Vec<Subscription>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM report_subscriptions WHERE next_run_at <= $1 \
             ORDER BY next_run_at, id LIMIT $2"
        )))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(subscription_from).collect()
    }

    async fn subscription_sent(
        &self,
        id: i64,
        sent_at: Timestamp,
        next_run_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE report_subscriptions SET last_sent_at = $2, next_run_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(sent_at))
        .bind(ms(next_run_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// A one-column query of `sql` with its parameters bound.
fn bind_all_scalar(
    sql: &Sql,
) -> sqlx::query::QueryScalar<'_, Db, i64, <Db as sqlx::Database>::Arguments> {
    let mut query = sqlx::query_scalar(AssertSqlSafe(sql.text.as_str()));
    for param in &sql.params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::MaybeInt(v) => query.bind(*v),
            Param::MaybeText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
        };
    }
    query
}
