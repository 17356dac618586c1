//! Loading and validating the TOML catalog: `[[pool]]`, `[[service]]`, `[workflow]` with
//! `[[stage]]` tables, in any number of files. Every problem found is reported, each as
//! `file:line: message`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::model::*;

/// One configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// All problems found in a set of configuration files, in file order then line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Catalog {
    /// Parses and validates `(file_name, text)` pairs into a catalog. Files may hold pools,
    /// services and at most one workflow version each, in any combination.
    pub fn from_files(files: &[(String, String)]) -> Result<Catalog, ConfigErrors> {
        load(files, None)
    }
}

// ---------------------------------------------------------------------------------------
// Raw TOML shapes.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pool: Vec<Spanned<RawPool>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    workflow: Option<Spanned<RawWorkflow>>,
    #[serde(default)]
    stage: Vec<Spanned<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    code: Spanned<String>,
    name_ru: Option<String>,
    name_en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    code: Spanned<String>,
    name_ru: Option<String>,
    name_en: Option<String>,
    description_ru: Option<String>,
    description_en: Option<String>,
    #[serde(default)]
    field: Vec<Spanned<RawField>>,
    clients: Option<Spanned<Vec<String>>>,
    requires_contract_feature: Option<Spanned<String>>,
    workflow: Option<Spanned<String>>,
    #[serde(default)]
    order: i32,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    code: Spanned<String>,
    label_ru: Option<String>,
    label_en: Option<String>,
    kind: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    options: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    code: Spanned<String>,
    version: Spanned<i64>,
    name_ru: Option<String>,
    name_en: Option<String>,
    reply_norm: Option<Spanned<String>>,
    reply_line: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    code: Spanned<String>,
    kind: Option<Spanned<String>>,
    status: Spanned<String>,
    status_label_ru: Option<String>,
    status_label_en: Option<String>,
    message_ru: Option<String>,
    message_en: Option<String>,
    instructions_ru: Option<String>,
    instructions_en: Option<String>,
    #[serde(default)]
    task: Vec<Spanned<RawTask>>,
    action: Option<Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    outcomes: Option<Spanned<RawOutcomes>>,
    on_reply: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    kind: Spanned<String>,
    title_ru: Option<String>,
    title_en: Option<String>,
    line: Option<Spanned<i64>>,
    pool: Option<Spanned<String>>,
    person: Option<Spanned<String>>,
    norm: Option<Spanned<String>>,
    priority: Option<Spanned<String>>,
    #[serde(default)]
    carry_summary: bool,
    instructions_ru: Option<String>,
    instructions_en: Option<String>,
    outcomes: Option<Spanned<RawOutcomes>>,
}

/// Outcomes in document order: `code = "target"` or `code = { to = "target", … }`.
struct RawOutcomes(Vec<(Spanned<String>, RawOutcome)>);

impl<'de> Deserialize<'de> for RawOutcomes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = RawOutcomes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of outcomes: code = \"target\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawOutcomes, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value::<RawOutcome>()?));
                }
                // The deserializer may hand keys over sorted; the file's order is the
                // order specialists see the outcomes in.
                entries.sort_by_key(|(key, _)| key.span().start);
                Ok(RawOutcomes(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

#[derive(Default)]
struct RawOutcome {
    to: Option<String>,
    classification: Option<String>,
    message_ru: Option<String>,
    message_en: Option<String>,
}

impl<'de> Deserialize<'de> for RawOutcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            to: Option<String>,
            classification: Option<String>,
            message_ru: Option<String>,
            message_en: Option<String>,
        }
        struct OutcomeVisitor;
        impl<'de> Visitor<'de> for OutcomeVisitor {
            type Value = RawOutcome;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a target stage (\"stage\", \"close\" or \"stay\") or a table { to = … }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawOutcome, E> {
                Ok(RawOutcome {
                    to: Some(v.to_string()),
                    ..RawOutcome::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawOutcome, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawOutcome {
                    to: full.to,
                    classification: full.classification,
                    message_ru: full.message_ru,
                    message_en: full.message_en,
                })
            }
        }
        deserializer.deserialize_any(OutcomeVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Loading.

/// Collects errors for one file, turning byte offsets into 1-based lines.
struct Reporter<'a> {
    file: &'a str,
    text: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Reporter<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.line_of(offset);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            message: message.into(),
        });
    }
}

