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

    /// A copy of the repository with `files` (repository path, text) added, rendering with the
    /// pinned `helm` ("helm3" or "helm4").
    fn with_files(helm: &str, files: &[(&str, &str)]) -> Repo {
        let dir = TempDir::new("appset-model");
        copy_content(dir.path());
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Repo {
            dir,
            helm: tool(helm),
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

/// A second ApplicationSet whose git files generator reads `probe/*.yaml`, with a generator-level
/// template: what Argo CD generates from it depends on the globbing, the template merge and the
/// YAML semantics of Argo CD's Go code.
const PROBE_APPSET: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: probe
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - git:
        repoURL: https://github.com/ameideio/ameide-gitops.git
        revision: main
        files:
          - path: probe/*.yaml
        template:
          metadata:
            annotations:
              octal: 'generator-{{ .octal }}'
          spec:
            project: ameide
            destination:
              server: https://kubernetes.default.svc
  template:
    metadata:
      name: 'probe-{{ .path.basenameNormalized }}'
      annotations:
        from-appset: '{{ .path.filename }}'
        octal: '{{ .octal }}'
        exp: '{{ .exp }}'
        big: '{{ .big }}'
        flag: '{{ .flag }}'
        quoted: '{{ .quoted }}'
        half: '{{ .half }}'
        kinds: '{{ kindOf .flag }} {{ kindOf .octal }} {{ kindOf .quoted }}'
    spec:
      project: ameide
      destination:
        server: https://kubernetes.default.svc
        namespace: probe
      source:
        repoURL: https://github.com/ameideio/ameide-gitops.git
        targetRevision: main
        path: sources/charts/foundation/common/raw-manifests
"#;
/// Values that go-yaml v2 (YAML 1.1) reads differently from YAML 1.2.
const PROBE_FILE: &str =
    "octal: 0123\nexp: 1e3\nbig: 1000000\nflag: yes\nquoted: \"0123\"\nhalf: 0.5\n";

/// The probe Applications `apps` lists: name -> annotations.
fn probes(repo: &Repo) -> Vec<(String, Json)> {
    let out = repo.run(&["apps", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let apps = json(&out);
    assert_eq!(apps["problems"], Json::Array(vec![]), "{apps:#}");
    apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"].as_str().unwrap().starts_with("probe-"))
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["manifest"]["metadata"]["annotations"].clone(),
            )
        })
        .collect()
}

/// Argo CD's default globbing (`git ls-files`), its generator-template merge (mergo) and its YAML
/// (go-yaml v2 into float64 parameters, printed by Go's `%v`), rendered by helm's engine.
fn a_generator_file_and_template_give_what_argo_cd_gives(helm: &str) {
    let repo = Repo::with_files(
        helm,
        &[
            ("argocd/applicationsets/probe.yaml", PROBE_APPSET),
            ("probe/a.yaml", PROBE_FILE),
            ("probe/deeper/b.yaml", PROBE_FILE),
        ],
    );
    let expected = |file: &str| {
        serde_json::json!({
            // The generator's template wins where it sets a field; the rest is spec.template's.
            "octal": "generator-83",
            "from-appset": file,
            "exp": "1000",
            "big": "1e+06",
            "flag": "true",
            "quoted": "0123",
            "half": "0.5",
            "kinds": "bool float64 string",
        })
    };
    // `*` crosses folders by default (a Git pathspec), so probe/deeper/b.yaml is found too.
    assert_eq!(
        probes(&repo),
        // In Argo CD's order: the files sorted.
        [
            ("probe-probe".to_owned(), expected("a.yaml")),
            ("probe-deeper".to_owned(), expected("b.yaml")),
        ]
    );
    // Under the new globbing `*` stays in probe/.
    let settings = repo.path().join("config/argocd.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let doublestar = text.replace(
        "enableNewGitFileGlobbing: false",
        "enableNewGitFileGlobbing: true",
    );
    assert_ne!(text, doublestar, "config/argocd.yaml declares the globbing");
    std::fs::write(&settings, doublestar).unwrap();
    assert_eq!(
        probes(&repo),
        [("probe-probe".to_owned(), expected("a.yaml"))]
    );
}

#[test]
fn a_generator_file_and_template_give_what_argo_cd_gives_with_helm3() {
    a_generator_file_and_template_give_what_argo_cd_gives("helm3");
}

#[test]
fn a_generator_file_and_template_give_what_argo_cd_gives_with_helm4() {
    a_generator_file_and_template_give_what_argo_cd_gives("helm4");
}
