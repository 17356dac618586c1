//! The validated service catalog and workflows, as the rest of Okno sees them.
//!
//! These types are built only by [`Catalog::from_files`](crate::Catalog::from_files), so every
//! reference in them (stage codes, pools, workflow codes) is known to resolve.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A text in Russian and English. English falls back to Russian when the config omits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub ru: String,
    pub en: String,
}

impl Text {
    /// The text in `lang` (`"en"` gives English, anything else Russian).
    pub fn get(&self, lang: &str) -> &str {
        if lang.eq_ignore_ascii_case("en") {
            &self.en
        } else {
            &self.ru
        }
    }
}

/// The status the client sees on a ticket (matches `okno_domain::TicketStatus` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    InProgress,
    WaitingClient,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::InProgress,
        Status::WaitingClient,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in_progress",
            Status::WaitingClient => "waiting_client",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classifications line 1 may set (004); same codes as `okno_domain::Classification`.
pub const CLASSIFICATIONS: [&str; 4] = ["question", "bug", "critical", "improvement"];

/// How urgent a task is. [`Priority::weight`] gives the number stored on task rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(code: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == code)
    }

    /// The numeric priority for task rows: larger is more urgent (critical 100 … low 25).
    pub fn weight(self) -> i32 {
        match self {
            Priority::Low => 25,
            Priority::Normal => 50,
            Priority::High => 75,
            Priority::Critical => 100,
        }
    }
}

/// A deadline norm for a task. Durations count working time on the ticket's calendar;
/// `Reaction`/`Solution` refer to the client's support level (for the ticket's
/// classification), which the SLA layer resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Norm {
    /// No deadline (e.g. improvement proposals, 004).
    None,
    /// The support level's reaction norm.
    Reaction,
    /// The support level's solution norm for the ticket's classification.
    Solution,
    /// This many working minutes.
    WorkingMinutes(u32),
}

/// Working minutes in a norm day (`d`), as in `okno_sla::norm::WORKING_DAY_MINUTES`.
pub const WORKING_DAY_MINUTES: u32 = 8 * 60;

impl Norm {
    /// Parses `"none"`, `"reaction"`, `"solution"` or a working duration written like the
    /// SLA crate's norms: `"30m"`, `"2h"`, `"1h30m"`, `"3d"` (a day is 8 working hours).
    pub fn parse(text: &str) -> Option<Norm> {
        let text = text.trim();
        match text {
            "none" => return Some(Norm::None),
            "reaction" => return Some(Norm::Reaction),
            "solution" => return Some(Norm::Solution),
            "" => return None,
            _ => {}
        }
        let mut rest = text;
        let mut total: u32 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let amount: u32 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let scale = match rest.chars().next()? {
                'm' => 1,
                'h' => 60,
                'd' => WORKING_DAY_MINUTES,
                _ => return None,
            };
            rest = &rest[1..];
            total = total.checked_add(amount.checked_mul(scale)?)?;
        }
        (total > 0).then_some(Norm::WorkingMinutes(total))
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Norm::None => f.write_str("none"),
            Norm::Reaction => f.write_str("reaction"),
            Norm::Solution => f.write_str("solution"),
            Norm::WorkingMinutes(m) if m % 60 == 0 => write!(f, "{}h", m / 60),
            Norm::WorkingMinutes(m) => write!(f, "{m}m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_read_like_the_sla_crate() {
        assert_eq!(Norm::parse("30m"), Some(Norm::WorkingMinutes(30)));
        assert_eq!(Norm::parse("2h"), Some(Norm::WorkingMinutes(120)));
        assert_eq!(Norm::parse("1h30m"), Some(Norm::WorkingMinutes(90)));
        assert_eq!(Norm::parse("3d"), Some(Norm::WorkingMinutes(3 * 480)));
        assert_eq!(Norm::parse(" reaction "), Some(Norm::Reaction));
        for bad in ["", "2", "h", "0h", "2x", "2 h", "-1h", "99999999999m"] {
            assert_eq!(Norm::parse(bad), None, "{bad}");
        }
        assert_eq!(Norm::WorkingMinutes(90).to_string(), "90m");
        assert_eq!(Norm::WorkingMinutes(120).to_string(), "2h");
    }
}

