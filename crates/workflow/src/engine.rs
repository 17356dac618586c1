//! The pure workflow engine: given a workflow and a ticket's [`RouteState`], each call
//! returns the next state and the [`Effect`]s the caller must carry out (create task rows,
//! post public comments, record history, run automatic actions). Nothing here does I/O.
//!
//! The engine tracks the route's open tasks in the state by kind, so the caller only has
//! to persist the state (as JSON) beside the ticket and keep its task rows in step with
//! the `CreateTask`/`CancelTask` effects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::*;

/// The kind of the task a client's message creates mid-route.
pub const REPLY_TASK: &str = "reply";
/// The single outcome of a task with one way forward (and of `reply` tasks).
pub const DONE: &str = "done";
/// The kind of the task a client's message on a closed ticket creates when it reopens it.
pub const REOPENED_TASK: &str = "reopened";
/// The stage a reopened route stands in: outside the workflow's own stages, until the
/// `reopened` task closes the ticket again.
pub const REOPENED_STAGE: &str = "reopened";
/// The outcome of the `reopened` task: answered, the ticket closes again.
pub const CLOSE: &str = "close";

/// A task of the route that is still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTask {
    pub kind: String,
    /// The stage that created it.
    pub stage: String,
    /// Side tasks (`reply`, and tasks whose outcomes all `stay`) outlive their stage.
    pub side: bool,
}

/// Where a ticket is on its route. Small and serializable: persist it as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    pub workflow: String,
    /// The version the ticket started on; look the workflow up by code and version.
    pub version: u32,
    /// The current stage; `None` once the route has closed the ticket.
    pub stage: Option<String>,
    /// The client-facing status last reported.
    pub status: Status,
    pub open_tasks: Vec<OpenTask>,
    /// Set while an automatic stage waits for the caller to run this action.
    pub awaiting_action: Option<String>,
}

impl RouteState {
    pub fn is_closed(&self) -> bool {
        self.stage.is_none()
    }

    /// Whether the route waits for the client (its stage is a `waiting_client` stage).
    pub fn is_waiting_client(&self, workflow: &Workflow) -> bool {
        self.stage
            .as_deref()
            .and_then(|s| workflow.stage(s))
            .is_some_and(|s| matches!(s.kind, StageKind::WaitingClient { .. }))
    }
}

/// A task to create, with everything its row and its page need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub kind: String,
    pub stage: String,
    pub title: Text,
    pub addressee: Addressee,
    pub norm: Norm,
    pub priority: Priority,
    /// Copy the summary of the task just completed (e.g. line 1's notes) into this one.
    pub carry_summary: bool,
    /// Instructions for the specialist (Markdown).
    pub instructions: Option<Text>,
    /// The outcome codes the task may end with (`["done"]` for one way forward).
    pub outcomes: Vec<String>,
}

/// Something the caller must do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// The route entered a stage (an internal history event).
    EnterStage {
        stage: String,
    },
    /// The client-facing status changed: update the ticket, record a public history event.
    SetStatus {
        status: Status,
        label: Option<Text>,
    },
    /// Set the ticket's classification (recompute its deadlines).
    SetClassification {
        classification: String,
    },
    /// Post a public comment from the desk. `{due}` stands for the due instant of the
    /// tasks created in this step; `{result}` for the automatic action's output.
    PublicMessage {
        text: Text,
    },
    CreateTask(NewTask),
    /// Cancel the open task of this kind created by this stage.
    CancelTask {
        kind: String,
        stage: String,
    },
    /// Run an automatic action, then call [`action_finished`] with its outcome.
    RunAction {
        action: String,
        params: BTreeMap<String, String>,
    },
    /// The route is over: close the ticket.
    CloseTicket,
}

/// The result of an engine call: the new state and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub state: RouteState,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("workflow \"{code}\" version {version} is not in the catalog")]
    UnknownWorkflow { code: String, version: u32 },
    #[error("stage \"{stage}\" is not in workflow \"{workflow}\" version {version}")]
    UnknownStage {
        workflow: String,
        version: u32,
        stage: String,
    },
    #[error("outcome \"{outcome}\" is not allowed for {of}; allowed: {}", allowed.join(", "))]
    OutcomeNotAllowed {
        of: String,
        outcome: String,
        allowed: Vec<String>,
    },
    #[error("no open task \"{kind}\" on this route; open: {}", if open.is_empty() { "none".to_string() } else { open.join(", ") })]
    NoOpenTask { kind: String, open: Vec<String> },
    #[error("the route is closed")]
    RouteClosed,
    #[error("the route is not waiting for an automatic action")]
    NotAwaitingAction,
    #[error("stage \"{stage}\" does not wait for the client's decision")]
    NotWaitingClient { stage: String },
}

