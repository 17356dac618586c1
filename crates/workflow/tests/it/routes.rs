//! Walks every shipped workflow to closed, and checks the engine's errors and versioning.

use crate::common;

use common::{catalog, shipped_files};
use okno_workflow::*;

struct Route<'a> {
    workflow: &'a Workflow,
    state: RouteState,
}

impl<'a> Route<'a> {
    fn start(workflow: &'a Workflow) -> (Self, Vec<Effect>) {
        let step = start(workflow);
        (
            Route {
                workflow,
                state: step.state,
            },
            step.effects,
        )
    }

    fn complete(&mut self, kind: &str, outcome: &str) -> Vec<Effect> {
        let step = complete_task(self.workflow, &self.state, kind, outcome)
            .unwrap_or_else(|e| panic!("{kind}/{outcome}: {e}"));
        self.state = step.state;
        step.effects
    }

    fn action(&mut self, outcome: &str) -> Vec<Effect> {
        let step = action_finished(self.workflow, &self.state, outcome).unwrap();
        self.state = step.state;
        step.effects
    }

    fn decide(&mut self, outcome: &str) -> Vec<Effect> {
        let step = client_decided(self.workflow, &self.state, outcome).unwrap();
        self.state = step.state;
        step.effects
    }

    fn reply(&mut self) -> Vec<Effect> {
        let step = client_replied(self.workflow, &self.state);
        self.state = step.state;
        step.effects
    }

    fn stage(&self) -> Option<&str> {
        self.state.stage.as_deref()
    }

    fn open_kinds(&self) -> Vec<&str> {
        self.state
            .open_tasks
            .iter()
            .map(|t| t.kind.as_str())
            .collect()
    }
}

fn created(effects: &[Effect]) -> Vec<&NewTask> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CreateTask(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn statuses(effects: &[Effect]) -> Vec<Status> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetStatus { status, .. } => Some(*status),
            _ => None,
        })
        .collect()
}

fn messages_ru(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::PublicMessage { text } => Some(text.ru.as_str()),
            _ => None,
        })
        .collect()
}

fn classification(effects: &[Effect]) -> Option<&str> {
    effects.iter().find_map(|e| match e {
        Effect::SetClassification { classification } => Some(classification.as_str()),
        _ => None,
    })
}

#[test]
fn question_answered_by_line_1() {
    let c = catalog();
    let wf = c.latest("question").unwrap();
    let (mut r, effects) = Route::start(wf);
    assert_eq!(r.stage(), Some("classify"));
    // The reaction deadline is announced at once; the classify task carries the same norm.
    assert!(messages_ru(&effects)[0].contains("{due}"));
    let tasks = created(&effects);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, "classify");
    assert_eq!(tasks[0].addressee, Addressee::Line(1));
    assert_eq!(tasks[0].norm, Norm::Reaction);
    assert_eq!(
        tasks[0].outcomes,
        ["question", "bug", "critical", "improvement"]
    );
    let instructions = tasks[0].instructions.as_ref().unwrap();
    assert!(instructions.ru.contains("критическая ошибка"));
    assert!(instructions.en.contains("critical error"));
    assert!(statuses(&effects).is_empty(), "still new");

    let effects = r.complete("classify", "question");
    assert_eq!(classification(&effects), Some("question"));
    assert_eq!(statuses(&effects), [Status::InProgress]);
    assert_eq!(created(&effects)[0].kind, "answer");
    assert_eq!(
        allowed_outcomes(wf, &r.state, "answer").unwrap(),
        ["closed", "ask_client", "reclassify"]
    );

    let effects = r.complete("answer", "closed");
    assert_eq!(statuses(&effects), [Status::Closed]);
    assert!(effects.contains(&Effect::CloseTicket));
    assert!(r.state.is_closed());
    assert!(r.state.open_tasks.is_empty());
}

