//! End to end: `preview` as built, in a temporary copy of the repository committed as `main`,
//! with real git and real helm. Each test changes the copy (untracked, unstaged or committed on a
//! branch) and checks what the preview says against what the files themselves say: the envs and
//! namespaces of the cluster file, the objects written into the value files.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::{json, Value as Json};
use support::{code, copy_content, stderr, stdout, tool, TempDir};

const CLUSTER_FILE: &str = "config/clusters/azure.yaml";
const DEFAULT_DENY: &str = "environments/_shared/components/platform/network/default-deny";
const DEFAULT_DENY_VALUES: &str = "sources/values/_shared/platform/default-deny.yaml";

struct Repo {
    dir: TempDir,
    helm: PathBuf,
}

impl Repo {
    /// A copy of the tracked content committed as `main` in a fresh repository.
    fn committed() -> Repo {
        let dir = TempDir::new("preview-e2e");
        copy_content(dir.path());
        std::fs::write(dir.path().join(".gitignore"), "/.cache/\n").unwrap();
        let repo = Repo {
            dir,
            helm: tool("helm3"),
        };
        support::git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
        repo.commit("base");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn commit(&self, message: &str) {
        support::git(self.path(), &["add", "--all"]);
        support::git(self.path(), &["commit", "--quiet", "-m", message]);
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.path().join(path), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(self.path())
            .env("AMEIDE_HELM", &self.helm)
            .env_remove("AMEIDE_HELM_VERSION")
            .env_remove("AMEIDE_CACHE_DIR")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("running xtask")
    }

    /// `preview --base main` in `format`; it must exit 0 whatever it shows.
    fn preview(&self, format: &str) -> Output {
        let out = self.run(&["preview", "--base", "main", "--format", format]);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        out
    }

    fn json(&self) -> Json {
        support::json(&self.preview("json"))
    }

    fn markdown(&self) -> String {
        stdout(&self.preview("markdown"))
    }

    /// (env, namespace) of every entry of the cluster file, in file order.
    fn envs(&self) -> Vec<(String, String)> {
        let entries: Vec<serde_norway::Value> =
            serde_norway::from_str(&self.read(CLUSTER_FILE)).unwrap();
        entries
            .iter()
            .map(|e| {
                let field = |k: &str| e[k].as_str().unwrap().to_owned();
                (field("env"), field("namespace"))
            })
            .collect()
    }
}

/// (name, env, change) of every Application the preview lists, in its order.
fn applications(preview: &Json) -> Vec<(String, String, String)> {
    preview["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let field = |k: &str| a[k].as_str().unwrap().to_owned();
            (field("name"), field("env"), field("change"))
        })
        .collect()
}

/// (apiVersion, kind, namespace, name, change) of the objects of the Application `name`.
fn objects(preview: &Json, name: &str) -> Vec<(String, String, String, String, String)> {
    let app = preview["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {preview:#}"));
    app["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let field = |k: &str| o[k].as_str().unwrap().to_owned();
            (
                field("apiVersion"),
                field("kind"),
                field("namespace"),
                field("name"),
                field("change"),
            )
        })
        .collect()
}

fn object(parts: [&str; 5]) -> (String, String, String, String, String) {
    let [a, k, ns, n, c] = parts.map(str::to_owned);
    (a, k, ns, n, c)
}

#[test]
fn an_unchanged_tree_previews_nothing() {
    let repo = Repo::committed();
    assert_eq!(repo.json(), json!({"base": "main", "applications": []}));
    let md = repo.markdown();
    assert!(md.starts_with("<!-- ameide-gitops-preview -->\n"), "{md}");
    assert!(
        md.contains("No Application and no rendered object changes"),
        "{md}"
    );
    assert!(!md.contains("<details>"), "{md}");
}

