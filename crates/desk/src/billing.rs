//! Money: renewal invoices, revenue, billable time and the monthly work report (issue 6).
//!
//! Time spent is what specialists logged (`time_entries`); time billed is derived from it by
//! the contract in force when the work started: only billable services count, each interval
//! is rounded up to the contract's step, and work outside the client's calendar's working
//! hours is priced at the after-hours rate. The two are kept apart in every report.

use crate::contracts::{day_start, month_bounds, zone_of};
use crate::{Desk, DeskError, Result};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use okno_domain::*;
use okno_store::{Contract, Invoice, NewInvoice, RevenueRow};
use serde_json::json;

/// Whole months from `start` to the day after `end` (at least one).
pub fn months_in(start: Date, end: Date) -> i64 {
    let after = end.tomorrow().unwrap_or(end);
    let months = (i64::from(after.year()) - i64::from(start.year())) * 12
        + i64::from(after.month())
        - i64::from(start.month());
    months.max(1)
}

/// Minutes billed for an interval: rounded up to the step (0: to the minute).
pub fn billed_minutes(spent_seconds: i64, rounding_minutes: i64) -> i64 {
    let minutes = (spent_seconds.max(0) + 59) / 60;
    if rounding_minutes <= 0 || minutes == 0 {
        return minutes;
    }
    (minutes + rounding_minutes - 1) / rounding_minutes * rounding_minutes
}

/// Kopecks for minutes at a rate per hour, rounded up to the kopeck.
pub fn amount_for(minutes: i64, rate_per_hour: i64) -> i64 {
    (minutes * rate_per_hour + 59) / 60
}

/// One line of the monthly work report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkLine {
    pub ticket: String,
    pub subject: String,
    pub service: String,
    pub task: String,
    pub specialist: String,
    pub started_at: String,
    pub minutes_spent: i64,
    pub minutes_billed: i64,
    pub after_hours: bool,
    /// Kopecks.
    pub amount: i64,
    pub contract: String,
}

/// A client's month of work: tickets, tasks, who, time spent and billed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkReport {
    pub client: String,
    pub client_name: String,
    pub month: String,
    pub lines: Vec<WorkLine>,
    pub minutes_spent: i64,
    pub minutes_billed: i64,
    /// Kopecks.
    pub amount: i64,
}

