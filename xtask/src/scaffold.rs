//! `cargo xtask scaffold-primitive`.
use anyhow::Result;
use xshell::Shell;

#[derive(clap::Args)]
pub struct Flags {}

pub fn run(_sh: &Shell, _flags: &Flags) -> Result<()> {
    Ok(())
}
