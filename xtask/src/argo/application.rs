//! The Application the ApplicationSet controller creates (`pkg/apis/application/v1alpha1`), reduced
//! to what rendering and the rules read off it, with the sources Argo CD resolves its value files
//! against.

use std::collections::BTreeMap;

use crate::yaml::Value;
use serde_json::Value as Json;

use super::appset::AppSet;
use super::generators::ParamSet;
use super::yaml::scalar_text;
use super::RULE_SOURCE;
use crate::layout;
use crate::verify::problem::Problem;

/// One generated Argo CD Application, reduced to what rendering and the rules need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// `<env>-<component>`.
    pub name: String,
    /// The ApplicationSet file that generated it.
    pub appset: String,
    /// The component.yaml it came from.
    pub component_file: String,
    pub env: String,
    pub namespace: String,
    /// `spec.sources[chart].path`, a repository path.
    pub chart: String,
    pub release: String,
    /// The value files in order as repository paths (`$values/` removed), present or not.
    pub value_files: Vec<String>,
    /// `metadata.labels` of the Application.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `helm.ignoreMissingValueFiles` of the chart source.
    pub ignore_missing_value_files: bool,
    /// `spec.project`, read off the manifest once: the AppProject rules ask for it per object.
    pub project: Option<String>,
    /// The whole rendered Application, as Argo CD would create it, as compact JSON (keys in
    /// order). Text, not a parsed tree: with thousands of Applications the trees dominated
    /// discovery's memory, and only `cargo xtask apps` reads it back.
    pub manifest: String,
}

impl Application {
    /// [`Application::manifest`] parsed.
    pub fn manifest(&self) -> Json {
        serde_json::from_str(&self.manifest).unwrap_or(Json::Null)
    }
}

/// `spec.sources`, or `spec.source` alone.
fn sources(manifest: &Value) -> Vec<&Value> {
    let spec = &manifest["spec"];
    match spec["sources"].as_sequence() {
        Some(list) => list.iter().collect(),
        None => spec.get("source").into_iter().collect(),
    }
}

impl AppSet<'_> {
    /// Reads the fields rendering and the rules need off a generated Application, with the
    /// problems of its sources.
    pub(crate) fn describe(&self, set: &ParamSet, manifest: Value) -> (Application, Vec<Problem>) {
        let name = manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let spec = &manifest["spec"];
        let sources = sources(&manifest);
        let chart_source = sources
            .iter()
            .find(|s| s.get("path").is_some() && s.get("ref").is_none());
        let chart = chart_source
            .filter(|s| same_repo(s["repoURL"].as_str().unwrap_or_default(), layout::REPO_URL))
            .and_then(|s| s["path"].as_str())
            .map(|p| layout::join("", p).unwrap_or_else(|| p.to_owned()))
            .unwrap_or_default();
        let helm = chart_source.map(|s| &s["helm"]);
        let release = helm
            .and_then(|h| h["releaseName"].as_str())
            .filter(|r| !r.is_empty())
            .unwrap_or(&name)
            .to_owned();
        let value_files = helm
            .and_then(|h| h["valueFiles"].as_sequence())
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|file| value_file_path(&sources, &chart, file))
            .collect();
        let labels = manifest["metadata"]["labels"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar_text(v))))
            .collect::<BTreeMap<_, _>>();
        let ignore_missing_value_files = helm
            .and_then(|h| h["ignoreMissingValueFiles"].as_bool())
            .unwrap_or(false);
        let mut app = Application {
            name,
            appset: self.path.to_owned(),
            component_file: set.component_file(self.path).to_owned(),
            env: set
                .map()
                .get("env")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned(),
            namespace: spec["destination"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            chart,
            release,
            value_files,
            labels,
            ignore_missing_value_files,
            project: spec["project"].as_str().map(str::to_owned),
            manifest: String::new(),
        };
        let problems = sources_problems(&app, &sources);
        app.manifest = serde_json::to_string(&manifest).unwrap_or_else(|_| "null".to_owned());
        (app, problems)
    }
}

/// A value file as Argo CD resolves it: `$<ref>/<path>` against the source with that `ref` (this
/// repository: a repository path), anything else relative to the chart folder.
pub(crate) fn value_file_path(sources: &[&Value], chart: &str, file: &str) -> String {
    if let Some(rest) = file.strip_prefix('$') {
        let (reference, path) = rest.split_once('/').unwrap_or((rest, ""));
        let source = sources
            .iter()
            .find(|s| s["ref"].as_str() == Some(reference));
        return match source {
            Some(s) if same_repo(s["repoURL"].as_str().unwrap_or_default(), layout::REPO_URL) => {
                layout::join("", path).unwrap_or_else(|| file.to_owned())
            }
            _ => file.to_owned(),
        };
    }
    layout::join(chart, file).unwrap_or_else(|| file.to_owned())
}

/// Problems with the sources of a generated Application that keep verify from rendering it the
/// way Argo CD would.
pub(crate) fn sources_problems(app: &Application, sources: &[&Value]) -> Vec<Problem> {
    let mut messages = Vec::new();
    for source in sources {
        let repo = source["repoURL"].as_str().unwrap_or_default();
        if !same_repo(repo, layout::REPO_URL) {
            messages.push(format!(
                "a source reads {repo:?}, not this repository ({}), so verify cannot render it",
                layout::REPO_URL
            ));
        }
        for key in ["values", "valuesObject", "parameters", "fileParameters"] {
            if source["helm"].get(key).is_some() {
                messages.push(format!(
                    "helm.{key} is not rendered offline; put the values in a value file"
                ));
            }
        }
    }
    if app.chart.is_empty() && messages.is_empty() {
        messages.push("no source holds a chart path of this repository".to_owned());
    }
    for file in &app.value_files {
        if file.starts_with('$') {
            messages.push(format!(
                "value file {file} does not name a ref source of this repository"
            ));
        }
    }
    messages
        .into_iter()
        .map(|m| {
            Problem::new(
                &app.component_file,
                0,
                RULE_SOURCE,
                format!("Application {}: {m}", app.name),
            )
        })
        .collect()
}

/// Whether two repository URLs name the same repository (`.git` and a trailing '/' aside).
pub(crate) fn same_repo(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        u.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn yaml(text: &str) -> Value {
        crate::yaml::from_str(text).unwrap()
    }

    #[test]
    fn value_files_resolve_like_argo_cd() {
        let sources = [
            yaml("{repoURL: 'https://github.com/ameideio/ameide-gitops.git', path: sources/charts/x}"),
            yaml("{repoURL: 'https://github.com/ameideio/ameide-gitops', ref: values}"),
            yaml("{repoURL: 'https://example.com/other.git', ref: other}"),
        ];
        let sources: Vec<&Value> = sources.iter().collect();
        let chart = "sources/charts/x";
        assert_eq!(
            value_file_path(&sources, chart, "$values/sources/values/base/globals.yaml"),
            "sources/values/base/globals.yaml"
        );
        assert_eq!(
            value_file_path(&sources, chart, "values-prod.yaml"),
            "sources/charts/x/values-prod.yaml"
        );
        assert_eq!(
            value_file_path(&sources, chart, "../y/./values.yaml"),
            "sources/charts/y/values.yaml"
        );
        // Another repository's ref stays as written (and is reported).
        assert_eq!(
            value_file_path(&sources, chart, "$other/values.yaml"),
            "$other/values.yaml"
        );
        assert_eq!(layout::join("a", "../../x"), None);
    }
}
