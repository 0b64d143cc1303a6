//! An ApplicationSet's `template` and `templatePatch` made into an Application for one parameter
//! set, as Argo CD's `RenderTemplateParams` (`applicationset/utils/utils.go`) and
//! `applyTemplatePatch` (`applicationset/controllers/template/patch.go`) do: every string field
//! rendered, the finalizer added, the patch merged, the namespace defaulted.

use crate::yaml::{Mapping, Value};

use super::application::Application;
use super::appset::AppSet;
use super::generators::ParamSet;
use super::yaml::{parse_documents, scalar_text};
use super::RULE_TEMPLATE;
use crate::verify::problem::{line_of_key, Problem};
use crate::verify::rules::argocd::ArgoCd;

const API_VERSION: &str = "argoproj.io/v1alpha1";
/// Added by the ApplicationSet controller unless `preserveResourcesOnDeletion` (Argo CD's
/// `RenderTemplateParams`).
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// A string field of the template: where it is, for the messages and to put the result back.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    pub(crate) path: Vec<Step>,
    pub(crate) text: String,
    /// The leaf is the map key at the end of `path`, not the value there: Argo CD renders keys
    /// too (`deeplyReplace`, e.g. an annotation's name).
    pub(crate) key: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Step {
    Key(Value),
    Index(usize),
}

impl AppSet<'_> {
    /// Builds the Application from the rendered strings of one parameter set; `decoder` is the
    /// Argo CD schema the patched Application is decoded with (none: not decoded).
    pub(crate) fn application(
        &self,
        set: &ParamSet,
        template: &Value,
        leaves: &[Leaf],
        strings: &[String],
        has_patch: bool,
        decoder: Option<&ArgoCd>,
    ) -> Result<(Application, Vec<Problem>), String> {
        let mut app = template.clone();
        let mut problems = Vec::new();
        // Values first, then keys (deepest first, as collected), so that every path still holds.
        let (keys, values): (Vec<_>, Vec<_>) =
            leaves.iter().zip(strings).partition(|(leaf, _)| leaf.key);
        for (leaf, rendered) in values {
            if let Some(slot) = lookup_mut(&mut app, &leaf.path) {
                *slot = Value::String(rendered.clone());
            }
        }
        for (leaf, rendered) in keys {
            rename_key(&mut app, &leaf.path, rendered);
        }
        if !app.is_mapping() {
            app = Value::Mapping(Mapping::new());
        }
        let preserve =
            self.doc["spec"]["syncPolicy"]["preserveResourcesOnDeletion"].as_bool() == Some(true);
        let has_finalizers = app["metadata"]["finalizers"]
            .as_sequence()
            .is_some_and(|f| !f.is_empty());
        if !preserve && !has_finalizers {
            set_path(
                &mut app,
                &["metadata", "finalizers"],
                Value::Sequence(vec![RESOURCES_FINALIZER.into()]),
            );
        }
        if has_patch {
            let text = strings.get(leaves.len()).map_or("", String::as_str);
            let mut patch = parse_documents(text)
                .map_err(|err| {
                    format!(
                        "the templatePatch of ApplicationSet {} renders invalid YAML for the parameters from {} ({} at line {} of the rendered patch); Argo CD stops updating every Application of this ApplicationSet",
                        self.name,
                        set.files.join(" and "),
                        err.message,
                        err.line
                    )
                })?
                .into_iter()
                .next()
                .unwrap_or(Value::Null);
            match patch {
                Value::Null => {}
                Value::Mapping(_) => {
                    if let Some(decoder) = decoder {
                        problems.extend(self.decode_patch(set, decoder, &mut patch)?);
                    }
                    // applyTemplatePatch keeps the template's project whatever the patch says.
                    let project = app["spec"].get("project").cloned();
                    if patch["spec"].get("project").is_some() {
                        problems.push(self.patch_problem(
                            "sets spec.project, which Argo CD resets to the template's project after patching (applyTemplatePatch, to keep a patch from moving an Application into another project), so it does nothing; set spec.project in template",
                        ));
                    }
                    merge_finalizers(&app, &mut patch);
                    apply_patch(&mut app, &patch);
                    if let Some(project) = project {
                        set_path(&mut app, &["spec", "project"], project);
                    } else if let Some(spec) = app["spec"].as_mapping_mut() {
                        spec.remove("project");
                    }
                }
                _ => {
                    return Err(format!(
                        "the templatePatch of ApplicationSet {} does not render a map for the parameters from {}",
                        self.name,
                        set.files.join(" and ")
                    ))
                }
            }
        }
        // GenerateApplications: always the ApplicationSet's namespace, whatever the template says.
        set_path(
            &mut app,
            &["metadata", "namespace"],
            Value::String(self.namespace.clone()),
        );
        let mut manifest = Mapping::new();
        manifest.insert("apiVersion".into(), API_VERSION.into());
        manifest.insert("kind".into(), "Application".into());
        if let Value::Mapping(rest) = app {
            for (key, value) in rest {
                manifest.insert(key, value);
            }
        }
        let manifest = Value::Mapping(manifest);
        let (app, mut sources) = self.describe(set, manifest);
        sources.extend(problems);
        Ok((app, sources))
    }

    /// The rendered templatePatch decoded into an Application as `applyTemplatePatch` decodes it
    /// (`json.Unmarshal`): a field of the wrong JSON type fails it, and with it the whole
    /// ApplicationSet; an unknown field is dropped, here from `patch`, and reported.
    fn decode_patch(
        &self,
        set: &ParamSet,
        decoder: &ArgoCd,
        patch: &mut Value,
    ) -> Result<Vec<Problem>, String> {
        let mut json = serde_json::to_value(&*patch).unwrap_or_default();
        drop_json_nulls(&mut json);
        let (wrong, unknown) = decoder.decode("Application", &json);
        if let Some(first) = wrong.first() {
            return Err(format!(
                "the templatePatch of ApplicationSet {} does not decode into an Application for the parameters from {}: invalid templatePatch: {first}; Argo CD generates no Application of this ApplicationSet and stops updating every one until it is fixed: write {} as a {} (unquoted for a bool or a number)",
                self.name,
                set.files.join(" and "),
                first.at,
                first.want,
            ));
        }
        let mut problems = Vec::new();
        for field in unknown {
            remove_dotted(patch, &field);
            problems.push(self.patch_problem(&format!(
                "writes {field}, a field Argo CD {}'s Application does not have: Argo CD drops it when it decodes the patched Application (Go's json.Unmarshal ignores unknown fields), so it does nothing; correct its name",
                decoder.version
            )));
        }
        Ok(problems)
    }

    fn patch_problem(&self, what: &str) -> Problem {
        Problem::new(
            self.path,
            line_of_key(self.text, "templatePatch"),
            RULE_TEMPLATE,
            format!("the templatePatch of ApplicationSet {} {what}", self.name),
        )
    }
}

