//! Offline discovery: the Applications Argo CD will generate from the ApplicationSets.
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

mod glob;
mod gotemplate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map as JsonMap, Value as Json};
use serde_yaml::{Mapping, Value};
use xshell::Shell;

use super::cache::Cache;
use super::names::{digest, NameList};
use super::problem::{line_of_key, Problem};
use crate::layout;

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

const API_VERSION: &str = "argoproj.io/v1alpha1";
/// Added by the ApplicationSet controller unless `preserveResourcesOnDeletion` (Argo CD's
/// `RenderTemplateParams`).
const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

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

/// One ApplicationSet document and what it says about templating.
struct AppSet<'a> {
    path: &'a str,
    text: &'a str,
    doc: Value,
    name: String,
    namespace: String,
    missing_key_error: bool,
}

/// One parameter set of a generator, and the files its values came from.
#[derive(Clone, Debug, PartialEq)]
struct ParamSet {
    /// The parameters as compact JSON (keys in order): a matrix makes thousands of sets, and as
    /// trees they were most of discovery's memory. Read back with [`ParamSet::map`].
    params: String,
    files: Vec<String>,
}

/// A string field of the template: where it is, for the messages and to put the result back.
#[derive(Clone, Debug)]
struct Leaf {
    path: Vec<Step>,
    text: String,
}

#[derive(Clone, Debug)]
enum Step {
    Key(Value),
    Index(usize),
}

