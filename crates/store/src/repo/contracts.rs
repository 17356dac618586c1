//! The SQL of [`ContractStore`]: clients, contacts, contracts and their usage, registration,
//! lifecycle steps, invoices and equipment.

use super::*;
use crate::contracts::*;
use jiff::civil::Date;

const CLIENT_RECORD_SELECT: &str = "SELECT id, code, name, mail_domain, calendar, vip, time_zone, notes, \
     access_notes, external_id FROM clients";

pub(super) const CONTACT_SELECT: &str = "SELECT id, client_id, email, name, phone, telegram_id, sees_organization, \
     director, external_id, active FROM users";

pub(super) const CONTRACT_SELECT: &str = "SELECT k.id, k.number, k.client_id, c.code AS client_code, c.time_zone AS client_time_zone, k.starts_on, k.ends_on, \
     k.support_level, k.services, k.tariff, k.hourly_rate, k.after_hours_rate, k.rounding_minutes, \
     k.billable_services, k.tickets_per_contact_day, k.tickets_per_month, k.hours_per_month, \
     k.license_keys, k.limit_reaction, k.external_id \
     FROM contracts k JOIN clients c ON c.id = k.client_id";

const INVOICE_SELECT: &str = "SELECT i.id, i.number, i.client_id, c.code AS client_code, i.contract_id, \
     k.number AS contract_number, i.period_start, i.period_end, i.tariff_amount, i.extra_minutes, \
     i.extra_amount, i.amount, i.status, i.created_at, i.sent_at, i.paid_at \
     FROM invoices i JOIN clients c ON c.id = i.client_id JOIN contracts k ON k.id = i.contract_id";

const EQUIPMENT_SELECT: &str = "SELECT e.id, e.client_id, c.code AS client_code, e.site, e.kind, e.model, \
     e.serial, e.warranty_until, e.notes, e.external_id FROM equipment e JOIN clients c ON c.id = e.client_id";

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    DomainError::Invalid(FieldError::new(field, message)).into()
}

fn date(text: &str) -> Result<Date> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date {text:?}: {e}")))
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn client_record_from(r: &DbRow) -> Result<ClientRecord> {
    Ok(ClientRecord {
        id: ClientId(r.try_get("id")?),
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        mail_domain: r.try_get("mail_domain")?,
        calendar: r.try_get("calendar")?,
        vip: r.try_get("vip")?,
        time_zone: r.try_get("time_zone")?,
        notes: r.try_get("notes")?,
        access_notes: r.try_get("access_notes")?,
        external_id: r.try_get("external_id")?,
    })
}

pub(super) fn contact_from(r: &DbRow) -> Result<Contact> {
    Ok(Contact {
        id: UserId(r.try_get("id")?),
        client_id: ClientId(
            r.try_get::<Option<i64>, _>("client_id")?
                .ok_or_else(|| StoreError::Corrupt("a contact without a client".into()))?,
        ),
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        telegram_id: r.try_get("telegram_id")?,
        sees_organization: r.try_get("sees_organization")?,
        director: r.try_get("director")?,
        external_id: r.try_get("external_id")?,
        active: r.try_get("active")?,
    })
}

pub(super) fn contract_from(r: &DbRow) -> Result<Contract> {
    Ok(Contract {
        id: r.try_get("id")?,
        client_code: r.try_get("client_code")?,
        client_time_zone: r.try_get("client_time_zone")?,
        terms: ContractTerms {
            number: r.try_get("number")?,
            client_id: ClientId(r.try_get("client_id")?),
            starts_on: date(r.try_get("starts_on")?)?,
            ends_on: date(r.try_get("ends_on")?)?,
            support_level: r.try_get("support_level")?,
            services: list(r.try_get("services")?),
            tariff: r.try_get("tariff")?,
            hourly_rate: r.try_get("hourly_rate")?,
            after_hours_rate: r.try_get("after_hours_rate")?,
            rounding_minutes: r.try_get("rounding_minutes")?,
            billable_services: list(r.try_get("billable_services")?),
            limits: Limits {
                tickets_per_contact_day: r.try_get("tickets_per_contact_day")?,
                tickets_per_month: r.try_get("tickets_per_month")?,
                hours_per_month: r.try_get("hours_per_month")?,
                license_keys: r.try_get("license_keys")?,
            },
            limit_reaction: r.try_get("limit_reaction")?,
            external_id: r.try_get("external_id")?,
        },
    })
}

