//! `cargo xtask disable-primitive`: the primitive stops running in one env (Argo CD then syncs
//! only its disabled marker there).

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::clusters::Cluster;

use super::{Common, Part, Plan, Target, Verb};

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    #[command(flatten)]
    pub target: Target,
    /// The env to disable (an env of the cluster files the ApplicationSet reads).
    #[arg(long)]
    pub env: String,
    #[command(flatten)]
    pub common: Common,
}

impl Verb for Flags {
    const COMMAND: &'static str = "disable-primitive";

    fn branch(&self) -> String {
        format!("disable/{}-{}", self.target.primitive().id(), self.env)
    }

    fn args(&self) -> String {
        format!("{} --env {}", self.target.to_flags(), self.env)
    }

    fn subject(&self) -> String {
        self.target.primitive().id()
    }

    fn check(&self, envs: &[Cluster]) -> Result<()> {
        super::check_env("--env", &self.env, envs)
    }

    fn plan(&self, root: &Path, envs: &[Cluster]) -> Result<Plan> {
        let p = self.target.primitive();
        super::require_scaffolded(root, &p)?;
        // The smoke goes with the workload. No overlay: the env runs the disabled shared values.
        let mut writes = Vec::new();
        for part in [Part::Workload, Part::Smoke] {
            if super::overlay(root, &p, part, &self.env)?.1.is_some() {
                writes.push(super::set_overlay(root, &p, part, &self.env, None)?);
            }
        }
        Ok(Plan {
            command: Self::COMMAND,
            operation: "disabled",
            subject: p.id(),
            writes,
            deletes: Vec::new(),
            applications_title: crate::scaffold::APPLICATIONS_AFTER_MERGE,
            applications: super::applications(root, &p, envs),
            prove: vec![(p, vec![self.env.clone()])],
        })
    }

    fn inputs(&self) -> serde_json::Value {
        json!({
            "verb": "disable",
            "kind": self.target.kind.as_str(),
            "name": self.target.name.as_str(),
            "version": self.target.version.as_str(),
            "env": self.env,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}
