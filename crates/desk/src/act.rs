//! The act of completed works for 1C:Бухгалтерия (issue 21), made from the monthly work
//! report.
//!
//! Format: **EnterpriseData** (`http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.8`), the
//! exchange format 1C:Бухгалтерия 3.0 loads through "Загрузка данных из файла" and its
//! universal exchange; an act of services there is the document
//! `Документ.РеализацияТоваровУслуг` with an `Услуги` table (the accountant sees it as
//! "Реализация (акт, накладная)" of the operation kind "Услуги"). CommerceML 2 was the other
//! candidate: it describes a trade catalogue, offers and orders between a web shop and 1C,
//! has no document for services rendered under a contract and no contract reference, so
//! it does not fit an act.
//!
//! One document per contract of the month: its number, the client (counterparty) and the
//! contract by number, one line per service with the billed hours (`Количество`, in hours
//! to two decimals), the price per hour and the amount; VAT is not charged
//! (`СтавкаНДС` `БезНДС`, the usual case of a small support firm; the accountant changes it
//! in 1C otherwise). `Ссылка` is derived from client, month and contract, so loading the
//! same act twice updates the document instead of making a second one.

use crate::billing::WorkReport;
use crate::{Desk, Result};
use jiff::civil::Date;
use okno_domain::User;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

