//! `verify --changed`: which Applications a change can affect, so that only those are rendered.
//!
//! The change is every file that differs between the merge-base of HEAD with the base revision and
//! the working tree: committed, staged, unstaged and untracked, deleted files included. An
//! Application reads its component file, its value files and every file under its chart; its
//! ApplicationSet and the files the ApplicationSet's generators read besides component files (the
//! cluster files) shape every Application it generates. Nothing else reaches a render, so an
//! Application none of whose inputs changed renders exactly as it did at the base.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::argo::{self, Application};
use crate::exit;
use crate::git;
use crate::layout;

/// The default of `--base`: the branch pull requests merge into.
pub const DEFAULT_BASE: &str = "origin/main";

/// What changed since the merge-base.
#[derive(Debug)]
pub struct Changes {
    /// `--base` as given.
    pub base: String,
    pub merge_base: String,
    /// Repository paths, sorted.
    pub files: Vec<String>,
}

/// The files changed between the merge-base of HEAD with `base` and the working tree. `ignore` is
/// a folder (a repository path) whose files never count, such as the render cache.
pub fn since(sh: &Shell, base: &str, ignore: Option<&str>) -> Result<Changes> {
    if !git::is_commit(sh, "HEAD") {
        return Err(exit::invalid(
            "--changed compares the working tree with a Git base, but this is not a Git checkout with a commit; run verify without --changed",
        ));
    }
    if !git::is_commit(sh, base) {
        return Err(exit::invalid(format!(
            "--changed: the base {base:?} is not a commit here; fetch it (git fetch origin main, or in a shallow CI checkout fetch-depth: 0) or name another revision with --base REV"
        )));
    }
    let merge_base = git::merge_base(sh, "HEAD", base).with_context(|| {
        format!("--changed: finding where HEAD left {base}; name another revision with --base REV")
    })?;
    let mut files = git::changed_files_since(sh, &merge_base)
        .context("--changed: listing the changed files")?;
    if let Some(ignore) = ignore {
        files.retain(|f| !under(f, ignore));
    }
    Ok(Changes {
        base: base.to_owned(),
        merge_base,
        files,
    })
}

/// Why an Application was selected: one of its inputs changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    ApplicationSet(String),
    ClusterFile(String),
    ComponentFile(String),
    ValueFile(String),
    Chart(String),
}

impl Reason {
    /// The kind of input, for the one-line summary.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::ApplicationSet(_) => "ApplicationSet",
            Reason::ClusterFile(_) => "cluster file",
            Reason::ComponentFile(_) => "component file",
            Reason::ValueFile(_) => "value file",
            Reason::Chart(_) => "chart",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::ApplicationSet(p)
            | Reason::ClusterFile(p)
            | Reason::ComponentFile(p)
            | Reason::ValueFile(p) => write!(f, "{} {p}", self.kind()),
            Reason::Chart(p) => write!(f, "chart file {p}"),
        }
    }
}

/// For each Application (by index into `apps`) whose inputs changed, why; in `apps`' order.
#[cfg(test)]
pub fn affected(root: &Path, apps: &[Application], files: &[String]) -> Vec<(usize, Vec<Reason>)> {
    let mut selector = Selector::new(root, files);
    apps.iter()
        .enumerate()
        .filter_map(|(i, app)| Some((i, selector.reasons(app)?)))
        .collect()
}

/// Decides one Application at a time whether its inputs changed, so that a caller can select
/// from a stream of Applications without holding them all. Each ApplicationSet's shared inputs
/// and each chart's changed files are worked out once.
pub struct Selector<'a> {
    root: &'a Path,
    changed: BTreeSet<&'a str>,
    appset_inputs: BTreeMap<String, Vec<Reason>>,
    chart_changes: BTreeMap<String, Vec<Reason>>,
}

