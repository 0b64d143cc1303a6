//! YAML read the way Argo CD's Go code reads it (sigs.k8s.io/yaml): the one reader of the
//! ApplicationSets, the generators' files and the rendered templatePatch.

use std::fmt;

use crate::yaml::{Mapping, Value};
use serde_json::Value as Json;

pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => crate::yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

/// YAML converted to the JSON values Argo CD's parameters hold (sigs.k8s.io/yaml: keys become
/// strings, numbers become JSON numbers, tags are dropped).
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Json::Null, Json::Number)
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Mapping(map) => {
            Json::Object(map.iter().map(|(k, v)| (json_key(k), to_json(v))).collect())
        }
        Value::Tagged(tagged) => to_json(&tagged.value),
    }
}

/// A YAML parse failure, with the 1-based line when known.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// The documents of a YAML text the way Argo CD's sigs.k8s.io/yaml reads them (go-yaml v2, YAML
/// 1.1): a plain `yes`, `on`, `y` is `true` (`no`, `off`, `n` false), `0123` is octal 83, `1_000`
/// is 1000, `08` is the float 8, a key is turned into its string (`yes:` is "true"); `.inf` and
/// `.nan` fail (JSON has no such number), as does a null or non-scalar key. Quoted scalars stay
/// strings. Duplicate keys are allowed (the last wins; the `yaml` rule reports them), merge keys
/// (`<<`) are applied, an empty text is one null document.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Value>, ParseError> {
    use serde::de::DeserializeSeed;
    let mut docs = Vec::new();
    for document in crate::yaml::Deserializer::from_str(text) {
        let parse_error = |err: crate::yaml::Error| ParseError {
            line: err.location().map_or(0, |l| l.line()),
            message: err.to_string(),
        };
        let mut value = Loose { source: text }
            .deserialize(document)
            .map_err(parse_error)?;
        value.apply_merge().map_err(parse_error)?;
        docs.push(value);
    }
    if docs.is_empty() {
        docs.push(Value::Null);
    }
    Ok(docs)
}

/// Reads a YAML value without the parser's duplicate-key refusal, resolving plain scalars as
/// go-yaml v2 does. `source` is the text read: a plain scalar is told from a quoted one by the
/// characters around it there.
#[derive(Clone, Copy)]
struct Loose<'s> {
    source: &'s str,
}

impl<'de> serde::de::DeserializeSeed<'de> for Loose<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Loose<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        // Beyond 64 bits go-yaml reads a float.
        Ok(Value::Number((v as f64).into()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Number((v as f64).into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        float(v)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Value, E> {
        if self.is_plain(v) {
            resolve_plain(v)
        } else {
            Ok(Value::String(v.to_owned()))
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        // Not a slice of the text: a quoted scalar with escapes, a block or a multi-line scalar.
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde::de::Error;
        let mut out = Mapping::new();
        while let Some((key, value)) = map.next_entry_seed(self, self)? {
            // sigs.k8s.io/yaml turns keys into JSON's strings, and knows no other kind of key.
            if matches!(key, Value::Null | Value::Sequence(_) | Value::Mapping(_)) {
                return Err(A::Error::custom(format!(
                    "unsupported map key {}: sigs.k8s.io/yaml only turns string, number and boolean keys into JSON",
                    scalar_text(&key)
                )));
            }
            out.insert(key, value);
        }
        Ok(Value::Mapping(out))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!tag x`): Argo CD ignores the tag.
        use serde::de::VariantAccess;
        let (_, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

impl Loose<'_> {
    /// Whether `v`, a slice of the text, was written plain: not between a pair of quotes.
    fn is_plain(&self, v: &str) -> bool {
        let base = self.source.as_ptr() as usize;
        let start = (v.as_ptr() as usize).wrapping_sub(base);
        if start > self.source.len() {
            return true;
        }
        let bytes = self.source.as_bytes();
        let before = start.checked_sub(1).and_then(|i| bytes.get(i));
        let after = bytes.get(start + v.len());
        !matches!(
            (before, after),
            (Some(b'\''), Some(b'\'')) | (Some(b'"'), Some(b'"'))
        )
    }
}

/// A float as JSON holds it: go-yaml's `.inf` and `.nan` cannot be marshalled.
fn float<E: serde::de::Error>(v: f64) -> Result<Value, E> {
    if v.is_finite() {
        Ok(Value::Number(v.into()))
    } else {
        Err(E::custom(format!(
            "{v} is not a JSON number: sigs.k8s.io/yaml cannot convert it (quote it to keep it a string)"
        )))
    }
}

/// A plain scalar serde_norway left a string, resolved as go-yaml v2's `resolve` does.
fn resolve_plain<E: serde::de::Error>(v: &str) -> Result<Value, E> {
    match v {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Ok(Value::Bool(true)),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if v.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
        let plain = v.replace('_', "");
        if let Some(int) = go_parse_int(&plain) {
            return Ok(int);
        }
        if is_yaml_style_float(&plain) {
            if let Ok(f) = plain.parse::<f64>() {
                if f.is_finite() {
                    return Ok(Value::Number(f.into()));
                }
            }
        }
    } else if v.starts_with('.') {
        if let Ok(f) = v.parse::<f64>() {
            return float(f);
        }
    }
    Ok(Value::String(v.to_owned()))
}

/// Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`): a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) choosing the base.
fn go_parse_int(s: &str) -> Option<Value> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Value::Number(value.into()))
    } else {
        Some(Value::Number(magnitude.into()))
    }
}

