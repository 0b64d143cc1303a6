//! `cargo xtask bench`: how `verify` scales, measured on a synthetic repository.
//!
//! For each size it builds, in a temporary folder, this repository's desired state plus N
//! scaffolded primitives with their smokes (2N components, one Application per env each), commits
//! it, and measures in one run: the naive gate (one `helm template` per Application, one after
//! another), `verify` cold, warm and after one component changed (the real binary, as CI runs it),
//! its peak memory, and the scaffolder's own time above its helm renders. It prints one table per
//! size, and with several sizes a line comparing their memory. Not a test: nothing here asserts a
//! time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value as Json;
use xshell::Shell;

use crate::argo::{self, render_plan};
use crate::exit;
use crate::git;
use crate::helm;
use crate::layout;
use crate::primitive::{Kind, Name, Primitive, Version};
use crate::scaffold::templates;
use crate::scratch::{copy_tree, Scratch};
use crate::tools;

#[derive(clap::Args, Debug)]
pub struct Flags {
    /// Primitives (each with its smoke) in the synthetic repository; a comma list (100,1000) runs
    /// each size and compares their peak memory.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "300",
        value_name = "N[,N...]"
    )]
    pub components: Vec<usize>,
    /// Keep the synthetic repositories (their paths are printed) instead of removing them.
    #[arg(long)]
    pub keep: bool,
    /// Only write the synthetic repositories (kept; their paths are printed) and measure nothing:
    /// for profiling `verify` by hand on a repository of a given size.
    #[arg(long)]
    pub repo_only: bool,
}

/// The repository content the synthetic repository starts from.
const CONTENT: [&str; 4] = ["argocd", "config", "environments", "sources"];
/// How many times the scaffolder is timed; the median is reported.
const SCAFFOLD_RUNS: usize = 5;

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    if flags.components.is_empty() || flags.components.iter().any(|&n| n == 0 || n > 9999) {
        return Err(exit::invalid(format!(
            "--components {:?}: each size must be between 1 and 9999, e.g. --components 300 or --components 100,1000",
            flags.components
        )));
    }
    let root = sh.current_dir();
    let helm = tools::helm(sh)?;
    KUBE_SCHEMAS.get_or_init(|| tools::kube_schemas_home(sh));
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    if flags.repo_only {
        for &n in &flags.components {
            let repo = Synthetic::create(&root, n)?;
            println!("{}", repo.0.keep().display());
        }
        return Ok(());
    }
    let mut memory = Vec::new();
    for &n in &flags.components {
        let result = measure(sh, &root, &helm, &exe, n, flags.keep)?;
        println!("{}", result.table());
        memory.push((n, result.cold_rss_kib, result.applications));
    }
    if memory.len() > 1 {
        println!("{}", memory_line(&memory));
    }
    Ok(())
}

/// One size's measurements.
struct Measured {
    primitives: usize,
    components: usize,
    applications: usize,
    helm_version: String,
    cores: usize,
    profile: &'static str,
    baseline: Duration,
    cold: Duration,
    warm: Duration,
    warm_hits: u64,
    changed: Duration,
    changed_rendered: u64,
    preview: Duration,
    preview_applications: usize,
    cold_rss_kib: u64,
    warm_rss_kib: u64,
    cold_seconds: Json,
    warm_seconds: Json,
    changed_seconds: Json,
    scaffold_total: Duration,
    scaffold_renders: Duration,
    scaffold_render_count: usize,
}

