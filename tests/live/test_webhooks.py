"""Specification of the /monitor webhook core: payload parsing, signatures, service names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote

import pytest

from config_server.errors import InvalidRequest, WebhookSignatureInvalid
from config_server.http.errors import status_of
from config_server.live.webhooks import (
    MAX_BODY_BYTES,
    MAX_SERVICE_NAMES,
    PushEvent,
    parse_push,
    service_names,
    verify_signature,
)
from config_server.names import MAX_LENGTH
from tests.support import VECTORS as SUPPORT_VECTORS

VECTORS = SUPPORT_VECTORS / "webhooks"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SECRET = "s3cr3t-webhook-key"

# The headers each forge really sends with a push (event headers only; signatures added per test).
FORGE_HEADERS: dict[str, dict[str, str]] = {
    "github": {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
    "gitlab": {"X-Gitlab-Event": "Push Hook"},
    "gitea": {"X-Gitea-Event": "push", "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473"},
    "gitee": {"X-Git-Oschina-Event": "Push Hook", "X-Gitee-Event": "Push Hook"},
    "gogs": {"X-Gogs-Event": "push", "X-Gogs-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473"},
    "bitbucket": {"X-Event-Key": "repo:push", "X-Hook-UUID": "cb1b7b02-2cd8-4e49-9d54-a3eb29c1e7b8"},
    "bitbucketserver": {"X-Event-Key": "repo:refs_changed", "X-Request-Id": "a3bd3e4c-4c1c-4b74-a8f4"},
}


def vector(name: str) -> bytes:
    return (VECTORS / f"{name}.json").read_bytes()


def hub_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gitee_token(timestamp_ms: int, secret: str = SECRET) -> str:
    message = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


# --- service names (§1.8 table) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("application.yml", ["*"]),
        ("application-local.yml", ["application-local", "*"]),
        ("foo.yml", ["foo"]),
        ("foo-local.yml", ["foo-local", "foo"]),
        ("foo-local-dev.yml", ["foo-local-dev", "foo-local", "foo"]),
        ("C:\\config\\foo.yml", ["foo"]),
        ("/foo/bar.properties", ["bar"]),
        ("config/orders-prod.json", ["orders-prod", "orders"]),
        ("foo", ["foo"]),
        ("foo.bar.yml", ["foo.bar"]),
        ("foo-.yml", ["foo-", "foo"]),
        ("-foo.yml", ["-foo"]),
        (".yml", []),
        ("dir/", []),
        ("", []),
    ],
)
def test_service_names_table(path: str, names: list[str]) -> None:
    """Each path maps to its stem and every shorter '-' prefix, with application as '*'."""
    assert service_names([path]) == names


def test_a_path_with_thousands_of_dashes_gives_only_names_an_application_can_have() -> None:
    """A 1 MB file name of dashes gives the stems of at most 255 characters (the application name
    limit), in linear time: it used to build every prefix, gigabytes of strings from one request."""
    names = service_names(["-".join(["a"] * 400_000) + ".yml"])
    assert names == ["-".join(["a"] * k) for k in range((MAX_LENGTH + 1) // 2, 0, -1)]
    assert len(names[0]) == MAX_LENGTH


def test_more_than_max_names_wake_everyone() -> None:
    """A push naming more applications than MAX_SERVICE_NAMES wakes every watcher (["*"]): the same
    effect, a bounded answer."""
    paths = [f"app{i}.yml" for i in range(MAX_SERVICE_NAMES + 1)]
    assert service_names(paths) == ["*"]
    assert len(service_names(paths[:MAX_SERVICE_NAMES])) == MAX_SERVICE_NAMES


def test_service_names_deduplicate_across_paths_in_first_seen_order() -> None:
    """Names shared by several paths appear once, where first seen."""
    paths = ["foo-dev.yml", "/foo/bar.properties", "foo.yml", "application.properties", "application.yml"]
    assert service_names(paths) == ["foo-dev", "foo", "bar", "*"]


def test_form_with_two_paths_gives_bar_then_star() -> None:
    """The §1.8 form row: path=/foo/bar.properties&path=/application.properties → [bar, *]."""
    event = parse_push({}, b"path=/foo/bar.properties&path=/application.properties", FORM)
    assert event == PushEvent("form", ("/foo/bar.properties", "/application.properties"), None)
    assert service_names(event.paths) == ["bar", "*"]


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"{}", JSON), (b"", FORM), (b"other=1", FORM), (b'{"path": []}', JSON)]
)
def test_no_path_gives_no_names(body: bytes, content_type: str) -> None:
    """The §1.8 'no path' row: a post naming no file gives no service names."""
    event = parse_push({}, body, content_type)
    assert event.paths == ()
    assert service_names(event.paths) == []


# --- real forge payloads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "forge", "paths", "ref"),
    [
        ("github", "github", ("README.md",), "refs/heads/changes"),
        ("gitlab", "gitlab", ("newapp.properties", "application.yml", "oldapp.yml"), "refs/heads/master"),
        # This Gitea sample's commit lists no files (older Gitea): a broadcast, as in Spring.
        ("gitea", "gitea", ("application.yml",), "refs/heads/master"),
        ("gitee", "gitee", ("d.txt", "b.txt", "c.txt"), "refs/heads/master"),
        ("gogs", "gogs", ("README.md",), "refs/heads/changes"),
        ("bitbucket", "bitbucket", ("application.yml",), "refs/heads/name-of-branch"),
        ("bitbucketserver", "bitbucket-server", ("application.yml",), "refs/heads/master"),
    ],
)
def test_real_payload_with_its_headers(name: str, forge: str, paths: tuple[str, ...], ref: str) -> None:
    """Each forge's real push payload, sent with its real headers, gives the files it changed.

    Spring's {Github,Gitlab,Gitea,Gitee,Gogs}PropertyPathNotificationExtractorTests#*Sample and
    BitbucketPropertyPathNotificationExtractorTests#bitbucketSample/#bitbucketServerSample.
    """
    assert parse_push(FORGE_HEADERS[name], vector(name), JSON) == PushEvent(forge, paths, ref)


def test_gitlab_payload_names_its_services() -> None:
    """GitLab's sample touches newapp, application and oldapp: those three names, '*' for application."""
    event = parse_push(FORGE_HEADERS["gitlab"], vector("gitlab"), JSON)
    assert service_names(event.paths) == ["newapp", "*", "oldapp"]


