//! `/api/v1/contracts`, usage against limits, invoices (list, CSV/XLSX export, sent/paid),
//! revenue, and the monthly work report per client (JSON for accounting, XLSX, printable
//! HTML, or queued to the client's contacts).

use super::ticket_id;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use okno_desk::billing::{
    WorkReport, invoices_csv, invoices_xlsx, work_report_html, work_report_xlsx,
};
use okno_desk::contracts::{ContractInput, ContractUsage, LimitInput, limit_items};
use okno_desk::upsert::Given;
use okno_store::{Contract, Invoice, RevenueRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
}

fn roubles(kopecks: i64) -> f64 {
    kopecks as f64 / 100.0
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LimitView {
    /// e.g. 3.
    pub value: Option<f64>,
    /// `tickets`, `hours` or `license_keys`.
    pub unit: Option<String>,
    /// `contact_day` or `month` for tickets, `month` for hours, `period` for keys.
    pub per: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContractView {
    pub id: String,
    pub number: String,
    pub client: String,
    /// First day, `YYYY-MM-DD`.
    pub starts_on: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub ends_on: String,
    pub support_level: Option<String>,
    /// Service codes covered; empty: every service.
    pub services: Vec<String>,
    /// Roubles per month.
    pub tariff: f64,
    pub hourly_rate: f64,
    pub after_hours_rate: f64,
    pub rounding_minutes: i64,
    pub billable_services: Vec<String>,
    pub limits: Vec<LimitView>,
    /// `accept_and_flag`, `offer_extension`, `defer` or `refuse`.
    pub limit_reaction: String,
    pub external_id: Option<String>,
}

impl From<Contract> for ContractView {
    fn from(c: Contract) -> Self {
        let t = c.terms;
        ContractView {
            id: c.id.to_string(),
            number: t.number,
            client: c.client_code,
            starts_on: t.starts_on.to_string(),
            ends_on: t.ends_on.to_string(),
            support_level: t.support_level,
            services: t.services,
            tariff: roubles(t.tariff),
            hourly_rate: roubles(t.hourly_rate),
            after_hours_rate: roubles(t.after_hours_rate),
            rounding_minutes: t.rounding_minutes,
            billable_services: t.billable_services,
            limits: limit_items(&t.limits)
                .into_iter()
                .map(|(value, unit, per)| LimitView {
                    value: Some(value as f64),
                    unit: Some(unit.into()),
                    per: Some(per.into()),
                })
                .collect(),
            limit_reaction: t.limit_reaction,
            external_id: t.external_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractRequest {
    pub number: String,
    /// The client's code. Every field but `number` may be left out of an update: it then
    /// keeps its stored value (`null` clears a nullable one).
    pub client: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub support_level: Option<Option<String>>,
    pub services: Option<Vec<String>>,
    /// Roubles per month (not negative).
    pub tariff: Option<f64>,
    pub hourly_rate: Option<f64>,
    pub after_hours_rate: Option<f64>,
    /// Billed time is rounded up to this many minutes (e.g. 15).
    pub rounding_minutes: Option<i64>,
    pub billable_services: Option<Vec<String>>,
    pub limits: Option<Vec<LimitView>>,
    pub limit_reaction: Option<String>,
    pub external_id: Option<String>,
}

impl ContractRequest {
    /// The desk's input and the fields the body named.
    pub fn split(self) -> (ContractInput, Given) {
        let given = Given::of(
            [
                ("client", self.client.is_some()),
                ("starts_on", self.starts_on.is_some()),
                ("ends_on", self.ends_on.is_some()),
                ("support_level", self.support_level.is_some()),
                ("services", self.services.is_some()),
                ("tariff", self.tariff.is_some()),
                ("hourly_rate", self.hourly_rate.is_some()),
                ("after_hours_rate", self.after_hours_rate.is_some()),
                ("rounding_minutes", self.rounding_minutes.is_some()),
                ("billable_services", self.billable_services.is_some()),
                ("limits", self.limits.is_some()),
                ("limit_reaction", self.limit_reaction.is_some()),
                ("external_id", self.external_id.is_some()),
            ]
            .into_iter()
            .filter(|(_, sent)| *sent)
            .map(|(name, _)| name),
        );
        let input = ContractInput {
            number: self.number,
            client: self.client.unwrap_or_default(),
            starts_on: self.starts_on.unwrap_or_default(),
            ends_on: self.ends_on.unwrap_or_default(),
            support_level: self.support_level.flatten(),
            services: self.services.unwrap_or_default(),
            tariff: self.tariff.unwrap_or_default(),
            hourly_rate: self.hourly_rate.unwrap_or_default(),
            after_hours_rate: self.after_hours_rate.unwrap_or_default(),
            rounding_minutes: self.rounding_minutes.unwrap_or_default(),
            billable_services: self.billable_services.unwrap_or_default(),
            limits: self
                .limits
                .unwrap_or_default()
                .into_iter()
                .map(|l| LimitInput {
                    value: l.value,
                    unit: l.unit,
                    per: l.per,
                })
                .collect(),
            limit_reaction: self.limit_reaction,
            external_id: self.external_id,
        };
        (input, given)
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContractPage {
    pub items: Vec<ContractView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Only this client's contracts (code).
    client: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn contract_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("contract"))
}

#[utoipa::path(get, path = "/contracts", tag = "contracts", params(ContractQuery),
    responses((status = 200, body = ContractPage), (status = 422, body = ErrorBody)))]
pub async fn list_contracts(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<ContractQuery>,
) -> Result<Json<ContractPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "limit is 1 to 200"));
    }
    let after = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse()
                .map_err(|_| invalid("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let mut items = state
        .desk
        .contracts(&user, q.client.as_deref(), after, limit + 1)
        .await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|c| c.id.to_string()).unwrap_or_default()
    });
    Ok(Json(ContractPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Creates or updates a contract (by `external_id`, else `number`): 201 when created.
/// Overlapping periods for a common service, a period ending before it starts, a limit
/// without a unit and negative amounts are 422 naming the field.
#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = ContractRequest,
    responses((status = 200, body = ContractView), (status = 201, body = ContractView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn upsert_contract(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(r): ApiJson<ContractRequest>,
) -> Result<(StatusCode, Json<ContractView>), ApiError> {
    let (input, given) = r.split();
    let (contract, created) = state
        .desk
        .save_contract_given(&user, None, input, &given)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(contract.into())))
}

#[utoipa::path(get, path = "/contracts/{id}", tag = "contracts", params(("id" = String, Path)),
    responses((status = 200, body = ContractView), (status = 404, body = ErrorBody)))]
