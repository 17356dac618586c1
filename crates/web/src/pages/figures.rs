//! The lists behind the manager dashboard's figures (issue 8): every figure, board total
//! and chart bar links to `/manager/tickets?list=…` or `/manager/tasks?list=…`, which shows
//! exactly what the figure counts, a page at a time (keyset, oldest first).

use super::guard::{Page, PageError};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use okno_desk::dashboard::{FigureList, LIST_PAGE};
use okno_desk::reports::{Cell, Table, tables_csv, tables_xlsx};
use okno_domain::*;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    list: String,
    day: Option<i64>,
    client: Option<String>,
    after: Option<i64>,
    /// `csv` or `xlsx`: the whole list (up to [`EXPORT_ROWS`]) as a file.
    format: Option<String>,
}

/// The most rows a list's export carries.
const EXPORT_ROWS: usize = 10_000;

impl ListQuery {
    fn figure_list(&self) -> Result<FigureList, PageError> {
        FigureList::parse(&self.list, self.day, self.client.as_deref()).ok_or(PageError::NOT_FOUND)
    }

    /// This list's own link (without a page cursor).
    fn href(&self, path: &str) -> String {
        let mut href = format!("{path}?list={}", query_value(&self.list));
        if let Some(day) = self.day {
            href.push_str(&format!("&day={day}"));
        }
        if let Some(client) = &self.client {
            href.push_str(&format!("&client={}", query_value(client)));
        }
        href
    }

    /// This list's link after row `after`.
    fn next_href(&self, path: &str, after: i64) -> String {
        let mut href = format!("{path}?list={}", self.list);
        if let Some(day) = self.day {
            href.push_str(&format!("&day={day}"));
        }
        if let Some(client) = &self.client {
            href.push_str(&format!("&client={}", query_value(client)));
        }
        href.push_str(&format!("&after={after}"));
        href
    }
}

/// `text` percent-encoded for a query string (client codes are letters and digits anyway).
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A dashboard link to a list of tickets.
pub fn tickets_href(list: &str) -> String {
    format!("/manager/tickets?list={list}")
}

/// A dashboard link to a list of tasks.
pub fn tasks_href(list: &str) -> String {
    format!("/manager/tasks?list={list}")
}

pub struct ListRow {
    pub href: String,
    pub number: String,
    pub title: String,
    pub client: String,
    pub state: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "manager_list.html")]
pub struct ListTemplate {
    pub ctx: Ctx,
    pub title: String,
    pub tasks: bool,
    pub rows: Vec<ListRow>,
    pub next_page: Option<String>,
    /// The list's link; `&format=csv|xlsx` exports it.
    pub export_href: String,
}