fn text(ru: Option<String>, en: Option<String>) -> Option<Text> {
    let ru = ru.filter(|s| !s.trim().is_empty())?;
    let en = en
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| ru.clone());
    Some(Text { ru, en })
}

fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A workflow parsed from one file, with the spans needed for the graph checks.
struct Parsed {
    file_index: usize,
    workflow: Workflow,
    code_offset: usize,
    /// For each stage: the offset of its code and of every outcome target naming a stage.
    stage_offsets: HashMap<String, usize>,
}

pub(crate) fn load(
    files: &[(String, String)],
    base: Option<&Catalog>,
) -> Result<Catalog, ConfigErrors> {
    let mut errors = Vec::new();
    let mut raws = Vec::new();
    for (index, (name, body)) in files.iter().enumerate() {
        match toml::from_str::<RawFile>(body) {
            Ok(raw) => raws.push((index, raw)),
            Err(e) => {
                let offset = e.span().map(|s| s.start).unwrap_or(0);
                let mut reporter = Reporter {
                    file: name,
                    text: body,
                    errors: &mut errors,
                };
                let message = e.message().lines().next().unwrap_or("invalid TOML").trim();
                reporter.at(offset, format!("TOML error: {message}"));
            }
        }
    }

    // Pools first: workflows in any file may use pools declared in any other.
    let mut pools: Vec<Pool> = Vec::new();
    let mut pool_sites: HashMap<String, (usize, usize)> = HashMap::new();
    let base_pools: Vec<&Pool> = base.map(|b| b.pools.iter().collect()).unwrap_or_default();
    for (index, raw) in &mut raws {
        let (name, body) = &files[*index];
        let mut r = Reporter {
            file: name,
            text: body,
            errors: &mut errors,
        };
        for pool in std::mem::take(&mut raw.pool) {
            let offset = pool.span().start;
            let pool = pool.into_inner();
            let code = pool.code.get_ref().trim().to_string();
            if code.is_empty() {
                r.at(pool.code.span().start, "pool code is empty");
                continue;
            }
            if base_pools.iter().any(|p| p.code == code) || pool_sites.contains_key(&code) {
                r.at(
                    pool.code.span().start,
                    format!("duplicate pool code \"{code}\""),
                );
                continue;
            }
            let Some(name) = text(pool.name_ru, pool.name_en) else {
                r.at(offset, format!("pool \"{code}\" has no name_ru"));
                continue;
            };
            pool_sites.insert(code.clone(), (*index, offset));
            pools.push(Pool { code, name });
        }
    }
    let mut known_pools: BTreeSet<String> = pools.iter().map(|p| p.code.clone()).collect();
    known_pools.extend(base_pools.iter().map(|p| p.code.clone()));

    // Workflows. Codes declared in invalid files still count as known, so a service
    // naming one gets no second, misleading error.
    let declared: BTreeSet<String> = raws
        .iter()
        .filter_map(|(_, raw)| raw.workflow.as_ref())
        .map(|w| w.get_ref().code.get_ref().trim().to_string())
        .collect();
    let mut parsed: Vec<Parsed> = Vec::new();
    for (index, raw) in &mut raws {
        let (name, body) = &files[*index];
        let mut r = Reporter {
            file: name,
            text: body,
            errors: &mut errors,
        };
        let stages = std::mem::take(&mut raw.stage);
        match raw.workflow.take() {
            Some(workflow) => {
                if let Some(p) = parse_workflow(&mut r, *index, workflow, stages, &known_pools) {
                    parsed.push(p);
                }
            }
            None => {
                if let Some(first) = stages.first() {
                    r.at(
                        first.span().start,
                        "[[stage]] tables need a [workflow] table in the same file",
                    );
                }
            }
        }
    }

    // Duplicate versions, then the graph checks on each workflow.
    let mut workflows: BTreeMap<(String, u32), Workflow> = BTreeMap::new();
    let mut seen: HashMap<(String, u32), (usize, usize)> = HashMap::new();
    for p in parsed {
        let (name, body) = &files[p.file_index];
        let mut r = Reporter {
            file: name,
            text: body,
            errors: &mut errors,
        };
        let key = (p.workflow.code.clone(), p.workflow.version);
        if base.is_some_and(|b| b.workflows.contains_key(&key)) {
            r.at(
                p.code_offset,
                format!(
                    "workflow \"{}\" version {} is already published",
                    key.0, key.1
                ),
            );
            continue;
        }
        if let Some((first_file, first_offset)) = seen.get(&key) {
            let (first_name, first_body) = &files[*first_file];
            let first_line = Reporter {
                file: first_name,
                text: first_body,
                errors: &mut Vec::new(),
            }
            .line_of(*first_offset);
            r.at(
                p.code_offset,
                format!(
                    "duplicate workflow \"{}\" version {} (first defined at {first_name}:{first_line})",
                    key.0, key.1
                ),
            );
            continue;
        }
        seen.insert(key.clone(), (p.file_index, p.code_offset));
        check_graph(&mut r, &p);
        workflows.insert(key, p.workflow);
    }

    // Services.
    let mut services: Vec<Service> = Vec::new();
    let mut service_codes: BTreeSet<String> = BTreeSet::new();
    for (index, raw) in &mut raws {
        let (name, body) = &files[*index];
        let mut r = Reporter {
            file: name,
            text: body,
            errors: &mut errors,
        };
        for service in std::mem::take(&mut raw.service) {
            let known = |code: &str| {
                declared.contains(code) || base.is_some_and(|b| b.latest(code).is_some())
            };
            let code_offset = service.get_ref().code.span().start;
            if let Some(s) = parse_service(&mut r, service, &known) {
                if !service_codes.insert(s.code.clone()) {
                    r.at(
                        code_offset,
                        format!("duplicate service code \"{}\"", s.code),
                    );
                    continue;
                }
                services.push(s);
            }
        }
    }
    sort_services(&mut services);

    if errors.is_empty() {
        Ok(Catalog {
            services,
            workflows,
            pools,
        })
    } else {
        // Keep file order (the caller's order), then line order within a file.
        let order: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        errors.sort_by_key(|e| (order.get(e.file.as_str()).copied(), e.line));
        Err(ConfigErrors(errors))
    }
}

