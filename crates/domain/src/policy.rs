//! Who may do what: the one place the desk decides it (issue 22, "authorization in one place").
//!
//! Every operation of the API and every page names one [`Action`]; the desk checks
//! [`check`] before doing it, and nothing else decides by role. *Which* objects an allowed
//! action reaches (a client's own tickets, a person's own tokens and drafts) is
//! [`crate::visibility`]'s business, applied by the store's queries: this module says whether
//! the door opens at all, visibility says which rooms are behind it.
//!
//! The actors are the people of the firm and its integrations:
//! - a **client** contact;
//! - a **specialist** of lines 1–3;
//! - a **vendor**: a login whose only line is 4 (a vendor's support writing back on the
//!   tickets handed to it) — staff for visibility, but not a member of the firm's team:
//!   it works tasks and nothing else of ours;
//! - a **manager**: the commercial and operational side (clients, contracts, billing,
//!   reports, the dashboard, reassigning work);
//! - an **admin**: the desk's configuration (workflows, calendars, support levels, users,
//!   mail, channels, webhooks, the audit log) and everything a manager does;
//! - an **integration token** with scope `read` or `write`: the owner's rights, and with
//!   `read` only the actions that change nothing.
//!
//! Where the code disagreed before this module, the decision a support firm expects was
//! taken: managers run clients and contracts (the contract pages were admin-only while the
//! desk let managers change contracts: managers now have both), and the team's skills, line
//! leads and priorities (the skills page was admin-only, the desk let managers: managers
//! have both; accounts themselves stay the admin's); registering a ticket is line
//! work (line 1 keeps the "to register" list); the firm's knowledge base is written by its
//! own team, not by a vendor's login. The table in `docs/AUTHORIZATION.md` is rendered from
//! [`allows`] by [`table`] and a test keeps the two equal.

use crate::accounts::TokenScope;
use crate::{DomainError, Line, Role, User};

/// Who is asking, as far as authorization is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actor {
    pub kind: ActorKind,
    /// `Some` when the request came with an API token: a `read` token changes nothing.
    pub scope: Option<TokenScope>,
    /// A specialist leading a line distributes its work (the store knows; the desk asks it
    /// only where it matters).
    pub line_lead: bool,
}

/// The kinds of people the policy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Client,
    Specialist,
    Vendor,
    Manager,
    Admin,
}

impl ActorKind {
    pub const ALL: &'static [ActorKind] = &[
        ActorKind::Client,
        ActorKind::Specialist,
        ActorKind::Vendor,
        ActorKind::Manager,
        ActorKind::Admin,
    ];

    pub fn of(role: Role, lines: &[Line]) -> ActorKind {
        match role {
            Role::Client => ActorKind::Client,
            Role::Specialist if !lines.is_empty() && lines.iter().all(|l| l.get() == 4) => {
                ActorKind::Vendor
            }
            Role::Specialist => ActorKind::Specialist,
            Role::Manager => ActorKind::Manager,
            Role::Admin => ActorKind::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Client => "client",
            ActorKind::Specialist => "specialist",
            ActorKind::Vendor => "vendor",
            ActorKind::Manager => "manager",
            ActorKind::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            ActorKind::Client => CLIENT,
            ActorKind::Specialist => SPECIALIST,
            ActorKind::Vendor => VENDOR,
            ActorKind::Manager => MANAGER,
            ActorKind::Admin => ADMIN,
        }
    }
}

impl Actor {
    /// A person signed in with a session (a browser) or acting inside the desk.
    pub fn person(user: &User) -> Actor {
        Actor {
            kind: ActorKind::of(user.role, &user.lines),
            scope: None,
            line_lead: false,
        }
    }

    /// A request made with an API token of this scope.
    pub fn token(user: &User, scope: TokenScope) -> Actor {
        Actor {
            scope: Some(scope),
            ..Actor::person(user)
        }
    }
}

const CLIENT: u8 = 1;
const SPECIALIST: u8 = 2;
const VENDOR: u8 = 4;
const MANAGER: u8 = 8;
const ADMIN: u8 = 16;
const MANAGERS: u8 = MANAGER | ADMIN;
/// The firm's own team: specialists, managers, admins.
const TEAM: u8 = SPECIALIST | MANAGERS;
/// Everyone who works tasks: the team and vendors.
const STAFF: u8 = TEAM | VENDOR;
const EVERYONE: u8 = STAFF | CLIENT;

/// Declares the actions: each with who may, whether it changes anything, and why.
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident = ($code:literal, $who:expr, $writes:expr)),+ $(,)?) => {
        /// One thing a person may ask the desk to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($(#[$doc])* $name),+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$name),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Action::$name => $code),+ }
            }

            pub fn parse(code: &str) -> Option<Action> {
                match code { $($code => Some(Action::$name),)+ _ => None }
            }

            fn who(self) -> u8 {
                match self { $(Action::$name => $who),+ }
            }

            /// Whether the action changes anything (a `read` token may not).
            pub fn writes(self) -> bool {
                match self { $(Action::$name => $writes),+ }
            }
        }
    };
}

