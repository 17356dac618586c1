//! Priority rules: the order a specialist takes tasks in ("never think what to do next, take
//! the top one", seed 004).
//!
//! A rule applies to tasks of some lines or pools and lists sort keys in order. Each key maps
//! a task to a small number (categorical keys to a weight 0–9, instants to minutes since the
//! epoch); the numbers are packed, most significant key first, into one integer, the task's
//! **rank**. The store keeps the rank on the task and orders the queue by `(rank, id)` with
//! an index, so the order is computed once per change, not per read. Lower ranks go first.
//!
//! The same inputs give the task's explanation ("critical, due 14:30"), so a specialist sees
//! why a task is where it is.

use crate::{Classification, Line};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Decimal digits one rank holds without overflowing an `i64`.
const RANK_DIGITS: u32 = 18;
/// Digits of an instant key: minutes since 1970 fit in 8 digits until the year 2160.
const INSTANT_DIGITS: u32 = 8;
const NO_INSTANT: i64 = 99_999_999;

/// The rank a task has before its rules ran (sorted after every ranked task).
pub const UNRANKED: i64 = 999_999_999_999_999_999;

/// One sort key of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// The client's URGENT mark, or a ticket from the client's director: urgent first.
    Urgent,
    /// Line 1's classification by its weight (critical first); an urgent ticket counts as
    /// critical (seed 004: «Критическими являются вопросы, поставленные с пометкой СРОЧНО»).
    Classification,
    /// The task's due instant, soonest first; none last.
    Due,
    /// The client's priority: a VIP client (the contract's flag) first.
    Client,
    /// The task's workflow stage by its weight.
    Stage,
    /// The ticket's arrival, oldest first.
    Arrival,
    /// The task's own workflow priority (critical 100 … low 25), highest first.
    TaskPriority,
}

impl SortKey {
    fn digits(self) -> u32 {
        match self {
            SortKey::Due | SortKey::Arrival => INSTANT_DIGITS,
            SortKey::TaskPriority => 3,
            _ => 1,
        }
    }
}

/// A rule: the tasks it applies to (lines or pools; neither: every task) and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRule {
    pub name: String,
    #[serde(default)]
    pub lines: Vec<u8>,
    #[serde(default)]
    pub pools: Vec<String>,
    pub keys: Vec<SortKey>,
}

/// The weights of categorical keys, 0 (first) to 9.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// By classification code; a ticket not classified yet weighs `unclassified`.
    #[serde(default = "default_classification")]
    pub classification: BTreeMap<String, u8>,
    #[serde(default = "default_unclassified")]
    pub unclassified: u8,
    /// By stage code; other stages weigh `other_stage`.
    #[serde(default)]
    pub stage: BTreeMap<String, u8>,
    #[serde(default = "default_other_stage")]
    pub other_stage: u8,
}

fn default_classification() -> BTreeMap<String, u8> {
    [
        ("critical", 0),
        ("bug", 1),
        ("question", 2),
        ("improvement", 3),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
fn default_unclassified() -> u8 {
    2
}
fn default_other_stage() -> u8 {
    5
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            classification: default_classification(),
            unclassified: default_unclassified(),
            stage: BTreeMap::new(),
            other_stage: default_other_stage(),
        }
    }
}

/// Every rule, first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRules {
    #[serde(rename = "rule")]
    pub rules: Vec<PriorityRule>,
    #[serde(default)]
    pub weights: Weights,
}

/// What a task's place depends on: the task and its ticket, client and requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankInput {
    pub line: Option<Line>,
    pub pool: Option<String>,
    pub stage: Option<String>,
    pub due_at: Option<Timestamp>,
    pub task_priority: i32,
    pub classification: Option<Classification>,
    /// The client's URGENT mark on the ticket.
    pub urgent: bool,
    /// The ticket's requester is the client's director.
    pub director: bool,
    /// The client's contract makes it a VIP.
    pub vip: bool,
    pub arrived_at: Timestamp,
}

impl RankInput {
    fn urgent(&self) -> bool {
        self.urgent || self.director
    }
}

/// The shipped rules (`config/priorities.toml`).
pub const SHIPPED: &str = include_str!("../../../config/priorities.toml");

