//! End to end: the built binary in a temporary copy of the repository, with real helm.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use support::world::Copy as Repo;
use support::{code, golden, json, stderr, stdout, wait_for_helm_child};

/// `scaffold-primitive` in a copy.
trait Scaffold {
    fn scaffold(&self, args: &[&str]) -> Output;
    fn scaffold_with_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Output;
}

impl Scaffold for Repo {
    fn scaffold(&self, args: &[&str]) -> Output {
        self.scaffold_with_env(args, &[])
    }

    fn scaffold_with_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut command = self.xtask(&[&["scaffold-primitive"], args].concat());
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("running xtask")
    }
}

/// Files added or changed between two snapshots.
fn changes(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, String> {
    let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(removed.is_empty(), "files removed: {removed:?}");
    after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(bytes))
        .map(|(path, bytes)| (path.clone(), String::from_utf8(bytes.clone()).unwrap()))
        .collect()
}

const ORDERS: [&str; 7] = [
    "--kind",
    "domain",
    "--name",
    "orders",
    "--version",
    "v0",
    "--with-smoke",
];

#[test]
fn creates_exactly_the_five_files_then_refuses_then_force_is_unchanged() {
    let repo = Repo::new();
    let before = repo.snapshot();
    let created = repo.scaffold(&ORDERS);
    assert_eq!(
        code(&created),
        0,
        "{}{}",
        stdout(&created),
        stderr(&created)
    );
    let after = repo.snapshot();
    assert_eq!(
        changes(&before, &after),
        golden("domain-orders-v0-smoke-dev")
    );
    assert!(
        stdout(&created).contains("scaffold-primitive domain-orders-v0: created"),
        "{}",
        stdout(&created)
    );

    let refused = repo.scaffold(&ORDERS);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(
            "environments/_shared/components/apps/primitives/domain-orders-v0/component.yaml"
        ),
        "{}",
        stderr(&refused)
    );
    assert_eq!(repo.snapshot(), after, "a refused run changed the tree");

    let mut forced = ORDERS.to_vec();
    forced.extend(["--force", "--json"]);
    let unchanged = repo.scaffold(&forced);
    assert_eq!(code(&unchanged), 0, "{}", stderr(&unchanged));
    let report = json(&unchanged);
    assert_eq!(report["operation"], "unchanged");
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["action"] == "unchanged"),
        "{report}"
    );
    assert_eq!(
        repo.snapshot(),
        after,
        "--force with the same inputs changed bytes"
    );
}

#[test]
fn another_copy_and_another_argument_order_give_the_same_bytes() {
    let first = Repo::new();
    let before = first.snapshot();
    assert_eq!(code(&first.scaffold(&ORDERS)), 0);
    let second = Repo::new();
    let reordered = [
        "--with-smoke",
        "--version",
        "v0",
        "--env",
        "dev",
        "--name",
        "orders",
        "--kind",
        "domain",
    ];
    let out = second.scaffold(&reordered);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        changes(&before, &second.snapshot()),
        changes(&before, &first.snapshot())
    );
}

