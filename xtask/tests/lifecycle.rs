//! End to end: the life of a primitive after scaffold-primitive (enable, promote, disable,
//! retire, upgrade), locally and with `--open-pr` / `--via-workflow`, with real git (a bare
//! remote), real helm and the real gh against the GitHub API test server on loopback.

mod support;

use std::path::Path;
use std::process::Output;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::world::{git, snapshot, World, OWNER, REPO};
use support::{code, json, stderr, stdout};

const ID: &str = "domain-orders-v0";
const TARGET: [&str; 6] = ["--kind", "domain", "--name", "orders", "--version", "v0"];
const COMPONENT: &str =
    "environments/_shared/components/apps/primitives/domain-orders-v0/component.yaml";
const SHARED: &str = "sources/values/_shared/apps/domain-orders-v0.yaml";
const DEV: &str = "sources/values/env/dev/apps/domain-orders-v0.yaml";
const STAGING: &str = "sources/values/env/staging/apps/domain-orders-v0.yaml";
const DEV_SMOKE: &str = "sources/values/env/dev/apps/domain-orders-v0-smoke.yaml";
const STAGING_SMOKE: &str = "sources/values/env/staging/apps/domain-orders-v0-smoke.yaml";

fn image(hex: &str) -> String {
    format!(
        "ghcr.io/ameideio/primitive-domain-orders:1.0.0@sha256:{}",
        hex.repeat(64)
    )
}

fn text(output: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output))
}

/// `args` = the verb, the target flags, then `extra`.
fn args<'a>(verb: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![verb];
    all.extend(TARGET);
    all.extend(extra);
    all
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs a verb expecting exit 0 and one JSON object.
fn ok(world: &World, dir: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = world.xtask_in(dir, &with_json);
    assert_eq!(code(&out), 0, "{args:?}\n{}", text(&out));
    json(&out)
}