pub const ENTERPRISE_DATA: &str = "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.8";
const MESSAGE: &str = "http://www.1c.ru/SSL/Exchange/Message";

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A stable UUID-shaped reference of `key`.
pub fn reference(key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn money(kopecks: i64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

/// One line of an act: a service, its billed minutes and amount.
#[derive(Debug, Default, Clone, Copy)]
struct Works {
    minutes: i64,
    amount: i64,
    tickets: usize,
}

/// The act of the month as an EnterpriseData message; `last_day` is the act's date.
pub fn act_xml(report: &WorkReport, last_day: Date, company: &str) -> String {
    // contract → service → works; lines with no contract are not billed and stay out.
    let mut contracts: BTreeMap<&str, BTreeMap<&str, (Works, Vec<&str>)>> = BTreeMap::new();
    for line in report.lines.iter().filter(|l| !l.contract.is_empty()) {
        let (works, tickets) = contracts
            .entry(&line.contract)
            .or_default()
            .entry(&line.service)
            .or_default();
        works.minutes += line.minutes_billed;
        works.amount += line.amount;
        if !tickets.contains(&line.ticket.as_str()) {
            tickets.push(&line.ticket);
            works.tickets += 1;
        }
    }
    let mut body = String::new();
    for (contract, services) in &contracts {
        let key = format!("{}|{}|{}", report.client, report.month, contract);
        let total: i64 = services.values().map(|(w, _)| w.amount).sum();
        let _ = write!(
            body,
            "<Документ.РеализацияТоваровУслуг><КлючевыеСвойства><Ссылка>{reference}</Ссылка>\
             <Дата>{last_day}T23:59:59</Дата><Номер>{number}</Номер>\
             <Организация><Наименование>{company}</Наименование></Организация></КлючевыеСвойства>\
             <ВидОперации>Услуги</ВидОперации><Валюта><Код>643</Код><Наименование>руб.</Наименование></Валюта>\
             <Сумма>{total}</Сумма><СуммаВключаетНДС>false</СуммаВключаетНДС>\
             <Контрагент><Ссылка>{client_ref}</Ссылка><Наименование>{client_name}</Наименование>\
             <ЮридическоеФизическоеЛицо>ЮридическоеЛицо</ЮридическоеФизическоеЛицо></Контрагент>\
             <ДанныеВзаиморасчетов><Договор><Ссылка>{contract_ref}</Ссылка><ВидДоговора>СПокупателем</ВидДоговора>\
             <Номер>{contract}</Номер><Наименование>Договор № {contract}</Наименование></Договор>\
             <ВалютаВзаиморасчетов><Код>643</Код></ВалютаВзаиморасчетов><КурсВзаиморасчетов>1</КурсВзаиморасчетов>\
             <КратностьВзаиморасчетов>1</КратностьВзаиморасчетов><РасчетыВУсловныхЕдиницах>false</РасчетыВУсловныхЕдиницах>\
             </ДанныеВзаиморасчетов><Услуги>",
            reference = reference(&key),
            number = xml(&format!("{}-{}", contract, report.month)),
            company = xml(company),
            total = money(total),
            client_ref = reference(&format!("client|{}", report.client)),
            client_name = xml(&report.client_name),
            contract_ref = reference(&format!("contract|{contract}")),
            contract = xml(contract),
        );
        for (service, (works, tickets)) in services {
            let hours = works.minutes as f64 / 60.0;
            let price = if works.minutes > 0 {
                works.amount * 60 / works.minutes
            } else {
                0
            };
            let _ = write!(
                body,
                "<Строка><Номенклатура><Ссылка>{reference}</Ссылка><НаименованиеПолное>Техническая поддержка: {service}</НаименованиеПолное>\
                 <Наименование>Техническая поддержка: {service}</Наименование><ЭтоУслуга>true</ЭтоУслуга></Номенклатура>\
                 <ЕдиницаИзмерения><Код>356</Код><Наименование>ч</Наименование></ЕдиницаИзмерения>\
                 <Количество>{hours:.2}</Количество><Цена>{price}</Цена><Сумма>{amount}</Сумма>\
                 <СтавкаНДС>БезНДС</СтавкаНДС><Содержание>{content}</Содержание></Строка>",
                reference = reference(&format!("service|{service}")),
                service = xml(service),
                price = money(price),
                amount = money(works.amount),
                content = xml(&format!(
                    "Техническая поддержка «{service}» за {}: обращений {}, {hours:.2} ч ({})",
                    report.month,
                    works.tickets,
                    tickets.join(", ")
                )),
            );
        }
        body.push_str("</Услуги></Документ.РеализацияТоваровУслуг>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Message xmlns:msg=\"{MESSAGE}\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <msg:Header><msg:Format>{ENTERPRISE_DATA}</msg:Format>\
         <msg:CreationDate>{last_day}T23:59:59</msg:CreationDate>\
         <msg:AvailableVersion>1.8</msg:AvailableVersion></msg:Header>\
         <Body xmlns=\"{ENTERPRISE_DATA}\">{body}</Body></Message>\n"
    )
}

impl Desk {
    /// The client's act of completed works for a month (`YYYY-MM`) as EnterpriseData XML.
    pub async fn work_act(&self, user: &User, client: &str, month: &str) -> Result<String> {
        let report = self.work_report(user, client, month).await?;
        let first: Date = format!("{}-01", report.month)
            .parse()
            .map_err(|_| okno_domain::FieldError::new("month", "expected YYYY-MM"))?;
        let company = &self.contract_settings.registration.company;
        Ok(act_xml(&report, first.last_of_month(), company))
    }
}

#[cfg(test)]
// Amounts in kopecks read as roubles_kopecks.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::billing::WorkLine;
    use jiff::civil::date;

    fn line(ticket: &str, service: &str, billed: i64, amount: i64, contract: &str) -> WorkLine {
        WorkLine {
            ticket: ticket.into(),
            subject: "<Тема & «кавычки»>".into(),
            service: service.into(),
            task: "answer".into(),
            specialist: "Иван".into(),
            started_at: "2026-11-02T07:00:00Z".into(),
            minutes_spent: billed,
            minutes_billed: billed,
            after_hours: false,
            amount,
            contract: contract.into(),
        }
    }

    #[test]
    fn references_are_stable_and_uuid_shaped() {
        let a = reference("ALFA|2026-11|D-1");
        assert_eq!(a, reference("ALFA|2026-11|D-1"));
        assert_ne!(a, reference("ALFA|2026-12|D-1"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn unbilled_work_and_escaping() {
        let report = WorkReport {
            client: "ALFA".into(),
            client_name: "ООО \"Альфа\" & Ко".into(),
            month: "2026-11".into(),
            lines: vec![
                line("OK-000001", "q<s>", 30, 1000_00, "D-1"),
                line("OK-000002", "docs", 15, 0, ""),
            ],
            minutes_spent: 45,
            minutes_billed: 45,
            amount: 1000_00,
        };
        let xml = act_xml(&report, date(2026, 11, 30), "Окно");
        assert!(xml.contains("ООО &quot;Альфа&quot; &amp; Ко"));
        assert!(xml.contains("q&lt;s&gt;"));
        assert!(
            !xml.contains("OK-000002"),
            "work with no contract is not in the act"
        );
    }
}