pub(crate) fn sort_services(services: &mut [Service]) {
    services.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.code.cmp(&b.code)));
}

fn parse_service(
    r: &mut Reporter,
    raw: Spanned<RawService>,
    workflow_known: &dyn Fn(&str) -> bool,
) -> Option<Service> {
    let offset = raw.span().start;
    let raw = raw.into_inner();
    let code = raw.code.get_ref().trim().to_string();
    let mut ok = true;
    if code.is_empty() {
        r.at(raw.code.span().start, "service code is empty");
        return None;
    }
    let name = text(raw.name_ru, raw.name_en);
    if name.is_none() {
        r.at(offset, format!("service \"{code}\" has no name_ru"));
        ok = false;
    }
    let description = text(raw.description_ru, raw.description_en).unwrap_or(Text {
        ru: String::new(),
        en: String::new(),
    });
    let workflow = match raw.workflow {
        None => {
            r.at(offset, format!("service \"{code}\" names no workflow"));
            ok = false;
            String::new()
        }
        Some(w) => {
            if !workflow_known(w.get_ref()) {
                r.at(
                    w.span().start,
                    format!(
                        "service \"{code}\" names unknown workflow \"{}\"",
                        w.get_ref()
                    ),
                );
                ok = false;
            }
            w.into_inner()
        }
    };
    let audience = match (raw.clients, raw.requires_contract_feature) {
        (Some(_), Some(feature)) => {
            r.at(
                feature.span().start,
                format!(
                    "service \"{code}\": use either clients or requires_contract_feature, not both"
                ),
            );
            ok = false;
            Audience::All
        }
        (Some(clients), None) => {
            if clients.get_ref().is_empty() {
                r.at(
                    clients.span().start,
                    format!("service \"{code}\" lists no clients"),
                );
                ok = false;
            }
            Audience::Clients(clients.into_inner())
        }
        (None, Some(feature)) => Audience::ContractFeature(feature.into_inner()),
        (None, None) => Audience::All,
    };
    let mut fields = Vec::new();
    let mut field_codes = BTreeSet::new();
    for field in raw.field {
        let field_offset = field.span().start;
        let field = field.into_inner();
        let field_code = field.code.get_ref().trim().to_string();
        if !field_codes.insert(field_code.clone()) {
            r.at(
                field.code.span().start,
                format!("duplicate field code \"{field_code}\" in service \"{code}\""),
            );
            ok = false;
            continue;
        }
        let Some(kind) = FieldKind::parse(field.kind.get_ref()) else {
            r.at(
                field.kind.span().start,
                format!(
                    "unknown field kind \"{}\" (known: text, number, select, date, bool)",
                    field.kind.get_ref()
                ),
            );
            ok = false;
            continue;
        };
        if kind == FieldKind::Select && field.options.is_empty() {
            r.at(
                field_offset,
                format!("select field \"{field_code}\" has no options"),
            );
            ok = false;
        }
        let Some(label) = text(field.label_ru, field.label_en) else {
            r.at(
                field_offset,
                format!("field \"{field_code}\" has no label_ru"),
            );
            ok = false;
            continue;
        };
        fields.push(FormField {
            code: field_code,
            label,
            kind,
            required: field.required,
            options: field.options,
        });
    }
    ok.then(|| Service {
        code,
        name: name.expect("checked above"),
        description,
        fields,
        audience,
        workflow,
        order: raw.order,
        active: raw.active,
    })
}

