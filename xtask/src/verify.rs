//! `cargo xtask verify`: the pre-merge gate.
//!
//! It computes offline which Applications the ApplicationSets generate (asking [`crate::argo`], the one model of Argo CD), checks every
//! convention of the tree against them ([`rules`]), and renders each Application with helm exactly
//! as Argo CD would ([`render`]), checking the output too. Every problem is printed, then the run
//! fails once: exit 1 when there is any, 0 when the tree is clean.
//!
//! At scale the renders are the cost: they run on every core, are cached by content ([`cache`]),
//! can be limited to what a change affects ([`changed`]) and split across machines (`--shard`).
//! The whole-tree rules are cheap and always run on the whole tree (in shard 1 only).

pub mod cache;
pub mod changed;
pub mod names;
pub mod problem;
pub mod render;
pub mod rules;
pub mod summary;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;
use xshell::Shell;

use crate::argo::{self, Application};
use crate::clusters;
use crate::exit;
use crate::helm;
use crate::tools;

use changed::Reason;
use names::NameList;
use problem::Problem;

#[derive(clap::Args, Debug)]
pub struct Flags {
    /// human (`path:line: rule: message`) or github (workflow annotations); `json` is --json.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print one JSON object instead of text (the spelling of every subcommand).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Render only the Applications of this env (the conventions are still checked everywhere).
    #[arg(long)]
    pub env: Option<String>,
    /// Render only the Applications whose inputs changed since the merge-base of HEAD with
    /// --base (committed, staged, unstaged and untracked files); the conventions are still checked
    /// on the whole tree.
    #[arg(long)]
    pub changed: bool,
    /// The revision --changed compares with [default: origin/main].
    #[arg(long, value_name = "REV", requires = "changed")]
    pub base: Option<String>,
    /// Render only shard I of N (1-based; an Application's shard follows from a hash of its name),
    /// for a CI matrix; the whole-tree rules run in shard 1 only.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Neither read nor write the render cache (.cache/verify, or $AMEIDE_CACHE_DIR).
    #[arg(long)]
    pub no_cache: bool,
    /// Also report cache hits and misses, phase timings and peak memory (VmHWM).
    #[arg(long)]
    pub stats: bool,
}

/// `--shard I/N`: the I-th of N disjoint parts of the Applications, which together are all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(input: &str) -> Result<Shard, String> {
        let usage = "must be I/N with 1 <= I <= N, e.g. 1/2 and 2/2 for a matrix of two jobs";
        let (i, n) = input
            .split_once('/')
            .ok_or_else(|| format!("shard {input:?}: {usage}"))?;
        let parse = |s: &str| s.trim().parse::<usize>().ok();
        match (parse(i), parse(n)) {
            (Some(index), Some(count)) if index >= 1 && index <= count => {
                Ok(Shard { index, count })
            }
            _ => Err(format!("shard {input:?}: {usage}")),
        }
    }

    /// Whether the whole-tree rules run in this shard: only in the first, so that a matrix
    /// reports each of their findings once.
    pub fn runs_whole_tree_rules(&self) -> bool {
        self.index == 1
    }

    /// Whether the Application `name` is in this shard: the first 8 bytes of the sha256 of the
    /// name, modulo N. The shards are disjoint and cover all; which shard an Application is in
    /// depends on its name alone, so adding or removing Applications never moves another one
    /// (a per-shard cache stays warm), and the decision needs no list of all the names, which a
    /// streaming run does not have. The sizes are even on average, not exactly.
    pub fn contains(&self, name: &str) -> bool {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(name.as_bytes());
        let bytes: [u8; 8] = digest[..8].try_into().expect("a sha256 has 32 bytes");
        u64::from_be_bytes(bytes) % self.count as u64 == (self.index - 1) as u64
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Github,
    Json,
}

/// What one run found.
#[derive(Debug)]
pub struct Report {
    pub applications: NameList,
    pub appsets: usize,
    pub rendered: usize,
    pub problems: Vec<Problem>,
    /// Findings that do not fail the gate (`kube-api-deprecated`), printed as warnings.
    pub warnings: Vec<Problem>,
    /// With `--changed`: the change and the Applications it selected, with why.
    pub changed: Option<Selection>,
    /// With `--shard`: the shard and how many Applications there were to split.
    pub shard: Option<(Shard, usize)>,
    /// With `--stats`.
    pub stats: Option<Stats>,
}

