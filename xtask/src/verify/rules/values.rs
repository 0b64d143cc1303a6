//! The rules on value files: `orphan-values` and `image-policy` (docs/conventions.md#discovery-and-value-layering, #the-two-charts), and the
//! value merge they share with `cargo xtask apps`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::rc::Rc;

use crate::yaml::{Mapping, Value};

use crate::clusters::{self, Cluster};
use crate::layout;
use crate::primitive::ImageRef;

use super::yaml::line_of_path;
use super::{Application, Index, Problem};

const CLUSTERS_DIR: &str = "config/clusters";
const NODE_PROFILES_DIR: &str = "config/node-profiles";

/// One value layer that exists: the chart's values.yaml, then the Application's value files.
struct Layer {
    path: String,
    text: String,
    doc: Value,
}

/// Value files already read, by path: every Application reads the same globals, so each file is
/// read and parsed once per run, not once per Application.
type Read = HashMap<String, Option<Rc<Layer>>>;

/// The repository paths of an Application's value layers in order: the chart's values.yaml, then
/// its value files (only repository paths: discovery reports value files it could not resolve).
fn layer_paths(app: &Application) -> Vec<String> {
    let chart_values = (!app.chart.is_empty()).then(|| format!("{}/values.yaml", app.chart));
    chart_values
        .into_iter()
        .chain(app.value_files.iter().cloned())
        .filter(|path| {
            !path.starts_with(['/', '$']) && path.split('/').all(|s| s != ".." && !s.is_empty())
        })
        .collect()
}

fn layers(root: &Path, app: &Application, read: &mut Read) -> Vec<Rc<Layer>> {
    layer_paths(app)
        .iter()
        .filter_map(|path| {
            if let Some(layer) = read.get(path.as_str()) {
                return layer.clone();
            }
            let layer = (|| {
                let text = std::fs::read_to_string(root.join(path)).ok()?;
                // Unparseable files are yaml-parse's; Helm would fail on them.
                let doc: Value = crate::yaml::from_str(&text).ok()?;
                doc.is_mapping().then(|| {
                    Rc::new(Layer {
                        path: path.clone(),
                        text,
                        doc,
                    })
                })
            })();
            read.insert(path.clone(), layer.clone());
            layer
        })
        .collect()
}

/// The values Helm renders an Application with: the chart's values.yaml, then each existing value
/// file in order (missing ones are skipped, as with `ignoreMissingValueFiles`); maps merge key by
/// key, anything else replaces, and a `null` removes the key.
pub fn effective_values(root: &Path, app: &Application) -> Value {
    let mut merged = Value::Mapping(Mapping::new());
    for layer in layers(root, app, &mut Read::new()) {
        merge(&mut merged, layer.doc.clone());
    }
    merged
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                if value.is_null() {
                    base.remove(&key);
                } else if let Some(existing) = base.get_mut(&key) {
                    merge(existing, value);
                } else {
                    base.insert(key, value);
                }
            }
        }
        (base, over) => *base = over,
    }
}

fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .filter(|v| !v.is_null())
}

/// The last layer that sets `path`: the one whose value wins.
fn origin<'l>(layers: &'l [Rc<Layer>], path: &[&str]) -> Option<&'l Layer> {
    layers
        .iter()
        .rev()
        .find(|l| get(&l.doc, path).is_some())
        .map(|l| &**l)
}

/// `image-policy`: a set `image.ref` is digest-pinned; an enabled primitive or smoke on one of the
/// scaffolder's charts has one. Each problem comes with the Application it was found in, not yet
/// grouped: the caller checks the Applications a chunk at a time and groups them once at the end.
pub fn image_policy_found(root: &Path, apps: &[Application]) -> Vec<(Problem, String)> {
    let mut found = Vec::new();
    let mut read = Read::new();
    // How many Applications still read each file: a file is let go after its last reader, so that
    // only the shared layers (globals) stay parsed, not every Application's own files.
    let mut readers: HashMap<String, usize> = HashMap::new();
    for app in apps {
        for path in layer_paths(app) {
            *readers.entry(path).or_default() += 1;
        }
    }
    for app in apps {
        let layers = layers(root, app, &mut read);
        for path in layer_paths(app) {
            if let Some(left) = readers.get_mut(&path) {
                *left -= 1;
                if *left == 0 {
                    read.remove(&path);
                }
            }
        }
        let mut merged = Value::Mapping(Mapping::new());
        for layer in &layers {
            merge(&mut merged, layer.doc.clone());
        }
        let at = |path: &[&str]| {
            origin(&layers, path).map_or((String::new(), 0), |l| {
                (l.path.clone(), line_of_path(&l.text, path))
            })
        };
        let image_ref = get(&merged, &["image", "ref"]);
        // A problem at the layer whose image.ref wins.
        let mut refuse = |message: String| {
            let (path, line) = at(&["image", "ref"]);
            found.push((
                Problem::new(path, line, "image-policy", super::secrets::redact(&message)),
                app.name.clone(),
            ));
        };
        let empty = match image_ref {
            None => true,
            Some(Value::String(s)) if s.is_empty() => true,
            Some(Value::String(s)) => {
                if let Err(rule) = ImageRef::parse(s) {
                    refuse(format!("{rule} (docs/conventions.md#the-two-charts)"));
                }
                false
            }
            Some(_) => {
                refuse("image.ref must be a string: a digest-pinned reference repo@sha256:<64 hex>, or \"\" while disabled".to_owned());
                false
            }
        };
        let enabled = get(&merged, &["enabled"]) == Some(&Value::Bool(true));
        let scaffolder_chart =
            app.chart == layout::RAW_MANIFESTS_CHART || app.chart == layout::HELM_TEST_JOBS_CHART;
        let primitive = app
            .component_file
            .starts_with(&format!("{}/", layout::PRIMITIVES_DIR))
            || app.labels.get("component-type").map(String::as_str) == Some("smoke");
        if enabled && empty && scaffolder_chart && primitive {
            let (path, line) = at(&["enabled"]);
            let overlay = app.value_files.last().cloned().unwrap_or_default();
            found.push((
                Problem::new(
                    path,
                    line,
                    "image-policy",
                    format!(
                        "enabled is true but image.ref is empty once the value layers are merged; an empty image.ref is allowed only while enabled is false: set a digest-pinned image.ref (repo@sha256:<64 hex>) with it, e.g. in {overlay}"
                    ),
                ),
                app.name.clone(),
            ));
        }
    }
    found
}