def test_gitea_commit_lists_are_read_when_present() -> None:
    """A newer Gitea push, which lists files per commit, gives those files."""
    payload = json.loads(vector("gitea"))
    payload["commits"][0].update(added=["orders.yml"], removed=[], modified=["application.yml"])
    event = parse_push(FORGE_HEADERS["gitea"], json.dumps(payload).encode(), JSON)
    assert event == PushEvent("gitea", ("orders.yml", "application.yml"), "refs/heads/master")


@pytest.mark.parametrize(
    "headers",
    [
        {"x-github-event": "push"},
        {"X-GITHUB-EVENT": "push"},
        {"X-Github-Event": " push "},
    ],
)
def test_header_names_match_case_insensitively(headers: dict[str, str]) -> None:
    """Header names are case-insensitive (and values are trimmed), as in HTTP."""
    assert parse_push(headers, vector("github"), JSON).paths == ("README.md",)


def test_gitea_also_sending_github_headers_is_gitea() -> None:
    """Gitea adds X-GitHub-Event and X-Gogs-Event for compatibility; it is still reported as gitea."""
    headers = {"X-GitHub-Event": "push", "X-Gogs-Event": "push", "X-Gitea-Event": "push"}
    assert parse_push(headers, vector("github"), JSON).forge == "gitea"


