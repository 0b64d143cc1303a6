//! The files of the repository as Argo CD's repo-server sees them: what Git tracks at the
//! revision, in every folder whatever its name (a dot-folder or `target` too), and nothing Git
//! ignores (`util/git/client.go`, `LsFiles`, runs `git ls-files`).
//!
//! Offline the revision is the work tree: the tracked files still present, and the untracked ones
//! Git would add (so that a component scaffolded and not yet committed is checked before the
//! commit that adds it, as the pull request will hold it). Outside a Git work tree (a scratch
//! copy) every file counts but `.git`'s.

use std::path::Path;

use anyhow::Result;
use xshell::Shell;

use super::glob::Globbing;
use crate::git;
use crate::layout;

/// The repository's files, sorted repository paths, and how the repo-server matches a git files
/// generator's pattern against them ([`Globbing`], declared by the repository).
#[derive(Debug, Default)]
pub struct Files {
    files: Vec<String>,
    pub globbing: Globbing,
}

impl Files {
    pub fn list(sh: &Shell, root: &Path) -> Result<Files> {
        let files = match git::ls_files(sh, root, true)? {
            Some(mut files) => {
                files.retain(|f| root.join(f).is_file());
                files
            }
            None => {
                let not_git = layout::Walk {
                    enter: |name| name != ".git",
                    follow_links: false,
                };
                layout::walk(root, "", not_git)?
            }
        };
        Ok(Files {
            files,
            globbing: Globbing::default(),
        })
    }

    /// The files `paths` (repository paths, any order), as a scratch copy made of them holds them.
    pub fn of(mut paths: Vec<String>) -> Files {
        paths.sort();
        paths.dedup();
        Files {
            files: paths,
            globbing: Globbing::default(),
        }
    }

    /// The files at or under the folder `dir` ("" is the root).
    pub fn under(&self, dir: &str) -> Vec<&str> {
        let dir = dir.trim_end_matches('/');
        let inside = |f: &str| {
            dir.is_empty() || f == dir || f.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
        };
        let start = self.files.partition_point(|f| f.as_str() < dir);
        self.files[start..]
            .iter()
            .map(String::as_str)
            .take_while(|f| f.starts_with(dir))
            .filter(|f| inside(f))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(String::as_str)
    }
}
