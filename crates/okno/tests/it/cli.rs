//! `okno config check` on the shipped configuration and on a copy with a broken workflow.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn config_check(dir: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_okno"))
        .args(["config", "check"])
        .arg(dir)
        .output()
        .expect("run okno");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_shipped_configuration_is_valid() {
    let (ok, output) = config_check(&shipped_config());
    assert!(ok, "{output}");
    assert!(output.contains("configuration ok"), "{output}");
}

#[test]
fn a_broken_workflow_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shipped_config(), dir.path());
    let question = dir.path().join("workflows/question.toml");
    let text = std::fs::read_to_string(&question).unwrap();
    let broken = text.replacen(
        r#"bug = { to = "fix", classification = "bug" }"#,
        r#"bug = { to = "fixx", classification = "bug" }"#,
        1,
    );
    assert_ne!(text, broken, "the test edits the classify outcomes");
    std::fs::write(&question, broken).unwrap();

    let (ok, output) = config_check(dir.path());
    assert!(!ok, "a broken workflow must fail the check: {output}");
    let line = output
        .lines()
        .find(|l| l.contains("fixx"))
        .unwrap_or_else(|| panic!("the error names the unknown stage: {output}"));
    let (file, rest) = line.split_once(".toml:").expect("file:line: message");
    assert!(file.ends_with("question"), "{line}");
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert!(
        !number.is_empty() && rest[number.len()..].starts_with(':'),
        "{line}"
    );
}

#[test]
fn a_missing_directory_fails() {
    let (ok, _) = config_check(Path::new("/nonexistent/okno-config"));
    assert!(!ok);
}

/// `config check` validates everything `serve` loads: a `priorities.toml` that `serve`
/// refuses fails the check too, naming the file and line (issue 18, defect 12); so does a
/// knowledge-base article without its front matter.
#[test]
fn bad_priorities_and_articles_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shipped_config(), dir.path());
    let rules = dir.path().join("priorities.toml");
    let text = std::fs::read_to_string(&rules).unwrap();
    let broken = text.replacen(r#"keys = ["arrival"]"#, r#"keys = ["mood"]"#, 1);
    assert_ne!(text, broken, "the test edits line 1's rule");
    std::fs::write(&rules, &broken).unwrap();
    let (ok, output) = config_check(dir.path());
    assert!(!ok, "rules serve refuses must fail the check: {output}");
    let expected_line = broken
        .lines()
        .position(|l| l.contains("mood"))
        .map(|i| i + 1)
        .unwrap();
    assert!(
        output.contains(&format!("priorities.toml:{expected_line}:")) && output.contains("mood"),
        "{output}"
    );

    std::fs::write(&rules, &text).unwrap();
    std::fs::write(dir.path().join("kb/broken.md"), "title: no front matter\n").unwrap();
    let (ok, output) = config_check(dir.path());
    assert!(!ok, "{output}");
    assert!(output.contains("broken.md:1:"), "{output}");
}