impl<'a> AppSet<'a> {
    fn new(path: &'a str, text: &'a str, doc: Value) -> AppSet<'a> {
        let options = doc["spec"]["goTemplateOptions"].as_sequence();
        let missing_key_error = options
            .into_iter()
            .flatten()
            .any(|o| o.as_str().map(|s| s.replace(' ', "")) == Some("missingkey=error".into()));
        AppSet {
            path,
            text,
            name: doc["metadata"]["name"].as_str().unwrap_or("?").to_owned(),
            namespace: doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("argocd")
                .to_owned(),
            missing_key_error,
            doc,
        }
    }

    fn problem(&self, key: &str, message: impl Into<String>) -> Problem {
        Problem::new(self.path, line_of_key(self.text, key), RULE_APPSET, message)
    }

    /// Generates this ApplicationSet's Applications a chunk of parameter sets at a time, handing
    /// each chunk's to `emit`; returns the problems.
    fn generate(
        &self,
        sh: &Shell,
        helm: &Path,
        root: &Path,
        cache: Option<&Cache>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
    ) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        let spec = &self.doc["spec"];
        if spec["goTemplate"].as_bool() != Some(true) {
            problems.push(self.problem(
                "goTemplate",
                format!(
                    "ApplicationSet {}: only goTemplate: true is emulated offline; set it (with goTemplateOptions: [\"missingkey=error\"])",
                    self.name
                ),
            ));
            return Ok(problems);
        }
        let mut generators = Vec::new();
        for generator in spec["generators"].as_sequence().into_iter().flatten() {
            if generator.get("template").is_some() {
                problems.push(self.problem(
                    "template",
                    "a generator-level template override is not emulated offline; move it into spec.template",
                ));
                continue;
            }
            generators.extend(self.params(root, generator, &mut problems));
        }
        if generators.is_empty() {
            return Ok(problems);
        }

        let template = spec.get("template").cloned().unwrap_or(Value::Null);
        let mut leaves = Vec::new();
        collect_leaves(&template, &mut Vec::new(), &mut leaves);
        let patch = spec["templatePatch"].as_str();
        let mut texts: Vec<&str> = leaves.iter().map(|l| l.text.as_str()).collect();
        texts.extend(patch);
        let mut prepared = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let p = gotemplate::prepare(text, self.missing_key_error);
            for function in &p.helm_only {
                problems.push(self.problem(
                    self.field_key(&leaves, i),
                    format!(
                        "{}: function \"{function}\" is helm's, not Argo CD's: the ApplicationSet controller fails to parse this template",
                        self.field_name(&leaves, i)
                    ),
                ));
            }
            prepared.push(p.text);
        }
        let mut chunks = Chunks {
            appset: self,
            sh,
            helm,
            cache,
            template: &template,
            leaves: &leaves,
            prepared: &prepared,
            has_patch: patch.is_some(),
            sets: Vec::with_capacity(CHUNK),
            unparsable: false,
        };
        for generator in &generators {
            generator.each(self, root, &mut |item| match item {
                Ok(set) => chunks.push(set, &mut problems, emit),
                Err(problem) => {
                    problems.push(problem);
                    Ok(())
                }
            })?;
        }
        chunks.flush(&mut problems, emit)?;
        Ok(problems)
    }

    /// The key to point at in the ApplicationSet file for rendered field `i`.
    fn field_key<'l>(&self, leaves: &'l [Leaf], i: usize) -> &'l str {
        match leaves.get(i) {
            Some(leaf) => match leaf.path.iter().rev().find_map(|s| match s {
                Step::Key(Value::String(k)) => Some(k.as_str()),
                _ => None,
            }) {
                Some(key) => key,
                None => "template",
            },
            None => "templatePatch",
        }
    }

    /// `template.metadata.name`, `template.spec.sources[0].path` or `templatePatch`.
    fn field_name(&self, leaves: &[Leaf], i: usize) -> String {
        match leaves.get(i) {
            Some(leaf) => format!("template{}", show_path(&leaf.path)),
            None => "templatePatch".to_owned(),
        }
    }

    /// The parameter sets of one generator, in Argo CD's order, produced on demand ([`Sets`]);
    /// `None` when the generator cannot be emulated (a problem says why).
    fn params(&self, root: &Path, generator: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
        let Some(map) = generator.as_mapping() else {
            problems.push(self.problem("generators", "a generator must be a map"));
            return None;
        };
        if generator.get("selector").is_some() {
            problems.push(self.problem(
                "selector",
                "generator selectors are not emulated offline; remove the selector or filter in the files pattern",
            ));
            return None;
        }
        let kinds: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
        match kinds.as_slice() {
            ["git"] => self.git_files(root, &generator["git"], problems),
            ["list"] => self.list(&generator["list"], problems),
            ["matrix"] => self.matrix(root, &generator["matrix"], problems),
            other => {
                problems.push(self.problem(
                    other.first().copied().unwrap_or("generators"),
                    format!(
                        "unsupported generator {}: verify emulates git files, list and matrix generators only, so it cannot know which Applications this one generates",
                        other.join("+")
                    ),
                ));
                None
            }
        }
    }

    /// Argo CD's matrix: the second child's sets for each of the first child's, combined pairwise.
    /// With goTemplate, Argo CD merges them with mergo (`applicationset/generators/matrix.go`): maps
    /// merge key by key, and on a conflict the first child's value wins.
    fn matrix(&self, root: &Path, matrix: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
        let children = matrix["generators"].as_sequence().map_or(&[][..], |s| s);
        if children.len() != 2 {
            problems.push(self.problem(
                "matrix",
                format!(
                    "a matrix generator needs exactly two child generators, found {}",
                    children.len()
                ),
            ));
            return None;
        }
        if serde_yaml::to_string(&children[1]).is_ok_and(|t| t.contains("{{")) {
            problems.push(self.problem(
                "matrix",
                "the second child of a matrix uses parameters of the first; that is not emulated offline",
            ));
            return None;
        }
        let prefixes: Vec<Option<&str>> = children
            .iter()
            .map(|c| {
                let git = c.get("git")?;
                git.get("files")?;
                Some(git["pathParamPrefix"].as_str().unwrap_or_default())
            })
            .collect();
        if let [Some(a), Some(b)] = prefixes.as_slice() {
            if a == b {
                problems.push(self.problem(
                    "matrix",
                    format!(
                        "both git files children of the matrix write their path parameters under {:?}, so the second child's are lost; give one a different pathParamPrefix",
                        if a.is_empty() { "path".to_owned() } else { format!("{a}.path") }
                    ),
                ));
            }
        }
        let first = self.params(root, &children[0], problems);
        let second = self.params(root, &children[1], problems);
        Some(Sets::Matrix(
            Box::new(first.unwrap_or(Sets::List(Vec::new()))),
            Box::new(second.unwrap_or(Sets::List(Vec::new()))),
        ))
    }

    fn list(&self, list: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
        if list.get("elementsYaml").is_some() {
            problems.push(self.problem(
                "elementsYaml",
                "list elementsYaml is not emulated offline; use elements",
            ));
            return None;
        }
        let mut out = Vec::new();
        for element in list["elements"].as_sequence().into_iter().flatten() {
            match to_json(element) {
                Json::Object(params) => out.push(ParamSet::new(params, vec![self.path.to_owned()])),
                _ => problems.push(self.problem("elements", "a list element must be a map")),
            }
        }
        Some(Sets::List(out))
    }

    /// Argo CD's git files generator over the working tree (`applicationset/generators/git.go`):
    /// the matching files now, their parameter sets when [`Sets::each`] reads them.
    fn git_files(&self, root: &Path, git: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
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
        let mut excluded = Vec::new();
        for file in git["files"].as_sequence().into_iter().flatten() {
            let Some(pattern) = file["path"].as_str() else {
                problems.push(self.problem("files", "every files entry needs a path"));
                continue;
            };
            if file["exclude"].as_bool() == Some(true) {
                excluded.push(pattern);
                continue;
            }
            let found = match layout::files_under(root, &glob::literal_prefix(pattern)) {
                Ok(files) => files
                    .into_iter()
                    .filter(|f| glob::matches(pattern, f))
                    .collect::<Vec<_>>(),
                Err(err) => {
                    problems.push(self.problem("files", format!("cannot list {pattern}: {err}")));
                    continue;
                }
            };
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
            .filter(|file| !excluded.iter().any(|pattern| glob::matches(pattern, file)))
            .collect();
        Some(Sets::Files {
            files,
            prefix: prefix.to_owned(),
        })
    }

    /// The parameter sets of one file: a map gives one, a list one per element, an empty file one
    /// holding only the path parameters.
    fn file_params(&self, root: &Path, file: &str, prefix: &str) -> Result<Vec<ParamSet>, Problem> {
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

    /// Builds the Application from the rendered strings of one parameter set.
    fn application(
        &self,
        set: &ParamSet,
        template: &Value,
        leaves: &[Leaf],
        strings: &[String],
        has_patch: bool,
    ) -> Result<(Application, Vec<Problem>), String> {
        let mut app = template.clone();
        for (leaf, rendered) in leaves.iter().zip(strings) {
            if let Some(slot) = lookup_mut(&mut app, &leaf.path) {
                *slot = Value::String(rendered.clone());
            }
        }
        if !app.is_mapping() {
            app = Value::Mapping(Mapping::new());
        }
        let preserve =
            self.doc["spec"]["syncPolicy"]["preserveResourcesOnDeletion"].as_bool() == Some(true);
        let has_finalizers = app["metadata"]["finalizers"]
            .as_sequence()
            .is_some_and(|f| !f.is_empty());
        if !preserve && !has_finalizers {
            set_path(
                &mut app,
                &["metadata", "finalizers"],
                Value::Sequence(vec![RESOURCES_FINALIZER.into()]),
            );
        }
        if has_patch {
            let text = strings.get(leaves.len()).map_or("", String::as_str);
            let patch = parse_documents(text)
                .map_err(|err| {
                    format!(
                        "the templatePatch of ApplicationSet {} renders invalid YAML for the parameters from {} ({} at line {} of the rendered patch); Argo CD stops updating every Application of this ApplicationSet",
                        self.name,
                        set.files.join(" and "),
                        err.message,
                        err.line
                    )
                })?
                .into_iter()
                .next()
                .unwrap_or(Value::Null);
            match patch {
                Value::Null => {}
                Value::Mapping(_) => apply_patch(&mut app, &patch),
                _ => {
                    return Err(format!(
                        "the templatePatch of ApplicationSet {} does not render a map for the parameters from {}",
                        self.name,
                        set.files.join(" and ")
                    ))
                }
            }
        }
        if app["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            set_path(
                &mut app,
                &["metadata", "namespace"],
                Value::String(self.namespace.clone()),
            );
        }
        let mut manifest = Mapping::new();
        manifest.insert("apiVersion".into(), API_VERSION.into());
        manifest.insert("kind".into(), "Application".into());
        if let Value::Mapping(rest) = app {
            for (key, value) in rest {
                manifest.insert(key, value);
            }
        }
        let manifest = Value::Mapping(manifest);
        Ok(self.describe(set, manifest))
    }

    /// Reads the fields rendering and the rules need off a generated Application, with the
    /// problems of its sources.
    fn describe(&self, set: &ParamSet, manifest: Value) -> (Application, Vec<Problem>) {
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
            manifest: String::new(),
        };
        let problems = sources_problems(&app, &sources);
        app.manifest = serde_json::to_string(&manifest).unwrap_or_else(|_| "null".to_owned());
        (app, problems)
    }
}

