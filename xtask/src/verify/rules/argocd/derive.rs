//! The derived schema of one Argo CD version (`xtask/schemas/argocd/<version>.json`) from the
//! CRDs vendored beside it (`<version>/`), and the tests that keep the two and the provenance of
//! the CRDs in step.
//!
//! The derivation runs here, in the tests, and not in `verify`: the ApplicationSet CRD is 1.4 MB
//! of YAML, and reading it on every run would cost more than everything else `verify` reads.
//! The derived file is the CRDs' strict schemas ([`crds::strict`], as every custom resource is
//! checked) with the descriptions gone and each subschema the CRDs repeat (an ApplicationSet
//! inlines the Application's spec in every generator) written once under `$defs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::kube::crds;

/// The vendored CRD files of a version, as upstream names them (`manifests/crds/`).
const CRD_FILES: [&str; 3] = [
    "application-crd.yaml",
    "applicationset-crd.yaml",
    "appproject-crd.yaml",
];

/// A repeated subschema shorter than this (`{"type":"string"}`) is cheaper written again than
/// referenced.
const SHARED_FROM: usize = 64;

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/argocd")
}

/// The derived schema of the CRDs in `dir`, as the text of the `.json` file: `kinds` (each
/// kind's schema) and `$defs` (what they share), keys sorted.
fn derive(dir: &Path) -> String {
    let document = shared(sorted(json!({"kinds": kinds(dir)})));
    let mut text = serde_json::to_string_pretty(&sorted(document)).expect("JSON serializes");
    text.push('\n');
    text
}

/// Each kind's schema, by kind. `metadata`, which a CRD leaves to the API server (`{type:
/// object}`), is the fields an ApplicationSet's template may set (`ApplicationSetTemplateMeta`,
/// what this repository's objects and the generated Applications set), with the name the API
/// server requires.
fn kinds(dir: &Path) -> Map<String, Value> {
    let mut kinds = Map::new();
    for file in CRD_FILES {
        let text = std::fs::read_to_string(dir.join(file)).expect("the vendored CRD is readable");
        let crd: Value = crate::yaml::from_str(&text).expect("the vendored CRD is YAML");
        let (kind, schema) = desired_state(&crd);
        kinds.insert(kind, schema);
    }
    let mut meta = kinds["ApplicationSet"]
        .pointer("/properties/spec/properties/template/properties/metadata")
        .expect("the ApplicationSet CRD has spec.template.metadata")
        .clone();
    meta["required"] = json!(["name"]);
    for schema in kinds.values_mut() {
        schema["properties"]["metadata"] = meta.clone();
    }
    kinds
}

/// `document` with each repeated subschema of its kinds moved to `$defs` and referenced.
fn shared(mut document: Value) -> Value {
    let mut seen = HashMap::new();
    for schema in kinds_of(&mut document) {
        count(schema, &mut seen);
    }
    let mut defs = Map::new();
    for schema in kinds_of(&mut document) {
        each_subschema(schema, &mut |sub| share(sub, &seen, &mut defs));
    }
    document["$defs"] = Value::Object(defs);
    document
}

/// A CRD's kind and the strict schema of its one served version, without `status`: the status is
/// the controller's to write, not desired state, and one in git is refused. apiVersion and kind
/// must be the CRD's, as the API server routes by them.
fn desired_state(crd: &Value) -> (String, Value) {
    let spec = &crd["spec"];
    let kind = spec["names"]["kind"]
        .as_str()
        .expect("a CRD names its kind");
    let served: Vec<&Value> = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == true)
        .collect();
    let [version] = served.as_slice() else {
        panic!(
            "the {kind} CRD serves {} versions, not one: say which is checked",
            served.len()
        );
    };
    let mut schema = crds::strict(&version["schema"]["openAPIV3Schema"], true);
    let properties = schema["properties"]
        .as_object_mut()
        .expect("a root lists properties");
    properties.shift_remove("status");
    let api_version = format!(
        "{}/{}",
        spec["group"].as_str().unwrap_or_default(),
        version["name"].as_str().unwrap_or_default()
    );
    properties.insert("apiVersion".to_owned(), json!({"const": api_version}));
    properties.insert("kind".to_owned(), json!({"const": kind}));
    let required = schema["required"]
        .as_array()
        .expect("the root requires metadata and spec");
    schema["required"] = [json!("apiVersion"), json!("kind")]
        .into_iter()
        .chain(required.iter().cloned())
        .collect();
    (kind.to_owned(), schema)
}

fn kinds_of(document: &mut Value) -> impl Iterator<Item = &mut Value> {
    document["kinds"]
        .as_object_mut()
        .expect("kinds is a map")
        .values_mut()
}

