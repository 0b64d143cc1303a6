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
mod build_time;
mod clusters;
mod digest;
mod exit;
mod gh;
mod git;
mod helm;
mod interrupt;
mod kube;
mod layout;
mod lifecycle;
mod pool;
mod preview;
mod primitive;
mod repo_fs;
mod scaffold;
mod schema;
mod scratch;
mod test_suite;
mod tools;
mod verify;
mod workflows;
mod yaml;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use xshell::Shell;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
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
    /// What this change does in the cluster: Applications and objects added, removed, changed.
    Preview(preview::Flags),
    /// Lint the GitHub workflows with actionlint and zizmor (pinned).
    LintWorkflows(workflows::Flags),
    /// Run the whole test suite with pinned tools.
    Test(test_suite::Flags),
    /// Provision the pinned tools (helm, gh, actionlint, zizmor) into .tools/.
    Tools(tools::Flags),
    /// Measure how verify scales on a synthetic repository of N primitives (not a test).
    Bench(bench::Flags),
    /// Time a cold and an incremental build of the xtask, with the machine's load beside each.
    BuildTime(build_time::Flags),
}

fn main() {
    interrupt::install();
    exit::quiet_closed_pipes();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit_on_bad_flags(err),
    };
    let json = JsonReport::of(&cli.command);
    let wants_json = json.is_some();
    let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli, json))) {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            if !wants_json && running_in_actions() && !exit::is_silenced(&err) {
                println!("{}", annotation(&err));
            }
            let code = exit::report(&err);
            // A run a signal stopped exits 128 + its number (interrupt.rs), whatever failed then.
            interrupt::exit_code().unwrap_or(code)
        }
        Err(panic) if exit::is_closed_pipe(exit::panic_message(&*panic)) => exit::CLOSED_PIPE,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    std::process::exit(code);
}

fn run(cli: Cli, json: Option<JsonReport>) -> Result<()> {
    let sh = match shell_at_root() {
        Ok(sh) => sh,
        Err(err) => {
            if let Some(json) = &json {
                json.print_failure(&err);
            }
            return Err(err);
        }
    };
    let result = match cli.command {
        Command::ScaffoldPrimitive(flags) => scaffold::run(&sh, &flags),
        Command::EnablePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::DisablePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::PromotePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::RetirePrimitive(flags) => lifecycle::run(&sh, &*flags),
        Command::UpgradeWiring(flags) => lifecycle::run(&sh, &*flags),
        Command::Verify(flags) => verify::run(&sh, &flags),
        Command::Apps(flags) => apps::run(&sh, &flags),
        Command::Preview(flags) => preview::run(&sh, &flags),
        Command::LintWorkflows(flags) => workflows::run(&sh, &flags),
        Command::Test(flags) => test_suite::run(&sh, &flags),
        Command::Tools(flags) => tools::run(&sh, &flags),
        Command::Bench(flags) => bench::run(&sh, &flags),
        Command::BuildTime(flags) => build_time::run(&sh, &flags),
    };
    match (&result, &json) {
        // The scaffold reports its own failures, with what it had planned; a silenced failure's
        // report is printed already.
        (Err(err), Some(json)) if !json.prints_own_failures() && !exit::is_silenced(err) => {
            json.print_failure(err);
        }
        _ => {}
    }
    result
}

/// In a GitHub Actions job, a failure is also an error annotation, so that a refused workflow
/// input shows on the run's page and not only in the log.
fn running_in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

fn annotation(err: &anyhow::Error) -> String {
    let title = match exit::code_of(err) {
        2 => "invalid input",
        3 => "refused",
        4 => "guardrail failed",
        _ => "failed",
    };
    format!(
        "::error title={title}::{}",
        verify::escape_data(&format!("{err:#}"))
    )
}

fn shell_at_root() -> Result<Shell> {
    let sh = Shell::new()?;
    let root = project_root(&sh.current_dir())?;
    sh.change_dir(&root);
    Ok(sh)
}

/// The subcommands whose JSON report is the scaffold's.
const LIFECYCLE_VERBS: [&str; 6] = [
    "scaffold-primitive",
    "enable-primitive",
    "disable-primitive",
    "promote-primitive",
    "retire-primitive",
    "upgrade-wiring",
];

/// A subcommand asked for JSON: whatever happens, stdout then holds exactly one JSON object in
/// that subcommand's shape, also when the flags do not parse or there is no repository.
#[derive(Clone, Debug, PartialEq, Eq)]
enum JsonReport {
    /// The scaffold's report, also that of the lifecycle verbs (`command` names the verb).
    Scaffold {
        command: &'static str,
        component: String,
        dry_run: bool,
    },
    Verify,
    Apps,
    /// The preview's shape, of the base it was asked to compare with.
    Preview {
        base: String,
    },
}

