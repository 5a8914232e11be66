//! The table: one row per scenario, with requests/s (messages/s for `send`), events/s for the
//! tracking scenarios, p50 and p99 latency, and the throughput relative to the do-nothing route
//! measured in the same run (events/s over its requests/s for the tracking scenarios,
//! requests/s over requests/s for the others). Then the errors, if any.

use anyhow::bail;

use super::load::{Load, Tally};
use super::scenarios::Scenario;

/// What one scenario measured.
pub struct Measured {
    /// The scenario.
    pub scenario: Scenario,
    /// Its name in the table.
    pub label: String,
    /// What the clients saw in the measured window.
    pub tally: Tally,
    /// The measured seconds.
    pub seconds: f64,
}

impl Measured {
    /// What a scenario's load clients saw in the measured window of `load`.
    pub fn load(scenario: Scenario, tally: Tally, load: &Load) -> Self {
        Self {
            scenario,
            label: scenario.label().to_owned(),
            tally,
            seconds: load.duration.as_secs_f64(),
        }
    }

    /// Events the accepted requests recorded; `None` for scenarios that record none.
    pub fn events(&self) -> Option<u64> {
        self.scenario
            .events_per_request()
            .map(|per_request| per_request * self.tally.requests)
    }
}

/// One line of the table.
pub struct Row {
    /// The database engine.
    engine: &'static str,
    /// The scenario's label.
    scenario: String,
    /// Accepted responses in the measured window.
    requests: u64,
    /// Errors in the measured window.
    errors: u64,
    /// Accepted responses per second.
    per_second: f64,
    /// Events recorded per second, for the scenarios that record events.
    events_per_second: Option<f64>,
    /// Median latency, in milliseconds, when latencies were measured.
    p50_ms: Option<f64>,
    /// 99th percentile latency, in milliseconds, when latencies were measured.
    p99_ms: Option<f64>,
    /// Throughput relative to the baseline, when the baseline has any.
    ratio: Option<f64>,
}

/// The table's lines: one per measurement, with throughput relative to the no-op baseline.
pub fn rows(engine: &'static str, measured: &[Measured]) -> Vec<Row> {
    let per_second = |m: &Measured, count: u64| count as f64 / m.seconds;
    let baseline = measured
        .iter()
        .find(|m| m.scenario == Scenario::Noop)
        .map(|m| per_second(m, m.tally.requests))
        .filter(|&rate| rate > 0.0);
    measured
        .iter()
        .map(|m| {
            let requests_per_second = per_second(m, m.tally.requests);
            let events_per_second = m.events().map(|events| per_second(m, events));
            let compared = events_per_second.unwrap_or(requests_per_second);
            Row {
                engine,
                scenario: m.label.clone(),
                requests: m.tally.requests,
                errors: m.tally.errors,
                per_second: requests_per_second,
                events_per_second,
                p50_ms: m.tally.latency_ms(0.50),
                p99_ms: m.tally.latency_ms(0.99),
                ratio: baseline.map(|base| compared / base),
            }
        })
        .collect()
}

/// The table's header.
const HEADER: [&str; 9] = [
    "engine", "scenario", "requests", "errors", "req/s", "events/s", "p50 ms", "p99 ms", "ratio",
];

impl Row {
    /// The row's cells, in the order of [`HEADER`].
    fn cells(&self) -> Vec<String> {
        let or_dash = |value: Option<f64>, digits: usize| {
            value.map_or_else(|| "-".to_owned(), |value| format!("{value:.digits$}"))
        };
        vec![
            self.engine.to_owned(),
            self.scenario.clone(),
            self.requests.to_string(),
            self.errors.to_string(),
            format!("{:.0}", self.per_second),
            or_dash(self.events_per_second, 0),
            or_dash(self.p50_ms, 2),
            or_dash(self.p99_ms, 2),
            or_dash(self.ratio, 2),
        ]
    }
}

