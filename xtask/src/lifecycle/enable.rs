//! `cargo xtask enable-primitive`: the primitive runs in one env with a digest-pinned image.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::clusters::Cluster;
use crate::exit;
use crate::primitive::ImageRef;

use super::{Common, Part, Plan, Target, Verb};

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    #[command(flatten)]
    pub target: Target,
    /// The env to enable (an env of the cluster files the ApplicationSet reads).
    #[arg(long)]
    pub env: String,
    /// The digest-pinned image: repo@sha256:<64 hex>.
    #[arg(long, value_parser = ImageRef::parse)]
    pub image_ref: ImageRef,
    /// Also enable the smoke there, with this digest-pinned (grpcurl) image.
    #[arg(long, value_parser = ImageRef::parse)]
    pub smoke_image_ref: Option<ImageRef>,
    #[command(flatten)]
    pub common: Common,
}

impl Verb for Flags {
    const COMMAND: &'static str = "enable-primitive";

    fn branch(&self) -> String {
        format!("enable/{}-{}", self.target.primitive().id(), self.env)
    }

    fn args(&self) -> String {
        let mut args = format!(
            "{} --env {} --image-ref {}",
            self.target.to_flags(),
            self.env,
            self.image_ref.as_str()
        );
        if let Some(smoke) = &self.smoke_image_ref {
            args.push_str(&format!(" --smoke-image-ref {}", smoke.as_str()));
        }
        args
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
        let mut writes = vec![super::set_overlay(
            root,
            &p,
            Part::Workload,
            &self.env,
            Some(&self.image_ref),
        )?];
        if let Some(smoke) = &self.smoke_image_ref {
            if !super::has_smoke(root, &p) {
                return Err(exit::refused(format!(
                    "--smoke-image-ref: {} has no smoke component; nothing was written. Drop the flag, or scaffold the smoke with \
                     `cargo xtask scaffold-primitive {} --with-smoke --force`",
                    p.id(),
                    self.target.to_flags()
                )));
            }
            writes.push(super::set_overlay(
                root,
                &p,
                Part::Smoke,
                &self.env,
                Some(smoke),
            )?);
        }
        Ok(Plan {
            command: Self::COMMAND,
            operation: "enabled",
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
            "verb": "enable",
            "kind": self.target.kind.as_str(),
            "name": self.target.name.as_str(),
            "version": self.target.version.as_str(),
            "env": self.env,
            "image_ref": self.image_ref.as_str(),
            "smoke_image_ref": self.smoke_image_ref.as_ref().map_or("", ImageRef::as_str),
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}
