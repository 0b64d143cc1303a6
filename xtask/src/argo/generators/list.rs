//! Argo CD's list generator (`applicationset/generators/list.go`): one parameter set per element
//! of `elements`, then one per element of `elementsYaml`.

use std::path::Path;

use crate::yaml::Value;
use serde_json::{Map as JsonMap, Value as Json};

use super::{Generator, ParamSet, Sets};
use crate::argo::appset::AppSet;
use crate::argo::yaml::{parse_documents, to_json};
use crate::verify::problem::Problem;

pub(crate) struct List;

impl Generator for List {
    fn params(
        &self,
        appset: &AppSet,
        _root: &Path,
        spec: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets> {
        match appset.list(spec) {
            Ok(sets) => Some(Sets::List(sets)),
            Err(message) => {
                problems.push(appset.problem(
                    "list",
                    format!(
                        "the list generator of ApplicationSet {} fails: {message}; Argo CD then stops updating every Application of this ApplicationSet",
                        appset.name
                    ),
                ));
                None
            }
        }
    }
}

impl AppSet<'_> {
    /// The list generator's sets, or Argo CD's error, which fails the whole generator.
    pub(crate) fn list(&self, list: &Value) -> Result<Vec<ParamSet>, String> {
        let mut out = Vec::new();
        for element in list["elements"].as_sequence().into_iter().flatten() {
            out.push(self.element(to_json(element))?);
        }
        // `elementsYaml` is read with sigs.k8s.io/yaml into a list of maps.
        if let Some(text) = list.get("elementsYaml") {
            let text = text.as_str().ok_or("elementsYaml must be a string")?;
            let doc = parse_documents(text)
                .map_err(|err| format!("error unmarshling decoded ElementsYaml ({})", err.message))?
                .into_iter()
                .next()
                .unwrap_or(Value::Null);
            match to_json(&doc) {
                Json::Null => {}
                Json::Array(items) => {
                    for item in items {
                        out.push(self.element(item)?);
                    }
                }
                other => {
                    return Err(format!(
                        "error unmarshling decoded ElementsYaml: {other} is not a list of maps"
                    ))
                }
            }
        }
        Ok(out)
    }

    /// One element as Argo CD unmarshals it into a map: `null` is a set without parameters, and
    /// anything but a map fails the generator.
    fn element(&self, element: Json) -> Result<ParamSet, String> {
        match element {
            Json::Object(params) => Ok(ParamSet::new(params, vec![self.path.to_owned()])),
            Json::Null => Ok(ParamSet::new(JsonMap::new(), vec![self.path.to_owned()])),
            other => Err(format!(
                "error unmarshling list element: {other} is not a map (json: cannot unmarshal it into map[string]interface {{}})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn sets(list: &str) -> Result<Vec<Json>, String> {
        let files = crate::argo::repository::Files::default();
        let appset = AppSet::new(
            "argocd/applicationsets/x.yaml",
            "",
            crate::yaml::from_str("metadata: {name: x}").unwrap(),
            &files,
        );
        let list: Value = crate::argo::yaml::parse_documents(list).unwrap().remove(0);
        appset
            .list(&list)
            .map(|sets| sets.iter().map(|s| Json::Object(s.map())).collect())
    }

    /// The cases follow `TestGenerateListParams` and `TestGenerateListParamsGoTemplate`
    /// (`applicationset/generators/list_test.go`) and `list.go`'s error paths.
    #[test]
    fn the_list_generator_gives_the_sets_list_go_gives() {
        let cases: &[(&str, &str, Result<Json, &str>)] = &[
            (
                "one set per element, in order, values of any type kept",
                "elements: [{cluster: production, url: u}, {cluster: dev, count: 2, nested: {a: b}}]",
                Ok(
                    json!([{"cluster": "production", "url": "u"}, {"cluster": "dev", "count": 2, "nested": {"a": "b"}}]),
                ),
            ),
            (
                "an empty element is a set without parameters",
                "elements: [{}]",
                Ok(json!([{}])),
            ),
            (
                "a null element is a set without parameters too",
                "elements: [~]",
                Ok(json!([{}])),
            ),
            ("no elements, no sets", "elements: []", Ok(json!([]))),
            (
                "elementsYaml is read as YAML and appended after elements",
                "elements: [{a: 1}]\nelementsYaml: |\n  - b: yes\n  - c: '0123'\n",
                Ok(json!([{"a": 1}, {"b": true}, {"c": "0123"}])),
            ),
            (
                "an element that is not a map fails the whole generator",
                "elements: [{a: 1}, just-a-string]",
                Err("error unmarshling list element"),
            ),
            (
                "elementsYaml that is not a list fails the whole generator",
                "elementsYaml: 'a: b'",
                Err("error unmarshling decoded ElementsYaml"),
            ),
        ];
        for (name, list, expected) in cases {
            match (sets(list), expected) {
                (Ok(found), Ok(expected)) => assert_eq!(&Json::Array(found), expected, "{name}"),
                (Err(found), Err(says)) => assert!(found.contains(says), "{name}: {found}"),
                (found, expected) => panic!("{name}: {found:?}, expected {expected:?}"),
            }
        }
    }
}
