//! `cargo xtask lint-workflows`: actionlint and zizmor (pinned) over `.github/workflows`.

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

use crate::tools;

pub const WORKFLOWS_DIR: &str = ".github/workflows";

#[derive(clap::Args, Debug)]
pub struct Flags {}

pub fn run(sh: &Shell, _flags: &Flags) -> Result<()> {
    let mut files: Vec<String> = sh
        .read_dir(WORKFLOWS_DIR)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no workflow files under {WORKFLOWS_DIR}");
    }
    let actionlint = tools::actionlint(sh)?;
    let zizmor = tools::zizmor(sh)?;
    let count = files.len();
    let mut failed = Vec::new();
    eprintln!("actionlint {}", files.join(" "));
    let paths = files.clone();
    if cmd!(sh, "{actionlint} -no-color {paths...}")
        .quiet()
        .run()
        .is_err()
    {
        failed.push("actionlint");
    }
    // --offline: the audits that need the GitHub API cannot run here, and must not need a token.
    // The auditor persona: every finding, informational ones too (docs/threat-model.md).
    eprintln!("zizmor --offline --persona auditor {WORKFLOWS_DIR}");
    if cmd!(
        sh,
        "{zizmor} --offline --persona auditor --no-progress {WORKFLOWS_DIR}"
    )
    .quiet()
    .run()
    .is_err()
    {
        failed.push("zizmor");
    }
    if !failed.is_empty() {
        bail!(
            "{} found problems in the workflows (see above); fix them and re-run",
            failed.join(" and ")
        );
    }
    println!("workflows clean: actionlint and zizmor found nothing in {count} files");
    Ok(())
}
