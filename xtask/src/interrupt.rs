//! Ctrl-C (SIGINT) and SIGTERM (a CI cancel, `timeout`, `kill`) must not leave half a change
//! behind: the handler only records the signal, the run stops at its next safe point, and the
//! usual error path removes temporary worktrees and staged files. Nothing is written to the tree
//! or pushed after a signal arrived. The process then exits 128 + the signal's number, as a
//! shell reports a command the signal ended: 130 for SIGINT, 143 for SIGTERM.

use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Result;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The first signal that arrived, 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

fn record(signal: i32) {
    let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// Installs the handlers; a second installation attempt (tests) is harmless.
pub fn install() {
    let _ = ctrlc::set_handler(|| record(SIGINT));
    on_sigterm();
}

/// SIGTERM through `sigaction`: ctrlc treats it like SIGINT only with its `termination` feature
/// and then cannot tell the two apart, and the exit code must.
#[cfg(unix)]
fn on_sigterm() {
    extern "C" fn handler(_: libc::c_int) {
        // An atomic store is async-signal-safe.
        record(SIGTERM);
    }
    // SAFETY: the handler only stores to an atomic; the sigaction is fully initialised (zeroed,
    // then the handler and an empty mask set) before the call.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn on_sigterm() {}

pub fn is_set() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// The exit code of a run a signal stopped: 128 + its number (130 SIGINT, 143 SIGTERM).
pub fn exit_code() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(128 + signal),
    }
}

/// Fails when an interrupt arrived, naming the step that was about to start.
pub fn check(next_step: &str) -> Result<()> {
    if is_set() {
        anyhow::bail!("interrupted before {next_step}; nothing was changed");
    }
    Ok(())
}
