//! The API schemas of one Kubernetes version, and strict validation of an object against them.
//!
//! The definitions are the strict JSON Schema form of the API server's OpenAPI document (unknown
//! fields refused), provisioned by [`crate::tools::kubernetes_schema`]. Two checks the API server
//! makes in code, not in its OpenAPI, are added here: a resource quantity must parse (`500m`,
//! `1Gi`), and names are checked by [`check_name`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::schema::{self, Validator};

use super::KubeVersion;

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The schemas of one Kubernetes version. The definitions are read on first use, and validators
/// compiled per kind on first use, shared by every thread.
pub struct Schemas {
    pub version: KubeVersion,
    path: PathBuf,
    /// Read when the first object is checked: a run whose renders and checks all come from the
    /// cache checks none, and the definitions were most of its memory (3.4 of 5.6 MB).
    loaded: OnceLock<Result<Definitions, String>>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

struct Definitions {
    document: Arc<Value>,
    /// (apiVersion, kind) to its definition's name.
    kinds: HashMap<(String, String), String>,
}

/// One way an object differs from its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Where in the object, as a dotted path (`spec.template.spec.containers[0].image`), empty
    /// for the object itself.
    pub at: String,
    pub message: String,
}

impl Schemas {
    /// The definitions file of `version` at `path`, read when first needed; a file that is not
    /// there is an error now.
    pub fn load(version: KubeVersion, path: &Path) -> Result<Schemas> {
        std::fs::metadata(path).with_context(|| {
            format!(
                "reading the Kubernetes {version} schemas {}",
                path.display()
            )
        })?;
        Ok(Schemas {
            version,
            path: path.to_owned(),
            loaded: OnceLock::new(),
            validators: Mutex::new(HashMap::new()),
        })
    }

    fn definitions(&self) -> Result<&Definitions, &str> {
        let read = || -> Result<Definitions> {
            let path = self.path.display();
            let text =
                std::fs::read_to_string(&self.path).with_context(|| format!("reading {path}"))?;
            let mut doc = lean(&text).with_context(|| format!("parsing {path}"))?;
            drop(text);
            Definitions::from_document(&mut doc)
        };
        self.loaded
            .get_or_init(|| read().map_err(|err| format!("{err:#}")))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The ways `object` differs from the schema of its apiVersion/kind; `None` when this
    /// version has no schema for them (a custom resource, or an API it does not serve).
    pub fn validate(&self, object: &Value) -> Option<Vec<Finding>> {
        let api_version = object["apiVersion"].as_str()?;
        let kind = object["kind"].as_str()?;
        let definitions = match self.definitions() {
            Ok(definitions) => definitions,
            Err(err) => {
                return Some(vec![Finding {
                    at: String::new(),
                    message: format!(
                        "the Kubernetes {} schemas cannot be used: {err}",
                        self.version
                    ),
                }])
            }
        };
        let name = definitions
            .kinds
            .get(&(api_version.to_owned(), kind.to_owned()))?;
        let validator = match self.validator(&definitions.document, name) {
            Ok(validator) => validator,
            // The provisioned schemas are checksum-pinned; one that does not compile is this
            // crate's bug, and is said, never taken for "no schema".
            Err(err) => {
                return Some(vec![Finding {
                    at: String::new(),
                    message: format!(
                        "the Kubernetes {} schema of {kind} cannot be used: {err}",
                        self.version
                    ),
                }])
            }
        };
        Some(findings(&validator, object))
    }

    fn validator(&self, document: &Arc<Value>, name: &str) -> Result<Arc<Validator>, String> {
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = validators.get(name) {
            return Ok(found.clone());
        }
        let validator = schema::Options::default()
            .format("quantity", |v| v.as_str().is_none_or(is_quantity))
            .format("date-time", schema::is_date_time)
            .compile(
                document.clone(),
                &format!("/$defs/{}", name.replace('~', "~0").replace('/', "~1")),
            )?;
        let validator = Arc::new(validator);
        validators.insert(name.to_owned(), validator.clone());
        Ok(validator)
    }
}

impl Definitions {
    fn from_document(doc: &mut Value) -> Result<Definitions> {
        let defs = doc
            .get_mut("$defs")
            .and_then(Value::as_object_mut)
            .context("the Kubernetes schemas have no $defs")?;
        let mut kinds = HashMap::new();
        for (name, def) in defs.iter() {
            for gvk in def["x-kubernetes-group-version-kind"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let (group, v, kind) = (
                    gvk["group"].as_str().unwrap_or(""),
                    gvk["version"].as_str().unwrap_or(""),
                    gvk["kind"].as_str().unwrap_or(""),
                );
                let api_version = match group {
                    "" => v.to_owned(),
                    group => format!("{group}/{v}"),
                };
                kinds.insert((api_version, kind.to_owned()), name.clone());
            }
        }
        // Upstream a quantity is any string; the API server parses it.
        defs.insert(
            QUANTITY.to_owned(),
            json!({"type": ["string", "number", "null"], "format": "quantity"}),
        );
        Ok(Definitions {
            document: Arc::new(doc.take()),
            kinds,
        })
    }
}

/// The JSON document `text` without the `description` texts of its schemas: they are about 70% of
/// the Kubernetes definitions, no check reads them, and held as JSON values they were most of
/// verify's peak memory. Only a string is dropped, so that a property named `description` (a
/// PriorityClass has one) keeps its schema.
fn lean(text: &str) -> serde_json::Result<Value> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Lean;

