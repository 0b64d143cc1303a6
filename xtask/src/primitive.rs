//! The naming rules of primitives (SPEC section 6), each written once.
//!
//! clap parses the scaffold flags through these types and `verify` checks the files with them, so a
//! rule cannot differ between the writer and the gate.

use std::fmt;

/// The longest Kubernetes name we produce: a DNS-1123 label (and the `app.kubernetes.io/instance`
/// label Argo CD copies the Application name into).
pub const MAX_NAME_LEN: usize = 63;
/// Helm refuses longer release names (`helm template` and so Argo CD fail on them).
pub const MAX_RELEASE_LEN: usize = 53;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Domain,
    Process,
    Agent,
    Uisurface,
    Projection,
    Integration,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Domain,
        Kind::Process,
        Kind::Agent,
        Kind::Uisurface,
        Kind::Projection,
        Kind::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Domain => "domain",
            Kind::Process => "process",
            Kind::Agent => "agent",
            Kind::Uisurface => "uisurface",
            Kind::Projection => "projection",
            Kind::Integration => "integration",
        }
    }

    /// The CRD kind of `ameide.io/v1`.
    pub fn crd_kind(self) -> &'static str {
        match self {
            Kind::Domain => "Domain",
            Kind::Process => "Process",
            Kind::Agent => "Agent",
            Kind::Uisurface => "UISurface",
            Kind::Projection => "Projection",
            Kind::Integration => "Integration",
        }
    }

    pub fn parse(input: &str) -> Result<Kind, String> {
        if let Some(kind) = Kind::ALL.into_iter().find(|k| k.as_str() == input) {
            return Ok(kind);
        }
        let hint = Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(input.trim()))
            .map(|k| format!(", e.g. \"{}\"", k.as_str()))
            .unwrap_or_default();
        Err(format!(
            "kind {}: must be one of {} (lowercase){hint}",
            show(input),
            Kind::ALL.map(Kind::as_str).join(", ")
        ))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A primitive name: lowercase kebab-case, not ending in `-smoke` or a version-like segment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn parse(input: &str) -> Result<Name, String> {
        let rule =
            "must be lowercase kebab-case: a letter, then letters, digits and single hyphens";
        if input.is_empty() {
            return Err(format!("name {}: {rule}, e.g. \"orders\"", show(input)));
        }
        if input.len() > MAX_NAME_LEN {
            return Err(format!(
                "name {}: is {} characters; every Kubernetes name derived from it must stay within {MAX_NAME_LEN}, choose a shorter name",
                show(input),
                input.chars().count()
            ));
        }
        if !is_kebab(input) {
            return Err(format!(
                "name {}: {rule}, e.g. \"{}\"",
                show(input),
                suggest_kebab(input)
            ));
        }
        if input == "smoke" || input.ends_with("-smoke") {
            return Err(format!(
                "name {}: must not end in \"-smoke\" (the smoke component is derived with --with-smoke), e.g. \"{}\"",
                show(input),
                input.trim_end_matches("smoke").trim_end_matches('-').to_owned() + "-app"
            ));
        }
        if let Some((stem, last)) = input.rsplit_once('-') {
            let version_like = last.len() > 1
                && last.starts_with('v')
                && last[1..].bytes().all(|b| b.is_ascii_digit());
            if version_like {
                return Err(format!(
                    "name {}: must not end in a version-like segment (\"-{last}\"); pass it as --version {last} and use --name {stem}",
                    show(input)
                ));
            }
        }
        Ok(Name(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `v0`, `v1`, ...
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(String);

impl Version {
    pub fn parse(input: &str) -> Result<Version, String> {
        let digits = input.strip_prefix('v').unwrap_or("");
        let ok = !digits.is_empty()
            && digits.len() <= 6
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if ok {
            Ok(Version(input.to_owned()))
        } else {
            Err(format!(
                "version {}: must be \"v\" and a number without leading zeros, e.g. \"v0\" or \"v2\"",
                show(input)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The validated triple and every name derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Primitive {
    pub kind: Kind,
    pub name: Name,
    pub version: Version,
}

/// The one test the scaffolded smoke carries; its Job is `<release>-<test>`.
pub const SMOKE_TEST: &str = "grpc-health";
/// The port of the operator's gRPC Service.
pub const GRPC_PORT: u16 = 50051;

impl Primitive {
    /// Reads a component id `<kind>-<name>-<version>` back into its parts, with the same parsers.
    pub fn from_id(id: &str) -> Result<Primitive, String> {
        let (kind, rest) = id.split_once('-').ok_or_else(|| {
            format!(
                "component id {}: expected <kind>-<name>-<version>, e.g. domain-orders-v0",
                show(id)
            )
        })?;
        let (name, version) = rest.rsplit_once('-').ok_or_else(|| {
            format!(
                "component id {}: expected <kind>-<name>-<version>, e.g. domain-orders-v0",
                show(id)
            )
        })?;
        Ok(Primitive {
            kind: Kind::parse(kind)?,
            name: Name::parse(name)?,
            version: Version::parse(version)?,
        })
    }

    /// `<kind>-<name>-<version>`: the component name and Helm release.
    pub fn id(&self) -> String {
        format!("{}-{}-{}", self.kind, self.name, self.version)
    }

    pub fn smoke_id(&self) -> String {
        format!("{}-smoke", self.id())
    }

    /// The name of the `ameide.io/v1` resource.
    pub fn resource_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    /// The operator's Service for the primitive.
    pub fn service_name(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.kind)
    }

    pub fn smoke_job_name(&self) -> String {
        format!("{}-{SMOKE_TEST}", self.smoke_id())
    }

    /// Every Kubernetes name that will exist for these inputs, with what it names.
    pub fn derived_names(&self, envs: &[&str], with_smoke: bool) -> Vec<(String, String)> {
        let mut names = Vec::new();
        let mut components = vec![self.id()];
        if with_smoke {
            components.push(self.smoke_id());
        }
        for component in &components {
            for env in envs {
                names.push((format!("Application ({env})"), format!("{env}-{component}")));
            }
            names.push(("Helm release".to_owned(), component.clone()));
            names.push((
                "disabled marker".to_owned(),
                format!("{component}-disabled"),
            ));
        }
        names.push(("primitive resource".to_owned(), self.resource_name()));
        names.push(("operator Service".to_owned(), self.service_name()));
        if with_smoke {
            names.push(("smoke Job".to_owned(), self.smoke_job_name()));
            names.push((
                "smoke checksum ConfigMap".to_owned(),
                format!("{}-tests", self.smoke_id()),
            ));
        }
        names
    }

    /// Refuses the inputs when any derived name breaks DNS-1123 or its length limit (63, and 53
    /// for Helm releases).
    pub fn check_derived_names(&self, envs: &[&str], with_smoke: bool) -> Result<(), String> {
        for (what, name) in self.derived_names(envs, with_smoke) {
            let checked = if what == "Helm release" {
                check_release_name(&name)
            } else {
                check_dns_label(&name)
            };
            if let Err(rule) = checked {
                return Err(format!(
                    "name {}: the derived {what} name \"{name}\" {rule}; choose a shorter --name (nothing is truncated)",
                    show(self.name.as_str())
                ));
            }
        }
        Ok(())
    }
}

/// A Helm release name: a DNS-1123 label of at most 53 characters.
pub fn check_release_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_RELEASE_LEN {
        return Err(format!(
            "is {} characters, over Helm's release name limit of {MAX_RELEASE_LEN}",
            name.len()
        ));
    }
    check_dns_label(name)
}

/// A DNS-1123 label of at most 63 characters.
pub fn check_dns_label(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "is {} characters, over the limit of {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err("is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)".to_owned())
    }
}

fn is_kebab(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut previous_hyphen = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => previous_hyphen = false,
            b'-' if !previous_hyphen => previous_hyphen = true,
            _ => return false,
        }
    }
    !previous_hyphen
}

/// A best-effort kebab-case spelling of a rejected name, for the error message.
fn suggest_kebab(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('-') {
                let prev_lower = out.chars().last().is_some_and(|p| p.is_ascii_lowercase());
                if prev_lower {
                    out.push('-');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out
        .trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    if trimmed.is_empty() {
        "orders".to_owned()
    } else {
        trimmed
            .chars()
            .take(30)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned()
    }
}

/// A digest-pinned image reference: `repo@sha256:<64 hex>` or `repo:<tag>@sha256:<64 hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef(String);

impl ImageRef {
    pub fn parse(input: &str) -> Result<ImageRef, String> {
        let example = "e.g. \"ghcr.io/ameideio/primitive-domain-orders@sha256:<64 hex digits>\"";
        let Some((name, digest)) = input.split_once("@sha256:") else {
            return Err(format!(
                "image reference {}: must be pinned by digest (\"@sha256:\" and 64 hex digits), never a bare tag; {example}",
                show(input)
            ));
        };
        if digest.len() != 64
            || !digest
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!(
                "image reference {}: the digest must be exactly 64 lowercase hex digits after \"@sha256:\"; {example}",
                show(input)
            ));
        }
        let (repo, tag) = split_tag(name);
        if !is_repository(repo) {
            return Err(format!(
                "image reference {}: repository \"{repo}\" must be lowercase path components (letters, digits, '.', '_', '-') separated by '/', with an optional registry host and port; {example}",
                show(input)
            ));
        }
        if let Some(tag) = tag {
            let tag_ok = !tag.is_empty()
                && tag.len() <= 128
                && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.starts_with('_'))
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !tag_ok {
                return Err(format!(
                    "image reference {}: tag \"{tag}\" is not a valid tag; {example}",
                    show(input)
                ));
            }
            if tag == "latest" || tag == "main" {
                return Err(format!(
                    "image reference {}: moving tags (\":latest\", \":main\") are not allowed, even with a digest; drop the tag or use a release tag, {example}",
                    show(input)
                ));
            }
        }
        Ok(ImageRef(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Splits `repo:tag` from `repo`, where a ':' before the last '/' belongs to a registry port.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].find(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    }
}

fn is_repository(repo: &str) -> bool {
    let mut parts = repo.split('/').peekable();
    let mut first = true;
    let mut count = 0;
    while let Some(part) = parts.next() {
        count += 1;
        let has_more = parts.peek().is_some();
        let component = if first && has_more && (part.contains('.') || part.contains(':')) {
            // A registry host, optionally with a port.
            match part.split_once(':') {
                Some((host, port)) => {
                    if port.is_empty()
                        || port.len() > 5
                        || !port.bytes().all(|b| b.is_ascii_digit())
                    {
                        return false;
                    }
                    host
                }
                None => part,
            }
        } else {
            part
        };
        first = false;
        if !is_path_component(component) {
            return false;
        }
    }
    count > 0 && repo.len() <= 255
}

/// `[a-z0-9]+([._-][a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut previous_separator = true;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => previous_separator = false,
            b'.' | b'_' | b'-' if !previous_separator => previous_separator = true,
            _ => return false,
        }
    }
    !previous_separator
}

