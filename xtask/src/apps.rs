//! `cargo xtask apps`: the Applications Argo CD will generate, as offline discovery computes them.
//! STUB: to be written.

use anyhow::Result;
use xshell::Shell;

#[derive(clap::Args, Debug)]
pub struct Flags {}

pub fn run(_sh: &Shell, _flags: &Flags) -> Result<()> {
    anyhow::bail!("not yet")
}
