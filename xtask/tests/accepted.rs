//! End to end: what the Kubernetes API server and Argo CD would refuse, found by `verify` as
//! built, in a temporary copy of the repository with real helm and the pinned schemas. Each test
//! plants one fault and checks the problem names the file, the object and the rule.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use support::{code, copy_content, json, stderr, stdout, tool, TempDir};

const APPSET: &str = "argocd/applicationsets/ameide.yaml";
const RAW_MANIFESTS: &str =
    "sources/charts/foundation/common/raw-manifests/templates/manifests.yaml";
const DEFAULT_DENY: &str = "sources/values/_shared/platform/default-deny.yaml";
const NAMESPACE_POLICY: &str = "sources/values/_shared/foundation/namespace-policy.yaml";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = TempDir::new("accepted-e2e");
        copy_content(dir.path());
        Repo {
            dir,
            helm: tool("helm3"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env("AMEIDE_KUBE_SCHEMAS", support::kube_schemas())
            .env_remove("AMEIDE_HELM_VERSION")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("running xtask")
    }

    fn verify(&self) -> Json {
        json(&self.run(&["verify", "--json", "--no-cache"]))
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    /// Replaces the one occurrence of `old` in `path`.
    fn plant(&self, path: &str, old: &str, new: &str) {
        let text = self.read(path);
        assert_eq!(text.matches(old).count(), 1, "{old:?} in {path}");
        std::fs::write(self.path().join(path), text.replace(old, new)).unwrap();
    }
}

/// The one problem with this rule at this path whose message contains `object`.
fn problem<'j>(report: &'j Json, rule: &str, path: &str, object: &str) -> &'j str {
    let found: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == rule && p["path"] == path)
        .filter_map(|p| p["message"].as_str())
        .filter(|m| m.contains(object))
        .collect();
    match found.as_slice() {
        [one] => one,
        other => panic!(
            "expected one {rule} problem at {path} about {object}, found {}:\n{:#}",
            other.len(),
            report["problems"]
        ),
    }
}

#[test]
fn a_misspelt_field_of_a_built_in_kind_is_refused_naming_the_object() {
    let repo = Repo::new();
    repo.plant(
        DEFAULT_DENY,
        "      policyTypes:\n        - Ingress\n  - |",
        "      policyType:\n        - Ingress\n  - |",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "kube-schema",
        DEFAULT_DENY,
        "NetworkPolicy/default-deny-ingress: spec: unknown field \"policyType\"",
    );
    // At the object's name in the value file that spells it out.
    let line = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "kube-schema")
        .unwrap()["line"]
        .as_u64()
        .unwrap();
    assert_eq!(
        repo.read(DEFAULT_DENY).lines().nth(line as usize - 1),
        Some("      name: default-deny-ingress")
    );
    // One value file shared by every env: one problem naming each Application.
    assert!(
        message.contains("dev-default-deny") && message.contains("production-default-deny"),
        "{message}"
    );
    assert_eq!(report["ok"], false);
}

#[test]
fn an_invalid_quantity_is_refused() {
    let repo = Repo::new();
    repo.plant(
        NAMESPACE_POLICY,
        "requests.memory: 16Gi",
        "requests.memory: 16GB",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "kube-schema",
        RAW_MANIFESTS,
        "ResourceQuota/namespace-policy-quota: spec.hard.requests.memory",
    );
    assert!(
        message.contains("\"16GB\" is not a Kubernetes quantity"),
        "{message}"
    );
}

#[test]
fn a_removed_api_names_its_replacement() {
    let repo = Repo::new();
    repo.plant(DEFAULT_DENY, "enabled: true\nmanifests:\n", "enabled: true\nmanifests:\n  - |\n    apiVersion: policy/v1beta1\n    kind: PodDisruptionBudget\n    metadata:\n      name: keep-one\n    spec:\n      minAvailable: 1\n");
    let report = repo.verify();
    let message = problem(
        &report,
        "kube-api-removed",
        DEFAULT_DENY,
        "PodDisruptionBudget/keep-one",
    );
    assert!(
        message.contains("not served since Kubernetes 1.25")
            && message.contains("render policy/v1 PodDisruptionBudget instead"),
        "{message}"
    );
}