#[test]
fn the_json_report_lists_files_guardrails_and_applications() {
    let repo = Repo::new();
    let mut args = ORDERS.to_vec();
    args.push("--json");
    let out = repo.scaffold(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["operation"], "created");
    assert_eq!(report["component"], "domain-orders-v0");
    let files: Vec<(String, String)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = golden("domain-orders-v0-smoke-dev")
        .into_keys()
        .map(|p| (p, "created".to_owned()))
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert_eq!(
        report["applications"],
        serde_json::json!([
            "dev-domain-orders-v0-smoke",
            "dev-domain-orders-v0",
            "staging-domain-orders-v0-smoke",
            "staging-domain-orders-v0",
            "production-domain-orders-v0-smoke",
            "production-domain-orders-v0"
        ])
    );
    let guardrails = report["guardrails"].as_array().unwrap();
    // As generated in three envs for two components, plus one enabling simulation each.
    assert_eq!(guardrails.len(), 8, "{report:#}");
    assert!(
        guardrails.iter().all(|g| g["status"] == "passed"),
        "{report:#}"
    );
    let enabled = guardrails
        .iter()
        .find(|g| g["name"] == "helm template dev-domain-orders-v0 (enabled simulated)")
        .expect("the workload's enabling simulation");
    assert!(
        enabled["detail"]
            .as_str()
            .unwrap()
            .starts_with("Domain orders-v0 with image registry.invalid/"),
        "{enabled}"
    );
    let smoke = guardrails
        .iter()
        .find(|g| g["name"] == "helm template dev-domain-orders-v0-smoke (enabled simulated)")
        .expect("the smoke's enabling simulation");
    assert_eq!(
        smoke["detail"],
        "PostSync hook Job domain-orders-v0-smoke-grpc-health"
    );
    assert_eq!(report["errors"], serde_json::json!([]));
}

#[test]
fn dry_run_writes_nothing_and_shows_diffs_and_applications() {
    let repo = Repo::new();
    let before = repo.snapshot();
    let folders = repo.folders();
    let mut args = ORDERS.to_vec();
    args.push("--dry-run");
    let out = repo.scaffold(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repo.snapshot(), before);
    assert_eq!(repo.folders(), folders);
    let text = stdout(&out);
    for (path, content) in golden("domain-orders-v0-smoke-dev") {
        assert!(
            text.contains(&format!("--- /dev/null\n+++ b/{path}\n")),
            "no diff header for {path}:\n{text}"
        );
        let added: String = content.lines().map(|l| format!("+{l}\n")).collect();
        assert!(
            text.contains(&added),
            "the diff of {path} is not the whole file:\n{text}"
        );
    }
    assert!(
        text.contains(
            "Applications after merge:\n  dev-domain-orders-v0-smoke\n  dev-domain-orders-v0\n"
        ),
        "{text}"
    );
}

#[test]
fn dry_run_of_a_changed_file_shows_a_unified_diff() {
    let repo = Repo::new();
    assert_eq!(code(&repo.scaffold(&ORDERS)), 0);
    // A key added to shared values is the generator's to remove (an overlay's would be kept).
    let overlay = repo
        .path()
        .join("sources/values/_shared/apps/domain-orders-v0.yaml");
    let edited = std::fs::read_to_string(&overlay)
        .unwrap()
        .replace("enabled: false", "enabled: false\nextra: 1");
    std::fs::write(&overlay, &edited).unwrap();
    let before = repo.snapshot();
    let mut args = ORDERS.to_vec();
    args.extend(["--dry-run", "--force"]);
    let out = repo.scaffold(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repo.snapshot(), before);
    let text = stdout(&out);
    assert!(
        text.contains("--- a/sources/values/_shared/apps/domain-orders-v0.yaml"),
        "{text}"
    );
    assert!(text.contains("\n-extra: 1\n"), "{text}");
    assert!(
        text.contains("  updated   sources/values/_shared/apps/domain-orders-v0.yaml"),
        "{text}"
    );
}

#[test]
fn a_broken_chart_fails_the_guardrail_and_leaves_the_tree_as_it_was() {
    let repo = Repo::new();
    let templates = repo
        .path()
        .join("sources/charts/foundation/common/raw-manifests/templates");
    std::fs::write(templates.join("zz-broken.yaml"), "{{ if }}\n").unwrap();
    let before = repo.snapshot();
    let folders = repo.folders();
    let mut args = ORDERS.to_vec();
    args.push("--json");
    let out = repo.scaffold(&args);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(repo.snapshot(), before);
    assert_eq!(repo.folders(), folders);
    let report = json(&out);
    assert_eq!(report["operation"], "failed");
    let failed: Vec<&serde_json::Value> = report["guardrails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["status"] == "failed")
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("zz-broken.yaml"),
        "{report:#}"
    );
}

