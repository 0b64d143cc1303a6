//! `secret-literal` (no credential in any file of the tree), `secret-rendered` (none in any
//! rendered object) and `secret-data` (no Secret with data in any rendered output): the
//! repository holds no secret values (docs/conventions.md#what-the-scaffolder-writes). docs/verify-rules.md lists what counts.
//!
//! What counts as a literal credential:
//! - in the parsed YAML of a file or a rendered object (flow mappings, multi-line scalars, `<<`
//!   merges, aliases, `kind: List` and YAML inside block scalars included): a key whose name
//!   ends, case- and separator-insensitively, in one of [`CREDENTIAL_SUFFIXES`] (`dbPassword`,
//!   `client_secret`, `api-key`, `DB_PASSWORD`, `secretKey`, `AccountKey`), and also an env entry
//!   `{name: DB_PASSWORD, value: ...}`, holding a non-empty string (a number too for passwords),
//!   placeholders like `changeme` included;
//! - anywhere in any file, comments included, and in base64 `data` that decodes to text: the
//!   shapes established scanners (gitleaks, detect-secrets) know, by [`shapes`].
//!
//! What is fine: an empty value, `null`, a boolean, a mapping or list (for example
//! `secretKeyRef`), a reference resolved at deploy time (`{{ ... }}`, `${...}`, Kubernetes
//! `$(VAR)`, Argo CD's `$dex.clientSecret` / `$secret-name:key`, `<path:...>` for the Argo CD
//! Vault plugin, `ref+...` for vals), a SealedSecret's `encryptedData` (ciphertext), and keys that
//! name a Secret object rather than hold one (`existingSecret`, `existingSecretKey`, `secretName`).
//! Messages say where and what kind, never the value; [`redact`] takes credentials out of any
//! text that is printed (helm's errors, messages quoting a value).

use crate::yaml::Value;

use super::yaml::{parse_all, scan, Key, NESTED_YAML_DEPTH};
use super::{Application, Problem, SourceFile};

const CREDENTIAL_SUFFIXES: [&str; 11] = [
    "password",
    "passwd",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "clientsecret",
    "accesskey",
    "secretkey",
    "accountkey",
    "credentials",
];
/// Names a Secret object or a key of one (by name), although it ends like a credential.
const SECRET_NAME_SUFFIXES: [&str; 1] = ["existingsecret"];
const SECRET_NAME_PREFIXES: [&str; 1] = ["existing"];

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
    let mut report = |line: usize, key: &str| {
        problems.push(Problem::new(
            &file.path,
            line,
            "secret-literal",
            format!("`{key}` holds a literal credential value; secrets never live in Git: remove it and rotate it, then reference a Secret created outside Git (e.g. existingSecret: <name>, secretKeyRef, or a {{{{ }}}} / ${{...}} reference resolved at deploy time)"),
        ));
    };
    let mut over_budget = false;
    match &file.docs {
        Some(Ok(docs)) => {
            let mut locate = Locator::new(&file.text);
            for doc in docs {
                parsed(doc, 0, &mut over_budget, &mut |key| {
                    report(locate.line(key), key)
                });
            }
        }
        // A file that does not parse fails `yaml-parse`; its keys are still read as text.
        Some(Err(_)) => keyed(&file.text, 0, 0, &mut over_budget, &mut report),
        None => {}
    }
    if over_budget {
        problems.push(over_budget_problem(&file.path));
    }
    problems
}

/// `yaml-budget`: YAML nested in block scalars deeper than verify reads. Each level is read
/// again, so without a fixed budget a 1 MB file of nested block scalars cost 655 MiB and 21 s.
fn over_budget_problem(path: &str) -> Problem {
    Problem::new(
        path,
        0,
        "yaml-budget",
        format!("nests YAML in block scalars more than {NESTED_YAML_DEPTH} levels deep; verify reads that deep and no deeper (a fixed budget per file), so what is deeper is unchecked: flatten the nesting (no manifest needs more)"),
    )
}