#[test]
fn question_reclassified_then_critical() {
    let c = catalog();
    let (mut r, _) = Route::start(c.latest("question").unwrap());
    r.complete("classify", "question");
    let effects = r.complete("answer", "reclassify");
    assert_eq!(r.stage(), Some("classify"));
    assert_eq!(created(&effects)[0].kind, "classify");

    let effects = r.complete("classify", "critical");
    assert_eq!(classification(&effects), Some("critical"));
    assert!(messages_ru(&effects)[0].contains("критическая ошибка"));
    let dev = created(&effects)[0];
    assert_eq!(dev.kind, "develop");
    assert_eq!(dev.addressee, Addressee::Line(3));
    assert_eq!(dev.norm, Norm::WorkingMinutes(120));
    assert_eq!(dev.priority, Priority::Critical);
    assert!(dev.carry_summary, "line 1's summary goes to the developer");

    let effects = r.complete("develop", "done");
    assert_eq!(statuses(&effects), [Status::Resolved]);
    let notify = created(&effects)[0];
    assert_eq!(
        (notify.kind.as_str(), &notify.addressee),
        ("notify", &Addressee::Line(1))
    );
    r.complete("notify", "done");
    assert!(r.state.is_closed());
}

#[test]
fn question_bug_goes_to_development_with_solution_norm() {
    let c = catalog();
    let (mut r, _) = Route::start(c.latest("question").unwrap());
    let effects = r.complete("classify", "bug");
    let dev = created(&effects)[0];
    assert_eq!((dev.norm, dev.priority), (Norm::Solution, Priority::High));
    assert!(dev.carry_summary);
    r.complete("develop", "done");
    r.complete("notify", "done");
    assert!(r.state.is_closed());
}

#[test]
fn improvement_needs_approval_and_has_no_deadline() {
    let c = catalog();
    let wf = c.latest("question").unwrap();
    let (mut r, _) = Route::start(wf);
    let effects = r.complete("classify", "improvement");
    let approve = created(&effects)[0];
    assert_eq!(approve.addressee, Addressee::Pool("manager".into()));
    assert_eq!(approve.norm, Norm::None);
    let effects = r.complete("approve", "approved");
    assert_eq!(created(&effects)[0].norm, Norm::None);
    r.complete("develop", "done");
    r.complete("notify", "done");
    assert!(r.state.is_closed());

    let (mut r, _) = Route::start(wf);
    r.complete("classify", "improvement");
    r.complete("approve", "declined");
    assert_eq!(r.stage(), Some("notify_declined"));
    r.complete("notify", "done");
    assert!(r.state.is_closed());
}

#[test]
fn client_reply_mid_route_creates_a_reply_task_and_keeps_the_stage() {
    let c = catalog();
    let wf = c.latest("question").unwrap();
    let (mut r, _) = Route::start(wf);
    r.complete("classify", "bug");
    let effects = r.reply();
    assert_eq!(r.stage(), Some("fix"));
    let reply = created(&effects)[0];
    assert_eq!(reply.kind, "reply");
    assert_eq!(reply.addressee, Addressee::Line(1));
    assert_eq!(reply.norm, Norm::WorkingMinutes(120));
    assert!(statuses(&effects).is_empty());
    // A second message while the reply task is open adds nothing.
    assert!(r.reply().is_empty());
    assert_eq!(r.open_kinds(), ["develop", "reply"]);
    // The reply task outlives the stage change…
    r.complete("develop", "done");
    assert_eq!(r.open_kinds(), ["reply", "notify"]);
    r.complete("reply", "done");
    assert_eq!(r.open_kinds(), ["notify"]);
    // …and closing cancels whatever is still open.
    r.reply();
    let effects = r.complete("notify", "done");
    assert!(effects.contains(&Effect::CancelTask {
        kind: "reply".into(),
        stage: "notify".into()
    }));
    assert!(r.state.open_tasks.is_empty());
    // Messages after closing do not reopen the route: that is the caller's policy.
    assert!(r.reply().is_empty());
}

#[test]
fn asking_the_client_waits_and_the_reply_resumes() {
    let c = catalog();
    let (mut r, _) = Route::start(c.latest("question").unwrap());
    r.complete("classify", "question");
    let effects = r.complete("answer", "ask_client");
    assert_eq!(statuses(&effects), [Status::WaitingClient]);
    assert!(r.state.open_tasks.is_empty());
    let effects = r.reply();
    assert_eq!(r.stage(), Some("answer"));
    assert_eq!(statuses(&effects), [Status::InProgress]);
    assert_eq!(
        r.open_kinds(),
        ["answer"],
        "the answer task handles the reply"
    );
    r.complete("answer", "closed");
    assert!(r.state.is_closed());
}

