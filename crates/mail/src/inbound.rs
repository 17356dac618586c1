//! Reading one inbound message: headers, the text a person wrote, attachments.
//!
//! MIME (charsets, encoded words, RFC 2231 names, nested multiparts, forwarded messages) is
//! mail-parser's job; here we pick what the desk needs, sanitize HTML (remote images
//! blocked), and unpack uuencoded blocks that old mailers still put into plain text.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

/// What the desk needs of one message. Owns its data: the raw bytes stay with the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMail {
    /// Without angle brackets; `None` when the message has none.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The sender's address, lower-cased (From, else Sender, else Return-Path).
    pub from: Option<String>,
    pub from_name: Option<String>,
    /// Every To and Cc address, lower-cased.
    pub recipients: Vec<String>,
    pub subject: String,
    /// The text: the first text/plain part, else the HTML converted to text.
    pub text: String,
    /// The first HTML part, sanitized: no scripts, no remote images.
    pub html: Option<String>,
    pub attachments: Vec<MailAttachment>,
    /// Loop and noise signals, as the headers say.
    pub signals: Signals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    /// Inline parts (images an HTML body shows) carry their Content-ID.
    pub content_id: Option<String>,
    pub bytes: Vec<u8>,
}

/// Header facts that decide whether a message may be answered or is a bounce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// `Auto-Submitted` value, lower-cased, when present.
    pub auto_submitted: Option<String>,
    /// `Precedence` value, lower-cased.
    pub precedence: Option<String>,
    /// Every `X-Loop` value, lower-cased.
    pub x_loop: Vec<String>,
    pub auto_response_suppress: bool,
    pub list_id: bool,
    /// A delivery status notification: `multipart/report; report-type=delivery-status`.
    pub delivery_report: bool,
    /// The Message-IDs a bounce says it is about (from its attached original headers).
    pub bounced_ids: Vec<String>,
    /// `X-Autoreply` or `X-Autorespond` is present (mailers that skip `Auto-Submitted`).
    pub x_autoreply: bool,
    /// Every `Authentication-Results` value, as written (see [`crate::authentication`]).
    pub authentication_results: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a mail message (no headers)")]
    NotMail,
    #[error("the message has no sender address")]
    NoSender,
    #[error("the MIME structure is broken beyond reading")]
    Broken,
}

/// Parses one RFC 5322 message. Never panics on any input (the fuzz target and the
/// pipeline's property tests check it).
pub fn parse(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    // mail-parser itself panics on some broken multiparts ("Invalid part ID, could not find
    // multipart", found by the property test): such a message is unreadable, and the
    // poller goes on with the next one.
    match std::panic::catch_unwind(|| parse_message(raw)) {
        Ok(parsed) => parsed.map(ParsedMail::without_nul),
        Err(_) => Err(ParseError::Broken),
    }
}

impl ParsedMail {
    /// The same message without NUL characters, which no text column (PostgreSQL's
    /// `TEXT`, for one) takes; the raw message keeps them.
    fn without_nul(self) -> Self {
        fn clean(text: String) -> String {
            if text.contains('\0') {
                text.replace('\0', "")
            } else {
                text
            }
        }
        let all = |list: Vec<String>| list.into_iter().map(clean).collect();
        ParsedMail {
            message_id: self.message_id.map(clean).filter(|m| !m.is_empty()),
            in_reply_to: all(self.in_reply_to),
            references: all(self.references),
            from: self.from.map(clean),
            from_name: self.from_name.map(clean),
            recipients: all(self.recipients),
            subject: clean(self.subject),
            text: clean(self.text),
            html: self.html.map(clean),
            attachments: self
                .attachments
                .into_iter()
                .map(|a| MailAttachment {
                    file_name: clean(a.file_name),
                    content_type: clean(a.content_type),
                    content_id: a.content_id.map(clean),
                    ..a
                })
                .collect(),
            signals: Signals {
                auto_submitted: self.signals.auto_submitted.map(clean),
                precedence: self.signals.precedence.map(clean),
                x_loop: all(self.signals.x_loop),
                bounced_ids: all(self.signals.bounced_ids),
                authentication_results: all(self.signals.authentication_results),
                ..self.signals
            },
        }
    }
}

