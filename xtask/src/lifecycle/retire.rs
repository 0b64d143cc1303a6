//! `cargo xtask retire-primitive`: one change that deletes every file of a primitive and its
//! smoke, after which the ApplicationSet deletes their Applications in every env.
//!
//! The ApplicationSet sets `preserveResourcesOnDeletion: true`, so a deleted Application leaves
//! what it deployed in the cluster: a primitive still enabled somewhere is refused (exit 3) unless
//! `--force`, so that it is disabled (and its workload pruned by its own sync) first.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::clusters::Cluster;
use crate::exit;
use crate::layout;
use crate::primitive::Primitive;
use crate::scaffold::owned;

use super::{Common, Plan, Target, Verb};

pub const APPLICATIONS_PRUNED: &str = "Applications the ApplicationSet deletes after merge";

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    #[command(flatten)]
    pub target: Target,
    /// Retire even while enabled in some env (its deployed resources then stay in the cluster).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
}

impl Verb for Flags {
    const COMMAND: &'static str = "retire-primitive";

    fn branch(&self) -> String {
        format!("retire/{}", self.target.primitive().id())
    }

    fn args(&self) -> String {
        let mut args = self.target.to_flags();
        if self.force {
            args.push_str(" --force");
        }
        args
    }

    fn subject(&self) -> String {
        self.target.primitive().id()
    }

    fn check(&self, _envs: &[Cluster]) -> Result<()> {
        Ok(())
    }

    fn plan(&self, root: &Path, envs: &[Cluster]) -> Result<Plan> {
        let p = self.target.primitive();
        // Listed before the files go: the smoke's Applications are pruned too.
        let applications = super::applications(root, &p, envs);
        let deletes = files_of(root, &p)?;
        let enabled: Vec<&String> = deletes
            .iter()
            .filter(|path| path.starts_with("sources/values/"))
            .filter(|path| {
                std::fs::read_to_string(root.join(path)).is_ok_and(|t| owned::is_enabled(&t))
            })
            .collect();
        if !enabled.is_empty() && !self.force {
            let envs: Vec<String> = enabled.iter().map(|p| p.to_string()).collect();
            return Err(exit::refused(format!(
                "{} is enabled in {}; nothing was written. Retiring deletes its Applications, and the \
                 ApplicationSet preserves their resources, so disable it in each env first \
                 (`cargo xtask disable-primitive {} --env ENV`), or re-run with --force to leave them running",
                p.id(),
                envs.join(", "),
                self.target.to_flags()
            )));
        }
        Ok(Plan {
            command: Self::COMMAND,
            operation: "retired",
            subject: p.id(),
            writes: Vec::new(),
            deletes,
            prove: Vec::new(),
            applications_title: APPLICATIONS_PRUNED,
            applications: if root
                .join(layout::primitive_component_file(&p.id()))
                .is_file()
            {
                applications
            } else {
                Vec::new()
            },
        })
    }

    fn inputs(&self) -> serde_json::Value {
        json!({
            "verb": "retire",
            "kind": self.target.kind.as_str(),
            "name": self.target.name.as_str(),
            "version": self.target.version.as_str(),
            "force": self.force.to_string(),
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

/// Every file of the primitive and its smoke that exists: components, shared values, and the
/// overlay of every env folder (listed or not in a cluster file).
fn files_of(root: &Path, p: &Primitive) -> Result<Vec<String>> {
    let env_dirs = super::env_dirs(root)?;
    let mut files = Vec::new();
    for id in [p.id(), p.smoke_id()] {
        files.push(layout::primitive_component_file(&id));
        files.push(layout::shared_values(layout::PRIMITIVES_DOMAIN, &id));
        for env in &env_dirs {
            files.push(layout::env_values(env, layout::PRIMITIVES_DOMAIN, &id));
        }
    }
    files.retain(|f| root.join(f).is_file());
    Ok(files)
}
