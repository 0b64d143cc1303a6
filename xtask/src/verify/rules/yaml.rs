//! `yaml-parse` and `yaml-duplicate-key`, and the line scanner the other rules use to point at
//! a key's line.
//!
//! the YAML parser refuses duplicate keys but reports the line of the mapping, not of the second key;
//! the scanner below walks block mappings by indentation to find it. It knows block scalars
//! (`- |`), whose lines are text and never keys, and skips multi-line flow collections and
//! quoted scalars. It is a locator, not a parser: duplicates are reported only when the parser
//! also refuses the file, so a scanner mistake can never invent a problem.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Problem, SourceFile};

/// How deep the rules read YAML nested in block scalars (`manifests: - |` is one level): the
/// fixed budget that keeps a file of nested block scalars from costing its size times its depth.
/// Real files nest two or three levels; deeper is reported as `yaml-budget`.
pub const NESTED_YAML_DEPTH: usize = 8;

/// Every document of a YAML text.
pub fn parse_all(text: &str) -> Result<Vec<crate::yaml::Value>, crate::yaml::Error> {
    crate::yaml::Deserializer::from_str(text)
        .map(crate::yaml::Value::deserialize)
        .collect()
}

/// `yaml-parse` and `yaml-duplicate-key` on one file.
pub fn check(file: &SourceFile) -> Vec<Problem> {
    let Some(Err(err)) = &file.docs else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let message = err.to_string();
    let serde_line = err.location().map_or(0, |l| l.line());
    if message.contains("duplicate entry with key") {
        let duplicates = scan(&file.text).duplicates;
        if duplicates.is_empty() {
            problems.push(Problem::new(
                &file.path,
                serde_line,
                "yaml-duplicate-key",
                format!("{message}; a later key silently replaces the earlier one in Argo CD and Helm: keep one"),
            ));
        }
        for d in duplicates {
            problems.push(Problem::new(
                &file.path,
                d.line,
                "yaml-duplicate-key",
                format!(
                    "key \"{}\" repeats the one on line {} of the same mapping; a later key silently replaces the earlier one in Argo CD and Helm: merge them into one",
                    d.key, d.first_line
                ),
            ));
        }
    } else {
        problems.push(Problem::new(
            &file.path,
            serde_line,
            "yaml-parse",
            format!("is not valid YAML ({message}); an unparseable file fails the whole generator or render that reads it"),
        ));
    }
    problems
}

/// The 1-based line of the first key at `path` (keys of nested block mappings; `-` stands for
/// any sequence item), 0 when there is none.
pub fn line_of_path(text: &str, path: &[&str]) -> usize {
    scan(text)
        .keys
        .iter()
        .find(|k| k.path.iter().map(String::as_str).eq(path.iter().copied()))
        .map_or(0, |k| k.line)
}

/// A key of a block mapping as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// 1-based.
    pub line: usize,
    /// The keys from the document root, `-` for a sequence item; the last one is this key.
    pub path: Vec<String>,
    /// Identifies the mapping the key belongs to (keys of one list item share it).
    pub mapping: usize,
    /// The value on the key's line without a trailing comment, as written (quotes kept);
    /// for a block scalar, its lines joined.
    pub value: String,
}

impl Key {
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }
}

/// A block scalar's text (`key: |` or `- |`), for rules that look inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The 1-based line of the first text line.
    pub first_line: usize,
    /// The text lines with the common indentation removed.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub line: usize,
    pub first_line: usize,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub keys: Vec<Key>,
    pub blocks: Vec<Block>,
    pub duplicates: Vec<Duplicate>,
}

/// One open node while walking: a key whose value may be a nested block, a sequence item, or
/// the document.
struct Open {
    indent: isize,
    /// The key, or `-` for a sequence item.
    key: String,
    is_item: bool,
    id: usize,
    children: HashMap<String, usize>,
}

/// What the lines after the current one are, when they are not structure.
enum Skip {
    None,
    /// Block scalar text: lines indented deeper than this, and blank lines.
    Block {
        indent: usize,
        key: Option<usize>,
        first_line: usize,
        lines: Vec<String>,
    },
    /// A flow collection spanning lines, with its open bracket depth.
    Flow(usize),
    /// A quoted scalar spanning lines, closed by this quote character.
    Quoted(char),
}

