//! Loops and noise: what may be answered automatically, what is a bounce, what is ignored.

use crate::inbound::ParsedMail;

/// The desk's own identity, for loop protection.
#[derive(Debug, Clone, Default)]
pub struct LoopPolicy {
    /// Our addresses (lower-case): mail from them is never taken in, mail to them never sent.
    pub own_addresses: Vec<String>,
    /// The value we put into `X-Loop` on everything we send.
    pub x_loop: String,
}

/// What to do with a parsed message before threading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A person wrote it: take it in; `auto_reply` says whether we may answer automatically.
    Person { auto_reply: bool },
    /// An automatic message (a robot's report, a list): take it in, never answer it.
    Automatic { reason: &'static str },
    /// An auto-reply (out of office, vacation, "received"): recorded on the ticket it
    /// answers, never a client's word and never work (RFC 3834).
    AutoReply { reason: &'static str },
    /// A delivery failure: record it on the ticket it is about, never make a ticket of it.
    Bounce,
    /// Not taken in at all.
    Ignore { reason: &'static str },
}

const DAEMONS: [&str; 6] = [
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "do-not-reply",
    "donotreply",
];

pub fn classify(mail: &ParsedMail, policy: &LoopPolicy) -> Kind {
    let from = mail.from.as_deref().unwrap_or_default();
    let local = from.split('@').next().unwrap_or_default();
    if policy.own_addresses.iter().any(|a| a == from) {
        return Kind::Ignore {
            reason: "from our own address",
        };
    }
    if !policy.x_loop.is_empty() && mail.signals.x_loop.contains(&policy.x_loop) {
        return Kind::Ignore {
            reason: "our own X-Loop",
        };
    }
    let daemon = DAEMONS
        .iter()
        .any(|d| local == *d || local.starts_with(&format!("{d}+")));
    if mail.signals.delivery_report
        || (local == "mailer-daemon" || local == "postmaster")
            && !mail.signals.bounced_ids.is_empty()
    {
        return Kind::Bounce;
    }
    if daemon {
        return Kind::Automatic {
            reason: "sent by a robot address",
        };
    }
    let auto_submitted = mail.signals.auto_submitted.as_deref();
    if auto_submitted.is_some_and(|v| v.starts_with("auto-replied")) {
        return Kind::AutoReply {
            reason: "Auto-Submitted: auto-replied",
        };
    }
    if mail.signals.x_autoreply {
        return Kind::AutoReply {
            reason: "X-Autoreply",
        };
    }
    if let Some(precedence) = mail.signals.precedence.as_deref()
        && matches!(precedence, "auto_reply" | "bulk" | "junk")
    {
        return Kind::AutoReply {
            reason: "Precedence",
        };
    }
    if auto_submitted.is_none() && is_out_of_office(&mail.subject) {
        return Kind::AutoReply {
            reason: "out-of-office subject",
        };
    }
    if auto_submitted.is_some_and(|v| !v.starts_with("no")) {
        return Kind::Automatic {
            reason: "Auto-Submitted",
        };
    }
    if mail.signals.precedence.as_deref() == Some("list") {
        return Kind::Automatic {
            reason: "Precedence",
        };
    }
    if mail.signals.auto_response_suppress {
        return Kind::Automatic {
            reason: "X-Auto-Response-Suppress",
        };
    }
    if mail.signals.list_id {
        return Kind::Automatic { reason: "List-Id" };
    }
    Kind::Person { auto_reply: true }
}

/// Subjects auto-replies start with when their mailer sets no header (Outlook's, Exchange's,
/// Yandex's and Mail.ru's, in English and Russian).
const OUT_OF_OFFICE: [&str; 10] = [
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "автоответ",
    "автоматический ответ",
    "нет на месте",
    "вне офиса",
];

fn is_out_of_office(subject: &str) -> bool {
    let subject: String = subject.chars().take(200).collect::<String>().to_lowercase();
    let subject = subject.trim_start();
    OUT_OF_OFFICE.iter().any(|start| {
        subject.starts_with(start)
            || subject
                .split_once(':')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(start))
    })
}

/// May the desk send to this address at all (never to itself, never to robots)?
pub fn may_mail(address: &str, policy: &LoopPolicy) -> bool {
    let address = address.trim().to_lowercase();
    let local = address.split('@').next().unwrap_or_default();
    !policy.own_addresses.contains(&address) && !DAEMONS.contains(&local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::parse;

    fn policy() -> LoopPolicy {
        LoopPolicy {
            own_addresses: vec!["support@okno.test".into()],
            x_loop: "support@okno.test".into(),
        }
    }

    fn kind(headers: &str) -> Kind {
        let raw = format!("{headers}\r\nSubject: s\r\n\r\nbody");
        classify(&parse(raw.as_bytes()).unwrap(), &policy())
    }

    #[test]
    fn people_and_robots() {
        assert_eq!(kind("From: a@b.ru"), Kind::Person { auto_reply: true });
        assert_eq!(
            kind("From: a@b.ru\r\nAuto-Submitted: no"),
            Kind::Person { auto_reply: true }
        );
        for auto_reply in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "Precedence: junk",
            "Precedence: auto_reply",
            "X-Autoreply: yes",
            "X-Autorespond: Out of office",
        ] {
            assert!(
                matches!(
                    kind(&format!("From: a@b.ru\r\n{auto_reply}")),
                    Kind::AutoReply { .. }
                ),
                "{auto_reply}"
            );
        }
        assert!(matches!(
            kind("From: a@b.ru\r\nAuto-Submitted: auto-generated"),
            Kind::Automatic { .. }
        ));
        assert!(matches!(
            kind("From: a@b.ru\r\nX-Auto-Response-Suppress: All"),
            Kind::Automatic { .. }
        ));
        assert!(matches!(kind("From: noreply@b.ru"), Kind::Automatic { .. }));
        assert!(matches!(
            kind("From: support@okno.test"),
            Kind::Ignore { .. }
        ));
        assert!(matches!(
            kind("From: a@b.ru\r\nX-Loop: support@okno.test"),
            Kind::Ignore { .. }
        ));
    }

    #[test]
    fn out_of_office_subjects_without_headers() {
        let subject = |s: &str| {
            let raw = format!("From: a@b.ru\r\nSubject: {s}\r\n\r\nbody");
            classify(&parse(raw.as_bytes()).unwrap(), &policy())
        };
        for s in [
            "Out of Office: Re: [OK-000012] Накладная",
            "Automatic reply: printer",
            "Автоответ: Re: накладная",
            "RE: Нет на месте до 15.12",
        ] {
            assert!(matches!(subject(s), Kind::AutoReply { .. }), "{s}");
        }
        for s in [
            "Re: [OK-000012] out of office printer broken?",
            "Вопрос про автоответчик АТС",
        ] {
            assert_eq!(subject(s), Kind::Person { auto_reply: true }, "{s}");
        }
    }

    #[test]
    fn delivery_report_is_a_bounce() {
        let raw = "From: MAILER-DAEMON@mx.b.ru\r\nSubject: Undelivered\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <out-7@okno.test>\r\nSubject: x\r\n\r\n--B--\r\n";
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(classify(&mail, &policy()), Kind::Bounce);
        assert_eq!(mail.signals.bounced_ids, ["out-7@okno.test"]);
    }

    #[test]
    fn never_mail_ourselves_or_robots() {
        assert!(may_mail("ivan@alfa.ru", &policy()));
        assert!(!may_mail("Support@okno.test", &policy()));
        assert!(!may_mail("mailer-daemon@x.ru", &policy()));
    }
}
