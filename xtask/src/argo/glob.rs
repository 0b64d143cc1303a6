//! How Argo CD's repo-server selects the files of a git files generator's `path` (`GetGitFiles` in
//! `reposerver/repository/repository.go`, `LsFiles` in `util/git/client.go`), in its two modes:
//!
//! - [`Globbing::Pathspec`], Argo CD's default: `git ls-files -- <path>`, so `path` is a Git
//!   pathspec. It selects a file it names exactly, every file under a folder it names, and every
//!   file `wildmatch` matches without `WM_PATHNAME`: `*` (and `**`, which is just `*`) matches any
//!   characters, `/` included, `?` any one character, `[...]` a character class (`[!...]`, `[^...]`
//!   negated, `[:alpha:]` and the other POSIX classes), `\` escapes. Braces are literal.
//! - [`Globbing::Doublestar`], with the controller's `--enable-new-git-file-globbing`: doublestar
//!   over the checked-out tree. `*` and `?` stay within one segment, `**` as a whole segment spans
//!   any number of segments (none included), `{a,b}` are alternatives. A folder that matches is
//!   returned too, and reading it fails the generator.
//!
//! Paths are repository-relative with '/' separators. Which mode the repository's controller runs
//! is declared in `config/argocd.yaml` ([`super::settings`]).

/// The two ways the repo-server matches a git files generator's `path`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Globbing {
    /// `git ls-files -- <path>`: Argo CD's default.
    #[default]
    Pathspec,
    /// doublestar: the controller runs with `--enable-new-git-file-globbing`.
    Doublestar,
}

impl Globbing {
    /// The pattern as the repo-server hands it on, or why the repo-server fails on it (Git refuses
    /// a path outside the repository) or verify cannot follow it (pathspec magic).
    pub fn normalize(self, pattern: &str) -> Result<String, String> {
        if self == Globbing::Doublestar {
            return Ok(pattern.to_owned());
        }
        if pattern.starts_with(':') {
            return Err(format!(
                "{pattern:?} uses Git pathspec magic (\":(...)\"), which verify does not emulate; write a plain pattern"
            ));
        }
        if pattern.starts_with('/') {
            return Err(format!(
                "{pattern:?} is absolute: `git ls-files` refuses a path outside the repository, so the git files generator fails; write the path from the repository root, without the leading '/'"
            ));
        }
        // Git's normalization of a pathspec: `.` and empty segments go, `..` climbs.
        let mut segments: Vec<&str> = Vec::new();
        let trailing_slash = pattern.ends_with('/');
        for segment in pattern.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err(format!(
                            "{pattern:?} climbs out of the repository: `git ls-files` refuses it, so the git files generator fails; write the path from the repository root"
                        ));
                    }
                }
                other => segments.push(other),
            }
        }
        let mut normalized = segments.join("/");
        if trailing_slash && !normalized.is_empty() {
            normalized.push('/');
        }
        Ok(normalized)
    }

    /// Whether the repo-server selects the file `path` for the (normalized) `pattern`.
    pub fn matches(self, pattern: &str, path: &str) -> bool {
        match self {
            Globbing::Pathspec => pathspec_matches(pattern, path),
            Globbing::Doublestar => doublestar_matches(pattern, path),
        }
    }
}

/// `git ls-files -- <pattern>` selecting `path` (dir.c `match_pathspec_item`): the pattern as a
/// literal path, the file itself or a folder above it, or the whole path against `wildmatch`.
fn pathspec_matches(pattern: &str, path: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    if let Some(rest) = path.strip_prefix(pattern) {
        if rest.is_empty() || pattern.ends_with('/') || rest.starts_with('/') {
            return true;
        }
    }
    pattern.contains(['*', '?', '[', '\\']) && wildmatch(pattern.as_bytes(), path.as_bytes())
}

