//! `source-pinned`: what Argo CD syncs is what main holds, from where the AppProject allows.
//!
//! A generator `revision`, a component's `chart.version` (the chart source's `targetRevision`) or
//! the `$values` source's `targetRevision` that names another branch would point an Application
//! at commits no one reviewed through this gate. Every one must equal [`layout::TRACKED_BRANCH`],
//! the branch Argo CD tracks, declared once. Every source's `repoURL` must be one the
//! Application's AppProject (`argocd/projects/*.yaml`) lists in `sourceRepos`; `project: default`
//! (which allows every repository and destination) and an unknown project are refused; and no
//! source mixes `plugin:` with `helm:` (Argo CD then runs the plugin, which verify cannot check).

use std::collections::BTreeMap;
use std::path::Path;

use crate::yaml::Value;

use super::yaml::{line_of_path, parse_all};
use super::{Application, Problem, SourceFile};
use crate::layout;

const RULE: &str = "source-pinned";

/// The generator revisions of an ApplicationSet file.
pub fn generators(file: &SourceFile) -> Vec<Problem> {
    if !file.path.starts_with(&format!("{}/", layout::APPSETS_DIR)) {
        return Vec::new();
    }
    let Some(Ok(docs)) = &file.docs else {
        return Vec::new();
    };
    let mut revisions = Vec::new();
    for doc in docs {
        git_revisions(&doc["spec"]["generators"], &mut revisions);
    }
    let lines: Vec<usize> = file
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("revision:"))
        .map(|(i, _)| i + 1)
        .collect();
    revisions
        .into_iter()
        .enumerate()
        .filter(|(_, revision)| revision.as_deref() != Some(layout::TRACKED_BRANCH))
        .map(|(i, revision)| {
            let shown = revision.unwrap_or_else(|| "(none: the repository's default branch)".to_owned());
            Problem::new(
                &file.path,
                lines.get(i).copied().unwrap_or(0),
                RULE,
                format!(
                    "a git generator reads revision {shown}; every generator must read `{}`, the branch Argo CD tracks (docs/repository.md), or Applications come from commits this gate never checked: set `revision: {}`",
                    layout::TRACKED_BRANCH,
                    layout::TRACKED_BRANCH
                ),
            )
        })
        .collect()
}

/// The `revision` of every git generator, nested ones (matrix, merge) included, in file order.
fn git_revisions(value: &Value, out: &mut Vec<Option<String>>) {
    match value {
        Value::Mapping(map) => {
            for (key, v) in map {
                if key.as_str() == Some("git") && v.is_mapping() {
                    out.push(v["revision"].as_str().map(str::to_owned));
                }
                git_revisions(v, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| git_revisions(i, out)),
        _ => {}
    }
}

/// The AppProjects of the repository: name to `sourceRepos`.
fn projects(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut found = BTreeMap::new();
    let dir = root.join("argocd/projects");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for doc in parse_all(&text).unwrap_or_default() {
            if doc["kind"].as_str() != Some("AppProject") {
                continue;
            }
            let Some(name) = doc["metadata"]["name"].as_str() else {
                continue;
            };
            let repos = doc["spec"]["sourceRepos"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            found.insert(name.to_owned(), repos);
        }
    }
    found
}

/// The sources, revisions and project of each generated Application, with the Application each
/// problem was found through.
pub fn applications(root: &Path, apps: &[Application]) -> Vec<(Problem, String)> {
    let projects = projects(root);
    let mut found = Vec::new();
    for app in apps {
        let manifest = app.manifest();
        if manifest.is_null() {
            continue; // built without one (the rules' fixtures): no sources to judge
        }
        let spec = &manifest["spec"];
        let component = std::fs::read_to_string(root.join(&app.component_file)).unwrap_or_default();
        let at_component = |path: &[&str]| {
            Problem::new(
                &app.component_file,
                line_of_path(&component, path),
                RULE,
                String::new(),
            )
        };
        let mut push = |mut problem: Problem, message: String| {
            problem.message = message;
            found.push((problem, app.name.clone()));
        };
        let project = spec["project"].as_str().unwrap_or_default();
        let allowed = projects.get(project);
        if project == "default" || allowed.is_none() {
            push(
                at_component(&["project"]),
                format!(
                    "project {project:?} {}; use an AppProject of argocd/projects/ ({})",
                    if project == "default" {
                        "is Argo CD's default project, which allows every repository, destination and kind"
                    } else {
                        "is not an AppProject of this repository"
                    },
                    projects.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        let sources: Vec<&serde_json::Value> = match spec["sources"].as_array() {
            Some(list) => list.iter().collect(),
            None => spec.get("source").into_iter().collect(),
        };
        for source in sources {
            let is_ref = source.get("ref").is_some();
            let here = || match is_ref {
                true => Problem::new(&app.appset, 0, RULE, String::new()),
                false => at_component(&["chart", "version"]),
            };
            let revision = source["targetRevision"].as_str().unwrap_or_default();
            if revision != layout::TRACKED_BRANCH {
                let what = match is_ref {
                    true => "the `$values` source's targetRevision",
                    false => "chart.version (the chart source's targetRevision)",
                };
                push(
                    here(),
                    format!(
                        "{what} is {revision:?}; it must be `{}`, the branch Argo CD tracks (docs/repository.md), or the Application syncs commits this gate never checked: set it to {}",
                        layout::TRACKED_BRANCH,
                        layout::TRACKED_BRANCH
                    ),
                );
            }
            let repo = source["repoURL"].as_str().unwrap_or_default();
            if let Some(allowed) = allowed {
                let listed = allowed
                    .iter()
                    .any(|a| a == "*" || crate::argo::same_repo(a, repo));
                if !listed {
                    push(
                        here(),
                        format!(
                            "source repoURL {repo:?} is not in the sourceRepos of AppProject {project:?} ({}); Argo CD refuses the Application: use one of them",
                            allowed.join(", ")
                        ),
                    );
                }
            }
            if source.get("plugin").is_some() && source.get("helm").is_some() {
                push(
                    Problem::new(&app.appset, 0, RULE, String::new()),
                    "a source sets both plugin: and helm:; Argo CD then runs the plugin, whose output verify cannot render or check: keep helm: only".to_owned(),
                );
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;

    fn rules(problems: &[super::Problem]) -> Vec<(String, String)> {
        problems
            .iter()
            .filter(|p| p.rule == super::RULE)
            .map(|p| (p.path.clone(), p.message.clone()))
            .collect()
    }

    #[test]
    fn the_repository_pins_everything_to_the_tracked_branch() {
        let fx = Fixture::new();
        assert_eq!(rules(&fx.check()), Vec::new());
    }

    #[test]
    fn a_generator_reading_another_branch_is_refused_at_its_line() {
        let fx = Fixture::new();
        let appset = "argocd/applicationsets/ameide.yaml";
        let text = fx
            .read(appset)
            .replacen("revision: main", "revision: feature-x", 1);
        fx.write(appset, &text);
        let found: Vec<super::Problem> = fx
            .check()
            .into_iter()
            .filter(|p| p.rule == super::RULE)
            .collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        let line = text
            .lines()
            .position(|l| l.contains("revision: feature-x"))
            .unwrap()
            + 1;
        assert_eq!((found[0].path.as_str(), found[0].line), (appset, line));
        assert!(
            found[0].message.contains("revision feature-x"),
            "{}",
            found[0].message
        );
    }
}
