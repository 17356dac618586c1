//! Loading clients, contacts and contracts from the accounting system's files (CSV or XLSX)
//! and keeping them in step: every row is an idempotent upsert by external id (else by
//! code, email or number), so the same file loaded twice changes nothing the second time.
//! A bad row is refused with its line and the reason; the others still load.
//!
//! The first row names the columns (any order, case-insensitive); unknown columns are
//! ignored. Lists (services) are separated by `;` or `,`. A column left out, or an empty
//! cell, keeps what is stored (a VIP flag, a limit, the rounding): a file that knows only
//! some fields never wipes the others.

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
#[derive(Debug)]
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

    /// The columns this row fills: an empty cell, like a missing column, leaves the stored
    /// value as it is (see [`crate::upsert`]).
    pub fn given(&self) -> crate::upsert::Given {
        crate::upsert::Given::of(
            self.cells
                .iter()
                .filter(|(_, text)| !text.trim().is_empty())
                .map(|(column, _)| column.clone()),
        )
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

/// How much of a file the importers take in: an accounting export of a whole firm fits well
/// within these, and a hostile file (a sheet claiming cell XFD1048576, a zip bomb, an
/// unterminated quote) is refused before anything is allocated for it.
pub mod limits {
    /// The file as sent.
    pub const FILE_BYTES: usize = 32 * 1024 * 1024;
    /// All parts of an XLSX workbook once unpacked.
    pub const UNPACKED_BYTES: u64 = 128 * 1024 * 1024;
    /// Parts in an XLSX workbook.
    pub const ZIP_ENTRIES: usize = 10_000;
    /// Rows of a sheet or lines of a CSV file, the header included.
    pub const ROWS: usize = 200_000;
    /// Columns of a sheet or fields of a CSV record (`IV` is the 256th).
    pub const COLUMNS: usize = 256;
    /// Filled cells of a sheet.
    pub const CELLS: usize = 2_000_000;
}

fn check_size(bytes: &[u8]) -> Result<()> {
    if bytes.len() > limits::FILE_BYTES {
        return Err(io(format!(
            "the file has {} bytes; at most {} are read",
            bytes.len(),
            limits::FILE_BYTES
        )));
    }
    Ok(())
}

/// The line where a quoted field opens and never closes, if one does (RFC 4180: a quote
/// opens a field only at its start; `""` inside it is a quote).
fn unterminated_quote(bytes: &[u8], delimiter: u8) -> Option<usize> {
    let (mut line, mut field_start, mut open_since) = (1, true, None);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if open_since.is_some() {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    open_since = None;
                }
            }
        } else {
            if b == b'"' && field_start {
                open_since = Some(line);
            }
            field_start = b == delimiter || b == b'\n' || b == b'\r';
        }
        if b == b'\n' {
            line += 1;
        }
        i += 1;
    }
    open_since
}

/// Reads a CSV file (comma or semicolon separated, as 1C and spreadsheets write them).
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Row>> {
    check_size(bytes)?;
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|b| **b == b';').count()
        > first_line.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    if let Some(line) = unterminated_quote(bytes, delimiter) {
        return Err(io(format!(
            "line {line}: a quoted field opens here and never closes"
        )));
    }
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
    if header.len() > limits::COLUMNS {
        return Err(io(format!(
            "line 1: {} columns; at most {} are read",
            header.len(),
            limits::COLUMNS
        )));
    }
    let mut body = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            io(format!("line {line}: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() > limits::COLUMNS {
            return Err(io(format!(
                "line {line}: {} fields; at most {} are read",
                record.len(),
                limits::COLUMNS
            )));
        }
        if body.len() + 1 >= limits::ROWS {
            return Err(io(format!(
                "line {line}: more than {} rows; split the file",
                limits::ROWS
            )));
        }
        body.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows_from(header, body))
}

/// Unpacks every part of the workbook into nothing, counting: declared sizes can lie, so
/// the bytes are counted as they come out and the count stops at the limit.
fn check_unpacked(bytes: &[u8]) -> Result<()> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| io(format!("not an XLSX workbook: {e}")))?;
    if zip.len() > limits::ZIP_ENTRIES {
        return Err(io(format!(
            "the workbook has {} parts; at most {} are read",
            zip.len(),
            limits::ZIP_ENTRIES
        )));
    }
    let mut budget = limits::UNPACKED_BYTES;
    for index in 0..zip.len() {
        let part = zip
            .by_index(index)
            .map_err(|e| io(format!("not an XLSX workbook: {e}")))?;
        if part.size() > budget {
            return Err(too_unpacked());
        }
        let mut limited = std::io::Read::take(part, budget + 1);
        let unpacked = std::io::copy(&mut limited, &mut std::io::sink())
            .map_err(|e| io(format!("not an XLSX workbook: {e}")))?;
        budget = budget.checked_sub(unpacked).ok_or_else(too_unpacked)?;
    }
    Ok(())
}

fn too_unpacked() -> DeskError {
    io(format!(
        "the workbook unpacks to more than {} bytes",
        limits::UNPACKED_BYTES
    ))
}

/// `A1`-style name of a zero-based cell position.
fn cell_name(row: u32, column: u32) -> String {
    let mut letters = Vec::new();
    let mut n = u64::from(column) + 1;
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8_lossy(&letters),
        u64::from(row) + 1
    )
}