#[test]
fn a_new_primitive_adds_its_applications_and_their_objects() {
    let repo = Repo::committed();
    let out = repo.run(&[
        "scaffold-primitive",
        "--kind",
        "domain",
        "--name",
        "orders",
        "--version",
        "v0",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let preview = repo.json();
    let envs = repo.envs();
    let expected: Vec<(String, String, String)> = envs
        .iter()
        .map(|(env, _)| {
            (
                format!("{env}-domain-orders-v0"),
                env.clone(),
                "added".into(),
            )
        })
        .collect();
    assert_eq!(applications(&preview), expected);
    for (env, namespace) in &envs {
        let name = format!("{env}-domain-orders-v0");
        assert_eq!(
            objects(&preview, &name),
            [
                object([
                    "argoproj.io/v1alpha1",
                    "Application",
                    "argocd",
                    &name,
                    "added"
                ]),
                object([
                    "v1",
                    "ConfigMap",
                    namespace,
                    "domain-orders-v0-disabled",
                    "added"
                ]),
            ],
            "{name}"
        );
    }
    let md = repo.markdown();
    for (env, _) in &envs {
        assert!(
            md.contains(&format!("| {env} | 1 | 0 | 0 | 1 | 0 | 0 |")),
            "{md}"
        );
        assert!(
            md.contains(&format!("<summary><b>added</b> <code>{env}-domain-orders-v0</code>: 1 object added</summary>")),
            "{md}"
        );
    }
    assert!(!md.contains("Prune"), "{md}");
}

#[test]
fn a_deleted_component_removes_its_applications_with_a_prune_warning() {
    let repo = Repo::committed();
    std::fs::remove_dir_all(repo.path().join(DEFAULT_DENY)).unwrap();
    let preview = repo.json();
    let envs = repo.envs();
    let expected: Vec<(String, String, String)> = envs
        .iter()
        .map(|(env, _)| (format!("{env}-default-deny"), env.clone(), "removed".into()))
        .collect();
    assert_eq!(applications(&preview), expected);
    // The NetworkPolicies the value file lists, by name.
    let values: serde_norway::Value =
        serde_norway::from_str(&repo.read(DEFAULT_DENY_VALUES)).unwrap();
    let mut policies: Vec<String> = values["manifests"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| {
            let doc: serde_norway::Value = serde_norway::from_str(m.as_str().unwrap()).unwrap();
            doc["metadata"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    policies.sort();
    assert_eq!(policies.len(), 2);
    for (env, namespace) in &envs {
        let name = format!("{env}-default-deny");
        let mut expected = vec![object([
            "argoproj.io/v1alpha1",
            "Application",
            "argocd",
            &name,
            "removed",
        ])];
        for policy in &policies {
            expected.push(object([
                "networking.k8s.io/v1",
                "NetworkPolicy",
                namespace,
                policy,
                "removed",
            ]));
        }
        assert_eq!(objects(&preview, &name), expected, "{name}");
    }
    let md = repo.markdown();
    assert!(
        !repo.path().join(DEFAULT_DENY).exists(),
        "the working tree is left as it was"
    );
    let warning = md.find("> [!WARNING]").expect("a prune warning");
    assert!(warning < md.find("<details>").unwrap(), "{md}");
    for (env, namespace) in &envs {
        let line = md
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "> **Prune in {env}**: Argo CD deletes the Application `{env}-default-deny`"
                ))
            })
            .unwrap_or_else(|| panic!("no prune warning for {env}:\n{md}"));
        for policy in &policies {
            let label = format!("`networking.k8s.io/v1/NetworkPolicy {namespace}/{policy}`");
            assert!(line.contains(&label), "{label} not in {line}");
        }
    }
}

#[test]
fn a_changed_value_shows_the_new_value_in_the_changed_objects_diff() {
    let repo = Repo::committed();
    support::git(repo.path(), &["checkout", "--quiet", "-b", "change"]);
    let text = repo.read(DEFAULT_DENY_VALUES);
    let edited = text.replacen(
        "      name: default-deny-ingress\n",
        "      name: default-deny-ingress\n      labels:\n        preview-test: new-value-4711\n",
        1,
    );
    assert_ne!(edited, text);
    repo.write(DEFAULT_DENY_VALUES, &edited);
    repo.commit("label the default-deny policy");

    let preview = repo.json();
    let envs = repo.envs();
    let expected: Vec<(String, String, String)> = envs
        .iter()
        .map(|(env, _)| (format!("{env}-default-deny"), env.clone(), "changed".into()))
        .collect();
    assert_eq!(applications(&preview), expected);
    for (env, namespace) in &envs {
        let name = format!("{env}-default-deny");
        assert_eq!(
            objects(&preview, &name),
            [object([
                "networking.k8s.io/v1",
                "NetworkPolicy",
                namespace,
                "default-deny-ingress",
                "changed"
            ])]
        );
        let diff = preview["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name.as_str())
            .unwrap()["objects"][0]["diff"]
            .as_str()
            .unwrap()
            .to_owned();
        let added: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .collect();
        assert_eq!(
            added,
            ["+  labels:", "+    preview-test: new-value-4711"],
            "{diff}"
        );
        assert!(
            !diff
                .lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---")),
            "{diff}"
        );
    }
    let md = repo.markdown();
    assert!(md.contains("+    preview-test: new-value-4711\n"), "{md}");
    // The base tree shares the working tree's files; undoing the change there changed nothing here.
    assert_eq!(repo.read(DEFAULT_DENY_VALUES), edited);
    assert_eq!(support::git(repo.path(), &["status", "--porcelain"]), "");
    assert!(!md.contains("Prune"), "{md}");
}

#[test]
fn a_secret_in_the_change_shows_nowhere() {
    let repo = Repo::committed();
    // Assembled at run time, so that no scanner takes this file for a credential.
    let value = format!("pw-{}-{}", "preview", std::process::id());
    let encoded = base64(value.as_bytes());
    let text = repo.read(DEFAULT_DENY_VALUES)
        + &format!(
            "  - |\n    apiVersion: v1\n    kind: Secret\n    metadata:\n      name: db\n    stringData:\n      password: {value}\n    data:\n      token: {encoded}\n  - |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: settings\n    data:\n      dbPassword: {value}\n"
        );
    repo.write(DEFAULT_DENY_VALUES, &text);

    let output_file = repo.path().join(".cache/preview.md");
    std::fs::create_dir_all(output_file.parent().unwrap()).unwrap();
    let to_file = repo.run(&[
        "preview",
        "--base",
        "main",
        "--output",
        output_file.to_str().unwrap(),
    ]);
    assert_eq!(code(&to_file), 0, "{}", stderr(&to_file));
    let json_out = repo.preview("json");
    let md_out = repo.preview("markdown");
    let outputs = [
        stdout(&json_out),
        stderr(&json_out),
        stdout(&md_out),
        stderr(&md_out),
        stdout(&to_file),
        stderr(&to_file),
        std::fs::read_to_string(&output_file).unwrap(),
    ];
    for (i, out) in outputs.iter().enumerate() {
        assert!(!out.contains(&value), "output {i} shows the secret:\n{out}");
        assert!(
            !out.contains(&encoded),
            "output {i} shows it encoded:\n{out}"
        );
    }
    // The objects are still there, redacted.
    let preview = support::json(&json_out);
    for (env, namespace) in repo.envs() {
        let name = format!("{env}-default-deny");
        let found = objects(&preview, &name);
        assert_eq!(
            found,
            [
                object(["v1", "ConfigMap", &namespace, "settings", "added"]),
                object(["v1", "Secret", &namespace, "db", "added"]),
            ]
        );
    }
    let md = &outputs[2];
    assert!(md.contains("+  password: <redacted>\n"), "{md}");
    assert!(md.contains("+  token: <redacted>\n"), "{md}");
    assert!(md.contains("+  dbPassword: <redacted>\n"), "{md}");
}

/// Standard base64 with padding, as a Secret's `data` holds it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_base_that_is_no_commit_is_refused_with_the_fix() {
    let repo = Repo::committed();
    let out = repo.run(&["preview", "--base", "origin/nope", "--format", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // JSON was asked for: stdout is the preview's shape, empty, with the error (README, JSON output).
    let report: Json = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["base"], "origin/nope");
    assert_eq!(report["applications"], json!([]));
    assert!(
        report["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("is not a commit here")),
        "{report}"
    );
    let message = stderr(&out);
    assert!(
        message.contains("--base \"origin/nope\" is not a commit here"),
        "{message}"
    );
    assert!(message.contains("--base REV"), "{message}");
}
