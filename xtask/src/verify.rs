//! `cargo xtask verify`: the pre-merge gate.
//! STUB: to be written.

pub mod appset;
pub mod problem;
pub mod rules;

use anyhow::Result;
use xshell::Shell;

#[derive(clap::Args, Debug)]
pub struct Flags {}

pub fn run(_sh: &Shell, _flags: &Flags) -> Result<()> {
    anyhow::bail!("not yet")
}
