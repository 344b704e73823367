//! The results of a run: one row per measurement with its parameters, target and verdict, a
//! short reading per scenario, rendered as a Markdown table (printed, and written to
//! BENCHMARKS.md with the machine line).

use std::fmt::Write as _;

/// Whether a row meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// A number without a target (context for the others).
    Info,
    /// Could not be measured in this run; the row's result says why.
    NotMeasured,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "",
            Verdict::NotMeasured => "not measured",
        }
    }

    /// `Met` if `ok`, else `Missed`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub scenario: String,
    pub what: String,
    pub params: String,
    pub result: String,
    pub target: String,
    pub verdict: Verdict,
}

/// Everything one run found.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// (scenario, reading) in the order the scenarios ran.
    pub readings: Vec<(String, String)>,
}

impl Report {
    pub fn row(
        &mut self,
        scenario: &str,
        what: impl Into<String>,
        params: impl Into<String>,
        result: impl Into<String>,
        target: impl Into<String>,
        verdict: Verdict,
    ) {
        let row = Row {
            scenario: scenario.to_owned(),
            what: what.into(),
            params: params.into(),
            result: result.into(),
            target: target.into(),
            verdict,
        };
        println!(
            "  {} | {} | {} | {} {}",
            row.what,
            row.params,
            row.result,
            row.target,
            row.verdict.label()
        );
        self.rows.push(row);
    }

    /// A row saying what could not be measured, and why.
    pub fn not_measured(&mut self, scenario: &str, what: &str, why: impl std::fmt::Display) {
        self.row(
            scenario,
            what,
            "",
            format!("not measured yet: {why}"),
            "",
            Verdict::NotMeasured,
        );
    }

    pub fn reading(&mut self, scenario: &str, text: impl Into<String>) {
        self.readings.push((scenario.to_owned(), text.into()));
    }

    /// The results as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| scenario | measure | parameters | result | target | verdict |\n\
             |----------|---------|------------|--------|--------|---------|\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&r.scenario),
                cell(&r.what),
                cell(&r.params),
                cell(&r.result),
                cell(&r.target),
                r.verdict.label()
            );
        }
        out
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// The whole BENCHMARKS.md.
    pub fn markdown(&self, machine_line: &str, when: &str, notes: &[String]) -> String {
        let mut out = String::new();
        out.push_str("# 12st mall benchmarks\n\n");
        out.push_str(
            "Written by `cargo xtask bench` (`cargo run --release -p mall-bench`): every scenario of \
             the benchmark issue against the real system on 127.0.0.1, in one run. Targets are \
             ratios between numbers of the same run; absolute times depend on the machine.\n\n",
        );
        let _ = writeln!(out, "- **Machine**: {machine_line}");
        let _ = writeln!(out, "- **Run**: {when}");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
        let _ = writeln!(
            out,
            "- **Verdicts**: {} met, {} missed, {} not measured\n",
            self.count(Verdict::Met),
            self.count(Verdict::Missed),
            self.count(Verdict::NotMeasured)
        );
        out.push_str("## Results\n\n");
        out.push_str(&self.table());
        out.push_str("\n## Reading\n\n");
        for (scenario, text) in &self.readings {
            let _ = writeln!(out, "**{scenario}.** {text}\n");
        }
        out
    }
}

/// A table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The header line naming the scenarios a partial run kept from the file it replaced.
const KEPT: &str = "**Kept from earlier runs** (not measured by this run; their rows and \
                    readings are as that run wrote them, possibly on another machine): ";

impl Report {
    /// For a partial run (`--only`): adds the rows and readings that `previous` (the
    /// BENCHMARKS.md this run replaces) has of each scenario name in `keep`, orders rows and
    /// readings by `rank` (which run a name belongs to; stable, so the order inside a run
    /// stays as it was written), and returns the header note saying when each kept scenario
    /// was measured (`None` when nothing was kept). A scenario the previous file had itself
    /// kept keeps the date it was measured, not that file's.
    pub fn keep_from(
        &mut self,
        previous: &str,
        keep: &[&str],
        rank: impl Fn(&str) -> Option<usize>,
    ) -> Option<String> {
        let mut when_run = None;
        let mut kept_before: Vec<(String, String)> = Vec::new();
        for line in previous.lines() {
            if let Some(run) = line.strip_prefix("- **Run**: ") {
                when_run = Some(run.split(" (scenarios").next().unwrap_or(run).to_owned());
            } else if let Some(list) = line.strip_prefix("- ").and_then(|l| l.strip_prefix(KEPT)) {
                kept_before.extend(list.split("; ").filter_map(|entry| {
                    let (scenario, when) = entry.split_once(": ")?;
                    Some((scenario.to_owned(), when.to_owned()))
                }));
            }
        }
        // In the previous file's order: a run's rows under several names stay interleaved.
        let rows: Vec<Row> = previous
            .lines()
            .filter_map(parse_row)
            .filter(|r| keep.contains(&r.scenario.as_str()))
            .collect();
        self.readings.extend(previous.lines().filter_map(|line| {
            let (scenario, text) = line.strip_prefix("**")?.split_once(".** ")?;
            keep.contains(&scenario)
                .then(|| (scenario.to_owned(), text.to_owned()))
        }));
        let kept: Vec<String> = keep
            .iter()
            .filter(|&&scenario| rows.iter().any(|r| r.scenario == scenario))
            .map(|&scenario| {
                let when = kept_before
                    .iter()
                    .find(|(s, _)| s == scenario)
                    .map(|(_, when)| when.clone())
                    .or_else(|| when_run.clone())
                    .unwrap_or_else(|| "an earlier run".to_owned());
                format!("{scenario}: {when}")
            })
            .collect();
        self.rows.extend(rows);
        self.rows.sort_by_key(|r| rank(&r.scenario));
        self.readings.sort_by_key(|(scenario, _)| rank(scenario));
        (!kept.is_empty()).then(|| format!("{KEPT}{}", kept.join("; ")))
    }
}