@pytest.mark.parametrize(
    ("headers", "forge"),
    [
        ({"X-GitHub-Event": "ping"}, "github"),
        ({"X-Gitlab-Event": "Tag Push Hook"}, "gitlab"),
        ({"X-Gitea-Event": "issues"}, "gitea"),
        ({"X-Git-Oschina-Event": "Issue Hook"}, "gitee"),
        ({"X-Gogs-Event": "create"}, "gogs"),
        ({"X-Event-Key": "repo:fork", "X-Hook-UUID": "u"}, "bitbucket"),
        ({"X-Event-Key": "pr:opened", "X-Request-Id": "r"}, "bitbucket-server"),
    ],
)
def test_events_that_are_not_pushes_give_no_paths(headers: dict[str, str], forge: str) -> None:
    """A forge event other than a push (a ping, an issue) refreshes nothing."""
    body = vector("github") if forge not in ("bitbucket", "bitbucket-server") else vector("bitbucket")
    assert parse_push(headers, body, JSON) == PushEvent(forge, (), None)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"X-Event-Key": "pullrequest:fulfilled", "X-Hook-UUID": "u"}, "bitbucket"),
        ({"X-Event-Key": "pr:merged", "X-Request-Id": "r"}, "bitbucketserver-prmerged"),
    ],
)
def test_bitbucket_merges_broadcast(headers: dict[str, str], body: str) -> None:
    """A merged Bitbucket pull request broadcasts application.yml, like a push.

    Spring's BitbucketPropertyPathNotificationExtractorTests#bitbucketPullRequestFulfillmentDetected
    and #bitbucketServerSamplePullRequest.
    """
    assert parse_push(headers, vector(body), JSON).paths == ("application.yml",)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (FORGE_HEADERS["bitbucket"], "bitbucket-invalid"),
        ({"X-Event-Key": "pullrequest:fulfilled", "X-Hook-UUID": "u"}, "bitbucket-invalid"),
        (FORGE_HEADERS["bitbucketserver"], "bitbucketserver-invalid"),
    ],
    ids=["cloud-push", "cloud-merge", "server-push"],
)
def test_bitbucket_payload_without_a_changes_list_names_nothing(headers: dict[str, str], body: str) -> None:
    """A Bitbucket push whose push.changes (cloud) or changes (server) is not a list names nothing.

    Spring's BitbucketPropertyPathNotificationExtractorTests#missingChanges and #missingChangesServer.
    """
    event = parse_push(headers, vector(body), JSON)
    assert event.paths == ()
    assert service_names(event.paths) == []


@pytest.mark.parametrize("body", ["github", "gitlab"])
def test_other_forges_payload_with_bitbucket_headers_names_nothing(body: str) -> None:
    """A GitHub or GitLab body sent with Bitbucket's push headers is not taken for a Bitbucket push.

    Spring's BitbucketPropertyPathNotificationExtractorTests#githubNotDetected and #gitlabNotDetected.
    """
    assert parse_push(FORGE_HEADERS["bitbucket"], vector(body), JSON).paths == ()


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"X-Event-Key": "issue:created", "X-Hook-UUID": "u"}, "bitbucket"),
        ({"X-Event-Key": "repo:comment:added", "X-Request-Id": "r"}, "bitbucketserver"),
        ({"X-Event-Key": "repo:refs_changed"}, "bitbucketserver"),
        ({"X-Event-Key": "repo:push"}, "bitbucket"),
        ({"X-Github-Event": "issues"}, "github"),
        ({"X-Gitlab-Event": "Issue Hook"}, "gitlab"),
        ({"X-Gitea-Event": "issues"}, "gitea"),
        ({"X-Git-Oschina-Event": "Issue Hook"}, "github"),
        ({"X-Gogs-Event": "issues"}, "gogs"),
    ],
)
def test_spring_not_detected_samples_name_nothing(headers: dict[str, str], body: str) -> None:
    """Each forge's sample under an event that is not a push (or without its id header) names nothing.

    Spring's *PropertyPathNotificationExtractorTests#notAPushNotDetected (GitHub, Gitea, Gitee,
    Gogs), GitlabPropertyPathNotificationExtractorTests#nonPushEventNotDetected and
    BitbucketPropertyPathNotificationExtractorTests#notAPushOrPullRequestNotDetected,
    #notAPushOrPullRequestServer, #missingUuidHeaderServer, #missingUuidHeader.
    """
    assert parse_push(headers, vector(body), JSON).paths == ()


def test_a_github_body_with_gitlab_push_headers_is_read_as_gitlab_reads_it() -> None:
    """GitLab's extractor goes by X-Gitlab-Event alone and reads any commits list (Spring's
    GitlabPropertyPathNotificationExtractor, no test of its own): GitHub's sample names README.md."""
    assert parse_push(FORGE_HEADERS["gitlab"], vector("github"), JSON).paths == ("README.md",)


def test_gitea_push_listing_no_files_wakes_everyone() -> None:
    """A Gitea push whose commits list no files answers ['*'] (Spring's Gitea broadcast), not [].

    Spring's GiteaPropertyPathNotificationExtractorTests#giteaSample.
    """
    event = parse_push(FORGE_HEADERS["gitea"], vector("gitea"), JSON)
    assert service_names(event.paths) == ["*"]


