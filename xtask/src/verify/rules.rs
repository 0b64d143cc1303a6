//! The convention rules of `verify` (docs/conventions.md#component-files, #the-two-charts, #primitives-and-their-names, #what-the-scaffolder-writes), each reported as a Problem that
//! names the fix. `docs/verify-rules.md` documents every rule id.
//!
//! [`check`] reads the tree once into a [`Tree`] and runs every whole-tree rule on it; rules that
//! need the generated Applications take them from discovery. [`check_rendered`] runs the rules on
//! one Application's `helm template` output.

pub mod accepted;
pub mod argocd;
mod component;
pub mod crds;
mod drift;
mod pinned;
pub mod project;
pub(crate) mod secrets;
mod values;
mod yaml;

#[cfg(test)]
pub mod fixture;

use std::path::Path;

use crate::layout;
use crate::primitive::check_dns_label;

use super::names::NameList;
use super::problem::Problem;
use crate::argo::Application;

pub use values::effective_values;

/// The folders whose files the rules read. Chart templates and chart `files/` are Go templates,
/// not YAML, so only the secret patterns look at them.
pub(crate) const TREE_DIRS: [&str; 4] = ["argocd", "config", "environments", "sources"];

/// Whole-tree rules (cheap; always run everywhere), on the tree and `apps` at once.
#[cfg(test)]
pub fn check(root: &Path, apps: &[Application]) -> Vec<Problem> {
    let ((), problems) = with_checker(root, |checker| {
        checker.applications(apps);
        Ok(())
    })
    .expect("the closure does not fail");
    problems
}

/// Runs the whole-tree rules that read only the tree, then `f` with a [`Checker`] for the rules
/// that need the generated Applications too, fed a chunk at a time; returns what `f` returned and
/// every problem found.
///
/// The rules on one file run as the tree is read; what the rules across files need of each is
/// noted then ([`component::Components`]), and each file's text and documents are let go (but
/// the ApplicationSets'): with thousands of components, holding every file was most of the
/// rules' memory.
pub fn with_checker<R>(
    root: &Path,
    f: impl FnOnce(&mut Checker) -> anyhow::Result<R>,
) -> anyhow::Result<(R, Vec<Problem>)> {
    let mut problems = Vec::new();
    let argocd = argocd::ArgoCd::load(root)
        .map_err(|p| problems.push(p))
        .ok();
    let mut components = component::Components::default();
    let mut steps = component::RolloutSteps::default();
    let mut index = Index {
        root,
        paths: NameList::default(),
        yaml: Vec::new(),
    };
    let unreadable = read_each(root, &mut |file| {
        problems.extend(drift::check_file(&file));
        problems.extend(yaml::check(&file));
        problems.extend(component::check(root, &file, &mut components));
        problems.extend(secrets::literals(&file));
        problems.extend(pinned::generators(&file));
        if let Some(argocd) = &argocd {
            problems.extend(argocd.check_file(&file));
        }
        steps.add(&file);
        if looked_up_later(&file.path) {
            index.paths.push(&file.path);
            index.yaml.push(file.is_yaml());
        }
    });
    problems.extend(unreadable);
    problems.extend(components.smoke_workloads());
    let mut checker = Checker {
        index: &index,
        steps,
        problems,
        read: values::ValuesRead::new(&index),
        image: Vec::new(),
        argocd: argocd.as_ref(),
        projects: project::Projects::load(root),
        generated: Vec::new(),
    };
    let result = f(&mut checker)?;
    Ok((result, checker.finish()))
}

/// The whole-tree rules on the generated Applications, which it is fed a chunk at a time and
/// does not keep: of them it keeps only which files they read and the problems found.
pub struct Checker<'t> {
    index: &'t Index<'t>,
    steps: component::RolloutSteps,
    problems: Vec<Problem>,
    /// Per file of the index: whether an Application reads it (for `orphan-values`).
    read: values::ValuesRead,
    /// `image-policy` and `source-pinned` findings with their Application, grouped once at the end.
    image: Vec<(Problem, String)>,
    /// `argocd-schema` on the generated Applications, grouped likewise.
    argocd: Option<&'t argocd::ArgoCd>,
    /// `app-project` on the generated Applications, grouped with them.
    projects: project::Projects,
    generated: Vec<(Problem, String)>,
}

