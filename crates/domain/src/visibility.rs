//! Who may see what: the one place the desk decides it.
//!
//! The store turns a [`TicketScope`] into its `WHERE` clause; handlers never filter by hand.
//! A client contact sees its organization's tickets only (its own, plus those the requester
//! shared, or all of them when the contact is allowed the whole organization), only public
//! comments and public history, and never tasks.

use crate::{ClientId, DomainError, Line, Role, User, UserId};

/// The person asking, as far as visibility is concerned.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: UserId,
    pub role: Role,
    pub client_id: Option<ClientId>,
    pub sees_organization: bool,
    pub lines: Vec<Line>,
}

/// Which tickets a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketScope {
    /// Staff: every ticket.
    All,
    /// A contact allowed the whole organization.
    Organization(ClientId),
    /// A contact: the tickets it requested or watches, and those shared with its organization.
    OwnOrShared { client: ClientId, user: UserId },
    /// A vendor's login (line 4 only): the tickets handed to its vendor, and no other.
    HandedToVendor(UserId),
    /// A client login with no organization sees nothing.
    Nothing,
}

/// What naming a client one may not use answers, whether it exists or not.
pub const UNKNOWN_CLIENT: &str = "unknown client";

/// The facts about one ticket that visibility depends on.
#[derive(Debug, Clone, Copy)]
pub struct TicketFacts {
    pub client: ClientId,
    pub requester: UserId,
    pub shared_with_organization: bool,
    pub watched_by_viewer: bool,
    /// The ticket was handed to the vendor whose login the viewer is.
    pub handed_to_viewer: bool,
}

impl From<&User> for Viewer {
    fn from(user: &User) -> Self {
        Viewer {
            user_id: user.id,
            role: user.role,
            client_id: user.client_id,
            sees_organization: user.sees_organization,
            lines: user.lines.clone(),
        }
    }
}

impl Viewer {
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    pub fn ticket_scope(&self) -> TicketScope {
        match (self.role, self.client_id) {
            (Role::Specialist, _)
                if !self.lines.is_empty() && self.lines.iter().all(|l| l.get() == 4) =>
            {
                TicketScope::HandedToVendor(self.user_id)
            }
            (role, _) if role.is_staff() => TicketScope::All,
            (_, Some(client)) if self.sees_organization => TicketScope::Organization(client),
            (_, Some(client)) => TicketScope::OwnOrShared {
                client,
                user: self.user_id,
            },
            (_, None) => TicketScope::Nothing,
        }
    }

    /// Internal comments and non-public history.
    pub fn sees_internal(&self) -> bool {
        self.is_staff()
    }

    pub fn sees_tasks(&self) -> bool {
        self.is_staff()
    }

    /// Which organization a new ticket belongs to: a contact always opens for its own;
    /// staff must name one.
    pub fn client_for_new_ticket(
        &self,
        requested: Option<ClientId>,
    ) -> Result<ClientId, DomainError> {
        match (self.is_staff(), self.client_id, requested) {
            (false, Some(own), None) => Ok(own),
            (false, Some(own), Some(other)) if other == own => Ok(own),
            // The same answer as for a code that names nobody: a contact cannot probe
            // which client codes exist.
            (false, Some(_), Some(_)) => {
                Err(crate::FieldError::new("client", UNKNOWN_CLIENT).into())
            }
            (false, None, _) => Err(DomainError::Forbidden(
                "this login belongs to no client organization".into(),
            )),
            (true, _, Some(client)) => Ok(client),
            (true, _, None) => {
                Err(crate::FieldError::new("client", "staff must name the client").into())
            }
        }
    }

    /// A comment the viewer wants to post: clients cannot post internal ones.
    pub fn may_post(&self, internal: bool) -> Result<(), DomainError> {
        if internal && !self.is_staff() {
            return Err(crate::FieldError::new(
                "internal",
                "clients cannot post internal comments",
            )
            .into());
        }
        Ok(())
    }
}

