//! `/api/v1/clients`: client records, contacts, equipment with its ticket history, line 1's
//! "to register" list, and bulk import of the accounting system's files. Writes are
//! idempotent upserts (by external id, else code or email), so a sync can repeat them.

use super::ticket_id;
use super::views::TicketView;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use okno_desk::contracts::{ClientInput, ContactInput};
use okno_desk::import::{ImportKind, read_rows};
use okno_desk::upsert::Given;
use okno_domain::*;
use okno_store::{ClientRecord, Contact, Equipment, EquipmentInput, UnregisteredTicket};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
}

#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub mail_domain: Option<String>,
    pub calendar: Option<String>,
    /// The priority flag: the client's tickets go first.
    pub vip: bool,
    pub time_zone: Option<String>,
    /// Staff only (empty for clients).
    pub notes: String,
    /// Staff only: how line 1 reaches the client's systems (empty for clients).
    pub access_notes: String,
    pub external_id: Option<String>,
}

impl From<ClientRecord> for ClientView {
    fn from(c: ClientRecord) -> Self {
        ClientView {
            id: c.id.to_string(),
            code: c.code,
            name: c.name,
            mail_domain: c.mail_domain,
            calendar: c.calendar,
            vip: c.vip,
            time_zone: c.time_zone,
            notes: c.notes,
            access_notes: c.access_notes,
            external_id: c.external_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    pub code: String,
    /// Required for a new client; left out, an existing client keeps it (as every field
    /// left out: only the fields sent change, `null` clears).
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub mail_domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub calendar: Option<Option<String>>,
    pub vip: Option<bool>,
    /// IANA name, e.g. `Asia/Novosibirsk`.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    pub notes: Option<String>,
    pub access_notes: Option<String>,
    /// The accounting system's key: a client with it is updated, not duplicated.
    pub external_id: Option<String>,
}

impl ClientRequest {
    /// The desk's input and the fields the body named.
    fn split(self) -> (ClientInput, Given) {
        let given = Given::of(
            [
                ("name", self.name.is_some()),
                ("mail_domain", self.mail_domain.is_some()),
                ("calendar", self.calendar.is_some()),
                ("vip", self.vip.is_some()),
                ("time_zone", self.time_zone.is_some()),
                ("notes", self.notes.is_some()),
                ("access_notes", self.access_notes.is_some()),
                ("external_id", self.external_id.is_some()),
            ]
            .into_iter()
            .filter(|(_, sent)| *sent)
            .map(|(name, _)| name),
        );
        let input = ClientInput {
            code: self.code,
            name: self.name.unwrap_or_default(),
            mail_domain: self.mail_domain.flatten(),
            calendar: self.calendar.flatten(),
            vip: self.vip.unwrap_or_default(),
            time_zone: self.time_zone.flatten(),
            notes: self.notes.unwrap_or_default(),
            access_notes: self.access_notes.unwrap_or_default(),
            external_id: self.external_id,
        };
        (input, given)
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClientPage {
    pub items: Vec<ClientView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub(crate) limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "limit is 1 to 200"));
    }
    Ok(limit)
}

#[utoipa::path(get, path = "/clients", tag = "clients", params(PageQuery),
    responses((status = 200, body = ClientPage), (status = 404, body = ErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<ClientPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let mut items = state
        .desk
        .client_records(&user, q.cursor.as_deref(), limit + 1)
        .await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|c| c.code.clone()).unwrap_or_default()
    });
    Ok(Json(ClientPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Creates or updates a client (by `external_id`, else `code`): 201 when created.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientRequest,
    responses((status = 200, body = ClientView), (status = 201, body = ClientView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upsert_client(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(r): ApiJson<ClientRequest>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let (input, given) = r.split();
    let (client, created) = state.desk.save_client_given(&user, input, &given).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(client.into())))
}

#[utoipa::path(get, path = "/clients/{code}", tag = "clients", params(("code" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(state.desk.client_record(&user, &code).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
    /// Sees the whole organization's tickets, not only their own.
    pub sees_organization: bool,
    pub director: bool,
    pub external_id: Option<String>,
    pub active: bool,
}

impl From<Contact> for ContactView {
    fn from(c: Contact) -> Self {
        ContactView {
            id: c.id.to_string(),
            email: c.email,
            name: c.name,
            phone: c.phone,
            telegram_id: c.telegram_id,
            sees_organization: c.sees_organization,
            director: c.director,
            external_id: c.external_id,
            active: c.active,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
    #[serde(default)]
    pub sees_organization: bool,
    #[serde(default)]
    pub director: bool,
    pub external_id: Option<String>,
}

#[utoipa::path(get, path = "/clients/{code}/contacts", tag = "clients", params(("code" = String, Path)),
    responses((status = 200, body = Vec<ContactView>), (status = 404, body = ErrorBody)))]
pub async fn list_contacts(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<ContactView>>, ApiError> {
    let contacts = state.desk.contacts(&user, &code).await?;
    Ok(Json(contacts.into_iter().map(Into::into).collect()))
}

/// Creates or updates a contact of the client (by `external_id`, else email).
#[utoipa::path(post, path = "/clients/{code}/contacts", tag = "clients", params(("code" = String, Path)),
    request_body = ContactRequest,
    responses((status = 200, body = ContactView), (status = 201, body = ContactView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn upsert_contact(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    ApiJson(r): ApiJson<ContactRequest>,
) -> Result<(StatusCode, Json<ContactView>), ApiError> {
    let input = ContactInput {
        client: code,
        email: r.email,
        name: r.name,
        phone: r.phone,
        telegram_id: r.telegram_id,
        sees_organization: r.sees_organization,
        director: r.director,
        external_id: r.external_id,
    };
    let (contact, created) = state.desk.save_contact(&user, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(contact.into())))
}

#[derive(Serialize, ToSchema)]
pub struct EquipmentView {
    pub id: String,
    pub client: String,
    pub site: String,
    pub kind: String,
    pub model: String,
    pub serial: String,
    /// `YYYY-MM-DD`; the repair route reads it.
    pub warranty_until: Option<String>,
    pub notes: String,
    pub external_id: Option<String>,
}

impl From<Equipment> for EquipmentView {
    fn from(e: Equipment) -> Self {
        EquipmentView {
            id: e.id.to_string(),
            client: e.client_code,
            site: e.item.site,
            kind: e.item.kind,
            model: e.item.model,
            serial: e.item.serial,
            warranty_until: e.item.warranty_until.map(|d| d.to_string()),
            notes: e.item.notes,
            external_id: e.item.external_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EquipmentRequest {
    #[serde(default)]
    pub site: String,
    pub kind: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub serial: String,
    /// `YYYY-MM-DD`.
    pub warranty_until: Option<String>,
    #[serde(default)]
    pub notes: String,
    pub external_id: Option<String>,
}

impl EquipmentRequest {
    fn input(self) -> Result<EquipmentInput, ApiError> {
        let warranty_until = match self.warranty_until.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => {
                Some(okno_desk::contracts::parse_date("warranty_until", d)?)
            }
            _ => None,
        };
        Ok(EquipmentInput {
            client_id: ClientId(0),
            site: self.site,
            kind: self.kind,
            model: self.model,
            serial: self.serial,
            warranty_until,
            notes: self.notes,
            external_id: self.external_id,
        })
    }
}

#[utoipa::path(get, path = "/clients/{code}/equipment", tag = "equipment", params(("code" = String, Path)),
    responses((status = 200, body = Vec<EquipmentView>), (status = 404, body = ErrorBody)))]
pub async fn list_equipment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<EquipmentView>>, ApiError> {
    let items = state.desk.client_equipment(&user, &code).await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/clients/{code}/equipment", tag = "equipment", params(("code" = String, Path)),
    request_body = EquipmentRequest,
    responses((status = 201, body = EquipmentView), (status = 422, body = ErrorBody)))]
pub async fn create_equipment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    ApiJson(r): ApiJson<EquipmentRequest>,
) -> Result<(StatusCode, Json<EquipmentView>), ApiError> {
    let saved = state
        .desk
        .save_equipment(&user, None, &code, r.input()?)
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

#[derive(Serialize, ToSchema)]
pub struct EquipmentHistory {
    pub equipment: EquipmentView,
    /// Tickets about it, newest first.
    pub tickets: Vec<TicketView>,
}

fn equipment_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("equipment"))
}

