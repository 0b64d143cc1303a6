//! The repository's own docs hold every convention its code, docs, workflows and CI cite: each
//! `conventions.md#section` reference names a section of docs/conventions.md, and nothing cites a
//! specification outside the repository.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use pretty_assertions::assert_eq;
use support::repo_root;

/// The anchors GitHub derives from the headings of a markdown file: lower case, spaces to `-`,
/// punctuation other than `-` dropped.
fn anchors(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|heading| {
            heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn tracked_text_files() -> Vec<(String, String)> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo_root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    out.stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8(p.to_vec()).unwrap())
        .filter_map(|path| {
            let text = std::fs::read_to_string(repo_root().join(&path)).ok()?;
            Some((path, text))
        })
        .collect()
}

#[test]
fn every_cited_convention_is_a_section_of_docs_conventions() {
    let conventions = std::fs::read_to_string(repo_root().join("docs/conventions.md")).unwrap();
    let known = anchors(&conventions);
    assert!(known.contains("component-files"), "{known:?}");
    let mut cited = BTreeSet::new();
    let mut unknown = Vec::new();
    let mut outside = Vec::new();
    for (path, text) in tracked_text_files() {
        // This file names the patterns it looks for.
        if path == "xtask/tests/docs.rs" {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if line.contains("SPEC section") {
                outside.push(format!("{path}:{}", n + 1));
            }
            // `conventions.md#a` and the `, #b` that may follow it on the same line; not another
            // file's name that ends so (Kubernetes' `api-conventions.md#resources`, which
            // vendored CRDs cite).
            for (i, _) in line.match_indices("conventions.md#") {
                if line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
                    continue;
                }
                let rest = &line[i + "conventions.md".len()..];
                for part in rest.split(", ") {
                    let Some(anchor) = part.strip_prefix('#') else {
                        break;
                    };
                    let anchor: String = anchor
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                        .collect();
                    if !known.contains(&anchor) {
                        unknown.push(format!("{path}:{}: #{anchor}", n + 1));
                    }
                    cited.insert(anchor);
                }
            }
        }
    }
    assert_eq!(
        outside,
        Vec::<String>::new(),
        "cite docs/conventions.md instead"
    );
    assert_eq!(unknown, Vec::<String>::new());
    assert!(cited.len() >= 5, "{cited:?}");
}
