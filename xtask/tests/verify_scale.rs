//! `verify` at scale, end to end with the built binary and real helm in temporary copies of the
//! repository content: the render cache (used, bypassed, invalidated, repaired), `--changed`
//! (exactly the affected Applications, the whole-tree rules still everywhere), and `--shard`
//! (disjoint, covering, stable). Nothing here measures time: the cache is proven by its counts and
//! its entries, never by speed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use support::{code, copy_content, tool, TempDir};

const APPSET: &str = "argocd/applicationsets/ameide.yaml";
const CLUSTER_FILE: &str = "config/clusters/azure.yaml";
const HELM_TEST_JOBS: &str = "sources/charts/foundation/helm-test-jobs";
const SHARED_CATALOG: &str = "sources/values/_shared/apps/domain-catalog-v0.yaml";
const DEV_CATALOG: &str = "sources/values/env/dev/apps/domain-catalog-v0.yaml";
/// The first word of a cache entry's header (see `verify/cache.rs`).
const ENTRY_FORMAT: &str = "ameide-verify-render-cache/1";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

/// One Application as `apps --json` lists it.
#[derive(Clone, Debug)]
struct App {
    name: String,
    env: String,
    chart: String,
    component_file: String,
    value_files: Vec<String>,
}

impl Repo {
    fn new() -> Repo {
        let dir = TempDir::new("verify-scale");
        copy_content(dir.path());
        std::fs::write(dir.path().join(".gitignore"), "/.cache/\n").unwrap();
        Repo {
            dir,
            helm: tool("helm3"),
        }
    }

    /// A copy committed as `main` in a fresh Git repository.
    fn committed() -> Repo {
        let repo = Repo::new();
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.commit("base");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        support::git(self.path(), args)
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env("AMEIDE_KUBE_SCHEMAS", support::kube_schemas())
            .env_remove("AMEIDE_HELM_VERSION")
            .env_remove("AMEIDE_CACHE_DIR")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("running xtask")
    }

