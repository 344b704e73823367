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
