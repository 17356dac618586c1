//! The desk's configuration: the shipped defaults compiled into the binary, or a directory
//! laid out like `config/` (services, workflows, calendars, support-levels, contracts,
//! priorities, knowledge-base articles). Either is validated whole, by the same code for
//! `okno serve` and `okno config check`; a directory with any error is refused with
//! `file:line` messages.

use crate::contract_settings::{self, ContractSettings};
use crate::queue::RULES_FILE;
use okno_domain::priority::PriorityRules;
use okno_sla::SlaConfig;
use okno_workflow::Catalog;
use std::path::Path;

/// The files of a configuration directory, by section, as `(path, text)`.
#[derive(Debug, Default)]
pub struct ConfigFiles {
    /// `services/*.toml` and `workflows/*.toml`.
    pub workflows: Vec<(String, String)>,
    pub calendars: Vec<(String, String)>,
    pub support_levels: Vec<(String, String)>,
    /// `contracts.toml` (registration defaults, contract lifecycle); `None`: the shipped one.
    pub contracts: Option<(String, String)>,
    /// `priorities.toml` (the queues' order); `None`: the shipped rules.
    pub priorities: Option<(String, String)>,
    /// `kb/*.md`, the articles loaded at start.
    pub articles: Vec<(String, String)>,
}

/// A validated configuration.
pub struct Config {
    pub catalog: Catalog,
    pub sla: SlaConfig,
    pub contracts: ContractSettings,
    pub priorities: PriorityRules,
}

impl ConfigFiles {
    /// Reads every `*.toml` under the directory's sections (a missing section is empty).
    pub fn read(dir: &Path) -> std::io::Result<ConfigFiles> {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such configuration directory", dir.display()),
            ));
        }
        let mut workflows = section(dir, "services")?;
        workflows.extend(section(dir, "workflows")?);
        Ok(ConfigFiles {
            workflows,
            calendars: section(dir, "calendars")?,
            support_levels: section(dir, "support-levels")?,
            contracts: optional_file(&dir.join(contract_settings::FILE))?,
            priorities: optional_file(&dir.join(RULES_FILE))?,
            articles: files_of(&dir.join("kb"), "md")?,
        })
    }

    pub fn count(&self) -> usize {
        self.workflows.len()
            + self.calendars.len()
            + self.support_levels.len()
            + usize::from(self.contracts.is_some())
            + usize::from(self.priorities.is_some())
            + self.articles.len()
    }

    /// Validates everything together; the error lists every problem, one `file:line: message`
    /// per line.
    pub fn validate(&self) -> Result<Config, String> {
        let catalog = Catalog::from_files(&self.workflows).map_err(|e| e.to_string());
        let sla = SlaConfig::load(pairs(&self.calendars), pairs(&self.support_levels))
            .map_err(|e| e.to_string());
        let priorities = match &self.priorities {
            Some((file, text)) => PriorityRules::parse(file, text),
            None => Ok(PriorityRules::shipped()),
        };
        let articles: Vec<String> = self
            .articles
            .iter()
            .filter_map(|(file, text)| crate::kb::parse_article_file(file, text).err())
            .collect();
        let (catalog, sla) = match (catalog, sla) {
            (Ok(catalog), Ok(sla)) => (catalog, sla),
            (catalog, sla) => {
                return Err(lines(
                    [catalog.err(), sla.err(), priorities.err()]
                        .into_iter()
                        .flatten()
                        .chain(articles),
                ));
            }
        };
        // The contracts file names services and levels: checked once both are known.
        let contracts = match &self.contracts {
            Some((file, text)) => ContractSettings::parse(file, text, &catalog, &sla),
            None => ContractSettings::shipped(&catalog, &sla),
        }
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>());
        match (contracts, priorities) {
            (Ok(contracts), Ok(priorities)) if articles.is_empty() => Ok(Config {
                catalog,
                sla,
                contracts,
                priorities,
            }),
            (contracts, priorities) => Err(lines(
                contracts
                    .err()
                    .unwrap_or_default()
                    .into_iter()
                    .chain(priorities.err())
                    .chain(articles),
            )),
        }
    }
}

impl ConfigFiles {
    /// The files shipped inside the binary (those of `config/`).
    pub fn shipped() -> ConfigFiles {
        ConfigFiles {
            workflows: okno_workflow::default_files(),
            calendars: owned(okno_sla::shipped::CALENDAR_FILES),
            support_levels: owned(okno_sla::shipped::SUPPORT_LEVEL_FILES),
            contracts: None,
            priorities: None,
            articles: Vec::new(),
        }
    }
}

impl Config {
    /// The configuration shipped inside the binary (the files of `config/`).
    pub fn shipped() -> Result<Config, String> {
        ConfigFiles::shipped().validate()
    }
}

fn pairs(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect()
}

fn owned(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// Errors, one per line, without trailing blank lines.
fn lines(errors: impl IntoIterator<Item = String>) -> String {
    errors
        .into_iter()
        .map(|e| e.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A file's `(path, text)`, or `None` when there is none.
fn optional_file(path: &Path) -> std::io::Result<Option<(String, String)>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = crate::bounded::read_text(path, crate::bounded::CONFIG_FILE_BYTES)?;
    Ok(Some((path.display().to_string(), text)))
}

fn section(dir: &Path, name: &str) -> std::io::Result<Vec<(String, String)>> {
    files_of(&dir.join(name), "toml")
}

/// Every `*.extension` file of a folder (none when it is missing), by name.
fn files_of(folder: &Path, extension: &str) -> std::io::Result<Vec<(String, String)>> {
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<_> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = crate::bounded::read_text(&path, crate::bounded::CONFIG_FILE_BYTES)?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}
