//! The life of a primitive after `scaffold-primitive`: `enable-primitive`, `disable-primitive`,
//! `promote-primitive`, `retire-primitive` and `upgrade-wiring` (docs/lifecycle.md).
//!
//! Each verb only decides: from the flags and the tree it returns a [`Plan`] (files to write,
//! files to delete, envs to prove). This module runs every plan the same way as the scaffolder:
//! validate before anything is touched, prove the written files with helm, then write all or
//! nothing (`scaffold/apply.rs`), or commit them to one branch and pull request per verb and
//! target (`scaffold/pr.rs`), or dispatch the workflow that does (`lifecycle/dispatch.rs`).

mod disable;
mod dispatch;
mod enable;
mod promote;
mod retire;
mod upgrade;

pub use disable::Flags as DisableFlags;
pub use enable::Flags as EnableFlags;
pub use promote::Flags as PromoteFlags;
pub use retire::Flags as RetireFlags;
pub use upgrade::Flags as UpgradeFlags;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::clusters::{self, Cluster};
use crate::exit;
use crate::layout;
use crate::primitive::{show, Kind, Name, Primitive, Version};
use crate::scaffold::{
    self, apply, guardrails, owned, pr, report,
    templates::{self, File},
    Action, Outcome, Planned,
};
use crate::tools;

/// `--kind --name --version`: the primitive a verb acts on.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Primitive kind: domain, process, agent, uisurface, projection or integration.
    #[arg(long, value_parser = Kind::parse)]
    pub kind: Kind,
    /// Primitive name, lowercase kebab-case (e.g. orders).
    #[arg(long, value_parser = Name::parse)]
    pub name: Name,
    /// Primitive version: v0, v1, ...
    #[arg(long, value_parser = Version::parse)]
    pub version: Version,
}

impl Target {
    pub fn primitive(&self) -> Primitive {
        Primitive {
            kind: self.kind,
            name: self.name.clone(),
            version: self.version.clone(),
        }
    }

    fn to_flags(&self) -> String {
        format!(
            "--kind {} --name {} --version {}",
            self.kind, self.name, self.version
        )
    }
}

/// The flags every verb shares with scaffold-primitive.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Write nothing: print a diff per file.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pr: pr::PrFlags,
    #[command(flatten)]
    pub dispatch: dispatch::DispatchFlags,
}

/// Everything a verb decided, before anything is touched.
#[derive(Debug)]
pub struct Plan {
    pub command: &'static str,
    /// What the report says when something changes: "enabled", "retired", ...
    pub operation: &'static str,
    /// What the report names: a component id, or "all".
    pub subject: String,
    pub writes: Vec<File>,
    pub deletes: Vec<String>,
    /// Envs whose Applications the change alters: rendered before anything is written.
    pub prove: Vec<(Primitive, Vec<String>)>,
    pub applications_title: &'static str,
    pub applications: Vec<String>,
}

/// What one verb is: its name, its input checks, and its plan.
pub trait Verb {
    const COMMAND: &'static str;
    /// What the JSON `component` field says before a plan exists.
    fn subject(&self) -> String;
    /// `<verb>/<target>`: the one branch (and pull request) of this verb for this target.
    fn branch(&self) -> String;
    /// The flags that reproduce the change (for the commit message and the PR body).
    fn args(&self) -> String;
    /// Checks that need no repository state (envs against the cluster files): exit 2.
    fn check(&self, envs: &[Cluster]) -> Result<()>;
    /// Reads the tree at `root` and decides; refusals exit 3.
    fn plan(&self, root: &Path, envs: &[Cluster]) -> Result<Plan>;
    /// The workflow_dispatch inputs (all strings).
    fn inputs(&self) -> serde_json::Value;
    fn common(&self) -> &Common;
}

