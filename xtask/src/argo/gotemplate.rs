//! Go template text as Argo CD evaluates it, prepared for helm's engine (the same text/template and
//! sprig, but with `missingkey=zero` and a few functions of its own).
//!
//! `missingkey=error` is emulated by rewriting every field chain that starts at a value (`.a.b`,
//! `$.a`, `$x.a`) into `(and (include "appset.key" (list . "a" "b")) .a.b)`: the named template
//! [`KEY_HELPER`] walks the keys and fails with Go's own message on the first missing one, and `and`
//! returns the original, typed value when it does not. Only chains that are actually evaluated can
//! fail, so `{{ if hasKey . "x" }}{{ .x }}{{ end }}` stays legal when `x` is absent, as in Argo CD.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::helm;
use crate::verify::cache::{Cache, Key, What};

/// One parameter set of a generator.
/// A parameter set as compact JSON text (an object).
type Params = str;

/// The named template the rewritten chains call; it renders a non-empty string or fails.
pub const KEY_HELPER: &str = r#"{{- define "appset.key" -}}
{{- $v := index . 0 -}}
{{- range $k := rest . -}}
{{- if kindIs "invalid" $v }}{{ fail (printf "nil pointer evaluating interface {}.%s" $k) }}{{ end -}}
{{- if not (kindIs "map" $v) }}{{ fail (printf "can't evaluate field %s in type %s" $k (typeOf $v)) }}{{ end -}}
{{- if not (hasKey $v $k) }}{{ fail (printf "map has no entry for key %q" $k) }}{{ end -}}
{{- $v = index $v $k -}}
{{- end -}}
ok
{{- end -}}
"#;

/// Functions helm's engine has and Argo CD's does not: a template using them renders under
/// `verify` but fails in Argo CD.
const HELM_ONLY: [&str; 10] = [
    "include",
    "tpl",
    "required",
    "lookup",
    "fromJson",
    "fromJsonArray",
    "toToml",
    "fromToml",
    "toYamlPretty",
    "mustToYaml",
];

/// Functions Argo CD adds that helm's engine lacks.
pub const ARGO_ONLY: [&str; 2] = ["normalize", "slugify"];

/// A template prepared for helm.
#[derive(Debug, PartialEq, Eq)]
pub struct Prepared {
    pub text: String,
    /// Helm-only functions the template calls, in order of first use.
    pub helm_only: Vec<String>,
}

/// Rewrites field chains for `missingkey=error` (when `missing_key_error`), and notes helm-only
/// functions either way.
pub fn prepare(text: &str, missing_key_error: bool) -> Prepared {
    let mut out = String::with_capacity(text.len() * 2);
    let mut helm_only: Vec<String> = Vec::new();
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
            scan_action(action, missing_key_error, &mut out, &mut helm_only)
        };
        rest = &action[consumed..];
    }
    out.push_str(rest);
    Prepared {
        text: out,
        helm_only,
    }
}

fn is_comment(action: &str) -> bool {
    let inner = &action[2..];
    // Like Go's lexer: `/*` right after the delimiter or after the trim marker "- ".
    inner.strip_prefix("- ").unwrap_or(inner).starts_with("/*")
}

