//! Rendering: every generated Application through `helm template` exactly as Argo CD runs it for
//! that Application: release name, destination namespace, the chart folder, and the value files in
//! order, the missing ones skipped when `ignoreMissingValueFiles` is set.
//!
//! [`pool`] is the one entry point, so that parallelism and caching ([`super::cache`]) stay in one
//! place; it streams each result to its caller instead of keeping every manifest in memory.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use xshell::Shell;

use super::cache::{Cache, Key, Keys, What};
use super::problem::Problem;
use crate::argo::render_plan::plan;
use crate::argo::Application;
use crate::helm;

/// The rule id of a failed render.
pub use crate::argo::render_plan::RULE;

/// One Application to render, with its place in discovery's order.
struct Job {
    order: usize,
    app: Application,
    render: helm::Render,
    key: Option<Key>,
}

/// A rendered Application (or why it failed), with its place in discovery's order.
type Done = (usize, Application, Result<String, Problem>);

/// Where a producer hands the Applications to render: into a queue the workers of [`pool`] take
/// them from. The queue holds two per worker; a full queue makes [`Submit::apps`] wait, so the
/// Applications in flight stay few however many there are.
pub struct Submit<'p> {
    root: &'p Path,
    cache: Option<&'p Cache>,
    jobs: mpsc::SyncSender<Job>,
    /// For the Applications that fail before helm runs.
    done: mpsc::SyncSender<Done>,
    /// How long the producer waited for room in the queue: time the renders took, not it.
    waited: Duration,
}

impl Submit<'_> {
    /// Queues `apps`, whose places in discovery's order start at `first`. Applications discovery
    /// could not resolve are skipped; the chart folders and value files are hashed once per call.
    pub fn apps(&mut self, first: usize, apps: Vec<Application>) {
        let mut keys = self.cache.map(|c| Keys::new(self.root, c.helm_version()));
        for (i, app) in apps.into_iter().enumerate() {
            let started = Instant::now();
            // A closed channel means the workers stopped (an interrupt): nothing is left to do.
            let _ = match plan(self.root, &app) {
                Ok(Some(render)) => {
                    let key = keys.as_mut().map(|k| k.key(&render));
                    let order = first + i;
                    self.jobs
                        .send(Job {
                            order,
                            app,
                            render,
                            key,
                        })
                        .map_err(drop)
                }
                Ok(None) => Ok(()),
                Err(problem) => self.done.send((first + i, app, Err(problem))).map_err(drop),
            };
            self.waited += started.elapsed();
        }
    }
}

/// What [`pool`] did besides what its producer returned.
pub struct Pooled {
    /// How many times helm ran.
    pub helm_runs: usize,
    /// The time the caller's thread spent on the renders: waiting for room in the queue, then for
    /// the last renders once the producer was done.
    pub renders: Duration,
}

/// Runs `produce` with a pool of render workers, one per core, that lasts as long as it does:
/// `produce` hands Applications to [`Submit::apps`] while the workers render the ones before, so
/// that discovery of the next Applications overlaps with the renders of the last. Each result
/// goes to `on_each` (on a thread of its own, in no particular order): the manifests, or the
/// problem at the file at fault.
///
/// With a `cache`, a render whose inputs are unchanged since it was last stored is read from it
/// instead of running helm, and every new successful render is stored as it arrives. Results flow
/// through a channel holding at most one per worker, so memory does not grow with the number of
/// Applications: a slow `on_each` holds the renders back instead of piling them up.
pub fn pool<R>(
    sh: &Shell,
    helm: &Path,
    root: &Path,
    cache: Option<&Cache>,
    mut on_each: impl FnMut(usize, &Application, Result<String, Problem>) + Send,
    produce: impl FnOnce(&mut Submit) -> R,
) -> (R, Pooled) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = sh.current_dir();
    let helm_runs = AtomicUsize::new(0);
    let (jobs, queue) = mpsc::sync_channel::<Job>(2 * workers);
    let queue = Mutex::new(queue);
    let (done, finished) = mpsc::sync_channel::<Done>(workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done = done.clone();
            let (queue, dir, helm_runs) = (&queue, &dir, &helm_runs);
            scope.spawn(move || {
                let sh = Shell::new().expect("a shell");
                sh.change_dir(dir);
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = next else {
                        break;
                    };
                    // After Ctrl-C helm's children die too, and their failures are no findings:
                    // the queue is drained without rendering until the producer stops.
                    if crate::interrupt::is_set() {
                        continue;
                    }
                    let cached = match (cache, &job.key) {
                        (Some(cache), Some(key)) => cache.get(What::Render, key),
                        _ => None,
                    };
                    let result = match cached {
                        Some(manifests) => Ok(manifests),
                        None => {
                            helm_runs.fetch_add(1, Ordering::Relaxed);
                            let result = helm::template(&sh, helm, &job.render);
                            if let (Some(cache), Some(key), Ok(manifests)) =
                                (cache, &job.key, &result)
                            {
                                cache.put(What::Render, key, manifests);
                            }
                            result
                        }
                    };
                    let result = result.map_err(|err| problem(root, &job.app, &err));
                    if done.send((job.order, job.app, result)).is_err() {
                        break;
                    }
                }
            });
        }
        let collector = scope.spawn(move || {
            for (order, app, result) in finished {
                on_each(order, &app, result);
            }
        });
        let mut submit = Submit {
            root,
            cache,
            jobs,
            done,
            waited: Duration::ZERO,
        };
        let produced = produce(&mut submit);
        let waited = submit.waited;
        // Closing the queue lets the workers finish what is in it and stop.
        drop(submit);
        let draining = Instant::now();
        collector.join().expect("the collector does not panic");
        let renders = waited + draining.elapsed();
        (
            produced,
            Pooled {
                helm_runs: helm_runs.load(Ordering::Relaxed),
                renders,
            },
        )
    })
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