/// Quotes user input for an error message so that whitespace and control characters show.
pub fn show(input: &str) -> String {
    format!("{input:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn kinds_parse_only_in_lowercase() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Ok(kind));
        }
        let err = Kind::parse("Domain").unwrap_err();
        assert!(
            err.contains(
                "must be one of domain, process, agent, uisurface, projection, integration"
            ),
            "{err}"
        );
        assert!(err.contains("e.g. \"domain\""), "{err}");
        for bad in [
            "",
            "domains",
            "dom ain",
            "domain\n",
            "../domain",
            "ui-surface",
            "ｄomain",
        ] {
            assert!(Kind::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn crd_kinds_follow_the_spec() {
        let crds: Vec<_> = Kind::ALL.iter().map(|k| k.crd_kind()).collect();
        assert_eq!(
            crds,
            [
                "Domain",
                "Process",
                "Agent",
                "UISurface",
                "Projection",
                "Integration"
            ]
        );
    }

    #[test]
    fn names_accept_kebab_case() {
        for good in [
            "orders",
            "a",
            "order-lines",
            "b2b",
            "x1-y2-z3",
            "v",
            "version",
            "smoker",
            "smoke-test",
        ] {
            assert_eq!(
                Name::parse(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
        }
    }

    #[test]
    fn names_refuse_everything_else_naming_the_rule() {
        let cases = [
            ("Orders", "lowercase kebab-case", "e.g. \"orders\""),
            ("OrderLines", "lowercase kebab-case", "e.g. \"order-lines\""),
            (
                "order_lines",
                "lowercase kebab-case",
                "e.g. \"order-lines\"",
            ),
            ("orders/../x", "lowercase kebab-case", ""),
            ("..", "lowercase kebab-case", ""),
            ("a/b", "lowercase kebab-case", ""),
            ("a\\b", "lowercase kebab-case", ""),
            (" orders", "lowercase kebab-case", ""),
            ("orders ", "lowercase kebab-case", ""),
            ("ord ers", "lowercase kebab-case", ""),
            ("orders\n", "lowercase kebab-case", ""),
            ("ordérs", "lowercase kebab-case", ""),
            ("orders:", "lowercase kebab-case", ""),
            ("{{x}}", "lowercase kebab-case", ""),
            ("a: b", "lowercase kebab-case", ""),
            ("*x", "lowercase kebab-case", ""),
            ("&anchor", "lowercase kebab-case", ""),
            ("x#y", "lowercase kebab-case", ""),
            ("-orders", "lowercase kebab-case", ""),
            ("orders-", "lowercase kebab-case", ""),
            ("order--lines", "lowercase kebab-case", ""),
            ("1orders", "lowercase kebab-case", ""),
            ("", "lowercase kebab-case", ""),
            ("orders-smoke", "must not end in \"-smoke\"", ""),
            ("smoke", "must not end in \"-smoke\"", ""),
            (
                "orders-v3",
                "version-like segment",
                "--version v3 and use --name orders",
            ),
            ("orders-v0", "version-like segment", ""),
            ("orders-v007", "version-like segment", ""),
        ];
        for (input, rule, fix) in cases {
            let err = Name::parse(input).unwrap_err();
            assert!(err.contains(rule), "{input:?}: {err}");
            assert!(err.contains(fix), "{input:?}: {err}");
            assert!(
                err.starts_with(&format!("name {input:?}")),
                "{input:?}: {err}"
            );
        }
        let long = "a".repeat(64);
        assert!(Name::parse(&long).unwrap_err().contains("is 64 characters"));
    }

    #[test]
    fn versions() {
        for good in ["v0", "v1", "v10", "v123"] {
            assert!(Version::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "", "v", "V1", "1", "v01", "v-1", "v1.0", "v 1", "vv1", "v1a", "v１", "v0\n",
        ] {
            let err = Version::parse(bad).unwrap_err();
            assert!(err.contains("e.g. \"v0\""), "{bad:?}: {err}");
        }
    }

    #[test]
    fn derived_names_are_listed_for_every_env() {
        let p = primitive("domain", "orders", "v0");
        let names: Vec<String> = p
            .derived_names(&["dev", "production"], true)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(
            names,
            [
                "dev-domain-orders-v0",
                "production-domain-orders-v0",
                "domain-orders-v0",
                "domain-orders-v0-disabled",
                "dev-domain-orders-v0-smoke",
                "production-domain-orders-v0-smoke",
                "domain-orders-v0-smoke",
                "domain-orders-v0-smoke-disabled",
                "orders-v0",
                "orders-v0-domain",
                "domain-orders-v0-smoke-grpc-health",
                "domain-orders-v0-smoke-tests",
            ]
        );
    }

    #[test]
    fn an_over_long_derived_name_is_named_with_its_length() {
        // "integration-" + name + "-v0-smoke-grpc-health" is the longest name: 12 + n + 21.
        let fits = "n".repeat(63 - 12 - 21);
        let p = primitive("integration", &fits, "v0");
        assert_eq!(p.check_derived_names(&["production"], true), Ok(()));
        let over = "n".repeat(63 - 12 - 21 + 1);
        let p = primitive("integration", &over, "v0");
        let err = p.check_derived_names(&["production"], true).unwrap_err();
        assert!(
            err.contains(&format!(
                "smoke Job name \"integration-{over}-v0-smoke-grpc-health\" is 64 characters"
            )),
            "{err}"
        );
        // Without a smoke the Application in production is the longest.
        assert_eq!(p.check_derived_names(&["production"], false), Ok(()));
    }

    #[test]
    fn release_names_stop_at_helms_53() {
        // With a one-letter env the Application is short and the release limit binds.
        let fits = primitive("domain", &"n".repeat(53 - 10), "v0");
        assert_eq!(fits.check_derived_names(&["d"], false), Ok(()));
        let over = primitive("domain", &"n".repeat(53 - 10 + 1), "v0");
        let err = over.check_derived_names(&["d"], false).unwrap_err();
        assert!(err.contains("Helm release name \"domain-"), "{err}");
        assert!(
            err.contains("is 54 characters, over Helm's release name limit of 53"),
            "{err}"
        );
    }

    #[test]
    fn dns_labels() {
        assert_eq!(check_dns_label("a-1"), Ok(()));
        for bad in ["", "-a", "a-", "A", "a_b", "a.b"] {
            assert!(check_dns_label(bad).is_err(), "{bad}");
        }
        assert!(check_dns_label(&"a".repeat(64))
            .unwrap_err()
            .contains("64 characters"));
    }

    #[test]
    fn image_references_must_be_digest_pinned() {
        let digest = "0123456789abcdef".repeat(4);
        for good in [
            format!("ghcr.io/ameideio/primitive-domain-orders@sha256:{digest}"),
            format!("ghcr.io/ameideio/primitive-domain-orders:1.2.3@sha256:{digest}"),
            format!("localhost:5000/orders@sha256:{digest}"),
            format!("registry.example.com:443/team/app:v1_2@sha256:{digest}"),
            format!("busybox@sha256:{digest}"),
        ] {
            assert_eq!(
                ImageRef::parse(&good).map(|r| r.as_str().to_owned()),
                Ok(good.clone())
            );
        }
        let cases = [
            (
                "ghcr.io/ameideio/orders:1.2.3".to_owned(),
                "pinned by digest",
            ),
            ("ghcr.io/ameideio/orders".to_owned(), "pinned by digest"),
            (
                format!("ghcr.io/ameideio/orders:latest@sha256:{digest}"),
                "moving tags",
            ),
            (
                format!("ghcr.io/ameideio/orders:main@sha256:{digest}"),
                "moving tags",
            ),
            (
                format!("ghcr.io/ameideio/orders@sha256:{}", &digest[1..]),
                "64 lowercase hex",
            ),
            (
                format!("ghcr.io/ameideio/orders@sha256:{}", digest.to_uppercase()),
                "64 lowercase hex",
            ),
            (
                format!("ghcr.io/ameideio/Orders@sha256:{digest}"),
                "lowercase path components",
            ),
            (
                format!("ghcr.io//orders@sha256:{digest}"),
                "lowercase path components",
            ),
            (
                format!("ghcr.io/../orders@sha256:{digest}"),
                "lowercase path components",
            ),
            (
                format!(" ghcr.io/orders@sha256:{digest}"),
                "lowercase path components",
            ),
            (format!("@sha256:{digest}"), "lowercase path components"),
            (
                format!("ghcr.io/orders:@sha256:{digest}"),
                "not a valid tag",
            ),
            (
                format!("ghcr.io/orders:a b@sha256:{digest}"),
                "not a valid tag",
            ),
            (
                format!("ghcr.io/orders@sha256:{digest}\n"),
                "64 lowercase hex",
            ),
        ];
        for (input, rule) in cases {
            let err = ImageRef::parse(&input).unwrap_err();
            assert!(err.contains(rule), "{input:?}: {err}");
        }
    }

    fn primitive(kind: &str, name: &str, version: &str) -> Primitive {
        Primitive {
            kind: Kind::parse(kind).unwrap(),
            name: Name::parse(name).unwrap(),
            version: Version::parse(version).unwrap(),
        }
    }

    /// The grammar said another way: hyphen-separated segments of [a-z0-9], the first starting with
    /// a letter, at most 63 bytes, and not ending in "-smoke" or a version-like segment.
    fn in_grammar(s: &str) -> bool {
        let segments: Vec<&str> = s.split('-').collect();
        let shape = s.len() <= MAX_NAME_LEN
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && segments.iter().all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        let last = segments[segments.len() - 1];
        let versioned = segments.len() > 1
            && last.len() > 1
            && last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit());
        shape && last != "smoke" && !versioned
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn the_name_validator_accepts_exactly_the_grammar(input in "\\PC{0,70}|[a-z0-9\\-]{0,70}|[a-zA-Z0-9_ ./:\\-]{0,12}") {
            let verdict = Name::parse(&input);
            proptest::prop_assert_eq!(verdict.is_ok(), in_grammar(&input), "{:?}: {:?}", input, verdict);
            if let Err(message) = verdict {
                let quoted = format!("name {input:?}");
                proptest::prop_assert!(message.starts_with(&quoted));
            }
        }

        #[test]
        fn no_validator_panics(input in "\\PC{0,80}|[ -~]{0,80}") {
            let _ = Kind::parse(&input);
            let _ = Version::parse(&input);
            let _ = ImageRef::parse(&input);
            if let Ok(name) = Name::parse(&input) {
                proptest::prop_assert!(check_dns_label(name.as_str()).is_ok());
            }
        }
    }
}
