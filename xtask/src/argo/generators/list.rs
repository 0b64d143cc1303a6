//! Argo CD's list generator (`applicationset/generators/list.go`): one parameter set per element.

use std::path::Path;

use serde_json::Value as Json;
use serde_yaml::Value;

use super::{Generator, ParamSet, Sets};
use crate::argo::appset::AppSet;
use crate::argo::yaml::to_json;
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
        appset.list(spec, problems)
    }
}

impl AppSet<'_> {
    pub(crate) fn list(&self, list: &Value, problems: &mut Vec<Problem>) -> Option<Sets> {
        if list.get("elementsYaml").is_some() {
            problems.push(self.problem(
                "elementsYaml",
                "list elementsYaml is not emulated offline; use elements",
            ));
            return None;
        }
        let mut out = Vec::new();
        for element in list["elements"].as_sequence().into_iter().flatten() {
            match to_json(element) {
                Json::Object(params) => out.push(ParamSet::new(params, vec![self.path.to_owned()])),
                _ => problems.push(self.problem("elements", "a list element must be a map")),
            }
        }
        Some(Sets::List(out))
    }
}
