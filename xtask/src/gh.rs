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
/// How long one run waits in all for GitHub's rate limits before it gives up and says how long
/// to wait (`AMEIDE_GH_RETRY_WAIT` seconds).
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(60);
/// GitHub's advice when a rate-limited response names no time: wait at least a minute.
const UNNAMED_WAIT: Duration = Duration::from_secs(60);

/// The environment of every gh run: no prompts, no update check, no colour, and no telemetry
/// (`gh help environment`: `GH_TELEMETRY` wins over `DO_NOT_TRACK`; both are set), so that gh
/// opens no connection besides the API requests it is asked for.
pub const ENV: [(&str, &str); 5] = [
    ("GH_PROMPT_DISABLED", "1"),
    ("GH_NO_UPDATE_NOTIFIER", "1"),
    ("GH_TELEMETRY", "false"),
    ("DO_NOT_TRACK", "1"),
    ("NO_COLOR", "1"),
];

/// gh's own exit codes (`gh help exit-codes`). None of them is one of ours: gh's 4 means
/// "authentication required", not a failed guardrail; every gh failure exits 1 here, with its
/// meaning in the message.
const GH_CANCELLED: i32 = 2;
const GH_AUTH_REQUIRED: i32 = 4;

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

/// A response of `gh api`: the HTTP status, the headers (names in lower case) and the JSON body
/// (Null when empty).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Gh {
    bin: PathBuf,
    timeout: Duration,
    retry_wait: Duration,
}

impl Gh {
    pub fn new(bin: PathBuf) -> Result<Gh> {
        let seconds = |var: &str, default: Duration| match std::env::var(var) {
            Ok(s) => s
                .parse()
                .map(Duration::from_secs)
                .with_context(|| format!("{var} must be a number of seconds, e.g. 60")),
            Err(_) => Ok(default),
        };
        Ok(Gh {
            bin,
            timeout: seconds("AMEIDE_GH_TIMEOUT", DEFAULT_TIMEOUT)?,
            retry_wait: seconds("AMEIDE_GH_RETRY_WAIT", DEFAULT_RETRY_WAIT)?,
        })
    }

    /// One REST request; a body is sent as JSON. Any HTTP status comes back as a Response; only a
    /// failure to get one (gh missing, network, timeout) is an error. A rate-limited answer (403
    /// or 429 with `Retry-After` or an exhausted `x-ratelimit-remaining`) is retried after the
    /// time GitHub names, as long as the run's waiting stays within `AMEIDE_GH_RETRY_WAIT`;
    /// beyond that the error says how long to wait.
    pub fn api(
        &self,
        sh: &Shell,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response> {
        let mut waited = Duration::ZERO;
        loop {
            let response = self.api_once(sh, method, path, body)?;
            let Some(wait) = rate_limit_wait(&response, unix_now()) else {
                return Ok(response);
            };
            if waited + wait > self.retry_wait {
                bail!(
                    "GitHub rate-limited {method} {path} ({}): wait {}s, then re-run the same command (it converges)",
                    error_message(&response),
                    wait.as_secs()
                );
            }
            eprintln!(
                "GitHub rate-limited {method} {path} (HTTP {}): retrying in {}s, as it asks",
                response.status,
                wait.as_secs()
            );
            sleep_unless_interrupted(wait)?;
            waited += wait;
        }
    }

    fn api_once(
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
        .envs(ENV);
        let mut command: Command = cmd.into();
        let stdin = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, stdout, stderr) =
            run_with_timeout(&mut command, stdin.as_bytes(), self.timeout)
                .with_context(|| format!("gh api {method} {path}"))?;
        if let Some(response) = parse_included(&stdout) {
            return Ok(response);
        }
        let detail = stderr.trim();
        match status {
            Some(GH_AUTH_REQUIRED) => bail!(
                "gh is not authenticated for {}: run `gh auth login` or set GH_TOKEN ({detail})",
                host()
            ),
            Some(GH_CANCELLED) => bail!("gh api {method} {path} was cancelled: {detail}"),
            _ => bail!(
                "gh api {method} {path} failed (gh exit {status:?}): {detail}{}",
                crate::git::dropped_connection_advice(detail)
            ),
        }
    }
}

/// How long GitHub asks to wait before repeating a rate-limited request, or None when the
/// response is no rate limit (a 403 without these headers is a permission refusal).
/// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
fn rate_limit_wait(response: &Response, now_unix: u64) -> Option<Duration> {
    if !matches!(response.status, 403 | 429) {
        return None;
    }
    if let Some(seconds) = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(seconds.max(1)));
    }
    if response.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
        if let Some(reset) = response
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_secs(reset.saturating_sub(now_unix).max(1)));
        }
    }
    (response.status == 429).then_some(UNNAMED_WAIT)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Sleeps, in short steps so that Ctrl-C ends the wait at once.
fn sleep_unless_interrupted(wait: Duration) -> Result<()> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        crate::interrupt::check("repeating a rate-limited GitHub request")?;
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
    Ok(())
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
    let (head, body_text) = stdout
        .split_once("\r\n\r\n")
        .or_else(|| stdout.split_once("\n\n"))
        .unwrap_or((stdout, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let body = if body_text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body_text.trim()).ok()?
    };
    Some(Response {
        status,
        headers,
        body,
    })
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
        let r = parse_included(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nX-Ratelimit-Remaining: 0\r\n\r\n{}",
        )
        .unwrap();
        assert_eq!(
            (r.header("retry-after"), r.header("X-RateLimit-Remaining")),
            (Some("7"), Some("0"))
        );
    }

    #[test]
    fn rate_limits_wait_as_long_as_github_names_and_other_refusals_not_at_all() {
        let now = 1_000;
        // (status, headers, seconds to wait)
        type Case<'a> = (u16, &'a [(&'a str, &'a str)], Option<u64>);
        let cases: &[Case] = &[
            (429, &[("retry-after", "3")], Some(3)),
            (403, &[("retry-after", "0")], Some(1)),
            (
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1030"),
                ],
                Some(30),
            ),
            // A reset already past: once more, at once.
            (
                403,
                &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "900")],
                Some(1),
            ),
            // GitHub's advice for a rate limit that names no time.
            (429, &[], Some(60)),
            // A 403 that is no rate limit is a permission refusal: no retry.
            (403, &[], None),
            (
                403,
                &[
                    ("x-ratelimit-remaining", "4999"),
                    ("x-ratelimit-reset", "1030"),
                ],
                None,
            ),
            (200, &[("retry-after", "3")], None),
            (404, &[("retry-after", "3")], None),
        ];
        for (status, headers, expected) in cases {
            let response = Response {
                status: *status,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                body: Value::Null,
            };
            assert_eq!(
                rate_limit_wait(&response, now),
                expected.map(Duration::from_secs),
                "{status} {headers:?}"
            );
        }
    }

    #[test]
    fn every_gh_run_turns_telemetry_prompts_and_update_checks_off() {
        for (var, value) in [
            ("GH_TELEMETRY", "false"),
            ("DO_NOT_TRACK", "1"),
            ("GH_NO_UPDATE_NOTIFIER", "1"),
            ("GH_PROMPT_DISABLED", "1"),
        ] {
            assert!(ENV.contains(&(var, value)), "{var}={value}");
        }
    }
}
