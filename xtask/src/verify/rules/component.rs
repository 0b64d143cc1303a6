//! The rules of component files (docs/conventions.md#component-files, #primitives-and-their-names): `component-schema`,
//! `component-forbidden-key`, `component-folder`, `component-domain`, `component-primitive`,
//! `chart-path`, `smoke-workload` and `rollout-phase`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use crate::yaml::{Mapping, Value};

use crate::layout;
use crate::primitive::{check_dns_label, check_release_name, Kind, Name, Primitive, Version};

use super::yaml::line_of_path;
use super::{Application, Problem, SourceFile};
use crate::verify::names::{digest, NameList};

const REQUIRED: [&str; 6] = [
    "name",
    "project",
    "domain",
    "componentType",
    "rolloutPhase",
    "chart",
];
const OPTIONAL: [&str; 3] = ["dependencyPhase", "syncOptions", "ignoreDifferences"];
const CHART_KEYS: [&str; 3] = ["repoURL", "path", "version"];
/// Each forbidden key with why.
const FORBIDDEN: [(&str, &str); 4] = [
    (
        "dependsOn",
        "ordering comes only from rolloutPhase (the RollingSync steps); remove it",
    ),
    (
        "path",
        "the git files generator overwrites `path` with its own path parameters; remove it",
    ),
    (
        "values",
        "inline values bypass the value layers; move them to sources/values/_shared/<domain>/<name>.yaml",
    ),
    (
        "namespace",
        "the namespace comes from the env entry of the cluster file; remove it",
    ),
];
pub const PRIMITIVE_PHASE: &str = "650";
pub const SMOKE_PHASE: &str = "699";

/// A component file of the tree, with what its location says.
pub struct Component<'t> {
    pub file: &'t SourceFile,
    /// The mapping, when the file parsed into one.
    pub doc: Option<&'t Mapping>,
    /// The folders between the components folder and the file.
    pub folders: Vec<&'t str>,
}

impl<'t> Component<'t> {
    /// The component of `file`, when it is a component file (`component.yaml` under the
    /// components folder).
    pub fn of(file: &'t SourceFile) -> Option<Component<'t>> {
        let relative = file
            .path
            .strip_prefix(layout::COMPONENTS_DIR)?
            .strip_prefix('/')?;
        if !file.path.ends_with("/component.yaml") {
            return None;
        }
        let mut folders: Vec<&str> = relative.split('/').collect();
        folders.pop();
        Some(Component {
            file,
            doc: file.doc().and_then(Value::as_mapping),
            folders,
        })
    }

    pub fn str(&self, key: &str) -> Option<&'t str> {
        self.doc?.get(key)?.as_str()
    }

    pub fn name(&self) -> Option<&'t str> {
        self.str("name")
    }

    pub fn is_primitive(&self) -> bool {
        self.file
            .path
            .starts_with(&format!("{}/", layout::PRIMITIVES_DIR))
    }

    fn line(&self, path: &[&str]) -> usize {
        line_of_path(&self.file.text, path)
    }

    fn problem(&self, line: usize, rule: &'static str, message: String) -> Problem {
        Problem::new(&self.file.path, line, rule, message)
    }
}

/// What the rules across component files need of each, kept as the tree is read so that the
/// files themselves can be let go: the names (for `smoke-workload`), the smokes, and each
/// component's domain and name (for `orphan-values`). Compact: one buffer per kind of string.
#[derive(Default)]
pub struct Components {
    /// Digests of every component's name.
    names: HashSet<[u8; 16]>,
    /// Each smoke's file, its name and the line of its name.
    smoke_files: NameList,
    smoke_names: NameList,
    smoke_lines: Vec<usize>,
    /// Each component's domain and name, when it has both.
    domains: NameList,
    ids: NameList,
}

impl Components {
    fn add(&mut self, c: &Component) {
        let Some(name) = c.name() else {
            return;
        };
        self.names.insert(digest(name));
        if name.ends_with("-smoke") {
            self.smoke_files.push(&c.file.path);
            self.smoke_names.push(name);
            self.smoke_lines.push(c.line(&["name"]));
        }
        if let Some(domain) = c.str("domain") {
            self.domains.push(domain);
            self.ids.push(name);
        }
    }

