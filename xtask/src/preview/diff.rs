//! The comparison: the objects of two renders of one Application, matched by identity, and the
//! Application itself. Pure functions of text, so that every case is a table test.
//!
//! Objects are compared as parsed YAML (so that helm's `# Source:` comments and formatting never
//! count), and shown redacted ([`super::redact`]) as YAML with a unified diff per changed one.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml::Value;

use super::redact;

/// What happens to an Application or an object when the change merges. Removals sort first: they
/// are what Argo CD prunes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Removed,
    Added,
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Removed => "removed",
            Change::Added => "added",
            Change::Changed => "changed",
        }
    }
}

/// One object whose desired state the change adds, removes or changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectChange {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub change: Change,
    /// A unified diff of the redacted object, base to change (all `+` when added, all `-` when
    /// removed).
    pub diff: String,
}

impl ObjectChange {
    /// `apiVersion/kind namespace/name`, as the markdown names it.
    pub fn label(&self) -> String {
        let at = match self.namespace.as_str() {
            "" => self.name.clone(),
            ns => format!("{ns}/{}", self.name),
        };
        format!("{}/{} {at}", self.api_version, self.kind)
    }
}

/// Kinds that live outside any namespace, so that a rendered object without
/// `metadata.namespace` is named where Argo CD puts it (the destination namespace otherwise).
const CLUSTER_SCOPED: [&str; 10] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// An object's identity: what Argo CD matches a live object by.
type Id = (String, String, String, String);

/// The objects of a render, by identity; a later document with the same identity wins, as it
/// does when Argo CD applies them. `namespace` is the Application's destination.
pub fn objects(manifests: &str, namespace: &str) -> anyhow::Result<BTreeMap<Id, Value>> {
    let mut out = BTreeMap::new();
    for doc in crate::helm::documents(manifests)? {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let kind = text(&doc["kind"]);
        let ns = match doc["metadata"]["namespace"].as_str() {
            Some(ns) => ns.to_owned(),
            None if CLUSTER_SCOPED.contains(&kind.as_str()) => String::new(),
            None => namespace.to_owned(),
        };
        let id = (
            text(&doc["apiVersion"]),
            kind,
            ns,
            text(&doc["metadata"]["name"]),
        );
        out.insert(id, doc);
    }
    Ok(out)
}

/// What changes between the objects `base` and `head` (either may be empty): removed, added,
/// then changed, each in identity order.
pub fn compare(base: &BTreeMap<Id, Value>, head: &BTreeMap<Id, Value>) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    for (id, old) in base {
        if !head.contains_key(id) {
            out.push(change(id, Change::Removed, Some(old), None));
        }
    }
    for (id, new) in head {
        if !base.contains_key(id) {
            out.push(change(id, Change::Added, None, Some(new)));
        }
    }
    for (id, new) in head {
        if let Some(old) = base.get(id).filter(|old| *old != new) {
            out.push(change(id, Change::Changed, Some(old), Some(new)));
        }
    }
    out
}

/// The Application manifests (compact JSON, as discovery makes them) as one object each, keyed
/// like rendered objects, so that an Application's own spec is compared like what it renders.
pub fn application(manifest: &str) -> BTreeMap<Id, Value> {
    let json: serde_json::Value = serde_json::from_str(manifest).unwrap_or_default();
    let value: Value = serde_yaml::to_value(&json).unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    if value.is_mapping() {
        let namespace = value["metadata"]["namespace"].as_str().unwrap_or_default();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let id = (
            text(&value["apiVersion"]),
            text(&value["kind"]),
            namespace.to_owned(),
            text(&value["metadata"]["name"]),
        );
        out.insert(id, value);
    }
    out
}

