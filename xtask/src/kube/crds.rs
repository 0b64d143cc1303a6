//! Custom resources as the API server checks them: against the `openAPIV3Schema` of the
//! CustomResourceDefinition that serves their apiVersion and kind.
//!
//! A structural schema is turned into a strict JSON Schema: the API server prunes the fields a
//! schema does not list (silently, so a misspelt field is lost without a word), and here they are
//! refused instead, unless the schema keeps them (`x-kubernetes-preserve-unknown-fields`).
//! `metadata` is the API server's to check, not the CRD's ([`super::schemas::check_name`]).

use std::collections::BTreeMap;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::schema::Validator;

use super::schemas::{findings, Finding};

/// The CRDs read, by group and kind.
#[derive(Default)]
pub struct Crds {
    kinds: BTreeMap<(String, String), Crd>,
    /// Of every CRD read, for cache keys: the findings change when a schema does.
    digest: String,
}

struct Crd {
    /// Where it was read from.
    file: String,
    cluster_scoped: bool,
    /// The versions it serves, each with its validator.
    versions: BTreeMap<String, Validator>,
}

/// A CRD that cannot be used: where, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub file: String,
    pub message: String,
}

/// What [`Crds::validate`] knows of an object's apiVersion and kind.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Checked: how it differs from its CRD's schema, with the file that CRD is in.
    Checked {
        file: String,
        findings: Vec<Finding>,
    },
    /// A CRD defines the kind, but serves none of this version.
    VersionNotServed { file: String, served: Vec<String> },
    /// No CRD defines the group and kind.
    Unknown,
}