fn invoice_from(r: &DbRow) -> Result<Invoice> {
    let opt = |name: &str| -> Result<Option<Timestamp>> {
        r.try_get::<Option<i64>, _>(name)?.map(instant).transpose()
    };
    Ok(Invoice {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        client_id: ClientId(r.try_get("client_id")?),
        client_code: r.try_get("client_code")?,
        contract_id: r.try_get("contract_id")?,
        contract_number: r.try_get("contract_number")?,
        period_start: date(r.try_get("period_start")?)?,
        period_end: date(r.try_get("period_end")?)?,
        tariff_amount: r.try_get("tariff_amount")?,
        extra_minutes: r.try_get("extra_minutes")?,
        extra_amount: r.try_get("extra_amount")?,
        amount: r.try_get("amount")?,
        status: r.try_get("status")?,
        created_at: instant(r.try_get("created_at")?)?,
        sent_at: opt("sent_at")?,
        paid_at: opt("paid_at")?,
    })
}

fn equipment_from(r: &DbRow) -> Result<Equipment> {
    Ok(Equipment {
        id: r.try_get("id")?,
        client_code: r.try_get("client_code")?,
        item: EquipmentInput {
            client_id: ClientId(r.try_get("client_id")?),
            site: r.try_get("site")?,
            kind: r.try_get("kind")?,
            model: r.try_get("model")?,
            serial: r.try_get("serial")?,
            warranty_until: r
                .try_get::<Option<&str>, _>("warranty_until")?
                .map(date)
                .transpose()?,
            notes: r.try_get("notes")?,
            external_id: r.try_get("external_id")?,
        },
    })
}

type Scalar<'q> = sqlx::query::QueryScalar<'q, Db, i64, <Db as sqlx::Database>::Arguments>;

/// Binds a contract's terms as `$1..$18` (`$18`: the instant of the change).
fn bind_terms<'q>(q: Scalar<'q>, t: &'q ContractTerms, at: Timestamp) -> Scalar<'q> {
    q.bind(&t.number)
        .bind(t.client_id.0)
        .bind(t.starts_on.to_string())
        .bind(t.ends_on.to_string())
        .bind(&t.support_level)
        .bind(t.services.join(","))
        .bind(t.tariff)
        .bind(t.hourly_rate)
        .bind(t.after_hours_rate)
        .bind(t.rounding_minutes)
        .bind(t.billable_services.join(","))
        .bind(t.limits.tickets_per_contact_day)
        .bind(t.limits.tickets_per_month)
        .bind(t.limits.hours_per_month)
        .bind(t.limits.license_keys)
        .bind(&t.limit_reaction)
        .bind(&t.external_id)
        .bind(ms(at))
}

/// Binds an equipment record as `$1..$8`.
fn bind_equipment<'q>(q: Scalar<'q>, e: &'q EquipmentInput) -> Scalar<'q> {
    q.bind(e.client_id.0)
        .bind(&e.site)
        .bind(&e.kind)
        .bind(&e.model)
        .bind(&e.serial)
        .bind(e.warranty_until.map(|d| d.to_string()))
        .bind(&e.notes)
        .bind(&e.external_id)
}

/// Bumps a new ticket's usage counters inside its transaction, a statement each: the path
/// of a backend that takes one statement a call (where one call takes several, the claims
/// go with the change's other rows: `routes::apply_steps`). A capped claim finding its
/// counter full takes nothing and fails the change with [`StoreError::LimitReached`]:
/// concurrent claims queue on the counter's row (PostgreSQL re-reads it after the lock;
/// SQLite has one writer), so exactly the allowed number get through.
pub(super) async fn claim_in(tx: &mut Tx, contract: i64, claims: &[UsageClaim]) -> Result<()> {
    let mut taken: Vec<String> = Vec::with_capacity(claims.len());
    for claim in claims {
        let sql = claim_sql(contract, claim);
        if let Some(row) = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_optional(&mut **tx)
            .await?
        {
            taken.push(row.try_get("counter")?);
        }
    }
    claims_taken(claims, &taken)
}

