//! Property tests: random event sequences on every shipped workflow never panic and keep
//! the route's invariants; the effects alone let a caller mirror the route's tasks and status.

use crate::common;

use std::collections::BTreeMap;

use okno_workflow::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Event {
    /// Complete the n-th open task with its m-th allowed outcome (or a bogus one).
    Complete(usize, usize),
    ClientReplied,
    /// The client decides with the n-th stage outcome (or a bogus one).
    ClientDecided(usize),
    /// The automatic action reports the n-th of ok / error / bogus.
    ActionFinished(usize),
    Close,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (0..4usize, 0..6usize).prop_map(|(t, o)| Event::Complete(t, o)),
        2 => Just(Event::ClientReplied),
        2 => (0..4usize).prop_map(Event::ClientDecided),
        2 => (0..3usize).prop_map(Event::ActionFinished),
        1 => Just(Event::Close),
    ]
}

fn pick(list: &[String], n: usize) -> String {
    list.get(n).cloned().unwrap_or_else(|| "bogus".to_string())
}

/// What a caller keeps from the effects: open task rows by (kind, stage) and the status.
#[derive(Debug, Default)]
struct Mirror {
    tasks: BTreeMap<(String, String), usize>,
    status: Option<Status>,
    closed: bool,
}

impl Mirror {
    fn apply(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::CreateTask(t) => {
                    *self
                        .tasks
                        .entry((t.kind.clone(), t.stage.clone()))
                        .or_default() += 1;
                }
                Effect::CancelTask { kind, stage } => self.remove(kind, stage),
                Effect::SetStatus { status, .. } => self.status = Some(*status),
                Effect::CloseTicket => self.closed = true,
                _ => {}
            }
        }
    }

    fn remove(&mut self, kind: &str, stage: &str) {
        let key = (kind.to_string(), stage.to_string());
        let n = self
            .tasks
            .get_mut(&key)
            .expect("cancelled or completed a task never created");
        *n -= 1;
        if *n == 0 {
            self.tasks.remove(&key);
        }
    }

    fn matches(&self, state: &RouteState) -> bool {
        let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
        for t in &state.open_tasks {
            *open.entry((t.kind.clone(), t.stage.clone())).or_default() += 1;
        }
        open == self.tasks
    }
}

fn check_invariants(wf: &Workflow, state: &RouteState) -> Result<(), TestCaseError> {
    if state.is_closed() {
        prop_assert!(
            state.open_tasks.is_empty(),
            "closed with open tasks: {state:?}"
        );
        prop_assert_eq!(state.status, Status::Closed);
        prop_assert!(state.awaiting_action.is_none());
    } else {
        let stage = wf.stage(state.stage.as_deref().unwrap());
        prop_assert!(stage.is_some(), "unknown stage in {state:?}");
        let stage = stage.unwrap();
        match stage.kind {
            StageKind::Tasks => prop_assert!(
                state
                    .open_tasks
                    .iter()
                    .any(|t| !t.side && t.stage == stage.code),
                "open tasks stage with nothing to move it on: {state:?}"
            ),
            StageKind::Auto { .. } => prop_assert!(state.awaiting_action.is_some()),
            StageKind::WaitingClient { .. } => prop_assert!(state.is_waiting_client(wf)),
        }
        prop_assert_eq!(state.status, stage.status);
    }
    Ok(())
}

