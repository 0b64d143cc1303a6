//! `--via-workflow`: a developer's machine validates locally, then dispatches the
//! scaffold-primitive-gitops workflow with exactly those inputs, and writes nothing; `--wait`
//! follows the run it started. The follow-through is shared with the lifecycle verbs.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use xshell::Shell;

use crate::exit;
use crate::gh::{self, Gh, Repo};
use crate::tools;

use super::pr::{check_access, resolve_repo};
use super::Request;

pub const WORKFLOW: &str = "scaffold-primitive-gitops.yaml";

#[derive(clap::Args, Debug, Clone)]
pub struct TriggerFlags {
    /// Dispatch the scaffold workflow on GitHub instead of writing files here.
    #[arg(long, conflicts_with_all = ["dry_run", "enable", "image_ref"])]
    pub via_workflow: bool,
    /// The git ref the workflow runs on.
    #[arg(long = "ref", default_value = "main", value_name = "REF", value_parser = super::pr::parse_branch)]
    pub git_ref: String,
    #[command(flatten)]
    pub wait: WaitFlags,
}

/// The workflow_dispatch inputs for a validated request (all strings, as the API takes them).
pub fn inputs(request: &Request) -> Value {
    let p = &request.primitive;
    json!({
        "kind": p.kind.as_str(),
        "name": p.name.as_str(),
        "version": p.version.as_str(),
        "with_smoke": request.with_smoke.to_string(),
        "env": request.env.as_deref().unwrap_or(super::NO_ENV),
        "force": request.force.to_string(),
    })
}

/// Dispatches the scaffold workflow (and with --wait follows its run); returns the JSON report.
pub fn run(
    sh: &Shell,
    flags: &TriggerFlags,
    pr: &super::pr::PrFlags,
    request: &Request,
) -> Result<Value> {
    let dispatch = Dispatch {
        workflow: WORKFLOW,
        git_ref: &flags.git_ref,
        inputs: inputs(request),
        command: "scaffold-primitive",
        subject: request.primitive.id(),
        branch: super::pr::branch_name(request),
    };
    follow_through(sh, pr, &flags.wait, &dispatch)
}

/// `--wait` and its bounds, shared by every `--via-workflow`.
#[derive(clap::Args, Debug, Clone)]
pub struct WaitFlags {
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

impl WaitFlags {
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

    fn interval(&self) -> Result<u64> {
        Self::seconds(self.wait_interval, "AMEIDE_WAIT_INTERVAL", 5, 300)
    }

    fn timeout(&self) -> Result<u64> {
        Self::seconds(self.wait_timeout, "AMEIDE_WAIT_TIMEOUT", 1800, 21600)
    }
}

/// One workflow dispatch: which workflow, on which ref, with which inputs, and the branch whose
/// pull request the run opens.
pub struct Dispatch<'a> {
    pub workflow: &'a str,
    pub git_ref: &'a str,
    pub inputs: Value,
    pub command: &'a str,
    pub subject: String,
    pub branch: String,
}

/// Dispatches asking GitHub for the run it starts (a 200 with `workflow_run_id`, `run_url` and
/// `html_url`; the older 204 without them is accepted too), then with `--wait` follows the run to
/// its conclusion and looks up the pull request of the branch. A run that does not succeed is an
/// error (exit 1), after its report is printed.
pub fn follow_through(
    sh: &Shell,
    pr: &super::pr::PrFlags,
    wait: &WaitFlags,
    dispatch: &Dispatch,
) -> Result<Value> {
    let (interval, timeout) = (wait.interval()?, wait.timeout()?);
    let repo = resolve_repo(sh, pr.repo.as_ref(), &pr.remote)?;
    let gh = Gh::new(tools::gh(sh)?)?;
    check_access(sh, &gh, &repo)?;
    let workflow = dispatch.workflow;
    let body =
        json!({"ref": dispatch.git_ref, "inputs": dispatch.inputs, "return_run_details": true});
    let path = format!(
        "repos/{}/actions/workflows/{workflow}/dispatches",
        repo.slug()
    );
    crate::interrupt::check("dispatching the workflow")?;
    let response = gh.api(sh, "POST", &path, Some(&body))?;
    let run_id = match response.status {
        200 => response.body["workflow_run_id"].as_u64(),
        204 => None,
        _ => anyhow::bail!(
            "dispatching {workflow} on {} failed: {}",
            repo.slug(),
            gh::error_message(&response)
        ),
    };
    let watch = response.body["html_url"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "https://{}/{}/actions/workflows/{workflow}",
                gh::host(),
                repo.slug()
            )
        });
    let mut report = json!({
        "operation": "dispatched",
        "command": dispatch.command,
        "component": dispatch.subject,
        "repository": repo.slug(),
        "workflow": workflow,
        "ref": dispatch.git_ref,
        "inputs": body["inputs"],
        "run_id": run_id,
        "run_url": response.body["run_url"],
        "watch_url": watch,
        "branch": dispatch.branch,
    });
    if !wait.wait {
        return Ok(report);
    }
    let Some(run_id) = run_id else {
        return Err(exit::refused(format!(
            "--wait: GitHub answered the dispatch without the run it started (204), so there is nothing to follow; watch {watch}"
        )));
    };
    let run = follow(sh, &gh, &repo, run_id, interval, timeout)?;
    let conclusion = run["conclusion"].as_str().unwrap_or("unknown").to_owned();
    let pr_url = super::pr::find_open_pull_url(sh, &gh, &repo, &dispatch.branch, &pr.base)?;
    let fields = report.as_object_mut().expect("an object");
    fields.insert("operation".into(), json!("completed"));
    fields.insert("conclusion".into(), json!(conclusion));
    fields.insert("pr_url".into(), json!(pr_url));
    if conclusion != "success" {
        super::report::print_dispatched(&report, false);
        anyhow::bail!("the workflow run {run_id} concluded {conclusion}; see {watch}");
    }
    Ok(report)
}

/// Polls the run until it completes, at most `timeout` seconds.
fn follow(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    run_id: u64,
    interval: u64,
    timeout: u64,
) -> Result<Value> {
    let started = std::time::Instant::now();
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
        if started.elapsed() >= std::time::Duration::from_secs(timeout) {
            anyhow::bail!(
                "run {run_id} did not complete within {timeout}s (--wait-timeout); it goes on, watch {}",
                response.body["html_url"].as_str().unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_secs(interval));
    }
}
