//! The render cache of `verify`: `helm template` output, content-addressed by everything that render
//! reads, so that an Application whose inputs did not change is never rendered twice.
//!
//! The key is what helm is handed ([`crate::argo::render_plan`]'s `helm::Render`, not the
//! Application): the helm version, the release name, the namespace, the chart (every file under its
//! folder, sorted by path: path and bytes), the value files in order (path and bytes; a missing one
//! is not handed to helm, so it is not in the key) and any `--set`.
//! Only successful renders are stored: a failure is rendered again, and reported, on every run.
//!
//! Discovery stores here too, under `discovery/`: one entry per parameter set of an
//! ApplicationSet, keyed by the helm version, the prepared templates and the set ([`Key::of`]),
//! holding what the templates render with it, so that a run renders only the parameter sets of
//! components that changed.
//!
//! An entry is one file, `<dir>/<2 hex>/<62 hex>` (`<dir>/discovery/...` for discovery's), written to a temporary name and renamed into
//! place, so concurrent runs never see half an entry. It starts with a header line naming its key,
//! the body's length and the body's sha256; an entry whose header does not match (truncated,
//! corrupted, or another key's) is a miss, and the render that follows replaces it.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::digest::{hex, sha256_hex};
use crate::helm;
use crate::layout;

/// The folder of discovery's entries inside the cache folder.
pub const DISCOVERY_DIR: &str = "discovery";

/// The first word of every entry and of every key's input: bump it when either changes shape.
const FORMAT: &str = "ameide-verify-render-cache/1";

