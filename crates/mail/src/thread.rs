//! Which ticket a message belongs to, from what the message itself says.
//!
//! Order (issue 7): the ticket number in the subject (`[OK-000123]`), then In-Reply-To and
//! References against the Message-IDs the desk stored. The caller looks the ids up; this
//! module only reads them out of the message.

use okno_domain::TicketNumber;

/// The first `[OK-000123]` in a subject (case-insensitive, any number of digits).
pub fn ticket_in_subject(subject: &str) -> Option<TicketNumber> {
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find(']')
            && let Some(number) = TicketNumber::parse(&rest[..close])
            && rest[..close].trim().len() > 3
            && rest[..close].trim()[..3].eq_ignore_ascii_case(TicketNumber::PREFIX)
        {
            return Some(number);
        }
    }
    None
}

/// The ids to look up, most specific first: In-Reply-To, then References newest first.
pub fn candidate_ids(in_reply_to: &[String], references: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in in_reply_to.iter().chain(references.iter().rev()) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
        if ids.len() == 20 {
            break; // a References chain is bounded work, whatever the sender put there
        }
    }
    ids
}

/// The subject of a mail about a ticket: `[OK-000123] subject`, the number said once.
pub fn subject_with_number(number: TicketNumber, subject: &str) -> String {
    let tag = format!("[{number}]");
    if subject.contains(&tag) {
        subject.to_owned()
    } else {
        format!("{tag} {subject}")
    }
}

/// The subject without `Re:`/`Fwd:`/`Ответ:` prefixes and our tag: a new ticket's subject.
pub fn clean_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let prefix = ["re:", "fw:", "fwd:", "ответ:", "отв:", "пересл:", "на:"]
            .iter()
            .find(|p| lower.starts_with(*p));
        match prefix {
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_in_subject() {
        assert_eq!(
            ticket_in_subject("Re: [OK-000123] Не печатается"),
            Some(TicketNumber(123))
        );
        assert_eq!(ticket_in_subject("RE: [ok-7]"), Some(TicketNumber(7)));
        assert_eq!(ticket_in_subject("[123] no prefix"), None);
        assert_eq!(
            ticket_in_subject("[OK-] [OK-x] [OK-00042]"),
            Some(TicketNumber(42))
        );
        assert_eq!(ticket_in_subject("[ОК-000123] cyrillic letters"), None);
    }

    #[test]
    fn candidates_dedupe_and_bound() {
        let refs: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
        let ids = candidate_ids(&["r49".into()], &refs);
        assert_eq!(ids[0], "r49");
        assert_eq!(ids[1], "r48");
        assert_eq!(ids.len(), 20);
    }

    #[test]
    fn subjects() {
        assert_eq!(clean_subject("Re: Fwd: Ответ: Счёт"), "Счёт");
        let tagged = subject_with_number(TicketNumber(5), "Счёт");
        assert_eq!(tagged, "[OK-000005] Счёт");
        assert_eq!(subject_with_number(TicketNumber(5), &tagged), tagged);
    }
}
