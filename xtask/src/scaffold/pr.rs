//! `--open-pr`: land the wiring as a pull request (SPEC section 8), never touching the caller's
//! checkout: fetch the base, scaffold in a temporary worktree, commit as the scaffolder, push
//! `scaffold/<id>` with a lease, then create or update the one pull request for that branch.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use xshell::Shell;

use crate::clusters::Cluster;
use crate::exit;
use crate::gh::{self, Gh, Repo};
use crate::git;
use crate::tools;

use super::{templates, Outcome, Request};

/// The trailer that marks scaffolder commits: a branch holding only such commits may be rebuilt.
pub const TRAILER: &str = "Scaffolded-by: cargo xtask scaffold-primitive";

#[derive(clap::Args, Debug, Clone)]
pub struct PrFlags {
    /// Commit to scaffold/<id>, push it and open or update its pull request (through gh).
    #[arg(long, conflicts_with_all = ["dry_run", "via_workflow"])]
    pub open_pr: bool,
    /// The branch the pull request targets.
    #[arg(long, default_value = "main", value_parser = parse_branch)]
    pub base: String,
    /// The git remote to fetch from and push to.
    #[arg(long, default_value = "origin", value_parser = parse_remote)]
    pub remote: String,
    /// OWNER/NAME of the GitHub repository (else $GITHUB_REPOSITORY, else the remote URL).
    #[arg(long, value_parser = Repo::parse)]
    pub repo: Option<Repo>,
}

/// What the pull request part of a run did, for the reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrOutcome {
    pub branch: String,
    pub commit: Option<String>,
    pub pr_url: Option<String>,
    pub pr_number: Option<u64>,
    pub pr_operation: &'static str,
}

pub fn parse_branch(input: &str) -> Result<String, String> {
    let ok = !input.is_empty()
        && input.len() <= 100
        && !input.starts_with(['-', '/', '.'])
        && !input.ends_with(['/', '.'])
        && !input.contains("..")
        && !input.contains("//")
        && !input.ends_with(".lock")
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if ok {
        Ok(input.to_owned())
    } else {
        Err(format!("branch {input:?}: must be a plain branch name (letters, digits, '-', '_', '.', '/'), e.g. main"))
    }
}

fn parse_remote(input: &str) -> Result<String, String> {
    let ok = !input.is_empty()
        && !input.starts_with('-')
        && input.len() <= 100
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(input.to_owned())
    } else {
        Err(format!(
            "remote {input:?}: must be the name of a git remote, e.g. origin"
        ))
    }
}

/// OWNER/NAME from --repo, else $GITHUB_REPOSITORY, else the remote's URL.
pub fn resolve_repo(sh: &Shell, flag: Option<&Repo>, remote: &str) -> Result<Repo> {
    if let Some(repo) = flag {
        return Ok(repo.clone());
    }
    if let Ok(env) = std::env::var("GITHUB_REPOSITORY") {
        if !env.is_empty() {
            return Repo::parse(&env)
                .map_err(|e| exit::invalid(format!("$GITHUB_REPOSITORY: {e}")));
        }
    }
    let url = git::remote_url(sh, remote)
        .with_context(|| format!("reading the URL of remote {remote}"))?;
    Repo::from_remote_url(&url).ok_or_else(|| {
        exit::invalid(format!(
            "cannot tell the GitHub repository from remote {remote} ({url}); pass --repo OWNER/NAME"
        ))
    })
}

/// Checks that gh runs, is authenticated and sees the repository, before anything is pushed.
pub fn check_access(sh: &Shell, gh: &Gh, repo: &Repo) -> Result<()> {
    let response = gh.api(sh, "GET", &format!("repos/{}", repo.slug()), None)?;
    match response.status {
        200 => Ok(()),
        401 => anyhow::bail!("gh is not authenticated for {}: run `gh auth login` or set GH_TOKEN", gh::host()),
        404 => anyhow::bail!(
            "repository {} not found on {} (or the token cannot see it); check --repo and the token's access",
            repo.slug(),
            gh::host()
        ),
        _ => anyhow::bail!("checking access to {}: {}", repo.slug(), gh::error_message(&response)),
    }
}

