//! The preview as data: discover the Applications of the base and of the working tree, render
//! the ones the change can affect on both sides, and compare. The formatters read the result.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use super::base::BaseTree;
use super::diff::{self, Change, ObjectChange};
use super::model::{self, Application};

/// What merging the change does to the desired state, Application by Application.
#[derive(Debug, Serialize)]
pub struct Preview {
    /// `--base` as given.
    pub base: String,
    #[serde(skip)]
    pub merge_base: String,
    /// Only what changes: removed, added, then changed; by env (in discovery's order), then name.
    pub applications: Vec<ApplicationChange>,
}

#[derive(Debug, Serialize)]
pub struct ApplicationChange {
    pub name: String,
    pub env: String,
    pub change: Change,
    /// The Application itself first when its own manifest changes, then what it renders.
    pub objects: Vec<ObjectChange>,
    /// What Argo CD does with the objects that go.
    #[serde(skip)]
    pub prune: Prune,
    /// Renders that failed (their messages), so that the preview says what it could not show.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// What happens to the live objects whose desired state goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prune {
    /// The Application goes with the resources finalizer: Argo CD deletes what it deployed.
    Cascade,
    /// The Application goes without it (`preserveResourcesOnDeletion`): its objects stay,
    /// unmanaged.
    Orphan,
    /// Objects go from an Application that syncs with `prune: true`: Argo CD deletes them.
    Automated,
    /// Objects go from an Application without automated pruning: they show OutOfSync until
    /// someone syncs with prune.
    Manual,
}

impl ApplicationChange {
    /// Whether `object` is this Application itself rather than something it renders.
    pub fn is_itself(&self, object: &ObjectChange) -> bool {
        object.kind == "Application" && object.name == self.name
    }

    /// The rendered objects, without the Application itself.
    pub fn rendered(&self) -> impl Iterator<Item = &ObjectChange> {
        self.objects.iter().filter(|o| !self.is_itself(o))
    }
}

/// The preview of the working tree at `root` against the merge-base of HEAD with `base`.
pub fn make(sh: &Shell, helm: &Path, root: &Path, base: &str) -> Result<Preview> {
    let changes = model::changes(sh, root, base)?;
    let mut preview = Preview {
        base: base.to_owned(),
        merge_base: changes.merge_base.clone(),
        applications: Vec::new(),
    };
    if changes.files.is_empty() {
        return Ok(preview);
    }
    let cache = model::cache(sh, root, helm)?;
    // The two discoveries share nothing but the cache: the working tree's runs on a thread of
    // its own while this one makes the base tree and discovers it.
    let base_sh = Shell::new()?;
    let (head, base) = std::thread::scope(|scope| {
        let head = scope.spawn(|| {
            let sh = Shell::new()?;
            sh.change_dir(root);
            model::applications(&sh, helm, root, cache.as_ref())
        });
        let base = BaseTree::new(sh, root, &changes).and_then(|tree| {
            base_sh.change_dir(tree.root());
            let apps = model::applications(&base_sh, helm, tree.root(), cache.as_ref())?;
            Ok((tree, apps))
        });
        (head.join().expect("discovery does not panic"), base)
    });
    let (head, (base_tree, base_apps)) = (head?, base?);
    let base_root = base_tree.root();
    crate::interrupt::check("comparing")?;

    // Which Applications to render where: every added and removed one on its side, and every
    // one in both whose inputs changed on either side (the others render as they did).
    let in_base: HashMap<&str, &Application> =
        base_apps.iter().map(|a| (a.name.as_str(), a)).collect();
    let in_head: HashMap<&str, &Application> = head.iter().map(|a| (a.name.as_str(), a)).collect();
    let mut head_affected = model::affected(root, &changes.files);
    let mut base_affected = model::affected(base_root, &changes.files);
    let (mut render_head, mut render_base) = (Vec::new(), Vec::new());
    for app in &head {
        match in_base.get(app.name.as_str()) {
            None => render_head.push(app.clone()),
            Some(old) if head_affected(app) || base_affected(old) => {
                render_head.push(app.clone());
                render_base.push((*old).clone());
            }
            Some(_) => {}
        }
    }
    for app in &base_apps {
        if !in_head.contains_key(app.name.as_str()) {
            render_base.push(app.clone());
        }
    }
    let head_renders = by_name(model::render(sh, helm, root, cache.as_ref(), render_head));
    let base_renders = by_name(model::render(
        &base_sh,
        helm,
        base_root,
        cache.as_ref(),
        render_base,
    ));

    let mut envs: Vec<&str> = Vec::new();
    for app in head.iter().chain(&base_apps) {
        if !envs.contains(&app.env.as_str()) {
            envs.push(&app.env);
        }
    }
    let names = head.iter().map(|a| a.name.as_str()).chain(
        base_apps
            .iter()
            .map(|a| a.name.as_str())
            .filter(|n| !in_head.contains_key(n)),
    );
    for name in names {
        let (old, new) = (in_base.get(name).copied(), in_head.get(name).copied());
        let sides = Sides {
            old,
            new,
            old_render: base_renders.get(name),
            new_render: head_renders.get(name),
        };
        if let Some(change) = sides.compare() {
            preview.applications.push(change);
        }
    }
    let env_rank = |env: &str| envs.iter().position(|e| *e == env);
    preview.applications.sort_by(|a, b| {
        (a.change, env_rank(&a.env), &a.name).cmp(&(b.change, env_rank(&b.env), &b.name))
    });
    Ok(preview)
}

