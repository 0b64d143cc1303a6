//! The one model of Argo CD in this crate, split as Argo CD splits its code (docs/argo-model.md):
//! offline discovery of the Applications Argo CD will generate from the ApplicationSets, and the
//! helm render plan of each. `verify`, `apps`, `bench` and `scaffold-primitive` all ask it.
//!
//! Every ApplicationSet under `argocd/applicationsets/` is read, its generators are emulated over
//! the working tree (git files and matrix, with the facts of docs/conventions.md#discovery-and-value-layering; list too), and its
//! `template` and `templatePatch` are rendered with Go template semantics by helm's engine (Go
//! text/template with sprig, like Argo CD's), in helm runs of many parameter sets each. What Argo
//! CD would refuse becomes a [`Problem`]; discovery then carries on with the rest, so that one run
//! reports everything.
//!
//! [`discover_each`] streams: the generators read their files when their sets are wanted, and the
//! Applications are made and handed on [`CHUNK`] at a time, so that its memory does not grow with
//! their number.

mod application;
mod appset;
mod fields;
mod generators;
mod glob;
mod gotemplate;
mod names;
pub mod render_plan;
pub mod repository;
pub mod settings;
mod template;
mod yaml;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::Shell;

pub(crate) use application::same_repo;
pub use application::Application;
pub use template::RESOURCES_FINALIZER;

use crate::layout;
use crate::scratch::Scratch;
use crate::verify::cache::Cache;
use crate::verify::problem::Problem;
use appset::AppSet;
use names::Names;
use yaml::parse_documents;

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// In the order Argo CD generates them: ApplicationSet files sorted, then generator order.
    /// Empty from [`discover_each`], which hands them on instead.
    pub applications: Vec<Application>,
    /// Names Argo CD creates no Application for (two Applications of one ApplicationSet share
    /// them). [`discover_each`] has handed on the first of each already, and its caller renders
    /// it (the problem stands either way); [`discover_cached`] leaves it out.
    pub withheld: std::collections::BTreeSet<String>,
    pub problems: Vec<Problem>,
    /// The ApplicationSet files read, sorted.
    pub appsets: Vec<String>,
}

/// Rule ids of discovery's problems.
pub const RULE_APPSET: &str = "appset";
pub const RULE_GENERATOR_FILE: &str = "generator-file";
pub const RULE_TEMPLATE: &str = "appset-template";
pub const RULE_DUPLICATE: &str = "application-duplicate";
pub const RULE_SOURCE: &str = "application-source";

