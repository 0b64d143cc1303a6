//! End to end: `verify` and `apps` as built, in a temporary copy of the repository content, with
//! real helm. Each emulation fact of docs/conventions.md#discovery-and-value-layering is planted from a fixture under
//! `test_data/verify/<case>/`, copied over the copy, and the expected values are derived here from
//! the files themselves, not from the binary's output.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::Value as Json;
use support::{code, copy_content, copy_dir, json, stderr, stdout, tool, TempDir};

/// The cluster file the ApplicationSet's matrix reads.
const CLUSTER_FILE: &str = "config/clusters/azure.yaml";
const COMPONENTS: &str = "environments/_shared/components";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        Repo::with_helm("helm3")
    }

    fn with_helm(helm: &str) -> Repo {
        let dir = TempDir::new("verify-e2e");
        copy_content(dir.path());
        Repo {
            dir,
            helm: tool(helm),
        }
    }

    /// A copy with the fixture `case` laid over it.
    fn with(case: &str) -> Repo {
        let repo = Repo::new();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test_data/verify")
            .join(case);
        assert!(fixture.is_dir(), "no fixture {}", fixture.display());
        copy_dir(&fixture, repo.path());
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env("AMEIDE_KUBE_SCHEMAS", support::kube_schemas())
            .env_remove("AMEIDE_HELM_VERSION")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("running xtask")
    }

    fn json(&self, args: &[&str]) -> Json {
        json(&self.run(args))
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        let target = self.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }

    /// (env, namespace) of every entry of the cluster file, in file order.
    fn envs(&self) -> Vec<(String, String)> {
        let entries: Vec<serde_norway::Value> =
            serde_norway::from_str(&self.read(CLUSTER_FILE)).unwrap();
        entries
            .iter()
            .map(|e| {
                (
                    e["env"].as_str().unwrap().to_owned(),
                    e["namespace"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Every component file, sorted as Go's sort.Strings sorts (bytes).
    fn component_files(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![self.path().join(COMPONENTS)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().unwrap() == "component.yaml" {
                    let rel = path.strip_prefix(self.path()).unwrap();
                    found.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    /// The `name` of a component file holding one map.
    fn component_name(&self, file: &str) -> String {
        let doc: serde_norway::Value = serde_norway::from_str(&self.read(file)).unwrap();
        doc["name"].as_str().unwrap().to_owned()
    }

    /// (env, component) in the order Argo CD generates them: cluster entries, then files sorted.
    /// The Applications of the cluster-scoped ApplicationSet: one per file of
    /// config/cluster-scoped/, generated before the env-scoped ones (its file sorts first).
    fn cluster_scoped(&self) -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(self.path().join("config/cluster-scoped"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .map(|name| format!("{}-primitive-crds", name.trim_end_matches(".yaml")))
            .collect();
        found.sort();
        found
    }

    fn expected_pairs(&self) -> Vec<(String, String)> {
        let files = self.component_files();
        self.envs()
            .into_iter()
            .flat_map(|(env, _)| {
                files
                    .iter()
                    .map(move |f| (env.clone(), self.component_name(f)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// (env, component) of every env-scoped Application `apps --json` lists, in its order (the
/// cluster-scoped ones, of no env, are [`Repo::cluster_scoped`]).
fn pairs(apps: &Json) -> Vec<(String, String)> {
    apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["env"] != "")
        .map(|a| {
            (
                a["env"].as_str().unwrap().to_owned(),
                a["component"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn application<'j>(apps: &'j Json, name: &str) -> &'j Json {
    apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no Application {name} in {apps:#}"))
}

/// The problems of a `--json` report with this rule at this path.
fn problems<'j>(report: &'j Json, rule: &str, path: &str) -> Vec<&'j Json> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == rule && p["path"] == path)
        .collect()
}

/// The one problem with this rule at this path.
fn problem<'j>(report: &'j Json, rule: &str, path: &str) -> &'j Json {
    match problems(report, rule, path).as_slice() {
        [one] => one,
        other => panic!(
            "expected one {rule} problem at {path}, found {}:\n{:#}",
            other.len(),
            report["problems"]
        ),
    }
}

fn message(problem: &Json) -> &str {
    problem["message"].as_str().unwrap()
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn clean_repository_passes(repo: &Repo) {
    let expected = repo.expected_pairs().len() + repo.cluster_scoped().len();
    assert!(expected >= 7, "the repository has components");
    let output = repo.run(&["verify"]);
    assert_eq!(
        (code(&output), stdout(&output)),
        (
            0,
            format!(
                "verify: {} from 2 ApplicationSets, {expected} rendered, 0 problems\n",
                plural(expected, "Application"),
            )
        ),
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn the_repository_passes_with_helm3() {
    clean_repository_passes(&Repo::new());
}

#[test]
fn the_repository_passes_with_helm4() {
    clean_repository_passes(&Repo::with_helm("helm4"));
}

#[test]
fn verify_json_names_every_application_and_renders_them_all() {
    let repo = Repo::new();
    let report = repo.json(&["verify", "--json"]);
    let mut expected = repo.cluster_scoped();
    expected.extend(
        repo.expected_pairs()
            .into_iter()
            .map(|(env, component)| format!("{env}-{component}")),
    );
    assert_eq!(report["applications"], Json::from(expected.clone()));
    assert_eq!(report["rendered"], Json::from(expected.len()));
    assert_eq!(report["problems"], Json::Array(Vec::new()));
    assert_eq!(report["ok"], Json::Bool(true));
}

#[test]
fn apps_lists_every_env_component_pair_with_its_layers() {
    let repo = Repo::new();
    let apps = repo.json(&["apps", "--json"]);
    assert_eq!(pairs(&apps), repo.expected_pairs());

    let envs = repo.envs();
    for (env, namespace) in &envs {
        let name = format!("{env}-namespace-policy");
        let app = application(&apps, &name);
        assert_eq!(app["namespace"], Json::from(namespace.as_str()), "{name}");
        assert_eq!(
            app["chart"],
            Json::from("sources/charts/foundation/common/raw-manifests")
        );
        let files: Vec<(String, bool)> = app["valueFiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_owned(),
                    f["present"].as_bool().unwrap(),
                )
            })
            .collect();
        let entries: Vec<serde_norway::Value> =
            serde_norway::from_str(&repo.read(CLUSTER_FILE)).unwrap();
        let entry = entries.iter().find(|e| e["env"] == env.as_str()).unwrap();
        let layers = [
            "sources/values/base/globals.yaml".to_owned(),
            format!(
                "sources/values/cluster/{}/globals.yaml",
                entry["clusterType"].as_str().unwrap()
            ),
            format!("sources/values/env/{env}/globals.yaml"),
            format!(
                "config/node-profiles/{}.yaml",
                entry["nodeProfile"].as_str().unwrap()
            ),
            "sources/values/_shared/foundation/namespace-policy.yaml".to_owned(),
            format!("sources/values/env/{env}/foundation/namespace-policy.yaml"),
        ];
        let expected: Vec<(String, bool)> = layers
            .iter()
            .map(|l| (l.clone(), repo.path().join(l).is_file()))
            .collect();
        assert_eq!(files, expected, "{name}");
        // _shared sets enabled: true and no env overlay turns it off.
        assert_eq!(app["enabled"], Json::Bool(true), "{name}");
    }
    // The chart's default (false) when no layer sets enabled.
    repo.write(
        "sources/values/_shared/platform/default-deny.yaml",
        "manifests: []\n",
    );
    let apps = repo.json(&["apps", "--json", "--env", &envs[0].0]);
    let name = format!("{}-default-deny", envs[0].0);
    assert_eq!(application(&apps, &name)["enabled"], Json::Bool(false));
    assert!(pairs(&apps).iter().all(|(env, _)| *env == envs[0].0));
}

#[test]
fn a_scaffolded_primitive_passes_and_is_listed() {
    let repo = Repo::new();
    let scaffold = repo.run(&[
        "scaffold-primitive",
        "--kind",
        "domain",
        "--name",
        "orders",
        "--version",
        "v0",
        "--with-smoke",
    ]);
    assert_eq!(code(&scaffold), 0, "{}", stderr(&scaffold));
    let output = repo.run(&["verify"]);
    assert_eq!(code(&output), 0, "{}\n{}", stdout(&output), stderr(&output));
    let apps = repo.json(&["apps", "--json"]);
    assert_eq!(pairs(&apps), repo.expected_pairs());
    for (env, _) in repo.envs() {
        for component in ["domain-orders-v0", "domain-orders-v0-smoke"] {
            let app = application(&apps, &format!("{env}-{component}"));
            assert_eq!(app["component"], Json::from(component));
            assert_eq!(app["enabled"], Json::Bool(false));
        }
    }
}

#[test]
fn files_are_processed_in_sorted_path_order() {
    let repo = Repo::with("sorted-order");
    let apps = repo.json(&["apps", "--json"]);
    let listed = pairs(&apps);
    assert_eq!(listed, repo.expected_pairs());
    // "platform/m-n/" sorts before "platform/m/" ('-' < '/').
    let env = &repo.envs()[0].0;
    let position = |c: &str| {
        listed
            .iter()
            .position(|p| p == &(env.clone(), c.to_owned()))
            .unwrap()
    };
    assert!(position("m-n") < position("m"));
}

#[test]
fn an_empty_component_file_yields_only_path_parameters_and_a_missing_key() {
    let repo = Repo::with("empty-file");
    let file = format!("{COMPONENTS}/platform/empty/component.yaml");
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "appset-template", &file);
    assert!(
        message(found).contains("map has no entry for key \"name\""),
        "{found:#}"
    );
    assert!(
        message(found).contains("template.metadata.name"),
        "{found:#}"
    );
    assert_eq!(report["ok"], Json::Bool(false));
    // Argo CD creates nothing from it; everything else is still generated and rendered.
    let apps = repo.json(&["apps", "--json"]);
    let listed = pairs(&apps);
    let files = repo.component_files();
    assert_eq!(listed.len(), repo.envs().len() * (files.len() - 1));
    assert!(apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["componentFile"] != file.as_str()));
}

#[test]
fn a_list_file_yields_one_application_per_element_in_file_order() {
    let repo = Repo::with("list-file");
    let file = format!("{COMPONENTS}/platform/pair/component.yaml");
    let apps = repo.json(&["apps", "--json"]);
    for (env, _) in repo.envs() {
        let from_file: Vec<&str> = apps["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["componentFile"] == file.as_str() && a["env"] == env.as_str())
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            from_file,
            [format!("{env}-pair-b"), format!("{env}-pair-a")]
        );
        assert_eq!(
            application(&apps, &format!("{env}-pair-a"))["chart"],
            Json::from("sources/charts/foundation/helm-test-jobs")
        );
    }
    let report = repo.json(&["verify", "--json"]);
    assert!(problems(&report, "helm-render", &file).is_empty());
    assert!(problems(&report, "appset-template", &file).is_empty());
    assert_eq!(
        report["rendered"],
        Json::from(
            repo.envs().len() * (repo.component_files().len() + 1) + repo.cluster_scoped().len()
        )
    );
}

#[test]
fn path_parameters_are_usable_in_templates() {
    let repo = Repo::with("path-params");
    let apps = repo.json(&["apps", "--json", "--env", "lab"]);
    let files = repo.component_files();
    let expected: Vec<String> = files
        .iter()
        .map(|f| {
            let dir = f.rsplit_once('/').unwrap().0;
            format!("lab-{}", dir.rsplit('/').next().unwrap())
        })
        .collect();
    let names: Vec<&str> = apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, expected);
    let app = application(&apps, "lab-namespace-policy");
    assert_eq!(app["namespace"], Json::from("ameide-lab"));
    assert_eq!(app["component"], Json::from("namespace-policy"));
    assert_eq!(app["labels"]["filename"], Json::from("component.yaml"));
    assert_eq!(app["labels"]["segment"], Json::from("foundation"));
    assert_eq!(
        app["appset"],
        Json::from("argocd/applicationsets/paths.yaml")
    );
    // preserveResourcesOnDeletion: no resources finalizer.
    assert_eq!(app["manifest"]["metadata"].get("finalizers"), None);
    let report = repo.json(&["verify", "--json", "--env", "lab"]);
    assert_eq!(report["rendered"], Json::from(files.len()));
    let at_appset = problems(
        &report,
        "appset-template",
        "argocd/applicationsets/paths.yaml",
    );
    assert!(at_appset.is_empty(), "{at_appset:#?}");
}

#[test]
fn a_missing_key_is_a_problem_at_the_component_file() {
    let repo = Repo::with("missing-key");
    let file = format!("{COMPONENTS}/platform/no-domain/component.yaml");
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "appset-template", &file);
    assert!(
        message(found).contains("map has no entry for key \"domain\""),
        "{found:#}"
    );
    assert!(message(found).contains(CLUSTER_FILE), "{found:#}");
    let apps = repo.json(&["apps", "--json"]);
    assert!(!pairs(&apps).iter().any(|(_, c)| c == "no-domain"));
}

#[test]
fn without_missingkey_error_a_missing_key_renders_no_value() {
    let repo = Repo::with("missing-key");
    let appset = "argocd/applicationsets/ameide.yaml";
    let text = repo.read(appset);
    let option = "  goTemplateOptions: [\"missingkey=error\"]\n";
    assert!(text.contains(option));
    repo.write(appset, &text.replace(option, ""));
    let apps = repo.json(&["apps", "--json"]);
    let env = &repo.envs()[0].0;
    let app = application(&apps, &format!("{env}-no-domain"));
    assert_eq!(app["labels"]["domain"], Json::from("<no value>"));
    assert_eq!(
        app["valueFiles"][4]["path"],
        Json::from("sources/values/_shared/<no value>/no-domain.yaml")
    );
}

#[test]
fn optional_keys_read_behind_has_key_reach_the_application() {
    let repo = Repo::with("sync-options");
    let apps = repo.json(&["apps", "--json"]);
    let env = &repo.envs()[0].0;
    let with = application(&apps, &format!("{env}-server-side"));
    assert_eq!(
        with["manifest"]["spec"]["syncPolicy"]["syncOptions"],
        serde_json::json!(["CreateNamespace=true", "ServerSideApply=true"])
    );
    let without = application(&apps, &format!("{env}-default-deny"));
    assert_eq!(
        without["manifest"]["spec"]["syncPolicy"]["syncOptions"],
        serde_json::json!(["CreateNamespace=true"])
    );
    assert_eq!(
        without["manifest"]["metadata"]["finalizers"],
        Json::Null,
        "the ApplicationSet preserves resources on deletion"
    );
}

#[test]
fn duplicate_names_withhold_both_applications_in_argo_cds_words() {
    // applicationset/controllers/applicationset_controller.go, validateGeneratedApplications:
    // the duplicate name is in error, and no Application of a name in error is created.
    let repo = Repo::with("duplicate-name");
    let first = format!("{COMPONENTS}/platform/network/default-deny/component.yaml");
    let later = format!("{COMPONENTS}/platform/zz-copy/component.yaml");
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "application-duplicate", &later);
    assert_eq!(found["line"], Json::from(2));
    for name in repo
        .envs()
        .iter()
        .map(|(env, _)| format!("{env}-default-deny"))
    {
        assert!(message(found).contains(&name), "{found:#}");
    }
    assert!(message(found).contains(&first), "{found:#}");
    assert!(
        message(found)
            .contains("ApplicationSet ameide contains applications with duplicate name: "),
        "{found:#}"
    );
    let apps = repo.json(&["apps", "--json"]);
    let listed: Vec<String> = pairs(&apps).into_iter().map(|p| format!("{p:?}")).collect();
    assert!(
        !listed.iter().any(|p| p.contains("default-deny")),
        "{listed:?}"
    );
    assert_eq!(
        pairs(&apps).len(),
        repo.expected_pairs().len() - 2 * repo.envs().len()
    );
}

#[test]
fn unparseable_yaml_fails_the_generator_and_is_reported_at_the_file() {
    let repo = Repo::with("unparseable");
    let file = format!("{COMPONENTS}/platform/broken/component.yaml");
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "generator-file", &file);
    assert!(message(found).contains("not valid YAML"), "{found:#}");
    assert!(message(found).contains("fails as a whole"), "{found:#}");
    assert!(found["line"].as_u64().unwrap() >= 2, "{found:#}");
    // The other files are still discovered.
    let apps = repo.json(&["apps", "--json"]);
    let others = repo.component_files().len() - 1;
    assert_eq!(pairs(&apps).len(), repo.envs().len() * others);
}

#[test]
fn a_render_error_names_the_applications_and_the_component_file() {
    let repo = Repo::with("render-error");
    let file = format!("{COMPONENTS}/platform/bad-manifest/component.yaml");
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "helm-render", &file);
    let names: Vec<String> = repo
        .envs()
        .iter()
        .map(|(env, _)| format!("{env}-bad-manifest"))
        .collect();
    assert!(
        message(found).starts_with(&format!("Applications {}: ", names.join(", "))),
        "{found:#}"
    );
    assert!(
        message(found).contains("manifests[0] must be a YAML string"),
        "{found:#}"
    );
    let total = repo.envs().len() * repo.component_files().len() + repo.cluster_scoped().len();
    assert_eq!(report["rendered"], Json::from(total - names.len()));
}

#[test]
fn a_render_error_in_a_value_file_points_at_it() {
    let repo = Repo::with("bad-value-file");
    let value_file = "sources/values/env/staging/platform/bad-values.yaml";
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "helm-render", value_file);
    assert!(
        message(found).starts_with("Application staging-bad-values: "),
        "{found:#}"
    );
    assert!(
        !message(found).contains(&*repo.path().to_string_lossy()),
        "{found:#}"
    );
}

#[test]
fn human_and_github_formats_print_every_problem_then_fail_once() {
    let repo = Repo::with("missing-key");
    let file = format!("{COMPONENTS}/platform/no-domain/component.yaml");
    let human = repo.run(&["verify"]);
    assert_eq!(code(&human), 1);
    let out = stdout(&human);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{file}:1: appset-template: ")))
        .unwrap_or_else(|| panic!("no problem line for {file} in:\n{out}"));
    assert!(
        line.contains("map has no entry for key \"domain\""),
        "{line}"
    );
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("verify: "), "{last}");
    assert!(!last.ends_with(" 0 problems"), "{last}");
    assert_eq!(stderr(&human).lines().count(), 1, "{}", stderr(&human));

    let github = repo.run(&["verify", "--format", "github"]);
    assert_eq!(code(&github), 1);
    let out = stdout(&github);
    let annotation = out
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "::error file={file},line=1,title=appset-template::"
            ))
        })
        .unwrap_or_else(|| panic!("no annotation for {file} in:\n{out}"));
    assert!(annotation.contains("map has no entry for key \"domain\""));
}

#[test]
fn an_unknown_env_is_refused() {
    let repo = Repo::new();
    let output = repo.run(&["verify", "--env", "qa"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--env \"qa\""),
        "{}",
        stderr(&output)
    );
    let apps = repo.run(&["apps", "--env", "qa"]);
    assert_eq!(code(&apps), 2);
}

#[test]
fn env_filter_renders_only_that_env() {
    let repo = Repo::new();
    let (env, _) = repo.envs().remove(1);
    let report = repo.json(&["verify", "--json", "--env", &env]);
    let expected: BTreeSet<String> = repo
        .expected_pairs()
        .into_iter()
        .filter(|(e, _)| *e == env)
        .map(|(e, c)| format!("{e}-{c}"))
        .collect();
    let listed: BTreeSet<String> = report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(report["rendered"], Json::from(expected.len()));
}

#[test]
fn two_git_children_writing_the_same_path_parameters_are_reported() {
    let repo = Repo::new();
    let appset = "argocd/applicationsets/ameide.yaml";
    let text = repo.read(appset);
    let prefix = "              pathParamPrefix: clusterFile\n";
    assert!(text.contains(prefix));
    repo.write(appset, &text.replace(prefix, ""));
    let report = repo.json(&["verify", "--json"]);
    let found = problem(&report, "appset", appset);
    assert!(message(found).contains("pathParamPrefix"), "{found:#}");
}