pub async fn get_contract(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<ContractView>, ApiError> {
    Ok(Json(
        state.desk.contract(&user, contract_id(&id)?).await?.into(),
    ))
}

/// Changes a contract; usage already counted stays.
#[utoipa::path(put, path = "/contracts/{id}", tag = "contracts", params(("id" = String, Path)),
    request_body = ContractRequest,
    responses((status = 200, body = ContractView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_contract(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ContractRequest>,
) -> Result<Json<ContractView>, ApiError> {
    let (input, given) = r.split();
    let (contract, _) = state
        .desk
        .save_contract_given(&user, Some(contract_id(&id)?), input, &given)
        .await?;
    Ok(Json(contract.into()))
}

#[derive(Serialize, ToSchema)]
pub struct UsageView {
    pub contract: ContractView,
    /// In force today.
    pub active: bool,
    pub tickets_this_month: i64,
    pub hours_this_month: f64,
    /// Hours over the monthly limit (0 within it).
    pub hours_over_limit: f64,
    pub license_keys_used: i64,
}

impl From<ContractUsage> for UsageView {
    fn from(u: ContractUsage) -> Self {
        UsageView {
            contract: u.contract.into(),
            active: u.active,
            tickets_this_month: u.tickets_this_month,
            hours_this_month: u.minutes_this_month as f64 / 60.0,
            hours_over_limit: u.minutes_over_limit as f64 / 60.0,
            license_keys_used: u.license_keys_used,
        }
    }
}

/// The client's contracts with their use of the limits this month.
#[utoipa::path(get, path = "/clients/{code}/usage", tag = "contracts", params(("code" = String, Path)),
    responses((status = 200, body = Vec<UsageView>), (status = 404, body = ErrorBody)))]
pub async fn client_usage(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<UsageView>>, ApiError> {
    let usage = state.desk.client_usage(&user, &code).await?;
    Ok(Json(usage.into_iter().map(Into::into).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct TicketLimitsView {
    /// The limit the ticket was over when it arrived (`tickets_per_month`, …), if any.
    pub over_limit: Option<String>,
    /// Hours the ticket's client is over its monthly limit now.
    pub client_hours_over_limit: f64,
}

/// Staff: whether the ticket arrived over a limit, and its client's hours over the limit.
#[utoipa::path(get, path = "/tickets/{id}/limits", tag = "contracts", params(("id" = String, Path)),
    responses((status = 200, body = TicketLimitsView), (status = 404, body = ErrorBody)))]
pub async fn ticket_limits(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketLimitsView>, ApiError> {
    let (over_limit, minutes) = state.desk.ticket_limits(&user, ticket_id(&id)?).await?;
    Ok(Json(TicketLimitsView {
        over_limit,
        client_hours_over_limit: minutes as f64 / 60.0,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: String,
    pub number: String,
    pub client: String,
    pub contract: String,
    pub period_start: String,
    pub period_end: String,
    /// Roubles.
    pub tariff_amount: f64,
    pub extra_hours: f64,
    pub extra_amount: f64,
    pub amount: f64,
    /// `draft`, `sent` or `paid`.
    pub status: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub paid_at: Option<String>,
}

impl From<Invoice> for InvoiceView {
    fn from(i: Invoice) -> Self {
        InvoiceView {
            id: i.id.to_string(),
            number: i.number,
            client: i.client_code,
            contract: i.contract_number,
            period_start: i.period_start.to_string(),
            period_end: i.period_end.to_string(),
            tariff_amount: roubles(i.tariff_amount),
            extra_hours: i.extra_minutes as f64 / 60.0,
            extra_amount: roubles(i.extra_amount),
            amount: roubles(i.amount),
            status: i.status,
            created_at: i.created_at.to_string(),
            sent_at: i.sent_at.map(|t| t.to_string()),
            paid_at: i.paid_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    client: Option<String>,
    /// `draft`, `sent` or `paid`.
    status: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    format: Option<String>,
    /// Rows to answer: 1–200 as JSON (default 50), 1–10000 as a file (default 10000).
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Invoices, newest first; `format=csv` or `xlsx` exports them.
#[utoipa::path(get, path = "/invoices", tag = "billing", params(InvoiceQuery),
    responses((status = 200, body = Vec<InvoiceView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_invoices(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<InvoiceQuery>,
) -> Result<Response, ApiError> {
    let after = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse()
                .map_err(|_| invalid("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let format = q.format.as_deref().unwrap_or("json");
    let (default, most) = match format {
        "json" => (50, 200),
        _ => (10_000, 10_000),
    };
    let limit = q.limit.unwrap_or(default);
    if !(1..=most).contains(&limit) {
        return Err(invalid("limit", &format!("1 to {most}")));
    }
    let invoices = state
        .desk
        .invoices(
            &user,
            q.client.as_deref(),
            q.status.as_deref(),
            after,
            limit,
        )
        .await?;
    Ok(match format {
        "json" => Json(
            invoices
                .into_iter()
                .map(InvoiceView::from)
                .collect::<Vec<_>>(),
        )
        .into_response(),
        "csv" => file(
            "invoices.csv",
            "text/csv; charset=utf-8",
            invoices_csv(&invoices)?,
        ),
        "xlsx" => file(
            "invoices.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            invoices_xlsx(&invoices)?,
        ),
        _ => return Err(invalid("format", "json, csv or xlsx")),
    })
}

fn file(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Drafts the renewal invoice of a contract now (the lifecycle job does it N days ahead).
#[utoipa::path(post, path = "/contracts/{id}/invoice", tag = "billing", params(("id" = String, Path)),
    responses((status = 201, body = InvoiceView), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn draft_invoice(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    let invoice = state
        .desk
        .draft_invoice_for(&user, contract_id(&id)?)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the renewal invoice for this period exists",
            )
        })?;
    Ok((StatusCode::CREATED, Json(invoice.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceStatus {
    /// `sent` or `paid`.
    pub status: String,
}

#[utoipa::path(post, path = "/invoices/{id}/status", tag = "billing", params(("id" = String, Path)),
    request_body = InvoiceStatus,
    responses((status = 200, body = InvoiceView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn set_invoice_status(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<InvoiceStatus>,
) -> Result<Json<InvoiceView>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::not_found("invoice"))?;
    Ok(Json(
        state
            .desk
            .set_invoice_status(&user, id, &r.status)
            .await?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RevenueView {
    /// `YYYY-MM`.
    pub month: String,
    pub client: String,
    /// Roubles paid.
    pub amount: f64,
}

impl From<RevenueRow> for RevenueView {
    fn from(r: RevenueRow) -> Self {
        RevenueView {
            month: r.month,
            client: r.client_code,
            amount: roubles(r.amount),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// First month, `YYYY-MM`.
    from: String,
    /// Last month, `YYYY-MM`.
    to: String,
}

/// Paid invoices per month and client.
#[utoipa::path(get, path = "/revenue", tag = "billing", params(RevenueQuery),
    responses((status = 200, body = Vec<RevenueView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn revenue(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<RevenueQuery>,
) -> Result<Json<Vec<RevenueView>>, ApiError> {
    let rows = state.desk.revenue(&user, &q.from, &q.to).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default; for the accounting system), `xlsx` or `html` (printable).
    format: Option<String>,
}

/// The client's monthly work report: tickets, tasks, who, minutes spent and billed.
#[utoipa::path(get, path = "/clients/{code}/reports/{month}", tag = "billing",
    params(("code" = String, Path), ("month" = String, Path, description = "`YYYY-MM`"), ReportQuery),
    responses((status = 200, description = "The report as JSON, XLSX or HTML"), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn work_report(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((code, month)): Path<(String, String)>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let report: WorkReport = state.desk.work_report(&user, &code, &month).await?;
    let name = format!("work-{}-{}", report.client, report.month);
    Ok(match q.format.as_deref().unwrap_or("json") {
        "json" => Json(report).into_response(),
        "xlsx" => file(
            &format!("{name}.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            work_report_xlsx(&report)?,
        ),
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            work_report_html(&report),
        )
            .into_response(),
        _ => return Err(invalid("format", "json, xlsx or html")),
    })
}

#[derive(Serialize, ToSchema)]
pub struct SentReport {
    /// How many contacts it goes to.
    pub recipients: usize,
}

/// Queues the monthly report to the client's contacts.
#[utoipa::path(post, path = "/clients/{code}/reports/{month}/send", tag = "billing",
    params(("code" = String, Path), ("month" = String, Path)),
    responses((status = 202, body = SentReport), (status = 422, body = ErrorBody)))]
pub async fn send_work_report(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((code, month)): Path<(String, String)>,
) -> Result<(StatusCode, Json<SentReport>), ApiError> {
    let recipients = state.desk.send_work_report(&user, &code, &month).await?;
    Ok((StatusCode::ACCEPTED, Json(SentReport { recipients })))
}