fn rub(kopecks: i64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> DeskError {
    DeskError::Io(std::io::Error::other(e.to_string()))
}

fn parse_month(text: &str) -> Result<Date> {
    let bad = || FieldError::new("month", "expected YYYY-MM");
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    Date::new(year, month, 1).map_err(|_| bad().into())
}

impl Desk {
    /// Minutes over the contract's monthly hour limit, summed over its months up to `at`.
    async fn minutes_over(&self, contract: &Contract, at: Timestamp) -> Result<i64> {
        let Some(hours) = contract.terms.limits.hours_per_month else {
            return Ok(0);
        };
        let zone = zone_of(contract.client_time_zone.as_deref());
        let today = at.to_zoned_datetime(zone.clone()).date();
        let mut month = contract.terms.starts_on.first_of_month();
        let mut over = 0;
        while month <= today && month <= contract.terms.ends_on {
            let (from, to) = month_bounds(month, &zone);
            let from = from.max(day_start(contract.terms.starts_on, &zone));
            let minutes = self
                .store
                .client_minutes(contract.terms.client_id, from, to, at)
                .await?;
            over += (minutes - hours * 60).max(0);
            month = month.saturating_add(1.month());
        }
        Ok(over)
    }

    /// The renewal invoice draft of a contract: the next period of the same length at the
    /// tariff, plus the hours used over the limit at the hourly rate. Once per contract and
    /// period; `None` when it exists.
    pub async fn draft_invoice(
        &self,
        contract: &Contract,
        at: Timestamp,
    ) -> Result<Option<Invoice>> {
        let terms = &contract.terms;
        let months = months_in(terms.starts_on, terms.ends_on);
        let period_start = terms.ends_on.tomorrow().unwrap_or(terms.ends_on);
        let period_end = period_start
            .saturating_add(months.months())
            .yesterday()
            .unwrap_or(period_start);
        let extra_minutes = self.minutes_over(contract, at).await?;
        let invoice = NewInvoice {
            number: format!("{}-{}", terms.number, period_start),
            client_id: terms.client_id,
            contract_id: contract.id,
            period_start,
            period_end,
            tariff_amount: terms.tariff * months,
            extra_minutes,
            extra_amount: amount_for(extra_minutes, terms.hourly_rate),
        };
        Ok(self.store.create_invoice(&invoice, at).await?)
    }

    /// Drafts the renewal invoice of one contract by hand (a manager, ahead of the job).
    pub async fn draft_invoice_for(&self, user: &User, contract: i64) -> Result<Option<Invoice>> {
        crate::authorize(user, okno_domain::policy::Action::ManageBilling)?;
        let contract = self
            .store
            .contract(contract)
            .await?
            .ok_or(DomainError::NotFound("contract"))?;
        self.draft_invoice(&contract, self.now()).await
    }

    pub async fn invoices(
        &self,
        user: &User,
        client: Option<&str>,
        status: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Invoice>> {
        crate::authorize(user, okno_domain::policy::Action::ReadBilling)?;
        if let Some(s) = status
            && !["draft", "sent", "paid"].contains(&s)
        {
            return Err(FieldError::new("status", "draft, sent or paid").into());
        }
        let client = match client {
            Some(code) => Some(
                self.store
                    .client_by_code(&code.trim().to_uppercase())
                    .await?
                    .ok_or_else(|| FieldError::new("client", "unknown client"))?
                    .id,
            ),
            None => None,
        };
        Ok(self.store.invoices(client, status, after, limit).await?)
    }

    pub async fn set_invoice_status(&self, user: &User, id: i64, status: &str) -> Result<Invoice> {
        crate::authorize(user, okno_domain::policy::Action::ManageBilling)?;
        Ok(self
            .store
            .set_invoice_status(id, status, self.now())
            .await?)
    }

    /// Paid amounts per month and client in `from..=to` (months `YYYY-MM`).
    pub async fn revenue(&self, user: &User, from: &str, to: &str) -> Result<Vec<RevenueRow>> {
        crate::authorize(user, okno_domain::policy::Action::ReadBilling)?;
        let from = parse_month(from)?;
        let to = parse_month(to)?.saturating_add(1.month());
        let at = |d: Date| day_start(d, &jiff::tz::TimeZone::UTC);
        Ok(self.store.revenue(at(from), at(to)).await?)
    }

    /// The client's work in a month (`YYYY-MM`), spent and billed apart.
    pub async fn work_report(&self, user: &User, client: &str, month: &str) -> Result<WorkReport> {
        crate::authorize(user, okno_domain::policy::Action::ReadBilling)?;
        let record = self.client_record(user, client).await?;
        let first = parse_month(month)?;
        let zone = zone_of(record.time_zone.as_deref());
        let (from, to) = month_bounds(first, &zone);
        let contracts = self
            .store
            .contracts_overlapping(record.id, first, first.saturating_add(1.month()))
            .await?;
        let sla = self.sla();
        let calendar = record
            .calendar
            .as_deref()
            .and_then(|c| sla.calendars.get(c).ok())
            .or_else(|| sla.default_level().and_then(|l| sla.calendar_of(l).ok()));
        let mut lines = Vec::new();
        for entry in self.store.work_entries(record.id, from, to).await? {
            let day = entry.started_at.to_zoned_datetime(zone.clone()).date();
            let contract = contracts
                .iter()
                .find(|c| c.active_on(day) && c.covers(&entry.service));
            let spent_seconds = entry.stopped_at.as_second() - entry.started_at.as_second();
            let after_hours = calendar.is_some_and(|c| !c.is_working(entry.started_at));
            let (billed, amount, number) = match contract {
                Some(c) => {
                    let billable = c.terms.billable_services.is_empty()
                        || c.terms.billable_services.contains(&entry.service);
                    let billed = if billable {
                        billed_minutes(spent_seconds, c.terms.rounding_minutes)
                    } else {
                        0
                    };
                    let rate = if after_hours && c.terms.after_hours_rate > 0 {
                        c.terms.after_hours_rate
                    } else {
                        c.terms.hourly_rate
                    };
                    (billed, amount_for(billed, rate), c.terms.number.clone())
                }
                None => (0, 0, String::new()),
            };
            lines.push(WorkLine {
                ticket: TicketNumber(entry.ticket_id.0).to_string(),
                subject: entry.subject,
                service: entry.service,
                task: entry.task_kind.unwrap_or_default(),
                specialist: entry.user_name,
                started_at: entry.started_at.to_string(),
                minutes_spent: (spent_seconds.max(0) + 59) / 60,
                minutes_billed: billed,
                after_hours,
                amount,
                contract: number,
            });
        }
        Ok(WorkReport {
            client: record.code,
            client_name: record.name,
            month: format!("{:04}-{:02}", first.year(), first.month()),
            minutes_spent: lines.iter().map(|l| l.minutes_spent).sum(),
            minutes_billed: lines.iter().map(|l| l.minutes_billed).sum(),
            amount: lines.iter().map(|l| l.amount).sum(),
            lines,
        })
    }

    /// Queues the report to the client's active contacts: the mail worker sends it in
    /// their language with the report attached.
    pub async fn send_work_report(&self, user: &User, client: &str, month: &str) -> Result<usize> {
        let report = self.work_report(user, client, month).await?;
        let record = self.client_record(user, client).await?;
        let contacts: Vec<String> = self
            .store
            .contacts(record.id)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| c.email)
            .collect();
        if contacts.is_empty() {
            return Err(FieldError::new("client", "the client has no contacts to send to").into());
        }
        let payload = json!({
            "client": report.client,
            "client_name": report.client_name,
            "month": report.month,
            "contacts": contacts,
            "html": work_report_html(&report),
        });
        self.store
            .enqueue_notice(OutboxKind::WorkReport, payload, self.now())
            .await?;
        Ok(contacts.len())
    }
}

/// A printable page of the report (Russian first, English beside it).
pub fn work_report_html(r: &WorkReport) -> String {
    let mut rows = String::new();
    for l in &r.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td class=n>{}</td></tr>\n",
            escape(&l.ticket),
            escape(&l.subject),
            escape(&l.task),
            escape(&l.specialist),
            escape(&l.started_at),
            l.minutes_spent,
            l.minutes_billed,
            if l.after_hours { "да / yes" } else { "" },
            rub(l.amount),
        ));
    }
    format!(
        "<!doctype html><html lang=ru><head><meta charset=utf-8><title>Отчёт о работах {month} — {client}</title>\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px}}\
         .n{{text-align:right}}@media print{{button{{display:none}}}}</style></head><body>\
         <h1>Отчёт о работах / Work report</h1><p>{name} ({client}), {month}</p>\
         <table><thead><tr><th>Тикет / Ticket</th><th>Тема / Subject</th><th>Задача / Task</th><th>Специалист / Specialist</th>\
         <th>Начало / Started</th><th>Затрачено, мин / Spent, min</th><th>К оплате, мин / Billed, min</th>\
         <th>Вне рабочего времени / After hours</th><th>Сумма, ₽ / Amount, RUB</th></tr></thead><tbody>\n{rows}</tbody>\
         <tfoot><tr><th colspan=5>Итого / Total</th><th class=n>{spent}</th><th class=n>{billed}</th><th></th><th class=n>{amount}</th></tr></tfoot>\
         </table></body></html>",
        month = escape(&r.month),
        client = escape(&r.client),
        name = escape(&r.client_name),
        spent = r.minutes_spent,
        billed = r.minutes_billed,
        amount = rub(r.amount),
    )
}