@pytest.mark.parametrize("commits", [[], [{"added": [], "removed": [], "modified": []}]])
def test_gitea_push_with_an_empty_commit_list_broadcasts(commits: list[object]) -> None:
    """Any Gitea commit list that names no file broadcasts, as Spring's Gitea extractor does."""
    body = json.dumps({"ref": "refs/heads/main", "commits": commits}).encode()
    assert parse_push(FORGE_HEADERS["gitea"], body, JSON).paths == ("application.yml",)


def test_gitea_event_without_commits_does_not_broadcast() -> None:
    """A Gitea push without a commits list is not a broadcast (Spring's extractor needs the list)."""
    assert parse_push(FORGE_HEADERS["gitea"], b'{"ref": "refs/heads/main"}', JSON).paths == ()


@pytest.mark.parametrize("name", ["github", "gitlab", "gitee", "gogs"])
def test_other_forges_pushes_listing_no_files_name_nothing(name: str) -> None:
    """Only Gitea broadcasts on a file-less push: GitHub, GitLab, Gitee and Gogs name nothing (as Spring)."""
    body = json.dumps({"ref": "refs/heads/main", "commits": [{"id": "abc"}]}).encode()
    assert parse_push(FORGE_HEADERS[name], body, JSON).paths == ()


def test_path_key_comes_before_gitlab_files_as_in_spring() -> None:
    """Spring tries the plain 'path' key after GitHub but before GitLab, Gitea, Gitee, Gogs, Bitbucket."""
    body = json.dumps({"commits": [{"added": ["a.yml"]}], "path": "b.yml"}).encode()
    assert parse_push({"X-Gitlab-Event": "Push Hook"}, body, JSON).paths == ("b.yml",)


def test_bitbucket_merge_reports_target_branch() -> None:
    """A Bitbucket server merge reports the branch merged into as the ref."""
    body = json.dumps({"pullRequest": {"toRef": {"id": "refs/heads/main"}}}).encode()
    event = parse_push({"X-Event-Key": "pr:merged", "X-Request-Id": "r"}, body, JSON)
    assert event == PushEvent("bitbucket-server", ("application.yml",), "refs/heads/main")


def test_bitbucket_event_without_its_id_header_is_not_a_bitbucket_push() -> None:
    """X-Event-Key alone (no X-Hook-UUID or X-Request-Id) is not trusted as Bitbucket."""
    assert parse_push({"X-Event-Key": "repo:push"}, vector("bitbucket"), JSON) == PushEvent("json", (), None)


def test_forge_push_without_files_falls_back_to_path_key() -> None:
    """When the forge extractor finds no files, the body's 'path' key is used (first non-empty wins)."""
    body = json.dumps({"ref": "refs/heads/main", "commits": [], "path": "orders.yml"}).encode()
    assert parse_push({"X-GitHub-Event": "push"}, body, JSON) == PushEvent(
        "github", ("orders.yml",), "refs/heads/main"
    )


def test_forge_files_win_over_path_key() -> None:
    """A forge push that lists files ignores any 'path' key."""
    body = json.dumps({"commits": [{"added": ["a.yml"]}], "path": "b.yml"}).encode()
    assert parse_push({"X-GitHub-Event": "push"}, body, JSON).paths == ("a.yml",)


def test_paths_are_deduplicated_in_payload_order() -> None:
    """A file touched by several commits is listed once, where first seen."""
    commits = [{"added": ["a.yml"], "modified": ["b.yml"]}, {"modified": ["a.yml", "c.yml"], "removed": None}]
    body = json.dumps({"commits": commits}).encode()
    assert parse_push({"X-Gitlab-Event": "Push Hook"}, body, JSON).paths == ("a.yml", "b.yml", "c.yml")


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"path": "foo.yml"}, ("foo.yml",)),
        ({"path": ["foo.yml", "bar.yml", "foo.yml"]}, ("foo.yml", "bar.yml")),
        ({"path": ""}, ()),
        ({"path": None}, ()),
    ],
)
def test_json_path_fallback(body: dict[str, object], paths: tuple[str, ...]) -> None:
    """A plain JSON post names files with 'path', a string or a list of strings."""
    assert parse_push({}, json.dumps(body).encode(), JSON) == PushEvent("json", paths, None)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", ""])
