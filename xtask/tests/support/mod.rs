//! Helpers shared by the integration tests: the pinned tools, a GitHub API test server and GitHub's
//! description of its API.

// Each test binary compiles this module whole but uses only part of it.
#![allow(dead_code)]

pub mod github;
pub mod openapi;
pub mod world;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The repository root: the parent of the xtask crate.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent directory")
}

/// The path of a pinned tool (`gh`, `helm3`, `helm4`, `actionlint`, `zizmor`, `github-openapi`):
/// `$AMEIDE_<NAME>` (`-` spelled `_`) if set, else whatever `cargo xtask tools --path <name>`
/// provisions. Panics when neither works, since no test can run without its tool.
pub fn tool(name: &str) -> PathBuf {
    static CACHE: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(path) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
        return path.clone();
    }

    let var = format!("AMEIDE_{}", name.to_uppercase().replace('-', "_"));
    let path = match std::env::var_os(&var) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => provision(name, &var),
    };
    assert!(
        path.is_file(),
        "tool {name}: {} is not a file (from ${var} or `cargo xtask tools --path {name}`)",
        path.display()
    );
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name.to_string(), path.clone());
    path
}

fn provision(name: &str, var: &str) -> PathBuf {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["tools", "--path", name])
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("tool {name}: cannot run `xtask tools --path {name}`: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.trim();
    if !output.status.success() || path.is_empty() {
        panic!(
            "tool {name}: `xtask tools --path {name}` failed ({}); set ${var} to a {name} binary \
             to use that instead.\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    PathBuf::from(path)
}

/// The folder `verify` keeps the pinned Kubernetes schemas in, for every temporary repository
/// (`AMEIDE_KUBE_SCHEMAS`): `$AMEIDE_KUBE_SCHEMAS` if set, else the one of the repository's tools
/// folder, so that they are provisioned once, not once per copy.
pub fn kube_schemas() -> PathBuf {
    if let Some(dir) = std::env::var_os("AMEIDE_KUBE_SCHEMAS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let tools = match std::env::var_os("AMEIDE_TOOLS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join(".tools"),
    };
    // The wheel version of `tools::KUBE_SCHEMAS_WHEEL`.
    tools.join("kubernetes-schemas-1.37.0")
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository content the xtask reads and writes (the Rust workspace is not needed).
pub const CONTENT: [&str; 4] = ["argocd", "config", "environments", "sources"];

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies the repository content (CONTENT) under `to`: in a git checkout, the files git tracks,
/// as they are in the working tree (so edits are tested), but not untracked ones, so that a
/// primitive someone scaffolded to try the README cannot collide with the tests' own; elsewhere
/// everything.
pub fn copy_content(to: &Path) {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--"])
        .args(CONTENT)
        .current_dir(repo_root())
        .output();
    let tracked = match listed {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => out.stdout,
        _ => {
            for top in CONTENT {
                copy_dir(&repo_root().join(top), &to.join(top));
            }
            return;
        }
    };
    for path in tracked.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(path).expect("UTF-8 paths"));
        let from = repo_root().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let target = to.join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&from, &target).unwrap();
    }
}

/// A golden scaffold tree under xtask/test_data/golden, path to text; the unit tests check these
/// byte for byte against the templates.
pub fn golden(case: &str) -> std::collections::BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/golden")
        .join(case);
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

/// Waits until `pid` has a running helm child, so that a signal lands mid-render.
pub fn wait_for_helm_child(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ..."
            let Some((head, rest)) = stat.split_once(") ") else {
                continue;
            };
            let comm = head.rsplit('(').next().unwrap_or("");
            let ppid: u32 = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            // A render (`helm template`), not `helm version`: the signal must find work to stop.
            let renders = || {
                std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == b"template"))
            };
            if ppid == pid && comm.starts_with("helm") && renders() {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no helm child of {pid} appeared");
}

/// The exit code of a finished process (a test fails if a signal killed it).
pub fn code(output: &std::process::Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Stdout parsed as the one JSON object `--json` prints.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Runs git in `dir` with a fixed identity and no user or system configuration; returns stdout
/// trimmed, and fails the test when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("running git {args:?}: {e}"));
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Sends `signal` (`"-INT"`, `"-TERM"`) to the running `child` and waits for its output. A child
/// that ignores the signal is killed after a minute, so the test fails on its exit code instead
/// of hanging too.
pub fn signal_and_wait(child: std::process::Child, signal: &str) -> std::process::Output {
    let pid = child.id();
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let out = child.wait_with_output().unwrap();
    drop(watchdog);
    out
}
