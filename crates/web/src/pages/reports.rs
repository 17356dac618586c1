//! The manager's reports page (issue 21): a period and filters, the report's chart as
//! inline SVG, its tables with times in the viewer's zone, links to the same figures as
//! CSV and XLSX, and the manager's mail subscriptions.

use super::figures::query_value;
use super::guard::{Page, PageError};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use okno_desk::DeskError;
use okno_desk::reports::{Cell, Chart, Report, ReportName, ReportParams, Table};
use okno_domain::DomainError;
use serde::Deserialize;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/manager/reports", get(reports_page))
        .route("/manager/reports/subscriptions", post(subscribe))
        .route(
            "/manager/reports/subscriptions/{id}/delete",
            post(unsubscribe),
        )
}

/// Rows a table shows on the page; the exports carry them all.
const PAGE_ROWS: usize = 200;

#[derive(Deserialize, Default)]
pub struct ReportForm {
    report: Option<String>,
    from: Option<String>,
    to: Option<String>,
    client: Option<String>,
    service: Option<String>,
    line: Option<String>,
    specialist: Option<String>,
    group: Option<String>,
}

impl ReportForm {
    fn name(&self) -> &str {
        self.report.as_deref().unwrap_or("flow")
    }

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

    /// The API link of the same report in `format`.
    fn export_href(&self, name: &str, format: &str) -> String {
        let mut href = format!("/api/v1/reports/{}?format={format}", query_value(name));
        for (key, value) in [
            ("from", &self.from),
            ("to", &self.to),
            ("client", &self.client),
            ("service", &self.service),
            ("line", &self.line),
            ("specialist", &self.specialist),
            ("group", &self.group),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                href.push_str(&format!("&{key}={}", query_value(v.trim())));
            }
        }
        href
    }
}

pub struct CellView {
    pub text: String,
    pub numeric: bool,
}

pub struct TableView {
    pub name: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<CellView>>,
    /// "The first N of M rows" when the page shows fewer than the exports.
    pub more: Option<String>,
}

pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub fill: &'static str,
    pub title: String,
}

pub struct Label {
    pub x: f64,
    pub text: String,
}

pub struct ChartView {
    pub title: String,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
    pub legend: Vec<(String, &'static str)>,
}

pub struct SubscriptionRow {
    pub id: i64,
    pub report: String,
    pub cadence: String,
    pub next: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsTemplate {
    pub ctx: Ctx,
    pub names: Vec<(String, String, bool)>,
    pub groups: Vec<(String, String, bool)>,
    pub lines: Vec<(String, bool)>,
    pub from: String,
    pub to: String,
    pub client: String,
    pub service: String,
    pub specialist: String,
    pub error: Option<String>,
    pub csv_href: String,
    pub xlsx_href: String,
    pub chart: Option<ChartView>,
    pub tables: Vec<TableView>,
    pub subscriptions: Vec<SubscriptionRow>,
    pub report: String,
}

const FILLS: [&str; 2] = ["#2f6fb3", "#e08a2c"];

fn cell_text(ctx: &Ctx, cell: &Cell) -> String {
    match cell {
        Cell::Empty => "—".into(),
        Cell::Bool(true) => ctx.t("reports-yes"),
        Cell::Bool(false) => ctx.t("reports-no"),
        Cell::Instant(at) => ctx.when(Some(*at)),
        Cell::Number(x) => format!("{x:.2}"),
        other => other.plain(),
    }
}

fn numeric(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Int(n) => Some(*n as f64),
        Cell::Number(x) => Some(*x),
        Cell::Money(k) => Some(*k as f64 / 100.0),
        _ => None,
    }
}

/// Columns whose cells are codes shown in words.
const CODED: [&str; 3] = ["measure", "age", "kind"];

fn table_view(ctx: &Ctx, table: &Table) -> TableView {
    let total = table.rows.len();
    let coded: Vec<bool> = table.columns.iter().map(|c| CODED.contains(c)).collect();
    TableView {
        name: table.name.to_owned(),
        title: ctx.t(&format!("reports-table-{}", table.name)),
        columns: table
            .columns
            .iter()
            .map(|c| ctx.t(&format!("reports-col-{c}")))
            .collect(),
        rows: table
            .rows
            .iter()
            .take(PAGE_ROWS)
            .map(|row| {
                row.iter()
                    .zip(&coded)
                    .map(|(cell, coded)| CellView {
                        text: if *coded {
                            ctx.t(&format!("reports-value-{}", cell.plain()))
                        } else {
                            cell_text(ctx, cell)
                        },
                        numeric: numeric(cell).is_some(),
                    })
                    .collect()
            })
            .collect(),
        more: (total > PAGE_ROWS || table.truncated).then(|| {
            ctx.lang.t_args(
                "reports-more",
                &[
                    ("shown", (PAGE_ROWS.min(total) as i64).into()),
                    ("total", (total as i64).into()),
                ],
            )
        }),
    }
}

/// The chart's bars: one group per row of its table, one bar per series, scaled to the
/// largest value; at most 60 labels along the axis.
fn chart_view(ctx: &Ctx, report: &Report, chart: &Chart) -> Option<ChartView> {
    let table = report.table(chart.table)?;
    let label = table.columns.iter().position(|c| *c == chart.label)?;
    let series: Vec<usize> = chart
        .series
        .iter()
        .filter_map(|s| table.columns.iter().position(|c| c == s))
        .collect();
    if table.rows.is_empty() || series.is_empty() {
        return None;
    }
    let max = table
        .rows
        .iter()
        .flat_map(|row| series.iter().filter_map(|i| numeric(&row[*i])))
        .fold(0.0_f64, f64::max);
    let (width, height) = (560.0, 120.0);
    let group = width / table.rows.len() as f64;
    let bar = (group * 0.8 / series.len() as f64).max(0.5);
    let every = table.rows.len().div_ceil(12).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let left = i as f64 * group + group * 0.1;
        for (k, column) in series.iter().enumerate() {
            let value = numeric(&row[*column]).unwrap_or(0.0);
            let h = if max > 0.0 { value / max * height } else { 0.0 };
            bars.push(Bar {
                x: left + k as f64 * bar,
                y: height - h,
                w: bar,
                h,
                fill: FILLS[k % FILLS.len()],
                title: format!(
                    "{} — {}: {}",
                    row[label].plain(),
                    ctx.t(&format!("reports-col-{}", table.columns[*column])),
                    cell_text(ctx, &row[*column])
                ),
            });
        }
        if i % every == 0 {
            labels.push(Label {
                x: left + group * 0.4,
                text: row[label].plain(),
            });
        }
    }
    Some(ChartView {
        title: ctx.t(&format!("reports-chart-{}", report.name.as_str())),
        bars,
        labels,
        legend: series
            .iter()
            .enumerate()
            .map(|(k, c)| {
                (
                    ctx.t(&format!("reports-col-{}", table.columns[*c])),
                    FILLS[k % FILLS.len()],
                )
            })
            .collect(),
    })
}

