//! The env entries of the cluster files that the ApplicationSet reads (docs/conventions.md#layout).
//!
//! Allowed envs are never hard-coded: they are whatever the cluster files named by the
//! ApplicationSet's git files generators hold.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::kube::KubeVersion;
use crate::layout;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    pub cluster: String,
    pub cluster_type: String,
    pub env: String,
    pub namespace: String,
    pub node_profile: String,
    pub dns_zone: String,
    /// The Kubernetes minor version the cluster runs: what `verify` checks rendered objects
    /// against (the API schemas, and the APIs it no longer serves).
    pub kubernetes_version: KubeVersion,
}

/// The cluster files (repository paths) that the ApplicationSet's git files generators read, as
/// the one model of the ApplicationSet ([`crate::argo`]) reads them.
pub fn appset_cluster_files(root: &Path) -> Result<Vec<String>> {
    std::fs::metadata(root.join(layout::APPSET))
        .with_context(|| format!("reading {}", layout::APPSET))?;
    let mut files: Vec<String> = crate::argo::git_file_patterns(root, layout::APPSET)
        .into_iter()
        .map(|(pattern, _)| pattern)
        .collect();
    files.retain(|f| f.starts_with("config/clusters/"));
    if files.is_empty() {
        bail!(
            "{}: no git files generator reads a file under config/clusters/; the envs cannot be known",
            layout::APPSET
        );
    }
    Ok(files)
}

/// Reads one cluster file: a YAML list of env entries; every key is required, none other allowed.
pub fn read_cluster_file(root: &Path, path: &str) -> Result<Vec<Cluster>> {
    let text =
        std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))?;
    let clusters: Vec<Cluster> = crate::yaml::from_str(&text)
        .with_context(|| format!("parsing {path}: expected a list of env entries"))?;
    Ok(clusters)
}

/// The envs the ApplicationSet generates Applications for, in file order.
pub fn appset_envs(root: &Path) -> Result<Vec<Cluster>> {
    let mut envs: Vec<Cluster> = Vec::new();
    for file in appset_cluster_files(root)? {
        for cluster in read_cluster_file(root, &file)? {
            if envs.iter().any(|c| c.env == cluster.env) {
                bail!("{file}: env {:?} is listed twice", cluster.env);
            }
            envs.push(cluster);
        }
    }
    Ok(envs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Cluster>, String> {
        crate::yaml::from_str(text).map_err(|e| e.to_string())
    }

    const ENTRY: &str = "- cluster: aks-main\n  clusterType: azure\n  env: dev\n  namespace: ameide-dev\n  nodeProfile: dev-pool\n  dnsZone: dev.ameide.io\n";

    #[test]
    fn an_entry_declares_its_kubernetes_version() {
        let clusters = parse(&format!("{ENTRY}  kubernetesVersion: \"1.31\"\n")).unwrap();
        assert_eq!(clusters[0].kubernetes_version, KubeVersion { minor: 31 });
    }

    #[test]
    fn a_missing_unquoted_or_misspelt_version_is_refused() {
        let missing = parse(ENTRY).unwrap_err();
        assert!(
            missing.contains("missing field `kubernetesVersion`"),
            "{missing}"
        );
        let unquoted = parse(&format!("{ENTRY}  kubernetesVersion: 1.30\n")).unwrap_err();
        assert!(unquoted.contains("must be a quoted string"), "{unquoted}");
        let misspelt = parse(&format!(
            "{ENTRY}  kubernetesVersion: \"1.31\"\n  kubernetesVersoin: \"1.31\"\n"
        ))
        .unwrap_err();
        assert!(
            misspelt.contains("unknown field `kubernetesVersoin`"),
            "{misspelt}"
        );
    }
}
