//! One model of the ApplicationSet: edit it in a temporary copy and every command follows, since
//! `scaffold-primitive`, `apps` and `verify` all ask the same discovery what it generates.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use support::{code, copy_content, json, stderr, stdout, tool, TempDir};

const APPSET: &str = "argocd/applicationsets/ameide.yaml";
const OVERLAY_LAYER: &str =
    "              - $values/sources/values/env/{{ .env }}/{{ .domain }}/{{ .name }}.yaml\n";
const NAME_TEMPLATE: &str = "name: \"{{ .env }}-{{ .name }}\"";
/// The existing component's env overlay: it enables the primitive in dev.
const CATALOG_OVERLAY: &str = "sources/values/env/dev/apps/domain-catalog-v0.yaml";
const PINNED: &str =
    "r.io/x@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

impl Repo {
    /// A copy of the repository whose ApplicationSet has `edit` applied.
    fn with_appset(edit: impl Fn(&str) -> String) -> Repo {
        let dir = TempDir::new("appset-model");
        copy_content(dir.path());
        let path = dir.path().join(APPSET);
        let before = std::fs::read_to_string(&path).unwrap();
        let after = edit(&before);
        assert_ne!(before, after, "the edit changes the ApplicationSet");
        std::fs::write(&path, after).unwrap();
        Repo {
            dir,
            helm: tool("helm3"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env("AMEIDE_CACHE_DIR", self.path().join(".cache/test"))
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("running xtask")
    }

    fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if !path.ends_with(".cache") {
                        stack.push(path);
                    }
                } else {
                    out.push(
                        path.strip_prefix(self.path())
                            .unwrap()
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        out.sort();
        out
    }
}

fn application<'a>(apps: &'a Json, name: &str) -> &'a Json {
    apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no Application {name} in {apps:#}"))
}

#[test]
fn dropping_the_env_overlay_layer_is_followed_by_scaffold_apps_and_verify() {
    let repo = Repo::with_appset(|text| text.replace(OVERLAY_LAYER, ""));

    // apps: the overlay is no layer of the Application any more, so the primitive is disabled.
    let out = repo.run(&["apps", "--json"]);
    let apps = json(&out);
    let catalog = application(&apps, "dev-domain-catalog-v0");
    let layers: Vec<&str> = catalog["valueFiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!layers.contains(&CATALOG_OVERLAY), "{layers:?}");
    assert_eq!(layers.len(), 5, "{layers:?}");
    assert_ne!(catalog["enabled"], Json::Bool(true), "{catalog:#}");

    // verify: the overlay now does nothing, and verify says so.
    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let orphans: Vec<&Json> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "orphan-values")
        .collect();
    assert!(
        orphans.iter().any(|p| p["path"] == CATALOG_OVERLAY),
        "{report:#}"
    );

    // scaffold-primitive: enabling in dev writes an overlay the ApplicationSet no longer reads,
    // so the guardrail that expects the primitive in dev fails, and nothing is written.
    let before = repo.files();
    let out = repo.run(&[
        "scaffold-primitive",
        "--kind",
        "domain",
        "--name",
        "orders",
        "--version",
        "v0",
        "--env",
        "dev",
        "--enable",
        "--image-ref",
        PINNED,
        "--json",
    ]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["operation"], "failed");
    let failed: Vec<&str> = report["guardrails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["status"] == "failed")
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["helm template dev-domain-orders-v0 (as generated)"],
        "{report:#}"
    );
    assert_eq!(repo.files(), before);
}

#[test]
fn a_longer_name_template_is_followed_by_scaffold_apps_and_verify() {
    let suffix = "-application-of-ameide";
    let repo = Repo::with_appset(|text| {
        text.replace(
            NAME_TEMPLATE,
            &format!("name: \"{{{{ .env }}}}-{{{{ .name }}}}{suffix}\""),
        )
    });

    let apps = json(&repo.run(&["apps", "--json"]));
    application(&apps, &format!("dev-domain-catalog-v0{suffix}"));
    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let names = json(&out)["applications"].clone();
    assert!(
        names
            .as_array()
            .unwrap()
            .contains(&Json::from(format!("production-domain-catalog-v0{suffix}"))),
        "{names:#}"
    );

    // scaffold-primitive: the names it checks are the ones the template now gives, all of them.
    let before = repo.files();
    let name = "ordersinvoicesandtax";
    let out = repo.run(&[
        "scaffold-primitive",
        "--kind",
        "domain",
        "--name",
        name,
        "--version",
        "v0",
        "--with-smoke",
    ]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    for env in ["staging", "production"] {
        let long = format!("{env}-domain-{name}-v0-smoke{suffix}");
        assert!(
            err.contains(&format!("\"{long}\" is {} characters", long.len())),
            "{err}"
        );
    }
    // Only dev's fits (4 + 7 + 20 + 9 + 22 = 62); production's is the longest: 11 + 7 + n + 9 + 22
    // <= 63 holds for n <= 14.
    assert!(!err.contains("\"dev-domain-"), "{err}");
    assert!(
        err.contains("the longest --name that fits is 14 characters"),
        "{err}"
    );
    assert_eq!(repo.files(), before);
}