/// The statement bumping one usage counter, answering its `counter` when it took the claim.
pub(super) fn claim_sql(contract: i64, claim: &UsageClaim) -> Sql {
    // The SELECT's WHERE refuses a first claim on a zero limit (and lets SQLite tell its
    // upsert from a join).
    let mut sql = Sql::new("INSERT INTO contract_usage (contract_id, counter, used) SELECT ");
    let limit = Param::Int(claim.limit.unwrap_or(i64::MAX));
    sql.bind(Param::Int(contract))
        .push(", ")
        .bind(Param::Text(claim.counter.clone()))
        .push(", 1 WHERE 0 < ")
        .bind(limit.clone())
        .push(
            " ON CONFLICT (contract_id, counter) DO UPDATE SET used = contract_usage.used + 1 \
             WHERE contract_usage.used < ",
        )
        .bind(limit)
        .push(" RETURNING counter");
    sql
}

/// Fails with [`StoreError::LimitReached`] naming the first claim whose counter is not
/// among those `taken`.
pub(super) fn claims_taken(claims: &[UsageClaim], taken: &[String]) -> Result<()> {
    match claims.iter().find(|c| !taken.contains(&c.counter)) {
        Some(full) => Err(StoreError::LimitReached {
            counter: full.counter.clone(),
        }),
        None => Ok(()),
    }
}

/// Appends a ticket's registration particulars to the `UPDATE tickets SET …` of its change;
/// the owner is found by email among the staff in the same statement.
pub(super) fn set_registration(sql: &mut Sql, r: &Registration) {
    sql.push(", company = ")
        .bind(Param::Text(r.company.clone()))
        .push(", department = ")
        .bind(Param::Text(r.department.clone()))
        .push(", owner_id = (SELECT id FROM users WHERE role <> 'client' AND email = ")
        .bind(Param::MaybeText(r.owner.clone()))
        .push("), category = ")
        .bind(Param::Text(r.category.clone()))
        .push(", priority = ")
        .bind(Param::Text(r.priority.clone()))
        .push(", line = ")
        .bind(Param::MaybeInt(r.line))
        .push(", support_level = ")
        .bind(Param::Text(r.support_level.clone()))
        .push(", equipment_id = ")
        .bind(Param::MaybeInt(r.equipment));
}

#[async_trait]
impl ContractStore for Backend {
    async fn upsert_client(&self, c: &ClientUpsert) -> Result<(ClientId, bool)> {
        let mut tx = self.begin().await?;
        let existing: Option<i64> = match &c.external_id {
            Some(ext) => {
                sqlx::query_scalar("SELECT id FROM clients WHERE external_id = $1")
                    .bind(ext)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let existing = match existing {
            Some(id) => Some(id),
            None => {
                sqlx::query_scalar("SELECT id FROM clients WHERE code = $1")
                    .bind(&c.code)
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        let result = match existing {
            Some(id) => sqlx::query(
                "UPDATE clients SET code = $2, name = $3, mail_domain = $4, calendar = $5, vip = $6, \
                 time_zone = $7, notes = $8, access_notes = $9, external_id = COALESCE($10, external_id) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&c.code)
            .bind(&c.name)
            .bind(&c.mail_domain)
            .bind(&c.calendar)
            .bind(c.vip)
            .bind(&c.time_zone)
            .bind(&c.notes)
            .bind(&c.access_notes)
            .bind(&c.external_id)
            .execute(&mut *tx)
            .await
            .map(|_| (id, false)),
            None => sqlx::query_scalar(
                "INSERT INTO clients (code, name, mail_domain, calendar, vip, time_zone, notes, access_notes, \
                 external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(&c.code)
            .bind(&c.name)
            .bind(&c.mail_domain)
            .bind(&c.calendar)
            .bind(c.vip)
            .bind(&c.time_zone)
            .bind(&c.notes)
            .bind(&c.access_notes)
            .bind(&c.external_id)
            .bind(ms(self.now()))
            .fetch_one(&mut *tx)
            .await
            .map(|id| (id, true)),
        };
        let (id, created) = result.map_err(|e| {
            unique_violation(e, "code", "another client has this code or mail domain")
        })?;
        tx.commit().await?;
        Ok((ClientId(id), created))
    }

    async fn client_record(&self, id: ClientId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CLIENT_RECORD_SELECT} WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(client_record_from).transpose()
    }

    async fn client_records(&self, after: Option<&str>, limit: u32) -> Result<Vec<ClientRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CLIENT_RECORD_SELECT} WHERE code > $1 ORDER BY code LIMIT $2"
        )))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(client_record_from).collect()
    }

