//! Outbound mail: texts in Russian and English, and the message with the headers that keep
//! threads together and loops away (Message-ID, In-Reply-To, References, Auto-Submitted,
//! X-Loop, the ticket number in the subject).

use crate::thread::subject_with_number;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, Mailboxes, Message, MultiPart, SinglePart};
use okno_domain::TicketNumber;

/// What a notification is about; each has a template in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The ticket is accepted: its number and the reaction deadline.
    Accepted { reaction_due: Option<String> },
    /// A new public comment on the ticket.
    Comment { author: String, body: String },
    /// The status changed; the next-step date when there is one.
    Status {
        status: String,
        next_step: Option<String>,
    },
    /// Solved, with the link to rate the answer.
    Solved { rating_url: String },
    /// Closed by itself after waiting on the client.
    AutoClosed { days: i64 },
    /// Line 4: the ticket handed to a vendor's support.
    VendorTransfer { body: String },
    /// The client wrote on a closed ticket: it is under way again, the answer by `due`.
    Reopened { due: Option<String> },
}

/// One message to send, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Renders `notice` for ticket `number` (`subject`: the ticket's) in `locale` (`ru`, else English).
pub fn render(notice: &Notice, number: TicketNumber, subject: &str, locale: &str) -> Rendered {
    let ru = !locale.starts_with("en");
    let (head, body) = match notice {
        Notice::Accepted { reaction_due } => {
            let due = reaction_due.as_deref();
            if ru {
                (
                    "Обращение принято".to_owned(),
                    format!(
                        "Здравствуйте!\n\nВаше обращение зарегистрировано под номером {number}.\n{}\nЧтобы дополнить обращение, просто ответьте на это письмо, не меняя номер в теме.",
                        due.map(|d| format!("Мы отреагируем не позднее {d}.\n"))
                            .unwrap_or_default()
                    ),
                )
            } else {
                (
                    "Request received".to_owned(),
                    format!(
                        "Hello,\n\nYour request is registered as {number}.\n{}\nTo add to it, just reply to this message keeping the number in the subject.",
                        due.map(|d| format!("We will respond by {d}.\n"))
                            .unwrap_or_default()
                    ),
                )
            }
        }
        Notice::Comment { author, body } => {
            if ru {
                (
                    "Новый ответ".to_owned(),
                    format!("{author} пишет:\n\n{body}"),
                )
            } else {
                ("New reply".to_owned(), format!("{author} wrote:\n\n{body}"))
            }
        }
        Notice::Status { status, next_step } => {
            let next = next_step.as_deref();
            if ru {
                (
                    "Статус изменён".to_owned(),
                    format!(
                        "Статус обращения {number}: {}.{}",
                        status_ru(status),
                        next.map(|d| format!(
                            "\nСледующий шаг по вашему вопросу — не позднее {d}."
                        ))
                        .unwrap_or_default()
                    ),
                )
            } else {
                (
                    "Status changed".to_owned(),
                    format!(
                        "Request {number} is now {}.{}",
                        status.replace('_', " "),
                        next.map(|d| format!("\nThe next step will happen by {d}."))
                            .unwrap_or_default()
                    ),
                )
            }
        }
        Notice::Solved { rating_url } => {
            if ru {
                (
                    "Обращение решено".to_owned(),
                    format!(
                        "Мы считаем обращение {number} решённым.\nОцените, пожалуйста, ответ: {rating_url}\nЕсли вопрос не решён, ответьте на это письмо."
                    ),
                )
            } else {
                (
                    "Request solved".to_owned(),
                    format!(
                        "We consider request {number} solved.\nPlease rate our answer: {rating_url}\nIf it is not solved, reply to this message."
                    ),
                )
            }
        }
        Notice::AutoClosed { days } => {
            if ru {
                (
                    "Обращение закрыто".to_owned(),
                    format!(
                        "Мы не получили ответа {days} дн. и закрыли обращение {number}.\nЕсли вопрос остался, ответьте на это письмо или создайте новое обращение."
                    ),
                )
            } else {
                (
                    "Request closed".to_owned(),
                    format!(
                        "We had no answer for {days} days and closed request {number}.\nIf the question remains, reply to this message or open a new request."
                    ),
                )
            }
        }
        Notice::Reopened { due } => {
            let due = due.as_deref();
            if ru {
                (
                    "Обращение снова в работе".to_owned(),
                    format!(
                        "Мы получили ваше сообщение по закрытому обращению {number} и снова взяли его в работу.{}",
                        due.map(|d| format!("\nОтветим не позднее {d}."))
                            .unwrap_or_default()
                    ),
                )
            } else {
                (
                    "Request reopened".to_owned(),
                    format!(
                        "We received your message on closed request {number} and are working on it again.{}",
                        due.map(|d| format!("\nWe will answer by {d}."))
                            .unwrap_or_default()
                    ),
                )
            }
        }
        Notice::VendorTransfer { body } => (
            if ru {
                "Запрос в поддержку"
            } else {
                "Support request"
            }
            .to_owned(),
            body.clone(),
        ),
    };
    Rendered {
        subject: subject_with_number(number, &format!("{head}: {subject}")),
        body,
    }
}

