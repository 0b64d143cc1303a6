//! Ctrl-C (SIGINT/SIGTERM) must not leave half a change behind: the handler only raises a flag,
//! the run stops at its next safe point, and the usual error path removes temporary worktrees and
//! staged files. Nothing is written to the tree or pushed after the flag is up.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler; a second installation attempt (tests) is harmless.
pub fn install() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails when an interrupt arrived, naming the step that was about to start.
pub fn check(next_step: &str) -> Result<()> {
    if is_set() {
        anyhow::bail!("interrupted before {next_step}; nothing was changed");
    }
    Ok(())
}