    /// `smoke-workload`: a smoke without its workload tests nothing.
    pub fn smoke_workloads(&self) -> Vec<Problem> {
        let smokes = self.smoke_files.iter().zip(self.smoke_names.iter());
        smokes
            .zip(&self.smoke_lines)
            .filter_map(|((path, name), line)| {
                let workload = name.strip_suffix("-smoke")?;
                (!self.names.contains(&digest(workload))).then(|| {
                    Problem::new(
                        path,
                        *line,
                        "smoke-workload",
                        format!("the smoke {name} has no workload component {workload}; scaffold the workload (cargo xtask scaffold-primitive --with-smoke) or delete the smoke"),
                    )
                })
            })
            .collect()
    }
}

/// The rules of one component file, which it notes in `components` for the rules across them.
pub fn check(root: &Path, file: &SourceFile, components: &mut Components) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(c) = Component::of(file) else {
        return problems;
    };
    components.add(&c);
    let Some(doc) = c.file.doc().filter(|d| !d.is_null()) else {
        // Unparseable files are yaml-parse's; an empty one yields no parameters at all.
        if matches!(c.file.docs, Some(Ok(_))) {
            problems.push(c.problem(
                0,
                "component-schema",
                "is empty; the git files generator turns it into an Application without a name (missingkey=error fails the whole ApplicationSet): write the component's fields or delete the file".to_owned(),
            ));
        }
        return problems;
    };
    let Some(doc) = doc.as_mapping() else {
        problems.push(c.problem(
            0,
            "component-schema",
            "must be one YAML mapping of the component's fields (docs/conventions.md#component-files); a list or a scalar makes the git files generator emit other parameter sets".to_owned(),
        ));
        return problems;
    };
    schema(&c, doc, &mut problems);
    location(&c, &mut problems);
    chart_path(root, &c, &mut problems);
    if c.is_primitive() {
        primitive(&c, &mut problems);
    }
    problems
}

