//! A GitHub REST API test server on loopback that the real `gh` talks to.
//!
//! `gh` with `GH_HOST=github.localhost` speaks plain HTTP to `http://api.github.localhost/`, and
//! with `HTTP_PROXY` pointed here it sends every request to this server in proxy form
//! (`GET http://api.github.localhost/repos/o/r HTTP/1.1`). The server keeps one repository, its
//! pull requests and its workflow dispatches in memory, records every request and its answer, and
//! can be told to fail requests the way GitHub does. It answers in the shapes of GitHub's OpenAPI
//! description (`shapes`), which `tests/github_openapi.rs` proves.

mod shapes;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The host `gh` is pointed at; `*.localhost` hosts get plain HTTP and the `api.` subdomain.
pub const GH_HOST: &str = "github.localhost";
/// The login `GET /user` answers, and the author of every pull request.
pub const LOGIN: &str = "scaffold-bot";
const DOCS: &str = "https://docs.github.com/rest";
/// How often a connection blocked on a read checks whether the server is stopping.
const POLL: Duration = Duration::from_millis(50);
const MAX_HEAD: usize = 64 * 1024;

/// One request as it arrived, with the target in origin form (`/repos/o/r/pulls?state=open`).
/// Its `Debug` hides the credential, so a failed assertion never prints a token.
#[derive(Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub authorization: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authorization = self.authorization.as_deref().map(|value| {
            let scheme = value.split_once(' ').map_or("", |(scheme, _)| scheme);
            format!("{scheme} <redacted>")
        });
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body", &self.body)
            .field("authorization", &authorization)
            .finish()
    }
}

/// One request and the answer the server sent (`status` 0: it closed the connection instead).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub request: Request,
    pub status: u16,
    pub body: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: String,
    /// The head branch name, without the `owner:` prefix.
    pub head: String,
    pub base: String,
    /// `open` or `closed`.
    pub state: String,
}

pub struct GitHubServer {
    addr: SocketAddr,
    token: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    owner: String,
    repo: String,
    stop: AtomicBool,
    state: Mutex<State>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    exchanges: Vec<Exchange>,
    pulls: Vec<Pull>,
    dispatches: Vec<(String, Value)>,
    failures: Vec<Failure>,
    /// The token's `permissions` on the repository, as GitHub names them for a user's token;
    /// none (like an installation token) unless a test sets them.
    push_permission: Option<bool>,
    /// Earlier `owner/repo` names of the repository (renamed or transferred): GitHub redirects them.
    old_names: Vec<(String, String)>,
    runs: Vec<Run>,
    /// What runs conclude once completed; None: "success".
    run_conclusion: Option<String>,
    /// Answer dispatches 204 even when asked for the run details, as GitHub did before it had them.
    dispatch_without_details: bool,
}

/// A workflow run started by a dispatch that asked for its details: queued, then in progress,
/// then completed, one step per look.
#[derive(Clone, Debug)]
struct Run {
    id: u64,
    workflow: String,
    head_branch: String,
    looks: u32,
}

struct Failure {
    method: String,
    path_prefix: String,
    status: u16,
    once: bool,
    headers: Vec<(String, String)>,
}

struct Response {
    status: u16,
    body: Option<Value>,
    link: Option<String>,
    headers: Vec<(String, String)>,
}

