//! Argo CD's matrix generator (`applicationset/generators/matrix.go`): the second child's sets for
//! each of the first child's, merged.

use std::path::Path;

use crate::yaml::Value;
use serde_json::{Map as JsonMap, Value as Json};

use super::{Generator, Sets};
use crate::argo::appset::AppSet;
use crate::verify::problem::Problem;

pub(crate) struct Matrix;

impl Generator for Matrix {
    fn params(
        &self,
        appset: &AppSet,
        root: &Path,
        spec: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets> {
        appset.matrix(root, spec, problems)
    }
}

impl AppSet<'_> {
    /// Argo CD's matrix: the second child's sets for each of the first child's, combined pairwise.
    /// With goTemplate, Argo CD merges them with mergo (`applicationset/generators/matrix.go`): maps
    /// merge key by key, and on a conflict the first child's value wins.
    pub(crate) fn matrix(
        &self,
        root: &Path,
        matrix: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets> {
        let children = matrix["generators"].as_sequence().map_or(&[][..], |s| s);
        // Argo CD's errors (matrix.go), each failing the whole generator.
        let fails = |error: &str| {
            self.problem(
                "matrix",
                format!(
                    "the matrix generator of ApplicationSet {} fails: {error}; Argo CD then stops updating every Application of this ApplicationSet",
                    self.name
                ),
            )
        };
        match children.len() {
            0 | 1 => {
                problems.push(fails(
                    "found less than two generators, Matrix support only two",
                ));
                return None;
            }
            2 => {}
            _ => {
                problems.push(fails(
                    "found more than two generators, Matrix support only two",
                ));
                return None;
            }
        }
        for child in children {
            let kinds: Vec<&Value> = child
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(kind, _)| kind)
                .filter(|kind| kind.as_str() != Some("selector"))
                .collect();
            if kinds.len() > 1 {
                problems.push(fails("found more than one generator in matrix.Generators"));
                return None;
            }
            // A matrix in a matrix holds Argo CD's terminal generators only: a third level is
            // dropped when the child is decoded, and the child then has no generator.
            let grandchildren = child["matrix"]["generators"].as_sequence();
            let deeper = grandchildren
                .into_iter()
                .flatten()
                .any(|g| g.get("matrix").is_some() || g.get("merge").is_some());
            if deeper {
                problems.push(fails(
                    "child generator returned an error on parameter generation: child generator generated no parameters (a matrix nested in a matrix cannot hold another matrix or merge)",
                ));
                return None;
            }
        }
        if crate::yaml::to_string(&children[1]).is_ok_and(|t| t.contains("{{")) {
            problems.push(self.problem(
                "matrix",
                "the second child of a matrix uses parameters of the first; that is not emulated offline",
            ));
            return None;
        }
        let prefixes: Vec<Option<&str>> = children
            .iter()
            .map(|c| {
                let git = c.get("git")?;
                git.get("files")?;
                Some(git["pathParamPrefix"].as_str().unwrap_or_default())
            })
            .collect();
        if let [Some(a), Some(b)] = prefixes.as_slice() {
            if a == b {
                problems.push(self.problem(
                    "matrix",
                    format!(
                        "both git files children of the matrix write their path parameters under {:?}, so the second child's are lost; give one a different pathParamPrefix",
                        if a.is_empty() { "path".to_owned() } else { format!("{a}.path") }
                    ),
                ));
            }
        }
        // Argo CD transforms each child with an empty base template and keeps only its
        // parameters (`getParams` in matrix.go): a child's own template does nothing.
        for child in children {
            let ignored = child
                .as_mapping()
                .into_iter()
                .flatten()
                .find_map(|(kind, spec)| {
                    spec.get("template").map(|_| kind.as_str().unwrap_or("?"))
                });
            if let Some(kind) = ignored {
                problems.push(self.problem(
                    "template",
                    format!(
                        "the template of the matrix's child {kind} generator is ignored by Argo CD, which keeps only a child's parameters; move it to the matrix generator's own template, or into spec.template"
                    ),
                ));
            }
        }
        let first = self.params(root, &children[0], problems);
        let second = self.params(root, &children[1], problems);
        Some(Sets::Matrix(
            Box::new(first.unwrap_or(Sets::List(Vec::new()))),
            Box::new(second.unwrap_or(Sets::List(Vec::new()))),
        ))
    }
}

