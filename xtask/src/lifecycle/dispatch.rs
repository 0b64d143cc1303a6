//! `--via-workflow` for the lifecycle verbs: validate here, dispatch the one lifecycle workflow
//! with the verb's inputs, report the run GitHub started, and with `--wait` follow it to its end.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use xshell::Shell;

use crate::exit;
use crate::gh::{self, Gh, Repo};
use crate::scaffold::pr::{check_access, parse_branch, resolve_repo};
use crate::tools;

use super::Common;

pub const WORKFLOW: &str = "primitive-lifecycle-gitops.yaml";

/// The verbs the workflow's `verb` choice offers, in this order (checked against the workflow by
/// a test).
pub const VERBS: [&str; 5] = ["enable", "disable", "promote", "retire", "upgrade"];

#[derive(clap::Args, Debug, Clone)]
pub struct DispatchFlags {
    /// Dispatch the lifecycle workflow on GitHub instead of writing files here.
    #[arg(long, conflicts_with_all = ["dry_run"])]
    pub via_workflow: bool,
    /// The git ref the workflow runs on.
    #[arg(long = "ref", default_value = "main", value_name = "REF", value_parser = parse_branch)]
    pub git_ref: String,
    /// With --via-workflow: follow the run to its end, print its pull request, exit by its result.
    #[arg(long, requires = "via_workflow")]
    pub wait: bool,
    /// Seconds between two looks at the run [default: $AMEIDE_WAIT_INTERVAL, else 5].
    #[arg(long, value_name = "SECONDS", requires = "wait", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub wait_interval: Option<u64>,
    /// Give up waiting after this many seconds [default: $AMEIDE_WAIT_TIMEOUT, else 1800].
    #[arg(long, value_name = "SECONDS", requires = "wait", value_parser = clap::value_parser!(u64).range(1..=21600))]
    pub wait_timeout: Option<u64>,
}

impl DispatchFlags {
    /// The flag, else the environment variable, else the default; a bad variable is refused.
    fn seconds(flag: Option<u64>, var: &str, default: u64, max: u64) -> Result<u64> {
        if let Some(seconds) = flag {
            return Ok(seconds);
        }
        match std::env::var(var) {
            Ok(text) => match text.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(exit::invalid(format!(
                    "${var} {text:?}: must be a whole number of seconds from 1 to {max}, e.g. {default}"
                ))),
            },
            Err(_) => Ok(default),
        }
    }

    pub fn interval(&self) -> Result<u64> {
        Self::seconds(self.wait_interval, "AMEIDE_WAIT_INTERVAL", 5, 300)
    }

    pub fn timeout(&self) -> Result<u64> {
        Self::seconds(self.wait_timeout, "AMEIDE_WAIT_TIMEOUT", 1800, 21600)
    }
}

