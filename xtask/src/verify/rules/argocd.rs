//! `argocd-schema`: the ApplicationSets and AppProjects under `argocd/`, and every Application
//! they generate, checked strictly against the CRDs of the Argo CD version `config/argocd.yaml`
//! declares. The API server prunes unknown fields of custom resources silently, so a misspelt
//! Argo CD field is otherwise lost without a word.
//!
//! The CRDs are Argo CD's own, vendored with their provenance in `xtask/schemas/argocd/<version>/`;
//! what is checked is derived from them once, in a test, into `<version>.json` ([`derive`]), so
//! that no run reads their megabytes of YAML.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use super::super::problem::Problem;
use super::SourceFile;
use crate::argo::Application;
use crate::schema::{self, Validator};

pub const RULE: &str = "argocd-schema";
pub const RULE_VERSION: &str = "argocd-version";
/// Where the repository declares its Argo CD version.
pub const VERSION_FILE: &str = "config/argocd.yaml";

#[cfg(test)]
mod derive;

/// The schemas in the repository, per Argo CD major.minor: each derived from the CRDs of that
/// version vendored in `xtask/schemas/argocd/<version>/` ([`derive`]).
const SCHEMAS: [(&str, &str); 1] = [("3.5", include_str!("../../../schemas/argocd/3.5.json"))];
const KINDS: [&str; 3] = ["Application", "ApplicationSet", "AppProject"];

/// The validators of the declared version, one per kind.
pub struct ArgoCd {
    pub version: String,
    validators: &'static HashMap<&'static str, Validator>,
}