/// The report as a workbook.
pub fn work_report_xlsx(r: &WorkReport) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let head = [
        "Тикет / Ticket",
        "Тема / Subject",
        "Услуга / Service",
        "Задача / Task",
        "Специалист / Specialist",
        "Начало / Started",
        "Затрачено, мин / Spent, min",
        "К оплате, мин / Billed, min",
        "Вне рабочего времени / After hours",
        "Сумма, ₽ / Amount, RUB",
        "Договор / Contract",
    ];
    for (col, title) in head.iter().enumerate() {
        sheet
            .write_string(0, col as u16, *title)
            .map_err(xlsx_error)?;
    }
    for (i, l) in r.lines.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &l.ticket).map_err(xlsx_error)?;
        sheet.write_string(row, 1, &l.subject).map_err(xlsx_error)?;
        sheet.write_string(row, 2, &l.service).map_err(xlsx_error)?;
        sheet.write_string(row, 3, &l.task).map_err(xlsx_error)?;
        sheet
            .write_string(row, 4, &l.specialist)
            .map_err(xlsx_error)?;
        sheet
            .write_string(row, 5, &l.started_at)
            .map_err(xlsx_error)?;
        sheet
            .write_number(row, 6, l.minutes_spent as f64)
            .map_err(xlsx_error)?;
        sheet
            .write_number(row, 7, l.minutes_billed as f64)
            .map_err(xlsx_error)?;
        sheet
            .write_boolean(row, 8, l.after_hours)
            .map_err(xlsx_error)?;
        sheet
            .write_number(row, 9, l.amount as f64 / 100.0)
            .map_err(xlsx_error)?;
        sheet
            .write_string(row, 10, &l.contract)
            .map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