fn measure(
    sh: &Shell,
    root: &Path,
    helm: &Path,
    exe: &Path,
    n: usize,
    keep: bool,
) -> Result<Measured> {
    let say = |what: &str| eprintln!("bench [{n}]: {what}");
    let repo = Synthetic::create(root, n)?;
    let dir = repo.0.path().to_path_buf();
    // Removed when the measurement ends, unless kept.
    let _repo = if keep {
        say(&format!("synthetic repository kept at {}", dir.display()));
        repo.0.keep();
        None
    } else {
        Some(repo)
    };
    let rsh = Shell::new()?;
    rsh.change_dir(&dir);

    say("discovering the Applications");
    let discovery = argo::discover(&rsh, helm, &dir)?;
    if !discovery.problems.is_empty() {
        bail!(
            "the synthetic repository has discovery problems: {}",
            discovery.problems[0]
        );
    }
    let apps = discovery.applications;
    let count = apps.len();

    say(&format!(
        "naive baseline: {count} helm template runs, one after another"
    ));
    let started = Instant::now();
    let mut next_report = count / 10;
    for (i, app) in apps.iter().enumerate() {
        crate::interrupt::check("the next render")?;
        let Ok(Some(plan)) = render_plan::plan(&dir, app) else {
            bail!("{}: cannot be rendered offline", app.name);
        };
        helm::template(&rsh, helm, &plan).with_context(|| format!("rendering {}", app.name))?;
        if i + 1 >= next_report && count >= 10 {
            eprintln!(
                "bench [{n}]:   {}/{count} ({:.0}s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
            next_report += count / 10;
        }
    }
    let baseline = started.elapsed();
    drop(apps);

    let verify = |label: &str, args: &[&str]| -> Result<(Duration, Json)> {
        say(label);
        run_verify(exe, helm, &dir, args)
    };
    let (cold, cold_report) = verify(
        "verify cold (--no-cache)",
        &["verify", "--json", "--stats", "--no-cache"],
    )?;
    verify("filling the cache (not measured)", &["verify", "--json"])?;
    let (warm, warm_report) = verify(
        "verify warm (nothing changed)",
        &["verify", "--json", "--stats"],
    )?;
    let edited = layout::shared_values(layout::PRIMITIVES_DOMAIN, &primitive(1)?.id());
    let path = dir.join(&edited);
    let mut text = std::fs::read_to_string(&path).with_context(|| format!("reading {edited}"))?;
    text.push_str("# bench: one component changed\n");
    std::fs::write(&path, text).with_context(|| format!("writing {edited}"))?;
    let (changed, changed_report) = verify(
        &format!("verify --changed after editing {edited}"),
        &["verify", "--json", "--stats", "--changed", "--base", "HEAD"],
    )?;

    say("preview --base HEAD after the same edit");
    let (preview, preview_applications) = run_preview(exe, helm, &dir)?;

    say(&format!(
        "scaffold-primitive --dry-run, {SCAFFOLD_RUNS} times"
    ));
    let mut totals = Vec::new();
    let mut renders = Vec::new();
    let mut render_count = 0;
    for _ in 0..SCAFFOLD_RUNS {
        let (total, wall, count) = run_scaffold(exe, helm, &dir)?;
        totals.push(total);
        renders.push(wall);
        render_count = count;
    }

    let number = |report: &Json, key: &str| report[key].as_u64().unwrap_or_default();
    Ok(Measured {
        primitives: n,
        components: 2 * n + existing_components(root)?,
        applications: count,
        helm_version: helm::version(sh, helm)?,
        cores: crate::pool::workers(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        baseline,
        cold,
        warm,
        warm_hits: number(&warm_report, "cache_hits"),
        changed,
        changed_rendered: number(&changed_report, "rendered"),
        preview,
        preview_applications,
        cold_rss_kib: number(&cold_report, "peak_rss_kib"),
        warm_rss_kib: number(&warm_report, "peak_rss_kib"),
        cold_seconds: cold_report["seconds"].clone(),
        warm_seconds: warm_report["seconds"].clone(),
        changed_seconds: changed_report["seconds"].clone(),
        scaffold_total: median(totals),
        scaffold_renders: median(renders),
        scaffold_render_count: render_count,
    })
}

/// Runs the built `verify` in `dir` and returns its wall time and JSON report; a failing verify
/// fails the benchmark, since a fast gate that finds problems measures nothing.
fn run_verify(exe: &Path, helm: &Path, dir: &Path, args: &[&str]) -> Result<(Duration, Json)> {
    let started = Instant::now();
    let output = xtask(exe, helm, dir).args(args).output()?;
    let took = started.elapsed();
    let report: Json = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "verify printed no JSON: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if !output.status.success() {
        bail!(
            "verify {} failed on the synthetic repository: {}",
            args.join(" "),
            report["problems"]
        );
    }
    Ok((took, report))
}

/// Runs the built `preview --base HEAD --format json` in `dir`: its wall time and how many
/// Applications it reports changed.
fn run_preview(exe: &Path, helm: &Path, dir: &Path) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let output = xtask(exe, helm, dir)
        .args(["preview", "--base", "HEAD", "--format", "json"])
        .output()?;
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "preview failed on the synthetic repository: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: Json = serde_json::from_slice(&output.stdout).context("preview printed no JSON")?;
    let applications = report["applications"].as_array().map_or(0, Vec::len);
    Ok((took, applications))
}

