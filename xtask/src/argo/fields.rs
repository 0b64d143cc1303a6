//! Every field of an ApplicationSet's `spec` Argo CD 3.5 knows (`ApplicationSetSpec` in
//! `pkg/apis/application/v1alpha1/applicationset_types.go`), and what the model does with it:
//! emulated, of no effect on what is generated and rendered, or refused with an `appset` problem
//! naming it (docs/argo-model.md#the-fields-of-an-applicationset). Nothing is ignored silently.

use crate::yaml::Value;

use super::appset::AppSet;
use crate::verify::problem::Problem;

/// What the model does with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Modelled as Argo CD does it; where.
    Emulated(&'static str),
    /// Changes nothing the model generates or renders; why.
    NoEffect(&'static str),
    /// Refused with an `appset` problem, unless its value is the one given (Argo CD's default,
    /// which is what the model does).
    RefusedUnless(&'static str, &'static str),
}

/// The fields of `spec`, and of its `syncPolicy` and `strategy`, as dotted paths below `spec`.
pub(crate) const SPEC_FIELDS: [(&str, Outcome); 15] = [
    ("goTemplate", Outcome::Emulated("argo/appset.rs: only true is emulated, false is refused")),
    ("goTemplateOptions", Outcome::Emulated("argo/gotemplate.rs: missingkey options in order")),
    ("generators", Outcome::Emulated("argo/generators/: git files, list, matrix; others refused")),
    ("template", Outcome::Emulated("argo/template.rs: every string and map key rendered")),
    ("templatePatch", Outcome::Emulated("argo/template.rs: merged and decoded as applyTemplatePatch")),
    ("syncPolicy", Outcome::Emulated("its fields below")),
    (
        "syncPolicy.preserveResourcesOnDeletion",
        Outcome::Emulated("argo/template.rs: no resources finalizer"),
    ),
    (
        "syncPolicy.applicationsSync",
        Outcome::RefusedUnless(
            "sync",
            "with another policy (create-only, create-update, create-delete) Argo CD may keep an existing Application as it is (whether it honours the field depends on the controller's policy override setting, which the repository does not declare), so the Application verify checks need not be the one that runs",
        ),
    ),
    ("strategy", Outcome::Emulated("its fields below")),
    (
        "strategy.type",
        Outcome::Emulated("the rollout rules (verify/rules/component.rs): AllAtOnce or RollingSync"),
    ),
    (
        "strategy.rollingSync",
        Outcome::Emulated("the rollout rules (verify/rules/component.rs): each Application's step"),
    ),
    (
        "strategy.deletionOrder",
        Outcome::NoEffect("the order Applications are deleted in, not what they render"),
    ),
    (
        "preservedFields",
        Outcome::NoEffect("annotations and labels of the live Application Argo CD keeps; the generated ones are unchanged"),
    ),
    (
        "applyNestedSelectors",
        Outcome::NoEffect("generator selectors are refused wherever they are (argo/generators/)"),
    ),
    (
        "ignoreApplicationDifferences",
        Outcome::RefusedUnless(
            "[]",
            "Argo CD then leaves those fields of an existing Application as they are, so a change to them in the template reaches only new Applications, and the Application verify checks need not be the one that runs",
        ),
    ),
];

impl AppSet<'_> {
    /// The `appset` problems of the fields [`SPEC_FIELDS`] refuses.
    pub(crate) fn refused_fields(&self) -> Vec<Problem> {
        let spec = &self.doc["spec"];
        SPEC_FIELDS
            .iter()
            .filter_map(|(field, outcome)| {
                let Outcome::RefusedUnless(default, why) = outcome else {
                    return None;
                };
                let value = field
                    .split('.')
                    .try_fold(spec, |v, key| v.get(key))?;
                if is_default(value, default) {
                    return None;
                }
                let key = field.rsplit('.').next().expect("a field has a name");
                Some(self.problem(
                    key,
                    format!(
                        "ApplicationSet {}: spec.{field} is not emulated offline: {why}; remove it{}",
                        self.name,
                        match *default {
                            "[]" => String::new(),
                            value => format!(" (or set it to {value})"),
                        }
                    ),
                ))
            })
            .collect()
    }
}

fn is_default(value: &Value, default: &str) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text == default,
        Value::Sequence(items) => items.is_empty() && default == "[]",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ApplicationSetSpec`, `ApplicationSetSyncPolicy` and `ApplicationSetStrategy` of Argo CD
    /// 3.5 (`applicationset_types.go`), field by field.
    const ARGO_CD_3_5: [&str; 15] = [
        "goTemplate",
        "generators",
        "template",
        "syncPolicy",
        "syncPolicy.preserveResourcesOnDeletion",
        "syncPolicy.applicationsSync",
        "strategy",
        "strategy.type",
        "strategy.rollingSync",
        "strategy.deletionOrder",
        "preservedFields",
        "goTemplateOptions",
        "applyNestedSelectors",
        "ignoreApplicationDifferences",
        "templatePatch",
    ];

    #[test]
    fn every_field_argo_cd_3_5_knows_has_an_outcome() {
        for field in ARGO_CD_3_5 {
            assert!(
                SPEC_FIELDS.iter().any(|(f, _)| *f == field),
                "spec.{field} has no outcome"
            );
        }
        let refused: Vec<&str> = SPEC_FIELDS
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::RefusedUnless(..)))
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(
            refused,
            [
                "syncPolicy.applicationsSync",
                "ignoreApplicationDifferences"
            ]
        );
    }
}