/// Who a task is for: a named person, a support line's pool, or a role pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Addressee {
    /// A person, by e-mail.
    Person(String),
    /// The pool of a support line, 1–4.
    Line(u8),
    /// A role pool declared with `[[pool]]` (`accounting`, `manager`, `engineer`, …).
    Pool(String),
}

/// A role pool: tasks addressed to it wait until a member takes them (002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub code: String,
    pub name: Text,
}

/// Who may use a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Audience {
    /// Every client.
    All,
    /// Only these clients (by client code).
    Clients(Vec<String>),
    /// Only clients whose contract has this feature (e.g. `license-keys`).
    ContractFeature(String),
}

impl Audience {
    /// Whether a client with `client_code` and these contract features may use the service.
    pub fn allows(&self, client_code: &str, contract_features: &[&str]) -> bool {
        match self {
            Audience::All => true,
            Audience::Clients(codes) => codes.iter().any(|c| c.eq_ignore_ascii_case(client_code)),
            Audience::ContractFeature(feature) => contract_features.contains(&feature.as_str()),
        }
    }
}

/// The kind of an extra form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Select,
    Date,
    Bool,
}

impl FieldKind {
    pub fn parse(code: &str) -> Option<FieldKind> {
        Some(match code {
            "text" => FieldKind::Text,
            "number" => FieldKind::Number,
            "select" => FieldKind::Select,
            "date" => FieldKind::Date,
            "bool" => FieldKind::Bool,
            _ => return None,
        })
    }
}

/// An extra field on a service's ticket form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub code: String,
    pub label: Text,
    pub kind: FieldKind,
    pub required: bool,
    /// The choices of a `select` field (empty otherwise).
    pub options: Vec<String>,
}

/// A catalog entry the client picks with one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub code: String,
    pub name: Text,
    pub description: Text,
    pub fields: Vec<FormField>,
    pub audience: Audience,
    /// The workflow code; new tickets start on its latest version.
    pub workflow: String,
    pub order: i32,
    pub active: bool,
}

/// Where an outcome leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Target {
    /// Enter this stage.
    Stage(String),
    /// Close the ticket.
    Close,
    /// Finish the task and stay in the stage (side tasks, e.g. an invoice draft).
    Stay,
}

/// An outcome a task (or an automatic step, or the client's decision) can end with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub code: String,
    pub target: Target,
    /// The classification this outcome sets (one of [`CLASSIFICATIONS`]).
    pub classification: Option<String>,
    /// A public message posted when this outcome is taken. `{result}` stands for the
    /// automatic action's output (e.g. the issued key).
    pub message: Option<Text>,
}

/// A task a stage creates on entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTemplate {
    pub kind: String,
    pub title: Text,
    pub addressee: Addressee,
    pub norm: Norm,
    pub priority: Priority,
    /// Copy the previous task's summary (e.g. line 1's notes) into this task.
    pub carry_summary: bool,
    /// Instructions for the specialist (Markdown); the stage's when the task has none.
    pub instructions: Option<Text>,
    pub outcomes: Vec<Outcome>,
}

impl TaskTemplate {
    /// A side task finishes with `stay` outcomes only: it never moves the route, and it
    /// survives the stage being left (it is cancelled only when the ticket closes).
    pub fn is_side(&self) -> bool {
        self.outcomes.iter().all(|o| o.target == Target::Stay)
    }

    pub fn outcome(&self, code: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.code == code)
    }
}