/// The helm runs discovery has made in this process to render the ApplicationSets' templates.
pub fn template_helm_runs() -> usize {
    gotemplate::HELM_RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The file patterns of every git files generator of the ApplicationSet file `appset` (matrix and
/// merge children too), each with its literal folder (the segments before the first wildcard; the
/// whole pattern when it has none).
pub fn git_file_patterns(root: &Path, appset: &str) -> Vec<(String, String)> {
    fn collect(generators: &crate::yaml::Value, out: &mut Vec<(String, String)>) {
        for generator in generators.as_sequence().into_iter().flatten() {
            let files = generator["git"]["files"].as_sequence();
            for path in files
                .into_iter()
                .flatten()
                .filter_map(|f| f["path"].as_str())
            {
                out.push((path.to_owned(), glob::literal_prefix(path)));
            }
            collect(&generator["matrix"]["generators"], out);
            collect(&generator["merge"]["generators"], out);
        }
    }
    let text = std::fs::read_to_string(root.join(appset)).unwrap_or_default();
    let mut out = Vec::new();
    for doc in parse_documents(&text).unwrap_or_default() {
        collect(&doc["spec"]["generators"], &mut out);
    }
    out
}

/// A change not yet made, as Argo CD will see it once merged: a scratch copy of the repository's
/// files (as the repo-server sees them) with `planned` laid over it (repository paths, each with
/// the file holding its new text), and what discovery finds there. Rendering reads the copy too.
/// Discovery reads the templates rendered before from `cache` (keyed on the templates and the
/// parameters, never on the folder), so that only the planned files' sets cost a helm run.
pub struct Preview {
    pub dir: Scratch,
    pub discovery: Discovery,
}

pub fn preview(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    planned: &[(String, PathBuf)],
    cache: Option<&Cache>,
) -> Result<Preview> {
    let dir = Scratch::dir("xtask-preview").context("creating a scratch copy of the repository")?;
    let files = repository::Files::list(sh, root).context("listing the repository's files")?;
    let planned_paths = planned.iter().map(|(path, _)| path.as_str());
    let paths: Vec<String> = files
        .iter()
        .chain(planned_paths)
        .map(str::to_owned)
        .collect();
    // The planned files come last, so that each replaces the tree's file of its path.
    let sources = files.iter().map(|path| (path, root.join(path)));
    let sources = sources.chain(
        planned
            .iter()
            .map(|(path, from)| (path.as_str(), from.clone())),
    );
    let mut made = std::collections::HashSet::new();
    for (path, from) in sources {
        let to = dir.path().join(path);
        let folder = to.parent().expect("a file has a folder");
        if made.insert(folder.to_path_buf()) {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("making the folder of {path} in the scratch copy"))?;
        }
        // A planned file replaces the tree's: the link is removed, never written through.
        let _ = std::fs::remove_file(&to);
        crate::scratch::link_or_copy(&from, &to)
            .with_context(|| format!("linking {path} into the scratch copy"))?;
    }
    // Discovery is handed the files the copy holds: listing them again would walk the copy.
    let files = repository::Files::of(paths);
    let discovery = discover_all(sh, helm, dir.path(), files, cache)?;
    Ok(Preview { dir, discovery })
}

/// Reads every ApplicationSet under `root` and computes the Applications Argo CD would create.
/// Errors only when discovery itself cannot run (no helm, unreadable folder); everything Argo CD
/// would refuse is a problem.
pub fn discover(sh: &Shell, helm: &Path, root: &Path) -> Result<Discovery> {
    discover_cached(sh, helm, root, None)
}

/// [`discover`], reading the templates rendered with each parameter set from `cache` when they
/// were rendered before, so that only new or changed sets cost a helm run.
pub fn discover_cached(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
) -> Result<Discovery> {
    let files = repository::Files::list(sh, root).context("listing the repository's files")?;
    discover_all(sh, helm, root, files, cache)
}

/// [`discover_listed`], the Applications gathered, those Argo CD withholds left out.
fn discover_all(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    files: repository::Files,
    cache: Option<&Cache>,
) -> Result<Discovery> {
    let mut applications = Vec::new();
    let mut discovery = discover_listed(sh, helm, root, files, cache, &mut |chunk| {
        applications.extend(chunk);
        Ok(())
    })?;
    applications.retain(|app| !discovery.withheld.contains(&app.name));
    discovery.applications = applications;
    Ok(discovery)
}

/// How many parameter sets discovery renders and hands on at a time: its memory is this many
/// sets and Applications (four times as many while chunks wait for the sets the cache lacks to
/// share one helm run), however many the ApplicationSets generate.
pub const CHUNK: usize = 256;

/// [`discover_cached`] as a stream: the Applications are handed to `on_chunk` a chunk (at most
/// four [`CHUNK`]s) at a time, in Argo CD's order, and never held here, so that a caller that
/// lets each chunk go keeps memory flat in the number of Applications. A later Application with
/// the name of an earlier one is not handed on (Argo CD rejects it); the returned [`Discovery`]
/// holds the problems and the ApplicationSet files, and no Applications.
pub fn discover_each(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
    on_chunk: &mut dyn FnMut(Vec<Application>) -> Result<()>,
) -> Result<Discovery> {
    let files = repository::Files::list(sh, root).context("listing the repository's files")?;
    discover_listed(sh, helm, root, files, cache, on_chunk)
}

/// [`discover_each`] over the repository files `files` of `root`.
fn discover_listed(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    mut files: repository::Files,
    cache: Option<&Cache>,
    on_chunk: &mut dyn FnMut(Vec<Application>) -> Result<()>,
) -> Result<Discovery> {
    let mut discovery = Discovery {
        appsets: layout::appset_files(root)
            .with_context(|| format!("listing {}", layout::APPSETS_DIR))?,
        ..Discovery::default()
    };
    let (globbing, setting_problem) = settings::globbing(root);
    files.globbing = globbing;
    discovery.problems.extend(setting_problem);
    let mut names = Names::default();
    for path in &discovery.appsets {
        let text =
            std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))?;
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(err) => {
                discovery.problems.push(Problem::new(
                    path,
                    err.line,
                    RULE_APPSET,
                    format!(
                        "is not valid YAML ({}); Argo CD cannot apply it",
                        err.message
                    ),
                ));
                continue;
            }
        };
        for doc in docs {
            if doc["kind"].as_str() != Some("ApplicationSet") {
                continue;
            }
            let appset = AppSet::new(path, &text, doc, &files);
            let problems = appset.generate(sh, helm, root, cache, &mut |mut apps| {
                names.keep_first(path, &appset.name, &mut apps);
                on_chunk(apps)
            })?;
            discovery.problems.extend(problems);
        }
    }
    discovery.problems.extend(names.clashes(root));
    discovery.withheld = names.withheld();
    discovery.problems.sort();
    discovery.problems.dedup();
    Ok(discovery)
}
