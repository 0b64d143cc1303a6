//! What the repository declares about the Argo CD that reconciles it, beyond its version
//! (`config/argocd.yaml`, docs/argo-model.md#git-files-patterns): the
//! controller options that change what the ApplicationSets generate.

use std::path::Path;

use super::glob::Globbing;
use super::RULE_APPSET;
use crate::verify::problem::{line_of_key, Problem};

/// Where the repository declares its Argo CD (the version is read by the `argocd-schema` rule).
pub const FILE: &str = "config/argocd.yaml";
/// The key saying that the ApplicationSet controller runs with `--enable-new-git-file-globbing`
/// (`ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_NEW_GIT_FILE_GLOBBING`,
/// `applicationsetcontroller.enable.new.git.file.globbing` in `argocd-cmd-params-cm`).
pub const NEW_GIT_FILE_GLOBBING: &str = "enableNewGitFileGlobbing";

/// How the repo-server matches git files generator paths: Argo CD's default unless `FILE` says
/// `enableNewGitFileGlobbing: true`. A value that is not a boolean is a problem (and the default
/// applies, so that discovery still reports the rest).
pub fn globbing(root: &Path) -> (Globbing, Option<Problem>) {
    let Ok(text) = std::fs::read_to_string(root.join(FILE)) else {
        return (Globbing::default(), None);
    };
    let Ok(doc) = crate::yaml::from_str::<crate::yaml::Value>(&text) else {
        // The `argocd-version` rule reports a file that is not YAML.
        return (Globbing::default(), None);
    };
    match doc.get(NEW_GIT_FILE_GLOBBING) {
        None => (Globbing::default(), None),
        Some(value) => match value.as_bool() {
            Some(true) => (Globbing::Doublestar, None),
            Some(false) => (Globbing::Pathspec, None),
            None => (
                Globbing::default(),
                Some(Problem::new(
                    FILE,
                    line_of_key(&text, NEW_GIT_FILE_GLOBBING),
                    RULE_APPSET,
                    format!(
                        "{NEW_GIT_FILE_GLOBBING} must be true (the ApplicationSet controller runs with --enable-new-git-file-globbing) or false (Argo CD's default), not {}",
                        super::yaml::scalar_text(value)
                    ),
                )),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_globbing_is_argo_cds_default_unless_the_repository_declares_the_new_one() {
        let cases: [(&str, Option<&str>, Globbing, bool); 5] = [
            (
                "no file: Argo CD's default",
                None,
                Globbing::Pathspec,
                false,
            ),
            (
                "no key: the default",
                Some("version: \"3.5\"\n"),
                Globbing::Pathspec,
                false,
            ),
            (
                "true: doublestar",
                Some("version: \"3.5\"\nenableNewGitFileGlobbing: true\n"),
                Globbing::Doublestar,
                false,
            ),
            (
                "false: the default",
                Some("version: \"3.5\"\nenableNewGitFileGlobbing: false\n"),
                Globbing::Pathspec,
                false,
            ),
            (
                "a quoted boolean is refused",
                Some("version: \"3.5\"\nenableNewGitFileGlobbing: \"true\"\n"),
                Globbing::Pathspec,
                true,
            ),
        ];
        for (name, text, expected, refused) in cases {
            let dir = crate::scratch::Scratch::dir("xtask-argo-settings").unwrap();
            if let Some(text) = text {
                std::fs::create_dir_all(dir.path().join("config")).unwrap();
                std::fs::write(dir.path().join(FILE), text).unwrap();
            }
            let (globbing, problem) = globbing(dir.path());
            assert_eq!(globbing, expected, "{name}");
            assert_eq!(problem.is_some(), refused, "{name}: {problem:?}");
            if let Some(problem) = problem {
                assert_eq!((problem.path.as_str(), problem.line), (FILE, 2), "{name}");
                assert!(problem.message.contains("must be true"), "{name}");
            }
        }
    }
}