impl PriorityRules {
    /// Reads and checks a rules file; errors say `file:line: message`.
    pub fn parse(file: &str, text: &str) -> Result<PriorityRules, String> {
        let rules: PriorityRules = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            });
            format!("{file}:{line}: {}", e.message())
        })?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map_or(1, |i| i + 1)
        };
        for rule in &rules.rules {
            let at = line_of(&format!("\"{}\"", rule.name));
            if rule.keys.is_empty() {
                return Err(format!("{file}:{at}: rule {:?} has no keys", rule.name));
            }
            let digits: u32 = rule.keys.iter().map(|k| k.digits()).sum();
            if digits > RANK_DIGITS {
                return Err(format!(
                    "{file}:{at}: rule {:?} has too many keys: {digits} digits, at most {RANK_DIGITS} (an instant takes 8, task_priority 3, others 1)",
                    rule.name
                ));
            }
            if let Some(bad) = rule.lines.iter().find(|l| Line::new(**l).is_err()) {
                return Err(format!(
                    "{file}:{at}: rule {:?}: line {bad} is not 1 to 4",
                    rule.name
                ));
            }
        }
        let weights = &rules.weights;
        for (code, weight) in weights
            .classification
            .iter()
            .chain(weights.stage.iter())
            .map(|(c, w)| (c.as_str(), *w))
            .chain([
                ("unclassified", weights.unclassified),
                ("other_stage", weights.other_stage),
            ])
        {
            if weight > 9 {
                return Err(format!(
                    "{file}:{}: weight of {code:?} is {weight}; weights are 0 (first) to 9",
                    line_of(code)
                ));
            }
        }
        if let Some(code) = weights
            .classification
            .keys()
            .find(|c| Classification::parse(c).is_none())
        {
            return Err(format!(
                "{file}:{}: {code:?} is not a classification (question, bug, critical, improvement)",
                line_of(code)
            ));
        }
        Ok(rules)
    }

    pub fn shipped() -> PriorityRules {
        PriorityRules::parse("config/priorities.toml", SHIPPED)
            .expect("the shipped rules are valid")
    }

    /// The first rule for the task's line or pool, else the first catch-all rule.
    pub fn rule_for(&self, line: Option<Line>, pool: Option<&str>) -> Option<&PriorityRule> {
        self.rules.iter().find(|r| {
            line.is_some_and(|l| r.lines.contains(&l.get()))
                || pool.is_some_and(|p| r.pools.iter().any(|rp| rp == p))
                || (r.lines.is_empty() && r.pools.is_empty())
        })
    }

    fn value(&self, key: SortKey, input: &RankInput) -> i64 {
        let w = &self.weights;
        match key {
            SortKey::Urgent => i64::from(!input.urgent()),
            SortKey::Classification => {
                let code = if input.urgent() {
                    Some(Classification::Critical)
                } else {
                    input.classification
                };
                i64::from(code.map_or(w.unclassified, |c| {
                    w.classification
                        .get(c.as_str())
                        .copied()
                        .unwrap_or(w.unclassified)
                }))
            }
            SortKey::Due => input
                .due_at
                .map_or(NO_INSTANT, |d| minutes(d).clamp(0, NO_INSTANT - 1)),
            SortKey::Client => i64::from(!input.vip),
            SortKey::Stage => i64::from(
                input
                    .stage
                    .as_deref()
                    .and_then(|s| w.stage.get(s).copied())
                    .unwrap_or(w.other_stage),
            ),
            SortKey::Arrival => minutes(input.arrived_at).clamp(0, NO_INSTANT - 1),
            SortKey::TaskPriority => i64::from(999 - input.task_priority.clamp(0, 999)),
        }
    }

    /// The task's rank: lower goes first.
    pub fn rank(&self, input: &RankInput) -> i64 {
        let Some(rule) = self.rule_for(input.line, input.pool.as_deref()) else {
            return UNRANKED;
        };
        rule.keys.iter().fold(0i64, |rank, key| {
            rank * 10i64.pow(key.digits()) + self.value(*key, input)
        })
    }

    /// Why the task is where it is, one short phrase per key that says something
    /// ("critical", "due 14:30", "VIP client"), in the reader's language and time zone.
    pub fn explain(
        &self,
        input: &RankInput,
        locale: &str,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Vec<String> {
        let en = locale.starts_with("en");
        let Some(rule) = self.rule_for(input.line, input.pool.as_deref()) else {
            return Vec::new();
        };
        let time = |t: Timestamp| {
            let local = t.to_zoned_datetime(zone.clone());
            let today = now.to_zoned_datetime(zone.clone()).date();
            if local.date() == today {
                local.strftime("%H:%M").to_string()
            } else {
                local.strftime("%d.%m %H:%M").to_string()
            }
        };
        let mut out = Vec::new();
        for key in &rule.keys {
            let phrase = match key {
                SortKey::Urgent if input.director => Some(
                    if en {
                        "director's ticket"
                    } else {
                        "обращение директора"
                    }
                    .to_owned(),
                ),
                SortKey::Urgent if input.urgent => {
                    Some(if en { "urgent" } else { "срочно" }.to_owned())
                }
                SortKey::Classification => {
                    let class = if input.urgent() {
                        Some(Classification::Critical)
                    } else {
                        input.classification
                    };
                    class.map(|c| {
                        let name = match (c, en) {
                            (Classification::Critical, true) => "critical",
                            (Classification::Critical, false) => "критическая ошибка",
                            (Classification::Bug, true) => "bug",
                            (Classification::Bug, false) => "ошибка",
                            (Classification::Question, true) => "question",
                            (Classification::Question, false) => "вопрос",
                            (Classification::Improvement, true) => "improvement",
                            (Classification::Improvement, false) => "доработка",
                        };
                        match (
                            input.urgent()
                                && input.classification != Some(Classification::Critical),
                            en,
                        ) {
                            (true, true) => format!("{name} (urgent)"),
                            (true, false) => format!("{name} (срочно)"),
                            _ => name.to_owned(),
                        }
                    })
                }
                SortKey::Due => input.due_at.map(|d| {
                    if en {
                        format!("due {}", time(d))
                    } else {
                        format!("срок {}", time(d))
                    }
                }),
                SortKey::Client if input.vip => {
                    Some(if en { "VIP client" } else { "VIP-клиент" }.to_owned())
                }
                SortKey::Stage => input.stage.as_ref().map(|s| {
                    if en {
                        format!("stage {s}")
                    } else {
                        format!("этап {s}")
                    }
                }),
                SortKey::Arrival => Some(if en {
                    format!("arrived {}", time(input.arrived_at))
                } else {
                    format!("поступило {}", time(input.arrived_at))
                }),
                SortKey::TaskPriority => Some(if en {
                    format!("priority {}", input.task_priority)
                } else {
                    format!("приоритет {}", input.task_priority)
                }),
                _ => None,
            };
            out.extend(phrase);
        }
        out
    }
}