impl<'a> Selector<'a> {
    pub fn new(root: &'a Path, files: &'a [String]) -> Selector<'a> {
        Selector {
            root,
            changed: files.iter().map(String::as_str).collect(),
            appset_inputs: BTreeMap::new(),
            chart_changes: BTreeMap::new(),
        }
    }

    /// Why `app` is selected, or `None` when none of its inputs changed.
    pub fn reasons(&mut self, app: &Application) -> Option<Vec<Reason>> {
        let changed = &self.changed;
        let mut reasons = self
            .appset_inputs
            .entry(app.appset.clone())
            .or_insert_with(|| shared_inputs(self.root, &app.appset, changed))
            .clone();
        if changed.contains(app.component_file.as_str()) {
            reasons.push(Reason::ComponentFile(app.component_file.clone()));
        }
        // A cluster-scoped Application is checked against the Kubernetes version its cluster's
        // env entries declare (docs/repository.md#cluster-scoped-components).
        if app.env.is_empty()
            && app
                .labels
                .contains_key(super::rules::accepted::CLUSTER_LABEL)
        {
            for file in crate::clusters::appset_cluster_files(self.root).unwrap_or_default() {
                if changed.contains(file.as_str()) {
                    reasons.push(Reason::ClusterFile(file));
                }
            }
        }
        for file in &app.value_files {
            if changed.contains(file.as_str()) {
                reasons.push(Reason::ValueFile(file.clone()));
            }
        }
        if !app.chart.is_empty() {
            reasons.extend(
                self.chart_changes
                    .entry(app.chart.clone())
                    .or_insert_with(|| {
                        changed
                            .iter()
                            .filter(|f| under(f, &app.chart))
                            .map(|f| Reason::Chart(f.to_string()))
                            .collect()
                    })
                    .iter()
                    .cloned(),
            );
        }
        reasons.dedup();
        (!reasons.is_empty()).then_some(reasons)
    }
}

/// The changed inputs every Application of the ApplicationSet `appset` shares: the file itself,
/// and what its git files generators read outside the components folder (the cluster files). A
/// pattern with wildcards counts every changed file under its literal folder, which may select
/// more than needed, never less.
fn shared_inputs(root: &Path, appset: &str, changed: &BTreeSet<&str>) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if changed.contains(appset) {
        reasons.push(Reason::ApplicationSet(appset.to_owned()));
    }
    for (pattern, literal) in argo::git_file_patterns(root, appset) {
        // Component files are each their own Applications' input.
        if under(&pattern, layout::COMPONENTS_DIR) {
            continue;
        }
        for file in changed.iter() {
            // A pattern without wildcards selects the file it names, or every file under the
            // folder it names (a Git pathspec, docs/argo-model.md).
            let hit = *file == literal.trim_end_matches('/') || under(file, &literal);
            if hit {
                reasons.push(Reason::ClusterFile(file.to_string()));
            }
        }
    }
    reasons.sort();
    reasons.dedup();
    reasons
}

