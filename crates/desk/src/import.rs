//! Loading clients, contacts and contracts from the accounting system's files (CSV or XLSX)
//! and keeping them in step: every row is an idempotent upsert by external id (else by
//! code, email or number), so the same file loaded twice changes nothing the second time.
//! A bad row is refused with its line and the reason; the others still load.
//!
//! The first row names the columns (any order, case-insensitive); unknown columns are
//! ignored. Lists (services) are separated by `;` or `,`.

use crate::contracts::{ClientInput, ContactInput, ContractInput, LimitInput};
use crate::{Desk, DeskError, Result};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Clients,
    Contacts,
    Contracts,
}

impl ImportKind {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "clients" => Self::Clients,
            "contacts" => Self::Contacts,
            "contracts" => Self::Contracts,
            _ => return None,
        })
    }
}

/// A row refused, with the file line it came from (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub refused: Vec<Refused>,
}

/// A row as column → text, with its line in the file.
pub struct Row {
    pub line: usize,
    cells: HashMap<String, String>,
}

impl Row {
    fn text(&self, column: &str) -> String {
        self.cells.get(column).cloned().unwrap_or_default()
    }

    fn optional(&self, column: &str) -> Option<String> {
        Some(self.text(column)).filter(|t| !t.trim().is_empty())
    }

    fn flag(&self, column: &str) -> std::result::Result<bool, Refused> {
        match self.text(column).trim().to_lowercase().as_str() {
            "" | "0" | "false" | "no" | "нет" => Ok(false),
            "1" | "true" | "yes" | "да" => Ok(true),
            other => Err(self.refuse(column, format!("{other:?} is not yes/no"))),
        }
    }

    fn number(&self, column: &str) -> std::result::Result<Option<f64>, Refused> {
        let text = self.text(column).trim().replace(',', ".").replace(' ', "");
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| self.refuse(column, format!("{text:?} is not a number")))
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.text(column)
            .split([';', ','])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    fn refuse(&self, field: &str, reason: String) -> Refused {
        Refused {
            line: self.line,
            field: Some(field.to_owned()),
            reason,
        }
    }
}

fn io(message: String) -> DeskError {
    DeskError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        message,
    ))
}

fn rows_from(header: Vec<String>, body: Vec<(usize, Vec<String>)>) -> Vec<Row> {
    let header: Vec<String> = header
        .into_iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    body.into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| Row {
            line,
            cells: header.iter().cloned().zip(cells).collect(),
        })
        .collect()
}

/// Reads a CSV file (comma or semicolon separated, as 1C and spreadsheets write them).
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Row>> {
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|b| **b == b';').count()
        > first_line.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| io(format!("line 1: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut body = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            io(format!("line {line}: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        body.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows_from(header, body))
}

/// Reads the first sheet of an XLSX workbook; dates become `YYYY-MM-DD`.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| io(format!("not an XLSX workbook: {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| io("the workbook has no sheet".into()))?
        .map_err(|e| io(e.to_string()))?;
    let start_row = range.start().map_or(0, |(r, _)| r as usize);
    let cell = |d: &Data| match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    };
    let mut rows = range.rows();
    let header = rows
        .next()
        .ok_or_else(|| io("the sheet is empty".into()))?
        .iter()
        .map(cell)
        .collect();
    let body = rows
        .enumerate()
        .map(|(i, r)| (start_row + i + 2, r.iter().map(cell).collect()))
        .collect();
    Ok(rows_from(header, body))
}