impl GitHubServer {
    /// Serves the repository `owner/repo` on 127.0.0.1 until dropped.
    pub fn start(owner: &str, repo: &str) -> GitHubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let shared = Arc::new(Shared {
            owner: owner.to_string(),
            repo: repo.to_string(),
            stop: AtomicBool::new(false),
            state: Mutex::default(),
            workers: Mutex::default(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("github-server-{}", addr.port()))
                .spawn(move || accept(listener, shared))
                .expect("spawn the server thread")
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        GitHubServer {
            addr,
            token: format!("ghp_test{:08x}{:08x}", addr.port(), nanos),
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:<port>`, the proxy `gh` must use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fake token `gh_env` hands to `gh`; compare with it, never print it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Everything `gh` needs to talk to this server and nothing else, for `Command::envs`.
    /// `HTTPS_PROXY` points here too, so a request that escapes to a real host fails fast.
    pub fn gh_env(&self, config_dir: &Path) -> Vec<(String, String)> {
        let url = self.url();
        [
            ("GH_HOST", GH_HOST),
            ("GH_TOKEN", &self.token),
            ("GH_ENTERPRISE_TOKEN", &self.token),
            ("GH_CONFIG_DIR", &config_dir.to_string_lossy()),
            ("HTTP_PROXY", &url),
            ("http_proxy", &url),
            ("HTTPS_PROXY", &url),
            ("https_proxy", &url),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
            ("GH_NO_UPDATE_NOTIFIER", "1"),
            ("GH_PROMPT_DISABLED", "1"),
            ("NO_COLOR", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Every request so far, in arrival order, including failed and unknown ones.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.state().requests.clone()
    }

    /// Every request so far with the answer it got, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.state().exchanges.clone()
    }

    /// Checks every answer so far against GitHub's OpenAPI description (`super::openapi`); a
    /// connection closed instead of answered (`drop_next`) is no answer. Panics with every
    /// difference, naming the request.
    pub fn assert_answers_conform(&self) {
        let description = super::openapi::Description::get();
        let exchanges = self.exchanges();
        let problems: Vec<String> = exchanges
            .iter()
            .filter(|e| e.status != DROP)
            .flat_map(|e| {
                let r = &e.request;
                description.check(&r.method, &r.path, e.status, e.body.as_ref())
            })
            .collect();
        assert!(
            problems.is_empty(),
            "{} of {} answers of the GitHub test server differ from GitHub's description \
             (docs/conventions.md#the-loopback-github-server):\n{}",
            problems.len(),
            exchanges.len(),
            problems.join("\n")
        );
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.shared.state().pulls.clone()
    }

    /// Workflow dispatches so far: the workflow file and the request body.
    pub fn dispatches(&self) -> Vec<(String, Value)> {
        self.shared.state().dispatches.clone()
    }

    /// What the runs that dispatches start conclude (default "success").
    pub fn set_run_conclusion(&self, conclusion: &str) {
        self.shared.state().run_conclusion = Some(conclusion.to_string());
    }

    /// From now on dispatches get GitHub's older answer: 204 without the run's details.
    pub fn dispatch_without_details(&self) {
        self.shared.state().dispatch_without_details = true;
    }

    /// How many times each run was looked at, by run id.
    pub fn run_looks(&self) -> Vec<(u64, u32)> {
        self.shared
            .state()
            .runs
            .iter()
            .map(|r| (r.id, r.looks))
            .collect()
    }

    /// Seeds an open pull request; returns its number.
    pub fn add_pull(&self, head: &str, base: &str, title: &str, body: &str) -> u64 {
        let mut state = self.shared.state();
        let number = state.pulls.len() as u64 + 1;
        state.pulls.push(Pull {
            number,
            title: title.to_string(),
            body: body.to_string(),
            head: head.to_string(),
            base: base.to_string(),
            state: "open".to_string(),
        });
        number
    }

    /// The next request with this method whose origin-form path starts with `path_prefix` gets
    /// `status` and a GitHub error body, and changes nothing.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16) {
        self.add_failure(method, path_prefix, status, true);
    }

    /// The next request with this method whose path starts with `path_prefix` gets no answer:
    /// the server closes the connection, as a dropped network does.
    pub fn drop_next(&self, method: &str, path_prefix: &str) {
        self.add_failure(method, path_prefix, DROP, true);
    }

    /// Like `fail_next`, for every matching request until `clear_failures`.
    pub fn fail_always(&self, method: &str, path_prefix: &str, status: u16) {
        self.add_failure(method, path_prefix, status, false);
    }

    /// Like `fail_next`, with these response headers (e.g. `Retry-After` on a 429).
    pub fn fail_next_with_headers(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
    ) {
        self.add_failure(method, path_prefix, status, true);
        let mut state = self.shared.state();
        let failure = state.failures.last_mut().expect("just added");
        failure.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
    }

    pub fn clear_failures(&self) {
        self.shared.state().failures.clear();
    }

    fn add_failure(&self, method: &str, path_prefix: &str, status: u16, once: bool) {
        self.shared.state().failures.push(Failure {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_string(),
            status,
            once,
            headers: Vec::new(),
        });
    }

    /// The token's permissions on the repository, answered in `GET /repos/o/r` as GitHub does for
    /// a user's token (`push: false` is a read-only token).
    pub fn set_push_permission(&self, push: bool) {
        self.shared.state().push_permission = Some(push);
    }

    /// The repository used to be `owner/repo`: GitHub answers the old name with a redirect to the
    /// new one, 301 for a GET and 307 for anything else.
    pub fn renamed_from(&self, owner: &str, repo: &str) {
        self.shared
            .state()
            .old_names
            .push((owner.to_string(), repo.to_string()));
    }
}

impl Drop for GitHubServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor blocked in accept().
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A test that panicked while holding the lock must not hide the state from the next assertion.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The status of a planted failure that closes the connection instead of answering.
const DROP: u16 = 0;

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let worker = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let _ = serve(stream, &shared);
            })
        };
        let mut workers = lock(&shared.workers);
        workers.retain(|w| !w.is_finished());
        workers.push(worker);
    }
}

/// Serves one connection, request after request (gh reuses connections, e.g. with `--paginate`).
fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    loop {
        let raw = match conn.read_request(shared) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                let body =
                    json!({"message": format!("Bad request: {err}"), "documentation_url": DOCS});
                let response = Response::json(400, body);
                conn.write_response(&response, false)?;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let response = handle(shared, &raw);
        if response.status == DROP {
            let _ = conn.stream.shutdown(Shutdown::Both);
            return Ok(());
        }
        conn.write_response(&response, raw.keep_alive)?;
        if !raw.keep_alive {
            let _ = conn.stream.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

struct RawRequest {
    method: String,
    /// Origin form: path and query.
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
    keep_alive: bool,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes into `buf`; false at end of stream or when the server stops.
    fn fill(&mut self, shared: &Shared) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        loop {
            if shared.stopping() {
                return Ok(false);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next request on the connection; None when the client closed it between requests.
    fn read_request(&mut self, shared: &Shared) -> io::Result<Option<RawRequest>> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("request head too large"));
            }
            if !self.fill(shared)? {
                return Ok(None);
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec())
            .map_err(|_| invalid("request head is not UTF-8"))?;
        self.buf.drain(..head_end + 4);

        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("malformed request line"));
        };
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("malformed header line"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };

        let chunked =
            header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let body = if chunked {
            loop {
                if let Some((body, used)) = decode_chunked(&self.buf)? {
                    self.buf.drain(..used);
                    break body;
                }
                if !self.fill(shared)? {
                    return Err(invalid("connection closed inside a chunked body"));
                }
            }
        } else {
            let len: usize = match header("content-length") {
                Some(v) => v.parse().map_err(|_| invalid("bad Content-Length"))?,
                None => 0,
            };
            while self.buf.len() < len {
                if !self.fill(shared)? {
                    return Err(invalid("connection closed inside the body"));
                }
            }
            self.buf.drain(..len).collect()
        };

        let connection = header("connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let keep_alive = if version == "HTTP/1.0" {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        };
        Ok(Some(RawRequest {
            method: method.to_string(),
            target: origin_form(target),
            authorization: header("authorization").map(str::to_string),
            body,
            keep_alive,
        }))
    }

    fn write_response(&mut self, response: &Response, keep_alive: bool) -> io::Result<()> {
        let body = match &response.body {
            Some(value) => serde_json::to_vec(value).expect("JSON values serialize"),
            None => Vec::new(),
        };
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            response.status,
            reason(response.status)
        );
        if response.status != 204 {
            head.push_str("Content-Type: application/json; charset=utf-8\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if let Some(link) = &response.link {
            head.push_str(&format!("Link: {link}\r\n"));
        }
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("X-GitHub-Media-Type: github.v3; format=json\r\n");
        let connection = if keep_alive { "keep-alive" } else { "close" };
        head.push_str(&format!("Connection: {connection}\r\n\r\n"));
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(&body)?;
        self.stream.flush()
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body and the bytes it took, or None while incomplete.
fn decode_chunked(buf: &[u8]) -> io::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = find(&buf[at..], b"\r\n") else {
            return Ok(None);
        };
        let size_line =
            std::str::from_utf8(&buf[at..at + eol]).map_err(|_| invalid("bad chunk size"))?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| invalid("bad chunk size"))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let end = if buf[at..].starts_with(b"\r\n") {
                Some(at + 2)
            } else {
                find(&buf[at..], b"\r\n\r\n").map(|i| at + i + 4)
            };
            return Ok(end.map(|end| (body, end)));
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

/// `http://api.github.localhost/repos/o/r?x` (proxy form) becomes `/repos/o/r?x`.
fn origin_form(target: &str) -> String {
    let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    else {
        return target.to_string();
    };
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

impl Response {
    fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            body: Some(body),
            link: None,
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Response {
        Response {
            status,
            body: None,
            link: None,
            headers: Vec::new(),
        }
    }

    /// GitHub's answer to a request under a repository's old name.
    fn redirect(status: u16, location: String) -> Response {
        let mut response = Response::json(
            status,
            json!({
                "message": reason(status),
                "url": location,
                "documentation_url": DOCS,
                "status": status.to_string(),
            }),
        );
        response.headers.push(("Location".to_string(), location));
        response
    }

    /// `basic-error`, with the `status` GitHub adds as a string.
    fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
        )
    }

    fn not_found() -> Response {
        Response::error(404, "Not Found")
    }

    fn validation_failed(errors: Value) -> Response {
        Response::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": errors,
                "documentation_url": DOCS,
                "status": "422",
            }),
        )
    }
}

