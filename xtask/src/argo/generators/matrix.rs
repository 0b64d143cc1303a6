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
        if children.len() != 2 {
            problems.push(self.problem(
                "matrix",
                format!(
                    "a matrix generator needs exactly two child generators, found {}",
                    children.len()
                ),
            ));
            return None;
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