/// Calls `found(key)` for every credential key holding a literal in a parsed YAML value, in
/// document order; a multi-line string that is YAML itself (a manifest in `manifests: - |`) is
/// read too.
fn parsed(value: &Value, depth: usize, over: &mut bool, found: &mut dyn FnMut(&str)) {
    match value {
        Value::Mapping(map) => {
            // Env entries: {name: DB_PASSWORD, value: hunter2}.
            if let (Some(Value::String(name)), Some(v)) = (map.get("name"), map.get("value")) {
                if credential_key(name) && literal_value(v, name) {
                    found(name);
                }
            }
            for (key, v) in map {
                let key = key.as_str();
                // A SealedSecret's values are ciphertext only its controller can open.
                if key == Some("encryptedData") {
                    continue;
                }
                if let Some(key) = key.filter(|k| credential_key(k) && literal_value(v, k)) {
                    found(key);
                }
                parsed(v, depth, over, found);
            }
        }
        Value::Sequence(items) => items
            .iter()
            .for_each(|item| parsed(item, depth, over, found)),
        Value::Tagged(tagged) => parsed(&tagged.value, depth, over, found),
        Value::String(text) if text.contains('\n') && depth >= NESTED_YAML_DEPTH => {
            *over |= text.contains(':');
        }
        Value::String(text) if text.contains('\n') => {
            for doc in parse_all(text).unwrap_or_default() {
                if doc.is_mapping() || doc.is_sequence() {
                    parsed(&doc, depth + 1, over, found);
                }
            }
        }
        _ => {}
    }
}

/// Whether a parsed value is a literal credential rather than nothing or a reference.
fn literal_value(value: &Value, key: &str) -> bool {
    match value {
        Value::String(s) => !s.trim().is_empty() && !reference(s.trim()),
        Value::Number(_) => password_key(key),
        Value::Tagged(tagged) => literal_value(&tagged.value, key),
        _ => false,
    }
}

/// Points a key found in the parsed YAML at its line: the next line the text scanner saw that
/// key on (block scalars included), else the first line naming it, else the whole file.
struct Locator {
    keys: Vec<(usize, String)>,
    lines: Vec<String>,
    used: Vec<bool>,
}

impl Locator {
    fn new(text: &str) -> Locator {
        let mut keys = Vec::new();
        collect_keys(text, 0, 0, &mut keys);
        keys.sort();
        let used = vec![false; keys.len()];
        let lines = text.lines().map(str::to_owned).collect();
        Locator { keys, lines, used }
    }

    fn line(&mut self, key: &str) -> usize {
        let unused = (0..self.keys.len()).find(|&i| !self.used[i] && self.keys[i].1 == key);
        if let Some(i) = unused {
            self.used[i] = true;
            return self.keys[i].0;
        }
        self.lines
            .iter()
            .position(|l| l.contains(key))
            .map_or(0, |i| i + 1)
    }
}

fn collect_keys(text: &str, offset: usize, depth: usize, out: &mut Vec<(usize, String)>) {
    let scanned = scan(text);
    out.extend(
        scanned
            .keys
            .iter()
            .map(|k| (offset + k.line, k.name().to_owned())),
    );
    if depth >= NESTED_YAML_DEPTH {
        return;
    }
    for block in &scanned.blocks {
        collect_keys(&block.text, offset + block.first_line - 1, depth + 1, out);
    }
}

/// Calls `found(line, key)` for every credential key holding a literal, looking inside block
/// scalars too; `offset` is the line of the text within the file, less one. The text fallback
/// for a file that does not parse.
fn keyed(
    text: &str,
    offset: usize,
    depth: usize,
    over: &mut bool,
    found: &mut dyn FnMut(usize, &str),
) {
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
    if depth >= NESTED_YAML_DEPTH {
        *over |= !scanned.blocks.is_empty();
        return;
    }
    for block in &scanned.blocks {
        keyed(
            &block.text,
            offset + block.first_line - 1,
            depth + 1,
            over,
            found,
        );
    }
}