const INVOICE_HEAD: [&str; 12] = [
    "number",
    "client",
    "contract",
    "period_start",
    "period_end",
    "tariff_amount",
    "extra_minutes",
    "extra_amount",
    "amount",
    "status",
    "sent_at",
    "paid_at",
];

fn invoice_cells(i: &Invoice) -> [String; 12] {
    let at = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    [
        i.number.clone(),
        i.client_code.clone(),
        i.contract_number.clone(),
        i.period_start.to_string(),
        i.period_end.to_string(),
        rub(i.tariff_amount),
        i.extra_minutes.to_string(),
        rub(i.extra_amount),
        rub(i.amount),
        i.status.clone(),
        at(i.sent_at),
        at(i.paid_at),
    ]
}

/// Invoices as CSV (amounts in roubles with a dot), for spreadsheets and 1C.
pub fn invoices_csv(invoices: &[Invoice]) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| DeskError::Io(std::io::Error::other(e.to_string()));
    out.write_record(INVOICE_HEAD).map_err(io)?;
    for i in invoices {
        out.write_record(invoice_cells(i)).map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| DeskError::Io(std::io::Error::other(e.to_string())))
}

pub fn invoices_xlsx(invoices: &[Invoice]) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, title) in INVOICE_HEAD.iter().enumerate() {
        sheet
            .write_string(0, col as u16, *title)
            .map_err(xlsx_error)?;
    }
    for (i, invoice) in invoices.iter().enumerate() {
        for (col, cell) in invoice_cells(invoice).iter().enumerate() {
            sheet
                .write_string(i as u32 + 1, col as u16, cell)
                .map_err(xlsx_error)?;
        }
    }
    book.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
// Amounts in kopecks read as roubles_kopecks.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn billed_time_rounds_up_to_the_step_and_spent_time_stays() {
        assert_eq!(billed_minutes(61, 15), 15);
        assert_eq!(billed_minutes(15 * 60, 15), 15);
        assert_eq!(billed_minutes(15 * 60 + 1, 15), 30);
        assert_eq!(billed_minutes(0, 15), 0);
        assert_eq!(billed_minutes(90, 0), 2);
    }

    #[test]
    fn a_contracts_length_is_counted_in_months() {
        assert_eq!(months_in(date(2026, 1, 1), date(2026, 12, 31)), 12);
        assert_eq!(months_in(date(2026, 1, 1), date(2026, 1, 31)), 1);
        assert_eq!(months_in(date(2026, 1, 15), date(2026, 1, 20)), 1);
        assert_eq!(amount_for(90, 2000_00), 3000_00);
    }

    #[test]
    fn the_report_page_escapes_what_clients_wrote() {
        let report = WorkReport {
            client: "ALFA".into(),
            client_name: "Альфа".into(),
            month: "2026-11".into(),
            lines: vec![WorkLine {
                ticket: "OK-000001".into(),
                subject: "<script>x</script>".into(),
                service: "question".into(),
                task: "answer".into(),
                specialist: "Иван".into(),
                started_at: "2026-11-02T07:00:00Z".into(),
                minutes_spent: 20,
                minutes_billed: 30,
                after_hours: false,
                amount: 1000_00,
                contract: "D-1".into(),
            }],
            minutes_spent: 20,
            minutes_billed: 30,
            amount: 1000_00,
        };
        let html = work_report_html(&report);
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("1000.00"));
        let xlsx = work_report_xlsx(&report).unwrap();
        assert_eq!(&xlsx[..2], b"PK");
    }
}