/// What [`orphans`] needs of the Applications, kept as they pass so that they can be let go a
/// chunk at a time: one flag per file of the tree, set when an Application reads it, and the value
/// files Applications name that do not exist (the near misses of a misspelt file).
#[derive(Debug)]
pub struct ValuesRead {
    pub files: Vec<bool>,
    pub missing: BTreeSet<String>,
}

impl ValuesRead {
    pub fn new(index: &Index) -> ValuesRead {
        ValuesRead {
            files: vec![false; index.paths.count()],
            missing: BTreeSet::new(),
        }
    }
}

/// Marks in `read` the value files the Applications read: the layers the ApplicationSet gives
/// them, as discovery rendered them.
pub fn mark_read(index: &Index, apps: &[Application], read: &mut ValuesRead) {
    for file in apps.iter().flat_map(|a| a.value_files.iter()) {
        match index.position(file) {
            Some(i) => read.files[i] = true,
            None => {
                read.missing.insert(file.clone());
            }
        }
    }
}

/// `orphan-values`: value files and node profiles nothing reads. Argo CD skips missing value
/// files, so a misspelt file name deploys nothing and says nothing. What is read is what the
/// Applications read ([`mark_read`]): the layers the ApplicationSet references, nothing assumed.
/// The value files of envs whose cluster file no ApplicationSet reads (the local env) are read
/// by no Application here and are left alone.
pub fn orphans(index: &Index, read: &ValuesRead) -> Vec<Problem> {
    let entries: Vec<Cluster> = index
        .yaml_under(CLUSTERS_DIR)
        .filter_map(|(_, path)| clusters::read_cluster_file(index.root, path).ok())
        .flatten()
        .collect();
    let read_by_appset = clusters::appset_envs(index.root).unwrap_or_default();
    let elsewhere: Vec<String> = entries
        .iter()
        .filter(|e| !read_by_appset.iter().any(|r| r.env == e.env))
        .map(|e| layout::env_values_dir(&e.env))
        .collect();
    let mut problems = Vec::new();
    let candidates: Vec<&str> = index
        .yaml_under("sources/values/_shared")
        .chain(index.yaml_under("sources/values/env"))
        .filter(|(i, _)| !read.files[*i])
        .map(|(_, path)| path)
        .filter(|path| !elsewhere.iter().any(|dir| path.starts_with(dir.as_str())))
        .collect();
    let mut near_misses: BTreeSet<&str> = read.missing.iter().map(String::as_str).collect();
    if !candidates.is_empty() {
        for (i, _) in read.files.iter().enumerate().filter(|(_, read)| **read) {
            near_misses.insert(index.path(i));
        }
    }
    for path in candidates {
        let near = super::closest(path, near_misses.iter().copied())
            .map(|p| format!(" (did you mean {p}?)"))
            .unwrap_or_default();
        problems.push(Problem::new(
            path,
            0,
            "orphan-values",
            format!(
                "is read by no Application: Argo CD skips missing value files, so a misspelt path deploys nothing and says nothing{near}. Rename it to a path the ApplicationSet gives its component (see cargo xtask apps) or delete it"
            ),
        ));
    }
    let profiles: BTreeSet<&str> = entries.iter().map(|e| e.node_profile.as_str()).collect();
    for (_, path) in index.yaml_under(NODE_PROFILES_DIR) {
        let Some(stem) = path
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".yaml").or_else(|| n.strip_suffix(".yml")))
        else {
            continue;
        };
        if profiles.contains(stem) && path.ends_with(".yaml") {
            continue;
        }
        let near = (if profiles.contains(stem) {
            Some(stem)
        } else {
            super::closest(stem, profiles.iter().copied())
        })
        .map(|p| format!(" (did you mean {NODE_PROFILES_DIR}/{p}.yaml?)"))
        .unwrap_or_default();
        problems.push(Problem::new(
            path,
            0,
            "orphan-values",
            format!("no env entry under {CLUSTERS_DIR}/ names node profile \"{stem}\" (read as {NODE_PROFILES_DIR}/<nodeProfile>.yaml), so no Application reads it{near}. Rename it to a profile an env entry names or delete it"),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::super::fixture::{self, Fixture};
    use super::*;

    const DIGEST: &str = "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

    #[test]
    fn the_merge_is_helms() {
        let fx = Fixture::new();
        fx.write(
            "sources/values/_shared/platform/default-deny.yaml",
            "enabled: true\nimage:\n  ref: a\n  keep: 1\nlist: [1, 2]\ngone: x\n",
        );
        fx.write(
            "sources/values/env/dev/platform/default-deny.yaml",
            "image:\n  ref: b\nlist: [3]\ngone: null\n",
        );
        let apps = fixture::applications(fx.root());
        let app = apps.iter().find(|a| a.name == "dev-default-deny").unwrap();
        let values = effective_values(fx.root(), app);
        assert_eq!(values["image"]["ref"].as_str(), Some("b"));
        assert_eq!(values["image"]["keep"].as_u64(), Some(1));
        assert_eq!(
            values["list"],
            crate::yaml::from_str::<Value>("[3]").unwrap()
        );
        assert!(values.get("gone").is_none());
        // The chart's defaults are underneath, the globals on top of them.
        assert_eq!(values["manifestFiles"], Value::Sequence(vec![]));
        assert_eq!(values["global"]["env"].as_str(), Some("dev"));
        assert_eq!(values["enabled"], Value::Bool(true));
    }

    #[test]
    fn a_set_image_ref_must_be_digest_pinned_and_is_reported_where_it_is_set() {
        let fx = Fixture::new();
        fx.primitive("domain-orders-v0", "workload", "650");
        let shared = "sources/values/_shared/apps/domain-orders-v0.yaml";
        fx.write(
            shared,
            "enabled: false\nimage:\n  ref: ghcr.io/ameideio/primitive-domain-orders:1.0\n",
        );
        let problems = fx.check();
        let found = fixture::find(&problems, "image-policy", shared);
        assert_eq!(found.line, 3);
        assert!(
            found.message.contains("pinned by digest"),
            "{}",
            found.message
        );
        assert!(
            found.message.contains("(Applications dev-domain-orders-v0, staging-domain-orders-v0, production-domain-orders-v0)"),
            "{}",
            found.message
        );
    }

    #[test]
    fn an_enabled_primitive_needs_an_image() {
        let fx = Fixture::new();
        fx.primitive("domain-orders-v0", "workload", "650");
        fx.write(
            "sources/values/_shared/apps/domain-orders-v0.yaml",
            "enabled: false\nimage:\n  ref: \"\"\n",
        );
        let overlay = "sources/values/env/staging/apps/domain-orders-v0.yaml";
        fx.write(overlay, "# on\nenabled: true\n");
        let problems = fx.check();
        let found = fixture::find(&problems, "image-policy", overlay);
        assert_eq!(found.line, 2);
        assert!(
            found
                .message
                .ends_with("(Application staging-domain-orders-v0)"),
            "{}",
            found.message
        );

        // With a pinned image it passes; a non-primitive may be enabled without one.
        fx.write(
            overlay,
            &format!("enabled: true\nimage:\n  ref: r.io/x@sha256:{DIGEST}\n"),
        );
        assert_eq!(fx.check(), []);
    }

    #[test]
    fn misspelt_value_files_are_orphans_with_a_hint() {
        let fx = Fixture::new();
        let typo = "sources/values/env/dev/foundation/namespace-polcy.yaml";
        fx.write(typo, "enabled: true\n");
        let stray = "sources/values/_shared/nowhere/thing.yaml";
        fx.write(stray, "a: 1\n");
        let profile = "config/node-profiles/dev-pol.yaml";
        fx.write(profile, "a: 1\n");
        let problems = fx.check();
        let found = fixture::find(&problems, "orphan-values", typo);
        assert!(
            found.message.contains(
                "(did you mean sources/values/env/dev/foundation/namespace-policy.yaml?)"
            ),
            "{}",
            found.message
        );
        assert!(!fixture::find(&problems, "orphan-values", stray)
            .message
            .contains("did you mean"));
        fixture::find(&problems, "orphan-values", profile);
        assert_eq!(problems.len(), 3, "{problems:#?}");
    }

    #[test]
    fn the_local_env_and_its_node_profile_are_not_orphans() {
        let fx = Fixture::new();
        fx.write(
            "sources/values/env/local/platform/default-deny.yaml",
            "enabled: false\n",
        );
        assert_eq!(fx.check(), []);
    }
}
