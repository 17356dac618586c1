//! Calendars (with their holiday lists) and support levels edited by an admin, the way
//! workflows are (workflows.rs): a TOML file is checked together with every other file it
//! works with, published as a new version kept in the database, and laid over the
//! configuration's own file at every start. New deadlines count by it at once; deadlines
//! already set stay as they were.
//!
//! A published file keeps every code the running configuration defines (clients, contracts
//! and levels name calendars; contracts name levels) and a default level, so nothing that
//! already names one breaks.
//!
//! The versions live in the `workflow_files` table under the code `calendars/<name>` or
//! `support-levels/<name>` (a workflow's code has no `/`).

use crate::config::ConfigFiles;
use crate::{Desk, Result};
use okno_domain::*;
use okno_sla::SlaConfig;
use okno_store::WorkflowFile;
use std::collections::BTreeMap;

/// The configuration directory a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `calendars/`: calendars and the holiday lists (`holidays-*.toml`) they name.
    Calendars,
    /// `support-levels/`: reaction and solution norms.
    SupportLevels,
}

impl Section {
    pub const ALL: [Section; 2] = [Section::Calendars, Section::SupportLevels];

    /// The directory's name: `calendars`, `support-levels`.
    pub fn dir(self) -> &'static str {
        match self {
            Section::Calendars => "calendars",
            Section::SupportLevels => "support-levels",
        }
    }

    pub fn parse(dir: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.dir() == dir)
    }

    /// The field a refusal names.
    pub fn field(self) -> &'static str {
        match self {
            Section::Calendars => "calendar",
            Section::SupportLevels => "support_level",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Section::Calendars => "calendar file",
            Section::SupportLevels => "support level file",
        }
    }
}

/// One calendar, holiday-list or support-level file as the desk runs with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaFile {
    pub section: Section,
    /// The file's name without `.toml`: `ru-standard`, `holidays-ru`, `standard`.
    pub name: String,
    /// 1: the configuration's own file; each publication adds one.
    pub version: u32,
    pub text: String,
}

impl SlaFile {
    /// The files of a configuration's `calendars/` and `support-levels/`, version 1.
    pub fn of_config(files: &ConfigFiles) -> Vec<SlaFile> {
        let section = |section: Section, files: &[(String, String)]| {
            files
                .iter()
                .map(move |(path, text)| SlaFile {
                    section,
                    name: file_stem(path).to_owned(),
                    version: 1,
                    text: text.clone(),
                })
                .collect::<Vec<_>>()
        };
        let mut all = section(Section::Calendars, &files.calendars);
        all.extend(section(Section::SupportLevels, &files.support_levels));
        all
    }

    /// `calendars/ru-standard.toml`: the name its errors are reported under.
    pub fn path(&self) -> String {
        format!("{}/{}.toml", self.section.dir(), self.name)
    }

    /// A holiday list (`holidays-*.toml`) rather than a calendar.
    pub fn is_holiday_list(&self) -> bool {
        self.section == Section::Calendars && okno_sla::is_holiday_list(&self.path())
    }

    /// The `code` the file defines (a calendar's or a level's), if it reads.
    pub fn code(&self) -> Option<String> {
        let table: toml::Table = toml::from_str(&self.text).ok()?;
        table.get("code")?.as_str().map(str::to_owned)
    }

    /// The key its versions are stored under.
    fn store_code(&self) -> String {
        format!("{}/{}", self.section.dir(), self.name)
    }
}

/// `a/b/ru-standard.toml` → `ru-standard`.
fn file_stem(path: &str) -> &str {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    base.strip_suffix(".toml").unwrap_or(base)
}

/// `calendars/ru-standard` → the section and the name.
fn stored_file(code: &str) -> Option<(Section, &str)> {
    let (dir, name) = code.split_once('/')?;
    Some((Section::parse(dir)?, name))
}

/// Whether a stored "workflow" file is a calendar or support-level version instead.
pub(crate) fn is_sla_file(code: &str) -> bool {
    stored_file(code).is_some()
}

