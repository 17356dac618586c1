//! The mapping plan: which client, service, status and role each thing of the source
//! becomes. A first `--plan FILE` run writes a proposal as TOML; the admin edits the
//! right-hand sides and runs again. Errors name the file and line.

use crate::source::{Catalog, SourceKind};
use crate::{ImportError, Result};
use okno_domain::{Role, TicketStatus, parse_client_code};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedClient {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: SourceKind,
    pub url: String,
    /// Source client key (`project:support`) → the client here.
    pub clients: BTreeMap<String, PlannedClient>,
    /// Source service key (`tracker:Ошибка`) → the service code here.
    pub services: BTreeMap<String, String>,
    /// Source status name → the status here.
    pub statuses: BTreeMap<String, TicketStatus>,
    /// Source user id → staff role; everyone else is a contact of their tickets' client.
    pub staff: BTreeMap<String, Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    source: toml::Spanned<String>,
    url: String,
    #[serde(default)]
    clients: BTreeMap<String, toml::Spanned<ClientEntry>>,
    #[serde(default)]
    services: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default)]
    statuses: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default)]
    staff: BTreeMap<String, toml::Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    code: String,
    name: String,
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A status name read as one of ours, by the words systems usually use.
fn propose_status(name: &str, closed: bool) -> TicketStatus {
    let name = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["resolv", "решен", "решён", "выполн"]) {
        TicketStatus::Resolved
    } else if closed || has(&["closed", "reject", "закры", "отклон"]) {
        TicketStatus::Closed
    } else if has(&["feedback", "stalled", "pending", "wait", "обратн", "ожида"]) {
        TicketStatus::WaitingClient
    } else if has(&["new", "нов"]) {
        TicketStatus::New
    } else {
        TicketStatus::InProgress
    }
}

/// A client code from a source name: latin letters and digits (Cyrillic transliterated),
/// other characters as `-`, at most 32.
fn propose_code(name: &str) -> String {
    const CYRILLIC: [(&str, &str); 33] = [
        ("а", "A"),
        ("б", "B"),
        ("в", "V"),
        ("г", "G"),
        ("д", "D"),
        ("е", "E"),
        ("ё", "E"),
        ("ж", "ZH"),
        ("з", "Z"),
        ("и", "I"),
        ("й", "Y"),
        ("к", "K"),
        ("л", "L"),
        ("м", "M"),
        ("н", "N"),
        ("о", "O"),
        ("п", "P"),
        ("р", "R"),
        ("с", "S"),
        ("т", "T"),
        ("у", "U"),
        ("ф", "F"),
        ("х", "H"),
        ("ц", "TS"),
        ("ч", "CH"),
        ("ш", "SH"),
        ("щ", "SCH"),
        ("ъ", ""),
        ("ы", "Y"),
        ("ь", ""),
        ("э", "E"),
        ("ю", "YU"),
        ("я", "YA"),
    ];
    let mut code = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_uppercase());
        } else if let Some((_, latin)) = CYRILLIC.iter().find(|(cyr, _)| cyr.starts_with(c)) {
            code.push_str(latin);
        } else if !code.ends_with('-') && !code.is_empty() {
            code.push('-');
        }
    }
    let code: String = code.trim_end_matches('-').chars().take(28).collect();
    if code.is_empty() {
        "IMPORTED".to_owned()
    } else {
        code
    }
}

impl Plan {
    /// A first plan from what the source has: every client key a client of its own, every
    /// service key `default_service`, statuses by their names, staff as the source says.
    pub fn propose(kind: SourceKind, url: &str, catalog: &Catalog, default_service: &str) -> Plan {
        let mut codes = HashSet::new();
        let clients = catalog
            .clients
            .iter()
            .map(|group| {
                let tail = group.key.split_once(':').map_or(&*group.key, |(_, t)| t);
                let base = propose_code(if tail.is_empty() { &group.name } else { tail });
                let mut code = base.clone();
                let mut n = 2;
                while !codes.insert(code.clone()) {
                    code = format!("{base}-{n}");
                    n += 1;
                }
                let name = if group.name.trim().is_empty() {
                    code.clone()
                } else {
                    group.name.clone()
                };
                (group.key.clone(), PlannedClient { code, name })
            })
            .collect();
        Plan {
            kind,
            url: url.to_owned(),
            clients,
            services: catalog
                .services
                .iter()
                .map(|g| (g.key.clone(), default_service.to_owned()))
                .collect(),
            statuses: catalog
                .statuses
                .iter()
                .map(|s| (s.name.clone(), propose_status(&s.name, s.closed)))
                .collect(),
            staff: catalog
                .users
                .iter()
                .filter(|u| u.staff)
                .map(|u| {
                    let role = if u.admin {
                        Role::Admin
                    } else {
                        Role::Specialist
                    };
                    (u.id.clone(), role)
                })
                .collect(),
        }
    }

