//! The one YAML library of the crate: every module reads and writes YAML through `crate::yaml`
//! (`yaml::Value`, `yaml::from_str`, ...), so that the library behind it is named once.
//!
//! It is serde_norway, the maintained fork of serde_yaml 0.9 (deprecated upstream) with the same
//! API and the same libyaml-based parser, so values, errors and line numbers read as before.

pub use serde_norway::{from_str, to_string, to_value, Deserializer, Error, Mapping, Value};
