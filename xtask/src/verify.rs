//! `cargo xtask verify`: the pre-merge gate.
//!
//! It computes offline which Applications the ApplicationSets generate ([`appset`]), checks every
//! convention of the tree against them ([`rules`]), and renders each Application with helm exactly
//! as Argo CD would ([`render`]), checking the output too. Every problem is printed, then the run
//! fails once: exit 1 when there is any, 0 when the tree is clean.

pub mod appset;
pub mod problem;
pub mod render;
pub mod rules;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;
use xshell::Shell;

use crate::clusters;
use crate::exit;
use crate::tools;

use appset::Application;
use problem::Problem;

#[derive(clap::Args, Debug)]
pub struct Flags {
    /// human (`path:line: rule: message`), github (workflow annotations) or json.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Render only the Applications of this env (the conventions are still checked everywhere).
    #[arg(long)]
    pub env: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Github,
    Json,
}

/// What one run found.
#[derive(Debug)]
pub struct Report {
    pub applications: Vec<String>,
    pub appsets: usize,
    pub rendered: usize,
    pub problems: Vec<Problem>,
}

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let format = if flags.json {
        Format::Json
    } else {
        flags.format
    };
    let root = sh.current_dir();
    let helm = tools::helm(sh)?;
    let discovery = appset::discover(sh, &helm, &root)?;
    let apps = select_env(&root, &discovery.applications, flags.env.as_deref())?;

    let mut problems = discovery.problems;
    problems.extend(conventions::check(&root, &discovery.applications));
    let mut rendered = 0;
    let mut failed = Vec::new();
    render::render_all(sh, &helm, &root, &apps, |app, result| match result {
        Ok(manifests) => {
            rendered += 1;
            problems.extend(conventions::check_rendered(app, &manifests));
        }
        Err(problem) => failed.push((problem, app.name.clone())),
    });
    crate::interrupt::check("reporting")?;
    // Renders finish in any order; name the Applications in discovery's.
    failed.sort_by_key(|(_, name)| apps.iter().position(|a| a.name == *name));
    problems.extend(render::group_by_application(failed));
    problems.sort();
    problems.dedup();
    let report = Report {
        applications: apps.iter().map(|a| a.name.clone()).collect(),
        appsets: discovery.appsets.len(),
        rendered,
        problems,
    };

    match format {
        Format::Human => print!("{}", human(&report)),
        Format::Github => print!("{}", github(&report)),
        Format::Json => println!("{}", json(&report)),
    }
    match (report.problems.len(), format) {
        (0, _) => Ok(()),
        (_, Format::Json) => Err(exit::Silenced(1).into()),
        (n, _) => anyhow::bail!(
            "verify found {}; fix {} and run cargo xtask verify again",
            count(n, "problem"),
            if n == 1 { "it" } else { "them" }
        ),
    }
}

/// The Applications of `env` (all of them without one); an env no cluster file knows is refused.
pub fn select_env(
    root: &Path,
    apps: &[Application],
    env: Option<&str>,
) -> Result<Vec<Application>> {
    let Some(env) = env else {
        return Ok(apps.to_vec());
    };
    let mut known: Vec<String> = clusters::appset_envs(root)
        .map(|envs| envs.into_iter().map(|c| c.env).collect())
        .unwrap_or_default();
    for app in apps {
        if !known.contains(&app.env) && !app.env.is_empty() {
            known.push(app.env.clone());
        }
    }
    if !known.iter().any(|k| k == env) {
        return Err(exit::invalid(format!(
            "--env {env:?}: no ApplicationSet generates Applications for it; use one of {}",
            known.join(", ")
        )));
    }
    Ok(apps.iter().filter(|a| a.env == env).cloned().collect())
}

fn summary(report: &Report) -> String {
    format!(
        "verify: {} from {}, {} rendered, {}",
        count(report.applications.len(), "Application"),
        count(report.appsets, "ApplicationSet"),
        report.rendered,
        count(report.problems.len(), "problem")
    )
}

fn human(report: &Report) -> String {
    let mut out = String::new();
    for problem in &report.problems {
        let _ = writeln!(out, "{problem}");
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// GitHub workflow annotations, one per problem, then the summary.
fn github(report: &Report) -> String {
    let mut out = String::new();
    for p in &report.problems {
        let _ = writeln!(
            out,
            "::error file={},line={},title={}::{}",
            escape_property(&p.path),
            p.line.max(1),
            escape_property(p.rule),
            escape_data(&p.message)
        );
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn json(report: &Report) -> serde_json::Value {
    json!({
        "applications": report.applications,
        "problems": report.problems.iter().map(|p| json!({
            "path": p.path,
            "line": p.line,
            "rule": p.rule,
            "message": p.message,
        })).collect::<Vec<_>>(),
        "rendered": report.rendered,
        "ok": report.problems.is_empty(),
    })
}

/// The escaping of workflow command data (GitHub's `escapeData`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of workflow command properties (GitHub's `escapeProperty`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The convention rules of `rules.rs`, behind one seam.
mod conventions {
    use std::path::Path;

    use super::{Application, Problem};

    pub fn check(root: &Path, apps: &[Application]) -> Vec<Problem> {
        super::rules::check(root, apps)
    }

    pub fn check_rendered(app: &Application, manifests: &str) -> Vec<Problem> {
        super::rules::check_rendered(app, manifests)
    }

    /// The values helm renders `app` with: the chart's defaults, then the existing value files.
    pub fn effective_values(root: &Path, app: &Application) -> serde_yaml::Value {
        super::rules::effective_values(root, app)
    }
}

pub use conventions::effective_values;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(problems: Vec<Problem>) -> Report {
        Report {
            applications: vec!["dev-a".into(), "staging-a".into()],
            appsets: 1,
            rendered: 2,
            problems,
        }
    }

    #[test]
    fn human_output_lists_problems_then_one_summary_line() {
        let r = report(vec![Problem::new("a/b.yaml", 3, "rule-x", "bad: fix it")]);
        assert_eq!(
            human(&r),
            "a/b.yaml:3: rule-x: bad: fix it\nverify: 2 Applications from 1 ApplicationSet, 2 rendered, 1 problem\n"
        );
        assert_eq!(
            human(&report(Vec::new())),
            "verify: 2 Applications from 1 ApplicationSet, 2 rendered, 0 problems\n"
        );
    }

    #[test]
    fn github_annotations_escape_properties_and_data() {
        let r = report(vec![Problem::new(
            "a,b:c.yaml",
            0,
            "rule-x",
            "50% off\nsecond line",
        )]);
        assert_eq!(
            github(&r).lines().next().unwrap(),
            "::error file=a%2Cb%3Ac.yaml,line=1,title=rule-x::50%25 off%0Asecond line"
        );
    }

    #[test]
    fn json_output_has_the_documented_shape() {
        let r = report(vec![Problem::new("p.yaml", 2, "r", "m")]);
        assert_eq!(
            json(&r),
            json!({
                "applications": ["dev-a", "staging-a"],
                "problems": [{"path": "p.yaml", "line": 2, "rule": "r", "message": "m"}],
                "rendered": 2,
                "ok": false,
            })
        );
    }
}
