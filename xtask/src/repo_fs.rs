//! Symlinks and submodules as Argo CD's repo-server and helm treat them (docs/threat-model.md).
//!
//! The repo-server refuses a whole repository that holds a symlink leaving it (its
//! `CheckOutOfBoundsSymlinks`: an absolute target, or a relative one that, walked part by part
//! from the link's folder, ever steps above the root), so no Application of it syncs; verify
//! refuses it the same way, naming the link, and checks nothing else until it is gone (a render
//! would read the bytes outside). A link that never resolves or leads into its own ancestor is a
//! loop: helm fails on the chart at once, and a walker following it would never end. Links inside
//! the repository are followed by the rules' walker, as helm and Argo CD read through them.
//! Submodules are refused: Argo CD fetches them, and their content is in another repository that
//! this gate never checks.

use std::path::{Component, Path};

use crate::verify::problem::Problem;

/// Folders a clone never has (build output, provisioned tools, caches): not walked when they are
/// real folders; a symlink by one of these names is checked like any other.
const LOCAL_ONLY: [&str; 3] = ["target", ".tools", ".cache"];

/// The symlink and submodule problems of the tree at `root`, sorted by path.
pub fn problems(root: &Path) -> Vec<Problem> {
    let mut found = Vec::new();
    if root.join(".gitmodules").exists() {
        found.push(submodule(".gitmodules", "declares submodules"));
    }
    walk(root, "", &mut found);
    found.sort();
    found
}

/// Whether a problem of [`problems`] stops the gate before anything else runs.
pub fn is_fatal(problem: &Problem) -> bool {
    matches!(problem.rule, "symlink-out-of-bounds" | "symlink-loop")
}

fn walk(dir: &Path, prefix: &str, found: &mut Vec<Problem>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = match prefix {
            "" => name.clone(),
            _ => format!("{prefix}/{name}"),
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            found.extend(check_link(&entry.path(), &path));
        } else if kind.is_dir() {
            if prefix.is_empty() && (name == ".git" || LOCAL_ONLY.contains(&name.as_str())) {
                continue;
            }
            if entry.path().join(".git").exists() {
                found.push(submodule(
                    &path,
                    "is a Git repository of its own (a submodule)",
                ));
                continue;
            }
            walk(&entry.path(), &path, found);
        }
    }
}

fn check_link(link: &Path, path: &str) -> Option<Problem> {
    let target = std::fs::read_link(link).ok()?;
    let shown = target.display().to_string();
    if leaves(path, &target) {
        return Some(Problem::new(
            path,
            0,
            "symlink-out-of-bounds",
            format!("is a symlink to {shown}, outside the repository: Argo CD's repo-server refuses the whole repository for it (no Application syncs), so verify checks nothing else; replace the link with the file it points at, or point it inside the repository"),
        ));
    }
    let looped = match std::fs::metadata(link) {
        Err(err) => err.raw_os_error() == Some(40), // ELOOP
        Ok(meta) if meta.is_dir() => {
            let into = link.canonicalize().ok();
            let at = link.parent().and_then(|p| p.canonicalize().ok());
            into.zip(at).is_some_and(|(into, at)| at.starts_with(into))
        }
        Ok(_) => false,
    };
    looped.then(|| {
        Problem::new(
            path,
            0,
            "symlink-loop",
            format!("is a symlink to {shown} that loops (it never resolves, or leads into a folder that holds it): helm fails on a chart that holds it and Argo CD cannot render it; remove the link"),
        )
    })
}

/// Whether the link at repository path `path` with `target` leaves the repository, as Argo CD
/// decides it: an absolute target always; a relative one when any prefix of it, joined to the
/// link's folder, is above the root.
fn leaves(path: &str, target: &Path) -> bool {
    if target.is_absolute() {
        return true;
    }
    // The depth of the link's folder below the root.
    let mut depth = path.split('/').count() as isize - 1;
    for part in target.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn submodule(path: &str, what: &str) -> Problem {
    Problem::new(
        path,
        0,
        "submodule",
        format!("{what}: Argo CD fetches submodules, whose content lives in another repository this gate never checks; vendor the files into this repository instead"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_leaves_when_any_prefix_is_above_the_root() {
        let cases = [
            ("a/link", "../b", false),
            ("a/link", "../../b", true),
            ("link", "../ameide-gitops/x", true),
            ("a/b/link", "../../c/../d", false),
            ("a/link", "x/../../..", true),
            ("a/link", "/etc/passwd", true),
            ("a/link", "./c", false),
        ];
        for (path, target, expected) in cases {
            assert_eq!(
                leaves(path, Path::new(target)),
                expected,
                "{path} -> {target}"
            );
        }
    }
}
