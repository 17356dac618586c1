//! `okno bench NAME`: benchmarks that print `figure <name> <value> <unit>` lines and a verdict.

mod api;
mod channels;
mod mail;
mod pages;
mod queue;
mod reports;
pub mod search;
mod workflow;

use std::process::ExitCode;

/// A measured figure and, when there is one, its target.
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Option<Target>,
}

pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Figure {
            name: name.into(),
            value,
            unit,
            target: None,
        }
    }
    pub fn at_least(mut self, target: f64) -> Self {
        self.target = Some(Target::AtLeast(target));
        self
    }
    pub fn at_most(mut self, target: f64) -> Self {
        self.target = Some(Target::AtMost(target));
        self
    }
    fn met(&self) -> bool {
        match self.target {
            Some(Target::AtLeast(t)) => self.value >= t,
            Some(Target::AtMost(t)) => self.value <= t,
            None => true,
        }
    }
}

pub async fn run(name: &str, quick: bool) -> anyhow::Result<ExitCode> {
    let figures = match name {
        "api" => api::run(quick).await?,
        "pages" => pages::run(quick).await?,
        "workflow" => workflow::run(quick).await?,
        "queue" => queue::run(quick).await?,
        "mail" => mail::run(quick).await?,
        "channels" => channels::run(quick).await?,
        "search" => search::run(quick).await?,
        "reports" => reports::run(quick).await?,
        "sla" => okno_sla::bench::run(quick)
            .into_iter()
            .map(|f| {
                let figure = Figure::new(f.name, f.value, f.unit);
                if f.name == "sla_due_per_s" {
                    figure.at_least(1_000_000.0)
                } else {
                    figure
                }
            })
            .collect(),
        other => anyhow::bail!(
            "unknown benchmark {other:?}: try api, channels, mail, pages, queue, reports, search, sla or workflow"
        ),
    };
    let mut verdict = Vec::new();
    for f in &figures {
        let value = if f.value >= 100.0 {
            format!("{:.0}", f.value)
        } else {
            format!("{:.2}", f.value)
        };
        println!("figure {} {value} {}", f.name, f.unit);
        if let Some(target) = &f.target {
            let (ratio, bound) = match target {
                Target::AtLeast(t) => (f.value / t, format!(">= {t}")),
                Target::AtMost(t) => (t / f.value.max(f64::MIN_POSITIVE), format!("<= {t}")),
            };
            verdict.push(format!(
                "{} {} ({bound} {}, x{ratio:.2})",
                f.name,
                if f.met() { "ok" } else { "MISSED" },
                f.unit
            ));
        }
    }
    let all_met = figures.iter().all(Figure::met);
    println!(
        "verdict {}: {}",
        if all_met {
            "all targets met"
        } else {
            "targets missed"
        },
        verdict.join("; ")
    );
    Ok(ExitCode::SUCCESS)
}
