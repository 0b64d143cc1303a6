//! The worlds the end-to-end tests run the built xtask in: a [`Copy`] of the repository content
//! (what git tracks, no git), and a git [`World`] for the write path: a bare remote holding the
//! content on `main`, the seed it was pushed from, a clone (the caller's checkout) and the GitHub
//! API test server, with git isolated from the machine's configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::github::GitHubServer;
use super::{copy_content, tool, TempDir};

/// `cargo xtask <args>` in `dir` with the pinned helm 3, and neither the caller's helm choice nor
/// its job summary.
pub fn xtask(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(dir)
        .env("AMEIDE_HELM", tool("helm3"))
        .env_remove("AMEIDE_HELM_VERSION")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}

/// A temporary copy of the repository content, removed on drop.
pub struct Copy {
    dir: TempDir,
    helm: PathBuf,
}

impl Copy {
    pub fn new() -> Copy {
        Copy::with_helm("helm3")
    }

    /// A copy the xtask runs in with the pinned `helm` (`helm3` or `helm4`).
    pub fn with_helm(helm: &str) -> Copy {
        let dir = TempDir::new(concat!(env!("CARGO_CRATE_NAME"), "-e2e"));
        copy_content(dir.path());
        Copy {
            dir,
            helm: tool(helm),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// [`xtask`] in the copy, with its helm.
    pub fn xtask(&self, args: &[&str]) -> Command {
        let mut command = xtask(self.path(), args);
        command.env("AMEIDE_HELM", &self.helm);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.xtask(args).output().expect("running xtask")
    }

    /// Every file under the copy, path to bytes.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot(self.path())
    }

    /// Every folder under the copy, sorted (an aborted run must not leave empty ones behind).
    pub fn folders(&self) -> Vec<String> {
        let mut folders = Vec::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(relative(self.path(), &path));
                    stack.push(path);
                }
            }
        }
        folders.sort();
        folders
    }
}

/// Every file under `dir` but `.git`, path to bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = relative(dir, &path);
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
    files
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

pub const OWNER: &str = "ameideio";
pub const REPO: &str = "ameide-gitops";

pub struct World {
    dir: TempDir,
    pub server: GitHubServer,
}

impl World {
    pub fn new() -> World {
        let world = World {
            dir: TempDir::new("lifecycle-e2e"),
            server: GitHubServer::start(OWNER, REPO),
        };
        let remote = world.remote();
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
        let seed = world.seed();
        copy_content(&seed);
        git(&seed, &["init", "--quiet", "--initial-branch=main"]);
        git(
            &seed,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        world.commit_seed("seed");
        git(
            world.root(),
            &["clone", "--quiet", remote.to_str().unwrap(), "checkout"],
        );
        world
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn remote(&self) -> PathBuf {
        self.root().join("remote.git")
    }

    pub fn checkout(&self) -> PathBuf {
        self.root().join("checkout")
    }

    /// Where `main` is prepared before it is pushed: the tests' stand-in for merged work.
    pub fn seed(&self) -> PathBuf {
        self.root().join("seed")
    }

    /// Commits everything in the seed and pushes it to `main`.
    pub fn commit_seed(&self, message: &str) {
        git(&self.seed(), &["add", "-A"]);
        git(
            &self.seed(),
            &["commit", "--quiet", "--allow-empty", "-m", message],
        );
        git(&self.seed(), &["push", "--quiet", "origin", "main"]);
    }

    /// Merges a branch of the remote into `main` (fast-forward), as merging its PR would.
    pub fn merge(&self, branch: &str) {
        git(&self.seed(), &["fetch", "--quiet", "origin", branch]);
        git(
            &self.seed(),
            &["merge", "--quiet", "--ff-only", "FETCH_HEAD"],
        );
        git(&self.seed(), &["push", "--quiet", "origin", "main"]);
    }

    /// Runs `cargo xtask <args>` in `dir` with the pinned tools and gh pointed at the server.
    pub fn xtask_in(&self, dir: &Path, args: &[&str]) -> Output {
        let config = self.root().join("gh-config");
        std::fs::create_dir_all(&config).unwrap();
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(dir)
            .env("AMEIDE_HELM", tool("helm3"))
            .env("AMEIDE_KUBE_SCHEMAS", super::kube_schemas())
            .env("AMEIDE_GH", tool("gh"))
            .env("AMEIDE_GH_TIMEOUT", "20")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(isolated_git_env())
            .envs(self.server.gh_env(&config))
            .output()
            .expect("running xtask")
    }

    /// The commit a remote branch points at.
    pub fn remote_tip(&self, branch: &str) -> Option<String> {
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

    /// A file on a remote revision, or None when it is not there.
    pub fn show(&self, rev: &str, path: &str) -> Option<String> {
        let output = Command::new("git")
            .args(["show", &format!("{rev}:{path}")])
            .current_dir(self.remote())
            .envs(isolated_git_env())
            .output()
            .expect("running git");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for World {
    /// Whatever the test made the xtask ask, GitHub could have answered so: every answer of the
    /// server is checked against GitHub's description (unless the test failed already).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.server.assert_answers_conform();
        }
    }
}

/// Git that ignores the machine's own configuration.
pub fn isolated_git_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ]
}

/// Runs git in `dir` as the test's own identity; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
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