fn handle(shared: &Shared, raw: &RawRequest) -> Response {
    let mut state = shared.state();
    let response = respond(shared, &mut state, raw);
    let request = state
        .requests
        .last()
        .cloned()
        .expect("respond records the request");
    state.exchanges.push(Exchange {
        request,
        status: response.status,
        body: response.body.clone(),
    });
    response
}

fn respond(shared: &Shared, state: &mut State, raw: &RawRequest) -> Response {
    let body = if raw.body.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        serde_json::from_slice::<Value>(&raw.body).map(Some)
    };
    state.requests.push(Request {
        method: raw.method.clone(),
        path: raw.target.clone(),
        body: body.as_ref().ok().cloned().flatten(),
        authorization: raw.authorization.clone(),
    });

    let method = raw.method.to_ascii_uppercase();
    if let Some(i) = state
        .failures
        .iter()
        .position(|f| f.method == method && raw.target.starts_with(&f.path_prefix))
    {
        let status = state.failures[i].status;
        let headers = state.failures[i].headers.clone();
        if state.failures[i].once {
            state.failures.remove(i);
        }
        let mut response = Response::error(status, reason(status));
        response.headers = headers;
        return response;
    }
    // The repository stands for a private one: without a token GitHub answers 401.
    if raw.authorization.is_none() {
        return Response::error(401, "Requires authentication");
    }
    let Ok(body) = body else {
        return Response::error(400, "Problems parsing JSON");
    };

    let (path, query) = match raw.target.split_once('?') {
        Some((path, query)) => (path, parse_query(query)),
        None => (raw.target.as_str(), Vec::new()),
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["repos", o, r, rest @ ..] = segments.as_slice() {
        if state
            .old_names
            .iter()
            .any(|(old_o, old_r)| old_o == o && old_r == r)
        {
            let mut location = format!(
                "http://api.{GH_HOST}/repos/{}/{}",
                shared.owner, shared.repo
            );
            for segment in rest {
                location.push('/');
                location.push_str(segment);
            }
            if let Some((_, query)) = raw.target.split_once('?') {
                location.push('?');
                location.push_str(query);
            }
            let status = if method == "GET" { 301 } else { 307 };
            return Response::redirect(status, location);
        }
    }
    let this_repo = |o: &str, r: &str| o == shared.owner && r == shared.repo;
    match (method.as_str(), segments.as_slice()) {
        ("GET", [""]) => Response::json(200, shapes::root()),
        ("GET", ["user"]) => Response::json(200, shapes::authenticated_user()),
        ("GET", ["repos", o, r]) if this_repo(o, r) => Response::json(
            200,
            shapes::full_repository(&shared.owner, &shared.repo, state.push_permission),
        ),
        ("GET", ["repos", o, r, "pulls"]) if this_repo(o, r) => {
            list_pulls(shared, &state.pulls, path, &query)
        }
        ("GET", ["repos", o, r, "pulls", n]) if this_repo(o, r) => {
            match find_pull(&state.pulls, n) {
                Some(i) => Response::json(200, pull_json(shared, &state.pulls[i], true)),
                None => Response::not_found(),
            }
        }
        ("POST", ["repos", o, r, "pulls"]) if this_repo(o, r) => {
            create_pull(shared, state, body.as_ref())
        }
        ("PATCH", ["repos", o, r, "pulls", n]) if this_repo(o, r) => {
            match find_pull(&state.pulls, n) {
                Some(i) => update_pull(shared, &mut state.pulls, i, body.as_ref()),
                None => Response::not_found(),
            }
        }
        ("POST", ["repos", o, r, "actions", "workflows", file, "dispatches"])
            if this_repo(o, r) =>
        {
            match body {
                Some(body) if body.get("ref").is_some_and(Value::is_string) => {
                    let details = body.get("return_run_details") == Some(&Value::Bool(true));
                    let head_branch = body["ref"].as_str().unwrap_or_default().to_string();
                    state.dispatches.push((file.to_string(), body));
                    if !details || state.dispatch_without_details {
                        return Response::empty(204);
                    }
                    // GitHub's answer when asked for the run details: 200 with the run's id and URLs.
                    let id = 30_000 + state.runs.len() as u64;
                    state.runs.push(Run {
                        id,
                        workflow: file.to_string(),
                        head_branch,
                        looks: 0,
                    });
                    Response::json(
                        200,
                        shapes::dispatch_details(&shared.owner, &shared.repo, id),
                    )
                }
                _ => Response::error(422, "Invalid request.\n\n\"ref\" wasn't supplied."),
            }
        }
        ("GET", ["repos", o, r, "actions", "runs", id]) if this_repo(o, r) => {
            let conclusion = state
                .run_conclusion
                .clone()
                .unwrap_or("success".to_string());
            match state.runs.iter_mut().find(|run| id.parse() == Ok(run.id)) {
                Some(run) => {
                    run.looks += 1;
                    let run = run.clone();
                    Response::json(200, run_json(shared, &run, &conclusion))
                }
                None => Response::not_found(),
            }
        }
        _ => Response::not_found(),
    }
}

