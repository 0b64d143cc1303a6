//! The GitHub API test server, driven by the real `gh`: proof that what the end-to-end tests see
//! is what `gh api` does against GitHub.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use support::github::{GitHubServer, Pull, Request};
use support::TempDir;

const OWNER: &str = "o";
const REPO: &str = "r";

/// Runs `gh` against `server` with `stdin` as its input.
fn gh(server: &GitHubServer, args: &[&str], stdin: &str) -> Output {
    let config = TempDir::new("gh-config");
    let mut child = Command::new(support::tool("gh"))
        .args(args)
        .env_remove("GH_DEBUG")
        .env_remove("GH_REPO")
        .env_remove("GITHUB_TOKEN")
        .envs(server.gh_env(config.path()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gh");
    child
        .stdin
        .take()
        .expect("gh stdin")
        .write_all(stdin.as_bytes())
        .expect("write gh stdin");
    child.wait_with_output().expect("wait for gh")
}

/// `gh`, which must succeed; returns its stdout.
fn gh_ok(server: &GitHubServer, args: &[&str], stdin: &str) -> String {
    let output = gh(server, args, stdin);
    assert!(
        output.status.success(),
        "gh {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("gh stdout is UTF-8")
}

/// `gh`, which must fail; returns its stdout and stderr. On an HTTP error `gh api` prints the
/// response body on stdout and `gh: <message> (HTTP <status>)` on stderr.
fn gh_err(server: &GitHubServer, args: &[&str]) -> (String, String) {
    let output = gh(server, args, "");
    assert!(
        !output.status.success(),
        "gh {args:?} succeeded but should have failed; stdout:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    (
        String::from_utf8(output.stdout).expect("gh stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("gh stderr is UTF-8"),
    )
}

fn request(method: &str, path: &str, body: Option<Value>) -> Request {
    Request {
        method: method.to_string(),
        path: path.to_string(),
        body,
        authorization: None,
    }
}

/// The recorded requests, after checking each carried the server's token.
fn requests_with_token(server: &GitHubServer) -> Vec<Request> {
    let expected = format!("token {}", server.token());
    server
        .requests()
        .into_iter()
        .map(|mut r| {
            // Compare without printing: the token must never reach the test output.
            assert!(
                r.authorization.as_deref() == Some(expected.as_str()),
                "{} {}: Authorization is not `token <the token from gh_env>`",
                r.method,
                r.path
            );
            r.authorization = None;
            r
        })
        .collect()
}

fn pull(number: u64, head: &str, title: &str, body: &str, state: &str) -> Pull {
    Pull {
        number,
        title: title.to_string(),
        body: body.to_string(),
        head: head.to_string(),
        base: "main".to_string(),
        state: state.to_string(),
    }
}

fn create_args(head: &str, title: &str, body: &str) -> Vec<String> {
    [
        "api",
        "-X",
        "POST",
        "repos/o/r/pulls",
        "-f",
        &format!("title={title}"),
        "-f",
        &format!("head={head}"),
        "-f",
        "base=main",
        "-f",
        &format!("body={body}"),
    ]
    .map(str::to_string)
    .to_vec()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn repo_lookup_sends_the_token_in_proxy_form() {
    let server = GitHubServer::start(OWNER, REPO);
    let out = gh_ok(&server, &["api", "repos/o/r", "--jq", ".full_name"], "");
    assert_eq!(out, "o/r\n");
    assert_eq!(
        requests_with_token(&server),
        vec![request("GET", "/repos/o/r", None)]
    );
}

#[test]
fn unknown_repo_and_unknown_route_are_not_found() {
    let server = GitHubServer::start(OWNER, REPO);
    let (stdout, stderr) = gh_err(&server, &["api", "repos/o/other"]);
    assert_eq!(stderr, "gh: Not Found (HTTP 404)\n");
    let body: Value = serde_json::from_str(&stdout).expect("gh prints the error body");
    assert_eq!(body["message"], "Not Found");
    gh_err(&server, &["api", "repos/o/r/branches/main"]);
    assert_eq!(
        requests_with_token(&server),
        vec![
            request("GET", "/repos/o/other", None),
            request("GET", "/repos/o/r/branches/main", None),
        ]
    );
}

#[test]
fn user_is_the_bot() {
    let server = GitHubServer::start(OWNER, REPO);
    assert_eq!(
        gh_ok(&server, &["api", "user", "--jq", ".login"], ""),
        "scaffold-bot\n"
    );
}

#[test]
fn create_pull_records_the_request_and_the_pull() {
    let server = GitHubServer::start(OWNER, REPO);
    let mut args = create_args("scaffold/x", "scaffold(primitives): x", "files:\n- a.yaml");
    args.extend([
        "--jq".to_string(),
        "[.number, .html_url, .head.label] | @tsv".to_string(),
    ]);
    let out = gh_ok(&server, &as_strs(&args), "");
    assert_eq!(out, "1\thttp://github.localhost/o/r/pull/1\to:scaffold/x\n");

    let expected_body = json!({
        "title": "scaffold(primitives): x",
        "head": "scaffold/x",
        "base": "main",
        "body": "files:\n- a.yaml",
    });
    assert_eq!(
        requests_with_token(&server),
        vec![request("POST", "/repos/o/r/pulls", Some(expected_body))]
    );
    assert_eq!(
        server.pulls(),
        vec![pull(
            1,
            "scaffold/x",
            "scaffold(primitives): x",
            "files:\n- a.yaml",
            "open"
        )]
    );
}

#[test]
fn second_pull_for_the_same_head_is_refused() {
    let server = GitHubServer::start(OWNER, REPO);
    let args = create_args("scaffold/x", "t", "b");
    gh_ok(&server, &as_strs(&args), "");
    let (stdout, stderr) = gh_err(&server, &as_strs(&args));
    assert_eq!(stderr, "gh: Validation Failed (HTTP 422)\n");
    let refusal: Value = serde_json::from_str(&stdout).expect("gh prints the error body");
    assert_eq!(
        refusal["errors"][0]["message"],
        "A pull request already exists for o:scaffold/x."
    );
    assert_eq!(
        server.pulls(),
        vec![pull(1, "scaffold/x", "t", "b", "open")]
    );

    // Another branch, or the same one once the first is closed, is fine.
    gh_ok(
        &server,
        &as_strs(&create_args("o:scaffold/y", "t", "b")),
        "",
    );
    gh_ok(
        &server,
        &[
            "api",
            "-X",
            "PATCH",
            "repos/o/r/pulls/1",
            "-f",
            "state=closed",
        ],
        "",
    );
    gh_ok(&server, &as_strs(&args), "");
    assert_eq!(
        server.pulls(),
        vec![
            pull(1, "scaffold/x", "t", "b", "closed"),
            pull(2, "scaffold/y", "t", "b", "open"),
            pull(3, "scaffold/x", "t", "b", "open"),
        ]
    );
}

#[test]
fn list_filters_by_state_head_and_base() {
    let server = GitHubServer::start(OWNER, REPO);
    gh_ok(
        &server,
        &as_strs(&create_args("scaffold/x", "x", "first")),
        "",
    );
    server.add_pull("scaffold/y", "main", "y", "");
    server.add_pull("scaffold/x", "release", "x on release", "");
    let closed = server.add_pull("scaffold/z", "main", "z", "");
    gh_ok(
        &server,
        &[
            "api",
            "-X",
            "PATCH",
            &format!("repos/o/r/pulls/{closed}"),
            "-f",
            "state=closed",
        ],
        "",
    );

    let list = |query: &str| {
        let out = gh_ok(
            &server,
            &[
                "api",
                &format!("repos/o/r/pulls?{query}"),
                "--jq",
                "[.[].number]",
            ],
            "",
        );
        serde_json::from_str::<Value>(&out).expect("a JSON list of numbers")
    };
    assert_eq!(list("state=open&head=o:scaffold/x&base=main"), json!([1]));
    assert_eq!(
        list("state=open&head=o%3Ascaffold%2Fx&base=main"),
        json!([1])
    );
    assert_eq!(
        list("state=open&head=other:scaffold/x&base=main"),
        json!([])
    );
    assert_eq!(list("state=open"), json!([3, 2, 1]));
    assert_eq!(list("state=closed"), json!([4]));
    assert_eq!(list("state=all&base=main"), json!([4, 2, 1]));

    // The fields the xtask reads; the rest of the shape is GitHub's (the OpenAPI tests below).
    let out = gh_ok(
        &server,
        &[
            "api",
            "repos/o/r/pulls?state=open&head=o:scaffold/x&base=main",
            "--jq",
            "[.[] | {number, title, body, state, draft, url, html_url, user: .user.login, \
             head: [.head.ref, .head.label, .head.repo.full_name], base: [.base.ref, .base.label]}]",
        ],
        "",
    );
    let listed: Value = serde_json::from_str(&out).expect("gh prints the JSON list");
    assert_eq!(
        listed,
        json!([{
            "number": 1,
            "title": "x",
            "body": "first",
            "state": "open",
            "draft": false,
            "url": "http://api.github.localhost/repos/o/r/pulls/1",
            "html_url": "http://github.localhost/o/r/pull/1",
            "user": "scaffold-bot",
            "head": ["scaffold/x", "o:scaffold/x", "o/r"],
            "base": ["main", "o:main"],
        }])
    );
    let paths: Vec<String> = requests_with_token(&server)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths.last().map(String::as_str),
        Some("/repos/o/r/pulls?state=open&head=o:scaffold/x&base=main")
    );
}

#[test]
fn patch_updates_the_pull() {
    let server = GitHubServer::start(OWNER, REPO);
    let number = server.add_pull("scaffold/x", "main", "old title", "old");
    let out = gh_ok(
        &server,
        &[
            "api",
            "-X",
            "PATCH",
            "repos/o/r/pulls/1",
            "-f",
            "body=new",
            "--jq",
            ".body",
        ],
        "",
    );
    assert_eq!(out, "new\n");
    assert_eq!(
        server.pulls(),
        vec![pull(number, "scaffold/x", "old title", "new", "open")]
    );
    assert_eq!(
        requests_with_token(&server),
        vec![request(
            "PATCH",
            "/repos/o/r/pulls/1",
            Some(json!({"body": "new"}))
        )]
    );

    let (_, stderr) = gh_err(
        &server,
        &["api", "-X", "PATCH", "repos/o/r/pulls/9", "-f", "body=x"],
    );
    assert!(stderr.contains("HTTP 404"), "stderr: {stderr}");
    assert_eq!(
        server.pulls(),
        vec![pull(number, "scaffold/x", "old title", "new", "open")]
    );
}

#[test]
fn fail_next_fails_once_and_changes_nothing() {
    let server = GitHubServer::start(OWNER, REPO);
    server.fail_next("POST", "/repos/o/r/pulls", 500);
    let args = create_args("scaffold/x", "t", "b");
    let (_, stderr) = gh_err(&server, &as_strs(&args));
    assert!(stderr.contains("HTTP 500"), "stderr: {stderr}");
    assert_eq!(server.pulls(), vec![]);

    gh_ok(&server, &as_strs(&args), "");
    assert_eq!(
        server.pulls(),
        vec![pull(1, "scaffold/x", "t", "b", "open")]
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn fail_always_fails_until_cleared() {
    let server = GitHubServer::start(OWNER, REPO);
    server.fail_always("GET", "/repos/o/r/pulls", 503);
    // Other methods and paths are untouched.
    gh_ok(&server, &["api", "repos/o/r"], "");
    for _ in 0..2 {
        let (_, stderr) = gh_err(&server, &["api", "repos/o/r/pulls?state=open"]);
        assert!(stderr.contains("HTTP 503"), "stderr: {stderr}");
    }
    server.clear_failures();
    assert_eq!(
        gh_ok(&server, &["api", "repos/o/r/pulls?state=open"], ""),
        "[]"
    );
}

#[test]
fn dispatch_records_the_body_from_stdin() {
    let server = GitHubServer::start(OWNER, REPO);
    let body = json!({"ref": "main", "inputs": {"kind": "domain"}});
    let out = gh_ok(
        &server,
        &[
            "api",
            "-X",
            "POST",
            "repos/o/r/actions/workflows/scaffold-primitive-gitops.yaml/dispatches",
            "--input",
            "-",
        ],
        &body.to_string(),
    );
    assert_eq!(out, "");
    assert_eq!(
        server.dispatches(),
        vec![("scaffold-primitive-gitops.yaml".to_string(), body.clone())]
    );
    assert_eq!(
        requests_with_token(&server),
        vec![request(
            "POST",
            "/repos/o/r/actions/workflows/scaffold-primitive-gitops.yaml/dispatches",
            Some(body)
        )]
    );

    // GitHub refuses a dispatch without a ref.
    let output = gh(
        &server,
        &[
            "api",
            "-X",
            "POST",
            "repos/o/r/actions/workflows/w.yaml/dispatches",
            "--input",
            "-",
        ],
        r#"{"inputs":{}}"#,
    );
    assert!(!output.status.success());
    assert_eq!(server.dispatches().len(), 1);
}

#[test]
fn paginate_follows_links_on_one_connection() {
    let server = GitHubServer::start(OWNER, REPO);
    for branch in ["a", "b", "c"] {
        server.add_pull(&format!("scaffold/{branch}"), "main", branch, "");
    }
    let out = gh_ok(
        &server,
        &[
            "api",
            "--paginate",
            "repos/o/r/pulls?per_page=2",
            "--jq",
            ".[].number",
        ],
        "",
    );
    assert_eq!(out, "3\n2\n1\n");
    let paths: Vec<String> = requests_with_token(&server)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/repos/o/r/pulls?per_page=2",
            "/repos/o/r/pulls?per_page=2&page=2"
        ]
    );
}

/// Reads one response with a Content-Length from `stream`.
fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("read the response head"), 1);
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).expect("UTF-8 head");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.parse().expect("numeric Content-Length"));
    let mut body = vec![0u8; len];
    stream
        .read_exact(&mut body)
        .expect("read the response body");
    (head, body)
}

