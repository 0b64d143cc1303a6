//! The one temporary file-or-folder type of the crate: removed on drop unless kept, under a name no
//! other process or thread picks at the same time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The last part of every [`unique_name`], so that leftovers of interrupted runs can be found.
pub const SUFFIX: &str = ".tmp";

/// A name no other process or thread picks at the same time; the leading dot keeps it out of sight.
pub fn unique_name(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{what}.{}.{n}.{nanos}{SUFFIX}", std::process::id())
}

/// A temporary file or directory, removed on drop unless kept.
#[derive(Debug)]
pub struct Scratch(Option<PathBuf>);

impl Scratch {
    /// Takes charge of `path` (created or not yet).
    pub fn new(path: PathBuf) -> Scratch {
        Scratch(Some(path))
    }

    /// A new empty folder under the system's temporary folder, its name starting with `what`.
    pub fn dir(what: &str) -> io::Result<Scratch> {
        let scratch = Scratch::new(std::env::temp_dir().join(unique_name(what)));
        fs::create_dir(scratch.path())?;
        Ok(scratch)
    }

    pub fn path(&self) -> &Path {
        self.0.as_deref().expect("not kept yet")
    }

    /// Leaves the file or folder in place.
    pub fn keep(mut self) -> PathBuf {
        self.0.take().expect("not kept yet")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
    }
}

/// Copies the folder `from` to `to`, every file and folder under it.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    each_file(from, to, &|from, to| fs::copy(from, to).map(drop))
}

/// Hard-links the file `from` at `to` (copied where a link cannot be made, such as across file
/// systems). For trees only read (by discovery and helm), never written through: a link shares
/// the bytes, and a hundredth of a copy's time.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)?;
    }
    Ok(())
}

/// Links (or copies) every file under the folder `from` into `to`, folders made.
pub fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    each_file(from, to, &link_or_copy)
}

/// Makes the folders of `from` under `to` and calls `file` for each file, with its place there.
fn each_file(
    from: &Path,
    to: &Path,
    file: &dyn Fn(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            each_file(&entry.path(), &target, file)?;
        } else {
            file(&entry.path(), &target)?;
        }
    }
    Ok(())
}