actions! {
    /// One's own profile, tokens and sessions.
    ReadOwnAccount = ("read_own_account", EVERYONE, false),
    /// Change one's own profile, create and revoke one's tokens, sign out sessions.
    ChangeOwnAccount = ("change_own_account", EVERYONE, true),
    /// Tickets, their public conversation, history and files (as far as visibility admits).
    ReadTickets = ("read_tickets", EVERYONE, false),
    /// Open a ticket, write in it, edit and send one's drafts, attach files, watch.
    WriteTickets = ("write_tickets", EVERYONE, true),
    /// Rate the answer: the client's word only.
    RateTicket = ("rate_ticket", CLIENT, true),
    /// Knowledge-base articles of one's audience.
    ReadKnowledge = ("read_knowledge", EVERYONE, false),
    /// An article's versions and the tickets it answered.
    ReadStaffKnowledge = ("read_staff_knowledge", TEAM, false),
    /// Write articles, link them to tickets, answer with them.
    WriteKnowledge = ("write_knowledge", TEAM, true),
    /// The work queue, tasks, one's figures, time and plan.
    ReadTasks = ("read_tasks", STAFF, false),
    /// Take, complete, transfer tasks; record time; plan; decide on a ticket's route.
    WorkTasks = ("work_tasks", STAFF, true),
    /// Hand someone else's work to another person; distribute a pool.
    ReassignTasks = ("reassign_tasks", MANAGERS, true),
    /// Mark the daily review of open tickets done (a manager's routine; reading it is a report).
    DailyReview = ("daily_review", MANAGERS, true),
    /// A client's record (a client: its own organization's).
    ReadClients = ("read_clients", CLIENT | TEAM, false),
    /// The lists of clients, contacts and equipment; a caller looked up by phone; calls;
    /// the registration list.
    LookUpCallers = ("look_up_callers", TEAM, false),
    /// Register a ticket (client and contract), record and link the client's equipment,
    /// note calls.
    RegisterTickets = ("register_tickets", TEAM, true),
    /// Create and change clients and contacts; import them.
    ManageClients = ("manage_clients", MANAGERS, true),
    /// Contracts and their limits (a client: its own).
    ReadContracts = ("read_contracts", CLIENT | TEAM, false),
    /// Create and change contracts.
    ManageContracts = ("manage_contracts", MANAGERS, true),
    /// Invoices, revenue, acts and work reports.
    ReadBilling = ("read_billing", MANAGERS, false),
    /// Draft and settle invoices, send work reports.
    ManageBilling = ("manage_billing", MANAGERS, true),
    /// Reports, the dashboard, the manager's figure lists.
    ReadReports = ("read_reports", MANAGERS, false),
    /// Report subscriptions and announcements to the team.
    ManageReports = ("manage_reports", MANAGERS, true),
    /// Workflows, calendars, support levels, services (the team reads them).
    ReadConfiguration = ("read_configuration", TEAM, false),
    /// Publish workflows, calendars, support levels, skills and priorities.
    Configure = ("configure", ADMIN, true),
    /// The team's skills, line leads and who takes which service first.
    ManageTeam = ("manage_team", MANAGERS, true),
    /// Users: list, add, change their role, lines and passwords.
    ManageUsers = ("manage_users", ADMIN, true),
    /// The mail quarantine, channel settings (secrets included) and webhooks.
    ReadChannels = ("read_channels", ADMIN, false),
    /// Retry quarantined mail, change channel settings, subscribe and drop webhooks.
    ManageChannels = ("manage_channels", ADMIN, true),
    /// Events from a telephone exchange.
    ReportCalls = ("report_calls", TEAM, true),
    /// The audit log of administrative changes.
    ReadAudit = ("read_audit", ADMIN, false),
}

/// The one decision.
pub fn allows(actor: Actor, action: Action) -> bool {
    if actor.scope == Some(TokenScope::Read) && action.writes() {
        return false;
    }
    if action == Action::ReassignTasks && actor.kind == ActorKind::Specialist && actor.line_lead {
        return true;
    }
    action.who() & actor.kind.bit() != 0
}

/// [`allows`] as the error the desk answers with (403).
pub fn check(actor: Actor, action: Action) -> Result<(), DomainError> {
    if allows(actor, action) {
        Ok(())
    } else if actor.scope == Some(TokenScope::Read) && action.writes() {
        Err(DomainError::Forbidden(
            "this token may only read (its scope is `read`)".into(),
        ))
    } else {
        Err(DomainError::Forbidden(format!(
            "a {} may not {}",
            actor.kind.as_str(),
            action.as_str().replace('_', " ")
        )))
    }
}

