//! Accounts (issue 22): how failed logins slow further tries, and what an API token may do.
//!
//! Throttling follows OWASP ASVS level 2 (V2.2.1): it slows guessing without ever locking
//! the owner out. Each account and each source address keeps a count of recent failures;
//! a few are free, after that every further try waits twice as long as the one before, up
//! to a cap. Waiting is the only penalty: once the wait is over, the right password gets in.

use crate::FieldError;
use jiff::{SignedDuration, Timestamp};

/// Recent failed logins of one account or one source address (as the store keeps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: u32,
    pub last_at: Option<Timestamp>,
}

/// How failures of one kind of key (account or source address) slow further tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures that cost nothing (typos).
    pub free: u32,
    /// The wait after the first failure beyond the free ones; it doubles with each further one.
    pub first_wait: SignedDuration,
    /// The longest wait, however many failures.
    pub max_wait: SignedDuration,
}

/// Per account: three free typos, then 1 s, 2 s, 4 s … at most a minute. Five wrong passwords
/// cost the owner 2 seconds; a guesser gets at most 60 tries an hour (ASVS: under 100).
pub const ACCOUNT_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free: 3,
    first_wait: SignedDuration::from_secs(1),
    max_wait: SignedDuration::from_secs(60),
};

/// Per source address: an office behind one address may mistype often, so twenty are free;
/// a password sprayed over many accounts from one address then waits up to 5 minutes a try.
pub const SOURCE_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free: 20,
    first_wait: SignedDuration::from_secs(1),
    max_wait: SignedDuration::from_mins(5),
};

/// Failures older than this (counted from the last one) are forgotten.
pub const FAILURE_MEMORY: SignedDuration = SignedDuration::from_mins(15);

/// Whether a login may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginGate {
    Open,
    /// Refused without checking the password; try again after this long (`Retry-After`).
    Wait(SignedDuration),
}

impl ThrottlePolicy {
    /// The wait this many failures impose after the last one.
    pub fn wait_after(&self, count: u32) -> SignedDuration {
        if count <= self.free {
            return SignedDuration::ZERO;
        }
        let doublings = (count - self.free - 1).min(30);
        let wait = self
            .first_wait
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_wait);
        wait.min(self.max_wait)
    }
}

impl Failures {
    /// The failures still remembered at `now`.
    pub fn current(self, now: Timestamp) -> Failures {
        match self.last_at {
            Some(last) if now.duration_since(last) < FAILURE_MEMORY => self,
            _ => Failures::default(),
        }
    }
}

/// The one decision: may this login be tried now, given the account's and the source's
/// recent failures? The longer of the two waits wins.
pub fn login_gate(account: Failures, source: Failures, now: Timestamp) -> LoginGate {
    let remaining = |failures: Failures, policy: ThrottlePolicy| {
        let failures = failures.current(now);
        match failures.last_at {
            Some(last) => (last + policy.wait_after(failures.count)).duration_since(now),
            None => SignedDuration::ZERO,
        }
    };
    let wait = remaining(account, ACCOUNT_THROTTLE).max(remaining(source, SOURCE_THROTTLE));
    if wait > SignedDuration::ZERO {
        LoginGate::Wait(wait)
    } else {
        LoginGate::Open
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenScope {
    /// Safe methods only (GET/HEAD): reports, dashboards, exports.
    Read,
    /// Everything its owner may do.
    Write,
}

impl TokenScope {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        match text {
            "read" => Ok(TokenScope::Read),
            "write" => Ok(TokenScope::Write),
            _ => Err(FieldError::new("scope", "must be `read` or `write`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
}

/// Longest token name, in characters.
pub const TOKEN_NAME_MAX: usize = 100;
/// Longest token lifetime a person may ask for (ten years).
pub const TOKEN_DAYS_MAX: i64 = 3650;

/// A token's name: trimmed, 1–100 printable characters.
pub fn parse_token_name(text: &str) -> Result<String, FieldError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "must not be empty"));
    }
    if name.chars().count() > TOKEN_NAME_MAX {
        return Err(FieldError::new("name", "must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A token's lifetime in days: 1 to [`TOKEN_DAYS_MAX`].
pub fn parse_token_days(days: i64) -> Result<SignedDuration, FieldError> {
    if (1..=TOKEN_DAYS_MAX).contains(&days) {
        Ok(SignedDuration::from_hours(days * 24))
    } else {
        Err(FieldError::new(
            "expires_in_days",
            "must be between 1 and 3650",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn failures(count: u32, last: i64) -> Failures {
        Failures {
            count,
            last_at: Some(at(last)),
        }
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        let waits: Vec<i64> = (0..=12)
            .map(|n| ACCOUNT_THROTTLE.wait_after(n).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(ACCOUNT_THROTTLE.wait_after(u32::MAX).as_secs(), 60);
        assert_eq!(SOURCE_THROTTLE.wait_after(20).as_secs(), 0);
        assert_eq!(SOURCE_THROTTLE.wait_after(21).as_secs(), 1);
        assert_eq!(SOURCE_THROTTLE.wait_after(1000).as_secs(), 300);
    }

    #[test]
    fn five_wrong_passwords_cost_the_owner_two_seconds_not_a_lockout() {
        let none = Failures::default();
        assert_eq!(
            login_gate(failures(5, 0), none, at(0)),
            LoginGate::Wait(SignedDuration::from_secs(2))
        );
        assert_eq!(
            login_gate(failures(5, 0), none, at(1)),
            LoginGate::Wait(SignedDuration::from_secs(1))
        );
        assert_eq!(login_gate(failures(5, 0), none, at(2)), LoginGate::Open);
        // However many failures, the wait after the last one is at most a minute.
        assert_eq!(
            login_gate(failures(10_000, 0), none, at(60)),
            LoginGate::Open
        );
    }

    #[test]
    fn the_longer_of_account_and_source_waits_wins() {
        let gate = login_gate(failures(4, 0), failures(25, 0), at(0));
        assert_eq!(gate, LoginGate::Wait(SignedDuration::from_secs(16)));
        assert_eq!(
            login_gate(failures(0, 0), failures(21, 0), at(1)),
            LoginGate::Open
        );
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_quarter_hour() {
        let old = failures(50, 0);
        assert_eq!(old.current(at(899)).count, 50);
        assert_eq!(old.current(at(900)), Failures::default());
        assert_eq!(login_gate(old, old, at(900)), LoginGate::Open);
    }

    #[test]
    fn token_inputs_are_parsed_at_the_edge() {
        assert_eq!(parse_token_name("  CI  ").unwrap(), "CI");
        assert_eq!(parse_token_name("").unwrap_err().field, "name");
        assert!(parse_token_name(&"x".repeat(101)).is_err());
        assert!(parse_token_name("a\nb").is_err());
        assert_eq!(parse_token_days(30).unwrap().as_hours(), 720);
        assert_eq!(parse_token_days(0).unwrap_err().field, "expires_in_days");
        assert!(parse_token_days(3651).is_err());
        assert_eq!(TokenScope::parse("read").unwrap(), TokenScope::Read);
        assert_eq!(TokenScope::parse("admin").unwrap_err().field, "scope");
    }
}