impl ParamSet {
    fn new(params: JsonMap<String, Json>, files: Vec<String>) -> ParamSet {
        ParamSet {
            params: Json::Object(params).to_string(),
            files,
        }
    }

    /// The parameters.
    fn map(&self) -> JsonMap<String, Json> {
        serde_json::from_str(&self.params).unwrap_or_default()
    }

    /// The component file of a set: the last file under the components folder it came from.
    fn component_file<'s>(&'s self, appset: &'s str) -> &'s str {
        self.files
            .iter()
            .rev()
            .find(|f| f.starts_with(layout::COMPONENTS_DIR))
            .or(self.files.last())
            .map_or(appset, String::as_str)
    }
}

/// A value file as Argo CD resolves it: `$<ref>/<path>` against the source with that `ref` (this
/// repository: a repository path), anything else relative to the chart folder.
fn value_file_path(sources: &[&Value], chart: &str, file: &str) -> String {
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
fn sources_problems(app: &Application, sources: &[&Value]) -> Vec<Problem> {
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

/// The names generated so far, to find two Applications with the same name: Argo CD rejects the
/// later one. Of each Application only a digest of its name is kept, with the number of its
/// component file: 20 bytes, however long the name.
#[derive(Default)]
struct Names {
    /// The first 16 bytes of each name's sha256 (equal digests are equal names, as the render
    /// cache trusts too), with the number of the component file that generated it first.
    seen: HashMap<[u8; 16], u32>,
    /// The component files in the order first seen, and each one's number by a digest of its
    /// path: no small allocation per file.
    files: NameList,
    file_numbers: HashMap<[u8; 16], u32>,
    /// (first component file, later one) to the names both generate.
    clashes: BTreeMap<(u32, u32), Vec<String>>,
}

impl Names {
    fn file(&mut self, file: &str) -> u32 {
        let number = digest(file);
        if let Some(&i) = self.file_numbers.get(&number) {
            return i;
        }
        let i = u32::try_from(self.files.count()).expect("fewer than 4 billion component files");
        self.files.push(file);
        self.file_numbers.insert(number, i);
        i
    }

    /// Removes from `apps` every Application whose name an earlier one has.
    fn keep_first(&mut self, apps: &mut Vec<Application>) {
        apps.retain(|app| {
            let later = self.file(&app.component_file);
            let name = digest(&app.name);
            match self.seen.get(&name) {
                Some(&first) => {
                    self.clashes
                        .entry((first, later))
                        .or_default()
                        .push(app.name.clone());
                    false
                }
                None => {
                    self.seen.insert(name, later);
                    true
                }
            }
        });
    }

    /// One problem per pair of files, naming every Application they both generate.
    fn clashes(&self, root: &Path) -> Vec<Problem> {
        let file = |number: u32| -> &str {
            self.files
                .get(number as usize)
                .expect("every number was given to a file")
        };
        self.clashes
            .iter()
            .map(|(&(first, later), names)| {
                let (first, later) = (file(first), file(later));
                let text = std::fs::read_to_string(root.join(later)).unwrap_or_default();
                let (noun, verb, one) = if names.len() == 1 {
                    ("Application", "is", "one")
                } else {
                    ("Applications", "are", "ones")
                };
                Problem::new(
                    later,
                    line_of_key(&text, "name"),
                    RULE_DUPLICATE,
                    format!(
                        "{noun} {} {verb} generated from both {first} and {later}; Argo CD rejects the later {one} (from {later}); give one of the components another name",
                        names.join(", ")
                    ),
                )
            })
            .collect()
    }
}

/// A generator's parameter sets, produced on demand: a git files generator keeps only its file
/// list and reads each file when its sets are wanted, so that a matrix over thousands of
/// components never holds their product, nor even the components' parameters.
enum Sets {
    List(Vec<ParamSet>),
    Files {
        files: Vec<String>,
        prefix: String,
    },
    /// The second child's sets for each of the first child's; the second is read again for each.
    Matrix(Box<Sets>, Box<Sets>),
}

impl Sets {
    /// Hands every set, in Argo CD's order, to `f`, or the problem of a file that gives none.
    fn each(
        &self,
        appset: &AppSet,
        root: &Path,
        f: &mut dyn FnMut(Result<ParamSet, Problem>) -> Result<()>,
    ) -> Result<()> {
        match self {
            Sets::List(sets) => sets.iter().try_for_each(|set| f(Ok(set.clone()))),
            Sets::Files { files, prefix } => {
                for file in files {
                    crate::interrupt::check("reading the generators' files")?;
                    match appset.file_params(root, file, prefix) {
                        Ok(sets) => sets.into_iter().try_for_each(|set| f(Ok(set)))?,
                        Err(problem) => f(Err(problem))?,
                    }
                }
                Ok(())
            }
            Sets::Matrix(first, second) => first.each(appset, root, &mut |a| {
                let a = match a {
                    Ok(a) => a,
                    Err(problem) => return f(Err(problem)),
                };
                let first_params = a.map();
                second.each(appset, root, &mut |b| {
                    let b = match b {
                        Ok(b) => b,
                        Err(problem) => return f(Err(problem)),
                    };
                    let mut params = b.map();
                    merge_first_wins(&mut params, &first_params);
                    let mut files = a.files.clone();
                    files.extend(b.files);
                    f(Ok(ParamSet::new(params, files)))
                })
            }),
        }
    }
}

/// The parameter sets of one ApplicationSet waiting to be rendered, and what renders them: a
/// chunk at a time, so that only [`CHUNK`] sets and their Applications are ever held.
struct Chunks<'c> {
    appset: &'c AppSet<'c>,
    sh: &'c Shell,
    helm: &'c Path,
    cache: Option<&'c Cache>,
    template: &'c Value,
    leaves: &'c [Leaf],
    prepared: &'c [String],
    has_patch: bool,
    sets: Vec<ParamSet>,
    /// A template does not parse: nothing more is rendered (the problem is reported once).
    unparsable: bool,
}

impl Chunks<'_> {
    fn push(
        &mut self,
        set: ParamSet,
        problems: &mut Vec<Problem>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
    ) -> Result<()> {
        if self.unparsable {
            return Ok(());
        }
        self.sets.push(set);
        if self.sets.len() >= CHUNK {
            self.flush(problems, emit)?;
        }
        Ok(())
    }

    /// Renders the waiting sets and hands their Applications to `emit`.
    fn flush(
        &mut self,
        problems: &mut Vec<Problem>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
    ) -> Result<()> {
        let sets = std::mem::take(&mut self.sets);
        if sets.is_empty() || self.unparsable {
            return Ok(());
        }
        let this = self.appset;
        let values: Vec<&str> = sets.iter().map(|s| s.params.as_str()).collect();
        let rendered = match gotemplate::render(
            self.sh,
            self.helm,
            self.prepared,
            &values,
            self.cache,
        )? {
            gotemplate::Outcome::Rendered(rendered) => rendered,
            gotemplate::Outcome::Unparsable(failure) => {
                let (key, field) = match failure.template {
                    Some(i) => (
                        this.field_key(self.leaves, i),
                        this.field_name(self.leaves, i),
                    ),
                    None => ("template", "the template".to_owned()),
                };
                problems.push(Problem::new(
                        this.path,
                        line_of_key(this.text, key),
                        RULE_TEMPLATE,
                        format!(
                            "{field} of ApplicationSet {}: {}{}; Argo CD generates none of its Applications",
                            this.name,
                            failure.message,
                            argo_only_hint(&failure.message)
                        ),
                    ));
                self.unparsable = true;
                return Ok(());
            }
        };
        drop(values);
        let mut apps = Vec::with_capacity(sets.len());
        for (set, result) in sets.iter().zip(rendered) {
            let strings = match result {
                Ok(strings) => strings,
                Err(failure) => {
                    let field = failure.template.map_or("the template".to_owned(), |i| {
                        this.field_name(self.leaves, i)
                    });
                    problems.push(Problem::new(
                        set.component_file(this.path),
                        0,
                        RULE_TEMPLATE,
                        format!(
                            "ApplicationSet {} cannot render {field} with the parameters from {}: {}; Argo CD stops updating every Application of this ApplicationSet until it is fixed",
                            this.name,
                            set.files.join(" and "),
                            failure.message
                        ),
                    ));
                    continue;
                }
            };
            match this.application(set, self.template, self.leaves, &strings, self.has_patch) {
                Ok((app, sources)) => {
                    problems.extend(sources);
                    apps.push(app);
                }
                Err(message) => problems.push(Problem::new(
                    set.component_file(this.path),
                    0,
                    RULE_TEMPLATE,
                    message,
                )),
            }
        }
        drop(sets);
        emit(apps)
    }
}