fn parse_norm(r: &mut Reporter, raw: &Spanned<String>) -> Option<Norm> {
    let norm = Norm::parse(raw.get_ref());
    if norm.is_none() {
        r.at(
            raw.span().start,
            format!(
                "invalid norm \"{}\": expected e.g. \"30m\", \"2h\", \"3d\", \"reaction\", \"solution\" or \"none\"",
                raw.get_ref()
            ),
        );
    }
    norm
}

fn parse_line(r: &mut Reporter, raw: &Spanned<i64>) -> Option<u8> {
    match *raw.get_ref() {
        n @ 1..=4 => Some(n as u8),
        n => {
            r.at(
                raw.span().start,
                format!("unknown line {n} (lines are 1–4)"),
            );
            None
        }
    }
}

/// Outcome targets still naming stages, with their offsets, checked once all stages are known.
type PendingTargets = Vec<(String, usize, String)>;

fn parse_outcomes(
    r: &mut Reporter,
    raw: Spanned<RawOutcomes>,
    owner: &str,
    pending: &mut PendingTargets,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::new();
    for (code, raw_outcome) in raw.into_inner().0 {
        let offset = code.span().start;
        let code = code.into_inner();
        if outcomes.iter().any(|o| o.code == code) {
            r.at(offset, format!("duplicate outcome \"{code}\" of {owner}"));
            continue;
        }
        let target = match raw_outcome.to.as_deref().map(str::trim) {
            None | Some("") => {
                r.at(
                    offset,
                    format!("outcome \"{code}\" of {owner} has no target"),
                );
                continue;
            }
            Some("close") => Target::Close,
            Some("stay") => Target::Stay,
            Some(stage) => {
                pending.push((
                    stage.to_string(),
                    offset,
                    format!("outcome \"{code}\" of {owner}"),
                ));
                Target::Stage(stage.to_string())
            }
        };
        if let Some(c) = &raw_outcome.classification
            && !CLASSIFICATIONS.contains(&c.as_str())
        {
            r.at(
                offset,
                format!(
                    "outcome \"{code}\" of {owner} sets unknown classification \"{c}\" (known: {})",
                    CLASSIFICATIONS.join(", ")
                ),
            );
            continue;
        }
        outcomes.push(Outcome {
            code,
            target,
            classification: raw_outcome.classification,
            message: text(raw_outcome.message_ru, raw_outcome.message_en),
        });
    }
    outcomes
}