/// The run as GitHub describes it after `looks` looks: queued, then in progress, then completed.
fn run_json(shared: &Shared, run: &Run, conclusion: &str) -> Value {
    let (status, conclusion) = match run.looks {
        0 | 1 => ("queued", Value::Null),
        2 => ("in_progress", Value::Null),
        _ => ("completed", json!(conclusion)),
    };
    shapes::run(&shared.owner, &shared.repo, run, status, conclusion)
}

fn find_pull(pulls: &[Pull], number: &str) -> Option<usize> {
    let number: u64 = number.parse().ok()?;
    pulls.iter().position(|p| p.number == number)
}

/// `full`: `pull-request` (create, update, get), else `pull-request-simple` (the list).
fn pull_json(shared: &Shared, pull: &Pull, full: bool) -> Value {
    shapes::pull(&shared.owner, &shared.repo, pull, full)
}

/// `GET /repos/o/r/pulls`: filtered by `state` (default open), `head` (`owner:branch`) and `base`,
/// newest first, paginated by `per_page` (default 30, at most 100) and `page` with a `Link` header.
fn list_pulls(shared: &Shared, pulls: &[Pull], path: &str, query: &[(String, String)]) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let state = param("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return Response::validation_failed(
            json!([{"resource": "PullRequest", "field": "state", "code": "invalid"}]),
        );
    }
    let head = param("head").map(|head| match head.split_once(':') {
        Some((owner, branch)) => (Some(owner), branch),
        None => (None, head),
    });
    let mut selected: Vec<&Pull> = pulls
        .iter()
        .filter(|p| state == "all" || p.state == state)
        .filter(|p| param("base").is_none_or(|base| p.base == base))
        .filter(|p| {
            head.is_none_or(|(owner, branch)| {
                owner.is_none_or(|o| o == shared.owner) && p.head == branch
            })
        })
        .collect();
    selected.sort_by_key(|p| std::cmp::Reverse(p.number));

    let per_page = param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let items: Vec<Value> = selected
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|p| pull_json(shared, p, false))
        .collect();
    let mut response = Response::json(200, Value::Array(items));
    if selected.len() > page * per_page {
        let mut next: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        next.push(format!("page={}", page + 1));
        response.link = Some(format!(
            "<http://api.{GH_HOST}{path}?{}>; rel=\"next\"",
            next.join("&")
        ));
    }
    response
}

