//! One ApplicationSet as the controller reconciles it (`applicationset/controllers`): its
//! generators' parameter sets, rendered into the template a chunk at a time by helm's engine
//! ([`super::gotemplate`]), each made into an Application ([`super::template`]).

use std::path::Path;

use crate::yaml::Value;
use anyhow::Result;
use xshell::Shell;

use super::application::Application;
use super::generators::{self, ParamSet};
use super::gotemplate;
use super::repository::Files;
use super::template::{collect_leaves, show_path, Leaf, Step};
use super::{CHUNK, RULE_APPSET, RULE_TEMPLATE};
use crate::verify::cache::Cache;
use crate::verify::problem::{line_of_key, Problem};
use crate::verify::rules::argocd::ArgoCd;

/// One ApplicationSet document and what it says about templating.
pub(crate) struct AppSet<'a> {
    pub(crate) path: &'a str,
    pub(crate) text: &'a str,
    pub(crate) doc: Value,
    pub(crate) name: String,
    pub(crate) namespace: String,
    /// `goTemplateOptions` as Argo CD applies them, or why Go refuses them.
    pub(crate) missing_key: Result<gotemplate::MissingKey, String>,
    /// The repository's files, as the repo-server sees them.
    pub(crate) files: &'a Files,
}

impl<'a> AppSet<'a> {
    pub(crate) fn new(path: &'a str, text: &'a str, doc: Value, files: &'a Files) -> AppSet<'a> {
        let options: Vec<&str> = doc["spec"]["goTemplateOptions"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|o| o.as_str().unwrap_or_default())
            .collect();
        let missing_key = gotemplate::MissingKey::from_options(&options);
        AppSet {
            path,
            text,
            files,
            name: doc["metadata"]["name"].as_str().unwrap_or("?").to_owned(),
            namespace: doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("argocd")
                .to_owned(),
            missing_key,
            doc,
        }
    }

    pub(crate) fn problem(&self, key: &str, message: impl Into<String>) -> Problem {
        Problem::new(self.path, line_of_key(self.text, key), RULE_APPSET, message)
    }

    /// Generates this ApplicationSet's Applications a chunk of parameter sets at a time, handing
    /// each chunk's to `emit`; returns the problems.
    pub(crate) fn generate(
        &self,
        sh: &Shell,
        helm: &Path,
        root: &Path,
        cache: Option<&Cache>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
    ) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        let spec = &self.doc["spec"];
        if spec["goTemplate"].as_bool() != Some(true) {
            problems.push(self.problem(
                "goTemplate",
                format!(
                    "ApplicationSet {}: only goTemplate: true is emulated offline; set it (with goTemplateOptions: [\"missingkey=error\"])",
                    self.name
                ),
            ));
            return Ok(problems);
        }
        problems.extend(self.refused_fields());
        let missing_key = match &self.missing_key {
            Ok(mode) => *mode,
            Err(panic) => {
                problems.push(self.problem(
                    "goTemplateOptions",
                    format!(
                        "ApplicationSet {}: goTemplateOptions: Go's text/template refuses the option ({panic}), so Argo CD renders no template and generates none of its Applications; use missingkey=error, missingkey=zero or missingkey=default",
                        self.name
                    ),
                ));
                return Ok(problems);
            }
        };
        let base = spec.get("template").cloned().unwrap_or(Value::Null);
        let mut planned = Vec::new();
        for generator in spec["generators"].as_sequence().into_iter().flatten() {
            let Some(sets) = self.params(root, generator, &mut problems) else {
                continue;
            };
            let template = self.generator_template(generator, &base, &mut problems);
            let prepared = self.prepare(&template, missing_key, &mut problems);
            planned.push((template, sets, prepared));
        }
        // A template Argo CD cannot parse fails the whole ApplicationSet: none is rendered.
        if planned.iter().any(|(_, _, prepared)| prepared.is_none()) {
            return Ok(problems);
        }
        let patch = spec["templatePatch"].as_str();
        let decoder = patch.and_then(|_| ArgoCd::load(root).ok());
        for (template, sets, prepared) in &planned {
            let (leaves, prepared) = prepared.as_ref().expect("checked above");
            let mut chunks = Chunks {
                appset: self,
                sh,
                helm,
                cache,
                template,
                leaves,
                prepared,
                has_patch: patch.is_some(),
                decoder: decoder.as_ref(),
                sets: Vec::with_capacity(CHUNK),
                checked: 0,
                uncached: 0,
                unparsable: false,
            };
            sets.each(self, root, &mut |item| match item {
                Ok(set) => chunks.push(set, &mut problems, emit),
                Err(problem) => {
                    problems.push(problem);
                    Ok(())
                }
            })?;
            chunks.flush(&mut problems, emit, true)?;
        }
        Ok(problems)
    }