#[test]
fn documents_go_to_accounting() {
    let c = catalog();
    let (mut r, effects) = Route::start(c.latest("documents").unwrap());
    assert_eq!(statuses(&effects), [Status::InProgress]);
    let task = created(&effects)[0];
    assert_eq!(task.addressee, Addressee::Pool("accounting".into()));
    assert_eq!(task.outcomes, ["done"]);
    r.complete("prepare", "done");
    assert!(r.state.is_closed());
}

#[test]
fn license_key_is_issued_automatically() {
    let c = catalog();
    let wf = c.latest("license-key").unwrap();
    let (mut r, effects) = Route::start(wf);
    let Some(Effect::RunAction { action, params }) = effects
        .iter()
        .find(|e| matches!(e, Effect::RunAction { .. }))
    else {
        panic!("no action in {effects:?}");
    };
    assert_eq!(action, "issue_license_key");
    let mut n = 0u32;
    let key = generate_key(&params["key_format"], || {
        n = n.wrapping_add(7);
        n
    });
    assert!(key.starts_with("OKNO-") && key.len() == 19, "{key}");
    assert!(r.state.open_tasks.is_empty());
    assert_eq!(
        r.state.awaiting_action.as_deref(),
        Some("issue_license_key")
    );

    let effects = r.action("ok");
    assert_eq!(messages_ru(&effects), ["Ваш лицензионный ключ: {result}"]);
    assert!(effects.contains(&Effect::CloseTicket));
    assert!(r.state.is_closed());
}

#[test]
fn license_key_failure_goes_to_a_person() {
    let c = catalog();
    let wf = c.latest("license-key").unwrap();
    let (mut r, _) = Route::start(wf);
    let err = action_finished(wf, &r.state, "maybe").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"outcome "maybe" is not allowed for action "issue_license_key"; allowed: ok, error"#
    );
    let effects = r.action("error");
    let task = created(&effects)[0];
    assert_eq!(task.addressee, Addressee::Pool("licensing".into()));
    assert_eq!(r.state.awaiting_action, None);
    r.complete("issue_manually", "issued");
    assert!(r.state.is_closed());
}

#[test]
fn repair_under_warranty() {
    let c = catalog();
    let (mut r, effects) = Route::start(c.latest("repair").unwrap());
    // Same status `new`, but the custom label «Анализ» is a visible change.
    assert!(matches!(
        &effects[1],
        Effect::SetStatus { status: Status::New, label: Some(l) } if l.ru == "Анализ"
    ));
    r.complete("analyze", "done");
    r.action("unknown"); // the warranty check: no equipment linked
    r.complete("diagnose", "warranty");
    assert_eq!(r.open_kinds(), ["repair"]);
    r.complete("repair", "done");
    r.complete("control", "rework");
    r.complete("repair", "done");
    let effects = r.complete("control", "passed");
    assert_eq!(statuses(&effects), [Status::Resolved]);
    r.complete("hand_over", "done");
    assert!(r.state.is_closed());
}

#[test]
fn paid_repair_waits_for_the_client_and_drafts_an_invoice() {
    let c = catalog();
    let wf = c.latest("repair").unwrap();
    let (mut r, _) = Route::start(wf);
    r.complete("analyze", "done");
    r.action("unknown"); // the warranty check: no equipment linked
    let effects = r.complete("diagnose", "paid");
    assert_eq!(statuses(&effects), [Status::WaitingClient]);
    assert!(r.state.is_waiting_client(wf));
    // A question about the offer gets a reply task; the offer still waits.
    let effects = r.reply();
    assert_eq!(created(&effects)[0].kind, "reply");
    assert_eq!(r.stage(), Some("offer"));
    let err = client_decided(wf, &r.state, "maybe").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"outcome "maybe" is not allowed for stage "offer"; allowed: approved, declined"#
    );
    let effects = r.decide("approved");
    let kinds: Vec<_> = created(&effects).iter().map(|t| t.kind.clone()).collect();
    assert_eq!(kinds, ["repair", "invoice"]);
    r.complete("reply", "done");
    r.complete("repair", "done");
    assert_eq!(
        r.open_kinds(),
        ["invoice", "control"],
        "the invoice goes on"
    );
    r.complete("invoice", "done");
    r.complete("control", "passed");
    r.complete("hand_over", "done");
    assert!(r.state.is_closed());
}

