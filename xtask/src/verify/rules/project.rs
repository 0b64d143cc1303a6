//! `app-project`: an Application's AppProject permits it, as Argo CD checks at sync
//! (`AppProject.IsSourcePermitted`, `IsDestinationPermitted`, `IsGroupKindNamePermitted` of
//! Argo CD's v1alpha1 types): the project exists under `argocd/`, is not `default`, lists every
//! source in `sourceRepos` and the destination in `destinations`, and permits the group/kind of
//! every rendered object (cluster-scoped ones only through `clusterResourceWhitelist`).

use std::path::Path;

use serde_json::Value;

use super::super::problem::Problem;
use crate::argo::Application;

pub const RULE: &str = "app-project";
pub const RULE_UNUSED: &str = "app-project-unused";

/// The AppProjects defined under `argocd/`, with the file each is in.
#[derive(Debug, Default)]
pub struct Projects {
    projects: Vec<(String, Value)>,
}

impl Projects {
    /// Every AppProject in the YAML files under `argocd/`; files that do not parse are the YAML
    /// rules' to report.
    pub fn load(root: &Path) -> Projects {
        let mut paths = crate::layout::walk(root, "argocd", crate::layout::Walk::EVERYTHING)
            .unwrap_or_default();
        paths.sort();
        let mut projects = Vec::new();
        for path in paths
            .iter()
            .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
        {
            let Ok(text) = std::fs::read_to_string(root.join(path)) else {
                continue;
            };
            for doc in super::yaml::parse_all(&text).unwrap_or_default() {
                if doc["kind"].as_str() == Some("AppProject") {
                    if let Ok(object) = serde_json::to_value(&doc) {
                        projects.push((path.clone(), object));
                    }
                }
            }
        }
        Projects { projects }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.projects
            .iter()
            .find(|(_, p)| p["metadata"]["name"].as_str() == Some(name))
            .map(|(_, p)| p)
    }

    /// The project `app` names, as compact JSON (for a cache key); empty when it has none.
    pub fn digest_of(&self, app: &Application) -> String {
        project_name(app)
            .and_then(|name| self.get(&name))
            .map_or(String::new(), Value::to_string)
    }

    /// The generated Application's project, sources and destination; with the Application.
    pub fn check_application(&self, app: &Application) -> Vec<(Problem, String)> {
        let manifest = app.manifest();
        if manifest.is_null() {
            return Vec::new();
        }
        let refuse = |message: String| {
            vec![(
                Problem::new(&app.appset, 0, RULE, message),
                app.name.clone(),
            )]
        };
        let Some(name) = project_name(app) else {
            return Vec::new();
        };
        if name == "default" {
            return refuse(
                "the generated Application uses the project \"default\", which permits every source, destination and kind: set spec.project to an AppProject under argocd/projects/ that fences it".to_owned(),
            );
        }
        let Some(project) = self.get(&name) else {
            let known: Vec<&str> = self
                .projects
                .iter()
                .filter_map(|(_, p)| p["metadata"]["name"].as_str())
                .collect();
            return refuse(format!(
                "the generated Application's project {name:?} is not defined under argocd/, so Argo CD refuses it; use one of {} or add the AppProject",
                known.join(", ")
            ));
        };
        let spec = &manifest["spec"];
        let mut found = Vec::new();
        let sources: Vec<&Value> = match spec["sources"].as_array() {
            Some(list) => list.iter().collect(),
            None => spec.get("source").into_iter().collect(),
        };
        for source in sources {
            let repo = source["repoURL"].as_str().unwrap_or_default();
            if !source_permitted(project, repo) {
                found.push(format!("source {repo:?} is not in the sourceRepos of AppProject {name}: add it there, or use a permitted repository"));
            }
        }
        let destination = &spec["destination"];
        let server = destination["server"].as_str().unwrap_or_default();
        let cluster = destination["name"].as_str().unwrap_or_default();
        let namespace = destination["namespace"].as_str().unwrap_or_default();
        if !destination_permitted(project, server, cluster, namespace) {
            found.push(format!(
                "destination {} namespace {namespace:?} is not in the destinations of AppProject {name}: add it there",
                if server.is_empty() { format!("cluster {cluster:?}") } else { format!("server {server:?}") }
            ));
        }
        let creates_namespace = spec["syncPolicy"]["syncOptions"]
            .as_array()
            .is_some_and(|o| o.iter().any(|o| o == "CreateNamespace=true"));
        if creates_namespace {
            found.extend(
                self.refuses(app, "", "Namespace", namespace, None)
                    .map(|why| {
                        format!(
                            "CreateNamespace=true creates the Namespace {namespace:?}, but {why}"
                        )
                    }),
            );
        }
        found
            .into_iter()
            .map(|message| {
                (
                    Problem::new(
                        &app.appset,
                        0,
                        RULE,
                        format!("the generated Application: {message}"),
                    ),
                    app.name.clone(),
                )
            })
            .collect()
    }

