//! Go template text as Argo CD evaluates it, prepared for helm's engine (the same text/template and
//! sprig, but with `missingkey=zero` and a function set of its own; docs/argo-model.md, "Go
//! templates").
//!
//! Argo CD's `missingkey` option is emulated by rewriting field chains that start at a value
//! (`.a.b`, `$.a`, `$x.a`). For `missingkey=error` every chain becomes `(and (include "appset.key"
//! (list . "a" "b")) .a.b)`: the named template walks the keys and fails with Go's own message on
//! the first missing one, and `and` returns the original, typed value when it does not. Only chains
//! that are actually evaluated can fail, so `{{ if hasKey . "x" }}{{ .x }}{{ end }}` stays legal when
//! `x` is absent, as in Argo CD. For `missingkey=default` (or `invalid`) a chain of two or more
//! fields becomes no value at its first missing key instead of failing as under helm's `zero`.
//!
//! The function set is Argo CD's (`applicationset/utils/utils.go`): sprig without `env`,
//! `expandenv` and `getHostByName`, with Argo CD's `normalize`, `slugify`, `toYaml`, `fromYaml`
//! and `fromYamlArray`. A function helm has and Argo CD lacks is noted ([`Prepared::undefined`]);
//! one Argo CD has and helm lacks, or has with other semantics, is rewritten into a call of the
//! named template in `functions.tpl` that computes Argo CD's result: `slugify 20 .name` becomes
//! `list 20 .name | include "appset.slugify"`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::helm;
use crate::verify::cache::{Cache, Key, What};

/// One parameter set of a generator.
/// A parameter set as compact JSON text (an object).
type Params = str;

/// The named templates the rewritten chains and functions call.
pub const HELPERS: &str = include_str!("functions.tpl");

/// Functions helm's engine has and Argo CD's does not (`env` and `expandenv` neither has): Argo
/// CD fails to parse a template that calls one ("function \"include\" not defined").
pub const UNDEFINED: [&str; 12] = [
    "include",
    "tpl",
    "required",
    "lookup",
    "toToml",
    "fromToml",
    "toYamlPretty",
    "mustToYaml",
    "fromJsonArray",
    "getHostByName",
    "env",
    "expandenv",
];

/// The `appset` problem of a template (`field` of ApplicationSet `appset`) that calls `function`,
/// one of [`UNDEFINED`].
pub fn undefined_message(field: &str, appset: &str, function: &str) -> String {
    let whose = match function {
        "env" | "expandenv" | "getHostByName" => {
            "Argo CD removes it from sprig's functions so that a template cannot read the controller's environment"
        }
        _ => "helm has it, Argo CD's ApplicationSet controller does not",
    };
    format!(
        "{field}: function \"{function}\" not defined ({whose}): Argo CD fails to parse the template and generates none of the Applications of ApplicationSet {appset}; use the functions Argo CD offers (sprig's and normalize, slugify, toYaml, fromYaml, fromYamlArray; docs/argo-model.md)"
    )
}

/// Functions whose Argo CD semantics a named template of [`HELPERS`] computes: the name, and
/// what the template's output is piped into (its text becomes the function's value).
const EMULATED: [(&str, &str); 5] = [
    ("normalize", ""),
    ("slugify", ""),
    ("fromJson", " | mustFromJson"),
    ("fromYaml", " | fromYaml"),
    ("fromYamlArray", " | fromYamlArray"),
];

/// `goTemplateOptions`' `missingkey`, as Go's `template.Option` sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default` or `missingkey=invalid`, and no option at all: no value.
    #[default]
    Invalid,
    /// `missingkey=zero`: the zero value (helm's own mode).
    Zero,
    /// `missingkey=error`: the template fails.
    Error,
}

impl MissingKey {
    /// The options Argo CD applies one by one to each template (later ones win), or Go's panic
    /// for an option it does not know: the ApplicationSet controller generates nothing then.
    pub fn from_options(options: &[&str]) -> Result<MissingKey, String> {
        let mut mode = MissingKey::default();
        for option in options {
            mode = match *option {
                "" => return Err("empty option string".to_owned()),
                "missingkey=default" | "missingkey=invalid" => MissingKey::Invalid,
                "missingkey=zero" => MissingKey::Zero,
                "missingkey=error" => MissingKey::Error,
                other => return Err(format!("unrecognized option: {other}")),
            };
        }
        Ok(mode)
    }
}

/// A template prepared for helm.
#[derive(Debug, PartialEq, Eq)]
pub struct Prepared {
    pub text: String,
    /// The functions of [`UNDEFINED`] the template calls, in order of first use.
    pub undefined: Vec<String>,
}

/// Rewrites field chains for `missing_key` and Argo CD's functions for helm, and notes the
/// functions Argo CD does not define.
pub fn prepare(text: &str, missing_key: MissingKey) -> Prepared {
    let mut out = String::with_capacity(text.len() * 2);
    let mut undefined: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let action = &rest[open..];
        let consumed = if is_comment(action) {
            let end = action
                .find("*/")
                .and_then(|i| action[i..].find("}}").map(|j| i + j + 2))
                .unwrap_or(action.len());
            out.push_str(&action[..end]);
            end
        } else {
            scan_action(action, missing_key, &mut out, &mut undefined)
        };
        rest = &action[consumed..];
    }
    out.push_str(rest);
    Prepared {
        text: out,
        undefined,
    }
}

