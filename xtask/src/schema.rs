//! Strict validation of JSON values against the JSON Schema subset that Kubernetes' OpenAPI,
//! CRD structural schemas and the repository's Argo CD schema are written in.
//!
//! The schemas this crate checks against use few keywords (`type`, `properties`,
//! `additionalProperties`, `required`, `items`, `enum`, `$ref`, `oneOf`, a structural schema's
//! bounds and `pattern`), so a validator of exactly those replaces a general JSON Schema crate
//! and its 45 dependencies (about half of the xtask's cold build, docs/conventions.md#build).
//! A schema that uses a keyword outside the subset is refused when it is compiled, by name:
//! nothing in a schema is silently left unchecked. `format` is checked for the formats the
//! caller names (`date-time`, the API server's `quantity`) and, as JSON Schema 2020-12 says, an
//! annotation otherwise.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// A format check: whether a string (or number) instance has the format.
pub type Format = fn(&Value) -> bool;

/// The keywords that constrain an instance.
const CHECKED: [&str; 27] = [
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "additionalProperties",
    "required",
    "items",
    "oneOf",
    "anyOf",
    "allOf",
    "not",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "$defs",
];
/// Keywords that only annotate (and `definitions`, the older spelling of `$defs`).
const ANNOTATIONS: [&str; 11] = [
    "$schema",
    "$id",
    "$comment",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// A compiled schema: the document it lives in and where in it.
#[derive(Clone)]
pub struct Validator {
    document: Arc<Value>,
    pointer: String,
    formats: Arc<HashMap<String, Format>>,
    patterns: Arc<HashMap<String, regex_lite::Regex>>,
    /// Each `$ref`'s text to the JSON pointer it names.
    references: Arc<HashMap<String, String>>,
}

/// One way an instance differs from its schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// Where in the instance, as a JSON pointer (`/spec/containers/0/image`); empty for the
    /// instance itself.
    pub path: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `additionalProperties: false`: the fields no `properties` entry names.
    Unknown(Vec<String>),
    Type {
        instance: Value,
        expected: Vec<String>,
    },
    Required(String),
    Format {
        instance: Value,
        format: String,
    },
    /// Any other keyword: the message says which and why.
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Unknown(fields) => {
                let quoted: Vec<String> = fields.iter().map(|f| format!("'{f}'")).collect();
                let verb = if fields.len() == 1 { "was" } else { "were" };
                write!(
                    f,
                    "Additional properties are not allowed ({} {verb} unexpected)",
                    quoted.join(", ")
                )
            }
            Kind::Type { instance, expected } => {
                let quoted: Vec<String> = expected.iter().map(|t| format!("\"{t}\"")).collect();
                match quoted.as_slice() {
                    [one] => write!(f, "{instance} is not of type {one}"),
                    many => write!(f, "{instance} is not of types {}", many.join(", ")),
                }
            }
            Kind::Required(name) => write!(f, "\"{name}\" is a required property"),
            Kind::Format { instance, format } => write!(f, "{instance} is not a \"{format}\""),
            Kind::Other(message) => f.write_str(message),
        }
    }
}

/// Builds validators: the format checks, then [`Options::compile`].
#[derive(Default)]
pub struct Options {
    formats: HashMap<String, Format>,
}

impl Options {
    pub fn format(mut self, name: &str, check: Format) -> Options {
        self.formats.insert(name.to_owned(), check);
        self
    }

    /// The schema at `pointer` (`""` for the whole document, `/$defs/Pod` for one definition) in
    /// `document`, every schema it reaches checked for keywords outside the subset, references
    /// that lead nowhere and patterns that do not compile.
    pub fn compile(self, document: Arc<Value>, pointer: &str) -> Result<Validator, String> {
        let mut patterns = HashMap::new();
        let mut references = HashMap::new();
        let mut seen = HashSet::new();
        let mut todo = vec![pointer.to_owned()];
        while let Some(at) = todo.pop() {
            if !seen.insert(at.clone()) {
                continue;
            }
            let schema = document
                .pointer(&at)
                .ok_or_else(|| format!("the reference #{at} leads nowhere in the schema"))?;
            reachable(schema, &at, &mut todo, &mut patterns, &mut references)?;
        }
        Ok(Validator {
            document,
            pointer: pointer.to_owned(),
            formats: Arc::new(self.formats),
            patterns: Arc::new(patterns),
            references: Arc::new(references),
        })
    }
}