    /// The template one entry of `spec.generators` renders: its generator's own `template`
    /// merged over the ApplicationSet's ([`generators::merge_template`]), or the ApplicationSet's.
    fn generator_template(
        &self,
        generator: &Value,
        base: &Value,
        problems: &mut Vec<Problem>,
    ) -> Value {
        let own = generator
            .as_mapping()
            .into_iter()
            .flatten()
            .find_map(|(_, spec)| spec.get("template"));
        let Some(own) = own else {
            return base.clone();
        };
        let (merged, overridden) = generators::merge_template(own, base);
        for field in overridden {
            problems.push(self.problem(
                "template",
                format!(
                    "ApplicationSet {}: a generator's template sets {field} to an empty value (\"\", false, 0 or []), which Argo CD's merge (mergo) treats as unset, so the ApplicationSet template's value applies; remove it from the generator's template, or change spec.template",
                    self.name
                ),
            ));
        }
        merged
    }

    /// The texts of `template`'s leaves and of the `templatePatch`, prepared for helm's engine;
    /// `None` when one calls a function Argo CD does not define (each is a problem).
    fn prepare(
        &self,
        template: &Value,
        missing_key: gotemplate::MissingKey,
        problems: &mut Vec<Problem>,
    ) -> Option<(Vec<Leaf>, Vec<String>)> {
        let mut leaves = Vec::new();
        collect_leaves(template, &mut Vec::new(), &mut leaves);
        let patch = self.doc["spec"]["templatePatch"].as_str();
        let mut texts: Vec<&str> = leaves.iter().map(|l| l.text.as_str()).collect();
        texts.extend(patch);
        let mut prepared = Vec::new();
        let mut undefined = false;
        for (i, text) in texts.iter().enumerate() {
            let p = gotemplate::prepare(text, missing_key);
            for function in &p.undefined {
                undefined = true;
                problems.push(self.problem(
                    self.field_key(&leaves, i),
                    gotemplate::undefined_message(
                        &self.field_name(&leaves, i),
                        &self.name,
                        function,
                    ),
                ));
            }
            prepared.push(p.text);
        }
        (!undefined).then_some((leaves, prepared))
    }

    /// The key to point at in the ApplicationSet file for rendered field `i`.
    fn field_key<'l>(&self, leaves: &'l [Leaf], i: usize) -> &'l str {
        match leaves.get(i) {
            Some(leaf) => match leaf.path.iter().rev().find_map(|s| match s {
                Step::Key(Value::String(k)) => Some(k.as_str()),
                _ => None,
            }) {
                Some(key) => key,
                None => "template",
            },
            None => "templatePatch",
        }
    }

    /// `template.metadata.name`, `template.spec.sources[0].path` or `templatePatch`.
    fn field_name(&self, leaves: &[Leaf], i: usize) -> String {
        match leaves.get(i) {
            Some(leaf) => format!("template{}", show_path(&leaf.path)),
            None => "templatePatch".to_owned(),
        }
    }
}

/// At most this many sets wait for one helm run ([`Chunks::flush`]).
const HOLD: usize = 4 * CHUNK;

