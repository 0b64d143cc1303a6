//! The one model of Argo CD in this crate. Offline discovery: the Applications Argo CD will generate from the ApplicationSets.
//!
//! Every ApplicationSet under `argocd/applicationsets/` is read, its generators are emulated over
//! the working tree (git files and matrix, with the facts of SPEC section 4; list too), and its
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
mod generators;
mod glob;
mod gotemplate;
mod names;
pub mod render_plan;
mod template;
mod yaml;

use std::path::Path;

use anyhow::{Context, Result};
use xshell::Shell;

pub use application::Application;

use crate::layout;
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
    let mut applications = Vec::new();
    let mut discovery = discover_each(sh, helm, root, cache, &mut |chunk| {
        applications.extend(chunk);
        Ok(())
    })?;
    discovery.applications = applications;
    Ok(discovery)
}

/// How many parameter sets discovery renders and hands on at a time: its memory is this many
/// sets and Applications, however many the ApplicationSets generate.
pub const CHUNK: usize = 256;

/// [`discover_cached`] as a stream: the Applications are handed to `on_chunk` at most [`CHUNK`]
/// at a time, in Argo CD's order, and never held here, so that a caller that lets each chunk go
/// keeps memory flat in the number of Applications. A later Application with the name of an
/// earlier one is not handed on (Argo CD rejects it); the returned [`Discovery`] holds the
/// problems and the ApplicationSet files, and no Applications.
pub fn discover_each(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
    on_chunk: &mut dyn FnMut(Vec<Application>) -> Result<()>,
) -> Result<Discovery> {
    let mut discovery = Discovery {
        appsets: layout::appset_files(root)
            .with_context(|| format!("listing {}", layout::APPSETS_DIR))?,
        ..Discovery::default()
    };
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
            let appset = AppSet::new(path, &text, doc);
            let problems = appset.generate(sh, helm, root, cache, &mut |mut apps| {
                names.keep_first(&mut apps);
                on_chunk(apps)
            })?;
            discovery.problems.extend(problems);
        }
    }
    discovery.problems.extend(names.clashes(root));
    discovery.problems.sort();
    discovery.problems.dedup();
    Ok(discovery)
}
