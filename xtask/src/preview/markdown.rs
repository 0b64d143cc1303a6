//! The preview as a pull request comment: a summary table per env, the prune warnings, then one
//! collapsed section per Application, cut to GitHub's comment limit with a note saying where the
//! whole preview is.

use std::fmt::Write as _;

use super::diff::{Change, ObjectChange};
use super::pipeline::{ApplicationChange, Preview, Prune};

/// The hidden first line that the comment workflow finds its one comment by.
pub const MARKER: &str = "<!-- ameide-gitops-preview -->";

/// GitHub's limit on a comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Where the whole preview is when the comment is cut (the workflow uploads it).
const WHOLE: &str = "The whole preview is in the job summary of this pull request's Verify run and, with every diff, in its `preview` artifact (`preview.json`); `cargo xtask preview` shows it locally";

/// One diff longer than this is cut, so that one large object cannot crowd out the rest.
const DIFF_LIMIT: usize = 16_000;
/// Prune warnings name at most this many objects per Application.
const NAMED: usize = 20;

/// The whole comment, at most [`COMMENT_LIMIT`] bytes (never more characters than that).
pub fn render(preview: &Preview) -> String {
    render_within(preview, COMMENT_LIMIT)
}

fn render_within(preview: &Preview, limit: usize) -> String {
    let mut out = header(preview);
    if preview.applications.is_empty() {
        out.push_str("No Application and no rendered object changes: after the merge Argo CD has nothing new to do.\n");
        return out;
    }
    out.push_str(&summary(preview));
    out.push_str(&prune_warnings(preview));
    // One heading per env; within it the preview's order (removed, added, changed).
    let sections: Vec<(&str, String)> = envs(preview)
        .into_iter()
        .flat_map(|env| {
            preview
                .applications
                .iter()
                .filter(move |app| app.env == env)
                .map(move |app| (env, section(app)))
        })
        .collect();
    let mut env = None;
    for (i, (app_env, text)) in sections.iter().enumerate() {
        let heading = match env == Some(app_env) {
            true => String::new(),
            false => format!("\n#### {app_env}\n\n"),
        };
        let left = sections.len() - i;
        let note = cut_note(left);
        if out.len() + heading.len() + text.len() + note.len() > limit {
            out.push_str(&note);
            return out;
        }
        out.push_str(&heading);
        out.push_str(text);
        env = Some(app_env);
    }
    out
}

fn header(preview: &Preview) -> String {
    let short = &preview.merge_base[..preview.merge_base.len().min(12)];
    format!(
        "{MARKER}\n### What this change does in the cluster\n\nThe desired state with this change against `{}` (merge-base `{short}`), each Application rendered offline as Argo CD renders it. Desired state against desired state: live drift is Argo CD's own diff (docs/preview.md).\n\n",
        preview.base
    )
}

fn summary(preview: &Preview) -> String {
    let mut out = String::from(
        "| env | Applications added | removed | changed | objects added | removed | changed |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for env in envs(preview) {
        let apps: Vec<&ApplicationChange> = preview
            .applications
            .iter()
            .filter(|a| a.env == env)
            .collect();
        let count_apps = |c: Change| apps.iter().filter(|a| a.change == c).count();
        let count_objects = |c: Change| {
            apps.iter()
                .flat_map(|a| a.rendered())
                .filter(|o| o.change == c)
                .count()
        };
        let _ = writeln!(
            out,
            "| {env} | {} | {} | {} | {} | {} | {} |",
            count_apps(Change::Added),
            count_apps(Change::Removed),
            count_apps(Change::Changed),
            count_objects(Change::Added),
            count_objects(Change::Removed),
            count_objects(Change::Changed),
        );
    }
    out
}

/// The envs of the preview, in the order of their first Application.
fn envs(preview: &Preview) -> Vec<&str> {
    let mut envs: Vec<&str> = Vec::new();
    for app in &preview.applications {
        if !envs.contains(&app.env.as_str()) {
            envs.push(&app.env);
        }
    }
    envs
}