#[test]
fn a_chart_that_ignores_enabled_fails_the_guardrail() {
    let repo = Repo::new();
    let marker = repo
        .path()
        .join("sources/charts/foundation/helm-test-jobs/templates/zz-always.yaml");
    std::fs::write(
        &marker,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-always\n",
    )
    .unwrap();
    let before = repo.snapshot();
    let out = repo.scaffold(&ORDERS);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "expected only the disabled marker ConfigMap domain-orders-v0-smoke-disabled"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn hostile_and_invalid_inputs_exit_2_and_touch_nothing() {
    let repo = Repo::new();
    let before = repo.snapshot();
    let digest = "ab".repeat(32);
    let bad_image = "ghcr.io/ameideio/x:1.0".to_owned();
    let unpinned = format!("ghcr.io/ameideio/x:latest@sha256:{digest}");
    let pinned = format!("r.io/x@sha256:{digest}");
    let long = "n".repeat(64);
    let near = "n".repeat(40);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--kind", "Domain", "--name", "orders", "--version", "v0"],
            "must be one of domain",
        ),
        (
            vec!["--kind", "widget", "--name", "orders", "--version", "v0"],
            "must be one of domain",
        ),
        (
            vec!["--kind", "domain", "--name", "Orders", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "../etc", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "a/b", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "a\\b", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "..", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "or ders", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "orders\n", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "ördérs", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders: {x}",
                "--version",
                "v0",
            ],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "&a", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "{{.x}}", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec!["--kind", "domain", "--name", "#x", "--version", "v0"],
            "lowercase kebab-case",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders-smoke",
                "--version",
                "v0",
            ],
            "-smoke",
        ),
        (
            vec!["--kind", "domain", "--name", "orders-v2", "--version", "v0"],
            "version-like",
        ),
        (
            vec!["--kind", "domain", "--name", &long, "--version", "v0"],
            "64 characters",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                &near,
                "--version",
                "v0",
                "--with-smoke",
            ],
            "is 64 characters",
        ),
        (
            vec!["--kind", "domain", "--name", "orders", "--version", "1"],
            "e.g. \"v0\"",
        ),
        (
            vec!["--kind", "domain", "--name", "orders", "--version", "v01"],
            "e.g. \"v0\"",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "qa",
            ],
            "must be one of dev, staging, production",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "local",
            ],
            "must be one of dev, staging, production",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "../dev",
            ],
            "must be one of dev",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--enable",
                "--image-ref",
                &bad_image,
            ],
            "pinned by digest",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--enable",
                "--image-ref",
                &unpinned,
            ],
            "moving tags",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--enable",
            ],
            "--image-ref",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--image-ref",
                &bad_image,
            ],
            "pinned by digest",
        ),
        (
            vec![
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "none",
                "--enable",
                "--image-ref",
                &pinned,
            ],
            "needs an env",
        ),
        (vec!["--kind", "domain", "--name", "orders"], "--version"),
    ];
    for (args, rule) in cases {
        let out = repo.scaffold(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stderr(&out).contains(rule),
            "{args:?}: expected {rule:?} in {}",
            stderr(&out)
        );
        let mut with_json = args.clone();
        with_json.push("--json");
        let out = repo.scaffold(&with_json);
        assert_eq!(code(&out), 2, "{with_json:?}");
        let report = json(&out);
        assert_eq!(report["operation"], "invalid", "{with_json:?}");
        assert!(
            report["errors"][0].as_str().unwrap().contains(rule),
            "{with_json:?}: {report}"
        );
    }
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn a_name_used_by_another_component_is_refused_even_with_force() {
    let repo = Repo::new();
    let elsewhere = repo
        .path()
        .join("environments/_shared/components/platform/orders/component.yaml");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::write(
        &elsewhere,
        "name: domain-orders-v0\nproject: ameide\ndomain: platform\n",
    )
    .unwrap();
    let before = repo.snapshot();
    let mut args = ORDERS.to_vec();
    args.push("--force");
    let out = repo.scaffold(&args);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("domain-orders-v0 (used by environments/_shared/components/platform/orders/component.yaml)"), "{}", stderr(&out));
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn uisurface_without_smoke_and_without_env_writes_two_files() {
    let repo = Repo::new();
    let before = repo.snapshot();
    let out = repo.scaffold(&[
        "--kind",
        "uisurface",
        "--name",
        "portal",
        "--version",
        "v1",
        "--env",
        "none",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        changes(&before, &repo.snapshot()),
        golden("uisurface-portal-v1-no-env")
    );
}

#[test]
fn enable_renders_the_primitive_with_its_image_in_that_env_only() {
    let repo = Repo::with_helm("helm4");
    let before = repo.snapshot();
    let digest = "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
    let image = format!("ghcr.io/ameideio/primitive-process-billing:1.4.0@sha256:{digest}");
    let out = repo.scaffold(&[
        "--kind",
        "process",
        "--name",
        "billing",
        "--version",
        "v2",
        "--with-smoke",
        "--env",
        "staging",
        "--enable",
        "--image-ref",
        &image,
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        changes(&before, &repo.snapshot()),
        golden("process-billing-v2-enabled-staging")
    );
    let report = json(&out);
    let detail = |name: &str| -> String {
        report["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {report:#}"))["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        detail("helm template staging-process-billing-v2 (as generated)"),
        format!("Process billing-v2 with image {image}")
    );
    assert_eq!(
        detail("helm template dev-process-billing-v2 (as generated)"),
        "only the disabled marker ConfigMap process-billing-v2-disabled"
    );
}

#[test]
fn both_helm_versions_pass_the_guardrails() {
    for helm in ["helm3", "helm4"] {
        let repo = Repo::with_helm(helm);
        let mut args = ORDERS.to_vec();
        args.push("--json");
        let out = repo.scaffold(&args);
        assert_eq!(code(&out), 0, "{helm}: {}{}", stdout(&out), stderr(&out));
        assert_eq!(json(&out)["operation"], "created", "{helm}");
    }
}

#[test]
fn the_github_step_summary_gets_files_guardrails_and_applications() {
    let repo = Repo::new();
    let summary = repo.path().join("summary.md");
    let out = repo.scaffold_with_env(&ORDERS, &[("GITHUB_STEP_SUMMARY", &summary)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains("| `sources/values/_shared/apps/domain-orders-v0.yaml` | created |"),
        "{text}"
    );
    assert!(
        text.contains("| helm template dev-domain-orders-v0 (as generated) | ✅ passed |"),
        "{text}"
    );
    assert!(
        text.contains("`production-domain-orders-v0-smoke`"),
        "{text}"
    );
}

#[test]
fn an_interrupt_during_the_renders_leaves_the_tree_as_it_was() {
    let repo = Repo::new();
    // A chart that takes a while to render, so that the signal arrives while helm runs.
    for chart in ["common/raw-manifests", "helm-test-jobs"] {
        let slow = format!("sources/charts/foundation/{chart}/templates/zz-slow.yaml");
        std::fs::write(
            repo.path().join(slow),
            "{{- range until 8000000 }}{{ end }}\n",
        )
        .unwrap();
    }
    let before = repo.snapshot();
    let folders = repo.folders();
    let child = repo
        .xtask(&[&["scaffold-primitive"][..], &ORDERS].concat())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_helm_child(child.id());
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}{}", stdout(&out), stderr(&out));
    // The first helm child may be discovery's (the ApplicationSets' templates) or a guardrail's.
    assert!(
        stderr(&out).contains("interrupted before") && stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.snapshot(), before);
    assert_eq!(repo.folders(), folders);
}