/// Runs the scaffolder's dry run in `dir`: its wall time as it reports it, its renders' wall time,
/// and how many renders.
fn run_scaffold(exe: &Path, helm: &Path, dir: &Path) -> Result<(Duration, Duration, usize)> {
    let output = xtask(exe, helm, dir)
        .args([
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "bench-extra",
        ])
        .args(["--version", "v0", "--with-smoke", "--dry-run"])
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("scaffold-primitive --dry-run failed: {stderr}");
    }
    parse_took(&stderr).with_context(|| {
        format!("scaffold-primitive printed no \"took ...; its N helm renders took ...\": {stderr}")
    })
}

/// `took 1.234s; its 6 helm renders took 0.456s wall (...)`.
fn parse_took(stderr: &str) -> Option<(Duration, Duration, usize)> {
    let line = stderr.lines().find(|l| l.starts_with("took "))?;
    let (total, rest) = line.strip_prefix("took ")?.split_once("s; its ")?;
    let (count, rest) = rest.split_once(" helm renders took ")?;
    let (wall, _) = rest.split_once("s wall")?;
    Some((
        Duration::from_secs_f64(total.parse().ok()?),
        Duration::from_secs_f64(wall.parse().ok()?),
        count.parse().ok()?,
    ))
}

/// The Kubernetes schemas of this checkout, shared by the synthetic repositories' runs.
static KUBE_SCHEMAS: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

