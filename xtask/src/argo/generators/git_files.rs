//! Argo CD's git files generator (`applicationset/generators/git.go`): one parameter set per
//! object of every matching file, with the file's path parameters.

use std::path::Path;

use crate::yaml::Value;
use serde_json::{Map as JsonMap, Value as Json};

use super::{Generator, ParamSet, Sets};
use crate::argo::application::same_repo;
use crate::argo::appset::AppSet;
use crate::argo::glob::{self, Globbing};
use crate::argo::names::sanitize_name;
use crate::argo::yaml::{parse_documents, to_json};
use crate::argo::RULE_GENERATOR_FILE;
use crate::layout;
use crate::verify::problem::Problem;

pub(crate) struct GitFiles;

impl Generator for GitFiles {
    fn params(
        &self,
        appset: &AppSet,
        _root: &Path,
        spec: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets> {
        appset.git_files(spec, problems)
    }
}

impl AppSet<'_> {
    /// Argo CD's git files generator over the working tree (`applicationset/generators/git.go`):
    /// the matching files now, their parameter sets when [`Sets::each`] reads them.
    pub(crate) fn git_files(&self, git: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
        let repo = git["repoURL"].as_str().unwrap_or_default();
        if !same_repo(repo, layout::REPO_URL) {
            problems.push(self.problem(
                "repoURL",
                format!(
                    "the git generator reads {repo:?}, not this repository ({}); verify can only read this working tree",
                    layout::REPO_URL
                ),
            ));
            return None;
        }
        for unsupported in ["directories", "values"] {
            if git.get(unsupported).is_some() {
                problems.push(self.problem(
                    unsupported,
                    format!("git generator {unsupported} are not emulated offline; use files"),
                ));
                return None;
            }
        }
        let prefix = git["pathParamPrefix"].as_str().unwrap_or_default();
        let mut included = std::collections::BTreeSet::new();
        let mut excluded = std::collections::BTreeSet::new();
        for file in git["files"].as_sequence().into_iter().flatten() {
            let Some(pattern) = file["path"].as_str() else {
                problems.push(self.problem("files", "every files entry needs a path"));
                continue;
            };
            // Excluded files are those the repo-server returns for the pattern too
            // (`generateParamsForGitFiles`, applicationset/generators/git.go).
            let found = match self.select(pattern) {
                Ok(found) => found,
                Err(message) => {
                    problems.push(self.problem("path", message));
                    return None;
                }
            };
            if file["exclude"].as_bool() == Some(true) {
                excluded.extend(found);
                continue;
            }
            if found.is_empty() {
                problems.push(self.problem(
                    "path",
                    format!("git files pattern {pattern} matches no file, so its generator yields no Application"),
                ));
            }
            included.extend(found);
        }
        // Matched files in sorted order (a BTreeSet), the excluded ones removed.
        let files = included
            .into_iter()
            .filter(|file| !excluded.contains(file))
            .collect();
        Some(Sets::Files {
            files,
            prefix: prefix.to_owned(),
        })
    }

    /// The files the repo-server returns for one pattern (`GetGitFiles`), or why it fails: Git
    /// refuses the pattern, or, under the new globbing, the pattern matches a folder, which the
    /// repo-server then cannot read.
    fn select(&self, pattern: &str) -> Result<Vec<String>, String> {
        let globbing = self.files.globbing;
        let fails = "the repo-server fails on it, and so does the git files generator (Argo CD stops updating every Application of this ApplicationSet)";
        let normalized = globbing
            .normalize(pattern)
            .map_err(|why| format!("git files pattern {why}; {fails}"))?;
        let candidates = self.files.under(&glob::literal_prefix(&normalized));
        if globbing == Globbing::Doublestar {
            let mut folders = candidates
                .iter()
                .flat_map(|f| f.match_indices('/').map(|(at, _)| &f[..at]))
                .filter(|folder| globbing.matches(&normalized, folder));
            if let Some(folder) = folders.next() {
                return Err(format!(
                    "git files pattern {pattern} matches the folder {folder} (the new globbing returns folders too), which the repo-server cannot read as a file; {fails}. End the pattern with a file name"
                ));
            }
        }
        Ok(candidates
            .into_iter()
            .filter(|f| globbing.matches(&normalized, f))
            .map(str::to_owned)
            .collect())
    }