fn change(id: &Id, change: Change, old: Option<&Value>, new: Option<&Value>) -> ObjectChange {
    let (api_version, kind, namespace, name) = id.clone();
    let mut object = ObjectChange {
        api_version,
        kind,
        name,
        namespace,
        change,
        diff: String::new(),
    };
    let shown = |v: Option<&Value>| v.map(|v| yaml(&redact::object(v)));
    let (old, new) = (shown(old), shown(new));
    let label = object.label();
    object.diff = match (old.as_deref(), new.as_deref()) {
        (Some(old), Some(new)) if old == new => {
            format!("# {label}: only redacted values changed\n")
        }
        (old, new) => unified(old, new.unwrap_or_default(), &label),
    };
    object
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// A unified diff from `old` (none: a new object) to `new`, headed by the object's label.
fn unified(old: Option<&str>, new: &str, label: &str) -> String {
    let from = match old {
        Some(_) => format!("a/{label}"),
        None => "/dev/null".to_owned(),
    };
    let to = match new {
        "" => "/dev/null".to_owned(),
        _ => format!("b/{label}"),
    };
    similar::TextDiff::from_lines(old.unwrap_or_default(), new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const BASE: &str = indoc::indoc! {"
        ---
        # Source: raw-manifests/templates/manifests.yaml
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: kept
        data:
          a: '1'
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: gone
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: same
    "};

    const HEAD: &str = indoc::indoc! {"
        ---
        # Source: raw-manifests/templates/other.yaml
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: kept
        data:
          a: '2'
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: same
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: new
          namespace: elsewhere
        stringData:
          password: not-to-be-seen
    "};

    fn changes(base: &str, head: &str) -> Vec<ObjectChange> {
        compare(
            &objects(base, "ameide-dev").unwrap(),
            &objects(head, "ameide-dev").unwrap(),
        )
    }

    #[test]
    fn objects_are_matched_by_identity_and_listed_removed_added_changed() {
        let found: Vec<(Change, String)> = changes(BASE, HEAD)
            .iter()
            .map(|o| (o.change, o.label()))
            .collect();
        assert_eq!(
            found,
            [
                (Change::Removed, "v1/ConfigMap ameide-dev/gone".to_owned()),
                (Change::Added, "v1/Secret elsewhere/new".to_owned()),
                (Change::Changed, "v1/ConfigMap ameide-dev/kept".to_owned()),
            ]
        );
    }

    #[test]
    fn a_changed_object_shows_the_new_value_in_a_unified_diff() {
        let changed = changes(BASE, HEAD).pop().unwrap();
        assert_eq!(
            changed.diff,
            indoc::indoc! {"
                --- a/v1/ConfigMap ameide-dev/kept
                +++ b/v1/ConfigMap ameide-dev/kept
                @@ -3,4 +3,4 @@
                 metadata:
                   name: kept
                 data:
                -  a: '1'
                +  a: '2'
            "}
        );
    }

    #[test]
    fn added_and_removed_objects_are_whole_and_secrets_are_redacted() {
        let all = changes(BASE, HEAD);
        assert!(all[0]
            .diff
            .starts_with("--- a/v1/ConfigMap ameide-dev/gone\n+++ /dev/null\n"));
        assert!(all[0].diff.contains("-  name: gone\n"), "{}", all[0].diff);
        assert!(all[1]
            .diff
            .starts_with("--- /dev/null\n+++ b/v1/Secret elsewhere/new\n"));
        assert!(
            all[1].diff.contains("+  password: <redacted>\n"),
            "{}",
            all[1].diff
        );
        assert!(!all[1].diff.contains("not-to-be-seen"));
    }

    #[test]
    fn a_change_only_in_secret_values_says_so_without_them() {
        let secret = |v: &str| {
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: {v}\n")
        };
        let found = changes(&secret("b2xk"), &secret("bmV3"));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].diff,
            "# v1/Secret ameide-dev/s: only redacted values changed\n"
        );
    }

    #[test]
    fn identical_renders_change_nothing_whatever_their_comments() {
        let reformatted = BASE.replace("# Source: raw-manifests/templates/manifests.yaml\n", "");
        assert_eq!(changes(BASE, &reformatted), Vec::<ObjectChange>::new());
    }

    #[test]
    fn an_application_is_one_object_in_its_own_namespace() {
        let manifest = r#"{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"dev-x","namespace":"argocd"},"spec":{"project":"ameide"}}"#;
        let found: Vec<_> = application(manifest).into_keys().collect();
        assert_eq!(
            found,
            [(
                "argoproj.io/v1alpha1".to_owned(),
                "Application".to_owned(),
                "argocd".to_owned(),
                "dev-x".to_owned()
            )]
        );
    }
}