fn is_comment(action: &str) -> bool {
    let inner = &action[2..];
    // Like Go's lexer: `/*` right after the delimiter or after the trim marker "- ".
    inner.strip_prefix("- ").unwrap_or(inner).starts_with("/*")
}

/// Copies one action (starting at `{{`) to `out`, rewriting its chains and functions; returns
/// the bytes consumed.
fn scan_action(
    action: &str,
    missing_key: MissingKey,
    out: &mut String,
    undefined: &mut Vec<String>,
) -> usize {
    let bytes = action.as_bytes();
    out.push_str("{{");
    let mut i = 2;
    if action[i..].starts_with('-') && bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace) {
        out.push('-');
        i += 1;
    }
    // The byte before the current one inside the action, to tell `x.y` / `).y` from a chain start.
    let mut previous = b'{';
    // Whether the next word starts a command (a function call with the words after it as its
    // arguments), and whether a string literal makes one start (after `template` or `block`).
    let mut command_start = true;
    let mut after_template = false;
    // Where the commands of rewritten functions end, innermost last, with what goes there.
    let mut pending: Vec<(usize, String)> = Vec::new();
    while i < bytes.len() {
        while let Some((_, suffix)) = pending.pop_if(|(at, _)| *at <= i) {
            out.push_str(&suffix);
        }
        let c = bytes[i];
        if action[i..].starts_with("}}") {
            out.push_str("}}");
            return i + 2;
        }
        let starts = command_start;
        if !c.is_ascii_whitespace() {
            command_start = matches!(c, b'(' | b'|' | b'=');
        }
        match c {
            b'"' | b'\'' => {
                let end = quoted_end(bytes, i, c);
                out.push_str(&action[i..end]);
                i = end;
                previous = c;
                command_start = std::mem::take(&mut after_template);
            }
            b'`' => {
                let end = action[i + 1..]
                    .find('`')
                    .map_or(bytes.len(), |j| i + 1 + j + 1);
                out.push_str(&action[i..end]);
                i = end;
                previous = c;
                command_start = std::mem::take(&mut after_template);
            }
            b'$' => {
                let name_end = i + 1 + ident_len(&action[i + 1..]);
                let (fields, end) = field_chain(action, name_end);
                let variable = &action[i..name_end];
                out.push_str(&guarded(variable, &fields, &action[i..end], missing_key));
                i = end;
                previous = b'a';
            }
            b'.' if !is_ident_byte(previous) && !matches!(previous, b')' | b'.') => {
                let (fields, end) = field_chain(action, i);
                if fields.is_empty() {
                    // The bare dot, or a number like `.5`.
                    let number = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                    let end = if number {
                        i + 1 + ident_len(&action[i + 1..])
                    } else {
                        i + 1
                    };
                    out.push_str(&action[i..end]);
                    i = end;
                    previous = if number { b'0' } else { b'.' };
                } else {
                    out.push_str(&guarded(".", &fields, &action[i..end], missing_key));
                    i = end;
                    previous = b'a';
                }
            }
            _ if is_ident_start(c) && !is_ident_byte(previous) && previous != b'.' => {
                let end = i + ident_len(&action[i..]);
                let word = &action[i..end];
                if UNDEFINED.contains(&word) && !undefined.iter().any(|w| w == word) {
                    undefined.push(word.to_owned());
                }
                match EMULATED.iter().find(|(name, _)| *name == word) {
                    Some((name, then)) if starts => {
                        out.push_str("list");
                        let at = command_end(action, end);
                        pending.push((at, format!(" | include \"appset.{name}\"{then}")));
                    }
                    // Not first in its command: Go calls it without arguments.
                    Some((name, then)) => {
                        out.push_str(&format!("(list | include \"appset.{name}\"{then})"));
                    }
                    None => out.push_str(word),
                }
                command_start = matches!(word, "if" | "with" | "range" | "else");
                after_template = matches!(word, "template" | "block");
                i = end;
                previous = b'a';
            }
            _ => {
                let ch = action[i..].chars().next().expect("inside the action");
                out.push(ch);
                i += ch.len_utf8();
                previous = if ch.is_ascii() { c } else { b'a' };
            }
        }
    }
    // An unclosed action: left for the template parser to report.
    while let Some((_, suffix)) = pending.pop() {
        out.push_str(&suffix);
    }
    bytes.len()
}

/// Where the command whose first word ends at `from` ends: before the `|`, `)` or `}}` that
/// closes it (and the whitespace and trim marker before that).
fn command_end(action: &str, from: usize) -> usize {
    let bytes = action.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    let stop = loop {
        let Some(&c) = bytes.get(i) else {
            break i;
        };
        match c {
            b'"' | b'\'' => i = quoted_end(bytes, i, c),
            b'`' => i = action[i + 1..].find('`').map_or(bytes.len(), |j| i + j + 2),
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' if depth == 0 => break i,
            b')' => {
                depth -= 1;
                i += 1;
            }
            b'|' if depth == 0 => break i,
            b'}' if depth == 0 && action[i..].starts_with("}}") => {
                let before = action[from..i].trim_end();
                break match before.strip_suffix('-') {
                    Some(rest) if rest.ends_with(|c: char| c.is_ascii_whitespace()) => {
                        from + rest.len()
                    }
                    _ => from + before.len(),
                };
            }
            _ => i += 1,
        }
    };
    from + action[from..stop].trim_end().len()
}

