//! What no preview shows: the values of a Secret's `data` and `stringData`, and every value the
//! secret rules recognise as a credential (a credential-named key or env entry holding a
//! literal, a token by its shape), in objects and in the text blocks inside them.

use serde_yaml::Value;

use crate::verify::rules::secrets;

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// `object` (one Kubernetes object) with every secret value replaced by [`REDACTED`].
pub fn object(object: &Value) -> Value {
    let mut out = object.clone();
    if out["kind"].as_str() == Some("Secret") {
        for field in ["data", "stringData"] {
            if let Some(Value::Mapping(values)) = out.get_mut(field) {
                for (_, value) in values.iter_mut() {
                    *value = Value::String(REDACTED.to_owned());
                }
            }
        }
    }
    walk(&mut out);
    out
}

fn walk(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            // An env entry: {name: DB_PASSWORD, value: hunter2}.
            let env_name = map
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| secrets::credential_key(n))
                .map(str::to_owned);
            for (key, value) in map.iter_mut() {
                let key = key.as_str().unwrap_or_default();
                let secret = match (key, env_name.as_deref()) {
                    ("value", Some(variable)) => literal(value, variable),
                    _ => secrets::credential_key(key) && literal(value, key),
                };
                if secret {
                    *value = Value::String(REDACTED.to_owned());
                } else {
                    walk(value);
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(walk),
        Value::String(text) => *text = text_block(text),
        Value::Tagged(tagged) => walk(&mut tagged.value),
        _ => {}
    }
}

/// Whether a scalar is a literal credential as the secret rules define it.
fn literal(value: &Value, key: &str) -> bool {
    match value {
        Value::String(s) => secrets::literal(&format!("{s:?}"), key),
        Value::Number(n) => secrets::literal(&n.to_string(), key),
        _ => false,
    }
}

/// A string with each line holding a token, or a credential-named key with a literal (a
/// manifest or a config file inside a ConfigMap), redacted.
fn text_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&redact_line(line));
    }
    out
}

fn redact_line(line: &str) -> String {
    if !secrets::token_kinds(line).is_empty() {
        let indent = &line[..line.len() - line.trim_start().len()];
        return format!("{indent}{REDACTED}");
    }
    if let Some((key, value)) = line.split_once(':') {
        let name = key.trim_start().trim_start_matches("- ").trim();
        let name = name.trim_matches(|c| c == '"' || c == '\'');
        let value = value.split(" #").next().unwrap_or_default();
        if secrets::credential_key(name) && secrets::literal(value, name) {
            return format!("{key}: {REDACTED}");
        }
    }
    line.to_owned()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn redacted(yaml: &str) -> String {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        serde_yaml::to_string(&object(&value)).unwrap()
    }

    /// Secret-shaped test strings are assembled at run time so that no scanner flags this file.
    fn token() -> String {
        format!("ghp_{}", "aB3".repeat(12))
    }

    #[test]
    fn a_secrets_data_and_string_data_are_redacted_and_its_keys_kept() {
        let out = redacted(indoc::indoc! {"
            apiVersion: v1
            kind: Secret
            metadata:
              name: db
            data:
              user: YWRtaW4=
            stringData:
              host: db.internal
        "});
        assert!(!out.contains("YWRtaW4="), "{out}");
        assert!(!out.contains("db.internal"), "{out}");
        assert!(out.contains("user: <redacted>"), "{out}");
        assert!(out.contains("host: <redacted>"), "{out}");
        assert!(out.contains("name: db"), "{out}");
    }

    #[test]
    fn what_the_secret_rules_recognise_is_redacted_anywhere() {
        let yaml = format!(
            indoc::indoc! {r#"
                kind: ConfigMap
                data:
                  dbPassword: hunter2
                  tokenTtl: "3600"
                  existingSecret: orders-db
                  apiToken: "{{{{ .Values.token }}}}"
                  note: "{token}"
                  config.yaml: |
                    database:
                      password: in-a-block
                      host: db
                    github: {token}
                env:
                  - name: DB_PASSWORD
                    value: from-env
                  - name: DB_HOST
                    value: db-host
            "#},
            token = token()
        );
        let out = redacted(&yaml);
        for hidden in ["hunter2", "in-a-block", "from-env", token().as_str()] {
            assert!(!out.contains(hidden), "{hidden} shows in:\n{out}");
        }
        for kept in [
            "tokenTtl: '3600'",
            "existingSecret: orders-db",
            "{{ .Values.token }}",
            "host: db",
            "value: db-host",
        ] {
            assert!(out.contains(kept), "{kept} is missing from:\n{out}");
        }
        assert_eq!(out.matches(REDACTED).count(), 5, "{out}");
    }
}
