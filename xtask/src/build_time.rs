//! `cargo xtask build-time`: how long the xtask takes to build from nothing (a fresh target
//! directory; the dependencies are fetched first, so downloads do not count) and again after a
//! change to one of its files. The machine's load average stands beside each figure: on a busy
//! machine both are longer, and a figure without it cannot be compared.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

#[derive(clap::Args, Debug)]
pub struct Flags {}

/// One timed build.
struct Build {
    took: Duration,
    load_before: String,
    load_after: String,
}

pub fn run(sh: &Shell, _flags: &Flags) -> Result<()> {
    eprintln!("[1/3] cargo fetch --locked (not timed)");
    cmd!(sh, "cargo fetch --locked")
        .quiet()
        .run()
        .context("fetching the dependencies")?;
    let temp = sh
        .create_temp_dir()
        .context("creating a temporary target directory")?;
    eprintln!("[2/3] cold build into a fresh target directory");
    let cold = build(sh, temp.path())?;
    // A new modification time is a change to cargo: the crate is compiled again, its
    // dependencies are not.
    let touched = sh.current_dir().join("xtask/src/main.rs");
    std::fs::File::options()
        .append(true)
        .open(&touched)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .with_context(|| format!("touching {}", touched.display()))?;
    eprintln!("[3/3] incremental build after touching xtask/src/main.rs");
    let incremental = build(sh, temp.path())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (what, b) in [("cold", &cold), ("incremental", &incremental)] {
        println!(
            "{what:<12} {:>6.1} s   load average {} before, {} after ({cores} cores)",
            b.took.as_secs_f64(),
            b.load_before,
            b.load_after
        );
    }
    Ok(())
}

fn build(sh: &Shell, target: &Path) -> Result<Build> {
    let load_before = load_average();
    let started = Instant::now();
    cmd!(
        sh,
        "cargo build --package xtask --locked --target-dir {target}"
    )
    .quiet()
    .run()
    .context("building the xtask")?;
    Ok(Build {
        took: started.elapsed(),
        load_before,
        load_after: load_average(),
    })
}

/// The 1-minute load average (`/proc/loadavg`), or "unknown" off Linux.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