impl Crds {
    /// Reads the CRDs among `documents` (each with the file it came from); other kinds are
    /// skipped. A second CRD for the same group and kind, or one whose schema does not compile,
    /// is refused.
    pub fn from_documents(documents: Vec<(String, Value)>) -> (Crds, Vec<Refused>) {
        let mut crds = Crds::default();
        let mut refused = Vec::new();
        let mut digest = Vec::new();
        for (file, doc) in documents {
            if doc["kind"] != "CustomResourceDefinition"
                || !doc["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
            {
                continue;
            }
            let spec = &doc["spec"];
            let (Some(group), Some(kind)) =
                (spec["group"].as_str(), spec["names"]["kind"].as_str())
            else {
                refused.push(Refused {
                    file,
                    message: "a CustomResourceDefinition without spec.group or spec.names.kind"
                        .to_owned(),
                });
                continue;
            };
            let key = (group.to_owned(), kind.to_owned());
            if let Some(first) = crds.kinds.get(&key) {
                refused.push(Refused {
                    message: format!(
                        "a second CustomResourceDefinition of {kind}.{group} (the first is in {}): the cluster holds one; keep one of them",
                        first.file
                    ),
                    file,
                });
                continue;
            }
            let mut versions = BTreeMap::new();
            for version in spec["versions"].as_array().into_iter().flatten() {
                let name = version["name"].as_str().unwrap_or_default();
                if version["served"] != true {
                    continue;
                }
                let schema = strict(&version["schema"]["openAPIV3Schema"], true);
                match crate::schema::Options::default().compile(Arc::new(schema), "") {
                    Ok(validator) => {
                        versions.insert(name.to_owned(), validator);
                    }
                    Err(err) => refused.push(Refused {
                        file: file.clone(),
                        message: format!(
                            "{kind}.{group} {name}: the openAPIV3Schema does not compile ({err}); fix the schema"
                        ),
                    }),
                }
            }
            digest.push(format!("{file}\n{doc}\n"));
            crds.kinds.insert(
                key,
                Crd {
                    file,
                    cluster_scoped: spec["scope"] == "Cluster",
                    versions,
                },
            );
        }
        digest.sort();
        crds.digest = crate::digest::sha256_hex(digest.concat().as_bytes());
        (crds, refused)
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether a CRD defines `kind` of `group` as cluster-scoped.
    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> bool {
        self.kinds
            .get(&(group.to_owned(), kind.to_owned()))
            .is_some_and(|c| c.cluster_scoped)
    }

    /// `object` against the CRD of its apiVersion and kind.
    pub fn validate(&self, object: &Value) -> Verdict {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let Some(crd) = self.kinds.get(&(group.to_owned(), kind.to_owned())) else {
            return Verdict::Unknown;
        };
        let Some(validator) = crd.versions.get(version) else {
            return Verdict::VersionNotServed {
                file: crd.file.clone(),
                served: crd.versions.keys().cloned().collect(),
            };
        };
        Verdict::Checked {
            file: crd.file.clone(),
            findings: findings(validator, object),
        }
    }
}

/// The JSON Schema keywords a structural schema shares with JSON Schema, copied as they are.
const SAME: [&str; 13] = [
    "type",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "minProperties",
    "maxProperties",
];

/// A structural `openAPIV3Schema` as a strict JSON Schema (draft 2020-12). The OpenAPI-only
/// keywords are translated (`nullable`, the boolean `exclusiveMinimum`/`Maximum`,
/// `x-kubernetes-int-or-string`), descriptions, defaults and formats dropped (the API server
/// checks no format of a custom resource but what its schema's pattern says), and every object
/// refuses the fields it does not list unless it keeps unknown fields.
pub fn strict(schema: &Value, root: bool) -> Value {
    let Some(schema) = schema.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for key in SAME {
        if let Some(value) = schema.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    for (bound, exclusive) in [
        ("minimum", "exclusiveMinimum"),
        ("maximum", "exclusiveMaximum"),
    ] {
        if let (Some(limit), Some(true)) = (
            schema.get(bound),
            schema.get(exclusive).and_then(Value::as_bool),
        ) {
            out.remove(bound);
            out.insert(exclusive.to_owned(), limit.clone());
        }
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        out.insert("type".to_owned(), json!(["integer", "string"]));
    }
    if let Some(list) = schema.get("required") {
        out.insert("required".to_owned(), list.clone());
    }
    if let Some(items) = schema.get("items") {
        out.insert("items".to_owned(), strict(items, false));
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let each = list.iter().map(|s| strict(s, false)).collect();
            out.insert(key.to_owned(), Value::Array(each));
        }
    }
    if let Some(not) = schema.get("not") {
        out.insert("not".to_owned(), strict(not, false));
    }
    let keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields")
        == Some(&Value::Bool(true))
        || schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    let mut properties: Map<String, Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, s)| (name.clone(), strict(s, false)))
        .collect();
    if root {
        // apiVersion, kind and metadata are the API server's, whatever the schema says of them.
        properties.insert("apiVersion".to_owned(), json!({"type": "string"}));
        properties.insert("kind".to_owned(), json!({"type": "string"}));
        properties.insert("metadata".to_owned(), json!({"type": "object"}));
    }
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object") || root;
    match schema.get("additionalProperties") {
        Some(Value::Bool(allowed)) => {
            out.insert("additionalProperties".to_owned(), Value::Bool(*allowed));
        }
        Some(more) => {
            out.insert("additionalProperties".to_owned(), strict(more, false));
        }
        None if is_object && !keeps_unknown => {
            out.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
        None => {}
    }
    if !properties.is_empty() {
        out.insert("properties".to_owned(), Value::Object(properties));
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        return json!({"anyOf": [{"type": "null"}, Value::Object(out)]});
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn crd(scope: &str) -> Value {
        crate::yaml::from_str(&format!(
            r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.example.io}}
spec:
  group: example.io
  scope: {scope}
  names: {{kind: Widget, plural: widgets}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {{type: integer, minimum: 0, exclusiveMinimum: true}}
                port: {{x-kubernetes-int-or-string: true}}
                note: {{type: string, nullable: true}}
                extra: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
                labels: {{type: object, additionalProperties: {{type: string}}}}
    - name: v0
      served: false
      storage: false
"#
        ))
        .unwrap()
    }

    fn widgets() -> Crds {
        let (crds, refused) = Crds::from_documents(vec![("w.yaml".into(), crd("Namespaced"))]);
        assert_eq!(refused, Vec::new());
        crds
    }

    fn findings(crds: &Crds, object: Value) -> Vec<(String, String)> {
        match crds.validate(&object) {
            Verdict::Checked { findings, .. } => {
                findings.into_iter().map(|f| (f.at, f.message)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_custom_resource_is_checked_strictly_against_its_crd() {
        let crds = widgets();
        let ok = json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}},
            "spec": {"size": 1, "port": "http", "note": null, "extra": {"anything": [1]}, "labels": {"x": "y"}}});
        assert_eq!(findings(&crds, ok), Vec::new());
        let bad = json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 0, "sise": 1, "port": 1.5, "labels": {"x": 1}}, "status2": {}});
        let found = findings(&crds, bad);
        let at = |path: &str, text: &str| found.iter().any(|(a, m)| a == path && m.contains(text));
        assert!(at("", "unknown field \"status2\""), "{found:?}");
        assert!(at("spec", "unknown field \"sise\""), "{found:?}");
        assert!(at("spec.size", "0"), "{found:?}");
        assert!(at("spec.port", "1.5"), "{found:?}");
        assert!(at("spec.labels.x", "1"), "{found:?}");
        assert_eq!(found.len(), 5, "{found:?}");
        let missing = json!({"apiVersion": "example.io/v1", "kind": "Widget", "spec": {}});
        assert!(findings(&crds, missing)
            .iter()
            .any(|(_, m)| m.contains("\"size\" is a required property")));
    }

    #[test]
    fn unknown_kinds_and_unserved_versions_are_told_apart() {
        let crds = widgets();
        assert_eq!(
            crds.validate(&json!({"apiVersion": "example.io/v1", "kind": "Gadget"})),
            Verdict::Unknown
        );
        assert_eq!(
            crds.validate(&json!({"apiVersion": "example.io/v0", "kind": "Widget"})),
            Verdict::VersionNotServed {
                file: "w.yaml".into(),
                served: vec!["v1".into()]
            }
        );
        assert!(!crds.is_cluster_scoped("example.io", "Widget"));
        let (cluster, _) = Crds::from_documents(vec![("c.yaml".into(), crd("Cluster"))]);
        assert!(cluster.is_cluster_scoped("example.io", "Widget"));
    }

    #[test]
    fn a_second_crd_of_one_kind_is_refused_and_the_digest_follows_the_schemas() {
        let (crds, refused) = Crds::from_documents(vec![
            ("a.yaml".into(), crd("Namespaced")),
            ("b.yaml".into(), crd("Namespaced")),
            ("c.yaml".into(), json!({"kind": "ConfigMap"})),
        ]);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].file, "b.yaml");
        assert!(
            refused[0].message.contains("the first is in a.yaml"),
            "{}",
            refused[0].message
        );
        assert_eq!(widgets().digest(), widgets().digest());
        let (scoped, _) = Crds::from_documents(vec![("w.yaml".into(), crd("Cluster"))]);
        assert_ne!(scoped.digest(), widgets().digest());
        assert_eq!(crds.kinds.len(), 1);
    }
}