#[test]
fn a_deprecated_api_warns_without_failing() {
    let repo = Repo::new();
    repo.plant(DEFAULT_DENY, "enabled: true\nmanifests:\n", "enabled: true\nmanifests:\n  - |\n    apiVersion: v1\n    kind: Endpoints\n    metadata:\n      name: legacy\n    subsets: []\n");
    // 1.33 deprecates v1 Endpoints; every env runs the version its entry declares.
    let clusters = repo
        .read("config/clusters/azure.yaml")
        .replace("kubernetesVersion: \"1.31\"", "kubernetesVersion: \"1.33\"");
    std::fs::write(repo.path().join("config/clusters/azure.yaml"), clusters).unwrap();
    let output = repo.run(&["verify", "--json", "--no-cache"]);
    let report = json(&output);
    assert_eq!(
        (code(&output), &report["problems"]),
        (0, &Json::Array(Vec::new())),
        "{report:#}"
    );
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report:#}");
    assert_eq!(
        (warnings[0]["rule"].as_str(), warnings[0]["path"].as_str()),
        (Some("kube-api-deprecated"), Some(DEFAULT_DENY))
    );
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("Endpoints/legacy: v1 Endpoints is deprecated since Kubernetes 1.33")
            && message.contains("discovery.k8s.io/v1 EndpointSlice"),
        "{message}"
    );
    let human = repo.run(&["verify", "--no-cache"]);
    assert!(
        stdout(&human).contains("warning: sources/values/_shared/platform/default-deny.yaml:"),
        "{}",
        stdout(&human)
    );
    let github = repo.run(&["verify", "--no-cache", "--format", "github"]);
    assert!(
        stdout(&github)
            .starts_with("::warning file=sources/values/_shared/platform/default-deny.yaml"),
        "{}",
        stdout(&github)
    );
}

#[test]
fn a_misspelt_hook_and_a_job_that_restarts_always_are_refused() {
    let repo = Repo::new();
    let job = "  - |\n    apiVersion: batch/v1\n    kind: Job\n    metadata:\n      name: smoke\n      annotations:\n        argocd.argoproj.io/hook: PostSynk\n        argocd.argoproj.io/sync-wave: \"one\"\n    spec:\n      template:\n        spec:\n          restartPolicy: Always\n          containers:\n            - name: smoke\n              image: registry.invalid/smoke@sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
    repo.plant(
        DEFAULT_DENY,
        "enabled: true\nmanifests:\n",
        &format!("enabled: true\nmanifests:\n{job}"),
    );
    let report = repo.verify();
    let hook = problem(
        &report,
        "argocd-annotation",
        DEFAULT_DENY,
        "Job/smoke: argocd.argoproj.io/hook",
    );
    assert!(
        hook.contains("\"PostSynk\"") && hook.contains("did you mean \"PostSync\""),
        "{hook}"
    );
    let wave = problem(
        &report,
        "argocd-annotation",
        DEFAULT_DENY,
        "Job/smoke: argocd.argoproj.io/sync-wave",
    );
    assert!(wave.contains("\"one\" is not an integer"), "{wave}");
    let restart = problem(&report, "job-restart-policy", DEFAULT_DENY, "Job/smoke");
    assert!(restart.contains("restartPolicy is \"Always\""), "{restart}");
}

#[test]
fn misspelt_argo_cd_fields_are_refused_in_the_appset_and_the_generated_applications() {
    let repo = Repo::new();
    repo.plant(
        APPSET,
        "preserveResourcesOnDeletion: true",
        "preserveResourceOnDeletion: true",
    );
    repo.plant(
        APPSET,
        "          selfHeal: true",
        "          selfheal: true",
    );
    repo.plant(
        APPSET,
        "        server: https://kubernetes.default.svc\n        namespace: \"{{ .namespace }}\"",
        "        sever: https://kubernetes.default.svc\n        namespace: \"{{ .namespace }}\"",
    );
    let report = repo.verify();
    let preserve = problem(
        &report,
        "argocd-schema",
        APPSET,
        "ApplicationSet/ameide: spec.syncPolicy",
    );
    assert!(
        preserve.contains("\"preserveResourceOnDeletion\""),
        "{preserve}"
    );
    let sever = problem(
        &report,
        "argocd-schema",
        APPSET,
        "ApplicationSet/ameide: spec.template.spec.destination",
    );
    assert!(sever.contains("\"sever\""), "{sever}");
    // The templatePatch is a string in the ApplicationSet: the typo shows when the patched
    // Application is decoded, which drops it as Argo CD does (docs/argo-model.md#templatepatch).
    let selfheal = problem(
        &report,
        "appset-template",
        APPSET,
        "writes spec.syncPolicy.automated.selfheal",
    );
    assert!(selfheal.contains("Argo CD drops it"), "{selfheal}");
}