#[derive(Debug)]
pub struct Selection {
    pub changes: changed::Changes,
    pub selected: Vec<(String, Vec<Reason>)>,
    /// The Applications there were to select from.
    pub out_of: usize,
}

/// How a run went, for `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    /// `None` with `--no-cache`.
    pub cache: Option<(String, cache::Stats)>,
    /// Renders that ran helm.
    pub helm_renders: usize,
    /// The helm runs discovery made to render the ApplicationSets' templates.
    pub discovery_helm_runs: usize,
    pub discovery: Duration,
    pub rules: Duration,
    pub renders: Duration,
    /// Checking the rendered objects against the API schemas (cached with the renders), on the
    /// thread that collects the renders, overlapping them.
    pub validation: Duration,
    pub total: Duration,
    /// The peak resident memory of this process (`VmHWM`), in KiB; helm's own is not included.
    pub peak_rss_kib: Option<u64>,
}

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let started = Instant::now();
    one_malloc_arena();
    let format = if flags.json {
        Format::Json
    } else {
        flags.format
    };
    let root = sh.current_dir();
    // A symlink out of the repository or a loop: Argo CD takes nothing from it, and rendering
    // would read through the link; nothing else is checked until it is gone.
    let links = crate::repo_fs::problems(&root);
    if links.iter().any(crate::repo_fs::is_fatal) {
        let report = Report {
            applications: NameList::default(),
            appsets: 0,
            rendered: 0,
            problems: links,
            warnings: Vec::new(),
            changed: None,
            shard: None,
            stats: None,
        };
        return print_and_fail_on_problems(format, &report);
    }
    let cache_dir = cache::dir(&root);
    // Git first: a missing base fails before any work.
    let changes = match flags.changed {
        true => {
            let base = flags.base.as_deref().unwrap_or(changed::DEFAULT_BASE);
            let ignore = cache_dir.strip_prefix(&root).ok().and_then(Path::to_str);
            Some(changed::since(sh, base, ignore)?)
        }
        false => None,
    };
    let helm = tools::helm(sh)?;
    let untrusted_cache = match flags.no_cache {
        true => None,
        false => cache::untrusted(sh, &root, &cache_dir),
    };
    let cache = match flags.no_cache || untrusted_cache.is_some() {
        true => None,
        false => Some(cache::Cache::open(cache_dir, &helm::version(sh, &helm)?)),
    };
    let (acceptance, cluster_problems) = rules::accepted::Acceptance::load(sh, &root)?;
    let known_envs: Vec<String> = clusters::appset_envs(&root)
        .map(|envs| envs.into_iter().map(|c| c.env).collect())
        .unwrap_or_default();

    let mut stream = Stream {
        sh,
        helm: &helm,
        root: &root,
        cache: cache.as_ref(),
        acceptance: &acceptance,
        env: flags.env.as_deref(),
        selector: changes
            .as_ref()
            .map(|c| changed::Selector::new(&root, &c.files)),
        shard: flags.shard,
        envs_seen: Vec::new(),
        in_env: 0,
        selected: Vec::new(),
        in_selection: 0,
        applications: NameList::default(),
        rendered: 0,
        helm_renders: 0,
        failed: Vec::new(),
        problems: Vec::new(),
        rules: Duration::ZERO,
        renders: Duration::ZERO,
        validation: Duration::ZERO,
    };
    // The whole-tree rules are fed the Applications as discovery streams them, then let go of
    // them, like the renders: nothing here holds every Application.
    let whole_tree = flags.shard.is_none_or(|s| s.runs_whole_tree_rules());
    let (discovery, whole_tree_problems) = match whole_tree {
        true => {
            // The rules' time: the tree's rules before the stream and their end after it, plus
            // their share of each chunk, which the stream counts.
            let rules_started = Instant::now();
            let mut streaming = Duration::ZERO;
            let (discovery, problems) = rules::with_checker(&root, |checker| {
                let started = Instant::now();
                let discovery = stream.discover(Some(checker));
                streaming = started.elapsed();
                discovery
            })?;
            stream.rules += rules_started.elapsed().saturating_sub(streaming);
            (discovery, problems)
        }
        false => (stream.discover(None)?, Vec::new()),
    };
    crate::interrupt::check("reporting")?;
    if let Some(env) = stream.env {
        if !known_envs.iter().any(|k| k == env) && !stream.envs_seen.iter().any(|e| e == env) {
            let mut known = known_envs.clone();
            known.extend(
                stream
                    .envs_seen
                    .iter()
                    .filter(|e| !known_envs.contains(e))
                    .cloned(),
            );
            return Err(exit::invalid(format!(
                "--env {env:?}: no ApplicationSet generates Applications for it; use one of {}",
                known.join(", ")
            )));
        }
    }

    let Stream {
        applications,
        rendered,
        helm_renders,
        mut failed,
        mut problems,
        selected,
        in_env,
        in_selection,
        rules: rules_time,
        renders: renders_time,
        validation,
        ..
    } = stream;
    problems.extend(untrusted_cache);
    problems.extend(links);
    if whole_tree {
        problems.extend(cluster_problems);
        problems.extend(discovery.problems);
        problems.extend(whole_tree_problems);
    }
    // Renders finish in any order; name the Applications in discovery's.
    failed.sort_by_key(|(order, _, _)| *order);
    problems.extend(problem::group_by_application(
        failed.into_iter().map(|(_, p, name)| (p, name)).collect(),
        problem::Naming::Before,
    ));
    problems.sort();
    problems.dedup();
    let (warnings, problems): (Vec<Problem>, Vec<Problem>) = problems
        .into_iter()
        .partition(|p| rules::accepted::is_warning(p.rule));
    let total = started.elapsed();
    let stats = flags.stats.then(|| Stats {
        helm_renders,
        discovery_helm_runs: argo::template_helm_runs(),
        cache: cache
            .as_ref()
            .map(|c| (c.dir().display().to_string(), c.stats())),
        discovery: total.saturating_sub(rules_time + renders_time),
        rules: rules_time,
        renders: renders_time,
        validation,
        total,
        peak_rss_kib: peak_rss_kib(),
    });
    let report = Report {
        applications,
        appsets: discovery.appsets.len(),
        rendered,
        problems,
        warnings,
        changed: changes.map(|changes| Selection {
            changes,
            selected,
            out_of: in_env,
        }),
        shard: flags.shard.map(|shard| (shard, in_selection)),
        stats,
    };

    summary::write(
        &report,
        &summary::Timings {
            discovery: total.saturating_sub(rules_time + renders_time),
            rules: rules_time,
            renders: renders_time,
            total,
        },
    );

    print_and_fail_on_problems(format, &report)
}