fn schema(c: &Component, doc: &Mapping, problems: &mut Vec<Problem>) {
    let allowed: Vec<&str> = REQUIRED.iter().chain(&OPTIONAL).copied().collect();
    for key in doc.keys() {
        let Some(key) = key.as_str() else {
            problems.push(c.problem(
                0,
                "component-schema",
                format!(
                    "has a key that is not a string ({key:?}); keys are field names, e.g. name"
                ),
            ));
            continue;
        };
        if let Some((_, why)) = FORBIDDEN.iter().find(|(k, _)| *k == key) {
            problems.push(c.problem(
                c.line(&[key]),
                "component-forbidden-key",
                format!("`{key}` is not allowed in a component file: {why}"),
            ));
        } else if !allowed.contains(&key) {
            problems.push(c.problem(
                c.line(&[key]),
                "component-schema",
                format!(
                    "unknown key `{key}`; a component file holds only {} (docs/conventions.md#component-files): remove it or fix its spelling{}",
                    allowed.join(", "),
                    hint(key, &allowed)
                ),
            ));
        }
    }
    for key in REQUIRED {
        if !doc.contains_key(key) {
            problems.push(c.problem(
                0,
                "component-schema",
                format!(
                    "misses the required key `{key}` (docs/conventions.md#component-files), e.g. {}",
                    example(key)
                ),
            ));
        }
    }
    let mut wrong = |key: &str, line_path: &[&str], message: String| {
        problems.push(c.problem(
            c.line(line_path),
            "component-schema",
            format!("`{key}` {message}"),
        ));
    };
    if let Some(name) = doc.get("name") {
        match name.as_str() {
            Some(name) => {
                if let Err(rule) = check_release_name(name) {
                    wrong("name", &["name"], format!("\"{name}\" {rule}; it is the Helm release name and part of every Application name"));
                }
            }
            None => wrong(
                "name",
                &["name"],
                "must be a string, e.g. name: orders-api".to_owned(),
            ),
        }
    }
    if let Some(project) = doc.get("project") {
        if project.as_str() != Some("ameide") {
            wrong(
                "project",
                &["project"],
                "must be `ameide`, the AppProject that fences env-scoped components".to_owned(),
            );
        }
    }
    if let Some(domain) = doc.get("domain") {
        if domain.as_str().is_none() {
            wrong(
                "domain",
                &["domain"],
                "must be a string: the first folder under environments/_shared/components/"
                    .to_owned(),
            );
        }
    }
    for key in ["componentType", "dependencyPhase"] {
        if let Some(value) = doc.get(key) {
            let ok = value.as_str().is_some_and(|v| check_dns_label(v).is_ok());
            if !ok {
                wrong(
                    key,
                    &[key],
                    "must be a lowercase label value (letters, digits, '-'), e.g. workload"
                        .to_owned(),
                );
            }
        }
    }
    if let Some(phase) = doc.get("rolloutPhase") {
        let three_digits = phase
            .as_str()
            .is_some_and(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()));
        if !three_digits {
            let fix = match phase {
                Value::Number(n) => format!("quote it: rolloutPhase: \"{n}\" (unquoted, YAML reads a number, which loses leading zeros and is not the string the rollout-phase label and the RollingSync steps compare)"),
                _ => "write a quoted three-digit string, e.g. rolloutPhase: \"650\"".to_owned(),
            };
            wrong(
                "rolloutPhase",
                &["rolloutPhase"],
                format!("must be a quoted three-digit string; {fix}"),
            );
        }
    }
    match doc.get("chart") {
        None => {}
        Some(Value::Mapping(chart)) => {
            for key in chart.keys() {
                let key = key.as_str().unwrap_or("");
                if !CHART_KEYS.contains(&key) {
                    wrong("chart", &["chart", key], format!("has an unknown key `{key}`; chart holds only repoURL, path and version{}", hint(key, &CHART_KEYS)));
                }
            }
            for key in CHART_KEYS {
                if !chart.contains_key(key) {
                    wrong(
                        "chart",
                        &["chart"],
                        format!("misses `{key}`, e.g. {}", example(key)),
                    );
                }
            }
            if let Some(url) = chart.get("repoURL") {
                if url.as_str() != Some(layout::REPO_URL) {
                    wrong(
                        "chart.repoURL",
                        &["chart", "repoURL"],
                        format!(
                            "must be {} (charts come from this repository)",
                            layout::REPO_URL
                        ),
                    );
                }
            }
            if let Some(path) = chart.get("path") {
                if path.as_str().is_none_or(str::is_empty) {
                    wrong("chart.path", &["chart", "path"], "must be a folder under sources/charts/, e.g. sources/charts/foundation/common/raw-manifests".to_owned());
                }
            }
            if let Some(version) = chart.get("version") {
                if version.as_str().is_none_or(str::is_empty) {
                    wrong(
                        "chart.version",
                        &["chart", "version"],
                        "must be the git revision of the chart source, e.g. version: main"
                            .to_owned(),
                    );
                }
            }
        }
        Some(_) => wrong(
            "chart",
            &["chart"],
            "must be a mapping of repoURL, path and version".to_owned(),
        ),
    }
    if let Some(options) = doc.get("syncOptions") {
        let ok = options
            .as_sequence()
            .is_some_and(|s| s.iter().all(Value::is_string));
        if !ok {
            wrong("syncOptions", &["syncOptions"], "must be a list of strings, e.g. [ServerSideApply=true] (appended after CreateNamespace=true)".to_owned());
        }
    }
    if let Some(differences) = doc.get("ignoreDifferences") {
        let ok = differences
            .as_sequence()
            .is_some_and(|s| s.iter().all(Value::is_mapping));
        if !ok {
            wrong("ignoreDifferences", &["ignoreDifferences"], "must be a list of Argo CD ignoreDifferences entries (mappings with group, kind, jsonPointers, ...)".to_owned());
        }
    }
}

/// `component-folder` and `component-domain`.
fn location(c: &Component, problems: &mut Vec<Problem>) {
    let Some(folder) = c.folders.last() else {
        problems.push(c.problem(
            0,
            "component-domain",
            format!("a component file must live in <domain>/.../<name>/ under {}; move it into its domain folder", layout::COMPONENTS_DIR),
        ));
        return;
    };
    if let Some(name) = c.name() {
        if name != *folder {
            problems.push(c.problem(
                c.line(&["name"]),
                "component-folder",
                format!("name \"{name}\" differs from its folder \"{folder}\"; rename the folder to {name} (or the name to {folder})"),
            ));
        }
    }
    if c.folders.len() < 2 {
        problems.push(c.problem(
            0,
            "component-domain",
            format!("the folder {folder} sits directly under {}; put it inside its domain folder, e.g. platform/{folder}/", layout::COMPONENTS_DIR),
        ));
        return;
    }
    let expected = c.folders[0];
    if let Some(domain) = c.str("domain") {
        if domain != expected {
            problems.push(c.problem(
                c.line(&["domain"]),
                "component-domain",
                format!("domain \"{domain}\" is not the first folder under {} (\"{expected}\"); the value files are looked up under that domain: set domain: {expected} or move the folder", layout::COMPONENTS_DIR),
            ));
        }
    }
}

