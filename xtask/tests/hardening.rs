//! The gate under attack, end to end with the built binary, real helm and real git in temporary
//! copies of the repository content: each test plants one attack of docs/threat-model.md and
//! shows it refused, bounded, redacted or handled.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use support::{code, copy_content, tool, TempDir};

const RAW_MANIFESTS: &str = "sources/charts/foundation/common/raw-manifests";
/// The first word of a cache entry's header (see `verify/cache.rs`).
const ENTRY_FORMAT: &str = "ameide-verify-render-cache/1";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

impl Repo {
    /// A copy committed as `main` in a fresh Git repository that ignores the cache.
    fn committed() -> Repo {
        let dir = TempDir::new("verify-hardening");
        copy_content(dir.path());
        std::fs::write(dir.path().join(".gitignore"), "/.cache/\n").unwrap();
        let repo = Repo {
            dir,
            helm: tool("helm3"),
        };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.commit("base");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        support::git(self.path(), args)
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
    }

    fn write(&self, path: &str, text: &str) {
        let target = self.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }

    fn run(&self, args: &[&str], cache_dir: Option<&Path>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env_remove("AMEIDE_HELM_VERSION")
            .env_remove("AMEIDE_CACHE_DIR")
            .env_remove("GITHUB_STEP_SUMMARY");
        if let Some(dir) = cache_dir {
            command.env("AMEIDE_CACHE_DIR", dir);
        }
        command.output().expect("running xtask")
    }

    fn verify(&self, cache_dir: Option<&Path>) -> Json {
        let output = self.run(&["verify", "--json"], cache_dir);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON on stdout ({e}); exit {:?}\nstderr:\n{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }
}

fn rules(report: &Json) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// Every render entry under `dir`, as (relative path, key).
fn render_entries(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for fan in std::fs::read_dir(dir).unwrap().flatten() {
        let fan_name = fan.file_name().to_string_lossy().into_owned();
        if fan_name.len() != 2 {
            continue; // discovery/
        }
        for entry in std::fs::read_dir(fan.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            found.push((
                PathBuf::from(&fan_name).join(&name),
                format!("{fan_name}{name}"),
            ));
        }
    }
    found.sort();
    found
}

/// A valid entry for `key` holding `body`, in the cache's own format: what an attacker can forge.
fn forged_entry(key: &str, body: &str) -> Vec<u8> {
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{ENTRY_FORMAT} {key} {} {digest}\n{body}", body.len()).into_bytes()
}

#[test]
fn a_render_cache_committed_in_the_pull_request_is_not_trusted() {
    let repo = Repo::committed();
    repo.write(
        &format!("{RAW_MANIFESTS}/templates/zz-planted.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-planted\nstringData:\n  config: planted\n",
    );
    // The attacker renders the change once with a cache of their own, then forges every entry
    // it wrote into an empty render under the same key and commits the forgery with `git add -f`.
    let outside = TempDir::new("verify-hardening-cache");
    let honest = repo.verify(Some(outside.path()));
    assert!(
        rules(&honest).iter().any(|r| r == "secret-data"),
        "{honest:#}"
    );
    for (path, key) in render_entries(outside.path()) {
        let target = repo.path().join(".cache/verify").join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, forged_entry(&key, "")).unwrap();
    }
    repo.git(&["add", "--all"]);
    repo.git(&["add", "--force", ".cache/verify"]);
    repo.git(&["commit", "--quiet", "-m", "a forged cache"]);

    let report = repo.verify(None);
    let found = rules(&report);
    assert!(found.iter().any(|r| r == "secret-data"), "{report:#}");
    let trust: Vec<&Json> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "cache-trust")
        .collect();
    assert_eq!(trust.len(), 1, "{report:#}");
    assert!(trust[0]["path"]
        .as_str()
        .unwrap()
        .starts_with(".cache/verify/"));
    assert!(
        trust[0]["message"]
            .as_str()
            .unwrap()
            .contains("AMEIDE_CACHE_DIR"),
        "{report:#}"
    );

    // The forgery is real: once Git no longer tracks it, the same bytes are a trusted local
    // cache and hide the Secret, which is why a tracked one must never be read.
    repo.git(&["rm", "--quiet", "-r", "--cached", ".cache/verify"]);
    let local = repo.verify(None);
    assert!(
        !rules(&local).iter().any(|r| r == "secret-data"),
        "{local:#}"
    );
    assert!(
        !rules(&local).iter().any(|r| r == "cache-trust"),
        "{local:#}"
    );
}

#[test]
fn a_cache_folder_reached_through_a_symlink_is_not_trusted() {
    let repo = Repo::committed();
    std::fs::create_dir_all(repo.path().join("sources/planted")).unwrap();
    std::os::unix::fs::symlink("sources/planted", repo.path().join(".cache")).unwrap();
    let output = repo.run(&["verify", "--json"], None);
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(code(&output), 1);
    let trust: Vec<&Json> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "cache-trust")
        .collect();
    assert_eq!(trust.len(), 1, "{report:#}");
    assert_eq!(trust[0]["path"], ".cache");
    assert!(
        !repo.path().join("sources/planted/verify").exists(),
        "verify wrote its cache through the link"
    );
}

