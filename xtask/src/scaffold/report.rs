//! What a scaffold run prints: text (with diffs for --dry-run), one JSON object, and the GitHub
//! job summary.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::Outcome;

pub fn to_json(outcome: &Outcome) -> serde_json::Value {
    let mut report = json!({
        "operation": outcome.operation,
        "component": outcome.component,
        "dry_run": outcome.dry_run,
        "files": outcome.files.iter().map(|f| json!({"path": f.file.path, "action": f.action.as_str()})).collect::<Vec<_>>(),
        "owned_values": outcome.owned.iter().map(|v| json!({"path": v.path, "key": v.key, "before": v.before, "after": v.after, "change": v.change()})).collect::<Vec<_>>(),
        "guardrails": outcome.guardrails.iter().map(|g| json!({"name": g.name, "status": g.status.as_str(), "detail": g.detail})).collect::<Vec<_>>(),
        "applications": outcome.applications,
        "errors": outcome.errors,
    });
    if let Some(pr) = &outcome.pr {
        let fields = report.as_object_mut().expect("an object");
        fields.insert("branch".into(), json!(pr.branch));
        fields.insert("commit".into(), json!(pr.commit));
        fields.insert("pr_url".into(), json!(pr.pr_url));
        fields.insert("pr_number".into(), json!(pr.pr_number));
        fields.insert("pr_operation".into(), json!(pr.pr_operation));
    }
    report
}

/// The report of `--via-workflow` (and of `--wait`).
pub fn print_dispatched(report: &serde_json::Value, as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("JSON of plain values")
        );
        return;
    }
    let s = |k: &str| report[k].as_str().unwrap_or_default().to_owned();
    println!(
        "dispatched {} on {} (ref {}) for {} {}; nothing was written here.",
        s("workflow"),
        s("repository"),
        s("ref"),
        s("command"),
        s("component")
    );
    println!("inputs: {}", report["inputs"]);
    match report["run_id"].as_u64() {
        Some(id) => println!("run {id}: {}", s("watch_url")),
        None => println!("watch the run: {}", s("watch_url")),
    }
    if let Some(conclusion) = report["conclusion"].as_str() {
        println!("run concluded: {conclusion}");
        match report["pr_url"].as_str() {
            Some(url) => println!("pull request: {url}"),
            None => println!("pull request: none open for {}", s("branch")),
        }
    }
}

/// How a write-path command ends: the outcome printed (text or JSON) and in the job summary, or,
/// when it failed before having one, the failure as one JSON object on stdout for a caller that
/// parses it (stderr says it too); guardrails that failed end as the guardrail exit.
/// `Ok(None)` is a run that printed its own answer (a dispatched workflow).
pub fn finish(
    result: Result<Option<Outcome>>,
    command: &'static str,
    component: &str,
    json: bool,
    dry_run: bool,
    took: Duration,
) -> Result<()> {
    let outcome = match result {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return Ok(()),
        Err(err) => {
            if json {
                let code = crate::exit::code_of(&err);
                print_json(&Outcome::failed(command, component, code, &err, dry_run));
            }
            return Err(err);
        }
    };
    step_summary(&outcome)?;
    match json {
        true => print_json(&outcome),
        false => print_text(&outcome, took),
    }
    if outcome.operation == "failed" {
        return Err(crate::exit::guardrail(format!(
            "guardrails failed for {}; nothing was written (fix the chart or values, then re-run)",
            outcome.component
        )));
    }
    Ok(())
}

pub fn print_json(outcome: &Outcome) {
    println!(
        "{}",
        serde_json::to_string_pretty(&to_json(outcome)).expect("JSON of plain values")
    );
}