fn minutes(t: Timestamp) -> i64 {
    t.as_second().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(line: u8) -> RankInput {
        RankInput {
            line: Some(Line::new(line).unwrap()),
            pool: None,
            stage: None,
            due_at: None,
            task_priority: 50,
            classification: None,
            urgent: false,
            director: false,
            vip: false,
            arrived_at: "2026-11-25T09:00:00Z".parse().unwrap(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn line_one_goes_by_arrival_only() {
        let rules = PriorityRules::shipped();
        let mut early = input(1);
        early.arrived_at = at("2026-11-25T08:00:00Z");
        let mut late_critical = input(1);
        late_critical.classification = Some(Classification::Critical);
        late_critical.due_at = Some(at("2026-11-25T08:30:00Z"));
        assert!(rules.rank(&early) < rules.rank(&late_critical));
    }

    #[test]
    fn line_two_critical_then_due_then_vip() {
        let rules = PriorityRules::shipped();
        let mut critical_late = input(2);
        critical_late.classification = Some(Classification::Critical);
        critical_late.due_at = Some(at("2026-11-26T12:00:00Z"));
        let mut bug_soon = input(2);
        bug_soon.classification = Some(Classification::Bug);
        bug_soon.due_at = Some(at("2026-11-25T10:00:00Z"));
        let mut bug_soon_vip = bug_soon.clone();
        bug_soon_vip.vip = true;
        let mut bug_later = bug_soon.clone();
        bug_later.due_at = Some(at("2026-11-25T11:00:00Z"));
        let mut bug_no_due = bug_soon.clone();
        bug_no_due.due_at = None;
        let order = [
            &critical_late,
            &bug_soon_vip,
            &bug_soon,
            &bug_later,
            &bug_no_due,
        ];
        let ranks: Vec<i64> = order.iter().map(|i| rules.rank(i)).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    }

    #[test]
    fn urgent_mark_and_director_count_as_critical() {
        let rules = PriorityRules::shipped();
        let mut critical = input(2);
        critical.classification = Some(Classification::Critical);
        critical.due_at = Some(at("2026-11-25T10:00:00Z"));
        let mut question = input(2);
        question.classification = Some(Classification::Question);
        question.due_at = Some(at("2026-11-25T12:00:00Z"));
        let mut director = question.clone();
        director.director = true;
        let mut marked = question.clone();
        marked.urgent = true;
        assert!(rules.rank(&director) < rules.rank(&question));
        assert!(rules.rank(&marked) < rules.rank(&question));
        assert!(rules.rank(&critical) < rules.rank(&director), "then by due");
        let zone = TimeZone::UTC;
        let why = rules.explain(&director, "en", &zone, Timestamp::now());
        assert_eq!(why[0], "critical (urgent)", "{why:?}");
        assert!(why[1].starts_with("due "), "{why:?}");
    }

    #[test]
    fn explanation_names_class_due_and_vip() {
        let rules = PriorityRules::shipped();
        let mut task = input(3);
        task.classification = Some(Classification::Critical);
        task.due_at = Some(at("2026-01-02T14:30:00Z"));
        task.vip = true;
        let why = rules.explain(&task, "en", &TimeZone::UTC, Timestamp::now());
        assert_eq!(why, vec!["critical", "due 02.01 14:30", "VIP client"]);
        let why = rules.explain(&task, "ru", &TimeZone::UTC, Timestamp::now());
        assert_eq!(
            why,
            vec!["критическая ошибка", "срок 02.01 14:30", "VIP-клиент"]
        );
    }

    #[test]
    fn bad_rules_are_refused_with_file_and_line() {
        let too_many = "[[rule]]\nname = \"x\"\nkeys = [\"due\", \"arrival\", \"task_priority\"]\n";
        let err = PriorityRules::parse("p.toml", too_many).unwrap_err();
        assert!(
            err.starts_with("p.toml:2:") && err.contains("too many keys"),
            "{err}"
        );
        let unknown = "[[rule]]\nname = \"x\"\nkeys = [\"mood\"]\n";
        let err = PriorityRules::parse("p.toml", unknown).unwrap_err();
        assert!(
            err.starts_with("p.toml:3:") && err.contains("mood"),
            "{err}"
        );
        let heavy = "[[rule]]\nname = \"x\"\nkeys = [\"classification\"]\n[weights.classification]\nbug = 12\n";
        let err = PriorityRules::parse("p.toml", heavy).unwrap_err();
        assert!(
            err.starts_with("p.toml:5:") && err.contains("0 (first) to 9"),
            "{err}"
        );
    }

    proptest! {
        /// Packing keeps the order of the keys: comparing ranks is comparing the key tuples.
        #[test]
        fn rank_orders_like_its_keys(a_class in 0u8..4, b_class in 0u8..4,
                                     a_due in proptest::option::of(0i64..80_000_000),
                                     b_due in proptest::option::of(0i64..80_000_000),
                                     a_vip: bool, b_vip: bool) {
            let rules = PriorityRules::shipped();
            let classes = [Classification::Critical, Classification::Bug, Classification::Question, Classification::Improvement];
            let make = |class: u8, due: Option<i64>, vip: bool| {
                let mut i = input(2);
                i.classification = Some(classes[class as usize]);
                i.due_at = due.map(|m| Timestamp::from_second(m * 60).unwrap());
                i.vip = vip;
                i
            };
            let a = make(a_class, a_due, a_vip);
            let b = make(b_class, b_due, b_vip);
            let key = |class: u8, due: Option<i64>, vip: bool| (class, due.unwrap_or(i64::MAX), !vip);
            prop_assert_eq!(rules.rank(&a).cmp(&rules.rank(&b)), key(a_class, a_due, a_vip).cmp(&key(b_class, b_due, b_vip)));
        }
    }
}