/// Checks one schema's keywords and queues the schemas it holds or references.
fn reachable(
    schema: &Value,
    at: &str,
    todo: &mut Vec<String>,
    patterns: &mut HashMap<String, regex_lite::Regex>,
    references: &mut HashMap<String, String>,
) -> Result<(), String> {
    let map = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "#{at}: a schema is an object or a boolean, not {other}"
            ))
        }
    };
    for (key, value) in map {
        let child = |name: &str| format!("{at}/{}", escape(name));
        match key.as_str() {
            "$ref" => {
                let pointer = reference(value, at)?;
                references.insert(
                    value.as_str().unwrap_or_default().to_owned(),
                    pointer.clone(),
                );
                todo.push(pointer);
            }
            "properties" | "$defs" | "definitions" => {
                for name in value.as_object().into_iter().flatten().map(|(k, _)| k) {
                    todo.push(format!("{}/{}", child(key), escape(name)));
                }
            }
            "items" | "additionalProperties" | "not" => todo.push(child(key)),
            "oneOf" | "anyOf" | "allOf" => {
                let n = value.as_array().map_or(0, Vec::len);
                todo.extend((0..n).map(|i| format!("{}/{i}", child(key))));
            }
            "pattern" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| format!("#{at}: pattern must be a string"))?;
                let regex = regex_lite::Regex::new(text)
                    .map_err(|err| format!("#{at}: pattern {text:?} does not compile ({err})"))?;
                patterns.insert(text.to_owned(), regex);
            }
            k if CHECKED.contains(&k) || ANNOTATIONS.contains(&k) || k.starts_with("x-") => {}
            k => {
                return Err(format!(
                    "#{at}: the keyword {k:?} is not one this validator checks; the schemas it \
                     checks use {} (docs/conventions.md#schemas)",
                    CHECKED.join(", ")
                ))
            }
        }
    }
    Ok(())
}

/// A `$ref` as a JSON pointer into the same document (`#/$defs/x`): the schemas checked here
/// are each one document.
fn reference(value: &Value, at: &str) -> Result<String, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("#{at}: $ref must be a string"))?;
    match text.strip_prefix('#') {
        Some(pointer) if pointer.is_empty() || pointer.starts_with('/') => {
            Ok(percent_decoded(pointer))
        }
        _ => Err(format!(
            "#{at}: $ref {text:?} is not a reference into the same document (#/$defs/...)"
        )),
    }
}

