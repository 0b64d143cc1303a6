//! End to end: `--open-pr` and `--via-workflow` with real git (a bare remote in a temporary
//! directory) and the real gh talking to the GitHub API test server on loopback.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::json;
use support::github::GitHubServer;
use support::{code, copy_content, golden, json, tool, wait_for_helm_child, TempDir};

const OWNER: &str = "ameideio";
const REPO: &str = "ameide-gitops";
const BRANCH: &str = "scaffold/domain-orders-v0";
const ORDERS: [&str; 7] = [
    "--kind",
    "domain",
    "--name",
    "orders",
    "--version",
    "v0",
    "--with-smoke",
];

/// A bare remote holding the repository content on `main`, a clone of it (the caller's checkout),
/// and the GitHub API test server.
struct World {
    dir: TempDir,
    server: GitHubServer,
}

impl World {
    fn new() -> World {
        let dir = TempDir::new("open-pr-e2e");
        let world = World {
            dir,
            server: GitHubServer::start(OWNER, REPO),
        };
        git(
            world.root(),
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                "remote.git",
            ],
        );
        let seed = world.root().join("seed");
        copy_content(&seed);
        git(&seed, &["init", "--quiet", "--initial-branch=main"]);
        git(&seed, &["add", "."]);
        git(&seed, &["commit", "--quiet", "-m", "seed"]);
        git(
            &seed,
            &["push", "--quiet", world.remote().to_str().unwrap(), "main"],
        );
        git(
            world.root(),
            &[
                "clone",
                "--quiet",
                world.remote().to_str().unwrap(),
                "checkout",
            ],
        );
        world
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn remote(&self) -> PathBuf {
        self.root().join("remote.git")
    }

    fn checkout(&self) -> PathBuf {
        self.root().join("checkout")
    }

    fn seed(&self) -> PathBuf {
        self.root().join("seed")
    }

    fn xtask(&self, args: &[&str]) -> Output {
        self.xtask_with(args, |_| {})
    }

    fn xtask_with(&self, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Output {
        let config = self.root().join("gh-config");
        std::fs::create_dir_all(&config).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .arg("scaffold-primitive")
            .args(args)
            .current_dir(self.checkout())
            .env("AMEIDE_HELM", tool("helm3"))
            .env("AMEIDE_GH", tool("gh"))
            .env("AMEIDE_GH_TIMEOUT", "20")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(isolated_git_env())
            .envs(self.server.gh_env(&config));
        adjust(&mut command);
        command.output().expect("running xtask")
    }

    fn open_pr(&self, extra: &[&str]) -> Output {
        let mut args = ORDERS.to_vec();
        args.extend(["--open-pr", "--repo", "ameideio/ameide-gitops", "--json"]);
        args.extend(extra);
        self.xtask(&args)
    }

    /// The commit a remote branch points at.
    fn remote_tip(&self, branch: &str) -> Option<String> {
        let out = git(
            &self.remote(),
            &[
                "for-each-ref",
                "--format=%(objectname)",
                &format!("refs/heads/{branch}"),
            ],
        );
        let sha = out.trim();
        (!sha.is_empty()).then(|| sha.to_owned())
    }

    fn remote_branches(&self) -> Vec<String> {
        git(
            &self.remote(),
            &["for-each-ref", "--format=%(refname:short)", "refs/heads"],
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }

    fn show(&self, rev: &str, path: &str) -> String {
        git(&self.remote(), &["show", &format!("{rev}:{path}")])
    }

    /// Files, HEAD, status and worktrees of the caller's checkout.
    fn checkout_state(&self) -> (BTreeMap<String, Vec<u8>>, String, String, String) {
        let mut files = BTreeMap::new();
        let mut stack = vec![self.checkout()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(self.checkout())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel == ".git" {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.insert(rel, std::fs::read(&path).unwrap());
                }
            }
        }
        let head = git(&self.checkout(), &["rev-parse", "HEAD"]);
        let status = git(&self.checkout(), &["status", "--porcelain"]);
        let worktrees = git(&self.checkout(), &["worktree", "list", "--porcelain"]);
        (files, head, status, worktrees)
    }

    fn pull_creates(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == format!("/repos/{OWNER}/{REPO}/pulls"))
            .count()
    }
}