/// `chart-path`: a folder under sources/charts/ holding a Chart.yaml.
fn chart_path(root: &Path, c: &Component, problems: &mut Vec<Problem>) {
    let Some(path) = c.doc.and_then(|d| d.get("chart")?.get("path")?.as_str()) else {
        return;
    };
    if path.is_empty() {
        return;
    }
    let inside = path
        .strip_prefix(layout::CHARTS_DIR)
        .is_some_and(|r| r.starts_with('/') && r.len() > 1)
        && !path.ends_with('/')
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    let message = if !inside {
        format!("chart.path \"{path}\" must be a folder under {}/ (a repository path without ./, .. or a trailing /)", layout::CHARTS_DIR)
    } else if !root.join(path).join("Chart.yaml").is_file() {
        let charts: Vec<String> = layout::files_under(root, layout::CHARTS_DIR)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.strip_suffix("/Chart.yaml").map(str::to_owned))
            .collect();
        let near = super::closest(path, charts.iter().map(String::as_str))
            .map(|c| format!("; did you mean {c}?"))
            .unwrap_or_default();
        format!("chart.path \"{path}\" holds no Chart.yaml, so the Application cannot render{near}")
    } else {
        return;
    };
    problems.push(c.problem(c.line(&["chart", "path"]), "chart-path", message));
}

/// Splits a primitive component id `<kind>-<name>-<version>[-smoke]` with the naming types.
pub fn parse_component_id(id: &str) -> Result<(Primitive, bool), String> {
    let (base, smoke) = match id.strip_suffix("-smoke") {
        Some(base) => (base, true),
        None => (id, false),
    };
    let shape =
        || format!("\"{id}\" is not <kind>-<name>-<version>[-smoke], e.g. domain-orders-v0");
    let (kind, rest) = base.split_once('-').ok_or_else(shape)?;
    let (name, version) = rest.rsplit_once('-').ok_or_else(shape)?;
    let primitive = Primitive {
        kind: Kind::parse(kind)?,
        name: Name::parse(name)?,
        version: Version::parse(version)?,
    };
    Ok((primitive, smoke))
}

/// `component-primitive`: primitives follow docs/conventions.md#primitives-and-their-names.
fn primitive(c: &Component, problems: &mut Vec<Problem>) {
    if c.folders.len() != 3 {
        problems.push(c.problem(
            0,
            "component-primitive",
            format!(
                "a primitive lives directly in {}/<kind>-<name>-<version>[-smoke]/; move it there",
                layout::PRIMITIVES_DIR
            ),
        ));
    }
    let Some(name) = c.name() else {
        return;
    };
    let smoke = match parse_component_id(name) {
        Ok((_, smoke)) => smoke,
        Err(rule) => {
            problems.push(c.problem(
                c.line(&["name"]),
                "component-primitive",
                format!("a primitive's name must parse as <kind>-<name>-<version>[-smoke]: {rule}"),
            ));
            return;
        }
    };
    let (kind, phase) = if smoke {
        ("smoke", SMOKE_PHASE)
    } else {
        ("workload", PRIMITIVE_PHASE)
    };
    if let Some(actual) = c.str("componentType") {
        if actual != kind {
            problems.push(c.problem(
                c.line(&["componentType"]),
                "component-primitive",
                format!("componentType of {name} must be {kind} (primitives are workload, their smokes smoke)"),
            ));
        }
    }
    if let Some(actual) = c.str("rolloutPhase") {
        if actual != phase {
            problems.push(c.problem(
                c.line(&["rolloutPhase"]),
                "component-primitive",
                format!("rolloutPhase of {name} must be \"{phase}\" (primitives \"{PRIMITIVE_PHASE}\", their smokes \"{SMOKE_PHASE}\")"),
            ));
        }
    }
    if let Some(dependency) = c.str("dependencyPhase") {
        if dependency != layout::PRIMITIVES_DOMAIN {
            problems.push(c.problem(
                c.line(&["dependencyPhase"]),
                "component-primitive",
                format!(
                    "dependencyPhase of a primitive is \"{}\"",
                    layout::PRIMITIVES_DOMAIN
                ),
            ));
        }
    }
}