/// A contract notice (issue 6's lifecycle job): `event` is `starts`, `ends` or `ended`.
/// Its readers are all of the client's contacts, whatever their language: both texts.
pub fn render_contract(
    event: &str,
    contract: &str,
    starts_on: &str,
    ends_on: &str,
    days: i64,
) -> Rendered {
    let (subject, ru, en) = match event {
        "starts" => (
            format!("Договор {contract} начинает действовать / Contract {contract} starts"),
            format!("Договор {contract} начинает действовать {starts_on} (через {days} дн.)."),
            format!("Contract {contract} comes into force on {starts_on} (in {days} days)."),
        ),
        "ended" => (
            format!("Договор {contract} закончился / Contract {contract} has ended"),
            format!(
                "Договор {contract} закончился {ends_on}: поддержка по нему прекращена. Чтобы продлить её, свяжитесь с нами."
            ),
            format!(
                "Contract {contract} ended on {ends_on}: support under it has stopped. Contact us to renew it."
            ),
        ),
        _ => (
            format!("Договор {contract} заканчивается / Contract {contract} is ending"),
            format!(
                "Договор {contract} заканчивается {ends_on} (через {days} дн.). Чтобы поддержка не прервалась, продлите его."
            ),
            format!(
                "Contract {contract} ends on {ends_on} (in {days} days). Renew it to keep support going."
            ),
        ),
    };
    Rendered {
        subject,
        body: format!("Здравствуйте!\n\n{ru}\n\n---\nHello,\n\n{en}"),
    }
}

/// One text for readers of several languages: theirs when they share one, else Russian
/// then English.
pub fn for_readers(locales: &[String], render: impl Fn(&str) -> Rendered) -> Rendered {
    let english = |l: &String| l.starts_with("en");
    if !locales.is_empty() && locales.iter().all(english) {
        return render("en");
    }
    if !locales.iter().any(english) {
        return render("ru");
    }
    let (ru, en) = (render("ru"), render("en"));
    Rendered {
        subject: format!("{} / {}", ru.subject, en.subject),
        body: format!("{}\n\n---\n\n{}", ru.body, en.body),
    }
}

/// A client's monthly work report, attached as a printable page.
pub fn render_work_report(client_name: &str, month: &str, locale: &str) -> Rendered {
    if locale.starts_with("en") {
        Rendered {
            subject: format!("Work report for {month}: {client_name}"),
            body: format!(
                "Hello,\n\nThe report of our work for {client_name} in {month} is attached: \
                 tickets, tasks, specialists, time spent and billed.\n\n\
                 If anything in it looks wrong, reply to this message."
            ),
        }
    } else {
        Rendered {
            subject: format!("Отчёт о работах за {month}: {client_name}"),
            body: format!(
                "Здравствуйте!\n\nВо вложении — отчёт о работах для {client_name} за {month}: \
                 тикеты, задачи, специалисты, затраченное и оплачиваемое время.\n\n\
                 Если что-то в нём не так, ответьте на это письмо."
            ),
        }
    }
}