/// A person's decision, as a session sees it.
pub fn person_allows(user: &User, action: Action) -> bool {
    allows(Actor::person(user), action)
}

/// The action × actor table (Markdown), rendered from [`allows`].
pub fn table() -> String {
    let mut out = String::from("| action | writes |");
    for kind in ActorKind::ALL {
        out.push_str(&format!(" {} |", kind.as_str()));
    }
    out.push_str(" read token |\n|---|---|");
    for _ in ActorKind::ALL {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for &action in Action::ALL {
        let mark = |yes: bool| if yes { " ✓ |" } else { " · |" };
        out.push_str(&format!(
            "| `{}` |{}",
            action.as_str(),
            mark(action.writes())
        ));
        for &kind in ActorKind::ALL {
            let actor = Actor {
                kind,
                scope: None,
                line_lead: false,
            };
            out.push_str(mark(allows(actor, action)));
        }
        out.push_str(if action.writes() {
            " · |\n"
        } else {
            " owner's |\n"
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(kind: ActorKind, scope: Option<TokenScope>) -> Actor {
        Actor {
            kind,
            scope,
            line_lead: false,
        }
    }

    #[test]
    fn the_documented_table_is_the_policy() {
        let doc = include_str!("../../../docs/AUTHORIZATION.md");
        assert!(
            doc.contains(&table()),
            "docs/AUTHORIZATION.md is out of date; its table must read:\n{}",
            table()
        );
    }

    #[test]
    fn codes_round_trip_and_are_unique() {
        for &action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        let mut codes: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Action::ALL.len());
    }

    #[test]
    fn a_read_token_changes_nothing_and_reads_what_its_owner_reads() {
        for &kind in ActorKind::ALL {
            for &action in Action::ALL {
                let read = allows(actor(kind, Some(TokenScope::Read)), action);
                let write = allows(actor(kind, Some(TokenScope::Write)), action);
                let person = allows(actor(kind, None), action);
                assert_eq!(write, person, "{kind:?} {action:?}");
                assert_eq!(read, person && !action.writes(), "{kind:?} {action:?}");
            }
        }
    }

    #[test]
    fn rights_grow_from_client_to_admin() {
        // What a manager may, an admin may; what a specialist may in the firm's name, a
        // manager may (rating is the one client's word staff never speak).
        for &action in Action::ALL {
            let may = |kind| allows(actor(kind, None), action);
            if may(ActorKind::Manager) {
                assert!(may(ActorKind::Admin), "{action:?}");
            }
            if may(ActorKind::Specialist) {
                assert!(may(ActorKind::Manager), "{action:?}");
            }
            if may(ActorKind::Vendor) {
                assert!(may(ActorKind::Specialist), "{action:?}");
            }
        }
    }

    #[test]
    fn the_disagreements_are_settled() {
        let manager = actor(ActorKind::Manager, None);
        assert!(allows(manager, Action::ManageContracts));
        assert!(allows(manager, Action::ManageClients));
        assert!(!allows(manager, Action::Configure));
        assert!(!allows(manager, Action::ReadAudit));
        let client = actor(ActorKind::Client, None);
        assert!(allows(client, Action::RateTicket));
        assert!(!allows(actor(ActorKind::Admin, None), Action::RateTicket));
        assert!(!allows(client, Action::ReadTasks));
        let vendor = actor(ActorKind::Vendor, None);
        assert!(allows(vendor, Action::WorkTasks));
        assert!(!allows(vendor, Action::WriteKnowledge));
        assert!(!allows(vendor, Action::ReadClients));
        let lead = Actor {
            line_lead: true,
            ..actor(ActorKind::Specialist, None)
        };
        assert!(allows(lead, Action::ReassignTasks));
        assert!(!allows(
            actor(ActorKind::Specialist, None),
            Action::ReassignTasks
        ));
    }

    #[test]
    fn a_line_four_only_login_is_a_vendor() {
        let four = [Line::new(4).unwrap()];
        let mixed = [Line::new(2).unwrap(), Line::new(4).unwrap()];
        assert_eq!(ActorKind::of(Role::Specialist, &four), ActorKind::Vendor);
        assert_eq!(
            ActorKind::of(Role::Specialist, &mixed),
            ActorKind::Specialist
        );
        assert_eq!(ActorKind::of(Role::Specialist, &[]), ActorKind::Specialist);
    }

    #[test]
    fn a_refusal_says_who_and_what() {
        let err = check(actor(ActorKind::Client, None), Action::ReadReports).unwrap_err();
        assert!(err.to_string().contains("client"), "{err}");
        let err = check(
            actor(ActorKind::Admin, Some(TokenScope::Read)),
            Action::Configure,
        )
        .unwrap_err();
        assert!(err.to_string().contains("read"), "{err}");
    }
}
