//! The CustomResourceDefinitions the tree defines, which every custom resource a chart renders is
//! checked against (`crd-schema`, `crd-unknown`), and the folder of the clusters the
//! cluster-scoped ApplicationSet installs them in (`cluster-scoped`). docs/verify-rules.md
//! documents each.
//!
//! The CRDs are read from the charts' files, not from their renders: the renders finish in any
//! order, and a custom resource must be checked against its CRD whichever comes first. The two
//! are the same because a chart's CRDs are literal YAML (no values, no templating), which helm
//! renders byte for byte; a CRD written with templating does not parse and is not read, so its
//! custom resources are reported `crd-unknown`. Kinds installed from elsewhere have their CRDs in
//! the catalogue, [`layout::CRD_CATALOGUE_DIR`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::super::problem::Problem;
use crate::clusters::Cluster;
use crate::kube::crds::Crds;
use crate::layout;

pub const RULE_SCHEMA: &str = "crd-schema";
pub const RULE_UNKNOWN: &str = "crd-unknown";
pub const RULE_CLUSTERS: &str = "cluster-scoped";

/// Argo CD's own kinds, which `argocd-schema` checks against the schema of its version.
pub const ARGOCD_KINDS: [&str; 3] = ["Application", "ApplicationSet", "AppProject"];

/// Every CRD in the charts' `templates/` and `crds/` folders and in the catalogue, with the
/// problems of the ones that cannot be used.
pub fn load(root: &Path) -> (Crds, Vec<Problem>) {
    let in_charts = layout::walk(root, layout::CHARTS_DIR, layout::Walk::EVERYTHING)
        .unwrap_or_default()
        .into_iter()
        .filter(|path| {
            path.split('/')
                .any(|segment| segment == "templates" || segment == "crds")
        });
    let catalogue = layout::walk(root, layout::CRD_CATALOGUE_DIR, layout::Walk::EVERYTHING)
        .unwrap_or_default()
        .into_iter();
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for path in in_charts.chain(catalogue) {
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&path)) else {
            continue;
        };
        if !text.contains("CustomResourceDefinition") {
            continue;
        }
        match super::yaml::parse_all(&text) {
            Ok(docs) => documents.extend(
                docs.iter()
                    .filter_map(|doc| serde_json::to_value(doc).ok())
                    .map(|doc| (path.clone(), doc)),
            ),
            Err(err) if path.starts_with(layout::CRD_CATALOGUE_DIR) => problems.push(
                Problem::new(&path, 0, RULE_SCHEMA, format!("is not YAML ({err}); a catalogue entry is a CustomResourceDefinition as its project publishes it")),
            ),
            // A chart template with templating: not a CRD verify can read (see above).
            Err(_) => {}
        }
    }
    let (crds, refused) = Crds::from_documents(documents);
    problems.extend(
        refused
            .into_iter()
            .map(|r| Problem::new(&r.file, 0, RULE_SCHEMA, r.message)),
    );
    (crds, problems)
}

