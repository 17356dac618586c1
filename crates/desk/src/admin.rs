//! What the admin pages do (issue 8): people (create, role, lines, pools, deactivate) and
//! the text of a workflow to edit. Clients, contracts, skills and publishing a workflow
//! have their own modules; this one adds what only the admin pages need.

use crate::{Desk, Result};
use okno_domain::audit::AuditAction;
use okno_domain::*;
use okno_store::{NewUser, UserChange, UserRecord};

/// Shortest password an admin may give a new user.
const PASSWORD_MIN_CHARS: usize = 8;

/// A user as typed into the admin form; every field is checked, and an error names it.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    pub role: String,
    /// The client's code, for a client contact.
    pub client: String,
    /// Support lines, `1, 2`.
    pub lines: String,
    /// Role pools, `accounting, licensing`.
    pub pools: String,
    /// Only when creating.
    pub password: String,
    pub active: bool,
}

/// A workflow's text as an admin edits it: the newest published version, else the file the
/// desk started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowSource {
    pub code: String,
    pub version: u32,
    pub file_name: String,
    pub text: String,
}

/// Comma- or space-separated words, trimmed, without empties.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty())
}

impl Desk {
    /// Users by id after `after`, for the admin's list.
    pub async fn user_records(
        &self,
        admin: &User,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserRecord>> {
        crate::authorize(admin, okno_domain::policy::Action::ManageUsers)?;
        Ok(self.store.user_records(after, limit).await?)
    }

    pub async fn user_record(&self, admin: &User, id: UserId) -> Result<UserRecord> {
        crate::authorize(admin, okno_domain::policy::Action::ManageUsers)?;
        self.store
            .user_record(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("user").into())
    }

    /// Creates a user who logs in with the given password.
    pub async fn add_user(&self, admin: &User, input: &UserInput) -> Result<UserId> {
        crate::authorize(admin, okno_domain::policy::Action::ManageUsers)?;
        let email = Email::parse(&input.email).map_err(|_| FieldError::new("email", "invalid"))?;
        let change = self.user_change(input).await?;
        if input.password.chars().count() < PASSWORD_MIN_CHARS {
            return Err(FieldError::new(
                "password",
                format!("at least {PASSWORD_MIN_CHARS} characters"),
            )
            .into());
        }
        let id = self
            .store
            .create_user(&NewUser {
                email,
                name: change.name.clone(),
                role: change.role,
                client_id: change.client_id,
                lines: change.lines.clone(),
                sees_organization: false,
                password_hash: Some(crate::auth::hash_password(&input.password)?),
            })
            .await?;
        self.store.update_user(id, &change).await?;
        let mut after = crate::audit::user_json(&change);
        after["email"] = input.email.trim().to_lowercase().into();
        self.record_audit(
            admin,
            AuditAction::UserCreated,
            format!("user:{}", id.0),
            None,
            Some(after),
        )
        .await?;
        Ok(id)
    }

    /// Changes a user's name, role, client, lines, pools and whether it may log in. An
    /// admin cannot take away their own admin role or deactivate themselves.
    pub async fn change_user(&self, admin: &User, id: UserId, input: &UserInput) -> Result<()> {
        crate::authorize(admin, okno_domain::policy::Action::ManageUsers)?;
        let change = self.user_change(input).await?;
        if id == admin.id && (change.role != Role::Admin || !change.active) {
            return Err(FieldError::new("role", "you cannot lock yourself out").into());
        }
        let before = self.store.user_record(id).await?.map(|r| {
            crate::audit::user_json(&UserChange {
                name: r.user.name,
                role: r.user.role,
                client_id: r.user.client_id,
                lines: r.user.lines,
                pools: r.pools,
                active: r.active,
            })
        });
        self.store.update_user(id, &change).await?;
        self.record_audit(
            admin,
            AuditAction::UserChanged,
            format!("user:{}", id.0),
            before,
            Some(crate::audit::user_json(&change)),
        )
        .await
    }

    /// The form's fields checked: a client contact belongs to a client and has no lines or
    /// pools; staff belong to no client; lines are 1–4, pools the catalog's.
    async fn user_change(&self, input: &UserInput) -> Result<UserChange> {
        let name = parse_text("name", &input.name, 200, true)?;
        let role = Role::parse(input.role.trim())
            .ok_or_else(|| FieldError::new("role", "client, specialist, manager or admin"))?;
        let lines = words(&input.lines)
            .map(|w| {
                w.parse::<u8>()
                    .map_err(|_| FieldError::new("lines", "a line is 1 to 4"))
                    .and_then(Line::new)
                    .map_err(|e| FieldError::new("lines", e.message))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let catalog = self.catalog();
        let pools = words(&input.pools)
            .map(|p| {
                catalog
                    .pools()
                    .iter()
                    .find(|known| known.code == p)
                    .map(|known| known.code.clone())
                    .ok_or_else(|| FieldError::new("pools", format!("no pool {p}")))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let client_id = match (role, input.client.trim()) {
            (Role::Client, "") => {
                return Err(FieldError::new("client", "must not be empty").into());
            }
            (Role::Client, code) => Some(
                self.store
                    .client_by_code(code)
                    .await?
                    .ok_or_else(|| FieldError::new("client", "unknown client"))?
                    .id,
            ),
            (_, "") => None,
            (_, _) => {
                return Err(FieldError::new("client", "only a client contact has a client").into());
            }
        };
        if role == Role::Client && !(lines.is_empty() && pools.is_empty()) {
            return Err(FieldError::new("lines", "a client contact has no lines or pools").into());
        }
        Ok(UserChange {
            name,
            role,
            client_id,
            lines,
            pools,
            active: input.active,
        })
    }

    /// The text an admin edits for workflow `code`; `None` when there is no such workflow.
    pub async fn workflow_source(
        &self,
        admin: &User,
        code: &str,
    ) -> Result<Option<WorkflowSource>> {
        crate::authorize(admin, okno_domain::policy::Action::Configure)?;
        let published = self
            .store
            .workflow_files()
            .await?
            .into_iter()
            .filter(|f| f.code == code)
            .max_by_key(|f| f.version);
        if let Some(file) = published {
            return Ok(Some(WorkflowSource {
                code: file.code,
                version: file.version,
                file_name: file.file_name,
                text: file.text,
            }));
        }
        let Some(version) = self.catalog().latest(code).map(|w| w.version) else {
            return Ok(None);
        };
        // The file the desk started with: `workflows/<code>.toml` of its configuration.
        let files = match &self.settings.config_dir {
            Some(dir) => crate::config::ConfigFiles::read(dir)?.workflows,
            None => okno_workflow::default_files(),
        };
        let wanted = format!("workflows/{code}.toml");
        Ok(files
            .into_iter()
            .find(|(name, _)| name.replace('\\', "/").ends_with(&wanted))
            .map(|(_, text)| WorkflowSource {
                code: code.to_owned(),
                version,
                file_name: format!("{code}.toml"),
                text,
            }))
    }
}

/// One service as the skills page shows it: the skills it needs and every specialist's
/// priority for it (what assignment weighs, `queue.rs`).
#[derive(Debug, Clone)]
pub struct ServiceSkills {
    pub code: String,
    pub name: okno_workflow::Text,
    pub skills: Vec<String>,
    pub candidates: Vec<okno_store::Candidate>,
}

impl Desk {
    /// Every active service with its skills and the specialists' priorities for it.
    pub async fn skills_overview(&self, admin: &User) -> Result<Vec<ServiceSkills>> {
        crate::authorize(admin, okno_domain::policy::Action::ManageTeam)?;
        let now = self.now();
        let mut services = Vec::new();
        for service in self.catalog().services().iter().filter(|s| s.active) {
            services.push(ServiceSkills {
                code: service.code.clone(),
                name: service.name.clone(),
                skills: self.store.service_skills(&service.code).await?,
                candidates: self.store.candidates(&service.code, now, now).await?,
            });
        }
        Ok(services)
    }
}

/// A calendar as the admin reads it: zone, the week's working hours, special days.
#[derive(Debug, Clone)]
pub struct CalendarSummary {
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub time_zone: String,
    /// Monday first: `09:00-13:00, 14:00-18:00`, empty on a day off.
    pub week: Vec<String>,
    pub holidays: Vec<jiff::civil::Date>,
    /// Weekend days that are working days (transfers).
    pub working_days: Vec<jiff::civil::Date>,
    pub short_days: Vec<jiff::civil::Date>,
    /// The file that defines it (`ru-standard`), to edit.
    pub file: Option<String>,
    /// The holiday lists it takes its special days from (`holidays-ru`).
    pub holiday_lists: Vec<String>,
}

/// A support level: its calendar, internal target and norms in working minutes.
#[derive(Debug, Clone)]
pub struct LevelSummary {
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub calendar: String,
    pub internal_target: String,
    /// Classification code, reaction and solution minutes (`None`: no deadline).
    pub norms: Vec<(&'static str, Option<i64>, Option<i64>)>,
    /// The file that defines it (`standard`), to edit.
    pub file: Option<String>,
}

/// What the admin's calendar page shows: calendars, holiday lists and support levels.
#[derive(Debug, Clone)]
pub struct SlaOverview {
    pub calendars: Vec<CalendarSummary>,
    pub levels: Vec<LevelSummary>,
    /// The holiday-list files (`holidays-ru`) and their versions.
    pub holiday_lists: Vec<(String, u32)>,
}

impl Desk {
    /// The calendars and support levels the desk runs with, each with the file to edit.
    pub fn calendars_overview(&self, admin: &User) -> Result<SlaOverview> {
        use crate::calendars::Section;
        let files = self.sla_files(admin)?;
        let file_of = |section: Section, code: &str| {
            files
                .iter()
                .find(|f| f.section == section && f.code().as_deref() == Some(code))
        };
        let holiday_lists: Vec<(String, u32)> = files
            .iter()
            .filter(|f| f.is_holiday_list())
            .map(|f| (f.name.clone(), f.version))
            .collect();
        let sla = self.sla();
        let calendars = sla
            .calendars
            .iter()
            .map(|entry| {
                let schedule = entry.calendar.schedule();
                let days = &schedule.special_days;
                CalendarSummary {
                    code: entry.calendar.code().to_owned(),
                    name_ru: entry.name_ru.clone(),
                    name_en: entry.name_en.clone(),
                    time_zone: schedule.time_zone.iana_name().unwrap_or("UTC").to_owned(),
                    week: schedule
                        .week
                        .iter()
                        .map(|day| {
                            day.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .collect(),
                    holidays: days.holidays.iter().copied().collect(),
                    working_days: days.working_days.iter().copied().collect(),
                    short_days: days.short_days.iter().copied().collect(),
                    file: file_of(Section::Calendars, entry.calendar.code())
                        .map(|f| f.name.clone()),
                    holiday_lists: file_of(Section::Calendars, entry.calendar.code())
                        .map(|f| named_holiday_lists(&f.text))
                        .unwrap_or_default(),
                }
            })
            .collect();
        let levels = sla
            .levels()
            .map(|level| LevelSummary {
                code: level.code.clone(),
                name_ru: level.name_ru.clone(),
                name_en: level.name_en.clone(),
                calendar: level.calendar.clone(),
                internal_target: level.internal_target.to_string(),
                norms: okno_sla::Classification::ALL
                    .iter()
                    .map(|c| {
                        let norms = level.classifications.get(c).copied().unwrap_or_default();
                        (c.code(), norms.reaction, norms.solution)
                    })
                    .collect(),
                file: file_of(Section::SupportLevels, &level.code).map(|f| f.name.clone()),
            })
            .collect();
        Ok(SlaOverview {
            calendars,
            levels,
            holiday_lists,
        })
    }
}

/// The `holidays = ["holidays-ru.toml"]` of a calendar file, as file stems.
fn named_holiday_lists(text: &str) -> Vec<String> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    table
        .get("holidays")
        .and_then(|h| h.as_array())
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str())
                .map(|n| n.strip_suffix(".toml").unwrap_or(n).to_owned())
                .collect()
        })
        .unwrap_or_default()
}
