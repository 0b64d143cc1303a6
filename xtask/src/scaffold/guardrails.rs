//! Guardrails: the Applications Argo CD will generate from the new component files, found by
//! discovery ([`crate::argo`]) in a scratch copy of the tree with the generated files laid over
//! it, each rendered with `helm template` exactly as Argo CD will render it (the release name,
//! namespace and value files the ApplicationSet gives it), as generated and with enabling
//! simulated, with the output parsed and checked.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::yaml::Value;
use anyhow::Result;
use xshell::Shell;

use crate::argo::{self, render_plan};
use crate::helm;
use crate::layout;
use crate::primitive::{OverLimit, Primitive, MAX_NAME_LEN, MAX_RELEASE_LEN};
use crate::verify::cache;

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
    /// The Applications the new component files generate, as discovery finds them.
    pub applications: Vec<argo::Application>,
    /// Time spent inside helm, summed over renders (they run in parallel).
    pub helm_time: Duration,
    /// Wall time of the render phase: what the helm renders alone cost this run.
    pub render_wall: Duration,
    pub renders: usize,
}

/// The change to check: the tree, and the generated files staged (at their repository paths)
/// under `staging`.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub staging: &'a Path,
    /// Repository paths of the generated files present under `staging`.
    pub generated: &'a [String],
}

pub struct Target<'a> {
    pub primitive: &'a Primitive,
    pub with_smoke: bool,
    /// The env whose overlay is written; the enabling simulation runs there (else in the first env).
    pub env: Option<&'a str>,
    /// The image when `--enable` was given.
    pub enabled_image: Option<&'a str>,
    /// The smoke's image where its own overlay enables it (in `env`).
    pub smoke_image: Option<&'a str>,
}

/// Lays the generated files over a scratch copy of the tree, asks [`argo`] which Applications
/// Argo CD will generate from the new component files there, and renders exactly those, with
/// the value files and release names the ApplicationSet gives them.
pub fn run(sh: &Shell, helm: &Path, sources: &Sources, target: &Target) -> Result<Outcome> {
    let planned: Vec<(String, PathBuf)> = sources
        .generated
        .iter()
        .map(|path| (path.clone(), sources.staging.join(path)))
        .collect();
    // What verify rendered before spares discovery its helm runs; the scaffolder writes no entry.
    let cache = cache::trusted(sh, sources.root, helm)?.map(cache::Cache::read_only);
    let preview = argo::preview(sh, helm, sources.root, &planned, cache.as_ref())?;
    let Plan {
        checks,
        mut guardrails,
        applications,
    } = plan(&preview, sources, target);
    let started = Instant::now();
    let results = run_parallel(sh, helm, &checks);
    let mut outcome = Outcome {
        guardrails: Vec::new(),
        applications,
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
    outcome.guardrails.append(&mut guardrails);
    Ok(outcome)
}

/// The renders to run, the guardrails that failed before any render, and the names of the
/// Applications the new component files generate, in Argo CD's order.
struct Plan {
    checks: Vec<Check>,
    guardrails: Vec<Guardrail>,
    applications: Vec<argo::Application>,
}

fn plan(preview: &argo::Preview, sources: &Sources, target: &Target) -> Plan {
    let p = target.primitive;
    let mut components = vec![(layout::primitive_component_file(&p.id()), false)];
    if target.with_smoke {
        components.push((layout::primitive_component_file(&p.smoke_id()), true));
    }
    let failed = |name: String, detail: String| Guardrail {
        name,
        status: Status::Failed,
        detail,
    };
    let mut out = Plan {
        checks: Vec::new(),
        guardrails: Vec::new(),
        applications: Vec::new(),
    };
    let discovery = &preview.discovery;
    for problem in &discovery.problems {
        if sources.generated.contains(&problem.path) {
            out.guardrails.push(failed(
                format!("discovery of {}", problem.path),
                problem.to_string(),
            ));
        }
    }
    let ours = |file: &str| components.iter().find(|(f, _)| f == file);
    let apps: Vec<&argo::Application> = discovery
        .applications
        .iter()
        .filter(|app| ours(&app.component_file).is_some())
        .collect();
    for (file, _) in &components {
        if !apps.iter().any(|app| &app.component_file == file) {
            out.guardrails.push(failed(
                format!("discovery of {file}"),
                "the ApplicationSets generate no Application from it, so Argo CD would deploy nothing".to_owned(),
            ));
        }
    }
    let simulate_env = target
        .env
        .or_else(|| apps.first().map(|app| app.env.as_str()));
    for app in apps {
        out.applications.push(app.clone());
        let smoke = ours(&app.component_file).is_some_and(|(_, smoke)| *smoke);
        let render = match render_plan::plan(preview.dir.path(), app) {
            Ok(Some(render)) => render,
            Ok(None) => continue, // discovery's problem says why; reported above.
            Err(problem) => {
                out.guardrails.push(failed(
                    format!("helm template {} (as generated)", app.name),
                    problem.message,
                ));
                continue;
            }
        };
        let image_here = if smoke {
            target.smoke_image
        } else {
            target.enabled_image
        };
        let enabled_here = image_here.is_some() && target.env == Some(app.env.as_str());
        let as_generated = match (enabled_here, smoke) {
            (false, _) => Expect::Marker,
            (true, true) => Expect::SmokeJobs,
            (true, false) => Expect::Primitive {
                image: image_here.unwrap_or_default().to_owned(),
            },
        };
        out.checks.push(Check {
            name: format!("helm template {} (as generated)", app.name),
            render: render.clone(),
            expect: as_generated,
        });
        if simulate_env == Some(app.env.as_str()) {
            let image = image_here.unwrap_or(PLACEHOLDER_IMAGE);
            let mut enabled = render;
            enabled.sets.push(("enabled".to_owned(), "true".to_owned()));
            enabled
                .set_strings
                .push(("image.ref".to_owned(), image.to_owned()));
            out.checks.push(Check {
                name: format!("helm template {} (enabled simulated)", app.name),
                render: enabled,
                expect: if smoke {
                    Expect::SmokeJobs
                } else {
                    Expect::Primitive {
                        image: image.to_owned(),
                    }
                },
            });
        }
    }
    out
}

/// Notes in `over` every name discovery gave the new component's Applications that breaks its
/// limit: an Application name must be a DNS-1123 label of at most 63 characters, a Helm release
/// name at most 53.
pub fn check_names(apps: &[argo::Application], over: &mut OverLimit) {
    for app in apps {
        over.check("Application", &app.name, MAX_NAME_LEN);
        over.check("Helm release", &app.release, MAX_RELEASE_LEN);
    }
}

/// Runs the renders on as many threads as there are cores, keeping their order.
fn run_parallel(sh: &Shell, helm: &Path, checks: &[Check]) -> Vec<(Result<String>, Duration)> {
    crate::pool::map(sh, checks, |sh, check| {
        if crate::interrupt::is_set() {
            return (Err(anyhow::anyhow!("interrupted")), Duration::ZERO);
        }
        let started = Instant::now();
        (helm::template(sh, helm, &check.render), started.elapsed())
    })
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
