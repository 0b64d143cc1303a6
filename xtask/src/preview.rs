//! `cargo xtask preview`: what merging the working tree's change does to the desired state that
//! Argo CD syncs, offline. It discovers the Applications of the base (the merge-base of HEAD with
//! `--base`) and of the working tree, renders on both sides those the change can affect (from
//! the render cache when it holds them), and reports the Applications and rendered objects added,
//! removed and changed, each changed object with a unified diff, secret values redacted.
//! [`pipeline`] makes the preview; [`markdown`] and [`json`] only format it. docs/preview.md.

pub mod base;
pub mod diff;
pub mod json;
pub mod markdown;
pub mod model;
pub mod pipeline;
pub mod redact;

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::tools;

pub use pipeline::Preview;

#[derive(clap::Args, Debug)]
pub struct Flags {
    /// Compare with the merge-base of HEAD and this revision.
    #[arg(long, value_name = "REV", default_value = model::DEFAULT_BASE)]
    pub base: String,
    /// markdown (a pull request comment, cut to GitHub's limit) or json (everything).
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    /// The same as `--format json`, spelled as in every other subcommand.
    #[arg(long)]
    pub json: bool,
    /// Write the preview to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

/// Exit 0 whenever the preview was made, whatever it shows: problems are `verify`'s to report.
pub fn run(sh: &Shell, flags: &Flags) -> Result<()> {
    let root = sh.current_dir();
    let helm = tools::helm(sh)?;
    let preview = pipeline::make(sh, &helm, &root, &flags.base)?;
    let text = if flags.wants_json() {
        json::render(&preview)
    } else {
        markdown::render(&preview)
    };
    match &flags.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("writing the preview to {}", path.display()))?,
        None => print!("{text}"),
    }
    eprintln!("{}", summary(&preview));
    Ok(())
}

impl Flags {
    pub fn wants_json(&self) -> bool {
        self.json || self.format == Format::Json
    }
}

/// The JSON of a preview that could not be made: the preview's keys, nothing in them, and what
/// went wrong in `errors`. It goes to stdout, also with `--output`.
pub fn failure_json(base: &str, err: &anyhow::Error) -> serde_json::Value {
    serde_json::json!({
        "base": base,
        "applications": [],
        "errors": [format!("{err:#}")],
    })
}

/// One line for the terminal: how many Applications change, against what.
fn summary(preview: &Preview) -> String {
    let count = |change| {
        preview
            .applications
            .iter()
            .filter(|a| a.change == change)
            .count()
    };
    format!(
        "preview: {} Applications added, {} removed, {} changed against {} (merge-base {})",
        count(diff::Change::Added),
        count(diff::Change::Removed),
        count(diff::Change::Changed),
        preview.base,
        &preview.merge_base[..preview.merge_base.len().min(12)]
    )
}
