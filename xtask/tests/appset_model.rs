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

/// One case of the Go template function set: a template for one annotation, rendered with the
/// parameters of [`PARAMS`], and what Argo CD makes of it: the text, or a problem with these words.
struct Case {
    name: &'static str,
    /// The Argo CD file or test the case reproduces.
    source: &'static str,
    options: &'static str,
    template: &'static str,
    want: Result<&'static str, (&'static str, &'static str)>,
}

/// The parameter set every case renders with (a list generator element).
const PARAMS: &str = r#"{"branch": "feat/a_really+long_pull_request_name_to_test_argo_slugification_and_branch_name_shortening_feature", "word": "feat/areallylongpullrequestnametotestargoslugificationandbranchnameshorteningfeature", "mixed": "-My_App.V2/", "n": 3, "j": "{\"x\": [1, 2]}", "y": "hello: world", "ya": "- hello world\n- bonjour tout le monde", "notyaml": "non\n compliant\n yaml", "data": "a data string", "doc": {"foo": {"bar": {"bool": true, "number": 2, "str": "Hello world"}}}}"#;

const ERROR: &str = r#"["missingkey=error"]"#;

const CASES: &[Case] = &[
    Case {
        name: "slugify without smart truncation cuts at the length",
        source: "applicationset/utils/utils_test.go TestSlugify",
        options: ERROR,
        template: "{{ slugify 50 false .branch }}",
        want: Ok("feat-a-really-long-pull-request-name-to-test-argo"),
    },
    Case {
        name: "slugify with smart truncation cuts after a whole word",
        source: "applicationset/utils/utils_test.go TestSlugify",
        options: ERROR,
        template: "{{ slugify 53 true .branch }}",
        want: Ok("feat-a-really-long-pull-request-name-to-test-argo"),
    },
    Case {
        name: "slugify with smart truncation of one long word keeps the first word",
        source: "applicationset/utils/utils_test.go TestSlugify",
        options: ERROR,
        template: "{{ slugify 50 true .word }}",
        want: Ok("feat"),
    },
    Case {
        name: "slugify without smart truncation of one long word cuts inside it",
        source: "applicationset/utils/utils_test.go TestSlugify",
        options: ERROR,
        template: "{{ slugify 50 false .word }}",
        want: Ok("feat-areallylongpullrequestnametotestargoslugifica"),
    },
    Case {
        name: "slugify defaults to 50 characters with smart truncation",
        source: "applicationset/utils/utils.go SlugifyName",
        options: ERROR,
        template: "{{ slugify .branch }}",
        want: Ok("feat-a-really-long-pull-request-name-to-test-argo"),
    },
    Case {
        name: "slugify in a pipeline takes the piped value as the name",
        source: "applicationset/utils/utils.go SlugifyName",
        options: ERROR,
        template: "{{ .word | slugify 50 false | upper }}",
        want: Ok("FEAT-AREALLYLONGPULLREQUESTNAMETOTESTARGOSLUGIFICA"),
    },
    Case {
        name: "slugify lowercases and turns dots and underscores into single dashes",
        source: "applicationset/utils/utils.go SlugifyName, gosimple/slug Make",
        options: ERROR,
        template: "{{ slugify .mixed }}",
        want: Ok("my-app-v2"),
    },
    Case {
        name: "slugify with a length that is no Go int fails as Go's type assertion does",
        source: "applicationset/utils/utils.go SlugifyName",
        options: ERROR,
        template: "{{ slugify .n .branch }}",
        want: Err((
            "appset-template",
            "interface conversion: interface {} is float64, not int",
        )),
    },
    Case {
        name: "normalize lowercases, keeps dots and trims dashes and dots at the ends",
        source: "applicationset/utils/template_functions.go SanitizeName",
        options: ERROR,
        template: "{{ normalize .mixed }}",
        want: Ok("my-app.v2"),
    },
    Case {
        name: "normalize in parentheses and a pipeline",
        source: "applicationset/utils/template_functions.go SanitizeName",
        options: ERROR,
        template: "{{ printf \"%s-%s\" (normalize .mixed) (.mixed | normalize) }}",
        want: Ok("my-app.v2-my-app.v2"),
    },
    Case {
        name: "fromJson reads any JSON value, as sprig's does",
        source: "applicationset/utils/utils.go (sprig's fromJson)",
        options: ERROR,
        template: "{{ (fromJson .j).x | toJson }} {{ fromJson \"[3]\" | first }}",
        want: Ok("[1,2] 3"),
    },
    Case {
        name: "fromJson of text that is no JSON is nil, as sprig's is",
        source: "applicationset/utils/utils.go (sprig's fromJson)",
        options: ERROR,
        template: "{{ fromJson .data | toJson }}",
        want: Ok("null"),
    },
    Case {
        name: "toYaml writes YAML without the last newline",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate toYaml",
        options: ERROR,
        template: "{{ toYaml .doc | indent 2 }}",
        want: Ok("  foo:\n    bar:\n      bool: true\n      number: 2\n      str: Hello world"),
    },
    Case {
        name: "fromYaml reads a map",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate fromYaml",
        options: ERROR,
        template: "{{ get (fromYaml .y) \"hello\" }}",
        want: Ok("world"),
    },
    Case {
        name: "fromYaml of text that is no map fails the template",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate fromYaml error",
        options: ERROR,
        template: "{{ get (fromYaml .notyaml) \"hello\" }}",
        want: Err((
            "appset-template",
            "error calling fromYaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}",
        )),
    },
    Case {
        name: "fromYamlArray reads a list",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate fromYamlArray",
        options: ERROR,
        template: "{{ fromYamlArray .ya | last }}",
        want: Ok("bonjour tout le monde"),
    },
    Case {
        name: "fromYamlArray of text that is no list fails the template",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate fromYamlArray error",
        options: ERROR,
        template: "{{ fromYamlArray .notyaml | last }}",
        want: Err((
            "appset-template",
            "error calling fromYamlArray: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type []interface {}",
        )),
    },
    Case {
        name: "a field of a string fails with Go's message",
        source: "applicationset/utils/utils_test.go TestRenderTemplateParamsGoTemplate Test template error",
        options: ERROR,
        template: "{{ .data.test }}",
        want: Err((
            "appset-template",
            "can't evaluate field test in type interface {}",
        )),
    },
    Case {
        name: "a missing key fails under missingkey=error",
        source: "applicationset/utils/utils_test.go lookup missing value with missingkey=error",
        options: ERROR,
        template: "--> {{ .doesnotexist }} <--",
        want: Err(("appset-template", "map has no entry for key \"doesnotexist\"")),
    },
    Case {
        name: "a missing key is no value without options",
        source: "applicationset/utils/utils_test.go lookup missing value with missingkey=default",
        options: "[]",
        template: "--> {{ .doesnotexist }} <--",
        want: Ok("--> <no value> <--"),
    },
    Case {
        name: "a chain through a missing key is no value under missingkey=default",
        source: "text/template exec.go evalField (mapInvalid)",
        options: r#"["missingkey=default"]"#,
        template: "{{ .doesnotexist.deeper }}",
        want: Ok("<no value>"),
    },
    Case {
        name: "a chain through a missing key fails under missingkey=zero",
        source: "text/template exec.go evalField (mapZeroValue)",
        options: r#"["missingkey=zero"]"#,
        template: "{{ .doesnotexist.deeper }}",
        want: Err(("appset-template", "nil pointer evaluating interface {}.deeper")),
    },
    Case {
        name: "the later of two missingkey options wins",
        source: "applicationset/utils/utils.go Replace (template.Option per option)",
        options: r#"["missingkey=error", "missingkey=invalid"]"#,
        template: "{{ .doesnotexist }}",
        want: Ok("<no value>"),
    },
    Case {
        name: "an option Go does not know is refused",
        source: "applicationset/utils/utils.go Replace (template.Option panics)",
        options: r#"["missingkey = error"]"#,
        template: "{{ .data }}",
        want: Err(("appset", "unrecognized option: missingkey = error")),
    },
    Case {
        name: "a template defines and calls its own named templates",
        source: "applicationset/utils/utils.go Replace (each template parsed on its own)",
        options: ERROR,
        template: "{{- define \"greet\" }}hi {{ .data }}{{ end -}} [{{ template \"greet\" . }}]",
        want: Ok("[hi a data string]"),
    },
    Case {
        name: "a template calling a name no template of its own defines fails",
        source: "applicationset/utils/utils.go Replace (each template parsed on its own)",
        options: ERROR,
        template: "{{ template \"greet\" . }}",
        want: Err(("appset-template", "template \"greet\" not defined")),
    },
    Case {
        name: "env is not defined",
        source: "applicationset/utils/utils.go init",
        options: ERROR,
        template: "{{ env \"HOME\" }}",
        want: Err(("appset", "function \"env\" not defined")),
    },
    Case {
        name: "expandenv is not defined",
        source: "applicationset/utils/utils.go init",
        options: ERROR,
        template: "{{ expandenv \"$HOME\" }}",
        want: Err(("appset", "function \"expandenv\" not defined")),
    },
    Case {
        name: "getHostByName is not defined although helm has it",
        source: "applicationset/utils/utils.go init",
        options: ERROR,
        template: "{{ getHostByName \"localhost\" }}",
        want: Err(("appset", "function \"getHostByName\" not defined")),
    },
    Case {
        name: "helm's include is not defined",
        source: "applicationset/utils/utils_test.go Test Parse Error",
        options: ERROR,
        template: "{{ include \"x\" . }}",
        want: Err(("appset", "function \"include\" not defined")),
    },
    Case {
        name: "helm's toToml is not defined",
        source: "applicationset/utils/utils_test.go Test Parse Error",
        options: ERROR,
        template: "{{ toToml .doc }}",
        want: Err(("appset", "function \"toToml\" not defined")),
    },
];

