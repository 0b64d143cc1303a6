//! What the Kubernetes API server accepts, offline: the version a cluster runs ([`KubeVersion`],
//! declared per cluster entry in `config/clusters/`), its API schemas ([`schemas`], pinned and
//! provisioned by `tools.rs`) and the APIs it no longer serves ([`deprecations`]).
//!
//! It takes objects as input and knows nothing of charts or Argo CD: `verify` feeds it every
//! rendered object (docs/verify-rules.md, `kube-schema` and `kube-api-removed`).

pub mod crds;
pub mod deprecations;
pub mod schemas;

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A Kubernetes minor version, `1.N`, as a cluster entry's `kubernetesVersion` declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub minor: u32,
}

impl KubeVersion {
    pub fn parse(input: &str) -> Result<KubeVersion, String> {
        let minor = input
            .strip_prefix("1.")
            .filter(|m| {
                !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) && !m.starts_with('0')
            })
            .and_then(|m| m.parse().ok());
        match minor {
            Some(minor) => Ok(KubeVersion { minor }),
            None => Err(format!(
                "kubernetesVersion {input:?}: must be the cluster's Kubernetes minor version as 1.N, e.g. \"1.31\""
            )),
        }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

impl<'de> Deserialize<'de> for KubeVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KubeVersion, D::Error> {
        // Unquoted, YAML reads 1.30 as the number 1.3: only a string says what was meant.
        match crate::yaml::Value::deserialize(deserializer)? {
            crate::yaml::Value::String(s) => KubeVersion::parse(&s).map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "kubernetesVersion {}: must be a quoted string such as \"1.31\" (unquoted, YAML reads 1.30 as the number 1.3)",
                crate::yaml::to_string(&other).unwrap_or_default().trim()
            ))),
        }
    }
}

/// The Kubernetes versions the cluster files under `config/clusters/` declare, sorted; entries
/// that do not parse are left to `verify` to report.
pub fn declared_versions(root: &std::path::Path) -> Vec<KubeVersion> {
    let mut versions: Vec<KubeVersion> = std::fs::read_dir(root.join("config/clusters"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = format!("config/clusters/{}", entry.file_name().to_string_lossy());
            crate::clusters::read_cluster_file(root, &path).ok()
        })
        .flatten()
        .map(|cluster| cluster.kubernetes_version)
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_one_dot_minor_only() {
        assert_eq!(KubeVersion::parse("1.31"), Ok(KubeVersion { minor: 31 }));
        assert_eq!(KubeVersion::parse("1.31").unwrap().to_string(), "1.31");
        for bad in ["1.31.0", "v1.31", "1.", "2.1", "1.031", "1.3x", ""] {
            let err = KubeVersion::parse(bad).unwrap_err();
            assert!(err.contains("e.g. \"1.31\""), "{bad}: {err}");
        }
    }

    #[test]
    fn an_unquoted_version_is_refused_with_the_reason() {
        let err = crate::yaml::from_str::<KubeVersion>("1.30").unwrap_err();
        assert!(
            err.to_string().contains("reads 1.30 as the number 1.3"),
            "{err}"
        );
        assert_eq!(
            crate::yaml::from_str::<KubeVersion>("\"1.30\"").unwrap(),
            KubeVersion { minor: 30 }
        );
    }
}