/// Reads the first sheet of an XLSX workbook; dates become `YYYY-MM-DD`. The cells are
/// streamed and kept sparse: a sheet's claimed extent is never allocated.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>> {
    use calamine::{Data, Reader, Xlsx};
    check_size(bytes)?;
    check_unpacked(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| io(format!("not an XLSX workbook: {e}")))?;
    let first = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| io("the workbook has no sheet".into()))?;
    let mut reader = book
        .worksheet_cells_reader(&first)
        .map_err(|e| io(e.to_string()))?;
    let text = |d: Data| match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s,
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    };
    let mut sheet: std::collections::BTreeMap<u32, Vec<(u32, String)>> = Default::default();
    let mut cells = 0usize;
    while let Some(cell) = reader.next_cell().map_err(|e| io(e.to_string()))? {
        let (row, column) = cell.get_position();
        if column as usize >= limits::COLUMNS {
            return Err(io(format!(
                "cell {}: at most {} columns are read",
                cell_name(row, column),
                limits::COLUMNS
            )));
        }
        if row as usize >= limits::ROWS {
            return Err(io(format!(
                "cell {}: at most {} rows are read",
                cell_name(row, column),
                limits::ROWS
            )));
        }
        cells += 1;
        if cells > limits::CELLS {
            return Err(io(format!(
                "cell {}: more than {} filled cells",
                cell_name(row, column),
                limits::CELLS
            )));
        }
        let value = text(Data::from(cell.get_value().clone()));
        if !value.is_empty() {
            sheet.entry(row).or_default().push((column, value));
        }
    }
    let dense = |cells: Vec<(u32, String)>| {
        let width = cells
            .iter()
            .map(|(c, _)| *c as usize + 1)
            .max()
            .unwrap_or(0);
        let mut out = vec![String::new(); width];
        for (c, v) in cells {
            out[c as usize] = v;
        }
        out
    };
    let mut rows = sheet.into_iter();
    let header = rows
        .next()
        .map(|(_, cells)| dense(cells))
        .ok_or_else(|| io("the sheet is empty".into()))?;
    let body = rows
        .map(|(row, cells)| (row as usize + 1, dense(cells)))
        .collect();
    Ok(rows_from(header, body))
}

/// An Excel serial day (1900 system) as an ISO date.
fn excel_date(serial: f64) -> String {
    if !serial.is_finite() {
        return String::new();
    }
    let epoch = jiff::civil::date(1899, 12, 30);
    jiff::Span::new()
        .try_days(serial.floor() as i64)
        .ok()
        .and_then(|days| epoch.checked_add(days).ok())
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
    for (column, unit, per) in crate::upsert::LIMIT_COLUMNS {
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
                Ok(self.upsert_client_given(input, &row.given()).await?.1)
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
                Ok(input) => Ok(self
                    .upsert_contract_given(None, input, &row.given())
                    .await?
                    .1),
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
    fn a_sheet_claiming_the_last_cell_is_refused_without_allocating_it() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "code").unwrap();
        sheet.write_string(1_048_575, 16_383, "boom").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let error = read_rows(&bytes).unwrap_err().to_string();
        assert!(error.contains("cell XFD1048576"), "{error}");
        assert!(error.contains("256 columns"), "{error}");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "code").unwrap();
        sheet.write_string(1_048_575, 0, "far down").unwrap();
        let error = read_rows(&book.save_to_buffer().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("cell A1048576"), "{error}");
    }

    #[test]
    fn sparse_sheets_keep_their_lines_and_columns() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(2, 1, "code").unwrap();
        sheet.write_string(2, 3, "name").unwrap();
        sheet.write_string(6, 3, "Альфа").unwrap();
        sheet.write_string(6, 1, "ALFA").unwrap();
        let rows = read_rows(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 7);
        assert_eq!(rows[0].text("code"), "ALFA");
        assert_eq!(rows[0].text("name"), "Альфа");
    }

    #[test]
    fn cell_names_count_like_spreadsheets() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 25), "Z10");
        assert_eq!(cell_name(0, 26), "AA1");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
        assert!(cell_name(u32::MAX, u32::MAX).ends_with("WV4294967296"));
    }

    #[test]
    fn an_unterminated_quote_is_refused_naming_its_line() {
        let csv = b"code,name\nALFA,Alfa\nBETA,\"Beta\nGAMMA,Gamma\nDELTA,Delta\n";
        let error = read_rows(csv).unwrap_err().to_string();
        assert!(error.contains("line 3"), "{error}");
        let fine = b"code,name\nALFA,\"two\nlines, \"\"quoted\"\"\"\nBETA,x\"y\n";
        let rows = read_rows(fine).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text("name"), "two\nlines, \"quoted\"");
        assert_eq!(rows[1].text("name"), "x\"y");
    }

    #[test]
    fn wide_or_huge_csv_files_are_refused() {
        let wide = format!("{}\n", vec!["c"; limits::COLUMNS + 1].join(","));
        assert!(
            read_rows(wide.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        let huge = vec![b'a'; limits::FILE_BYTES + 1];
        assert!(read_rows(&huge).unwrap_err().to_string().contains("bytes"));
    }

    #[test]
    fn absurd_excel_dates_read_as_nothing() {
        assert_eq!(excel_date(46082.0), "2026-03-01");
        assert_eq!(excel_date(1e300), "");
        assert_eq!(excel_date(-1e18), "");
        assert_eq!(excel_date(f64::NAN), "");
    }

    #[test]
    fn a_bad_number_is_refused_with_its_line_and_column() {
        let rows = read_rows(b"number,client,tariff\nD-1,ALFA,lots\n").unwrap();
        let refused = contract_input(&rows[0]).unwrap_err();
        assert_eq!(refused.line, 2);
        assert_eq!(refused.field.as_deref(), Some("tariff"));
    }
}
