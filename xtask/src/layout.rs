//! Every path convention of the repository (docs/conventions.md#layout, #discovery-and-value-layering), written once.
//!
//! Paths are repository-relative strings with '/' separators, so that plans, JSON output and golden
//! files read the same on every machine.

/// The URL of this repository, as component files and the ApplicationSet name it.
pub const REPO_URL: &str = "https://github.com/ameideio/ameide-gitops.git";
/// The branch Argo CD tracks: every generator revision and source targetRevision names it
/// (`source-pinned`, docs/repository.md).
pub const TRACKED_BRANCH: &str = "main";
pub const APPSETS_DIR: &str = "argocd/applicationsets";
pub const APPSET: &str = "argocd/applicationsets/ameide.yaml";
pub const COMPONENTS_DIR: &str = "environments/_shared/components";
/// One file per cluster, read by the cluster-scoped ApplicationSet (docs/repository.md).
pub const CLUSTER_SCOPED_DIR: &str = "config/cluster-scoped";
/// The CRDs of kinds installed from elsewhere, for `crd-schema` (docs/verify-rules.md).
pub const CRD_CATALOGUE_DIR: &str = "xtask/schemas/crds";
pub const PRIMITIVES_DIR: &str = "environments/_shared/components/apps/primitives";
pub const CHARTS_DIR: &str = "sources/charts";
pub const RAW_MANIFESTS_CHART: &str = "sources/charts/foundation/common/raw-manifests";
pub const HELM_TEST_JOBS_CHART: &str = "sources/charts/foundation/helm-test-jobs";
/// The per-env value layers (one folder per env) and the shared ones.
pub const ENV_VALUES_DIR: &str = "sources/values/env";
pub const SHARED_VALUES_DIR: &str = "sources/values/_shared";
/// The domain every primitive lives in.
pub const PRIMITIVES_DOMAIN: &str = "apps";
/// Where provisioned tools are cached (ignored by Git).
pub const TOOLS_DIR: &str = ".tools";
/// Where `verify` keeps its render cache (ignored by Git); `AMEIDE_CACHE_DIR` moves it.
pub const VERIFY_CACHE_DIR: &str = ".cache/verify";

pub fn primitive_component_file(component: &str) -> String {
    format!("{PRIMITIVES_DIR}/{component}/component.yaml")
}

pub fn shared_values(domain: &str, component: &str) -> String {
    format!("sources/values/_shared/{domain}/{component}.yaml")
}

pub fn env_values(env: &str, domain: &str, component: &str) -> String {
    format!("sources/values/env/{env}/{domain}/{component}.yaml")
}

/// The folder of an env's value files.
pub fn env_values_dir(env: &str) -> String {
    format!("sources/values/env/{env}/")
}

/// Every `component.yaml` under the components folder, as sorted repository paths (the order the
/// ApplicationSet's git files generator processes them in).
pub fn component_files(root: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut found = walk(root, COMPONENTS_DIR, Walk::EVERYTHING)?;
    found.retain(|path| path.rsplit('/').next() == Some("component.yaml"));
    Ok(found)
}

/// Every ApplicationSet file: the `.yaml`/`.yml` files directly under the ApplicationSets folder,
/// sorted.
pub fn appset_files(root: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root.join(APPSETS_DIR))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            found.push(format!("{APPSETS_DIR}/{name}"));
        }
    }
    found.sort();
    Ok(found)
}

/// Every file at or under `path` (a repository path; "" is the root), sorted, the way Argo CD's
/// repo-server lists a checkout: hidden folders (`.git`, `.tools`) and Cargo's `target` are not
/// part of it.
pub fn files_under(root: &std::path::Path, path: &str) -> std::io::Result<Vec<String>> {
    let checkout = Walk {
        enter: |name| !name.starts_with('.') && name != "target",
        follow_links: false,
    };
    walk(root, path, checkout)
}

/// How [`walk`] treats what it meets.
#[derive(Clone, Copy)]
pub struct Walk {
    /// Whether to go into a folder of this name.
    pub enter: fn(&str) -> bool,
    /// Through symbolic links, as helm's chart loader goes; else a link is neither file nor
    /// folder and is left out.
    pub follow_links: bool,
}

impl Walk {
    /// Every folder, links not followed.
    pub const EVERYTHING: Walk = Walk {
        enter: |_| true,
        follow_links: false,
    };
}

/// The one file walker: every file at or under `path` (a repository path under `root`; "" is
/// `root` itself), as sorted paths relative to `root`. A missing `path` holds no file.
pub fn walk(root: &std::path::Path, path: &str, how: Walk) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    match std::fs::metadata(root.join(path)) {
        Ok(meta) if meta.is_file() => return Ok(vec![path.to_owned()]),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err),
    }
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&dir))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let (is_dir, is_file) = if how.follow_links {
                // What a link points at; a broken link is a file that fails to read.
                std::fs::metadata(entry.path()).map_or((false, true), |m| (m.is_dir(), !m.is_dir()))
            } else {
                let kind = entry.file_type()?;
                (kind.is_dir(), kind.is_file())
            };
            if is_dir {
                if (how.enter)(&name) {
                    stack.push(child);
                }
            } else if is_file {
                found.push(child);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `relative` resolved against the folder `base` (repository paths; `.` and `..` resolved), or
/// `None` when it leaves the repository.
pub fn join(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let whole = if relative.starts_with('/') {
        relative.to_owned()
    } else {
        format!("{base}/{relative}")
    };
    for part in whole.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}