/// A row of a BENCHMARKS.md table as [`Report::table`] wrote it; `None` for any other line.
fn parse_row(line: &str) -> Option<Row> {
    let inner = line.strip_prefix("| ")?.strip_suffix(" |")?;
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                current.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    cells.push(current);
    let [scenario, what, params, result, target, verdict] = <[String; 6]>::try_from(cells).ok()?;
    let verdict = match verdict.trim() {
        "met" => Verdict::Met,
        "MISSED" => Verdict::Missed,
        "" => Verdict::Info,
        "not measured" => Verdict::NotMeasured,
        _ => return None,
    };
    let cell = |s: String| s.trim().to_owned();
    let scenario = cell(scenario);
    // The table's header and its rule are not rows.
    if scenario == "scenario" || scenario.starts_with('-') {
        return None;
    }
    Some(Row {
        scenario,
        what: cell(what),
        params: cell(params),
        result: cell(result),
        target: cell(target),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_one_line_per_row_and_escapes_pipes() {
        let mut r = Report::default();
        r.row("1", "BFF / d", "N=100", "2.1", "≤ 3", Verdict::Met);
        r.row("2", "a|b", "", "x", "", Verdict::Info);
        r.not_measured("4", "subscribers", "the subscription is not built");
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[2], "| 1 | BFF / d | N=100 | 2.1 | ≤ 3 | met |");
        assert!(lines[3].contains("a\\|b"));
        assert!(lines[4].contains("not measured yet: the subscription is not built"));
        assert!(lines[4].ends_with("| not measured |"));
    }

    #[test]
    fn a_partial_run_keeps_the_other_scenarios_rows_readings_and_dates() {
        // Runs: 1, then 2 (which also reports 6), then 3.
        let rank = |name: &str| {
            ["1", "2", "3"]
                .iter()
                .position(|r| *r == name)
                .or((name == "6").then_some(1))
        };
        let mut a = Report::default();
        a.row("1", "x|y", "N=1", "2.5 d", "≤ 3 d", Verdict::Met);
        a.row("2", "p99", "", "4 ms", "≤ 1 ms", Verdict::Missed);
        a.row("6", "memory", "", "22 MiB", "", Verdict::Info);
        a.row("2", "CPU", "", "0.2 ms", "", Verdict::Info);
        a.row("3", "open", "", "n/a", "", Verdict::Info);
        a.reading("1", "First, as run A saw it.");
        a.reading("1", "First, a second paragraph.");
        a.reading("2", "Second, as run A saw it.");
        let md_a = a.markdown("2 cores", "day A 05:14 UTC (scenarios: all)", &[]);

        // Run B measures 2 only and keeps 1 and 3 from A.
        let mut b = Report::default();
        b.row("2", "p99", "", "3 ms", "≤ 1 ms", Verdict::Missed);
        b.reading("2", "Second, as run B saw it.");
        let note_b = b.keep_from(&md_a, &["1", "3"], rank).expect("kept");
        assert_eq!(
            note_b,
            format!("{KEPT}1: day A 05:14 UTC; 3: day A 05:14 UTC")
        );
        assert_eq!(
            b.rows[0], a.rows[0],
            "a kept row reads back as written, pipe and all"
        );
        let scenarios: Vec<&str> = b.rows.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(scenarios, ["1", "2", "3"]);
        assert_eq!(b.rows[1].result, "3 ms");
        let readings: Vec<&str> = b.readings.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            readings,
            [
                "First, as run A saw it.",
                "First, a second paragraph.",
                "Second, as run B saw it."
            ]
        );
        let md_b = b.markdown("2 cores", "day B 01:44 UTC (scenarios: 2)", &[note_b]);
        assert!(md_b.contains("1 met, 1 missed, 0 not measured"), "{md_b}");

        // Run C measures 3 only: 1 still dates from A, 2 from B.
        let mut c = Report::default();
        c.row("3", "open", "", "2 ms", "", Verdict::Info);
        let note_c = c.keep_from(&md_b, &["1", "2"], rank).expect("kept");
        assert_eq!(
            note_c,
            format!("{KEPT}1: day A 05:14 UTC; 2: day B 01:44 UTC")
        );
        assert_eq!(c.rows.len(), 3);

        // Run D measures 1 only and keeps run A's 2 (with the 6 it reports), in A's order.
        let mut d = Report::default();
        d.row("1", "x|y", "N=1", "2.4 d", "≤ 3 d", Verdict::Met);
        d.keep_from(&md_a, &["2", "6", "3"], rank).expect("kept");
        let scenarios: Vec<&str> = d.rows.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(scenarios, ["1", "2", "6", "2", "3"]);
        assert_eq!(d.rows[1..], a.rows[1..]);

        // Nothing of a scenario the previous file never had.
        let mut e = Report::default();
        assert_eq!(e.keep_from("# nothing here\n", &["1"], rank), None);
        assert!(e.rows.is_empty() && e.readings.is_empty());
    }

    #[test]
    fn markdown_counts_verdicts_and_keeps_readings() {
        let mut r = Report::default();
        r.row("1", "x", "", "1", "≤ 2", Verdict::Met);
        r.row("1", "y", "", "3", "≤ 2", Verdict::Missed);
        r.reading("1", "One met, one missed.");
        let md = r.markdown("2 cores", "today", &["contended".into()]);
        assert!(md.contains("1 met, 1 missed, 0 not measured"));
        assert!(md.contains("| MISSED |"));
        assert!(md.contains("**1.** One met, one missed."));
        assert!(md.contains("- contended"));
    }
}
