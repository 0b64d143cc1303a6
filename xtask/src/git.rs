//! The one module that calls git.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The author and committer of scaffolder commits unless the usual git variables say otherwise.
pub const SCAFFOLDER_NAME: &str = "ameide-scaffolder";
pub const SCAFFOLDER_EMAIL: &str = "scaffolder@ameide.io";

/// Runs git quietly, returning trimmed stdout; git's stderr becomes the error message.
fn git(sh: &Shell, args: &[&str]) -> Result<String> {
    let output = cmd!(sh, "git {args...}")
        .quiet()
        .ignore_status()
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .context("running git: is it installed?")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "git {} failed: {}{}",
            args.join(" "),
            stderr.trim(),
            dropped_connection_advice(&stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

pub fn remote_url(sh: &Shell, remote: &str) -> Result<String> {
    git(sh, &["remote", "get-url", remote])
}

/// Fetches `branch` of `remote` into `refs/remotes/<remote>/<branch>` and returns its commit.
pub fn fetch_branch(sh: &Shell, remote: &str, branch: &str) -> Result<String> {
    let tracking = format!("refs/remotes/{remote}/{branch}");
    git(
        sh,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            remote,
            &format!("+refs/heads/{branch}:{tracking}"),
        ],
    )
    .with_context(|| format!("fetching {branch} from {remote}"))?;
    rev_parse(sh, &tracking)
}

/// The commit a remote branch points at, or None when the branch does not exist.
pub fn remote_branch(sh: &Shell, remote: &str, branch: &str) -> Result<Option<String>> {
    let out = git(
        sh,
        &[
            "ls-remote",
            "--heads",
            remote,
            &format!("refs/heads/{branch}"),
        ],
    )
    .with_context(|| format!("asking {remote} for {branch}"))?;
    Ok(out.split_whitespace().next().map(str::to_owned))
}

pub fn rev_parse(sh: &Shell, rev: &str) -> Result<String> {
    git(
        sh,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .with_context(|| format!("{rev} is not a commit"))
}

pub fn tree_of(sh: &Shell, rev: &str) -> Result<String> {
    git(sh, &["rev-parse", &format!("{rev}^{{tree}}")])
}

/// Commits reachable from `tip` but not from `base`, newest first.
pub fn commits_between(sh: &Shell, base: &str, tip: &str) -> Result<Vec<String>> {
    let out = git(sh, &["rev-list", &format!("{base}..{tip}")])?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// The full message of a commit.
pub fn message(sh: &Shell, commit: &str) -> Result<String> {
    git(sh, &["log", "-1", "--format=%B", commit])
}

/// `author <email>` of a commit, for messages.
pub fn author(sh: &Shell, commit: &str) -> Result<String> {
    git(sh, &["log", "-1", "--format=%an <%ae>", commit])
}

/// A detached worktree of `rev` at `dir`, removed (with its administrative files) on drop.
pub struct Worktree<'a> {
    sh: &'a Shell,
    dir: std::path::PathBuf,
}

impl<'a> Worktree<'a> {
    pub fn add(sh: &'a Shell, dir: &Path, rev: &str) -> Result<Worktree<'a>> {
        let path = dir.display().to_string();
        git(sh, &["worktree", "add", "--quiet", "--detach", &path, rev])
            .context("creating a temporary worktree")?;
        Ok(Worktree {
            sh,
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        let path = self.dir.display().to_string();
        let _ = git(self.sh, &["worktree", "remove", "--force", &path]);
        let _ = git(self.sh, &["worktree", "prune"]);
    }
}

/// Stages `paths` and commits them as the scaffolder (unless GIT_AUTHOR_* / GIT_COMMITTER_* are
/// set), without hooks or signing prompts; returns the new commit.
pub fn commit(sh: &Shell, paths: &[String], message: &str) -> Result<String> {
    let mut add = vec!["add", "--"];
    add.extend(paths.iter().map(String::as_str));
    git(sh, &add)?;
    let identity = [
        ("GIT_AUTHOR_NAME", SCAFFOLDER_NAME),
        ("GIT_AUTHOR_EMAIL", SCAFFOLDER_EMAIL),
        ("GIT_COMMITTER_NAME", SCAFFOLDER_NAME),
        ("GIT_COMMITTER_EMAIL", SCAFFOLDER_EMAIL),
    ];
    let mut command = cmd!(
        sh,
        "git -c commit.gpgsign=false commit --quiet --no-verify --file -"
    )
    .quiet()
    .ignore_status()
    .stdin(message);
    for (key, default) in identity {
        if std::env::var_os(key).is_none() {
            command = command.env(key, default);
        }
    }
    let output = command.output().context("running git commit")?;
    if !output.status.success() {
        bail!(
            "git commit failed: {}{}",
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    rev_parse(sh, "HEAD")
}

/// Pushes `commit` to `refs/heads/<branch>` only if the remote branch is still at `expected`
/// (None: must not exist yet).
pub fn push_with_lease(
    sh: &Shell,
    remote: &str,
    commit: &str,
    branch: &str,
    expected: Option<&str>,
) -> Result<()> {
    let lease = format!(
        "--force-with-lease=refs/heads/{branch}:{}",
        expected.unwrap_or("")
    );
    let refspec = format!("{commit}:refs/heads/{branch}");
    git(sh, &["push", "--quiet", "--no-verify", &lease, remote, &refspec]).with_context(|| {
        // Ctrl-C reaches git and this process at once; the handler's thread may record it just
        // after git, killed by it, has exited.
        if !crate::interrupt::is_set() {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if crate::interrupt::is_set() {
            return format!(
                "pushing {branch} to {remote} was interrupted; no pull request was created or updated. \
                 The remote may or may not hold the new {branch} now: re-run the same command to finish (the lease keeps it safe)"
            );
        }
        format!(
            "pushing {branch} to {remote} was rejected; nothing else was changed (no pull request was created or updated). \
             Check your push rights and whether someone pushed to {branch} meanwhile, then re-run"
        )
    })?;
    Ok(())
}

/// Whether `rev` names a commit here.
pub fn is_commit(sh: &Shell, rev: &str) -> bool {
    rev_parse(sh, rev).is_ok()
}

/// The best common ancestor of two revisions: where a pull request's branch left its base.
pub fn merge_base(sh: &Shell, a: &str, b: &str) -> Result<String> {
    git(sh, &["merge-base", a, b]).with_context(|| format!("{a} and {b} share no history"))
}

/// Every path that differs between `rev` and the working tree (committed since, staged, unstaged;
/// deleted files included, a rename as both its paths), plus the untracked files Git does not
/// ignore; relative to the current directory and limited to it, sorted.
pub fn changed_files_since(sh: &Shell, rev: &str) -> Result<Vec<String>> {
    let diff = git(
        sh,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            "-z",
            rev,
        ],
    )?;
    let untracked = git(sh, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    let mut files: Vec<String> = diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
/// The files git tracks under `paths`, repository-relative: what a copy of the checkout takes, so
/// that files a user left in the working tree (the README's example primitive) never reach it.
pub fn tracked_files(sh: &Shell, paths: &[&str]) -> Result<Vec<String>> {
    let mut args = vec!["ls-files", "-z", "--cached", "--"];
    args.extend(paths);
    let listed = git(sh, &args)?;
    Ok(listed
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A new repository in the current directory holding every file in it as one commit (for the
/// benchmark's synthetic repository).
pub fn init_with_everything(sh: &Shell, message: &str) -> Result<String> {
    git(sh, &["init", "--quiet", "--initial-branch=main"])?;
    commit(sh, &[".".to_owned()], message)
}

/// Whether the current directory is inside a Git working tree.
pub fn is_work_tree(sh: &Shell) -> bool {
    git(sh, &["rev-parse", "--is-inside-work-tree"]).is_ok_and(|out| out == "true")
}

/// The files Git tracks under `path` (relative to the current directory), sorted.
pub fn tracked_under(sh: &Shell, path: &str) -> Result<Vec<String>> {
    let out = git(sh, &["ls-files", "-z", "--cached", "--", path])?;
    let mut files: Vec<String> = out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    Ok(files)
}

/// What to do when a network command died with the connection (git and gh print `EOF`, "the
/// remote end hung up", "connection reset"); empty for any other failure.
pub fn dropped_connection_advice(stderr: &str) -> &'static str {
    let dropped = [
        "EOF",
        "hung up unexpectedly",
        "Connection reset",
        "connection reset",
        "Connection timed out",
        "early EOF",
    ];
    match dropped.iter().any(|d| stderr.contains(d)) {
        true => " (the connection to the server dropped before it answered; nothing after the last completed step was changed: check the network or the server's status, then re-run the same command)",
        false => "",
    }
}

/// The bytes of each of `paths` (repository paths) at `rev`, `None` where `rev` has no such
/// file; in one `git cat-file --batch`, however many paths.
pub fn files_at(sh: &Shell, rev: &str, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
    let request: String = paths.iter().map(|p| format!("{rev}:{p}\n")).collect();
    let output = cmd!(sh, "git cat-file --batch")
        .quiet()
        .ignore_status()
        .stdin(request)
        .output()
        .context("running git cat-file")?;
    if !output.status.success() {
        bail!(
            "git cat-file --batch failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // Per path: "<oid> <type> <size>\n<content>\n", or "<object> missing\n".
    let mut rest = output.stdout.as_slice();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .with_context(|| format!("git cat-file said nothing about {path}"))?;
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        rest = &rest[newline + 1..];
        let fields: Vec<&str> = header.split(' ').collect();
        match fields.as_slice() {
            [_, "blob", size] => {
                let size: usize = size.parse().context("a blob size")?;
                let content = rest.get(..size).context("a truncated blob")?;
                files.push(Some(content.to_vec()));
                rest = rest.get(size + 1..).unwrap_or_default();
            }
            // Missing, or a folder (a submodule, a tree): no file there.
            [.., "missing"] | [_, _] => files.push(None),
            [_, _, size] => {
                let size: usize = size.parse().context("an object size")?;
                files.push(None);
                rest = rest.get(size + 1..).unwrap_or_default();
            }
            _ => bail!("git cat-file: unexpected header {header:?} for {path}"),
        }
    }
    Ok(files)
}

/// The files of the checkout at `dir` as `git ls-files` lists them (`--full-name`, relative to
/// the top of the work tree's `dir`): tracked ones (those deleted in the work tree left out, by
/// the caller) and, with `untracked`, the ones Git would add (not ignored). `None` when `dir` is
/// not inside a Git work tree.
pub fn ls_files(sh: &Shell, dir: &Path, untracked: bool) -> Result<Option<Vec<String>>> {
    let dir = dir.to_string_lossy();
    let inside = git(sh, &["-C", &dir, "rev-parse", "--is-inside-work-tree"]);
    if !inside.is_ok_and(|answer| answer == "true") {
        return Ok(None);
    }
    let mut args = vec!["-C", &*dir, "ls-files", "-z", "--cached"];
    if untracked {
        args.extend(["--others", "--exclude-standard"]);
    }
    let listed = git(sh, &args)?;
    let mut files: Vec<String> = listed
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(Some(files))
}
