//! The one seam between the preview and the model of what Argo CD generates and renders
//! ([`crate::argo`], and verify's change selection and render pool over it): the
//! change since a base, the Applications of a tree, which of them a change can affect, and their
//! renders through the cache. The preview keeps no model of its own: everything it knows about
//! ApplicationSets and charts comes through these functions, so that it always agrees with
//! `verify`.

use std::path::Path;

use anyhow::Result;
use xshell::Shell;

use crate::argo;
use crate::verify::{cache, changed, render};
use crate::{exit, git};

pub use crate::argo::Application;
pub use crate::verify::cache::Cache;
pub use crate::verify::changed::Changes;

/// The folders of the tree the model reads: all that the base tree needs.
pub(crate) use crate::verify::rules::TREE_DIRS;

/// The default base: the branch pull requests merge into, as `verify --changed`.
pub const DEFAULT_BASE: &str = changed::DEFAULT_BASE;

/// The files changed between the merge-base of HEAD with `base` and the working tree (commits,
/// staged, unstaged, untracked), leaving out the render cache.
pub fn changes(sh: &Shell, root: &Path, base: &str) -> Result<Changes> {
    // verify's messages name its own flags; the preview's name the preview's.
    if !git::is_commit(sh, "HEAD") {
        return Err(exit::invalid(
            "preview compares the working tree with a Git base, but this is not a Git checkout with a commit; run it in a clone of the repository",
        ));
    }
    if !git::is_commit(sh, base) {
        return Err(exit::invalid(format!(
            "--base {base:?} is not a commit here; fetch it (git fetch origin main, or in a shallow CI checkout fetch-depth: 0) or name another revision with --base REV"
        )));
    }
    let cache_dir = cache::dir(root);
    let ignore = cache_dir.strip_prefix(root).ok().and_then(Path::to_str);
    changed::since(sh, base, ignore)
}

/// The render cache of the tree at `root`, for renders by `helm`; none where verify would not
/// trust it (tracked by Git, reached through a symlink): the preview then renders everything.
pub fn cache(sh: &Shell, root: &Path, helm: &Path) -> Result<Option<Cache>> {
    cache::trusted(sh, root, helm)
}

/// Every Application the ApplicationSets of the tree at `root` generate, in Argo CD's order.
/// What Argo CD would refuse is `verify`'s to report: the preview shows what is generated.
pub fn applications(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
) -> Result<Vec<Application>> {
    Ok(argo::discover_cached(sh, helm, root, cache)?.applications)
}

/// Whether an Application of the tree at `root` reads one of `files`: the others render exactly
/// as they did at the base.
pub fn affected<'a>(root: &'a Path, files: &'a [String]) -> impl FnMut(&Application) -> bool + 'a {
    let mut selector = changed::Selector::new(root, files);
    move |app| selector.reasons(app).is_some()
}

/// The manifests of each of `apps` (Applications of the tree at `root`), rendered as Argo CD
/// would, from the cache when it holds them; in no particular order. An Application that cannot
/// be rendered offline is left out; a failed render is its message.
pub fn render(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
    apps: Vec<Application>,
) -> Vec<(Application, Result<String, String>)> {
    let mut rendered = Vec::new();
    let collect = |_: usize, app: &Application, result: Result<String, _>| {
        let result = result.map_err(|problem: crate::verify::problem::Problem| problem.message);
        rendered.push((app.clone(), result));
    };
    render::pool(sh, helm, root, cache, collect, |submit| {
        submit.apps(0, apps)
    });
    rendered
}

/// Whether deleting `app` deletes what it deployed: the resources finalizer, which the
/// ApplicationSet controller leaves off with `preserveResourcesOnDeletion`.
pub fn deletes_resources(app: &Application) -> bool {
    app.manifest()["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .any(|f| f.starts_with(argo::RESOURCES_FINALIZER))
}

/// Whether `app` syncs with automated pruning: objects it stops rendering are deleted.
pub fn prunes(app: &Application) -> bool {
    app.manifest()["spec"]["syncPolicy"]["automated"]["prune"].as_bool() == Some(true)
}