/// The validators of `SCHEMAS[at]`, compiled once per process: verify's rules and discovery's
/// decoding of each ApplicationSet's templatePatch share them.
fn compiled(at: usize) -> &'static HashMap<&'static str, Validator> {
    static COMPILED: [OnceLock<HashMap<&'static str, Validator>>; SCHEMAS.len()] =
        [const { OnceLock::new() }; SCHEMAS.len()];
    COMPILED[at].get_or_init(|| {
        let schema: Value =
            serde_json::from_str(SCHEMAS[at].1).expect("the Argo CD schemas are JSON (tested)");
        let schema = std::sync::Arc::new(schema);
        KINDS
            .into_iter()
            .map(|kind| {
                let validator = schema::Options::default()
                    .compile(schema.clone(), &format!("/kinds/{kind}"))
                    .expect("the Argo CD schemas compile (tested)");
                (kind, validator)
            })
            .collect()
    })
}

impl ArgoCd {
    /// The schemas of the version `config/argocd.yaml` declares, or the problem with that file.
    pub fn load(root: &Path) -> Result<ArgoCd, Problem> {
        let refuse = |message: String| Problem::new(VERSION_FILE, 0, RULE_VERSION, message);
        let known = SCHEMAS.map(|(v, _)| format!("\"{v}\"")).join(", ");
        let text = std::fs::read_to_string(root.join(VERSION_FILE)).map_err(|err| {
            refuse(format!("cannot be read ({err}); declare the Argo CD version that reconciles this repository as `version: \"3.5\"` (one of {known})"))
        })?;
        let doc: crate::yaml::Value = crate::yaml::from_str(&text)
            .map_err(|err| refuse(format!("is not YAML ({err}); write `version: \"3.5\"`")))?;
        let keys: Vec<&str> = doc
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        // The file's other key is read by the model of Argo CD (`crate::argo::settings`).
        let allowed =
            |k: &&str| *k == "version" || *k == crate::argo::settings::NEW_GIT_FILE_GLOBBING;
        let version = match doc["version"].as_str() {
            Some(version) if keys.iter().all(allowed) => version.to_owned(),
            _ => return Err(refuse(format!("must hold the key version, a quoted major.minor of Argo CD such as \"3.5\" (one of {known}), and optionally {}: true|false; no other key", crate::argo::settings::NEW_GIT_FILE_GLOBBING))),
        };
        let Some(at) = SCHEMAS.iter().position(|(v, _)| *v == version) else {
            return Err(refuse(format!("version {version:?}: the repository holds no Argo CD schema for it; use one of {known}, or vendor that version's CRDs in xtask/schemas/argocd/{version}/ and derive {version}.json (docs/verify-rules.md#argocd-version-and-argocd-schema)")));
        };
        Ok(ArgoCd {
            version,
            validators: compiled(at),
        })
    }

    /// The ways `object` differs from its kind's schema: (dotted path, message). Empty for a kind
    /// of another API.
    pub fn validate(&self, object: &Value) -> Vec<(String, String)> {
        if object["apiVersion"]
            .as_str()
            .is_some_and(|v| !v.starts_with("argoproj.io/"))
        {
            return Vec::new();
        }
        let Some(validator) = object["kind"].as_str().and_then(|k| self.validators.get(k)) else {
            return Vec::new();
        };
        crate::kube::schemas::findings(validator, object)
            .into_iter()
            .map(|f| (f.at, f.message))
            .collect()
    }

    /// How Go's `json.Unmarshal` decodes `object` into the Go type of `kind`, as Argo CD decodes a
    /// rendered templatePatch (docs/argo-model.md#templatepatch): the fields of another JSON type
    /// than the Go field's fail it ([`DecodeError`]); unknown fields are dropped (their dotted
    /// paths are returned). The other rules of the schema (required fields, enums, patterns) are
    /// no part of decoding. `null` decodes into any field: leave nulls out of `object`.
    pub fn decode(&self, kind: &str, object: &Value) -> (Vec<DecodeError>, Vec<String>) {
        let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
        let Some(validator) = self.validators.get(kind) else {
            return (wrong, unknown);
        };
        for error in validator.errors(object) {
            let at = crate::kube::schemas::dotted(&error.path);
            match error.kind {
                schema::Kind::Type { instance, expected } => wrong.push(DecodeError {
                    at,
                    found: go_json_kind(&instance),
                    want: expected
                        .iter()
                        .map(|t| go_type(t))
                        .collect::<Vec<_>>()
                        .join(" or "),
                }),
                schema::Kind::Unknown(fields) => {
                    for field in fields {
                        unknown.push(if at.is_empty() {
                            field
                        } else {
                            format!("{at}.{field}")
                        });
                    }
                }
                _ => {}
            }
        }
        wrong.sort_by(|a, b| a.at.cmp(&b.at));
        wrong.dedup();
        unknown.sort();
        unknown.dedup();
        (wrong, unknown)
    }

    /// The Argo CD objects of a file under `argocd/`.
    pub fn check_file(&self, file: &SourceFile) -> Vec<Problem> {
        let Some(Ok(docs)) = file
            .docs
            .as_ref()
            .filter(|_| file.path.starts_with("argocd/"))
        else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for doc in docs {
            let Ok(object) = serde_json::to_value(doc) else {
                continue;
            };
            let subject = format!(
                "{}/{}",
                object["kind"].as_str().unwrap_or("?"),
                object["metadata"]["name"].as_str().unwrap_or("<unnamed>")
            );
            for (at, message) in self.validate(&object) {
                let keys: Vec<&str> = at
                    .split(['.', '['])
                    .filter(|k| !k.is_empty() && !k.ends_with(']'))
                    .collect();
                let line = (1..=keys.len())
                    .rev()
                    .map(|n| super::yaml::line_of_path(&file.text, &keys[..n]))
                    .find(|l| *l > 0)
                    .unwrap_or(0);
                problems.push(Problem::new(
                    &file.path,
                    line,
                    RULE,
                    self.message(&subject, &at, &message),
                ));
            }
        }
        problems
    }

    /// A generated Application, with the Application it was found through (to group by).
    pub fn check_application(&self, app: &Application) -> Vec<(Problem, String)> {
        let manifest = app.manifest();
        if manifest.is_null() {
            return Vec::new();
        }
        self.validate(&manifest)
            .into_iter()
            .map(|(at, message)| {
                let message = self.message("the generated Application", &at, &message);
                (
                    Problem::new(
                        &app.appset,
                        0,
                        RULE,
                        format!("{message}; fix the template or templatePatch that writes it"),
                    ),
                    app.name.clone(),
                )
            })
            .collect()
    }

    fn message(&self, subject: &str, at: &str, message: &str) -> String {
        let at = match at {
            "" => String::new(),
            at => format!("{at}: "),
        };
        format!("{subject}: {at}{message}: not in the Argo CD {} schema, so the API server drops it or Argo CD refuses it", self.version)
    }
}

/// A field Go's `encoding/json` cannot decode: its dotted path, the JSON kind found in Go's words
/// (`string`, `number`, `bool`, `array`, `object`) and the Go type of the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub at: String,
    pub found: &'static str,
    pub want: String,
}

impl std::fmt::Display for DecodeError {
    /// Go's `UnmarshalTypeError`, with the field's path for the struct and field names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "json: cannot unmarshal {} into Go struct field {} of type {}",
            self.found, self.at, self.want
        )
    }
}

