//! `cargo xtask scaffold-primitive`: validate, plan the files, refuse overwrites, prove the files
//! with helm, then write them all or none (docs/conventions.md#primitives-and-their-names, #what-the-scaffolder-writes).

pub mod apply;
pub mod guardrails;
pub mod owned;
pub mod pr;
pub mod report;
pub mod templates;
pub mod trigger;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::clusters::{self, Cluster};
use crate::exit;
use crate::layout;
use crate::primitive::{show, ImageRef, Kind, Name, OverLimit, Primitive, Version};
use crate::tools;

use guardrails::{Guardrail, Status};
use templates::File;

pub const APPLICATIONS_AFTER_MERGE: &str = "Applications after merge";

/// The value of `--env` that writes no env overlay.
pub const NO_ENV: &str = "none";

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    /// Primitive kind: domain, process, agent, uisurface, projection or integration.
    #[arg(long, value_parser = Kind::parse)]
    pub kind: Kind,
    /// Primitive name, lowercase kebab-case (e.g. orders).
    #[arg(long, value_parser = Name::parse)]
    pub name: Name,
    /// Primitive version: v0, v1, ...
    #[arg(long, value_parser = Version::parse)]
    pub version: Version,
    /// Also scaffold the smoke component (a gRPC health check as a PostSync hook Job).
    #[arg(long)]
    pub with_smoke: bool,
    /// The env whose overlay is written (an env of the ApplicationSet's cluster file), or "none".
    #[arg(long, default_value = "dev")]
    pub env: String,
    /// Rewrite existing target files (files with the same bytes are reported unchanged).
    #[arg(long)]
    pub force: bool,
    /// Write nothing: print a diff per file and the Applications that would appear.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Enable the primitive in the env overlay (needs --image-ref, digest-pinned).
    #[arg(long, requires = "image_ref")]
    pub enable: bool,
    /// The digest-pinned image for --enable: repo@sha256:<64 hex>.
    #[arg(long, value_parser = ImageRef::parse, requires = "enable")]
    pub image_ref: Option<ImageRef>,
    #[command(flatten)]
    pub pr: pr::PrFlags,
    #[command(flatten)]
    pub trigger: trigger::TriggerFlags,
}

/// Validated inputs.
#[derive(Clone, Debug)]
pub struct Request {
    pub primitive: Primitive,
    pub with_smoke: bool,
    pub env: Option<String>,
    pub enable: Option<ImageRef>,
    pub force: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
        }
    }
}

/// A planned file: its bytes, what is in the tree now, and what writing it does.
#[derive(Clone, Debug)]
pub struct Planned {
    pub file: File,
    pub current: Option<String>,
    pub action: Action,
}

/// Everything a run decided, for the text, JSON and step-summary reports.
#[derive(Debug)]
pub struct Outcome {
    /// The subcommand that ran (scaffold-primitive, enable-primitive, ...).
    pub command: &'static str,
    pub operation: &'static str,
    pub component: String,
    pub files: Vec<Planned>,
    /// The owned values of every file that existed or is written: kept, set or removed.
    pub owned: Vec<owned::OwnedValue>,
    pub guardrails: Vec<Guardrail>,
    /// What the reports call `applications`: the ones after merge, or the ones Argo CD prunes.
    pub applications_title: &'static str,
    pub applications: Vec<String>,
    pub errors: Vec<String>,
    pub dry_run: bool,
    pub helm_time: Duration,
    pub render_wall: Duration,
    pub renders: usize,
    /// What `--open-pr` did to the branch and the pull request.
    pub pr: Option<pr::PrOutcome>,
}

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let started = Instant::now();
    let root = sh.current_dir();
    let component = Primitive {
        kind: flags.kind,
        name: flags.name.clone(),
        version: flags.version.clone(),
    }
    .id();
    let result = validate(&root, flags).and_then(|(request, envs)| {
        if flags.trigger.via_workflow {
            let dispatched = trigger::run(sh, &flags.trigger, &flags.pr, &request)?;
            report::print_dispatched(&dispatched, flags.json);
            return Ok(None);
        }
        if flags.pr.open_pr {
            let (mut outcome, pr) = pr::run(sh, &flags.pr, &request, &envs)?;
            outcome.pr = pr;
            return Ok(Some(outcome));
        }
        let helm = tools::helm(sh)?;
        scaffold(sh, &root, &helm, &request, &envs, flags.dry_run).map(Some)
    });
    report::finish(
        result,
        "scaffold-primitive",
        &component,
        flags.json,
        flags.dry_run,
        started.elapsed(),
    )
}

