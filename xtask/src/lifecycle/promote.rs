//! `cargo xtask promote-primitive`: the image enabled in one env becomes the one enabled in the
//! next (the promotion pull request).

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::clusters::Cluster;
use crate::exit;
use crate::scaffold::owned;

use super::{Common, Part, Plan, Target, Verb};

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    #[command(flatten)]
    pub target: Target,
    /// The env whose enabled image is promoted.
    #[arg(long)]
    pub from: String,
    /// The env that gets it.
    #[arg(long)]
    pub to: String,
    #[command(flatten)]
    pub common: Common,
}

impl Verb for Flags {
    const COMMAND: &'static str = "promote-primitive";

    fn branch(&self) -> String {
        format!(
            "promote/{}-{}-to-{}",
            self.target.primitive().id(),
            self.from,
            self.to
        )
    }

    fn args(&self) -> String {
        format!(
            "{} --from {} --to {}",
            self.target.to_flags(),
            self.from,
            self.to
        )
    }

    fn subject(&self) -> String {
        self.target.primitive().id()
    }

    fn check(&self, envs: &[Cluster]) -> Result<()> {
        super::check_env("--from", &self.from, envs)?;
        super::check_env("--to", &self.to, envs)?;
        if self.from == self.to {
            return Err(exit::invalid(format!(
                "--to {}: must differ from --from; promote from one env to another, e.g. --from dev --to staging",
                self.to
            )));
        }
        Ok(())
    }

    fn plan(&self, root: &Path, envs: &[Cluster]) -> Result<Plan> {
        let p = self.target.primitive();
        super::require_scaffolded(root, &p)?;
        let (path, current) = super::overlay(root, &p, Part::Workload, &self.from)?;
        let Some(image) = current.as_deref().and_then(owned::enabled_image) else {
            return Err(exit::refused(format!(
                "{} is not enabled in {} ({path} has no `enabled: true` with a digest-pinned `image.ref`); nothing was written. \
                 Enable it there first with `cargo xtask enable-primitive {} --env {} --image-ref REF`",
                p.id(),
                self.from,
                self.target.to_flags(),
                self.from
            )));
        };
        let mut writes = vec![super::set_overlay(
            root,
            &p,
            Part::Workload,
            &self.to,
            Some(&image),
        )?];
        // A smoke enabled in --from goes along with the same digest.
        let (_, smoke) = super::overlay(root, &p, Part::Smoke, &self.from)?;
        if let Some(smoke) = smoke.as_deref().and_then(owned::enabled_image) {
            writes.push(super::set_overlay(
                root,
                &p,
                Part::Smoke,
                &self.to,
                Some(&smoke),
            )?);
        }
        Ok(Plan {
            command: Self::COMMAND,
            operation: "promoted",
            subject: p.id(),
            writes,
            deletes: Vec::new(),
            applications_title: crate::scaffold::APPLICATIONS_AFTER_MERGE,
            applications: super::applications(root, &p, envs),
            prove: vec![(p, vec![self.to.clone()])],
        })
    }

    fn inputs(&self) -> serde_json::Value {
        json!({
            "verb": "promote",
            "kind": self.target.kind.as_str(),
            "name": self.target.name.as_str(),
            "version": self.target.version.as_str(),
            "from": self.from,
            "to": self.to,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}