/// A field chain as `missing_key` evaluates it: `(and (include "appset.key" (list . "a" "b"))
/// .a.b)` for `error`; for `default`, a chain of two or more fields that is no value at its first
/// missing key, `(index (or (and (include "appset.has" (list . "a" "b")) (dict "v" .a.b)) (dict))
/// "v")`; the chain as written otherwise.
fn guarded(root: &str, fields: &[&str], chain: &str, missing_key: MissingKey) -> String {
    let keys: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    let keys = keys.join(" ");
    match missing_key {
        MissingKey::Error if !fields.is_empty() => {
            format!("(and (include \"appset.key\" (list {root} {keys})) {chain})")
        }
        MissingKey::Invalid if fields.len() > 1 => format!(
            "(index (or (and (include \"appset.has\" (list {root} {keys})) (dict \"v\" {chain})) (dict)) \"v\")"
        ),
        _ => chain.to_owned(),
    }
}

/// The fields of the chain `.a.b` starting at `start` (which may hold no field), and its end.
fn field_chain(action: &str, start: usize) -> (Vec<&str>, usize) {
    let mut fields = Vec::new();
    let mut i = start;
    while action[i..].starts_with('.') {
        let rest = &action[i + 1..];
        if !rest.chars().next().is_some_and(is_ident_start_char) {
            break;
        }
        let len = ident_len(rest);
        fields.push(&rest[..len]);
        i += 1 + len;
    }
    (fields, i)
}

fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn ident_len(text: &str) -> usize {
    text.char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i)
}

