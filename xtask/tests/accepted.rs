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

const CATALOG: &str = "sources/values/_shared/apps/domain-catalog-v0.yaml";
const CLUSTER_PROJECT: &str = "argocd/projects/ameide-cluster.yaml";

#[test]
fn a_misspelt_field_in_a_domain_s_spec_is_refused_against_its_crd() {
    let repo = Repo::new();
    repo.plant(
        CATALOG,
        "      imagePullPolicy: IfNotPresent",
        "      imagePulPolicy: IfNotPresent",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "crd-schema",
        CATALOG,
        "Domain/catalog-v0: spec: unknown field \"imagePulPolicy\"",
    );
    assert!(
        message.contains("sources/charts/foundation/primitive-crds/templates/domain.yaml")
            && message.contains("dev-domain-catalog-v0"),
        "{message}"
    );
}

#[test]
fn a_wrong_type_in_a_domain_s_spec_is_refused_against_its_crd() {
    let repo = Repo::new();
    repo.plant(
        CATALOG,
        "      imagePullPolicy: IfNotPresent",
        "      imagePullPolicy: 3",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "crd-schema",
        CATALOG,
        "Domain/catalog-v0: spec.imagePullPolicy: 3 is not of type \"string\"",
    );
    assert!(message.contains("dev-domain-catalog-v0"), "{message}");
}

#[test]
fn a_kind_no_crd_defines_is_reported_until_the_catalogue_holds_its_crd() {
    let repo = Repo::new();
    repo.plant(DEFAULT_DENY, "enabled: true\nmanifests:\n", "enabled: true\nmanifests:\n  - |\n    apiVersion: monitoring.coreos.com/v1\n    kind: ServiceMonitor\n    metadata:\n      name: pods\n    spec:\n      endpoints: []\n      selectr: {}\n");
    let report = repo.verify();
    let message = problem(
        &report,
        "crd-unknown",
        DEFAULT_DENY,
        "ServiceMonitor/pods: no CustomResourceDefinition in the tree defines ServiceMonitor of monitoring.coreos.com/v1",
    );
    assert!(message.contains("xtask/schemas/crds/"), "{message}");

    // Installed from elsewhere: its CRD in the catalogue, and the resource is checked strictly.
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: servicemonitors.monitoring.coreos.com\nspec:\n  group: monitoring.coreos.com\n  scope: Namespaced\n  names: {kind: ServiceMonitor, plural: servicemonitors}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              properties:\n                endpoints: {type: array, items: {type: object, x-kubernetes-preserve-unknown-fields: true}}\n                selector: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";
    let catalogue = "xtask/schemas/crds/monitoring.coreos.com.servicemonitors.yaml";
    // The copy holds the desired state only (not xtask/, where the catalogue is).
    std::fs::create_dir_all(repo.path().join("xtask/schemas/crds")).unwrap();
    std::fs::write(repo.path().join(catalogue), crd).unwrap();
    let report = repo.verify();
    assert!(
        !report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == "crd-unknown"),
        "{report:#}"
    );
    let message = problem(
        &report,
        "crd-schema",
        DEFAULT_DENY,
        "ServiceMonitor/pods: spec: unknown field \"selectr\"",
    );
    assert!(message.contains(catalogue), "{message}");
}

#[test]
fn the_crd_component_installed_per_env_is_a_shared_resource() {
    let repo = Repo::new();
    let component = "environments/_shared/components/foundation/primitive-crds/component.yaml";
    std::fs::create_dir_all(repo.path().join(component).parent().unwrap()).unwrap();
    std::fs::write(
        repo.path().join(component),
        "name: primitive-crds\nproject: ameide\ndomain: foundation\ncomponentType: config\nrolloutPhase: \"100\"\nchart:\n  repoURL: https://github.com/ameideio/ameide-gitops.git\n  path: sources/charts/foundation/primitive-crds\n  version: main\n",
    )
    .unwrap();
    let report = repo.verify();
    let message = problem(
        &report,
        "shared-resource",
        component,
        "CustomResourceDefinition.apiextensions.k8s.io/domains.ameide.io is rendered",
    );
    assert!(
        message.contains("the Applications aks-main-primitive-crds, dev-primitive-crds, production-primitive-crds, staging-primitive-crds"),
        "{message}"
    );
    // The env-scoped project does not permit CRDs either.
    let refused = problem(
        &report,
        "app-project",
        "sources/charts/foundation/primitive-crds/templates/domain.yaml",
        "CustomResourceDefinition/domains.ameide.io",
    );
    assert!(
        refused.contains("AppProject ameide does not permit the cluster-scoped kind CustomResourceDefinition.apiextensions.k8s.io"),
        "{refused}"
    );
}

