//! Reports a manager and an accountant trust (issue 21): `sla`, `flow`, `ratings`, `money`.
//!
//! Figures come from history. A closed ticket is *settled* once — its working time per
//! stage against the stage norm, its reaction and resolution times, whether a deadline was
//! breached — with the norms and calendars in force then, into `report_tickets` and
//! `report_stages` ([`Reports::settle`], run by the reports job and by every report before
//! it reads). A past month therefore never changes when a norm or a level changes later;
//! a ticket closed again after a reopen is settled again for its new closing. Task
//! deadlines are the instants set when each task was created; ratings, history events,
//! logged time and paid invoices are stored as they happened.
//!
//! A report is a list of [`Table`]s (the first is `rows`); JSON, CSV, XLSX and the page are
//! renderings of the same tables, so an export shows the page's figures.

use crate::billing::{amount_for, billed_minutes};
use crate::contracts::{day_start, zone_of};
use crate::deadlines::ticket_sla;
use crate::{Desk, DeskError, Result};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use okno_domain::policy::Action;
use okno_domain::*;
use okno_store::reports::{
    FlowEvent, ReportFilter, ReportNames, SettleInput, StageFact, Subscription, TicketFacts,
};
use okno_store::{StageEntry, TicketTimeline};
use std::collections::{BTreeMap, HashMap};

/// At most this many detail rows per table (the groups and totals count every ticket).
pub const DETAIL_LIMIT: u32 = 10_000;
/// Closed tickets settled per batch.
const SETTLE_BATCH: u32 = 500;
/// The longest period a report takes (a ten-year one answers).
const MAX_DAYS: i64 = 366 * 25;

/// A closed set of codes, parsed from and shown as lowercase text.
macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

codes!(
    /// The reports the desk has.
    ReportName { Sla = "sla", Flow = "flow", Ratings = "ratings", Money = "money" }
);

codes!(
    /// How the flow report groups days.
    Bucket { Day = "day", Week = "week", Month = "month" }
);

codes!(
    /// How often a subscribed report goes out.
    Cadence { Weekly = "weekly", Monthly = "monthly" }
);

/// A report's request, parsed at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    pub name: ReportName,
    pub from: Date,
    /// Last day, inclusive.
    pub to: Date,
    pub client: Option<String>,
    pub service: Option<String>,
    pub line: Option<i64>,
    /// A staff member's id or email.
    pub specialist: Option<String>,
    pub bucket: Option<Bucket>,
}

/// The raw query of a report (from the API, the page or a subscription).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub client: Option<String>,
    pub service: Option<String>,
    pub line: Option<String>,
    pub specialist: Option<String>,
    pub group: Option<String>,
}

fn parse_day(field: &'static str, text: &str) -> Result<Date> {
    let text = text.trim();
    if text.len() != 10 {
        return Err(FieldError::new(field, "expected YYYY-MM-DD").into());
    }
    text.parse::<Date>()
        .map_err(|_| FieldError::new(field, "expected YYYY-MM-DD").into())
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(200).collect())
}

impl ReportParams {
    /// The request these parameters mean; `today` fills a missing period (this month).
    pub fn parse(&self, name: &str, today: Date) -> Result<ReportRequest> {
        let name = ReportName::parse(name.trim())
            .ok_or_else(|| FieldError::new("name", "sla, flow, ratings or money"))?;
        let from = match non_empty(&self.from) {
            Some(text) => parse_day("from", &text)?,
            None => today.first_of_month(),
        };
        let to = match non_empty(&self.to) {
            Some(text) => parse_day("to", &text)?,
            None => today.max(from),
        };
        if to < from {
            return Err(FieldError::new("to", "the period ends before it starts").into());
        }
        if i64::from((to - from).get_days()) > MAX_DAYS {
            return Err(FieldError::new("to", "a period of at most 25 years").into());
        }
        let line = match non_empty(&self.line) {
            Some(text) => Some(
                text.parse::<u8>()
                    .ok()
                    .and_then(|n| Line::new(n).ok())
                    .map(|l| i64::from(l.get()))
                    .ok_or_else(|| FieldError::new("line", "a line from 1 to 4"))?,
            ),
            None => None,
        };
        let bucket = match non_empty(&self.group) {
            Some(text) => Some(
                Bucket::parse(&text)
                    .ok_or_else(|| FieldError::new("group", "day, week or month"))?,
            ),
            None => None,
        };
        Ok(ReportRequest {
            name,
            from,
            to,
            client: non_empty(&self.client).map(|c| c.to_uppercase()),
            service: non_empty(&self.service),
            line,
            specialist: non_empty(&self.specialist),
            bucket,
        })
    }
}

/// One cell of a report table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// A figure shown with two decimals (a percentage, an average).
    Number(f64),
    /// Kopecks, shown as roubles.
    Money(i64),
    Bool(bool),
    Instant(Timestamp),
    Day(Date),
}

impl Cell {
    fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    fn maybe_int(value: Option<i64>) -> Cell {
        value.map_or(Cell::Empty, Cell::Int)
    }

    /// The cell as CSV text: instants in RFC 3339 UTC, money in roubles with a dot.
    pub fn plain(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Number(x) => format!("{x:.2}"),
            Cell::Money(k) => roubles(*k),
            Cell::Bool(b) => b.to_string(),
            Cell::Instant(t) => t.to_string(),
            Cell::Day(d) => d.to_string(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Empty => Value::Null,
            Cell::Text(t) => Value::from(t.as_str()),
            Cell::Int(n) => Value::from(*n),
            Cell::Number(x) => Value::from((x * 100.0).round() / 100.0),
            Cell::Money(k) => Value::from(*k as f64 / 100.0),
            Cell::Bool(b) => Value::from(*b),
            Cell::Instant(t) => Value::from(t.to_string()),
            Cell::Day(d) => Value::from(d.to_string()),
        }
    }
}

fn roubles(kopecks: i64) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let k = kopecks.abs();
    format!("{sign}{}.{:02}", k / 100, k % 100)
}