#[test]
fn no_output_format_prints_a_secret_that_helm_or_a_rule_quotes() {
    let repo = Repo::committed();
    // Assembled at run time so that no scanner flags this file.
    let token = format!("ghp_{}", "Zx9".repeat(12));
    let values = "sources/values/_shared/platform/default-deny.yaml";
    let text = std::fs::read_to_string(repo.path().join(values)).unwrap();
    repo.write(values, &format!("{text}leak: {token}\n"));
    repo.write(
        &format!("{RAW_MANIFESTS}/templates/zz-fail.yaml"),
        "{{- if .Values.leak }}{{ fail (printf \"refusing %s\" .Values.leak) }}{{ end }}\n",
    );
    let dev = "sources/values/env/dev/apps/domain-catalog-v0.yaml";
    let text = std::fs::read_to_string(repo.path().join(dev)).unwrap();
    let start = text.find("  ref: ").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let planted = format!("  ref: \"ghcr.io/ameideio/x:{token}\"");
    repo.write(dev, &format!("{}{planted}{}", &text[..start], &text[end..]));

    for format in ["human", "github", "json"] {
        let output = repo.run(&["verify", "--no-cache", "--format", format], None);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(code(&output), 1, "{printed}");
        for rule in ["helm-render", "image-policy", "secret-literal"] {
            assert!(printed.contains(rule), "{format}: no {rule} in {printed}");
        }
        assert!(printed.contains("<redacted>"), "{format}: {printed}");
        assert!(
            !printed.contains(&token),
            "{format} prints the token: {printed}"
        );
    }
}

#[test]
fn sigterm_stops_verify_like_ctrl_c_and_exits_143() {
    let repo = Repo::committed();
    for chart in ["common/raw-manifests", "helm-test-jobs"] {
        repo.write(
            &format!("sources/charts/foundation/{chart}/templates/zz-slow.yaml"),
            "{{- range until 8000000 }}{{ end }}\n",
        );
    }
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["verify", "--no-cache"])
        .current_dir(repo.path())
        .env("AMEIDE_HELM", &repo.helm)
        .env_remove("AMEIDE_CACHE_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    support::wait_for_helm_child(pid);
    let out = support::signal_and_wait(child, "-TERM");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 143, "{stderr}");
    assert!(stderr.contains("interrupted before"), "{stderr}");
    assert!(!stderr.contains("helm-render"), "{stderr}");
    assert_eq!(
        repo.git(&[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all"
        ])
        .lines()
        .filter(|l| !l.contains("zz-slow.yaml"))
        .count(),
        0,
        "verify left files behind"
    );
}

/// The problems of one rule in a report.
fn of_rule<'r>(report: &'r Json, rule: &str) -> Vec<&'r Json> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == rule)
        .collect()
}