/// Git that ignores the machine's own configuration, with a fixed identity for test commits.
fn isolated_git_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ]
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(isolated_git_env())
        .env("GIT_AUTHOR_NAME", "Test Seed")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "Test Seed")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .expect("running git");
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_first_run_creates_the_branch_and_the_pull_request_and_leaves_the_checkout_alone() {
    let world = World::new();
    let before = world.checkout_state();
    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["operation"], "created");
    assert_eq!(report["pr_operation"], "created");
    assert_eq!(report["branch"], BRANCH);
    assert_eq!(report["pr_number"], 1);
    assert_eq!(
        report["pr_url"],
        "http://github.localhost/ameideio/ameide-gitops/pull/1"
    );
    let tip = world.remote_tip(BRANCH).expect("the branch was pushed");
    assert_eq!(report["commit"], tip.as_str());

    // The branch holds exactly the generated files on top of main.
    let changed = git(&world.remote(), &["diff", "--name-only", "main", BRANCH]);
    let mut changed: Vec<&str> = changed.lines().collect();
    changed.sort();
    let expected = golden("domain-orders-v0-smoke-dev");
    assert_eq!(
        changed,
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (path, content) in &expected {
        assert_eq!(&(world.show(BRANCH, path) + ""), content, "{path}");
    }
    let log = git(
        &world.remote(),
        &["log", "-1", "--format=%an <%ae>%n%s", BRANCH],
    );
    assert_eq!(
        log,
        "ameide-scaffolder <scaffolder@ameide.io>\nscaffold(primitives): domain-orders-v0\n"
    );
    assert_eq!(
        git(
            &world.remote(),
            &["rev-list", "--count", &format!("main..{BRANCH}")]
        )
        .trim(),
        "1"
    );

    let pulls = world.server.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].title, "scaffold(primitives): domain-orders-v0");
    assert_eq!(
        (pulls[0].head.as_str(), pulls[0].base.as_str()),
        (BRANCH, "main")
    );
    for needle in [
        "- `environments/_shared/components/apps/primitives/domain-orders-v0/component.yaml` (created)",
        "- `sources/values/env/dev/apps/domain-orders-v0.yaml` (created)",
        "helm template dev-domain-orders-v0-smoke (enabled simulated): **passed**",
        "- `production-domain-orders-v0-smoke`",
    ] {
        assert!(pulls[0].body.contains(needle), "PR body lacks {needle:?}:\n{}", pulls[0].body);
    }
    assert_eq!(
        world.checkout_state(),
        before,
        "the caller's checkout changed"
    );
}

#[test]
fn an_identical_re_run_is_unchanged_and_opens_no_second_pull_request() {
    let world = World::new();
    assert_eq!(code(&world.open_pr(&[])), 0);
    let tip = world.remote_tip(BRANCH);
    let creates = world.pull_creates();
    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["operation"].as_str(),
            report["pr_operation"].as_str()
        ),
        (Some("unchanged"), Some("unchanged"))
    );
    assert_eq!(world.remote_tip(BRANCH), tip, "an identical re-run pushed");
    assert_eq!(
        world.pull_creates(),
        creates,
        "an identical re-run sent a create"
    );
    assert_eq!(world.server.pulls().len(), 1);
}

#[test]
fn a_forced_re_run_with_other_inputs_updates_the_same_pull_request() {
    let world = World::new();
    assert_eq!(code(&world.open_pr(&[])), 0);
    let first_tip = world.remote_tip(BRANCH).unwrap();
    let out = world.open_pr(&["--env", "staging", "--force"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["operation"].as_str(),
            report["pr_operation"].as_str()
        ),
        (Some("updated"), Some("updated"))
    );
    assert_eq!(report["pr_number"], 1);
    let tip = world.remote_tip(BRANCH).unwrap();
    assert_ne!(tip, first_tip);
    // Rebuilt from main: one scaffolder commit, now with the staging overlay instead of dev.
    assert_eq!(
        git(
            &world.remote(),
            &["rev-list", "--count", &format!("main..{BRANCH}")]
        )
        .trim(),
        "1"
    );
    let changed = git(&world.remote(), &["diff", "--name-only", "main", BRANCH]);
    assert!(
        changed.contains("sources/values/env/staging/apps/domain-orders-v0.yaml"),
        "{changed}"
    );
    assert!(!changed.contains("sources/values/env/dev/"), "{changed}");
    let pulls = world.server.pulls();
    assert_eq!(pulls.len(), 1);
    assert!(pulls[0].body.contains("--env staging"), "{}", pulls[0].body);
    assert!(world
        .server
        .requests()
        .iter()
        .any(|r| r.method == "PATCH" && r.path == format!("/repos/{OWNER}/{REPO}/pulls/1")));
}

