//! `cargo xtask test`: provisions the pinned tools, then runs every test.
//! STUB: to be written.

use anyhow::Result;
use xshell::Shell;

#[derive(clap::Args)]
pub struct Flags {}

pub fn run(_sh: &Shell, _flags: &Flags) -> Result<()> {
    anyhow::bail!("not yet")
}