#[test]
fn a_symlink_out_of_the_repository_fails_the_gate_naming_the_link_and_nothing_is_rendered() {
    let repo = Repo::committed();
    let outside = TempDir::new("verify-hardening-outside");
    let secret = "bytes-from-outside-the-repository";
    std::fs::write(
        outside.path().join("creds.yaml"),
        format!("note: {secret}\n"),
    )
    .unwrap();
    let link = "sources/values/env/dev/platform/default-deny.yaml";
    std::fs::create_dir_all(repo.path().join(link).parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(repo.path().join(link));
    std::os::unix::fs::symlink(outside.path().join("creds.yaml"), repo.path().join(link)).unwrap();
    let relative = "sources/charts/foundation/helm-test-jobs/files-out";
    std::os::unix::fs::symlink("../../../../../elsewhere", repo.path().join(relative)).unwrap();

    let output = repo.run(&["verify", "--json"], None);
    assert_eq!(code(&output), 1);
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<&str> = of_rule(&report, "symlink-out-of-bounds")
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(found, [relative, link], "{report:#}");
    assert_eq!(report["rendered"], 0, "{report:#}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!printed.contains(secret), "{printed}");
}

#[test]
fn a_symlink_loop_in_a_chart_fails_promptly() {
    let repo = Repo::committed();
    let link = "sources/charts/foundation/helm-test-jobs/templates/loop";
    std::os::unix::fs::symlink("..", repo.path().join(link)).unwrap();
    std::os::unix::fs::symlink("self", repo.path().join("sources/self")).unwrap();
    let started = std::time::Instant::now();
    let output = repo.run(&["verify", "--json"], None);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(code(&output), 1);
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<&str> = of_rule(&report, "symlink-loop")
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(found, [link, "sources/self"], "{report:#}");
}

#[test]
fn in_repo_links_are_followed_by_the_rules_and_submodules_are_refused() {
    let repo = Repo::committed();
    // A file outside the folders the rules walk, reached through a link inside them.
    repo.write("docs/creds.yaml", "database:\n  password: hunter2-linked\n");
    let link = "sources/values/env/dev/platform/default-deny.yaml";
    std::fs::create_dir_all(repo.path().join(link).parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(repo.path().join(link));
    std::os::unix::fs::symlink("../../../../../docs/creds.yaml", repo.path().join(link)).unwrap();
    repo.write(
        ".gitmodules",
        "[submodule \"vendor\"]\n\tpath = vendor\n\turl = https://example.invalid/vendor.git\n",
    );

    let output = repo.run(&["verify", "--json", "--no-cache"], None);
    assert_eq!(code(&output), 1);
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    let secrets: Vec<&str> = of_rule(&report, "secret-literal")
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, [link], "{report:#}");
    let submodules = of_rule(&report, "submodule");
    assert_eq!(submodules.len(), 1, "{report:#}");
    assert_eq!(submodules[0]["path"], ".gitmodules");
    assert!(report["rendered"].as_u64().unwrap() > 0, "{report:#}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2-linked"));
}

#[test]
fn a_megabyte_of_nested_block_scalars_is_bounded_and_reported() {
    let repo = Repo::committed();
    // Each level's block scalar holds every deeper one: read level by level without a budget,
    // this file cost 655 MiB and 21 s.
    let mut text = String::new();
    let mut depth = 0;
    while text.len() < 1_000_000 {
        text.push_str(&format!("{}k{depth}: |\n", " ".repeat(2 * depth)));
        depth += 1;
    }
    let path = "sources/values/_shared/platform/default-deny.yaml";
    let original = std::fs::read_to_string(repo.path().join(path)).unwrap();
    repo.write(
        path,
        &format!("{original}nested:\n  {}", text.replace('\n', "\n  ")),
    );
    let started = std::time::Instant::now();
    let output = repo.run(&["verify", "--json", "--stats", "--no-cache"], None);
    let elapsed = started.elapsed();
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    let budget = of_rule(&report, "yaml-budget");
    assert_eq!(budget.len(), 1, "{report:#}");
    assert_eq!(budget[0]["path"], path);
    let peak = report["peak_rss_kib"].as_u64().unwrap();
    assert!(peak < 200 * 1024, "peak memory {peak} KiB");
    assert!(elapsed < std::time::Duration::from_secs(60), "{elapsed:?}");
}

#[test]
fn a_utf8_bom_that_helm_accepts_is_accepted() {
    let repo = Repo::committed();
    for path in [
        "sources/values/_shared/platform/default-deny.yaml",
        "environments/_shared/components/platform/network/default-deny/component.yaml",
        "config/clusters/azure.yaml",
    ] {
        let text = std::fs::read_to_string(repo.path().join(path)).unwrap();
        repo.write(path, &format!("\u{feff}{text}"));
    }
    let report = repo.verify(None);
    assert_eq!(report["problems"], Json::Array(Vec::new()), "{report:#}");
    assert!(report["rendered"].as_u64().unwrap() > 0, "{report:#}");
}

#[test]
fn unpinned_revisions_foreign_sources_the_default_project_and_a_plugin_mix_are_refused() {
    let repo = Repo::committed();
    let appset = "argocd/applicationsets/ameide.yaml";
    let text = std::fs::read_to_string(repo.path().join(appset)).unwrap();
    let text = text
        .replace(
            "          targetRevision: main\n          ref: values",
            "          targetRevision: dev\n          ref: values",
        )
        .replace(
            "          helm:\n            releaseName:",
            "          plugin:\n            name: anything\n          helm:\n            releaseName:",
        );
    repo.write(appset, &text);
    let default_deny =
        "environments/_shared/components/platform/network/default-deny/component.yaml";
    let text = std::fs::read_to_string(repo.path().join(default_deny)).unwrap();
    repo.write(
        default_deny,
        &text
            .replace("project: ameide", "project: default")
            .replace("  version: main", "  version: unreviewed"),
    );
    let namespace_policy =
        "environments/_shared/components/foundation/namespace-policy/component.yaml";
    let text = std::fs::read_to_string(repo.path().join(namespace_policy)).unwrap();
    repo.write(
        namespace_policy,
        &text.replace(
            "  repoURL: https://github.com/ameideio/ameide-gitops.git",
            "  repoURL: https://github.com/attacker/charts.git",
        ),
    );

    let report = repo.verify(None);
    let pinned: Vec<(String, String)> = of_rule(&report, "source-pinned")
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has =
        |path: &str, needle: &str| pinned.iter().any(|(p, m)| p == path && m.contains(needle));
    assert!(
        has(appset, "`$values` source's targetRevision is \"dev\""),
        "{pinned:#?}"
    );
    assert!(has(appset, "both plugin: and helm:"), "{pinned:#?}");
    assert!(has(default_deny, "project \"default\""), "{pinned:#?}");
    assert!(
        has(default_deny, "targetRevision) is \"unreviewed\""),
        "{pinned:#?}"
    );
    assert!(has(namespace_policy, "attacker/charts.git"), "{pinned:#?}");
}