/// The RollingSync steps of each ApplicationSet that has them, by file, with how many
/// Applications each step selected so far.
#[derive(Default)]
pub struct RolloutSteps(BTreeMap<String, Vec<Step>>);

impl RolloutSteps {
    /// Notes the steps of `file` when it is an ApplicationSet with RollingSync.
    pub fn add(&mut self, file: &SourceFile) {
        let appset = file
            .path
            .strip_prefix(layout::APPSETS_DIR)
            .is_some_and(|r| r.starts_with('/'));
        if let Some(steps) = appset.then(|| file.doc().and_then(rolling_steps)).flatten() {
            self.0.insert(file.path.clone(), steps);
        }
    }

    /// `rollout-phase` on the ApplicationSets, once every Application was seen: a step that
    /// selects no Application, and a step with an operator other than `In` and `NotIn`
    /// (`EmptySteps` and `InvalidMatchExpressions` of Argo CD's
    /// `applicationset/progressivesync/validation_issues.go`).
    pub fn unused(&self, root: &Path) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (appset, steps) in &self.0 {
            let text = std::fs::read_to_string(root.join(appset)).unwrap_or_default();
            let line = line_of_path(&text, &["spec", "strategy", "rollingSync", "steps"]);
            for (i, step) in steps.iter().enumerate() {
                let n = i + 1;
                for e in &step.expressions {
                    if e.operator != "In" && e.operator != "NotIn" {
                        problems.push(Problem::new(appset, line, "rollout-phase", format!(
                            "RollingSync step {n} has invalid matchExpression operator {:?}; Argo CD supports only 'In' and 'NotIn' and selects no Application with it: use one of them",
                            e.operator
                        )));
                    }
                }
                if step.selected.get() == 0 {
                    problems.push(Problem::new(appset, line, "rollout-phase", format!(
                        "RollingSync step {n} selects no Application ({}); Argo CD reports the empty step: remove it or fix its matchExpressions",
                        step.describe()
                    )));
                }
            }
        }
        problems
    }
}

/// `rollout-phase`: with RollingSync, an Application that no step selects is never synced, and
/// one that two steps select is reported by Argo CD. Steps select by the Application's labels, as
/// `buildAppDependencyList` in `applicationset/progressivesync/progressive_sync.go` does: every
/// `matchExpressions` entry must hold (`In`: the label is present with one of the values;
/// `NotIn`: the label is absent or none of them), on any label.
pub fn rollout_phases(root: &Path, steps: &RolloutSteps, apps: &[Application]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for app in apps {
        let Some(steps) = steps.0.get(app.appset.as_str()) else {
            continue;
        };
        let selected: Vec<usize> = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.selects(&app.labels))
            .map(|(i, _)| i + 1)
            .collect();
        for &i in &selected {
            let step = &steps[i - 1];
            step.selected.set(step.selected.get() + 1);
        }
        if selected.len() == 1 || !seen.insert((&app.component_file, &app.appset)) {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&app.component_file)).unwrap_or_default();
        let line = line_of_path(&text, &["rolloutPhase"]);
        let labels = app
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = if selected.is_empty() {
            let listed: BTreeSet<&str> = steps
                .iter()
                .flat_map(|s| s.expressions.iter())
                .filter(|e| e.operator == "In")
                .flat_map(|e| e.values.iter().map(String::as_str))
                .collect();
            format!(
                "Application {} (labels {labels}) matches no RollingSync step of {} (phases: {}); an Application no step matches is never synced: use one of them as rolloutPhase or add a step",
                app.name,
                app.appset,
                listed.into_iter().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "Application {} (labels {labels}) is selected by RollingSync steps {} of {}; Argo CD reports a matchExpression that selects an Application twice: make the steps disjoint",
                app.name,
                selected.iter().map(usize::to_string).collect::<Vec<_>>().join(" and "),
                app.appset
            )
        };
        problems.push(Problem::new(
            &app.component_file,
            line,
            "rollout-phase",
            message,
        ));
    }
    problems
}

struct Expression {
    key: String,
    operator: String,
    values: Vec<String>,
}

/// A RollingSync step: its `matchExpressions`, and how many Applications it selected.
pub struct Step {
    expressions: Vec<Expression>,
    selected: std::cell::Cell<usize>,
}

