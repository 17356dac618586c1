//! Published production calendars (fixtures written in xmlcalendar.ru's XML and the
//! data.gov.ru CSV from the published days of 2024–2027) against the shipped holiday list,
//! and a newer calendar laid over an older list.

use std::collections::BTreeMap;

use jiff::Timestamp;
use okno_sla::{ProductionCalendar, SourceFormat, SpecialDays};

const XML: [(i16, &str); 4] = [
    (2024, include_str!("../fixtures/xmlcalendar-ru-2024.xml")),
    (2025, include_str!("../fixtures/xmlcalendar-ru-2025.xml")),
    (2026, include_str!("../fixtures/xmlcalendar-ru-2026.xml")),
    (2027, include_str!("../fixtures/xmlcalendar-ru-2027.xml")),
];
const CSV: &str = include_str!("../fixtures/datagov-ru-2024-2027.csv");

fn shipped_list() -> &'static str {
    okno_sla::shipped::CALENDAR_FILES
        .iter()
        .find(|(name, _)| *name == "holidays-ru.toml")
        .expect("the shipped Russian holiday list")
        .1
}

/// The days of one year of a list.
fn year_of(days: &SpecialDays, year: i16) -> SpecialDays {
    let pick = |set: &std::collections::BTreeSet<jiff::civil::Date>| {
        set.iter().copied().filter(|d| d.year() == year).collect()
    };
    SpecialDays {
        holidays: pick(&days.holidays),
        working_days: pick(&days.working_days),
        short_days: pick(&days.short_days),
    }
}

#[test]
fn the_shipped_list_is_the_published_calendar_of_every_year() {
    let shipped = SpecialDays::parse("holidays-ru.toml", shipped_list()).unwrap();
    for (year, xml) in XML {
        let file = format!("xmlcalendar-ru-{year}.xml");
        let calendar = ProductionCalendar::parse(&file, xml.as_bytes()).unwrap();
        assert_eq!(calendar.format, SourceFormat::XmlCalendar);
        assert_eq!(calendar.country.as_deref(), Some("ru"));
        assert_eq!(calendar.years.keys().copied().collect::<Vec<_>>(), [year]);
        assert_eq!(calendar.years[&year], year_of(&shipped, year), "{year}");
    }
}

#[test]
fn the_csv_and_the_xml_say_the_same() {
    let csv = ProductionCalendar::parse("datagov.csv", CSV.as_bytes()).unwrap();
    assert_eq!(csv.format, SourceFormat::DataGovCsv);
    let mut xml_years = BTreeMap::new();
    for (_, xml) in XML {
        let calendar = ProductionCalendar::parse("x.xml", xml.as_bytes()).unwrap();
        xml_years.extend(calendar.years);
    }
    assert_eq!(csv.years, xml_years);
    // The official figures of a 40-hour week (days, hours), as the CSV's own totals say.
    let figures: Vec<_> = csv
        .summaries()
        .iter()
        .map(|s| (s.year, s.working_days, s.hours_40))
        .collect();
    assert_eq!(
        figures,
        [
            (2024, 248, 1979),
            (2025, 247, 1972),
            (2026, 247, 1972),
            (2027, 247, 1972)
        ]
    );
}

#[test]
fn csv_variants_read_alike() {
    let expected = ProductionCalendar::parse("a.csv", CSV.as_bytes())
        .unwrap()
        .years;

    let mut semicolons = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(CSV.as_bytes())
        .records()
    {
        semicolons.write_record(&record.unwrap()).unwrap();
    }
    let semicolons = semicolons.into_inner().unwrap();
    let read = ProductionCalendar::parse("b.csv", &semicolons).unwrap();
    assert_eq!(read.years, expected);

    let with_bom = format!("\u{feff}{CSV}");
    let read = ProductionCalendar::parse("c.csv", with_bom.as_bytes()).unwrap();
    assert_eq!(read.years, expected);

    let (cp1251, _, unmappable) = encoding_rs::WINDOWS_1251.encode(CSV);
    assert!(!unmappable);
    let read = ProductionCalendar::parse("d.csv", &cp1251).unwrap();
    assert_eq!(read.years, expected);
}

#[test]
fn the_published_2027_over_the_draft_moves_the_deadlines() {
    let draft = shipped_list()
        .replace("\"2027-02-22\", \"2027-02-23\",", "\"2027-02-23\",")
        .replace(
            "working_days = [\"2027-02-20\"]",
            "working_days = [\"2027-11-13\"]",
        )
        .replace(
            "short_days = [\"2027-02-20\",",
            "short_days = [\"2027-02-22\",",
        );
    let calendar = |list: &str| {
        let files = okno_sla::shipped::CALENDAR_FILES
            .iter()
            .map(|(name, text)| {
                let text = if *name == "holidays-ru.toml" {
                    list
                } else {
                    text
                };
                (*name, text)
            })
            .collect::<Vec<_>>();
        okno_sla::CalendarCatalog::load(files)
            .unwrap()
            .get("ru-standard")
            .unwrap()
            .clone()
    };
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    let friday = at("2027-02-19T17:00:00+03:00");
    assert_eq!(
        calendar(&draft).due(friday, 120),
        at("2027-02-22T07:00:00Z"),
        "the draft worked on Monday 22 Feb"
    );

    let published = ProductionCalendar::parse("calendar.xml", XML[3].1.as_bytes()).unwrap();
    let merged = published
        .merge_into("holidays-ru.toml", &draft, "Imported from calendar.xml")
        .unwrap();
    assert!(
        merged.starts_with(&draft[..draft.find("[2024]").unwrap()]),
        "the list's notes are kept"
    );
    assert!(merged.contains("[2027]\n# Imported from calendar.xml\n"));
    let merged_days = SpecialDays::parse("holidays-ru.toml", &merged).unwrap();
    let shipped = SpecialDays::parse("holidays-ru.toml", shipped_list()).unwrap();
    assert_eq!(merged_days, shipped, "every other year is kept as it was");
    let ru = calendar(&merged);
    assert_eq!(ru.due(friday, 120), at("2027-02-20T07:00:00Z"));
    assert_eq!(
        ru.due(at("2027-11-12T17:00:00+03:00"), 120),
        at("2027-11-15T07:00:00Z")
    );
}
