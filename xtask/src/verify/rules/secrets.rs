//! `secret-literal` (no credential in any file of the tree) and `secret-data` (no Secret with
//! data in any rendered output): the repository holds no secret values (SPEC section 7).
//!
//! What counts as a literal credential:
//! - a key whose name ends, case- and separator-insensitively, in password, passwd, token,
//!   secret, apiKey, privateKey, clientSecret or accessKey (`dbPassword`, `client_secret`,
//!   `api-key`, `DB_PASSWORD`), and also an env entry `{name: DB_PASSWORD, value: ...}`, holding
//!   a non-empty string (a number too for passwords), placeholders like `changeme` included;
//! - anywhere in any file, comments included: a PEM private key, or a GitHub, AWS, Slack, Google
//!   API token or a JWT by its well-known shape.
//!
//! What is fine: an empty value, `null`, a boolean, a mapping or list (for example
//! `secretKeyRef`), a reference resolved at deploy time (`{{ ... }}`, `${...}`,
//! `<path:...>` for the Argo CD Vault plugin, `ref+...` for vals), and keys that name a Secret
//! object rather than hold one (`existingSecret`, `secretName`, `secretRef`).
//! Keys inside block scalars (a manifest in `manifests: - |`) are checked like any other.
//! Messages say where and what kind, never the value.

use serde_yaml::Value;

use super::yaml::{scan, Key};
use super::{Application, Problem, SourceFile};

const CREDENTIAL_SUFFIXES: [&str; 8] = [
    "password",
    "passwd",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "clientsecret",
    "accesskey",
];
/// Names a Secret object (by name), although it ends like a credential.
const SECRET_NAME_SUFFIXES: [&str; 1] = ["existingsecret"];

/// `secret-literal` on one file of the tree.
pub fn literals(file: &SourceFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, line) in file.text.lines().enumerate() {
        for what in token_kinds(line) {
            problems.push(Problem::new(
                &file.path,
                index + 1,
                "secret-literal",
                format!("holds {what}; secrets never live in Git: remove it, rotate the credential, and reference a Secret created outside Git"),
            ));
        }
    }
    if file.is_yaml() {
        keyed(&file.text, 0, &mut |line, key| {
            problems.push(Problem::new(
                &file.path,
                line,
                "secret-literal",
                format!("`{key}` holds a literal credential value; secrets never live in Git: remove it and rotate it, then reference a Secret created outside Git (e.g. existingSecret: <name>, secretKeyRef, or a {{{{ }}}} / ${{...}} reference resolved at deploy time)"),
            ));
        });
    }
    problems
}

/// Calls `found(line, key)` for every credential key holding a literal, looking inside block
/// scalars too; `offset` is the line of the text within the file, less one.
fn keyed(text: &str, offset: usize, found: &mut dyn FnMut(usize, &str)) {
    let scanned = scan(text);
    for key in &scanned.keys {
        if credential_key(key.name()) && literal(&key.value, key.name()) {
            found(offset + key.line, key.name());
        }
    }
    // Env entries: {name: DB_PASSWORD, value: hunter2}.
    for name in scanned.keys.iter().filter(|k| k.name() == "name") {
        let variable = unquote(&name.value);
        if !credential_key(variable) {
            continue;
        }
        let value = scanned
            .keys
            .iter()
            .find(|k: &&Key| k.mapping == name.mapping && k.name() == "value");
        if let Some(value) = value.filter(|v| literal(&v.value, variable)) {
            found(offset + value.line, variable);
        }
    }
    for block in &scanned.blocks {
        keyed(&block.text, offset + block.first_line - 1, found);
    }
}

fn credential_key(key: &str) -> bool {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !plain {
        return false;
    }
    let normalized: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    !SECRET_NAME_SUFFIXES.iter().any(|s| normalized.ends_with(s))
        && CREDENTIAL_SUFFIXES.iter().any(|s| normalized.ends_with(s))
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            return inner;
        }
    }
    v
}

/// Whether a value as written is a literal credential rather than nothing or a reference.
fn literal(value: &str, key: &str) -> bool {
    let raw = value.trim();
    if raw.starts_with(['&', '!']) {
        // An anchor or a tag, then the value.
        return raw.split_once(' ').is_some_and(|(_, v)| literal(v, key));
    }
    if raw.is_empty() || raw.starts_with(['*', '[', '{']) {
        // Aliases and flow collections are not values of their own.
        return false;
    }
    let quoted = raw.starts_with(['"', '\'']);
    let v = unquote(raw).trim();
    if v.is_empty() {
        return false;
    }
    if !quoted {
        let lower = v.to_ascii_lowercase();
        let keyword = matches!(
            lower.as_str(),
            "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off"
        );
        if keyword {
            return false;
        }
        let password = key.to_ascii_lowercase().replace(['-', '_', '.'], "");
        let password = password.ends_with("password") || password.ends_with("passwd");
        if v.parse::<f64>().is_ok() && !password {
            return false;
        }
    }
    let reference =
        v.contains("{{") || v.contains("${") || v.starts_with("<path:") || v.starts_with("ref+");
    !reference
}

