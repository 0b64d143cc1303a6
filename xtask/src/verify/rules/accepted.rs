//! Rules on what the Kubernetes API server and Argo CD accept of each rendered object, beyond
//! helm rendering it: the object's schema for the Kubernetes version its cluster runs
//! (`kube-schema`), APIs that version no longer serves (`kube-api-removed`) or deprecates
//! (`kube-api-deprecated`), Argo CD's hook and sync annotations (`argocd-annotation`), Jobs
//! that can succeed (`job-restart-policy`), and custom resources against the CRDs the tree
//! defines ([`super::crds`]). docs/verify-rules.md documents each.
//!
//! The findings of one Application's manifests depend only on them and on the schemas, so they
//! are cached beside the render, keyed by both.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;
use xshell::Shell;

use super::super::cache::{Cache, Key, What};
use super::super::problem::Problem;
use super::crds;
use super::project::{self, Projects};
use crate::argo::Application;
use crate::clusters;
use crate::kube::crds::{Crds, Verdict};
use crate::kube::deprecations::{self, Status};
use crate::kube::schemas::{self, Schemas};
use crate::kube::KubeVersion;
use crate::tools;

pub const RULE_SCHEMA: &str = "kube-schema";
pub const RULE_REMOVED: &str = "kube-api-removed";
pub const RULE_DEPRECATED: &str = "kube-api-deprecated";
pub const RULE_ANNOTATION: &str = "argocd-annotation";
pub const RULE_JOB: &str = "job-restart-policy";
pub const RULE_CLUSTER: &str = "cluster-entry";
pub const RULE_SHARED: &str = "shared-resource";

/// Whether a finding of `rule` only warns: a deprecated API still syncs.
pub fn is_warning(rule: &str) -> bool {
    rule == RULE_DEPRECATED
}

/// Bump when what [`Acceptance::check`] finds changes for the same input: it is in the cache key.
const CHECKS_VERSION: &str = "accepted/4";

/// The label the cluster-scoped ApplicationSet puts on its Applications, which belong to no env:
/// their cluster's Kubernetes version applies (docs/repository.md#cluster-scoped-components).
pub const CLUSTER_LABEL: &str = "cluster";

/// The schemas of every Kubernetes version the ApplicationSet's envs run, loaded once per run.
pub struct Acceptance {
    root: std::path::PathBuf,
    by_env: HashMap<String, Arc<Schemas>>,
    by_cluster: HashMap<String, Arc<Schemas>>,
    projects: Projects,
    crds: Crds,
}

impl Acceptance {
    /// Reads the cluster entries the ApplicationSet reads and provisions the schemas of their
    /// versions. A cluster file that does not parse strictly is a problem, and its envs go
    /// unchecked here.
    pub fn load(sh: &Shell, root: &Path) -> Result<(Acceptance, Vec<Problem>)> {
        let mut problems = Vec::new();
        let mut by_version: HashMap<KubeVersion, Arc<Schemas>> = HashMap::new();
        let mut by_env = HashMap::new();
        let mut by_cluster = HashMap::new();
        let mut entries = Vec::new();
        for file in clusters::appset_cluster_files(root).unwrap_or_default() {
            let file_entries = match clusters::read_cluster_file(root, &file) {
                Ok(entries) => entries,
                Err(err) => {
                    problems.push(Problem::new(
                        &file,
                        0,
                        RULE_CLUSTER,
                        format!("{err:#}; every entry needs exactly the keys cluster, clusterType, env, namespace, nodeProfile, dnsZone and kubernetesVersion (quoted, e.g. \"1.31\")"),
                    ));
                    continue;
                }
            };
            for entry in file_entries {
                entries.push((file.clone(), entry.clone()));
                let version = entry.kubernetes_version;
                let schemas = match by_version.get(&version) {
                    Some(schemas) => schemas.clone(),
                    None => {
                        let path = match tools::kubernetes_schema(sh, version.minor) {
                            Ok(provisioned) => provisioned.path,
                            Err(err)
                                if tools::KUBE_SCHEMAS.iter().all(|(m, _)| *m != version.minor) =>
                            {
                                problems.push(Problem::new(
                                    &file,
                                    0,
                                    RULE_CLUSTER,
                                    format!("env {}: {err:#}", entry.env),
                                ));
                                continue;
                            }
                            Err(err) => {
                                return Err(err).context(
                                    "provisioning the Kubernetes schemas verify checks against",
                                )
                            }
                        };
                        let schemas = Arc::new(Schemas::load(version, &path)?);
                        by_version.insert(version, schemas.clone());
                        schemas
                    }
                };
                by_cluster
                    .entry(entry.cluster.clone())
                    .or_insert_with(|| schemas.clone());
                by_env.insert(entry.env, schemas);
            }
        }
        problems.extend(crds::clusters(root, &entries));
        let (crds, crd_problems) = crds::load(root);
        problems.extend(crd_problems);
        let root = root.to_owned();
        let projects = Projects::load(&root);
        Ok((
            Acceptance {
                root,
                by_env,
                by_cluster,
                projects,
                crds,
            },
            problems,
        ))
    }