#[test]
fn paid_repair_declined_closes() {
    let c = catalog();
    let (mut r, _) = Route::start(c.latest("repair").unwrap());
    r.complete("analyze", "done");
    r.action("unknown"); // the warranty check: no equipment linked
    r.complete("diagnose", "paid");
    let effects = r.decide("declined");
    assert_eq!(messages_ru(&effects).len(), 1);
    assert!(r.state.is_closed());
}

#[test]
fn engine_errors_name_what_is_allowed() {
    let c = catalog();
    let wf = c.latest("question").unwrap();
    let step = start(wf);
    let err = complete_task(wf, &step.state, "classify", "later").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"outcome "later" is not allowed for task "classify"; allowed: question, bug, critical, improvement"#
    );
    let err = complete_task(wf, &step.state, "answer", "closed").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"no open task "answer" on this route; open: classify"#
    );
    assert_eq!(
        action_finished(wf, &step.state, "ok").unwrap_err(),
        EngineError::NotAwaitingAction
    );
    let mut broken = step.state.clone();
    broken.stage = Some("gone".into());
    broken.open_tasks[0].stage = "gone".into();
    assert_eq!(
        complete_task(wf, &broken, "classify", "bug")
            .unwrap_err()
            .to_string(),
        r#"stage "gone" is not in workflow "question" version 1"#
    );
    // A client's message never fails, even on a broken state.
    assert_eq!(
        created(&client_replied(wf, &broken).effects)[0].kind,
        "reply"
    );
}

#[test]
fn route_state_round_trips_as_json() {
    let c = catalog();
    let wf = c.latest("repair").unwrap();
    let mut step = start(wf);
    step = complete_task(wf, &step.state, "analyze", "done").unwrap();
    let json = serde_json::to_string(&step.state).unwrap();
    let back: RouteState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, step.state);
    let effects = serde_json::to_value(&step.effects).unwrap();
    assert_eq!(effects[0]["effect"], "enter_stage");
}

#[test]
fn a_route_under_way_finishes_on_its_version_after_a_new_one_is_published() {
    let mut c = catalog();
    let v1 = c.latest("question").unwrap().clone();
    let mut r_state = start(&v1).state;
    r_state = complete_task(&v1, &r_state, "classify", "bug")
        .unwrap()
        .state;
    assert_eq!(r_state.stage.as_deref(), Some("fix"));

    // v2: a different route without the `fix` stage at all.
    let v2 = r#"[workflow]
code = "question"
version = 2

[[stage]]
code = "triage"
status = "new"

[[stage.task]]
kind = "triage"
title_ru = "Разобрать"
line = 2
norm = "1h"
outcomes = { done = "close" }
"#;
    c.publish(&[("config/workflows/question.v2.toml".into(), v2.into())])
        .unwrap();
    assert_eq!(c.latest("question").unwrap().version, 2);
    assert_eq!(
        start(c.latest("question").unwrap()).state.stage.as_deref(),
        Some("triage")
    );

    // The ticket under way still runs on v1.
    let wf = c.workflow_of(&r_state).unwrap();
    assert_eq!(wf.version, 1);
    let s = complete_task(wf, &r_state, "develop", "done")
        .unwrap()
        .state;
    let s = complete_task(c.workflow_of(&s).unwrap(), &s, "notify", "done")
        .unwrap()
        .state;
    assert!(s.is_closed());

    // Publishing the same version again is refused.
    let err = c.publish(&[("again.toml".into(), v2.into())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"again.toml:2: workflow "question" version 2 is already published"#
    );
    // All versions loaded together work the same way.
    let mut files = shipped_files();
    files.push(("question.v2.toml".into(), v2.into()));
    let both = Catalog::from_files(&files).unwrap();
    assert_eq!(
        both.workflow("question", 1).unwrap().stages.len(),
        v1.stages.len()
    );
    assert_eq!(both.latest("question").unwrap().version, 2);
}