def test_json_content_type_variants(content_type: str) -> None:
    """Parameters and case in the content type are ignored; none at all means JSON."""
    assert parse_push({}, b'{"path": "a.yml"}', content_type).paths == ("a.yml",)


def test_github_form_encoded_payload_field_is_read_as_json() -> None:
    """GitHub's form-encoded webhooks carry the JSON in a 'payload' field."""
    body = b"payload=" + quote(vector("github").decode(), safe="").encode()
    event = parse_push(FORGE_HEADERS["github"], body, FORM + "; charset=utf-8")
    assert event == PushEvent("github", ("README.md",), "refs/heads/changes")


def test_form_path_values_are_percent_decoded() -> None:
    """Form values are URL-decoded, including UTF-8 names."""
    assert parse_push({}, b"path=conf%2Fcaf%C3%A9-dev.yml", FORM).paths == ("conf/café-dev.yml",)


# --- hostile bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "message"),
    [
        ({}, b"\x00\xffgarbage", JSON, "not valid UTF-8"),
        ({}, b"{not json", JSON, "not valid JSON"),
        ({}, b'{"path": NaN}', JSON, "not valid JSON"),
        ({}, b"", JSON, "empty"),
        ({}, b"[1, 2]", JSON, "must be a JSON object, not an array"),
        ({}, b'"text"', JSON, "must be a JSON object, not a string"),
        ({}, b"null", JSON, "must be a JSON object, not null"),
        ({}, b"[" * 100_000 + b"]" * 100_000, JSON, "nested too deeply"),
        ({}, b'{"path": 5}', JSON, "'path' must be a list of strings, not a number"),
        ({}, b'{"path": ["a.yml", 5]}', JSON, "'path' must be a list of strings"),
        ({}, b'{"path": {"a": 1}}', JSON, "'path' must be a list of strings, not an object"),
        (FORGE_HEADERS["github"], b'{"commits": "x"}', JSON, "'commits' must be an array, not a string"),
        (FORGE_HEADERS["github"], b'{"commits": [7]}', JSON, "'commits[0]' must be an object, not a number"),
        (
            FORGE_HEADERS["gitlab"],
            b'{"commits": [{}, {"added": [1]}]}',
            JSON,
            "'commits[1].added' must be a list of strings",
        ),
        (FORGE_HEADERS["gogs"], b'{"commits": [{"removed": "a.yml"}]}', JSON, "'commits[0].removed'"),
        (
            FORGE_HEADERS["gitee"],
            b'{"ref": 1, "commits": [{"added": ["a"]}]}',
            JSON,
            "'ref' must be a string",
        ),
        ({}, b"path=%ff", FORM, "not valid UTF-8"),
        ({}, b"path=\xff", FORM, "not valid UTF-8"),
        ({}, b"&".join(b"path=a" for _ in range(1001)), FORM, "too many fields"),
        (FORGE_HEADERS["github"], b"payload=%5B%5D", FORM, "'payload' must be a JSON object"),
        ({}, b"path=a.yml", "text/plain", "Unsupported webhook content type 'text/plain'"),
        ({}, b"--x\r\n", "multipart/form-data; boundary=x", "Unsupported webhook content type"),
    ],
)
def test_hostile_bodies_are_rejected_with_a_clear_message(
    headers: dict[str, str], body: bytes, content_type: str, message: str
) -> None:
    """Undecodable, malformed or wrongly typed bodies raise InvalidRequest (400) saying what is wrong."""
    with pytest.raises(InvalidRequest) as caught:
        parse_push(headers, body, content_type)
    assert status_of(caught.value) == 400
    assert message in caught.value.message


def test_body_over_one_mebibyte_is_rejected() -> None:
    """A body larger than 1 MiB is refused before it is parsed."""
    body = b'{"path": "a.yml"}' + b" " * (MAX_BODY_BYTES - 16)
    with pytest.raises(InvalidRequest, match="limit is 1048576"):
        parse_push({}, body, JSON)


def test_body_of_exactly_one_mebibyte_is_accepted() -> None:
    """The limit is inclusive: a 1 MiB body is parsed."""
    body = b'{"path": "a.yml"}' + b" " * (MAX_BODY_BYTES - 17)
    assert len(body) == MAX_BODY_BYTES
    assert parse_push({}, body, JSON).paths == ("a.yml",)


