//! The `helm template` Argo CD's repo-server runs for an Application (`reposerver/repository`):
//! release name, destination namespace, the chart folder, and the value files in order, the
//! missing ones skipped when `ignoreMissingValueFiles` is set. What helm is handed is all the
//! render cache keys on.

use std::path::Path;

use super::Application;
use crate::helm;
use crate::verify::problem::Problem;

/// The rule id of a render that fails.
pub const RULE: &str = "helm-render";

/// The `helm template` invocation Argo CD makes for `app`, or why it fails before helm runs.
/// `Ok(None)` when discovery already reported that the Application cannot be rendered offline.
pub fn plan(root: &Path, app: &Application) -> Result<Option<helm::Render>, Problem> {
    if app.chart.is_empty() || app.value_files.iter().any(|f| f.starts_with('$')) {
        return Ok(None);
    }
    let ignore_missing = app.ignore_missing_value_files;
    let mut value_files = Vec::new();
    for file in &app.value_files {
        let path = root.join(file);
        if path.is_file() {
            value_files.push(path);
        } else if !ignore_missing {
            return Err(Problem::new(
                &app.component_file,
                0,
                RULE,
                format!(
                    "value file {file} does not exist and ignoreMissingValueFiles is not set, so Argo CD fails to render it; create the file or set ignoreMissingValueFiles: true"
                ),
            ));
        }
    }
    Ok(Some(helm::Render {
        release: app.release.clone(),
        namespace: app.namespace.clone(),
        chart: root.join(&app.chart),
        value_files,
        set_strings: Vec::new(),
        sets: Vec::new(),
    }))
}