/// A named table: `columns` are the JSON keys (and the translation keys of the page).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// More rows matched than [`DETAIL_LIMIT`].
    pub truncated: bool,
}

impl Table {
    pub fn new(name: &'static str, columns: &[&'static str]) -> Table {
        Table {
            name,
            columns: columns.to_vec(),
            rows: Vec::new(),
            truncated: false,
        }
    }
}

/// A bar or line chart of one table's columns, drawn by the page as inline SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The table it draws.
    pub table: &'static str,
    /// The column of labels.
    pub label: &'static str,
    /// The columns drawn, one series each.
    pub series: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: ReportName,
    pub from: Date,
    pub to: Date,
    pub tables: Vec<Table>,
    pub chart: Option<Chart>,
}

impl Report {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// `{report, from, to, rows: [...], <table>: [...], truncated}`.
    pub fn json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("report".into(), self.name.as_str().into());
        out.insert("from".into(), self.from.to_string().into());
        out.insert("to".into(), self.to.to_string().into());
        let mut truncated = false;
        for table in &self.tables {
            truncated |= table.truncated;
            let rows: Vec<serde_json::Value> = table
                .rows
                .iter()
                .map(|row| {
                    serde_json::Value::Object(
                        table
                            .columns
                            .iter()
                            .zip(row)
                            .map(|(c, cell)| ((*c).to_owned(), cell.json()))
                            .collect(),
                    )
                })
                .collect();
            out.insert(table.name.into(), rows.into());
        }
        out.insert("truncated".into(), truncated.into());
        serde_json::Value::Object(out)
    }

    pub fn csv(&self) -> Result<Vec<u8>> {
        tables_csv(&self.tables)
    }

    /// A workbook with a sheet per table; `label` names a column (the page's words).
    pub fn xlsx(&self, label: &dyn Fn(&str) -> String) -> Result<Vec<u8>> {
        tables_xlsx(&self.tables, label)
    }
}

/// Every table one after another: its name on a line, its header, its rows, a blank line
/// between tables.
pub fn tables_csv(tables: &[Table]) -> Result<Vec<u8>> {
    {
        let io = |e: csv::Error| DeskError::Io(std::io::Error::other(e.to_string()));
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for (i, table) in tables.iter().enumerate() {
            if i > 0 {
                out.write_record([""]).map_err(io)?;
            }
            out.write_record([table.name]).map_err(io)?;
            out.write_record(&table.columns).map_err(io)?;
            for row in &table.rows {
                out.write_record(row.iter().map(Cell::plain)).map_err(io)?;
            }
        }
        out.into_inner()
            .map_err(|e| DeskError::Io(std::io::Error::other(e.to_string())))
    }
}

/// A workbook with a sheet per table; `label` names a column.
pub fn tables_xlsx(tables: &[Table], label: &dyn Fn(&str) -> String) -> Result<Vec<u8>> {
    {
        let x = |e: rust_xlsxwriter::XlsxError| DeskError::Io(std::io::Error::other(e.to_string()));
        let mut book = rust_xlsxwriter::Workbook::new();
        let money = rust_xlsxwriter::Format::new().set_num_format("0.00");
        for table in tables {
            let sheet = book.add_worksheet();
            sheet.set_name(table.name).map_err(x)?;
            for (col, name) in table.columns.iter().enumerate() {
                sheet.write_string(0, col as u16, label(name)).map_err(x)?;
            }
            for (i, row) in table.rows.iter().enumerate() {
                let r = i as u32 + 1;
                for (col, cell) in row.iter().enumerate() {
                    let c = col as u16;
                    match cell {
                        Cell::Empty => {}
                        Cell::Int(n) => {
                            sheet.write_number(r, c, *n as f64).map_err(x)?;
                        }
                        Cell::Number(v) => {
                            sheet
                                .write_number_with_format(r, c, (v * 100.0).round() / 100.0, &money)
                                .map_err(x)?;
                        }
                        Cell::Money(k) => {
                            sheet
                                .write_number_with_format(r, c, *k as f64 / 100.0, &money)
                                .map_err(x)?;
                        }
                        Cell::Bool(b) => {
                            sheet.write_boolean(r, c, *b).map_err(x)?;
                        }
                        other => {
                            sheet.write_string(r, c, other.plain()).map_err(x)?;
                        }
                    }
                }
            }
        }
        book.save_to_buffer().map_err(x)
    }
}

/// The median and the 90th percentile (nearest rank) of `values`.
pub fn median_p90(values: &mut [i64]) -> (Option<i64>, Option<i64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_unstable();
    let rank = |p: f64| {
        let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[index]
    };
    (Some(rank(0.5)), Some(rank(0.9)))
}

fn percent(part: i64, whole: i64) -> Cell {
    if whole == 0 {
        Cell::Empty
    } else {
        Cell::Number(part as f64 * 100.0 / whole as f64)
    }
}

/// The day a period's bucket starts on.
pub fn bucket_start(bucket: Bucket, day: Date) -> Date {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => {
            let back = day.weekday().to_monday_zero_offset();
            day.checked_sub(i64::from(back).days()).unwrap_or(day)
        }
        Bucket::Month => day.first_of_month(),
    }
}

fn bucket_label(bucket: Bucket, start: Date) -> String {
    match bucket {
        Bucket::Day => start.to_string(),
        Bucket::Week => {
            let week = start.iso_week_date();
            format!("{:04}-W{:02}", week.year(), week.week())
        }
        Bucket::Month => format!("{:04}-{:02}", start.year(), start.month()),
    }
}

/// The grouping a period gets by default: days up to two months, weeks up to a year.
pub fn default_bucket(from: Date, to: Date) -> Bucket {
    let days = (to - from).get_days();
    if days <= 62 {
        Bucket::Day
    } else if days <= 366 {
        Bucket::Week
    } else {
        Bucket::Month
    }
}

