//! Deadline bookkeeping over a ticket's life: working time spent per stage against its
//! norm, and deadlines whose clock stops while the ticket waits on the client.

use jiff::Timestamp;

use crate::calendar::{Calendar, whole_seconds};

/// One stay of a ticket in a workflow stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageVisit<'a> {
    /// Stage code.
    pub stage: &'a str,
    /// When the ticket entered the stage.
    pub entered_at: Timestamp,
    /// When it left (use "now" for the stage it is in).
    pub left_at: Timestamp,
}

/// Working time a ticket spent in one stage (all visits together) against the norm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTime {
    /// Stage code.
    pub stage: String,
    /// Working minutes spent, summed over all visits (truncated to whole minutes).
    pub spent_minutes: i64,
    /// The stage's norm in working minutes, if it has one.
    pub norm_minutes: Option<i64>,
}

impl StageTime {
    /// Whether more working time was spent than the norm allows.
    pub fn over_norm(&self) -> bool {
        self.norm_minutes
            .is_some_and(|norm| self.spent_minutes > norm)
    }
}

/// Working minutes per stage against the norms (`norm_of` gives a stage's norm, e.g.
/// `|stage| level.norm_minutes(NormKind::Stage(stage))`), in order of first visit.
pub fn stage_times<'a>(
    calendar: &Calendar,
    visits: impl IntoIterator<Item = StageVisit<'a>>,
    norm_of: impl Fn(&str) -> Option<i64>,
) -> Vec<StageTime> {
    let mut seconds: Vec<(&str, i64)> = Vec::new();
    for visit in visits {
        let spent = calendar
            .working_seconds_between(visit.entered_at, visit.left_at)
            .max(0);
        match seconds.iter_mut().find(|(stage, _)| *stage == visit.stage) {
            Some((_, total)) => *total += spent,
            None => seconds.push((visit.stage, spent)),
        }
    }
    seconds
        .into_iter()
        .map(|(stage, spent)| StageTime {
            stage: stage.to_string(),
            spent_minutes: spent / 60,
            norm_minutes: norm_of(stage),
        })
        .collect()
}

/// A time when the deadline clock stood still (the ball was on the client's side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the ticket started waiting.
    pub from: Timestamp,
    /// When the client answered.
    pub until: Timestamp,
}

impl Calendar {
    /// Like [`Calendar::due`], but working time inside `pauses` does not count, so
    /// the deadline moves by the working time the ticket spent waiting. Pauses may be
    /// in any order and may overlap; those after the deadline change nothing.
    ///
    /// For a pause still running there is no deadline yet; when it ends, call this
    /// with the finished pause.
    pub fn due_with_pauses(&self, start: Timestamp, minutes: i64, pauses: &[Pause]) -> Timestamp {
        if minutes <= 0 {
            return start;
        }
        let mut pauses = pauses.to_vec();
        pauses.sort_by_key(|pause| pause.from);
        let (mut at, mut remaining) = (start, minutes.saturating_mul(60));
        for pause in pauses.iter().filter(|pause| pause.from < pause.until) {
            if pause.until <= at {
                continue;
            }
            let due = self.due_after_seconds(whole_seconds(at), remaining);
            if due <= pause.from {
                return due;
            }
            remaining -= self.working_seconds_between(at, pause.from.max(at));
            at = pause.until;
        }
        self.due_after_seconds(whole_seconds(at), remaining)
    }
}