/// Prints the report in `format` and fails once when it holds problems.
fn print_and_fail_on_problems(format: Format, report: &Report) -> Result<()> {
    match format {
        Format::Human => print!("{}", human(report)),
        Format::Github => print!("{}", github(report)),
        Format::Json => println!("{}", json(report)),
    }
    if let (Some(stats), false) = (&report.stats, format == Format::Json) {
        eprintln!("{}", stats_line(stats, report.rendered));
    }
    match (report.problems.len(), format) {
        (0, _) => Ok(()),
        (_, Format::Json) => Err(exit::Silenced(1).into()),
        (n, _) => anyhow::bail!(
            "verify found {}; fix {} and run cargo xtask verify again",
            count(n, "problem"),
            if n == 1 { "it" } else { "them" }
        ),
    }
}

/// One verify run's pipeline over discovery's stream of Applications: each chunk is checked by
/// the whole-tree rules, narrowed by `--env`, `--changed` and `--shard`, rendered and checked
/// again, then let go. Only the names of the rendered Applications, the selection's reasons and
/// the problems outlive a chunk.
struct Stream<'a> {
    sh: &'a Shell,
    helm: &'a Path,
    root: &'a Path,
    cache: Option<&'a cache::Cache>,
    acceptance: &'a rules::accepted::Acceptance,
    env: Option<&'a str>,
    selector: Option<changed::Selector<'a>>,
    shard: Option<Shard>,
    /// The envs of the Applications, to name them when `--env` names none.
    envs_seen: Vec<String>,
    /// Applications in `--env` (all of them without it): what `--changed` selects from.
    in_env: usize,
    selected: Vec<(String, Vec<Reason>)>,
    /// Applications `--changed` selected (all in env without it): what `--shard` splits.
    in_selection: usize,
    /// The Applications rendered, in discovery's order.
    applications: NameList,
    rendered: usize,
    helm_renders: usize,
    /// Failed renders: discovery's position, the problem and the Application.
    failed: Vec<(usize, Problem, String)>,
    problems: Vec<Problem>,
    /// Time in the whole-tree rules and in the renders, for `--stats`.
    rules: Duration,
    renders: Duration,
    validation: Duration,
}