/// The table as lines: the header, then the rows, each column as wide as its widest cell.
fn table(rows: &[Row]) -> Vec<String> {
    let mut lines = vec![HEADER.map(str::to_owned).to_vec()];
    lines.extend(rows.iter().map(Row::cells));
    let mut widths = [0; HEADER.len()];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    lines
        .iter()
        .map(|line| {
            let padded: Vec<String> = line
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// Prints the table.
pub fn print_table(rows: &[Row]) {
    for line in table(rows) {
        println!("{line}");
    }
}

/// Fails when any request failed, quoting the first failure of each scenario.
pub fn report_errors(measured: &[Measured]) -> anyhow::Result<()> {
    let failed: Vec<String> = measured
        .iter()
        .filter(|m| m.tally.errors > 0)
        .map(|m| {
            format!(
                "{}: {} errors, the first: {}",
                m.label,
                m.tally.errors,
                m.tally.first_error.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    bail!("some requests failed:\n{}", failed.join("\n"))
}

/// The median, 99th percentile and maximum (0 for none).
pub fn percentiles(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (at(0.5), at(0.99), at(1.0))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tally(requests: u32, errors: u32) -> Tally {
        let mut tally = Tally::new().unwrap();
        for _ in 0..requests {
            tally.record(Ok(()), Duration::from_millis(2));
        }
        for _ in 0..errors {
            tally.record(Err("503 Service Unavailable".into()), Duration::ZERO);
        }
        tally
    }

    /// What `scenario` measured over two seconds.
    fn measured(scenario: Scenario, tally: Tally) -> Measured {
        let load = Load {
            concurrency: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(2),
            rate: None,
        };
        Measured::load(scenario, tally, &load)
    }

    #[test]
    fn the_ratio_is_relative_to_the_noop_baseline() {
        let measured = [
            measured(Scenario::Noop, tally(100, 0)),
            measured(Scenario::ContactSync, tally(25, 1)),
        ];
        let rows = rows("sqlite", &measured);
        assert_eq!(rows[0].ratio, Some(1.0));
        assert_eq!(rows[1].ratio, Some(0.25));
        assert_eq!(rows[1].per_second, 12.5);
        assert_eq!(rows[1].events_per_second, None);
        assert_eq!(rows[1].errors, 1);
        assert!(report_errors(&measured).is_err());
    }

    #[test]
    fn batches_count_a_hundred_events_per_accepted_request() {
        let measured = [
            measured(Scenario::Noop, tally(1000, 0)),
            measured(Scenario::Collect, tally(400, 0)),
            measured(Scenario::Batch, tally(30, 2)),
        ];
        assert_eq!(measured[0].events(), None);
        assert_eq!(measured[1].events(), Some(400));
        assert_eq!(measured[2].events(), Some(3000), "errors record nothing");
        let rows = rows("postgres", &measured);
        assert_eq!(rows[1].events_per_second, Some(200.0));
        assert_eq!(rows[1].ratio, Some(0.4));
        assert_eq!(rows[2].per_second, 15.0);
        assert_eq!(rows[2].events_per_second, Some(1500.0));
        assert_eq!(
            rows[2].ratio,
            Some(3.0),
            "events/s over the baseline's req/s"
        );
    }

    #[test]
    fn the_table_writes_a_dash_where_no_events_are_recorded() {
        let measured = [
            measured(Scenario::Noop, tally(10, 0)),
            measured(Scenario::Event, tally(4, 0)),
        ];
        let lines = table(&rows("sqlite", &measured));
        assert!(lines[0].starts_with("engine  scenario"));
        assert!(lines[0].contains("req/s  events/s"));
        let noop: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(noop[5..], ["5", "-", "2.00", "2.00", "1.00"]);
        let event: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(event[5..], ["2", "2", "2.00", "2.00", "0.40"]);
    }

    #[test]
    fn a_send_is_in_messages_per_second_of_its_own_time_without_latencies() {
        let mut sent = Tally::new().unwrap();
        sent.requests = 5000;
        let measured = [
            measured(Scenario::Noop, tally(25_000, 0)),
            Measured {
                scenario: Scenario::Send,
                label: "campaign send x5000 -> aiosmtpd Sink".into(),
                tally: sent,
                seconds: 4.0,
            },
        ];
        let lines = table(&rows("sqlite", &measured));
        assert!(lines[2].starts_with("sqlite  campaign send x5000 -> aiosmtpd Sink"));
        let cells: Vec<&str> = lines[2].split_whitespace().collect();
        let n = cells.len();
        assert_eq!(cells[n - 6..], ["0", "1250", "-", "-", "-", "0.10"]);
    }
}