/// The well-known secret shapes a line holds, by kind.
fn token_kinds(line: &str) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if let Some(begin) = line.find("-----BEGIN ") {
        let label = &line[begin + 11..];
        if label
            .find("-----")
            .is_some_and(|end| label[..end].ends_with("PRIVATE KEY"))
        {
            kinds.push("a PEM private key");
        }
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let github = ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]
        .iter()
        .any(|p| prefixed(line, p, alnum, 30))
        || prefixed(line, "github_pat_", |c| alnum(c) || c == '_', 22);
    if github {
        kinds.push("a GitHub token");
    }
    let aws = ["AKIA", "ASIA"].iter().any(|p| {
        starts(line, p).any(|rest| {
            let n = run(rest, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            n == 16 && !rest[n..].starts_with(alnum)
        })
    });
    if aws {
        kinds.push("an AWS access key id");
    }
    let slack = ["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| prefixed(line, p, |c| alnum(c) || c == '-', 10));
    if slack {
        kinds.push("a Slack token");
    }
    let base64url = |c: char| alnum(c) || c == '_' || c == '-';
    let jwt = line.match_indices("eyJ").any(|(i, _)| {
        let rest = &line[i + 3..];
        let n = run(rest, base64url);
        n >= 8
            && rest[n..].starts_with(".eyJ")
            && run(&rest[n + 4..], base64url) >= 8
            && rest[n + 4 + run(&rest[n + 4..], base64url)..].starts_with('.')
    });
    if jwt {
        kinds.push("a JWT");
    }
    if starts(line, "AIza").any(|rest| run(rest, base64url) >= 35) {
        kinds.push("a Google API key");
    }
    kinds
}

/// What follows each occurrence of `prefix` that does not continue a longer word.
fn starts<'l>(line: &'l str, prefix: &'l str) -> impl Iterator<Item = &'l str> + 'l {
    line.match_indices(prefix).filter_map(move |(i, _)| {
        let before = line[..i].chars().last();
        let word = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        (!word).then(|| &line[i + prefix.len()..])
    })
}

fn prefixed(line: &str, prefix: &str, class: impl Fn(char) -> bool + Copy, min: usize) -> bool {
    starts(line, prefix).any(|rest| run(rest, class) >= min)
}

/// The byte length of the leading run of `class` characters (all ASCII).
fn run(s: &str, class: impl Fn(char) -> bool) -> usize {
    s.find(|c: char| !class(c)).unwrap_or(s.len())
}

/// `secret-data`: a rendered Secret with `data` or `stringData` means a secret value is in Git.
pub fn rendered(app: &Application, manifests: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for document in split_documents(manifests) {
        let Ok(doc) = serde_yaml::from_str::<Value>(&document) else {
            continue;
        };
        if doc["kind"].as_str() != Some("Secret") {
            continue;
        }
        let carried: Vec<&str> = ["data", "stringData"]
            .into_iter()
            .filter(|k| match doc.get(*k) {
                Some(Value::Mapping(m)) => !m.is_empty(),
                Some(Value::Null) | None => false,
                Some(_) => true,
            })
            .collect();
        if carried.is_empty() {
            continue;
        }
        let source = document
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(str::trim);
        // "# Source: <chart name>/templates/x.yaml" is a file of the Application's chart.
        let path = source
            .and_then(|s| s.split_once('/'))
            .map_or(app.component_file.clone(), |(_, inside)| {
                format!("{}/{inside}", app.chart)
            });
        let name = doc["metadata"]["name"].as_str().unwrap_or("<unnamed>");
        problems.push(Problem::new(
            path,
            0,
            "secret-data",
            format!(
                "the Application {} renders the Secret \"{name}\" with {}; secret values never live in Git, not even base64-encoded: create the Secret outside Git (External Secrets, Sealed Secrets, a CI-only step) and reference it by name (value files: {})",
                app.name,
                carried.join(" and "),
                app.value_files.join(", ")
            ),
        ));
    }
    problems
}