/// `metadata.finalizers` is a list Kubernetes' strategic merge patch merges (`patchStrategy:
/// "merge"` on `ObjectMeta`): the patch's finalizers are added to the template's, not put in their
/// place. Finalizers are a set, so the order of the union (the template's, then the new ones) is
/// of no effect.
fn merge_finalizers(app: &Value, patch: &mut Value) {
    let (Some(existing), Some(added)) = (
        app["metadata"]["finalizers"].as_sequence(),
        patch["metadata"]["finalizers"].as_sequence(),
    ) else {
        return;
    };
    let mut union = existing.clone();
    for finalizer in added {
        if !union.contains(finalizer) {
            union.push(finalizer.clone());
        }
    }
    set_path(patch, &["metadata", "finalizers"], Value::Sequence(union));
}

/// Removes the field at a dotted path (`spec.sources[0].hlem`) from `value`.
fn remove_dotted(value: &mut Value, dotted: &str) {
    let mut path = Vec::new();
    for part in dotted.split('.') {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        path.push(Step::Key(Value::String(key.to_owned())));
        for index in indexes.split('[') {
            if let Some(Ok(i)) = index.strip_suffix(']').map(str::parse) {
                path.push(Step::Index(i));
            }
        }
    }
    let Some((Step::Key(last), parent)) = path.split_last() else {
        return;
    };
    if let Some(map) = lookup_mut(value, parent).and_then(Value::as_mapping_mut) {
        map.remove(last);
    }
}

fn drop_json_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_json_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_json_nulls),
        _ => {}
    }
}

/// Renames the map key at the end of `path` to `new`, in place (the order of keys is kept).
fn rename_key(value: &mut Value, path: &[Step], new: &str) {
    let Some((Step::Key(old), parent)) = path.split_last() else {
        return;
    };
    let Some(map) = lookup_mut(value, parent).and_then(Value::as_mapping_mut) else {
        return;
    };
    let renamed: Mapping = std::mem::take(map)
        .into_iter()
        .map(|(k, v)| {
            if &k == old {
                (Value::String(new.to_owned()), v)
            } else {
                (k, v)
            }
        })
        .collect();
    *map = renamed;
}

/// Applies a rendered templatePatch like Argo CD's strategic merge patch on an Application (whose
/// fields carry no list merge keys): maps merge key by key, lists and scalars replace, and `null`
/// removes the key.
pub(crate) fn apply_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Mapping(target), Value::Mapping(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else if let Some(existing) = target.get_mut(key).filter(|e| e.is_mapping()) {
                    apply_patch(existing, value);
                } else {
                    let mut value = value.clone();
                    drop_nulls(&mut value);
                    target.insert(key.clone(), value);
                }
            }
        }
        (target, patch) => {
            *target = patch.clone();
            drop_nulls(target);
        }
    }
}