fn create_pull(shared: &Shared, state: &mut State, body: Option<&Value>) -> Response {
    let field = |name: &str| body.and_then(|b| b.get(name)).and_then(Value::as_str);
    let missing: Vec<Value> = ["title", "head", "base"]
        .into_iter()
        .filter(|name| field(name).is_none_or(str::is_empty))
        .map(|name| json!({"resource": "PullRequest", "field": name, "code": "missing_field"}))
        .collect();
    if !missing.is_empty() {
        return Response::validation_failed(Value::Array(missing));
    }
    let (title, base) = (field("title").unwrap(), field("base").unwrap());
    let head = field("head").unwrap();
    let head = match head.split_once(':') {
        Some((owner, branch)) if owner == shared.owner => branch,
        Some(_) => {
            return Response::validation_failed(
                json!([{"resource": "PullRequest", "field": "head", "code": "invalid"}]),
            )
        }
        None => head,
    };
    if let Some(message) = duplicate(shared, &state.pulls, None, head, base) {
        return message;
    }
    let pull = Pull {
        number: state.pulls.len() as u64 + 1,
        title: title.to_string(),
        body: field("body").unwrap_or_default().to_string(),
        head: head.to_string(),
        base: base.to_string(),
        state: "open".to_string(),
    };
    let mut response = Response::json(201, pull_json(shared, &pull, true));
    let location = format!(
        "http://api.{GH_HOST}/repos/{}/{}/pulls/{}",
        shared.owner, shared.repo, pull.number
    );
    response.headers.push(("Location".to_string(), location));
    state.pulls.push(pull);
    response
}