    /// The problems of `app`'s rendered `manifests` and the objects it renders, from the cache
    /// when they were checked before and found clean.
    pub fn check(&self, app: &Application, manifests: &str, cache: Option<&Cache>) -> Checked {
        let schemas = self.by_env.get(&app.env).or_else(|| {
            let cluster = app.labels.get(CLUSTER_LABEL)?;
            app.env.is_empty().then(|| self.by_cluster.get(cluster))?
        });
        let Some(schemas) = schemas else {
            return Checked::default();
        };
        let version = schemas.version.to_string();
        let key = Key::of(&[
            CHECKS_VERSION.as_bytes(),
            tools::KUBE_SCHEMAS_WHEEL.as_bytes(),
            version.as_bytes(),
            app.chart.as_bytes(),
            app.component_file.as_bytes(),
            app.namespace.as_bytes(),
            self.projects.digest_of(app).as_bytes(),
            self.crds.digest().as_bytes(),
            manifests.as_bytes(),
        ]);
        // Only a clean result is stored, as the list of its objects: findings point into value
        // files, whose lines can move without the output changing, and they are few, so they
        // are found again each run.
        if let Some(text) = cache.and_then(|c| c.read(What::Accepted, &key)) {
            return Checked {
                problems: Vec::new(),
                objects: text.lines().map(str::to_owned).collect(),
            };
        }
        let checked = check(
            &self.root,
            schemas,
            &self.crds,
            &self.projects,
            app,
            manifests,
        );
        if let (Some(cache), true) = (cache, checked.problems.is_empty()) {
            let body: String = checked.objects.iter().map(|o| format!("{o}\n")).collect();
            cache.put(What::Accepted, &key, &body);
        }
        checked
    }
}

/// What [`Acceptance::check`] found of one Application's output.
#[derive(Debug, Default)]
pub struct Checked {
    pub problems: Vec<Problem>,
    /// Every object it renders as Argo CD tracks it: `group/kind/namespace/name`, the namespace
    /// empty for a cluster-scoped kind (for `shared-resource`).
    pub objects: Vec<String>,
}

/// `shared-resource`: objects two or more Applications render, with those Applications' names
/// and component files, as Argo CD's SharedResourceWarning would name them. Each object is
/// noted once with its first Application; only the conflicts keep more.
///
/// It also notes the cluster-scoped kinds each AppProject's Applications render, for
/// `app-project-unused`.
#[derive(Debug, Default)]
pub struct Owners {
    first: HashMap<String, (String, String)>,
    shared: BTreeMap<String, BTreeSet<(String, String)>>,
    /// (project, group, kind) of every cluster-scoped object rendered, and of the Namespace
    /// `CreateNamespace=true` creates.
    cluster_kinds: BTreeSet<(String, String, String)>,
}