impl Step {
    /// Argo CD's selection: every expression holds; a step without expressions selects all.
    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.expressions.iter().all(|e| match labels.get(&e.key) {
            Some(value) => {
                let listed = e.values.iter().any(|v| v == value);
                match e.operator.as_str() {
                    "In" => listed,
                    "NotIn" => !listed,
                    _ => false,
                }
            }
            None => e.operator != "In",
        })
    }

    fn describe(&self) -> String {
        let each: Vec<String> = self
            .expressions
            .iter()
            .map(|e| format!("{} {} [{}]", e.key, e.operator, e.values.join(", ")))
            .collect();
        match each.is_empty() {
            true => "no matchExpressions".to_owned(),
            false => each.join(" and "),
        }
    }
}

fn rolling_steps(appset: &Value) -> Option<Vec<Step>> {
    let steps = appset["spec"]["strategy"]["rollingSync"]["steps"].as_sequence()?;
    Some(
        steps
            .iter()
            .map(|step| Step {
                expressions: step["matchExpressions"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|e| Expression {
                        key: e["key"].as_str().unwrap_or("").to_owned(),
                        operator: e["operator"].as_str().unwrap_or("").to_owned(),
                        values: e["values"]
                            .as_sequence()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    })
                    .collect(),
                selected: std::cell::Cell::new(0),
            })
            .collect(),
    )
}