fn by_name(
    rendered: Vec<(Application, Result<String, String>)>,
) -> HashMap<String, Result<String, String>> {
    rendered
        .into_iter()
        .map(|(app, result)| (app.name, result))
        .collect()
}

/// One Application at the base and with the change, and its renders where they were made.
struct Sides<'a> {
    old: Option<&'a Application>,
    new: Option<&'a Application>,
    old_render: Option<&'a Result<String, String>>,
    new_render: Option<&'a Result<String, String>>,
}

impl Sides<'_> {
    fn compare(&self) -> Option<ApplicationChange> {
        let app = self.new.or(self.old)?;
        let change = match (self.old, self.new) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            _ => Change::Changed,
        };
        let manifest = |a: Option<&Application>| {
            a.map(|a| diff::application(&a.manifest))
                .unwrap_or_default()
        };
        let mut objects = diff::compare(&manifest(self.old), &manifest(self.new));
        let mut notes = Vec::new();
        let mut side =
            |render: Option<&Result<String, String>>, app: Option<&Application>, at: &str| {
                let (Some(render), Some(app)) = (render, app) else {
                    return Some(Default::default());
                };
                let parsed = match render {
                    Ok(manifests) => {
                        diff::objects(manifests, &app.namespace).map_err(|e| format!("{e:#}"))
                    }
                    Err(message) => Err(message.clone()),
                };
                match parsed {
                    Ok(objects) => Some(objects),
                    Err(message) => {
                        notes.push(format!("{at}: {message}"));
                        None
                    }
                }
            };
        let old = side(self.old_render, self.old, "at the base");
        let new = side(self.new_render, self.new, "with this change");
        if let (Some(old), Some(new)) = (old, new) {
            objects.extend(diff::compare(&old, &new));
        }
        if objects.is_empty() && notes.is_empty() {
            return None;
        }
        let prune = match (change, self.old) {
            (Change::Removed, Some(old)) if model::deletes_resources(old) => Prune::Cascade,
            (Change::Removed, _) => Prune::Orphan,
            _ if model::prunes(app) => Prune::Automated,
            _ => Prune::Manual,
        };
        Some(ApplicationChange {
            name: app.name.clone(),
            env: app.env.clone(),
            change,
            objects,
            prune,
            notes,
        })
    }
}