fn normalized(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

pub(crate) fn credential_key(key: &str) -> bool {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !plain {
        return false;
    }
    let normalized = normalized(key);
    !SECRET_NAME_SUFFIXES.iter().any(|s| normalized.ends_with(s))
        && !SECRET_NAME_PREFIXES
            .iter()
            .any(|s| normalized.starts_with(s))
        && CREDENTIAL_SUFFIXES.iter().any(|s| normalized.ends_with(s))
}

fn password_key(key: &str) -> bool {
    let key = normalized(key);
    key.ends_with("password") || key.ends_with("passwd")
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

/// A value resolved at deploy time rather than a credential.
fn reference(v: &str) -> bool {
    // Argo CD reads `$dex.github.clientSecret` from argocd-secret and `$name:key` from the
    // Secret `name` (its "sensitive data" references).
    let argo = v.strip_prefix('$').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    });
    argo || v.contains("{{")
        || v.contains("${")
        || v.contains("$(")
        || v.starts_with("<path:")
        || v.starts_with("ref+")
}

/// Whether a value as written is a literal credential rather than nothing or a reference.
pub(crate) fn literal(value: &str, key: &str) -> bool {
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
        if keyword || (v.parse::<f64>().is_ok() && !password_key(key)) {
            return false;
        }
    }
    !reference(v)
}

/// The well-known secret shapes a line holds, by kind.
pub(crate) fn token_kinds(line: &str) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = shapes(line).into_iter().map(|s| s.kind).collect();
    kinds.dedup();
    kinds
}

/// A credential-shaped span of a line.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    start: usize,
    end: usize,
    kind: &'static str,
}

/// The credential shapes in a line, by their well-known form (the ones gitleaks and
/// detect-secrets know best), by position: the span covers the secret itself.
fn shapes(line: &str) -> Vec<Shape> {
    let mut found = Vec::new();
    let mut push = |start: usize, end: usize, kind: &'static str| {
        found.push(Shape { start, end, kind });
    };
    if let Some(begin) = line.find("-----BEGIN ") {
        let label = &line[begin + 11..];
        if label
            .find("-----")
            .is_some_and(|end| label[..end].contains("PRIVATE KEY"))
        {
            push(begin, line.len(), "a PEM private key");
        }
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let base64url = |c: char| alnum(c) || c == '_' || c == '-';
    let base64 = |c: char| alnum(c) || matches!(c, '+' | '/' | '=');
    for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"] {
        prefixed(line, prefix, alnum, 30, &mut |s, e| {
            push(s, e, "a GitHub token")
        });
    }
    prefixed(
        line,
        "github_pat_",
        |c| alnum(c) || c == '_',
        22,
        &mut |s, e| push(s, e, "a GitHub token"),
    );
    for prefix in ["AKIA", "ASIA"] {
        for (at, rest) in starts(line, prefix) {
            let n = run(rest, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if n == 16 && !rest[n..].starts_with(alnum) {
                push(at, at + prefix.len() + n, "an AWS access key id");
            }
        }
    }
    for prefix in ["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"] {
        prefixed(line, prefix, |c| alnum(c) || c == '-', 10, &mut |s, e| {
            push(s, e, "a Slack token")
        });
    }
    prefixed(
        line,
        "https://hooks.slack.com/services/",
        |c| alnum(c) || c == '/',
        20,
        &mut |s, e| push(s, e, "a Slack webhook URL"),
    );
    for (i, _) in line.match_indices("eyJ") {
        let rest = &line[i + 3..];
        let n = run(rest, base64url);
        if n >= 8 && rest[n..].starts_with(".eyJ") {
            let m = run(&rest[n + 4..], base64url);
            if m >= 8 && rest[n + 4 + m..].starts_with('.') {
                let sig = run(&rest[n + 5 + m..], base64url);
                push(i, i + 3 + n + 5 + m + sig, "a JWT");
            }
        }
    }
    prefixed(line, "AIza", base64url, 35, &mut |s, e| {
        push(s, e, "a Google API key")
    });
    prefixed(line, "glpat-", base64url, 20, &mut |s, e| {
        push(s, e, "a GitLab token")
    });
    for prefix in ["sk_live_", "rk_live_"] {
        prefixed(line, prefix, alnum, 20, &mut |s, e| {
            push(s, e, "a Stripe key")
        });
    }
    prefixed(line, "npm_", alnum, 36, &mut |s, e| {
        push(s, e, "an npm token")
    });
    // Azure storage connection strings: `AccountKey=<base64>`.
    for (at, _) in line.match_indices("AccountKey=") {
        let value = at + "AccountKey=".len();
        let n = run(&line[value..], base64);
        if n >= 20 {
            push(value, value + n, "an Azure storage account key");
        }
    }
    // `scheme://user:password@host` (detect-secrets' basic auth): the password.
    for (at, _) in line.match_indices("://") {
        let authority = &line[at + 3..];
        let end = authority
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(authority.len());
        let Some(userinfo) = authority[..end].rsplit_once('@').map(|(u, _)| u) else {
            continue;
        };
        let Some((user, password)) = userinfo.split_once(':') else {
            continue;
        };
        let scheme_ok = line[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if scheme_ok && !user.is_empty() && !password.is_empty() && !reference(password) {
            let start = at + 3 + user.len() + 1;
            push(start, start + password.len(), "a password in a URL");
        }
    }
    found.sort_by_key(|s| s.start);
    found
}

/// Each occurrence of `prefix` that does not continue a longer word, with what follows it.
fn starts<'l>(line: &'l str, prefix: &'l str) -> impl Iterator<Item = (usize, &'l str)> + 'l {
    line.match_indices(prefix).filter_map(move |(i, _)| {
        let before = line[..i].chars().last();
        let word = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        (!word).then(|| (i, &line[i + prefix.len()..]))
    })
}