impl Owners {
    pub fn add(&mut self, app: &Application, objects: Vec<String>) {
        let owner = (app.name.clone(), app.component_file.clone());
        let project = project::project_name(app).unwrap_or_default();
        let creates_namespace = app.manifest.contains("\"CreateNamespace=true\"");
        if creates_namespace {
            self.cluster_kinds
                .insert((project.clone(), String::new(), "Namespace".to_owned()));
        }
        for object in objects {
            let mut parts = object.splitn(4, '/');
            if let (Some(group), Some(kind), Some("")) = (parts.next(), parts.next(), parts.next())
            {
                let key = (project.clone(), group.to_owned(), kind.to_owned());
                if !self.cluster_kinds.contains(&key) {
                    self.cluster_kinds.insert(key);
                }
            }
            match self.first.get(&object) {
                Some(first) if first.0 != owner.0 => {
                    let shared = self.shared.entry(object).or_default();
                    shared.insert(first.clone());
                    shared.insert(owner.clone());
                }
                Some(_) => {}
                None => {
                    self.first.insert(object, owner.clone());
                }
            }
        }
    }

    /// One problem per shared object, at the component file of each Application but the first;
    /// when `every` Application was rendered, the cluster-scoped permissions none of them uses
    /// (`app-project-unused`: on a part of them, an unused one proves nothing).
    pub fn problems(self, acceptance: &Acceptance, every: bool) -> Vec<Problem> {
        let mut problems = match every {
            true => acceptance
                .projects
                .unused_cluster_permissions(&acceptance.root, &self.cluster_kinds),
            false => Vec::new(),
        };
        problems.extend(self.shared_problems());
        problems
    }

    /// `shared-resource`.
    fn shared_problems(self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (object, owners) in self.shared {
            let names: Vec<&str> = owners.iter().map(|(name, _)| name.as_str()).collect();
            let mut parts = object.splitn(4, '/');
            let mut part = || parts.next().unwrap_or_default();
            let (group, kind, namespace, name) = (part(), part(), part(), part());
            let kind = match group {
                "" => kind.to_owned(),
                group => format!("{kind}.{group}"),
            };
            let place = match namespace {
                "" => String::new(),
                namespace => format!(" in namespace {namespace}"),
            };
            for (_, file) in owners.iter().skip(1) {
                problems.push(Problem::new(
                    file,
                    0,
                    RULE_SHARED,
                    format!(
                        "{kind}/{name}{place} is rendered by the Applications {}: Argo CD reports it as a shared resource and each sync undoes the other's; render it in one of them only",
                        names.join(", ")
                    ),
                ));
            }
        }
        problems.sort();
        problems.dedup();
        problems
    }
}

/// Every rule of this file on every object of `manifests`.
fn check(
    root: &Path,
    schemas: &Schemas,
    crds: &Crds,
    projects: &Projects,
    app: &Application,
    manifests: &str,
) -> Checked {
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    for document in super::secrets::split_documents(manifests) {
        let Ok(object) = crate::yaml::from_str::<Value>(&document) else {
            continue;
        };
        let (Some(api_version), Some(kind)) =
            (object["apiVersion"].as_str(), object["kind"].as_str())
        else {
            continue;
        };
        let name = object["metadata"]["name"].as_str().unwrap_or("<unnamed>");
        let subject = format!("{kind}/{name}");
        // Where to point: looked up only when there is something to report.
        let mut place: Option<(String, usize)> = None;
        let mut push = |rule, message: String| {
            let (path, line) =
                place.get_or_insert_with(|| origin(root, app, &document, kind, name));
            problems.push(Problem::new(
                path.as_str(),
                *line,
                rule,
                format!("{subject}: {message}"),
            ));
        };
        match deprecations::status(schemas.version, api_version, kind) {
            Some(Status::Removed(r)) => push(RULE_REMOVED, format!(
                "{api_version} {kind} is not served since Kubernetes 1.{}, and the cluster runs {}: render {} instead",
                r.removed_in.unwrap_or_default(), schemas.version, r.replacement
            )),
            Some(Status::Deprecated(r)) => push(RULE_DEPRECATED, format!(
                "{api_version} {kind} is deprecated since Kubernetes 1.{} (the cluster runs {}): move to {}",
                r.deprecated_in, schemas.version, r.replacement
            )),
            None => {}
        }
        match schemas.validate(&object) {
            Some(findings) => {
                for finding in findings {
                    let at = match finding.at.as_str() {
                        "" => String::new(),
                        at => format!("{at}: "),
                    };
                    push(RULE_SCHEMA, format!(
                        "{at}{}; the Kubernetes {} API server refuses it: fix the template or the value that renders it",
                        finding.message, schemas.version
                    ));
                }
                if let Err(rule) = schemas::check_name(kind, name) {
                    push(
                        RULE_SCHEMA,
                        format!("metadata.name {name:?} {rule}; the API server refuses it"),
                    );
                }
                if let Some(namespace) = object["metadata"]["namespace"].as_str() {
                    if let Err(rule) = crate::primitive::check_dns_label(namespace) {
                        push(RULE_SCHEMA, format!("metadata.namespace {namespace:?} {rule}; the API server refuses it"));
                    }
                }
            }
            // Removed APIs are reported above.
            None if is_built_in(api_version) => {
                if deprecations::status(schemas.version, api_version, kind).is_none() {
                    push(RULE_SCHEMA, format!(
                        "Kubernetes {} serves no {kind} in {api_version}: check the apiVersion and kind (kubectl api-resources lists what a cluster serves)",
                        schemas.version
                    ));
                }
            }
            None if api_version.starts_with("argoproj.io/")
                && crds::ARGOCD_KINDS.contains(&kind) => {}
            None => custom_resource(crds, &object, api_version, kind, name, &mut push),
        }
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let cluster_scoped =
            project::CLUSTER_SCOPED.contains(&kind) || crds.is_cluster_scoped(group, kind);
        let namespace = match cluster_scoped {
            true => None,
            false => Some(
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(&app.namespace),
            ),
        };
        objects.push(format!(
            "{group}/{kind}/{}/{name}",
            namespace.unwrap_or_default()
        ));
        if let Some(why) = projects.refuses(app, group, kind, name, namespace) {
            push(project::RULE, why);
        }
        for (rule, message) in annotations(&object)
            .into_iter()
            .chain(job_restart_policy(&object))
        {
            push(rule, message);
        }
    }
    problems.sort();
    problems.dedup();
    Checked { problems, objects }
}