/// Merges `over` into `base` the way mergo does for the matrix: maps merge key by key, anything
/// else from `over` replaces.
fn merge_first_wins(base: &mut JsonMap<String, Json>, over: &JsonMap<String, Json>) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Json::Object(existing)), Json::Object(inner)) => {
                merge_first_wins(existing, inner)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Applies a rendered templatePatch like Argo CD's strategic merge patch on an Application (whose
/// fields carry no list merge keys): maps merge key by key, lists and scalars replace, and `null`
/// removes the key.
pub fn apply_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Mapping(target), Value::Mapping(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else if let Some(existing) = target.get_mut(key).filter(|e| e.is_mapping()) {
                    apply_patch(existing, value);
                } else {
                    let mut value = value.clone();
                    drop_nulls(&mut value);
                    target.insert(key.clone(), value);
                }
            }
        }
        (target, patch) => {
            *target = patch.clone();
            drop_nulls(target);
        }
    }
}

fn drop_nulls(value: &mut Value) {
    if let Value::Mapping(map) = value {
        map.retain(|_, v| !v.is_null());
        for (_, v) in map.iter_mut() {
            drop_nulls(v);
        }
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

/// Argo CD's `utils.SanitizeName`: lowercase, anything but `[-a-z0-9.]` becomes '-', at most 253
/// characters, no leading or trailing '-' or '.'.
fn sanitize_name(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut out: String = lower
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '-',
        })
        .collect();
    if out.len() > 253 {
        let mut end = 253;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out.trim_matches(['-', '.']).to_owned()
}

/// Whether two repository URLs name the same repository (`.git` and a trailing '/' aside).
fn same_repo(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        u.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

fn collect_leaves(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Leaf>) {
    match value {
        Value::String(text) => out.push(Leaf {
            path: path.clone(),
            text: text.clone(),
        }),
        Value::Mapping(map) => {
            for (key, value) in map {
                path.push(Step::Key(key.clone()));
                collect_leaves(value, path, out);
                path.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, value) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect_leaves(value, path, out);
                path.pop();
            }
        }
        Value::Tagged(tagged) => collect_leaves(&tagged.value, path, out),
        _ => {}
    }
}

fn lookup_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut current = value;
    for step in path {
        if let Value::Tagged(tagged) = current {
            current = &mut tagged.value;
        }
        current = match step {
            Step::Key(key) => current.as_mapping_mut()?.get_mut(key)?,
            Step::Index(i) => current.as_sequence_mut()?.get_mut(*i)?,
        };
    }
    Some(current)
}