fn prefixed(
    line: &str,
    prefix: &str,
    class: impl Fn(char) -> bool + Copy,
    min: usize,
    found: &mut dyn FnMut(usize, usize),
) {
    for (at, rest) in starts(line, prefix) {
        let n = run(rest, class);
        if n >= min {
            found(at, at + prefix.len() + n);
        }
    }
}

/// The byte length of the leading run of `class` characters (all ASCII).
fn run(s: &str, class: impl Fn(char) -> bool) -> usize {
    s.find(|c: char| !class(c)).unwrap_or(s.len())
}

/// `text` with every credential taken out: each shape of [`shapes`], and the value after a
/// credential key (`password: x`, `token=x`, `"apiKey":"x"`), replaced by `<redacted>`. For text
/// that is printed but not written by us: helm's errors, a value quoted in a message.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_private_key = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // A private key's body, up to its END line.
        if in_private_key {
            in_private_key = !line.contains("-----END ");
            out.push_str("<redacted>");
            continue;
        }
        in_private_key = shapes(line)
            .iter()
            .any(|s| s.kind == "a PEM private key" && !line[s.start..].contains("-----END "));
        let mut spans: Vec<(usize, usize)> =
            shapes(line).into_iter().map(|s| (s.start, s.end)).collect();
        spans.extend(keyed_values(line));
        spans.sort();
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            out.push_str(&line[at..start.max(at)]);
            out.push_str("<redacted>");
            at = end;
        }
        out.push_str(&line[at..]);
    }
    out
}