/// Merges `over` into `base` the way mergo does for the matrix: maps merge key by key, anything
/// else from `over` replaces.
pub(crate) fn merge_first_wins(base: &mut JsonMap<String, Json>, over: &JsonMap<String, Json>) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Json::Object(existing)), Json::Object(inner)) => {
                merge_first_wins(existing, inner)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    /// The sets (or the problems) of a matrix of the ApplicationSet generator `generator`.
    fn generate(generator: &str) -> Result<Vec<Json>, Vec<String>> {
        let files = crate::argo::repository::Files::default();
        let appset = AppSet::new(
            "argocd/applicationsets/x.yaml",
            "",
            crate::yaml::from_str("metadata: {name: x}").unwrap(),
            &files,
        );
        let generator = crate::argo::yaml::parse_documents(generator)
            .unwrap()
            .remove(0);
        let root = Path::new(".");
        let mut problems = Vec::new();
        let sets = appset.params(root, &generator, &mut problems);
        if !problems.is_empty() {
            return Err(problems.into_iter().map(|p| p.message).collect());
        }
        let mut out = Vec::new();
        sets.expect("no problem, so sets")
            .each(&appset, root, &mut |set| {
                out.push(Json::Object(set.unwrap().map()));
                Ok(())
            })
            .unwrap();
        Ok(out)
    }

    /// The cases are `TestMatrixGenerateGoTemplate`'s (`applicationset/generators/matrix_test.go`)
    /// where they use list generators, and matrix.go's other paths.
    #[test]
    fn the_matrix_gives_the_sets_matrix_go_gives() {
        let cases: &[(&str, &str, Result<Json, &str>)] = &[
            (
                "(Argo CD) happy flow - generate params from two lists: every pair, the first child's order outside",
                "matrix: {generators: [{list: {elements: [{a: '1'}, {a: '2'}]}}, {list: {elements: [{b: '1'}, {b: '2'}]}}]}",
                Ok(json!([{"a": "1", "b": "1"}, {"a": "1", "b": "2"}, {"a": "2", "b": "1"}, {"a": "2", "b": "2"}])),
            ),
            (
                "(Argo CD) parameter override: first list elements take precedence, a false too",
                "matrix: {generators: [{list: {elements: [{booleanFalse: false, booleanTrue: true, stringFalse: 'false', stringTrue: 'true'}]}}, {list: {elements: [{booleanFalse: true, booleanTrue: false, stringFalse: 'true', stringTrue: 'false'}]}}]}",
                Ok(json!([{"booleanFalse": false, "booleanTrue": true, "stringFalse": "false", "stringTrue": "true"}])),
            ),
            (
                "nested maps merge key by key, the first child winning",
                "matrix: {generators: [{list: {elements: [{m: {a: 1}}]}}, {list: {elements: [{m: {a: 2, b: 3}}]}}]}",
                Ok(json!([{"m": {"a": 1, "b": 3}}])),
            ),
            (
                "a child with no sets gives no sets",
                "matrix: {generators: [{list: {elements: [{a: 1}]}}, {list: {elements: []}}]}",
                Ok(json!([])),
            ),
            (
                "a matrix in a matrix of lists",
                "matrix: {generators: [{matrix: {generators: [{list: {elements: [{a: 1}]}}, {list: {elements: [{b: 2}]}}]}}, {list: {elements: [{c: 3}]}}]}",
                Ok(json!([{"a": 1, "b": 2, "c": 3}])),
            ),
            (
                "(Argo CD) returns error if there is less than two base generators",
                "matrix: {generators: [{list: {elements: [{a: 1}]}}]}",
                Err("found less than two generators, Matrix support only two"),
            ),
            (
                "(Argo CD) returns error if there is more than two base generators",
                "matrix: {generators: [{list: {elements: []}}, {list: {elements: []}}, {list: {elements: []}}]}",
                Err("found more than two generators, Matrix support only two"),
            ),
            (
                "(Argo CD) returns error if there is more than one inner generator in the first base generator",
                "matrix: {generators: [{list: {elements: []}, git: {repoURL: x}}, {list: {elements: []}}]}",
                Err("found more than one generator in matrix.Generators"),
            ),
            (
                "a third level of matrix is lost when Argo CD decodes the nested matrix",
                "matrix: {generators: [{matrix: {generators: [{matrix: {generators: []}}, {list: {elements: []}}]}}, {list: {elements: []}}]}",
                Err("child generator generated no parameters"),
            ),
            (
                "a child's own template is ignored by Argo CD, and said so",
                "matrix: {generators: [{list: {elements: [{a: 1}], template: {metadata: {name: x}}}}, {list: {elements: [{b: 1}]}}]}",
                Err("is ignored by Argo CD"),
            ),
        ];
        for (name, generator, expected) in cases {
            match (generate(generator), expected) {
                (Ok(found), Ok(expected)) => assert_eq!(&Json::Array(found), expected, "{name}"),
                (Err(found), Err(says)) => {
                    assert!(found.iter().any(|m| m.contains(says)), "{name}: {found:?}")
                }
                (found, expected) => panic!("{name}: {found:?}, expected {expected:?}"),
            }
        }
    }

    fn object(value: Json) -> JsonMap<String, Json> {
        match value {
            Json::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_matrix_merges_maps_and_the_first_child_wins_conflicts() {
        // Second child's set, then the first child's merged over it, as Argo CD's mergo calls do.
        let mut params = object(json!({
            "name": "orders",
            "namespace": "from-component",
            "path": {"path": "a/b", "basename": "b"},
            "list": [1, 2],
        }));
        let first = object(json!({
            "env": "dev",
            "namespace": "ameide-dev",
            "path": {"basename": "cluster", "extra": true},
            "list": [3],
        }));
        merge_first_wins(&mut params, &first);
        assert_eq!(
            Json::Object(params),
            json!({
                "name": "orders",
                "namespace": "ameide-dev",
                "path": {"path": "a/b", "basename": "cluster", "extra": true},
                "list": [3],
                "env": "dev",
            })
        );
    }
}
