//! The bodies the test server answers with, in the shapes GitHub's OpenAPI description gives
//! them (`@octokit/openapi`, docs/conventions.md#the-loopback-github-server): every field the
//! description requires, with GitHub's own URL patterns under the test host. Times and ids are
//! fixed, so that the same requests get the same bytes. `tests/github_openapi.rs` validates every
//! answer against the description.

use serde_json::{json, Map, Value};

use super::{Pull, Run, GH_HOST, LOGIN};

/// When everything in the repository was created, and last changed.
const CREATED_AT: &str = "2026-01-05T10:00:00Z";
const UPDATED_AT: &str = "2026-01-05T10:05:00Z";
const REPO_ID: u64 = 700_001;
const OWNER_ID: u64 = 500_001;
const BOT_ID: u64 = 500_002;

fn api(path: &str) -> String {
    format!("http://api.{GH_HOST}{path}")
}

fn web(path: &str) -> String {
    format!("http://{GH_HOST}{path}")
}

/// GitHub's global node ids are opaque strings; a kind prefix and the number keep them unique.
fn node_id(kind: &str, id: u64) -> String {
    format!("{kind}_kgDO{id:08}")
}

/// A 40-hex commit id made from `seed`, for fields GitHub fills with a git sha the server does not
/// know (the tests read none of them).
fn sha(seed: u64) -> String {
    format!("{seed:040x}")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json!({{..}}) is an object"),
    }
}

