//! Each validation error, with its exact `file:line: message` text.

use okno_workflow::Catalog;

const POOLS: &str = r#"[[pool]]
code = "manager"
name_ru = "Руководители"
"#;

/// A valid one-stage workflow; tests replace parts of it.
const WORKFLOW: &str = r#"[workflow]
code = "w"
version = 1

[[stage]]
code = "first"
status = "new"

[[stage.task]]
kind = "do"
title_ru = "Сделать"
line = 1
norm = "2h"
outcomes = { done = "close" }
"#;

const SERVICE: &str = r#"[[service]]
code = "s"
name_ru = "Сервис"
workflow = "w"
"#;

fn errors(files: &[(&str, &str)]) -> Vec<String> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    match Catalog::from_files(&files) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn workflow_errors(workflow: &str) -> Vec<String> {
    errors(&[("pools.toml", POOLS), ("w.toml", workflow)])
}

#[test]
fn base_config_is_valid() {
    assert_eq!(
        errors(&[
            ("pools.toml", POOLS),
            ("w.toml", WORKFLOW),
            ("s.toml", SERVICE)
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn toml_syntax_error() {
    let broken = WORKFLOW.replace("version = 1", "version = ");
    let errs = workflow_errors(&broken);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("w.toml:3: TOML error: "), "{errs:?}");
}

#[test]
fn unknown_field_is_reported_with_its_line() {
    let typo = WORKFLOW.replace("norm = \"2h\"", "norn = \"2h\"");
    let errs = workflow_errors(&typo);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("w.toml:13: TOML error: unknown field `norn`"),
        "{errs:?}"
    );
}

#[test]
fn outcome_to_unknown_stage() {
    let wf = WORKFLOW.replace(r#"{ done = "close" }"#, r#"{ done = "nowhere" }"#);
    assert_eq!(
        workflow_errors(&wf),
        [
            r#"w.toml:14: outcome "done" of task "do" in stage "first" leads to unknown stage "nowhere""#
        ]
    );
}

#[test]
fn unreachable_stage() {
    let wf = format!(
        "{WORKFLOW}
[[stage]]
code = \"orphan\"
status = \"in_progress\"

[[stage.task]]
kind = \"x\"
title_ru = \"Икс\"
line = 2
norm = \"1d\"
outcomes = {{ done = \"close\" }}
"
    );
    assert_eq!(
        workflow_errors(&wf),
        [r#"w.toml:17: stage "orphan" is unreachable from the first stage "first""#]
    );
}

#[test]
fn outcome_without_target() {
    let wf = WORKFLOW.replace(
        r#"{ done = "close" }"#,
        r#"{ done = { classification = "bug" } }"#,
    );
    assert_eq!(
        workflow_errors(&wf),
        [r#"w.toml:14: outcome "done" of task "do" in stage "first" has no target"#]
    );
}

#[test]
fn dead_end_stages() {
    let wf = WORKFLOW.replace(r#"{ done = "close" }"#, r#"{ done = "second" }"#)
        + r#"
[[stage]]
code = "second"
status = "in_progress"

[[stage.task]]
kind = "again"
title_ru = "Снова"
pool = "manager"
norm = "none"
outcomes = { done = "first" }
"#;
    assert_eq!(
        workflow_errors(&wf),
        [
            r#"w.toml:6: stage "first" is a dead end: the ticket can never be closed from it"#,
            r#"w.toml:17: stage "second" is a dead end: the ticket can never be closed from it"#,
        ]
    );
}

#[test]
fn unknown_line() {
    let wf = WORKFLOW.replace("line = 1", "line = 5");
    assert_eq!(
        workflow_errors(&wf),
        ["w.toml:12: unknown line 5 (lines are 1–4)"]
    );
}

#[test]
fn unknown_role_pool() {
    let wf = WORKFLOW.replace("line = 1", "pool = \"devs\"");
    assert_eq!(
        workflow_errors(&wf),
        [r#"w.toml:12: unknown role pool "devs" (known: "manager")"#]
    );
}

#[test]
fn task_addressed_twice() {
    let wf = WORKFLOW.replace("line = 1", "line = 1\npool = \"manager\"");
    assert_eq!(
        workflow_errors(&wf),
        [
            r#"w.toml:9: task "do" in stage "first" must be addressed to exactly one of line, pool, person"#
        ]
    );
}

#[test]
fn invalid_norm_and_status() {
    let wf = WORKFLOW
        .replace("norm = \"2h\"", "norm = \"2x\"")
        .replace("status = \"new\"", "status = \"open\"");
    assert_eq!(
        workflow_errors(&wf),
        [
            r#"w.toml:7: unknown status "open" (known: new, in_progress, waiting_client, resolved, closed)"#,
            r#"w.toml:13: invalid norm "2x": expected e.g. "30m", "2h", "3d", "reaction", "solution" or "none""#,
        ]
    );
}

#[test]
fn duplicate_stage_code() {
    let wf = format!(
        "{WORKFLOW}
[[stage]]
code = \"first\"
status = \"new\"
"
    );
    assert_eq!(
        workflow_errors(&wf),
        [r#"w.toml:17: duplicate stage code "first""#]
    );
}

#[test]
fn duplicate_workflow_version_and_pool_and_service() {
    let errs = errors(&[
        ("pools.toml", POOLS),
        ("w.toml", WORKFLOW),
        ("w2.toml", &format!("{POOLS}\n{WORKFLOW}")),
        ("s.toml", &format!("{SERVICE}\n{SERVICE}")),
    ]);
    assert_eq!(
        errs,
        [
            r#"w2.toml:2: duplicate pool code "manager""#,
            r#"w2.toml:6: duplicate workflow "w" version 1 (first defined at w.toml:2)"#,
            r#"s.toml:7: duplicate service code "s""#,
        ]
    );
}

#[test]
fn service_naming_unknown_workflow() {
    let service = SERVICE.replace("workflow = \"w\"", "workflow = \"nope\"");
    assert_eq!(
        errors(&[
            ("pools.toml", POOLS),
            ("w.toml", WORKFLOW),
            ("s.toml", &service)
        ]),
        [r#"s.toml:4: service "s" names unknown workflow "nope""#]
    );
}

#[test]
fn missing_russian_names() {
    let service = SERVICE.replace("name_ru = \"Сервис\"", "name_en = \"Service\"");
    let wf = WORKFLOW.replace("title_ru = \"Сделать\"", "title_en = \"Do\"");
    assert_eq!(
        errors(&[("pools.toml", POOLS), ("w.toml", &wf), ("s.toml", &service)]),
        [
            r#"w.toml:9: task "do" in stage "first" has no title_ru"#,
            r#"s.toml:1: service "s" has no name_ru"#,
        ]
    );
}

#[test]
fn all_errors_are_collected_across_files() {
    let wf = WORKFLOW
        .replace("line = 1", "line = 0")
        .replace("norm = \"2h\"", "norm = \"soon\"");
    let broken = "[workflow\ncode = 1";
    let errs = errors(&[
        ("pools.toml", POOLS),
        ("w.toml", &wf),
        ("broken.toml", broken),
        ("s.toml", SERVICE),
    ]);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert_eq!(errs[0], "w.toml:12: unknown line 0 (lines are 1–4)");
    assert!(errs[1].starts_with("w.toml:13: invalid norm \"soon\""));
    assert!(errs[2].starts_with("broken.toml:1: TOML error: "));
    // The service names the invalid workflow: no second, misleading error about it.
}

#[test]
fn errors_display_one_per_line() {
    let files = vec![(
        "w.toml".to_string(),
        WORKFLOW.replace("line = 1", "line = 9"),
    )];
    let err = Catalog::from_files(&files).unwrap_err();
    assert_eq!(err.to_string(), "w.toml:12: unknown line 9 (lines are 1–4)");
}

#[test]
fn auto_and_waiting_stage_rules() {
    let wf = r#"[workflow]
code = "auto"
version = 1

[[stage]]
code = "run"
kind = "auto"
status = "in_progress"
action = "issue_license_key"
outcomes = { ok = "close", error = "wait" }

[[stage]]
code = "wait"
kind = "waiting_client"
status = "waiting_client"
"#;
    assert_eq!(
        errors(&[("a.toml", wf)]),
        [
            r#"a.toml:5: stage "run": issue_license_key needs params.key_format with at least one X (e.g. "OKNO-XXXX-XXXX-XXXX")"#,
            r#"a.toml:12: waiting_client stage "wait" has neither outcomes nor on_reply"#,
        ]
    );
}

#[test]
fn side_tasks_cannot_mix_with_moving_outcomes() {
    let wf = WORKFLOW.replace(
        r#"{ done = "close" }"#,
        r#"{ done = "close", later = "stay" }"#,
    );
    assert_eq!(
        workflow_errors(&wf),
        [r#"w.toml:9: task "do" in stage "first" mixes "stay" with outcomes that move the route"#]
    );
}