/// A repository of its own: one ApplicationSet per case, each generating one Application from
/// [`PARAMS`] with the case's template as the annotation `v`.
fn function_cases_repo() -> TempDir {
    let dir = TempDir::new("appset-functions");
    let appsets = dir.path().join("argocd/applicationsets");
    std::fs::create_dir_all(&appsets).unwrap();
    std::fs::create_dir_all(dir.path().join("sources")).unwrap();
    for (i, case) in CASES.iter().enumerate() {
        let template = case.template.replace('\'', "''");
        let text = format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: case-{i}, namespace: argocd}}\nspec:\n  goTemplate: true\n  goTemplateOptions: {options}\n  generators:\n    - list:\n        elements:\n          - {PARAMS}\n  template:\n    metadata:\n      name: case-{i}\n      annotations:\n        v: '{template}'\n    spec:\n      project: default\n      destination: {{server: https://kubernetes.default.svc, namespace: x}}\n      source: {{repoURL: https://github.com/ameideio/ameide-gitops.git, path: charts/x}}\n",
            options = case.options,
        );
        std::fs::write(appsets.join(format!("case-{i:02}.yaml")), text).unwrap();
    }
    dir
}

#[test]
fn the_go_template_functions_are_argo_cd_s_with_helm_3_and_helm_4() {
    let dir = function_cases_repo();
    for helm in ["helm3", "helm4"] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["apps", "--json"])
            .current_dir(dir.path())
            .env("AMEIDE_HELM", tool(helm))
            .env("AMEIDE_CACHE_DIR", dir.path().join(".cache"))
            .output()
            .expect("running xtask");
        let report = json(&out);
        let problems = report["problems"].as_array().unwrap();
        for (i, case) in CASES.iter().enumerate() {
            let name = format!("case-{i}");
            let context = format!("{helm}: {} ({})", case.name, case.source);
            let app = report["applications"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name.as_str());
            let found: Vec<&Json> = problems
                .iter()
                .filter(|p| p["path"] == format!("argocd/applicationsets/case-{i:02}.yaml"))
                .collect();
            match case.want {
                Ok(text) => {
                    let app =
                        app.unwrap_or_else(|| panic!("{context}: no Application; {found:#?}"));
                    assert_eq!(
                        app["manifest"]["metadata"]["annotations"]["v"], text,
                        "{context}"
                    );
                    assert!(found.is_empty(), "{context}: {found:#?}");
                }
                Err((rule, words)) => {
                    assert!(app.is_none(), "{context}: {app:#?}");
                    assert!(
                        found
                            .iter()
                            .any(|p| p["rule"] == rule
                                && p["message"].as_str().unwrap().contains(words)),
                        "{context}: {found:#?}"
                    );
                }
            }
        }
    }
}