impl Stream<'_> {
    /// Runs discovery, feeding each chunk to the rules and, narrowed, to a render pool that
    /// renders while discovery makes the next chunk.
    fn discover(&mut self, mut checker: Option<&mut rules::Checker>) -> Result<argo::Discovery> {
        let (sh, helm, root, cache) = (self.sh, self.helm, self.root, self.cache);
        let mut results = Rendered {
            acceptance: Some((self.acceptance, cache)),
            ..Rendered::default()
        };
        let collect = |order, app: &Application, result| results.add(order, app, result);
        let (discovery, pooled) = render::pool(sh, helm, root, cache, collect, |submit| {
            argo::discover_each(sh, helm, root, cache, &mut |chunk| {
                if let Some(checker) = checker.as_deref_mut() {
                    let started = Instant::now();
                    checker.applications(&chunk);
                    self.rules += started.elapsed();
                }
                let first = self.applications.count();
                let apps = self.narrow(chunk);
                submit.apps(first, apps);
                crate::interrupt::check("rendering")
            })
        });
        self.helm_renders += pooled.helm_runs;
        self.renders += pooled.renders;
        self.rendered += results.count;
        self.validation += results.validation;
        self.problems.extend(results.problems);
        // Renders finish in any order; name the Applications in discovery's.
        results.accepted.sort_by_key(|(order, _, _)| *order);
        self.problems.extend(problem::group_by_application(
            results
                .accepted
                .into_iter()
                .map(|(_, p, name)| (p, name))
                .collect(),
            problem::Naming::After,
        ));
        // Unused project permissions are known only when every Application rendered.
        let every = self.env.is_none()
            && self.selector.is_none()
            && self.shard.is_none()
            && results.failed.is_empty();
        self.problems
            .extend(results.owners.problems(self.acceptance, every));
        self.failed.extend(results.failed);
        discovery
    }

    /// The Applications of a chunk that `--env`, `--changed` and `--shard` keep, their names
    /// noted for the report.
    fn narrow(&mut self, mut apps: Vec<Application>) -> Vec<Application> {
        for app in &apps {
            // A cluster-scoped Application belongs to no env.
            if !app.env.is_empty() && !self.envs_seen.contains(&app.env) {
                self.envs_seen.push(app.env.clone());
            }
        }
        if let Some(env) = self.env {
            apps.retain(|a| a.env == env);
        }
        self.in_env += apps.len();
        if let Some(selector) = self.selector.as_mut() {
            let selected = &mut self.selected;
            apps.retain(|app| match selector.reasons(app) {
                Some(reasons) => {
                    selected.push((app.name.clone(), reasons));
                    true
                }
                None => false,
            });
        }
        self.in_selection += apps.len();
        if let Some(shard) = self.shard {
            apps.retain(|app| shard.contains(&app.name));
        }
        for app in &apps {
            self.applications.push(&app.name);
        }
        apps
    }
}

