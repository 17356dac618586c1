//! Throughput figures for `okno bench sla`.

use std::hint::black_box;
use std::time::Instant;

use jiff::Timestamp;

use crate::shipped;

/// One measured figure, printed as `figure <name> <value> <unit>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Figure name, e.g. `sla_due_per_s`.
    pub name: &'static str,
    /// Measured value.
    pub value: f64,
    /// Unit, e.g. `1/s`.
    pub unit: &'static str,
}

/// Measures deadline computations on `ru-standard` for random starts in 2024–2027
/// and spans from 15 minutes to 30 working days; `quick` runs a small sample.
pub fn run(quick: bool) -> Vec<Figure> {
    let started = Instant::now();
    let config = shipped::config().expect("the shipped configuration is valid");
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let calendar = config
        .calendars
        .get("ru-standard")
        .expect("ru-standard is shipped");

    let iterations: u64 = if quick { 200_000 } else { 5_000_000 };
    let first = Timestamp::from_second(1_704_056_400)
        .expect("2024-01-01T00:00+03:00")
        .as_second();
    let last = Timestamp::from_second(1_830_286_800)
        .expect("2028-01-01T00:00+03:00")
        .as_second();
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let inputs: Vec<(Timestamp, i64)> = (0..1024)
        .map(|_| {
            let start = first + (random.next() % (last - first) as u64) as i64;
            let minutes = 15 + (random.next() % (30 * 480 - 15 + 1)) as i64;
            (Timestamp::from_second(start).expect("in range"), minutes)
        })
        .collect();

    let started = Instant::now();
    for i in 0..iterations {
        let (from, minutes) = inputs[(i % 1024) as usize];
        black_box(calendar.due(black_box(from), black_box(minutes)));
    }
    let due_per_s = iterations as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    for i in 0..iterations {
        let (from, minutes) = inputs[(i % 1024) as usize];
        let until = from + jiff::SignedDuration::from_mins(minutes * 3);
        black_box(calendar.working_seconds_between(black_box(from), black_box(until)));
    }
    let between_per_s = iterations as f64 / started.elapsed().as_secs_f64();

    vec![
        Figure {
            name: "sla_due_per_s",
            value: due_per_s.round(),
            unit: "1/s",
        },
        Figure {
            name: "sla_working_between_per_s",
            value: between_per_s.round(),
            unit: "1/s",
        },
        Figure {
            name: "sla_config_load",
            value: (load_ms * 10.0).round() / 10.0,
            unit: "ms",
        },
    ]
}

/// Marsaglia's xorshift64: enough randomness for benchmark inputs, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    /// `cargo test --release -p okno-sla -- --ignored --nocapture bench` prints the figures.
    #[test]
    #[ignore = "benchmark: run in release"]
    fn bench_figures() {
        for figure in super::run(false) {
            println!("figure {} {} {}", figure.name, figure.value, figure.unit);
        }
    }

    #[test]
    fn quick_bench_runs() {
        let figures = super::run(true);
        assert!(figures.iter().all(|f| f.value > 0.0));
    }
}