#[test]
fn someone_elses_commit_on_the_branch_is_refused_and_kept() {
    let world = World::new();
    assert_eq!(code(&world.open_pr(&[])), 0);
    // A reviewer pushes a fix-up onto the scaffold branch.
    let other = world.root().join("other");
    git(
        world.root(),
        &[
            "clone",
            "--quiet",
            "--branch",
            BRANCH,
            world.remote().to_str().unwrap(),
            "other",
        ],
    );
    std::fs::write(
        other.join("sources/values/env/dev/apps/domain-orders-v0.yaml"),
        "enabled: false\nreplicas: 2\n",
    )
    .unwrap();
    git(&other, &["commit", "--quiet", "-am", "tune orders"]);
    git(&other, &["push", "--quiet", "origin", BRANCH]);
    let theirs = world.remote_tip(BRANCH);
    let requests = world.server.requests().len();

    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["operation"], "refused");
    let error = report["errors"][0].as_str().unwrap();
    assert!(
        error.contains("not the scaffolder's")
            && error.contains("Test Seed <seed@example.com>")
            && error.contains("--force"),
        "{error}"
    );
    assert_eq!(
        world.remote_tip(BRANCH),
        theirs,
        "their commit was not kept"
    );
    let after: Vec<String> = world.server.requests()[requests..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        after,
        [format!("GET /repos/{OWNER}/{REPO}")],
        "only the access check may reach the API"
    );

    // --force rebuilds the branch from main and updates the one pull request.
    let out = world.open_pr(&["--force"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(json(&out)["pr_operation"], "updated");
    assert_ne!(world.remote_tip(BRANCH), theirs);
    assert_eq!(world.server.pulls().len(), 1);
}

#[test]
fn a_component_already_on_main_is_refused() {
    let world = World::new();
    // Land the component on main first (the way a merged pull request would).
    let seed = world.seed();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("scaffold-primitive")
        .args(ORDERS)
        .current_dir(&seed)
        .env("AMEIDE_HELM", tool("helm3"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "merge orders"]);
    git(
        &seed,
        &["push", "--quiet", world.remote().to_str().unwrap(), "main"],
    );

    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let error = json(&out)["errors"][0].as_str().unwrap().to_owned();
    assert!(
        error.starts_with("on main:") && error.contains("--force"),
        "{error}"
    );
    assert_eq!(world.remote_branches(), ["main"]);
    assert_eq!(world.pull_creates(), 0);

    // Forced with the same inputs there is nothing to propose: no branch, no pull request.
    let out = world.open_pr(&["--force"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["operation"].as_str(),
            report["pr_operation"].as_str()
        ),
        (Some("unchanged"), Some("unchanged"))
    );
    assert_eq!(world.remote_branches(), ["main"]);
    assert_eq!(world.pull_creates(), 0);
}

#[test]
fn a_500_on_create_exits_1_and_the_re_run_ends_with_exactly_one_pull_request() {
    let world = World::new();
    world
        .server
        .fail_next("POST", &format!("/repos/{OWNER}/{REPO}/pulls"), 500);
    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 500") && stderr.contains("re-run"),
        "{stderr}"
    );
    let report = json(&out);
    assert_eq!(report["operation"], "error");
    assert!(
        report["errors"][0].as_str().unwrap().contains("HTTP 500"),
        "{report}"
    );
    assert!(world.server.pulls().is_empty());
    let tip = world.remote_tip(BRANCH);
    assert!(tip.is_some());

    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["operation"].as_str(),
            report["pr_operation"].as_str()
        ),
        (Some("unchanged"), Some("created"))
    );
    assert_eq!(world.remote_tip(BRANCH), tip);
    assert_eq!(world.server.pulls().len(), 1);
    // A third run finds it and changes nothing.
    assert_eq!(json(&world.open_pr(&[]))["pr_operation"], "unchanged");
    assert_eq!(world.server.pulls().len(), 1);
}

#[test]
fn a_rejected_push_gives_a_clear_error_and_no_pull_request() {
    let world = World::new();
    let hook = world.remote().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'branch protection: pushes need review' >&2\nexit 1\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", hook.to_str().unwrap()])
        .status()
        .unwrap();
    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pushing scaffold/domain-orders-v0 to origin was rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("branch protection: pushes need review"),
        "{stderr}"
    );
    assert_eq!(world.remote_branches(), ["main"]);
    assert_eq!(world.pull_creates(), 0);

    std::fs::remove_file(&hook).unwrap();
    let out = world.open_pr(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(world.server.pulls().len(), 1);
}