#[test]
fn one_connection_serves_several_requests_in_either_form() {
    let server = GitHubServer::start(OWNER, REPO);
    let mut stream = TcpStream::connect(server.url().trim_start_matches("http://")).unwrap();
    let body = r#"{"title":"t","head":"scaffold/x","base":"main"}"#;
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    write!(
        stream,
        "GET http://api.github.localhost/repos/o/r HTTP/1.1\r\nHost: api.github.localhost\r\nAuthorization: token t\r\n\r\n\
         POST /repos/o/r/pulls HTTP/1.1\r\nHost: x\r\nAuthorization: token t\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}\
         GET /repos/o/r/pulls/1 HTTP/1.1\r\nHost: x\r\nAuthorization: token t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();

    let (head, repo) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/json; charset=utf-8\r\n"),
        "{head}"
    );
    assert!(head.contains("Connection: keep-alive\r\n"), "{head}");
    let repo: Value = serde_json::from_slice(&repo).unwrap();
    assert_eq!(
        [
            &repo["full_name"],
            &repo["name"],
            &repo["owner"]["login"],
            &repo["default_branch"],
            &repo["html_url"],
        ],
        ["o/r", "r", "o", "main", "http://github.localhost/o/r"]
    );
    // No `permissions` unless a test sets them, as for an installation token.
    assert_eq!(repo.get("permissions"), None);
    let (head, _) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{head}");
    let (head, pull) = read_response(&mut stream);
    assert!(head.contains("Connection: close\r\n"), "{head}");
    let pull: Value = serde_json::from_slice(&pull).unwrap();
    assert_eq!(pull["head"]["ref"], "scaffold/x");
    assert_eq!(pull["body"], Value::Null);
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"");

    let with_token = |mut r: Request| {
        r.authorization = Some("token t".to_owned());
        r
    };
    assert_eq!(
        server.requests(),
        vec![
            with_token(request("GET", "/repos/o/r", None)),
            with_token(request(
                "POST",
                "/repos/o/r/pulls",
                serde_json::from_str(body).ok()
            )),
            with_token(request("GET", "/repos/o/r/pulls/1", None)),
        ]
    );
}