fn parse_message(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NotMail)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotMail);
    }
    let (from, from_name) = sender(message.from())
        .or_else(|| sender(message.sender()))
        .or_else(|| {
            message
                .return_address()
                .map(|a| (a.trim().to_lowercase(), None))
        })
        .filter(|(address, _)| address.contains('@'))
        .ok_or(ParseError::NoSender)?;
    let mut recipients = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        recipients.extend(
            list.iter()
                .filter_map(|a| a.address())
                .map(|a| a.trim().to_lowercase()),
        );
    }
    let html_raw = message
        .body_html(0)
        .filter(|_| message.html_body_count() > 0);
    let html = html_raw.as_deref().map(sanitize_html);
    let mut text = match message.text_part(0) {
        Some(part) if matches!(part.body, PartType::Text(_)) => {
            part.text_contents().unwrap_or_default().to_owned()
        }
        _ => message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    };
    let mut attachments = Vec::new();
    for part in message.attachments() {
        let file_name = part
            .attachment_name()
            .map(str::to_owned)
            .or_else(|| {
                part.message()
                    .map(|m| format!("{}.eml", m.subject().unwrap_or("message")))
            })
            .unwrap_or_else(|| "attachment".into());
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        attachments.push(MailAttachment {
            file_name,
            content_type: content_type.to_lowercase(),
            content_id: part.content_id().map(|c| strip_brackets(c).to_owned()),
            bytes: part.contents().to_vec(),
        });
    }
    let (clean, uu) = uudecode_blocks(&text);
    if !uu.is_empty() {
        text = clean;
        attachments.extend(uu);
    }
    let signals = signals(&message);
    Ok(ParsedMail {
        message_id: message
            .message_id()
            .map(|m| strip_brackets(m).to_owned())
            .filter(|m| !m.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        from: Some(from),
        from_name,
        recipients,
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        text: normalize_newlines(&text),
        html,
        attachments,
        signals,
    })
}

/// The first address and its display name. An unquoted name before a bare address
/// (`From: test test@example.com`) is read as name and address, as every mail client does.
fn sender(address: Option<&Address<'_>>) -> Option<(String, Option<String>)> {
    let first = address?.first()?;
    let raw = first.address()?.trim();
    let mut name = first
        .name()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let mail = match raw.rsplit_once(char::is_whitespace) {
        Some((before, last)) if last.contains('@') => {
            let before = before.trim();
            if name.is_none() && !before.is_empty() {
                name = Some(before.to_owned());
            }
            last
        }
        _ => raw,
    };
    Some((mail.to_lowercase(), name))
}

fn strip_brackets(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![strip_brackets(t).to_owned()],
        HeaderValue::TextList(list) => list.iter().map(|t| strip_brackets(t).to_owned()).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

fn header_text(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
}

fn signals(message: &mail_parser::Message<'_>) -> Signals {
    let x_loop = message
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("X-Loop"))
        .map(|(_, v)| v.trim().to_lowercase())
        .collect();
    let delivery_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let mut bounced_ids = Vec::new();
    if delivery_report {
        for part in message.parts.iter() {
            if let PartType::Message(inner) = &part.body {
                if let Some(id) = inner.message_id() {
                    bounced_ids.push(strip_brackets(id).to_owned());
                }
            } else if part.is_content_type("text", "rfc822-headers") {
                let headers = part.contents();
                if let Some(inner) = MessageParser::default().parse_headers(headers)
                    && let Some(id) = inner.message_id()
                {
                    bounced_ids.push(strip_brackets(id).to_owned());
                }
            }
        }
    }
    Signals {
        auto_submitted: header_text(message, "Auto-Submitted"),
        precedence: header_text(message, "Precedence"),
        x_loop,
        auto_response_suppress: message.header_raw("X-Auto-Response-Suppress").is_some(),
        list_id: message.header_raw("List-Id").is_some(),
        delivery_report,
        bounced_ids,
        x_autoreply: message.header_raw("X-Autoreply").is_some()
            || message.header_raw("X-Autorespond").is_some(),
        authentication_results: message
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
            .take(20)
            .map(|(_, v)| v.trim().to_owned())
            .collect(),
    }
}

/// HTML as it may be shown to staff: ammonia's safe subset, and images only from the
/// message itself (`cid:`) or inline data, never fetched from the sender's server.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "cid", "data"].into())
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" {
                let v = value.trim_start().to_ascii_lowercase();
                if !(v.starts_with("cid:") || v.starts_with("data:image/")) {
                    return None;
                }
            }
            Some(value.into())
        })
        .clean(html)
        .to_string()
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").trim_matches('\n').to_owned()
}