/// Git's `wildmatch` without `WM_PATHNAME`: no character is special to `*`, not even '/'.
fn wildmatch(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it consumed up to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            let step = match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, t));
                    continue;
                }
                _ if t == text.len() => None,
                b'?' => Some(p + 1),
                b'[' => match class(pattern, p, text[t]) {
                    Some((true, next)) => Some(next),
                    Some((false, _)) => None,
                    // An unclosed class: wildmatch gives up on the whole pattern.
                    None => return false,
                },
                b'\\' => match pattern.get(p + 1) {
                    Some(&c) if c == text[t] => Some(p + 2),
                    Some(_) => None,
                    None => return false,
                },
                literal => (literal == text[t]).then_some(p + 1),
            };
            if let Some(next) = step {
                p = next;
                t += 1;
                continue;
            }
        } else if t == text.len() {
            return true;
        }
        match star {
            Some((after, consumed)) if consumed < text.len() => {
                p = after;
                t = consumed + 1;
                star = Some((after, consumed + 1));
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the class at `pattern[start] == '['` (wildmatch's: `!` or `^` negates, a
/// leading `]` is literal, `a-z` ranges, `\` escapes, `[:name:]` POSIX classes); returns whether
/// it matched and the index after the class, or None when the class is not closed.
fn class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        if pattern[i] == b']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if pattern[i] == b'[' && pattern.get(i + 1) == Some(&b':') {
            let name_end = pattern[i + 2..]
                .windows(2)
                .position(|w| w == b":]")
                .map(|at| i + 2 + at)?;
            let name = &pattern[i + 2..name_end];
            matched |= posix_class(name, c)?;
            i = name_end + 2;
            continue;
        }
        let mut low = pattern[i];
        if low == b'\\' {
            i += 1;
            low = *pattern.get(i)?;
        }
        let mut high = low;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&b| b != b']') {
            i += 2;
            high = pattern[i];
            if high == b'\\' {
                i += 1;
                high = *pattern.get(i)?;
            }
        }
        if low <= c && c <= high {
            matched = true;
        }
        i += 1;
    }
    None
}

/// A POSIX character class by name; None for a name wildmatch does not know (it gives up).
fn posix_class(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

/// doublestar's `Match`: per segment, `**` as a whole segment spanning any number of them.
fn doublestar_matches(pattern: &str, path: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        let pattern: Vec<&str> = p.split('/').collect();
        let path: Vec<&str> = path.split('/').collect();
        match_segments(&pattern, &path)
    })
}