#[test]
fn drop_stops_the_server() {
    let server = GitHubServer::start(OWNER, REPO);
    let addr = server.url().trim_start_matches("http://").to_string();
    // An idle keep-alive connection must not keep the server alive: drop closes it.
    let mut idle = TcpStream::connect(&addr).unwrap();
    drop(server);
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(idle.read(&mut buf).expect("EOF, not a timeout"), 0);
}

#[test]
fn a_request_for_another_host_fails_instead_of_leaving_the_machine() {
    let server = GitHubServer::start(OWNER, REPO);
    gh_err(&server, &["api", "--hostname", "github.com", "user"]);
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["CONNECT"]);
}

// The server's answers against GitHub's OpenAPI description (docs/conventions.md#the-loopback-github-server).

/// The answers the xtask relies on, by operation (`scaffold/pr.rs`, `scaffold/trigger.rs`): the
/// conformance test must see each of them.
const THE_XTASK_READS: [(&str, &str, u16); 12] = [
    // check_access: the repository, its canonical name and the token's permissions.
    ("GET", "/repos/{owner}/{repo}", 200),
    ("GET", "/repos/{owner}/{repo}", 301),
    ("GET", "/repos/{owner}/{repo}", 401),
    ("GET", "/repos/{owner}/{repo}", 404),
    // find_open_pull
    ("GET", "/repos/{owner}/{repo}/pulls", 200),
    // upsert_pull: created, or a concurrent run was first.
    ("POST", "/repos/{owner}/{repo}/pulls", 201),
    ("POST", "/repos/{owner}/{repo}/pulls", 422),
    // update_pull
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", 200),
    // follow_through: with the run's details, or GitHub's older empty answer.
    (
        "POST",
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        200,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        204,
    ),
    // follow: the run until it completes; a rate limit on the way.
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", 200),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", 429),
];

