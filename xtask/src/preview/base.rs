//! The base tree: the files the model reads, as they are at the merge-base, in a temporary
//! directory removed on drop.
//!
//! It is the working tree with the change undone, not a checkout: every file of the tree is
//! hard-linked (copied where links cannot cross file systems), then each changed file is removed
//! and, if the merge-base has it, written from git. A checkout of a thousand components took
//! seconds, and its removal more; links take a fraction of that, and the bytes are the same,
//! since the change is exactly the files that differ. Nothing reads the base tree but discovery
//! and helm, which never write into it; a changed file is replaced, never written through a link.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, TempDir};

use super::model::{self, Changes};
use crate::git;

pub struct BaseTree {
    /// Holds the tree; removed on drop.
    _temp: TempDir,
    root: PathBuf,
}

impl BaseTree {
    /// The tree at `root` as it is at `changes.merge_base`.
    pub fn new(sh: &Shell, root: &Path, changes: &Changes) -> Result<BaseTree> {
        let temp = sh
            .create_temp_dir()
            .context("creating a temporary directory for the base tree")?;
        let base = temp.path().join("base");
        for dir in model::TREE_DIRS {
            if root.join(dir).is_dir() {
                crate::scratch::link_tree(&root.join(dir), &base.join(dir))
                    .with_context(|| format!("linking {dir} into the base tree"))?;
            }
        }
        let changed: Vec<String> = changes
            .files
            .iter()
            .filter(|f| {
                model::TREE_DIRS
                    .iter()
                    .any(|d| f.starts_with(&format!("{d}/")))
            })
            .cloned()
            .collect();
        let at_base = git::files_at(sh, &changes.merge_base, &changed)
            .with_context(|| format!("reading the changed files at {}", changes.merge_base))?;
        for (path, bytes) in changed.iter().zip(at_base) {
            let target = base.join(path);
            remove(&target).with_context(|| format!("undoing the change of {path}"))?;
            if let Some(bytes) = bytes {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&target, bytes)
                    .with_context(|| format!("writing {path} as at the base"))?;
            }
        }
        Ok(BaseTree {
            _temp: temp,
            root: base,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Removes the file or folder at `path` of the base tree, if there is one: a folder where the
/// base has a file, or the other way round, goes too.
fn remove(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}