    /// The parameter sets of one file: a map gives one, a list one per element, an empty file one
    /// holding only the path parameters.
    pub(crate) fn file_params(
        &self,
        root: &Path,
        file: &str,
        prefix: &str,
    ) -> Result<Vec<ParamSet>, Problem> {
        let unparseable = |line: usize, message: String| {
            Problem::new(
                file,
                line,
                RULE_GENERATOR_FILE,
                format!(
                    "{message}; the git files generator of ApplicationSet {} fails as a whole on it, and Argo CD stops updating every Application of this ApplicationSet",
                    self.name
                ),
            )
        };
        let text = std::fs::read_to_string(root.join(file))
            .map_err(|err| unparseable(0, format!("cannot be read ({err})")))?;
        let doc = parse_documents(&text)
            .map_err(|err| unparseable(err.line, format!("is not valid YAML ({})", err.message)))?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let objects: Vec<JsonMap<String, Json>> = match to_json(&doc) {
            Json::Null => vec![JsonMap::new()],
            Json::Object(map) => vec![map],
            Json::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Json::Object(map) => Ok(map),
                    Json::Null => Ok(JsonMap::new()),
                    other => Err(unparseable(
                        0,
                        format!("holds a list whose element {other} is not a map"),
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(unparseable(
                    0,
                    format!("holds {other}, neither a map nor a list of maps"),
                ))
            }
        };
        Ok(objects
            .into_iter()
            .map(|mut params| {
                // Written after the file's keys, so a key `path` (or the prefix) is overwritten.
                let path = path_params(file);
                if prefix.is_empty() {
                    params.insert("path".into(), path);
                } else {
                    let mut wrapper = JsonMap::new();
                    wrapper.insert("path".into(), path);
                    params.insert(prefix.into(), Json::Object(wrapper));
                }
                ParamSet::new(params, vec![file.to_owned()])
            })
            .collect())
    }
}

/// Argo CD's path parameters of a file (with goTemplate).
fn path_params(file: &str) -> Json {
    let dir = match file.rfind('/') {
        Some(i) => &file[..i],
        None => ".",
    };
    let basename = dir.rsplit('/').next().unwrap_or(dir);
    let filename = file.rsplit('/').next().unwrap_or(file);
    serde_json::json!({
        "path": dir,
        "basename": basename,
        "filename": filename,
        "basenameNormalized": sanitize_name(basename),
        "filenameNormalized": sanitize_name(filename),
        "segments": dir.split('/').collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn yaml(text: &str) -> Value {
        crate::yaml::from_str(text).unwrap()
    }

    /// An ApplicationSet over a scratch folder holding `files`.
    struct Tree(crate::scratch::Scratch);

    impl Tree {
        fn new(name: &str, files: &[(&str, &str)]) -> Tree {
            let dir = crate::scratch::Scratch::dir(&format!("xtask-appset-{name}")).unwrap();
            for (path, text) in files {
                let target = dir.path().join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(target, text).unwrap();
            }
            Tree(dir)
        }

        fn params(&self, file: &str, prefix: &str) -> Result<Vec<ParamSet>, Problem> {
            let files = crate::argo::repository::Files::default();
            let appset = AppSet::new(
                "argocd/applicationsets/x.yaml",
                "",
                yaml("metadata: {name: x}"),
                &files,
            );
            appset.file_params(self.0.path(), file, prefix)
        }
    }

    /// The files of `git` over `tree` with `globbing`, or the problems.
    fn selected(tree: &Tree, globbing: Globbing, git: &str) -> Result<Vec<String>, Vec<String>> {
        let sh = xshell::Shell::new().unwrap();
        let mut files = crate::argo::repository::Files::list(&sh, tree.0.path()).unwrap();
        files.globbing = globbing;
        let appset = AppSet::new(
            "argocd/applicationsets/x.yaml",
            "",
            yaml("metadata: {name: x}"),
            &files,
        );
        let mut problems = Vec::new();
        let git = yaml(&format!("{{repoURL: {}, {git}}}", layout::REPO_URL));
        match appset.git_files(&git, &mut problems) {
            Some(Sets::Files { files, .. }) if problems.is_empty() => Ok(files),
            _ => Err(problems.into_iter().map(|p| p.message).collect()),
        }
    }

    /// `generateParamsForGitFiles` (applicationset/generators/git.go): the files of every include
    /// pattern, less those of every exclude pattern, sorted.
    #[test]
    fn the_git_files_generator_selects_what_the_repo_server_returns() {
        let tree = Tree::new(
            "select",
            &[
                ("apps/a/component.yaml", ""),
                ("apps/b/component.yaml", ""),
                ("apps/b/deeper/component.yaml", ""),
                ("apps/skip/component.yaml", ""),
            ],
        );
        use Globbing::{Doublestar, Pathspec};
        // (name, globbing, the generator's files, the files selected or a problem's words)
        type Case<'c> = (&'c str, Globbing, &'c str, Result<&'c [&'c str], &'c str>);
        let cases: &[Case] = &[
            (
                "the default globbing: * crosses folders, an exclude removes what it selects",
                Pathspec,
                "files: [{path: apps/*/component.yaml}, {path: apps/skip, exclude: true}]",
                Ok(&["apps/a/component.yaml", "apps/b/component.yaml", "apps/b/deeper/component.yaml"]),
            ),
            (
                "the new globbing: * stays within a folder",
                Doublestar,
                "files: [{path: apps/*/component.yaml}, {path: apps/skip/*.yaml, exclude: true}]",
                Ok(&["apps/a/component.yaml", "apps/b/component.yaml"]),
            ),
            (
                "the new globbing: a pattern that matches a folder fails the generator, an exclude one too",
                Doublestar,
                "files: [{path: apps/*/component.yaml}, {path: 'apps/skip/**', exclude: true}]",
                Err("matches the folder apps/skip"),
            ),
            (
                "an absolute pattern fails the generator: git refuses it",
                Pathspec,
                "files: [{path: /apps/a/component.yaml}]",
                Err("is absolute"),
            ),
            (
                "a pattern matching nothing is reported",
                Pathspec,
                "files: [{path: nowhere/*.yaml}]",
                Err("matches no file"),
            ),
        ];
        for (name, globbing, git, expected) in cases {
            match (selected(&tree, *globbing, git), expected) {
                (Ok(found), Ok(expected)) => assert_eq!(&found, expected, "{name}"),
                (Err(found), Err(says)) => {
                    assert!(found.iter().any(|m| m.contains(says)), "{name}: {found:?}")
                }
                (found, expected) => panic!("{name}: {found:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn path_parameters_are_argo_cds() {
        assert_eq!(
            path_params("environments/_shared/components/apps/My_App/component.yaml"),
            json!({
                "path": "environments/_shared/components/apps/My_App",
                "basename": "My_App",
                "filename": "component.yaml",
                "basenameNormalized": "my-app",
                "filenameNormalized": "component.yaml",
                "segments": ["environments", "_shared", "components", "apps", "My_App"],
            })
        );
        assert_eq!(path_params("top.yaml")["path"], json!("."));
        assert_eq!(sanitize_name("-_Weird Name!.-"), "weird-name");
    }

    #[test]
    fn a_file_gives_one_set_per_object_and_path_params_are_written_last() {
        let scratch = Tree::new(
            "files",
            &[
                ("c/map/component.yaml", "name: one\npath: mine\ncount: 3\n"),
                ("c/list/component.yaml", "- name: a\n- name: b\n"),
                ("c/empty/component.yaml", ""),
                ("c/comment/component.yaml", "# nothing here\n"),
                ("c/dup/component.yaml", "name: first\nname: second\n"),
                ("c/scalar/component.yaml", "just text\n"),
                ("c/bad/component.yaml", "name: [oops\n"),
            ],
        );
        let names = |file: &str| -> Vec<Json> {
            scratch
                .params(file, "")
                .unwrap()
                .into_iter()
                .map(|s| s.map().get("name").cloned().unwrap_or(Json::Null))
                .collect()
        };
        let map = scratch.params("c/map/component.yaml", "").unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map[0].map()["count"], json!(3));
        // The file's own `path` is overwritten by the path parameters.
        assert_eq!(map[0].map()["path"]["basename"], json!("map"));
        assert_eq!(map[0].files, ["c/map/component.yaml"]);
        assert_eq!(names("c/list/component.yaml"), [json!("a"), json!("b")]);
        // An empty file: one set with only the path parameters.
        for empty in ["c/empty/component.yaml", "c/comment/component.yaml"] {
            let sets = scratch.params(empty, "").unwrap();
            assert_eq!(sets.len(), 1, "{empty}");
            assert_eq!(
                sets[0].map().keys().collect::<Vec<_>>(),
                ["path"],
                "{empty}"
            );
        }
        // Duplicate keys: the last wins, as with Argo CD's YAML reader.
        assert_eq!(names("c/dup/component.yaml"), [json!("second")]);
        let prefixed = scratch.params("c/map/component.yaml", "component").unwrap();
        assert_eq!(prefixed[0].map()["path"], json!("mine"));
        assert_eq!(
            prefixed[0].map()["component"]["path"]["path"],
            json!("c/map")
        );
        let scalar = scratch.params("c/scalar/component.yaml", "").unwrap_err();
        assert_eq!(
            (scalar.path.as_str(), scalar.rule),
            ("c/scalar/component.yaml", RULE_GENERATOR_FILE)
        );
        assert!(
            scalar.message.contains("neither a map nor a list"),
            "{}",
            scalar.message
        );
        let bad = scratch.params("c/bad/component.yaml", "").unwrap_err();
        assert_eq!((bad.path.as_str(), bad.line), ("c/bad/component.yaml", 2));
        assert!(bad.message.contains("fails as a whole"), "{}", bad.message);
    }
}