/// The files read together, checked against what the running configuration defines.
/// Errors are `file:line: message` lines (or `file: message`).
fn validate(files: &[SlaFile], current: &SlaConfig) -> Result<SlaConfig, String> {
    let paths: Vec<(String, &str, Section)> = files
        .iter()
        .map(|f| (f.path(), f.text.as_str(), f.section))
        .collect();
    let of = |section: Section| {
        paths
            .iter()
            .filter(move |(_, _, s)| *s == section)
            .map(|(path, text, _)| (path.as_str(), *text))
    };
    let next = SlaConfig::load(of(Section::Calendars), of(Section::SupportLevels))
        .map_err(|errors| errors.to_string())?;
    let mut gone = Vec::new();
    for entry in current.calendars.iter() {
        let code = entry.calendar.code();
        if next.calendars.get(code).is_err() {
            gone.push(format!(
                "calendar `{code}` is no longer defined: clients, contracts and support levels name it, keep its code"
            ));
        }
    }
    for level in current.levels() {
        if next.level(&level.code).is_none() {
            gone.push(format!(
                "support level `{}` is no longer defined: contracts name it, keep its code",
                level.code
            ));
        }
    }
    if current.default_level().is_some() && next.default_level().is_none() {
        gone.push("no support level is the default any more: keep `default = true` on one".into());
    }
    if gone.is_empty() {
        Ok(next)
    } else {
        Err(gone.join("\n"))
    }
}

impl Desk {
    /// The calendars and support levels new deadlines count by: those the desk started with
    /// until an admin publishes a file.
    pub fn sla(&self) -> &SlaConfig {
        let published = *self
            .sla_published
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        published.unwrap_or(&self.sla_started)
    }

    /// Every calendar, holiday-list and support-level file the desk runs with (admins only).
    pub fn sla_files(&self, admin: &User) -> Result<Vec<SlaFile>> {
        crate::authorize(admin, okno_domain::policy::Action::ReadConfiguration)?;
        Ok(self.current_sla_files())
    }

    /// One of them, by section and name (`ru-standard`).
    pub fn sla_file(&self, admin: &User, section: Section, name: &str) -> Result<SlaFile> {
        self.sla_files(admin)?
            .into_iter()
            .find(|f| f.section == section && f.name == name)
            .ok_or_else(|| DomainError::NotFound(section.what()).into())
    }

    /// Publishes a new version of a calendar, holiday-list or support-level file (admins
    /// only). Any error (`file:line: message`, one per line, in the field `calendar` or
    /// `support_level`) leaves the running configuration as it was. Returns the version.
    pub async fn publish_sla_file(
        &self,
        user: &User,
        section: Section,
        name: &str,
        text: &str,
    ) -> Result<u32> {
        crate::authorize(user, okno_domain::policy::Action::Configure)?;
        self.publish_sla_edit(Some(user.id), section, name, |_| Ok(text.to_owned()))
            .await
    }

    /// Publishes the text `edit` makes of the file's running version, read and written under
    /// the publishing lock so two edits cannot both start from the same version. `author`
    /// is the admin, or none for the command line. Returns the version.
    pub(crate) async fn publish_sla_edit(
        &self,
        author: Option<UserId>,
        section: Section,
        name: &str,
        edit: impl FnOnce(&SlaFile) -> Result<String>,
    ) -> Result<u32> {
        let _one_at_a_time = self.publishing.lock().await;
        let mut files = self.current_sla_files();
        let index = files
            .iter()
            .position(|f| f.section == section && f.name == name)
            .ok_or(DomainError::NotFound(section.what()))?;
        let text = edit(&files[index])?;
        files[index].text = text.clone();
        let next = validate(&files, self.sla())
            .map_err(|errors| FieldError::new(section.field(), errors))?;
        // The next version after every one stored (another process may have published).
        let code = files[index].store_code();
        let stored = self
            .store
            .workflow_files()
            .await?
            .into_iter()
            .filter(|f| f.code == code)
            .map(|f| f.version)
            .max();
        let version = stored.unwrap_or(1).max(files[index].version) + 1;
        let file = WorkflowFile {
            code,
            version,
            file_name: format!("{name}.toml"),
            text,
        };
        self.store
            .save_workflow_file(&file, author, self.now())
            .await?;
        files[index].version = version;
        self.replace_sla(next, files);
        Ok(version)
    }