pub fn scan(text: &str) -> Scan {
    let mut out = Scan::default();
    let mut next_id = 1;
    let mut stack = vec![root_node()];
    let mut skip = Skip::None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        match &mut skip {
            Skip::None => {}
            Skip::Block {
                indent: owner,
                lines,
                ..
            } => {
                if raw.trim().is_empty() || indent > *owner {
                    lines.push(raw.to_owned());
                    continue;
                }
                finish_block(&mut out, std::mem::replace(&mut skip, Skip::None));
            }
            Skip::Flow(depth) => {
                *depth = flow_depth(raw, *depth);
                if *depth == 0 {
                    skip = Skip::None;
                }
                continue;
            }
            Skip::Quoted(quote) => {
                if closes_quote(raw, *quote) {
                    skip = Skip::None;
                }
                continue;
            }
        }
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if indent == 0 && (is_marker(content, "---") || is_marker(content, "...")) {
            stack = vec![root_node()];
            continue;
        }
        if indent == 0 && content.starts_with('%') {
            continue;
        }

        let mut col = indent;
        let mut rest = content;
        // Sequence items: "- " possibly repeated ("- - a").
        let mut dash_col = None;
        while rest == "-" || rest.starts_with("- ") {
            pop_for_item(&mut stack, col as isize);
            stack.push(Open {
                indent: col as isize,
                key: "-".to_owned(),
                is_item: true,
                id: next_id,
                children: HashMap::new(),
            });
            next_id += 1;
            dash_col = Some(col);
            let after = &rest[1..];
            let trimmed = after.trim_start_matches(' ');
            col += 1 + (after.len() - trimmed.len());
            rest = trimmed;
            if rest.is_empty() || rest.starts_with('#') {
                break;
            }
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }

        match split_key(rest) {
            Some((key, value)) => {
                while stack.last().is_some_and(|o| o.indent >= col as isize) {
                    stack.pop();
                }
                let parent = stack.last_mut().expect("the root is never popped");
                let parent_id = parent.id;
                if let Some(&first_line) = parent.children.get(&key) {
                    out.duplicates.push(Duplicate {
                        key: key.clone(),
                        line: line_no,
                        first_line,
                    });
                } else {
                    parent.children.insert(key.clone(), line_no);
                }
                let mut path: Vec<String> = stack.iter().skip(1).map(|o| o.key.clone()).collect();
                path.push(key.clone());
                let value = strip_comment(value).to_owned();
                out.keys.push(Key {
                    line: line_no,
                    path,
                    mapping: parent_id,
                    value: value.clone(),
                });
                stack.push(Open {
                    indent: col as isize,
                    key,
                    is_item: false,
                    id: next_id,
                    children: HashMap::new(),
                });
                next_id += 1;
                skip = value_skip(&value, col, Some(out.keys.len() - 1), line_no);
            }
            None => {
                // A scalar item ("- |", "- text") or a continuation line.
                let owner = dash_col.unwrap_or(col);
                skip = value_skip(strip_comment(rest), owner, None, line_no);
            }
        }
    }
    finish_block(&mut out, skip);
    out
}

fn root_node() -> Open {
    Open {
        indent: -1,
        key: String::new(),
        is_item: false,
        id: 0,
        children: HashMap::new(),
    }
}

/// A new sequence item at `col` closes everything deeper and the previous item at `col`, but
/// not a key at `col` whose value is this (compact) sequence.
fn pop_for_item(stack: &mut Vec<Open>, col: isize) {
    while let Some(top) = stack.last() {
        if top.indent > col || (top.indent == col && top.is_item) {
            stack.pop();
        } else {
            break;
        }
    }
}

fn is_marker(content: &str, marker: &str) -> bool {
    content
        .strip_prefix(marker)
        .is_some_and(|r| r.is_empty() || r.starts_with(' ') || r.starts_with('\t'))
}

/// Splits `key: value` (or `key:`), with plain, single- or double-quoted keys.
fn split_key(rest: &str) -> Option<(String, &str)> {
    let (key, after) = if let Some(quote @ ('"' | '\'')) = rest.chars().next() {
        let end = closing_quote(&rest[1..], quote)? + 1;
        let key = &rest[1..end];
        let key = if quote == '"' {
            key.replace("\\\"", "\"")
        } else {
            key.replace("''", "'")
        };
        (key, rest[end + 1..].trim_start_matches(' '))
    } else {
        if rest.starts_with(|c: char| "[]{},#&*!|>%@`?".contains(c)) {
            return None;
        }
        let colon = rest
            .char_indices()
            .find(|&(i, c)| {
                c == ':' && matches!(rest.as_bytes().get(i + 1), None | Some(b' ' | b'\t'))
            })
            .map(|(i, _)| i)?;
        let key = rest[..colon].trim_end();
        if key.contains(" #") {
            return None;
        }
        (key.to_owned(), &rest[colon..])
    };
    let value = after.strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, value.trim()))
}