#[utoipa::path(get, path = "/equipment/{id}", tag = "equipment", params(("id" = String, Path)),
    responses((status = 200, body = EquipmentHistory), (status = 404, body = ErrorBody)))]
pub async fn get_equipment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<EquipmentHistory>, ApiError> {
    let (item, tickets) = state
        .desk
        .equipment_history(&user, equipment_id(&id)?)
        .await?;
    Ok(Json(EquipmentHistory {
        equipment: item.into(),
        tickets: tickets.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// The client's code.
    client: String,
}

#[utoipa::path(put, path = "/equipment/{id}", tag = "equipment", params(("id" = String, Path), ClientQuery),
    request_body = EquipmentRequest,
    responses((status = 200, body = EquipmentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_equipment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Query(q): Query<ClientQuery>,
    ApiJson(r): ApiJson<EquipmentRequest>,
) -> Result<Json<EquipmentView>, ApiError> {
    let saved = state
        .desk
        .save_equipment(&user, Some(equipment_id(&id)?), &q.client, r.input()?)
        .await?;
    Ok(Json(saved.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkEquipment {
    /// The equipment's id (of the ticket's client).
    pub equipment: String,
}

/// Links the ticket to the equipment it is about.
#[utoipa::path(post, path = "/tickets/{id}/equipment", tag = "equipment", params(("id" = String, Path)),
    request_body = LinkEquipment,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn link_equipment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<LinkEquipment>,
) -> Result<StatusCode, ApiError> {
    let equipment = r
        .equipment
        .parse()
        .map_err(|_| invalid("equipment", "not an equipment id"))?;
    state
        .desk
        .link_equipment(&user, ticket_id(&id)?, equipment)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct UnregisteredView {
    pub ticket_id: String,
    pub number: String,
    pub subject: String,
    pub service: String,
    /// The client it was filed under (`NEW` for unknown senders).
    pub client: String,
    pub requester_email: String,
    pub created_at: String,
}

impl From<UnregisteredTicket> for UnregisteredView {
    fn from(t: UnregisteredTicket) -> Self {
        UnregisteredView {
            ticket_id: t.ticket_id.to_string(),
            number: TicketNumber(t.ticket_id.0).to_string(),
            subject: t.subject,
            service: t.service,
            client: t.client_code,
            requester_email: t.requester_email,
            created_at: t.created_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnregisteredPage {
    pub items: Vec<UnregisteredView>,
    pub next_cursor: Option<String>,
}

/// What a ticket was registered with (seed 003).
#[derive(Serialize, ToSchema)]
pub struct RegistrationView {
    /// Our organization and department the ticket is registered to.
    pub company: String,
    pub department: String,
    /// The owner's email (a staff member), if any.
    pub owner: Option<String>,
    pub category: String,
    /// `low`, `normal`, `high` or `critical`.
    pub priority: String,
    /// The support line, 1 to 4.
    pub line: Option<i64>,
    pub support_level: String,
    /// The id of the client's equipment the ticket is about.
    pub equipment: Option<String>,
}

/// Staff: the ticket's registration particulars, filled from the configured defaults when
/// it was created (a contract's own support level wins).
#[utoipa::path(get, path = "/tickets/{id}/registration", tag = "registration", params(("id" = String, Path)),
    responses((status = 200, body = RegistrationView), (status = 404, body = ErrorBody)))]
pub async fn ticket_registration(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RegistrationView>, ApiError> {
    let r = state
        .desk
        .ticket_registration(&user, ticket_id(&id)?)
        .await?;
    Ok(Json(RegistrationView {
        company: r.company,
        department: r.department,
        owner: r.owner,
        category: r.category,
        priority: r.priority,
        line: r.line,
        support_level: r.support_level,
        equipment: r.equipment.map(|e| e.to_string()),
    }))
}

/// Line 1's "to register" list: tickets without a known client or a contract in force,
/// oldest first. Their reaction clock runs all the same.
#[utoipa::path(get, path = "/registration", tag = "registration", params(PageQuery),
    responses((status = 200, body = UnregisteredPage), (status = 404, body = ErrorBody)))]
pub async fn to_register(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<UnregisteredPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        Some(c) => {
            Some(TicketId(c.parse().map_err(|_| {
                invalid("cursor", "not a cursor from a previous page")
            })?))
        }
        None => None,
    };
    let mut items = state.desk.to_register(&user, after, limit + 1).await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items
            .last()
            .map(|t| t.ticket_id.to_string())
            .unwrap_or_default()
    });
    Ok(Json(UnregisteredPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterTicket {
    /// The client's code.
    pub client: String,
    /// The email of the client's contact who asked.
    pub requester: String,
}

/// Registers a ticket: sets its client and requester contact; it leaves the list.
#[utoipa::path(post, path = "/tickets/{id}/register", tag = "registration", params(("id" = String, Path)),
    request_body = RegisterTicket,
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register_ticket(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<RegisterTicket>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = state
        .desk
        .register_ticket(&user, ticket_id(&id)?, &r.client, &r.requester)
        .await?;
    Ok(Json(ticket.into()))
}

#[derive(Serialize, ToSchema)]
pub struct RefusedRow {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
    pub refused: Vec<RefusedRow>,
}

/// Loads a CSV or XLSX file of `clients`, `contacts` or `contracts` (the body is the
/// file). Rows are idempotent upserts; bad rows are refused with their line and reason.
#[utoipa::path(post, path = "/import/{kind}", tag = "import",
    params(("kind" = String, Path, description = "`clients`, `contacts` or `contracts`")),
    request_body(content_type = "application/octet-stream", description = "The CSV or XLSX file"),
    responses((status = 200, body = ImportResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(kind): Path<String>,
    body: Bytes,
) -> Result<Json<ImportResult>, ApiError> {
    let kind = ImportKind::parse(&kind)
        .ok_or_else(|| invalid("kind", "clients, contacts or contracts"))?;
    okno_desk::authorize(&user, okno_domain::policy::Action::ManageClients)?;
    let rows = read_rows(&body).map_err(|e| invalid("file", &e.to_string()))?;
    let report = state.desk.import_rows(kind, &rows, |_, _| {}).await?;
    Ok(Json(ImportResult {
        created: report.created,
        updated: report.updated,
        refused: report
            .refused
            .into_iter()
            .map(|r| RefusedRow {
                line: r.line,
                field: r.field,
                reason: r.reason,
            })
            .collect(),
    }))
}