/// `simple-user`: the account as every object that names one describes it.
pub fn simple_user(login: &str) -> Value {
    let id = if login == LOGIN { BOT_ID } else { OWNER_ID };
    let url = api(&format!("/users/{login}"));
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("U", id),
        "avatar_url": format!("http://avatars.{GH_HOST}/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": web(&format!("/{login}")),
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": "User",
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// `GET /user` for the bot: `public-user`, which allows no other field.
pub fn authenticated_user() -> Value {
    let mut user = object(simple_user(LOGIN));
    user.extend(object(json!({
        "name": null,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    })));
    Value::Object(user)
}

/// `GET /`: the URL templates of the API.
pub fn root() -> Value {
    let mut root = Map::new();
    for (field, path) in [
        ("current_user_url", "/user"),
        (
            "current_user_authorizations_html_url",
            "/settings/connections/applications{/client_id}",
        ),
        ("authorizations_url", "/authorizations"),
        (
            "code_search_url",
            "/search/code?q={query}{&page,per_page,sort,order}",
        ),
        (
            "commit_search_url",
            "/search/commits?q={query}{&page,per_page,sort,order}",
        ),
        ("emails_url", "/user/emails"),
        ("emojis_url", "/emojis"),
        ("events_url", "/events"),
        ("feeds_url", "/feeds"),
        ("followers_url", "/user/followers"),
        ("following_url", "/user/following{/target}"),
        ("gists_url", "/gists{/gist_id}"),
        (
            "issue_search_url",
            "/search/issues?q={query}{&page,per_page,sort,order}",
        ),
        ("issues_url", "/issues"),
        ("keys_url", "/user/keys"),
        (
            "label_search_url",
            "/search/labels?q={query}&repository_id={repository_id}{&page,per_page}",
        ),
        ("notifications_url", "/notifications"),
        ("organization_url", "/orgs/{org}"),
        (
            "organization_repositories_url",
            "/orgs/{org}/repos{?type,page,per_page,sort}",
        ),
        ("organization_teams_url", "/orgs/{org}/teams"),
        ("public_gists_url", "/gists/public"),
        ("rate_limit_url", "/rate_limit"),
        ("repository_url", "/repos/{owner}/{repo}"),
        (
            "repository_search_url",
            "/search/repositories?q={query}{&page,per_page,sort,order}",
        ),
        (
            "current_user_repositories_url",
            "/user/repos{?type,page,per_page,sort}",
        ),
        ("starred_url", "/user/starred{/owner}{/repo}"),
        ("starred_gists_url", "/gists/starred"),
        ("user_url", "/users/{user}"),
        ("user_organizations_url", "/user/orgs"),
        (
            "user_repositories_url",
            "/users/{user}/repos{?type,page,per_page,sort}",
        ),
        (
            "user_search_url",
            "/search/users?q={query}{&page,per_page,sort,order}",
        ),
    ] {
        root.insert(field.to_string(), json!(api(path)));
    }
    Value::Object(root)
}

/// `minimal-repository`: the repository as a workflow run names it.
pub fn minimal_repository(owner: &str, name: &str) -> Value {
    let url = api(&format!("/repos/{owner}/{name}"));
    let mut repo = object(json!({
        "id": REPO_ID,
        "node_id": node_id("R", REPO_ID),
        "name": name,
        "full_name": format!("{owner}/{name}"),
        "owner": simple_user(owner),
        "private": true,
        "html_url": web(&format!("/{owner}/{name}")),
        "description": null,
        "fork": false,
        "url": url,
    }));
    // GitHub's URL templates of a repository, relative to its API URL.
    for (field, path) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        repo.insert(field.to_string(), json!(format!("{url}{path}")));
    }
    Value::Object(repo)
}

/// `repository`, as the head and base of a pull request name it; `GET /repos/o/r` adds the
/// fields of `full-repository` to it.
pub fn repository(owner: &str, name: &str) -> Value {
    let mut repo = object(minimal_repository(owner, name));
    repo.extend(object(json!({
        "git_url": format!("git://{GH_HOST}/{owner}/{name}.git"),
        "ssh_url": format!("git@{GH_HOST}:{owner}/{name}.git"),
        "clone_url": web(&format!("/{owner}/{name}.git")),
        "svn_url": web(&format!("/{owner}/{name}")),
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": "main",
        "open_issues": 0,
        "open_issues_count": 0,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "private",
        "license": null,
        "pushed_at": UPDATED_AT,
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
    })));
    Value::Object(repo)
}

/// `full-repository`: `GET /repos/o/r`. `permissions` are those of the token, which GitHub names
/// for a user's token only.
pub fn full_repository(owner: &str, name: &str, push: Option<bool>) -> Value {
    let mut repo = object(repository(owner, name));
    repo.extend(object(json!({
        "network_count": 0,
        "subscribers_count": 1,
        "allow_rebase_merge": true,
        "allow_squash_merge": true,
        "allow_merge_commit": true,
        "allow_auto_merge": false,
        "delete_branch_on_merge": true,
        "allow_forking": false,
        "web_commit_signoff_required": false,
    })));
    if let Some(push) = push {
        repo.insert(
            "permissions".to_string(),
            json!({"admin": false, "maintain": false, "push": push, "triage": push, "pull": true}),
        );
    }
    Value::Object(repo)
}

/// `pull-request` (`full`: create, update, get) or `pull-request-simple` (the list).
pub fn pull(owner: &str, name: &str, pull: &Pull, full: bool) -> Value {
    let n = pull.number;
    let url = api(&format!("/repos/{owner}/{name}/pulls/{n}"));
    let html_url = web(&format!("/{owner}/{name}/pull/{n}"));
    let issue_url = api(&format!("/repos/{owner}/{name}/issues/{n}"));
    let head_sha = sha(0x5ca1_0000 + n);
    let statuses_url = api(&format!("/repos/{owner}/{name}/statuses/{head_sha}"));
    let comments_url = format!("{issue_url}/comments");
    let review_comments_url = format!("{url}/comments");
    let review_comment_url = api(&format!("/repos/{owner}/{name}/pulls/comments{{/number}}"));
    let commits_url = format!("{url}/commits");
    let branch = |branch: &str, sha: String| {
        json!({
            "label": format!("{owner}:{branch}"),
            "ref": branch,
            "sha": sha,
            "user": simple_user(owner),
            "repo": repository(owner, name),
        })
    };
    let closed = pull.state == "closed";
    let mut value = object(json!({
        "url": url,
        "id": 900_000 + n,
        "node_id": node_id("PR", n),
        "html_url": html_url,
        "diff_url": format!("{html_url}.diff"),
        "patch_url": format!("{html_url}.patch"),
        "issue_url": issue_url,
        "commits_url": commits_url,
        "review_comments_url": review_comments_url,
        "review_comment_url": review_comment_url,
        "comments_url": comments_url,
        "statuses_url": statuses_url,
        "_links": {
            "self": {"href": url},
            "html": {"href": html_url},
            "issue": {"href": issue_url},
            "comments": {"href": comments_url},
            "review_comments": {"href": review_comments_url},
            "review_comment": {"href": review_comment_url},
            "commits": {"href": commits_url},
            "statuses": {"href": statuses_url},
        },
    }));
    // Two objects: one json! of all fields outgrows the macro's recursion limit.
    value.extend(object(json!({
        "number": n,
        "state": pull.state,
        "locked": false,
        "title": pull.title,
        "user": simple_user(LOGIN),
        // GitHub sends null, not "", for an empty body.
        "body": if pull.body.is_empty() { Value::Null } else { json!(pull.body) },
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
        "closed_at": if closed { json!(UPDATED_AT) } else { Value::Null },
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch(&pull.head, head_sha),
        "base": branch(&pull.base, sha(0xba5e_0000 + n)),
        "author_association": "MEMBER",
        "auto_merge": null,
        "draft": false,
    })));
    if full {
        value.extend(object(json!({
            "merged": false,
            "mergeable": null,
            "rebaseable": null,
            "mergeable_state": "unknown",
            "merged_by": null,
            "comments": 0,
            "review_comments": 0,
            // GitHub answers false for a pull request within one repository, whatever was asked.
            "maintainer_can_modify": false,
            "commits": 1,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        })));
    }
    Value::Object(value)
}

/// `workflow-run`: `GET /repos/o/r/actions/runs/{id}`.
pub fn run(owner: &str, name: &str, run: &Run, status: &str, conclusion: Value) -> Value {
    let id = run.id;
    let url = api(&format!("/repos/{owner}/{name}/actions/runs/{id}"));
    let path = format!(".github/workflows/{}", run.workflow);
    // A stable id per workflow file, as GitHub has one per workflow.
    let workflow_id = run
        .workflow
        .bytes()
        .fold(7u64, |h, b| (h * 31 + u64::from(b)) % 1_000_000);
    let head_sha = sha(0x0c0f_fee0_0000 + id);
    json!({
        "id": id,
        "name": run.workflow,
        "node_id": node_id("WFR", id),
        "check_suite_id": 800_000 + id,
        "check_suite_node_id": node_id("CS", 800_000 + id),
        "head_branch": run.head_branch,
        "head_sha": head_sha,
        "path": path,
        "display_title": run.workflow,
        "run_number": id - 29_999,
        "event": "workflow_dispatch",
        "status": status,
        "conclusion": conclusion,
        "workflow_id": workflow_id,
        "url": url,
        "html_url": web(&format!("/{owner}/{name}/actions/runs/{id}")),
        "pull_requests": [],
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
        "run_started_at": CREATED_AT,
        "run_attempt": 1,
        "actor": simple_user(LOGIN),
        "triggering_actor": simple_user(LOGIN),
        "jobs_url": format!("{url}/jobs"),
        "logs_url": format!("{url}/logs"),
        "check_suite_url": api(&format!("/repos/{owner}/{name}/check-suites/{}", 800_000 + id)),
        "artifacts_url": format!("{url}/artifacts"),
        "cancel_url": format!("{url}/cancel"),
        "rerun_url": format!("{url}/rerun"),
        "previous_attempt_url": null,
        "workflow_url": api(&format!("/repos/{owner}/{name}/actions/workflows/{workflow_id}")),
        "head_commit": {
            "id": head_sha,
            "tree_id": sha(0x7ee0_0000 + id),
            "message": format!("Run {}", run.workflow),
            "timestamp": CREATED_AT,
            "author": {"name": LOGIN, "email": format!("{LOGIN}@users.noreply.{GH_HOST}")},
            "committer": {"name": LOGIN, "email": format!("{LOGIN}@users.noreply.{GH_HOST}")},
        },
        "repository": minimal_repository(owner, name),
        "head_repository": minimal_repository(owner, name),
    })
}

/// `workflow-dispatch-response`: the dispatch's answer when asked for the run's details.
pub fn dispatch_details(owner: &str, name: &str, id: u64) -> Value {
    json!({
        "workflow_run_id": id,
        "run_url": api(&format!("/repos/{owner}/{name}/actions/runs/{id}")),
        "html_url": web(&format!("/{owner}/{name}/actions/runs/{id}")),
    })
}
