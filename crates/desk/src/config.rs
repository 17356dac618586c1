//! The desk's configuration: the shipped defaults compiled into the binary, or a directory
//! laid out like `config/` (services, workflows, calendars, support-levels). Either is
//! validated whole; a directory with any error is refused with `file:line` messages.

use crate::contract_settings::{self, ContractSettings};
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
}

/// A validated configuration.
pub struct Config {
    pub catalog: Catalog,
    pub sla: SlaConfig,
    pub contracts: ContractSettings,
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
        let contracts = dir.join(contract_settings::FILE);
        let contracts = match contracts.is_file() {
            true => Some((
                contracts.display().to_string(),
                std::fs::read_to_string(&contracts).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", contracts.display()))
                })?,
            )),
            false => None,
        };
        Ok(ConfigFiles {
            workflows,
            calendars: section(dir, "calendars")?,
            support_levels: section(dir, "support-levels")?,
            contracts,
        })
    }

    pub fn count(&self) -> usize {
        self.workflows.len()
            + self.calendars.len()
            + self.support_levels.len()
            + usize::from(self.contracts.is_some())
    }

    /// Validates everything together; the error lists every problem, one `file:line: message`
    /// per line.
    pub fn validate(&self) -> Result<Config, String> {
        let catalog = Catalog::from_files(&self.workflows).map_err(|e| e.to_string());
        let sla = SlaConfig::load(pairs(&self.calendars), pairs(&self.support_levels))
            .map_err(|e| e.to_string());
        match (catalog, sla) {
            // The contracts file names services and levels: checked once both are known.
            (Ok(catalog), Ok(sla)) => {
                let contracts = match &self.contracts {
                    Some((file, text)) => ContractSettings::parse(file, text, &catalog, &sla),
                    None => ContractSettings::shipped(&catalog, &sla),
                };
                match contracts {
                    Ok(contracts) => Ok(Config {
                        catalog,
                        sla,
                        contracts,
                    }),
                    Err(errors) => Err(errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")),
                }
            }
            (catalog, sla) => Err([catalog.err(), sla.err()]
                .into_iter()
                .flatten()
                .map(|e| e.trim_end().to_owned())
                .collect::<Vec<_>>()
                .join("\n")),
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

fn section(dir: &Path, name: &str) -> std::io::Result<Vec<(String, String)>> {
    let folder = dir.join(name);
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<_> = std::fs::read_dir(&folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}
