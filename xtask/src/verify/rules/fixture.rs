//! Test fixtures: a temporary copy of the repository's desired state to plant faults in, and
//! Applications built by hand (cluster entry × component file) until discovery provides them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::yaml::Value;
use xshell::Shell;

use crate::clusters::{self, Cluster};
use crate::git;
use crate::layout;
use crate::scratch::{copy_tree, Scratch};

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
            let Ok(doc) = crate::yaml::from_str::<Value>(&text) else {
                continue;
            };
            let (Some(name), Some(domain)) = (doc["name"].as_str(), doc["domain"].as_str()) else {
                continue;
            };
            apps.push(build(cluster, file, &doc, name, domain));
        }
    }
    apps.extend(cluster_scoped(root));
    apps
}

/// The Applications of argocd/applicationsets/ameide-cluster.yaml: one per cluster file.
fn cluster_scoped(root: &Path) -> Vec<Application> {
    let files = layout::walk(root, layout::CLUSTER_SCOPED_DIR, layout::Walk::EVERYTHING)
        .expect("the fixture's cluster-scoped folder");
    files
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(root.join(&file)).ok()?;
            let doc: Value = crate::yaml::from_str(&text).ok()?;
            let cluster = doc["cluster"].as_str()?.to_owned();
            let labels = [
                ("rollout-phase", "050"),
                ("component-type", "crds"),
                ("cluster", cluster.as_str()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            Some(Application {
                name: format!("{cluster}-primitive-crds"),
                appset: format!("{}/ameide-cluster.yaml", layout::APPSETS_DIR),
                component_file: file,
                env: String::new(),
                namespace: String::new(),
                chart: "sources/charts/foundation/primitive-crds".to_owned(),
                release: "primitive-crds".to_owned(),
                value_files: Vec::new(),
                labels,
                ignore_missing_value_files: false,
                project: None,
                manifest: "null".into(),
            })
        })
        .collect()
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
        name: format!("{}-{name}", cluster.env),
        appset: layout::APPSET.to_owned(),
        component_file: file.to_owned(),
        env: cluster.env.clone(),
        namespace: cluster.namespace.clone(),
        chart: doc["chart"]["path"].as_str().unwrap_or("").to_owned(),
        release: name.to_owned(),
        value_files: value_layers(cluster, domain, name).to_vec(),
        labels,
        ignore_missing_value_files: false,
        project: None,
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
    let doc: Value = crate::yaml::from_str(&format!(
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

/// The six value layers the ApplicationSet gives an Application, written out for the hand-built
/// Applications of the rules' unit tests (verify itself reads them off discovery).
fn value_layers(cluster: &Cluster, domain: &str, component: &str) -> [String; 6] {
    [
        "sources/values/base/globals.yaml".to_owned(),
        format!(
            "sources/values/cluster/{}/globals.yaml",
            cluster.cluster_type
        ),
        format!("sources/values/env/{}/globals.yaml", cluster.env),
        format!("config/node-profiles/{}.yaml", cluster.node_profile),
        layout::shared_values(domain, component),
        layout::env_values(&cluster.env, domain, component),
    ]
}

/// A temporary copy of the repository's desired state, removed on drop.
pub struct Fixture {
    root: PathBuf,
    _dir: Scratch,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::copy_of(&repo_root())
    }

    /// A copy of the desired state git tracks in `checkout`, as the working tree has it (so edits
    /// are tested) but without untracked files, so that a primitive scaffolded there to try the
    /// README cannot change what a test sees; outside a git checkout, everything.
    pub fn copy_of(checkout: &Path) -> Fixture {
        let dir = Scratch::dir("xtask-rules").expect("a scratch folder");
        let root = dir.path().to_path_buf();
        let sh = Shell::new().unwrap();
        sh.change_dir(checkout);
        match git::tracked_files(&sh, &TREE_DIRS) {
            Ok(files) if !files.is_empty() => {
                for file in files {
                    let from = checkout.join(&file);
                    // A tracked file deleted in the working tree is deleted in the copy too.
                    if from.is_file() {
                        let target = root.join(&file);
                        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                        std::fs::copy(&from, &target).unwrap();
                    }
                }
            }
            _ => {
                for tree in TREE_DIRS {
                    let from = checkout.join(tree);
                    if from.is_dir() {
                        copy_tree(&from, &root.join(tree)).expect("a copy of the tree");
                    }
                }
            }
        }
        Fixture { root, _dir: dir }
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
        copy_tree(dir, &self.root).expect("the tree laid over the copy");
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

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    /// The README's two commands in its order: `cargo xtask scaffold-primitive --kind domain
    /// --name orders --version v0 --with-smoke` leaves the example's files untracked in the
    /// checkout, then `cargo xtask test` runs. No copy a test makes may see them.
    #[test]
    fn a_primitive_scaffolded_into_the_checkout_stays_out_of_the_copies() {
        let checkout = Fixture::new();
        let sh = Shell::new().unwrap();
        sh.change_dir(checkout.root());
        git::init_with_everything(&sh, "the repository as a clean clone has it").unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test_data/golden/domain-orders-v0-smoke-dev");
        checkout.lay(&example);
        let scaffolded = layout::files_under(&example, "").unwrap();
        assert!(scaffolded.len() >= 5, "{scaffolded:?}");
        for file in &scaffolded {
            assert!(checkout.root().join(file).is_file(), "{file}");
        }

        let copy = Fixture::copy_of(checkout.root());
        let leaked: Vec<&String> = scaffolded
            .iter()
            .filter(|f| copy.root().join(f).exists())
            .collect();
        assert_eq!(leaked, Vec::<&String>::new());
        let tracked: Vec<String> = layout::component_files(checkout.root())
            .unwrap()
            .into_iter()
            .filter(|f| !scaffolded.contains(f))
            .collect();
        assert_eq!(layout::component_files(copy.root()).unwrap(), tracked);
        assert_eq!(copy.check_strings(), Vec::<String>::new());
    }
}
