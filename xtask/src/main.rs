//! The xtask of ameide-gitops: the one authoritative writer of primitive wiring, the pre-merge gate,
//! and the tools they need.
//!
//! `cargo xtask scaffold-primitive` writes the wiring of a new primitive (or opens a pull request
//! with it, or dispatches the workflow that does), `cargo xtask verify` proves what Argo CD will
//! generate from the tree, `cargo xtask apps` lists it, `cargo xtask test` runs every test with
//! pinned tools, and `cargo xtask bench` measures how verify scales. See README.md.

mod apps;
mod argo;
mod bench;
mod clusters;
mod exit;
mod gh;
mod git;
mod helm;
mod interrupt;
mod kube;
mod layout;
mod lifecycle;
mod primitive;
mod scaffold;
mod test_suite;
mod tools;
mod verify;
mod workflows;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use xshell::Shell;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "ameide-gitops: scaffold, verify, test",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write (or propose) the GitOps wiring of a new primitive.
    ScaffoldPrimitive(Box<scaffold::Flags>),
    /// Enable a primitive in one env with a digest-pinned image.
    EnablePrimitive(Box<lifecycle::EnableFlags>),
    /// Disable a primitive in one env.
    DisablePrimitive(Box<lifecycle::DisableFlags>),
    /// Enable in one env the image enabled in another.
    PromotePrimitive(Box<lifecycle::PromoteFlags>),
    /// Delete every file of a primitive (its Applications go with them).
    RetirePrimitive(Box<lifecycle::RetireFlags>),
    /// Rewrite generated files to what today's generator writes, keeping owned values.
    UpgradeWiring(Box<lifecycle::UpgradeFlags>),
    /// The pre-merge gate: every convention, offline discovery, every Application rendered.
    Verify(verify::Flags),
    /// List the Applications the ApplicationSets will generate.
    Apps(apps::Flags),
    /// Lint the GitHub workflows with actionlint and zizmor (pinned).
    LintWorkflows(workflows::Flags),
    /// Run the whole test suite with pinned tools.
    Test(test_suite::Flags),
    /// Provision the pinned tools (helm, gh, actionlint, zizmor) into .tools/.
    Tools(tools::Flags),
    /// Measure how verify scales on a synthetic repository of N primitives (not a test).
    Bench(bench::Flags),
}

fn main() {
    interrupt::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit_on_bad_flags(err),
    };
    let code = match run(cli) {
        Ok(()) => 0,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<()> {
    let sh = Shell::new()?;
    let root = project_root(&sh.current_dir())?;
    sh.change_dir(&root);
    match cli.command {
        Command::ScaffoldPrimitive(flags) => scaffold::run(&sh, &flags),
        Command::EnablePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::DisablePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::PromotePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::RetirePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::UpgradeWiring(flags) => lifecycle::run(&sh, &*flags),
        Command::Verify(flags) => verify::run(&sh, &flags),
        Command::Apps(flags) => apps::run(&sh, &flags),
        Command::LintWorkflows(flags) => workflows::run(&sh, &flags),
        Command::Test(flags) => test_suite::run(&sh, &flags),
        Command::Tools(flags) => tools::run(&sh, &flags),
        Command::Bench(flags) => bench::run(&sh, &flags),
    }
}

/// The repository root: the nearest ancestor of the current directory holding the ApplicationSets,
/// so that the same binary works in a checkout, a worktree or a test's temporary copy.
fn project_root(start: &Path) -> Result<PathBuf> {
    for dir in start.ancestors() {
        if dir.join(layout::APPSETS_DIR).is_dir() && dir.join("sources").is_dir() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "{} is not inside the ameide-gitops repository (no {} above it); run cargo xtask from the checkout",
        start.display(),
        layout::APPSETS_DIR
    )
}

/// clap's own errors exit 2 like every invalid input; with `--json` they are reported as JSON too,
/// so that a caller parsing stdout always gets one object.
fn exit_on_bad_flags(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let wants_json = std::env::args().any(|a| a == "--json");
    let is_usage = !matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if wants_json && is_usage {
        let text = err.to_string();
        let message = text.split("\n\nUsage:").next().unwrap_or_default();
        let message = message
            .split("\n\nFor more information")
            .next()
            .unwrap_or_default();
        let message = message.trim().trim_start_matches("error: ");
        scaffold::print_invalid_json(message);
        std::process::exit(exit::Code::Invalid as i32);
    }
    err.exit()
}
