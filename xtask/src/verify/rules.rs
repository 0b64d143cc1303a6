//! The convention rules of `verify` (SPEC sections 3, 5, 6 and 7), each reported as a Problem that
//! names the fix. `docs/verify-rules.md` documents every rule id.
//!
//! [`check`] reads the tree once into a [`Tree`] and runs every whole-tree rule on it; rules that
//! need the generated Applications take them from discovery. [`check_rendered`] runs the rules on
//! one Application's `helm template` output.

mod component;
mod drift;
mod secrets;
mod values;
mod yaml;

#[cfg(test)]
mod fixture;

use std::path::Path;

use crate::primitive::check_dns_label;

use super::appset::Application;
use super::problem::Problem;

pub use values::effective_values;

/// The folders whose files the rules read. Chart templates and chart `files/` are Go templates,
/// not YAML, so only the secret patterns look at them.
const TREE_DIRS: [&str; 4] = ["argocd", "config", "environments", "sources"];

/// Whole-tree rules (cheap; always run everywhere).
pub fn check(root: &Path, apps: &[Application]) -> Vec<Problem> {
    // Drift compares every generated file's documents with what the scaffolder writes; it runs as
    // the tree is read, so that only the documents the other rules read stay parsed.
    let mut problems = Vec::new();
    let tree = Tree::load_checking(root, &mut |file| problems.extend(drift::check_file(file)));
    let components = component::Component::all(&tree);
    problems.extend(tree.unreadable.iter().cloned());
    problems.extend(yaml::check(&tree));
    problems.extend(component::check(&tree, &components));
    problems.extend(application_names(&tree, apps));
    problems.extend(component::rollout_phases(&tree, &components, apps));
    problems.extend(values::orphans(&tree, &components, apps));
    problems.extend(values::image_policy(root, apps));
    problems.extend(secrets::literals(&tree));
    problems.sort();
    problems.dedup();
    problems
}

/// Rules on one Application's rendered manifests (multi-document YAML from helm template).
pub fn check_rendered(app: &Application, manifests: &str) -> Vec<Problem> {
    let mut problems = secrets::rendered(app, manifests);
    problems.sort();
    problems.dedup();
    problems
}

/// `application-name`: the generated names must be DNS-1123 labels within 63 characters, because
/// Argo CD copies them into the `app.kubernetes.io/instance` label. Duplicates are discovery's.
fn application_names(tree: &Tree, apps: &[Application]) -> Vec<Problem> {
    apps.iter()
        .filter_map(|app| {
            let rule = check_dns_label(&app.name).err()?;
            let line = tree
                .file(&app.component_file)
                .map_or(0, |f| yaml::line_of_path(&f.text, &["name"]));
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
    /// The parsed documents of a YAML file in scope; `None` for other files. Read by
    /// [`Tree::load_checking`], the documents are kept only where [`keeps_documents`] says (an
    /// empty list elsewhere when the file parsed); parse errors are always kept.
    pub docs: Option<Result<Vec<serde_yaml::Value>, serde_yaml::Error>>,
}

impl SourceFile {
    /// The first document, when the file parsed.
    pub fn doc(&self) -> Option<&serde_yaml::Value> {
        match &self.docs {
            Some(Ok(docs)) => docs.first(),
            _ => None,
        }
    }

    pub fn is_yaml(&self) -> bool {
        self.docs.is_some()
    }
}

/// Every file under [`TREE_DIRS`], read once, sorted by path.
pub(crate) struct Tree<'a> {
    pub root: &'a Path,
    pub files: Vec<SourceFile>,
    /// Files in scope that could not be read as text.
    pub unreadable: Vec<Problem>,
}

impl<'a> Tree<'a> {
    #[cfg(test)]
    pub fn load(root: &'a Path) -> Tree<'a> {
        Tree::read(root, None)
    }

    /// Every file like `Tree::load`, handing each file to `check` as soon as it is read and then letting go of
    /// the parsed documents the later rules do not read (see [`keeps_documents`]): with thousands
    /// of generated files, holding every parsed tree was most of the whole-tree rules' memory.
    pub fn load_checking(root: &'a Path, check: &mut dyn FnMut(&SourceFile)) -> Tree<'a> {
        Tree::read(root, Some(check))
    }

    fn read(root: &'a Path, mut check: Option<&mut dyn FnMut(&SourceFile)>) -> Tree<'a> {
        let mut paths = Vec::new();
        for dir in TREE_DIRS {
            walk(root, dir, &mut paths);
        }
        paths.sort();
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for path in paths {
            let yaml = is_yaml_in_scope(&path);
            match std::fs::read(root.join(&path)) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        let docs = yaml.then(|| yaml::parse_all(&text));
                        let mut file = SourceFile { path, text, docs };
                        if let Some(check) = check.as_mut() {
                            check(&file);
                            if let (false, Some(Ok(docs))) =
                                (keeps_documents(&file.path), &mut file.docs)
                            {
                                *docs = Vec::new();
                            }
                        }
                        files.push(file);
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
        Tree {
            root,
            files,
            unreadable,
        }
    }

    pub fn file(&self, path: &str) -> Option<&SourceFile> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// The files under a folder (a repository path without the trailing '/').
    pub fn under<'t>(&'t self, dir: &'t str) -> impl Iterator<Item = &'t SourceFile> + 't {
        self.files
            .iter()
            .filter(move |f| f.path.strip_prefix(dir).is_some_and(|r| r.starts_with('/')))
    }

    pub fn yaml_files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter().filter(|f| f.is_yaml())
    }
}

/// The files whose parsed documents the rules after [`Tree::load_checking`] read: the
/// ApplicationSets (rollout steps) and the component files.
fn keeps_documents(path: &str) -> bool {
    let under = |dir: &str| path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
    under(crate::layout::APPSETS_DIR)
        || (under(crate::layout::COMPONENTS_DIR) && path.ends_with("/component.yaml"))
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

fn walk(root: &Path, dir: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{dir}/{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
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

    #[test]
    fn the_repository_itself_passes() {
        let root = fixture::repo_root();
        let apps = fixture::applications(&root);
        assert!(!apps.is_empty());
        let problems: Vec<String> = check(&root, &apps).iter().map(|p| p.to_string()).collect();
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn a_copy_of_the_repository_passes() {
        let fx = Fixture::new();
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