    /// Lays the newest stored version of each file over the one the desk runs with: at
    /// start, and from the jobs' loop in every process, so an edit published by another
    /// process sharing the database takes effect here too. Nothing newer: nothing to do. A
    /// stored file that no longer fits (the configuration changed under it) is skipped with
    /// a warning rather than stopping the desk.
    pub async fn load_published_sla(&self) -> Result<()> {
        let _one_at_a_time = self.publishing.lock().await;
        let mut newest: BTreeMap<String, WorkflowFile> = BTreeMap::new();
        for file in self.store.workflow_files().await? {
            if !is_sla_file(&file.code) {
                continue;
            }
            let newer = newest
                .get(&file.code)
                .is_none_or(|kept| kept.version < file.version);
            if newer {
                newest.insert(file.code.clone(), file);
            }
        }
        let started = self.current_sla_files();
        let skipped = self
            .sla_skipped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        newest.retain(|code, stored| !skipped.contains(&(code.clone(), stored.version)));
        let unseen = newest.values().any(|stored| {
            stored_file(&stored.code).is_some_and(|(section, name)| {
                !started
                    .iter()
                    .any(|f| f.section == section && f.name == name && f.version >= stored.version)
            })
        });
        if !unseen {
            return Ok(());
        }
        let overlay = |files: &mut Vec<SlaFile>, stored: &WorkflowFile| {
            let Some((section, name)) = stored_file(&stored.code) else {
                return;
            };
            match files
                .iter_mut()
                .find(|f| f.section == section && f.name == name)
            {
                Some(file) => {
                    file.text = stored.text.clone();
                    file.version = stored.version;
                }
                None => files.push(SlaFile {
                    section,
                    name: name.to_owned(),
                    version: stored.version,
                    text: stored.text.clone(),
                }),
            }
        };
        // Usually all of them fit together: one check.
        let mut files = started.clone();
        for stored in newest.values() {
            overlay(&mut files, stored);
        }
        if let Ok(next) = validate(&files, self.sla()) {
            self.replace_sla(next, files);
            return Ok(());
        }
        // Else one by one, keeping those that fit.
        let (mut files, mut next) = (started, None);
        for stored in newest.values() {
            let mut candidate = files.clone();
            overlay(&mut candidate, stored);
            match validate(&candidate, next.as_ref().unwrap_or(self.sla())) {
                Ok(config) => (files, next) = (candidate, Some(config)),
                Err(errors) => {
                    tracing::warn!(
                        file = %stored.code, version = stored.version, %errors,
                        "a published calendar or support level no longer validates; skipped"
                    );
                    self.sla_skipped
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .insert((stored.code.clone(), stored.version));
                }
            }
        }
        if let Some(next) = next {
            self.replace_sla(next, files);
        }
        Ok(())
    }

    pub(crate) fn current_sla_files(&self) -> Vec<SlaFile> {
        self.sla_files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace_sla(&self, config: SlaConfig, files: Vec<SlaFile>) {
        // Deadlines being computed borrow the configuration they started with
        // (`SlaTerms<'_>`), so a published one lives as long as the process: a few hundred
        // kilobytes per publication, and admins publish rarely.
        let config: &'static SlaConfig = Box::leak(Box::new(config));
        *self
            .sla_published
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(config);
        *self
            .sla_files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = files;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<SlaFile> {
        SlaFile::of_config(&ConfigFiles::shipped())
    }

    #[test]
    fn the_shipped_files_are_named_by_their_stem() {
        let files = shipped();
        let names: Vec<_> = files.iter().map(|f| (f.section, f.name.as_str())).collect();
        assert!(names.contains(&(Section::Calendars, "holidays-ru")));
        assert!(names.contains(&(Section::Calendars, "ru-standard")));
        assert!(names.contains(&(Section::SupportLevels, "standard")));
        let holidays = files.iter().find(|f| f.name == "holidays-ru").unwrap();
        assert!(holidays.is_holiday_list() && holidays.code().is_none());
        let calendar = files.iter().find(|f| f.name == "ru-standard").unwrap();
        assert!(!calendar.is_holiday_list());
        assert_eq!(calendar.code().as_deref(), Some("ru-standard"));
        assert_eq!(calendar.path(), "calendars/ru-standard.toml");
        assert_eq!(
            stored_file("support-levels/standard"),
            Some((Section::SupportLevels, "standard"))
        );
        assert_eq!(stored_file("question"), None);
    }

    #[test]
    fn a_file_must_keep_its_codes_and_the_default() {
        let current = okno_sla::shipped::config().unwrap();
        let mut files = shipped();
        let level = files.iter_mut().find(|f| f.name == "standard").unwrap();
        level.text = level.text.replace("default = true", "default = false");
        let errors = validate(&files, &current).unwrap_err();
        assert!(
            errors.contains("no support level is the default"),
            "{errors}"
        );

        let mut files = shipped();
        let calendar = files.iter_mut().find(|f| f.name == "nsk-standard").unwrap();
        calendar.text = calendar
            .text
            .replace("code = \"nsk-standard\"", "code = \"nsk-other\"");
        let errors = validate(&files, &current).unwrap_err();
        assert!(
            errors.contains("calendar `nsk-standard` is no longer defined"),
            "{errors}"
        );

        let mut files = shipped();
        let calendar = files.iter_mut().find(|f| f.name == "ru-standard").unwrap();
        calendar.text = calendar.text.replace("\"09:00-13:00\"", "\"09:00-25:00\"");
        let errors = validate(&files, &current).unwrap_err();
        assert!(
            errors.starts_with("calendars/ru-standard.toml:"),
            "{errors}"
        );

        assert!(validate(&shipped(), &current).is_ok());
    }
}
