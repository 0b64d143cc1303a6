//! `cargo xtask upgrade-wiring`: every generated file back to what today's generator writes (after
//! a template change, or a hand edit), keeping the owned values; one change for all of them.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use crate::clusters::Cluster;
use crate::exit;
use crate::layout;
use crate::primitive::{Kind, Name, Primitive, Version};
use crate::scaffold::{owned, templates};

use super::{Common, Part, Plan, Verb};

#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    /// Upgrade every scaffolded primitive.
    #[arg(long, conflicts_with_all = ["kind", "name", "version"], required_unless_present_all = ["kind", "name", "version"])]
    pub all: bool,
    /// Primitive kind: domain, process, agent, uisurface, projection or integration.
    #[arg(long, value_parser = Kind::parse, requires_all = ["name", "version"])]
    pub kind: Option<Kind>,
    /// Primitive name, lowercase kebab-case (e.g. orders).
    #[arg(long, value_parser = Name::parse, requires_all = ["kind", "version"])]
    pub name: Option<Name>,
    /// Primitive version: v0, v1, ...
    #[arg(long, value_parser = Version::parse, requires_all = ["kind", "name"])]
    pub version: Option<Version>,
    #[command(flatten)]
    pub common: Common,
}

impl Flags {
    fn one(&self) -> Option<Primitive> {
        Some(Primitive {
            kind: self.kind?,
            name: self.name.clone()?,
            version: self.version.clone()?,
        })
    }
}

impl Verb for Flags {
    const COMMAND: &'static str = "upgrade-wiring";

    fn branch(&self) -> String {
        format!("upgrade/{}", self.subject())
    }

    fn args(&self) -> String {
        match self.one() {
            Some(p) => format!(
                "--kind {} --name {} --version {}",
                p.kind, p.name, p.version
            ),
            None => "--all".to_owned(),
        }
    }

    fn subject(&self) -> String {
        self.one().map_or_else(|| "all".to_owned(), |p| p.id())
    }

    fn check(&self, _envs: &[Cluster]) -> Result<()> {
        if self.all && self.common.dispatch.via_workflow {
            return Err(exit::invalid(
                "--all --via-workflow: the workflow upgrades one primitive; pass --kind, --name and --version, or run --all with --open-pr",
            ));
        }
        Ok(())
    }

    fn plan(&self, root: &Path, envs: &[Cluster]) -> Result<Plan> {
        let primitives = match self.one() {
            Some(p) => {
                super::require_scaffolded(root, &p)?;
                vec![p]
            }
            None => scaffolded(root)?,
        };
        let env_dirs = super::env_dirs(root)?;
        let mut writes = Vec::new();
        let mut applications = Vec::new();
        let mut prove = Vec::new();
        for p in primitives {
            let with_smoke = super::has_smoke(root, &p);
            for mut file in templates::files(&p, with_smoke, None, None) {
                if let Some(current) = crate::scaffold::read(root, &file.path)? {
                    if owned::is_shared_values(&file.path) {
                        file.content = owned::keep_shared(&file.content, &current);
                    }
                }
                writes.push(file);
            }
            // Overlays a person wrote without the header stay theirs entirely.
            for env in &env_dirs {
                for part in [Part::Workload, Part::Smoke] {
                    let (path, current) = super::overlay(root, &p, part, env)?;
                    if let Some(current) =
                        current.filter(|c| c.starts_with(templates::HEADER_START))
                    {
                        let content = owned::keep_overlay(&part.inputs(&p, env), &current);
                        writes.push(templates::File { path, content });
                    }
                }
            }
            applications.extend(super::applications(root, &p, envs));
            prove.push((p, envs.iter().map(|c| c.env.clone()).collect()));
        }
        Ok(Plan {
            command: Self::COMMAND,
            operation: "upgraded",
            subject: self.subject(),
            writes,
            deletes: Vec::new(),
            prove,
            applications_title: crate::scaffold::APPLICATIONS_AFTER_MERGE,
            applications,
        })
    }

    fn inputs(&self) -> serde_json::Value {
        let p = self.one();
        json!({
            "verb": "upgrade",
            "kind": p.as_ref().map_or("", |p| p.kind.as_str()),
            "name": p.as_ref().map_or("", |p| p.name.as_str()),
            "version": p.as_ref().map_or("", |p| p.version.as_str()),
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

/// Every primitive whose component file the generator wrote, in folder order.
fn scaffolded(root: &Path) -> Result<Vec<Primitive>> {
    let mut found = Vec::new();
    let dir = root.join(layout::PRIMITIVES_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err).context("listing the primitives"),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|id| !id.ends_with("-smoke"))
        .collect();
    ids.sort();
    for id in ids {
        let component = layout::primitive_component_file(&id);
        let generated = std::fs::read_to_string(root.join(&component))
            .is_ok_and(|t| t.starts_with(templates::HEADER_START));
        if !generated {
            continue;
        }
        let p = Primitive::from_id(&id).map_err(|rule| {
            exit::refused(format!(
                "{component}: its folder is not a primitive id ({rule}); nothing was written. Move it back to <kind>-<name>-<version>"
            ))
        })?;
        found.push(p);
    }
    Ok(found)
}