/// The byte index (in `s`) of the quote that closes a scalar opened just before `s`.
fn closing_quote(s: &str, quote: char) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
            } else {
                return Some(i);
            }
        }
    }
    None
}

fn closes_quote(line: &str, quote: char) -> bool {
    closing_quote(line, quote).is_some()
}

/// The value without a trailing ` # comment` (outside quotes).
fn strip_comment(value: &str) -> &str {
    let value = value.trim();
    if value.starts_with('#') {
        return "";
    }
    if let Some(quote @ ('"' | '\'')) = value.chars().next() {
        if let Some(end) = closing_quote(&value[1..], quote) {
            let after = &value[end + 2..];
            if after.trim_start().starts_with('#') || after.trim().is_empty() {
                return &value[..end + 2];
            }
        }
        return value;
    }
    match value.find(" #").or_else(|| value.find("\t#")) {
        Some(i) => value[..i].trim_end(),
        None => value,
    }
}

/// What follows a value: block scalar text, the rest of a flow collection or of a quoted scalar.
fn value_skip(value: &str, owner: usize, key: Option<usize>, line_no: usize) -> Skip {
    // Tags and anchors may precede the indicator: `!!binary |`, `&text >-`.
    let last = value.split_whitespace().last().unwrap_or("");
    let props_only = value
        .split_whitespace()
        .rev()
        .skip(1)
        .all(|t| t.starts_with('!') || t.starts_with('&'));
    if props_only
        && last.starts_with(['|', '>'])
        && last[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '-')
    {
        return Skip::Block {
            indent: owner,
            key,
            first_line: line_no + 1,
            lines: Vec::new(),
        };
    }
    if value.starts_with(['[', '{']) {
        let depth = flow_depth(value, 0);
        if depth > 0 {
            return Skip::Flow(depth);
        }
    }
    if let Some(quote @ ('"' | '\'')) = value.chars().next() {
        if closing_quote(&value[1..], quote).is_none() {
            return Skip::Quoted(quote);
        }
    }
    Skip::None
}

/// The bracket depth after `line`, ignoring brackets inside quotes.
fn flow_depth(line: &str, mut depth: usize) -> usize {
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, '#') => break,
            _ => {}
        }
    }
    depth
}

fn finish_block(out: &mut Scan, skip: Skip) {
    let Skip::Block {
        key,
        first_line,
        mut lines,
        ..
    } = skip
    else {
        return;
    };
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let text: String = lines
        .iter()
        .map(|l| format!("{}\n", l.get(common..).unwrap_or("")))
        .collect();
    if let Some(key) = key {
        out.keys[key].value = text.clone();
    }
    out.blocks.push(Block { first_line, text });
}

#[cfg(test)]
mod tests {
    use indoc::indoc;
    use pretty_assertions::assert_eq;

    use super::super::fixture::{self, Fixture};
    use super::*;

    fn paths(text: &str) -> Vec<(usize, String)> {
        scan(text)
            .keys
            .into_iter()
            .map(|k| (k.line, k.path.join(".")))
            .collect()
    }

