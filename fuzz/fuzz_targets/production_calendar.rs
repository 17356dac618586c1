#![no_main]
//! Any bytes as a production calendar file (xmlcalendar.ru XML or data.gov.ru CSV), then
//! laid over the shipped holiday list: never a panic, and every refusal names a line.

use libfuzzer_sys::fuzz_target;

const LIST: &str = include_str!("../../config/calendars/holidays-ru.toml");

fuzz_target!(|raw: &[u8]| {
    match okno_sla::ProductionCalendar::parse("fuzz", raw) {
        Ok(calendar) => {
            let _ = calendar.summaries();
            let merged = calendar
                .merge_into("holidays-ru.toml", LIST, "fuzz")
                .expect("the shipped list reads");
            okno_sla::SpecialDays::parse("holidays-ru.toml", &merged)
                .expect("a merged list reads back");
        }
        Err(errors) => assert!(errors.0.iter().all(|e| e.line >= 1)),
    }
});