/// `crd-schema` and `crd-unknown`: a custom resource against the CRD the tree defines for it.
fn custom_resource(
    crds: &Crds,
    object: &Value,
    api_version: &str,
    kind: &str,
    name: &str,
    push: &mut impl FnMut(&'static str, String),
) {
    match crds.validate(object) {
        Verdict::Checked { file, findings } => {
            for finding in findings {
                let at = match finding.at.as_str() {
                    "" => String::new(),
                    at => format!("{at}: "),
                };
                push(crds::RULE_SCHEMA, format!(
                    "{at}{}; not in the schema of its CRD ({file}), so the API server refuses it or drops the field: fix the template or the value that renders it",
                    finding.message
                ));
            }
            if let Err(rule) = schemas::check_name(kind, name) {
                push(
                    crds::RULE_SCHEMA,
                    format!("metadata.name {name:?} {rule}; the API server refuses it"),
                );
            }
        }
        Verdict::VersionNotServed { file, served } => push(crds::RULE_SCHEMA, format!(
            "{api_version} is not served by the CRD of {kind} ({file}), which serves {}: render one of those versions",
            served.join(", ")
        )),
        Verdict::Unknown => push(crds::RULE_UNKNOWN, format!(
            "no CustomResourceDefinition in the tree defines {kind} of {api_version}, so Argo CD's dry run fails (the server could not find the requested resource): check the apiVersion and kind, add its CRD to a cluster-scoped chart under sources/charts/, or, for a kind installed from elsewhere, its CRD to {}/",
            crate::layout::CRD_CATALOGUE_DIR
        )),
    }
}

/// The file an object came from: the value file that spells it out (a chart such as
/// raw-manifests renders objects written in values), at its `name:` line, the last such layer
/// winning; else the chart template helm names (`# Source: <chart>/templates/x.yaml`); else the
/// Application's component file.
fn origin(
    root: &Path,
    app: &Application,
    document: &str,
    kind: &str,
    name: &str,
) -> (String, usize) {
    let kind_line = format!("kind: {kind}");
    let name_line = format!("name: {name}");
    for file in app.value_files.iter().rev() {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        if !text.contains(&kind_line) {
            continue;
        }
        if let Some(line) = text.lines().position(|l| l.trim() == name_line) {
            return (file.clone(), line + 1);
        }
    }
    let template = document
        .lines()
        .find_map(|l| l.strip_prefix("# Source: "))
        .map(str::trim)
        .and_then(|s| s.split_once('/'))
        .map(|(_, inside)| format!("{}/{inside}", app.chart));
    (template.unwrap_or_else(|| app.component_file.clone()), 0)
}

/// The core group and the groups of Kubernetes itself: everything else is a custom resource.
fn is_built_in(api_version: &str) -> bool {
    match api_version.split_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

const HOOK: &str = "argocd.argoproj.io/hook";
const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Argo CD's hook types (gitops-engine `HookType`, and the controller's PreDelete/PostDelete).
const HOOK_TYPES: [&str; 7] = [
    "PreSync",
    "Sync",
    "PostSync",
    "SyncFail",
    "Skip",
    "PreDelete",
    "PostDelete",
];
const DELETE_POLICIES: [&str; 3] = ["HookSucceeded", "HookFailed", "BeforeHookCreation"];
/// The resource-level sync options gitops-engine reads.
const SYNC_OPTION_VALUES: [&str; 17] = [
    "Prune=false",
    "Prune=confirm",
    "Delete=false",
    "Delete=confirm",
    "Validate=false",
    "SkipDryRunOnMissingResource=true",
    "PruneLast=true",
    "Replace=true",
    "Replace=false",
    "Force=true",
    "ServerSideApply=true",
    "ServerSideApply=false",
    "ApplyOutOfSyncOnly=true",
    "ApplyOutOfSyncOnly=false",
    "ClientSideApplyMigration=true",
    "ClientSideApplyMigration=false",
    "RespectIgnoreDifferences=true",
];
const ARGOCD_ANNOTATIONS: [&str; 6] = [
    HOOK,
    HOOK_DELETE_POLICY,
    SYNC_WAVE,
    SYNC_OPTIONS,
    "argocd.argoproj.io/compare-options",
    "argocd.argoproj.io/deletion-approved",
];

/// `argocd-annotation`: Argo CD's annotations spelled and valued as Argo CD reads them; a value it
/// does not know is ignored by it silently (a misspelt PostSync hook never runs).
fn annotations(object: &Value) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    let Some(annotations) = object["metadata"]["annotations"].as_object() else {
        return found;
    };
    let list =
        |value: &str| -> Vec<String> { value.split(',').map(|v| v.trim().to_owned()).collect() };
    for (key, value) in annotations {
        let value = value.as_str().unwrap_or_default();
        let unknown = |what: &str, v: &str, known: &[&str]| {
            let hint = super::closest(v, known.iter().copied())
                .map_or(String::new(), |c| format!("did you mean {c:?}? "));
            (RULE_ANNOTATION, format!(
                "{key}: {what} {v:?} is not one Argo CD knows, so it ignores it; {hint}use one of {}",
                known.join(", ")
            ))
        };
        match key.as_str() {
            HOOK => found.extend(list(value).iter().filter(|v| !HOOK_TYPES.contains(&v.as_str())).map(|v| unknown("hook type", v, &HOOK_TYPES))),
            HOOK_DELETE_POLICY => found.extend(list(value).iter().filter(|v| !DELETE_POLICIES.contains(&v.as_str())).map(|v| unknown("delete policy", v, &DELETE_POLICIES))),
            SYNC_OPTIONS => found.extend(list(value).iter().filter(|v| !SYNC_OPTION_VALUES.contains(&v.as_str())).map(|v| unknown("sync option", v, &SYNC_OPTION_VALUES))),
            SYNC_WAVE if value.trim().parse::<i32>().is_err() => found.push((RULE_ANNOTATION, format!(
                "{key}: {value:?} is not an integer; Argo CD reads the wave as one (e.g. \"-1\", \"0\", \"5\") and otherwise puts the object in wave 0"
            ))),
            key if key.starts_with("argocd.argoproj.io/") && !ARGOCD_ANNOTATIONS.contains(&key) => {
                let hint = super::closest(key, ARGOCD_ANNOTATIONS).map_or(String::new(), |c| format!("; did you mean {c:?}?"));
                found.push((RULE_ANNOTATION, format!("annotation {key:?} is not one Argo CD reads{hint}")));
            }
            _ => {}
        }
    }
    found
}