    impl<'de> DeserializeSeed<'de> for Lean {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(Lean)
        }
    }

    impl<'de> Visitor<'de> for Lean {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element_seed(Lean)? {
                out.push(item);
            }
            Ok(Value::Array(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let value = map.next_value_seed(Lean)?;
                if !(key == "description" && value.is_string()) {
                    out.insert(key, value);
                }
            }
            Ok(Value::Object(out))
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let value = Lean.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `/spec/containers/0/image` as `spec.containers[0].image`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// The ways `object` differs from `validator`'s schema, each where and in the words of
/// [`describe`], repeats dropped.
pub fn findings(validator: &Validator, object: &Value) -> Vec<Finding> {
    let mut findings: Vec<Finding> = validator
        .errors(object)
        .iter()
        .map(|error| Finding {
            at: dotted(&error.path),
            message: describe(error),
        })
        .collect();
    findings.dedup();
    findings
}

pub fn describe(error: &schema::Error) -> String {
    use schema::Kind as K;
    match &error.kind {
        K::Unknown(unexpected) => format!(
            "unknown field{} {}",
            if unexpected.len() == 1 { "" } else { "s" },
            unexpected
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        K::Format { instance, format } if format == "quantity" => format!(
            "{instance} is not a Kubernetes quantity: write a number with an optional suffix, e.g. 500m, 2, 1Gi, 512Mi"
        ),
        _ => error.to_string(),
    }
}

/// A resource quantity as the API server parses it: a signed decimal number, then a binary
/// (`Ki` to `Ei`) or decimal (`n`, `u`, `m`, `k`, `M` to `E`) suffix or an exponent.
pub fn is_quantity(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(digits);
    let number_ok = match number.split_once('.') {
        Some((int, frac)) => (!int.is_empty() || !frac.is_empty()) && !frac.contains('.'),
        None => !number.is_empty(),
    };
    let suffix_ok = match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        exponent => exponent
            .strip_prefix(['e', 'E'])
            .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
            .is_some_and(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())),
    };
    number_ok && suffix_ok
}

/// The name rule the API server applies to `kind`'s `metadata.name`: a DNS-1123 label for
/// Namespaces and Services, a path segment for the RBAC kinds (`system:auth-delegator`), a
/// DNS-1123 subdomain for the rest.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    match kind {
        "Namespace" | "Service" => crate::primitive::check_dns_label(name),
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            match name.is_empty() || name == "." || name == ".." || name.contains(['/', '%']) {
                true => Err(
                    "is not a valid path segment name (no '/' or '%', not '.' or '..')".to_owned(),
                ),
                false => Ok(()),
            }
        }
        _ => check_dns_subdomain(name),
    }
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels.
pub fn check_dns_subdomain(name: &str) -> Result<(), String> {
    let rule = "is not a DNS-1123 subdomain (at most 253 characters: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)";
    let labels_ok = name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
    });
    match name.len() <= 253 && labels_ok {
        true => Ok(()),
        false => Err(rule.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_the_api_server_parses_them() {
        for good in [
            "1",
            "500m",
            "1Gi",
            "0.5",
            ".5",
            "1.5Gi",
            "1e3",
            "2E-2",
            "+1k",
            "128974848",
            "129M",
        ] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "1Gx", "1 Gi", "Gi", "1..5", "1GiB", "1e", "lots", "1gi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn names_follow_the_kind_s_rule() {
        assert!(check_name("ConfigMap", "a.b-c").is_ok());
        assert!(check_name("ConfigMap", "Orders").is_err());
        assert!(check_name("Service", "a.b").is_err());
        assert!(check_name("ClusterRole", "system:auth-delegator").is_ok());
        assert!(check_name("Role", "a/b").is_err());
        assert!(check_name("Secret", &"a".repeat(254)).is_err());
    }

    #[test]
    fn pointers_read_as_dotted_paths() {
        assert_eq!(
            dotted("/spec/containers/0/image"),
            "spec.containers[0].image"
        );
        assert_eq!(
            dotted("/metadata/annotations/a~1b"),
            "metadata.annotations.a/b"
        );
        assert_eq!(dotted(""), "");
    }

    /// A small definitions document in the shape of the pinned ones.
    fn schemas() -> Schemas {
        let mut doc = json!({"$defs": {
            "io.k8s.api.core.v1.ResourceQuota": {
                "type": "object",
                "additionalProperties": false,
                "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "ResourceQuota"}],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "spec": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {"hard": {"type": "object", "additionalProperties": {"$ref": "#/$defs/io.k8s.apimachinery.pkg.api.resource.Quantity"}}}
                    }
                }
            },
            QUANTITY: {"oneOf": [{"type": "string"}, {"type": "number"}]}
        }});
        let definitions = Definitions::from_document(&mut doc).unwrap();
        Schemas {
            version: KubeVersion { minor: 31 },
            path: PathBuf::new(),
            loaded: OnceLock::from(Ok(definitions)),
            validators: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn the_definitions_are_read_when_the_first_object_is_checked() {
        let dir = std::env::temp_dir().join(crate::scratch::unique_name("kube-schemas"));
        let dir = crate::scratch::Scratch::new(dir);
        std::fs::create_dir(dir.path()).unwrap();
        let file = dir.path().join("v1.31.json");
        let version = KubeVersion { minor: 31 };
        let missing = Schemas::load(version, &file).err().unwrap();
        assert!(format!("{missing:#}").contains("v1.31.json"), "{missing:#}");

        std::fs::write(&file, "{\"$defs\": ").unwrap();
        let schemas = Schemas::load(version, &file).unwrap();
        // Not read yet: a file damaged after the load is what the first check finds.
        std::fs::write(&file, "{\"$defs\": {\"a\": }").unwrap();
        let found = schemas
            .validate(&json!({"apiVersion": "v1", "kind": "ConfigMap"}))
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .starts_with("the Kubernetes 1.31 schemas cannot be used: parsing "),
            "{found:?}"
        );
    }

    #[test]
    fn descriptions_are_dropped_but_a_property_named_description_is_kept() {
        let text = r#"{"$defs": {"a": {"description": "long text", "type": "object",
            "properties": {"description": {"description": "its text", "type": "string"}},
            "items": [{"description": "x", "enum": [1, -2, 2.5, true, null]}]}}}"#;
        assert_eq!(
            lean(text).unwrap(),
            json!({"$defs": {"a": {"type": "object",
                "properties": {"description": {"type": "string"}},
                "items": [{"enum": [1, -2, 2.5, true, null]}]}}})
        );
        assert!(
            lean("{} {}").is_err(),
            "trailing text is refused as serde_json refuses it"
        );
    }

    #[test]
    fn an_object_is_checked_strictly_with_quantities() {
        let s = schemas();
        let ok = json!({"apiVersion": "v1", "kind": "ResourceQuota", "spec": {"hard": {"cpu": "2", "memory": "1Gi"}}});
        assert_eq!(s.validate(&ok), Some(Vec::new()));
        let bad = json!({"apiVersion": "v1", "kind": "ResourceQuota", "spec": {"hard": {"memory": "1Gx"}, "hrad": {}}});
        let found = s.validate(&bad).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|f| f.at == "spec" && f.message.contains("unknown field \"hrad\"")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.at == "spec.hard.memory"
                && f.message.contains("\"1Gx\" is not a Kubernetes quantity")),
            "{found:?}"
        );
        assert_eq!(
            s.validate(&json!({"apiVersion": "ameide.io/v1", "kind": "Domain"})),
            None
        );
    }
}