pub(super) fn split_documents(manifests: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in manifests.lines() {
        if line == "---" || line.starts_with("--- ") {
            documents.push(String::new());
        } else {
            let current = documents.last_mut().expect("never empty");
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::super::fixture::{self, Fixture};
    use super::*;

    /// Secret-shaped test strings are assembled at run time so that no scanner flags this file.
    fn fake(prefix: &str, body: &str, times: usize) -> String {
        format!("{prefix}{}", body.repeat(times))
    }

    fn keyed_lines(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        keyed(text, 0, &mut |line, key| out.push((line, key.to_owned())));
        out
    }

    #[test]
    fn credential_keys_with_literals_are_found() {
        let text = indoc::indoc! {r#"
            auth:
              password: hunter2
              dbPassword: "changeme"
              client_secret: 'abc'
              api-key: abc # comment
              accessKey: x
              privateKey: |
                some text
              token: ""
              secretToken: ~
              adminPassword: 1234
              tokenTtl: 3600
              maxToken: 5
              automountServiceAccountToken: false
              existingSecret: orders-db
              secretName: orders-db
              passwordKey: password
              password2: x
              fromTemplate: "{{ .Values.x }}"
              apiToken: "{{ .Values.token }}"
              envToken: ${TOKEN}
              vaultToken: <path:kv/data/x#token>
              ref: ref+vault://x
            env:
              - name: DB_PASSWORD
                value: hunter2
              - name: DB_HOST
                value: db
              - name: API_TOKEN
                valueFrom:
                  secretKeyRef:
                    name: x
                    key: token
            manifests:
              - |
                kind: Secret
                stringData:
                  password: inside-a-manifest
        "#};
        assert_eq!(
            keyed_lines(text),
            [
                (2, "password".to_owned()),
                (3, "dbPassword".to_owned()),
                (4, "client_secret".to_owned()),
                (5, "api-key".to_owned()),
                (6, "accessKey".to_owned()),
                (7, "privateKey".to_owned()),
                (11, "adminPassword".to_owned()),
                (26, "DB_PASSWORD".to_owned()),
                (38, "password".to_owned()),
            ]
        );
    }

    #[test]
    fn token_shapes_are_recognised() {
        let cases = [
            (fake("ghp_", "aB3", 12), "a GitHub token"),
            (fake("github_pat_", "aB3_", 8), "a GitHub token"),
            (fake("AKIA", "ABCD2345", 2), "an AWS access key id"),
            (fake("xoxb-", "1234-ab", 3), "a Slack token"),
            (
                format!(
                    "{}.{}.sig",
                    fake("eyJ", "hbGciOi", 2),
                    fake("eyJ", "zdWIiOi", 2)
                ),
                "a JWT",
            ),
            (fake("AIza", "Sy_a-1234", 4), "a Google API key"),
            (
                format!("{}RSA PRIVATE KEY-----", fake("-----", "BEGIN ", 1)),
                "a PEM private key",
            ),
        ];
        for (line, kind) in cases {
            assert_eq!(token_kinds(&format!("key: {line}")), [kind], "{line}");
        }
        for clean in [
            "ghp_short",
            "see ghp_… for the format",
            "AKIAshort",
            "XAKIAABCDEFGHIJKLMNOP",
            "-----BEGIN CERTIFICATE-----",
            "eyJhbGciOi",
            "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
        ] {
            assert_eq!(token_kinds(clean), Vec::<&str>::new(), "{clean}");
        }
    }

    #[test]
    fn a_literal_password_in_a_values_file_is_reported_without_its_value() {
        let fx = Fixture::new();
        let path = "sources/values/_shared/platform/default-deny.yaml";
        let text = fx.read(path) + "database:\n  password: s3cr3t-value\n";
        fx.write(path, &text);
        let problems = fx.check();
        let found = fixture::find(&problems, "secret-literal", path);
        assert_eq!(found.line, text.lines().count());
        assert!(found.message.contains("`password`"), "{}", found.message);
        assert!(!found.to_string().contains("s3cr3t-value"), "{found}");
    }

    #[test]
    fn a_token_anywhere_is_reported_even_in_a_chart_template() {
        let fx = Fixture::new();
        let token = fake("ghp_", "Zx9", 12);
        let path = "sources/charts/foundation/helm-test-jobs/templates/leak.yaml";
        fx.write(path, &format!("{{{{- /* {token} */ -}}}}\n"));
        let config = "config/clusters/azure.yaml";
        let text = fx.read(config) + &format!("# {}\n", fake("AKIA", "QWERTY12", 2));
        fx.write(config, &text);
        let problems = fx.check();
        assert_eq!(fixture::find(&problems, "secret-literal", path).line, 1);
        let found = fixture::find(&problems, "secret-literal", config);
        assert_eq!(found.line, text.lines().count());
        assert!(
            found.message.contains("an AWS access key id"),
            "{}",
            found.message
        );
        assert!(!problems.iter().any(|p| p.to_string().contains(&token)));
    }

    #[test]
    fn rendered_secrets_with_data_are_refused() {
        let app = fixture::application("dev", "default-deny", "platform", "200");
        let manifests = indoc::indoc! {"
            ---
            # Source: raw-manifests/templates/manifests.yaml
            apiVersion: v1
            kind: Secret
            metadata:
              name: db
            stringData:
              password: x
            ---
            # Source: raw-manifests/templates/manifests.yaml
            apiVersion: v1
            kind: Secret
            metadata:
              name: empty
            type: Opaque
            ---
            # Source: raw-manifests/templates/disabled.yaml
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              a: b
        "};
        let problems = super::super::check_rendered(&app, manifests);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let p = &problems[0];
        assert_eq!(
            (p.path.as_str(), p.line, p.rule),
            (
                "sources/charts/foundation/common/raw-manifests/templates/manifests.yaml",
                0,
                "secret-data"
            )
        );
        assert!(
            p.message.contains("Secret \"db\" with stringData"),
            "{}",
            p.message
        );
        assert!(!p.message.contains("password: x"));
    }
}