/// A render's identity: the sha256 of its inputs, hex.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// The key of any list of fields (each length-prefixed, so no two lists collide).
    pub fn of(fields: &[&[u8]]) -> Key {
        let mut hasher = Fields::default();
        hasher.field(FORMAT.as_bytes());
        for field in fields {
            hasher.field(field);
        }
        Key(hex(&hasher.finish()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an entry holds, for the counts of hits and misses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// An Application's manifests.
    Render,
    /// The ApplicationSet templates rendered with parameter sets (counted per set).
    Discovery,
    /// What the API server and Argo CD accept of a render (`rules/accepted.rs`), uncounted.
    Accepted,
}

/// The cache folder: `$AMEIDE_CACHE_DIR`, else `.cache/verify` in the repository (ignored by Git).
pub fn dir(root: &Path) -> PathBuf {
    match std::env::var_os("AMEIDE_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join(layout::VERIFY_CACHE_DIR),
    }
}

/// Computes keys, hashing each chart folder and each value file once per run however many
/// Applications share it (every Application reads the same globals).
pub struct Keys<'a> {
    root: &'a Path,
    helm_version: String,
    charts: HashMap<String, String>,
    files: HashMap<String, Option<String>>,
}

impl<'a> Keys<'a> {
    /// `helm_version` is `helm version --short`: a new helm may render differently.
    pub fn new(root: &'a Path, helm_version: &str) -> Keys<'a> {
        Keys {
            root,
            helm_version: helm_version.to_owned(),
            charts: HashMap::new(),
            files: HashMap::new(),
        }
    }

    /// The key of what helm is handed for one render: the chart folder and value files by their
    /// repository paths and bytes, the release, the namespace and any `--set`.
    pub fn key(&mut self, render: &helm::Render) -> Key {
        let mut hasher = Fields::default();
        hasher.field(FORMAT.as_bytes());
        hasher.field(b"render");
        hasher.field(self.helm_version.as_bytes());
        hasher.field(render.release.as_bytes());
        hasher.field(render.namespace.as_bytes());
        let chart_path = self.relative(&render.chart);
        hasher.field(chart_path.as_bytes());
        let chart = match self.charts.get(&chart_path) {
            Some(digest) => digest.clone(),
            None => {
                let digest = folder_digest(&render.chart);
                self.charts.insert(chart_path, digest.clone());
                digest
            }
        };
        hasher.field(chart.as_bytes());
        for path in &render.value_files {
            let file = self.relative(path);
            hasher.field(file.as_bytes());
            let digest = match self.files.get(&file) {
                Some(digest) => digest.clone(),
                None => {
                    let digest = fs::read(path).ok().map(|b| sha256_hex(&b));
                    self.files.insert(file, digest.clone());
                    digest
                }
            };
            // An unreadable file fails the render, which is never stored; marked all the same.
            hasher.field(digest.as_deref().unwrap_or("missing").as_bytes());
        }
        for (flag, pairs) in [
            ("--set-string", &render.set_strings),
            ("--set", &render.sets),
        ] {
            for (key, value) in pairs {
                hasher.field(flag.as_bytes());
                hasher.field(key.as_bytes());
                hasher.field(value.as_bytes());
            }
        }
        Key(hex(&hasher.finish()))
    }

    /// `path` as a repository path when it is inside the repository, so that the key does not
    /// depend on where the checkout is.
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

/// sha256 over length-prefixed fields, so that no two field lists hash alike.
#[derive(Default)]
struct Fields(Sha256);

impl Fields {
    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

/// Every file under `dir` (hidden ones too: helm reads them unless `.helmignore` says otherwise),
/// sorted by relative path, as path and bytes. A missing folder hashes as empty: helm fails on it
/// and failures are not stored.
fn folder_digest(dir: &Path) -> String {
    let through_links = layout::Walk {
        follow_links: true,
        ..layout::Walk::EVERYTHING
    };
    let files = layout::walk(dir, "", through_links).unwrap_or_default();
    let mut hasher = Fields::default();
    for file in files {
        hasher.field(file.as_bytes());
        match fs::read(dir.join(&file)) {
            Ok(bytes) => hasher.field(&bytes),
            Err(_) => hasher.field(b"\0unreadable"),
        }
    }
    hex(&hasher.finish())
}

/// The store: safe to share between the render threads.
pub struct Cache {
    dir: PathBuf,
    helm_version: String,
    hits: AtomicUsize,
    misses: AtomicUsize,
    discovery_hits: AtomicUsize,
    discovery_misses: AtomicUsize,
    write_failures: AtomicUsize,
    warned: AtomicBool,
    /// Reads only: see [`Cache::read_only`].
    read_only: bool,
}

/// What the cache did in one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Renders read from the cache.
    pub hits: usize,
    /// Renders not in the cache (or damaged there), rendered by helm.
    pub misses: usize,
    /// Parameter sets of the ApplicationSets read from the cache, and not.
    pub discovery_hits: usize,
    pub discovery_misses: usize,
    pub write_failures: usize,
}

impl Cache {
    /// The cache in `dir` for renders by the helm whose `helm version --short` is `helm_version`.
    pub fn open(dir: PathBuf, helm_version: &str) -> Cache {
        Cache {
            dir,
            helm_version: helm_version.to_owned(),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            discovery_misses: AtomicUsize::new(0),
            write_failures: AtomicUsize::new(0),
            warned: AtomicBool::new(false),
            read_only: false,
        }
    }

    /// The cache, read but never written: for a command whose promise is to write nothing but
    /// its planned files (the scaffolder), so that a refused or failed run leaves every folder,
    /// the cache's too, as it was.
    pub fn read_only(self) -> Cache {
        Cache {
            read_only: true,
            ..self
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn helm_version(&self) -> &str {
        &self.helm_version
    }

    /// `<dir>/<2 hex>/<62 hex>` for a render, `<dir>/discovery/<2 hex>/<62 hex>` for discovery.
    fn path(&self, what: What, key: &Key) -> PathBuf {
        let (fan, rest) = key.0.split_at(2);
        match what {
            What::Render => self.dir.join(fan).join(rest),
            What::Discovery => self.dir.join(DISCOVERY_DIR).join(fan).join(rest),
            What::Accepted => self.dir.join("accepted").join(fan).join(rest),
        }
    }

    /// The stored text of `key`, counted as a hit or a miss of `what`; `None` (a miss) when there
    /// is no entry or it is damaged.
    pub fn get(&self, what: What, key: &Key) -> Option<String> {
        let found = self.read(what, key);
        let hit = usize::from(found.is_some());
        self.count(what, hit, 1 - hit);
        found
    }

    /// The stored text of `key`, uncounted: for an entry that holds many results, which its
    /// reader counts with [`Cache::count`].
    pub fn read(&self, what: What, key: &Key) -> Option<String> {
        fs::read(self.path(what, key))
            .ok()
            .and_then(|bytes| decode(key, bytes))
    }

    /// Whether there is an entry for `key` (read or not, counted nowhere).
    pub fn has(&self, what: What, key: &Key) -> bool {
        self.path(what, key).is_file()
    }

    pub fn count(&self, what: What, hits: usize, misses: usize) {
        let (hit, miss) = match what {
            What::Render => (&self.hits, &self.misses),
            What::Discovery => (&self.discovery_hits, &self.discovery_misses),
            What::Accepted => return,
        };
        hit.fetch_add(hits, Ordering::Relaxed);
        miss.fetch_add(misses, Ordering::Relaxed);
    }

    /// Stores `text` under `key`. The cache only saves time, so a failure to write is counted
    /// and reported once on stderr, never fatal.
    pub fn put(&self, what: What, key: &Key, text: &str) {
        if self.read_only {
            return;
        }
        if let Err(err) = self.write(self.path(what, key), key, text) {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: cannot write the render cache in {} ({err}); renders are not cached. Fix its permissions, point AMEIDE_CACHE_DIR elsewhere or pass --no-cache",
                    self.dir.display()
                );
            }
        }
    }

    fn write(&self, target: PathBuf, key: &Key, manifests: &str) -> std::io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let folder = target.parent().expect("an entry lives in a fan-out folder");
        fs::create_dir_all(folder)?;
        let temp = folder.join(format!(
            ".tmp-{}-{}-{}",
            &key.0[2..],
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = fs::File::create(&temp)?;
            // Header and body apart: a copy of a large body would only raise the peak.
            file.write_all(header(key, manifests).as_bytes())?;
            file.write_all(manifests.as_bytes())?;
            fs::rename(&temp, &target)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            discovery_hits: self.discovery_hits.load(Ordering::Relaxed),
            discovery_misses: self.discovery_misses.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
        }
    }
}

/// `<FORMAT> <key> <body length> <body sha256>\n`, the line before the body.
fn header(key: &Key, body: &str) -> String {
    format!(
        "{FORMAT} {} {} {}\n",
        key.0,
        body.len(),
        sha256_hex(body.as_bytes())
    )
}

/// `<FORMAT> <key> <body length> <body sha256>\n<body>`.
#[cfg(test)]
fn encode(key: &Key, body: &str) -> Vec<u8> {
    let mut bytes = header(key, body).into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn decode(key: &Key, mut bytes: Vec<u8>) -> Option<String> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..newline]).ok()?;
    let mut fields = header.split(' ');
    let (format, stored_key, length, digest) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let body = &bytes[newline + 1..];
    let intact = format == FORMAT
        && fields.next().is_none()
        && stored_key == key.0
        && length.parse::<usize>().ok()? == body.len()
        && digest == sha256_hex(body);
    if !intact {
        return None;
    }
    bytes.drain(..=newline);
    String::from_utf8(bytes).ok()
}

/// The cache is never trusted from the tree under check: a pull request that commits entries
/// (`git add -f .cache/verify/...`) would make verify read renders it never ran, a Secret-free
/// render standing in for the real one. A cache folder inside the checkout that holds files Git
/// tracks, or that is reached through a symlink, is therefore refused: the run renders without
/// the cache and reports this problem (docs/threat-model.md).
pub fn untrusted(sh: &xshell::Shell, root: &Path, dir: &Path) -> Option<super::Problem> {
    let inside = dir.strip_prefix(root).ok()?;
    let relative = inside.to_string_lossy().replace('\\', "/");
    let problem = |path: &str, what: String| {
        super::Problem::new(
            path,
            0,
            "cache-trust",
            format!(
                "the render cache {relative} {what}: a cache supplied by the tree under check could stand in for renders that never ran, so verify renders without it; remove it from Git (git rm -r --cached {relative}) and keep the cache untracked, or set AMEIDE_CACHE_DIR to a folder outside the checkout"
            ),
        )
    };
    let mut walked = root.to_path_buf();
    for part in inside.components() {
        walked.push(part);
        if walked
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            let link = walked.strip_prefix(root).unwrap_or(&walked);
            let link = link.to_string_lossy().replace('\\', "/");
            return Some(problem(
                &link,
                format!("is reached through the symlink {link}"),
            ));
        }
    }
    if !crate::git::is_work_tree(sh) {
        return None;
    }
    match crate::git::tracked_under(sh, &relative) {
        Ok(tracked) if tracked.is_empty() => None,
        Ok(tracked) => Some(problem(
            &tracked[0],
            format!("holds {} Git tracks", count_files(tracked.len())),
        )),
        Err(err) => Some(problem(
            &relative,
            format!("cannot be checked against Git ({err:#})"),
        )),
    }
}

