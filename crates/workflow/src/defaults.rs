//! The default catalog shipped in the repository's `config/` (services and workflows),
//! compiled in so `okno serve` can load it on first start and `okno config check` can
//! compare against it.

macro_rules! shipped {
    ($($path:literal),+ $(,)?) => {
        &[$(($path, include_str!(concat!("../../../", $path)))),+]
    };
}

/// `(path relative to the repository root, text)` of every shipped configuration file.
pub const DEFAULT_FILES: &[(&str, &str)] = shipped!(
    "config/workflows/pools.toml",
    "config/workflows/question.toml",
    "config/workflows/documents.toml",
    "config/workflows/license-key.toml",
    "config/workflows/repair.toml",
    "config/services/question.toml",
    "config/services/documents.toml",
    "config/services/license-key.toml",
    "config/services/repair.toml",
);

/// The shipped files as the `(file_name, text)` pairs [`Catalog::from_files`](crate::Catalog::from_files) takes.
pub fn default_files() -> Vec<(String, String)> {
    DEFAULT_FILES
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect()
}