def test_wrong_types_in_non_push_events_are_ignored() -> None:
    """Fields are only checked when they are read: a ping with odd 'commits' is fine."""
    assert parse_push({"X-GitHub-Event": "ping"}, b'{"commits": 3}', JSON).paths == ()


def test_bitbucket_ref_of_unexpected_shape_is_unknown() -> None:
    """Bitbucket's ref is informational: an odd shape gives ref None, still a broadcast."""
    body = b'{"push": {"changes": [{"new": {"name": 5}}]}}'
    event = parse_push(FORGE_HEADERS["bitbucket"], body, JSON)
    assert event == PushEvent("bitbucket", ("application.yml",), None)


# --- signatures -------------------------------------------------------------------------------


def test_no_secret_accepts_unsigned_requests() -> None:
    """Without a configured secret every request is accepted."""
    verify_signature(FORGE_HEADERS["github"], vector("github"), None)
    verify_signature({}, b"anything", None)


def _signed(name: str, body: bytes) -> dict[str, str]:
    """The headers a forge sends for ``body`` signed with SECRET."""
    headers = dict(FORGE_HEADERS[name])
    digest = hub_signature(body)
    if name == "github":
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    elif name == "gitea":
        headers["X-Gitea-Signature"] = digest
    elif name == "gogs":
        headers["X-Gogs-Signature"] = digest
    elif name in ("bitbucket", "bitbucketserver"):
        headers["X-Hub-Signature"] = f"sha256={digest}"
    elif name == "gitlab":
        headers["X-Gitlab-Token"] = SECRET
    elif name == "gitee":
        headers["X-Gitee-Token"] = SECRET
    return headers


SIGNING_FORGES = ["github", "gitea", "gogs", "bitbucket", "bitbucketserver", "gitlab", "gitee"]
CREDENTIAL_HEADER = {
    "github": "X-Hub-Signature-256",
    "gitea": "X-Gitea-Signature",
    "gogs": "X-Gogs-Signature",
    "bitbucket": "X-Hub-Signature",
    "bitbucketserver": "X-Hub-Signature",
    "gitlab": "X-Gitlab-Token",
    "gitee": "X-Gitee-Token",
}


@pytest.mark.parametrize("name", SIGNING_FORGES)
def test_correct_signature_is_accepted(name: str) -> None:
    """Each forge's own signature (or token) made with the secret is accepted."""
    body = vector(name)
    verify_signature(_signed(name, body), body, SECRET)


@pytest.mark.parametrize("name", SIGNING_FORGES)
def test_missing_signature_is_unauthorized(name: str) -> None:
    """With a secret configured, a forge request without its credential header is refused (401)."""
    with pytest.raises(WebhookSignatureInvalid, match=f"missing {CREDENTIAL_HEADER[name]} header") as caught:
        verify_signature(FORGE_HEADERS[name], vector(name), SECRET)
    assert status_of(caught.value) == 401


@pytest.mark.parametrize("name", SIGNING_FORGES)
def test_signature_made_with_another_secret_is_unauthorized(name: str) -> None:
    """A credential made with the wrong secret is refused."""
    body = vector(name)
    with pytest.raises(WebhookSignatureInvalid, match=CREDENTIAL_HEADER[name]):
        verify_signature(_signed(name, body), body, "another-secret")


@pytest.mark.parametrize("name", ["github", "gitea", "gogs", "bitbucket", "bitbucketserver"])
def test_tampered_body_is_unauthorized(name: str) -> None:
    """An HMAC signature covers the body: changing one byte invalidates it."""
    body = vector(name)
    with pytest.raises(WebhookSignatureInvalid, match="does not match the request body"):
        verify_signature(_signed(name, body), body.replace(b"a", b"b", 1), SECRET)


def test_uppercase_hex_signature_is_accepted() -> None:
    """Hex digits are compared case-insensitively."""
    body = vector("github")
    headers = {**FORGE_HEADERS["github"], "x-hub-signature-256": "sha256=" + hub_signature(body).upper()}
    verify_signature(headers, body, SECRET)


def test_gitea_github_style_header_is_accepted_when_its_own_is_absent() -> None:
    """Gitea also sends X-Hub-Signature-256; that alone suffices."""
    body = vector("gitea")
    headers = {**FORGE_HEADERS["gitea"], "X-Hub-Signature-256": "sha256=" + hub_signature(body)}
    verify_signature(headers, body, SECRET)