pub fn branch_name(request: &Request) -> String {
    format!("scaffold/{}", request.primitive.id())
}

/// What a proposal commits and says: the same for scaffold-primitive and every lifecycle verb.
pub struct Proposal {
    /// The deterministic branch (one per verb and target).
    pub branch: String,
    /// The pull request title and commit subject.
    pub title: String,
    /// The command line that reproduces the change, for the commit message and the body.
    pub command_line: String,
    /// The opening paragraph of the pull request body.
    pub intro: String,
    /// The closing paragraph of the pull request body.
    pub footer: String,
    /// Rebuild the branch even when it holds commits that are not the scaffolder's.
    pub force: bool,
}

/// The whole `--open-pr` run of scaffold-primitive.
pub fn run(
    sh: &Shell,
    flags: &PrFlags,
    request: &Request,
    envs: &[Cluster],
) -> Result<(Outcome, Option<PrOutcome>)> {
    let inputs = templates::Inputs {
        primitive: &request.primitive,
        with_smoke: request.with_smoke,
        env: request.env.as_deref(),
        enable: request.enable.as_ref(),
    };
    let command_line = format!(
        "cargo xtask scaffold-primitive {}{}",
        inputs.to_flags(),
        if request.force { " --force" } else { "" }
    );
    let proposal = Proposal {
        branch: branch_name(request),
        title: format!("scaffold(primitives): {}", request.primitive.id()),
        intro: format!(
            "Wiring for primitive `{}`, generated by `{command_line}` against `{}`.",
            request.primitive.id(),
            flags.base
        ),
        command_line,
        footer: "Everything is inert (`enabled: false`) unless an env overlay enables it with a digest-pinned image; \
                 see docs/scaffold.md. Re-running the workflow with the same inputs updates this pull request."
            .to_owned(),
        force: request.force,
    };
    propose(sh, flags, &proposal, |wt_sh, root, helm| {
        super::scaffold(wt_sh, root, helm, request, envs, false)
    })
}

/// Fetches the base, lets `produce` write the change in a temporary worktree of it, commits as
/// the scaffolder, pushes the proposal's branch with a lease, then creates or updates its one
/// pull request. Returns the outcome of `produce` and what happened to the branch and the PR.
pub fn propose(
    sh: &Shell,
    flags: &PrFlags,
    proposal: &Proposal,
    produce: impl FnOnce(&Shell, &Path, &Path) -> Result<Outcome>,
) -> Result<(Outcome, Option<PrOutcome>)> {
    repo_root_is_git(sh, &sh.current_dir())?;
    let repo = resolve_repo(sh, flags.repo.as_ref(), &flags.remote)?;
    let gh = Gh::new(tools::gh(sh)?)?;
    check_access(sh, &gh, &repo)?;
    let helm = tools::helm(sh)?;

    let branch = proposal.branch.clone();
    let base = git::fetch_branch(sh, &flags.remote, &flags.base)?;
    let existing = git::remote_branch(sh, &flags.remote, &branch)?;
    if existing.is_some() {
        git::fetch_branch(sh, &flags.remote, &branch)?;
    }
    if let Some(tip) = &existing {
        refuse_foreign_commits(sh, &base, tip, &branch, proposal.force)?;
    }

    let temp = sh
        .create_temp_dir()
        .context("creating a temporary directory")?;
    let worktree = git::Worktree::add(sh, &temp.path().join("worktree"), &base)?;
    let wt_sh = Shell::new()?;
    wt_sh.change_dir(worktree.path());
    // What the base branch already holds is refused by the change itself (exit 3).
    let outcome =
        produce(&wt_sh, worktree.path(), &helm).map_err(|err| on_base(err, &flags.base))?;
    if outcome.operation == "failed" {
        return Ok((outcome, None));
    }
    let changed: Vec<String> = outcome
        .files
        .iter()
        .filter(|f| f.action != super::Action::Unchanged)
        .map(|f| f.file.path.clone())
        .collect();
    if changed.is_empty() {
        // The base already holds exactly this content: nothing to propose.
        let pr = PrOutcome {
            branch,
            commit: None,
            pr_url: None,
            pr_number: None,
            pr_operation: "unchanged",
        };
        return Ok((outcome, Some(pr)));
    }

    crate::interrupt::check("committing")?;
    let commit = git::commit(&wt_sh, &changed, &commit_message(proposal, &outcome))?;
    let same_content = match &existing {
        Some(tip) => {
            git::tree_of(sh, tip)? == git::tree_of(&wt_sh, &commit)?
                && git::commits_between(sh, &base, tip)?.len() == 1
        }
        None => false,
    };
    let pushed = if same_content {
        existing.clone().expect("a branch to compare with")
    } else {
        crate::interrupt::check("pushing")?;
        git::push_with_lease(sh, &flags.remote, &commit, &branch, existing.as_deref())?;
        commit
    };
    drop(worktree);

    let body = pr_body(proposal, &outcome);
    // Once the branch is pushed, finishing the pull request is the consistent state.
    let (pr_operation, number, url) =
        upsert_pull(sh, &gh, &repo, &branch, &flags.base, &proposal.title, &body)?;
    let branch_operation = match (&existing, same_content) {
        (None, _) => "created",
        (Some(_), true) => "unchanged",
        (Some(_), false) => "updated",
    };
    let outcome = Outcome {
        operation: branch_operation,
        ..outcome
    };
    let pr = PrOutcome {
        branch,
        commit: Some(pushed),
        pr_url: Some(url),
        pr_number: Some(number),
        pr_operation,
    };
    Ok((outcome, Some(pr)))
}