fn set_path(value: &mut Value, path: &[&str], new: Value) {
    let mut current = value;
    for (i, key) in path.iter().enumerate() {
        if !current.is_mapping() {
            *current = Value::Mapping(Mapping::new());
        }
        let map = current.as_mapping_mut().expect("made a mapping");
        if i == path.len() - 1 {
            map.insert((*key).into(), new);
            return;
        }
        current = map
            .entry((*key).into())
            .or_insert(Value::Mapping(Mapping::new()));
    }
}

fn show_path(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Key(Value::String(key)) => format!(".{key}"),
            Step::Key(other) => format!(".{}", scalar_text(other)),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

/// A hint when a template uses the functions Argo CD adds and helm lacks.
fn argo_only_hint(message: &str) -> String {
    for function in gotemplate::ARGO_ONLY {
        if message.contains(&format!("function \"{function}\" not defined")) {
            return format!(
                " (Argo CD's {function} is not available to verify's offline rendering; use sprig functions)"
            );
        }
    }
    String::new()
}

/// YAML converted to the JSON values Argo CD's parameters hold (sigs.k8s.io/yaml: keys become
/// strings, numbers become JSON numbers, tags are dropped).
fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Json::Null, Json::Number)
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (scalar_text(k), to_json(v)))
                .collect(),
        ),
        Value::Tagged(tagged) => to_json(&tagged.value),
    }
}

