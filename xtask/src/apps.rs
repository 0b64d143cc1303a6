//! `cargo xtask apps`: the Applications Argo CD will generate, as offline discovery computes them:
//! name, env, namespace, chart, value files (present or missing), and `enabled` as the value
//! layers resolve it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;
use xshell::Shell;

use crate::argo::{self, Application};
use crate::exit;
use crate::tools;
use crate::verify;

#[derive(clap::Args, Debug)]
pub struct Flags {
    /// Only the Applications of this env.
    #[arg(long)]
    pub env: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One listed Application.
#[derive(Debug)]
pub struct Row {
    pub app: Application,
    /// (repository path, present) in layer order.
    pub value_files: Vec<(String, bool)>,
    /// `enabled` after the chart's defaults and the existing value files; `None` when unset.
    pub enabled: Option<serde_yaml::Value>,
}

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let root = sh.current_dir();
    let helm = tools::helm(sh)?;
    let discovery = argo::discover(sh, &helm, &root)?;
    crate::interrupt::check("listing")?;
    let apps = verify::select_env(&root, &discovery.applications, flags.env.as_deref())?;
    let rows: Vec<Row> = apps.into_iter().map(|app| row(&root, app)).collect();
    if flags.json {
        println!("{}", json(&rows, &discovery));
    } else {
        print!("{}", text(&rows, &discovery));
        for problem in &discovery.problems {
            eprintln!("{problem}");
        }
    }
    match discovery.problems.len() {
        0 => Ok(()),
        _ if flags.json => Err(exit::Silenced(1).into()),
        n => anyhow::bail!(
            "discovery found {n} problem{}, so Argo CD would not generate exactly these Applications; run cargo xtask verify",
            if n == 1 { "" } else { "s" }
        ),
    }
}

fn row(root: &Path, app: Application) -> Row {
    let value_files = app
        .value_files
        .iter()
        .map(|f| (f.clone(), root.join(f).is_file()))
        .collect();
    let enabled = verify::effective_values(root, &app)
        .get("enabled")
        .filter(|v| !v.is_null())
        .cloned();
    Row {
        app,
        value_files,
        enabled,
    }
}

fn show(value: &Option<serde_yaml::Value>) -> String {
    match value {
        None => "unset".to_owned(),
        Some(serde_yaml::Value::Bool(b)) => b.to_string(),
        Some(other) => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

fn text(rows: &[Row], discovery: &argo::Discovery) -> String {
    let mut out = String::new();
    for row in rows {
        let app = &row.app;
        let _ = writeln!(
            out,
            "{}  env={} namespace={} enabled={}",
            app.name,
            app.env,
            app.namespace,
            show(&row.enabled)
        );
        let _ = writeln!(out, "  chart  {}", app.chart);
        for (i, (file, present)) in row.value_files.iter().enumerate() {
            let label = if i == 0 { "values" } else { "" };
            let missing = if *present { "" } else { "  (missing)" };
            let _ = writeln!(out, "  {label:<6} {file}{missing}");
        }
    }
    let _ = writeln!(
        out,
        "{} Application{} from {} ApplicationSet{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        discovery.appsets.len(),
        if discovery.appsets.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    out
}

fn json(rows: &[Row], discovery: &argo::Discovery) -> serde_json::Value {
    let applications: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let app = &row.app;
            json!({
                "name": app.name,
                "env": app.env,
                "namespace": app.namespace,
                // The Helm release is the component name (SPEC section 4).
                "component": app.release,
                "componentFile": app.component_file,
                "appset": app.appset,
                "chart": app.chart,
                "valueFiles": row.value_files.iter().map(|(path, present)| json!({
                    "path": path,
                    "present": present,
                })).collect::<Vec<_>>(),
                "enabled": row.enabled.as_ref().map_or(serde_json::Value::Null, |v| {
                    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
                }),
                "labels": app.labels,
                "manifest": app.manifest(),
            })
        })
        .collect();
    json!({
        "applications": applications,
        "problems": discovery.problems.iter().map(|p| json!({
            "path": p.path,
            "line": p.line,
            "rule": p.rule,
            "message": p.message,
        })).collect::<Vec<_>>(),
    })
}
