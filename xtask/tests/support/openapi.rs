//! GitHub's OpenAPI description of api.github.com (the npm package `@octokit/openapi`, pinned in
//! `tools.rs`), reduced to the operations the test server answers, and the check of one answer
//! against it: the status must be one the operation declares, the body must match the schema of
//! that response (docs/conventions.md#the-loopback-github-server).
//!
//! The description is OpenAPI 3.0: its schemas are JSON Schema draft 4 plus `nullable`, which
//! [`to_json_schema`] spells the JSON Schema way. Of its 13 MB only the operations below and the
//! schemas their responses reach are kept, so loading it takes a fraction of a second, once per
//! test binary.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use serde_json::{json, Map, Value};

/// Every operation the test server answers, as the description names it: method, path template,
/// operation id.
pub const SERVED: [(&str, &str, &str); 9] = [
    ("GET", "/", "meta/root"),
    ("GET", "/user", "users/get-authenticated"),
    ("GET", "/repos/{owner}/{repo}", "repos/get"),
    ("GET", "/repos/{owner}/{repo}/pulls", "pulls/list"),
    ("POST", "/repos/{owner}/{repo}/pulls", "pulls/create"),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "pulls/get",
    ),
    (
        "PATCH",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "pulls/update",
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        "actions/create-workflow-dispatch",
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/actions/runs/{run_id}",
        "actions/get-workflow-run",
    ),
];

/// Statuses GitHub may answer any operation with, though the description lists them for some
/// only (https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api): a
/// renamed repository's redirects, no or a bad token, a rate limit, a resource the token cannot
/// see, a body GitHub cannot process, and its own failures. Their bodies are `basic-error`.
pub const ANY_OPERATION: [u16; 11] = [301, 307, 401, 403, 404, 422, 429, 500, 502, 503, 504];

/// Where the kept schemas are registered; their `$ref`s are relative to it.
const URI: &str = "json-schema:///github/api.github.com.json";

pub struct Description {
    /// `SERVED`'s operations: method and template to their `responses`, each response's `$ref`
    /// resolved.
    operations: HashMap<(String, String), Map<String, Value>>,
    registry: Registry<'static>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Description {
    /// The pinned description, loaded once per test binary.
    pub fn get() -> &'static Description {
        static DESCRIPTION: OnceLock<Description> = OnceLock::new();
        DESCRIPTION.get_or_init(|| {
            let path = super::tool("github-openapi");
            let text =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let doc: Value = serde_json::from_slice(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            Description::from_document(&doc)
        })
    }

    fn from_document(doc: &Value) -> Description {
        let mut operations = HashMap::new();
        let mut wanted = BTreeSet::from(["basic-error".to_string()]);
        for (method, template, id) in SERVED {
            let operation = &doc["paths"][template][method.to_ascii_lowercase()];
            assert_eq!(
                operation["operationId"], id,
                "{method} {template} in GitHub's description"
            );
            let mut responses = Map::new();
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                let response = match response["$ref"].as_str() {
                    Some(pointer) => doc
                        .pointer(pointer.trim_start_matches('#'))
                        .unwrap_or_else(|| panic!("{id}: no {pointer} in the description")),
                    None => response,
                };
                refs_in(response, &mut wanted);
                responses.insert(status.clone(), response.clone());
            }
            operations.insert((method.to_string(), template.to_string()), responses);
        }