    /// The plan as the TOML file the admin edits, with the source's names as comments.
    pub fn to_toml(&self, catalog: &Catalog) -> String {
        let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let name_of = |groups: &[crate::source::SourceGroup], key: &str| {
            groups
                .iter()
                .find(|g| g.key == key)
                .map(|g| g.name.replace('\n', " "))
                .unwrap_or_default()
        };
        let mut out = format!(
            "# How {} at {} maps onto Okno. Edit the values, then run the import again with\n\
             # --plan and this file. Statuses: new, in_progress, waiting_client, resolved, closed.\n\
             # Staff roles: specialist, manager, admin; every other user becomes a contact of\n\
             # the client of the tickets they wrote.\n\
             source = {}\nurl = {}\n\n[clients]\n",
            self.kind.title(),
            self.url,
            quote(self.kind.code()),
            quote(&self.url),
        );
        for (key, client) in &self.clients {
            out.push_str(&format!(
                "{} = {{ code = {}, name = {} }}\n",
                quote(key),
                quote(&client.code),
                quote(&client.name)
            ));
        }
        out.push_str("\n[services]\n");
        for (key, service) in &self.services {
            out.push_str(&format!(
                "{} = {}  # {}\n",
                quote(key),
                quote(service),
                name_of(&catalog.services, key)
            ));
        }
        out.push_str("\n[statuses]\n");
        for (name, status) in &self.statuses {
            out.push_str(&format!("{} = {}\n", quote(name), quote(status.as_str())));
        }
        out.push_str("\n[staff]\n");
        for (id, role) in &self.staff {
            let who = catalog
                .users
                .iter()
                .find(|u| &u.id == id)
                .map(|u| format!("{} <{}>", u.name, u.email.as_deref().unwrap_or("no email")))
                .unwrap_or_default();
            out.push_str(&format!(
                "{} = {}  # {}\n",
                quote(id),
                quote(role.as_str()),
                who
            ));
        }
        for user in catalog
            .users
            .iter()
            .filter(|u| !self.staff.contains_key(&u.id))
        {
            out.push_str(&format!(
                "# {} = \"specialist\"  # {} <{}>\n",
                quote(&user.id),
                user.name,
                user.email.as_deref().unwrap_or("no email")
            ));
        }
        out
    }