/// Takes `begin <mode> <name>` … `end` blocks out of a text and decodes them.
pub fn uudecode_blocks(text: &str) -> (String, Vec<MailAttachment>) {
    let mut clean = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let header = line.strip_prefix("begin ").and_then(|rest| {
            let (mode, name) = rest.split_once(' ')?;
            (mode.len() == 3 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                .then(|| name.trim().to_owned())
        });
        let Some(name) = header.filter(|n| !n.is_empty()) else {
            clean.push_str(line);
            clean.push('\n');
            continue;
        };
        let mut bytes = Vec::new();
        let mut ended = false;
        for body in lines.by_ref() {
            if body.trim_end() == "end" {
                ended = true;
                break;
            }
            uudecode_line(body.trim_end_matches('\r'), &mut bytes);
        }
        if ended {
            found.push(MailAttachment {
                file_name: name,
                content_type: "application/octet-stream".into(),
                content_id: None,
                bytes,
            });
        }
    }
    (clean, found)
}

fn uudecode_line(line: &str, out: &mut Vec<u8>) {
    let bytes = line.as_bytes();
    let Some(&first) = bytes.first() else { return };
    let len = usize::from(first.wrapping_sub(b' ') & 0x3f);
    if len == 0 {
        return;
    }
    let sextet = |i: usize| bytes.get(i).map_or(0, |b| b.wrapping_sub(b' ') & 0x3f);
    let mut produced = 0;
    let mut i = 1;
    while produced < len && i < bytes.len() {
        let (a, b, c, d) = (sextet(i), sextet(i + 1), sextet(i + 2), sextet(i + 3));
        for byte in [(a << 2) | (b >> 4), (b << 4) | (c >> 2), (c << 6) | d] {
            if produced < len {
                out.push(byte);
                produced += 1;
            }
        }
        i += 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1251_body_and_encoded_word_subject() {
        let mut raw = b"From: =?windows-1251?B?yOLg7SDP5fLw7uI=?= <ivan@alfa.demo>\r\n\
Subject: =?koi8-r?B?7sUg0MXewdTBxdTT0Q==?=\r\nMessage-ID: <a1@alfa.demo>\r\n\
Content-Type: text/plain; charset=windows-1251\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // «Привет» in cp1251
        let mail = parse(&raw).unwrap();
        assert_eq!(mail.from.as_deref(), Some("ivan@alfa.demo"));
        assert_eq!(mail.from_name.as_deref(), Some("Иван Петров"));
        assert_eq!(mail.subject, "Не печатается");
        assert_eq!(mail.text, "Привет");
        assert_eq!(mail.message_id.as_deref(), Some("a1@alfa.demo"));
    }

    #[test]
    fn koi8_and_iso_8859_5_bodies() {
        let mut koi = b"From: a@b.ru\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n".to_vec();
        koi.extend_from_slice(&[0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]);
        assert_eq!(parse(&koi).unwrap().text, "Привет");
        let mut iso =
            b"From: a@b.ru\r\nContent-Type: text/plain; charset=iso-8859-5\r\n\r\n".to_vec();
        iso.extend_from_slice(&[0xbf, 0xe0, 0xd8, 0xd2, 0xd5, 0xe2]);
        assert_eq!(parse(&iso).unwrap().text, "Привет");
    }

    #[test]
    fn rfc2231_file_name_nested_multipart_and_html_only() {
        let raw = "From: a@b.ru\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n\
--OUT\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n\
--IN\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Счёт <img src=\"http://track.example/p.gif\"><img src=\"cid:logo\"></p><script>x()</script>\r\n\
--IN--\r\n\
--OUT\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%D1%81%D1%87%D1%91%D1%82.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--OUT--\r\n";
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].file_name, "счёт.pdf");
        assert_eq!(mail.attachments[0].bytes, b"%PDF-");
        let html = mail.html.unwrap();
        assert!(!html.contains("track.example"), "{html}");
        assert!(html.contains("cid:logo"), "{html}");
        assert!(!html.contains("script"));
        assert!(mail.text.contains("Счёт"), "{}", mail.text);
    }

    #[test]
    fn uuencoded_block_becomes_an_attachment() {
        let raw = "From: a@b.ru\r\nSubject: uu\r\n\r\nсм. файл\r\nbegin 644 hi.txt\r\n$:&DA\"@``\r\n`\r\nend\r\n";
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].file_name, "hi.txt");
        assert_eq!(mail.attachments[0].bytes, b"hi!\n");
        assert_eq!(mail.text, "см. файл");
    }

    #[test]
    fn references_and_in_reply_to() {
        let raw =
            "From: a@b.ru\r\nIn-Reply-To: <x1@okno>\r\nReferences: <x0@okno> <x1@okno>\r\n\r\nok";
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.in_reply_to, ["x1@okno"]);
        assert_eq!(mail.references, ["x0@okno", "x1@okno"]);
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\xff\xfe\x00garbage").is_err());
        assert_eq!(
            parse(b"Subject: x\r\n\r\nno sender"),
            Err(ParseError::NoSender)
        );
    }
}