/// Checks everything that can be checked without touching anything: the flags, the env against
/// the cluster file the ApplicationSet reads, and every derived name in every env.
pub fn validate(root: &Path, flags: &Flags) -> Result<(Request, Vec<Cluster>)> {
    let envs = clusters::appset_envs(root)?;
    let env_names: Vec<&str> = envs.iter().map(|c| c.env.as_str()).collect();
    let env = if flags.env == NO_ENV {
        None
    } else if env_names.contains(&flags.env.as_str()) {
        Some(flags.env.clone())
    } else {
        return Err(exit::invalid(format!(
            "env {}: must be one of {} (from the cluster file the ApplicationSet reads) or \"{NO_ENV}\", e.g. --env dev",
            show(&flags.env),
            env_names.join(", ")
        )));
    };
    if flags.enable && env.is_none() {
        return Err(exit::invalid(format!(
            "--enable: needs an env to enable (--env {NO_ENV} writes no overlay); pass e.g. --env dev"
        )));
    }
    let primitive = Primitive {
        kind: flags.kind,
        name: flags.name.clone(),
        version: flags.version.clone(),
    };
    let request = Request {
        primitive,
        with_smoke: flags.with_smoke,
        env,
        enable: flags.image_ref.clone().filter(|_| flags.enable),
        force: flags.force,
    };
    Ok((request, envs))
}

/// Plans, refuses, proves and (unless `dry_run`) writes. Guardrail failures come back as an
/// outcome with operation "failed" so that they can be reported in full.
pub fn scaffold(
    sh: &Shell,
    root: &Path,
    helm: &Path,
    request: &Request,
    envs: &[Cluster],
    dry_run: bool,
) -> Result<Outcome> {
    let p = &request.primitive;
    let files = templates::files(
        p,
        request.with_smoke,
        request.env.as_deref(),
        request.enable.as_ref(),
    );
    let files = files
        .into_iter()
        .map(|file| keep_owned(root, request, file))
        .collect::<Result<Vec<_>>>()?;
    let planned = plan(root, files)?;
    refuse_taken_names(root, request, &planned)?;
    let existing: Vec<&str> = planned
        .iter()
        .filter(|f| f.current.is_some())
        .map(|f| f.file.path.as_str())
        .collect();
    if !existing.is_empty() && !request.force {
        return Err(exit::refused(format!(
            "{} already exists; nothing was written. Re-run with --force to rewrite (identical files stay unchanged):\n  {}",
            if existing.len() == 1 { "a target file" } else { "target files" },
            existing.join("\n  ")
        )));
    }

    let staging = sh
        .create_temp_dir()
        .context("creating a staging directory")?;
    let all: Vec<File> = planned.iter().map(|f| f.file.clone()).collect();
    apply::stage_copy(staging.path(), &all)?;
    let generated: Vec<String> = all.iter().map(|f| f.path.clone()).collect();
    let sources = guardrails::Sources {
        root,
        staging: staging.path(),
        generated: &generated,
    };
    let checked = prove(
        sh,
        helm,
        &sources,
        &all,
        p,
        request.with_smoke,
        envs,
        request.env.as_deref(),
        None,
    )?;
    // Names are checked once discovery has named the Applications: it is the ApplicationSet that
    // names them and their releases.
    let mut over = OverLimit::default();
    guardrails::check_names(&checked.applications, &mut over);
    p.check_derived_names(request.with_smoke, &mut over);
    over.result(p.name.as_str()).map_err(exit::invalid)?;
    let failed = checked
        .guardrails
        .iter()
        .any(|g| g.status == Status::Failed);

    let operation = if failed {
        "failed"
    } else if planned.iter().any(|f| f.action == Action::Created) {
        "created"
    } else if planned.iter().any(|f| f.action == Action::Updated) {
        "updated"
    } else {
        "unchanged"
    };
    crate::interrupt::check("writing the files")?;
    if !failed && !dry_run {
        let changed: Vec<&File> = planned
            .iter()
            .filter(|f| f.action != Action::Unchanged)
            .map(|f| &f.file)
            .collect();
        apply::write_all(root, &changed)?;
    }
    Ok(Outcome {
        command: "scaffold-primitive",
        operation,
        component: p.id(),
        applications_title: APPLICATIONS_AFTER_MERGE,
        applications: checked
            .applications
            .iter()
            .map(|a| a.name.clone())
            .collect(),
        owned: owned_values(&planned),
        files: planned,
        errors: checked
            .guardrails
            .iter()
            .filter(|g| g.status == Status::Failed)
            .map(|g| format!("{}: {}", g.name, g.detail))
            .collect(),
        guardrails: checked.guardrails,
        dry_run,
        helm_time: checked.helm_time,
        render_wall: checked.render_wall,
        renders: checked.renders,
        pr: None,
    })
}