/// The leading segments of `pattern` that hold no wildcard: the folder to start walking from.
pub fn literal_prefix(pattern: &str) -> String {
    let mut prefix = Vec::new();
    for segment in pattern.split('/') {
        if segment.contains(['*', '?', '[', '{', '\\']) {
            break;
        }
        prefix.push(segment);
    }
    prefix.join("/")
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                match_segment(first.as_bytes(), segment.as_bytes())
                    && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// One segment against one segment pattern (no '/' on either side).
fn match_segment(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index it consumed up to).
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, n));
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(pattern, p, name[n]) {
                        if matched {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unclosed class is a literal '['.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == name[n] {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                literal => {
                    if literal == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((after, consumed)) => {
                p = after;
                n = consumed + 1;
                star = Some((after, consumed + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `pattern[start] == '['`; returns whether it matched
/// and the index after the class, or None when the class is not closed.
fn match_class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        if pattern[i] == b']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        let mut low = pattern[i];
        if low == b'\\' && i + 1 < pattern.len() {
            i += 1;
            low = pattern[i];
        }
        let mut high = low;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&b| b != b']') {
            high = pattern[i + 2];
            i += 2;
        }
        if low <= c && c <= high {
            matched = true;
        }
        i += 1;
    }
    None
}

/// `a/{b,c}/d` -> `a/b/d`, `a/c/d` (nested braces included).
fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let mut depth = 0;
    let mut open = None;
    let mut commas = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                if depth == 0 {
                    open = Some(i);
                    commas.clear();
                }
                depth += 1;
            }
            b',' if depth == 1 => commas.push(i),
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let start = open.expect("a brace was opened");
                    let (head, tail) = (&pattern[..start], &pattern[i + 1..]);
                    let mut bounds = vec![start];
                    bounds.extend(&commas);
                    bounds.push(i);
                    let mut out = Vec::new();
                    for pair in bounds.windows(2) {
                        let alternative = &pattern[pair[0] + 1..pair[1]];
                        out.extend(expand_braces(&format!("{head}{alternative}{tail}")));
                    }
                    return out;
                }
            }
            _ => {}
        }
        i += 1;
    }
    vec![pattern.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree of Argo CD's `TestLsFilesForGitFileGeneratorGlobbingPatterns`
    /// (`util/git/git_test.go`), and a few files more for the cases below.
    const FILES: &[&str] = &[
        "cluster-charts/cluster1/mychart/charts/mysubchart/values.yaml",
        "cluster-charts/cluster1/mychart/values.yaml",
        "cluster-charts/cluster1/myotherchart/values.yaml",
        "cluster-charts/cluster2/values.yaml",
        "some-path/values.yaml",
        "some-path/staging/values.yaml",
        "cluster-config/engineering/production/config.json",
        "cluster-config/engineering/dev/config.json",
        "p1/p2/config.json",
        "p1/app2/config.json",
        "p1/app3/config.json",
        "p1/config.json",
        "config.json",
        "apps/.hidden/component.yaml",
        "apps/web/component.yaml",
        "apps/{dev,prod}.yaml",
        "apps/dev.yaml",
        "apps/[x].yaml",
        "apps/x.yaml",
        "apps/*.yaml",
    ];

    struct Case {
        name: &'static str,
        globbing: Globbing,
        pattern: &'static str,
        expected: &'static [&'static str],
    }

    use Globbing::{Doublestar, Pathspec};

    /// Cases named "(Argo CD)" are `TestLsFilesForGitFileGeneratorGlobbingPatterns`'s, with the
    /// files it expects; the others follow Git's `dir.c` and `wildmatch.c`, or doublestar's
    /// `doublestar_test.go`.
    const CASES: &[Case] = &[
        Case {
            name: "(Argo CD) **/config.json finds config.json in every folder below the root, under the new globbing",
            globbing: Doublestar,
            pattern: "**/config.json",
            expected: &[
                "cluster-config/engineering/dev/config.json",
                "cluster-config/engineering/production/config.json",
                "config.json",
                "p1/app2/config.json",
                "p1/app3/config.json",
                "p1/config.json",
                "p1/p2/config.json",
            ],
        },
        Case {
            name: "(Argo CD) **/config.json by default needs a folder before config.json, so the root's is not found",
            globbing: Pathspec,
            pattern: "**/config.json",
            expected: &[
                "cluster-config/engineering/dev/config.json",
                "cluster-config/engineering/production/config.json",
                "p1/app2/config.json",
                "p1/app3/config.json",
                "p1/config.json",
                "p1/p2/config.json",
            ],
        },
        Case {
            name: "(Argo CD) some-path/*.yaml under the new globbing stays in some-path",
            globbing: Doublestar,
            pattern: "some-path/*.yaml",
            expected: &["some-path/values.yaml"],
        },
        Case {
            name: "(Argo CD) some-path/*.yaml by default crosses folders",
            globbing: Pathspec,
            pattern: "some-path/*.yaml",
            expected: &["some-path/staging/values.yaml", "some-path/values.yaml"],
        },
        Case {
            name: "(Argo CD) p1/**/config.json under the new globbing spans no folder too",
            globbing: Doublestar,
            pattern: "p1/**/config.json",
            expected: &[
                "p1/app2/config.json",
                "p1/app3/config.json",
                "p1/config.json",
                "p1/p2/config.json",
            ],
        },
        Case {
            name: "(Argo CD) p1/**/config.json by default needs at least one folder between",
            globbing: Pathspec,
            pattern: "p1/**/config.json",
            expected: &[
                "p1/app2/config.json",
                "p1/app3/config.json",
                "p1/p2/config.json",
            ],
        },
        Case {
            name: "(Argo CD) cluster-config/*/dev/config.json is one folder deep in both modes",
            globbing: Pathspec,
            pattern: "cluster-config/*/dev/config.json",
            expected: &["cluster-config/engineering/dev/config.json"],
        },
        Case {
            name: "(Argo CD) cluster-charts/*/*/values.yaml by default also finds the subchart's values",
            globbing: Pathspec,
            pattern: "cluster-charts/*/*/values.yaml",
            expected: &[
                "cluster-charts/cluster1/mychart/charts/mysubchart/values.yaml",
                "cluster-charts/cluster1/mychart/values.yaml",
                "cluster-charts/cluster1/myotherchart/values.yaml",
            ],
        },
        Case {
            name: "(Argo CD) cluster-charts/*/*/values.yaml under the new globbing is two folders deep",
            globbing: Doublestar,
            pattern: "cluster-charts/*/*/values.yaml",
            expected: &[
                "cluster-charts/cluster1/mychart/values.yaml",
                "cluster-charts/cluster1/myotherchart/values.yaml",
            ],
        },
        Case {
            name: "(Argo CD) cluster-charts/*/values.yaml by default finds values.yaml at any depth",
            globbing: Pathspec,
            pattern: "cluster-charts/*/values.yaml",
            expected: &[
                "cluster-charts/cluster1/mychart/charts/mysubchart/values.yaml",
                "cluster-charts/cluster1/mychart/values.yaml",
                "cluster-charts/cluster1/myotherchart/values.yaml",
                "cluster-charts/cluster2/values.yaml",
            ],
        },
        Case {
            name: "a pathspec naming a folder selects every file under it",
            globbing: Pathspec,
            pattern: "some-path",
            expected: &["some-path/staging/values.yaml", "some-path/values.yaml"],
        },
        Case {
            name: "a pathspec naming a file selects that file only",
            globbing: Pathspec,
            pattern: "p1/config.json",
            expected: &["p1/config.json"],
        },
        Case {
            name: "a pathspec's * matches dot-folders too",
            globbing: Pathspec,
            pattern: "apps/*component.yaml",
            expected: &["apps/.hidden/component.yaml", "apps/web/component.yaml"],
        },
        Case {
            name: "a pathspec's ? matches one character, a slash too",
            globbing: Pathspec,
            pattern: "p?/config.json",
            expected: &["p1/config.json"],
        },
        Case {
            name: "a pathspec's braces are literal",
            globbing: Pathspec,
            pattern: "apps/{dev,prod}.yaml",
            expected: &["apps/{dev,prod}.yaml"],
        },
        Case {
            name: "doublestar's braces are alternatives",
            globbing: Doublestar,
            pattern: "apps/{dev,prod}.yaml",
            expected: &["apps/dev.yaml"],
        },
        Case {
            name: "a pathspec's character class matches one of its characters, and the pattern also matches itself literally",
            globbing: Pathspec,
            pattern: "apps/[x].yaml",
            expected: &["apps/[x].yaml", "apps/x.yaml"],
        },
        Case {
            name: "a pathspec's POSIX class and negated class match as in wildmatch",
            globbing: Pathspec,
            pattern: "p[[:digit:]]/[!c]*/config.json",
            expected: &["p1/app2/config.json", "p1/app3/config.json", "p1/p2/config.json"],
        },
        Case {
            name: "a pathspec's backslash escapes a wildcard",
            globbing: Pathspec,
            pattern: "apps/\\*.yaml",
            expected: &["apps/*.yaml"],
        },
        Case {
            name: "a pathspec's ** inside a segment is a plain * that crosses folders",
            globbing: Pathspec,
            pattern: "some-path/**values.yaml",
            expected: &["some-path/staging/values.yaml", "some-path/values.yaml"],
        },
        Case {
            name: "a doublestar ** inside a segment is a plain * within the segment",
            globbing: Doublestar,
            pattern: "some-path/**values.yaml",
            expected: &["some-path/values.yaml"],
        },
        Case {
            name: "this repository's component pattern finds component files at any depth in both modes",
            globbing: Pathspec,
            pattern: "apps/**/component.yaml",
            expected: &["apps/.hidden/component.yaml", "apps/web/component.yaml"],
        },
        Case {
            name: "this repository's component pattern under the new globbing",
            globbing: Doublestar,
            pattern: "apps/**/component.yaml",
            expected: &["apps/.hidden/component.yaml", "apps/web/component.yaml"],
        },
    ];

    fn selected(globbing: Globbing, pattern: &str) -> Vec<&'static str> {
        let pattern = globbing.normalize(pattern).unwrap();
        let mut found: Vec<&str> = FILES
            .iter()
            .copied()
            .filter(|f| globbing.matches(&pattern, f))
            .collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn each_mode_selects_the_files_argo_cds_repo_server_selects() {
        for case in CASES {
            assert_eq!(
                selected(case.globbing, case.pattern),
                case.expected,
                "{} ({:?} {:?})",
                case.name,
                case.globbing,
                case.pattern
            );
        }
    }

    /// The default mode is Git's own matching: every pathspec case selects what `git ls-files`
    /// selects in a real repository holding [`FILES`].
    #[test]
    fn the_default_mode_selects_what_git_ls_files_selects() {
        let dir = crate::scratch::Scratch::dir("xtask-glob-git").unwrap();
        for file in FILES {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let sh = xshell::Shell::new().unwrap();
        sh.change_dir(dir.path());
        crate::git::init_with_everything(&sh, "files").unwrap();
        // Argo CD hands git "." for an empty path (`GetGitFiles`); so does [`Globbing::normalize`].
        let extra = [".", "./p1//config.json", "p1/./p2/../config.json", "p1/"];
        let patterns = CASES
            .iter()
            .filter(|c| c.globbing == Pathspec)
            .map(|c| c.pattern)
            .chain(extra);
        for pattern in patterns {
            let mut git = crate::git::tracked_files(&sh, &[pattern]).unwrap();
            git.sort();
            assert_eq!(selected(Pathspec, pattern), git, "pattern {pattern:?}");
        }
    }

    #[test]
    fn a_pathspec_git_refuses_or_verify_cannot_follow_is_an_error() {
        for (pattern, says) in [
            ("/p1/config.json", "absolute"),
            ("../p1/config.json", "climbs out"),
            ("p1/../../x", "climbs out"),
            (":(glob)p1/*", "pathspec magic"),
            (":!p1", "pathspec magic"),
        ] {
            let err = Pathspec.normalize(pattern).unwrap_err();
            assert!(err.contains(says), "{pattern:?}: {err}");
        }
        // doublestar takes the pattern as it is.
        assert_eq!(
            Doublestar.normalize(":(glob)p1/*").as_deref(),
            Ok(":(glob)p1/*")
        );
    }

    #[test]
    fn globs_match_like_doublestar() {
        let cases = [
            // (pattern, path, matches)
            (
                "config/clusters/azure.yaml",
                "config/clusters/azure.yaml",
                true,
            ),
            (
                "config/clusters/azure.yaml",
                "config/clusters/local.yaml",
                false,
            ),
            ("a/**/component.yaml", "a/x/component.yaml", true),
            ("a/**/component.yaml", "a/x/y/z/component.yaml", true),
            // `**` spans zero segments too.
            ("a/**/component.yaml", "a/component.yaml", true),
            ("a/**/component.yaml", "a/x/component.yml", false),
            ("a/**/component.yaml", "b/x/component.yaml", false),
            ("**", "a/b/c", true),
            ("a/**", "a/b/c", true),
            // `*` stays within a segment.
            ("a/*/component.yaml", "a/x/component.yaml", true),
            ("a/*/component.yaml", "a/x/y/component.yaml", false),
            ("a/*.yaml", "a/b.yaml", true),
            ("a/*.yaml", "a/.yaml", true),
            ("a/*.yaml", "a/b/c.yaml", false),
            ("a/c*t*.yaml", "a/component.yaml", true),
            ("a/c*x*.yaml", "a/component.yaml", false),
            ("a/?.yaml", "a/b.yaml", true),
            ("a/?.yaml", "a/bc.yaml", false),
            ("a/?", "a//", false),
            ("a/[bc].yaml", "a/c.yaml", true),
            ("a/[bc].yaml", "a/d.yaml", false),
            ("a/[!bc].yaml", "a/d.yaml", true),
            ("a/[^bc].yaml", "a/b.yaml", false),
            ("a/[a-c]x", "a/bx", true),
            ("a/[a-c]x", "a/dx", false),
            ("a/{dev,prod}.yaml", "a/prod.yaml", true),
            ("a/{dev,prod}.yaml", "a/staging.yaml", false),
            ("a/{x/**/c,d}.yaml", "a/x/y/c.yaml", true),
            ("a/\\*.yaml", "a/*.yaml", true),
            ("a/\\*.yaml", "a/b.yaml", false),
            // A `**` inside a segment is just `*`.
            ("a/b**.yaml", "a/bxy.yaml", true),
            ("a/b**.yaml", "a/b/x.yaml", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(
                doublestar_matches(pattern, path),
                expected,
                "{pattern:?} against {path:?}"
            );
        }
    }

    #[test]
    fn the_literal_prefix_stops_at_the_first_wildcard() {
        assert_eq!(
            literal_prefix("environments/_shared/components/**/component.yaml"),
            "environments/_shared/components"
        );
        assert_eq!(
            literal_prefix("config/clusters/azure.yaml"),
            "config/clusters/azure.yaml"
        );
        assert_eq!(literal_prefix("*/x.yaml"), "");
        assert_eq!(literal_prefix("a/{b,c}/x"), "a");
    }
}