/// Runs one verb: the one pipeline of every lifecycle command.
pub fn run<V: Verb>(sh: &Shell, verb: &V) -> Result<()> {
    let started = Instant::now();
    let root = sh.current_dir();
    let common = verb.common();
    let result = (|| {
        let envs = clusters::appset_envs(&root)?;
        verb.check(&envs)?;
        if common.dispatch.via_workflow {
            let dispatched = dispatch::run(
                sh,
                common,
                V::COMMAND,
                &verb.subject(),
                &verb.branch(),
                verb.inputs(),
            )?;
            report::print_dispatched(&dispatched, common.json);
            return Ok(None);
        }
        if common.pr.open_pr {
            // The plan is made on the base branch, whatever the local checkout holds.
            let proposal = proposal(verb, &common.pr.base);
            let (mut outcome, pr) = pr::propose(sh, &common.pr, &proposal, |wt_sh, wt, helm| {
                execute(wt_sh, wt, helm, &verb.plan(wt, &envs)?, false)
            })?;
            outcome.pr = pr;
            return Ok(Some(outcome));
        }
        let plan = verb.plan(&root, &envs)?;
        let helm = tools::helm(sh)?;
        execute(sh, &root, &helm, &plan, common.dry_run).map(Some)
    })();
    report::finish(
        result,
        V::COMMAND,
        &verb.subject(),
        common.json,
        common.dry_run,
        started.elapsed(),
    )
}

fn proposal<V: Verb>(verb: &V, base: &str) -> pr::Proposal {
    let command_line = format!("cargo xtask {} {}", V::COMMAND, verb.args());
    pr::Proposal {
        branch: verb.branch(),
        title: format!("{}(primitives): {}", V::COMMAND, verb.subject()),
        intro: format!(
            "`{}` for `{}`, generated by `{command_line}` against `{base}`.",
            V::COMMAND,
            verb.subject()
        ),
        command_line,
        footer: "Only the lifecycle verbs change `enabled`, `image.ref` and overlay keys (docs/lifecycle.md). \
                 Re-running the same command updates this pull request."
            .to_owned(),
        force: false,
    }
}

/// Plans the files, proves them with helm and (unless `dry_run`) writes and deletes them.
fn execute(sh: &Shell, root: &Path, helm: &Path, plan: &Plan, dry_run: bool) -> Result<Outcome> {
    let mut planned = scaffold::plan(root, plan.writes.clone())?;
    for path in &plan.deletes {
        if let Some(current) = scaffold::read(root, path)? {
            planned.push(Planned {
                file: File {
                    path: path.clone(),
                    content: String::new(),
                },
                current: Some(current),
                action: Action::Deleted,
            });
        }
    }
    let changes = planned.iter().any(|f| f.action != Action::Unchanged);
    let proof = if changes {
        prove(sh, root, helm, plan, &planned)?
    } else {
        Proof::default()
    };
    let failed = proof
        .guardrails
        .iter()
        .any(|g| g.status == guardrails::Status::Failed);
    crate::interrupt::check("writing the files")?;
    if changes && !failed && !dry_run {
        let written: Vec<&File> = planned
            .iter()
            .filter(|f| matches!(f.action, Action::Created | Action::Updated))
            .map(|f| &f.file)
            .collect();
        let deleted: Vec<String> = planned
            .iter()
            .filter(|f| f.action == Action::Deleted)
            .map(|f| f.file.path.clone())
            .collect();
        apply::apply(root, &written, &deleted)?;
    }
    Ok(Outcome {
        command: plan.command,
        operation: match (failed, changes) {
            (true, _) => "failed",
            (false, true) => plan.operation,
            (false, false) => "unchanged",
        },
        component: plan.subject.clone(),
        owned: scaffold::owned_values(&planned),
        files: planned,
        errors: proof
            .guardrails
            .iter()
            .filter(|g| g.status == guardrails::Status::Failed)
            .map(|g| format!("{}: {}", g.name, g.detail))
            .collect(),
        guardrails: proof.guardrails,
        applications_title: plan.applications_title,
        applications: plan.applications.clone(),
        dry_run,
        helm_time: proof.helm_time,
        render_wall: proof.render_wall,
        renders: proof.renders,
        pr: None,
    })
}

#[derive(Default)]
struct Proof {
    guardrails: Vec<guardrails::Guardrail>,
    helm_time: Duration,
    render_wall: Duration,
    renders: usize,
}