/// Renders every component of `p` with the staged files, each env expecting what its overlay
/// (staged, else in the tree) enables, and keeps the renders of the envs in `only` (all when
/// None). The guardrails take one enabled env, so with several enabled envs they run once per
/// env and keep that env's renders.
#[allow(clippy::too_many_arguments)]
pub fn prove(
    sh: &Shell,
    helm: &Path,
    sources: &guardrails::Sources,
    staged: &[File],
    p: &Primitive,
    with_smoke: bool,
    envs: &[Cluster],
    focus: Option<&str>,
    only: Option<&[String]>,
) -> Result<guardrails::Outcome> {
    // Per env: the images its overlays enable, for the workload and for the smoke.
    let mut enabled = Vec::new();
    for cluster in envs {
        let image_of = |component: &str| -> Result<Option<ImageRef>> {
            let overlay = layout::env_values(&cluster.env, layout::PRIMITIVES_DOMAIN, component);
            let text = match staged.iter().find(|f| f.path == overlay) {
                Some(f) => Some(f.content.clone()),
                None => read(sources.root, &overlay)?,
            };
            Ok(text.as_deref().and_then(owned::enabled_image))
        };
        let images = (image_of(&p.id())?, image_of(&p.smoke_id())?);
        if images.0.is_some() || images.1.is_some() {
            enabled.push((cluster.env.clone(), images));
        }
    }
    let images_in = |env: &str| {
        let found = enabled.iter().find(|(e, _)| e == env).map(|(_, i)| i);
        (
            found.and_then(|i| i.0.as_ref()).map(ImageRef::as_str),
            found.and_then(|i| i.1.as_ref()).map(ImageRef::as_str),
        )
    };
    let asked = |name: &str| {
        only.is_none_or(|only| {
            only.iter()
                .any(|env| name.starts_with(&format!("helm template {env}-")))
        })
    };
    if enabled.len() <= 1 {
        let first_asked = only.and_then(|o| o.first()).map(String::as_str);
        let env = enabled
            .first()
            .map(|(e, _)| e.as_str())
            .or(focus)
            .or(first_asked);
        let (workload, smoke) = env.map_or((None, None), images_in);
        let target = guardrails::Target {
            primitive: p,
            with_smoke,
            env,
            enabled_image: workload,
            smoke_image: smoke,
        };
        let mut checked = guardrails::run(sh, helm, sources, &target)?;
        checked.guardrails.retain(|g| asked(&g.name));
        return Ok(checked);
    }
    let all: Vec<String> = envs.iter().map(|c| c.env.clone()).collect();
    let mut proof = guardrails::Outcome {
        guardrails: Vec::new(),
        applications: Vec::new(),
        helm_time: Duration::ZERO,
        render_wall: Duration::ZERO,
        renders: 0,
    };
    for env in only.unwrap_or(&all) {
        let (workload, smoke) = images_in(env);
        let target = guardrails::Target {
            primitive: p,
            with_smoke,
            env: Some(env),
            enabled_image: workload,
            smoke_image: smoke,
        };
        let checked = guardrails::run(sh, helm, sources, &target)?;
        proof.helm_time += checked.helm_time;
        proof.render_wall += checked.render_wall;
        proof.renders += checked.renders;
        // Every run discovers the same Applications; the first run's list is the list.
        if proof.applications.is_empty() {
            proof.applications = checked.applications;
        }
        let mine = format!("helm template {env}-");
        proof.guardrails.extend(
            checked
                .guardrails
                .into_iter()
                .filter(|g| g.name.starts_with(&mine)),
        );
    }
    Ok(proof)
}