fn update_pull(shared: &Shared, pulls: &mut [Pull], i: usize, body: Option<&Value>) -> Response {
    let field = |name: &str| body.and_then(|b| b.get(name)).and_then(Value::as_str);
    let mut pull = pulls[i].clone();
    if let Some(title) = field("title") {
        pull.title = title.to_string();
    }
    if let Some(text) = field("body") {
        pull.body = text.to_string();
    }
    if let Some(base) = field("base") {
        pull.base = base.to_string();
    }
    if let Some(new_state) = field("state") {
        if !matches!(new_state, "open" | "closed") {
            return Response::validation_failed(
                json!([{"resource": "PullRequest", "field": "state", "code": "invalid"}]),
            );
        }
        pull.state = new_state.to_string();
    }
    if pull.state == "open" {
        if let Some(message) = duplicate(shared, pulls, Some(pull.number), &pull.head, &pull.base) {
            return message;
        }
    }
    let response = Response::json(200, pull_json(shared, &pull, true));
    pulls[i] = pull;
    response
}

/// GitHub's refusal of a second open pull request for the same head and base.
fn duplicate(
    shared: &Shared,
    pulls: &[Pull],
    except: Option<u64>,
    head: &str,
    base: &str,
) -> Option<Response> {
    pulls
        .iter()
        .any(|p| Some(p.number) != except && p.state == "open" && p.head == head && p.base == base)
        .then(|| {
            let message = format!("A pull request already exists for {}:{head}.", shared.owner);
            Response::validation_failed(
                json!([{"resource": "PullRequest", "code": "custom", "message": message}]),
            )
        })
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