/// What Argo CD deletes (or stops managing), first, per Application.
fn prune_warnings(preview: &Preview) -> String {
    let mut lines = Vec::new();
    for app in &preview.applications {
        let gone: Vec<&ObjectChange> = app
            .rendered()
            .filter(|o| o.change == Change::Removed)
            .collect();
        let what = named(&gone);
        let line = match (app.change, app.prune) {
            (Change::Removed, Prune::Cascade) => format!(
                "**Prune in {}**: Argo CD deletes the Application `{}` and, through its resources finalizer, {}.",
                app.env, app.name, or_nothing(&what, "the objects it deployed")
            ),
            (Change::Removed, _) => format!(
                "**Prune in {}**: Argo CD deletes the Application `{}`; without the resources finalizer (`preserveResourcesOnDeletion`) {} stay in the cluster, unmanaged.",
                app.env, app.name, or_nothing(&what, "the objects it deployed")
            ),
            _ if gone.is_empty() => continue,
            (_, Prune::Automated) => format!(
                "**Prune in {}**: `{}` no longer renders {}; it syncs with `prune: true`, so Argo CD deletes them.",
                app.env, app.name, what
            ),
            _ => format!(
                "**Prune in {}**: `{}` no longer renders {}; they show OutOfSync until a sync with prune deletes them.",
                app.env, app.name, what
            ),
        };
        lines.push(line);
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n> [!WARNING]\n");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(">\n");
        }
        let _ = writeln!(out, "> {line}");
    }
    out
}

fn named(objects: &[&ObjectChange]) -> String {
    let mut names: Vec<String> = objects
        .iter()
        .take(NAMED)
        .map(|o| format!("`{}`", o.label()))
        .collect();
    if objects.len() > NAMED {
        names.push(format!("and {} more", objects.len() - NAMED));
    }
    names.join(", ")
}

fn or_nothing(what: &str, otherwise: &str) -> String {
    match what {
        "" => otherwise.to_owned(),
        what => what.to_owned(),
    }
}

/// For a pull request body: the objects each new Application will create, from the preview;
/// nothing when the change adds no Application.
pub fn created(preview: &Preview) -> String {
    if !preview
        .applications
        .iter()
        .any(|a| a.change == Change::Added)
    {
        return String::new();
    }
    let mut out = String::from("\n### Objects each new Application creates\n\n");
    for app in preview
        .applications
        .iter()
        .filter(|a| a.change == Change::Added)
    {
        let objects: Vec<String> = app.rendered().map(|o| format!("`{}`", o.label())).collect();
        let objects = match objects.is_empty() {
            true => "nothing".to_owned(),
            false => objects.join(", "),
        };
        let _ = writeln!(out, "- `{}`: {objects}", app.name);
    }
    out
}

/// One Application: its change and counts in the summary line, then each object's diff.
fn section(app: &ApplicationChange) -> String {
    let mut counts = Vec::new();
    for change in [Change::Removed, Change::Added, Change::Changed] {
        let n = app.rendered().filter(|o| o.change == change).count();
        if n > 0 {
            let noun = if n == 1 { "object" } else { "objects" };
            counts.push(format!("{n} {noun} {}", change.as_str()));
        }
    }
    if app.objects.iter().any(|o| app.is_itself(o)) && app.change == Change::Changed {
        counts.push("its spec changed".to_owned());
    }
    let mut out = format!(
        "<details>\n<summary><b>{}</b> <code>{}</code>{}</summary>\n\n",
        app.change.as_str(),
        escape(&app.name),
        match counts.is_empty() {
            true => String::new(),
            false => format!(": {}", counts.join(", ")),
        }
    );
    for note in &app.notes {
        let _ = writeln!(out, "> [!CAUTION]\n> Could not render {}\n", escape(note));
    }
    for object in &app.objects {
        let what = match app.is_itself(object) {
            true => "the Application itself".to_owned(),
            false => format!("`{}`", object.label()),
        };
        let _ = writeln!(out, "{} {what}\n", object.change.as_str());
        out.push_str(&fenced(&cut(&object.diff)));
        out.push('\n');
    }
    out.push_str("</details>\n");
    out
}

/// A code block that no backticks inside can close early.
fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}diff\n{text}{fence}\n")
}

fn cut(diff: &str) -> String {
    if diff.len() <= DIFF_LIMIT {
        return diff.to_owned();
    }
    let mut end = DIFF_LIMIT;
    while !diff.is_char_boundary(end) {
        end -= 1;
    }
    let kept = &diff[..diff[..end].rfind('\n').map_or(end, |i| i + 1)];
    let left = diff[kept.len()..].lines().count();
    format!("{kept}# ... {left} more lines of this diff are in the whole preview\n")
}