/// A YAML parse failure, with the 1-based line when known.
#[derive(Debug)]
struct ParseError {
    line: usize,
    message: String,
}

/// The documents of a YAML text the way Argo CD's sigs.k8s.io/yaml reads them: duplicate keys are
/// allowed (the last wins; the `yaml` rule reports them), an empty text is one null document.
fn parse_documents(text: &str) -> Result<Vec<Value>, ParseError> {
    let mut docs = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value =
            serde::Deserialize::deserialize(document).map_err(|err: serde_yaml::Error| {
                ParseError {
                    line: err.location().map_or(0, |l| l.line()),
                    message: err.to_string(),
                }
            })?;
        let Loose(value) = value;
        docs.push(value);
    }
    if docs.is_empty() {
        docs.push(Value::Null);
    }
    Ok(docs)
}

/// A YAML value read without serde_yaml's duplicate-key refusal.
struct Loose(Value);

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Loose, D::Error> {
        deserializer.deserialize_any(LooseVisitor).map(Loose)
    }
}

struct LooseVisitor;

impl<'de> serde::de::Visitor<'de> for LooseVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Loose::deserialize_inner(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Loose(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Mapping::new();
        while let Some((Loose(key), Loose(value))) = map.next_entry()? {
            out.insert(key, value);
        }
        Ok(Value::Mapping(out))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!tag x`): Argo CD ignores the tag.
        use serde::de::VariantAccess;
        let (_, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant::<Loose>().map(|Loose(v)| v)
    }
}

impl Loose {
    fn deserialize_inner<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        <Loose as serde::Deserialize>::deserialize(d).map(|Loose(v)| v)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn object(value: Json) -> JsonMap<String, Json> {
        match value {
            Json::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    /// An ApplicationSet over a scratch folder holding `files`.
    struct Scratch {
        root: std::path::PathBuf,
    }

    impl Scratch {
        fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
            let root =
                std::env::temp_dir().join(format!("xtask-appset-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for (path, text) in files {
                let target = root.join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(target, text).unwrap();
            }
            Scratch { root }
        }

        fn params(&self, file: &str, prefix: &str) -> Result<Vec<ParamSet>, Problem> {
            let appset = AppSet::new(
                "argocd/applicationsets/x.yaml",
                "",
                yaml("metadata: {name: x}"),
            );
            appset.file_params(&self.root, file, prefix)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn the_matrix_merges_maps_and_the_first_child_wins_conflicts() {
        // Second child's set, then the first child's merged over it, as Argo CD's mergo calls do.
        let mut params = object(json!({
            "name": "orders",
            "namespace": "from-component",
            "path": {"path": "a/b", "basename": "b"},
            "list": [1, 2],
        }));
        let first = object(json!({
            "env": "dev",
            "namespace": "ameide-dev",
            "path": {"basename": "cluster", "extra": true},
            "list": [3],
        }));
        merge_first_wins(&mut params, &first);
        assert_eq!(
            Json::Object(params),
            json!({
                "name": "orders",
                "namespace": "ameide-dev",
                "path": {"path": "a/b", "basename": "cluster", "extra": true},
                "list": [3],
                "env": "dev",
            })
        );
    }

    #[test]
    fn the_template_patch_merges_maps_replaces_lists_and_null_removes() {
        let mut app = yaml(
            "metadata: {name: a, labels: {x: '1', y: '2'}}\nspec: {sources: [{path: p}], project: p}",
        );
        let patch = yaml(
            "metadata: {labels: {y: null, z: '3'}}\nspec: {sources: [{path: q}, {ref: values}], syncPolicy: {automated: {prune: true, gone: null}}}",
        );
        apply_patch(&mut app, &patch);
        assert_eq!(
            app,
            yaml(
                "metadata: {name: a, labels: {x: '1', z: '3'}}\nspec: {sources: [{path: q}, {ref: values}], project: p, syncPolicy: {automated: {prune: true}}}"
            )
        );
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
        let scratch = Scratch::new(
            "files",
            &[
                ("c/map/component.yaml", "name: one\npath: mine\nn: 3\n"),
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
        assert_eq!(map[0].map()["n"], json!(3));
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

    #[test]
    fn template_leaves_are_the_string_fields() {
        let template = yaml(
            "metadata: {name: '{{ .name }}', labels: {'{{ .k }}': v}}\nspec: {sources: [{path: p, helm: {ignore: true}}], n: 3}",
        );
        let mut leaves = Vec::new();
        collect_leaves(&template, &mut Vec::new(), &mut leaves);
        let found: Vec<(String, &str)> = leaves
            .iter()
            .map(|l| (show_path(&l.path), l.text.as_str()))
            .collect();
        // Map keys are not rendered, as in Argo CD; booleans and numbers are no templates.
        assert_eq!(
            found,
            [
                (".metadata.name".to_owned(), "{{ .name }}"),
                (".metadata.labels.{{ .k }}".to_owned(), "v"),
                (".spec.sources[0].path".to_owned(), "p"),
            ]
        );
    }
}