fn on_base(err: anyhow::Error, base: &str) -> anyhow::Error {
    if exit::code_of(&err) == exit::Code::Refused as i32 {
        exit::refused(format!("on {base}: {err:#}"))
    } else {
        err
    }
}

/// A branch may be rebuilt only when every commit on it since the base is a scaffolder commit.
fn refuse_foreign_commits(
    sh: &Shell,
    base: &str,
    tip: &str,
    branch: &str,
    force: bool,
) -> Result<()> {
    let mut foreign = Vec::new();
    for commit in git::commits_between(sh, base, tip)? {
        if !git::message(sh, &commit)?
            .lines()
            .any(|l| l.trim() == TRAILER)
        {
            foreign.push(format!(
                "{} by {}",
                &commit[..12.min(commit.len())],
                git::author(sh, &commit)?
            ));
        }
    }
    if foreign.is_empty() || force {
        return Ok(());
    }
    Err(exit::refused(format!(
        "{branch} holds commits that are not the scaffolder's; they were kept and nothing was pushed. \
         Merge or move them, or re-run with --force to rebuild the branch from the base:\n  {}",
        foreign.join("\n  ")
    )))
}

fn commit_message(proposal: &Proposal, outcome: &Outcome) -> String {
    let files: String = outcome
        .files
        .iter()
        .map(|f| format!("- {} ({})\n", f.file.path, f.action.as_str()))
        .collect();
    format!(
        "{}\n\nGenerated with `{}`.\n\n{files}\n{TRAILER}\n",
        proposal.title, proposal.command_line
    )
}

fn pr_body(proposal: &Proposal, outcome: &Outcome) -> String {
    let mut body = format!("{}\n\n", proposal.intro);
    body.push_str("### Files\n\n");
    for f in &outcome.files {
        body.push_str(&format!("- `{}` ({})\n", f.file.path, f.action.as_str()));
    }
    body.push_str(&owned_section(&outcome.owned));
    body.push_str("\n### Guardrails\n\n");
    for g in &outcome.guardrails {
        body.push_str(&format!(
            "- {}: **{}**: {}\n",
            g.name,
            g.status.as_str(),
            g.detail
        ));
    }
    body.push_str(&format!("\n### {}\n\n", outcome.applications_title));
    for app in &outcome.applications {
        body.push_str(&format!("- `{app}`\n"));
    }
    body.push_str(&format!("\n{}\n", proposal.footer));
    body
}