#[test]
fn the_cluster_project_permitting_a_second_cluster_scoped_kind_is_refused() {
    let repo = Repo::new();
    repo.plant(
        CLUSTER_PROJECT,
        "      kind: CustomResourceDefinition\n",
        "      kind: CustomResourceDefinition\n    - group: rbac.authorization.k8s.io\n      kind: ClusterRole\n",
    );
    let report = repo.verify();
    let message = problem(
        &report,
        "app-project-unused",
        CLUSTER_PROJECT,
        "AppProject ameide-cluster permits the cluster-scoped kind ClusterRole.rbac.authorization.k8s.io, which none of its Applications renders",
    );
    assert!(
        message.contains("they render CustomResourceDefinition.apiextensions.k8s.io"),
        "{message}"
    );
    // A wildcard is as broad as a second kind.
    repo.plant(
        CLUSTER_PROJECT,
        "    - group: rbac.authorization.k8s.io\n      kind: ClusterRole\n",
        "    - group: \"*\"\n      kind: \"*\"\n",
    );
    let report = repo.verify();
    problem(
        &report,
        "app-project-unused",
        CLUSTER_PROJECT,
        "permits every cluster-scoped kind matching *.*",
    );
}

#[test]
fn the_crds_describe_exactly_what_the_scaffolder_renders_for_every_kind() {
    let repo = Repo::new();
    let digest = "sha256:1f2e3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a59687f6e5d4c3b2a1908";
    for kind in [
        "domain",
        "process",
        "agent",
        "uisurface",
        "projection",
        "integration",
    ] {
        let image = format!("ghcr.io/ameideio/primitive-{kind}-probe@{digest}");
        let output = repo.run(&[
            "scaffold-primitive",
            "--kind",
            kind,
            "--name",
            "probe",
            "--version",
            "v0",
            "--env",
            "dev",
            "--enable",
            "--image-ref",
            &image,
        ]);
        assert_eq!(code(&output), 0, "{kind}: {}", stderr(&output));
    }
    let report = repo.verify();
    assert_eq!(report["problems"], Json::Array(Vec::new()), "{report:#}");

    // Every field the scaffolder renders is in the CRD, and every field of the CRD is rendered:
    // a field the scaffolder adds fails above; one the CRD adds, here.
    for (kind, file) in [
        ("Domain", "domain"),
        ("Process", "process"),
        ("Agent", "agent"),
        ("UISurface", "uisurface"),
        ("Projection", "projection"),
        ("Integration", "integration"),
    ] {
        let crd: serde_norway::Value = serde_norway::from_str(&repo.read(&format!(
            "sources/charts/foundation/primitive-crds/templates/{file}.yaml"
        )))
        .unwrap();
        assert_eq!(crd["spec"]["names"]["kind"].as_str(), Some(kind));
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let in_crd: Vec<&str> = spec["properties"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect();
        let values: serde_norway::Value = serde_norway::from_str(
            &repo.read(&format!("sources/values/_shared/apps/{file}-probe-v0.yaml")),
        )
        .unwrap();
        let manifest = values["manifests"][0].as_str().unwrap();
        let rendered: Vec<String> = manifest
            .split_once("\nspec:\n")
            .unwrap()
            .1
            .lines()
            .filter_map(|l| {
                l.strip_prefix("  ")?
                    .split_once(':')
                    .map(|(k, _)| k.to_owned())
            })
            .filter(|k| !k.starts_with(' '))
            .collect();
        assert_eq!(in_crd, rendered, "{kind}");
    }
}
