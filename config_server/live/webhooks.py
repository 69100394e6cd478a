"""The ``/monitor`` webhook, minus HTTP: what changed, who sent it, and may we believe them.

Three pure functions, called by the route in this order:

* :func:`verify_signature` checks the shared webhook secret the way the sending forge signs
  (HMAC of the body or a token header) and raises :class:`~config_server.errors.WebhookSignatureInvalid`;
* :func:`parse_push` turns headers and body into a :class:`PushEvent` (the changed files),
  following Spring Cloud Config's extractors (reference §1.8);
* :func:`service_names` maps changed files to the application names whose config they feed.

Nothing here does I/O; the caller reads the body (at most :data:`MAX_BODY_BYTES`) first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from config_server.errors import InvalidRequest, WebhookSignatureInvalid
from config_server.names import MAX_LENGTH

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_SERVICE_NAMES",
    "PushEvent",
    "parse_push",
    "repository_urls",
    "service_names",
    "verify_signature",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest webhook body accepted; real push payloads are a few tens of KiB."""

# Bitbucket (and older Gitea) list no changed files, so Spring broadcasts as if application.yml changed.
BROADCAST_PATH = "application.yml"

# Gitee's signed tokens carry a millisecond timestamp that may drift this far from our clock.
GITEE_MAX_SKEW_SECONDS = 3600.0
MAX_SERVICE_NAMES = 1024
"""Above this many names a push wakes every watcher (``["*"]``) instead of listing them."""

_FORM = "application/x-www-form-urlencoded"
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

# Forges whose push payload lists files in commits[].added/removed/modified, in the order
# Spring's composite extractor tries them (§1.8): (event header, its value for a push).
# The payloads share one shape, so which one matches changes only the order, not the result.
_COMMIT_EXTRACTORS: tuple[tuple[str, str], ...] = (
    ("X-Github-Event", "push"),
    ("X-Gitlab-Event", "Push Hook"),
    ("X-Gitea-Event", "push"),
    ("X-Git-Oschina-Event", "Push Hook"),
    ("X-Gitee-Event", "Push Hook"),  # Gitee's newer name for the same header
    ("X-Gogs-Event", "push"),
)


@dataclass(frozen=True, slots=True)
class PushEvent:
    """What a webhook says changed.

    ``forge`` names the sender: ``github``, ``gitlab``, ``gitea``, ``gitee``, ``gogs``,
    ``bitbucket``, ``bitbucket-server``, or ``form`` / ``json`` for a plain ``path=`` post.
    ``paths`` are the files added, removed or modified, de-duplicated in payload order
    (``("application.yml",)`` for Bitbucket and file-less Gitea pushes, which broadcast); empty
    for events that are not pushes (a GitHub ``ping``). ``ref`` is e.g. ``refs/heads/main``
    when the payload says.
    ``repositories`` are the URLs the payload gives for the repository pushed to (clone, SSH and
    web URLs, in payload order), so the push can be routed to that repository; empty when the
    payload names none.
    """

    forge: str
    paths: tuple[str, ...]
    ref: str | None = None
    # Where the push went, not what changed: left out of equality, so events compare by content.
    repositories: tuple[str, ...] = field(default=(), compare=False)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The first value of a header, matched case-insensitively, stripped; None when absent."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return None if value is None else value.strip()


def _identify(headers: Mapping[str, str]) -> str | None:
    """Which forge sent the request, judged by its event headers; None for a plain post.

    Most specific first: Gitea also sends ``X-Gogs-Event`` and ``X-GitHub-Event`` for
    compatibility, so those two only decide when the more specific headers are absent.
    """
    if _header(headers, "X-Gitea-Event") is not None:
        return "gitea"
    if _header(headers, "X-Gogs-Event") is not None:
        return "gogs"
    if _header(headers, "X-Git-Oschina-Event") is not None or _header(headers, "X-Gitee-Event") is not None:
        return "gitee"
    if _header(headers, "X-Gitlab-Event") is not None:
        return "gitlab"
    if _header(headers, "X-Github-Event") is not None:
        return "github"
    if _header(headers, "X-Event-Key") is not None:
        if _header(headers, "X-Hook-UUID"):
            return "bitbucket"
        if _header(headers, "X-Request-Id"):
            return "bitbucket-server"
    return None


# --- signatures -------------------------------------------------------------------------------


