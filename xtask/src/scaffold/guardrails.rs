//! Guardrails: every generated component rendered with `helm template` exactly as Argo CD will
//! render it (release name, namespace, the six value layers in order, missing ones skipped), as
//! generated and with enabling simulated, with the output parsed and checked.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_yaml::Value;
use xshell::Shell;

use crate::clusters::Cluster;
use crate::helm;
use crate::layout;
use crate::primitive::Primitive;

/// The image the enabling simulation uses when no real one was given: `.invalid` never resolves.
pub const PLACEHOLDER_IMAGE: &str =
    "registry.invalid/ameide/guardrail-placeholder@sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Guardrail {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

/// What a component renders to when all is well.
#[derive(Clone, Debug)]
enum Expect {
    /// Only the `<release>-disabled` marker.
    Marker,
    /// The primitive resource carrying this image, and no marker.
    Primitive { image: String },
    /// The smoke Job as a PostSync hook, the checksum ConfigMap, and no marker.
    SmokeJobs,
}

/// One render to run and check.
#[derive(Clone, Debug)]
struct Check {
    name: String,
    render: helm::Render,
    expect: Expect,
}

pub struct Outcome {
    pub guardrails: Vec<Guardrail>,
    /// Time spent inside helm, summed over renders (they run in parallel).
    pub helm_time: Duration,
    /// Wall time of the render phase: what the helm renders alone cost this run.
    pub render_wall: Duration,
    pub renders: usize,
}

/// Where a layer's file comes from: the staging directory for generated files, else the tree.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub staging: &'a Path,
    /// Repository paths of the generated files present under `staging`.
    pub generated: &'a [String],
}

impl Sources<'_> {
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        if self.generated.iter().any(|g| g == path) {
            return Some(self.staging.join(path));
        }
        let in_tree = self.root.join(path);
        in_tree.is_file().then_some(in_tree)
    }
}

pub struct Target<'a> {
    pub primitive: &'a Primitive,
    pub with_smoke: bool,
    /// Every env the ApplicationSet generates Applications for.
    pub envs: &'a [Cluster],
    /// The env whose overlay is written; the enabling simulation runs there (else in the first env).
    pub env: Option<&'a str>,
    /// The image when `--enable` was given.
    pub enabled_image: Option<&'a str>,
    /// The smoke's image where its own overlay enables it (in `env`).
    pub smoke_image: Option<&'a str>,
}

pub fn run(sh: &Shell, helm: &Path, sources: &Sources, target: &Target) -> Result<Outcome> {
    let checks = plan(sources, target);
    let started = Instant::now();
    let results = run_parallel(sh, helm, &checks);
    let mut outcome = Outcome {
        guardrails: Vec::new(),
        helm_time: Duration::ZERO,
        render_wall: started.elapsed(),
        renders: checks.len(),
    };
    for (check, (result, took)) in checks.iter().zip(results) {
        outcome.helm_time += took;
        let guardrail =
            match result.and_then(|out| expect(&check.render.release, &check.expect, &out)) {
                Ok(detail) => Guardrail {
                    name: check.name.clone(),
                    status: Status::Passed,
                    detail,
                },
                Err(err) => Guardrail {
                    name: check.name.clone(),
                    status: Status::Failed,
                    detail: format!("{err:#}"),
                },
            };
        outcome.guardrails.push(guardrail);
    }
    Ok(outcome)
}

fn plan(sources: &Sources, target: &Target) -> Vec<Check> {
    let p = target.primitive;
    let simulate_env = target.env.unwrap_or_else(|| target.envs[0].env.as_str());
    let mut components = vec![(p.id(), layout::RAW_MANIFESTS_CHART, false)];
    if target.with_smoke {
        components.push((p.smoke_id(), layout::HELM_TEST_JOBS_CHART, true));
    }
    let mut checks = Vec::new();
    for (component, chart, smoke) in &components {
        for cluster in target.envs {
            let value_files = layout::value_layers(cluster, layout::PRIMITIVES_DOMAIN, component)
                .iter()
                .filter_map(|layer| sources.resolve(layer))
                .collect::<Vec<_>>();
            let render = helm::Render {
                release: component.clone(),
                namespace: cluster.namespace.clone(),
                chart: sources.root.join(chart),
                value_files,
                set_strings: Vec::new(),
                sets: Vec::new(),
            };
            let image_here = if *smoke {
                target.smoke_image
            } else {
                target.enabled_image
            };
            let enabled_here = image_here.is_some() && target.env == Some(cluster.env.as_str());
            let as_generated = match (enabled_here, *smoke) {
                (false, _) => Expect::Marker,
                (true, true) => Expect::SmokeJobs,
                (true, false) => Expect::Primitive {
                    image: image_here.unwrap_or_default().to_owned(),
                },
            };
            checks.push(Check {
                name: format!("helm template {}-{component} (as generated)", cluster.env),
                render: render.clone(),
                expect: as_generated,
            });
            if cluster.env == simulate_env {
                let image = image_here.unwrap_or(PLACEHOLDER_IMAGE);
                let mut enabled = render;
                enabled.sets.push(("enabled".to_owned(), "true".to_owned()));
                enabled
                    .set_strings
                    .push(("image.ref".to_owned(), image.to_owned()));
                checks.push(Check {
                    name: format!(
                        "helm template {}-{component} (enabled simulated)",
                        cluster.env
                    ),
                    render: enabled,
                    expect: if *smoke {
                        Expect::SmokeJobs
                    } else {
                        Expect::Primitive {
                            image: image.to_owned(),
                        }
                    },
                });
            }
        }
    }
    checks
}