fn problems_of<'a>(report: &'a Json, rule: &str) -> Vec<&'a str> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == rule)
        .map(|p| p["message"].as_str().unwrap())
        .collect()
}

const SELF_HEAL: &str = "          selfHeal: true\n";

#[test]
fn a_quoted_boolean_in_the_template_patch_stops_the_whole_application_set() {
    // controllers/template/patch.go applyTemplatePatch: json.Unmarshal of the patch fails, and
    // GenerateApplications' error stops the reconcile (applicationset_controller.go).
    let mut repo =
        Repo::with_appset(|text| text.replace(SELF_HEAL, "          selfHeal: \"true\"\n"));
    for helm in ["helm3", "helm4"] {
        repo.helm = tool(helm);
        let apps = json(&repo.run(&["apps", "--json"]));
        // The cluster-scoped ApplicationSet is another reconcile, and goes on generating.
        let of_ameide: Vec<&Json> = apps["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|app| app["appset"] == "argocd/applicationsets/ameide.yaml")
            .collect();
        assert_eq!(of_ameide, Vec::<&Json>::new(), "{helm}");
        assert!(
            apps["applications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|app| app["appset"] == "argocd/applicationsets/ameide-cluster.yaml"),
            "{helm}: {apps:#}"
        );
        let found = problems_of(&apps, "appset-template");
        assert!(!found.is_empty(), "{helm}: {apps:#}");
        for message in found {
            assert!(
                message.contains("invalid templatePatch: json: cannot unmarshal string into Go struct field spec.syncPolicy.automated.selfHeal of type bool"),
                "{helm}: {message}"
            );
            assert!(
                message.contains("Argo CD generates no Application of this ApplicationSet"),
                "{message}"
            );
        }
    }
    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!problems_of(&json(&out), "appset-template").is_empty());
}

#[test]
fn an_unknown_field_in_the_template_patch_is_dropped_and_reported() {
    // encoding/json ignores unknown fields: the patched Application has no selfheal.
    let repo = Repo::with_appset(|text| {
        text.replace(SELF_HEAL, &format!("{SELF_HEAL}          selfheal: true\n"))
    });
    let apps = json(&repo.run(&["apps", "--json"]));
    let app = application(&apps, "dev-domain-catalog-v0");
    assert_eq!(
        app["manifest"]["spec"]["syncPolicy"]["automated"],
        serde_json::json!({"prune": true, "selfHeal": true})
    );
    let found = problems_of(&apps, "appset-template");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("writes spec.syncPolicy.automated.selfheal, a field Argo CD 3.5's Application does not have: Argo CD drops it"),
        "{}",
        found[0]
    );
}