impl Checker<'_> {
    pub fn applications(&mut self, apps: &[Application]) {
        let root = self.index.root;
        self.problems.extend(application_names(root, apps));
        self.problems
            .extend(component::rollout_phases(root, &self.steps, apps));
        values::mark_read(self.index, apps, &mut self.read);
        self.image.extend(values::image_policy_found(root, apps));
        self.image.extend(pinned::applications(root, apps));
        if let Some(argocd) = self.argocd {
            self.generated
                .extend(apps.iter().flat_map(|app| argocd.check_application(app)));
        }
        let projects = &self.projects;
        self.generated
            .extend(apps.iter().flat_map(|app| projects.check_application(app)));
    }

    fn finish(mut self) -> Vec<Problem> {
        self.problems
            .extend(values::orphans(self.index, &self.read));
        self.problems.extend(self.steps.unused(self.index.root));
        self.problems.extend(super::problem::group_by_application(
            self.image,
            super::problem::Naming::After,
        ));
        self.problems.extend(super::problem::group_by_application(
            self.generated,
            super::problem::Naming::After,
        ));
        self.problems.sort();
        self.problems.dedup();
        self.problems
    }
}

/// Rules on one Application's rendered manifests (multi-document YAML from helm template).
pub fn check_rendered(app: &Application, manifests: &str) -> Vec<Problem> {
    let documents = secrets::documents(manifests);
    let mut problems = secrets::rendered(app, &documents);
    problems.extend(secrets::rendered_literals(app, &documents));
    problems.sort();
    problems.dedup();
    problems
}

/// `application-name`: the generated names must be DNS-1123 labels within 63 characters, because
/// Argo CD copies them into the `app.kubernetes.io/instance` label. Duplicates are discovery's.
fn application_names(root: &Path, apps: &[Application]) -> Vec<Problem> {
    apps.iter()
        .filter_map(|app| {
            let rule = check_dns_label(&app.name).err()?;
            let text = std::fs::read_to_string(root.join(&app.component_file)).unwrap_or_default();
            let line = yaml::line_of_path(&text, &["name"]);
            Some(Problem::new(
                &app.component_file,
                line,
                "application-name",
                format!(
                    "the Application \"{}\" generated for env {} {rule}; Argo CD copies it into the app.kubernetes.io/instance label, so shorten the component name",
                    app.name, app.env
                ),
            ))
        })
        .collect()
}

/// One file of the tree: its repository path, its text and, for YAML in scope, its documents.
pub(crate) struct SourceFile {
    pub path: String,
    pub text: String,
    /// The parsed documents of a YAML file in scope; `None` for other files.
    pub docs: Option<Result<Vec<crate::yaml::Value>, crate::yaml::Error>>,
}

impl SourceFile {
    /// The first document, when the file parsed.
    pub fn doc(&self) -> Option<&crate::yaml::Value> {
        match &self.docs {
            Some(Ok(docs)) => docs.first(),
            _ => None,
        }
    }

    pub fn is_yaml(&self) -> bool {
        self.docs.is_some()
    }
}

/// Every file under [`TREE_DIRS`], read at once and kept: for tests of the rules on files.
#[cfg(test)]
pub(crate) struct Tree {
    pub files: Vec<SourceFile>,
}

#[cfg(test)]
impl Tree {
    pub fn load(root: &Path) -> Tree {
        let mut files = Vec::new();
        read_each(root, &mut |file| files.push(file));
        Tree { files }
    }
}