/// The render cache of the tree at `root` for renders by `helm`, for the commands that read it
/// beside `verify` (the scaffolder's guardrails, the preview): none when [`untrusted`] refuses
/// it, so that no command reads entries the tree under check could have supplied.
pub fn trusted(sh: &xshell::Shell, root: &Path, helm: &Path) -> anyhow::Result<Option<Cache>> {
    let dir = dir(root);
    match untrusted(sh, root, &dir) {
        Some(_) => Ok(None),
        None => Ok(Some(Cache::open(dir, &crate::helm::version(sh, helm)?))),
    }
}

fn count_files(n: usize) -> String {
    match n {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    /// A scratch folder's path, and the folder (removed on drop).
    struct Dir(PathBuf, #[allow(dead_code)] Scratch);

    impl Dir {
        fn new(name: &str) -> Dir {
            let scratch = Scratch::dir(&format!("xtask-cache-{name}")).unwrap();
            Dir(scratch.path().to_path_buf(), scratch)
        }

        fn write(&self, path: &str, text: &str) {
            let target = self.0.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(target, text).unwrap();
        }
    }

    fn repo(name: &str) -> Dir {
        let dir = Dir::new(name);
        dir.write("chart/Chart.yaml", "name: c\n");
        dir.write("chart/templates/a.yaml", "kind: ConfigMap\n");
        dir.write("a.yaml", "a: 1\n");
        dir.write("b.yaml", "b: 1\n");
        dir
    }

    /// What the render plan hands helm for an Application of `chart` with the value files of
    /// `files` that exist (Argo CD skips the missing ones).
    fn app(root: &Path, files: &[&str]) -> helm::Render {
        helm::Render {
            release: "orders".into(),
            namespace: "ameide-dev".into(),
            chart: root.join("chart"),
            value_files: files
                .iter()
                .map(|f| root.join(f))
                .filter(|f| f.is_file())
                .collect(),
            set_strings: Vec::new(),
            sets: Vec::new(),
        }
    }

    fn key(root: &Path, helm: &str, render: &helm::Render) -> Key {
        Keys::new(root, helm).key(render)
    }

    #[test]
    fn the_order_of_value_files_matters() {
        let dir = repo("order");
        let ab = key(&dir.0, "v3", &app(&dir.0, &["a.yaml", "b.yaml"]));
        let ba = key(&dir.0, "v3", &app(&dir.0, &["b.yaml", "a.yaml"]));
        assert_ne!(ab, ba);
        assert_eq!(ab, key(&dir.0, "v3", &app(&dir.0, &["a.yaml", "b.yaml"])));
    }

    #[test]
    fn a_missing_file_differs_from_a_present_one_even_when_empty() {
        let dir = repo("missing");
        let missing = key(&dir.0, "v3", &app(&dir.0, &["a.yaml", "c.yaml"]));
        dir.write("c.yaml", "");
        let empty = key(&dir.0, "v3", &app(&dir.0, &["a.yaml", "c.yaml"]));
        assert_ne!(missing, empty);
    }

    #[test]
    fn the_helm_version_release_namespace_and_bytes_count() {
        let dir = repo("fields");
        let base = app(&dir.0, &["a.yaml"]);
        let k = key(&dir.0, "v3.17.3", &base);
        assert_ne!(k, key(&dir.0, "v4.1.4", &base));
        let mut other = base.clone();
        other.release = "other".into();
        assert_ne!(k, key(&dir.0, "v3.17.3", &other));
        let mut other = base.clone();
        other.namespace = "ameide-prod".into();
        assert_ne!(k, key(&dir.0, "v3.17.3", &other));
        dir.write("a.yaml", "a: 2\n");
        assert_ne!(k, key(&dir.0, "v3.17.3", &base));
    }

    #[test]
    fn every_chart_file_counts_hidden_ones_too() {
        let dir = repo("chart");
        let base = app(&dir.0, &["a.yaml"]);
        let k = key(&dir.0, "v3", &base);
        dir.write("chart/files/x.txt", "x");
        let with_file = key(&dir.0, "v3", &base);
        assert_ne!(k, with_file);
        dir.write("chart/.hidden", "x");
        assert_ne!(with_file, key(&dir.0, "v3", &base));
    }

    #[test]
    fn a_stored_entry_reads_back_and_a_damaged_one_is_a_miss() {
        let dir = Dir::new("store");
        let cache = Cache::open(dir.0.join("cache"), "v3");
        let k = Key("ab".repeat(32));
        assert_eq!(cache.get(What::Render, &k), None);
        cache.put(What::Render, &k, "kind: ConfigMap\n");
        assert_eq!(
            cache.get(What::Render, &k).as_deref(),
            Some("kind: ConfigMap\n")
        );
        let path = cache.path(What::Render, &k);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(cache.get(What::Render, &k), None, "truncated");
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        fs::write(&path, &flipped).unwrap();
        assert_eq!(cache.get(What::Render, &k), None, "corrupted");
        // Another key's intact entry under this name is no hit either.
        let other = Key("cd".repeat(32));
        fs::write(&path, encode(&other, "kind: ConfigMap\n")).unwrap();
        assert_eq!(cache.get(What::Render, &k), None, "another key's entry");
        cache.put(What::Render, &k, "kind: ConfigMap\n");
        assert_eq!(
            cache.get(What::Render, &k).as_deref(),
            Some("kind: ConfigMap\n")
        );
        assert_eq!(
            cache.stats(),
            Stats {
                hits: 2,
                misses: 4,
                ..Stats::default()
            }
        );
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [k.0[2..].to_owned()]);
    }
}
