//! The generators of an ApplicationSet, behind one interface as in Argo CD
//! (`applicationset/generators/interface.go`, dispatched as `generator_spec_processor.go` does):
//! each turns its part of `spec.generators` into parameter sets, produced on demand ([`Sets`]).

mod git_files;
mod list;
mod matrix;
mod template;

use std::path::Path;

use crate::yaml::Value;
use anyhow::Result;
use serde_json::{Map as JsonMap, Value as Json};

use super::appset::AppSet;
use crate::layout;
use crate::verify::problem::Problem;
use matrix::merge_first_wins;
pub(crate) use template::merge as merge_template;

/// One generator kind: reads its entry of `spec.generators` into parameter sets, or `None` when
/// the entry cannot be emulated (a problem says why).
pub(crate) trait Generator {
    fn params(
        &self,
        appset: &AppSet,
        root: &Path,
        spec: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets>;
}

/// The generators verify emulates, by their key in `spec.generators` (Argo CD's `GetGenerators`).
fn by_kind(kind: &str) -> Option<&'static dyn Generator> {
    match kind {
        "git" => Some(&git_files::GitFiles),
        "list" => Some(&list::List),
        "matrix" => Some(&matrix::Matrix),
        _ => None,
    }
}

/// One parameter set of a generator, and the files its values came from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParamSet {
    /// The parameters as compact JSON (keys in order): a matrix makes thousands of sets, and as
    /// trees they were most of discovery's memory. Read back with [`ParamSet::map`].
    pub(crate) params: String,
    pub(crate) files: Vec<String>,
}

impl AppSet<'_> {
    /// The parameter sets of one generator, in Argo CD's order, produced on demand ([`Sets`]);
    /// `None` when the generator cannot be emulated (a problem says why).
    pub(crate) fn params(
        &self,
        root: &Path,
        generator: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<Sets> {
        let Some(map) = generator.as_mapping() else {
            problems.push(self.problem("generators", "a generator must be a map"));
            return None;
        };
        if generator.get("selector").is_some() {
            problems.push(self.problem(
                "selector",
                "generator selectors are not emulated offline; remove the selector or filter in the files pattern",
            ));
            return None;
        }
        let kinds: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
        let emulated = match kinds.as_slice() {
            [kind] => by_kind(kind).map(|g| (g, *kind)),
            _ => None,
        };
        match emulated {
            Some((emulator, kind)) => emulator.params(self, root, &generator[kind], problems),
            None => {
                problems.push(self.problem(
                    kinds.first().copied().unwrap_or("generators"),
                    format!(
                        "unsupported generator {}: verify emulates git files, list and matrix generators only, so it cannot know which Applications this one generates",
                        kinds.join("+")
                    ),
                ));
                None
            }
        }
    }
}

impl ParamSet {
    pub(crate) fn new(params: JsonMap<String, Json>, files: Vec<String>) -> ParamSet {
        ParamSet {
            params: Json::Object(params).to_string(),
            files,
        }
    }

    /// The parameters.
    pub(crate) fn map(&self) -> JsonMap<String, Json> {
        serde_json::from_str(&self.params).unwrap_or_default()
    }

    /// The component file of a set: the last file under the components folder it came from.
    pub(crate) fn component_file<'s>(&'s self, appset: &'s str) -> &'s str {
        self.files
            .iter()
            .rev()
            .find(|f| f.starts_with(layout::COMPONENTS_DIR))
            .or(self.files.last())
            .map_or(appset, String::as_str)
    }
}

/// A generator's parameter sets, produced on demand: a git files generator keeps only its file
/// list and reads each file when its sets are wanted, so that a matrix over thousands of
/// components never holds their product, nor even the components' parameters.
pub(crate) enum Sets {
    List(Vec<ParamSet>),
    Files {
        files: Vec<String>,
        prefix: String,
    },
    /// The second child's sets for each of the first child's; the second is read again for each.
    Matrix(Box<Sets>, Box<Sets>),
}

impl Sets {
    /// Hands every set, in Argo CD's order, to `f`, or the problem of a file that gives none.
    pub(crate) fn each(
        &self,
        appset: &AppSet,
        root: &Path,
        f: &mut dyn FnMut(Result<ParamSet, Problem>) -> Result<()>,
    ) -> Result<()> {
        match self {
            Sets::List(sets) => sets.iter().try_for_each(|set| f(Ok(set.clone()))),
            Sets::Files { files, prefix } => {
                for file in files {
                    crate::interrupt::check("reading the generators' files")?;
                    match appset.file_params(root, file, prefix) {
                        Ok(sets) => sets.into_iter().try_for_each(|set| f(Ok(set)))?,
                        Err(problem) => f(Err(problem))?,
                    }
                }
                Ok(())
            }
            Sets::Matrix(first, second) => first.each(appset, root, &mut |a| {
                let a = match a {
                    Ok(a) => a,
                    Err(problem) => return f(Err(problem)),
                };
                let first_params = a.map();
                second.each(appset, root, &mut |b| {
                    let b = match b {
                        Ok(b) => b,
                        Err(problem) => return f(Err(problem)),
                    };
                    let mut params = b.map();
                    merge_first_wins(&mut params, &first_params);
                    let mut files = a.files.clone();
                    files.extend(b.files);
                    f(Ok(ParamSet::new(params, files)))
                })
            }),
        }
    }
}