/// Reads every file under [`TREE_DIRS`] once, in path order, and hands each to `each`, parsed
/// when it is YAML in scope; returns the problems of the files that could not be read. Nothing
/// is kept here: with thousands of generated files, holding every file's text and parsed tree
/// was most of the rules' memory.
fn read_each(root: &Path, each: &mut dyn FnMut(SourceFile)) -> Vec<Problem> {
    let mut paths = Vec::new();
    for dir in TREE_DIRS {
        // Through symlinks, as helm and Argo CD read through them: verify refuses the ones that
        // leave the repository or loop before the rules run (repo_fs.rs).
        let through_links = layout::Walk {
            follow_links: true,
            ..layout::Walk::EVERYTHING
        };
        paths.extend(layout::walk(root, dir, through_links).unwrap_or_default());
    }
    paths.sort();
    let mut unreadable = Vec::new();
    for path in paths {
        let yaml = is_yaml_in_scope(&path);
        match std::fs::read(root.join(&path)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let docs = yaml.then(|| yaml::parse_all(&text));
                    each(SourceFile { path, text, docs });
                }
                // Binary files (images, archives) are no YAML and hold no text secrets.
                Err(_) if !yaml => {}
                Err(_) => unreadable.push(Problem::new(
                    &path,
                    0,
                    "yaml-parse",
                    "is not UTF-8 text; save it as UTF-8",
                )),
            },
            Err(err) => unreadable.push(Problem::new(
                &path,
                0,
                "yaml-parse",
                format!("cannot be read ({err}); fix its permissions"),
            )),
        }
    }
    unreadable
}

/// The paths of the files the rules after the tree's read look up, sorted, and whether each is
/// YAML in scope: the value files and node profiles (`orphan-values`) and the cluster files.
pub(crate) struct Index<'a> {
    pub root: &'a Path,
    paths: NameList,
    yaml: Vec<bool>,
}

impl Index<'_> {
    /// The position of `path`, when it is indexed.
    pub fn position(&self, path: &str) -> Option<usize> {
        self.paths.position_sorted(path)
    }

    /// The YAML files under a folder (a repository path without the trailing '/'), with their
    /// positions.
    pub fn yaml_under<'t>(&'t self, dir: &'t str) -> impl Iterator<Item = (usize, &'t str)> + 't {
        self.paths.iter().enumerate().filter(move |(i, path)| {
            self.yaml[*i] && path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
        })
    }

    pub fn path(&self, position: usize) -> &str {
        self.paths.get(position).expect("a position of the index")
    }
}

/// Whether the rules after the tree's read look the file up by path (see [`Index`]).
fn looked_up_later(path: &str) -> bool {
    ["sources/values/", "config/"]
        .iter()
        .any(|dir| path.starts_with(dir))
}

/// YAML that Argo CD or Helm reads as data: everything `.yaml`/`.yml` under the tree except a
/// chart's `templates/` and `files/`, which hold Go templates.
fn is_yaml_in_scope(path: &str) -> bool {
    let yaml = path.ends_with(".yaml") || path.ends_with(".yml");
    let templated = path.starts_with("sources/charts/")
        && path
            .split('/')
            .any(|segment| segment == "templates" || segment == "files");
    yaml && !templated
}

/// The Levenshtein distance of two strings, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The closest candidate within a few edits, when there is one.
fn closest<'c>(target: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(target, c), c))
        .filter(|(d, _)| *d > 0 && *d <= 3)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::fixture::{self, Fixture};
    use super::*;

    /// The repository as git tracks it: what a clean clone holds, whatever else the working tree has.
    #[test]
    fn a_copy_of_the_repository_passes() {
        let fx = Fixture::new();
        assert!(!fixture::applications(fx.root()).is_empty());
        assert_eq!(fx.check_strings(), Vec::<String>::new());
    }

    #[test]
    fn application_names_over_63_characters_are_refused() {
        let fx = Fixture::new();
        // 53 characters: a valid Helm release; "production-" makes the Application 64.
        let name = format!("orders-{}", "x".repeat(46));
        let path = fx.component("platform", &name, "200");
        let problems = fx.check();
        let found = fixture::find(&problems, "application-name", &path);
        assert_eq!(found.line, 1);
        assert!(
            found.message.contains(&format!(
                "\"production-{name}\" generated for env production"
            )),
            "{}",
            found.message
        );
        assert!(found.message.contains("64 characters"), "{}", found.message);
    }

    #[test]
    fn edit_distance_and_closest() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(
            closest("apps/ordrs.yaml", ["apps/orders.yaml", "x"]),
            Some("apps/orders.yaml")
        );
        assert_eq!(closest("completely-else", ["apps/orders.yaml"]), None);
    }
}
