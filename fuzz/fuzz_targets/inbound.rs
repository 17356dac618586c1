#![no_main]
//! Any bytes through parse → classify → thread → fold: never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let policy = okno_mail::LoopPolicy {
        own_addresses: vec!["support@okno.test".into()],
        x_loop: "support@okno.test".into(),
    };
    if let Ok(mail) = okno_mail::parse(raw) {
        let _ = okno_mail::classify(&mail, &policy);
        let _ = okno_mail::thread::ticket_in_subject(&mail.subject);
        let _ = okno_mail::thread::candidate_ids(&mail.in_reply_to, &mail.references);
        let _ = okno_mail::thread::clean_subject(&mail.subject);
        let _ = okno_mail::quote::fold(&mail.text);
    }
});
