//! A generator's own `template` merged over the ApplicationSet's, as Argo CD's
//! `mergeGeneratorTemplate` (`applicationset/generators/generator_spec_processor.go`) does with
//! `mergo.Merge(generatorTemplate, appSetTemplate)` on the typed `ApplicationSetTemplate`:
//!
//! - a struct or map merges field by field (labels and annotations key by key);
//! - any other field keeps the generator's value unless it is empty: `""`, `false`, `0`, an
//!   empty list or `null` count as unset, so the ApplicationSet's value applies (mergo cannot tell
//!   an explicit `false` from a missing one);
//! - a list is one value: the generator's `sources` replace the ApplicationSet's whole;
//! - `helm.valuesObject` (a `runtime.RawExtension`, raw bytes to mergo) is one value too.
//!
//! Only a generator directly under `spec.generators` has its template merged: Argo CD transforms
//! a matrix's children with an empty base template and keeps only their parameters.

use crate::yaml::{Mapping, Value};

/// The merged template, and the fields the generator sets to an empty value that mergo then
/// replaces with the ApplicationSet's (dotted paths), which the author cannot have meant.
pub(crate) fn merge(generator: &Value, appset: &Value) -> (Value, Vec<String>) {
    let mut overridden = Vec::new();
    let merged = merge_at(generator, appset, &mut Vec::new(), &mut overridden);
    (merged, overridden)
}

/// Fields mergo takes whole although they are maps in YAML.
fn atomic(path: &[String]) -> bool {
    path.last().is_some_and(|k| k == "valuesObject")
}

fn merge_at(
    generator: &Value,
    appset: &Value,
    path: &mut Vec<String>,
    overridden: &mut Vec<String>,
) -> Value {
    match (generator, appset) {
        (Value::Mapping(mine), Value::Mapping(base)) if !atomic(path) => {
            let mut out = Mapping::new();
            for (key, value) in base {
                path.push(super::super::yaml::scalar_text(key));
                let merged = match mine.get(key) {
                    Some(own) => merge_at(own, value, path, overridden),
                    None => value.clone(),
                };
                path.pop();
                out.insert(key.clone(), merged);
            }
            for (key, value) in mine {
                if !base.contains_key(key) {
                    out.insert(key.clone(), value.clone());
                }
            }
            Value::Mapping(out)
        }
        (own, base) if is_empty(own) => {
            if !is_empty(base) && !own.is_null() {
                overridden.push(path.join("."));
            }
            base.clone()
        }
        (own, _) => own.clone(),
    }
}

/// mergo's `isEmptyValue` on what the YAML value decodes to.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(map) => map.is_empty(),
        Value::Tagged(tagged) => is_empty(&tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn yaml(text: &str) -> Value {
        crate::yaml::from_str(text).unwrap()
    }

    #[test]
    fn a_generator_template_is_merged_over_the_applicationsets_as_mergo_does() {
        // (name, generator template, ApplicationSet template, merged, fields overridden)
        let cases: &[(&str, &str, &str, &str, &[&str])] = &[
            (
                "(Argo CD's TestMergeTemplateApplications, controllers/template/template_test.go) the generator's name and labels win, the ApplicationSet's namespace and other labels stay",
                "metadata: {name: test, labels: {foo: bar}}",
                "metadata: {name: name, namespace: namespace, labels: {label_name: label_value}}",
                "metadata: {name: test, namespace: namespace, labels: {label_name: label_value, foo: bar}}",
                &[],
            ),
            (
                "labels merge key by key, the generator's value winning",
                "metadata: {labels: {a: mine, c: new}}",
                "metadata: {labels: {a: base, b: base}}",
                "metadata: {labels: {a: mine, b: base, c: new}}",
                &[],
            ),
            (
                "an empty label value in the generator is unset to mergo",
                "metadata: {labels: {a: ''}}",
                "metadata: {labels: {a: base}}",
                "metadata: {labels: {a: base}}",
                &["metadata.labels.a"],
            ),
            (
                "false in the generator cannot turn off the ApplicationSet's true",
                "spec: {syncPolicy: {automated: {prune: false, selfHeal: true}}}",
                "spec: {syncPolicy: {automated: {prune: true}}}",
                "spec: {syncPolicy: {automated: {prune: true, selfHeal: true}}}",
                &["spec.syncPolicy.automated.prune"],
            ),
            (
                "lists replace whole: the generator's sources, not a merge of both",
                "spec: {sources: [{repoURL: g, path: x}]}",
                "spec: {sources: [{repoURL: b, path: y}, {repoURL: b, ref: values}]}",
                "spec: {sources: [{repoURL: g, path: x}]}",
                &[],
            ),
            (
                "an empty list in the generator takes the ApplicationSet's",
                "metadata: {finalizers: []}",
                "metadata: {finalizers: [f]}",
                "metadata: {finalizers: [f]}",
                &["metadata.finalizers"],
            ),
            (
                "helm valuesObject is one value: the generator's replaces the ApplicationSet's whole",
                "spec: {source: {helm: {valuesObject: {a: 1}}}}",
                "spec: {source: {helm: {valuesObject: {b: 2}, releaseName: r}}}",
                "spec: {source: {helm: {valuesObject: {a: 1}, releaseName: r}}}",
                &[],
            ),
            (
                "zero in the generator is unset too",
                "spec: {revisionHistoryLimit: 0}",
                "spec: {revisionHistoryLimit: 10}",
                "spec: {revisionHistoryLimit: 10}",
                &["spec.revisionHistoryLimit"],
            ),
            (
                "no ApplicationSet template: the generator's is used as it is",
                "metadata: {name: x}\nspec: {project: p}",
                "~",
                "metadata: {name: x}\nspec: {project: p}",
                &[],
            ),
        ];
        for (name, generator, appset, expected, overridden) in cases {
            let (merged, found) = merge(&yaml(generator), &yaml(appset));
            assert_eq!(merged, yaml(expected), "{name}");
            assert_eq!(found, *overridden, "{name}");
        }
    }
}