impl Catalog {
    /// The workflow version a route runs on.
    pub fn workflow_of(&self, state: &RouteState) -> Result<&Workflow, EngineError> {
        self.workflow(&state.workflow, state.version)
            .ok_or_else(|| EngineError::UnknownWorkflow {
                code: state.workflow.clone(),
                version: state.version,
            })
    }
}

struct Run<'a> {
    workflow: &'a Workflow,
    state: RouteState,
    effects: Vec<Effect>,
}

impl<'a> Run<'a> {
    fn new(workflow: &'a Workflow, state: &RouteState) -> Self {
        Run {
            workflow,
            state: state.clone(),
            effects: Vec::new(),
        }
    }

    fn finish(self) -> Step {
        Step {
            state: self.state,
            effects: self.effects,
        }
    }

    fn current_stage(&self) -> Result<&'a Stage, EngineError> {
        let code = self
            .state
            .stage
            .as_deref()
            .ok_or(EngineError::RouteClosed)?;
        self.stage(code)
    }

    fn stage(&self, code: &str) -> Result<&'a Stage, EngineError> {
        self.workflow
            .stage(code)
            .ok_or_else(|| EngineError::UnknownStage {
                workflow: self.workflow.code.clone(),
                version: self.workflow.version,
                stage: code.to_string(),
            })
    }

    fn set_status(&mut self, status: Status, label: Option<Text>, previous_label: Option<&Text>) {
        if status != self.state.status || label.as_ref() != previous_label {
            self.state.status = status;
            self.effects.push(Effect::SetStatus { status, label });
        }
    }

    fn cancel(&mut self, keep: impl Fn(&OpenTask) -> bool) {
        let (kept, cancelled): (Vec<_>, Vec<_>) = std::mem::take(&mut self.state.open_tasks)
            .into_iter()
            .partition(keep);
        self.state.open_tasks = kept;
        for t in cancelled {
            self.effects.push(Effect::CancelTask {
                kind: t.kind,
                stage: t.stage,
            });
        }
    }

    fn apply(&mut self, outcome: &Outcome) -> Result<(), EngineError> {
        if let Some(c) = &outcome.classification {
            self.effects.push(Effect::SetClassification {
                classification: c.clone(),
            });
        }
        if let Some(text) = &outcome.message {
            self.effects
                .push(Effect::PublicMessage { text: text.clone() });
        }
        self.go(&outcome.target)
    }

    fn go(&mut self, target: &Target) -> Result<(), EngineError> {
        match target {
            Target::Stay => Ok(()),
            Target::Close => {
                self.close();
                Ok(())
            }
            Target::Stage(code) => self.enter(code),
        }
    }

    fn close(&mut self) {
        self.cancel(|_| false);
        self.state.awaiting_action = None;
        let previous_label = self
            .state
            .stage
            .as_deref()
            .and_then(|s| self.workflow.stage(s))
            .and_then(|s| s.status_label.clone());
        self.set_status(Status::Closed, None, previous_label.as_ref());
        self.state.stage = None;
        self.effects.push(Effect::CloseTicket);
    }

    fn enter(&mut self, code: &str) -> Result<(), EngineError> {
        let stage = self.stage(code)?;
        self.enter_stage(stage);
        Ok(())
    }

    fn enter_stage(&mut self, stage: &Stage) {
        let previous_label = self
            .state
            .stage
            .as_deref()
            .and_then(|s| self.workflow.stage(s))
            .and_then(|s| s.status_label.clone());
        // Leaving a stage cancels its own unfinished work; side tasks go on.
        self.cancel(|t| t.side);
        self.state.awaiting_action = None;
        self.state.stage = Some(stage.code.clone());
        self.effects.push(Effect::EnterStage {
            stage: stage.code.clone(),
        });
        self.set_status(
            stage.status,
            stage.status_label.clone(),
            previous_label.as_ref(),
        );
        if let Some(text) = &stage.message {
            self.effects
                .push(Effect::PublicMessage { text: text.clone() });
        }
        match &stage.kind {
            StageKind::Tasks => {
                for template in &stage.tasks {
                    self.create(stage, template);
                }
            }
            StageKind::Auto { action, params, .. } => {
                self.state.awaiting_action = Some(action.clone());
                self.effects.push(Effect::RunAction {
                    action: action.clone(),
                    params: params.clone(),
                });
            }
            StageKind::WaitingClient { .. } => {}
        }
    }

    fn create(&mut self, stage: &Stage, template: &TaskTemplate) {
        let side = template.is_side();
        self.state.open_tasks.push(OpenTask {
            kind: template.kind.clone(),
            stage: stage.code.clone(),
            side,
        });
        self.effects.push(Effect::CreateTask(NewTask {
            kind: template.kind.clone(),
            stage: stage.code.clone(),
            title: template.title.clone(),
            addressee: template.addressee.clone(),
            norm: template.norm,
            priority: template.priority,
            carry_summary: template.carry_summary,
            instructions: template
                .instructions
                .clone()
                .or_else(|| stage.instructions.clone()),
            outcomes: template.outcomes.iter().map(|o| o.code.clone()).collect(),
        }));
    }

    /// The index of the open task of `kind` to complete: the current stage's first.
    fn find_open(&self, kind: &str) -> Result<usize, EngineError> {
        let current = self.state.stage.as_deref();
        let matching = |t: &&OpenTask| t.kind == kind;
        self.state
            .open_tasks
            .iter()
            .position(|t| matching(&t) && Some(t.stage.as_str()) == current)
            .or_else(|| self.state.open_tasks.iter().position(|t| matching(&t)))
            .ok_or_else(|| EngineError::NoOpenTask {
                kind: kind.to_string(),
                open: self
                    .state
                    .open_tasks
                    .iter()
                    .map(|t| t.kind.clone())
                    .collect(),
            })
    }
}