/// What the renders found, gathered as they finish.
#[derive(Default)]
struct Rendered<'a> {
    count: usize,
    problems: Vec<Problem>,
    /// What the API server and Argo CD would refuse of the rendered objects, per Application.
    acceptance: Option<(&'a rules::accepted::Acceptance, Option<&'a cache::Cache>)>,
    /// Discovery's position, the problem and the Application.
    accepted: Vec<(usize, Problem, String)>,
    owners: rules::accepted::Owners,
    validation: Duration,
    /// Failed renders: discovery's position, the problem and the Application.
    failed: Vec<(usize, Problem, String)>,
}

impl Rendered<'_> {
    fn add(&mut self, order: usize, app: &Application, result: Result<String, Problem>) {
        match result {
            Ok(manifests) => {
                self.count += 1;
                self.problems
                    .extend(conventions::check_rendered(app, &manifests));
                if let Some((acceptance, cache)) = self.acceptance {
                    let started = Instant::now();
                    let checked = acceptance.check(app, &manifests, cache);
                    self.accepted.extend(
                        checked
                            .problems
                            .into_iter()
                            .map(|p| (order, p, app.name.clone())),
                    );
                    self.owners.add(app, checked.objects);
                    self.validation += started.elapsed();
                }
            }
            Err(problem) => self.failed.push((order, problem, app.name.clone())),
        }
    }
}

/// Makes glibc's malloc use one arena for every thread. By default each thread that allocates
/// may get an arena of its own (up to 8 per core), and memory freed in one stays resident there:
/// with the render workers of chunk after chunk, that alone raised the peak by a quarter at 6,000
/// Applications. The threads spend their time waiting for helm, so sharing one arena costs
/// nothing measurable.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// `M_ARENA_MAX` of glibc's malloc.h.
        const M_ARENA_MAX: std::ffi::c_int = -8;
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt only sets a tunable of glibc's allocator; it is called before verify
        // starts its threads, and a refusal (0) leaves the default in place.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }
}

/// The peak resident set size of this process, from `VmHWM` in /proc/self/status (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The Applications of `env` (all of them without one); an env no cluster file knows is refused.
pub fn select_env(
    root: &Path,
    apps: &[Application],
    env: Option<&str>,
) -> Result<Vec<Application>> {
    let Some(env) = env else {
        return Ok(apps.to_vec());
    };
    let mut known: Vec<String> = clusters::appset_envs(root)
        .map(|envs| envs.into_iter().map(|c| c.env).collect())
        .unwrap_or_default();
    for app in apps {
        if !known.contains(&app.env) && !app.env.is_empty() {
            known.push(app.env.clone());
        }
    }
    if !known.iter().any(|k| k == env) {
        return Err(exit::invalid(format!(
            "--env {env:?}: no ApplicationSet generates Applications for it; use one of {}",
            known.join(", ")
        )));
    }
    Ok(apps.iter().filter(|a| a.env == env).cloned().collect())
}

fn summary(report: &Report) -> String {
    let mut line = format!(
        "verify: {} from {}, {} rendered, {}",
        count(report.applications.count(), "Application"),
        count(report.appsets, "ApplicationSet"),
        report.rendered,
        count(report.problems.len(), "problem")
    );
    if !report.warnings.is_empty() {
        let _ = write!(line, ", {}", count(report.warnings.len(), "warning"));
    }
    if let Some((shard, out_of)) = &report.shard {
        let rules = match shard.runs_whole_tree_rules() {
            true => "the whole-tree rules ran here",
            false => "the whole-tree rules run in shard 1",
        };
        let _ = write!(line, " (shard {shard} of {out_of} Applications; {rules})");
    }
    line
}

/// What `--changed` selected, as one line, before the summary.
fn selection_line(report: &Report) -> Option<String> {
    let s = report.changed.as_ref()?;
    Some(changed::summary(&s.changes, &s.selected, s.out_of))
}