/// Copies one action (starting at `{{`) to `out`, rewriting its chains; returns the bytes consumed.
fn scan_action(
    action: &str,
    rewrite: bool,
    out: &mut String,
    helm_only: &mut Vec<String>,
) -> usize {
    let bytes = action.as_bytes();
    out.push_str("{{");
    let mut i = 2;
    // The byte before the current one inside the action, to tell `x.y` / `).y` from a chain start.
    let mut previous = b'{';
    while i < bytes.len() {
        let c = bytes[i];
        if action[i..].starts_with("}}") {
            out.push_str("}}");
            return i + 2;
        }
        match c {
            b'"' | b'\'' => {
                let end = quoted_end(bytes, i, c);
                out.push_str(&action[i..end]);
                i = end;
                previous = c;
            }
            b'`' => {
                let end = action[i + 1..]
                    .find('`')
                    .map_or(bytes.len(), |j| i + 1 + j + 1);
                out.push_str(&action[i..end]);
                i = end;
                previous = c;
            }
            b'$' => {
                let name_end = i + 1 + ident_len(&action[i + 1..]);
                let (fields, end) = field_chain(action, name_end);
                let variable = &action[i..name_end];
                if rewrite && !fields.is_empty() {
                    out.push_str(&guarded(variable, &fields, &action[i..end]));
                } else {
                    out.push_str(&action[i..end]);
                }
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
                    if rewrite {
                        out.push_str(&guarded(".", &fields, &action[i..end]));
                    } else {
                        out.push_str(&action[i..end]);
                    }
                    i = end;
                    previous = b'a';
                }
            }
            _ if is_ident_start(c) && !is_ident_byte(previous) && previous != b'.' => {
                let end = i + ident_len(&action[i..]);
                let word = &action[i..end];
                if HELM_ONLY.contains(&word) && !helm_only.iter().any(|w| w == word) {
                    helm_only.push(word.to_owned());
                }
                out.push_str(word);
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
    bytes.len()
}

/// `(and (include "appset.key" (list . "a" "b")) .a.b)`.
fn guarded(root: &str, fields: &[&str], chain: &str) -> String {
    let keys: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    format!(
        "(and (include \"appset.key\" (list {root} {})) {chain})",
        keys.join(" ")
    )
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
        let mut fields = vec![
            b"appset-templates".as_slice(),
            cache.helm_version().as_bytes(),
            KEY_HELPER.as_bytes(),
        ];
        fields.extend(templates.iter().map(|t| t.as_bytes()));
        let templates_key = Key::of(&fields);
        keys = sets
            .iter()
            .map(|set| Key::of(&[templates_key.as_str().as_bytes(), set.as_bytes()]))
            .collect();
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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let batches = batches(sets, templates.len(), cores);
    if batches.len() <= 1 {
        return render_batch(sh, helm, templates, sets);
    }
    let dir = sh.current_dir();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut outcomes: Vec<Option<Result<Outcome>>> = (0..batches.len()).map(|_| None).collect();
    let done = std::sync::Mutex::new(&mut outcomes);
    std::thread::scope(|scope| {
        for _ in 0..cores.min(batches.len()) {
            let (batches, next, done, dir) = (&batches, &next, &done, &dir);
            scope.spawn(move || {
                let sh = Shell::new().expect("a shell");
                sh.change_dir(dir);
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(range) = batches.get(index) else {
                        break;
                    };
                    let outcome = render_batch(&sh, helm, templates, &sets[range.clone()]);
                    done.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(outcome);
                }
            });
        }
    });
    let mut rendered = Vec::with_capacity(sets.len());
    for outcome in outcomes {
        match outcome.expect("every batch ran")? {
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
    let chart = sh
        .create_temp_dir()
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
    write("templates/_appset.tpl", KEY_HELPER)?;
    for (i, text) in templates.iter().enumerate() {
        // No trim markers: the template's own leading and trailing whitespace is output.
        write(
            &format!("templates/_t{i}.tpl"),
            &format!("{{{{ define \"appset.t{i}\" }}}}{text}{{{{ end }}}}\n"),
        )?;
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

fn parse_out(manifests: &str, sets: usize, templates: usize) -> Result<Vec<Vec<String>>> {
    // Read straight into strings: a generic YAML tree of thousands of sets, and a copy of it, was
    // most of discovery's memory.
    #[derive(serde::Deserialize)]
    struct Out {
        out: Option<Vec<Vec<String>>>,
    }
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(manifests) {
        let doc: Option<Out> = serde::Deserialize::deserialize(document)
            .context("reading the rendered ApplicationSet templates")?;
        if let Some(doc) = doc {
            out = doc.out.unwrap_or_default();
            break;
        }
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
    message.trim().to_owned()
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
        prepare(text, true).text
    }

    fn key(root: &str, fields: &[&str], chain: &str) -> String {
        guarded(root, fields, chain)
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
        assert_eq!(prepare(text, false).text, text);
    }

    #[test]
    fn helm_only_functions_are_noted_outside_strings_and_fields() {
        let prepared = prepare(
            r#"{{ include "x" . }} {{ "tpl" }} {{ .required }} {{ fromJson "{}" | toJson }} {{ include "y" . }}"#,
            false,
        );
        assert_eq!(prepared.helm_only, ["include", "fromJson"]);
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