/// Dispatches the workflow (asking GitHub for the run it starts) and, with --wait, follows it.
pub fn run(
    sh: &Shell,
    common: &Common,
    command: &str,
    subject: &str,
    branch: &str,
    inputs: Value,
) -> Result<Value> {
    let flags = &common.dispatch;
    let (interval, timeout) = (flags.interval()?, flags.timeout()?);
    let repo = resolve_repo(sh, common.pr.repo.as_ref(), &common.pr.remote)?;
    let gh = Gh::new(tools::gh(sh)?)?;
    check_access(sh, &gh, &repo)?;
    debug_assert!(
        VERBS.contains(&inputs["verb"].as_str().unwrap_or_default()),
        "the workflow offers every verb"
    );
    let body = json!({"ref": flags.git_ref, "inputs": inputs, "return_run_details": true});
    let path = format!(
        "repos/{}/actions/workflows/{WORKFLOW}/dispatches",
        repo.slug()
    );
    crate::interrupt::check("dispatching the workflow")?;
    let response = gh.api(sh, "POST", &path, Some(&body))?;
    // 200 carries the run GitHub started; 204 is the older answer without it.
    let run_id = match response.status {
        200 => response.body["workflow_run_id"].as_u64(),
        204 => None,
        _ => anyhow::bail!(
            "dispatching {WORKFLOW} on {} failed: {}",
            repo.slug(),
            gh::error_message(&response)
        ),
    };
    let watch = response.body["html_url"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "https://{}/{}/actions/workflows/{WORKFLOW}",
                gh::host(),
                repo.slug()
            )
        });
    let mut report = json!({
        "operation": "dispatched",
        "command": command,
        "component": subject,
        "repository": repo.slug(),
        "workflow": WORKFLOW,
        "ref": flags.git_ref,
        "inputs": body["inputs"],
        "run_id": run_id,
        "run_url": response.body["run_url"],
        "watch_url": watch,
        "branch": branch,
    });
    if !flags.wait {
        return Ok(report);
    }
    let Some(run_id) = run_id else {
        return Err(exit::refused(format!(
            "--wait: GitHub answered the dispatch without the run it started (204), so there is nothing to follow; watch {watch}"
        )));
    };
    let run = follow(sh, &gh, &repo, run_id, interval, timeout)?;
    let conclusion = run["conclusion"].as_str().unwrap_or("unknown").to_owned();
    let pr = crate::scaffold::pr::find_open_pull_url(sh, &gh, &repo, branch, &common.pr.base)?;
    let fields = report.as_object_mut().expect("an object");
    fields.insert("operation".into(), json!("completed"));
    fields.insert("conclusion".into(), json!(conclusion));
    fields.insert("pr_url".into(), json!(pr));
    if conclusion != "success" {
        report::print(&report, common.json);
        anyhow::bail!("the workflow run {run_id} concluded {conclusion}; see {watch}");
    }
    Ok(report)
}

/// Polls the run until it completes, at most `wait_timeout` seconds.
fn follow(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    run_id: u64,
    interval: u64,
    timeout: u64,
) -> Result<Value> {
    let started = Instant::now();
    let path = format!("repos/{}/actions/runs/{run_id}", repo.slug());
    loop {
        crate::interrupt::check("waiting for the workflow run")?;
        let response = gh
            .api(sh, "GET", &path, None)
            .with_context(|| format!("looking at run {run_id}"))?;
        if response.status != 200 {
            anyhow::bail!(
                "looking at run {run_id} failed: {}",
                gh::error_message(&response)
            );
        }
        if response.body["status"].as_str() == Some("completed") {
            return Ok(response.body);
        }
        if started.elapsed() >= Duration::from_secs(timeout) {
            anyhow::bail!(
                "run {run_id} did not complete within {timeout}s (--wait-timeout); it goes on, watch {}",
                response.body["html_url"].as_str().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_secs(interval));
    }
}

pub mod report {
    //! The text and JSON of a dispatch.
    use serde_json::Value;

    pub fn print(report: &Value, as_json: bool) {
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
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::primitive::Kind;

    fn repo() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    fn options(inputs: &serde_yaml::Value, input: &str) -> Vec<String> {
        inputs[input]["options"]
            .as_sequence()
            .unwrap_or_else(|| panic!("input {input} has no options"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The workflow's choices are the verbs, kinds and envs of the code and the cluster files.
    #[test]
    fn the_workflow_choices_are_the_verbs_kinds_and_envs() {
        let path = repo().join(".github/workflows").join(WORKFLOW);
        let text = std::fs::read_to_string(&path).unwrap();
        let wf: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let inputs = &wf["on"]["workflow_dispatch"]["inputs"];
        assert_eq!(options(inputs, "verb"), VERBS);
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(options(inputs, "kind"), kinds);
        let envs: Vec<String> = crate::clusters::appset_envs(repo())
            .unwrap()
            .into_iter()
            .map(|c| c.env)
            .collect();
        for input in ["env", "from", "to"] {
            assert_eq!(options(inputs, input), envs, "{input}");
        }
        // Every verb runs its own subcommand, and nothing else is accepted.
        let script = wf["jobs"]["lifecycle"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find_map(|s| s["run"].as_str().filter(|r| r.contains("cargo xtask")))
            .unwrap();
        for (verb, command) in VERBS.iter().zip([
            "enable-primitive",
            "disable-primitive",
            "promote-primitive",
            "retire-primitive",
            "upgrade-wiring",
        ]) {
            assert!(
                script.contains(&format!("{verb}) command={command};"))
                    || script.contains(&format!("{verb}) command={command} ;;")),
                "{verb}: {script}"
            );
        }
    }
}