fn drop_nulls(value: &mut Value) {
    if let Value::Mapping(map) = value {
        map.retain(|_, v| !v.is_null());
        for (_, v) in map.iter_mut() {
            drop_nulls(v);
        }
    }
}

pub(crate) fn collect_leaves(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Leaf>) {
    match value {
        Value::String(text) => out.push(Leaf {
            path: path.clone(),
            text: text.clone(),
            key: false,
        }),
        Value::Mapping(map) => {
            for (key, value) in map {
                path.push(Step::Key(key.clone()));
                collect_leaves(value, path, out);
                // A key without an action renders to itself: only the others are templates.
                if let Value::String(text) = key {
                    if text.contains("{{") {
                        out.push(Leaf {
                            path: path.clone(),
                            text: text.clone(),
                            key: true,
                        });
                    }
                }
                path.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, value) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect_leaves(value, path, out);
                path.pop();
            }
        }
        Value::Tagged(tagged) => collect_leaves(&tagged.value, path, out),
        _ => {}
    }
}

fn lookup_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut current = value;
    for step in path {
        if let Value::Tagged(tagged) = current {
            current = &mut tagged.value;
        }
        current = match step {
            Step::Key(key) => current.as_mapping_mut()?.get_mut(key)?,
            Step::Index(i) => current.as_sequence_mut()?.get_mut(*i)?,
        };
    }
    Some(current)
}

fn set_path(value: &mut Value, path: &[&str], new: Value) {
    let mut current = value;
    for (i, key) in path.iter().enumerate() {
        if !current.is_mapping() {
            *current = Value::Mapping(Mapping::new());
        }
        let map = current.as_mapping_mut().expect("made a mapping");
        if i == path.len() - 1 {
            map.insert((*key).into(), new);
            return;
        }
        current = map
            .entry((*key).into())
            .or_insert(Value::Mapping(Mapping::new()));
    }
}

pub(crate) fn show_path(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Key(Value::String(key)) => format!(".{key}"),
            Step::Key(other) => format!(".{}", scalar_text(other)),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn yaml(text: &str) -> Value {
        crate::yaml::from_str(text).unwrap()
    }

    #[test]
    fn the_template_patch_merges_maps_replaces_lists_and_null_removes() {
        let mut app = yaml(
            "metadata: {name: a, labels: {x: '1', y: '2'}}\nspec: {sources: [{path: p}], project: p}",
        );
        let patch = yaml(
            "metadata: {labels: {y: null, z: '3'}}\nspec: {sources: [{path: q}, {ref: values}], syncPolicy: {automated: {prune: true, gone: null}}}",
        );
        apply_patch(&mut app, &patch);
        assert_eq!(
            app,
            yaml(
                "metadata: {name: a, labels: {x: '1', z: '3'}}\nspec: {sources: [{path: q}, {ref: values}], project: p, syncPolicy: {automated: {prune: true}}}"
            )
        );
    }

    #[test]
    fn patched_finalizers_are_added_to_the_template_s() {
        // k8s.io/apimachinery strategicpatch mergeSlice on ObjectMeta.Finalizers (merge strategy).
        let app = yaml(&format!(
            "metadata: {{finalizers: [{RESOURCES_FINALIZER}]}}"
        ));
        let mut patch = yaml(&format!(
            "metadata: {{finalizers: [x, {RESOURCES_FINALIZER}]}}"
        ));
        merge_finalizers(&app, &mut patch);
        let mut merged = app.clone();
        apply_patch(&mut merged, &patch);
        assert_eq!(
            merged,
            yaml(&format!(
                "metadata: {{finalizers: [{RESOURCES_FINALIZER}, x]}}"
            ))
        );
        // Without finalizers in the template, the patch's are the list.
        let mut patch = yaml("metadata: {finalizers: [x]}");
        merge_finalizers(&yaml("metadata: {name: a}"), &mut patch);
        assert_eq!(patch, yaml("metadata: {finalizers: [x]}"));
    }

    #[test]
    fn template_leaves_are_the_string_fields() {
        let template = yaml(
            "metadata: {name: '{{ .name }}', labels: {'{{ .k }}': v}}\nspec: {sources: [{path: p, helm: {ignore: true}}], n: 3}",
        );
        let mut leaves = Vec::new();
        collect_leaves(&template, &mut Vec::new(), &mut leaves);
        let found: Vec<(String, &str)> = leaves
            .iter()
            .map(|l| (show_path(&l.path), l.text.as_str()))
            .collect();
        // Map keys with an action are rendered too (utils_test.go TestRenderTemplateKeys), after
        // the values under them; booleans and numbers are no templates.
        assert_eq!(
            found,
            [
                (".metadata.name".to_owned(), "{{ .name }}"),
                (".metadata.labels.{{ .k }}".to_owned(), "v"),
                (".metadata.labels.{{ .k }}".to_owned(), "{{ .k }}"),
                (".spec.sources[0].path".to_owned(), "p"),
            ]
        );
    }
}