/// The spans of the values after credential keys in a line of free text.
fn keyed_values(line: &str) -> Vec<(usize, usize)> {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut spans = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < line.len() {
        let n = run(&line[i..], word);
        if n == 0 {
            i += line[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let key = &line[i..i + n];
        let mut j = i + n;
        if bytes.get(j) == Some(&b'"') || bytes.get(j) == Some(&b'\'') {
            j += 1;
        }
        if credential_key(key) && matches!(bytes.get(j), Some(b':' | b'=')) {
            j += 1;
            while matches!(bytes.get(j), Some(b' ' | b'"' | b'\'')) {
                j += 1;
            }
            let m = line[j..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']'))
                .unwrap_or(line.len() - j);
            if m > 0 && !reference(&line[j..j + m]) {
                spans.push((j, j + m));
            }
            j += m;
        }
        i = j.max(i + n);
    }
    spans
}

/// The documents of helm's output that parse, each with its text: parsed once for both rules on
/// rendered output (parsing them per rule was a tenth of a warm verify).
pub fn documents(manifests: &str) -> Vec<(String, Value)> {
    split_documents(manifests)
        .into_iter()
        .filter_map(|document| {
            let doc = crate::yaml::from_str::<Value>(&document).ok()?;
            Some((document, doc))
        })
        .collect()
}

/// `secret-data`: a rendered Secret with `data` or `stringData` means a secret value is in Git.
pub fn rendered(app: &Application, documents: &[(String, Value)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (document, doc) in documents {
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
        let path = source_path(app, document);
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

/// The chart file a rendered document came from, by its `# Source: <chart name>/templates/x.yaml`
/// line; the component file when it has none.
fn source_path(app: &Application, document: &str) -> String {
    document
        .lines()
        .find_map(|l| l.strip_prefix("# Source: "))
        .map(str::trim)
        .and_then(|s| s.split_once('/'))
        .map_or(app.component_file.clone(), |(_, inside)| {
            format!("{}/{inside}", app.chart)
        })
}

/// `secret-rendered`: no rendered object but a Secret (which `secret-data` judges) holds a
/// literal credential: a credential key or env entry with a literal, a credential shape in its
/// text, or ConfigMap `data`/`binaryData` whose base64 decodes to one. This catches what the
/// tree's files do not show as such: a value assembled by a template, a base64 blob.
pub fn rendered_literals(app: &Application, documents: &[(String, Value)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (document, doc) in documents {
        if doc["kind"].as_str() == Some("Secret") || doc.is_null() {
            continue;
        }
        let mut what: Vec<String> = Vec::new();
        let mut over_budget = false;
        parsed(doc, 0, &mut over_budget, &mut |key| {
            what.push(format!("`{key}` as a literal"))
        });
        what.extend(
            document
                .lines()
                .filter(|l| !l.starts_with("# Source: "))
                .flat_map(token_kinds)
                .map(str::to_owned),
        );
        for key in ["data", "binaryData"] {
            let Some(Value::Mapping(data)) = doc.get(key) else {
                continue;
            };
            for value in data.values().filter_map(Value::as_str) {
                let decoded = base64_decode(value).and_then(|b| String::from_utf8(b).ok());
                if let Some(text) = decoded {
                    let kinds = text.lines().flat_map(token_kinds);
                    what.extend(kinds.map(|k| format!("{k} (base64-encoded)")));
                }
            }
        }
        what.sort();
        what.dedup();
        if what.is_empty() {
            continue;
        }
        let kind = doc["kind"].as_str().unwrap_or("<no kind>");
        let name = doc["metadata"]["name"].as_str().unwrap_or("<unnamed>");
        problems.push(Problem::new(
            source_path(app, document),
            0,
            "secret-rendered",
            format!(
                "the Application {} renders the {kind} \"{name}\" with {}; secret values never live in Git: take the value out of the chart and its value files (value files: {}), create a Secret outside Git and reference it (secretKeyRef, envFrom)",
                app.name,
                what.join(", "),
                app.value_files.join(", ")
            ),
        ));
    }
    problems
}

/// Standard base64 (padding optional, whitespace ignored); `None` when `text` is not base64 of
/// at least 12 bytes (shorter blobs hold no credential shape).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let digits = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    if digits.len() < 16 || digits.len() % 4 == 1 {
        return None;
    }
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &b in digits {
        acc = (acc << 6) | u32::from(value(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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

    /// (line, key) of every credential key `secret-literal` finds in a YAML text, sorted.
    fn keyed_lines(text: &str) -> Vec<(usize, String)> {
        let file = SourceFile {
            path: "x.yaml".to_owned(),
            text: text.to_owned(),
            docs: Some(parse_all(text)),
        };
        let mut out: Vec<(usize, String)> = literals(&file)
            .into_iter()
            .filter_map(|p| {
                let key = p.message.split('`').nth(1)?.to_owned();
                Some((p.line, key))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn text_lines(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        keyed(text, 0, 0, &mut false, &mut |line, key| {
            out.push((line, key.to_owned()))
        });
        out
    }

    #[test]
    fn the_parsed_yaml_is_read_in_every_form_yaml_can_write_it() {
        let text = indoc::indoc! {r#"
            flow: {user: app, password: hunter2}
            multi: {
              apiKey: "spread
                over lines"
            }
            base: &base
              token: abc
            merged:
              <<: *base
            alias: &pw s3cr3t
            dbPassword: *pw
            env: [{name: API_TOKEN, value: abc}]
            list:
              kind: List
              items:
                - kind: ConfigMap
                  data: {secretKey: minio-secret}
            azure:
              AccountKey: c2VjcmV0
        "#};
        let found: Vec<String> = keyed_lines(text).into_iter().map(|(_, k)| k).collect();
        for key in [
            "password",
            "apiKey",
            "token",
            "dbPassword",
            "API_TOKEN",
            "secretKey",
            "AccountKey",
        ] {
            assert!(
                found.iter().any(|f| f == key),
                "{key} not found in {found:?}"
            );
        }
        // The text scanner alone misses the flow mappings, the alias and the flow env entry.
        let scanned: Vec<String> = text_lines(text).into_iter().map(|(_, k)| k).collect();
        assert!(
            !scanned
                .iter()
                .any(|k| k == "dbPassword" || k == "API_TOKEN"),
            "{scanned:?}"
        );
    }

    #[test]
    fn gitops_references_and_sealed_secrets_pass() {
        let text = indoc::indoc! {r#"
            dex.config: |
              connectors:
                - type: github
                  config:
                    clientSecret: $dex.github.clientSecret
            oidc:
              clientSecret: $oidc-secret:clientSecret
            env:
              - name: DB_PASSWORD
                value: $(DB_PASSWORD_FROM_SECRET)
            sealed:
              kind: SealedSecret
              spec:
                encryptedData:
                  password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq
            existingSecretKey: password
            url: postgres://app:${DB_PASSWORD}@db:5432/app
        "#};
        assert_eq!(keyed_lines(text), Vec::<(usize, String)>::new());
    }

    #[test]
    fn redact_takes_out_every_credential_and_keeps_the_rest() {
        let token = fake("ghp_", "Zx9", 12);
        let text = format!(
            "Error: execution error at (x/templates/a.yaml:3:4): {token}\npassword: hunter2 and \"apiKey\":\"abc\", token=xyz\nhost: db, passwordRef: $dex.x\n{}PGP PRIVATE KEY BLOCK-----\nbody\n-----END PGP PRIVATE KEY BLOCK-----\nafter",
            fake("-----", "BEGIN ", 1)
        );
        let redacted = redact(&text);
        for secret in [token.as_str(), "hunter2", "abc", "xyz", "body"] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        for kept in ["x/templates/a.yaml:3:4", "host: db", "$dex.x", "after"] {
            assert!(redacted.contains(kept), "{kept} lost from {redacted}");
        }
    }

    #[test]
    fn a_configmap_rendering_a_credential_is_refused_even_base64_encoded() {
        let app = fixture::application("dev", "default-deny", "platform", "200");
        let encoded = "QWNjb3VudEtleT1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=";
        let manifests = format!(
            "---\n# Source: raw-manifests/templates/manifests.yaml\nkind: ConfigMap\nmetadata:\n  name: blob\nbinaryData:\n  conn: {encoded}\n---\n# Source: raw-manifests/templates/manifests.yaml\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - env: [{{name: API_TOKEN, value: literal}}, {{name: DB_HOST, value: db}}]\n---\n# Source: raw-manifests/templates/manifests.yaml\nkind: ConfigMap\nmetadata:\n  name: fine\ndata:\n  host: db\n"
        );
        let problems = rendered_literals(&app, &documents(&manifests));
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems.iter().all(|p| p.rule == "secret-rendered"));
        assert!(
            problems[0]
                .message
                .contains("ConfigMap \"blob\" with an Azure storage account key (base64-encoded)"),
            "{}",
            problems[0].message
        );
        assert!(
            problems[1]
                .message
                .contains("Deployment \"api\" with `API_TOKEN` as a literal"),
            "{}",
            problems[1].message
        );
        assert!(!problems
            .iter()
            .any(|p| p.message.contains("literal,") || p.message.contains(encoded)));
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
                (25, "DB_PASSWORD".to_owned()),
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
                format!("postgres://app:{}@db:5432/app", fake("", "pw", 4)),
                "a password in a URL",
            ),
            (
                format!(
                    "DefaultEndpointsProtocol=https;AccountName=x;{}",
                    fake("AccountKey=", "aB3+", 8)
                ),
                "an Azure storage account key",
            ),
            (
                fake("https://hooks.slack.com/services/", "T0B1C2/", 4),
                "a Slack webhook URL",
            ),
            (
                format!("{}PGP PRIVATE KEY BLOCK-----", fake("-----", "BEGIN ", 1)),
                "a PEM private key",
            ),
            (fake("glpat-", "aB3_", 6), "a GitLab token"),
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