/// Whether the repository path `path` is under the folder `dir` ("" is the root).
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The one-line summary of a selection: how many files, how many Applications, by what, and the
/// first few names.
pub fn summary(changes: &Changes, selected: &[(String, Vec<Reason>)], out_of: usize) -> String {
    let short = &changes.merge_base[..changes.merge_base.len().min(12)];
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, reasons) in selected {
        for kind in reasons.iter().map(Reason::kind).collect::<BTreeSet<_>>() {
            *by_kind.entry(kind).or_default() += 1;
        }
    }
    let why = by_kind
        .iter()
        .map(|(kind, n)| format!("{n} by {kind}"))
        .collect::<Vec<_>>()
        .join(", ");
    const SHOWN: usize = 4;
    let mut names: Vec<&str> = selected
        .iter()
        .take(SHOWN)
        .map(|(n, _)| n.as_str())
        .collect();
    let more = format!("and {} more", selected.len().saturating_sub(SHOWN));
    if selected.len() > SHOWN {
        names.push(&more);
    }
    let files = match changes.files.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    let mut line = format!(
        "changed: {files} since {short} (merge-base of HEAD and {}) select {} of {out_of} Applications",
        changes.base,
        selected.len()
    );
    if !selected.is_empty() {
        line.push_str(&format!(" ({why}): {}", names.join(", ")));
    }
    line.push_str("; --json lists each with why");
    line
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn app(env: &str, component: &str, chart: &str) -> Application {
        Application {
            name: format!("{env}-{component}"),
            appset: layout::APPSET.into(),
            component_file: format!("{}/x/{component}/component.yaml", layout::COMPONENTS_DIR),
            env: env.into(),
            namespace: format!("ameide-{env}"),
            chart: chart.into(),
            release: component.into(),
            value_files: vec![
                "sources/values/base/globals.yaml".into(),
                format!("sources/values/env/{env}/globals.yaml"),
                format!("sources/values/_shared/x/{component}.yaml"),
                format!("sources/values/env/{env}/x/{component}.yaml"),
            ],
            labels: Default::default(),
            ignore_missing_value_files: false,
            project: None,
            manifest: "null".into(),
        }
    }

    fn apps() -> Vec<Application> {
        let mut apps = Vec::new();
        for env in ["dev", "prod"] {
            apps.push(app(env, "a", "sources/charts/one"));
            apps.push(app(env, "b", "sources/charts/two"));
        }
        apps
    }

    /// The selected names for these changed files; the ApplicationSet is read from the real tree.
    fn selected(files: &[&str]) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let apps = apps();
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        affected(root, &apps, &files)
            .into_iter()
            .map(|(i, _)| apps[i].name.clone())
            .collect()
    }

    #[test]
    fn each_input_selects_exactly_its_readers() {
        let cases: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["README.md", "xtask/src/main.rs"], &[]),
            (&["sources/values/_shared/x/a.yaml"], &["dev-a", "prod-a"]),
            (&["sources/values/env/dev/x/a.yaml"], &["dev-a"]),
            (
                &["sources/values/env/prod/globals.yaml"],
                &["prod-a", "prod-b"],
            ),
            (
                &["sources/values/base/globals.yaml"],
                &["dev-a", "dev-b", "prod-a", "prod-b"],
            ),
            (
                &["sources/charts/two/templates/x.yaml"],
                &["dev-b", "prod-b"],
            ),
            // A sibling folder whose name starts the same is another chart.
            (&["sources/charts/one-other/Chart.yaml"], &[]),
            (
                &["environments/_shared/components/x/b/component.yaml"],
                &["dev-b", "prod-b"],
            ),
            (&[layout::APPSET], &["dev-a", "dev-b", "prod-a", "prod-b"]),
            (
                &["config/clusters/azure.yaml"],
                &["dev-a", "dev-b", "prod-a", "prod-b"],
            ),
            // The local overlay's cluster file is read by no ApplicationSet.
            (&["config/clusters/local.yaml"], &[]),
        ];
        for (files, expected) in cases {
            assert_eq!(selected(files), *expected, "{files:?}");
        }
    }

    #[test]
    fn reasons_name_every_changed_input() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let apps = apps();
        let files = vec![
            "sources/charts/one/Chart.yaml".to_owned(),
            "sources/values/env/dev/globals.yaml".to_owned(),
        ];
        let found = affected(root, &apps, &files);
        assert_eq!(
            found,
            [
                (
                    0,
                    vec![
                        Reason::ValueFile("sources/values/env/dev/globals.yaml".into()),
                        Reason::Chart("sources/charts/one/Chart.yaml".into()),
                    ]
                ),
                (
                    1,
                    vec![Reason::ValueFile(
                        "sources/values/env/dev/globals.yaml".into()
                    )]
                ),
                (
                    2,
                    vec![Reason::Chart("sources/charts/one/Chart.yaml".into())]
                ),
            ]
        );
        let changes = Changes {
            base: "origin/main".into(),
            merge_base: "0123456789abcdef".into(),
            files,
        };
        let named: Vec<(String, Vec<Reason>)> = found
            .into_iter()
            .map(|(i, r)| (apps[i].name.clone(), r))
            .collect();
        assert_eq!(
            summary(&changes, &named, 4),
            "changed: 2 files since 0123456789ab (merge-base of HEAD and origin/main) select 3 of 4 Applications (2 by chart, 2 by value file): dev-a, dev-b, prod-a; --json lists each with why"
        );
    }
}