fn go_json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type behind a JSON Schema type of the Argo CD CRDs.
fn go_type(schema_type: &str) -> &'static str {
    match schema_type {
        "boolean" => "bool",
        "integer" => "int64",
        "number" => "float64",
        "string" => "string",
        "array" => "slice",
        "object" => "struct or map",
        _ => "interface {}",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture;
    use super::*;

    #[test]
    fn the_schemas_in_the_repository_compile_and_the_declared_version_loads() {
        let argocd = ArgoCd::load(&fixture::repo_root()).unwrap();
        assert_eq!(argocd.version, "3.5");
        assert_eq!(argocd.validators.len(), KINDS.len());
    }

    #[test]
    fn decoding_fails_on_a_wrong_json_type_and_drops_unknown_fields() {
        // Go's encoding/json, as applyTemplatePatch (controllers/template/patch.go) decodes.
        let argocd = ArgoCd::load(&fixture::repo_root()).unwrap();
        let patch = json!({"spec": {"syncPolicy": {"automated": {"selfHeal": "true", "prune": true, "selfheal": true}},
            "sources": [{"helm": {"releaseName": 3}}]}});
        let (wrong, unknown) = argocd.decode("Application", &patch);
        let wrong: Vec<String> = wrong.iter().map(ToString::to_string).collect();
        assert_eq!(
            wrong,
            [
                "json: cannot unmarshal number into Go struct field spec.sources[0].helm.releaseName of type string",
                "json: cannot unmarshal string into Go struct field spec.syncPolicy.automated.selfHeal of type bool",
            ]
        );
        assert_eq!(unknown, ["spec.syncPolicy.automated.selfheal"]);
        assert_eq!(
            argocd.decode("Application", &json!({"spec": {"project": "p"}})),
            (Vec::new(), Vec::new())
        );
    }

    #[test]
    fn misspelt_argo_cd_fields_are_refused() {
        let argocd = ArgoCd::load(&fixture::repo_root()).unwrap();
        let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
            "spec": {"project": "p", "destination": {"sever": "https://kubernetes.default.svc"},
                     "syncPolicy": {"automated": {"prune": true, "selfheal": true}}}});
        let found = argocd.validate(&app);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|(at, m)| at == "spec.destination" && m.contains("\"sever\"")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(at, m)| at == "spec.syncPolicy.automated" && m.contains("\"selfheal\"")),
            "{found:?}"
        );
        let appset = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "a"},
            "spec": {"generators": [], "template": {"metadata": {}, "spec": {"project": "p", "destination": {}}},
                     "syncPolicy": {"preserveResourceOnDeletion": true}}});
        let found = argocd.validate(&appset);
        assert!(
            matches!(found.as_slice(), [(at, m)] if at == "spec.syncPolicy" && m.contains("preserveResourceOnDeletion")),
            "{found:?}"
        );
        // The CRD requires a template's metadata and spec (ApplicationSetTemplate has no
        // omitempty on them): the API server refuses an ApplicationSet without them.
        let bare = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "a"},
            "spec": {"generators": [], "template": {}}});
        let found = argocd.validate(&bare);
        assert_eq!(
            found,
            [
                (
                    "spec.template".to_owned(),
                    "\"metadata\" is a required property".to_owned()
                ),
                (
                    "spec.template".to_owned(),
                    "\"spec\" is a required property".to_owned()
                ),
            ]
        );
        assert_eq!(
            argocd.validate(&json!({"apiVersion": "v1", "kind": "ConfigMap", "bogus": 1})),
            Vec::new()
        );
    }

    #[test]
    fn status_is_refused_and_metadata_is_checked_as_a_template_s() {
        // status is the controller's to write: not desired state, whatever the CRD lists.
        let argocd = ArgoCd::load(&fixture::repo_root()).unwrap();
        let project = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "p", "lables": {}, "annotations": {"a": 1}}, "spec": {}, "status": {}});
        let mut found = argocd.validate(&project);
        found.sort();
        let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["", "metadata", "metadata.annotations.a"], "{found:?}");
        assert!(found[0].1.contains("\"status\"") && found[1].1.contains("\"lables\""));
        let unnamed = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {}, "spec": {}});
        assert_eq!(
            argocd.validate(&unnamed),
            [(
                "metadata".to_owned(),
                "\"name\" is a required property".to_owned()
            )]
        );
    }

    #[test]
    fn an_undeclared_or_unknown_version_is_a_problem_at_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-argocd-version-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("config")).unwrap();
        let missing = ArgoCd::load(&dir).err().unwrap();
        assert_eq!(
            (missing.path.as_str(), missing.rule),
            (VERSION_FILE, RULE_VERSION)
        );
        std::fs::write(dir.join(VERSION_FILE), "version: \"2.4\"\n").unwrap();
        let unknown = ArgoCd::load(&dir).err().unwrap();
        assert!(
            unknown
                .message
                .contains("no Argo CD schema for it; use one of \"3.5\""),
            "{}",
            unknown.message
        );
        std::fs::write(dir.join(VERSION_FILE), "version: \"3.5\"\nextra: 1\n").unwrap();
        assert!(ArgoCd::load(&dir)
            .err()
            .unwrap()
            .message
            .contains("no other key"));
        std::fs::write(
            dir.join(VERSION_FILE),
            "version: \"3.5\"\nenableNewGitFileGlobbing: true\n",
        )
        .unwrap();
        assert_eq!(ArgoCd::load(&dir).unwrap().version, "3.5");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
