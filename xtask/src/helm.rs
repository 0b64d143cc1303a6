//! The one module that calls helm: `helm template` exactly as Argo CD runs it for an Application.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

/// One `helm template` invocation.
#[derive(Clone, Debug)]
pub struct Render {
    pub release: String,
    pub namespace: String,
    /// The chart directory.
    pub chart: PathBuf,
    /// Existing value files, in layer order (Argo CD skips the missing ones).
    pub value_files: Vec<PathBuf>,
    /// `--set-string key=value` pairs applied after the files, for simulations.
    pub set_strings: Vec<(String, String)>,
    /// `--set key=value` pairs (typed), applied after the files.
    pub sets: Vec<(String, String)>,
}

/// Runs `helm template` and returns the manifests, or an error carrying helm's own message.
pub fn template(sh: &Shell, helm: &Path, render: &Render) -> Result<String> {
    let Render {
        release,
        namespace,
        chart,
        ..
    } = render;
    let mut args: Vec<String> = Vec::new();
    for file in &render.value_files {
        args.push("--values".to_owned());
        args.push(file.display().to_string());
    }
    for (key, value) in &render.sets {
        args.push("--set".to_owned());
        args.push(format!("{key}={value}"));
    }
    for (key, value) in &render.set_strings {
        args.push("--set-string".to_owned());
        args.push(format!("{key}={value}"));
    }
    let output = cmd!(
        sh,
        "{helm} template {release} {chart} --namespace {namespace} {args...}"
    )
    .quiet()
    .ignore_status()
    .output()
    .with_context(|| {
        format!(
            "running {}: is helm installed? (set AMEIDE_HELM to its path)",
            helm.display()
        )
    })?;
    if !output.status.success() {
        return Err(Failed {
            release: release.clone(),
            // helm quotes values in its errors (`fail`, `required`, a bad YAML line): never print
            // a credential it quotes.
            stderr: crate::verify::rules::secrets::redact(
                String::from_utf8_lossy(&output.stderr).trim(),
            ),
        }
        .into());
    }
    String::from_utf8(output.stdout).context("helm printed non-UTF-8 output")
}

/// A `helm template` that ran and failed, with helm's own message, for callers that point at the
/// file it names.
#[derive(Debug)]
pub struct Failed {
    pub release: String,
    pub stderr: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "helm template {} failed: {}", self.release, self.stderr)
    }
}

impl std::error::Error for Failed {}

/// The documents of a multi-document YAML stream, without the empty ones.
pub fn documents(manifests: &str) -> Result<Vec<crate::yaml::Value>> {
    let mut docs = Vec::new();
    for document in crate::yaml::Deserializer::from_str(manifests) {
        let value =
            serde::Deserialize::deserialize(document).context("helm output is not valid YAML")?;
        if !matches!(value, crate::yaml::Value::Null) {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// `helm version --short`, e.g. `v3.17.3+ge4da497`; for a provisioned helm, remembered beside it
/// ([`crate::tools::remembered`]): asking cost every verify and scaffold a helm run.
pub fn version(sh: &Shell, helm: &Path) -> Result<String> {
    crate::tools::remembered(helm, "version", || {
        let out = cmd!(sh, "{helm} version --short")
            .quiet()
            .read()
            .with_context(|| format!("running {} version", helm.display()))?;
        Ok(out.trim().to_owned())
    })
}