#[test]
fn without_authentication_nothing_is_pushed() {
    let world = World::new();
    let mut args = ORDERS.to_vec();
    args.extend(["--open-pr", "--repo", "ameideio/ameide-gitops"]);
    let out = world.xtask_with(&args, |c| {
        c.env_remove("GH_TOKEN")
            .env_remove("GH_ENTERPRISE_TOKEN")
            .env_remove("GITHUB_TOKEN");
    });
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gh auth login"),
        "{}",
        text(&out)
    );
    assert_eq!(world.remote_branches(), ["main"]);
}

#[test]
fn a_hanging_api_times_out_before_anything_is_pushed() {
    let world = World::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", silent.local_addr().unwrap());
    let mut args = ORDERS.to_vec();
    args.extend(["--open-pr", "--repo", "ameideio/ameide-gitops"]);
    let out = world.xtask_with(&args, |c| {
        c.env("HTTP_PROXY", &proxy)
            .env("http_proxy", &proxy)
            .env("AMEIDE_GH_TIMEOUT", "2");
    });
    drop(silent);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out after 2s"),
        "{}",
        text(&out)
    );
    assert_eq!(world.remote_branches(), ["main"]);
}

#[test]
fn the_trigger_dispatches_exactly_the_validated_inputs_and_writes_nothing() {
    let world = World::new();
    let before = world.checkout_state();
    let out = world.xtask(&[
        "--name",
        "orders",
        "--kind",
        "domain",
        "--version",
        "v0",
        "--env",
        "staging",
        "--via-workflow",
        "--repo",
        "ameideio/ameide-gitops",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let expected_inputs = json!({
        "kind": "domain", "name": "orders", "version": "v0", "with_smoke": "false", "env": "staging", "force": "false"
    });
    assert_eq!(
        world.server.dispatches(),
        [(
            "scaffold-primitive-gitops.yaml".to_owned(),
            json!({"ref": "main", "inputs": expected_inputs, "return_run_details": true})
        )]
    );
    let report = json(&out);
    assert_eq!(report["operation"], "dispatched");
    assert_eq!(report["run_id"], 30_000, "{report}");
    assert_eq!(
        report["watch_url"],
        "http://github.localhost/ameideio/ameide-gitops/actions/runs/30000"
    );
    assert_eq!(world.checkout_state(), before);
    assert_eq!(world.remote_branches(), ["main"]);
}

#[test]
fn invalid_input_never_reaches_the_server_or_the_remote() {
    let world = World::new();
    for mode in [&["--open-pr"][..], &["--via-workflow"][..]] {
        for bad in [
            &["--kind", "domain", "--name", "../orders", "--version", "v0"][..],
            &[
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "qa",
            ][..],
            &["--kind", "Domain", "--name", "orders", "--version", "v0"][..],
        ] {
            let mut args = bad.to_vec();
            args.extend(mode);
            args.extend(["--repo", "ameideio/ameide-gitops"]);
            let out = world.xtask(&args);
            assert_eq!(code(&out), 2, "{args:?}: {}", text(&out));
        }
    }
    assert_eq!(world.server.requests(), []);
    assert_eq!(world.remote_branches(), ["main"]);
}

#[test]
fn an_interrupt_during_the_guardrails_pushes_nothing_and_removes_the_worktree() {
    let world = World::new();
    let seed = world.seed();
    for chart in ["common/raw-manifests", "helm-test-jobs"] {
        let slow = format!("sources/charts/foundation/{chart}/templates/zz-slow.yaml");
        std::fs::write(seed.join(slow), "{{- range until 8000000 }}{{ end }}\n").unwrap();
    }
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "a slow chart"]);
    git(
        &seed,
        &["push", "--quiet", world.remote().to_str().unwrap(), "main"],
    );
    let before = world.checkout_state();

    let config = world.root().join("gh-config");
    std::fs::create_dir_all(&config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("scaffold-primitive")
        .args(ORDERS)
        .args(["--open-pr", "--repo", "ameideio/ameide-gitops"])
        .current_dir(world.checkout())
        .env("AMEIDE_HELM", tool("helm3"))
        .env("AMEIDE_GH", tool("gh"))
        .envs(isolated_git_env())
        .envs(world.server.gh_env(&config))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_helm_child(child.id());
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        text(&out)
    );
    assert_eq!(world.remote_branches(), ["main"]);
    assert_eq!(world.pull_creates(), 0);
    assert_eq!(
        world.checkout_state(),
        before,
        "a worktree or file was left behind"
    );
}
