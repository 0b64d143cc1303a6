//! Every path convention of the repository (SPEC sections 2 and 4), written once.
//!
//! Paths are repository-relative strings with '/' separators, so that plans, JSON output and golden
//! files read the same on every machine.

use crate::clusters::Cluster;

/// The URL of this repository, as component files and the ApplicationSet name it.
pub const REPO_URL: &str = "https://github.com/ameideio/ameide-gitops.git";
pub const APPSETS_DIR: &str = "argocd/applicationsets";
pub const APPSET: &str = "argocd/applicationsets/ameide.yaml";
pub const COMPONENTS_DIR: &str = "environments/_shared/components";
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

/// The six value layers of an Application, in the order the ApplicationSet passes them to Helm.
pub fn value_layers(cluster: &Cluster, domain: &str, component: &str) -> [String; 6] {
    [
        "sources/values/base/globals.yaml".to_owned(),
        format!(
            "sources/values/cluster/{}/globals.yaml",
            cluster.cluster_type
        ),
        format!("sources/values/env/{}/globals.yaml", cluster.env),
        format!("config/node-profiles/{}.yaml", cluster.node_profile),
        shared_values(domain, component),
        env_values(&cluster.env, domain, component),
    ]
}

/// The Argo CD Application generated for a component in an env.
pub fn application_name(env: &str, component: &str) -> String {
    format!("{env}-{component}")
}

/// Every `component.yaml` under the components folder, as sorted repository paths (the order the
/// ApplicationSet's git files generator processes them in).
pub fn component_files(root: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![root.join(COMPONENTS_DIR)];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if entry.file_name() == "component.yaml" {
                let relative = path.strip_prefix(root).expect("under root");
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
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
    let start = root.join(path);
    let mut found = Vec::new();
    match std::fs::metadata(&start) {
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
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(child);
                }
            } else if kind.is_file() {
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