    async fn upsert_contact(&self, c: &ContactUpsert) -> Result<(UserId, bool)> {
        let mut tx = self.begin().await?;
        let found: Option<(i64, String)> = match &c.external_id {
            Some(ext) => {
                sqlx::query_as("SELECT id, role FROM users WHERE external_id = $1")
                    .bind(ext)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let found = match found {
            Some(f) => Some(f),
            None => {
                sqlx::query_as("SELECT id, role FROM users WHERE email = $1")
                    .bind(c.email.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        let result = match found {
            Some((_, role)) if role != "client" => {
                return Err(DomainError::Conflict(
                    "email: this address belongs to a staff member".into(),
                )
                .into());
            }
            Some((id, _)) => sqlx::query(
                "UPDATE users SET email = $2, name = $3, client_id = $4, phone = $5, telegram_id = $6, \
                 sees_organization = $7, director = $8, external_id = COALESCE($9, external_id), active = TRUE, \
                 phone_key = $10 WHERE id = $1",
            )
            .bind(id)
            .bind(c.email.as_str())
            .bind(&c.name)
            .bind(c.client_id.0)
            .bind(&c.phone)
            .bind(&c.telegram_id)
            .bind(c.sees_organization)
            .bind(c.director)
            .bind(&c.external_id)
            .bind(super::channels::phone_key(c.phone.as_deref()))
            .execute(&mut *tx)
            .await
            .map(|_| (id, false)),
            None => sqlx::query_scalar(
                "INSERT INTO users (email, name, role, client_id, phone, telegram_id, sees_organization, \
                 director, external_id, created_at, phone_key) VALUES ($1, $2, 'client', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(c.email.as_str())
            .bind(&c.name)
            .bind(c.client_id.0)
            .bind(&c.phone)
            .bind(&c.telegram_id)
            .bind(c.sees_organization)
            .bind(c.director)
            .bind(&c.external_id)
            .bind(ms(self.now()))
            .bind(super::channels::phone_key(c.phone.as_deref()))
            .fetch_one(&mut *tx)
            .await
            .map(|id| (id, true)),
        };
        let (id, created) =
            result.map_err(|e| unique_violation(e, "email", "another user has this email"))?;
        tx.commit().await?;
        Ok((UserId(id), created))
    }

    async fn contacts(&self, client: ClientId) -> Result<Vec<Contact>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CONTACT_SELECT} WHERE client_id = $1 AND role = 'client' ORDER BY name, id"
        )))
        .bind(client.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contact_from).collect()
    }

    async fn save_contract(
        &self,
        id: Option<i64>,
        t: &ContractTerms,
        at: Timestamp,
    ) -> Result<(i64, bool)> {
        let mut tx = self.begin().await?;
        // A no-op write locks the client's row, so two overlapping contracts saved at
        // once cannot both pass the overlap check below.
        let client = sqlx::query("UPDATE clients SET code = code WHERE id = $1")
            .bind(t.client_id.0)
            .execute(&mut *tx)
            .await?;
        if client.rows_affected() == 0 {
            return Err(invalid("client", "unknown client"));
        }
        let existing: Option<i64> = match id {
            Some(id) => Some(
                sqlx::query_scalar("SELECT id FROM contracts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(DomainError::NotFound("contract"))?,
            ),
            None => {
                let by_external: Option<i64> = match &t.external_id {
                    Some(ext) => {
                        sqlx::query_scalar("SELECT id FROM contracts WHERE external_id = $1")
                            .bind(ext)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                match by_external {
                    Some(id) => Some(id),
                    None => {
                        sqlx::query_scalar("SELECT id FROM contracts WHERE number = $1")
                            .bind(&t.number)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                }
            }
        };
        let overlapping = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.client_id = $1 AND k.starts_on <= $2 AND k.ends_on >= $3 AND k.id <> $4"
        )))
        .bind(t.client_id.0)
        .bind(t.ends_on.to_string())
        .bind(t.starts_on.to_string())
        .bind(existing.unwrap_or(0))
        .fetch_all(&mut *tx)
        .await?;
        for row in &overlapping {
            let other = contract_from(row)?;
            let common = t.services.is_empty()
                || other.terms.services.is_empty()
                || t.services.iter().any(|s| other.terms.services.contains(s));
            if common {
                return Err(invalid(
                    "starts_on",
                    format!(
                        "the period overlaps contract {} ({} – {}) of the same client for a common service",
                        other.terms.number, other.terms.starts_on, other.terms.ends_on
                    ),
                ));
            }
        }
        let saved: i64 = match existing {
            Some(id) => bind_terms(
                sqlx::query_scalar(
                    "UPDATE contracts SET number = $1, client_id = $2, starts_on = $3, ends_on = $4, support_level = $5, \
                     services = $6, tariff = $7, hourly_rate = $8, after_hours_rate = $9, rounding_minutes = $10, \
                     billable_services = $11, tickets_per_contact_day = $12, tickets_per_month = $13, \
                     hours_per_month = $14, license_keys = $15, limit_reaction = $16, \
                     external_id = COALESCE($17, external_id), updated_at = $18 WHERE id = $19 RETURNING id",
                ),
                t,
                at,
            )
            .bind(id),
            None => bind_terms(
                sqlx::query_scalar(
                    "INSERT INTO contracts (number, client_id, starts_on, ends_on, support_level, services, tariff, \
                     hourly_rate, after_hours_rate, rounding_minutes, billable_services, tickets_per_contact_day, \
                     tickets_per_month, hours_per_month, license_keys, limit_reaction, external_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id",
                ),
                t,
                at,
            ),
        }
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "number", "another contract has this number"))?;
        tx.commit().await?;
        Ok((saved, existing.is_none()))
    }