/// The parameter sets of one ApplicationSet waiting to be rendered, and what renders them: a
/// chunk at a time, so that only [`CHUNK`] sets and their Applications are held; up to [`HOLD`]
/// when chunks wait so that one helm run renders all their sets the cache lacks.
struct Chunks<'c> {
    appset: &'c AppSet<'c>,
    sh: &'c Shell,
    helm: &'c Path,
    cache: Option<&'c Cache>,
    template: &'c Value,
    leaves: &'c [Leaf],
    prepared: &'c [String],
    has_patch: bool,
    /// The Argo CD schema the patched Applications are decoded with.
    decoder: Option<&'c ArgoCd>,
    sets: Vec<ParamSet>,
    /// How many of `sets` were looked up in the cache, and how many of those it lacks.
    checked: usize,
    uncached: usize,
    /// A template does not parse: nothing more is rendered (the problem is reported once).
    unparsable: bool,
}

impl Chunks<'_> {
    fn push(
        &mut self,
        set: ParamSet,
        problems: &mut Vec<Problem>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
    ) -> Result<()> {
        if self.unparsable {
            return Ok(());
        }
        self.sets.push(set);
        if self.sets.len().is_multiple_of(CHUNK) {
            self.flush(problems, emit, false)?;
        }
        Ok(())
    }

    /// Renders the waiting sets and hands their Applications to `emit`. Before the `last` flush,
    /// sets of which the cache lacks only a few wait for the next chunks (up to [`HOLD`] sets):
    /// a change to one component touches a set per env, chunks apart, and each helm run costs
    /// a tenth of a second however few sets it renders.
    fn flush(
        &mut self,
        problems: &mut Vec<Problem>,
        emit: &mut dyn FnMut(Vec<Application>) -> Result<()>,
        last: bool,
    ) -> Result<()> {
        if self.sets.is_empty() || self.unparsable {
            return Ok(());
        }
        if !last {
            let unchecked: Vec<&str> = self.sets[self.checked..]
                .iter()
                .map(|s| s.params.as_str())
                .collect();
            self.uncached += gotemplate::uncached(self.prepared, &unchecked, self.cache);
            self.checked = self.sets.len();
            if (1..CHUNK).contains(&self.uncached) && self.sets.len() < HOLD {
                return Ok(());
            }
        }
        (self.checked, self.uncached) = (0, 0);
        let sets = std::mem::take(&mut self.sets);
        let this = self.appset;
        let values: Vec<&str> = sets.iter().map(|s| s.params.as_str()).collect();
        let rendered = match gotemplate::render(
            self.sh,
            self.helm,
            self.prepared,
            &values,
            self.cache,
        )? {
            gotemplate::Outcome::Rendered(rendered) => rendered,
            gotemplate::Outcome::Unparsable(failure) => {
                let (key, field) = match failure.template {
                    Some(i) => (
                        this.field_key(self.leaves, i),
                        this.field_name(self.leaves, i),
                    ),
                    None => ("template", "the template".to_owned()),
                };
                problems.push(Problem::new(
                        this.path,
                        line_of_key(this.text, key),
                        RULE_TEMPLATE,
                        format!(
                            "{field} of ApplicationSet {}: {}; Argo CD generates none of its Applications",
                            this.name,
                            failure.message,
                        ),
                    ));
                self.unparsable = true;
                return Ok(());
            }
        };
        drop(values);
        let mut apps = Vec::with_capacity(sets.len());
        for (set, result) in sets.iter().zip(rendered) {
            let strings = match result {
                Ok(strings) => strings,
                Err(failure) => {
                    let field = failure.template.map_or("the template".to_owned(), |i| {
                        this.field_name(self.leaves, i)
                    });
                    problems.push(Problem::new(
                        set.component_file(this.path),
                        0,
                        RULE_TEMPLATE,
                        format!(
                            "ApplicationSet {} cannot render {field} with the parameters from {}: {}; Argo CD stops updating every Application of this ApplicationSet until it is fixed",
                            this.name,
                            set.files.join(" and "),
                            failure.message
                        ),
                    ));
                    continue;
                }
            };
            match this.application(
                set,
                self.template,
                self.leaves,
                &strings,
                self.has_patch,
                self.decoder,
            ) {
                Ok((app, sources)) => {
                    problems.extend(sources);
                    apps.push(app);
                }
                Err(message) => problems.push(Problem::new(
                    set.component_file(this.path),
                    0,
                    RULE_TEMPLATE,
                    message,
                )),
            }
        }
        drop(sets);
        emit(apps)
    }
}