    /// Why `app`'s project refuses a rendered object (group, kind, name, its namespace or none
    /// for a cluster-scoped one); `None` when it permits it or the project is reported already.
    pub fn refuses(
        &self,
        app: &Application,
        group: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Option<String> {
        let project_name = project_name(app)?;
        let project = self.get(&project_name)?;
        let spec = &project["spec"];
        let object = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        match namespace {
            Some(namespace) => {
                if !group_kind_permitted(spec, group, kind, name, true) {
                    return Some(format!("AppProject {project_name} does not permit the namespaced kind {object} (namespaceResourceWhitelist/Blacklist): Argo CD refuses to sync it; permit it there or render something else"));
                }
                // The Application's own namespace is checked with the Application, once.
                if namespace == app.namespace {
                    return None;
                }
                let destination = &app.manifest()["spec"]["destination"];
                let server = destination["server"].as_str().unwrap_or_default();
                let cluster = destination["name"].as_str().unwrap_or_default();
                (!destination_permitted(project, server, cluster, namespace)).then(|| {
                    format!("namespace {namespace:?} is not a destination of AppProject {project_name}: render it into the Application's namespace or add the destination")
                })
            }
            None => (!group_kind_permitted(spec, group, kind, name, false)).then(|| {
                format!("AppProject {project_name} does not permit the cluster-scoped kind {object} (clusterResourceWhitelist/Blacklist): Argo CD refuses to sync it; permit it there or render something else")
            }),
        }
    }
}

impl Projects {
    /// `app-project-unused`: every `clusterResourceWhitelist` entry of every AppProject permits
    /// a kind some Application of the project renders (`used`: project, group, kind), and names
    /// it without a wildcard. A cluster-scoped permission no Application needs is one a future
    /// chart can use without review.
    pub fn unused_cluster_permissions(
        &self,
        root: &Path,
        used: &std::collections::BTreeSet<(String, String, String)>,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (path, project) in &self.projects {
            let name = project["metadata"]["name"].as_str().unwrap_or_default();
            let text = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            let line = super::yaml::line_of_path(&text, &["spec", "clusterResourceWhitelist"]);
            let needed: Vec<String> = used
                .iter()
                .filter(|(p, _, _)| p == name)
                .map(|(_, g, k)| show_kind(g, k))
                .collect();
            let needed = match needed.is_empty() {
                true => "none".to_owned(),
                false => needed.join(", "),
            };
            for item in project["spec"]["clusterResourceWhitelist"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let (group, kind) = (
                    item["group"].as_str().unwrap_or_default(),
                    item["kind"].as_str().unwrap_or_default(),
                );
                let entry = show_kind(group, kind);
                let message = if group.contains(['*', '?']) || kind.contains(['*', '?']) {
                    format!("AppProject {name} permits every cluster-scoped kind matching {entry}: list the kinds its Applications render instead ({needed})")
                } else if !used
                    .iter()
                    .any(|(p, g, k)| p == name && g == group && k == kind)
                {
                    format!("AppProject {name} permits the cluster-scoped kind {entry}, which none of its Applications renders (they render {needed}): remove it, so that no chart of the project gains it without a review of this file")
                } else {
                    continue;
                };
                problems.push(Problem::new(path, line, RULE_UNUSED, message));
            }
        }
        problems
    }
}

fn show_kind(group: &str, kind: &str) -> String {
    match group {
        "" => kind.to_owned(),
        group => format!("{kind}.{group}"),
    }
}

pub(super) fn project_name(app: &Application) -> Option<String> {
    app.project.clone()
}

/// `IsGroupKindNamePermitted`: a namespaced kind is permitted unless a non-empty whitelist
/// misses it or the blacklist holds it; a cluster-scoped one only when the whitelist holds it.
fn group_kind_permitted(
    spec: &Value,
    group: &str,
    kind: &str,
    name: &str,
    namespaced: bool,
) -> bool {
    let listed = |key: &str| -> Option<bool> {
        let list = spec[key].as_array()?;
        Some(list.iter().any(|item| {
            let (g, k) = (
                item["group"].as_str().unwrap_or_default(),
                item["kind"].as_str().unwrap_or_default(),
            );
            let n = item["name"].as_str().unwrap_or_default();
            glob(k, kind, Some('/'))
                && glob(g, group, Some('/'))
                && (namespaced || n.is_empty() || glob(n, name, Some('/')))
        }))
    };
    let (white, black) = match namespaced {
        true => ("namespaceResourceWhitelist", "namespaceResourceBlacklist"),
        false => ("clusterResourceWhitelist", "clusterResourceBlacklist"),
    };
    let whitelisted = match (namespaced, listed(white)) {
        // A namespaced kind with no whitelist at all is permitted; an empty one permits nothing.
        (true, None) => true,
        (_, found) => found.unwrap_or(false),
    };
    whitelisted && !listed(black).unwrap_or(false)
}

/// `IsSourcePermitted`: some pattern of `sourceRepos` matches the normalized URL and no `!`
/// pattern excludes it.
fn source_permitted(project: &Value, repo: &str) -> bool {
    let repo = normalize_git_url(repo);
    let mut any = false;
    for pattern in project["spec"]["sourceRepos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let (deny, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, normalize_git_url(rest)),
            None => (false, normalize_git_url(pattern)),
        };
        // As globMatch with negation: a `!` pattern matches what it does not name.
        let matched = match deny {
            true => !glob(&pattern, &repo, Some('/')),
            false => pattern == "*" || glob(&pattern, &repo, Some('/')),
        };
        if matched {
            any = true;
        } else if deny {
            return false;
        }
    }
    any
}

