//! The one module that calls gh: REST requests through `gh api`, so that any host gh supports
//! works (`GH_HOST`) and the token stays inside gh.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use xshell::{cmd, Shell};

/// How long one request may take before the run gives up (`AMEIDE_GH_TIMEOUT` seconds).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A validated `OWNER/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(input: &str) -> Result<Repo, String> {
        let ok_part = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        match input.split_once('/') {
            Some((owner, name)) if ok_part(owner) && ok_part(name) => {
                Ok(Repo { owner: owner.to_owned(), name: name.to_owned() })
            }
            _ => Err(format!(
                "repository {input:?}: must be OWNER/NAME (letters, digits, '-', '_', '.'), e.g. ameideio/ameide-gitops"
            )),
        }
    }

    /// OWNER/NAME from a remote URL: https://host/o/r(.git), git@host:o/r(.git), ssh://git@host/o/r.
    pub fn from_remote_url(url: &str) -> Option<Repo> {
        let rest = if let Some((_, after)) = url.split_once("://") {
            after.split_once('/')?.1
        } else {
            url.split_once(':')?.1
        };
        let rest = rest.trim_end_matches('/').trim_end_matches(".git");
        let mut parts = rest.rsplitn(3, '/');
        let name = parts.next()?;
        let owner = parts.next()?;
        Repo::parse(&format!("{owner}/{name}")).ok()
    }

    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The host gh talks to, for links in messages.
pub fn host() -> String {
    std::env::var("GH_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "github.com".to_owned())
}

/// A response of `gh api`: the HTTP status and the JSON body (Null when empty).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

pub struct Gh {
    bin: PathBuf,
    timeout: Duration,
}

impl Gh {
    pub fn new(bin: PathBuf) -> Result<Gh> {
        let timeout = match std::env::var("AMEIDE_GH_TIMEOUT") {
            Ok(s) => Duration::from_secs(
                s.parse()
                    .context("AMEIDE_GH_TIMEOUT must be a number of seconds")?,
            ),
            Err(_) => DEFAULT_TIMEOUT,
        };
        Ok(Gh { bin, timeout })
    }

    /// One REST request; a body is sent as JSON. Any HTTP status comes back as a Response; only a
    /// failure to get one (gh missing, network, timeout) is an error.
    pub fn api(
        &self,
        sh: &Shell,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response> {
        let bin: &Path = &self.bin;
        let input: Vec<&str> = if body.is_some() {
            vec!["--input", "-"]
        } else {
            Vec::new()
        };
        let cmd = cmd!(
            sh,
            "{bin} api --include --method {method} {path} {input...}"
        )
        .quiet()
        .env("GH_PROMPT_DISABLED", "1")
        .env("GH_NO_UPDATE_NOTIFIER", "1")
        .env("NO_COLOR", "1");
        let mut command: Command = cmd.into();
        let stdin = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, stdout, stderr) =
            run_with_timeout(&mut command, stdin.as_bytes(), self.timeout)
                .with_context(|| format!("gh api {method} {path}"))?;
        if let Some(response) = parse_included(&stdout) {
            return Ok(response);
        }
        let detail = stderr.trim();
        if detail.contains("gh auth login") || detail.contains("authentication") {
            bail!(
                "gh is not authenticated for {}: run `gh auth login` or set GH_TOKEN ({detail})",
                host()
            );
        }
        bail!(
            "gh api {method} {path} failed (exit {status:?}): {detail}{}",
            crate::git::dropped_connection_advice(detail)
        )
    }
}

/// Parses `gh api --include` output: status line, headers, blank line, body.
fn parse_included(stdout: &str) -> Option<Response> {
    let status_line = stdout.lines().next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/")?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let body_text = stdout
        .split_once("\r\n\r\n")
        .or_else(|| stdout.split_once("\n\n"))
        .map_or("", |(_, b)| b);
    let body = if body_text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body_text.trim()).ok()?
    };
    Some(Response { status, body })
}

/// Runs a process with stdin, capturing output, killing it after `timeout`.
fn run_with_timeout(
    command: &mut Command,
    stdin: &[u8],
    timeout: Duration,
) -> Result<(Option<i32>, String, String)> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting gh: is it installed? (set AMEIDE_GH to its path)")?;
    {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(stdin).context("writing to gh")?;
    }
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(anyhow!(
                "timed out after {}s (AMEIDE_GH_TIMEOUT); nothing after this step was done, re-run to converge",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok((status.code(), stdout, stderr))
}

/// The message of a GitHub error body, for error texts.
pub fn error_message(response: &Response) -> String {
    let message = response.body["message"].as_str().unwrap_or("no message");
    let details: Vec<&str> = response.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    if details.is_empty() {
        format!("HTTP {}: {message}", response.status)
    } else {
        format!(
            "HTTP {}: {message} ({})",
            response.status,
            details.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn repos_parse_and_come_from_remote_urls() {
        assert_eq!(
            Repo::parse("ameideio/ameide-gitops").unwrap().slug(),
            "ameideio/ameide-gitops"
        );
        for bad in [
            "", "a", "a/", "/b", "a/b/c", "a b/c", "../x", "a/..", "a/b;rm",
        ] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
        for (url, slug) in [
            (
                "https://github.com/ameideio/ameide-gitops.git",
                "ameideio/ameide-gitops",
            ),
            (
                "https://github.com/ameideio/ameide-gitops",
                "ameideio/ameide-gitops",
            ),
            (
                "git@github.com:ameideio/ameide-gitops.git",
                "ameideio/ameide-gitops",
            ),
            ("ssh://git@github.example.com:22/team/repo.git", "team/repo"),
        ] {
            assert_eq!(
                Repo::from_remote_url(url).map(|r| r.slug()),
                Some(slug.to_owned()),
                "{url}"
            );
        }
        assert_eq!(Repo::from_remote_url("/tmp/remote.git"), None);
    }

    #[test]
    fn included_output_gives_status_and_body() {
        let r = parse_included(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"number\": 7}",
        )
        .unwrap();
        assert_eq!((r.status, r.body["number"].as_u64()), (201, Some(7)));
        let r = parse_included("HTTP/2.0 204 No Content\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body), (204, Value::Null));
        assert!(parse_included("gh: not found").is_none());
    }
}