#[test]
fn a_patched_project_is_reset_to_the_template_s_and_reported() {
    // controllers/template/patch.go: finalApp.Spec.Project = app.Spec.Project.
    let repo = Repo::with_appset(|text| {
        text.replace(
            "  templatePatch: |\n    spec:\n",
            "  templatePatch: |\n    spec:\n      project: default\n",
        )
    });
    let apps = json(&repo.run(&["apps", "--json"]));
    let app = application(&apps, "dev-domain-catalog-v0");
    assert_eq!(app["manifest"]["spec"]["project"], "ameide");
    let found = problems_of(&apps, "appset-template");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("sets spec.project, which Argo CD resets to the template's project"),
        "{}",
        found[0]
    );
}

#[test]
fn template_keys_are_rendered_and_the_namespace_is_the_application_set_s() {
    // utils_test.go TestRenderTemplateKeys; controllers/template/template.go GenerateApplications
    // sets every Application's namespace to the ApplicationSet's.
    let repo = Repo::with_appset(|text| {
        text.replace(
            "      labels:\n",
            "      namespace: elsewhere\n      annotations:\n        \"team-{{ .domain }}\": \"{{ .name }}\"\n      labels:\n",
        )
    });
    let apps = json(&repo.run(&["apps", "--json"]));
    let app = application(&apps, "dev-domain-catalog-v0");
    let metadata = &app["manifest"]["metadata"];
    assert_eq!(
        metadata["annotations"]["team-apps"], "domain-catalog-v0",
        "{metadata:#}"
    );
    assert_eq!(metadata["namespace"], "argocd", "{metadata:#}");
}

