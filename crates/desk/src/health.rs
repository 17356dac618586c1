//! Live or ready: a process that answers is live; it is ready to take work only when the
//! database takes a write and the data directory has room for attachments and the
//! database's growth. A load balancer or service manager sends traffic only to a ready
//! desk instead of to one where every write fails.

use crate::Desk;

/// Why the desk is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// The database refused a write (down, read-only, full).
    Database(String),
    /// Free space under the data directory is below the threshold (bytes free, threshold).
    Disk { free: u64, needed: u64 },
    /// The free space could not be read.
    DiskUnknown(String),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Database(e) => write!(f, "database: {e}"),
            NotReady::Disk { free, needed } => {
                write!(f, "disk: {free} bytes free, {needed} needed")
            }
            NotReady::DiskUnknown(e) => write!(f, "disk: {e}"),
        }
    }
}

impl Desk {
    /// Every reason the desk is not ready now (empty: ready).
    pub async fn readiness(&self) -> Vec<NotReady> {
        let mut problems = Vec::new();
        if let Err(e) = self.store.probe_write().await {
            problems.push(NotReady::Database(e.to_string()));
        }
        let dir = self.settings.data_dir.clone();
        let free = tokio::task::spawn_blocking(move || fs4::available_space(&dir)).await;
        match free {
            Ok(Ok(free)) if free < self.settings.min_free_disk => problems.push(NotReady::Disk {
                free,
                needed: self.settings.min_free_disk,
            }),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => problems.push(NotReady::DiskUnknown(e.to_string())),
            Err(e) => problems.push(NotReady::DiskUnknown(e.to_string())),
        }
        problems
    }
}