    /// Reads a plan file; `service_exists` says whether a service code is one of ours.
    /// Every error names `file:line`.
    pub fn parse(file: &str, text: &str, service_exists: &dyn Fn(&str) -> bool) -> Result<Plan> {
        let error = |offset: usize, message: String| ImportError::Plan {
            file: file.to_owned(),
            line: line_of(text, offset),
            message,
        };
        let parsed: PlanFile = toml::from_str(text).map_err(|e| {
            error(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_owned(),
            )
        })?;
        let kind = SourceKind::parse(parsed.source.get_ref()).ok_or_else(|| {
            error(
                parsed.source.span().start,
                format!(
                    "source: unknown system {:?} (redmine, rt or znuny)",
                    parsed.source.get_ref()
                ),
            )
        })?;
        let mut clients = BTreeMap::new();
        let mut codes = HashSet::new();
        for (key, entry) in parsed.clients {
            let at = entry.span().start;
            let entry = entry.into_inner();
            let code = parse_client_code(&entry.code)
                .map_err(|e| error(at, format!("clients.{key:?}: {}", e.message)))?;
            if !codes.insert(code.clone()) {
                return Err(error(
                    at,
                    format!("clients.{key:?}: the code {code} is given twice"),
                ));
            }
            let name = entry.name.trim().to_owned();
            if name.is_empty() {
                return Err(error(at, format!("clients.{key:?}: the name is empty")));
            }
            clients.insert(key, PlannedClient { code, name });
        }
        let mut services = BTreeMap::new();
        for (key, code) in parsed.services {
            if !service_exists(code.get_ref()) {
                return Err(error(
                    code.span().start,
                    format!(
                        "services.{key:?}: unknown service {:?} (see `okno config check` and the service catalog)",
                        code.get_ref()
                    ),
                ));
            }
            services.insert(key, code.into_inner());
        }
        let mut statuses = BTreeMap::new();
        for (name, status) in parsed.statuses {
            let parsed_status = TicketStatus::parse(status.get_ref())
                .filter(|s| *s != TicketStatus::Draft)
                .ok_or_else(|| {
                    error(
                        status.span().start,
                        format!(
                            "statuses.{name:?}: unknown status {:?} (new, in_progress, waiting_client, resolved, closed)",
                            status.get_ref()
                        ),
                    )
                })?;
            statuses.insert(name, parsed_status);
        }
        let mut staff = BTreeMap::new();
        for (id, role) in parsed.staff {
            let parsed_role = Role::parse(role.get_ref())
                .filter(|r| r.is_staff())
                .ok_or_else(|| {
                    error(
                        role.span().start,
                        format!(
                            "staff.{id:?}: unknown role {:?} (specialist, manager, admin)",
                            role.get_ref()
                        ),
                    )
                })?;
            staff.insert(id, parsed_role);
        }
        Ok(Plan {
            kind,
            url: parsed.url,
            clients,
            services,
            statuses,
            staff,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceGroup, SourceStatus, SourceUser};

    fn catalog() -> Catalog {
        Catalog {
            clients: vec![
                SourceGroup {
                    key: "project:support".into(),
                    name: "Поддержка".into(),
                },
                SourceGroup {
                    key: "org:Ромашка".into(),
                    name: "Ромашка".into(),
                },
            ],
            services: vec![SourceGroup {
                key: "tracker:Ошибка".into(),
                name: "Ошибка".into(),
            }],
            statuses: vec![
                SourceStatus {
                    name: "Новая".into(),
                    closed: false,
                },
                SourceStatus {
                    name: "Решена".into(),
                    closed: false,
                },
                SourceStatus {
                    name: "Обратная связь".into(),
                    closed: false,
                },
                SourceStatus {
                    name: "Отклонена".into(),
                    closed: true,
                },
            ],
            users: vec![SourceUser {
                id: "1".into(),
                name: "Admin".into(),
                email: None,
                staff: true,
                admin: true,
            }],
        }
    }

    #[test]
    fn a_proposed_plan_reads_back_the_same() {
        let catalog = catalog();
        let plan = Plan::propose(SourceKind::Redmine, "http://rm", &catalog, "question");
        assert_eq!(plan.clients["project:support"].code, "SUPPORT");
        assert_eq!(plan.clients["org:Ромашка"].code, "ROMASHKA");
        assert_eq!(plan.statuses["Решена"], TicketStatus::Resolved);
        assert_eq!(plan.statuses["Обратная связь"], TicketStatus::WaitingClient);
        assert_eq!(plan.statuses["Отклонена"], TicketStatus::Closed);
        assert_eq!(plan.statuses["Новая"], TicketStatus::New);
        assert_eq!(plan.staff["1"], Role::Admin);
        let text = plan.to_toml(&catalog);
        let read = Plan::parse("plan.toml", &text, &|s| s == "question").unwrap();
        assert_eq!(read, plan);
    }

    #[test]
    fn an_unknown_service_is_refused_with_its_line() {
        let text =
            "source = \"redmine\"\nurl = \"http://rm\"\n\n[services]\n\"tracker:Bug\" = \"bugz\"\n";
        let error = Plan::parse("plan.toml", text, &|s| s == "question").unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("plan.toml:5: "), "{message}");
        assert!(message.contains("unknown service \"bugz\""), "{message}");
        let text = "source = \"redmine\"\nurl = \"x\"\n[statuses]\n\"A\" = \"done\"\n";
        let message = Plan::parse("p", text, &|_| true).unwrap_err().to_string();
        assert!(message.starts_with("p:4: "), "{message}");
        let message = Plan::parse("p", "source = \"jira\"\nurl = \"x\"\n", &|_| true)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("p:1: "), "{message}");
        let message = Plan::parse("p", "source = \n", &|_| true)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("p:1: "), "{message}");
    }
}