fn parse_workflow(
    r: &mut Reporter,
    file_index: usize,
    raw: Spanned<RawWorkflow>,
    raw_stages: Vec<Spanned<RawStage>>,
    known_pools: &BTreeSet<String>,
) -> Option<Parsed> {
    let errors_before = r.errors.len();
    let raw = raw.into_inner();
    let code = raw.code.get_ref().trim().to_string();
    let code_offset = raw.code.span().start;
    let mut ok = true;
    if code.is_empty() {
        r.at(code_offset, "workflow code is empty");
        ok = false;
    }
    let version = match u32::try_from(*raw.version.get_ref()) {
        Ok(v) if v > 0 => v,
        _ => {
            r.at(
                raw.version.span().start,
                "workflow version must be a positive integer",
            );
            ok = false;
            0
        }
    };
    let name = text(raw.name_ru, raw.name_en).unwrap_or_else(|| Text {
        ru: code.clone(),
        en: code.clone(),
    });
    let reply_norm = match &raw.reply_norm {
        Some(n) => parse_norm(r, n).unwrap_or(Norm::None),
        None => Norm::WorkingMinutes(120),
    };
    let reply_line = match &raw.reply_line {
        Some(l) => parse_line(r, l).unwrap_or(1),
        None => 1,
    };
    if raw_stages.is_empty() {
        r.at(code_offset, format!("workflow \"{code}\" has no stages"));
        return None;
    }

    let mut stages: Vec<Stage> = Vec::new();
    let mut stage_offsets: HashMap<String, usize> = HashMap::new();
    let mut pending: PendingTargets = Vec::new();
    for raw_stage in raw_stages {
        let stage_offset = raw_stage.span().start;
        let s = raw_stage.into_inner();
        let stage_code = s.code.get_ref().trim().to_string();
        let code_at = s.code.span().start;
        if stage_code.is_empty() || stage_code == "close" || stage_code == "stay" {
            r.at(code_at, format!("invalid stage code \"{stage_code}\""));
            continue;
        }
        if stage_offsets.contains_key(&stage_code) {
            r.at(code_at, format!("duplicate stage code \"{stage_code}\""));
            continue;
        }
        stage_offsets.insert(stage_code.clone(), code_at);
        let status = Status::parse(s.status.get_ref()).unwrap_or_else(|| {
            r.at(
                s.status.span().start,
                format!(
                    "unknown status \"{}\" (known: new, in_progress, waiting_client, resolved, closed)",
                    s.status.get_ref()
                ),
            );
            Status::InProgress
        });
        let owner = format!("stage \"{stage_code}\"");
        let kind_code = s
            .kind
            .as_ref()
            .map(|k| k.get_ref().as_str())
            .unwrap_or("tasks");
        let kind = match kind_code {
            "tasks" => {
                if let Some(a) = &s.action {
                    r.at(
                        a.span().start,
                        format!("{owner}: only auto stages have an action"),
                    );
                }
                if let Some(o) = &s.outcomes {
                    r.at(
                        o.span().start,
                        format!(
                            "{owner}: a tasks stage has outcomes on its tasks, not on the stage"
                        ),
                    );
                }
                if s.task.is_empty() {
                    r.at(stage_offset, format!("{owner} creates no tasks"));
                }
                StageKind::Tasks
            }
            "auto" => {
                let action = match s.action {
                    Some(a) if !a.get_ref().trim().is_empty() => a.into_inner(),
                    _ => {
                        r.at(stage_offset, format!("auto {owner} names no action"));
                        String::new()
                    }
                };
                if let Some(t) = s.task.first() {
                    r.at(t.span().start, format!("auto {owner} cannot create tasks"));
                }
                let outcomes = match s.outcomes {
                    Some(o) => parse_outcomes(r, o, &owner, &mut pending),
                    None => {
                        r.at(stage_offset, format!("auto {owner} has no outcomes"));
                        Vec::new()
                    }
                };
                if action == "issue_license_key" {
                    match s.params.get("key_format") {
                        Some(f) if crate::key::is_valid_format(f) => {}
                        _ => r.at(
                            stage_offset,
                            format!(
                                "{owner}: issue_license_key needs params.key_format with at least one X (e.g. \"OKNO-XXXX-XXXX-XXXX\")"
                            ),
                        ),
                    }
                }
                StageKind::Auto {
                    action,
                    params: s.params,
                    outcomes,
                }
            }
            "waiting_client" => {
                if let Some(t) = s.task.first() {
                    r.at(
                        t.span().start,
                        format!("waiting_client {owner} cannot create tasks"),
                    );
                }
                let outcomes = match s.outcomes {
                    Some(o) => parse_outcomes(r, o, &owner, &mut pending),
                    None => Vec::new(),
                };
                let on_reply = s.on_reply.map(|t| {
                    let target = t.get_ref().trim().to_string();
                    match target.as_str() {
                        "close" => Target::Close,
                        "" | "stay" => {
                            r.at(t.span().start, format!("on_reply of {owner} has no target"));
                            Target::Stay
                        }
                        _ => {
                            pending.push((
                                target.clone(),
                                t.span().start,
                                format!("on_reply of {owner}"),
                            ));
                            Target::Stage(target)
                        }
                    }
                });
                if on_reply.is_none() && outcomes.is_empty() {
                    r.at(
                        stage_offset,
                        format!("waiting_client {owner} has neither outcomes nor on_reply"),
                    );
                }
                StageKind::WaitingClient { on_reply, outcomes }
            }
            other => {
                let at = s
                    .kind
                    .as_ref()
                    .map(|k| k.span().start)
                    .unwrap_or(stage_offset);
                r.at(
                    at,
                    format!("unknown stage kind \"{other}\" (known: tasks, auto, waiting_client)"),
                );
                continue;
            }
        };

        let mut tasks: Vec<TaskTemplate> = Vec::new();
        if matches!(kind, StageKind::Tasks) {
            for raw_task in s.task {
                if let Some(t) = parse_task(r, raw_task, &stage_code, known_pools, &mut pending) {
                    if tasks.iter().any(|x| x.kind == t.kind) {
                        r.at(
                            stage_offset,
                            format!("duplicate task kind \"{}\" in {owner}", t.kind),
                        );
                        continue;
                    }
                    tasks.push(t);
                }
            }
            if !tasks.is_empty() && tasks.iter().all(TaskTemplate::is_side) {
                r.at(
                    stage_offset,
                    format!("{owner} has only side tasks (all outcomes \"stay\"): the route cannot move on"),
                );
            }
        }
        stages.push(Stage {
            code: stage_code,
            kind,
            status,
            status_label: text(s.status_label_ru, s.status_label_en),
            message: text(s.message_ru, s.message_en),
            instructions: text(s.instructions_ru, s.instructions_en),
            tasks,
        });
    }
    for (target, offset, what) in &pending {
        if !stage_offsets.contains_key(target) {
            r.at(
                *offset,
                format!("{what} leads to unknown stage \"{target}\""),
            );
        }
    }
    let clean = r.errors.len() == errors_before;
    (ok && clean && !stages.is_empty()).then_some(Parsed {
        file_index,
        workflow: Workflow {
            code,
            version,
            name,
            stages,
            reply_norm,
            reply_line,
        },
        code_offset,
        stage_offsets,
    })
}