def verify_signature(
    headers: Mapping[str, str], body: bytes, secret: str | None, *, now: float | None = None
) -> None:
    """Check that the webhook was sent by someone who knows ``secret``.

    ``secret`` None accepts everything. Otherwise the sender's scheme is chosen from its event
    headers: GitHub ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``; Gitea
    ``X-Gitea-Signature: <hex>`` (or its GitHub-style header); Gogs ``X-Gogs-Signature: <hex>``;
    GitLab ``X-Gitlab-Token: <secret>``; Gitee ``X-Gitee-Token`` holding the secret, or with
    ``X-Gitee-Timestamp`` (ms) the Base64 HMAC-SHA256(secret, "<timestamp>\\n<secret>") within an
    hour of ``now`` (seconds since the epoch, default the clock); Bitbucket cloud and server
    ``X-Hub-Signature: sha256=<hex>``. A plain post must sign like GitHub.

    Raises :class:`WebhookSignatureInvalid` when the credential is missing, malformed or wrong. Messages
    name the header only, never the secret, the expected value or what was sent.
    """
    if secret is None:
        return
    key = secret.encode("utf-8")
    forge = _identify(headers)
    if forge == "gitlab":
        _check_token(headers, "X-Gitlab-Token", key)
    elif forge == "gitee":
        _check_gitee(headers, key, time.time() if now is None else now)
    elif forge == "gitea" and (
        _header(headers, "X-Gitea-Signature") is not None or _header(headers, "X-Hub-Signature-256") is None
    ):
        _check_hmac(headers, "X-Gitea-Signature", "", key, body)
    elif forge == "gogs":
        _check_hmac(headers, "X-Gogs-Signature", "", key, body)
    elif forge in ("bitbucket", "bitbucket-server"):
        _check_hmac(headers, "X-Hub-Signature", "sha256=", key, body)
    else:  # github, a gitea sending only the GitHub-style header, or a plain post
        _check_hmac(headers, "X-Hub-Signature-256", "sha256=", key, body)


def _required(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if not value:
        raise WebhookSignatureInvalid(
            f"Webhook rejected: missing {name} header (a webhook secret is configured)"
        )
    return value


def _check_hmac(headers: Mapping[str, str], name: str, prefix: str, key: bytes, body: bytes) -> None:
    given = _required(headers, name)
    if not given.startswith(prefix) or not _HEX_SHA256.fullmatch(given[len(prefix) :]):
        raise WebhookSignatureInvalid(
            f"Webhook rejected: malformed {name} header (expected {prefix}<64 hex digits>)"
        )
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given[len(prefix) :].lower()):
        raise WebhookSignatureInvalid(f"Webhook rejected: {name} does not match the request body")


def _check_token(headers: Mapping[str, str], name: str, key: bytes) -> None:
    given = _required(headers, name).encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(key, given):
        raise WebhookSignatureInvalid(f"Webhook rejected: wrong {name}")


