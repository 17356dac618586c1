//! `/api/v1/reports/{name}` (`sla`, `flow`, `ratings`, `money`) as JSON, CSV or XLSX,
//! managers' report subscriptions, and the act of completed works for 1C (issue 21).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use okno_desk::reports::{Report, ReportParams};
use okno_store::reports::Subscription;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscriptions, subscribe))
        .routes(routes!(unsubscribe))
        .routes(routes!(report))
        .routes(routes!(act))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (default: today).
    to: Option<String>,
    /// A client's code; one that names no client gives empty rows.
    client: Option<String>,
    /// A service's code.
    service: Option<String>,
    /// A line, 1 to 4.
    line: Option<String>,
    /// A staff member's id or email.
    specialist: Option<String>,
    /// The flow report's grouping: `day`, `week` or `month` (default by the period's length).
    group: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    format: Option<String>,
}

impl ReportQuery {
    fn params(&self) -> ReportParams {
        ReportParams {
            from: self.from.clone(),
            to: self.to.clone(),
            client: self.client.clone(),
            service: self.service.clone(),
            line: self.line.clone(),
            specialist: self.specialist.clone(),
            group: self.group.clone(),
        }
    }
}

/// A file download.
pub fn file(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
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

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The report in the asked format; `label` names XLSX columns.
pub fn export(
    report: &Report,
    format: &str,
    label: &dyn Fn(&str) -> String,
) -> Result<Response, ApiError> {
    let name = format!("{}-{}-{}", report.name.as_str(), report.from, report.to);
    Ok(match format {
        "json" => Json(report.json()).into_response(),
        "csv" => file(
            &format!("{name}.csv"),
            "text/csv; charset=utf-8",
            report.csv()?,
        ),
        "xlsx" => file(&format!("{name}.xlsx"), XLSX, report.xlsx(label)?),
        _ => return Err(invalid("format", "json, csv or xlsx")),
    })
}

/// A report over a period: `{report, from, to, rows: [...], <table>: [...], truncated}`.
/// Managers and admins only. A filter naming nothing gives empty rows.
#[utoipa::path(get, path = "/reports/{name}", tag = "reports",
    params(("name" = String, Path, description = "`sla`, `flow`, `ratings` or `money`"), ReportQuery),
    responses((status = 200, description = "The report as JSON, CSV or XLSX"), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(name): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.as_deref().unwrap_or("json");
    if !["json", "csv", "xlsx"].contains(&format) {
        return Err(invalid("format", "json, csv or xlsx"));
    }
    let reports = state.desk.reports();
    let today = state
        .desk
        .now()
        .to_zoned_datetime(reports.desk_zone())
        .date();
    // Who asks is checked before the parameters are read.
    let request = match reports.check(&user) {
        Ok(()) => q.params().parse(&name, today)?,
        Err(e) => return Err(e.into()),
    };
    let report = reports.build(&user, &request).await?;
    export(&report, format, &|column| column.to_owned())
}

#[derive(Deserialize, ToSchema)]
pub struct SubscriptionInput {
    /// `sla`, `flow`, `ratings` or `money`.
    report: String,
    /// `weekly` or `monthly`.
    cadence: String,
    client: Option<String>,
    service: Option<String>,
    line: Option<String>,
    specialist: Option<String>,
    group: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub report: String,
    pub cadence: String,
    /// The report's filters.
    pub filters: serde_json::Value,
    pub next_run_at: String,
    pub last_sent_at: Option<String>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        SubscriptionView {
            id: s.id.to_string(),
            report: s.report,
            cadence: s.cadence,
            filters: serde_json::from_str(&s.filters).unwrap_or_default(),
            next_run_at: s.next_run_at.to_string(),
            last_sent_at: s.last_sent_at.map(|t| t.to_string()),
        }
    }
}

/// The caller's report subscriptions.
#[utoipa::path(get, path = "/reports/subscriptions", tag = "reports",
    responses((status = 200, body = Vec<SubscriptionView>), (status = 403, body = ErrorBody)))]
pub async fn list_subscriptions(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<SubscriptionView>>, ApiError> {
    let list = state.desk.reports().subscriptions(&user).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Subscribes the caller to a report by mail (XLSX attached), weekly or monthly.
#[utoipa::path(post, path = "/reports/subscriptions", tag = "reports", request_body = SubscriptionInput,
    responses((status = 201, body = SubscriptionView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn subscribe(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> Result<(StatusCode, Json<SubscriptionView>), ApiError> {
    let params = ReportParams {
        client: input.client,
        service: input.service,
        line: input.line,
        specialist: input.specialist,
        group: input.group,
        ..Default::default()
    };
    let created = state
        .desk
        .reports()
        .subscribe(&user, &input.report, &input.cadence, &params)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Ends one of the caller's subscriptions.
#[utoipa::path(delete, path = "/reports/subscriptions/{id}", tag = "reports",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("subscription"))?;
    state.desk.reports().unsubscribe(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The month's act of completed works for 1C:Бухгалтерия (EnterpriseData XML): one
/// document per contract with the works, hours and amounts of the monthly work report.
#[utoipa::path(get, path = "/clients/{code}/acts/{month}", tag = "billing",
    params(("code" = String, Path), ("month" = String, Path, description = "`YYYY-MM`")),
    responses((status = 200, description = "EnterpriseData XML", content_type = "application/xml"),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((code, month)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let xml = state.desk.work_act(&user, &code, &month).await?;
    Ok(file(
        &format!("act-{}-{}.xml", code.to_uppercase(), month),
        "application/xml; charset=utf-8",
        xml.into_bytes(),
    ))
}