fn hint(key: &str, allowed: &[&str]) -> String {
    super::closest(key, allowed.iter().copied())
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn example(key: &str) -> &'static str {
    match key {
        "name" => "name: orders-api (the folder's name)",
        "project" => "project: ameide",
        "domain" => "domain: platform (the first folder under environments/_shared/components/)",
        "componentType" => "componentType: workload",
        "rolloutPhase" => "rolloutPhase: \"650\"",
        "chart" => "chart: {repoURL: ..., path: sources/charts/..., version: main}",
        "repoURL" => "repoURL: https://github.com/ameideio/ameide-gitops.git",
        "path" => "path: sources/charts/foundation/common/raw-manifests",
        "version" => "version: main",
        _ => "see docs/conventions.md#component-files",
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::super::fixture::{self, Fixture};
    use super::*;

    const GOOD: &str = "name: cache\nproject: ameide\ndomain: platform\ncomponentType: config\nrolloutPhase: \"200\"\nchart:\n  repoURL: https://github.com/ameideio/ameide-gitops.git\n  path: sources/charts/foundation/common/raw-manifests\n  version: main\n";

    /// Writes a component at platform/cache/ with `edit` applied to a valid text.
    fn planted(edit: impl Fn(&str) -> String) -> (Fixture, String, Vec<Problem>) {
        let fx = Fixture::new();
        let path = format!("{}/platform/cache/component.yaml", layout::COMPONENTS_DIR);
        fx.write(&path, &edit(GOOD));
        let problems = fx.check();
        (fx, path, problems)
    }

    #[test]
    fn the_valid_component_passes() {
        let (_, _, problems) = planted(str::to_owned);
        assert_eq!(problems, []);
    }

    #[test]
    fn schema_faults_are_found_on_their_line() {
        let cases: [(&str, &str, &str, usize, &str); 12] = [
            (
                "rolloutPhase: \"200\"",
                "rolloutPhase: 200",
                "component-schema",
                5,
                "quote it: rolloutPhase: \"200\"",
            ),
            (
                "rolloutPhase: \"200\"",
                "rolloutPhase: \"2000\"",
                "component-schema",
                5,
                "three-digit",
            ),
            (
                "project: ameide",
                "project: other",
                "component-schema",
                2,
                "must be `ameide`",
            ),
            (
                "project: ameide\n",
                "",
                "component-schema",
                0,
                "misses the required key `project`",
            ),
            (
                "chart:",
                "colour: blue\nchart:",
                "component-schema",
                6,
                "unknown key `colour`",
            ),
            (
                "  version: main",
                "  version: main\n  verison: x",
                "component-schema",
                10,
                "unknown key `verison`",
            ),
            (
                "https://github.com/ameideio/ameide-gitops.git",
                "https://example.com/x.git",
                "component-schema",
                7,
                "must be https://github.com/ameideio/ameide-gitops.git",
            ),
            (
                "componentType: config",
                "componentType: Config",
                "component-schema",
                4,
                "lowercase label",
            ),
            (
                "chart:",
                "syncOptions: ServerSideApply=true\nchart:",
                "component-schema",
                6,
                "list of strings",
            ),
            (
                "name: cache",
                "name: Cache",
                "component-schema",
                1,
                "DNS-1123",
            ),
            (
                "chart:",
                "dependsOn: [a]\nchart:",
                "component-forbidden-key",
                6,
                "`dependsOn`",
            ),
            (
                "chart:",
                "namespace: ameide-dev\nchart:",
                "component-forbidden-key",
                6,
                "env entry",
            ),
        ];
        for (from, to, rule, line, words) in cases {
            let (_, path, problems) = planted(|t| t.replacen(from, to, 1));
            let found = fixture::find(&problems, rule, &path);
            assert_eq!(found.line, line, "{to}: {found:?}");
            assert!(found.message.contains(words), "{to}: {}", found.message);
        }
    }

    #[test]
    fn top_level_path_and_values_are_forbidden() {
        for key in ["path: x", "values: |\n  a: 1"] {
            let (_, path, problems) = planted(|t| format!("{key}\n{t}"));
            let found = fixture::find(&problems, "component-forbidden-key", &path);
            assert_eq!(found.line, 1, "{key}");
        }
    }

    #[test]
    fn a_list_or_an_empty_file_is_refused() {
        let (_, path, problems) = planted(|t| format!("- {}", t.replace('\n', "\n  ")));
        let found = fixture::find(&problems, "component-schema", &path);
        assert!(
            found.message.contains("one YAML mapping"),
            "{}",
            found.message
        );
        for empty in ["# nothing\n", "", "---\n"] {
            let (_, path, problems) = planted(|_| empty.to_owned());
            let found: Vec<&Problem> = problems.iter().filter(|p| p.path == path).collect();
            assert_eq!(found.len(), 1, "{empty:?}: {found:#?}");
            assert!(
                found[0].message.contains("is empty"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn the_folder_must_be_the_name_and_the_first_folder_the_domain() {
        let (_, path, problems) = planted(|t| t.replace("name: cache", "name: cache-two"));
        assert_eq!(fixture::find(&problems, "component-folder", &path).line, 1);
        let (_, path, problems) = planted(|t| t.replace("domain: platform", "domain: foundation"));
        let found = fixture::find(&problems, "component-domain", &path);
        assert_eq!(found.line, 3);
        assert!(
            found.message.contains("set domain: platform"),
            "{}",
            found.message
        );

        let fx = Fixture::new();
        let path = format!("{}/cache/component.yaml", layout::COMPONENTS_DIR);
        fx.write(&path, GOOD);
        fixture::find(&fx.check(), "component-domain", &path);
    }

    #[test]
    fn the_chart_path_must_hold_a_chart() {
        let (_, path, problems) =
            planted(|t| t.replace("common/raw-manifests", "common/raw-manifest"));
        let found = fixture::find(&problems, "chart-path", &path);
        assert_eq!(found.line, 8);
        assert!(
            found
                .message
                .contains("did you mean sources/charts/foundation/common/raw-manifests?"),
            "{}",
            found.message
        );
        let (_, path, problems) = planted(|t| {
            t.replace(
                "sources/charts/foundation/common/raw-manifests",
                "sources/values/base",
            )
        });
        assert!(fixture::find(&problems, "chart-path", &path)
            .message
            .contains("under sources/charts/"));
        let (_, path, problems) =
            planted(|t| t.replace("foundation/common/", "foundation/../foundation/common/"));
        fixture::find(&problems, "chart-path", &path);
    }

    #[test]
    fn primitives_follow_the_naming_rules() {
        let fx = Fixture::new();
        let path = fx.primitive("domain-orders-v0", "workload", "650");
        assert_eq!(fx.check(), []);

        let fx = Fixture::new();
        let path_bad = fx.primitive("domain-Orders-v0", "workload", "650");
        let found = fixture::find(&fx.check(), "component-primitive", &path_bad).clone();
        assert!(
            found.message.contains("lowercase kebab-case"),
            "{}",
            found.message
        );

        let fx = Fixture::new();
        fx.primitive("domain-orders-v0", "workload", "650");
        let smoke = fx.primitive("domain-orders-v0-smoke", "workload", "650");
        let problems = fx.check();
        let kinds: Vec<(usize, &str)> = problems
            .iter()
            .filter(|p| p.path == smoke)
            .map(|p| (p.line, p.rule))
            .collect();
        assert_eq!(
            kinds,
            [(4, "component-primitive"), (5, "component-primitive")],
            "{problems:#?}"
        );
        let _ = path;
    }

    #[test]
    fn component_ids_parse_with_the_naming_types() {
        let (p, smoke) = parse_component_id("uisurface-order-lines-v2-smoke").unwrap();
        assert_eq!(
            (p.id(), smoke),
            ("uisurface-order-lines-v2".to_owned(), true)
        );
        assert!(parse_component_id("orders")
            .unwrap_err()
            .contains("<kind>-<name>-<version>"));
        assert!(parse_component_id("widget-orders-v0")
            .unwrap_err()
            .contains("kind \"widget\""));
        assert!(parse_component_id("domain-orders-1")
            .unwrap_err()
            .contains("version \"1\""));
    }

    #[test]
    fn a_smoke_needs_its_workload() {
        let fx = Fixture::new();
        let smoke = fx.primitive("domain-orders-v0-smoke", "smoke", "699");
        let problems = fx.check();
        let found = fixture::find(&problems, "smoke-workload", &smoke);
        assert_eq!(found.line, 1);
        assert!(
            found
                .message
                .contains("no workload component domain-orders-v0"),
            "{}",
            found.message
        );
    }

    /// Cases after `buildAppDependencyList` (applicationset/progressivesync/progressive_sync.go)
    /// and its tests in progressive_sync_test.go: which steps select an Application's labels.
    #[test]
    fn rolling_sync_steps_select_by_labels_as_argo_cd_does() {
        let step = |expressions: &[(&str, &str, &[&str])]| Step {
            expressions: expressions
                .iter()
                .map(|(key, operator, values)| Expression {
                    key: key.to_string(),
                    operator: operator.to_string(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
            selected: std::cell::Cell::new(0),
        };
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cases: [(&str, Step, BTreeMap<String, String>, bool); 8] = [
            (
                "In selects a label with one of the values",
                step(&[("env", "In", &["dev", "qa"])]),
                labels(&[("env", "dev")]),
                true,
            ),
            (
                "In does not select a missing label",
                step(&[("env", "In", &["dev"])]),
                labels(&[]),
                false,
            ),
            (
                "NotIn selects a missing label",
                step(&[("env", "NotIn", &["prod"])]),
                labels(&[]),
                true,
            ),
            (
                "NotIn does not select a listed value",
                step(&[("env", "NotIn", &["prod"])]),
                labels(&[("env", "prod")]),
                false,
            ),
            (
                "every expression must hold (ANDed)",
                step(&[("env", "In", &["dev"]), ("tier", "In", &["web"])]),
                labels(&[("env", "dev"), ("tier", "db")]),
                false,
            ),
            (
                "any label, not only rollout-phase",
                step(&[("region", "In", &["eu"])]),
                labels(&[("region", "eu"), ("rollout-phase", "650")]),
                true,
            ),
            (
                "a step without expressions selects every Application",
                step(&[]),
                labels(&[("env", "dev")]),
                true,
            ),
            (
                "an operator other than In and NotIn selects nothing",
                step(&[("env", "Exists", &[])]),
                labels(&[("env", "dev")]),
                false,
            ),
        ];
        for (case, step, labels, expected) in cases {
            assert_eq!(step.selects(&labels), expected, "{case}");
        }
    }

    #[test]
    fn a_step_that_selects_no_application_is_reported() {
        // EmptySteps of applicationset/progressivesync/validation_issues.go.
        let fx = Fixture::new();
        let appset = fx.read(layout::APPSET);
        let last = "              values: [\"699\"]\n";
        assert!(appset.contains(last));
        let extra = "        - matchExpressions:\n            - key: rollout-phase\n              operator: In\n              values: [\"999\"]\n";
        fx.write(
            layout::APPSET,
            &appset.replace(last, &format!("{last}{extra}")),
        );
        let problems = fx.check();
        let found = fixture::find(&problems, "rollout-phase", layout::APPSET);
        assert!(
            found
                .message
                .contains("RollingSync step 5 selects no Application (rollout-phase In [999])"),
            "{}",
            found.message
        );
    }

    #[test]
    fn a_phase_outside_the_rolling_steps_is_never_synced() {
        let fx = Fixture::new();
        let path = fx.component("platform", "cache", "300");
        let problems = fx.check();
        let found = fixture::find(&problems, "rollout-phase", &path);
        assert_eq!(found.line, 5);
        assert!(
            found.message.contains("phases: 100, 200, 650, 699"),
            "{}",
            found.message
        );
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.rule == "rollout-phase")
                .count(),
            1
        );
    }
}