def test_plain_post_must_sign_like_github() -> None:
    """A form or JSON post with no forge headers is accepted only with X-Hub-Signature-256."""
    body = b"path=foo.yml"
    verify_signature({"X-Hub-Signature-256": "sha256=" + hub_signature(body)}, body, SECRET)
    with pytest.raises(WebhookSignatureInvalid, match="missing X-Hub-Signature-256"):
        verify_signature({}, body, SECRET)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("github", "sha1=" + "0" * 40),
        ("github", "sha256=" + "0" * 63),
        ("github", "sha256=" + "z" * 64),
        ("github", "0" * 64),
        ("gitea", "sha256=" + "0" * 64),
        ("bitbucket", "0" * 64),
        ("github", "sha256=" + "é" * 64),
    ],
)
def test_malformed_signature_header_is_unauthorized(name: str, value: str) -> None:
    """A signature header of the wrong form is refused, saying which form is expected."""
    headers = {**FORGE_HEADERS[name], CREDENTIAL_HEADER[name]: value}
    with pytest.raises(WebhookSignatureInvalid, match="malformed"):
        verify_signature(headers, vector(name), SECRET)


@pytest.mark.parametrize("token", ["", "s3cr3t-webhook-ke", "s3cr3t-webhook-keyX", "é" * 18, "\ud800"])
def test_wrong_gitlab_token_is_unauthorized(token: str) -> None:
    """GitLab's token must equal the secret exactly; odd characters do not crash the comparison."""
    headers = {**FORGE_HEADERS["gitlab"], "X-Gitlab-Token": token}
    with pytest.raises(WebhookSignatureInvalid, match="X-Gitlab-Token"):
        verify_signature(headers, vector("gitlab"), SECRET)


NOW_MS = 1_700_000_000_000


@pytest.mark.parametrize("url_encoded", [False, True])
def test_gitee_signed_token_is_accepted(url_encoded: bool) -> None:
    """Gitee's timestamp mode: Base64 HMAC of '<ts>\\n<secret>', plain or URL-encoded as its docs say."""
    token = gitee_token(NOW_MS)
    headers = {
        **FORGE_HEADERS["gitee"],
        "X-Gitee-Timestamp": str(NOW_MS),
        "X-Gitee-Token": quote(token, safe="") if url_encoded else token,
    }
    verify_signature(headers, vector("gitee"), SECRET, now=NOW_MS / 1000 + 30)


@pytest.mark.parametrize(
    ("timestamp", "token_timestamp", "now_offset", "message"),
    [
        (str(NOW_MS), NOW_MS, 3601, "more than an hour"),
        (str(NOW_MS), NOW_MS, -3601, "more than an hour"),
        (str(NOW_MS), NOW_MS + 1, 0, "does not match"),
        ("soon", NOW_MS, 0, "malformed X-Gitee-Timestamp"),
        ("-" + str(NOW_MS), NOW_MS, 0, "malformed X-Gitee-Timestamp"),
        ("9" * 400, NOW_MS, 0, "malformed X-Gitee-Timestamp"),
    ],
)
def test_gitee_signed_token_problems_are_unauthorized(
    timestamp: str, token_timestamp: int, now_offset: float, message: str
) -> None:
    """Gitee tokens that are stale, signed for another time or with a bad timestamp are refused."""
    headers = {
        **FORGE_HEADERS["gitee"],
        "X-Gitee-Timestamp": timestamp,
        "X-Gitee-Token": gitee_token(token_timestamp),
    }
    with pytest.raises(WebhookSignatureInvalid, match=message):
        verify_signature(headers, vector("gitee"), SECRET, now=NOW_MS / 1000 + now_offset)


@pytest.mark.parametrize("name", SIGNING_FORGES)
def test_rejection_messages_never_contain_secrets_or_signatures(name: str) -> None:
    """No message echoes the secret, the expected signature or the value that was sent."""
    body = vector(name)
    sent = _signed(name, body)
    expected = [SECRET, hub_signature(body), hub_signature(body, "another-secret")]
    for headers, secret in ((sent, "another-secret"), (FORGE_HEADERS[name], SECRET)):
        with pytest.raises(WebhookSignatureInvalid) as caught:
            verify_signature(headers, body, secret)
        text = str(caught.value) + repr(caught.value)
        assert not any(value in text for value in [*expected, secret, *sent.values()] if len(value) > 8)