        // The schemas the responses reach, and no others.
        let all = &doc["components"]["schemas"];
        let mut kept = Map::new();
        let mut queue: Vec<String> = wanted.into_iter().collect();
        while let Some(name) = queue.pop() {
            if kept.contains_key(&name) {
                continue;
            }
            let schema = all
                .get(&name)
                .unwrap_or_else(|| panic!("no schema {name} in the description"));
            let mut reached = BTreeSet::new();
            refs_in(schema, &mut reached);
            queue.extend(reached);
            let mut schema = schema.clone();
            to_json_schema(&mut schema);
            kept.insert(name, schema);
        }
        let registry = Registry::new()
            .draft(Draft::Draft4)
            .add(URI, json!({"components": {"schemas": kept}}))
            .and_then(|r| r.prepare())
            .expect("GitHub's schemas register");
        Description {
            operations,
            registry,
            validators: Mutex::default(),
        }
    }

    /// The operation `method path` is (`path` without its query), as (template, responses).
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Map<String, Value>)> {
        let segments: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|((m, template), _)| {
                let parts: Vec<&str> = template.split('/').collect();
                m == method
                    && parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(part, segment)| {
                        part == segment || (part.starts_with('{') && !segment.is_empty())
                    })
            })
            // The most literal template wins, as routers do.
            .max_by_key(|((_, template), _)| {
                template.matches('/').count() - template.matches('{').count()
            })
            .map(|((_, template), responses)| (template.as_str(), responses))
    }

    /// The path template of the operation `method path` (query ignored), if the server serves it.
    pub fn template(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or(path);
        self.operation(method, path).map(|(template, _)| template)
    }

    /// What is wrong with answering `method path` (query included or not) with `status` and
    /// `body`, as GitHub describes the operation; empty when nothing is.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Vec<String> {
        let path = path.split('?').next().unwrap_or(path);
        let what = format!("{method} {path} → {status}");
        let Some((template, responses)) = self.operation(method, path) else {
            // A route the server does not serve must be GitHub's plain 404.
            if status != 404 {
                return vec![format!(
                    "{what}: the server answers no such operation, so the status must be 404"
                )];
            }
            return self.problems(&what, "basic-error", &schema_ref("basic-error"), body);
        };
        match responses.get(&status.to_string()) {
            Some(response) => {
                let schema = &response["content"]["application/json"]["schema"];
                match (schema.is_null(), body) {
                    (true, None) => Vec::new(),
                    (true, Some(body)) => vec![format!(
                        "{what}: GitHub's description has no body for {template} {status}, the server sent {body}"
                    )],
                    (false, body) => {
                        let key = format!("{method} {template} {status}");
                        self.problems(&what, &key, schema, body)
                    }
                }
            }
            None if ANY_OPERATION.contains(&status) => {
                self.problems(&what, "basic-error", &schema_ref("basic-error"), body)
            }
            None => vec![format!(
                "{what}: {method} {template} declares {}, not {status}",
                responses.keys().cloned().collect::<Vec<_>>().join(", ")
            )],
        }
    }

    fn problems(&self, what: &str, key: &str, schema: &Value, body: Option<&Value>) -> Vec<String> {
        let Some(body) = body else {
            return vec![format!("{what}: no body, GitHub's description has one")];
        };
        let validator = self.validator(key, schema);
        let mut problems: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("{what}: at \"{}\": {error}", error.instance_path()))
            .collect();
        problems.dedup();
        problems
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<Validator> {
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = validators.get(key) {
            return found.clone();
        }
        let mut schema = schema.clone();
        to_json_schema(&mut schema);
        absolute_refs(&mut schema);
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{key}: GitHub's schema does not compile: {e}"));
        let validator = Arc::new(validator);
        validators.insert(key.to_string(), validator.clone());
        validator
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The names of the component schemas `value` refers to.
fn refs_in(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.insert(name.to_string());
            }
            map.values().for_each(|v| refs_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema: `null` added to the `type` (and the `enum`),
/// or, where there is no `type`, the schema as one choice beside `null`.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(to_json_schema);
            if map.get("nullable") != Some(&Value::Bool(true)) {
                return;
            }
            map.remove("nullable");
            if let Some(values) = map.get_mut("enum").and_then(Value::as_array_mut) {
                values.push(Value::Null);
            }
            match map.get("type").cloned() {
                Some(Value::String(kind)) if !map.contains_key("$ref") => {
                    map.insert("type".to_string(), json!([kind, "null"]));
                }
                _ => {
                    let schema = Value::Object(std::mem::take(map));
                    *value = json!({"anyOf": [{"type": "null"}, schema]});
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

/// A response's schema refers into the description; its validator lives apart from it.
fn absolute_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if r.starts_with('#') {
                    *r = format!("{URI}{r}");
                }
            }
            map.values_mut().for_each(absolute_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(absolute_refs),
        _ => {}
    }
}