fn run_route(wf: &Workflow, events: &[Event]) -> Result<(), TestCaseError> {
    let step = start(wf);
    let mut mirror = Mirror {
        status: Some(Status::New),
        ..Mirror::default()
    };
    mirror.apply(&step.effects);
    let mut state = step.state;
    check_invariants(wf, &state)?;
    prop_assert!(mirror.matches(&state));

    for event in events {
        let before = state.clone();
        let (result, completed) = match event {
            Event::Complete(t, o) => {
                let kind = state
                    .open_tasks
                    .get(*t)
                    .map(|t| t.kind.clone())
                    .unwrap_or_else(|| "bogus".into());
                let allowed = allowed_outcomes(wf, &state, &kind).unwrap_or_default();
                let outcome = pick(&allowed, *o);
                let result = complete_task(wf, &state, &kind, &outcome);
                if result.is_ok() {
                    prop_assert!(allowed.contains(&outcome));
                }
                let stage = state.open_tasks.get(*t).map(|t| t.stage.clone());
                (result, stage.map(|s| (kind, s)))
            }
            Event::ClientReplied => (Ok(client_replied(wf, &state)), None),
            Event::ClientDecided(n) => {
                let outcomes: Vec<String> = state
                    .stage
                    .as_deref()
                    .and_then(|s| wf.stage(s))
                    .map(|s| s.stage_outcomes().iter().map(|o| o.code.clone()).collect())
                    .unwrap_or_default();
                (client_decided(wf, &state, &pick(&outcomes, *n)), None)
            }
            Event::ActionFinished(n) => {
                let outcome = ["ok", "error", "bogus"][*n];
                (action_finished(wf, &state, outcome), None)
            }
            Event::Close => (Ok(close(wf, &state)), None),
        };
        match result {
            Ok(step) => {
                if let Some((kind, stage)) = completed {
                    // Completing may pick the current stage's task of that kind first.
                    let removed = before
                        .open_tasks
                        .iter()
                        .find(|t| t.kind == kind && Some(&t.stage) == before.stage.as_ref())
                        .map(|t| t.stage.clone())
                        .unwrap_or(stage);
                    mirror.remove(&kind, &removed);
                }
                mirror.apply(&step.effects);
                state = step.state;
                // Every status change is reported as an effect.
                prop_assert_eq!(mirror.status, Some(state.status));
                prop_assert_eq!(mirror.closed, state.is_closed());
                prop_assert!(mirror.matches(&state), "{mirror:?} vs {state:?}");
                check_invariants(wf, &state)?;
            }
            Err(e) => {
                // A refused event leaves the route as it was, with a message.
                prop_assert!(!e.to_string().is_empty());
                prop_assert_eq!(&state, &before);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_events_keep_the_route_sound(
        workflow in 0..4usize,
        events in proptest::collection::vec(event(), 0..40),
    ) {
        let catalog = common::catalog();
        let code = ["question", "documents", "license-key", "repair"][workflow];
        let wf = catalog.latest(code).unwrap();
        run_route(wf, &events)?;
    }

    #[test]
    fn generated_keys_follow_the_format(
        format in "[A-Z0-9-]{0,8}X{1,4}[A-Z0-9-]{0,8}",
        seed in any::<u32>(),
    ) {
        let mut s = seed;
        let key = generate_key(&format, || { s = s.wrapping_mul(747_796_405).wrapping_add(1); s >> 7 });
        prop_assert_eq!(key.chars().count(), format.chars().count());
        for (k, f) in key.chars().zip(format.chars()) {
            if f == 'X' {
                prop_assert!(okno_workflow::key::KEY_ALPHABET.contains(&(k as u8)));
            } else {
                prop_assert_eq!(k, f);
            }
        }
    }
}

#[test]
fn every_shipped_workflow_can_close_by_taking_first_outcomes() {
    let catalog = common::catalog();
    for wf in catalog.workflows() {
        let mut state = start(wf).state;
        for _ in 0..50 {
            if state.is_closed() {
                break;
            }
            state = if state.awaiting_action.is_some() {
                // "ok", or the first outcome an action with its own outcomes allows.
                match action_finished(wf, &state, "ok") {
                    Ok(step) => step.state,
                    Err(okno_workflow::engine::EngineError::OutcomeNotAllowed {
                        allowed, ..
                    }) => action_finished(wf, &state, &allowed[0]).unwrap().state,
                    Err(other) => panic!("{}: {other:?}", wf.code),
                }
            } else if state.is_waiting_client(wf) {
                let stage = wf.stage(state.stage.as_deref().unwrap()).unwrap();
                match stage.stage_outcomes().first() {
                    Some(o) => client_decided(wf, &state, &o.code).unwrap().state,
                    None => client_replied(wf, &state).state,
                }
            } else {
                let kind = state
                    .open_tasks
                    .iter()
                    .find(|t| !t.side)
                    .unwrap()
                    .kind
                    .clone();
                let outcome = allowed_outcomes(wf, &state, &kind).unwrap()[0].clone();
                complete_task(wf, &state, &kind, &outcome).unwrap().state
            };
        }
        assert!(state.is_closed(), "{} never closed: {state:?}", wf.code);
    }
}
