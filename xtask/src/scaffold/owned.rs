//! Who owns which value (docs/lifecycle.md).
//!
//! The generator owns the structure it writes. People and the lifecycle verbs own `enabled` and
//! `image.ref` in every values file, and the whole body (below the header) of an env overlay, so
//! that regenerating a file (`--force`, `upgrade-wiring`) never undoes a deployment. A change to an
//! owned value happens only through a verb, and every report lists the owned values it changes.

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use crate::layout;
use crate::primitive::{ImageRef, Primitive};

use super::templates::{self, Inputs};

/// One owned value of one file, before and after a run (None: absent or the file is gone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnedValue {
    pub path: String,
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl OwnedValue {
    pub fn changes(&self) -> bool {
        self.before != self.after
    }

    /// "kept", "set" or "removed".
    pub fn change(&self) -> &'static str {
        match (&self.before, &self.after) {
            (b, a) if b == a => "kept",
            (_, Some(_)) => "set",
            (_, None) => "removed",
        }
    }
}

pub fn is_overlay(path: &str) -> bool {
    path.strip_prefix(layout::ENV_VALUES_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

pub fn is_shared_values(path: &str) -> bool {
    path.strip_prefix(layout::SHARED_VALUES_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The text below the generator header (the whole text when there is none).
pub fn body(text: &str) -> &str {
    let mut rest = text;
    if !rest.starts_with(templates::HEADER_START) {
        return text;
    }
    for _ in 0..templates::HEADER_LINES {
        match rest.split_once('\n') {
            Some((line, tail)) if line.starts_with('#') => rest = tail,
            _ => break,
        }
    }
    rest
}

fn mapping(text: &str) -> Option<Mapping> {
    match serde_yaml::from_str::<Value>(body(text)).ok()? {
        Value::Mapping(m) => Some(m),
        Value::Null => Some(Mapping::new()),
        _ => None,
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

/// The owned values a file holds, key to shown value, in file order.
pub fn values(path: &str, text: &str) -> Vec<(String, String)> {
    let Some(doc) = mapping(text) else {
        return Vec::new();
    };
    let image_ref = doc
        .get("image")
        .and_then(|i| i.get("ref"))
        .map(|r| ("image.ref".to_owned(), show(r)));
    if is_shared_values(path) {
        return doc
            .get("enabled")
            .map(|e| ("enabled".to_owned(), show(e)))
            .into_iter()
            .chain(image_ref)
            .collect();
    }
    if !is_overlay(path) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, value) in &doc {
        let key = key.as_str().map_or_else(|| show(key), str::to_owned);
        if key == "image" {
            let Some(image) = value.as_mapping() else {
                out.push((key, show(value)));
                continue;
            };
            for (sub, v) in image {
                let sub = sub.as_str().map_or_else(|| show(sub), str::to_owned);
                out.push((format!("image.{sub}"), show(v)));
            }
        } else {
            out.push((key, show(value)));
        }
    }
    out
}

/// The owned values of one file before and after, every key either side once.
pub fn compare(path: &str, before: Option<&str>, after: Option<&str>) -> Vec<OwnedValue> {
    let old = before.map(|t| values(path, t)).unwrap_or_default();
    let new = after.map(|t| values(path, t)).unwrap_or_default();
    let mut keys: Vec<&String> = old.iter().map(|(k, _)| k).collect();
    keys.extend(
        new.iter()
            .map(|(k, _)| k)
            .filter(|k| !old.iter().any(|(o, _)| o == *k)),
    );
    let find = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    keys.into_iter()
        .map(|key| OwnedValue {
            path: path.to_owned(),
            key: key.clone(),
            before: find(&old, key),
            after: find(&new, key),
        })
        .collect()
}

/// A freshly generated shared values file with the owned values of the file it replaces.
pub fn keep_shared(generated: &str, current: &str) -> String {
    let Some(doc) = mapping(current) else {
        return generated.to_owned();
    };
    let mut text = generated.to_owned();
    if let Some(enabled) = doc.get("enabled") {
        text = replace_line(
            &text,
            "enabled: false",
            &format!("enabled: {}", scalar(enabled)),
        );
    }
    if let Some(image_ref) = doc.get("image").and_then(|i| i.get("ref")) {
        text = replace_line(
            &text,
            "  ref: \"\"",
            &format!("  ref: {}", scalar(image_ref)),
        );
    }
    text
}

/// A YAML scalar for a value: JSON is YAML, so strings come out quoted and escaped.
fn scalar(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| "null".to_owned()),
    }
}

fn replace_line(text: &str, line: &str, with: &str) -> String {
    let mut done = false;
    text.split_inclusive('\n')
        .map(|l| {
            if !done && l.trim_end_matches('\n') == line {
                done = true;
                format!("{with}\n")
            } else {
                l.to_owned()
            }
        })
        .collect()
}

/// The image an overlay enables, when it enables one that is digest-pinned.
pub fn enabled_image(text: &str) -> Option<ImageRef> {
    let doc = mapping(text)?;
    if doc.get("enabled")? != &Value::Bool(true) {
        return None;
    }
    let image = doc.get("image")?.get("ref")?.as_str()?;
    ImageRef::parse(image).ok()
}

/// Whether a values file switches its component on.
pub fn is_enabled(text: &str) -> bool {
    mapping(text).is_some_and(|doc| doc.get("enabled") == Some(&Value::Bool(true)))
}

/// An existing overlay regenerated: today's header for what it holds, its body as it is.
pub fn keep_overlay(inputs: &Inputs, current: &str) -> String {
    let image = enabled_image(current);
    let inputs = Inputs {
        enable: image.as_ref(),
        ..inputs.clone()
    };
    templates::header(&inputs) + body(current)
}

/// The overlay of `env` enabled with `image` (or disabled), keeping every other key a person
/// added. An overlay already in that state is kept byte for byte.
pub fn set_overlay(
    inputs: &Inputs,
    image: Option<&ImageRef>,
    current: Option<&str>,
) -> Result<String, String> {
    let Some(current) = current else {
        return Ok(templates::env_values(&Inputs {
            enable: image,
            ..inputs.clone()
        }));
    };
    if enabled_image(current).as_ref() == image && (image.is_some() || !is_enabled(current)) {
        return Ok(keep_overlay(inputs, current));
    }
    let mut extras = mapping(current).ok_or_else(|| {
        "it is not a YAML mapping; fix or revert the hand edit, then re-run".to_owned()
    })?;
    extras.remove("enabled");
    if let Some(image) = extras.remove("image") {
        let others = image
            .as_mapping()
            .map(|m| m.keys().filter(|k| k.as_str() != Some("ref")).count());
        if others != Some(0) {
            return Err(
                "its `image` holds keys besides `ref`, which a verb does not rewrite; move them out of `image` or edit the overlay by hand"
                    .to_owned(),
            );
        }
    }
    let mut text = templates::env_values(&Inputs {
        enable: image,
        ..inputs.clone()
    });
    if !extras.is_empty() {
        let rest = serde_yaml::to_string(&Value::Mapping(extras))
            .map_err(|e| format!("it cannot be written back: {e}"))?;
        text.push_str(&rest);
    }
    Ok(text)
}

/// The inputs of the env overlay of a primitive's smoke.
pub fn smoke_overlay_inputs<'a>(primitive: &'a Primitive, env: &'a str) -> Inputs<'a> {
    Inputs {
        with_smoke: true,
        ..overlay_inputs(primitive, env)
    }
}

/// The inputs of an env overlay of a primitive.
pub fn overlay_inputs<'a>(primitive: &'a Primitive, env: &'a str) -> Inputs<'a> {
    Inputs {
        primitive,
        with_smoke: false,
        env: Some(env),
        enable: None,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::primitive::{Kind, Name, Version};

    fn orders() -> Primitive {
        Primitive {
            kind: Kind::parse("domain").unwrap(),
            name: Name::parse("orders").unwrap(),
            version: Version::parse("v0").unwrap(),
        }
    }

    fn image(hex: &str) -> ImageRef {
        ImageRef::parse(&format!("r.io/orders@sha256:{}", hex.repeat(64))).unwrap()
    }

    #[test]
    fn regenerating_an_enabled_overlay_keeps_it_byte_for_byte() {
        let p = orders();
        let inputs = overlay_inputs(&p, "dev");
        let enabled = set_overlay(&inputs, Some(&image("a")), None).unwrap();
        assert_eq!(keep_overlay(&inputs, &enabled), enabled);
        let hand = templates::env_values(&inputs)
            .replace("enabled: false\n", "enabled: true # on\nreplicas: 2\n");
        assert_eq!(keep_overlay(&inputs, &hand), hand);
    }

    #[test]
    fn a_verb_sets_enabled_and_image_and_keeps_the_keys_a_person_added() {
        let p = orders();
        let inputs = overlay_inputs(&p, "dev");
        let disabled = templates::env_values(&inputs) + "replicas: 2\n";
        let enabled = set_overlay(&inputs, Some(&image("b")), Some(&disabled)).unwrap();
        let changed: Vec<(String, Option<String>, Option<String>)> = compare(
            "sources/values/env/dev/apps/x.yaml",
            Some(&disabled),
            Some(&enabled),
        )
        .into_iter()
        .filter(OwnedValue::changes)
        .map(|v| (v.key, v.before, v.after))
        .collect();
        assert_eq!(
            changed,
            [
                (
                    "enabled".to_owned(),
                    Some("false".to_owned()),
                    Some("true".to_owned())
                ),
                (
                    "image.ref".to_owned(),
                    None,
                    Some(image("b").as_str().to_owned())
                ),
            ]
        );
        assert!(enabled.ends_with("replicas: 2\n"), "{enabled}");
        assert_eq!(
            set_overlay(&inputs, Some(&image("b")), Some(&enabled)).unwrap(),
            enabled
        );
        let off = set_overlay(&inputs, None, Some(&enabled)).unwrap();
        assert_eq!(off, disabled);
    }

    #[test]
    fn a_verb_refuses_an_image_with_other_keys_and_a_non_mapping() {
        let p = orders();
        let inputs = overlay_inputs(&p, "dev");
        let odd = "enabled: false\nimage:\n  ref: x\n  pullPolicy: Always\n";
        let err = set_overlay(&inputs, Some(&image("c")), Some(odd)).unwrap_err();
        assert!(err.contains("keys besides `ref`"), "{err}");
        let err = set_overlay(&inputs, Some(&image("c")), Some("- a\n")).unwrap_err();
        assert!(err.contains("not a YAML mapping"), "{err}");
    }

    #[test]
    fn shared_values_keep_their_owned_values_and_nothing_else() {
        let p = orders();
        let generated = templates::workload_values(&Inputs {
            primitive: &p,
            with_smoke: false,
            env: None,
            enable: None,
        });
        let current = generated
            .replace("enabled: false", "enabled: true")
            .replace("  ref: \"\"", &format!("  ref: {}", image("d").as_str()))
            .replace("IfNotPresent", "Always");
        let kept = keep_shared(&generated, &current);
        assert!(kept.contains("IfNotPresent"), "{kept}");
        assert_eq!(
            values("sources/values/_shared/apps/x.yaml", &kept),
            values("sources/values/_shared/apps/x.yaml", &current)
        );
    }
}
