//! Moving staged files into the tree, all or nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::templates::File;

/// Writes every file, or none: each is written beside its target first, then renamed into place;
/// any failure restores what was there and removes the folders this call created.
pub fn write_all(root: &Path, files: &[&File]) -> Result<()> {
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = stage(root, files, &mut created_dirs, &mut temps)
        .and_then(|()| commit(files, root, &temps));
    if result.is_err() {
        for (temp, _) in &temps {
            let _ = fs::remove_file(temp);
        }
        for dir in created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

fn stage(
    root: &Path,
    files: &[&File],
    created_dirs: &mut Vec<PathBuf>,
    temps: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<()> {
    for file in files {
        let target = root.join(&file.path);
        let parent = target.parent().expect("repository paths have a parent");
        let mut missing: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|d| !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for dir in missing {
            fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
            created_dirs.push(dir);
        }
        let temp = parent.join(format!(
            ".{}.xtask-{}.tmp",
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file"),
            std::process::id()
        ));
        fs::write(&temp, &file.content).with_context(|| format!("writing {}", temp.display()))?;
        temps.push((temp, target));
    }
    Ok(())
}

fn commit(files: &[&File], root: &Path, temps: &[(PathBuf, PathBuf)]) -> Result<()> {
    let originals: Vec<Option<Vec<u8>>> = files
        .iter()
        .map(|f| fs::read(root.join(&f.path)).ok())
        .collect();
    for (i, (temp, target)) in temps.iter().enumerate() {
        if let Err(err) = fs::rename(temp, target) {
            // Undo the renames already done.
            for ((_, done), original) in temps[..i].iter().zip(&originals) {
                let _ = match original {
                    Some(bytes) => fs::write(done, bytes),
                    None => fs::remove_file(done),
                };
            }
            return Err(err).with_context(|| format!("moving {} into place", target.display()));
        }
    }
    Ok(())
}

/// Writes every file and deletes every path, or does none of it: the deleted files are moved
/// aside first and moved back when the writes fail; folders left empty by a deletion are removed.
pub fn apply(root: &Path, files: &[&File], deletes: &[String]) -> Result<()> {
    let mut aside: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut result = Ok(());
    for path in deletes {
        let target = root.join(path);
        let temp = target.with_file_name(format!(
            ".{}.xtask-{}.deleted",
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file"),
            std::process::id()
        ));
        if let Err(err) = fs::rename(&target, &temp) {
            result = Err(err).with_context(|| format!("deleting {path}"));
            break;
        }
        aside.push((temp, target));
    }
    let result = result.and_then(|()| write_all(root, files));
    if result.is_err() {
        for (temp, target) in aside.iter().rev() {
            let _ = fs::rename(temp, target);
        }
        return result;
    }
    for (temp, target) in &aside {
        let _ = fs::remove_file(temp);
        // Only empty folders go; remove_dir refuses the others.
        for dir in target.ancestors().skip(1) {
            if dir == root || fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
    Ok(())
}

/// Writes files under a staging directory, mirroring their repository paths.
pub fn stage_copy(staging: &Path, files: &[File]) -> Result<()> {
    for file in files {
        let path = staging.join(&file.path);
        fs::create_dir_all(path.parent().expect("a parent"))
            .context("creating the staging directory")?;
        fs::write(&path, &file.content).with_context(|| format!("staging {}", file.path))?;
    }
    Ok(())
}
