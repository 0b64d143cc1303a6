//! The file globs of Argo CD's git files generator, matched the way its repo-server does with
//! doublestar: `*` and `?` stay within one path segment, `**` as a whole segment spans any number of
//! segments (none included), `[...]` is a character class (`[!...]` or `[^...]` negated), `{a,b}`
//! are alternatives and `\` escapes the next character.
//!
//! Paths are repository-relative with '/' separators.

/// Whether `path` matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
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
                matches(pattern, path),
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