fn parse_task(
    r: &mut Reporter,
    raw: Spanned<RawTask>,
    stage: &str,
    known_pools: &BTreeSet<String>,
    pending: &mut PendingTargets,
) -> Option<TaskTemplate> {
    let offset = raw.span().start;
    let t = raw.into_inner();
    let kind = t.kind.get_ref().trim().to_string();
    let owner = format!("task \"{kind}\"");
    let mut ok = true;
    if kind.is_empty() || kind == "reply" {
        r.at(
            t.kind.span().start,
            format!("invalid task kind \"{kind}\" (\"reply\" is reserved for client messages)"),
        );
        ok = false;
    }
    let title = text(t.title_ru, t.title_en);
    if title.is_none() {
        r.at(
            offset,
            format!("{owner} in stage \"{stage}\" has no title_ru"),
        );
        ok = false;
    }
    let addressee = match (t.line, t.pool, t.person) {
        (Some(line), None, None) => parse_line(r, &line).map(Addressee::Line),
        (None, Some(pool), None) => {
            if known_pools.contains(pool.get_ref()) {
                Some(Addressee::Pool(pool.into_inner()))
            } else {
                let known = quoted_list(known_pools.iter().map(String::as_str));
                r.at(
                    pool.span().start,
                    format!("unknown role pool \"{}\" (known: {known})", pool.get_ref()),
                );
                None
            }
        }
        (None, None, Some(person)) => {
            if person.get_ref().contains('@') {
                Some(Addressee::Person(person.into_inner()))
            } else {
                r.at(
                    person.span().start,
                    format!("person \"{}\" is not an e-mail address", person.get_ref()),
                );
                None
            }
        }
        _ => {
            r.at(
                offset,
                format!("{owner} in stage \"{stage}\" must be addressed to exactly one of line, pool, person"),
            );
            None
        }
    };
    let norm = match &t.norm {
        Some(n) => parse_norm(r, n),
        None => {
            r.at(
                offset,
                format!("{owner} in stage \"{stage}\" has no norm (e.g. \"2h\", \"reaction\", \"solution\" or \"none\")"),
            );
            None
        }
    };
    let priority = match &t.priority {
        None => Some(Priority::Normal),
        Some(p) => {
            let parsed = Priority::parse(p.get_ref());
            if parsed.is_none() {
                r.at(
                    p.span().start,
                    format!(
                        "unknown priority \"{}\" (known: low, normal, high, critical)",
                        p.get_ref()
                    ),
                );
            }
            parsed
        }
    };
    let owner_full = format!("{owner} in stage \"{stage}\"");
    let outcomes = match t.outcomes {
        Some(o) => parse_outcomes(r, o, &owner_full, pending),
        None => {
            r.at(offset, format!("{owner_full} has no outcomes (one way forward: outcomes = {{ done = \"next-stage\" }})"));
            Vec::new()
        }
    };
    let stays = outcomes.iter().filter(|o| o.target == Target::Stay).count();
    if stays > 0 && stays < outcomes.len() {
        r.at(
            offset,
            format!("{owner_full} mixes \"stay\" with outcomes that move the route"),
        );
        ok = false;
    }
    if outcomes.is_empty() {
        ok = false;
    }
    match (ok, title, addressee, norm, priority) {
        (true, Some(title), Some(addressee), Some(norm), Some(priority)) => Some(TaskTemplate {
            kind,
            title,
            addressee,
            norm,
            priority,
            carry_summary: t.carry_summary,
            instructions: text(t.instructions_ru, t.instructions_en),
            outcomes,
        }),
        _ => None,
    }
}

