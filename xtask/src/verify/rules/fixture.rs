//! Test fixtures: a temporary copy of the repository's desired state to plant faults in, and
//! Applications built by hand (cluster entry × component file) until discovery provides them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_yaml::Value;

use crate::clusters::{self, Cluster};
use crate::layout;

use super::{Application, Problem, TREE_DIRS};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the repository")
        .to_path_buf()
}

/// The Applications of the ApplicationSet's envs × the component files, in generator order.
pub fn applications(root: &Path) -> Vec<Application> {
    let envs = clusters::appset_envs(root).expect("the fixture's cluster file");
    let files = layout::component_files(root).expect("the fixture's component files");
    let mut apps = Vec::new();
    for cluster in &envs {
        for file in &files {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let Ok(doc) = serde_yaml::from_str::<Value>(&text) else {
                continue;
            };
            let (Some(name), Some(domain)) = (doc["name"].as_str(), doc["domain"].as_str()) else {
                continue;
            };
            apps.push(build(cluster, file, &doc, name, domain));
        }
    }
    apps
}

fn build(cluster: &Cluster, file: &str, doc: &Value, name: &str, domain: &str) -> Application {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let labels: BTreeMap<String, String> = [
        ("rollout-phase", scalar(&doc["rolloutPhase"])),
        ("domain", domain.to_owned()),
        ("component-type", scalar(&doc["componentType"])),
        ("dns-zone", cluster.dns_zone.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Application {
        name: layout::application_name(&cluster.env, name),
        appset: layout::APPSET.to_owned(),
        component_file: file.to_owned(),
        env: cluster.env.clone(),
        namespace: cluster.namespace.clone(),
        chart: doc["chart"]["path"].as_str().unwrap_or("").to_owned(),
        release: name.to_owned(),
        value_files: layout::value_layers(cluster, domain, name).to_vec(),
        labels,
        ignore_missing_value_files: false,
        manifest: "null".into(),
    }
}

/// One Application of the real repository's dev entry, for rules that take a single one.
pub fn application(env: &str, name: &str, domain: &str, phase: &str) -> Application {
    let cluster = Cluster {
        cluster: "aks-main".into(),
        cluster_type: "azure".into(),
        env: env.into(),
        namespace: format!("ameide-{env}"),
        node_profile: format!("{env}-pool"),
        dns_zone: format!("{env}.ameide.io"),
        kubernetes_version: crate::kube::KubeVersion { minor: 31 },
    };
    let doc: Value = serde_yaml::from_str(&format!(
        "rolloutPhase: \"{phase}\"\ncomponentType: config\nchart:\n  path: {}\n",
        layout::RAW_MANIFESTS_CHART
    ))
    .unwrap();
    let file = format!("{}/{domain}/{name}/component.yaml", layout::COMPONENTS_DIR);
    build(&cluster, &file, &doc, name, domain)
}

/// The problem of `rule` at `path`, or a failure listing every problem found.
pub fn find<'p>(problems: &'p [Problem], rule: &str, path: &str) -> &'p Problem {
    problems
        .iter()
        .find(|p| p.rule == rule && p.path == path)
        .unwrap_or_else(|| panic!("no {rule} problem at {path}; found: {problems:#?}"))
}

/// A temporary copy of the repository's desired state, removed on drop.
pub struct Fixture {
    root: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "xtask-rules-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let source = repo_root();
        for dir in TREE_DIRS {
            copy_tree(&source.join(dir), &root.join(dir));
        }
        Fixture { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn write(&self, path: &str, text: &str) {
        let target = self.root.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }

    /// Lays a tree of repository paths (a golden scaffold case) over the copy.
    pub fn lay(&self, dir: &Path) {
        copy_tree(dir, &self.root);
    }

    /// Writes a component of `domain` (name on line 1, componentType on 4, rolloutPhase on 5).
    pub fn component(&self, domain: &str, name: &str, phase: &str) -> String {
        let path = format!("{}/{domain}/{name}/component.yaml", layout::COMPONENTS_DIR);
        self.write(
            &path,
            &component_text(name, domain, "config", phase, layout::RAW_MANIFESTS_CHART),
        );
        path
    }

    /// Writes a primitive component by hand, like `component`.
    pub fn primitive(&self, id: &str, component_type: &str, phase: &str) -> String {
        let path = layout::primitive_component_file(id);
        let chart = if component_type == "smoke" {
            layout::HELM_TEST_JOBS_CHART
        } else {
            layout::RAW_MANIFESTS_CHART
        };
        self.write(
            &path,
            &component_text(id, layout::PRIMITIVES_DOMAIN, component_type, phase, chart),
        );
        path
    }

    pub fn check(&self) -> Vec<Problem> {
        super::check(&self.root, &applications(&self.root))
    }

    pub fn check_strings(&self) -> Vec<String> {
        self.check().iter().map(ToString::to_string).collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn component_text(
    name: &str,
    domain: &str,
    component_type: &str,
    phase: &str,
    chart: &str,
) -> String {
    format!(
        "name: {name}\nproject: ameide\ndomain: {domain}\ncomponentType: {component_type}\nrolloutPhase: \"{phase}\"\nchart:\n  repoURL: {}\n  path: {chart}\n  version: main\n",
        layout::REPO_URL
    )
}

fn copy_tree(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).unwrap();
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