#[test]
fn the_app_project_permits_as_argo_cd_does_at_sync() {
    let repo = Repo::new();
    let project = "argocd/projects/ameide.yaml";
    repo.plant(
        project,
        "    - https://github.com/ameideio/ameide-gitops.git",
        "    - https://github.com/ameideio/other.git",
    );
    repo.plant(DEFAULT_DENY, "enabled: true\nmanifests:\n", "enabled: true\nmanifests:\n  - |\n    apiVersion: rbac.authorization.k8s.io/v1\n    kind: ClusterRole\n    metadata:\n      name: reader\n    rules: []\n");
    let report = repo.verify();
    let source = problem(&report, "app-project", APPSET, "source \"https://github.com/ameideio/ameide-gitops.git\" is not in the sourceRepos of AppProject ameide");
    assert!(source.contains("dev-default-deny"), "{source}");
    let kind = problem(&report, "app-project", DEFAULT_DENY, "ClusterRole/reader");
    assert!(
        kind.contains(
            "does not permit the cluster-scoped kind ClusterRole.rbac.authorization.k8s.io"
        ),
        "{kind}"
    );
}

#[test]
fn a_generated_application_in_the_default_project_is_refused() {
    let repo = Repo::new();
    repo.plant(
        APPSET,
        "      project: \"{{ .project }}\"",
        "      project: default",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "app-project",
        APPSET,
        "uses the project \"default\"",
    );
    assert!(message.contains("production-namespace-policy"), "{message}");
}

#[test]
fn two_applications_rendering_one_object_are_reported() {
    let repo = Repo::new();
    let policy = "  - |\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    metadata:\n      name: default-deny-ingress\n    spec:\n      podSelector: {}\n";
    repo.plant(
        NAMESPACE_POLICY,
        "enabled: true\nmanifests:\n",
        &format!("enabled: true\nmanifests:\n{policy}"),
    );
    let report = repo.verify();
    let component = "environments/_shared/components/foundation/namespace-policy/component.yaml";
    let message = problem(
        &report,
        "shared-resource",
        component,
        "in namespace ameide-dev",
    );
    assert!(message.starts_with("NetworkPolicy.networking.k8s.io/default-deny-ingress in namespace ameide-dev is rendered by the Applications dev-default-deny, dev-namespace-policy"), "{message}");
    // Cached clean renders still count their objects.
    let warm = json(&repo.run(&["verify", "--json"]));
    let again = json(&repo.run(&["verify", "--json"]));
    assert_eq!(warm["problems"], again["problems"]);
    assert!(again["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["rule"] == "shared-resource"));
}

#[test]
fn a_cluster_entry_without_its_kubernetes_version_is_refused() {
    let repo = Repo::new();
    repo.plant(
        "config/clusters/azure.yaml",
        "  dnsZone: staging.ameide.io\n  kubernetesVersion: \"1.31\"\n",
        "  dnsZone: staging.ameide.io\n",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "cluster-entry",
        "config/clusters/azure.yaml",
        "kubernetesVersion",
    );
    assert!(
        message.contains("missing field `kubernetesVersion`"),
        "{message}"
    );
}

#[test]
fn the_findings_are_cached_with_the_renders_and_read_back_the_same() {
    let repo = Repo::new();
    repo.plant(
        NAMESPACE_POLICY,
        "requests.memory: 16Gi",
        "requests.memory: 16GB",
    );
    let cold = json(&repo.run(&["verify", "--json"]));
    let warm = json(&repo.run(&["verify", "--json", "--stats"]));
    assert_eq!(warm["problems"], cold["problems"]);
    assert_eq!(warm["cache_misses"], 0, "{warm:#}");
    assert!(!cold["problems"].as_array().unwrap().is_empty());
    assert!(warm["seconds"]["validation"].is_number(), "{warm:#}");
}

#[test]
fn a_fresh_scaffold_with_its_smoke_passes_disabled_and_enabled_in_dev() {
    let repo = Repo::new();
    let scaffold = |extra: &[&str]| {
        let mut args = vec![
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "orders",
            "--version",
            "v0",
            "--with-smoke",
            "--force",
        ];
        args.extend_from_slice(extra);
        let output = repo.run(&args);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    };
    scaffold(&[]);
    let disabled = repo.run(&["verify"]);
    assert_eq!(
        code(&disabled),
        0,
        "{}\n{}",
        stdout(&disabled),
        stderr(&disabled)
    );

    let digest = "sha256:1f2e3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a59687f6e5d4c3b2a1908";
    let workload = format!("ghcr.io/ameideio/primitive-domain-orders@{digest}");
    let smoke = format!("docker.io/fullstorydev/grpcurl@{digest}");
    let enable = repo.run(&[
        "enable-primitive",
        "--kind",
        "domain",
        "--name",
        "orders",
        "--version",
        "v0",
        "--env",
        "dev",
        "--image-ref",
        &workload,
        "--smoke-image-ref",
        &smoke,
    ]);
    assert_eq!(code(&enable), 0, "{}\n{}", stdout(&enable), stderr(&enable));
    let enabled = json(&repo.run(&["verify", "--json"]));
    assert_eq!(enabled["problems"], Json::Array(Vec::new()), "{enabled:#}");
    assert!(enabled["applications"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "dev-domain-orders-v0-smoke"));
}