/// The owned values a JSON report lists for one file, as (key, change, after).
fn owned(report: &Value, path: &str) -> Vec<(String, String, Option<String>)> {
    report["owned_values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["path"] == path)
        .map(|v| {
            (
                v["key"].as_str().unwrap().to_owned(),
                v["change"].as_str().unwrap().to_owned(),
                v["after"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn verify_passes(world: &World, dir: &Path) {
    let out = world.xtask_in(dir, &["verify"]);
    assert_eq!(code(&out), 0, "verify\n{}", text(&out));
}

fn scaffold_orders(world: &World, dir: &Path) {
    let mut scaffold = args("scaffold-primitive", &["--with-smoke", "--env", "dev"]);
    scaffold.push("--json");
    let out = world.xtask_in(dir, &scaffold);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn force_keeps_an_enabled_overlay_byte_for_byte_and_says_so() {
    let world = World::new();
    let dir = world.checkout();
    scaffold_orders(&world, &dir);
    let dev = image("a");
    let enabled = ok(
        &world,
        &dir,
        &args("enable-primitive", &["--env", "dev", "--image-ref", &dev]),
    );
    assert_eq!(enabled["operation"], "enabled", "{enabled}");
    // Running in two envs: the renders of --force must expect both.
    ok(
        &world,
        &dir,
        &args("promote-primitive", &["--from", "dev", "--to", "staging"]),
    );
    // A person adds a key of their own to the overlay, and commits.
    let overlay = read(&dir, DEV) + "replicas: 2 # for the demo\n";
    std::fs::write(dir.join(DEV), &overlay).unwrap();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "--quiet", "-m", "enable orders in dev"]);
    let before = snapshot(&dir);

    let report = ok(
        &world,
        &dir,
        &args(
            "scaffold-primitive",
            &["--with-smoke", "--env", "dev", "--force"],
        ),
    );
    assert_eq!(snapshot(&dir), before, "--force changed bytes: {report}");
    assert_eq!(read(&dir, DEV), overlay);
    assert_eq!(report["operation"], "unchanged", "{report}");
    assert_eq!(
        owned(&report, DEV),
        [
            (
                "enabled".to_owned(),
                "kept".to_owned(),
                Some("true".to_owned())
            ),
            ("image.ref".to_owned(), "kept".to_owned(), Some(dev.clone())),
            (
                "replicas".to_owned(),
                "kept".to_owned(),
                Some("2".to_owned())
            ),
        ]
    );
    let out = world.xtask_in(
        &dir,
        &args(
            "scaffold-primitive",
            &["--with-smoke", "--env", "dev", "--force"],
        ),
    );
    assert!(
        stdout(&out).contains(&format!("  kept    {DEV} enabled: true\n")),
        "{}",
        text(&out)
    );
    // Changing the image through the scaffolder is the verb's job: refused, nothing written.
    let out = world.xtask_in(
        &dir,
        &args(
            "scaffold-primitive",
            &[
                "--env",
                "dev",
                "--force",
                "--with-smoke",
                "--enable",
                "--image-ref",
                &image("b"),
            ],
        ),
    );
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        stderr(&out).contains("cargo xtask enable-primitive"),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(&dir), before);
    verify_passes(&world, &dir);
}

#[test]
fn enable_promote_disable_retire_locally() {
    let world = World::new();
    let dir = world.checkout();
    scaffold_orders(&world, &dir);
    let before_enable = snapshot(&dir);
    let dev = image("c");

    // Dry run: a diff, nothing written.
    let out = world.xtask_in(
        &dir,
        &args(
            "enable-primitive",
            &["--env", "dev", "--image-ref", &dev, "--dry-run"],
        ),
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("+  ref: \"{dev}\"")),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(&dir), before_enable);

    let smoke = format!("docker.io/fullstorydev/grpcurl@sha256:{}", "5".repeat(64));
    let enabled = ok(
        &world,
        &dir,
        &args(
            "enable-primitive",
            &[
                "--env",
                "dev",
                "--image-ref",
                &dev,
                "--smoke-image-ref",
                &smoke,
            ],
        ),
    );
    assert_eq!(
        owned(&enabled, DEV_SMOKE)[1],
        (
            "image.ref".to_owned(),
            "set".to_owned(),
            Some(smoke.clone())
        )
    );
    assert!(
        enabled["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |g| g["name"] == "helm template dev-domain-orders-v0-smoke (as generated)"
                    && g["detail"]
                        .as_str()
                        .unwrap()
                        .starts_with("PostSync hook Job")
            ),
        "the smoke renders its Job in dev: {enabled}"
    );
    assert_eq!(enabled["operation"], "enabled");
    assert_eq!(
        owned(&enabled, DEV),
        [
            (
                "enabled".to_owned(),
                "set".to_owned(),
                Some("true".to_owned())
            ),
            ("image.ref".to_owned(), "set".to_owned(), Some(dev.clone())),
        ]
    );
    let guardrails = enabled["guardrails"].as_array().unwrap();
    assert!(!guardrails.is_empty(), "{enabled}");
    assert!(
        guardrails.iter().all(|g| g["status"] == "passed"
            && g["name"]
                .as_str()
                .unwrap()
                .starts_with("helm template dev-")),
        "{enabled}"
    );
    assert!(
        guardrails
            .iter()
            .any(|g| g["detail"].as_str().unwrap().contains(&dev)),
        "the render in dev carries the image: {enabled}"
    );
    let again = ok(
        &world,
        &dir,
        &args(
            "enable-primitive",
            &[
                "--env",
                "dev",
                "--image-ref",
                &dev,
                "--smoke-image-ref",
                &smoke,
            ],
        ),
    );
    assert_eq!(again["operation"], "unchanged", "{again}");

    // Promote refuses an env where it is not enabled, then promotes dev's digest to staging.
    let out = world.xtask_in(
        &dir,
        &args(
            "promote-primitive",
            &["--from", "staging", "--to", "production"],
        ),
    );
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        stderr(&out).contains("is not enabled in staging"),
        "{}",
        text(&out)
    );
    let promoted = ok(
        &world,
        &dir,
        &args("promote-primitive", &["--from", "dev", "--to", "staging"]),
    );
    assert_eq!(promoted["operation"], "promoted", "{promoted}");
    assert_eq!(
        owned(&promoted, STAGING)[1],
        ("image.ref".to_owned(), "set".to_owned(), Some(dev.clone()))
    );
    assert!(read(&dir, STAGING).contains(&format!("ref: \"{dev}\"")));
    assert!(
        read(&dir, STAGING_SMOKE).contains(&format!("ref: \"{smoke}\"")),
        "the smoke is promoted with the workload"
    );
    verify_passes(&world, &dir);

    // Retire is refused while enabled anywhere.
    let before_retire = snapshot(&dir);
    let out = world.xtask_in(&dir, &args("retire-primitive", &["--json"]));
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert_eq!(json(&out)["operation"], "refused");
    assert!(
        stderr(&out).contains(DEV) && stderr(&out).contains(STAGING),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(&dir), before_retire);

    for env in ["dev", "staging"] {
        let disabled = ok(&world, &dir, &args("disable-primitive", &["--env", env]));
        assert_eq!(disabled["operation"], "disabled", "{disabled}");
        let path = format!("sources/values/env/{env}/apps/{ID}.yaml");
        assert_eq!(
            owned(&disabled, &path),
            [
                (
                    "enabled".to_owned(),
                    "set".to_owned(),
                    Some("false".to_owned())
                ),
                ("image.ref".to_owned(), "removed".to_owned(), None),
            ]
        );
        let smoke = format!("sources/values/env/{env}/apps/{ID}-smoke.yaml");
        assert!(
            read(&dir, &smoke).contains("\nenabled: false\n"),
            "the smoke is disabled with the workload: {disabled}"
        );
    }
    assert_eq!(
        read(&dir, DEV),
        before_enable[DEV]
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
    );
    verify_passes(&world, &dir);

    let retired = ok(&world, &dir, &args("retire-primitive", &[]));
    assert_eq!(retired["operation"], "retired", "{retired}");
    let deleted: Vec<&str> = retired["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["action"], "deleted");
            f["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(deleted.len(), 8, "{deleted:?}");
    for env in ["dev", "staging", "production"] {
        for component in [ID.to_owned(), format!("{ID}-smoke")] {
            let app = format!("{env}-{component}");
            assert!(
                retired["applications"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from(app.clone())),
                "{app}: {retired}"
            );
        }
    }
    let after = snapshot(&dir);
    assert!(
        after.keys().all(|p| !p.contains(ID)),
        "left behind: {:?}",
        after.keys().filter(|p| p.contains(ID)).collect::<Vec<_>>()
    );
    assert!(!dir
        .join("environments/_shared/components/apps/primitives")
        .join(ID)
        .exists());
    let again = ok(&world, &dir, &args("retire-primitive", &[]));
    assert_eq!(again["operation"], "unchanged", "{again}");
    verify_passes(&world, &dir);
}

#[test]
fn a_smoke_image_for_a_primitive_without_smoke_is_refused() {
    let world = World::new();
    let dir = world.checkout();
    let out = world.xtask_in(&dir, &args("scaffold-primitive", &["--env", "dev"]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let before = snapshot(&dir);
    let out = world.xtask_in(
        &dir,
        &args(
            "enable-primitive",
            &[
                "--env",
                "dev",
                "--image-ref",
                &image("3"),
                "--smoke-image-ref",
                &image("4"),
            ],
        ),
    );
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        stderr(&out).contains("has no smoke component"),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn retire_force_deletes_an_enabled_primitive() {
    let world = World::new();
    let dir = world.checkout();
    scaffold_orders(&world, &dir);
    ok(
        &world,
        &dir,
        &args(
            "enable-primitive",
            &["--env", "dev", "--image-ref", &image("d")],
        ),
    );
    let retired = ok(&world, &dir, &args("retire-primitive", &["--force"]));
    assert_eq!(retired["operation"], "retired");
    assert!(
        owned(&retired, DEV)
            .iter()
            .all(|(_, change, after)| change == "removed" && after.is_none()),
        "{retired}"
    );
    assert!(!dir.join(DEV).exists() && !dir.join(COMPONENT).exists());
}

#[test]
fn upgrade_restores_hand_edited_generated_files_and_keeps_owned_values() {
    let world = World::new();
    let dir = world.checkout();
    scaffold_orders(&world, &dir);
    let fresh = snapshot(&dir);
    let dev = image("e");
    ok(
        &world,
        &dir,
        &args("enable-primitive", &["--env", "dev", "--image-ref", &dev]),
    );
    let overlay = read(&dir, DEV) + "replicas: 3\n";
    std::fs::write(dir.join(DEV), &overlay).unwrap();
    // Hand edits of what the generator owns: drift.
    let component = read(&dir, COMPONENT).replace("version: main", "version: main # pinned");
    std::fs::write(dir.join(COMPONENT), component).unwrap();
    let shared = read(&dir, SHARED).replace("IfNotPresent", "Always");
    std::fs::write(dir.join(SHARED), shared).unwrap();
    let out = world.xtask_in(&dir, &["verify"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("cargo xtask upgrade-wiring --kind domain --name orders --version v0"),
        "drift names the repair: {}",
        text(&out)
    );

    let upgraded = ok(&world, &dir, &args("upgrade-wiring", &[]));
    assert_eq!(upgraded["operation"], "upgraded", "{upgraded}");
    assert_eq!(
        read(&dir, COMPONENT).as_bytes(),
        fresh[COMPONENT].as_slice()
    );
    assert_eq!(read(&dir, SHARED).as_bytes(), fresh[SHARED].as_slice());
    assert_eq!(read(&dir, DEV), overlay, "the overlay's owned body is kept");
    assert!(
        upgraded["owned_values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["change"] == "kept"),
        "{upgraded}"
    );
    let again = ok(&world, &dir, &["upgrade-wiring", "--all"]);
    assert_eq!(again["operation"], "unchanged", "{again}");
    verify_passes(&world, &dir);
}

#[test]
fn each_verb_opens_one_pull_request_and_reruns_change_nothing() {
    let world = World::new();
    scaffold_orders(&world, &world.seed());
    world.commit_seed("scaffold orders");
    let checkout = world.checkout();
    let dev = image("f");
    let pr = ["--open-pr", "--repo", "ameideio/ameide-gitops"];
    let steps: Vec<(Vec<&str>, &str)> = vec![
        (
            args("enable-primitive", &["--env", "dev", "--image-ref", &dev]),
            "enable/domain-orders-v0-dev",
        ),
        (
            args("promote-primitive", &["--from", "dev", "--to", "staging"]),
            "promote/domain-orders-v0-dev-to-staging",
        ),
        // Someone hand-edits generated files on main between the steps (below).
        (vec!["upgrade-wiring", "--all"], "upgrade/all"),
        (
            args("disable-primitive", &["--env", "dev"]),
            "disable/domain-orders-v0-dev",
        ),
        (
            args("disable-primitive", &["--env", "staging"]),
            "disable/domain-orders-v0-staging",
        ),
        (args("retire-primitive", &[]), "retire/domain-orders-v0"),
    ];
    let fresh_component = std::fs::read_to_string(world.seed().join(COMPONENT)).unwrap();
    for (i, (verb, branch)) in steps.iter().enumerate() {
        if *branch == "upgrade/all" {
            let edited = fresh_component.replace("version: main", "version: main # pinned");
            std::fs::write(world.seed().join(COMPONENT), edited).unwrap();
            world.commit_seed("a hand edit of a generated file");
        }
        let mut run = verb.clone();
        run.extend(pr);
        let first = ok(&world, &checkout, &run);
        assert_eq!(first["branch"], *branch, "{first}");
        assert_eq!(first["pr_operation"], "created", "{first}");
        let tip = world.remote_tip(branch).expect("the branch is pushed");
        let second = ok(&world, &checkout, &run);
        assert_eq!(second["operation"], "unchanged", "{second}");
        assert_eq!(second["pr_operation"], "unchanged", "{second}");
        assert_eq!(world.remote_tip(branch), Some(tip.clone()));
        assert_eq!(
            world.server.pulls().len(),
            i + 1,
            "one pull request per verb and target"
        );
        let pull = world
            .server
            .pulls()
            .into_iter()
            .find(|p| p.head == *branch)
            .unwrap();
        assert!(pull.body.contains("### Owned values"), "{}", pull.body);
        world.merge(branch);
        if *branch == "upgrade/all" {
            assert_eq!(world.show("main", COMPONENT), Some(fresh_component.clone()));
            assert!(
                world.show("main", STAGING).unwrap().contains(&dev),
                "owned values kept"
            );
        }
    }
    assert_eq!(world.show("main", DEV), None);
    assert_eq!(world.show("main", COMPONENT), None);
    assert!(world
        .show("main", "argocd/applicationsets/ameide.yaml")
        .is_some());
    let merged = world.seed();
    git(&merged, &["reset", "--quiet", "--hard", "origin/main"]);
    verify_passes(&world, &merged);
}

#[test]
fn a_branch_holding_someone_elses_commit_is_kept() {
    let (first_image, second_image) = (image("1"), image("2"));
    let world = World::new();
    scaffold_orders(&world, &world.seed());
    world.commit_seed("scaffold orders");
    let checkout = world.checkout();
    let mut run = args(
        "enable-primitive",
        &["--env", "dev", "--image-ref", &first_image],
    );
    run.extend(["--open-pr", "--repo", "ameideio/ameide-gitops"]);
    ok(&world, &checkout, &run);
    let branch = "enable/domain-orders-v0-dev";
    // Someone pushes a commit of their own to the branch.
    git(&world.seed(), &["fetch", "--quiet", "origin", branch]);
    git(
        &world.seed(),
        &["checkout", "--quiet", "-b", "theirs", "FETCH_HEAD"],
    );
    std::fs::write(world.seed().join("NOTES.md"), "mine\n").unwrap();
    git(&world.seed(), &["add", "NOTES.md"]);
    git(&world.seed(), &["commit", "--quiet", "-m", "notes"]);
    git(
        &world.seed(),
        &["push", "--quiet", "origin", &format!("theirs:{branch}")],
    );
    let tip = world.remote_tip(branch);
    let mut other = args(
        "enable-primitive",
        &["--env", "dev", "--image-ref", &second_image],
    );
    other.extend(["--open-pr", "--repo", "ameideio/ameide-gitops"]);
    let out = world.xtask_in(&checkout, &other);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        stderr(&out).contains("not the scaffolder's"),
        "{}",
        text(&out)
    );
    assert_eq!(world.remote_tip(branch), tip);
}

#[test]
fn via_workflow_reports_the_run_and_wait_follows_it_to_its_pull_request() {
    let world = World::new();
    let checkout = world.checkout();
    let dev = image("7");
    let mut run = args("enable-primitive", &["--env", "dev", "--image-ref", &dev]);
    run.extend(["--via-workflow", "--repo", "ameideio/ameide-gitops"]);
    let dispatched = ok(&world, &checkout, &run);
    assert_eq!(dispatched["operation"], "dispatched", "{dispatched}");
    assert_eq!(dispatched["run_id"], 30_000, "{dispatched}");
    assert_eq!(
        dispatched["watch_url"],
        format!("http://github.localhost/{OWNER}/{REPO}/actions/runs/30000")
    );
    let (workflow, body) = world.server.dispatches().pop().unwrap();
    assert_eq!(workflow, "primitive-lifecycle-gitops.yaml");
    assert_eq!(body["return_run_details"], true);
    assert_eq!(body["inputs"]["verb"], "enable");
    assert_eq!(body["inputs"]["image_ref"], dev.as_str());
    assert!(
        snapshot(&checkout).keys().all(|p| !p.contains(ID)),
        "nothing is written here"
    );

    // --wait: the workflow opened the PR of the branch; the run is followed to its end.
    let number = world
        .server
        .add_pull("enable/domain-orders-v0-dev", "main", "enable", "");
    run.extend(["--wait", "--wait-interval", "1"]);
    let out = world.xtask_in(&checkout, &run);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!(
            "pull request: http://github.localhost/{OWNER}/{REPO}/pull/{number}"
        )),
        "{}",
        text(&out)
    );
    assert!(
        stdout(&out).contains("run concluded: success"),
        "{}",
        text(&out)
    );
    assert!(world
        .server
        .run_looks()
        .iter()
        .any(|(_, looks)| *looks >= 3));

    // The scaffold trigger follows through the same way.
    let scaffold_pr = world
        .server
        .add_pull("scaffold/domain-orders-v0", "main", "scaffold", "");
    let mut scaffold = args("scaffold-primitive", &["--with-smoke"]);
    scaffold.extend([
        "--via-workflow",
        "--repo",
        "ameideio/ameide-gitops",
        "--wait",
        "--wait-interval",
        "1",
        "--json",
    ]);
    let report = json(&world.xtask_in(&checkout, &scaffold));
    assert_eq!(report["operation"], "completed", "{report}");
    assert_eq!(report["conclusion"], "success", "{report}");
    assert_eq!(
        report["pr_url"],
        format!("http://github.localhost/{OWNER}/{REPO}/pull/{scaffold_pr}")
    );

    world.server.set_run_conclusion("failure");
    let out = world.xtask_in(&checkout, &run);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stderr(&out).contains("concluded failure"), "{}", text(&out));

    // GitHub's older answer, 204 without the run, is accepted; --wait then says why it cannot follow.
    world.server.dispatch_without_details();
    let mut plain = args("disable-primitive", &["--env", "dev"]);
    plain.extend(["--via-workflow", "--repo", "ameideio/ameide-gitops"]);
    let dispatched = ok(&world, &checkout, &plain);
    assert_eq!(dispatched["run_id"], Value::Null, "{dispatched}");
    assert_eq!(
        dispatched["watch_url"],
        format!("https://github.localhost/{OWNER}/{REPO}/actions/workflows/primitive-lifecycle-gitops.yaml")
    );
    plain.push("--wait");
    let out = world.xtask_in(&checkout, &plain);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(stderr(&out).contains("without the run"), "{}", text(&out));
}

#[test]
fn invalid_input_for_every_verb_is_refused_before_anything_is_written_or_requested() {
    let world = World::new();
    let dir = world.checkout();
    scaffold_orders(&world, &dir);
    let before = snapshot(&dir);
    let requests = world.server.requests().len();
    let good = image("9");
    let unpinned = "ghcr.io/ameideio/x:1.0".to_owned();
    let latest = format!("ghcr.io/ameideio/x:latest@sha256:{}", "a".repeat(64));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "enable-primitive",
                "--kind",
                "widget",
                "--name",
                "orders",
                "--version",
                "v0",
                "--env",
                "dev",
                "--image-ref",
                &good,
            ],
            "must be one of domain",
        ),
        (
            vec![
                "enable-primitive",
                "--kind",
                "domain",
                "--name",
                "../etc",
                "--version",
                "v0",
                "--env",
                "dev",
                "--image-ref",
                &good,
            ],
            "lowercase kebab-case",
        ),
        (
            vec![
                "enable-primitive",
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "1",
                "--env",
                "dev",
                "--image-ref",
                &good,
            ],
            "--version",
        ),
        (
            args("enable-primitive", &["--env", "qa", "--image-ref", &good]),
            "must be one of dev, staging, production",
        ),
        (
            args(
                "enable-primitive",
                &["--env", "dev;rm", "--image-ref", &good],
            ),
            "must be one of dev",
        ),
        (
            args(
                "enable-primitive",
                &["--env", "dev", "--image-ref", &unpinned],
            ),
            "pinned by digest",
        ),
        (
            args(
                "enable-primitive",
                &["--env", "dev", "--image-ref", &latest],
            ),
            "moving tags",
        ),
        (
            args(
                "enable-primitive",
                &[
                    "--env",
                    "dev",
                    "--image-ref",
                    &good,
                    "--smoke-image-ref",
                    &unpinned,
                ],
            ),
            "pinned by digest",
        ),
        (args("enable-primitive", &["--env", "dev"]), "--image-ref"),
        (
            args("disable-primitive", &["--env", "none"]),
            "must be one of dev",
        ),
        (
            vec![
                "disable-primitive",
                "--kind",
                "domain",
                "--name",
                "Orders",
                "--version",
                "v0",
                "--env",
                "dev",
            ],
            "lowercase kebab-case",
        ),
        (
            args("promote-primitive", &["--from", "dev", "--to", "dev"]),
            "must differ from --from",
        ),
        (
            args("promote-primitive", &["--from", "dev", "--to", "moon"]),
            "--to \"moon\": must be one of",
        ),
        (args("promote-primitive", &["--from", "dev"]), "--to"),
        (
            vec![
                "retire-primitive",
                "--kind",
                "domain",
                "--name",
                "orders\n",
                "--version",
                "v0",
            ],
            "lowercase kebab-case",
        ),
        (
            vec!["retire-primitive", "--kind", "domain", "--name", "orders"],
            "--version",
        ),
        (vec!["upgrade-wiring"], "--all"),
        (
            vec![
                "upgrade-wiring",
                "--all",
                "--kind",
                "domain",
                "--name",
                "orders",
                "--version",
                "v0",
            ],
            "cannot be used with",
        ),
        (vec!["upgrade-wiring", "--kind", "domain"], "--name"),
        (
            vec!["upgrade-wiring", "--all", "--via-workflow"],
            "the workflow upgrades one primitive",
        ),
        (
            args(
                "disable-primitive",
                &["--env", "dev", "--dry-run", "--open-pr"],
            ),
            "cannot be used with",
        ),
        (
            args("disable-primitive", &["--env", "dev", "--wait"]),
            "--via-workflow",
        ),
        (
            args(
                "disable-primitive",
                &["--env", "dev", "--via-workflow", "--ref", "a..b"],
            ),
            "plain branch name",
        ),
    ];
    for (case, rule) in cases {
        let delivers = ["--open-pr", "--via-workflow", "--wait"];
        let deliveries: &[&[&str]] = if case.iter().any(|a| delivers.contains(a)) {
            &[&[]]
        } else {
            &[
                &[],
                &["--open-pr", "--repo", "ameideio/ameide-gitops"],
                &["--via-workflow", "--repo", "ameideio/ameide-gitops"],
            ]
        };
        for delivery in deliveries {
            let mut run = case.clone();
            run.extend(delivery.iter());
            let out = world.xtask_in(&dir, &run);
            assert_eq!(code(&out), 2, "{run:?}\n{}", text(&out));
            assert!(
                stderr(&out).contains(rule),
                "{run:?}: expected {rule:?}\n{}",
                text(&out)
            );
        }
        let mut run = case.clone();
        run.push("--json");
        let out = world.xtask_in(&dir, &run);
        assert_eq!(code(&out), 2, "{run:?}");
        let report = json(&out);
        assert_eq!(report["operation"], "invalid", "{run:?}: {report}");
        assert!(
            report["errors"][0].as_str().unwrap().contains(rule),
            "{run:?}: {report}"
        );
    }
    assert_eq!(snapshot(&dir), before, "an invalid run changed the tree");
    assert_eq!(
        world.server.requests().len(),
        requests,
        "an invalid run asked GitHub"
    );
    assert_eq!(world.remote_tip("enable/domain-orders-v0-dev"), None);
}
