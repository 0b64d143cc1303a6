//! The APIs Kubernetes stopped serving or deprecated, per version, from the Kubernetes deprecated
//! API migration guide: an object of a removed apiVersion/kind is refused by the API server, so
//! its replacement is named; a deprecated one still syncs, with a warning.

use super::KubeVersion;

/// One apiVersion/kind the API server stops serving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retired {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Served with a deprecation warning from 1.N.
    pub deprecated_in: u32,
    /// No longer served from 1.N; `None` while still served.
    pub removed_in: Option<u32>,
    /// What to use instead.
    pub replacement: &'static str,
}

/// What the target version does with an apiVersion/kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Removed(Retired),
    Deprecated(Retired),
}

const fn retired(
    api_version: &'static str,
    kind: &'static str,
    deprecated_in: u32,
    removed_in: Option<u32>,
    replacement: &'static str,
) -> Retired {
    Retired {
        api_version,
        kind,
        deprecated_in,
        removed_in,
        replacement,
    }
}

/// The guide's table (kubernetes.io/docs/reference/using-api/deprecation-guide), for the kinds
/// a chart of this repository can render.
pub const RETIRED: &[Retired] = &[
    retired(
        "extensions/v1beta1",
        "Deployment",
        9,
        Some(16),
        "apps/v1 Deployment",
    ),
    retired(
        "apps/v1beta1",
        "Deployment",
        9,
        Some(16),
        "apps/v1 Deployment",
    ),
    retired(
        "apps/v1beta2",
        "Deployment",
        9,
        Some(16),
        "apps/v1 Deployment",
    ),
    retired(
        "extensions/v1beta1",
        "DaemonSet",
        9,
        Some(16),
        "apps/v1 DaemonSet",
    ),
    retired(
        "apps/v1beta2",
        "DaemonSet",
        9,
        Some(16),
        "apps/v1 DaemonSet",
    ),
    retired(
        "apps/v1beta1",
        "StatefulSet",
        9,
        Some(16),
        "apps/v1 StatefulSet",
    ),
    retired(
        "apps/v1beta2",
        "StatefulSet",
        9,
        Some(16),
        "apps/v1 StatefulSet",
    ),
    retired(
        "extensions/v1beta1",
        "ReplicaSet",
        9,
        Some(16),
        "apps/v1 ReplicaSet",
    ),
    retired(
        "extensions/v1beta1",
        "NetworkPolicy",
        9,
        Some(16),
        "networking.k8s.io/v1 NetworkPolicy",
    ),
    retired(
        "extensions/v1beta1",
        "Ingress",
        14,
        Some(22),
        "networking.k8s.io/v1 Ingress",
    ),
    retired(
        "networking.k8s.io/v1beta1",
        "Ingress",
        19,
        Some(22),
        "networking.k8s.io/v1 Ingress",
    ),
    retired(
        "networking.k8s.io/v1beta1",
        "IngressClass",
        19,
        Some(22),
        "networking.k8s.io/v1 IngressClass",
    ),
    retired(
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRole",
        17,
        Some(22),
        "rbac.authorization.k8s.io/v1 ClusterRole",
    ),
    retired(
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRoleBinding",
        17,
        Some(22),
        "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
    ),
    retired(
        "rbac.authorization.k8s.io/v1beta1",
        "Role",
        17,
        Some(22),
        "rbac.authorization.k8s.io/v1 Role",
    ),
    retired(
        "rbac.authorization.k8s.io/v1beta1",
        "RoleBinding",
        17,
        Some(22),
        "rbac.authorization.k8s.io/v1 RoleBinding",
    ),
    retired(
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        16,
        Some(22),
        "apiextensions.k8s.io/v1 CustomResourceDefinition",
    ),
    retired(
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        16,
        Some(22),
        "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration",
    ),
    retired(
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        16,
        Some(22),
        "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration",
    ),
    retired(
        "scheduling.k8s.io/v1beta1",
        "PriorityClass",
        14,
        Some(22),
        "scheduling.k8s.io/v1 PriorityClass",
    ),
    retired(
        "storage.k8s.io/v1beta1",
        "StorageClass",
        19,
        Some(22),
        "storage.k8s.io/v1 StorageClass",
    ),
    retired(
        "coordination.k8s.io/v1beta1",
        "Lease",
        19,
        Some(22),
        "coordination.k8s.io/v1 Lease",
    ),
    retired("batch/v1beta1", "CronJob", 21, Some(25), "batch/v1 CronJob"),
    retired(
        "policy/v1beta1",
        "PodDisruptionBudget",
        21,
        Some(25),
        "policy/v1 PodDisruptionBudget",
    ),
    retired(
        "policy/v1beta1",
        "PodSecurityPolicy",
        21,
        Some(25),
        "Pod Security Admission (pod-security.kubernetes.io labels on the Namespace)",
    ),
    retired(
        "discovery.k8s.io/v1beta1",
        "EndpointSlice",
        21,
        Some(25),
        "discovery.k8s.io/v1 EndpointSlice",
    ),
    retired(
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        22,
        Some(25),
        "autoscaling/v2 HorizontalPodAutoscaler",
    ),
    retired(
        "autoscaling/v2beta2",
        "HorizontalPodAutoscaler",
        23,
        Some(26),
        "autoscaling/v2 HorizontalPodAutoscaler",
    ),
    retired(
        "node.k8s.io/v1beta1",
        "RuntimeClass",
        22,
        Some(25),
        "node.k8s.io/v1 RuntimeClass",
    ),
    retired(
        "storage.k8s.io/v1beta1",
        "CSIStorageCapacity",
        24,
        Some(27),
        "storage.k8s.io/v1 CSIStorageCapacity",
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema",
        26,
        Some(29),
        "flowcontrol.apiserver.k8s.io/v1 FlowSchema",
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "PriorityLevelConfiguration",
        26,
        Some(29),
        "flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration",
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "FlowSchema",
        29,
        Some(32),
        "flowcontrol.apiserver.k8s.io/v1 FlowSchema",
    ),
    retired(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "PriorityLevelConfiguration",
        29,
        Some(32),
        "flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration",
    ),
    retired(
        "v1",
        "Endpoints",
        33,
        None,
        "discovery.k8s.io/v1 EndpointSlice",
    ),
    retired(
        "v1",
        "ComponentStatus",
        19,
        None,
        "the API server's /livez and /readyz endpoints",
    ),
];