/// The list as a file of `format` (`csv` or `xlsx`), every row the figure counts.
fn export(
    list_name: &str,
    format: &str,
    columns: &[&'static str],
    rows: Vec<Vec<Cell>>,
) -> Result<Response, PageError> {
    let mut table = Table::new("rows", columns);
    table.rows = rows;
    let tables = [table];
    let (bytes, content_type) = match format {
        "csv" => (tables_csv(&tables)?, "text/csv; charset=utf-8"),
        "xlsx" => (
            tables_xlsx(&tables, &|c| c.to_owned())?,
            crate::api::reports::XLSX,
        ),
        _ => return Err(PageError::NOT_FOUND),
    };
    Ok(crate::api::reports::file(
        &format!("{list_name}.{format}"),
        content_type,
        bytes,
    ))
}

/// The list's heading in the viewer's language.
fn title(ctx: &Ctx, list: &FigureList) -> String {
    match list {
        FigureList::Created { day } => ctx.with("list-created", &day_text(*day)),
        FigureList::Worked { client, day } => ctx.lang.t_args(
            "list-worked",
            &[
                ("client", client.clone().into()),
                ("day", day_text(*day).into()),
            ],
        ),
        FigureList::Tickets(name) | FigureList::Tasks(name) => ctx.t(&format!("list-{name}")),
    }
}

/// `dd.mm.yyyy` of a day counted from 1970-01-01.
fn day_text(day: i64) -> String {
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .map(|d| d.strftime("%d.%m.%Y").to_string())
        .unwrap_or_default()
}

pub async fn tickets_page(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let list = query.figure_list()?;
    if matches!(list, FigureList::Tasks(_)) {
        return Err(PageError::NOT_FOUND);
    }
    let ctx = &page.ctx;
    if let Some(format) = query.format.as_deref() {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let rows = state
                .desk
                .figure_tickets(&page.user, &list, &ctx.zone, ctx.now, after)
                .await?;
            let full = rows.len() == LIST_PAGE as usize;
            after = rows.last().map(|r| r.ticket_id);
            all.extend(rows);
            if !full || all.len() >= EXPORT_ROWS {
                break;
            }
        }
        let rows = all
            .into_iter()
            .take(EXPORT_ROWS)
            .map(|r| {
                vec![
                    Cell::Text(TicketNumber(r.ticket_id.0).to_string()),
                    Cell::Text(r.subject),
                    Cell::Text(r.client_code),
                    Cell::Text(r.status.as_str().to_owned()),
                    r.next_step_at.map_or(Cell::Empty, Cell::Instant),
                    Cell::Instant(r.updated_at),
                ]
            })
            .collect();
        return export(
            &query.list,
            format,
            &[
                "ticket",
                "subject",
                "client",
                "status",
                "next_step_at",
                "updated_at",
            ],
            rows,
        );
    }
    let rows = state
        .desk
        .figure_tickets(
            &page.user,
            &list,
            &ctx.zone,
            ctx.now,
            query.after.map(TicketId),
        )
        .await?;
    let next_page = (rows.len() == LIST_PAGE as usize)
        .then(|| query.next_href("/manager/tickets", rows[rows.len() - 1].ticket_id.0));
    let view = ListTemplate {
        title: title(ctx, &list),
        tasks: false,
        rows: rows
            .iter()
            .map(|r| ListRow {
                href: format!("/tickets/{}", TicketNumber(r.ticket_id.0)),
                number: TicketNumber(r.ticket_id.0).to_string(),
                title: r.subject.clone(),
                client: r.client_code.clone(),
                state: ctx.status(r.status),
                when: ctx.when(r.next_step_at),
            })
            .collect(),
        next_page,
        export_href: query.href("/manager/tickets"),
        ctx: page.ctx.clone(),
    };
    Ok(render(StatusCode::OK, &view))
}

pub async fn tasks_page(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let list = query.figure_list()?;
    if !matches!(list, FigureList::Tasks(_)) {
        return Err(PageError::NOT_FOUND);
    }
    let ctx = &page.ctx;
    if let Some(format) = query.format.as_deref() {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let tasks = state
                .desk
                .figure_tasks(&page.user, &list, &ctx.zone, ctx.now, after)
                .await?;
            let full = tasks.len() == LIST_PAGE as usize;
            after = tasks.last().map(|t| t.id);
            all.extend(tasks);
            if !full || all.len() >= EXPORT_ROWS {
                break;
            }
        }
        let rows = all
            .into_iter()
            .take(EXPORT_ROWS)
            .map(|t| {
                vec![
                    Cell::Text(TicketNumber(t.ticket_id.0).to_string()),
                    Cell::Text(t.title_in(ctx.lang.code()).to_owned()),
                    t.line
                        .map_or(Cell::Empty, |l| Cell::Int(i64::from(l.get()))),
                    Cell::Text(t.state.as_str().to_owned()),
                    t.due_at.map_or(Cell::Empty, Cell::Instant),
                ]
            })
            .collect();
        return export(
            &query.list,
            format,
            &["ticket", "task", "line", "state", "due_at"],
            rows,
        );
    }
    let tasks = state
        .desk
        .figure_tasks(
            &page.user,
            &list,
            &ctx.zone,
            ctx.now,
            query.after.map(TaskId),
        )
        .await?;
    let next_page = (tasks.len() == LIST_PAGE as usize)
        .then(|| query.next_href("/manager/tasks", tasks[tasks.len() - 1].id.0));
    let view = ListTemplate {
        title: title(ctx, &list),
        tasks: true,
        rows: tasks
            .iter()
            .map(|t| ListRow {
                href: format!("/tasks/{}", t.id.0),
                number: TicketNumber(t.ticket_id.0).to_string(),
                title: t.title_in(ctx.lang.code()).to_owned(),
                client: t.line.map_or_else(String::new, |l| l.get().to_string()),
                state: ctx.t(&format!("task-state-{}", t.state.as_str())),
                when: ctx.when(t.due_at),
            })
            .collect(),
        next_page,
        export_href: query.href("/manager/tasks"),
        ctx: page.ctx.clone(),
    };
    Ok(render(StatusCode::OK, &view))
}