    async fn contract(&self, id: i64) -> Result<Option<Contract>> {
        let row = sqlx::query(AssertSqlSafe(format!("{CONTRACT_SELECT} WHERE k.id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(contract_from).transpose()
    }

    async fn contract_by_number(&self, number: &str) -> Result<Option<Contract>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.number = $1"
        )))
        .bind(number)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(contract_from).transpose()
    }

    async fn contract_by_external_id(&self, external_id: &str) -> Result<Option<Contract>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.external_id = $1"
        )))
        .bind(external_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(contract_from).transpose()
    }

    async fn client_by_external_id(&self, external_id: &str) -> Result<Option<ClientRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CLIENT_RECORD_SELECT} WHERE external_id = $1"
        )))
        .bind(external_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(client_record_from).transpose()
    }

    async fn contracts(
        &self,
        client: Option<ClientId>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Contract>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE ($1 = 0 OR k.client_id = $1) AND k.id < $2 ORDER BY k.id DESC LIMIT $3"
        )))
        .bind(client.map_or(0, |c| c.0))
        .bind(after.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contract_from).collect()
    }

    async fn contracts_overlapping(
        &self,
        client: ClientId,
        from: Date,
        to: Date,
    ) -> Result<Vec<Contract>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.client_id = $1 AND k.ends_on >= $2 AND k.starts_on <= $3 ORDER BY k.id"
        )))
        .bind(client.0)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contract_from).collect()
    }

    async fn hours_limited_contracts(&self, from: Date, to: Date) -> Result<Vec<Contract>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.hours_per_month IS NOT NULL AND k.ends_on >= $1 AND k.starts_on <= $2 ORDER BY k.id"
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contract_from).collect()
    }

    async fn contracts_between(
        &self,
        starting: bool,
        from: Date,
        to: Date,
    ) -> Result<Vec<Contract>> {
        let column = if starting { "starts_on" } else { "ends_on" };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE k.{column} >= $1 AND k.{column} <= $2 ORDER BY k.id"
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contract_from).collect()
    }

    async fn usage(&self, contract: i64, counter: &str) -> Result<i64> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT used FROM contract_usage WHERE contract_id = $1 AND counter = $2",
        )
        .bind(contract)
        .bind(counter)
        .fetch_optional(self.reader())
        .await?;
        Ok(used.unwrap_or(0))
    }

    async fn client_minutes(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<i64> {
        // `+t.client_id` keeps SQLite off the tickets' client index: it walks the month's
        // time entries (few) instead of every ticket of the client (100k in `bench pages`,
        // where the portal and the task page paid ~170 ms for it). Same value in PostgreSQL.
        let millis: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(COALESCE(e.stopped_at, $4) - e.started_at), 0) AS BIGINT) \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             WHERE +t.client_id = $1 AND e.started_at >= $2 AND e.started_at < $3",
        )
        .bind(client.0)
        .bind(ms(from))
        .bind(ms(to))
        .bind(ms(now))
        .fetch_one(self.reader())
        .await?;
        Ok(millis / 60_000)
    }

    async fn last_worked_ticket(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<TicketId>> {
        let ticket: Option<i64> = sqlx::query_scalar(
            "SELECT e.ticket_id FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             WHERE +t.client_id = $1 AND e.started_at >= $2 AND e.started_at < $3 \
             ORDER BY e.started_at DESC, e.id DESC LIMIT 1",
        )
        .bind(client.0)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_optional(self.reader())
        .await?;
        Ok(ticket.map(TicketId))
    }

    async fn work_entries(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<WorkEntry>> {
        let rows = sqlx::query(
            "SELECT e.ticket_id, t.subject, t.service, k.kind AS task_kind, u.name AS user_name, \
             e.started_at, e.stopped_at FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             JOIN users u ON u.id = e.user_id LEFT JOIN tasks k ON k.id = e.task_id \
             WHERE t.client_id = $1 AND e.started_at >= $2 AND e.started_at < $3 AND e.stopped_at IS NOT NULL \
             ORDER BY e.ticket_id, e.started_at",
        )
        .bind(client.0)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkEntry {
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    subject: r.try_get("subject")?,
                    service: r.try_get("service")?,
                    task_kind: r.try_get("task_kind")?,
                    user_name: r.try_get("user_name")?,
                    started_at: instant(r.try_get("started_at")?)?,
                    stopped_at: instant(r.try_get("stopped_at")?)?,
                })
            })
            .collect()
    }

    async fn ticket_registration(&self, ticket: TicketId) -> Result<Option<Registration>> {
        let row = sqlx::query(
            "SELECT t.company, t.department, u.email AS owner, t.category, t.priority, t.line, \
             t.support_level, t.equipment_id FROM tickets t LEFT JOIN users u ON u.id = t.owner_id \
             WHERE t.id = $1",
        )
        .bind(ticket.0)
        .fetch_optional(self.reader())
        .await?;
        let text = |r: &DbRow, name: &str| -> Result<String> {
            Ok(r.try_get::<Option<String>, _>(name)?.unwrap_or_default())
        };
        row.map(|r| {
            Ok(Registration {
                company: text(&r, "company")?,
                department: text(&r, "department")?,
                owner: r.try_get("owner")?,
                category: text(&r, "category")?,
                priority: text(&r, "priority")?,
                line: r.try_get("line")?,
                support_level: text(&r, "support_level")?,
                equipment: r.try_get("equipment_id")?,
            })
        })
        .transpose()
    }

    async fn ticket_over_limit(&self, ticket: TicketId) -> Result<Option<String>> {
        let over: Option<Option<String>> =
            sqlx::query_scalar("SELECT over_limit FROM tickets WHERE id = $1")
                .bind(ticket.0)
                .fetch_optional(self.reader())
                .await?;
        Ok(over.flatten())
    }

    async fn unregistered_tickets(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<UnregisteredTicket>> {
        let rows = sqlx::query(
            "SELECT t.id, t.subject, t.service, c.code, u.email, t.created_at FROM tickets t \
             JOIN clients c ON c.id = t.client_id JOIN users u ON u.id = t.requester_id \
             WHERE t.registered = FALSE AND t.id > $1 AND t.status <> 'draft' ORDER BY t.id LIMIT $2",
        )
        .bind(after.map_or(0, |t| t.0))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnregisteredTicket {
                    ticket_id: TicketId(r.try_get("id")?),
                    subject: r.try_get("subject")?,
                    service: r.try_get("service")?,
                    client_code: r.try_get("code")?,
                    requester_email: r.try_get("email")?,
                    created_at: instant(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn register_ticket(
        &self,
        ticket: TicketId,
        client: ClientId,
        requester: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let before: Option<String> = sqlx::query_scalar(
            "SELECT c.code FROM tickets t JOIN clients c ON c.id = t.client_id WHERE t.id = $1",
        )
        .bind(ticket.0)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.ok_or(DomainError::NotFound("ticket"))?;
        let contact_client: Option<Option<i64>> =
            sqlx::query_scalar("SELECT client_id FROM users WHERE id = $1 AND role = 'client'")
                .bind(requester.0)
                .fetch_optional(&mut *tx)
                .await?;
        if contact_client.flatten() != Some(client.0) {
            return Err(invalid("requester", "not a contact of this client"));
        }
        let after: Option<String> = sqlx::query_scalar("SELECT code FROM clients WHERE id = $1")
            .bind(client.0)
            .fetch_optional(&mut *tx)
            .await?;
        let after = after.ok_or_else(|| invalid("client", "unknown client"))?;
        sqlx::query(
            "UPDATE tickets SET client_id = $2, requester_id = $3, registered = TRUE, updated_at = $4 WHERE id = $1",
        )
        .bind(ticket.0)
        .bind(client.0)
        .bind(requester.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "registered",
            (Some(&before), Some(&after)),
            false,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn contract_event(
        &self,
        contract: i64,
        kind: &str,
        outbox: Option<(OutboxKind, serde_json::Value)>,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO contract_events (contract_id, kind, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(contract)
        .bind(kind)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some((kind, payload)) = outbox {
            enqueue(&mut tx, kind, payload, at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn enqueue_notice(
        &self,
        kind: OutboxKind,
        payload: serde_json::Value,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        enqueue(&mut tx, kind, payload, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_invoice(&self, i: &NewInvoice, at: Timestamp) -> Result<Option<Invoice>> {
        let mut tx = self.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO invoices (number, client_id, contract_id, period_start, period_end, tariff_amount, \
             extra_minutes, extra_amount, amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (contract_id, period_start) DO NOTHING RETURNING id",
        )
        .bind(&i.number)
        .bind(i.client_id.0)
        .bind(i.contract_id)
        .bind(i.period_start.to_string())
        .bind(i.period_end.to_string())
        .bind(i.tariff_amount)
        .bind(i.extra_minutes)
        .bind(i.extra_amount)
        .bind(i.tariff_amount + i.extra_amount)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "number", "another invoice has this number"))?;
        let Some(id) = id else {
            return Ok(None);
        };
        let row = sqlx::query(AssertSqlSafe(format!("{INVOICE_SELECT} WHERE i.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        invoice_from(&row).map(Some)
    }

    async fn invoices(
        &self,
        client: Option<ClientId>,
        status: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Invoice>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{INVOICE_SELECT} WHERE ($1 = 0 OR i.client_id = $1) AND ($2 = '' OR i.status = $2) AND i.id < $3 \
             ORDER BY i.id DESC LIMIT $4"
        )))
        .bind(client.map_or(0, |c| c.0))
        .bind(status.unwrap_or(""))
        .bind(after.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(invoice_from).collect()
    }

    async fn invoice(&self, id: i64) -> Result<Option<Invoice>> {
        let row = sqlx::query(AssertSqlSafe(format!("{INVOICE_SELECT} WHERE i.id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(invoice_from).transpose()
    }

    async fn set_invoice_status(&self, id: i64, status: &str, at: Timestamp) -> Result<Invoice> {
        // Paying a draft marks it sent at the same moment: the order is kept, never skipped.
        let (from, set) = match status {
            "sent" => ("draft", "sent_at = $3"),
            "paid" => ("sent", "paid_at = $3, sent_at = COALESCE(sent_at, $3)"),
            _ => return Err(invalid("status", "sent or paid")),
        };
        let mut tx = self.begin().await?;
        let updated = sqlx::query(AssertSqlSafe(format!(
            "UPDATE invoices SET status = $2, {set} \
             WHERE id = $1 AND (status = $4 OR ($2 = 'paid' AND status = 'draft'))"
        )))
        .bind(id)
        .bind(status)
        .bind(ms(at))
        .bind(from)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let exists: Option<String> =
                sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                None => DomainError::NotFound("invoice").into(),
                Some(now) => {
                    DomainError::Conflict(format!("status: the invoice is already {now}")).into()
                }
            });
        }
        let row = sqlx::query(AssertSqlSafe(format!("{INVOICE_SELECT} WHERE i.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        invoice_from(&row)
    }

    async fn revenue(&self, from: Timestamp, to: Timestamp) -> Result<Vec<RevenueRow>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT c.code, i.amount, i.paid_at FROM invoices i JOIN clients c ON c.id = i.client_id \
             WHERE i.status = 'paid' AND i.paid_at >= $1 AND i.paid_at < $2",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(self.reader())
        .await?;
        let mut sums = std::collections::BTreeMap::<(String, String), i64>::new();
        for (code, amount, paid_at) in rows {
            let day = instant(paid_at)?
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            let month = format!("{:04}-{:02}", day.year(), day.month());
            *sums.entry((month, code)).or_default() += amount;
        }
        Ok(sums
            .into_iter()
            .map(|((month, client_code), amount)| RevenueRow {
                month,
                client_code,
                amount,
            })
            .collect())
    }

    async fn save_equipment(&self, id: Option<i64>, e: &EquipmentInput) -> Result<i64> {
        let mut tx = self.begin().await?;
        let existing = match (id, &e.external_id) {
            (Some(id), _) => Some(
                sqlx::query_scalar::<_, i64>("SELECT id FROM equipment WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(DomainError::NotFound("equipment"))?,
            ),
            (None, Some(ext)) => {
                sqlx::query_scalar("SELECT id FROM equipment WHERE external_id = $1")
                    .bind(ext)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            (None, None) => None,
        };
        let saved: i64 = match existing {
            Some(id) => bind_equipment(
                sqlx::query_scalar(
                    "UPDATE equipment SET client_id = $1, site = $2, kind = $3, model = $4, serial = $5, \
                     warranty_until = $6, notes = $7, external_id = COALESCE($8, external_id) WHERE id = $9 RETURNING id",
                ),
                e,
            )
            .bind(id),
            None => bind_equipment(
                sqlx::query_scalar(
                    "INSERT INTO equipment (client_id, site, kind, model, serial, warranty_until, notes, external_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                ),
                e,
            )
            .bind(ms(self.now())),
        }
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn equipment(&self, id: i64) -> Result<Option<Equipment>> {
        let row = sqlx::query(AssertSqlSafe(format!("{EQUIPMENT_SELECT} WHERE e.id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(equipment_from).transpose()
    }

    async fn client_equipment(&self, client: ClientId) -> Result<Vec<Equipment>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{EQUIPMENT_SELECT} WHERE e.client_id = $1 ORDER BY e.id"
        )))
        .bind(client.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(equipment_from).collect()
    }

    async fn link_equipment(
        &self,
        ticket: TicketId,
        equipment: i64,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET equipment_id = $2 WHERE id = $1 \
             AND client_id = (SELECT client_id FROM equipment WHERE id = $2)",
        )
        .bind(ticket.0)
        .bind(equipment)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(invalid(
                "equipment",
                "no such equipment of the ticket's client",
            ));
        }
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "equipment",
            (None, Some(&equipment.to_string())),
            false,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ticket_equipment(&self, ticket: TicketId) -> Result<Option<Equipment>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{EQUIPMENT_SELECT} JOIN tickets t ON t.equipment_id = e.id WHERE t.id = $1"
        )))
        .bind(ticket.0)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(equipment_from).transpose()
    }

    async fn license_keys_before(&self, client: ClientId, before: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM license_keys WHERE client_id = $1 AND issued_at < $2",
        )
        .bind(client.0)
        .bind(ms(before))
        .fetch_one(self.reader())
        .await?)
    }

    async fn equipment_tickets(&self, equipment: i64) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE equipment_id = $1 ORDER BY id DESC LIMIT 500",
        )
        .bind(equipment)
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }
}
