//! The command-line conventions every subcommand keeps: a closed output pipe ends the run
//! quietly, `--json` prints exactly one object in the subcommand's shape whatever happens, one
//! spelling of the JSON flag, and help that names the command as it is typed (`cargo xtask`).

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::world::{Copy, World};
use support::{code, stderr, stdout, TempDir};

/// The shared [`support::world::xtask`], with the render cache inside `dir`.
fn xtask(dir: &Path, args: &[&str]) -> Command {
    let mut command = support::world::xtask(dir, args);
    command.env("AMEIDE_CACHE_DIR", dir.join(".cache-test"));
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    xtask(dir, args).output().expect("running xtask")
}

/// Stdout as exactly one JSON object: nothing before or after it.
fn one_object(output: &Output) -> serde_json::Map<String, Value> {
    match serde_json::from_slice::<Value>(&output.stdout) {
        Ok(Value::Object(object)) => object,
        other => panic!(
            "stdout is not one JSON object ({other:?}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        ),
    }
}

fn keys(object: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    keys
}

#[test]
fn a_reader_that_stops_early_ends_every_printing_command_quietly() {
    let repo = Copy::new();
    let commands: &[&[&str]] = &[
        &["--help"],
        &["verify", "--help"],
        &["apps"],
        &["apps", "--json"],
        &["verify"],
        &["verify", "--json"],
        &["verify", "--format", "github"],
        &[
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "orders",
            "--version",
            "v0",
            "--dry-run",
        ],
        &[
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "orders",
            "--version",
            "v0",
            "--dry-run",
            "--json",
        ],
    ];
    for args in commands {
        let mut child = xtask(repo.path(), args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command prints its first byte.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        let code = status.code().expect("exited, not killed");
        assert!(
            code == 0 || code == 141,
            "{args:?}: exit {code}, want 0 or 141; stderr:\n{err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
    // Nothing was written by the dry runs.
    assert!(!repo
        .path()
        .join("environments/_shared/components/apps/primitives/domain-orders-v0")
        .exists());
}

const SCAFFOLD_SHAPE: &[&str] = &[
    "applications",
    "component",
    "dry_run",
    "errors",
    "files",
    "guardrails",
    "operation",
    "owned_values",
];
const VERIFY_SHAPE: &[&str] = &["applications", "errors", "ok", "problems", "rendered"];
const APPS_SHAPE: &[&str] = &["applications", "errors", "problems"];
const PREVIEW_SHAPE: &[&str] = &["applications", "base", "errors"];

const IMAGE: &str =
    "registry.invalid/ameide/orders@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Every subcommand that prints JSON, with flags that parse and ask for it; its report's keys;
/// and the component a scaffold-shaped report names.
fn json_subcommands() -> Vec<(
    Vec<&'static str>,
    &'static [&'static str],
    Option<&'static str>,
)> {
    let target = ["--kind", "domain", "--name", "orders", "--version", "v0"];
    let verb = |verb: &'static str, rest: &[&'static str]| -> Vec<&'static str> {
        [&[verb][..], &target, rest, &["--json"]].concat()
    };
    let orders = Some("domain-orders-v0");
    vec![
        (verb("scaffold-primitive", &[]), SCAFFOLD_SHAPE, orders),
        (
            verb("enable-primitive", &["--env", "dev", "--image-ref", IMAGE]),
            SCAFFOLD_SHAPE,
            orders,
        ),
        (
            verb("disable-primitive", &["--env", "dev"]),
            SCAFFOLD_SHAPE,
            orders,
        ),
        (
            verb("promote-primitive", &["--from", "dev", "--to", "staging"]),
            SCAFFOLD_SHAPE,
            orders,
        ),
        (verb("retire-primitive", &[]), SCAFFOLD_SHAPE, orders),
        (verb("upgrade-wiring", &[]), SCAFFOLD_SHAPE, orders),
        (
            vec!["upgrade-wiring", "--all", "--json"],
            SCAFFOLD_SHAPE,
            Some("all"),
        ),
        (vec!["verify", "--json"], VERIFY_SHAPE, None),
        (vec!["verify", "--format", "json"], VERIFY_SHAPE, None),
        (vec!["apps", "--json"], APPS_SHAPE, None),
        (vec!["preview", "--json"], PREVIEW_SHAPE, None),
        (vec!["preview", "--format", "json"], PREVIEW_SHAPE, None),
    ]
}

#[test]
fn json_outside_the_repository_is_one_object_in_each_subcommands_shape() {
    let outside = TempDir::new("cli-outside");
    for (args, shape, component) in json_subcommands() {
        let out = run(outside.path(), &args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let object = one_object(&out);
        assert_eq!(keys(&object), shape, "{args:?}");
        let error = object["errors"][0].as_str().unwrap_or_default();
        assert!(
            error.contains("is not inside the ameide-gitops repository"),
            "{args:?}: {error}"
        );
        assert!(stderr(&out).contains("not inside"), "{args:?}");
        if let Some(component) = component {
            assert_eq!(
                (&object["operation"], &object["component"]),
                (&Value::from("error"), &Value::from(component)),
                "{args:?}"
            );
        }
        if shape == PREVIEW_SHAPE {
            assert_eq!(object["base"], "origin/main", "{args:?}");
        }
    }
}

#[test]
fn a_bad_flag_with_json_answers_in_that_subcommands_shape() {
    let repo = Copy::new();
    for (mut args, shape, _) in json_subcommands() {
        args.insert(1, "--no-such-flag");
        let out = run(repo.path(), &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let object = one_object(&out);
        assert_eq!(keys(&object), shape, "{args:?}");
        let error = object["errors"][0].as_str().unwrap_or_default();
        assert!(error.contains("--no-such-flag"), "{args:?}: {error}");
        if shape == SCAFFOLD_SHAPE {
            assert_eq!(object["operation"], "invalid", "{args:?}");
        }
    }
    // A value that does not parse is a bad flag too, with what the rule is.
    let out = run(
        repo.path(),
        &["preview", "--json", "--base", "main", "--format", "yaml"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let object = one_object(&out);
    assert_eq!(keys(&object), PREVIEW_SHAPE);
    assert_eq!(object["base"], "main");
    assert!(
        object["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("yaml"),
        "{object:?}"
    );
}

#[test]
fn json_is_spelled_json_everywhere_and_format_json_stays_an_alias() {
    let repo = Copy::new();
    let spelled = one_object(&run(repo.path(), &["verify", "--json"]));
    let alias = one_object(&run(repo.path(), &["verify", "--format", "json"]));
    assert_eq!(spelled, alias);
    assert_eq!(spelled["ok"], true);
    // The preview needs a base to compare with: a clone of a remote's main.
    let world = World::new();
    let preview = |args: &[&str]| {
        let out = world.xtask_in(&world.checkout(), args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        one_object(&out)
    };
    let spelled = preview(&["preview", "--base", "origin/main", "--json"]);
    let alias = preview(&["preview", "--base", "origin/main", "--format", "json"]);
    assert_eq!(spelled, alias);
    assert_eq!(keys(&spelled), ["applications", "base"]);
    for args in [
        &["verify", "--help"][..],
        &["apps", "--help"],
        &["preview", "--help"],
        &["scaffold-primitive", "--help"],
        &["enable-primitive", "--help"],
    ] {
        let help = stdout(&run(repo.path(), args));
        assert!(help.contains("--json"), "{args:?}:\n{help}");
    }
}

#[test]
fn help_names_the_command_as_it_is_typed() {
    let repo = Copy::new();
    let top = stdout(&run(repo.path(), &["--help"]));
    assert!(top.contains("Usage: cargo xtask <COMMAND>"), "{top}");
    let verify = stdout(&run(repo.path(), &["verify", "--help"]));
    assert!(verify.contains("Usage: cargo xtask verify"), "{verify}");
}

#[test]
fn in_a_github_actions_job_a_refused_input_is_an_error_annotation() {
    let repo = Copy::new();
    let out = xtask(
        repo.path(),
        &[
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "Orders",
            "--version",
            "v0",
        ],
    )
    .env("GITHUB_ACTIONS", "true")
    .output()
    .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let annotation = stdout(&out);
    assert!(
        annotation.starts_with("::error title=invalid input::")
            && annotation.contains("\"Orders\""),
        "{annotation}"
    );
    // Outside Actions the same refusal prints no workflow command.
    let out = run(
        repo.path(),
        &[
            "scaffold-primitive",
            "--kind",
            "domain",
            "--name",
            "Orders",
            "--version",
            "v0",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));
}

#[test]
fn verify_in_actions_caps_its_annotations_and_writes_everything_to_the_job_summary() {
    let repo = Copy::new();
    for i in 1..=12 {
        let path = repo
            .path()
            .join(format!("sources/values/_shared/apps/orphan-{i:02}.yaml"));
        std::fs::write(path, "enabled: false\n").unwrap();
    }
    let report = one_object(&run(repo.path(), &["verify", "--json"]));
    let problems = report["problems"].as_array().unwrap();
    let orphans = problems
        .iter()
        .filter(|p| p["rule"] == "orphan-values")
        .count();
    assert_eq!(orphans, 12, "{problems:#?}");
    let applications = report["applications"].as_array().unwrap().len();
    assert!(applications > 0);

    let summary = repo.path().join("step-summary.md");
    let out = xtask(repo.path(), &["verify", "--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let log = stdout(&out);
    assert_eq!(
        log.lines().filter(|l| l.starts_with("::error ")).count(),
        10,
        "{log}"
    );
    let warning = log
        .lines()
        .find(|l| l.starts_with("::warning title=annotations capped::"))
        .unwrap_or_else(|| panic!("no cap warning:\n{log}"));
    assert!(
        warning.contains(&format!("{} problems", problems.len())),
        "{warning}"
    );
    // The log still names every problem.
    for p in problems {
        assert!(log.contains(p["path"].as_str().unwrap()), "{p}");
    }

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&format!("### verify: ❌ {} problems", problems.len())),
        "{md}"
    );
    assert!(md.contains("**`orphan-values`** (12)"), "{md}");
    for i in 1..=12 {
        assert!(
            md.contains(&format!(
                "- `sources/values/_shared/apps/orphan-{i:02}.yaml`"
            )),
            "{md}"
        );
    }
    assert!(
        md.contains(&format!("Rendered Applications ({applications})")),
        "{md}"
    );
    for name in report["applications"].as_array().unwrap() {
        assert!(
            md.contains(&format!("- `{}`", name.as_str().unwrap())),
            "{md}"
        );
    }
    assert!(md.contains("| total |"), "{md}");
}