/// `value` with every object's keys sorted, so that the derived file is the same on every run.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(list) => Value::Array(list.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Calls `f` on each subschema of `schema` (not on `schema`), where JSON Schema has one.
fn each_subschema(schema: &mut Value, f: &mut impl FnMut(&mut Value)) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for (key, value) in object.iter_mut() {
        match (key.as_str(), value) {
            ("properties", Value::Object(properties)) => properties.values_mut().for_each(&mut *f),
            ("allOf" | "anyOf" | "oneOf", Value::Array(list)) => list.iter_mut().for_each(&mut *f),
            ("items" | "additionalProperties" | "not", sub @ Value::Object(_)) => f(sub),
            _ => {}
        }
    }
}

/// Counts each subschema's text in `seen`, once per place it would stay in after sharing: the
/// subschemas inside a repeated one are counted at its first occurrence only.
fn count(schema: &mut Value, seen: &mut HashMap<String, usize>) {
    let text = schema.to_string();
    let times = seen.entry(text).or_default();
    *times += 1;
    if *times == 1 {
        each_subschema(schema, &mut |sub| count(sub, seen));
    }
}

/// `schema` written once under `defs` and referenced, when it is repeated and not short; its
/// own subschemas likewise.
fn share(schema: &mut Value, seen: &HashMap<String, usize>, defs: &mut Map<String, Value>) {
    let text = schema.to_string();
    if text.len() < SHARED_FROM || seen.get(&text).copied().unwrap_or(0) < 2 {
        each_subschema(schema, &mut |sub| share(sub, seen, defs));
        return;
    }
    let name = crate::digest::sha256_hex(text.as_bytes())[..16].to_owned();
    if !defs.contains_key(&name) {
        let mut shared = schema.clone();
        each_subschema(&mut shared, &mut |sub| share(sub, seen, defs));
        defs.insert(name.clone(), shared);
    }
    *schema = json!({"$ref": format!("#/$defs/{name}")});
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vendored file is byte for byte the one its provenance names: its sha256 is there.
    #[test]
    fn the_vendored_crds_are_the_ones_their_provenance_names() {
        for (version, _) in super::super::SCHEMAS {
            let dir = schemas_dir().join(version);
            let provenance = std::fs::read_to_string(dir.join("PROVENANCE")).unwrap();
            let listed: Vec<(&str, &str)> = provenance
                .lines()
                .filter_map(|line| line.split_once("  "))
                .filter(|(hash, _)| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                .collect();
            let files: Vec<&str> = listed.iter().map(|(_, file)| *file).collect();
            assert_eq!(
                files, CRD_FILES,
                "{version}: PROVENANCE lists each CRD file"
            );
            for (hash, file) in listed {
                let bytes = std::fs::read(dir.join(file)).unwrap();
                assert_eq!(crate::digest::sha256_hex(&bytes), hash, "{version}/{file}");
            }
        }
    }

    /// The committed `<version>.json` is what the vendored CRDs derive. After vendoring other CRDs
    /// (or changing the derivation), write it anew with
    /// `AMEIDE_BLESS=1 cargo test -p xtask --bin xtask argocd::derive`.
    #[test]
    fn the_derived_schemas_are_those_of_the_vendored_crds() {
        for (version, committed) in super::super::SCHEMAS {
            let derived = derive(&schemas_dir().join(version));
            let path = schemas_dir().join(format!("{version}.json"));
            if std::env::var_os("AMEIDE_BLESS").is_some_and(|v| v == "1") {
                std::fs::write(&path, &derived).unwrap();
                continue;
            }
            assert!(
                derived == committed,
                "{} is not what the CRDs in {version}/ derive: write it anew with `AMEIDE_BLESS=1 cargo test -p xtask --bin xtask argocd::derive`",
                path.display()
            );
        }
    }

    #[test]
    fn repeated_subschemas_are_written_once_and_short_ones_stay() {
        let big = json!({"type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "string", "pattern": "^[a-z]+[a-z0-9-]*$"}, "b": {"type": "integer"}}});
        let mut schema = sorted(json!({"type": "object", "properties": {
            "x": big, "y": {"type": "array", "items": big}, "z": {"type": "string"}, "w": {"type": "string"}}}));
        let mut seen = HashMap::new();
        count(&mut schema, &mut seen);
        let mut defs = Map::new();
        share(&mut schema, &seen, &mut defs);
        assert_eq!(defs.len(), 1, "{defs:#?}");
        let (name, shared) = defs.iter().next().unwrap();
        assert_eq!(*shared, sorted(big));
        let reference = json!({"$ref": format!("#/$defs/{name}")});
        assert_eq!(schema["properties"]["x"], reference);
        assert_eq!(schema["properties"]["y"]["items"], reference);
        assert_eq!(schema["properties"]["z"], json!({"type": "string"}));
    }
}