fn cut_note(left: usize) -> String {
    let apps = if left == 1 {
        "1 more Application is".to_owned()
    } else {
        format!("{left} more Applications are")
    };
    format!("\n> [!NOTE]\n> Cut to fit a pull request comment: {apps} not shown here. {WHOLE}.\n")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str, change: Change, diff: &str) -> ObjectChange {
        ObjectChange {
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            namespace: "ameide-dev".into(),
            change,
            diff: diff.into(),
        }
    }

    fn app(
        name: &str,
        change: Change,
        prune: Prune,
        objects: Vec<ObjectChange>,
    ) -> ApplicationChange {
        ApplicationChange {
            name: name.into(),
            env: name.split('-').next().unwrap().into(),
            change,
            objects,
            prune,
            notes: Vec::new(),
        }
    }

    fn preview(applications: Vec<ApplicationChange>) -> Preview {
        Preview {
            base: "origin/main".into(),
            merge_base: "0123456789abcdef".into(),
            applications,
        }
    }

    #[test]
    fn an_empty_preview_says_nothing_changes() {
        let md = render(&preview(Vec::new()));
        assert!(md.starts_with(MARKER), "{md}");
        assert!(
            md.contains("No Application and no rendered object changes"),
            "{md}"
        );
        assert!(!md.contains("<details>"), "{md}");
    }

    #[test]
    fn the_summary_counts_per_env_and_removals_come_first_as_prune_warnings() {
        let md = render(&preview(vec![
            app(
                "dev-gone",
                Change::Removed,
                Prune::Orphan,
                vec![object("ConfigMap", "gone", Change::Removed, "-x\n")],
            ),
            app(
                "dev-new",
                Change::Added,
                Prune::Automated,
                vec![
                    object("ConfigMap", "a", Change::Added, "+a\n"),
                    object("ConfigMap", "b", Change::Added, "+b\n"),
                ],
            ),
            app(
                "staging-x",
                Change::Changed,
                Prune::Automated,
                vec![object("ConfigMap", "old", Change::Removed, "-old\n")],
            ),
        ]));
        assert!(md.contains("| dev | 1 | 1 | 0 | 2 | 1 | 0 |\n"), "{md}");
        assert!(md.contains("| staging | 0 | 0 | 1 | 0 | 1 | 0 |\n"), "{md}");
        let warning = md.find("> [!WARNING]").expect("a prune warning");
        assert!(warning < md.find("<details>").unwrap(), "{md}");
        assert!(md.contains("**Prune in dev**: Argo CD deletes the Application `dev-gone`; without the resources finalizer (`preserveResourcesOnDeletion`) `v1/ConfigMap ameide-dev/gone` stay in the cluster, unmanaged"), "{md}");
        assert!(md.contains("**Prune in staging**: `staging-x` no longer renders `v1/ConfigMap ameide-dev/old`; it syncs with `prune: true`, so Argo CD deletes them"), "{md}");
        assert!(
            md.contains("<summary><b>added</b> <code>dev-new</code>: 2 objects added</summary>"),
            "{md}"
        );
        assert!(md.contains("```diff\n+a\n```\n"), "{md}");
    }

    #[test]
    fn a_long_preview_is_cut_between_applications_with_a_note() {
        let many: Vec<ApplicationChange> = (0..50)
            .map(|i| {
                app(
                    &format!("dev-c{i}"),
                    Change::Added,
                    Prune::Automated,
                    vec![object(
                        "ConfigMap",
                        "x",
                        Change::Added,
                        &"+line\n".repeat(400),
                    )],
                )
            })
            .collect();
        let md = render(&preview(many));
        assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        let shown = md.matches("<details>").count();
        assert!(shown > 0 && shown < 50, "{shown}");
        assert!(
            md.contains(&format!(
                "{} more Applications are not shown here",
                50 - shown
            )),
            "{}",
            &md[md.len() - 400..]
        );
        assert!(md.contains("`preview` artifact"), "{md}");
    }

    #[test]
    fn each_env_is_one_heading_over_its_applications_in_the_previews_order() {
        let cm = |change| vec![object("ConfigMap", "x", change, "x\n")];
        let md = render(&preview(vec![
            app("dev-a", Change::Removed, Prune::Orphan, cm(Change::Removed)),
            app(
                "staging-b",
                Change::Removed,
                Prune::Orphan,
                cm(Change::Removed),
            ),
            app(
                "dev-c",
                Change::Changed,
                Prune::Automated,
                cm(Change::Changed),
            ),
        ]));
        assert_eq!(md.matches("#### dev\n").count(), 1, "{md}");
        let at = |needle: &str| md.find(needle).unwrap_or_else(|| panic!("{needle}:\n{md}"));
        assert!(at("<code>dev-a</code>") < at("<code>dev-c</code>"), "{md}");
        assert!(at("<code>dev-c</code>") < at("#### staging"), "{md}");
        assert!(at("#### staging") < at("<code>staging-b</code>"), "{md}");
    }

    #[test]
    fn backticks_in_a_diff_lengthen_the_fence() {
        assert_eq!(fenced("+a ``` b\n"), "````diff\n+a ``` b\n````\n");
    }
}