/// Drives every operation the server answers, in every outcome it can give, through the real gh.
fn drive_every_operation(server: &GitHubServer) {
    let api = |args: &[&str]| {
        let _ = gh(server, &[&["api"], args].concat(), "");
    };
    api(&["/"]);
    api(&["user"]);
    api(&["repos/o/r"]);
    server.set_push_permission(false);
    api(&["repos/o/r"]);
    api(&["repos/o/other"]);
    api(&["repos/o/r/branches/main"]);

    // A request without a token, which gh never sends.
    let mut stream = TcpStream::connect(server.url().trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "GET /repos/o/r HTTP/1.1\r\nHost: api.github.localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let (head, _) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");

    let create = create_args("scaffold/x", "scaffold(primitives): x", "files");
    api(&as_strs(&create)[1..]);
    api(&as_strs(&create)[1..]); // already exists
    api(&["-X", "POST", "repos/o/r/pulls", "-f", "head=scaffold/y"]); // no title, no base
    server.add_pull("scaffold/y", "main", "y", "");
    api(&["repos/o/r/pulls?state=open&head=o:scaffold/x&base=main"]);
    api(&["--paginate", "repos/o/r/pulls?per_page=1"]);
    api(&["repos/o/r/pulls?state=merged"]);
    api(&["repos/o/r/pulls/1"]);
    api(&["repos/o/r/pulls/9"]);
    api(&[
        "-X",
        "PATCH",
        "repos/o/r/pulls/1",
        "-f",
        "title=t",
        "-f",
        "body=",
    ]);
    api(&["-X", "PATCH", "repos/o/r/pulls/2", "-f", "state=closed"]);
    api(&["-X", "PATCH", "repos/o/r/pulls/2", "-f", "state=merged"]);
    api(&["-X", "PATCH", "repos/o/r/pulls/9", "-f", "body=x"]);
    api(&["repos/o/r/pulls?state=closed"]);

    let dispatch = "repos/o/r/actions/workflows/scaffold-primitive-gitops.yaml/dispatches";
    for body in [
        json!({"ref": "main", "inputs": {"kind": "domain"}, "return_run_details": true}),
        json!({"ref": "main", "inputs": {"kind": "domain"}}),
        json!({"inputs": {}}),
    ] {
        let _ = gh(
            server,
            &["api", "-X", "POST", dispatch, "--input", "-"],
            &body.to_string(),
        );
    }
    // Queued, in progress, completed; an unknown run.
    let (id, _) = server.run_looks()[0];
    for _ in 0..3 {
        api(&[format!("repos/o/r/actions/runs/{id}").as_str()]);
    }
    api(&["repos/o/r/actions/runs/1"]);

    // GitHub's refusals and failures, as the tests plant them.
    server.fail_next_with_headers(
        "GET",
        "/repos/o/r/actions/runs/",
        429,
        &[("Retry-After", "1")],
    );
    api(&[format!("repos/o/r/actions/runs/{id}").as_str()]);
    server.fail_next("POST", "/repos/o/r/pulls", 403);
    api(&as_strs(&create)[1..]);
    for status in [500, 502, 503] {
        server.fail_next("GET", "/repos/o/r", status);
        api(&["repos/o/r"]);
    }

    // The repository under its old name: GitHub redirects, 301 for a GET, 307 for the rest.
    server.renamed_from("old", "r");
    api(&["repos/old/r"]);
    api(&[
        "-X",
        "POST",
        "repos/old/r/pulls",
        "-f",
        "title=t",
        "-f",
        "head=h",
        "-f",
        "base=main",
    ]);
}