/// An Excel serial day (1900 system) as an ISO date.
fn excel_date(serial: f64) -> String {
    let epoch = jiff::civil::date(1899, 12, 30);
    epoch
        .checked_add(jiff::Span::new().days(serial.floor() as i64))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// Reads CSV or XLSX by the file's first bytes (XLSX is a zip: `PK`).
pub fn read_rows(bytes: &[u8]) -> Result<Vec<Row>> {
    if bytes.starts_with(b"PK") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

fn refused_by(line: usize, error: DeskError) -> std::result::Result<Refused, DeskError> {
    match error {
        DeskError::Domain(okno_domain::DomainError::Invalid(e)) => Ok(Refused {
            line,
            field: Some(e.field.to_owned()),
            reason: e.message,
        }),
        DeskError::Domain(other) => Ok(Refused {
            line,
            field: None,
            reason: other.to_string(),
        }),
        other => Err(other),
    }
}

fn contract_input(row: &Row) -> std::result::Result<ContractInput, Refused> {
    let mut limits = Vec::new();
    for (column, unit, per) in [
        ("tickets_per_contact_day", "tickets", "contact_day"),
        ("tickets_per_month", "tickets", "month"),
        ("hours_per_month", "hours", "month"),
        ("license_keys", "license_keys", "period"),
    ] {
        if let Some(value) = row.number(column)? {
            limits.push(LimitInput {
                value: Some(value),
                unit: Some(unit.into()),
                per: Some(per.into()),
            });
        }
    }
    let rounding = row.number("rounding_minutes")?.unwrap_or(0.0);
    Ok(ContractInput {
        number: row.text("number"),
        client: row.text("client"),
        starts_on: row.text("starts_on"),
        ends_on: row.text("ends_on"),
        support_level: row.optional("support_level"),
        services: row.list("services"),
        tariff: row.number("tariff")?.unwrap_or(0.0),
        hourly_rate: row.number("hourly_rate")?.unwrap_or(0.0),
        after_hours_rate: row.number("after_hours_rate")?.unwrap_or(0.0),
        rounding_minutes: rounding as i64,
        billable_services: row.list("billable_services"),
        limits,
        limit_reaction: row.optional("limit_reaction"),
        external_id: row.optional("external_id"),
    })
}

impl Desk {
    /// Loads rows of one kind; `progress(done, total)` after each row. Only a store
    /// failure stops the import; bad rows are reported and skipped.
    pub async fn import_rows(
        &self,
        kind: ImportKind,
        rows: &[Row],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        for (done, row) in rows.iter().enumerate() {
            let outcome = match self.import_row(kind, row).await {
                Ok(Ok(created)) => Ok(created),
                Ok(Err(refused)) => Err(refused),
                Err(error) => Err(refused_by(row.line, error)?),
            };
            match outcome {
                Ok(true) => report.created += 1,
                Ok(false) => report.updated += 1,
                Err(refused) => report.refused.push(refused),
            }
            progress(done + 1, rows.len());
        }
        Ok(report)
    }

    async fn import_row(
        &self,
        kind: ImportKind,
        row: &Row,
    ) -> Result<std::result::Result<bool, Refused>> {
        Ok(match kind {
            ImportKind::Clients => {
                let vip = match row.flag("vip") {
                    Ok(v) => v,
                    Err(r) => return Ok(Err(r)),
                };
                let input = ClientInput {
                    code: row.text("code"),
                    name: row.text("name"),
                    mail_domain: row.optional("mail_domain"),
                    calendar: row.optional("calendar"),
                    vip,
                    time_zone: row.optional("time_zone"),
                    notes: row.text("notes"),
                    access_notes: row.text("access_notes"),
                    external_id: row.optional("external_id"),
                };
                Ok(self.upsert_client(input).await?.1)
            }
            ImportKind::Contacts => {
                let (sees, director) = match (row.flag("sees_organization"), row.flag("director")) {
                    (Ok(s), Ok(d)) => (s, d),
                    (Err(r), _) | (_, Err(r)) => return Ok(Err(r)),
                };
                let input = ContactInput {
                    client: row.text("client"),
                    email: row.text("email"),
                    name: row.text("name"),
                    phone: row.optional("phone"),
                    telegram_id: row.optional("telegram_id"),
                    sees_organization: sees,
                    director,
                    external_id: row.optional("external_id"),
                };
                Ok(self.upsert_contact(input).await?.1)
            }
            ImportKind::Contracts => match contract_input(row) {
                Ok(input) => Ok(self.upsert_contract(None, input).await?.1),
                Err(refused) => Err(refused),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_semicolons_and_a_bom_reads_by_column_name() {
        let rows =
            read_rows("\u{feff}Code;Name;VIP\nALFA;Альфа, ООО;да\n\n;;\nBETA;Бета;0\n".as_bytes())
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text("code"), "ALFA");
        assert_eq!(rows[0].text("name"), "Альфа, ООО");
        assert_eq!(rows[0].flag("vip"), Ok(true));
        assert_eq!(rows[1].line, 5);
    }

    #[test]
    fn xlsx_rows_read_like_csv_rows() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["number", "client", "starts_on", "tariff"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "D-1").unwrap();
        sheet.write_string(1, 1, "ALFA").unwrap();
        let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 3, 1).unwrap();
        let date_format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
        sheet
            .write_datetime_with_format(1, 2, &day, &date_format)
            .unwrap();
        sheet.write_number(1, 3, 1500.5).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let rows = read_rows(&bytes).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].text("starts_on"), "2026-03-01");
        assert_eq!(rows[0].number("tariff"), Ok(Some(1500.5)));
        let input = contract_input(&rows[0]).unwrap();
        assert_eq!(input.number, "D-1");
    }

    #[test]
    fn a_bad_number_is_refused_with_its_line_and_column() {
        let rows = read_rows(b"number,client,tariff\nD-1,ALFA,lots\n").unwrap();
        let refused = contract_input(&rows[0]).unwrap_err();
        assert_eq!(refused.line, 2);
        assert_eq!(refused.field.as_deref(), Some("tariff"));
    }
}