def _check_gitee(headers: Mapping[str, str], key: bytes, now: float) -> None:
    timestamp = _header(headers, "X-Gitee-Timestamp")
    if not timestamp:
        _check_token(headers, "X-Gitee-Token", key)  # "password" mode: the secret itself
        return
    token = _required(headers, "X-Gitee-Token")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        raise WebhookSignatureInvalid(
            "Webhook rejected: malformed X-Gitee-Timestamp header (expected milliseconds)"
        )
    if abs(now - int(timestamp) / 1000) > GITEE_MAX_SKEW_SECONDS:
        raise WebhookSignatureInvalid(
            "Webhook rejected: X-Gitee-Timestamp is more than an hour away from our clock"
        )
    digest = hmac.new(key, timestamp.encode("ascii") + b"\n" + key, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    # Gitee's docs URL-encode the Base64 value; what it sends in practice is plain Base64.
    candidates = {token, unquote(token)}
    if not any(hmac.compare_digest(expected, c.encode("utf-8", "surrogatepass")) for c in candidates):
        raise WebhookSignatureInvalid("Webhook rejected: X-Gitee-Token does not match")


# --- payloads ---------------------------------------------------------------------------------


def parse_push(headers: Mapping[str, str], body: bytes, content_type: str) -> PushEvent:
    """Read a ``/monitor`` request into a :class:`PushEvent`.

    Extractors are tried in Spring's order (§1.8), the first one with paths wins: GitHub
    (``X-Github-Event: push``) collects ``commits[].added/removed/modified``; then a body key
    ``path`` (string or list), or form fields ``path=`` (repeatable); then GitLab
    (``X-Gitlab-Event: Push Hook``), Gitea (``X-Gitea-Event: push``), Gitee
    (``X-Git-Oschina-Event`` or ``X-Gitee-Event: Push Hook``) and Gogs (``X-Gogs-Event: push``)
    collect the same lists. A Gitea push whose ``commits`` is a list naming no file (older Gitea
    lists none) broadcasts ``application.yml``, as Spring's Gitea extractor always does (we keep
    the files when they are listed). Bitbucket cloud (``X-Event-Key: repo:push`` or
    ``pullrequest:fulfilled`` with ``X-Hook-UUID``) broadcasts when ``push.changes`` is a list;
    Bitbucket server (``repo:refs_changed`` with ``X-Request-Id``) when ``changes`` is a list,
    and ``pr:merged`` always. So a payload of another shape under a forge's headers (a GitHub
    body with Bitbucket headers) names nothing. A form field ``payload`` holding JSON (GitHub's
    form-encoded webhooks) is read like a JSON body. Header names match case-insensitively;
    other events give a PushEvent without paths.

    Raises :class:`InvalidRequest` for bodies over :data:`MAX_BODY_BYTES`, unsupported content
    types, undecodable or malformed bodies, and fields of the wrong type (the message names
    the field).
    """
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(f"Webhook body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    media = content_type.split(";", 1)[0].strip().lower()
    forge = _identify(headers)
    if media == _FORM:
        payload = _form_payload(body)
        default_forge = "form"
    elif media in ("", "application/json", "text/json") or media.endswith("+json"):
        payload = _json_object(body, "Webhook body")
        default_forge = "json"
    else:
        raise InvalidRequest(
            f"Unsupported webhook content type {media[:100]!r}; send application/json or {_FORM}"
        )
    forge = forge or default_forge
    repositories = repository_urls(payload)

    # Spring's order (§1.8): GitHub, then the plain ``path`` key, then the other forges.
    forge_push = any(_header(headers, header) == push for header, push in _COMMIT_EXTRACTORS)
    ref = _string_field(payload, "ref") if forge_push else None
    if _header(headers, "X-Github-Event") == "push":
        paths = _commit_paths(payload)
        if paths:
            return PushEvent(forge, paths, ref, repositories)
    fallback = _fallback_paths(payload)
    if fallback:
        return PushEvent(forge, fallback, ref, repositories)
    if any(_header(headers, header) == push for header, push in _COMMIT_EXTRACTORS[1:]):
        paths = _commit_paths(payload)
        if paths:
            return PushEvent(forge, paths, ref, repositories)
        if _header(headers, "X-Gitea-Event") == "push" and isinstance(payload.get("commits"), list):
            # Gitea (before 1.x) lists no files per commit: Spring broadcasts, as for Bitbucket.
            return PushEvent(forge, (BROADCAST_PATH,), ref, repositories)
    broadcast_ref = _bitbucket_ref(headers, payload)
    if broadcast_ref is not None:
        return PushEvent(forge, (BROADCAST_PATH,), broadcast_ref or None, repositories)
    return PushEvent(forge, (), ref, repositories)


# Where each forge's push payload names the repository pushed to (any that is a string is taken).
_REPOSITORY_FIELDS: tuple[tuple[str | int, ...], ...] = (
    # GitHub, Gitea, Gogs, Gitee
    ("repository", "clone_url"),
    ("repository", "ssh_url"),
    ("repository", "git_url"),
    ("repository", "html_url"),
    ("repository", "url"),
    # GitLab
    ("project", "git_http_url"),
    ("project", "git_ssh_url"),
    ("project", "http_url"),
    ("project", "ssh_url"),
    ("project", "web_url"),
    ("repository", "git_http_url"),
    ("repository", "git_ssh_url"),
    ("repository", "homepage"),
    # Bitbucket cloud
    ("repository", "links", "html", "href"),
)


def repository_urls(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The URLs a push payload gives for its repository, de-duplicated in payload order.

    GitHub, Gitea, Gogs and Gitee ``repository.clone_url``/``ssh_url``/``git_url``/``html_url``;
    GitLab ``project.git_http_url``/``git_ssh_url``/``web_url`` (and ``repository.*``); Bitbucket
    cloud ``repository.links.html.href``; Bitbucket Server ``repository.links.clone[].href``.
    Informational: fields of an unexpected shape are skipped, never an error.
    """
    found: dict[str, None] = {}
    for path in _REPOSITORY_FIELDS:
        value = _dig(payload, *path)
        if isinstance(value, str) and value.strip():
            found[value.strip()] = None
    clones = _dig(payload, "repository", "links", "clone")
    if isinstance(clones, list):
        for clone in clones:
            href = _dig(clone, "href")
            if isinstance(href, str) and href.strip():
                found[href.strip()] = None
    return tuple(found)


def _form_payload(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        fields = parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=1000
        )
    except UnicodeDecodeError as exc:
        raise InvalidRequest("Webhook form body is not valid UTF-8") from exc
    except ValueError as exc:  # more than max_num_fields
        raise InvalidRequest("Webhook form body has too many fields (at most 1000)") from exc
    payloads = [value for name, value in fields if name == "payload"]
    if payloads:
        return _json_object(payloads[0].encode("utf-8"), "Webhook form field 'payload'")
    paths = [value for name, value in fields if name == "path"]
    return {"path": paths} if paths else {}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    if not raw.strip():
        raise InvalidRequest(f"{what} is empty; expected a JSON object")
    try:
        value = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what} is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:  # NaN / Infinity
        raise InvalidRequest(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRequest(f"{what} is nested too deeply") from exc
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object, not {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"Webhook field '{where}' must be a list of strings, not {_json_type(value)}")
    return value


def _commit_paths(payload: dict[str, Any]) -> tuple[str, ...]:
    commits = payload.get("commits")
    if commits is None:
        return ()
    if not isinstance(commits, list):
        raise InvalidRequest(f"Webhook field 'commits' must be an array, not {_json_type(commits)}")
    paths: dict[str, None] = {}
    for index, commit in enumerate(commits):
        if not isinstance(commit, dict):
            raise InvalidRequest(
                f"Webhook field 'commits[{index}]' must be an object, not {_json_type(commit)}"
            )
        for change in ("added", "removed", "modified"):
            files = commit.get(change)
            if files is not None:
                paths.update(dict.fromkeys(p for p in _string_list(files, f"commits[{index}].{change}") if p))
    return tuple(paths)


def _string_field(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"Webhook field '{name}' must be a string, not {_json_type(value)}")
    return value


def _fallback_paths(payload: dict[str, Any]) -> tuple[str, ...]:
    value = payload.get("path")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(dict.fromkeys(p for p in _string_list(value, "path") if p))


def _dig(value: object, *keys: str | int) -> object:
    """Follow keys/indexes through nested JSON; None wherever the shape differs."""
    for key in keys:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def _bitbucket_ref(headers: Mapping[str, str], payload: dict[str, Any]) -> str | None:
    """For a Bitbucket push or merge: the ref it names, or "" when unknown; None otherwise.

    The ref is informational only, so an unexpected shape yields "" rather than an error.
    """
    event = _header(headers, "X-Event-Key")
    if event in ("repo:push", "pullrequest:fulfilled") and _header(headers, "X-Hook-UUID"):
        if not isinstance(_dig(payload, "push", "changes"), list):
            return None  # Spring broadcasts a cloud event only when push.changes is a list
        if event == "pullrequest:fulfilled":
            name = _dig(payload, "pullrequest", "destination", "branch", "name")
            return f"refs/heads/{name}" if isinstance(name, str) and name else ""
        new = _dig(payload, "push", "changes", 0, "new")
        name, kind = _dig(new, "name"), _dig(new, "type")
        if isinstance(name, str) and name and kind in ("branch", "tag"):
            return f"refs/{'heads' if kind == 'branch' else 'tags'}/{name}"
        return ""
    if event in ("repo:refs_changed", "pr:merged") and _header(headers, "X-Request-Id"):
        if event == "repo:refs_changed" and not isinstance(payload.get("changes"), list):
            return None  # a server push broadcasts only when changes is a list; a merge always
        if event == "pr:merged":
            ref = _dig(payload, "pullRequest", "toRef", "id")
        else:
            ref = _dig(payload, "changes", 0, "refId")
        return ref if isinstance(ref, str) else ""
    return None


# --- service names ----------------------------------------------------------------------------


def service_names(paths: Iterable[str]) -> list[str]:
    """The application names a set of changed files concerns, most specific first (§1.8).

    For each path: take the file name (``/`` or ``\\`` separated), drop the extension, then
    strip ``-suffix`` parts one at a time; ``application`` becomes ``*`` (every application).
    ``foo-local-dev.yml`` gives ``foo-local-dev``, ``foo-local``, ``foo``. Names are
    de-duplicated across paths in first-seen order; paths with an empty stem give nothing.

    Bounded for any payload: stems longer than an application name may be (``names.MAX_LENGTH``)
    are skipped without being built, and more than :data:`MAX_SERVICE_NAMES` names give ``["*"]``
    (every watcher woken: the same effect, a bounded answer).
    """
    names: dict[str, None] = {}
    for path in paths:
        filename = path.replace("\\", "/").rpartition("/")[2]
        stem = filename.rpartition(".")[0] if "." in filename else filename
        if len(stem) > MAX_LENGTH:
            # Jump straight to the longest stem that can be a name: building each longer prefix of
            # a 1 MB name of dashes would take gigabytes.
            cut = stem.rfind("-", 0, MAX_LENGTH + 1)
            stem = stem[:cut] if cut > 0 else ""
        while stem:
            names.setdefault("*" if stem == "application" else stem)
            if len(names) > MAX_SERVICE_NAMES:
                return ["*"]
            stem = stem.rpartition("-")[0]
    return list(names)