/// The owned values a change sets or removes, and how many it keeps (docs/lifecycle.md).
pub fn owned_section(owned: &[super::owned::OwnedValue]) -> String {
    let mut out = String::from("\n### Owned values (enabled, image.ref, overlay keys)\n\n");
    let changed: Vec<_> = owned.iter().filter(|v| v.changes()).collect();
    if changed.is_empty() {
        out.push_str("None change.");
    }
    for v in &changed {
        let show = |x: &Option<String>| {
            x.as_deref()
                .map_or("(absent)".to_owned(), |s| format!("`{s}`"))
        };
        out.push_str(&format!(
            "- `{}` {}: {} -> {}\n",
            v.path,
            v.key,
            show(&v.before),
            show(&v.after)
        ));
    }
    let kept = owned.len() - changed.len();
    if kept > 0 {
        out.push_str(&format!("\n{kept} kept as they are.\n"));
    } else if changed.is_empty() {
        out.push('\n');
    }
    out
}

/// Creates the pull request for `branch`, or updates the open one; returns (operation, number, url).
fn upsert_pull(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    branch: &str,
    base: &str,
    title: &str,
    body: &str,
) -> Result<(&'static str, u64, String)> {
    if let Some(open) = find_open_pull(sh, gh, repo, branch, base)? {
        return update_pull(sh, gh, repo, &open, title, body);
    }
    let created = gh.api(
        sh,
        "POST",
        &format!("repos/{}/pulls", repo.slug()),
        Some(&json!({"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": true})),
    )?;
    match created.status {
        201 => Ok(("created", number_of(&created.body)?, url_of(&created.body))),
        // Someone (a concurrent run) opened it between our look-up and our create.
        422 if gh::error_message(&created).contains("already exists") => {
            let open = find_open_pull(sh, gh, repo, branch, base)?
                .ok_or_else(|| anyhow::anyhow!("GitHub says a pull request for {branch} exists, but none is open"))?;
            update_pull(sh, gh, repo, &open, title, body)
        }
        _ => anyhow::bail!(
            "creating the pull request for {branch} failed: {}. The branch is pushed; re-run the same command to open it",
            gh::error_message(&created)
        ),
    }
}

/// The URL of the open pull request of `branch`, if there is one.
pub fn find_open_pull_url(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    branch: &str,
    base: &str,
) -> Result<Option<String>> {
    Ok(find_open_pull(sh, gh, repo, branch, base)?.map(|pr| url_of(&pr)))
}

fn find_open_pull(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    branch: &str,
    base: &str,
) -> Result<Option<Value>> {
    let path = format!(
        "repos/{}/pulls?state=open&head={}:{branch}&base={base}",
        repo.slug(),
        repo.owner
    );
    let listed = gh.api(sh, "GET", &path, None)?;
    if listed.status != 200 {
        anyhow::bail!(
            "looking up the pull request for {branch} failed: {}",
            gh::error_message(&listed)
        );
    }
    Ok(listed.body.as_array().and_then(|prs| prs.first()).cloned())
}

fn update_pull(
    sh: &Shell,
    gh: &Gh,
    repo: &Repo,
    open: &Value,
    title: &str,
    body: &str,
) -> Result<(&'static str, u64, String)> {
    let number = number_of(open)?;
    if open["title"].as_str() == Some(title) && open["body"].as_str() == Some(body) {
        return Ok(("unchanged", number, url_of(open)));
    }
    let updated = gh.api(
        sh,
        "PATCH",
        &format!("repos/{}/pulls/{number}", repo.slug()),
        Some(&json!({"title": title, "body": body})),
    )?;
    if updated.status != 200 {
        anyhow::bail!(
            "updating pull request #{number} failed: {}. The branch is pushed; re-run to update it",
            gh::error_message(&updated)
        );
    }
    Ok(("updated", number, url_of(&updated.body)))
}

fn number_of(pr: &Value) -> Result<u64> {
    pr["number"]
        .as_u64()
        .context("the pull request has no number")
}

fn url_of(pr: &Value) -> String {
    pr["html_url"].as_str().unwrap_or_default().to_owned()
}

fn repo_root_is_git(sh: &Shell, root: &Path) -> Result<()> {
    git::rev_parse(sh, "HEAD").map(|_| ()).with_context(|| {
        format!(
            "{} is not a git checkout with a commit; --open-pr needs one",
            root.display()
        )
    })
}