/// `isDestinationMatched`, without the cluster lookup Argo CD makes (server or name as given).
fn destination_permitted(project: &Value, server: &str, cluster: &str, namespace: &str) -> bool {
    let mut any = false;
    let matches = |pattern: &str, value: &str| match pattern.strip_prefix('!') {
        Some(rest) => !glob(rest, value, None),
        None => pattern == "*" || glob(pattern, value, None),
    };
    for item in project["spec"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (s, n, ns) = (
            item["server"].as_str().unwrap_or_default(),
            item["name"].as_str().unwrap_or_default(),
            item["namespace"].as_str().unwrap_or_default(),
        );
        let server_ok = !server.is_empty() && matches(s, server);
        let name_ok = !cluster.is_empty() && matches(n, cluster);
        let namespace_ok = matches(ns, namespace);
        if (server_ok || name_ok) && namespace_ok {
            any = true;
        } else if ((!name_ok && n.starts_with('!')) || (!server_ok && s.starts_with('!')))
            && namespace_ok
            || (!namespace_ok && ns.starts_with('!') && server_ok)
        {
            return false;
        }
    }
    any
}

/// Argo CD's `git.NormalizeGitURL`, for the forms this repository uses: lowercase, without a
/// trailing `/` or `.git`.
fn normalize_git_url(url: &str) -> String {
    let url = url.trim().to_lowercase();
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_owned()
}

/// A glob as Argo CD's matchers read the patterns of an AppProject: `*` any run of characters
/// (not crossing `separator`), `**` any run at all, `?` one character; everything else literal
/// (character classes and alternations are not used by this repository and match literally).
pub fn glob(pattern: &str, value: &str, separator: Option<char>) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    fn go(p: &[char], v: &[char], sep: Option<char>) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('*') if p.get(1) == Some(&'*') => (0..=v.len()).any(|i| go(&p[2..], &v[i..], sep)),
            Some('*') => {
                let run = v.iter().position(|c| Some(*c) == sep).unwrap_or(v.len());
                (0..=run).any(|i| go(&p[1..], &v[i..], sep))
            }
            Some('?') => v.first().is_some_and(|c| Some(*c) != sep) && go(&p[1..], &v[1..], sep),
            Some(c) => v.first() == Some(c) && go(&p[1..], &v[1..], sep),
        }
    }
    go(&p, &v, separator)
}