#[test]
fn fields_that_keep_existing_applications_as_they_are_are_refused_by_name() {
    // applicationset_types.go: syncPolicy.applicationsSync (utils.DefaultPolicy) and
    // ignoreApplicationDifferences (applicationset_controller.go BuildIgnoreDiffConfig).
    let repo = Repo::with_appset(|text| {
        text.replace(
            "    preserveResourcesOnDeletion: true\n",
            "    preserveResourcesOnDeletion: true\n    applicationsSync: create-only\n  ignoreApplicationDifferences:\n    - jsonPointers: [/spec/syncPolicy]\n  preservedFields:\n    annotations: [notes]\n",
        )
    });
    let apps = json(&repo.run(&["apps", "--json"]));
    let found = problems_of(&apps, "appset");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("spec.syncPolicy.applicationsSync is not emulated offline")
            && found[0].contains("(or set it to sync)"),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("spec.ignoreApplicationDifferences is not emulated offline"),
        "{}",
        found[1]
    );
    // The default policy, written out, is what the model does.
    let repo = Repo::with_appset(|text| {
        text.replace(
            "    preserveResourcesOnDeletion: true\n",
            "    preserveResourcesOnDeletion: true\n    applicationsSync: sync\n",
        )
    });
    let apps = json(&repo.run(&["apps", "--json"]));
    assert_eq!(problems_of(&apps, "appset"), Vec::<&str>::new());
}

#[test]
fn a_define_in_the_template_patch_is_evaluated_as_argo_cd_does() {
    // controllers/template/template.go renderTemplatePatch: the patch is one Go template, and
    // its own define blocks are templates it can call.
    let mut repo = Repo::with_appset(|text| {
        text.replace("  templatePatch: |\n    spec:\n", "  templatePatch: |\n    {{- define \"release\" }}{{ .name }}-release{{ end }}\n    spec:\n")
            .replace("releaseName: {{ .name | quote }}", "releaseName: {{ template \"release\" . }}")
    });
    for helm in ["helm3", "helm4"] {
        repo.helm = tool(helm);
        let apps = json(&repo.run(&["apps", "--json"]));
        assert_eq!(
            problems_of(&apps, "appset-template"),
            Vec::<&str>::new(),
            "{helm}"
        );
        let app = application(&apps, "dev-domain-catalog-v0");
        assert_eq!(
            app["component"], "domain-catalog-v0-release",
            "{helm}: {app:#}"
        );
    }
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