pub fn print_text(outcome: &Outcome, took: Duration) {
    let mut out = String::new();
    let verb = if outcome.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    out.push_str(&format!(
        "{} {}: {}{verb}\n",
        outcome.command, outcome.component, outcome.operation
    ));
    if outcome.dry_run {
        for f in &outcome.files {
            out.push_str(&file_diff(f));
        }
    }
    out.push_str("files:\n");
    for f in &outcome.files {
        out.push_str(&format!("  {:<9} {}\n", f.action.as_str(), f.file.path));
    }
    out.push_str(&owned_text(&outcome.owned));
    out.push_str("guardrails:\n");
    for g in &outcome.guardrails {
        out.push_str(&format!(
            "  {:<6} {}: {}\n",
            g.status.as_str(),
            g.name,
            g.detail
        ));
    }
    out.push_str(&format!("{}:\n", outcome.applications_title));
    for app in &outcome.applications {
        out.push_str(&format!("  {app}\n"));
    }
    if let Some(pr) = &outcome.pr {
        out.push_str(&format!(
            "branch {}: {}\n",
            pr.branch,
            pr.commit
                .as_deref()
                .unwrap_or("(no commit: nothing to propose)")
        ));
        if let Some(url) = &pr.pr_url {
            out.push_str(&format!("pull request {}: {url}\n", pr.pr_operation));
        }
    }
    print!("{out}");
    eprintln!(
        "took {:.3}s; its {} helm renders took {:.3}s wall ({:.3}s of helm time, in parallel)",
        took.as_secs_f64(),
        outcome.renders,
        outcome.render_wall.as_secs_f64(),
        outcome.helm_time.as_secs_f64()
    );
}

/// The owned values a run sets, removes or keeps, one a line (docs/lifecycle.md).
pub fn owned_text(owned: &[super::owned::OwnedValue]) -> String {
    let mut out = String::from("owned values (enabled, image.ref, overlay keys):\n");
    if owned.is_empty() {
        out.push_str("  none\n");
    }
    for v in owned {
        let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "(absent)".to_owned());
        let value = if v.changes() {
            format!("{} -> {}", show(&v.before), show(&v.after))
        } else {
            show(&v.after)
        };
        out.push_str(&format!(
            "  {:<7} {} {}: {value}\n",
            v.change(),
            v.path,
            v.key
        ));
    }
    out
}

/// The diff of one planned file; a deleted file diffs to nothing.
pub fn file_diff(f: &super::Planned) -> String {
    if f.action == super::Action::Deleted {
        return diff(f.current.as_deref(), "", &f.file.path);
    }
    diff(f.current.as_deref(), &f.file.content, &f.file.path)
}

/// A unified diff from what is in the tree to what would be written; new files are whole additions.
pub fn diff(current: Option<&str>, new: &str, path: &str) -> String {
    let old = current.unwrap_or("");
    if old == new {
        return String::new();
    }
    let from = if current.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_owned()
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &format!("b/{path}"))
        .to_string()
}

/// Appends a markdown summary to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn step_summary(outcome: &Outcome) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let mut md = format!(
        "### {} `{}`: {}\n\n",
        outcome.command, outcome.component, outcome.operation
    );
    md.push_str("| file | action |\n|---|---|\n");
    for f in &outcome.files {
        md.push_str(&format!("| `{}` | {} |\n", f.file.path, f.action.as_str()));
    }
    md.push_str(&format!("\n```\n{}```\n", owned_text(&outcome.owned)));
    md.push_str("\n| guardrail | status | detail |\n|---|---|---|\n");
    for g in &outcome.guardrails {
        let icon = if g.status.as_str() == "passed" {
            "✅"
        } else {
            "❌"
        };
        md.push_str(&format!(
            "| {} | {icon} {} | {} |\n",
            g.name,
            g.status.as_str(),
            g.detail.replace('|', "\\|").replace('\n', " ")
        ));
    }
    md.push_str(&format!("\n{}: ", outcome.applications_title));
    md.push_str(
        &outcome
            .applications
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    md.push('\n');
    if let Some(pr) = &outcome.pr {
        md.push_str(&pr_line(pr));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .context("opening $GITHUB_STEP_SUMMARY")?;
    file.write_all(md.as_bytes())
        .context("writing $GITHUB_STEP_SUMMARY")
}

/// The summary's line about the pull request: a link when there is one.
fn pr_line(pr: &super::pr::PrOutcome) -> String {
    match (&pr.pr_url, pr.pr_number) {
        (Some(url), Some(number)) if !url.is_empty() => format!(
            "\nPull request: [#{number}]({url}) ({}), branch `{}`\n",
            pr.pr_operation, pr.branch
        ),
        _ => format!(
            "\nPull request: none ({}): the base already holds this content\n",
            pr.pr_operation
        ),
    }
}
