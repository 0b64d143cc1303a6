//! The GitHub workflows: lint clean with the pinned actionlint and zizmor, and shaped as the
//! write path requires (inputs, least privilege, pinned actions, no input in a script).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_yaml::Value;
use support::{repo_root, tool, TempDir};

const SCAFFOLD: &str = ".github/workflows/scaffold-primitive-gitops.yaml";
const VERIFY: &str = ".github/workflows/verify.yaml";
const LIFECYCLE: &str = ".github/workflows/primitive-lifecycle-gitops.yaml";

fn workflow(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn lint(root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("lint-workflows")
        .current_dir(root)
        .env("AMEIDE_ACTIONLINT", tool("actionlint"))
        .env("AMEIDE_ZIZMOR", tool("zizmor"))
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_workflows_are_lint_clean() {
    let out = lint(repo_root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("workflows clean: actionlint and zizmor found nothing in 3 files"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_input_interpolated_into_a_script_fails_the_lint() {
    let dir = TempDir::new("workflows-lint");
    for needed in ["argocd/applicationsets", "sources", ".github/workflows"] {
        std::fs::create_dir_all(dir.path().join(needed)).unwrap();
    }
    let original = std::fs::read_to_string(repo_root().join(SCAFFOLD)).unwrap();
    let injected = original.replace(
        "gh auth setup-git\n",
        "gh auth setup-git\n          echo \"${{ inputs.name }}\"\n",
    );
    assert_ne!(injected, original);
    std::fs::write(dir.path().join(SCAFFOLD), injected).unwrap();
    let out = lint(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("template-injection"), "{}", text(&out));
}

#[test]
fn the_scaffold_workflow_takes_exactly_the_documented_inputs() {
    let wf = workflow(SCAFFOLD);
    assert_eq!(wf["name"].as_str(), Some("Scaffold Primitive GitOps (PR)"));
    let inputs = &wf["on"]["workflow_dispatch"]["inputs"];
    let names: Vec<&str> = inputs
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["kind", "name", "version", "with_smoke", "env", "force"]
    );
    let options = |input: &str| -> Vec<String> {
        inputs[input]["options"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        options("kind"),
        [
            "domain",
            "process",
            "agent",
            "uisurface",
            "projection",
            "integration"
        ]
    );
    assert_eq!(inputs["version"]["default"].as_str(), Some("v0"));
    assert_eq!(inputs["with_smoke"]["type"].as_str(), Some("boolean"));
    assert_eq!(inputs["force"]["type"].as_str(), Some("boolean"));
    assert_eq!(inputs["force"]["default"].as_bool(), Some(false));
    assert_eq!(inputs["env"]["default"].as_str(), Some("dev"));

    // The env choices are the envs of the cluster file the ApplicationSet reads, plus none.
    let clusters: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("config/clusters/azure.yaml")).unwrap(),
    )
    .unwrap();
    let mut envs: Vec<String> = clusters
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["env"].as_str().unwrap().to_owned())
        .collect();
    envs.push("none".to_owned());
    assert_eq!(options("env"), envs);

    let group = wf["concurrency"]["group"].as_str().unwrap();
    assert!(
        group.contains("inputs.kind")
            && group.contains("inputs.name")
            && group.contains("inputs.version"),
        "{group}"
    );
}

#[test]
fn least_privilege_and_pinned_actions_everywhere() {
    for path in [SCAFFOLD, VERIFY, LIFECYCLE] {
        let wf = workflow(path);
        assert_eq!(
            wf["permissions"],
            Value::Mapping(Default::default()),
            "{path}: top-level permissions must be {{}}"
        );
        let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
        for line in text.lines().filter(|l| {
            l.trim_start().starts_with("uses:") || l.trim_start().starts_with("- uses:")
        }) {
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{path}: {line}"));
            let (sha, comment) = rest
                .split_once(" # ")
                .unwrap_or_else(|| panic!("{path}: no version comment: {line}"));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{path}: {action} not pinned to a SHA"
            );
            assert!(
                comment.starts_with('v'),
                "{path}: {action} comment is not a version: {comment}"
            );
        }
        for (job_name, job) in wf["jobs"].as_mapping().unwrap() {
            let job_name = job_name.as_str().unwrap();
            assert!(
                job["permissions"].is_mapping(),
                "{path}: job {job_name} must declare its permissions"
            );
            for step in job["steps"].as_sequence().unwrap() {
                if let Some(script) = step["run"].as_str() {
                    assert!(
                        !script.contains("${{"),
                        "{path}: job {job_name}: an expression inside run: {script}"
                    );
                }
            }
        }
    }
    let scaffold = workflow(SCAFFOLD);
    assert_eq!(
        scaffold["jobs"]["scaffold"]["permissions"],
        serde_yaml::from_str::<Value>("{contents: write, pull-requests: write}").unwrap()
    );
    assert_eq!(
        workflow(VERIFY)["jobs"]["verify"]["permissions"],
        serde_yaml::from_str::<Value>("{contents: read}").unwrap()
    );
}

#[test]
fn the_scaffold_job_is_one_xtask_call_fed_through_env() {
    let wf = workflow(SCAFFOLD);
    let steps = wf["jobs"]["scaffold"]["steps"].as_sequence().unwrap();
    let runs: Vec<&Value> = steps
        .iter()
        .filter(|s| s["run"].as_str().is_some_and(|r| r.contains("cargo xtask")))
        .collect();
    assert_eq!(runs.len(), 1);
    let step = runs[0];
    let script = step["run"].as_str().unwrap();
    assert!(
        script.contains("cargo xtask scaffold-primitive \"${args[@]}\" --open-pr"),
        "{script}"
    );
    for input in ["kind", "name", "version", "with_smoke", "env", "force"] {
        let var = format!("INPUT_{}", input.to_uppercase());
        assert_eq!(
            step["env"][var.as_str()].as_str(),
            Some(format!("${{{{ inputs.{input} }}}}").as_str()),
            "{var}"
        );
        assert!(script.contains(&format!("${var}")), "{var} is not used");
    }
    assert_eq!(
        step["env"]["GH_TOKEN"].as_str(),
        Some("${{ steps.app-token.outputs.token || github.token }}")
    );
    // The fallback to GITHUB_TOKEN is visible in the job summary.
    let warning = steps
        .iter()
        .find(|s| s["if"].as_str() == Some("steps.app-token.outcome != 'success'"))
        .unwrap();
    assert!(warning["run"]
        .as_str()
        .unwrap()
        .contains("GITHUB_STEP_SUMMARY"));
}

#[test]
fn the_gate_runs_verify_and_the_linters_on_pull_requests_to_main() {
    let wf = workflow(VERIFY);
    assert_eq!(
        wf["on"]["pull_request"]["branches"],
        serde_yaml::from_str::<Value>("[main]").unwrap()
    );
    let runs: Vec<&str> = wf["jobs"]["verify"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        runs.iter().any(|r| r.starts_with("cargo xtask verify")),
        "{runs:?}"
    );
    assert!(runs.contains(&"cargo xtask lint-workflows"), "{runs:?}");
}