/// What a stage does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StageKind {
    /// People work on tasks; a task's outcome moves the route.
    Tasks,
    /// The caller runs `action` and feeds its outcome back (`ok`, `error`, …).
    Auto {
        action: String,
        params: BTreeMap<String, String>,
        outcomes: Vec<Outcome>,
    },
    /// The ball is on the client's side: the client decides (one of `outcomes`, e.g.
    /// `approved`/`declined`) or, if `on_reply` is set, any client message resumes the route.
    WaitingClient {
        on_reply: Option<Target>,
        outcomes: Vec<Outcome>,
    },
}

/// A step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub code: String,
    pub kind: StageKind,
    pub status: Status,
    /// A custom label for the status (e.g. «Диагностика»); the status's own label otherwise.
    pub status_label: Option<Text>,
    /// Posted publicly to the ticket when the route enters this stage.
    pub message: Option<Text>,
    /// How to do this stage's work (Markdown), shown on its tasks.
    pub instructions: Option<Text>,
    pub tasks: Vec<TaskTemplate>,
}

impl Stage {
    pub fn task(&self, kind: &str) -> Option<&TaskTemplate> {
        self.tasks.iter().find(|t| t.kind == kind)
    }

    /// The stage-level outcomes (automatic and waiting stages).
    pub fn stage_outcomes(&self) -> &[Outcome] {
        match &self.kind {
            StageKind::Tasks => &[],
            StageKind::Auto { outcomes, .. } | StageKind::WaitingClient { outcomes, .. } => {
                outcomes
            }
        }
    }
}

/// One version of a service's route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub code: String,
    pub version: u32,
    pub name: Text,
    /// The first stage is the first one listed.
    pub stages: Vec<Stage>,
    /// Deadline norm of the `reply` task a client's message creates (default `2h`).
    pub reply_norm: Norm,
    /// The line that answers client messages mid-route (default 1).
    pub reply_line: u8,
}

impl Workflow {
    pub fn stage(&self, code: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.code == code)
    }

    /// Where new routes start: the first stage listed (validated workflows have one).
    pub fn first_stage(&self) -> Option<&Stage> {
        self.stages.first()
    }
}

/// The validated catalog: services, workflows by (code, version), role pools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    pub(crate) services: Vec<Service>,
    pub(crate) workflows: BTreeMap<(String, u32), Workflow>,
    pub(crate) pools: Vec<Pool>,
}

impl Catalog {
    /// Services in display order (`order`, then code), inactive ones included.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// Active services a client may pick.
    pub fn services_for<'a>(
        &'a self,
        client_code: &'a str,
        contract_features: &'a [&'a str],
    ) -> impl Iterator<Item = &'a Service> + 'a {
        self.services
            .iter()
            .filter(move |s| s.active && s.audience.allows(client_code, contract_features))
    }

    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    pub fn workflows(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values()
    }

    /// The exact version a ticket started on: routes under way keep their version.
    pub fn workflow(&self, code: &str, version: u32) -> Option<&Workflow> {
        self.workflows.get(&(code.to_string(), version))
    }

    /// The newest version of a workflow: new tickets start on it.
    pub fn latest(&self, code: &str) -> Option<&Workflow> {
        self.workflows
            .range((code.to_string(), 0)..=(code.to_string(), u32::MAX))
            .next_back()
            .map(|(_, w)| w)
    }

    /// Adds (publishes) workflow versions from more files on top of this catalog; existing
    /// versions stay, so tickets under way keep finding theirs. Validates as
    /// [`Catalog::from_files`] does, with this catalog's pools known.
    pub fn publish(&mut self, files: &[(String, String)]) -> Result<(), crate::ConfigErrors> {
        let added = crate::config::load(files, Some(self))?;
        self.pools.extend(added.pools);
        self.workflows.extend(added.workflows);
        for service in added.services {
            self.services.retain(|s| s.code != service.code);
            self.services.push(service);
        }
        crate::config::sort_services(&mut self.services);
        Ok(())
    }
}