    #[test]
    fn the_scanner_walks_block_mappings_and_sequences() {
        let text = indoc! {r#"
            # comment: not a key
            enabled: true
            image:
              ref: "x" # trailing
            tests:
              - name: a
                command:
                  - grpcurl
              - name: b
            compact:
            - key: 1
              other: 2
            "quoted key": 1
            'single': 2
            url: http://example.com:80/x
            deep:
              - - nested: 1
        "#};
        assert_eq!(
            paths(text),
            [
                (2, "enabled".to_owned()),
                (3, "image".to_owned()),
                (4, "image.ref".to_owned()),
                (5, "tests".to_owned()),
                (6, "tests.-.name".to_owned()),
                (7, "tests.-.command".to_owned()),
                (9, "tests.-.name".to_owned()),
                (10, "compact".to_owned()),
                (11, "compact.-.key".to_owned()),
                (12, "compact.-.other".to_owned()),
                (13, "quoted key".to_owned()),
                (14, "single".to_owned()),
                (15, "url".to_owned()),
                (16, "deep".to_owned()),
                (17, "deep.-.-.nested".to_owned()),
            ]
        );
        let keys = scan(text).keys;
        assert_eq!(keys[2].value, "\"x\"");
        assert_eq!(keys[12].value, "http://example.com:80/x");
        assert!(scan(text).duplicates.is_empty());
    }

    #[test]
    fn block_scalar_text_is_never_a_key() {
        let text = indoc! {r#"
            manifests:
              - |
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: a

                kind: again
              - |
                apiVersion: v1
            script: |-
              name: x
              name: y
            folded: >
              a: b
            after: 1
        "#};
        assert_eq!(
            paths(text),
            [
                (1, "manifests".to_owned()),
                (11, "script".to_owned()),
                (14, "folded".to_owned()),
                (16, "after".to_owned()),
            ]
        );
        let scanned = scan(text);
        assert!(scanned.duplicates.is_empty());
        assert_eq!(scanned.blocks.len(), 4);
        assert_eq!(scanned.blocks[0].first_line, 3);
        assert_eq!(
            scanned.blocks[0].text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n\nkind: again\n"
        );
        assert_eq!(scanned.keys[1].value, "name: x\nname: y\n");
    }

    #[test]
    fn multi_line_flow_and_quoted_values_are_skipped() {
        let text = indoc! {r#"
            list: [a,
              b: c]
            text: "first
              second: x"
            next: 1
        "#};
        assert_eq!(
            paths(text),
            [
                (1, "list".to_owned()),
                (3, "text".to_owned()),
                (5, "next".to_owned())
            ]
        );
    }

    #[test]
    fn duplicates_are_found_at_their_second_line() {
        let text = indoc! {r#"
            a: 1
            b:
              x: 1
              y: 2
              x: 3
            items:
              - name: one
                name: two
              - name: three
            "a": 4
            ---
            a: 1
        "#};
        assert_eq!(
            scan(text).duplicates,
            [
                Duplicate {
                    key: "x".into(),
                    line: 5,
                    first_line: 3
                },
                Duplicate {
                    key: "name".into(),
                    line: 8,
                    first_line: 7
                },
                Duplicate {
                    key: "a".into(),
                    line: 10,
                    first_line: 1
                },
            ]
        );
    }

    #[test]
    fn line_of_path_follows_nesting() {
        let text = "other:\n  ref: no\nimage:\n  tag: x\n  ref: yes\n";
        assert_eq!(line_of_path(text, &["image", "ref"]), 5);
        assert_eq!(line_of_path(text, &["image", "missing"]), 0);
    }

    #[test]
    fn serde_yaml_refuses_duplicates_itself() {
        // The rule relies on it: the scanner only locates what the YAML parser refuses.
        let err = parse_all("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(
            err.to_string().contains("duplicate entry with key"),
            "{err}"
        );
    }

    #[test]
    fn a_duplicate_key_is_reported_at_the_second_occurrence() {
        let fx = Fixture::new();
        let path = "sources/values/_shared/platform/default-deny.yaml";
        let text = fx.read(path) + "enabled: false\n";
        fx.write(path, &text);
        let problems = fx.check();
        let found = fixture::find(&problems, "yaml-duplicate-key", path);
        assert_eq!(found.line, text.lines().count());
        assert!(
            found.message.contains("key \"enabled\""),
            "{}",
            found.message
        );
    }

    #[test]
    fn a_duplicate_in_a_flow_mapping_falls_back_to_serde_yamls_line() {
        let fx = Fixture::new();
        let path = "config/node-profiles/dev-pool.yaml";
        fx.write(path, "# x\nscheduling: {a: 1, a: 2}\n");
        let found = fixture::find(&fx.check(), "yaml-duplicate-key", path).clone();
        assert_eq!(found.line, 2);
    }

    #[test]
    fn unparseable_yaml_is_reported_with_its_line_and_chart_templates_are_not_yaml() {
        let fx = Fixture::new();
        let path = "argocd/projects/broken.yaml";
        fx.write(path, "a: 1\nb: [1, 2\n");
        fx.write(
            "sources/charts/foundation/helm-test-jobs/templates/extra.yaml",
            "{{- if .Values.x }}\na: [\n{{- end }}\n",
        );
        let problems = fx.check();
        let found = fixture::find(&problems, "yaml-parse", path);
        assert!(found.line >= 2, "{found:?}");
        assert_eq!(
            problems.iter().filter(|p| p.rule == "yaml-parse").count(),
            1,
            "{problems:#?}"
        );
    }
}
