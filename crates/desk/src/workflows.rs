//! Workflows edited by an admin: a TOML file is validated, published as a new version, kept
//! in the database and loaded again at every start after the shipped defaults. Tickets under
//! way keep the version they started on.

use crate::{Desk, DeskError, Result};
use okno_domain::*;
use okno_store::WorkflowFile;

impl Desk {
    /// Publishes a new version of workflow `code` from a TOML file (admins only). Any error
    /// (`file:line: message`, one per line) leaves the running configuration as it was.
    /// Returns the published version.
    pub async fn publish_workflow(&self, user: &User, code: &str, text: &str) -> Result<u32> {
        crate::authorize(user, okno_domain::policy::Action::Configure)?;
        if code.contains('/') {
            // Calendar and support-level versions are stored as `calendars/<name>`.
            return Err(FieldError::new("workflow", "a workflow's code has no '/'").into());
        }
        let _one_at_a_time = self.publishing.lock().await;
        let current = self.catalog();
        let file_name = format!("{code}.toml");
        let mut next = (*current).clone();
        next.publish(&[(file_name.clone(), text.to_owned())])
            .map_err(|errors| FieldError::new("workflow", errors.to_string().trim_end()))?;
        let added: Vec<u32> = next
            .workflows()
            .filter(|w| current.workflow(&w.code, w.version).is_none())
            .map(|w| {
                if w.code == code {
                    Ok(w.version)
                } else {
                    Err(FieldError::new(
                        "workflow",
                        format!(
                            "{file_name}: the file defines workflow \"{}\", not \"{code}\"",
                            w.code
                        ),
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        let [version] = added[..] else {
            return Err(FieldError::new(
                "workflow",
                format!("{file_name}: the file must define one new version of workflow \"{code}\""),
            )
            .into());
        };
        let file = WorkflowFile {
            code: code.to_owned(),
            version,
            file_name,
            text: text.to_owned(),
        };
        self.store
            .save_workflow_file(&file, Some(user.id), self.now())
            .await?;
        self.replace_catalog(next);
        self.publish_services().await?;
        Ok(version)
    }

    /// Adds the versions published through the API (by this or another process sharing the
    /// database) that this desk does not know yet. A stored file that no longer validates is
    /// skipped with a warning rather than stopping the desk.
    pub(crate) async fn load_published_workflows(&self) -> Result<()> {
        let _one_at_a_time = self.publishing.lock().await;
        let files = self.store.workflow_files().await?;
        let current = self.catalog();
        let mut next = (*current).clone();
        let mut changed = false;
        for file in files {
            if crate::calendars::is_sla_file(&file.code)
                || next.workflow(&file.code, file.version).is_some()
            {
                continue;
            }
            match next.publish(&[(file.file_name.clone(), file.text)]) {
                Ok(()) => changed = true,
                Err(errors) => tracing::warn!(
                    code = %file.code, version = file.version, %errors,
                    "a published workflow no longer validates; skipped"
                ),
            }
        }
        if changed {
            self.replace_catalog(next);
        }
        Ok(())
    }

    /// The workflow a route runs on, looking in the database for versions another process
    /// published when this desk does not know it yet.
    pub(crate) async fn workflow_catalog_for(
        &self,
        state: &okno_workflow::RouteState,
    ) -> Result<std::sync::Arc<okno_workflow::Catalog>> {
        let catalog = self.catalog();
        if catalog.workflow_of(state).is_ok() {
            return Ok(catalog);
        }
        self.load_published_workflows().await?;
        let catalog = self.catalog();
        catalog
            .workflow_of(state)
            .map_err(|e| DeskError::Domain(DomainError::Conflict(e.to_string())))?;
        Ok(catalog)
    }
}