/// A closed ticket's frozen figures from its history, with `terms` in force now.
pub fn settle_one(terms: &crate::deadlines::SlaTerms<'_>, input: &SettleInput) -> TicketFacts {
    let timeline = TicketTimeline {
        ticket_id: input.ticket_id,
        classification: input
            .classification
            .as_deref()
            .and_then(Classification::parse),
        calendar: input.calendar.clone(),
        support_level: input.support_level.clone(),
        created_at: input.created_at,
        closed_at: Some(input.closed_at),
        stages: input
            .stages
            .iter()
            .filter(|s| s.at <= input.closed_at)
            .map(|s| StageEntry {
                stage: s.stage.clone(),
                at: s.at,
            })
            .collect(),
        statuses: input
            .statuses
            .iter()
            .map(|(_, after, at)| (after.clone(), *at))
            .collect(),
    };
    let sla = ticket_sla(terms, &timeline, input.closed_at);
    let reaction_minutes = input
        .statuses
        .iter()
        .find(|(_, after, _)| after != "new" && after != "draft")
        .map(|(_, _, at)| {
            terms
                .calendar
                .working_seconds_between(input.created_at, *at)
                .max(0)
                / 60
        });
    let reopened = input
        .statuses
        .iter()
        .filter(|(before, after, _)| {
            matches!(before.as_deref(), Some("closed") | Some("resolved"))
                && matches!(after.as_str(), "new" | "in_progress")
        })
        .count() as i64;
    let stages_over = sla.stages.iter().filter(|s| s.over_norm()).count() as i64;
    TicketFacts {
        ticket_id: input.ticket_id,
        client_id: input.client_id,
        service: input.service.clone(),
        classification: input.classification.clone(),
        line: input.line,
        specialist: input.specialist,
        created_at: input.created_at,
        closed_at: input.closed_at,
        reaction_minutes,
        resolution_minutes: sla.stages.iter().map(|s| s.spent_minutes).sum(),
        deadline_met: !input.breached,
        stages_over,
        reopened,
        auto_closed: input.auto_closed,
        stages: sla
            .stages
            .into_iter()
            .map(|s| StageFact {
                stage: s.stage,
                spent_minutes: s.spent_minutes,
                norm_minutes: s.norm_minutes,
            })
            .collect(),
    }
}

/// Names by id for the tables.
struct Names {
    clients: HashMap<ClientId, (String, Option<String>)>,
    staff: HashMap<UserId, String>,
}

impl Names {
    fn from(names: ReportNames) -> Names {
        Names {
            clients: names
                .clients
                .into_iter()
                .map(|(id, code, _, calendar)| (id, (code, calendar)))
                .collect(),
            staff: names.staff.into_iter().collect(),
        }
    }

    fn client(&self, id: ClientId) -> Cell {
        self.clients
            .get(&id)
            .map_or(Cell::Empty, |(code, _)| Cell::text(code.clone()))
    }

    fn person(&self, id: Option<UserId>) -> Cell {
        id.and_then(|id| self.staff.get(&id))
            .map_or(Cell::Empty, |n| Cell::text(n.clone()))
    }
}

fn number(ticket: TicketId) -> Cell {
    Cell::text(TicketNumber(ticket.0).to_string())
}

/// Counts per key of a grouping, in key order.
#[derive(Default)]
struct Tally {
    total: i64,
    good: i64,
    extra: i64,
}

fn group_table(
    name: &'static str,
    columns: &[&'static str],
    groups: BTreeMap<String, Tally>,
) -> Table {
    let mut table = Table::new(name, columns);
    for (key, t) in groups {
        table.rows.push(vec![
            Cell::text(key),
            Cell::Int(t.total),
            Cell::Int(t.good),
            percent(t.good, t.total),
            Cell::Int(t.extra),
        ]);
    }
    table
}

/// The reports service: narrow, over the desk's store and clock.
pub struct Reports<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn reports(&self) -> Reports<'_> {
        Reports { desk: self }
    }
}