fn not_allowed(of: String, outcome: &str, outcomes: &[Outcome]) -> EngineError {
    EngineError::OutcomeNotAllowed {
        of,
        outcome: outcome.to_string(),
        allowed: outcomes.iter().map(|o| o.code.clone()).collect(),
    }
}

/// Starts a new route on `workflow`: enters its first stage. The ticket is taken to be
/// `new` before the call, so a `SetStatus` appears only if the first stage shows another.
pub fn start(workflow: &Workflow) -> Step {
    let initial = RouteState {
        workflow: workflow.code.clone(),
        version: workflow.version,
        stage: None,
        status: Status::New,
        open_tasks: Vec::new(),
        awaiting_action: None,
    };
    let mut run = Run::new(workflow, &initial);
    match workflow.first_stage() {
        Some(first) => run.enter_stage(first),
        // Only an unvalidated, empty workflow: a route with nothing to do is over.
        None => run.close(),
    }
    run.finish()
}

/// The outcomes an open task of `kind` may end with (for the queue and the task page).
pub fn allowed_outcomes(
    workflow: &Workflow,
    state: &RouteState,
    kind: &str,
) -> Result<Vec<String>, EngineError> {
    let run = Run::new(workflow, state);
    let open = &state.open_tasks[run.find_open(kind)?];
    if open.kind == REPLY_TASK {
        return Ok(vec![DONE.to_string()]);
    }
    if open.kind == REOPENED_TASK {
        return Ok(vec![CLOSE.to_string()]);
    }
    let stage = run.stage(&open.stage)?;
    Ok(stage
        .task(kind)
        .map(|t| t.outcomes.iter().map(|o| o.code.clone()).collect())
        .unwrap_or_default())
}

