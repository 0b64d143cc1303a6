//! What `verify` tells GitHub Actions besides its log: error annotations, at most as many as GitHub
//! shows per step, and a job summary (`$GITHUB_STEP_SUMMARY`) with the counts, every problem grouped
//! by rule and file, the rendered Applications and the timings, so a large failure stays visible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use super::problem::Problem;
use super::{count, escape_data, escape_property, Report};

/// GitHub shows at most this many error annotations of one step; more are dropped silently.
pub const MAX_ANNOTATIONS: usize = 10;
/// The summary lists at most this many Applications by name (GitHub caps a summary at 1 MiB).
const MAX_LISTED: usize = 1000;

/// Where the time of a run went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub discovery: Duration,
    pub rules: Duration,
    pub renders: Duration,
    pub total: Duration,
}

/// One `::error` annotation per problem up to the cap; past it, a warning that says so, and the
/// remaining problems as plain lines, so that the log holds every one of them.
pub fn annotations(level: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems.iter().take(MAX_ANNOTATIONS) {
        let _ = writeln!(
            out,
            "::{level} file={},line={},title={}::{}",
            escape_property(&p.path),
            p.line.max(1),
            escape_property(p.rule),
            escape_data(&p.message)
        );
    }
    if problems.len() > MAX_ANNOTATIONS {
        let _ = writeln!(
            out,
            "::warning title=annotations capped::{} found; the first {MAX_ANNOTATIONS} are annotated (GitHub shows at most {MAX_ANNOTATIONS} {level} annotations per step); all of them are below and in the job summary",
            count(problems.len(), "problem")
        );
        for p in &problems[MAX_ANNOTATIONS..] {
            let _ = writeln!(out, "{p}");
        }
    }
    out
}

/// Appends the job summary to `$GITHUB_STEP_SUMMARY` when it is set. A summary that cannot be
/// written is a warning, never a failure of the gate.
pub fn write(report: &Report, timings: &Timings) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(markdown(report, timings).as_bytes()));
    if let Err(err) = written {
        eprintln!(
            "warning: writing the job summary to {}: {err}",
            std::path::Path::new(&path).display()
        );
    }
}

fn markdown(report: &Report, timings: &Timings) -> String {
    let mut md = String::new();
    let problems = report.problems.len();
    let verdict = match problems {
        0 => "✅ clean".to_owned(),
        n => format!("❌ {}", count(n, "problem")),
    };
    let _ = writeln!(md, "### verify: {verdict}\n");
    md.push_str("| | |\n|---|---|\n");
    let _ = writeln!(md, "| ApplicationSets | {} |", report.appsets);
    let _ = writeln!(
        md,
        "| Applications rendered | {} |",
        report.applications.count()
    );
    let _ = writeln!(md, "| problems | {problems} |");
    if problems > MAX_ANNOTATIONS {
        let _ = writeln!(
            md,
            "| annotations | the first {MAX_ANNOTATIONS} (GitHub's limit per step); all are listed below |"
        );
    }
    if let Some(selection) = &report.changed {
        let _ = writeln!(
            md,
            "| `--changed` | {} of {} selected, since `{}` |",
            selection.selected.len(),
            selection.out_of,
            cell(&selection.changes.base)
        );
    }
    if let Some((shard, out_of)) = &report.shard {
        let _ = writeln!(md, "| `--shard` | {shard} of {out_of} Applications |");
    }

    if problems > 0 {
        md.push_str("\n#### Problems\n");
        let mut by_rule: BTreeMap<&str, BTreeMap<&str, Vec<&Problem>>> = BTreeMap::new();
        for p in &report.problems {
            by_rule
                .entry(p.rule)
                .or_default()
                .entry(p.path.as_str())
                .or_default()
                .push(p);
        }
        for (rule, files) in &by_rule {
            let n: usize = files.values().map(Vec::len).sum();
            let _ = writeln!(md, "\n**`{rule}`** ({n})\n");
            for (path, found) in files {
                let _ = writeln!(md, "- `{}`", cell(path));
                for p in found {
                    let _ = writeln!(md, "  - line {}: {}", p.line, cell(&p.message));
                }
            }
        }
    }

    let listed = report.applications.count().min(MAX_LISTED);
    let _ = writeln!(
        md,
        "\n<details><summary>Rendered Applications ({})</summary>\n",
        report.applications.count()
    );
    for name in report.applications.iter().take(listed) {
        let _ = writeln!(md, "- `{name}`");
    }
    if report.applications.count() > listed {
        let _ = writeln!(
            md,
            "- ... and {} more (`cargo xtask apps` lists them all)",
            report.applications.count() - listed
        );
    }
    md.push_str("\n</details>\n\n");

    md.push_str("| phase | seconds |\n|---|---|\n");
    for (phase, took) in [
        ("discovery", timings.discovery),
        ("rules", timings.rules),
        ("renders", timings.renders),
        ("total", timings.total),
    ] {
        let _ = writeln!(md, "| {phase} | {:.2} |", took.as_secs_f64());
    }
    md.push('\n');
    md
}

/// Text inside a markdown table cell or list item: one line, no column breaks.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::names::NameList;

    fn problem(path: &str, line: usize, rule: &'static str) -> Problem {
        Problem {
            path: path.to_owned(),
            line,
            rule,
            message: format!("message of {rule} at {path}:{line}"),
        }
    }

    fn report(problems: Vec<Problem>) -> Report {
        Report {
            applications: ["dev-a", "prod-a"].into_iter().collect::<NameList>(),
            appsets: 1,
            rendered: 2,
            problems,
            warnings: Vec::new(),
            changed: None,
            shard: None,
            stats: None,
        }
    }

    #[test]
    fn annotations_stop_at_githubs_limit_and_say_so_and_the_log_keeps_the_rest() {
        let problems: Vec<Problem> = (1..=12)
            .map(|i| problem(&format!("f{i:02}.yaml"), i, "orphan-values"))
            .collect();
        let out = annotations("error", &problems);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        let warning = out
            .lines()
            .find(|l| l.starts_with("::warning "))
            .expect("a warning about the cap");
        assert!(warning.contains("12 problems"), "{warning}");
        assert!(warning.contains("at most 10"), "{warning}");
        for rest in &problems[10..] {
            assert!(out.contains(&rest.to_string()), "{out}");
        }

        let few = annotations("error", &problems[..3]);
        assert_eq!(few.lines().count(), 3);
        assert!(!few.contains("::warning"));
    }

    #[test]
    fn the_summary_groups_problems_by_rule_then_file() {
        let report = report(vec![
            problem("b.yaml", 3, "drift"),
            problem("a.yaml", 1, "orphan-values"),
            problem("b.yaml", 7, "drift"),
            problem("c.yaml", 2, "drift"),
        ]);
        let md = markdown(&report, &Timings::default());
        assert!(md.contains("### verify: ❌ 4 problems"), "{md}");
        assert!(md.contains("| Applications rendered | 2 |"), "{md}");
        let drift = md.find("**`drift`** (3)").expect("drift heading");
        let orphan = md.find("**`orphan-values`** (1)").expect("orphan heading");
        assert!(drift < orphan, "{md}");
        let b = md.find("- `b.yaml`").unwrap();
        assert!(md[b..].starts_with(
            "- `b.yaml`\n  - line 3: message of drift at b.yaml:3\n  - line 7: message of drift at b.yaml:7\n- `c.yaml`"
        ), "{md}");
        assert!(md.contains("- `dev-a`\n- `prod-a`"), "{md}");
        assert!(md.contains("| total | 0.00 |"), "{md}");
    }
}
