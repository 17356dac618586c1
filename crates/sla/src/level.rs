//! Support levels: how fast we promise to react and to solve, and how fast we aim to.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::calendar::Calendar;

/// What line 1 decides a ticket is; drives its deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Classification {
    /// A question about the product.
    Question,
    /// A bug.
    Bug,
    /// A critical bug.
    Critical,
    /// An improvement proposal (usually without a deadline: it is approved first).
    Improvement,
}

impl Classification {
    /// All classifications, in the order they are offered.
    pub const ALL: [Classification; 4] = [
        Classification::Question,
        Classification::Bug,
        Classification::Critical,
        Classification::Improvement,
    ];

    /// The code used in configuration and the API: `question`, `bug`, `critical`,
    /// `improvement`.
    pub fn code(self) -> &'static str {
        match self {
            Classification::Question => "question",
            Classification::Bug => "bug",
            Classification::Critical => "critical",
            Classification::Improvement => "improvement",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A classification code that is not one of the four.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown classification `{0}`: expected question, bug, critical or improvement")]
pub struct UnknownClassification(pub String);

impl FromStr for Classification {
    type Err = UnknownClassification;

    fn from_str(code: &str) -> Result<Classification, UnknownClassification> {
        Classification::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| UnknownClassification(code.to_string()))
    }
}

/// Which norm a deadline follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind<'a> {
    /// First reaction to a ticket of this classification.
    Reaction(Classification),
    /// Solution of a ticket of this classification.
    Solution(Classification),
    /// Time allowed in a workflow stage, by stage code.
    Stage(&'a str),
}

/// Reaction and solution norms of one classification, in working minutes; `None`
/// means no deadline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassificationNorms {
    /// Working minutes until the first reaction.
    pub reaction: Option<i64>,
    /// Working minutes until the solution.
    pub solution: Option<i64>,
}

/// The share of a promised time that specialists aim at, e.g. 1/3: work three
/// times faster than promised to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fraction {
    numerator: u32,
    denominator: u32,
}

impl Fraction {
    /// `numerator / denominator`, which must lie in (0, 1].
    pub fn new(numerator: u32, denominator: u32) -> Option<Fraction> {
        (numerator > 0 && numerator <= denominator).then_some(Fraction {
            numerator,
            denominator,
        })
    }

    /// `minutes` scaled by the fraction, rounded up so a target is never zero.
    pub fn of(self, minutes: i64) -> i64 {
        let (numerator, denominator) = (i128::from(self.numerator), i128::from(self.denominator));
        let scaled = (i128::from(minutes) * numerator + denominator - 1).div_euclid(denominator);
        scaled as i64
    }
}

impl Default for Fraction {
    /// One third (004: specialists should work at least three times faster).
    fn default() -> Fraction {
        Fraction {
            numerator: 1,
            denominator: 3,
        }
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl FromStr for Fraction {
    type Err = String;

    /// Reads `1/3` or a whole `1`.
    fn from_str(text: &str) -> Result<Fraction, String> {
        let error = || {
            format!(
                "bad fraction `{text}`: write e.g. 1/3 (a share of the promised time, at most 1)"
            )
        };
        let (numerator, denominator) = text.split_once('/').unwrap_or((text, "1"));
        let numerator = numerator.trim().parse().map_err(|_| error())?;
        let denominator = denominator.trim().parse().map_err(|_| error())?;
        Fraction::new(numerator, denominator).ok_or_else(error)
    }
}

/// The two deadlines of one norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// What the client is promised.
    pub promised: Timestamp,
    /// What specialists aim at (the promised time scaled by the internal target).
    pub internal: Timestamp,
}

/// A support level (SLA plan): norms per classification and per workflow stage, the
/// internal target and the calendar in which the norms count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportLevel {
    /// Code, e.g. `standard`.
    pub code: String,
    /// Name shown to people, in Russian.
    pub name_ru: String,
    /// Name shown to people, in English.
    pub name_en: String,
    /// Code of the calendar whose working time the norms count.
    pub calendar: String,
    /// Share of each norm that specialists aim at.
    pub internal_target: Fraction,
    /// Norms per classification; a missing classification has no deadlines.
    pub classifications: BTreeMap<Classification, ClassificationNorms>,
    /// Working minutes allowed per workflow stage code.
    pub stages: BTreeMap<String, i64>,
}

impl SupportLevel {
    /// The promised working minutes of a norm, or `None` when it has no deadline.
    pub fn norm_minutes(&self, kind: NormKind<'_>) -> Option<i64> {
        match kind {
            NormKind::Reaction(c) => self.classifications.get(&c)?.reaction,
            NormKind::Solution(c) => self.classifications.get(&c)?.solution,
            NormKind::Stage(code) => self.stages.get(code).copied(),
        }
    }

    /// The working minutes specialists aim at for a norm.
    pub fn internal_minutes(&self, kind: NormKind<'_>) -> Option<i64> {
        self.norm_minutes(kind)
            .map(|minutes| self.internal_target.of(minutes))
    }

    /// The promised and internal deadlines of a norm counted from `start` in
    /// `calendar` (the level's own calendar, see [`crate::SlaConfig::calendar_of`]);
    /// `None` when the norm has no deadline.
    pub fn deadline(
        &self,
        calendar: &Calendar,
        start: Timestamp,
        kind: NormKind<'_>,
    ) -> Option<Deadline> {
        let promised = calendar.due(start, self.norm_minutes(kind)?);
        let internal = calendar.due(start, self.internal_minutes(kind)?);
        Some(Deadline { promised, internal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions() {
        assert_eq!(Fraction::default().of(240), 80);
        assert_eq!(Fraction::default().of(100), 34);
        assert_eq!("1/2".parse::<Fraction>().unwrap().of(120), 60);
        assert_eq!("1".parse::<Fraction>().unwrap().of(120), 120);
        assert!("3/2".parse::<Fraction>().is_err());
        assert!("0/3".parse::<Fraction>().is_err());
        assert!("x".parse::<Fraction>().is_err());
    }

    #[test]
    fn classification_codes_round_trip() {
        for c in Classification::ALL {
            assert_eq!(c.code().parse::<Classification>(), Ok(c));
        }
        assert!("bugs".parse::<Classification>().is_err());
    }
}