/// A specialist finished the open task of `task_kind` with `outcome`.
pub fn complete_task(
    workflow: &Workflow,
    state: &RouteState,
    task_kind: &str,
    outcome: &str,
) -> Result<Step, EngineError> {
    if state.is_closed() {
        return Err(EngineError::RouteClosed);
    }
    let mut run = Run::new(workflow, state);
    let index = run.find_open(task_kind)?;
    let open = run.state.open_tasks[index].clone();
    if open.kind == REPLY_TASK {
        if outcome != DONE {
            return Err(EngineError::OutcomeNotAllowed {
                of: format!("task \"{REPLY_TASK}\""),
                outcome: outcome.to_string(),
                allowed: vec![DONE.to_string()],
            });
        }
        run.state.open_tasks.remove(index);
        return Ok(run.finish());
    }
    if open.kind == REOPENED_TASK {
        if outcome != CLOSE {
            return Err(EngineError::OutcomeNotAllowed {
                of: format!("task \"{REOPENED_TASK}\""),
                outcome: outcome.to_string(),
                allowed: vec![CLOSE.to_string()],
            });
        }
        run.state.open_tasks.remove(index);
        run.close();
        return Ok(run.finish());
    }
    let stage = run.stage(&open.stage)?;
    let template = stage
        .task(task_kind)
        .ok_or_else(|| EngineError::NoOpenTask {
            kind: task_kind.to_string(),
            open: Vec::new(),
        })?;
    let chosen = template
        .outcome(outcome)
        .ok_or_else(|| not_allowed(format!("task \"{task_kind}\""), outcome, &template.outcomes))?;
    run.state.open_tasks.remove(index);
    run.apply(chosen)?;
    Ok(run.finish())
}

/// The automatic action a route waits for the caller to run, as [`Effect::RunAction`]
/// asked for it: set when an automatic stage was entered and its action has not finished.
/// A process that stopped between writing the route and running the action leaves the
/// ticket here; running the action then goes on as if nothing happened.
pub fn pending_action(workflow: &Workflow, state: &RouteState) -> Option<Effect> {
    state.awaiting_action.as_ref()?;
    let stage = workflow.stage(state.stage.as_deref()?)?;
    match &stage.kind {
        StageKind::Auto { action, params, .. } => Some(Effect::RunAction {
            action: action.clone(),
            params: params.clone(),
        }),
        _ => None,
    }
}

/// The caller ran the automatic stage's action; `outcome` is its result (`ok`, `error`, …).
/// An outcome the stage does not know is an error: the caller should then feed `error`.
pub fn action_finished(
    workflow: &Workflow,
    state: &RouteState,
    outcome: &str,
) -> Result<Step, EngineError> {
    let mut run = Run::new(workflow, state);
    let stage = run.current_stage()?;
    let (
        StageKind::Auto {
            action, outcomes, ..
        },
        Some(_),
    ) = (&stage.kind, &state.awaiting_action)
    else {
        return Err(EngineError::NotAwaitingAction);
    };
    let chosen = outcomes
        .iter()
        .find(|o| o.code == outcome)
        .ok_or_else(|| not_allowed(format!("action \"{action}\""), outcome, outcomes))?;
    run.state.awaiting_action = None;
    run.apply(chosen)?;
    Ok(run.finish())
}

/// The client decided in a `waiting_client` stage (e.g. `approved` / `declined` a paid
/// repair offer). Staff may record a decision the client gave by phone the same way.
pub fn client_decided(
    workflow: &Workflow,
    state: &RouteState,
    outcome: &str,
) -> Result<Step, EngineError> {
    let mut run = Run::new(workflow, state);
    let stage = run.current_stage()?;
    let StageKind::WaitingClient { outcomes, .. } = &stage.kind else {
        return Err(EngineError::NotWaitingClient {
            stage: stage.code.clone(),
        });
    };
    let chosen = outcomes
        .iter()
        .find(|o| o.code == outcome)
        .ok_or_else(|| not_allowed(format!("stage \"{}\"", stage.code), outcome, outcomes))?;
    run.apply(chosen)?;
    Ok(run.finish())
}

/// The client wrote in the ticket mid-route. This never breaks the route:
/// - in a `waiting_client` stage with `on_reply`, the route resumes there (that stage's
///   tasks handle the message);
/// - otherwise a `reply` task for the workflow's reply line is created (unless one is
///   already open) and the stage stays as it is;
/// - on a closed route nothing happens: reopening is the caller's policy.
pub fn client_replied(workflow: &Workflow, state: &RouteState) -> Step {
    let mut run = Run::new(workflow, state);
    if state.is_closed() {
        return run.finish();
    }
    if let Ok(stage) = run.current_stage()
        && let StageKind::WaitingClient {
            on_reply: Some(target),
            ..
        } = &stage.kind
        && run.go(target).is_ok()
    {
        return run.finish();
    }
    let mut run = Run::new(workflow, state);
    // An open reply task (or the reopened ticket's task) answers this message too.
    if run
        .state
        .open_tasks
        .iter()
        .any(|t| t.kind == REPLY_TASK || t.kind == REOPENED_TASK)
    {
        return run.finish();
    }
    let stage = state.stage.clone().unwrap_or_default();
    run.state.open_tasks.push(OpenTask {
        kind: REPLY_TASK.to_string(),
        stage: stage.clone(),
        side: true,
    });
    run.effects
        .push(Effect::CreateTask(reply_task(workflow, stage)));
    run.finish()
}