/// Runs the renders on as many threads as there are cores, keeping their order.
fn run_parallel(sh: &Shell, helm: &Path, checks: &[Check]) -> Vec<(Result<String>, Duration)> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(checks.len().max(1));
    let dir = sh.current_dir();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new((0..checks.len()).map(|_| None).collect::<Vec<_>>());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let sh = Shell::new().expect("a shell");
                sh.change_dir(&dir);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(check) = checks.get(i) else { break };
                    if crate::interrupt::is_set() {
                        results.lock().expect("not poisoned")[i] =
                            Some((Err(anyhow::anyhow!("interrupted")), Duration::ZERO));
                        continue;
                    }
                    let started = Instant::now();
                    let result = helm::template(&sh, helm, &check.render);
                    results.lock().expect("not poisoned")[i] = Some((result, started.elapsed()));
                }
            });
        }
    });
    results
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|r| r.expect("every check ran"))
        .collect()
}

/// Checks a render against its expectation; returns a one-line description of what was seen.
fn expect(release: &str, expect: &Expect, manifests: &str) -> Result<String> {
    let docs = helm::documents(manifests)?;
    let marker = format!("{release}-disabled");
    let has_marker = docs
        .iter()
        .any(|d| kind_of(d) == "ConfigMap" && name_of(d) == marker);
    match expect {
        Expect::Marker => {
            let kinds: Vec<String> = docs
                .iter()
                .map(|d| format!("{}/{}", kind_of(d), name_of(d)))
                .collect();
            anyhow::ensure!(
                docs.len() == 1 && has_marker,
                "expected only the disabled marker ConfigMap {marker}, got [{}]",
                kinds.join(", ")
            );
            Ok(format!("only the disabled marker ConfigMap {marker}"))
        }
        Expect::Primitive { image } => {
            anyhow::ensure!(
                !has_marker,
                "the disabled marker {marker} is rendered although enabled"
            );
            let resource = docs
                .iter()
                .find(|d| d["apiVersion"].as_str() == Some("ameide.io/v1"))
                .ok_or_else(|| anyhow::anyhow!("no ameide.io/v1 primitive resource rendered"))?;
            let seen = resource["spec"]["image"].as_str().unwrap_or_default();
            anyhow::ensure!(
                seen == image,
                "the primitive resource carries image {seen:?}, expected {image:?}"
            );
            anyhow::ensure!(
                resource["metadata"].get("namespace").is_none(),
                "the primitive resource hard-codes metadata.namespace"
            );
            Ok(format!(
                "{} {} with image {image}",
                kind_of(resource),
                name_of(resource)
            ))
        }
        Expect::SmokeJobs => {
            anyhow::ensure!(
                !has_marker,
                "the disabled marker {marker} is rendered although enabled"
            );
            let jobs: Vec<&Value> = docs.iter().filter(|d| kind_of(d) == "Job").collect();
            anyhow::ensure!(!jobs.is_empty(), "no smoke Job rendered");
            for job in &jobs {
                let annotations = &job["metadata"]["annotations"];
                anyhow::ensure!(
                    annotations["argocd.argoproj.io/hook"].as_str() == Some("PostSync"),
                    "Job {} is not an Argo CD PostSync hook",
                    name_of(job)
                );
                anyhow::ensure!(
                    annotations["argocd.argoproj.io/hook-delete-policy"].as_str()
                        == Some("BeforeHookCreation,HookSucceeded"),
                    "Job {} lacks the hook-delete-policy BeforeHookCreation,HookSucceeded",
                    name_of(job)
                );
                anyhow::ensure!(
                    annotations.get("helm.sh/hook").is_none(),
                    "Job {} uses helm.sh/hook; smokes must be Argo CD hooks",
                    name_of(job)
                );
                anyhow::ensure!(
                    job["spec"]["backoffLimit"].as_u64().is_some(),
                    "Job {} has no explicit backoffLimit",
                    name_of(job)
                );
            }
            let names: Vec<&str> = jobs.iter().map(|j| name_of(j)).collect();
            Ok(format!("PostSync hook Job {}", names.join(", ")))
        }
    }
}

fn kind_of(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("?")
}

fn name_of(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("?")
}
