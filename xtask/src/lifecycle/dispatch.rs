//! `--via-workflow` for the lifecycle verbs: validate here, dispatch the one lifecycle workflow
//! with the verb's inputs, report the run GitHub started, and with `--wait` follow it to its end
//! (the follow-through is the scaffold trigger's, `scaffold/trigger.rs`).

use anyhow::Result;
use serde_json::Value;
use xshell::Shell;

use crate::scaffold::pr::parse_branch;
use crate::scaffold::trigger::{follow_through, Dispatch, WaitFlags};

use super::Common;

pub const WORKFLOW: &str = "primitive-lifecycle-gitops.yaml";

/// The verbs the workflow's `verb` choice offers, in this order (checked against the workflow by
/// a test).
pub const VERBS: [&str; 5] = ["enable", "disable", "promote", "retire", "upgrade"];

#[derive(clap::Args, Debug, Clone)]
pub struct DispatchFlags {
    /// Dispatch the lifecycle workflow on GitHub instead of writing files here.
    #[arg(long, conflicts_with_all = ["dry_run"])]
    pub via_workflow: bool,
    /// The git ref the workflow runs on.
    #[arg(long = "ref", default_value = "main", value_name = "REF", value_parser = parse_branch)]
    pub git_ref: String,
    #[command(flatten)]
    pub wait: WaitFlags,
}

/// Dispatches the lifecycle workflow for one verb and, with --wait, follows its run.
pub fn run(
    sh: &Shell,
    common: &Common,
    command: &str,
    subject: &str,
    branch: &str,
    inputs: Value,
) -> Result<Value> {
    debug_assert!(
        VERBS.contains(&inputs["verb"].as_str().unwrap_or_default()),
        "the workflow offers every verb"
    );
    let dispatch = Dispatch {
        workflow: WORKFLOW,
        git_ref: &common.dispatch.git_ref,
        inputs,
        command,
        subject: subject.to_owned(),
        branch: branch.to_owned(),
    };
    follow_through(sh, &common.pr, &common.dispatch.wait, &dispatch)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::primitive::Kind;

    fn repo() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    fn options(inputs: &serde_yaml::Value, input: &str) -> Vec<String> {
        inputs[input]["options"]
            .as_sequence()
            .unwrap_or_else(|| panic!("input {input} has no options"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The workflow's choices are the verbs, kinds and envs of the code and the cluster files.
    #[test]
    fn the_workflow_choices_are_the_verbs_kinds_and_envs() {
        let path = repo().join(".github/workflows").join(WORKFLOW);
        let text = std::fs::read_to_string(&path).unwrap();
        let wf: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let inputs = &wf["on"]["workflow_dispatch"]["inputs"];
        assert_eq!(options(inputs, "verb"), VERBS);
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(options(inputs, "kind"), kinds);
        let envs: Vec<String> = crate::clusters::appset_envs(repo())
            .unwrap()
            .into_iter()
            .map(|c| c.env)
            .collect();
        for input in ["env", "from", "to"] {
            assert_eq!(options(inputs, input), envs, "{input}");
        }
        // Every verb runs its own subcommand, and nothing else is accepted.
        let script = wf["jobs"]["lifecycle"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find_map(|s| s["run"].as_str().filter(|r| r.contains("cargo xtask")))
            .unwrap();
        for (verb, command) in VERBS.iter().zip([
            "enable-primitive",
            "disable-primitive",
            "promote-primitive",
            "retire-primitive",
            "upgrade-wiring",
        ]) {
            assert!(
                script.contains(&format!("{verb}) command={command};"))
                    || script.contains(&format!("{verb}) command={command} ;;")),
                "{verb}: {script}"
            );
        }
    }
}