/// `cluster-scoped`: when an ApplicationSet reads [`layout::CLUSTER_SCOPED_DIR`], the folder holds
/// one file `<cluster>.yaml` (exactly `cluster: <cluster>`) per distinct cluster of the env
/// entries `entries` (with the cluster files they are in), and no other; the env entries of one
/// cluster declare one Kubernetes version.
pub fn clusters(root: &Path, entries: &[(String, Cluster)]) -> Vec<Problem> {
    let read = layout::appset_files(root)
        .unwrap_or_default()
        .iter()
        .flat_map(|appset| crate::argo::git_file_patterns(root, appset))
        .any(|(_, folder)| folder.starts_with(layout::CLUSTER_SCOPED_DIR));
    if !read {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let mut by_cluster: BTreeMap<&str, (&str, &Cluster)> = BTreeMap::new();
    for (file, entry) in entries {
        match by_cluster.get(entry.cluster.as_str()) {
            Some((_, first)) if first.kubernetes_version != entry.kubernetes_version => {
                problems.push(Problem::new(file, 0, RULE_CLUSTERS, format!(
                    "env {} runs cluster {} at kubernetesVersion {}, env {} at {}: one cluster runs one version, and its cluster-wide components are checked against it; make them equal",
                    entry.env, entry.cluster, entry.kubernetes_version, first.env, first.kubernetes_version
                )));
            }
            Some(_) => {}
            None => {
                by_cluster.insert(&entry.cluster, (file, entry));
            }
        }
    }
    let dir = layout::CLUSTER_SCOPED_DIR;
    let mut listed = BTreeSet::new();
    for path in layout::walk(root, dir, layout::Walk::EVERYTHING).unwrap_or_default() {
        let Some(stem) = path
            .strip_prefix(&format!("{dir}/"))
            .and_then(|name| name.strip_suffix(".yaml"))
            .filter(|name| !name.contains('/'))
        else {
            problems.push(Problem::new(
                &path,
                0,
                RULE_CLUSTERS,
                format!(
                "{dir}/ holds only <cluster>.yaml files, one per cluster: move or remove this one"
            ),
            ));
            continue;
        };
        let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        let doc: Option<Value> = crate::yaml::from_str(&text).ok();
        let keys: Vec<&str> = doc
            .as_ref()
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let named = doc.as_ref().and_then(|d| d["cluster"].as_str());
        if keys != ["cluster"] || named != Some(stem) {
            problems.push(Problem::new(&path, 1, RULE_CLUSTERS, format!(
                "must hold exactly `cluster: {stem}` (the file is named after its cluster); the ApplicationSet makes one Application per file from it"
            )));
        }
        listed.insert(stem.to_owned());
        if !by_cluster.contains_key(stem) {
            problems.push(Problem::new(&path, 0, RULE_CLUSTERS, format!(
                "no env entry of the cluster files runs on cluster {stem:?}, so its cluster-wide components would go to a cluster no env uses; remove the file (known clusters: {})",
                by_cluster.keys().copied().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    for (cluster, (file, entry)) in &by_cluster {
        if !listed.contains(*cluster) {
            problems.push(Problem::new(*file, 0, RULE_CLUSTERS, format!(
                "env {} runs on cluster {cluster}, which has no {dir}/{cluster}.yaml: the primitives' CRDs are never installed there; add the file holding `cluster: {cluster}`",
                entry.env
            )));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Fixture};
    use super::*;
    use crate::kube::crds::Verdict;

    fn entries(fx: &Fixture) -> Vec<(String, Cluster)> {
        let file = "config/clusters/azure.yaml";
        crate::clusters::read_cluster_file(fx.root(), file)
            .unwrap()
            .into_iter()
            .map(|c| (file.to_owned(), c))
            .collect()
    }

    #[test]
    fn the_tree_defines_the_six_primitive_kinds_and_its_clusters_folder_matches() {
        let fx = Fixture::new();
        let (crds, problems) = load(fx.root());
        assert_eq!(problems, Vec::new());
        for kind in crate::primitive::Kind::ALL {
            let object = serde_json::json!({"apiVersion": "ameide.io/v1", "kind": kind.crd_kind()});
            assert!(
                matches!(crds.validate(&object), Verdict::Checked { .. }),
                "{kind}"
            );
        }
        assert_eq!(clusters(fx.root(), &entries(&fx)), Vec::new());
    }

    #[test]
    fn a_missing_or_extra_cluster_file_is_reported() {
        let fx = Fixture::new();
        let dir = layout::CLUSTER_SCOPED_DIR;
        std::fs::remove_file(fx.root().join(format!("{dir}/aks-main.yaml"))).unwrap();
        fx.write(&format!("{dir}/aks-old.yaml"), "cluster: aks-olde\n");
        let problems = clusters(fx.root(), &entries(&fx));
        let missing = fixture::find(&problems, RULE_CLUSTERS, "config/clusters/azure.yaml");
        assert!(
            missing
                .message
                .contains("has no config/cluster-scoped/aks-main.yaml"),
            "{}",
            missing.message
        );
        let extra: Vec<&str> = problems
            .iter()
            .filter(|p| p.path == format!("{dir}/aks-old.yaml"))
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(extra.len(), 2, "{problems:?}");
        assert!(extra[0].contains("exactly `cluster: aks-old`"), "{extra:?}");
        assert!(extra[1].contains("no env entry"), "{extra:?}");
    }

    #[test]
    fn one_cluster_runs_one_kubernetes_version() {
        let fx = Fixture::new();
        let mut found = entries(&fx);
        found[1].1.kubernetes_version = crate::kube::KubeVersion { minor: 32 };
        let problems = clusters(fx.root(), &found);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains(
                "env staging runs cluster aks-main at kubernetesVersion 1.32, env dev at 1.31"
            ),
            "{}",
            problems[0].message
        );
    }
}
