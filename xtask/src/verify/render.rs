//! Rendering: every generated Application through `helm template` exactly as Argo CD runs it for
//! that Application: release name, destination namespace, the chart folder, and the value files in
//! order, the missing ones skipped when `ignoreMissingValueFiles` is set.
//!
//! [`render_all`] is the one entry point, so that parallelism and caching ([`super::cache`]) stay in
//! one place; it streams each result to its caller instead of keeping every manifest in memory.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Result;
use xshell::Shell;

use super::appset::Application;
use super::cache::{Cache, Keys, What};
use super::problem::Problem;
use crate::helm;

/// The rule id of a failed render.
pub const RULE: &str = "helm-render";

/// The `helm template` invocation Argo CD makes for `app`, or why it fails before helm runs.
/// `Ok(None)` when discovery already reported that the Application cannot be rendered offline.
pub fn plan(root: &Path, app: &Application) -> Result<Option<helm::Render>, Problem> {
    if app.chart.is_empty() || app.value_files.iter().any(|f| f.starts_with('$')) {
        return Ok(None);
    }
    let ignore_missing = app.ignore_missing_value_files;
    let mut value_files = Vec::new();
    for file in &app.value_files {
        let path = root.join(file);
        if path.is_file() {
            value_files.push(path);
        } else if !ignore_missing {
            return Err(Problem::new(
                &app.component_file,
                0,
                RULE,
                format!(
                    "value file {file} does not exist and ignoreMissingValueFiles is not set, so Argo CD fails to render it; create the file or set ignoreMissingValueFiles: true"
                ),
            ));
        }
    }
    Ok(Some(helm::Render {
        release: app.release.clone(),
        namespace: app.namespace.clone(),
        chart: root.join(&app.chart),
        value_files,
        set_strings: Vec::new(),
        sets: Vec::new(),
    }))
}

/// Renders every Application on as many threads as there are cores and hands each result to
/// `on_each` as it arrives (in no particular order): the manifests, or the problem at the file at
/// fault. Applications discovery could not resolve are skipped.
///
/// With a `cache`, a render whose inputs are unchanged since it was last stored is read from it
/// instead of running helm, and every new successful render is stored as it arrives. Results flow
/// through a channel holding at most one per thread, so memory does not grow with the number of
/// Applications: a slow `on_each` holds the renders back instead of piling them up. Returns how
/// many times helm ran.
pub fn render_all(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    apps: &[Application],
    cache: Option<&Cache>,
    mut on_each: impl FnMut(&Application, Result<String, Problem>),
) -> usize {
    let mut keys = cache.map(|c| Keys::new(root, c.helm_version()));
    let mut jobs = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        match plan(root, app) {
            Ok(Some(render)) => {
                let key = keys.as_mut().map(|k| k.key(app));
                jobs.push((i, render, key));
            }
            Ok(None) => {}
            Err(problem) => on_each(app, Err(problem)),
        }
    }
    drop(keys);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(jobs.len().max(1));
    let dir = sh.current_dir();
    let next = AtomicUsize::new(0);
    let helm_runs = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::sync_channel(workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let (jobs, next, dir, helm_runs) = (&jobs, &next, &dir, &helm_runs);
            scope.spawn(move || {
                let sh = Shell::new().expect("a shell");
                sh.change_dir(dir);
                while let Some((i, render, key)) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    // After Ctrl-C helm's children die too; their failures are no findings.
                    if crate::interrupt::is_set() {
                        break;
                    }
                    let cached = match (cache, key) {
                        (Some(cache), Some(key)) => cache.get(What::Render, key),
                        _ => None,
                    };
                    let result = match cached {
                        Some(manifests) => Ok(manifests),
                        None => {
                            helm_runs.fetch_add(1, Ordering::Relaxed);
                            let result = helm::template(&sh, helm, render);
                            if let (Some(cache), Some(key), Ok(manifests)) = (cache, key, &result) {
                                cache.put(What::Render, key, manifests);
                            }
                            result
                        }
                    };
                    if sender.send((*i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (i, result) in receiver {
            let app = &apps[i];
            on_each(app, result.map_err(|err| problem(root, app, &err)));
        }
    });
    helm_runs.into_inner()
}

/// A failed render as a problem: at the value file helm's message names, else at the component
/// file. The message leaves the Application out, so that the same failure in several envs can be
/// reported once naming them all ([`super::problem::group_by_application`]).
pub fn problem(root: &Path, app: &Application, err: &anyhow::Error) -> Problem {
    let raw = match err.downcast_ref::<helm::Failed>() {
        Some(failed) => failed.stderr.clone(),
        None => format!("{err:#}"),
    };
    let prefix = format!("{}/", root.display());
    let message = raw
        .replace(&prefix, "")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.trim_start_matches("Error: ");
    let path = app
        .value_files
        .iter()
        .find(|file| message.contains(file.as_str()))
        .unwrap_or(&app.component_file);
    Problem::new(
        path,
        0,
        RULE,
        format!("helm template of chart {} fails: {message}", app.chart),
    )
}
