//! The shipped default catalog.
#![allow(dead_code)]

use okno_workflow::Catalog;

pub fn shipped_files() -> Vec<(String, String)> {
    okno_workflow::defaults::default_files()
}

pub fn catalog() -> Catalog {
    match Catalog::from_files(&shipped_files()) {
        Ok(c) => c,
        Err(e) => panic!("shipped config is invalid:\n{e}"),
    }
}