impl TicketScope {
    /// The same rule the store's queries apply, for checks on a single ticket and for tests.
    pub fn admits(self, ticket: TicketFacts) -> bool {
        match self {
            TicketScope::All => true,
            TicketScope::Organization(client) => ticket.client == client,
            TicketScope::OwnOrShared { client, user } => {
                ticket.client == client
                    && (ticket.requester == user
                        || ticket.shared_with_organization
                        || ticket.watched_by_viewer)
            }
            TicketScope::HandedToVendor(_) => ticket.handed_to_viewer,
            TicketScope::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn viewer(role: Role, client: Option<i64>, org: bool) -> Viewer {
        Viewer {
            user_id: UserId(10),
            role,
            client_id: client.map(ClientId),
            sees_organization: org,
            lines: vec![],
        }
    }

    fn facts(client: i64, requester: i64, shared: bool, watched: bool) -> TicketFacts {
        TicketFacts {
            client: ClientId(client),
            requester: UserId(requester),
            shared_with_organization: shared,
            watched_by_viewer: watched,
            handed_to_viewer: false,
        }
    }

    #[test]
    fn a_vendor_sees_only_the_tickets_handed_to_it() {
        let vendor = Viewer {
            lines: vec![Line::new(4).unwrap()],
            ..viewer(Role::Specialist, None, false)
        };
        let scope = vendor.ticket_scope();
        assert_eq!(scope, TicketScope::HandedToVendor(UserId(10)));
        assert!(!scope.admits(facts(1, 11, true, true)));
        assert!(scope.admits(TicketFacts {
            handed_to_viewer: true,
            ..facts(1, 11, false, false)
        }));
        let line2 = Viewer {
            lines: vec![Line::new(2).unwrap(), Line::new(4).unwrap()],
            ..viewer(Role::Specialist, None, false)
        };
        assert_eq!(line2.ticket_scope(), TicketScope::All);
    }

    #[test]
    fn a_contact_sees_own_and_shared_tickets_of_its_organization_only() {
        let scope = viewer(Role::Client, Some(1), false).ticket_scope();
        assert!(scope.admits(facts(1, 10, false, false)));
        assert!(scope.admits(facts(1, 11, true, false)));
        assert!(scope.admits(facts(1, 11, false, true)));
        assert!(!scope.admits(facts(1, 11, false, false)));
        assert!(
            !scope.admits(facts(2, 10, true, true)),
            "never another organization's ticket"
        );
    }

    #[test]
    fn an_organization_wide_contact_sees_the_whole_organization() {
        let scope = viewer(Role::Client, Some(1), true).ticket_scope();
        assert!(scope.admits(facts(1, 99, false, false)));
        assert!(!scope.admits(facts(2, 99, true, false)));
    }

    #[test]
    fn staff_see_everything_and_internals() {
        for role in [Role::Specialist, Role::Manager, Role::Admin] {
            let v = viewer(role, None, false);
            assert_eq!(v.ticket_scope(), TicketScope::All);
            assert!(v.sees_internal() && v.sees_tasks());
        }
        let client = viewer(Role::Client, Some(1), true);
        assert!(!client.sees_internal() && !client.sees_tasks());
        assert!(client.may_post(true).is_err() && client.may_post(false).is_ok());
    }

    #[test]
    fn a_contact_cannot_open_a_ticket_for_another_organization() {
        let v = viewer(Role::Client, Some(1), false);
        assert_eq!(v.client_for_new_ticket(None), Ok(ClientId(1)));
        assert_eq!(
            v.client_for_new_ticket(Some(ClientId(2))),
            Err(crate::FieldError::new("client", UNKNOWN_CLIENT).into())
        );
        assert!(
            viewer(Role::Manager, None, false)
                .client_for_new_ticket(None)
                .is_err()
        );
        assert_eq!(
            viewer(Role::Client, None, false).ticket_scope(),
            TicketScope::Nothing
        );
    }

    proptest! {
        /// Whatever the ticket, a client never sees one of another organization.
        #[test]
        fn clients_never_cross_organizations(own in 1i64..4, other in 1i64..4, req in 1i64..20,
                                             shared: bool, watched: bool, org: bool) {
            let scope = viewer(Role::Client, Some(own), org).ticket_scope();
            if own != other {
                prop_assert!(!scope.admits(facts(other, req, shared, watched)));
            }
        }
    }
}