impl Reports<'_> {
    /// Whether `user` may read reports (managers and admins).
    pub fn check(&self, user: &User) -> Result<()> {
        crate::authorize(user, Action::ReadReports)
    }

    /// The desk's zone (days and months of reports without a viewer).
    pub fn desk_zone(&self) -> TimeZone {
        zone_of(None)
    }

    /// Settles closed tickets not settled yet (at most `batches` batches); how many.
    pub async fn settle(&self, batches: u32) -> Result<usize> {
        let store = &self.desk.store;
        let mut settled = 0;
        for _ in 0..batches {
            let ids = store.unsettled_tickets(SETTLE_BATCH).await?;
            if ids.is_empty() {
                break;
            }
            let inputs = store.settle_inputs(&ids).await?;
            let mut facts = Vec::with_capacity(inputs.len());
            for input in &inputs {
                let terms = self
                    .desk
                    .sla_terms(input.support_level.as_deref(), input.calendar.as_deref())?;
                facts.push(settle_one(&terms, input));
            }
            store.save_facts(&facts, self.desk.now()).await?;
            settled += facts.len();
            if ids.len() < SETTLE_BATCH as usize {
                break;
            }
        }
        Ok(settled)
    }

    /// The filter a request names, or `None` when it names a client or specialist that
    /// does not exist (the report is then empty).
    async fn filter(&self, request: &ReportRequest) -> Result<Option<ReportFilter>> {
        let store = &self.desk.store;
        let client = match &request.client {
            Some(code) => match store.client_by_code(code).await? {
                Some(c) => Some(c.id),
                None => return Ok(None),
            },
            None => None,
        };
        let specialist = match &request.specialist {
            Some(text) => {
                let found = match text.parse::<i64>() {
                    Ok(id) => store.user(UserId(id)).await?,
                    Err(_) => match Email::parse(text) {
                        Ok(email) => store.user_by_email(&email).await?.map(|(u, _)| u),
                        Err(_) => None,
                    },
                };
                match found.filter(|u| u.role != Role::Client) {
                    Some(u) => Some(u.id),
                    None => return Ok(None),
                }
            }
            None => None,
        };
        Ok(Some(ReportFilter {
            client,
            service: request.service.clone(),
            line: request.line,
            specialist,
        }))
    }

    /// A report for a manager or an admin.
    pub async fn build(&self, user: &User, request: &ReportRequest) -> Result<Report> {
        crate::authorize(user, Action::ReadReports)?;
        self.build_unchecked(request, &self.desk_zone()).await
    }

    /// A report in `zone`'s days (the caller checked who asks).
    pub async fn build_unchecked(
        &self,
        request: &ReportRequest,
        zone: &TimeZone,
    ) -> Result<Report> {
        self.settle(20).await?;
        let from = day_start(request.from, zone);
        let to = day_start(request.to.tomorrow().unwrap_or(request.to), zone);
        let filter = self.filter(request).await?;
        let names = Names::from(self.desk.store.report_names().await?);
        let tables = match request.name {
            ReportName::Sla => self.sla(filter.as_ref(), from, to, &names).await?,
            ReportName::Flow => {
                let bucket = request
                    .bucket
                    .unwrap_or_else(|| default_bucket(request.from, request.to));
                self.flow(filter.as_ref(), request, bucket, zone).await?
            }
            ReportName::Ratings => self.ratings(filter.as_ref(), from, to, &names).await?,
            ReportName::Money => self.money(filter.as_ref(), request, zone, &names).await?,
        };
        let chart = match request.name {
            ReportName::Sla => Chart {
                table: "by_line",
                label: "line",
                series: vec!["met_percent"],
            },
            ReportName::Flow => Chart {
                table: "rows",
                label: "period",
                series: vec!["new", "closed"],
            },
            ReportName::Ratings => Chart {
                table: "scores",
                label: "score",
                series: vec!["ratings"],
            },
            ReportName::Money => Chart {
                table: "revenue",
                label: "month",
                series: vec!["amount"],
            },
        };
        Ok(Report {
            name: request.name,
            from: request.from,
            to: request.to,
            tables,
            chart: Some(chart),
        })
    }

    async fn sla(
        &self,
        filter: Option<&ReportFilter>,
        from: Timestamp,
        to: Timestamp,
        names: &Names,
    ) -> Result<Vec<Table>> {
        let store = &self.desk.store;
        let mut rows = Table::new(
            "rows",
            &[
                "ticket",
                "client",
                "service",
                "classification",
                "line",
                "specialist",
                "stage",
                "spent_minutes",
                "norm_minutes",
                "met",
                "deadline_met",
                "closed_at",
            ],
        );
        let mut tasks = Table::new(
            "tasks",
            &[
                "ticket",
                "task",
                "stage",
                "line",
                "specialist",
                "created_at",
                "due_at",
                "completed_at",
                "logged_minutes",
                "met",
            ],
        );
        let group_columns = [
            "key",
            "tickets",
            "deadline_met",
            "met_percent",
            "stages_over_norm",
        ];
        let mut by: [BTreeMap<String, Tally>; 5] = Default::default();
        let mut stages: BTreeMap<String, Tally> = BTreeMap::new();
        if let Some(filter) = filter {
            let facts = store.settled(filter, from, to).await?;
            let by_id: HashMap<TicketId, &TicketFacts> =
                facts.iter().map(|f| (f.ticket_id, f)).collect();
            for f in &facts {
                let keys = [
                    names.client(f.client_id).plain(),
                    f.service.clone(),
                    f.line.map(|l| l.to_string()).unwrap_or_default(),
                    names.person(f.specialist).plain(),
                    f.classification.clone().unwrap_or_default(),
                ];
                for (group, key) in by.iter_mut().zip(keys) {
                    let t = group.entry(key).or_default();
                    t.total += 1;
                    t.good += i64::from(f.deadline_met);
                    t.extra += i64::from(f.stages_over > 0);
                }
            }
            let stage_rows = store
                .settled_stages(filter, from, to, DETAIL_LIMIT + 1)
                .await?;
            rows.truncated = stage_rows.len() > DETAIL_LIMIT as usize;
            for s in stage_rows.iter().take(DETAIL_LIMIT as usize) {
                let Some(f) = by_id.get(&s.ticket_id) else {
                    continue;
                };
                let met = s.norm_minutes.is_none_or(|n| s.spent_minutes <= n);
                let t = stages.entry(s.stage.clone()).or_default();
                t.total += 1;
                t.good += i64::from(met);
                t.extra += s.spent_minutes;
                rows.rows.push(vec![
                    number(f.ticket_id),
                    names.client(f.client_id),
                    Cell::text(f.service.clone()),
                    f.classification.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::maybe_int(f.line),
                    names.person(f.specialist),
                    Cell::text(s.stage.clone()),
                    Cell::Int(s.spent_minutes),
                    Cell::maybe_int(s.norm_minutes),
                    Cell::Bool(met),
                    Cell::Bool(f.deadline_met),
                    Cell::Instant(f.closed_at),
                ]);
            }
            let task_rows = store
                .completed_tasks(filter, from, to, DETAIL_LIMIT + 1)
                .await?;
            tasks.truncated = task_rows.len() > DETAIL_LIMIT as usize;
            for k in task_rows.iter().take(DETAIL_LIMIT as usize) {
                tasks.rows.push(vec![
                    number(k.ticket_id),
                    Cell::text(k.kind.clone()),
                    k.stage.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::maybe_int(k.line),
                    names.person(k.assignee),
                    Cell::Instant(k.created_at),
                    k.due_at.map_or(Cell::Empty, Cell::Instant),
                    Cell::Instant(k.completed_at),
                    Cell::Int(k.logged_minutes),
                    k.due_at
                        .map_or(Cell::Empty, |due| Cell::Bool(k.completed_at <= due)),
                ]);
            }
        }
        let [client, service, line, specialist, classification] = by;
        let mut stage_table = Table::new(
            "by_stage",
            &[
                "stage",
                "visits",
                "within_norm",
                "met_percent",
                "spent_minutes",
            ],
        );
        for (stage, t) in stages {
            stage_table.rows.push(vec![
                Cell::text(stage),
                Cell::Int(t.total),
                Cell::Int(t.good),
                percent(t.good, t.total),
                Cell::Int(t.extra),
            ]);
        }
        let mut line_table = group_table("by_line", &group_columns, line);
        line_table.columns[0] = "line";
        Ok(vec![
            rows,
            tasks,
            group_table("by_client", &group_columns, client),
            group_table("by_service", &group_columns, service),
            line_table,
            group_table("by_specialist", &group_columns, specialist),
            group_table("by_classification", &group_columns, classification),
            stage_table,
        ])
    }

    async fn flow(
        &self,
        filter: Option<&ReportFilter>,
        request: &ReportRequest,
        bucket: Bucket,
        zone: &TimeZone,
    ) -> Result<Vec<Table>> {
        let store = &self.desk.store;
        let from = day_start(request.from, zone);
        let to = day_start(request.to.tomorrow().unwrap_or(request.to), zone);
        // Every bucket of the period, empty ones too.
        let mut counts: BTreeMap<Date, [i64; 7]> = BTreeMap::new();
        let mut day = bucket_start(bucket, request.from);
        while day <= request.to {
            counts.insert(day, [0; 7]);
            day = match bucket {
                Bucket::Day => day.tomorrow().unwrap_or(Date::MAX),
                Bucket::Week => day.saturating_add(1.week()),
                Bucket::Month => day.saturating_add(1.month()),
            };
            if day == Date::MAX {
                break;
            }
        }
        let slot = |at: Timestamp| bucket_start(bucket, at.to_zoned_datetime(zone.clone()).date());
        let mut times = Table::new(
            "times",
            &["measure", "tickets", "median_minutes", "p90_minutes"],
        );
        let mut backlog = Table::new("backlog", &["age", "tickets"]);
        let mut ages = [0i64; 5];
        if let Some(filter) = filter {
            let mut add = |at: Timestamp, column: usize, by: i64| {
                if let Some(row) = counts.get_mut(&slot(at)) {
                    row[column] += by;
                }
            };
            for at in store.created_instants(filter, from, to).await? {
                add(at, 0, 1);
            }
            for (column, event) in [
                (1, FlowEvent::Registered),
                (3, FlowEvent::Reopened),
                (4, FlowEvent::AutoClosed),
            ] {
                for at in store.flow_events(event, filter, from, to).await? {
                    add(at, column, 1);
                }
            }
            let facts = store.settled(filter, from, to).await?;
            let (mut reaction, mut resolution) = (Vec::new(), Vec::new());
            for f in &facts {
                add(f.closed_at, 2, 1);
                add(f.closed_at, 5, i64::from(f.deadline_met));
                reaction.extend(f.reaction_minutes);
                resolution.push(f.resolution_minutes);
            }
            for (measure, values) in [
                ("first_reaction", &mut reaction),
                ("resolution", &mut resolution),
            ] {
                let (median, p90) = median_p90(values);
                times.rows.push(vec![
                    Cell::text(measure),
                    Cell::Int(values.len() as i64),
                    Cell::maybe_int(median),
                    Cell::maybe_int(p90),
                ]);
            }
            let now = self.desk.now();
            for created in store.backlog(filter).await? {
                let hours = now.duration_since(created).as_hours();
                let index = match hours {
                    h if h < 24 => 0,
                    h if h < 72 => 1,
                    h if h < 168 => 2,
                    h if h < 720 => 3,
                    _ => 4,
                };
                ages[index] += 1;
            }
        }
        for (age, n) in [
            "under_1_day",
            "1_3_days",
            "3_7_days",
            "7_30_days",
            "over_30_days",
        ]
        .iter()
        .zip(ages)
        {
            backlog.rows.push(vec![Cell::text(*age), Cell::Int(n)]);
        }
        let mut rows = Table::new(
            "rows",
            &[
                "period",
                "starts_on",
                "new",
                "registered",
                "closed",
                "reopened",
                "auto_closed",
                "closed_on_time",
                "closed_on_time_percent",
            ],
        );
        for (start, c) in counts {
            rows.rows.push(vec![
                Cell::text(bucket_label(bucket, start)),
                Cell::Day(start),
                Cell::Int(c[0]),
                Cell::Int(c[1]),
                Cell::Int(c[2]),
                Cell::Int(c[3]),
                Cell::Int(c[4]),
                Cell::Int(c[5]),
                percent(c[5], c[2]),
            ]);
        }
        Ok(vec![rows, times, backlog])
    }

    async fn ratings(
        &self,
        filter: Option<&ReportFilter>,
        from: Timestamp,
        to: Timestamp,
        names: &Names,
    ) -> Result<Vec<Table>> {
        let mut rows = Table::new(
            "rows",
            &[
                "ticket",
                "client",
                "service",
                "specialist",
                "score",
                "comment",
                "rated_at",
            ],
        );
        let mut by: [BTreeMap<String, Tally>; 3] = Default::default();
        let mut scores = [0i64; 5];
        if let Some(filter) = filter {
            let ratings = self.desk.store.ratings_between(filter, from, to).await?;
            rows.truncated = ratings.len() > DETAIL_LIMIT as usize;
            for r in &ratings {
                let keys = [
                    names.person(r.specialist).plain(),
                    names.client(r.client_id).plain(),
                    r.service.clone(),
                ];
                for (group, key) in by.iter_mut().zip(keys) {
                    let t = group.entry(key).or_default();
                    t.total += 1;
                    t.good += r.score;
                    t.extra += i64::from(r.score <= 2);
                }
                if let Some(n) = usize::try_from(r.score - 1)
                    .ok()
                    .and_then(|i| scores.get_mut(i))
                {
                    *n += 1;
                }
            }
            for r in ratings.iter().take(DETAIL_LIMIT as usize) {
                rows.rows.push(vec![
                    number(r.ticket_id),
                    names.client(r.client_id),
                    Cell::text(r.service.clone()),
                    names.person(r.specialist),
                    Cell::Int(r.score),
                    Cell::text(r.comment.clone()),
                    Cell::Instant(r.rated_at),
                ]);
            }
        }
        let columns = ["key", "ratings", "average", "low"];
        let grouped = |name: &'static str, groups: BTreeMap<String, Tally>| {
            let mut table = Table::new(name, &columns);
            for (key, t) in groups {
                table.rows.push(vec![
                    Cell::text(key),
                    Cell::Int(t.total),
                    if t.total > 0 {
                        Cell::Number(t.good as f64 / t.total as f64)
                    } else {
                        Cell::Empty
                    },
                    Cell::Int(t.extra),
                ]);
            }
            table
        };
        let [specialist, client, service] = by;
        let mut score_table = Table::new("scores", &["score", "ratings"]);
        for (i, n) in scores.iter().enumerate() {
            score_table
                .rows
                .push(vec![Cell::Int(i as i64 + 1), Cell::Int(*n)]);
        }
        Ok(vec![
            rows,
            grouped("by_specialist", specialist),
            grouped("by_client", client),
            grouped("by_service", service),
            score_table,
        ])
    }

    async fn money(
        &self,
        filter: Option<&ReportFilter>,
        request: &ReportRequest,
        zone: &TimeZone,
        names: &Names,
    ) -> Result<Vec<Table>> {
        let store = &self.desk.store;
        let from = day_start(request.from, zone);
        let to = day_start(request.to.tomorrow().unwrap_or(request.to), zone);
        let mut rows = Table::new(
            "rows",
            &[
                "client",
                "contract",
                "spent_minutes",
                "billed_minutes",
                "amount",
            ],
        );
        let mut quota = Table::new(
            "quota",
            &[
                "contract",
                "client",
                "month",
                "tickets",
                "tickets_limit",
                "hours",
                "hours_limit",
                "hours_used_percent",
            ],
        );
        let mut revenue = Table::new("revenue", &["month", "amount"]);
        let mut paid_free = Table::new("clients", &["kind", "clients", "spent_minutes", "amount"]);
        let mut ending = Table::new("ending", &["contract", "client", "ends_on", "within_days"]);
        let today = self.desk.now().to_zoned_datetime(zone.clone()).date();
        if let Some(filter) = filter {
            let contracts: Vec<_> = store
                .contracts_in_force(request.from, request.to)
                .await?
                .into_iter()
                .filter(|c| filter.client.is_none_or(|id| c.terms.client_id == id))
                .collect();
            let sla = self.desk.sla();
            let calendar_of = |client: ClientId| {
                names
                    .clients
                    .get(&client)
                    .and_then(|(_, c)| c.as_deref())
                    .and_then(|c| sla.calendars.get(c).ok())
                    .or_else(|| sla.default_level().and_then(|l| sla.calendar_of(l).ok()))
            };
            // (client, contract number) → spent, billed, amount; month → (client, contract id) → minutes.
            let mut work: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
            let mut hours: HashMap<(i64, Date), i64> = HashMap::new();
            for span in store.report_work_spans(filter, from, to).await? {
                let day = span.started_at.to_zoned_datetime(zone.clone()).date();
                let contract = contracts.iter().find(|c| {
                    c.terms.client_id == span.client_id
                        && c.active_on(day)
                        && c.covers(&span.service)
                });
                let spent_seconds = span.stopped_at.as_second() - span.started_at.as_second();
                let spent = (spent_seconds.max(0) + 59) / 60;
                let (billed, amount, number) = match contract {
                    Some(c) => {
                        let billable = c.terms.billable_services.is_empty()
                            || c.terms.billable_services.contains(&span.service);
                        let billed = if billable {
                            billed_minutes(spent_seconds, c.terms.rounding_minutes)
                        } else {
                            0
                        };
                        let after_hours = calendar_of(span.client_id)
                            .is_some_and(|cal| !cal.is_working(span.started_at));
                        let rate = if after_hours && c.terms.after_hours_rate > 0 {
                            c.terms.after_hours_rate
                        } else {
                            c.terms.hourly_rate
                        };
                        *hours.entry((c.id, day.first_of_month())).or_default() += spent;
                        (billed, amount_for(billed, rate), c.terms.number.clone())
                    }
                    None => (0, 0, String::new()),
                };
                let entry = work
                    .entry((names.client(span.client_id).plain(), number))
                    .or_default();
                entry[0] += spent;
                entry[1] += billed;
                entry[2] += amount;
            }
            let mut per_client: HashMap<String, [i64; 2]> = HashMap::new();
            for ((client, contract), [spent, billed, amount]) in &work {
                let c = per_client.entry(client.clone()).or_default();
                c[0] += spent;
                c[1] += amount;
                rows.rows.push(vec![
                    Cell::text(client.clone()),
                    Cell::text(contract.clone()),
                    Cell::Int(*spent),
                    Cell::Int(*billed),
                    Cell::Money(*amount),
                ]);
            }
            // Months of the period, at most the last 36 (quota is a monthly figure).
            let mut months = Vec::new();
            let mut month = request.to.first_of_month();
            while month >= request.from.first_of_month() && months.len() < 36 {
                months.push(month);
                month = month.saturating_sub(1.month());
            }
            months.reverse();
            let counters: Vec<String> = months
                .iter()
                .map(|m| format!("month:{:04}-{:02}", m.year(), m.month()))
                .collect();
            let limited: Vec<_> = contracts
                .iter()
                .filter(|c| {
                    c.terms.limits.tickets_per_month.is_some()
                        || c.terms.limits.hours_per_month.is_some()
                })
                .collect();
            let ids: Vec<i64> = limited.iter().map(|c| c.id).collect();
            let used: HashMap<(i64, String), i64> = store
                .usage_of(&ids, &counters)
                .await?
                .into_iter()
                .map(|(id, counter, n)| ((id, counter), n))
                .collect();
            for c in &limited {
                for (m, counter) in months.iter().zip(&counters) {
                    let last = m.last_of_month();
                    if last < c.terms.starts_on || *m > c.terms.ends_on {
                        continue;
                    }
                    let minutes = hours.get(&(c.id, *m)).copied().unwrap_or(0);
                    let limit_minutes = c.terms.limits.hours_per_month.map(|h| h * 60);
                    quota.rows.push(vec![
                        Cell::text(c.terms.number.clone()),
                        Cell::text(c.client_code.clone()),
                        Cell::text(counter.trim_start_matches("month:")),
                        Cell::Int(used.get(&(c.id, counter.clone())).copied().unwrap_or(0)),
                        Cell::maybe_int(c.terms.limits.tickets_per_month),
                        Cell::Number(minutes as f64 / 60.0),
                        Cell::maybe_int(c.terms.limits.hours_per_month),
                        limit_minutes.map_or(Cell::Empty, |l| percent(minutes, l)),
                    ]);
                }
            }
            let revenue_from = day_start(request.from.first_of_month(), &TimeZone::UTC);
            let revenue_to = day_start(
                request.to.first_of_month().saturating_add(1.month()),
                &TimeZone::UTC,
            );
            let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
            let client_code = filter.client.map(|id| names.client(id).plain());
            for r in store.revenue(revenue_from, revenue_to).await? {
                if client_code
                    .as_ref()
                    .is_none_or(|code| *code == r.client_code)
                {
                    *by_month.entry(r.month).or_default() += r.amount;
                }
            }
            for (month, amount) in by_month {
                revenue
                    .rows
                    .push(vec![Cell::text(month), Cell::Money(amount)]);
            }
            // Paid: a contract in force with a tariff or an hourly rate; free: the others.
            let mut kinds = [[0i64; 3]; 2];
            for (id, (code, _)) in &names.clients {
                if filter.client.is_some_and(|c| c != *id) {
                    continue;
                }
                let paid = contracts.iter().any(|c| {
                    c.terms.client_id == *id && (c.terms.tariff > 0 || c.terms.hourly_rate > 0)
                });
                let k = &mut kinds[usize::from(!paid)];
                let figures = per_client.get(code).copied().unwrap_or_default();
                k[0] += 1;
                k[1] += figures[0];
                k[2] += figures[1];
            }
            for (kind, k) in ["paid", "free"].iter().zip(kinds) {
                paid_free.rows.push(vec![
                    Cell::text(*kind),
                    Cell::Int(k[0]),
                    Cell::Int(k[1]),
                    Cell::Money(k[2]),
                ]);
            }
            let horizon = today.saturating_add(90.days());
            let mut soon: Vec<_> = store
                .contracts_in_force(today, horizon)
                .await?
                .into_iter()
                .filter(|c| c.terms.ends_on >= today && c.terms.ends_on <= horizon)
                .filter(|c| filter.client.is_none_or(|id| c.terms.client_id == id))
                .collect();
            soon.sort_by_key(|c| (c.terms.ends_on, c.id));
            for c in soon {
                let days = (c.terms.ends_on - today).get_days();
                let within = if days <= 30 {
                    30
                } else if days <= 60 {
                    60
                } else {
                    90
                };
                ending.rows.push(vec![
                    Cell::text(c.terms.number.clone()),
                    Cell::text(c.client_code.clone()),
                    Cell::Day(c.terms.ends_on),
                    Cell::Int(within),
                ]);
            }
        }
        Ok(vec![rows, quota, revenue, paid_free, ending])
    }

    /// A manager subscribes to a report by mail; the first goes out at the start of the
    /// next week or month.
    pub async fn subscribe(
        &self,
        user: &User,
        name: &str,
        cadence: &str,
        params: &ReportParams,
    ) -> Result<Subscription> {
        crate::authorize(user, Action::ManageReports)?;
        let today = self.desk.now().to_zoned_datetime(self.desk_zone()).date();
        let request = params.parse(name, today)?;
        let cadence = Cadence::parse(cadence.trim())
            .ok_or_else(|| FieldError::new("cadence", "weekly or monthly"))?;
        let filters = subscription_filters(params);
        let next = next_run(cadence, today, &self.desk_zone());
        Ok(self
            .desk
            .store
            .create_subscription(
                user.id,
                request.name.as_str(),
                cadence.as_str(),
                &filters,
                next,
                self.desk.now(),
            )
            .await?)
    }

    pub async fn subscriptions(&self, user: &User) -> Result<Vec<Subscription>> {
        crate::authorize(user, Action::ReadReports)?;
        Ok(self.desk.store.subscriptions_of(user.id).await?)
    }

    pub async fn unsubscribe(&self, user: &User, id: i64) -> Result<()> {
        crate::authorize(user, Action::ManageReports)?;
        if self.desk.store.delete_subscription(user.id, id).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound("subscription").into())
        }
    }

    /// Sends the subscribed reports that are due at `now`: each its XLSX by mail through
    /// the outbox (queued at the desk's now), for the last whole week or month before
    /// `now`. Returns how many were queued.
    pub async fn send_due(&self, now: Timestamp) -> Result<usize> {
        let zone = self.desk_zone();
        let today = now.to_zoned_datetime(zone.clone()).date();
        let mut sent = 0;
        for subscription in self.desk.store.due_subscriptions(now, 100).await? {
            let cadence = Cadence::parse(&subscription.cadence).unwrap_or(Cadence::Monthly);
            let (from, to) = last_whole_period(cadence, today);
            let params: ReportParams =
                serde_json::from_str(&subscription.filters).unwrap_or_default();
            let params = ReportParams {
                from: Some(from.to_string()),
                to: Some(to.to_string()),
                ..params
            };
            let user = self.desk.store.user(subscription.user_id).await?;
            let still_manager = user
                .as_ref()
                .is_some_and(|u| okno_domain::policy::person_allows(u, Action::ReadReports));
            if let (Some(user), true) = (user, still_manager) {
                // The workbook is made when the mail is composed: the figures are settled
                // ones, the same then as now.
                let payload = serde_json::json!({
                    "user_id": user.id.0,
                    "report": subscription.report,
                    "params": params,
                });
                self.desk
                    .store
                    .enqueue_notice(OutboxKind::ScheduledReport, payload, self.desk.now())
                    .await?;
                sent += 1;
            }
            self.desk
                .store
                .subscription_sent(subscription.id, now, next_run(cadence, today, &zone))
                .await?;
        }
        Ok(sent)
    }
}