async fn render_page(
    state: &AppState,
    page: &Page,
    form: &ReportForm,
) -> Result<Response, PageError> {
    let ctx = &page.ctx;
    let reports = state.desk.reports();
    reports.check(&page.user)?;
    let today = ctx.now.to_zoned_datetime(ctx.zone.clone()).date();
    let name = form.name().to_owned();
    let (status, error, report) = match form.params().parse(&name, today) {
        Ok(request) => (
            StatusCode::OK,
            None,
            Some(reports.build_unchecked(&request, &ctx.zone).await?),
        ),
        Err(DeskError::Domain(DomainError::Invalid(e))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!(
                "{}: {}",
                ctx.t(&format!("reports-field-{}", e.field)),
                ctx.t("reports-invalid")
            )),
            None,
        ),
        Err(other) => return Err(other.into()),
    };
    let (from, to) = match &report {
        Some(r) => (r.from.to_string(), r.to.to_string()),
        None => (
            form.from.clone().unwrap_or_default(),
            form.to.clone().unwrap_or_default(),
        ),
    };
    let subscriptions = reports
        .subscriptions(&page.user)
        .await?
        .into_iter()
        .map(|s| SubscriptionRow {
            id: s.id,
            report: ctx.t(&format!("reports-name-{}", s.report)),
            cadence: ctx.t(&format!("reports-cadence-{}", s.cadence)),
            next: ctx.when(Some(s.next_run_at)),
        })
        .collect();
    let group = form.group.clone().unwrap_or_default();
    let line = form.line.clone().unwrap_or_default();
    let view = ReportsTemplate {
        names: ReportName::ALL
            .iter()
            .map(|n| {
                (
                    n.as_str().to_owned(),
                    ctx.t(&format!("reports-name-{}", n.as_str())),
                    n.as_str() == name,
                )
            })
            .collect(),
        groups: ["", "day", "week", "month"]
            .iter()
            .map(|g| {
                let label = if g.is_empty() {
                    ctx.t("reports-group-auto")
                } else {
                    ctx.t(&format!("reports-group-{g}"))
                };
                ((*g).to_owned(), label, *g == group)
            })
            .collect(),
        lines: ["", "1", "2", "3", "4"]
            .iter()
            .map(|l| ((*l).to_owned(), *l == line))
            .collect(),
        from,
        to,
        client: form.client.clone().unwrap_or_default(),
        service: form.service.clone().unwrap_or_default(),
        specialist: form.specialist.clone().unwrap_or_default(),
        error,
        csv_href: form.export_href(&name, "csv"),
        xlsx_href: form.export_href(&name, "xlsx"),
        chart: report
            .as_ref()
            .and_then(|r| r.chart.as_ref().and_then(|c| chart_view(ctx, r, c))),
        tables: report
            .as_ref()
            .map(|r| r.tables.iter().map(|t| table_view(ctx, t)).collect())
            .unwrap_or_default(),
        subscriptions,
        report: name,
        ctx: ctx.clone(),
    };
    Ok(render(status, &view))
}

pub async fn reports_page(
    State(state): State<AppState>,
    page: Page,
    Query(form): Query<ReportForm>,
) -> Result<Response, PageError> {
    render_page(&state, &page, &form).await
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    report: String,
    #[serde(default)]
    cadence: String,
    client: Option<String>,
    service: Option<String>,
    line: Option<String>,
    specialist: Option<String>,
}

pub async fn subscribe(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let params = ReportParams {
        client: form.client.clone(),
        service: form.service.clone(),
        line: form.line.clone(),
        specialist: form.specialist.clone(),
        ..Default::default()
    };
    state
        .desk
        .reports()
        .subscribe(&page.user, &form.report, &form.cadence, &params)
        .await?;
    Ok(Redirect::to(&format!(
        "/manager/reports?report={}#subscriptions",
        query_value(&form.report)
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    state.desk.reports().unsubscribe(&page.user, id).await?;
    Ok(Redirect::to("/manager/reports#subscriptions").into_response())
}