/// The built-in kinds the API server serves cluster-scoped; every other kind is namespaced here
/// (a custom resource's scope is its CRD's).
pub const CLUSTER_SCOPED: [&str; 33] = [
    "Namespace",
    "Node",
    "PersistentVolume",
    "ComponentStatus",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "VolumeAttributesClass",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "CertificateSigningRequest",
    "ClusterTrustBundle",
    "DeviceClass",
    "IPAddress",
    "ServiceCIDR",
    "StorageVersion",
    "TokenReview",
    "SubjectAccessReview",
    "SelfSubjectReview",
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globs_match_as_argo_cd_reads_them() {
        assert!(glob("*", "anything/at/all", None));
        assert!(glob("ameide-*", "ameide-dev", None));
        assert!(!glob("ameide-*", "other-dev", None));
        assert!(glob(
            "https://github.com/ameideio/*",
            "https://github.com/ameideio/x",
            Some('/')
        ));
        assert!(!glob(
            "https://github.com/*",
            "https://github.com/ameideio/x",
            Some('/')
        ));
        assert!(glob(
            "https://github.com/**",
            "https://github.com/ameideio/x",
            Some('/')
        ));
        assert!(glob("v?", "v1", None));
    }

    fn project() -> Value {
        json!({"spec": {
            "sourceRepos": ["https://github.com/ameideio/ameide-gitops.git"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "ameide-*"}, {"server": "*", "namespace": "!kube-system"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
        }})
    }

    #[test]
    fn sources_are_matched_normalized() {
        let p = project();
        assert!(source_permitted(
            &p,
            "https://github.com/ameideio/ameide-gitops"
        ));
        assert!(source_permitted(
            &p,
            "https://GitHub.com/ameideio/ameide-gitops.git/"
        ));
        assert!(!source_permitted(&p, "https://github.com/someone/else.git"));
    }

    #[test]
    fn destinations_match_and_a_deny_pattern_excludes() {
        let p = project();
        assert!(destination_permitted(
            &p,
            "https://kubernetes.default.svc",
            "",
            "ameide-dev"
        ));
        assert!(!destination_permitted(
            &p,
            "https://kubernetes.default.svc",
            "",
            "kube-system"
        ));
        assert!(!destination_permitted(&p, "", "", "ameide-dev"));
    }

    #[test]
    fn a_cluster_scoped_permission_no_application_uses_is_reported() {
        let fx = super::super::fixture::Fixture::new();
        let projects = Projects::load(fx.root());
        let used = |kinds: &[(&str, &str, &str)]| {
            kinds
                .iter()
                .map(|(p, g, k)| (p.to_string(), g.to_string(), k.to_string()))
                .collect()
        };
        let all = used(&[
            ("ameide", "", "Namespace"),
            (
                "ameide-cluster",
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
            ),
        ]);
        assert_eq!(
            projects.unused_cluster_permissions(fx.root(), &all),
            Vec::new()
        );
        let found =
            projects.unused_cluster_permissions(fx.root(), &used(&[("ameide", "", "Namespace")]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].path.as_str(), found[0].rule),
            ("argocd/projects/ameide-cluster.yaml", RULE_UNUSED)
        );
        assert!(
            found[0].message.contains("(they render none)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn kinds_are_permitted_as_argo_cd_permits_them() {
        let spec = &project()["spec"];
        assert!(group_kind_permitted(spec, "", "Namespace", "x", false));
        assert!(!group_kind_permitted(
            spec,
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "x",
            false
        ));
        // No namespaced whitelist: everything but the blacklist.
        assert!(group_kind_permitted(spec, "apps", "Deployment", "x", true));
        assert!(!group_kind_permitted(spec, "", "ResourceQuota", "x", true));
        let empty = json!({"namespaceResourceWhitelist": []});
        assert!(!group_kind_permitted(
            &empty,
            "apps",
            "Deployment",
            "x",
            true
        ));
    }
}