/// The stages each stage can move to (`None` stands for closing the ticket).
pub(crate) fn successors(stage: &Stage) -> Vec<Option<&str>> {
    let mut targets: Vec<&Target> = Vec::new();
    for t in &stage.tasks {
        targets.extend(t.outcomes.iter().map(|o| &o.target));
    }
    targets.extend(stage.stage_outcomes().iter().map(|o| &o.target));
    if let StageKind::WaitingClient {
        on_reply: Some(t), ..
    } = &stage.kind
    {
        targets.push(t);
    }
    targets
        .into_iter()
        .filter_map(|t| match t {
            Target::Stage(s) => Some(Some(s.as_str())),
            Target::Close => Some(None),
            Target::Stay => None,
        })
        .collect()
}

/// Unreachable stages and dead ends (stages from which the ticket can never close).
fn check_graph(r: &mut Reporter, p: &Parsed) {
    let wf = &p.workflow;
    let Some(first) = wf.first_stage().map(|s| &s.code) else {
        return;
    };
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([first.as_str()]);
    while let Some(code) = queue.pop_front() {
        if !reached.insert(code) {
            continue;
        }
        if let Some(stage) = wf.stage(code) {
            queue.extend(successors(stage).into_iter().flatten());
        }
    }
    // Stages that can reach closing, by walking the edges backwards to a fixed point.
    let mut closes: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = closes.len();
        for stage in &wf.stages {
            if successors(stage)
                .iter()
                .any(|t| t.is_none_or(|s| closes.contains(s)))
            {
                closes.insert(&stage.code);
            }
        }
        if closes.len() == before {
            break;
        }
    }
    for stage in &wf.stages {
        let offset = p.stage_offsets[&stage.code];
        if !reached.contains(stage.code.as_str()) {
            r.at(
                offset,
                format!(
                    "stage \"{}\" is unreachable from the first stage \"{first}\"",
                    stage.code
                ),
            );
        } else if !closes.contains(stage.code.as_str()) {
            r.at(
                offset,
                format!(
                    "stage \"{}\" is a dead end: the ticket can never be closed from it",
                    stage.code
                ),
            );
        }
    }
}