/// What `version` does with `api_version`/`kind`; `None` when it serves it without a warning.
pub fn status(version: KubeVersion, api_version: &str, kind: &str) -> Option<Status> {
    let retired = RETIRED
        .iter()
        .find(|r| r.api_version == api_version && r.kind == kind)?;
    match retired.removed_in {
        Some(removed) if version.minor >= removed => Some(Status::Removed(*retired)),
        _ if version.minor >= retired.deprecated_in => Some(Status::Deprecated(*retired)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u32) -> KubeVersion {
        KubeVersion { minor }
    }

    #[test]
    fn a_removed_api_is_removed_from_its_version_on_and_deprecated_before() {
        let cron = |minor| status(v(minor), "batch/v1beta1", "CronJob");
        assert!(
            matches!(cron(25), Some(Status::Removed(r)) if r.replacement == "batch/v1 CronJob")
        );
        assert!(matches!(cron(31), Some(Status::Removed(_))));
        assert!(matches!(cron(24), Some(Status::Deprecated(_))));
        assert_eq!(cron(20), None);
        assert_eq!(status(v(31), "batch/v1", "CronJob"), None);
    }

    #[test]
    fn a_deprecated_api_still_served_is_only_deprecated() {
        assert!(matches!(
            status(v(33), "v1", "Endpoints"),
            Some(Status::Deprecated(r)) if r.replacement == "discovery.k8s.io/v1 EndpointSlice"
        ));
        assert_eq!(status(v(32), "v1", "Endpoints"), None);
    }

    #[test]
    fn every_entry_is_deprecated_before_it_is_removed_and_listed_once() {
        for (i, r) in RETIRED.iter().enumerate() {
            assert!(
                r.removed_in.is_none_or(|removed| removed > r.deprecated_in),
                "{r:?}"
            );
            assert!(
                !RETIRED[..i]
                    .iter()
                    .any(|o| o.api_version == r.api_version && o.kind == r.kind),
                "{r:?} twice"
            );
        }
    }
}