    fn json(&self, args: &[&str]) -> Json {
        let output = self.run(args);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: no JSON on stdout ({e}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    /// `verify --json --stats` plus `extra`.
    fn stats(&self, extra: &[&str]) -> Json {
        let mut args = vec!["verify", "--json", "--stats"];
        args.extend(extra);
        self.json(&args)
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        let target = self.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }

    /// Appends a YAML comment: new bytes, same values.
    fn touch(&self, path: &str) {
        let text = self.read(path);
        self.write(path, &format!("{text}# changed by a test\n"));
    }

    fn apps(&self) -> Vec<App> {
        let listing = self.json(&["apps", "--json"]);
        listing["applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| App {
                name: a["name"].as_str().unwrap().to_owned(),
                env: a["env"].as_str().unwrap().to_owned(),
                chart: a["chart"].as_str().unwrap().to_owned(),
                component_file: a["componentFile"].as_str().unwrap().to_owned(),
                value_files: a["valueFiles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["path"].as_str().unwrap().to_owned())
                    .collect(),
            })
            .collect()
    }

    fn names(&self, keep: impl Fn(&App) -> bool) -> BTreeSet<String> {
        self.apps()
            .into_iter()
            .filter(|a| keep(a))
            .map(|a| a.name)
            .collect()
    }

    fn cache_dir(&self) -> PathBuf {
        self.path().join(".cache/verify")
    }

    /// Every file of the cache, path to bytes.
    fn cache_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![self.cache_dir()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.insert(path.clone(), std::fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    /// The cache entries holding an Application's manifests (discovery's, one per parameter set,
    /// live under discovery/).
    fn render_entries(&self) -> Vec<PathBuf> {
        let discovery = self.cache_dir().join("discovery");
        // The acceptance checks' entries sit beside the renders, under accepted/.
        let accepted = self.cache_dir().join("accepted");
        self.cache_files()
            .into_keys()
            .filter(|path| !path.starts_with(&discovery) && !path.starts_with(&accepted))
            .collect()
    }

    /// Adds `count` primitive components `domain-load0000-v0`, ... copied from the catalog
    /// primitive (without its header, so that drift leaves them alone); returns that copy.
    fn add_load_components(&self, count: usize) -> String {
        let catalog =
            "environments/_shared/components/apps/primitives/domain-catalog-v0/component.yaml";
        let body: String = self
            .read(catalog)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        for i in 0..count {
            let name = format!("domain-load{i:04}-v0");
            self.write(
                &format!("environments/_shared/components/apps/primitives/{name}/component.yaml"),
                &body.replace("domain-catalog-v0", &name),
            );
        }
        body
    }

    /// Discovery's cache entries.
    fn discovery_entries(&self) -> Vec<PathBuf> {
        let discovery = self.cache_dir().join("discovery");
        self.cache_files()
            .into_keys()
            .filter(|path| path.starts_with(&discovery))
            .collect()
    }
}

fn count(report: &Json, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {report:#}"))
}

fn applications(report: &Json) -> BTreeSet<String> {
    report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

fn problems(report: &Json, rule: &str) -> Vec<Json> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == rule)
        .cloned()
        .collect()
}

/// A valid entry for `key` (its file name) holding `body`, in the cache's own format.
fn entry(key: &str, body: &str) -> Vec<u8> {
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{ENTRY_FORMAT} {key} {} {digest}\n{body}", body.len()).into_bytes()
}

/// An entry's key: its fan-out folder and file name.
fn key_of(path: &Path) -> String {
    let fan = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    format!("{fan}{}", path.file_name().unwrap().to_string_lossy())
}

#[test]
fn the_second_run_reads_every_render_from_the_cache() {
    let repo = Repo::new();
    let first = repo.stats(&[]);
    assert_eq!(first["ok"], Json::Bool(true), "{first:#}");
    let rendered = count(&first, "rendered");
    assert!(rendered > 0);
    assert_eq!(count(&first, "cache_misses"), rendered);
    assert_eq!(count(&first, "cache_hits"), 0);
    assert_eq!(count(&first, "helm_renders"), rendered);
    assert_eq!(repo.render_entries().len() as u64, rendered);
    assert!(count(&first, "discovery_cache_misses") > 0);
    // One discovery entry per parameter set.
    assert_eq!(
        repo.discovery_entries().len() as u64,
        count(&first, "discovery_cache_misses")
    );

    let second = repo.stats(&[]);
    assert_eq!(count(&second, "cache_hits"), rendered);
    assert_eq!(count(&second, "cache_misses"), 0);
    assert_eq!(count(&second, "helm_renders"), 0);
    assert_eq!(count(&second, "discovery_cache_misses"), 0);
    assert_eq!(
        count(&second, "discovery_cache_hits"),
        count(&first, "discovery_cache_misses")
    );
    assert!(count(&second, "peak_rss_kib") > 0);
    assert_eq!(second["problems"], first["problems"]);
    assert_eq!(second["applications"], first["applications"]);

    // Without --stats the report is the same bytes, cold or warm.
    let plain = |repo: &Repo| repo.run(&["verify", "--json"]).stdout;
    let warm = plain(&repo);
    assert!(!String::from_utf8_lossy(&warm).contains("peak_rss_kib"));
    let cold = plain(&Repo::new());
    assert_eq!(
        String::from_utf8_lossy(&warm),
        String::from_utf8_lossy(&cold)
    );
}

#[test]
fn no_cache_neither_reads_nor_writes_the_cache() {
    let repo = Repo::new();
    let off = repo.stats(&["--no-cache"]);
    assert_eq!(off["ok"], Json::Bool(true), "{off:#}");
    assert!(!repo.cache_dir().exists(), "--no-cache created the cache");
    assert_eq!(count(&off, "cache_hits") + count(&off, "cache_misses"), 0);
    assert_eq!(count(&off, "helm_renders"), count(&off, "rendered"));

    // Fill it, then make every render entry claim a Secret with data: a run that reads the cache
    // reports them, one with --no-cache does not, and leaves the forged entries as they are.
    repo.stats(&[]);
    let forged = "---\n# Source: forged/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: forged\ndata:\n  config: aGVsbG8=\n";
    for path in repo.render_entries() {
        std::fs::write(&path, entry(&key_of(&path), forged)).unwrap();
    }
    let before = repo.cache_files();
    let off = repo.stats(&["--no-cache"]);
    assert_eq!(off["ok"], Json::Bool(true), "{off:#}");
    assert_eq!(repo.cache_files(), before, "--no-cache wrote to the cache");
    let on = repo.stats(&[]);
    assert_eq!(count(&on, "cache_hits"), count(&on, "rendered"));
    assert!(!problems(&on, "secret-data").is_empty(), "{on:#}");
}

/// What to change, how, and how many renders that must invalidate.
type Case<'r> = (&'static str, Box<dyn Fn() + 'r>, usize);

#[test]
fn each_input_invalidates_exactly_the_renders_that_read_it() {
    let repo = Repo::new();
    let total = count(&repo.stats(&[]), "rendered");
    let apps = repo.apps();
    let reading = |file: &str| {
        apps.iter()
            .filter(|a| a.value_files.iter().any(|f| f == file))
            .count()
    };
    let in_env = |env: &str| apps.iter().filter(|a| a.env == env).count();
    let on_chart = |chart: &str| apps.iter().filter(|a| a.chart == chart).count();

    let cases: Vec<Case> = vec![
        ("nothing", Box::new(|| {}), 0),
        (
            "one primitive's shared values",
            Box::new(|| repo.touch(SHARED_CATALOG)),
            reading(SHARED_CATALOG),
        ),
        (
            "one env overlay",
            Box::new(|| repo.touch(DEV_CATALOG)),
            reading(DEV_CATALOG),
        ),
        (
            "env globals",
            Box::new(|| repo.touch("sources/values/env/staging/globals.yaml")),
            in_env("staging"),
        ),
        (
            "a file of a chart",
            Box::new(|| repo.write(&format!("{HELM_TEST_JOBS}/README.md"), "notes\n")),
            on_chart(HELM_TEST_JOBS),
        ),
        (
            "a comment in the cluster file (no render reads its bytes)",
            Box::new(|| repo.touch(CLUSTER_FILE)),
            0,
        ),
        (
            "an env's namespace in the cluster file",
            Box::new(|| {
                let text = repo.read(CLUSTER_FILE);
                repo.write(
                    CLUSTER_FILE,
                    &text.replace("namespace: ameide-prod\n", "namespace: ameide-production\n"),
                );
            }),
            in_env("production"),
        ),
    ];
    for (what, change, expected) in cases {
        assert!(expected <= total as usize);
        change();
        let report = repo.stats(&[]);
        assert_eq!(
            (count(&report, "cache_misses"), count(&report, "cache_hits")),
            (expected as u64, total - expected as u64),
            "after changing {what}"
        );
    }
}

#[test]
fn a_damaged_entry_is_a_miss_and_is_repaired() {
    let repo = Repo::new();
    let total = count(&repo.stats(&[]), "rendered");
    let entries = repo.render_entries();
    assert!(entries.len() >= 3);
    // Truncated, one byte flipped, emptied.
    let bytes = std::fs::read(&entries[0]).unwrap();
    std::fs::write(&entries[0], &bytes[..bytes.len() / 2]).unwrap();
    let mut bytes = std::fs::read(&entries[1]).unwrap();
    *bytes.last_mut().unwrap() ^= 0x20;
    std::fs::write(&entries[1], bytes).unwrap();
    std::fs::write(&entries[2], b"").unwrap();

    let report = repo.stats(&[]);
    assert_eq!(report["ok"], Json::Bool(true), "{report:#}");
    assert_eq!(count(&report, "cache_misses"), 3);
    assert_eq!(count(&report, "cache_hits"), total - 3);
    let report = repo.stats(&[]);
    assert_eq!(count(&report, "cache_misses"), 0, "not repaired");
    assert_eq!(repo.render_entries().len(), entries.len());
}

#[test]
fn a_render_from_the_cache_still_reports_its_problems() {
    let repo = Repo::new();
    repo.write(
        &format!("{HELM_TEST_JOBS}/templates/planted-secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-planted\ndata:\n  config: aGVsbG8=\n",
    );
    let cold = repo.stats(&[]);
    let warm = repo.stats(&[]);
    assert_eq!(count(&warm, "cache_misses"), 0);
    assert_eq!(count(&warm, "cache_hits"), count(&warm, "rendered"));
    let found = problems(&cold, "secret-data");
    assert!(!found.is_empty(), "{cold:#}");
    assert!(found.iter().all(|p| p["path"]
        .as_str()
        .unwrap()
        .ends_with("templates/planted-secret.yaml")));
    assert_eq!(problems(&warm, "secret-data"), found);
    assert_eq!(warm["problems"], cold["problems"]);
}

/// Runs `verify --changed --base main` after `change` on a fresh committed copy, and returns the
/// selected Applications and the expected ones.
fn changed(
    change: impl Fn(&Repo),
    expected: impl Fn(&App) -> bool,
) -> (BTreeSet<String>, BTreeSet<String>, Json) {
    let repo = Repo::committed();
    change(&repo);
    let report = repo.json(&["verify", "--json", "--changed", "--base", "main"]);
    let selected: BTreeSet<String> = report["changed"]["selected"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|s| s["application"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(applications(&report), selected, "rendered = selected");
    assert_eq!(count(&report, "rendered"), selected.len() as u64);
    (selected, repo.names(expected), report)
}

#[test]
fn changed_selects_the_apps_of_a_primitives_shared_values_in_every_env() {
    let (selected, expected, report) = changed(
        |r| r.touch(SHARED_CATALOG),
        |a| a.value_files.iter().any(|f| f == SHARED_CATALOG),
    );
    assert_eq!(selected.len(), 3, "{report:#}");
    assert_eq!(selected, expected);
    assert_eq!(
        report["changed"]["files"],
        serde_json::json!([SHARED_CATALOG])
    );
    assert_eq!(
        report["changed"]["selected"][0]["reasons"],
        serde_json::json!([format!("value file {SHARED_CATALOG}")])
    );
}

#[test]
fn changed_selects_one_app_for_one_env_overlay() {
    let (selected, expected, _) = changed(
        |r| r.touch(DEV_CATALOG),
        |a| a.name == "dev-domain-catalog-v0",
    );
    assert_eq!(selected, expected);
    assert_eq!(selected.len(), 1);
}

#[test]
fn changed_selects_every_app_of_an_env_for_its_globals() {
    let (selected, expected, _) = changed(
        |r| r.touch("sources/values/env/staging/globals.yaml"),
        |a| a.env == "staging",
    );
    assert_eq!(selected, expected);
}

#[test]
fn changed_selects_every_app_of_a_chart_for_a_template() {
    let template = format!("{HELM_TEST_JOBS}/templates/jobs.yaml");
    let (selected, expected, _) = changed(
        |r| {
            let text = r.read(&template);
            r.write(&template, &format!("{text}{{{{- /* changed */ -}}}}\n"));
        },
        |a| a.chart == HELM_TEST_JOBS,
    );
    assert!(!selected.is_empty());
    assert_eq!(selected, expected);
}

#[test]
fn changed_selects_everything_for_the_applicationset_and_the_cluster_file() {
    // The env-scoped ApplicationSet generates every Application but the cluster-scoped one (of
    // no env); the cluster file declares the Kubernetes version of those too.
    let (selected, expected, _) = changed(|r| r.touch(APPSET), |a| !a.env.is_empty());
    assert_eq!(selected, expected, "{APPSET}");
    let (selected, expected, _) = changed(|r| r.touch(CLUSTER_FILE), |_| true);
    assert_eq!(selected, expected, "{CLUSTER_FILE}");
}

#[test]
fn changed_counts_a_deleted_file() {
    let (selected, expected, report) = changed(
        |r| std::fs::remove_file(r.path().join(DEV_CATALOG)).unwrap(),
        |a| a.name == "dev-domain-catalog-v0",
    );
    assert_eq!(selected, expected);
    assert_eq!(report["changed"]["files"], serde_json::json!([DEV_CATALOG]));
}

#[test]
fn changed_selects_an_untracked_new_component() {
    let (selected, expected, report) = changed(
        |r| {
            let out = r.run(&[
                "scaffold-primitive",
                "--kind",
                "domain",
                "--name",
                "fresh",
                "--version",
                "v0",
            ]);
            assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        },
        |a| a.component_file.contains("/domain-fresh-v0/"),
    );
    assert_eq!(selected.len(), 3, "{report:#}");
    assert_eq!(selected, expected);
    assert_eq!(report["ok"], Json::Bool(true), "{report:#}");
}

#[test]
fn changed_compares_with_the_merge_base_and_sees_commits_staged_and_unstaged_files() {
    let repo = Repo::committed();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.touch(DEV_CATALOG);
    repo.commit("feature: committed");
    // main moves on after the branch point: its change is not the branch's.
    repo.git(&["checkout", "--quiet", "main"]);
    repo.touch(SHARED_CATALOG);
    repo.commit("main moves on");
    repo.git(&["checkout", "--quiet", "feature"]);
    let staged = "sources/values/env/staging/apps/domain-catalog-v0.yaml";
    repo.write(staged, "enabled: false\n");
    repo.git(&["add", "--all"]);
    let unstaged = "sources/values/env/production/globals.yaml";
    repo.touch(unstaged);

    let report = repo.json(&["verify", "--json", "--changed", "--base", "main"]);
    assert_eq!(report["ok"], Json::Bool(true), "{report:#}");
    assert_eq!(
        report["changed"]["files"],
        serde_json::json!([DEV_CATALOG, unstaged, staged])
    );
    let expected = repo.names(|a| {
        a.env == "production"
            || ["dev-domain-catalog-v0", "staging-domain-catalog-v0"].contains(&a.name.as_str())
    });
    assert_eq!(applications(&report), expected);

    let human = repo.run(&["verify", "--changed", "--base", "main"]);
    let out = String::from_utf8_lossy(&human.stdout);
    let line = out.lines().find(|l| l.starts_with("changed: ")).unwrap();
    assert!(line.contains("3 files since"), "{line}");
    assert!(
        line.contains(&format!("select {} of", expected.len())),
        "{line}"
    );
    assert!(
        line.contains(&format!("({} by value file)", expected.len())),
        "{line}"
    );
}

#[test]
fn whole_tree_rules_still_run_everywhere_under_changed() {
    let repo = Repo::new();
    // A fault committed in the base, in a file the change does not touch.
    repo.write(
        "sources/values/_shared/apps/domain-catalgo-v0.yaml",
        "enabled: false\n",
    );
    repo.git(&["init", "--quiet", "--initial-branch=main"]);
    repo.commit("base with an orphan");
    repo.touch(DEV_CATALOG);
    let output = repo.run(&["verify", "--json", "--changed", "--base", "main"]);
    assert_eq!(code(&output), 1);
    let report: Json = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(count(&report, "rendered"), 1);
    let orphans = problems(&report, "orphan-values");
    assert_eq!(orphans.len(), 1, "{report:#}");
    assert_eq!(
        orphans[0]["path"],
        "sources/values/_shared/apps/domain-catalgo-v0.yaml"
    );
}

#[test]
fn changed_without_the_base_says_to_name_one() {
    let repo = Repo::committed();
    let output = repo.run(&["verify", "--changed"]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"origin/main\""), "{stderr}");
    assert!(stderr.contains("--base"), "{stderr}");
    // --base means nothing without --changed.
    assert_eq!(code(&repo.run(&["verify", "--base", "main"])), 2);
}

#[test]
fn shards_are_disjoint_cover_every_application_and_are_stable() {
    let repo = Repo::new();
    let shards_of = |n: usize| -> Vec<BTreeSet<String>> {
        (1..=n)
            .map(|i| {
                let shard = format!("{i}/{n}");
                let report = repo.json(&["verify", "--json", "--shard", &shard]);
                assert_eq!(report["shard"]["whole_tree_rules"], Json::Bool(i == 1));
                applications(&report)
            })
            .collect()
    };
    let all = applications(&repo.json(&["verify", "--json"]));
    let before: Vec<Vec<BTreeSet<String>>> = (1..=3).map(shards_of).collect();
    for shards in &before {
        let mut union = BTreeSet::new();
        for shard in shards {
            assert!(union.is_disjoint(shard), "{shards:?} overlap");
            union.extend(shard.iter().cloned());
        }
        assert_eq!(union, all, "{shards:?}");
    }
    assert_eq!(
        before,
        (1..=3).map(shards_of).collect::<Vec<_>>(),
        "not stable"
    );
    // A shard is chosen by the name alone: a new component moves no other Application.
    repo.write(
        "environments/_shared/components/platform/extra/component.yaml",
        &repo
            .read("environments/_shared/components/platform/network/default-deny/component.yaml")
            .replace("default-deny", "extra"),
    );
    for (n, old) in (1..=3).zip(&before) {
        for (i, (old, new)) in old.iter().zip(shards_of(n)).enumerate() {
            assert!(old.is_subset(&new), "shard {}/{n} lost Applications", i + 1);
        }
    }
}

#[test]
fn whole_tree_rules_run_in_shard_one_only() {
    let repo = Repo::new();
    repo.write(
        "sources/values/_shared/apps/domain-catalgo-v0.yaml",
        "enabled: false\n",
    );
    let first = repo.json(&["verify", "--json", "--shard", "1/2"]);
    assert_eq!(problems(&first, "orphan-values").len(), 1, "{first:#}");
    let second = repo.run(&["verify", "--shard", "2/2"]);
    assert_eq!(code(&second), 0);
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(out.contains("(shard 2/2 of "), "{out}");
    assert!(out.contains("the whole-tree rules run in shard 1"), "{out}");
}

#[test]
fn an_invalid_shard_is_refused() {
    let repo = Repo::new();
    for shard in ["0/2", "3/2", "x", "1/0", "1", "1/2/3", "-1/2"] {
        let flag = format!("--shard={shard}");
        let output = repo.run(&["verify", &flag]);
        assert_eq!(code(&output), 2, "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("I/N"), "{flag}: {stderr}");
        let json = repo.run(&["verify", "--json", &flag]);
        assert_eq!(code(&json), 2);
        let report: Json = serde_json::from_slice(&json.stdout).unwrap();
        assert!(report["errors"].to_string().contains("I/N"), "{report:#}");
    }
}

#[test]
fn discovery_renders_more_parameter_sets_than_one_helm_file_holds() {
    // Helm refuses a chart file over 5 MiB; discovery once put every parameter set in one. 2,500
    // components in three envs are about 7 MiB of sets.
    const COMPONENTS: usize = 2500;
    let repo = Repo::new();
    let before = repo.apps().len();
    repo.add_load_components(COMPONENTS);
    // One shard of many: discovery and the whole-tree rules run in full, few renders.
    let report = repo.json(&["verify", "--json", "--shard", "1/1000", "--no-cache"]);
    assert_eq!(
        report["shard"]["out_of"].as_u64(),
        Some((before + 3 * COMPONENTS) as u64),
        "{}",
        report["problems"]
    );
    assert_eq!(report["ok"], Json::Bool(true), "{report:#}");
}

#[test]
fn findings_across_discovery_chunks_are_whole() {
    // Discovery hands the Applications on 256 parameter sets at a time and nothing keeps them;
    // what the rules find across Applications must not depend on where a chunk ends. The matrix
    // is env-major, so one component's Applications in three envs are ~700 sets apart here.
    const COMPONENTS: usize = 700;
    let repo = Repo::new();
    let body = repo.add_load_components(COMPONENTS);
    // The first component's name again, from the last folder: a duplicate in every env.
    repo.write(
        "environments/_shared/components/apps/primitives/domain-zzz-v0/component.yaml",
        &body.replace("domain-catalog-v0", "domain-load0000-v0"),
    );
    // A tag instead of a digest in its shared values: one image-policy finding, three envs.
    repo.write(
        "sources/values/_shared/apps/domain-load0001-v0.yaml",
        "enabled: false\nimage:\n  ref: registry.example/orders:latest\n",
    );
    let report = repo.json(&["verify", "--json", "--shard", "1/1000", "--no-cache"]);
    let found = |rule: &str| -> Vec<String> {
        problems(&report, rule)
            .iter()
            .map(|p| p["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let duplicates = found("application-duplicate");
    assert_eq!(duplicates.len(), 1, "{report:#}");
    assert!(
        duplicates[0].contains(
            "contains applications with duplicate name: dev-domain-load0000-v0, staging-domain-load0000-v0, production-domain-load0000-v0 (generated from both"
        ),
        "{}",
        duplicates[0]
    );
    let image = found("image-policy");
    assert_eq!(image.len(), 1, "{report:#}");
    assert!(
        image[0].ends_with(
            "(Applications dev-domain-load0001-v0, staging-domain-load0001-v0, production-domain-load0001-v0)"
        ),
        "{}",
        image[0]
    );
    // The value file is read, so it is no orphan; the misspelt one is, with its near miss.
    assert_eq!(found("orphan-values"), Vec::<String>::new());
    repo.write(
        "sources/values/_shared/apps/domain-laod0002-v0.yaml",
        "enabled: false\n",
    );
    let report = repo.json(&["verify", "--json", "--shard", "1/1000"]);
    let orphans = problems(&report, "orphan-values");
    assert_eq!(orphans.len(), 1, "{report:#}");
    assert!(
        orphans[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean sources/values/_shared/apps/domain-load0002-v0.yaml?"),
        "{:#}",
        orphans[0]
    );
}

#[test]
fn discovery_renders_only_the_parameter_sets_that_changed() {
    let repo = Repo::new();
    let first = repo.stats(&[]);
    let sets = count(&first, "discovery_cache_misses");
    assert_eq!(sets, repo.apps().len() as u64);

    let component = "environments/_shared/components/platform/network/default-deny/component.yaml";
    repo.touch(component);
    let comment = repo.stats(&[]);
    assert_eq!(count(&comment, "discovery_cache_misses"), 0, "a comment");

    let text = repo.read(component);
    repo.write(component, &text.replace("version: main", "version: HEAD"));
    let changed = repo.stats(&[]);
    // One set per env of that one component.
    let envs = repo
        .apps()
        .iter()
        .filter(|a| a.component_file == component)
        .count();
    assert_eq!(count(&changed, "discovery_cache_misses"), envs as u64);
    assert_eq!(count(&changed, "discovery_cache_hits"), sets - envs as u64);
    assert_eq!(count(&repo.stats(&[]), "discovery_cache_misses"), 0);
}

#[test]
fn one_changed_component_costs_discovery_one_helm_run_however_far_apart_its_sets() {
    // The matrix is env-major: with 300 more components a component's sets are ~300 apart, in
    // other chunks of 256. Each chunk with a set the cache lacks ran helm once (about 0.1 s);
    // chunks with few such sets now wait for the next ones and share one run.
    // One shard of many: discovery runs in full, few renders.
    const SHARD: &[&str] = &["--shard", "1/1000"];
    let repo = Repo::new();
    repo.add_load_components(300);
    let cold = repo.stats(SHARD);
    assert_eq!(cold["ok"], Json::Bool(true), "{cold:#}");
    assert!(count(&cold, "discovery_helm_runs") >= 3, "{cold:#}");
    let warm = repo.stats(SHARD);
    assert_eq!(count(&warm, "discovery_helm_runs"), 0, "{warm:#}");

    let component =
        "environments/_shared/components/apps/primitives/domain-load0150-v0/component.yaml";
    let text = repo.read(component);
    repo.write(component, &text.replace("version: main", "version: HEAD"));
    let changed = repo.stats(SHARD);
    assert_eq!(count(&changed, "discovery_cache_misses"), 3, "{changed:#}");
    assert_eq!(count(&changed, "discovery_helm_runs"), 1, "{changed:#}");
    // What waited was rendered, and with the change: every Application is still there, and the
    // three of that component track HEAD.
    assert_eq!(applications(&changed), applications(&warm));
    let listing = repo.json(&["apps", "--json"]);
    let revisions: Vec<&str> = listing["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["componentFile"] == component)
        .map(|a| {
            a["manifest"]["spec"]["sources"][0]["targetRevision"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(revisions, ["HEAD", "HEAD", "HEAD"]);
}

#[test]
fn an_interrupt_during_the_renders_stops_verify_promptly() {
    // The render workers and discovery run at once; a Ctrl-C must stop both, not leave the
    // producer waiting for a queue nobody drains.
    let repo = Repo::new();
    for chart in ["common/raw-manifests", "helm-test-jobs"] {
        std::fs::write(
            repo.path().join(format!(
                "sources/charts/foundation/{chart}/templates/zz-slow.yaml"
            )),
            "{{- range until 8000000 }}{{ end }}\n",
        )
        .unwrap();
    }
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["verify", "--no-cache"])
        .current_dir(repo.path())
        .env("AMEIDE_HELM", &repo.helm)
        .env("AMEIDE_KUBE_SCHEMAS", support::kube_schemas())
        .env_remove("AMEIDE_CACHE_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_a_render(pid);
    let out = support::signal_and_wait(child, "-INT");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 130, "{stderr}");
    assert!(stderr.contains("interrupted before"), "{stderr}");
    assert!(
        !stderr.contains("helm-render"),
        "renders killed by the signal are no findings: {stderr}"
    );
}

/// Waits until `pid` has a helm child rendering a chart of the repository (not discovery's helm
/// runs), so that a signal lands while the render pool is busy.
fn wait_for_a_render(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if ppid == Some(pid)
                && cmdline.contains("template")
                && cmdline.contains("sources/charts/")
            {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no render of {pid} appeared");
}