/// A file that exists keeps its owned values: `enabled` and `image.ref` of shared values, the whole
/// body of an env overlay. Only a lifecycle verb changes them, so `--enable` on an existing
/// overlay that holds something else is refused.
fn keep_owned(root: &Path, request: &Request, mut file: File) -> Result<File> {
    let Some(current) = read(root, &file.path)? else {
        return Ok(file);
    };
    let p = &request.primitive;
    if let (true, Some(env)) = (owned::is_overlay(&file.path), request.env.as_deref()) {
        if request.enable.is_some() && owned::enabled_image(&current) != request.enable {
            return Err(exit::refused(format!(
                "{} exists and its `enabled` and `image.ref` belong to the lifecycle verbs; nothing was written. \
                 Enable it with `cargo xtask enable-primitive --kind {} --name {} --version {} --env {env} --image-ref REF`",
                file.path, p.kind, p.name, p.version
            )));
        }
        file.content = owned::keep_overlay(&owned::overlay_inputs(p, env), &current);
    } else if owned::is_shared_values(&file.path) {
        file.content = owned::keep_shared(&file.content, &current);
    }
    Ok(file)
}

/// The owned values of every planned file, before and after.
pub fn owned_values(planned: &[Planned]) -> Vec<owned::OwnedValue> {
    planned
        .iter()
        .flat_map(|f| {
            let after = (f.action != Action::Deleted).then_some(f.file.content.as_str());
            owned::compare(&f.file.path, f.current.as_deref(), after)
        })
        .collect()
}

/// A repository file's text, or None when it does not exist.
pub fn read(root: &Path, path: &str) -> Result<Option<String>> {
    match std::fs::read(root.join(path)) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {path}")),
    }
}

pub fn plan(root: &Path, files: Vec<File>) -> Result<Vec<Planned>> {
    files
        .into_iter()
        .map(|file| {
            let current = read(root, &file.path)?;
            let action = match &current {
                None => Action::Created,
                Some(now) if *now == file.content => Action::Unchanged,
                Some(_) => Action::Updated,
            };
            Ok(Planned {
                file,
                current,
                action,
            })
        })
        .collect()
}

/// A component name is unique across the tree: another component.yaml (anywhere but our own
/// target paths) that uses the name, or a folder of that name, is refused even with --force.
fn refuse_taken_names(root: &Path, request: &Request, planned: &[Planned]) -> Result<()> {
    let p = &request.primitive;
    let mut ours = vec![p.id()];
    if request.with_smoke {
        ours.push(p.smoke_id());
    }
    let targets: Vec<&str> = planned.iter().map(|f| f.file.path.as_str()).collect();
    let mut taken = Vec::new();
    for path in layout::component_files(root).context("listing component files")? {
        if targets.contains(&path.as_str()) {
            continue;
        }
        let folder = path.rsplit('/').nth(1).unwrap_or_default().to_owned();
        let name = std::fs::read_to_string(root.join(&path))
            .ok()
            .and_then(|text| crate::yaml::from_str::<crate::yaml::Value>(&text).ok())
            .and_then(|doc| doc["name"].as_str().map(str::to_owned));
        for candidate in &ours {
            if name.as_deref() == Some(candidate.as_str()) || folder == *candidate {
                taken.push(format!("{candidate} (used by {path})"));
            }
        }
    }
    if taken.is_empty() {
        Ok(())
    } else {
        Err(exit::refused(format!(
            "component name already taken, even --force will not reuse it; choose another --name or --version:\n  {}",
            taken.join("\n  ")
        )))
    }
}

impl Outcome {
    pub fn failed(
        command: &'static str,
        component: &str,
        code: i32,
        err: &anyhow::Error,
        dry_run: bool,
    ) -> Outcome {
        Outcome {
            command,
            operation: match code {
                2 => "invalid",
                3 => "refused",
                4 => "failed",
                _ => "error",
            },
            component: component.to_owned(),
            files: Vec::new(),
            owned: Vec::new(),
            guardrails: Vec::new(),
            applications_title: APPLICATIONS_AFTER_MERGE,
            applications: Vec::new(),
            errors: vec![format!("{err:#}")],
            dry_run,
            helm_time: Duration::ZERO,
            render_wall: Duration::ZERO,
            renders: 0,
            pr: None,
        }
    }
}

/// The JSON report of a run that failed before the scaffold started: flags that did not parse,
/// no repository around the current directory.
pub fn print_failure_json(
    command: &'static str,
    component: &str,
    err: &anyhow::Error,
    dry_run: bool,
) {
    report::print_json(&Outcome::failed(
        command,
        component,
        exit::code_of(err),
        err,
        dry_run,
    ));
}

/// The component id the flags name, for reports of runs that failed early.
pub fn component_of(flags: &Flags) -> String {
    Primitive {
        kind: flags.kind,
        name: flags.name.clone(),
        version: flags.version.clone(),
    }
    .id()
}
