//! `cargo xtask test`: provisions the pinned tools, then runs every test with them, and the lints.
//!
//! The integration tests find the tools in `$AMEIDE_HELM3`, `$AMEIDE_HELM4`, `$AMEIDE_GH`,
//! `$AMEIDE_ACTIONLINT`, `$AMEIDE_ZIZMOR` and `$AMEIDE_GITHUB_OPENAPI`, so a plain `cargo test`
//! works too, provisioning through `cargo xtask tools --path` on first use.

use std::ffi::OsString;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::tools::{self, Tool};

#[derive(clap::Args)]
pub struct Flags {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    pub no_lint: bool,
    /// Passed on to `cargo test`, e.g. a test name filter: `cargo xtask test -- scaffold`.
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub cargo_test_args: Vec<OsString>,
}

/// The variable an integration test reads to find `tool`.
fn env_var(tool: Tool) -> String {
    format!("AMEIDE_{}", tool.name().to_uppercase().replace('-', "_"))
}

pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let mut envs = Vec::new();
    for (i, tool) in Tool::ALL.into_iter().enumerate() {
        let label = format!(
            "[{}/{}] {} {}",
            i + 1,
            Tool::ALL.len(),
            tool.command(),
            tool.version()
        );
        let provisioned =
            tools::provision(sh, tool).with_context(|| format!("{label}: provisioning failed"))?;
        match provisioned.fetched_in {
            None => eprintln!("{label} ... ok (cached)"),
            Some(took) => eprintln!("{label} ... ok (provisioned in {:.1}s)", took.as_secs_f64()),
        }
        envs.push((env_var(tool), provisioned.path));
    }

    // The Kubernetes schemas of every version the cluster files declare, for verify's tests.
    for version in crate::kube::declared_versions(&sh.current_dir()) {
        let label = format!("Kubernetes {version} schemas");
        let provisioned = tools::kubernetes_schema(sh, version.minor)
            .with_context(|| format!("{label}: provisioning failed"))?;
        match provisioned.fetched_in {
            None => eprintln!("{label} ... ok (cached)"),
            Some(took) => eprintln!("{label} ... ok (provisioned in {:.1}s)", took.as_secs_f64()),
        }
    }
    envs.push((
        "AMEIDE_KUBE_SCHEMAS".to_owned(),
        tools::kube_schemas_home(sh),
    ));

    let args = &flags.cargo_test_args;
    let mut steps = Vec::new();
    if !flags.no_lint {
        steps.push(cmd!(sh, "cargo fmt --all --check"));
        steps.push(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --locked -- -D warnings"
        ));
    }
    // Tests last, so that their `test result:` lines close the log where CI looks for them.
    // `--no-fail-fast`: one failing test binary must not hide the results of the others.
    steps.push(
        cmd!(
            sh,
            "cargo test --workspace --locked --no-fail-fast {args...}"
        )
        .envs(envs),
    );

    // Every step runs even after a failure, so one run reports everything that needs fixing.
    let mut failed = Vec::new();
    let count = steps.len();
    for (i, step) in steps.into_iter().enumerate() {
        // The label says what runs; xshell's own echo of the command would say it twice.
        let step = step.quiet();
        let label = format!("[{}/{count}] {step}", i + 1);
        eprintln!("{label} ...");
        let started = std::time::Instant::now();
        let ok = step.run().is_ok();
        let took = started.elapsed().as_secs_f64();
        eprintln!(
            "{label} ... {} in {took:.1}s",
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            failed.push(step.to_string());
        }
    }
    match failed.as_slice() {
        [] => Ok(()),
        [step] => bail!("`{step}` failed (its output is above); fix it and run `cargo xtask test` again"),
        steps => bail!(
            "{} steps failed (their output is above): `{}`; fix them and run `cargo xtask test` again",
            steps.len(),
            steps.join("`, `")
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use pretty_assertions::assert_eq;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: Flags,
    }

    #[test]
    fn everything_after_the_double_dash_goes_to_cargo_test() {
        let cli = Cli::try_parse_from(["test", "--no-lint", "--", "scaffold", "--", "--nocapture"])
            .unwrap();
        assert!(cli.flags.no_lint);
        assert_eq!(cli.flags.cargo_test_args, ["scaffold", "--", "--nocapture"]);
    }

    #[test]
    fn the_integration_tests_find_the_tools_under_these_names() {
        let names: Vec<String> = Tool::ALL.into_iter().map(env_var).collect();
        assert_eq!(
            names,
            [
                "AMEIDE_HELM3",
                "AMEIDE_HELM4",
                "AMEIDE_GH",
                "AMEIDE_ACTIONLINT",
                "AMEIDE_ZIZMOR",
                "AMEIDE_GITHUB_OPENAPI"
            ]
        );
    }
}