/// go-yaml v2's `yamlStyleFloat`: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && fraction.bytes().all(|b| b.is_ascii_digit()),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// A map key as sigs.k8s.io/yaml writes it into JSON: a float with Go's
/// `strconv.FormatFloat(f, 'g', -1, 32)`, anything else as its text.
fn json_key(key: &Value) -> String {
    match key {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            go_format_g32(n.as_f64().unwrap_or_default())
        }
        other => scalar_text(other),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits of the float32, in `%e` form
/// when the exponent is below -4 or at least 6 (the precision Go decides by when shortest).
fn go_format_g32(f: f64) -> String {
    let f = f as f32;
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` writes the shortest digits that read back as the same f32: "1.5e3".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} writes an exponent");
    let exp: i32 = exp.parse().expect("{:e} writes an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exp.abs());
    }
    let point = exp + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn params(text: &str) -> Result<Json, String> {
        parse_documents(text)
            .map(|docs| to_json(&docs[0]))
            .map_err(|err| err.message)
    }

    /// Each case is what go-yaml v2's `resolve` (resolve.go, its `resolveMapList` and the
    /// `'D', 'S'` hint) gives, after sigs.k8s.io/yaml's `convertToJSONableObject` (yaml.go).
    #[test]
    fn generator_file_values_become_the_parameters_sigs_k8s_io_yaml_gives() {
        let cases: &[(&str, &str, Json)] = &[
            (
                "yes, on and y are true",
                "[yes, Yes, YES, on, On, ON, y, Y]",
                json!([true, true, true, true, true, true, true, true]),
            ),
            (
                "no, off and n are false",
                "[no, No, NO, off, Off, OFF, n, N]",
                json!([false, false, false, false, false, false, false, false]),
            ),
            (
                "true and false keep their three spellings only",
                "[true, True, TRUE, tRUE, false]",
                json!([true, true, true, "tRUE", false]),
            ),
            (
                "quoted, yes stays a string",
                "['yes', \"on\", 'y']",
                json!(["yes", "on", "y"]),
            ),
            (
                "a leading 0 is octal",
                "[0123, -0123, 0o17, 017]",
                json!([83, -83, 15, 15]),
            ),
            ("08 is not octal, so a float", "[08]", json!([8.0])),
            (
                "hex and binary",
                "[0x1F, 0b101, +0x1F, -0x1F]",
                json!([31, 5, 31, -31]),
            ),
            (
                "underscores are dropped from numbers",
                "[1_000, 1_000.5]",
                json!([1000, 1000.5]),
            ),
            (
                "exponents are floats",
                "[1e3, 1.5E3, .5, 1.]",
                json!([1000.0, 1500.0, 0.5, 1.0]),
            ),
            (
                "the null spellings",
                "{a: ~, b: null, c: Null, d: NULL, e: }",
                json!({"a": null, "b": null, "c": null, "d": null, "e": null}),
            ),
            (
                "a date stays the string written",
                "[2001-12-14, 12:30]",
                json!(["2001-12-14", "12:30"]),
            ),
            (
                "quoted numbers stay strings",
                "['0123', \"1e3\"]",
                json!(["0123", "1e3"]),
            ),
            (
                "beyond 64 bits is a float",
                "[18446744073709551616]",
                json!([18446744073709551616.0]),
            ),
            (
                "keys become strings as sigs.k8s.io/yaml writes them",
                "{yes: a, 0123: b, 1e3: c, 1.5: d, 7: e, 'on': f}",
                json!({"true": "a", "83": "b", "1000": "c", "1.5": "d", "7": "e", "on": "f"}),
            ),
            (
                "a plain key y or n is a boolean too",
                "{n: 3, y: 4}",
                json!({"false": 3, "true": 4}),
            ),
            (
                "a merge key is applied",
                "{base: &b {x: 1}, use: {<<: *b, z: 2}}",
                json!({"base": {"x": 1}, "use": {"x": 1, "z": 2}}),
            ),
            (
                "a block scalar is a string",
                "x: |\n  yes\n",
                json!({"x": "yes\n"}),
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(params(text).as_ref(), Ok(expected), "{name}: {text}");
        }
    }

    #[test]
    fn what_sigs_k8s_io_yaml_cannot_turn_into_json_is_an_error() {
        for (name, text, says) in [
            ("infinity", "x: .inf", "not a JSON number"),
            ("negative infinity", "x: -.Inf", "not a JSON number"),
            ("not a number", "x: .nan", "not a JSON number"),
            ("a null key", "~: x", "unsupported map key"),
            ("a list as key", "? [a]\n: x", "unsupported map key"),
        ] {
            let err = params(text).unwrap_err();
            assert!(err.contains(says), "{name}: {err}");
        }
    }

    #[test]
    fn float_keys_are_written_as_go_formats_a_float32() {
        for (f, expected) in [
            (1000.0, "1000"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
        ] {
            assert_eq!(go_format_g32(f), expected, "{f}");
        }
    }
}
