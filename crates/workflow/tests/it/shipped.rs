//! The shipped default catalog (`config/`) loads cleanly and every route reaches closed.

use crate::common;

use common::catalog;

#[test]
fn shipped_config_is_valid() {
    let c = catalog();
    let codes: Vec<&str> = c.services().iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["question", "documents", "license-key", "repair"]);
    for s in c.services() {
        assert!(c.latest(&s.workflow).is_some(), "{}", s.code);
        assert!(!s.name.ru.is_empty() && !s.name.en.is_empty());
    }
    assert_eq!(
        c.service("question").unwrap().name.en,
        "Question about the product"
    );
    assert_eq!(c.service("documents").unwrap().name.ru, "Запрос документов");
    // Every tasks stage tells the specialist what to do, in both languages.
    for wf in c.workflows() {
        for stage in &wf.stages {
            for task in &stage.tasks {
                assert!(
                    task.instructions.is_some() || stage.instructions.is_some(),
                    "{}/{}/{} has no instructions",
                    wf.code,
                    stage.code,
                    task.kind
                );
            }
        }
    }
}

#[test]
fn license_keys_only_for_contracts_that_allow_them() {
    let c = catalog();
    let alfa: Vec<&str> = c
        .services_for("ALFA", &["license-keys"])
        .map(|s| s.code.as_str())
        .collect();
    assert!(alfa.contains(&"license-key"));
    let beta: Vec<&str> = c
        .services_for("BETA", &[])
        .map(|s| s.code.as_str())
        .collect();
    assert!(!beta.contains(&"license-key"));
    assert!(beta.contains(&"question"));
}
