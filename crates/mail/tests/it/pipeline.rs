//! The inbound pipeline's pure part (parse → classify → thread → fold) over the sample
//! messages as they are, mutated, and over arbitrary bytes: the answers the samples
//! should give, and never a panic. A bounded run in every `cargo test`; `fuzz/` keeps the
//! open-ended cargo-fuzz target.

use crate::mutate;

use okno_mail::{Kind, LoopPolicy, thread};
use proptest::prelude::*;

fn policy() -> LoopPolicy {
    LoopPolicy {
        own_addresses: vec!["support@okno.test".into()],
        x_loop: "support@okno.test".into(),
    }
}

/// Everything the desk does with a message before the store.
fn pipeline(raw: &[u8]) -> Option<Kind> {
    let mail = okno_mail::parse(raw).ok()?;
    let kind = okno_mail::classify(&mail, &policy());
    let _ = thread::ticket_in_subject(&mail.subject);
    let _ = thread::candidate_ids(&mail.in_reply_to, &mail.references);
    let _ = thread::clean_subject(&mail.subject);
    let _ = okno_mail::quote::fold(&mail.text);
    Some(kind)
}

fn sample(name: &str) -> &'static [u8] {
    mutate::SAMPLES.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn the_samples_read_as_they_should() {
    let plain = okno_mail::parse(sample("cp1251-plain")).unwrap();
    assert_eq!(plain.subject, "Не печатается");
    assert!(
        plain.text.contains("«Реализация товаров»"),
        "{}",
        plain.text
    );
    assert_eq!(plain.from_name.as_deref(), Some("Иван Петров"));

    let reply = okno_mail::parse(sample("koi8r-reply")).unwrap();
    assert!(
        reply.text.contains("Спасибо, всё работает"),
        "{}",
        reply.text
    );
    assert_eq!(
        thread::ticket_in_subject(&reply.subject).map(|n| n.0),
        Some(1)
    );
    assert_eq!(
        thread::candidate_ids(&reply.in_reply_to, &reply.references)[0],
        "okno.1@okno.test"
    );

    let mixed = okno_mail::parse(sample("mixed-html-attachment")).unwrap();
    assert_eq!(mixed.subject, "Счёт и скриншот");
    assert_eq!(mixed.attachments.len(), 1);
    assert_eq!(mixed.attachments[0].file_name, "скрин.png");
    let html = mixed.html.unwrap();
    assert!(!html.contains("tracker.example") && !html.contains("<script"));

    let uu = okno_mail::parse(sample("uuencode")).unwrap();
    assert!(uu.attachments.iter().any(|a| a.file_name == "log.txt"));

    let forwarded = okno_mail::parse(sample("forwarded")).unwrap();
    assert!(forwarded.text.contains("Пересылаю"));

    assert!(matches!(
        pipeline(sample("auto-reply")),
        Some(Kind::AutoReply { .. })
    ));
    assert!(matches!(pipeline(sample("bounce")), Some(Kind::Bounce)));
    assert!(matches!(
        pipeline(sample("cp1251-plain")),
        Some(Kind::Person { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn mutated_samples_never_panic(raw in mutate::mutated()) {
        pipeline(&raw);
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
        pipeline(&raw);
    }
}

/// Found by `mutated_samples_never_panic`: a forwarded part that holds no headers, followed
/// by another forwarded part, made mail-parser panic ("Invalid part ID").
#[test]
fn a_forwarded_part_without_headers_is_unreadable_not_a_panic() {
    let raw = "From: client@alfa.demo\r\nSubject: Fwd: x\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"f\"\r\n\r\n--f\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\r\nПересылаю.\r\n--f\r\n\
               Content-Type: message/rfc822\r\n\r\nПересылаю.\r\n--f\r\n\
               Content-Type: message/rfc822\r\n\r\nFrom: buh@alfa.demo\r\nSubject: y\r\n\r\nтекст\r\n--f--\r\n";
    assert_eq!(
        okno_mail::parse(raw.as_bytes()).unwrap_err(),
        okno_mail::ParseError::Broken
    );
}

/// Found by the desk's property test on PostgreSQL: a NUL in an address cannot go into a
/// text column. Parsed text carries none; the raw message keeps it.
#[test]
fn parsed_text_carries_no_nul() {
    let raw = b"From: Petrov <other\0@alfa.demo>\r\nSubject: a\0b\r\n\r\nc\0d\r\n";
    let mail = okno_mail::parse(raw).unwrap();
    assert_eq!(mail.from.as_deref(), Some("other@alfa.demo"));
    assert_eq!(mail.subject, "ab");
    assert!(!mail.text.contains('\0'));
}