/// The filters of a subscription as a query string (the period is the cadence's).
fn subscription_filters(params: &ReportParams) -> String {
    let kept = ReportParams {
        from: None,
        to: None,
        ..params.clone()
    };
    serde_json::to_string(&kept).unwrap_or_default()
}

/// The start of the next week (Monday) or month after `today`, 07:00 in the desk's zone.
pub fn next_run(cadence: Cadence, today: Date, zone: &TimeZone) -> Timestamp {
    let day = match cadence {
        Cadence::Weekly => {
            let mut d = today.tomorrow().unwrap_or(today);
            while d.weekday() != Weekday::Monday {
                d = d.tomorrow().unwrap_or(d);
            }
            d
        }
        Cadence::Monthly => today.first_of_month().saturating_add(1.month()),
    };
    day_start(day, zone)
        .saturating_add(7.hours())
        .unwrap_or(Timestamp::MAX)
}

/// The last whole week (Monday to Sunday) or month before `today`.
pub fn last_whole_period(cadence: Cadence, today: Date) -> (Date, Date) {
    match cadence {
        Cadence::Weekly => {
            let monday = bucket_start(Bucket::Week, today);
            let from = monday.saturating_sub(1.week());
            (from, monday.yesterday().unwrap_or(monday))
        }
        Cadence::Monthly => {
            let first = today.first_of_month();
            let from = first.saturating_sub(1.month());
            (from, first.yesterday().unwrap_or(first))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn median_and_p90_take_the_nearest_rank() {
        let mut values = vec![5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
        assert_eq!(median_p90(&mut values), (Some(5), Some(9)));
        assert_eq!(median_p90(&mut []), (None, None));
        assert_eq!(median_p90(&mut [7]), (Some(7), Some(7)));
    }

    #[test]
    fn periods_default_to_days_weeks_or_months_by_length() {
        assert_eq!(
            default_bucket(date(2026, 11, 1), date(2026, 11, 30)),
            Bucket::Day
        );
        assert_eq!(
            default_bucket(date(2026, 1, 1), date(2026, 12, 31)),
            Bucket::Week
        );
        assert_eq!(
            default_bucket(date(2016, 1, 1), date(2025, 12, 31)),
            Bucket::Month
        );
        assert_eq!(
            bucket_start(Bucket::Week, date(2026, 12, 6)),
            date(2026, 11, 30)
        );
        assert_eq!(bucket_label(Bucket::Week, date(2026, 11, 30)), "2026-W49");
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let today = date(2026, 12, 7);
        let field = |p: ReportParams, name: &str| match p.parse(name, today) {
            Err(DeskError::Domain(DomainError::Invalid(e))) => e.field.to_string(),
            other => panic!("expected a field error, got {other:?}"),
        };
        let p = |from: &str, to: &str| ReportParams {
            from: Some(from.into()),
            to: Some(to.into()),
            ..Default::default()
        };
        assert_eq!(field(p("2026-13-01", "2026-12-01"), "sla"), "from");
        assert_eq!(field(p("2026-12-01", "2026-11-01"), "sla"), "to");
        assert_eq!(field(p("1900-01-01", "2026-11-01"), "sla"), "to");
        assert_eq!(field(p("2026-12-01", "2026-12-01"), "nope"), "name");
        let line = ReportParams {
            line: Some("7".into()),
            ..Default::default()
        };
        assert_eq!(field(line, "flow"), "line");
        let ten_years = p("2016-01-01", "2025-12-31").parse("flow", today).unwrap();
        assert_eq!(ten_years.from, date(2016, 1, 1));
        let empty = ReportParams::default().parse("money", today).unwrap();
        assert_eq!((empty.from, empty.to), (date(2026, 12, 1), today));
    }

    #[test]
    fn subscriptions_run_after_the_period_they_report() {
        let zone = TimeZone::UTC;
        let monday = next_run(Cadence::Weekly, date(2026, 12, 7), &zone);
        assert_eq!(monday.to_string(), "2026-12-14T07:00:00Z");
        let first = next_run(Cadence::Monthly, date(2026, 12, 7), &zone);
        assert_eq!(first.to_string(), "2027-01-01T07:00:00Z");
        assert_eq!(
            last_whole_period(Cadence::Weekly, date(2026, 12, 14)),
            (date(2026, 12, 7), date(2026, 12, 13))
        );
        assert_eq!(
            last_whole_period(Cadence::Monthly, date(2027, 1, 1)),
            (date(2026, 12, 1), date(2026, 12, 31))
        );
    }

    #[test]
    fn every_rendering_shows_the_same_figures() {
        let mut table = Table::new("rows", &["client", "amount", "share"]);
        table.rows.push(vec![
            Cell::text("ALFA"),
            Cell::Money(123_456),
            Cell::Number(33.333),
        ]);
        let report = Report {
            name: ReportName::Money,
            from: date(2026, 11, 1),
            to: date(2026, 11, 30),
            tables: vec![table],
            chart: None,
        };
        let json = report.json();
        assert_eq!(json["rows"][0]["amount"], 1234.56);
        assert_eq!(json["rows"][0]["share"], 33.33);
        let csv = String::from_utf8(report.csv().unwrap()).unwrap();
        assert!(csv.contains("ALFA,1234.56,33.33"), "{csv}");
        let xlsx = report.xlsx(&|c| c.to_owned()).unwrap();
        assert_eq!(&xlsx[..2], b"PK");
    }
}