fn percent_decoded(pointer: &str) -> String {
    // Definition names are plain; `%25` style escapes appear in no schema this crate reads.
    pointer.replace("%24", "$")
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

impl Validator {
    /// Every way `instance` differs from the schema, in schema order.
    pub fn errors(&self, instance: &Value) -> Vec<Error> {
        let mut out = Vec::new();
        let schema = self
            .document
            .pointer(&self.pointer)
            .expect("compiled: the pointer resolves");
        self.check(schema, instance, &mut String::new(), &mut out);
        out
    }

    fn resolve(&self, value: &Value) -> &Value {
        let pointer = value
            .as_str()
            .and_then(|r| self.references.get(r))
            .expect("compiled: every reference");
        self.document
            .pointer(pointer)
            .expect("compiled: the reference resolves")
    }

    /// One pass over the schema's keywords: the hot loop of every check, so it looks nothing up
    /// by name but `type`, and allocates only for an error.
    fn check(&self, schema: &Value, instance: &Value, path: &mut String, out: &mut Vec<Error>) {
        let map = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                return out
                    .push(self.error(path, Kind::Other(format!("{instance} is not allowed"))))
            }
            Value::Object(map) => map,
            _ => return,
        };
        if let Some(types) = map.get("type") {
            let matches = match types {
                Value::String(t) => is_type(instance, t),
                Value::Array(ts) => ts
                    .iter()
                    .any(|t| t.as_str().is_some_and(|t| is_type(instance, t))),
                _ => true,
            };
            if !matches {
                let expected = match types {
                    Value::String(t) => vec![t.clone()],
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                };
                out.push(self.error(
                    path,
                    Kind::Type {
                        instance: instance.clone(),
                        expected,
                    },
                ));
                // The other keywords of a mistyped value only repeat the mistake.
                return;
            }
        }
        let mut fields_done = false;
        for (key, value) in map {
            match (key.as_str(), instance) {
                ("$ref", _) => self.check(self.resolve(value), instance, path, out),
                ("enum", _) => {
                    let allowed = value.as_array().map_or(&[][..], Vec::as_slice);
                    if !allowed.iter().any(|a| equal(a, instance)) {
                        let listed = serde_json::to_string(allowed).unwrap_or_default();
                        out.push(self.error(
                            path,
                            Kind::Other(format!("{instance} is not one of {listed}")),
                        ));
                    }
                }
                ("const", _) if !equal(value, instance) => {
                    out.push(self.error(path, Kind::Other(format!("{value} was expected"))));
                }
                ("allOf" | "anyOf" | "oneOf", _) => {
                    self.check_combined(key, value, instance, path, out)
                }
                ("not", _) => {
                    let mut scratch = Vec::new();
                    self.check(value, instance, &mut path.clone(), &mut scratch);
                    if scratch.is_empty() {
                        out.push(self.error(
                            path,
                            Kind::Other(format!("{value} is not allowed for {instance}")),
                        ));
                    }
                }
                ("format", Value::String(_) | Value::Number(_)) => {
                    let format = value.as_str().unwrap_or_default();
                    if self
                        .formats
                        .get(format)
                        .is_some_and(|check| !check(instance))
                    {
                        out.push(self.error(
                            path,
                            Kind::Format {
                                instance: instance.clone(),
                                format: format.to_owned(),
                            },
                        ));
                    }
                }
                (_, Value::String(text)) => {
                    self.check_string(key, value, text, instance, path, out)
                }
                (_, Value::Number(n)) => self.check_number(
                    key,
                    value,
                    n.as_f64().unwrap_or(f64::NAN),
                    instance,
                    path,
                    out,
                ),
                (_, Value::Array(items)) => {
                    self.check_array(key, value, items, instance, path, out)
                }
                ("properties" | "additionalProperties", Value::Object(fields)) if !fields_done => {
                    fields_done = true;
                    self.check_fields(map, fields, path, out);
                }
                (_, Value::Object(fields)) => {
                    self.check_object(key, value, fields, instance, path, out)
                }
                _ => {}
            }
        }
    }

    fn check_combined(
        &self,
        key: &str,
        value: &Value,
        instance: &Value,
        path: &mut String,
        out: &mut Vec<Error>,
    ) {
        let schemas = value.as_array().map_or(&[][..], Vec::as_slice);
        let valid = schemas
            .iter()
            .filter(|s| {
                let mut scratch = Vec::new();
                self.check(s, instance, &mut path.clone(), &mut scratch);
                scratch.is_empty()
            })
            .count();
        let message = match key {
            "allOf" if valid < schemas.len() => {
                // The errors of each schema are the instance's errors.
                for s in schemas {
                    self.check(s, instance, path, out);
                }
                None
            }
            "oneOf" if valid > 1 => Some(format!(
                "{instance} is valid under more than one of the schemas listed in the 'oneOf' keyword"
            )),
            "anyOf" | "oneOf" if valid == 0 => Some(format!(
                "{instance} is not valid under any of the schemas listed in the '{key}' keyword"
            )),
            _ => None,
        };
        if let Some(message) = message {
            out.push(self.error(path, Kind::Other(message)));
        }
    }

    fn check_string(
        &self,
        key: &str,
        value: &Value,
        text: &str,
        instance: &Value,
        path: &str,
        out: &mut Vec<Error>,
    ) {
        let length = || text.chars().count() as u64;
        let message = match (key, value.as_u64()) {
            ("minLength", Some(min)) if length() < min => {
                format!("{instance} is shorter than {min} character{}", plural(min))
            }
            ("maxLength", Some(max)) if length() > max => {
                format!("{instance} is longer than {max} character{}", plural(max))
            }
            ("pattern", _) => {
                let pattern = value.as_str().unwrap_or_default();
                let regex = self.patterns.get(pattern).expect("compiled: every pattern");
                if regex.is_match(text) {
                    return;
                }
                format!("{instance} does not match {pattern:?}")
            }
            _ => return,
        };
        out.push(self.error(path, Kind::Other(message)));
    }

    fn check_number(
        &self,
        key: &str,
        value: &Value,
        n: f64,
        instance: &Value,
        path: &str,
        out: &mut Vec<Error>,
    ) {
        let Some(bound) = value.as_f64() else {
            return;
        };
        let message = match key {
            "minimum" if n < bound => format!("{instance} is less than the minimum of {bound}"),
            "maximum" if n > bound => format!("{instance} is greater than the maximum of {bound}"),
            "exclusiveMinimum" if n <= bound => {
                format!("{instance} is less than or equal to the minimum of {bound}")
            }
            "exclusiveMaximum" if n >= bound => {
                format!("{instance} is greater than or equal to the maximum of {bound}")
            }
            "multipleOf" if bound > 0.0 && ((n / bound) - (n / bound).round()).abs() > 1e-9 => {
                format!("{instance} is not a multiple of {bound}")
            }
            _ => return,
        };
        out.push(self.error(path, Kind::Other(message)));
    }

    fn check_array(
        &self,
        key: &str,
        value: &Value,
        items: &[Value],
        instance: &Value,
        path: &mut String,
        out: &mut Vec<Error>,
    ) {
        let count = items.len() as u64;
        let message = match (key, value.as_u64()) {
            ("minItems", Some(min)) if count < min => {
                format!("{instance} has less than {min} item{}", plural(min))
            }
            ("maxItems", Some(max)) if count > max => {
                format!("{instance} has more than {max} item{}", plural(max))
            }
            ("uniqueItems", _)
                if value == &Value::Bool(true)
                    && items
                        .iter()
                        .enumerate()
                        .any(|(i, a)| items[..i].iter().any(|b| equal(a, b))) =>
            {
                format!("{instance} has non-unique elements")
            }
            ("items", _) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    self.check(value, item, path, out);
                    path.truncate(len);
                }
                return;
            }
            _ => return,
        };
        out.push(self.error(path, Kind::Other(message)));
    }

    fn check_object(
        &self,
        key: &str,
        value: &Value,
        fields: &serde_json::Map<String, Value>,
        instance: &Value,
        path: &str,
        out: &mut Vec<Error>,
    ) {
        let count = fields.len() as u64;
        let properties = |n: u64| if n == 1 { "property" } else { "properties" };
        match (key, value.as_u64()) {
            ("minProperties", Some(min)) if count < min => out.push(self.error(
                path,
                Kind::Other(format!(
                    "{instance} has less than {min} {}",
                    properties(min)
                )),
            )),
            ("maxProperties", Some(max)) if count > max => out.push(self.error(
                path,
                Kind::Other(format!(
                    "{instance} has more than {max} {}",
                    properties(max)
                )),
            )),
            ("required", _) => {
                for name in value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !fields.contains_key(name) {
                        out.push(self.error(path, Kind::Required(name.to_owned())));
                    }
                }
            }
            _ => {}
        }
    }

    /// `properties` and `additionalProperties` together: each field against its schema, and the
    /// fields neither names refused as one error.
    fn check_fields(
        &self,
        map: &serde_json::Map<String, Value>,
        fields: &serde_json::Map<String, Value>,
        path: &mut String,
        out: &mut Vec<Error>,
    ) {
        let properties = map.get("properties").and_then(Value::as_object);
        let additional = map.get("additionalProperties");
        let mut unknown = Vec::new();
        for (name, value) in fields {
            let schema = match (properties.and_then(|p| p.get(name)), additional) {
                (Some(schema), _) => schema,
                (None, Some(Value::Bool(false))) => {
                    unknown.push(name.clone());
                    continue;
                }
                (None, Some(schema)) => schema,
                (None, None) => continue,
            };
            let len = path.len();
            path.push('/');
            match name.contains(['~', '/']) {
                true => path.push_str(&escape(name)),
                false => path.push_str(name),
            }
            self.check(schema, value, path, out);
            path.truncate(len);
        }
        if !unknown.is_empty() {
            out.push(self.error(path, Kind::Unknown(unknown)));
        }
    }

    fn error(&self, path: &str, kind: Kind) -> Error {
        Error {
            path: path.to_owned(),
            kind,
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "null" => instance.is_null(),
        "boolean" => instance.is_boolean(),
        "string" => instance.is_string(),
        "array" => instance.is_array(),
        "object" => instance.is_object(),
        "number" => instance.is_number(),
        // JSON Schema: a number with no fractional part is an integer (1.0 too).
        "integer" => {
            instance.is_i64()
                || instance.is_u64()
                || instance.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// RFC 3339 `date-time` (`2026-12-01T12:00:00Z`, fractions and offsets allowed), as the API
/// server's `metav1.Time` reads it.
pub fn is_date_time(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return true;
    };
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let fixed = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    let number = |s: &str| s.parse::<u32>().ok();
    let in_range = [
        (5..7, 1, 12),
        (8..10, 1, 31),
        (11..13, 0, 23),
        (14..16, 0, 59),
        (17..19, 0, 60),
    ]
    .into_iter()
    .all(|(r, lo, hi)| number(&text[r]).is_some_and(|v| (lo..=hi).contains(&v)));
    let offset_ok = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    in_range && offset_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, instance: Value) -> Vec<String> {
        let validator = Options::default()
            .format("date-time", is_date_time)
            .compile(Arc::new(schema), "")
            .unwrap();
        validator
            .errors(&instance)
            .iter()
            .map(|e| format!("{}: {e}", e.path))
            .collect()
    }

    #[test]
    fn each_keyword_refuses_what_it_should_and_passes_the_rest() {
        let cases: Vec<(Value, Value, Vec<&str>)> = vec![
            (
                json!({"type": "boolean"}),
                json!("true"),
                vec![": \"true\" is not of type \"boolean\""],
            ),
            (json!({"type": "boolean"}), json!(true), vec![]),
            (
                json!({"type": ["integer", "null"]}),
                json!(1.5),
                vec![": 1.5 is not of types \"integer\", \"null\""],
            ),
            (json!({"type": "integer"}), json!(2.0), vec![]),
            (
                json!({"enum": ["Always", "Never"]}),
                json!("Alwayz"),
                vec![": \"Alwayz\" is not one of [\"Always\",\"Never\"]"],
            ),
            (json!({"enum": [1]}), json!(1.0), vec![]),
            (
                json!({"const": "v1"}),
                json!("v2"),
                vec![": \"v1\" was expected"],
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false, "required": ["a"]}),
                json!({"b": 1, "c": 2}),
                // In the schema's order of keywords.
                vec![
                    ": Additional properties are not allowed ('b', 'c' were unexpected)",
                    ": \"a\" is a required property",
                ],
            ),
            (
                json!({"additionalProperties": {"type": "string"}}),
                json!({"x": "ok", "y": 3}),
                vec!["/y: 3 is not of type \"string\""],
            ),
            (
                json!({"items": {"type": "integer"}, "minItems": 1, "maxItems": 2, "uniqueItems": true}),
                json!([1, "a", 1]),
                vec![
                    "/1: \"a\" is not of type \"integer\"",
                    ": [1,\"a\",1] has more than 2 items",
                    ": [1,\"a\",1] has non-unique elements",
                ],
            ),
            (
                json!({"minLength": 2, "maxLength": 3}),
                json!("a"),
                vec![": \"a\" is shorter than 2 characters"],
            ),
            (
                json!({"pattern": "^[a-z]+$"}),
                json!("Abc"),
                vec![": \"Abc\" does not match \"^[a-z]+$\""],
            ),
            (
                json!({"minimum": 1, "maximum": 3}),
                json!(4),
                vec![": 4 is greater than the maximum of 3"],
            ),
            (
                json!({"exclusiveMinimum": 0}),
                json!(0),
                vec![": 0 is less than or equal to the minimum of 0"],
            ),
            (json!({"multipleOf": 0.5}), json!(1.5), vec![]),
            (
                json!({"multipleOf": 2}),
                json!(3),
                vec![": 3 is not a multiple of 2"],
            ),
            (
                json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
                json!(true),
                vec![": true is not valid under any of the schemas listed in the 'oneOf' keyword"],
            ),
            (
                json!({"oneOf": [{"type": "number"}, {"type": "integer"}]}),
                json!(1),
                vec![
                    ": 1 is valid under more than one of the schemas listed in the 'oneOf' keyword",
                ],
            ),
            (
                json!({"anyOf": [{"type": "number"}, {"type": "integer"}]}),
                json!(1),
                vec![],
            ),
            (
                json!({"allOf": [{"minimum": 2}, {"maximum": 0}]}),
                json!(1),
                vec![
                    ": 1 is less than the minimum of 2",
                    ": 1 is greater than the maximum of 0",
                ],
            ),
            (
                json!({"not": {"type": "null"}}),
                json!(null),
                vec![": {\"type\":\"null\"} is not allowed for null"],
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-12-01T12:00:00Z"),
                vec![],
            ),
            (
                json!({"format": "date-time"}),
                json!("yesterday"),
                vec![": \"yesterday\" is not a \"date-time\""],
            ),
            (json!({"format": "int32"}), json!("anything"), vec![]),
            (
                json!({"minProperties": 1}),
                json!({}),
                vec![": {} has less than 1 property"],
            ),
            (json!(false), json!(1), vec![": 1 is not allowed"]),
        ];
        for (schema, instance, expected) in cases {
            assert_eq!(
                errors(schema.clone(), instance.clone()),
                expected,
                "{schema} on {instance}"
            );
        }
    }

    #[test]
    fn references_resolve_within_the_document_and_paths_name_the_field() {
        let schema = json!({
            "$defs": {
                "Pod": {"type": "object", "properties": {"spec": {"$ref": "#/$defs/Spec"}}, "additionalProperties": false},
                "Spec": {"type": "object", "properties": {"containers": {"type": "array", "items": {"$ref": "#/$defs/Container"}}}},
                "Container": {"type": "object", "properties": {"image": {"type": "string"}, "a/b": {"type": "string"}}, "additionalProperties": false}
            }
        });
        let validator = Options::default()
            .compile(Arc::new(schema), "/$defs/Pod")
            .unwrap();
        let found: Vec<String> = validator
            .errors(&json!({"spec": {"containers": [{"image": 3, "a/b": 1, "imag": "x"}]}}))
            .iter()
            .map(|e| format!("{}: {e}", e.path))
            .collect();
        assert_eq!(
            found,
            [
                "/spec/containers/0/image: 3 is not of type \"string\"",
                "/spec/containers/0/a~1b: 1 is not of type \"string\"",
                "/spec/containers/0: Additional properties are not allowed ('imag' was unexpected)",
            ]
        );
        assert_eq!(validator.errors(&json!({"spec": {"containers": []}})), []);
    }

    #[test]
    fn a_schema_outside_the_subset_is_refused_by_name_when_compiled() {
        let compile = |schema: Value| {
            Options::default()
                .compile(Arc::new(schema), "")
                .map(drop)
                .unwrap_err()
        };
        let refused = compile(json!({"properties": {"a": {"patternProperties": {"^x": {}}}}}));
        assert!(
            refused.starts_with("#/properties/a: the keyword \"patternProperties\" is not one this validator checks"),
            "{refused}"
        );
        assert_eq!(
            compile(json!({"$ref": "#/$defs/missing"})),
            "the reference #/$defs/missing leads nowhere in the schema"
        );
        assert!(compile(json!({"pattern": "("})).contains("does not compile"));
        assert!(compile(json!({"$ref": "other.json#/a"}))
            .contains("not a reference into the same document"));
        // Annotations and extensions are not constraints, and pass.
        Options::default()
            .compile(
                Arc::new(
                    json!({"description": "d", "x-kubernetes-list-type": "map", "default": 1}),
                ),
                "",
            )
            .unwrap();
    }

    #[test]
    fn date_times_parse_as_rfc_3339() {
        for good in [
            "2026-12-01T12:00:00Z",
            "2026-12-01T12:00:00.5+01:00",
            "2026-02-28t23:59:60z",
        ] {
            assert!(is_date_time(&json!(good)), "{good}");
        }
        for bad in [
            "2026-12-01",
            "2026-13-01T12:00:00Z",
            "2026-12-01T12:00:00",
            "2026-12-01T12:00:00.Z",
            "2026-12-01 12:00:00Z",
        ] {
            assert!(!is_date_time(&json!(bad)), "{bad}");
        }
    }
}