/// A report a manager subscribed to, attached as a workbook.
pub fn render_scheduled_report(report: &str, from: &str, to: &str, locale: &str) -> Rendered {
    if locale.starts_with("en") {
        Rendered {
            subject: format!("Report {report}: {from} – {to}"),
            body: format!(
                "Hello,\n\nThe {report} report for {from} – {to} you subscribed to is attached \
                 as a workbook. Unsubscribe on the reports page of the desk."
            ),
        }
    } else {
        Rendered {
            subject: format!("Отчёт {report}: {from} – {to}"),
            body: format!(
                "Здравствуйте!\n\nВо вложении — отчёт {report} за {from} – {to}, на который вы \
                 подписаны. Отписаться можно на странице отчётов."
            ),
        }
    }
}

/// A manager's alert: a contract ends with no successor.
pub fn render_contract_alert(
    contract: &str,
    client: &str,
    ends_on: &str,
    days: i64,
    locale: &str,
) -> Rendered {
    if locale.starts_with("en") {
        Rendered {
            subject: format!("Contract {contract} of {client} ends with no successor"),
            body: format!(
                "Contract {contract} of client {client} ends on {ends_on} (in {days} days) and \
                 no contract follows it: support for the client will switch off.\n\n\
                 Agree a renewal with the client or record the new contract."
            ),
        }
    } else {
        Rendered {
            subject: format!("Договор {contract} клиента {client} не продлён"),
            body: format!(
                "Договор {contract} клиента {client} заканчивается {ends_on} (через {days} дн.), \
                 а следующего договора нет: поддержка клиента отключится.\n\n\
                 Договоритесь о продлении или внесите новый договор."
            ),
        }
    }
}

fn status_ru(status: &str) -> &str {
    match status {
        "new" => "новое",
        "in_progress" => "в работе",
        "waiting_client" => "ждём вашего ответа",
        "resolved" => "решено",
        "closed" => "закрыто",
        other => other,
    }
}

/// The message as lettre sends it.
pub type WireMessage = Message;

/// Everything the SMTP side needs for one message.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub from: String,
    pub from_name: String,
    /// One address, or several separated by commas.
    pub to: String,
    /// Without brackets: `okno.<outbox id>@<domain>`, the same on every attempt.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Our X-Loop value.
    pub x_loop: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("address {0:?}: {1}")]
    Address(String, String),
    #[error("message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("attachment {0:?}: {1}")]
    File(String, String),
}

/// A file sent with a message (a report, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFile {
    pub file_name: String,
    /// A MIME type, `text/html; charset=utf-8` say.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The message as it goes on the wire.
pub fn build(envelope: &Envelope, rendered: &Rendered) -> Result<Message, BuildError> {
    build_with_files(envelope, rendered, &[])
}