#[test]
fn every_answer_of_the_server_is_one_githubs_openapi_description_allows() {
    let description = support::openapi::Description::get();
    let server = GitHubServer::start(OWNER, REPO);
    drive_every_operation(&server);

    server.assert_answers_conform();

    let exchanges = server.exchanges();

    let seen: Vec<(&str, u16)> = exchanges
        .iter()
        .filter_map(|e| {
            let template = description.template(&e.request.method, &e.request.path)?;
            Some((template, e.status))
        })
        .collect();
    for (method, template, status) in THE_XTASK_READS {
        assert!(
            seen.contains(&(template, status)),
            "{method} {template} → {status} was never answered: drive it"
        );
    }
    for (method, template, _) in support::openapi::SERVED {
        assert!(
            seen.iter().any(|(t, s)| *t == template && *s < 300),
            "{method} {template} never succeeded: drive it"
        );
    }
}

/// The answer the server gives to `method path`, taken from its record.
fn answer_of(server: &GitHubServer, method: &str, path: &str) -> Value {
    server
        .exchanges()
        .into_iter()
        .find(|e| e.request.method == method && e.request.path == path && e.status < 300)
        .and_then(|e| e.body)
        .unwrap_or_else(|| panic!("no answer to {method} {path}"))
}

#[test]
fn the_check_refuses_a_missing_field_a_wrong_type_an_undeclared_status_and_a_stray_body() {
    let description = support::openapi::Description::get();
    let server = GitHubServer::start(OWNER, REPO);
    gh_ok(&server, &["api", "repos/o/r"], "");
    gh_ok(&server, &as_strs(&create_args("scaffold/x", "t", "b")), "");
    let repo = answer_of(&server, "GET", "/repos/o/r");
    let pull = answer_of(&server, "POST", "/repos/o/r/pulls");
    assert_eq!(
        description.check("GET", "/repos/o/r", 200, Some(&repo)),
        Vec::<String>::new()
    );

    let without = |value: &Value, pointer: &str| {
        let mut value = value.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        value
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap()
            .remove(field)
            .unwrap_or_else(|| panic!("no {pointer}"));
        value
    };
    let with = |value: &Value, pointer: &str, new: Value| {
        let mut value = value.clone();
        *value.pointer_mut(pointer).unwrap() = new;
        value
    };
    // (method, path, status, body, what the problem names)
    let cases: Vec<(&str, &str, u16, Option<Value>, &str)> = vec![
        (
            "GET",
            "/repos/o/r",
            200,
            Some(without(&repo, "/full_name")),
            "\"full_name\" is a required property",
        ),
        (
            "GET",
            "/repos/o/r",
            200,
            Some(without(&repo, "/owner/login")),
            "\"login\" is a required property",
        ),
        (
            "POST",
            "/repos/o/r/pulls",
            201,
            Some(without(&pull, "/head/repo/clone_url")),
            "\"clone_url\" is a required property",
        ),
        (
            "POST",
            "/repos/o/r/pulls",
            201,
            Some(with(&pull, "/number", json!("1"))),
            "at \"/number\"",
        ),
        (
            "POST",
            "/repos/o/r/pulls",
            201,
            Some(with(&pull, "/html_url", json!("not a URL"))),
            "at \"/html_url\"",
        ),
        // `body` is nullable, `title` is not.
        (
            "POST",
            "/repos/o/r/pulls",
            201,
            Some(with(&pull, "/title", Value::Null)),
            "at \"/title\"",
        ),
        (
            "POST",
            "/repos/o/r/pulls",
            200,
            Some(pull.clone()),
            "declares 201, 403, 422, not 200",
        ),
        (
            "GET",
            "/repos/o/r/pulls",
            200,
            Some(pull.clone()),
            "is not of type \"array\"",
        ),
        (
            "POST",
            "/repos/o/r/actions/workflows/w.yaml/dispatches",
            204,
            Some(json!({})),
            "has no body",
        ),
        (
            "GET",
            "/repos/o/r/branches/main",
            200,
            Some(json!({})),
            "the status must be 404",
        ),
    ];
    assert_eq!(
        description.check(
            "POST",
            "/repos/o/r/pulls",
            201,
            Some(&with(&pull, "/body", Value::Null))
        ),
        Vec::<String>::new()
    );
    for (method, path, status, body, expected) in cases {
        let problems = description.check(method, path, status, body.as_ref());
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{method} {path} {status}: expected a problem naming {expected:?}, got {problems:#?}"
        );
    }
}