/// `job-restart-policy`: a Job's pods must be `Never` or `OnFailure`; the API server refuses a Job
/// with `Always` (the default of a bare pod template), so a hook Job never runs.
fn job_restart_policy(object: &Value) -> Option<(&'static str, String)> {
    let template = match object["kind"].as_str()? {
        "Job" => &object["spec"]["template"],
        "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
        _ => return None,
    };
    let policy = template["spec"]["restartPolicy"].as_str();
    match policy {
        Some("Never" | "OnFailure") => None,
        _ => Some((RULE_JOB, format!(
            "spec.template.spec.restartPolicy is {}; a Job's pods must use Never or OnFailure, else the API server refuses it (and a hook Job never runs): set restartPolicy: Never",
            policy.map_or("unset (Always)".to_owned(), |p| format!("{p:?}"))
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hook_annotations_are_checked_with_a_hint() {
        let object = json!({"metadata": {"annotations": {
            HOOK: "PostSynk",
            HOOK_DELETE_POLICY: "BeforeHookCreation,HookSucceded",
            SYNC_WAVE: "first",
            SYNC_OPTIONS: "Prune=false,Validate=no",
            "argocd.argoproj.io/sync-wav": "1",
        }}});
        let found: Vec<String> = annotations(&object).into_iter().map(|(_, m)| m).collect();
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found[0].contains("hook type \"PostSynk\"")
                && found[0].contains("did you mean \"PostSync\""),
            "{}",
            found[0]
        );
        assert!(
            found[1].contains("delete policy \"HookSucceded\""),
            "{}",
            found[1]
        );
        assert!(
            found[2].contains("\"first\" is not an integer"),
            "{}",
            found[2]
        );
        assert!(
            found[3].contains("sync option \"Validate=no\""),
            "{}",
            found[3]
        );
        assert!(
            found[4].contains("did you mean \"argocd.argoproj.io/sync-wave\""),
            "{}",
            found[4]
        );
        let fine = json!({"metadata": {"annotations": {HOOK: "PostSync", HOOK_DELETE_POLICY: "BeforeHookCreation,HookSucceeded", SYNC_WAVE: "-1"}}});
        assert_eq!(annotations(&fine), Vec::new());
    }

    #[test]
    fn jobs_must_not_restart_always() {
        let job = |policy: Value| json!({"kind": "Job", "spec": {"template": {"spec": {"restartPolicy": policy}}}});
        assert_eq!(job_restart_policy(&job(json!("Never"))), None);
        assert_eq!(job_restart_policy(&job(json!("OnFailure"))), None);
        let (_, message) = job_restart_policy(&job(json!("Always"))).unwrap();
        assert!(message.contains("restartPolicy is \"Always\""), "{message}");
        assert!(
            job_restart_policy(&json!({"kind": "Job", "spec": {"template": {"spec": {}}}}))
                .unwrap()
                .1
                .contains("unset")
        );
        assert_eq!(job_restart_policy(&json!({"kind": "Deployment"})), None);
    }

    #[test]
    fn an_object_two_applications_render_is_reported_once_per_later_owner() {
        let app = |name: &str, file: &str| Application {
            name: name.into(),
            component_file: file.into(),
            ..super::super::fixture::application("dev", "x", "platform", "200")
        };
        let mut owners = Owners::default();
        let quota = "/ResourceQuota/ameide-dev/quota".to_owned();
        owners.add(
            &app("dev-a", "a.yaml"),
            vec![quota.clone(), "apps/Deployment/ameide-dev/a".into()],
        );
        owners.add(&app("dev-b", "b.yaml"), vec![quota.clone()]);
        owners.add(&app("dev-a", "a.yaml"), vec![quota]);
        let problems = owners.shared_problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            (problems[0].path.as_str(), problems[0].rule),
            ("b.yaml", RULE_SHARED)
        );
        assert!(
            problems[0].message.starts_with("ResourceQuota/quota in namespace ameide-dev is rendered by the Applications dev-a, dev-b"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn built_in_groups_are_told_from_custom_resources() {
        assert!(is_built_in("v1"));
        assert!(is_built_in("apps/v1"));
        assert!(is_built_in("networking.k8s.io/v1"));
        assert!(!is_built_in("ameide.io/v1"));
        assert!(!is_built_in("argoproj.io/v1alpha1"));
    }
}
