//! A git world for end-to-end tests of the write path: a bare remote holding the repository
//! content on `main`, the seed it was pushed from, a clone (the caller's checkout) and the GitHub
//! API test server, with git isolated from the machine's configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::github::GitHubServer;
use super::{copy_content, tool, TempDir};

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
