//! Numbers and texts from outside, bounded where they are parsed: what a person or a
//! program sends can be stored, summed and shown without overflowing anything.

use crate::FieldError;

/// A planned task's length: 1 to 1,440 minutes (a plan lies within one day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlanMinutes(i64);

impl PlanMinutes {
    pub const MAX: i64 = 24 * 60;

    pub fn parse(minutes: i64) -> Result<Self, FieldError> {
        if (1..=Self::MAX).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(FieldError::new(
                "minutes",
                format!("a plan lasts 1 to {} minutes", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// A stored length as a plan can have it, whatever was stored before the bound.
    pub fn clamp_stored(minutes: i64) -> i64 {
        minutes.clamp(0, Self::MAX)
    }
}

/// The first field of a text input holding a NUL character: no text a person writes
/// has one, PostgreSQL cannot store one, and a page or mail would cut the text there.
pub fn nul_in<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<&'a str> {
    fields
        .into_iter()
        .find(|(_, text)| text.contains('\0'))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_last_one_minute_to_one_day() {
        assert_eq!(PlanMinutes::parse(1).unwrap().get(), 1);
        assert_eq!(PlanMinutes::parse(1440).unwrap().get(), 1440);
        for bad in [0, -1, 1441, i64::MAX, i64::MIN] {
            assert_eq!(PlanMinutes::parse(bad).unwrap_err().field, "minutes");
        }
        assert_eq!(PlanMinutes::clamp_stored(i64::MAX), 1440);
        assert_eq!(PlanMinutes::clamp_stored(-5), 0);
    }

    #[test]
    fn finds_the_field_with_a_nul() {
        assert_eq!(nul_in([("subject", "ok"), ("body", "a\0b")]), Some("body"));
        assert_eq!(nul_in([("subject", "ok")]), None);
    }
}