fn is_ident_start_char(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Why a template could not be rendered: the template at fault (an index into the templates given
/// to [`render`]) when known, and the Go template error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub template: Option<usize>,
    pub message: String,
}

#[derive(Debug)]
pub enum Outcome {
    /// Per parameter set: the rendered text of every template, or why one failed.
    Rendered(Vec<Result<Vec<String>, Failure>>),
    /// A template does not parse: no parameter set renders.
    Unparsable(Failure),
}

/// The most bytes of sets, or of the template that ranges over them, one helm run gets: helm
/// refuses a chart file over 5 MiB, and a thousand primitives in three envs pass that.
const BATCH_BYTES: usize = 2 << 20;
/// Below this many sets a second helm run costs more than it saves.
const MIN_BATCH_SETS: usize = 128;

/// Renders every template with every parameter set, in batches small enough for helm's file size
/// limit, on as many threads as there are cores (a helm run uses one); the results come back in
/// the order of `sets`, and the first batch that cannot parse a template decides the outcome.
///
/// With a `cache`, each set's strings are one entry, keyed by helm's version, the templates and
/// the set: a run sends only new or changed sets to helm, and a caller that renders the sets a
/// chunk at a time reads and writes only that chunk's entries, never the whole ApplicationSet's.
pub fn render(
    sh: &Shell,
    helm: &Path,
    templates: &[String],
    sets: &[&Params],
    cache: Option<&Cache>,
) -> Result<Outcome> {
    let cache = cache.filter(|_| templates.iter().all(|t| deterministic(t)));
    let mut results: Vec<Option<Result<Vec<String>, Failure>>> = vec![None; sets.len()];
    let mut keys = Vec::new();
    if let Some(cache) = cache {
        keys = set_keys(cache, templates, sets);
        for (result, key) in results.iter_mut().zip(&keys) {
            *result = cache
                .read(What::Discovery, key)
                .and_then(|text| serde_json::from_str::<Vec<String>>(&text).ok())
                .filter(|strings| strings.len() == templates.len())
                .map(Ok);
        }
        let hits = results.iter().filter(|r| r.is_some()).count();
        cache.count(What::Discovery, hits, sets.len() - hits);
    }
    let missing: Vec<usize> = (0..sets.len()).filter(|&i| results[i].is_none()).collect();
    let to_render: Vec<&Params> = missing.iter().map(|&i| sets[i]).collect();
    let rendered = match render_parallel(sh, helm, templates, &to_render)? {
        Outcome::Rendered(rendered) => rendered,
        unparsable @ Outcome::Unparsable(_) => return Ok(unparsable),
    };
    for (&i, result) in missing.iter().zip(rendered) {
        if let (Some(cache), Ok(strings)) = (cache, &result) {
            cache.put(
                What::Discovery,
                &keys[i],
                &serde_json::to_string(strings).unwrap_or_default(),
            );
        }
        results[i] = Some(result);
    }
    Ok(Outcome::Rendered(
        results
            .into_iter()
            .map(|r| r.expect("every set read, rendered or failed"))
            .collect(),
    ))
}

/// The cache key of each set's strings: helm's version, the templates and the set.
fn set_keys(cache: &Cache, templates: &[String], sets: &[&Params]) -> Vec<Key> {
    let mut fields = vec![
        b"appset-templates".as_slice(),
        cache.helm_version().as_bytes(),
        HELPERS.as_bytes(),
    ];
    fields.extend(templates.iter().map(|t| t.as_bytes()));
    let templates_key = Key::of(&fields);
    sets.iter()
        .map(|set| Key::of(&[templates_key.as_str().as_bytes(), set.as_bytes()]))
        .collect()
}

/// How many of `sets` [`render`] would send to helm: those `cache` holds no entry for (all of
/// them without a cache). Only looks: a damaged entry counts as held, and is rendered anyway.
pub fn uncached(templates: &[String], sets: &[&Params], cache: Option<&Cache>) -> usize {
    match cache.filter(|_| templates.iter().all(|t| deterministic(t))) {
        Some(cache) => set_keys(cache, templates, sets)
            .iter()
            .filter(|key| !cache.has(What::Discovery, key))
            .count(),
        None => sets.len(),
    }
}

/// Whether a template renders the same for the same parameters: sprig's clock, randomness and
/// key generation do not, so their output is never cached.
fn deterministic(template: &str) -> bool {
    const VARYING: [&str; 9] = [
        "now",
        "rand",
        "uuid",
        "shuffle",
        "genPrivateKey",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "htpasswd",
    ];
    !VARYING.iter().any(|word| template.contains(word))
}

fn render_parallel(
    sh: &Shell,
    helm: &Path,
    templates: &[String],
    sets: &[&Params],
) -> Result<Outcome> {
    let batches = batches(sets, templates.len(), crate::pool::workers());
    if batches.len() <= 1 {
        return render_batch(sh, helm, templates, sets);
    }
    let outcomes = crate::pool::map(sh, &batches, |sh, range| {
        render_batch(sh, helm, templates, &sets[range.clone()])
    });
    let mut rendered = Vec::with_capacity(sets.len());
    for outcome in outcomes {
        match outcome? {
            Outcome::Rendered(results) => rendered.extend(results),
            unparsable @ Outcome::Unparsable(_) => return Ok(unparsable),
        }
    }
    Ok(Outcome::Rendered(rendered))
}

/// Consecutive ranges of `sets`, each within [`BATCH_BYTES`], and at least one per core once
/// there are enough sets to be worth it.
fn batches(sets: &[&Params], templates: usize, cores: usize) -> Vec<std::ops::Range<usize>> {
    // One line of the ranging template per set and template, about this long.
    let per_set = 80 * templates.max(1);
    let sizes: Vec<usize> = sets.iter().map(|s| s.len().max(per_set) + 1).collect();
    let total: usize = sizes.iter().sum();
    let wanted = cores.min(sets.len() / MIN_BATCH_SETS).max(1);
    let limit = BATCH_BYTES.min(total.div_ceil(wanted));
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.into_iter().enumerate() {
        if i > start && bytes + size > limit {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sets.len() {
        out.push(start..sets.len());
    }
    out
}

/// The helm runs [`render_batch`] made in this process.
pub static HELM_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Renders every template with every parameter set in one helm run over a throwaway chart: each
/// template becomes a named template executed with the set as both `.` and `$` (as Argo CD
/// executes it), its output JSON-encoded so that any text survives helm's YAML handling (and its
/// stripping of "<no value>"). A set that fails is set aside and the rest rendered again, so that
/// every failing set is reported, not only the first.
fn render_batch(
    sh: &Shell,
    helm: &Path,
    templates: &[String],
    sets: &[&Params],
) -> Result<Outcome> {
    let chart = crate::scratch::Scratch::dir("xtask-appset-chart")
        .context("creating a temporary chart for the ApplicationSet templates")?;
    let dir = chart.path();
    let write = |path: &str, text: &str| {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("inside the chart"))
            .and_then(|()| std::fs::write(&target, text))
            .with_context(|| format!("writing {}", target.display()))
    };
    write(
        "Chart.yaml",
        "apiVersion: v2\nname: appset\nversion: 0.0.0\n",
    )?;
    write("templates/_appset.tpl", HELPERS)?;
    for (i, text) in templates.iter().enumerate() {
        // No trim markers: the template's own leading and trailing whitespace is output.
        write(&format!("templates/_t{i}.tpl"), &template_file(text, i))?;
    }

    let mut results: Vec<Option<Result<Vec<String>, Failure>>> = vec![None; sets.len()];
    let mut pending: Vec<usize> = (0..sets.len()).collect();
    while !pending.is_empty() {
        crate::interrupt::check("rendering the ApplicationSet templates")?;
        let batch: Vec<&Params> = pending.iter().map(|&i| sets[i]).collect();
        write("sets.json", &format!("{{\"sets\":[{}]}}", batch.join(",")))?;
        let (out, lines) = out_template(pending.len(), templates.len());
        write("templates/out.yaml", &out)?;
        let render = helm::Render {
            release: "appset".to_owned(),
            namespace: "argocd".to_owned(),
            chart: dir.to_path_buf(),
            value_files: Vec::new(),
            set_strings: Vec::new(),
            sets: Vec::new(),
        };
        HELM_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match helm::template(sh, helm, &render) {
            Ok(manifests) => {
                let rendered = parse_out(&manifests, pending.len(), templates.len())?;
                for (&i, strings) in pending.iter().zip(rendered) {
                    results[i] = Some(Ok(strings));
                }
                pending.clear();
            }
            Err(err) => {
                let Some(failed) = err.downcast_ref::<helm::Failed>() else {
                    return Err(err);
                };
                let stderr = &failed.stderr;
                if let Some(template) = parse_error_template(stderr) {
                    return Ok(Outcome::Unparsable(Failure {
                        template,
                        message: clean_message(stderr),
                    }));
                }
                let Some((position, template)) = failing_line(stderr).and_then(|l| lines.get(&l))
                else {
                    return Ok(Outcome::Unparsable(Failure {
                        template: None,
                        message: clean_message(stderr),
                    }));
                };
                let set = pending.remove(*position);
                results[set] = Some(Err(Failure {
                    template: Some(*template),
                    message: clean_message(stderr),
                }));
            }
        }
    }
    Ok(Outcome::Rendered(
        results
            .into_iter()
            .map(|r| r.expect("every set rendered or failed"))
            .collect(),
    ))
}

/// The chart file of template `i`: the named template `appset.t<i>` holding the text, and after it
/// the text's own top-level `define`s. Argo CD parses each template on its own, so the names a
/// template defines, and the names its `template` and `block` actions call, are scoped to it
/// (`appset.t<i>/<name>`); a `define` inside a named template would not parse.
fn template_file(text: &str, i: usize) -> String {
    let scope = format!("appset.t{i}/");
    let mut main = String::with_capacity(text.len());
    let mut defines = String::new();
    // The byte where the top-level define being read starts, with its left trim marker.
    let mut define: Option<(usize, bool)> = None;
    let mut depth = 0usize;
    let mut copied = 0;
    let mut at = 0;
    while let Some(open) = text[at..].find("{{").map(|o| at + o) {
        let end = action_end(text, open);
        let action = &text[open..end];
        let inner = action[2..action.len().saturating_sub(2)].trim_start_matches('-');
        let word = inner.trim_start();
        let keyword = word
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default();
        match keyword {
            _ if word.starts_with("/*") => {}
            "define" if depth == 0 => {
                main.push_str(&scoped(&text[copied..open], &scope));
                define = Some((open, action.starts_with("{{- ")));
                depth = 1;
            }
            "if" | "range" | "with" | "block" | "define" => depth += 1,
            "end" if depth > 0 => {
                depth -= 1;
                if let (0, Some((start, left))) = (depth, define) {
                    defines.push_str(&scoped(&text[start..end], &scope));
                    defines.push('\n');
                    // The define's trim markers still trim the text around it.
                    let right = action.ends_with(" -}}");
                    main.push_str(if left { "{{- /* */" } else { "{{/* */" });
                    main.push_str(if right { " -}}" } else { "}}" });
                    copied = end;
                    define = None;
                }
            }
            _ => {}
        }
        at = end;
    }
    let rest = match define {
        // An unclosed define: left in place for the parser to report.
        Some((start, _)) => &text[start..],
        None => &text[copied..],
    };
    main.push_str(&scoped(rest, &scope));
    // No trim markers: the template's own leading and trailing whitespace is output.
    format!("{{{{ define \"appset.t{i}\" }}}}{main}{{{{ end }}}}\n{defines}")
}

/// Where the action starting at `open` ends (after its `}}`), string literals skipped.
fn action_end(text: &str, open: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = open + 2;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => i = quoted_end(bytes, i, bytes[i]),
            b'`' => i = text[i + 1..].find('`').map_or(bytes.len(), |j| i + j + 2),
            b'}' if text[i..].starts_with("}}") => return i + 2,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `text` with the names of its `define`, `template` and `block` actions put in `scope`.
fn scoped(text: &str, scope: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(open) = text[at..].find("{{").map(|o| at + o) {
        let end = action_end(text, open);
        let action = &text[open..end];
        let inner = action[2..].trim_start_matches('-').trim_start();
        let keyword = ["define", "template", "block"]
            .into_iter()
            .find(|k| inner.starts_with(k) && inner[k.len()..].starts_with(char::is_whitespace));
        out.push_str(&text[at..open]);
        match keyword.and_then(|_| action.find('"')) {
            Some(quote) => {
                out.push_str(&action[..=quote]);
                out.push_str(scope);
                out.push_str(&action[quote + 1..]);
            }
            None => out.push_str(action),
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// The template that ranges over the sets, unrolled so that the line of an error tells the set and
/// the template; returns the text and that map (1-based line -> (position in the batch, template)).
fn out_template(sets: usize, templates: usize) -> (String, HashMap<usize, (usize, usize)>) {
    use std::fmt::Write;
    // Written straight into one string: a batch has thousands of lines.
    let mut text = "{{- $sets := (.Files.Get \"sets.json\" | fromJson).sets }}\nout:\n".to_owned();
    let mut line = 2;
    let mut map = HashMap::new();
    for set in 0..sets {
        if templates == 0 {
            text.push_str("- []\n");
            line += 1;
        }
        for template in 0..templates {
            let bullet = if template == 0 { "- - " } else { "  - " };
            let _ = writeln!(
                text,
                "{bullet}{{{{ include \"appset.t{template}\" (index $sets {set}) | toJson }}}}"
            );
            line += 1;
            map.insert(line, (set, template));
        }
    }
    (text, map)
}

/// The strings of [`out_template`]'s output: one line per set and template, each a JSON string
/// (`toJson`, so on one line) after its bullet (`- - ` opens a set, `  - ` continues it, `- []`
/// is a set of no template). Read line by line: a YAML parser holds the events of the whole
/// document, which for thousands of sets was most of discovery's memory.
fn parse_out(manifests: &str, sets: usize, templates: usize) -> Result<Vec<Vec<String>>> {
    let mut out: Vec<Vec<String>> = Vec::with_capacity(sets);
    let body = manifests
        .split_once("\nout:\n")
        .map(|(_, body)| body)
        .or_else(|| manifests.strip_prefix("out:\n"))
        .context("the rendered ApplicationSet templates hold no `out:`")?;
    for line in body.lines() {
        let string = if let Some(json) = line.strip_prefix("- - ") {
            out.push(Vec::with_capacity(templates));
            json
        } else if let Some(json) = line.strip_prefix("  - ") {
            json
        } else if line == "- []" {
            out.push(Vec::new());
            continue;
        } else if line.is_empty() || line == "---" || line.starts_with("# Source: ") {
            continue;
        } else {
            anyhow::bail!("an unexpected line in the rendered ApplicationSet templates: {line:?}");
        };
        let string: String = serde_json::from_str(string)
            .with_context(|| format!("reading the rendered ApplicationSet template {string:?}"))?;
        out.last_mut()
            .context("a template's output before its set's")?
            .push(string);
    }
    anyhow::ensure!(
        out.len() == sets && out.iter().all(|o| o.len() == templates),
        "helm rendered {} parameter sets of the ApplicationSet templates, expected {sets}",
        out.len()
    );
    Ok(out)
}

/// `parse error at (appset/templates/_t3.tpl:2): ...` -> Some(Some(3)); other parse errors ->
/// Some(None); not a parse error -> None.
fn parse_error_template(stderr: &str) -> Option<Option<usize>> {
    let at = stderr.find("parse error")?;
    let rest = &stderr[at..];
    Some(
        rest.find("templates/_t")
            .map(|i| &rest[i + "templates/_t".len()..])
            .and_then(|r| r[..r.find('.')?].parse().ok()),
    )
}

/// The line of `out.yaml` an execution error happened on.
fn failing_line(stderr: &str) -> Option<usize> {
    let rest = &stderr[stderr.find("templates/out.yaml:")? + "templates/out.yaml:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Go's message without helm's framing: `map has no entry for key "name"`.
fn clean_message(stderr: &str) -> String {
    // Helm 4 spreads one error over indented lines.
    let text = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.trim_start_matches("Error: ");
    let message = if let Some(i) = text.find("execution error at (") {
        let rest = &text[i..];
        rest.find("): ").map_or(rest, |j| &rest[j + 3..])
    } else if let Some(i) = text.rfind("executing \"appset.t") {
        let rest = &text[i..];
        rest.find(" at <").map_or(rest, |j| &rest[j + 1..])
    } else if let Some(i) = text.find("parse error at (") {
        let rest = &text[i..];
        rest.find("): ").map_or(rest, |j| &rest[j + 3..])
    } else {
        text
    };
    unscoped(message.trim())
}

/// A message with the scope [`template_file`] gives the names a template defines taken out.
fn unscoped(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("\"appset.t") {
        let after = &rest[at + "\"appset.t".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..=at]);
        if digits > 0 && after[digits..].starts_with('/') {
            rest = &after[digits + 1..];
        } else {
            out.push_str("appset.t");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_set_in_order_within_the_size_limit() {
        let set = format!(r#"{{"name":"{}"}}"#, "x".repeat(1000));
        for (count, cores) in [(0, 2), (1, 2), (300, 1), (600, 2), (10_000, 2), (10_000, 8)] {
            let sets: Vec<&Params> = vec![set.as_str(); count];
            let found = batches(&sets, 3, cores);
            let covered: Vec<usize> = found.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(covered, (0..count).collect::<Vec<_>>(), "{count} sets");
            for range in &found {
                assert!(range.len() * 1010 <= BATCH_BYTES, "{count} sets: {range:?}");
            }
            // Enough sets are split so that every core has one helm run.
            if count >= MIN_BATCH_SETS * cores {
                assert!(found.len() >= cores, "{count} sets on {cores} cores");
            }
        }
    }

    fn rewrite(text: &str) -> String {
        prepare(text, MissingKey::Error).text
    }

    fn key(root: &str, fields: &[&str], chain: &str) -> String {
        guarded(root, fields, chain, MissingKey::Error)
    }

    #[test]
    fn chains_from_dot_are_guarded() {
        assert_eq!(
            rewrite("{{ .env }}-{{ .name }}"),
            format!(
                "{{{{ {} }}}}-{{{{ {} }}}}",
                key(".", &["env"], ".env"),
                key(".", &["name"], ".name")
            )
        );
        assert_eq!(
            rewrite("{{ .chart.path | quote }}"),
            "{{ (and (include \"appset.key\" (list . \"chart\" \"path\")) .chart.path) | quote }}"
        );
    }

    #[test]
    fn text_outside_actions_and_string_literals_are_left_alone() {
        let text = "name: .env {{ \"a .b }} c\" }} x.y {{ `.c` }} {{ '.' }}";
        assert_eq!(rewrite(text), text);
        assert_eq!(
            rewrite(r#"{{ printf "%s.%s" .a "\".b" }}"#),
            format!(
                r#"{{{{ printf "%s.%s" {} "\".b" }}}}"#,
                key(".", &["a"], ".a")
            )
        );
    }

    #[test]
    fn the_bare_dot_numbers_and_fields_of_expressions_are_not_chains() {
        for text in [
            "{{ . }}",
            "{{ hasKey . \"syncOptions\" }}",
            "{{ toJson . }}",
            "{{ add 1.5 .5 }}",
            "{{ (index . \"a\").b }}",
            "{{ (list 1).x.y }}",
            "{{/* .a.b */}}",
            "{{- /* .a */ -}}",
        ] {
            assert_eq!(rewrite(text), text, "{text}");
        }
    }

    #[test]
    fn variables_with_fields_are_guarded_on_the_variable() {
        assert_eq!(
            rewrite("{{ $x := .a }}{{ $x.b.c }}{{ $.d }}{{ $x }}"),
            format!(
                "{{{{ $x := {} }}}}{{{{ {} }}}}{{{{ {} }}}}{{{{ $x }}}}",
                key(".", &["a"], ".a"),
                key("$x", &["b", "c"], "$x.b.c"),
                key("$", &["d"], "$.d")
            )
        );
    }

    #[test]
    fn guarded_optional_keys_stay_behind_their_guard() {
        let text = r#"{{- if hasKey . "syncOptions" }}{{ with .syncOptions }}{{ $o = concat $o . }}{{ end }}{{ end }}"#;
        assert_eq!(
            rewrite(text),
            format!(
                r#"{{{{- if hasKey . "syncOptions" }}}}{{{{ with {} }}}}{{{{ $o = concat $o . }}}}{{{{ end }}}}{{{{ end }}}}"#,
                key(".", &["syncOptions"], ".syncOptions")
            )
        );
    }

    #[test]
    fn nested_scopes_pipelines_and_parentheses() {
        assert_eq!(
            rewrite("{{ range $i, $e := .items }}{{ .name }}{{ end }}"),
            format!(
                "{{{{ range $i, $e := {} }}}}{{{{ {} }}}}{{{{ end }}}}",
                key(".", &["items"], ".items"),
                key(".", &["name"], ".name")
            )
        );
        assert_eq!(
            rewrite("{{ with .chart }}{{ (printf \"%s\" .path | upper) }}{{ end }}"),
            format!(
                "{{{{ with {} }}}}{{{{ (printf \"%s\" {} | upper) }}}}{{{{ end }}}}",
                key(".", &["chart"], ".chart"),
                key(".", &["path"], ".path")
            )
        );
        assert_eq!(
            rewrite("{{- if eq .a.b \"x\" -}}y{{- end }}"),
            format!(
                "{{{{- if eq {} \"x\" -}}}}y{{{{- end }}}}",
                key(".", &["a", "b"], ".a.b")
            )
        );
    }

    #[test]
    fn without_missingkey_error_nothing_is_rewritten() {
        let text = "{{ .a.b }} {{ $x.y }}";
        assert_eq!(prepare(text, MissingKey::Zero).text, text);
    }

    #[test]
    fn functions_argo_cd_lacks_are_noted_outside_strings_and_fields() {
        let prepared = prepare(
            r#"{{ include "x" . }} {{ "tpl" }} {{ .required }} {{ fromJson "{}" | toJson }} {{ getHostByName "h" }} {{ include "y" . }}"#,
            MissingKey::Zero,
        );
        assert_eq!(prepared.undefined, ["include", "getHostByName"]);
    }

    #[test]
    fn a_template_s_own_defines_are_scoped_to_it_and_moved_out_of_its_named_template() {
        let text = "a {{- define \"x\" }}X{{ if .a }}{{ template \"y\" . }}{{ end }}{{ end -}} b{{ template \"x\" . }}{{/* {{ define */}}";
        assert_eq!(
            template_file(text, 3),
            "{{ define \"appset.t3\" }}a {{- /* */ -}} b{{ template \"appset.t3/x\" . }}{{/* {{ define */}}{{ end }}\n{{- define \"appset.t3/x\" }}X{{ if .a }}{{ template \"appset.t3/y\" . }}{{ end }}{{ end -}}\n"
        );
        assert_eq!(
            template_file("{{ .a }}", 0),
            "{{ define \"appset.t0\" }}{{ .a }}{{ end }}\n"
        );
        assert_eq!(
            unscoped("template: no template \"appset.t3/y\" associated with \"appset.t3\""),
            "template: no template \"y\" associated with \"appset.t3\""
        );
    }

    #[test]
    fn argo_cd_s_functions_become_calls_of_their_named_templates() {
        let cases = [
            (
                "{{ slugify 20 .x | upper }}",
                r#"{{ list 20 .x | include "appset.slugify" | upper }}"#,
            ),
            (
                "{{- .x | normalize -}}",
                r#"{{- .x | list | include "appset.normalize" -}}"#,
            ),
            (
                "{{ printf \"%s\" (fromJson .j) }}",
                r#"{{ printf "%s" (list .j | include "appset.fromJson" | mustFromJson) }}"#,
            ),
            (
                "{{ if eq (normalize (slugify .x)) \"a\" }}",
                r#"{{ if eq (list (list .x | include "appset.slugify") | include "appset.normalize") "a" }}"#,
            ),
            (
                "{{ $v := fromYaml .y }}{{ else if fromYamlArray .z }}",
                r#"{{ $v := list .y | include "appset.fromYaml" | fromYaml }}{{ else if list .z | include "appset.fromYamlArray" | fromYamlArray }}"#,
            ),
            // Not first in its command: Go calls it with no arguments.
            (
                "{{ printf \"%s\" normalize }}",
                r#"{{ printf "%s" (list | include "appset.normalize") }}"#,
            ),
            // Strings, fields and variables of that name are no calls.
            (
                "{{ \"slugify\" }}{{ .normalize }}{{ $slugify }}",
                "{{ \"slugify\" }}{{ .normalize }}{{ $slugify }}",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(prepare(text, MissingKey::Zero).text, want, "{text}");
        }
    }

    #[test]
    fn under_missingkey_default_only_chains_of_two_or_more_fields_are_rewritten() {
        assert_eq!(
            prepare("{{ .a }} {{ .a.b }} {{ $x.c }}", MissingKey::Invalid).text,
            r#"{{ .a }} {{ (index (or (and (include "appset.has" (list . "a" "b")) (dict "v" .a.b)) (dict)) "v") }} {{ $x.c }}"#
        );
    }

    #[test]
    fn missingkey_options_are_applied_in_order_and_unknown_ones_refused() {
        let cases: [(&[&str], Result<MissingKey, &str>); 6] = [
            (&[], Ok(MissingKey::Invalid)),
            (&["missingkey=error"], Ok(MissingKey::Error)),
            (&["missingkey=zero"], Ok(MissingKey::Zero)),
            (
                &["missingkey=error", "missingkey=default"],
                Ok(MissingKey::Invalid),
            ),
            (
                &["missingkey = error"],
                Err("unrecognized option: missingkey = error"),
            ),
            (&[""], Err("empty option string")),
        ];
        for (options, want) in cases {
            assert_eq!(
                MissingKey::from_options(options),
                want.map_err(str::to_owned),
                "{options:?}"
            );
        }
    }

    #[test]
    fn the_output_is_read_a_json_string_per_line_in_the_order_of_the_sets() {
        let helm = "---\n# Source: appset/templates/out.yaml\nout:\n- - \"a: 1\\nb: \\u003cx\\u003e\"\n  - \"\"\n- - \"- [x]\"\n  - \"  - y\"\n";
        assert_eq!(
            parse_out(helm, 2, 2).unwrap(),
            vec![
                vec!["a: 1\nb: <x>".to_owned(), String::new()],
                vec!["- [x]".to_owned(), "  - y".to_owned()],
            ]
        );
        assert_eq!(
            parse_out("out:\n- []\n- []\n", 2, 0).unwrap(),
            vec![Vec::<String>::new(), Vec::new()]
        );
        let short = parse_out(helm, 3, 2).unwrap_err().to_string();
        assert!(short.contains("rendered 2 parameter sets"), "{short}");
        let odd = parse_out("out:\n- - \"a\"\nsurprise\n", 1, 1).unwrap_err();
        assert!(odd.to_string().contains("\"surprise\""), "{odd}");
        assert!(parse_out("nothing", 0, 0).is_err());
    }

    #[test]
    fn helm_errors_name_the_set_the_template_and_go_s_message() {
        let (text, lines) = out_template(2, 2);
        let (line, _) = lines.iter().find(|(_, at)| **at == (1, 0)).unwrap();
        assert_eq!(
            text.lines().nth(line - 1).unwrap(),
            "- - {{ include \"appset.t0\" (index $sets 1) | toJson }}"
        );
        let fail3 = "Error: execution error at (appset/templates/out.yaml:5:5): map has no entry for key \"path\"\n\nUse --debug flag to render out invalid YAML";
        assert_eq!(failing_line(fail3), Some(5));
        assert_eq!(clean_message(fail3), "map has no entry for key \"path\"");
        let exec3 = "Error: template: appset/templates/out.yaml:4:5: executing \"appset/templates/out.yaml\" at <include \"appset.t4\" (index $sets 1)>: error calling include: template: appset/templates/_t4.tpl:1:55: executing \"appset.t4\" at <b64enc>: wrong type for value; expected string; got int";
        let exec4 = "Error: appset/templates/out.yaml:4:5\n  executing \"appset/templates/out.yaml\" at <include \"appset.t4\" (index $sets 1)>:\n    error calling include:\nappset/templates/_t4.tpl:1:55\n  executing \"appset.t4\" at <b64enc>:\n    wrong type for value; expected string; got int\n\nUse --debug flag to render out invalid YAML";
        for stderr in [exec3, exec4] {
            assert_eq!(failing_line(stderr), Some(4));
            assert_eq!(parse_error_template(stderr), None);
            assert_eq!(
                clean_message(stderr),
                "at <b64enc>: wrong type for value; expected string; got int"
            );
        }
        let parse = "Error: parse error at (appset/templates/_t3.tpl:2): function \"normalize\" not defined";
        assert_eq!(parse_error_template(parse), Some(Some(3)));
        assert_eq!(clean_message(parse), "function \"normalize\" not defined");
    }

    #[test]
    fn unclosed_actions_are_copied_for_the_parser_to_report() {
        assert_eq!(
            rewrite("a {{ .b"),
            format!("a {{{{ {}", key(".", &["b"], ".b"))
        );
    }
}
