//! The audit log's vocabulary (issue 22): which administrative change an entry records.

/// An administrative change worth recording: who did it, when, to what, before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    UserCreated,
    UserChanged,
    TokenCreated,
    TokenRevoked,
    TotpEnrolled,
    TotpRemoved,
}

impl AuditAction {
    pub const ALL: [AuditAction; 6] = [
        AuditAction::UserCreated,
        AuditAction::UserChanged,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::TotpEnrolled,
        AuditAction::TotpRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserCreated => "user.created",
            AuditAction::UserChanged => "user.changed",
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::TotpEnrolled => "totp.enrolled",
            AuditAction::TotpRemoved => "totp.removed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("user"), None);
    }
}