/// The `reply` task a client's message creates in `stage` (for the queue's help text too).
pub fn reply_task(workflow: &Workflow, stage: String) -> NewTask {
    NewTask {
        kind: REPLY_TASK.to_string(),
        stage,
        title: Text {
            ru: "Ответить на сообщение клиента".into(),
            en: "Answer the client's message".into(),
        },
        addressee: Addressee::Line(workflow.reply_line),
        norm: workflow.reply_norm,
        priority: Priority::High,
        carry_summary: false,
        instructions: Some(Text {
            ru: "Клиент написал в обращение по ходу работы. Ответьте в тикете: либо по сути, \
                 либо что для анализа нужно время и когда будет ответ. Маршрут обращения \
                 при этом не меняется."
                .into(),
            en: "The client wrote in the ticket while it is under way. Answer in the ticket: \
                 either on the substance, or that the analysis needs time and when to expect \
                 an answer. The ticket's route does not change."
                .into(),
        }),
        outcomes: vec![DONE.to_string()],
    }
}

/// The client wrote on a closed ticket and the desk's rule
/// (`okno_domain::notice::reply_to_closed`) reopens it: the route stands in
/// [`REOPENED_STAGE`] with the status in progress, the client is told, and the workflow's
/// reply line gets a `reopened` task (its norm the reply norm) whose only outcome, `close`,
/// closes the ticket again once answered. A route still open takes the message as
/// [`client_replied`] does.
pub fn reopen(workflow: &Workflow, state: &RouteState) -> Step {
    if !state.is_closed() {
        return client_replied(workflow, state);
    }
    let mut run = Run::new(workflow, state);
    run.state.stage = Some(REOPENED_STAGE.to_string());
    run.state.awaiting_action = None;
    run.effects.push(Effect::EnterStage {
        stage: REOPENED_STAGE.to_string(),
    });
    run.set_status(Status::InProgress, None, None);
    run.effects.push(Effect::PublicMessage {
        text: Text {
            ru: "Обращение снова в работе: мы получили ваше сообщение и ответим не позднее {due}."
                .into(),
            en: "The request is open again: we received your message and will answer by {due}."
                .into(),
        },
    });
    run.state.open_tasks.push(OpenTask {
        kind: REOPENED_TASK.to_string(),
        stage: REOPENED_STAGE.to_string(),
        side: true,
    });
    run.effects
        .push(Effect::CreateTask(reopened_task(workflow)));
    run.finish()
}

/// The task a reopened ticket gives the workflow's reply line.
pub fn reopened_task(workflow: &Workflow) -> NewTask {
    NewTask {
        kind: REOPENED_TASK.to_string(),
        stage: REOPENED_STAGE.to_string(),
        title: Text {
            ru: "Клиент написал в закрытое обращение".into(),
            en: "The client wrote on a closed ticket".into(),
        },
        addressee: Addressee::Line(workflow.reply_line),
        norm: workflow.reply_norm,
        priority: Priority::High,
        carry_summary: false,
        instructions: Some(Text {
            ru: "Клиент ответил на закрытое обращение, и оно снова открыто. Прочитайте его \
                 сообщение и ответьте в тикете; когда вопрос решён, завершите задачу — \
                 обращение закроется снова. Если нужна другая линия, передайте задачу."
                .into(),
            en: "The client replied on a closed ticket and it is open again. Read the message \
                 and answer in the ticket; once the question is settled, complete the task \
                 and the ticket closes again. Transfer the task if another line is needed."
                .into(),
        }),
        outcomes: vec![CLOSE.to_string()],
    }
}

/// Closes the route from outside the workflow (auto-close after the client's silence, a
/// manager closing a ticket): cancels every open task.
pub fn close(workflow: &Workflow, state: &RouteState) -> Step {
    let mut run = Run::new(workflow, state);
    if !state.is_closed() {
        run.close();
    }
    run.finish()
}
