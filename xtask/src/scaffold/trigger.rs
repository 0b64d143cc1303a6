//! `--via-workflow`: a developer's machine validates locally, then dispatches the
//! scaffold-primitive-gitops workflow with exactly those inputs, and writes nothing.

use anyhow::Result;
use serde_json::{json, Value};
use xshell::Shell;

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

/// Dispatches the workflow; returns the JSON report.
pub fn run(
    sh: &Shell,
    flags: &TriggerFlags,
    repo_flag: Option<&Repo>,
    remote: &str,
    request: &Request,
) -> Result<Value> {
    let repo = resolve_repo(sh, repo_flag, remote)?;
    let gh = Gh::new(tools::gh(sh)?)?;
    let repo = check_access(sh, &gh, &repo)?;
    let body = json!({"ref": flags.git_ref, "inputs": inputs(request)});
    let path = format!(
        "repos/{}/actions/workflows/{WORKFLOW}/dispatches",
        repo.slug()
    );
    crate::interrupt::check("dispatching the workflow")?;
    let response = gh.api(sh, "POST", &path, Some(&body))?;
    if response.status != 204 {
        anyhow::bail!(
            "dispatching {WORKFLOW} on {} failed: {}",
            repo.slug(),
            gh::error_message(&response)
        );
    }
    let watch = format!(
        "https://{}/{}/actions/workflows/{WORKFLOW}",
        gh::host(),
        repo.slug()
    );
    Ok(json!({
        "operation": "dispatched",
        "component": request.primitive.id(),
        "repository": repo.slug(),
        "workflow": WORKFLOW,
        "ref": flags.git_ref,
        "inputs": body["inputs"],
        "watch_url": watch,
    }))
}