/// Renders every component of every primitive in each env the plan alters, with the written
/// files staged, exactly as the scaffolder's guardrails do.
fn prove(sh: &Shell, root: &Path, helm: &Path, plan: &Plan, planned: &[Planned]) -> Result<Proof> {
    let staging = sh
        .create_temp_dir()
        .context("creating a staging directory")?;
    let written: Vec<File> = planned
        .iter()
        .filter(|f| f.action != Action::Deleted)
        .map(|f| f.file.clone())
        .collect();
    apply::stage_copy(staging.path(), &written)?;
    let generated: Vec<String> = written.iter().map(|f| f.path.clone()).collect();
    let sources = guardrails::Sources {
        root,
        staging: staging.path(),
        generated: &generated,
    };
    let envs = clusters::appset_envs(root)?;
    let mut proof = Proof::default();
    for (primitive, prove_envs) in &plan.prove {
        let with_smoke = has_smoke(root, primitive);
        let checked = scaffold::prove(
            sh,
            helm,
            &sources,
            &written,
            primitive,
            with_smoke,
            &envs,
            None,
            Some(prove_envs),
        )?;
        proof.helm_time += checked.helm_time;
        proof.render_wall += checked.render_wall;
        proof.renders += checked.renders;
        proof.guardrails.extend(checked.guardrails);
    }
    Ok(proof)
}

/// Refuses an env that no cluster file of the ApplicationSet lists (exit 2).
fn check_env(flag: &str, env: &str, envs: &[Cluster]) -> Result<()> {
    if envs.iter().any(|c| c.env == env) {
        return Ok(());
    }
    let names: Vec<&str> = envs.iter().map(|c| c.env.as_str()).collect();
    Err(exit::invalid(format!(
        "{flag} {}: must be one of {} (from the cluster files the ApplicationSet reads), e.g. {flag} {}",
        show(env),
        names.join(", "),
        names.first().copied().unwrap_or("dev")
    )))
}

/// Refuses a primitive that was never scaffolded (exit 3).
fn require_scaffolded(root: &Path, p: &Primitive) -> Result<()> {
    let component = layout::primitive_component_file(&p.id());
    if root.join(&component).is_file() {
        return Ok(());
    }
    Err(exit::refused(format!(
        "{} is not scaffolded ({component} does not exist); nothing was written. Create it first with \
         `cargo xtask scaffold-primitive --kind {} --name {} --version {}`",
        p.id(),
        p.kind,
        p.name,
        p.version
    )))
}

/// The workload or the smoke of a primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Workload,
    Smoke,
}

impl Part {
    fn id(self, p: &Primitive) -> String {
        match self {
            Part::Workload => p.id(),
            Part::Smoke => p.smoke_id(),
        }
    }

    fn inputs<'a>(self, p: &'a Primitive, env: &'a str) -> templates::Inputs<'a> {
        match self {
            Part::Workload => owned::overlay_inputs(p, env),
            Part::Smoke => owned::smoke_overlay_inputs(p, env),
        }
    }
}

/// An env overlay of a primitive: repository path and current text.
fn overlay(root: &Path, p: &Primitive, part: Part, env: &str) -> Result<(String, Option<String>)> {
    let path = layout::env_values(env, layout::PRIMITIVES_DOMAIN, &part.id(p));
    let text = scaffold::read(root, &path)?;
    Ok((path, text))
}

/// The overlay of `env` set to `image` (None: disabled), or the refusal that explains why not.
fn set_overlay(
    root: &Path,
    p: &Primitive,
    part: Part,
    env: &str,
    image: Option<&crate::primitive::ImageRef>,
) -> Result<File> {
    let (path, current) = overlay(root, p, part, env)?;
    let content = owned::set_overlay(&part.inputs(p, env), image, current.as_deref())
        .map_err(|why| exit::refused(format!("{path}: {why}; nothing was written")))?;
    Ok(File { path, content })
}

fn has_smoke(root: &Path, p: &Primitive) -> bool {
    root.join(layout::primitive_component_file(&p.smoke_id()))
        .is_file()
}

/// Every folder under the env values (listed in a cluster file or not), sorted.
fn env_dirs(root: &Path) -> Result<Vec<String>> {
    let mut dirs: Vec<String> = match std::fs::read_dir(root.join(layout::ENV_VALUES_DIR)) {
        Ok(entries) => entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err).with_context(|| format!("listing {}", layout::ENV_VALUES_DIR)),
    };
    dirs.sort();
    Ok(dirs)
}

/// The Applications of a primitive (and its smoke, when scaffolded) in every env.
fn applications(root: &Path, p: &Primitive, envs: &[Cluster]) -> Vec<String> {
    let mut components = vec![p.id()];
    if has_smoke(root, p) {
        components.push(p.smoke_id());
    }
    envs.iter()
        .flat_map(|c| {
            components
                .iter()
                // The ApplicationSet's current name template; asking argo's discovery for the
                // names (as scaffold-primitive does) is left to a follow-up.
                .map(move |id| format!("{}-{id}", c.env))
        })
        .collect()
}