impl JsonReport {
    fn of(command: &Command) -> Option<JsonReport> {
        match command {
            Command::ScaffoldPrimitive(flags) if flags.json => Some(JsonReport::Scaffold {
                command: "scaffold-primitive",
                component: scaffold::component_of(flags),
                dry_run: flags.dry_run,
            }),
            Command::Verify(flags) if flags.json || flags.format == verify::Format::Json => {
                Some(JsonReport::Verify)
            }
            Command::Apps(flags) if flags.json => Some(JsonReport::Apps),
            Command::Preview(flags) if flags.wants_json() => Some(JsonReport::Preview {
                base: flags.base.clone(),
            }),
            Command::EnablePrimitive(flags) => JsonReport::of_verb(&**flags),
            Command::DisablePrimitive(flags) => JsonReport::of_verb(&**flags),
            Command::PromotePrimitive(flags) => JsonReport::of_verb(&**flags),
            Command::RetirePrimitive(flags) => JsonReport::of_verb(&**flags),
            Command::UpgradeWiring(flags) => JsonReport::of_verb(&**flags),
            _ => None,
        }
    }

    /// A lifecycle verb reports in the scaffold's shape, naming itself.
    fn of_verb<V: lifecycle::Verb>(verb: &V) -> Option<JsonReport> {
        let common = verb.common();
        common.json.then(|| JsonReport::Scaffold {
            command: V::COMMAND,
            component: verb.subject(),
            dry_run: common.dry_run,
        })
    }

    /// From the raw arguments, for flags clap refused: the subcommand is the first word that is
    /// no flag, JSON is `--json` or `--format json` anywhere.
    fn of_args(args: &[String]) -> Option<JsonReport> {
        let wants_json = args.iter().any(|a| a == "--json" || a == "--format=json")
            || args
                .windows(2)
                .any(|w| w[0] == "--format" && w[1] == "json");
        if !wants_json {
            return None;
        }
        let verb = args.iter().find(|a| !a.starts_with('-'))?.as_str();
        if let Some(command) = LIFECYCLE_VERBS.iter().find(|v| **v == verb) {
            return Some(JsonReport::Scaffold {
                command,
                component: String::new(),
                dry_run: args.iter().any(|a| a == "--dry-run"),
            });
        }
        match verb {
            "verify" => Some(JsonReport::Verify),
            "apps" => Some(JsonReport::Apps),
            "preview" => Some(JsonReport::Preview {
                base: flag_value(args, "--base").unwrap_or(preview::model::DEFAULT_BASE.to_owned()),
            }),
            _ => None,
        }
    }

    fn prints_own_failures(&self) -> bool {
        matches!(self, JsonReport::Scaffold { .. })
    }

    fn print_failure(&self, err: &anyhow::Error) {
        match self {
            JsonReport::Scaffold {
                command,
                component,
                dry_run,
            } => scaffold::print_failure_json(command, component, err, *dry_run),
            JsonReport::Verify => println!("{}", verify::failure_json(err)),
            JsonReport::Apps => println!("{}", apps::failure_json(err)),
            JsonReport::Preview { base } => println!("{}", preview::failure_json(base, err)),
        }
    }
}

/// The value of `--flag VALUE` or `--flag=VALUE` in raw arguments.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .enumerate()
        .find_map(|(i, arg)| match arg.strip_prefix(flag)?.strip_prefix('=') {
            Some(value) => Some(value.to_owned()),
            None if arg == flag => args.get(i + 1).cloned(),
            None => None,
        })
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
/// in the subcommand's shape, so that a caller parsing stdout always gets one object; in a GitHub
/// Actions job they are an annotation too.
fn exit_on_bad_flags(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let is_usage = !matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if !is_usage {
        err.exit()
    }
    let text = err.to_string();
    let message = text.split("\n\nUsage:").next().unwrap_or_default();
    let message = message
        .split("\n\nFor more information")
        .next()
        .unwrap_or_default();
    let invalid = exit::invalid(message.trim().trim_start_matches("error: "));
    match JsonReport::of_args(&args) {
        Some(json) => json.print_failure(&invalid),
        None if running_in_actions() => println!("{}", annotation(&invalid)),
        None => err.exit(),
    }
    // Not clap's own exit, which would print to stdout for some kinds: the text goes to stderr.
    let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("{text}"));
    std::process::exit(exit::Code::Invalid as i32)
}
