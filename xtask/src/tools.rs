//! Pinned tools (SPEC section 9): helm 3 and 4, gh, actionlint, zizmor.
//! STUB: to be written.

use std::path::PathBuf;

use anyhow::Result;
use xshell::Shell;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Helm3,
    Helm4,
    Gh,
    Actionlint,
    Zizmor,
}

#[derive(clap::Args)]
pub struct Flags {
    /// Provision only this tool and print its path.
    #[arg(long)]
    pub path: Option<Tool>,
}

pub fn run(_sh: &Shell, _flags: &Flags) -> Result<()> {
    anyhow::bail!("not yet")
}

/// The helm to use: $AMEIDE_HELM, else `helm` on PATH, else the pinned default, provisioned.
pub fn helm(_sh: &Shell) -> Result<PathBuf> {
    Ok(PathBuf::from(std::env::var_os("AMEIDE_HELM").unwrap_or_else(|| "helm".into())))
}