/// The message with files attached (`multipart/mixed`: the text, then each file).
pub fn build_with_files(
    envelope: &Envelope,
    rendered: &Rendered,
    files: &[MailFile],
) -> Result<Message, BuildError> {
    let from: Mailbox = format!("{} <{}>", envelope.from_name, envelope.from)
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            BuildError::Address(envelope.from.clone(), e.to_string())
        })?;
    let to: Mailboxes = envelope
        .to
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            BuildError::Address(envelope.to.clone(), e.to_string())
        })?;
    let mut builder = Message::builder().from(from);
    for to in to {
        builder = builder.to(to);
    }
    let mut builder = builder
        .subject(rendered.subject.clone())
        .message_id(Some(format!("<{}>", envelope.message_id)))
        .date_now();
    if let Some(parent) = &envelope.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !envelope.references.is_empty() {
        let all: Vec<String> = envelope
            .references
            .iter()
            .map(|r| format!("<{r}>"))
            .collect();
        builder = builder.references(all.join(" "));
    }
    let mut message = if files.is_empty() {
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(rendered.body.clone())?
    } else {
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(rendered.body.clone()));
        for file in files {
            let content_type = ContentType::parse(&file.content_type)
                .map_err(|e| BuildError::File(file.file_name.clone(), e.to_string()))?;
            parts = parts.singlepart(
                Attachment::new(file.file_name.clone()).body(file.bytes.clone(), content_type),
            );
        }
        builder.multipart(parts)?
    };
    let headers = message.headers_mut();
    for (name, value) in [
        ("Auto-Submitted", "auto-generated".to_owned()),
        ("X-Loop", envelope.x_loop.clone()),
        ("X-Auto-Response-Suppress", "All".to_owned()),
    ] {
        let name = HeaderName::new_from_ascii_str(name);
        headers.insert_raw(HeaderValue::new(name, value));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_in_both_languages_carry_the_number() {
        let n = TicketNumber(123);
        let accepted = Notice::Accepted {
            reaction_due: Some("25.11.2026 15:00".into()),
        };
        let ru = render(&accepted, n, "Не печатается", "ru");
        assert_eq!(ru.subject, "[OK-000123] Обращение принято: Не печатается");
        assert!(ru.body.contains("OK-000123") && ru.body.contains("25.11.2026 15:00"));
        let en = render(&accepted, n, "Printing", "en");
        assert!(en.body.contains("registered as OK-000123"));
        let status = Notice::Status {
            status: "waiting_client".into(),
            next_step: Some("26.11".into()),
        };
        assert!(
            render(&status, n, "x", "ru")
                .body
                .contains("ждём вашего ответа")
        );
        let solved = Notice::Solved {
            rating_url: "https://desk/t/123#rate".into(),
        };
        assert!(
            render(&solved, n, "x", "en")
                .body
                .contains("https://desk/t/123#rate")
        );
    }

    #[test]
    fn contract_notices_in_both_languages_to_every_contact() {
        let ends = render_contract("ends", "A-7", "2026-01-01", "2026-12-31", 14);
        assert!(ends.subject.contains("A-7"));
        assert!(
            ends.body
                .contains("заканчивается 2026-12-31 (через 14 дн.)")
        );
        assert!(ends.body.contains("ends on 2026-12-31 (in 14 days)"));
        assert!(
            render_contract("ended", "A-7", "", "2026-12-31", 0)
                .body
                .contains("прекращена")
        );
        let envelope = Envelope {
            from: "support@okno.test".into(),
            from_name: "Окно".into(),
            to: "ivan@alfa.demo, petr@alfa.demo".into(),
            message_id: "okno.8@okno.test".into(),
            in_reply_to: None,
            references: Vec::new(),
            x_loop: "support@okno.test".into(),
        };
        let wire = build(&envelope, &ends).unwrap();
        let recipients: Vec<String> = wire.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(recipients, ["ivan@alfa.demo", "petr@alfa.demo"]);
    }

    #[test]
    fn message_has_threading_and_loop_headers() {
        let envelope = Envelope {
            from: "support@okno.test".into(),
            from_name: "Окно".into(),
            to: "ivan@alfa.demo".into(),
            message_id: "okno.7@okno.test".into(),
            in_reply_to: Some("a1@alfa.demo".into()),
            references: vec!["a1@alfa.demo".into()],
            x_loop: "support@okno.test".into(),
        };
        let rendered = render(
            &Notice::Comment {
                author: "Line 1".into(),
                body: "Попробуйте так".into(),
            },
            TicketNumber(7),
            "Счёт",
            "ru",
        );
        let wire = String::from_utf8(build(&envelope, &rendered).unwrap().formatted()).unwrap();
        assert!(wire.contains("Message-ID: <okno.7@okno.test>"), "{wire}");
        assert!(wire.contains("In-Reply-To: <a1@alfa.demo>"));
        assert!(wire.contains("References: <a1@alfa.demo>"));
        assert!(wire.contains("Auto-Submitted: auto-generated"));
        assert!(wire.contains("X-Loop: support@okno.test"));
        let parsed = crate::inbound::parse(wire.as_bytes()).unwrap();
        assert_eq!(parsed.subject, "[OK-000007] Новый ответ: Счёт");
        assert!(parsed.text.contains("Попробуйте так"));
        assert_eq!(
            parsed.signals.auto_submitted.as_deref(),
            Some("auto-generated")
        );
    }
}