fn stats_line(stats: &Stats, rendered: usize) -> String {
    let cache = match &stats.cache {
        Some((dir, c)) => format!(
            "{} from the cache, {} rendered by helm (cache {dir}; discovery: {} parameter sets from the cache, {} rendered in {} helm runs)",
            c.hits, c.misses, c.discovery_hits, c.discovery_misses, stats.discovery_helm_runs
        ),
        None => format!("{} rendered by helm (cache off)", stats.helm_renders),
    };
    let kib = |k: Option<u64>| k.map_or("unknown".to_owned(), |k| format!("{k} KiB"));
    format!(
        "stats: {rendered} renders: {cache}; {:.2}s (discovery {:.2}s, whole-tree rules {:.2}s, renders {:.2}s, validation {:.2}s alongside); peak memory {}",
        stats.total.as_secs_f64(),
        stats.discovery.as_secs_f64(),
        stats.rules.as_secs_f64(),
        stats.renders.as_secs_f64(),
        stats.validation.as_secs_f64(),
        kib(stats.peak_rss_kib),
    )
}

fn human(report: &Report) -> String {
    let mut out = String::new();
    for problem in &report.problems {
        let _ = writeln!(out, "{problem}");
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if let Some(line) = selection_line(report) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// GitHub workflow annotations, one per problem up to GitHub's limit, then the summary.
fn github(report: &Report) -> String {
    let mut out = summary::annotations("error", &report.problems);
    out.push_str(&summary::annotations("warning", &report.warnings));
    if let Some(line) = selection_line(report) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// The JSON report of a run that ended before it had a report (a bad flag, no repository, helm
/// missing): the report's shape, empty, with what went wrong in `errors`.
pub fn failure_json(err: &anyhow::Error) -> serde_json::Value {
    json!({
        "applications": [],
        "problems": [],
        "rendered": 0,
        "ok": false,
        "errors": [format!("{err:#}")],
    })
}

/// The report as JSON. The keys added by `--changed`, `--shard` and `--stats` appear only with
/// them; without `--stats` the same tree always gives the same bytes.
fn json(report: &Report) -> serde_json::Value {
    let mut out = json!({
        "applications": report.applications.iter().collect::<Vec<_>>(),
        "problems": report.problems.iter().map(|p| json!({
            "path": p.path,
            "line": p.line,
            "rule": p.rule,
            "message": p.message,
        })).collect::<Vec<_>>(),
        "rendered": report.rendered,
        "ok": report.problems.is_empty(),
    });
    if !report.warnings.is_empty() {
        out["warnings"] = report
            .warnings
            .iter()
            .map(|p| json!({"path": p.path, "line": p.line, "rule": p.rule, "message": p.message}))
            .collect();
    }
    if let Some(s) = &report.changed {
        out["changed"] = json!({
            "base": s.changes.base,
            "merge_base": s.changes.merge_base,
            "files": s.changes.files,
            "out_of": s.out_of,
            "selected": s.selected.iter().map(|(name, reasons)| json!({
                "application": name,
                "reasons": reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
    }
    if let Some((shard, out_of)) = &report.shard {
        out["shard"] = json!({
            "index": shard.index,
            "count": shard.count,
            "out_of": out_of,
            "whole_tree_rules": shard.runs_whole_tree_rules(),
        });
    }
    if let Some(stats) = &report.stats {
        let (dir, cache) = match &stats.cache {
            Some((dir, c)) => (json!(dir), *c),
            None => (serde_json::Value::Null, cache::Stats::default()),
        };
        out["cache_dir"] = dir;
        out["cache_hits"] = json!(cache.hits);
        out["cache_misses"] = json!(cache.misses);
        out["discovery_cache_hits"] = json!(cache.discovery_hits);
        out["discovery_cache_misses"] = json!(cache.discovery_misses);
        out["cache_write_failures"] = json!(cache.write_failures);
        out["helm_renders"] = json!(stats.helm_renders);
        out["discovery_helm_runs"] = json!(stats.discovery_helm_runs);
        out["seconds"] = json!({
            "discovery": stats.discovery.as_secs_f64(),
            "whole_tree_rules": stats.rules.as_secs_f64(),
            "renders": stats.renders.as_secs_f64(),
            "validation": stats.validation.as_secs_f64(),
            "total": stats.total.as_secs_f64(),
        });
        out["peak_rss_kib"] = json!(stats.peak_rss_kib);
    }
    out
}

/// The escaping of workflow command data (GitHub's `escapeData`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of workflow command properties (GitHub's `escapeProperty`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The convention rules of `rules.rs`, behind one seam.
mod conventions {
    use std::path::Path;

    use super::{Application, Problem};

    pub fn check_rendered(app: &Application, manifests: &str) -> Vec<Problem> {
        super::rules::check_rendered(app, manifests)
    }

    /// The values helm renders `app` with: the chart's defaults, then the existing value files.
    pub fn effective_values(root: &Path, app: &Application) -> crate::yaml::Value {
        super::rules::effective_values(root, app)
    }
}

pub use conventions::effective_values;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(problems: Vec<Problem>) -> Report {
        Report {
            applications: ["dev-a", "staging-a"].into_iter().collect(),
            appsets: 1,
            rendered: 2,
            problems,
            warnings: Vec::new(),
            changed: None,
            shard: None,
            stats: None,
        }
    }

    #[test]
    fn human_output_lists_problems_then_one_summary_line() {
        let r = report(vec![Problem::new("a/b.yaml", 3, "rule-x", "bad: fix it")]);
        assert_eq!(
            human(&r),
            "a/b.yaml:3: rule-x: bad: fix it\nverify: 2 Applications from 1 ApplicationSet, 2 rendered, 1 problem\n"
        );
        assert_eq!(
            human(&report(Vec::new())),
            "verify: 2 Applications from 1 ApplicationSet, 2 rendered, 0 problems\n"
        );
    }

    #[test]
    fn github_annotations_escape_properties_and_data() {
        let r = report(vec![Problem::new(
            "a,b:c.yaml",
            0,
            "rule-x",
            "50% off\nsecond line",
        )]);
        assert_eq!(
            github(&r).lines().next().unwrap(),
            "::error file=a%2Cb%3Ac.yaml,line=1,title=rule-x::50%25 off%0Asecond line"
        );
    }

    #[test]
    fn shards_parse_and_partition_by_name() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/2", "3/2", "x", "1/0", "1", "1/x", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let shard = |s: &str| Shard::parse(s).unwrap();
        // The documented rule, computed independently (Python's hashlib): the first 8 bytes of
        // sha256(name), big-endian, modulo N, is the shard's index less one.
        for (name, of2, of3, of5) in [
            ("dev-domain-catalog-v0", 2, 2, 4),
            ("staging-default-deny", 2, 2, 4),
            ("production-namespace-policy", 1, 1, 4),
            ("dev-a", 2, 3, 3),
        ] {
            for (n, expected) in [(2, of2), (3, of3), (5, of5)] {
                let found: Vec<usize> = (1..=n)
                    .filter(|i| shard(&format!("{i}/{n}")).contains(name))
                    .collect();
                assert_eq!(found, [expected], "{name} in {n} shards");
            }
        }
        // Disjoint, covering, and about even over many names.
        let names: Vec<String> = (0..3000).map(|i| format!("dev-component-{i}")).collect();
        for n in 1..=4 {
            let shards: Vec<Shard> = (1..=n).map(|i| shard(&format!("{i}/{n}"))).collect();
            for name in &names {
                let holding = shards.iter().filter(|s| s.contains(name)).count();
                assert_eq!(holding, 1, "{name} in {n} shards");
            }
            let sizes: Vec<usize> = (1..=n)
                .map(|i| {
                    let s = shard(&format!("{i}/{n}"));
                    names.iter().filter(|name| s.contains(name)).count()
                })
                .collect();
            assert_eq!(sizes.iter().sum::<usize>(), names.len(), "{n} shards");
            for size in &sizes {
                let even = names.len() / n;
                assert!(size.abs_diff(even) < even / 10, "{n} shards: {sizes:?}");
            }
        }
    }

    #[test]
    fn json_output_has_the_documented_shape() {
        let r = report(vec![Problem::new("p.yaml", 2, "r", "m")]);
        assert_eq!(
            json(&r),
            json!({
                "applications": ["dev-a", "staging-a"],
                "problems": [{"path": "p.yaml", "line": 2, "rule": "r", "message": "m"}],
                "rendered": 2,
                "ok": false,
            })
        );
    }
}