fn xtask(exe: &Path, helm: &Path, dir: &Path) -> Command {
    let mut command = Command::new(exe);
    if let Some(schemas) = KUBE_SCHEMAS.get() {
        command.env("AMEIDE_KUBE_SCHEMAS", schemas);
    }
    command
        .current_dir(dir)
        .env("AMEIDE_HELM", helm)
        .env("AMEIDE_CACHE_DIR", dir.join(layout::VERIFY_CACHE_DIR))
        .env_remove("AMEIDE_HELM_VERSION")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The primitive `domain-bench-<i>-v0`.
fn primitive(i: usize) -> Result<Primitive> {
    let name = Name::parse(&format!("bench-{i:04}")).map_err(anyhow::Error::msg)?;
    Ok(Primitive {
        kind: Kind::Domain,
        name,
        version: Version::parse("v0").map_err(anyhow::Error::msg)?,
    })
}

fn existing_components(root: &Path) -> Result<usize> {
    Ok(layout::component_files(root)
        .context("listing the component files")?
        .len())
}

/// The synthetic repository, removed on drop unless kept.
struct Synthetic(Scratch);

impl Synthetic {
    fn create(root: &Path, n: usize) -> Result<Synthetic> {
        let path = std::env::temp_dir().join(format!("ameide-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let repo = Synthetic(Scratch::new(path));
        eprintln!(
            "bench [{n}]: writing {n} primitives with smokes into {}",
            repo.0.path().display()
        );
        for top in CONTENT {
            let (from, to) = (root.join(top), repo.0.path().join(top));
            copy_tree(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
        write(repo.0.path(), ".gitignore", "/.cache/\n")?;
        for i in 1..=n {
            let files = templates::files(&primitive(i)?, true, Some("dev"), None);
            for file in files {
                write(repo.0.path(), &file.path, &file.content)?;
            }
        }
        let sh = Shell::new()?;
        sh.change_dir(repo.0.path());
        git::init_with_everything(&sh, "bench: synthetic repository")
            .context("committing the synthetic repository")?;
        Ok(repo)
    }
}

fn write(dir: &Path, path: &str, text: &str) -> Result<()> {
    let target = dir.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))
}

impl Measured {
    fn table(&self) -> String {
        let base = self.baseline.as_secs_f64();
        let row = |what: String, took: Duration| {
            let t = took.as_secs_f64();
            let speed = if t <= base {
                format!("{:.1}x faster", base / t)
            } else {
                format!("{:.1}x slower", t / base)
            };
            format!("| {what} | {t:.2} | {:.3} ({speed}) |\n", t / base)
        };
        let phases = |seconds: &Json| {
            let s = |k: &str| seconds[k].as_f64().unwrap_or_default();
            format!(
                "discovery {:.2}s, rules {:.2}s, renders {:.2}s, validation {:.2}s alongside",
                s("discovery"),
                s("whole_tree_rules"),
                s("renders"),
                s("validation")
            )
        };
        let mut out = format!(
            "\n{} primitives with smokes: {} components, {} Applications (helm {}, {} cores, xtask {} build)\n\n",
            self.primitives,
            self.components,
            self.applications,
            self.helm_version,
            self.cores,
            self.profile
        );
        out.push_str("| measurement | wall seconds | ratio to baseline |\n|---|---:|---|\n");
        out.push_str(&format!(
            "| naive baseline: {} `helm template`, one after another | {base:.2} | 1 |\n",
            self.applications
        ));
        out.push_str(&row(
            format!("verify cold (`--no-cache`; {})", phases(&self.cold_seconds)),
            self.cold,
        ));
        out.push_str(&row(
            format!(
                "verify warm ({} from the cache; {})",
                self.warm_hits,
                phases(&self.warm_seconds)
            ),
            self.warm,
        ));
        out.push_str(&row(
            format!(
                "verify `--changed --base HEAD` after one component changed ({} rendered; {})",
                self.changed_rendered,
                phases(&self.changed_seconds)
            ),
            self.changed,
        ));
        out.push_str(&row(
            format!(
                "preview `--base HEAD` after the same change ({} Applications changed)",
                self.preview_applications
            ),
            self.preview,
        ));
        out.push_str(&format!(
            "| peak memory of verify (VmHWM): cold {} KiB, warm {} KiB | | |\n",
            self.cold_rss_kib, self.warm_rss_kib
        ));
        let total = self.scaffold_total.as_secs_f64();
        let renders = self.scaffold_renders.as_secs_f64();
        let overhead = total - renders;
        out.push_str(&format!(
            "| scaffold-primitive --dry-run, median of {SCAFFOLD_RUNS}: total | {total:.3} | |\n"
        ));
        out.push_str(&format!(
            "| scaffold-primitive: its {} helm renders (wall) | {renders:.3} | |\n",
            self.scaffold_render_count
        ));
        out.push_str(&format!(
            "| scaffold-primitive: overhead above its renders | {overhead:.3} | {:.0}% of its total |\n",
            100.0 * overhead / total.max(f64::EPSILON)
        ));
        out
    }
}

/// Peak memory of verify cold across sizes: flat when it does not grow with the Applications.
fn memory_line(sizes: &[(usize, u64, usize)]) -> String {
    let parts: Vec<String> = sizes
        .iter()
        .map(|(n, kib, apps)| format!("{n} primitives ({apps} Applications) {kib} KiB"))
        .collect();
    let (first, last) = (sizes[0], sizes[sizes.len() - 1]);
    format!(
        "peak memory of verify cold: {}; x{:.2} for x{:.1} the Applications",
        parts.join(", "),
        last.1 as f64 / first.1.max(1) as f64,
        last.2 as f64 / first.2.max(1) as f64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaffolders_timing_line_parses() {
        let line =
            "took 1.234s; its 6 helm renders took 0.456s wall (0.800s of helm time, in parallel)";
        assert_eq!(
            parse_took(&format!("noise\n{line}\n")),
            Some((Duration::from_millis(1234), Duration::from_millis(456), 6))
        );
        assert_eq!(parse_took("took nothing"), None);
    }

    #[test]
    fn synthetic_names_are_valid_primitives() {
        assert_eq!(primitive(1).unwrap().id(), "domain-bench-0001-v0");
        assert_eq!(primitive(9999).unwrap().id(), "domain-bench-9999-v0");
    }
}
