"""Handlers for environments, alternative formats and plain-text resources.

Routing is done here on the raw (still percent-encoded) path, split on ``/`` and then decoded per
segment, so an encoded ``%2F`` can never change which endpoint a request reaches:

==============================================  =============================================
``/{name}-{profiles}.{yml|yaml|properties|json}``  merged rendering, default label
``/{label}/{name}-{profiles}.{ext}``              merged rendering at a label
``/{name}/{profiles}``                            Environment JSON (V1, or V2 by ``Accept``)
``/{name}/{profiles}/{label}``                    Environment JSON at a label
``/{name}/{profile}/{label}/{path...}``           plain-text resource
``/{name}/{profile}/{path}?useDefaultLabel``      plain-text resource, default label
==============================================  =============================================
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web

from config_server.errors import InvalidRequest, NotFound
from config_server.formats.placeholders import lookup_from_sources, resolve_placeholders
from config_server.formats.representations import Kind, Rendered, etag_of
from config_server.http.headers import etag_matches, parse_prefer_wait, wants_v2
from config_server.names import env_request, parse_resource_path

if TYPE_CHECKING:
    from config_server.http.app import State

__all__ = ["dispatch"]

_EXT = re.compile(r"^(?P<stem>.+)\.(?P<ext>yml|yaml|properties|json)$")
_PROFILE_WITH_EXT = re.compile(r".*\b\.(?:ya?ml|properties|json)\b.*")
MAX_PATH = 2048
# RFC 7234 warn-code 110: the secrets part is the last good Vault answer (see --vault-stale-ttl).
STALE_WARNING = '110 - "Response is Stale: Vault unavailable, last known secrets served"'


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no", "off")


async def dispatch(request: web.Request, state: State) -> web.StreamResponse:
    """Route a GET/HEAD that is not one of the fixed endpoints."""
    raw = request.rel_url.raw_path
    if len(raw) > MAX_PATH:
        raise InvalidRequest("Request path too long")
    segments = [unquote(s) for s in raw.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()  # tolerate one trailing slash
    if not segments or any(s == "" for s in segments):
        raise NotFound(f"No endpoint for {raw}")
    n = len(segments)
    if n == 1 or (n == 2 and _EXT.match(segments[1])):
        m = _EXT.match(segments[-1])
        if m is None:
            raise NotFound(f"No endpoint for {raw}")
        label = segments[0] if n == 2 else None
        return await _rendering(request, state, m.group("stem"), m.group("ext"), label)
    if n == 2:
        return await _environment(request, state, segments[0], segments[1], None)
    if n == 3 and "useDefaultLabel" not in request.query:
        return await _environment(request, state, segments[0], segments[1], segments[2])
    if n == 3:
        return await _resource(request, state, segments[0], segments[1], None, segments[2])
    return await _resource(request, state, segments[0], segments[1], segments[2], "/".join(segments[3:]))


async def _environment(
    request: web.Request, state: State, name: str, profiles: str, label: str | None
) -> web.StreamResponse:
    if _PROFILE_WITH_EXT.fullmatch(profiles):
        raise NotFound(f"No endpoint for {request.rel_url.raw_path}")
    req = env_request(name, profiles, label)
    token = request.headers.get("X-Config-Token")
    kind: Kind = "v2" if wants_v2(request.headers.get("Accept")) else "v1"
    reps = await state.service.environment(req, token=token)
    rendered = reps.get(kind)
    if_none_match = request.headers.get("If-None-Match")
    headers: dict[str, str] = {}
    if state.live is not None:
        # Preferences may come in several header lines (RFC 7240 §2): read them as one list.
        wait = parse_prefer_wait(", ".join(request.headers.getall("Prefer", ())), cap=state.live.max_wait)
        if wait is not None:
            headers["Preference-Applied"] = f"wait={wait:g}"
            if etag_matches(if_none_match, rendered.etag):
                newer = await state.live.wait(req, kind, token, rendered.etag, wait)
                if newer is not None:
                    reps, rendered = newer, newer.get(kind)
    if reps.stale:
        headers["Warning"] = STALE_WARNING
    return _respond(request, rendered, headers)


async def _rendering(
    request: web.Request, state: State, stem: str, ext: str, label: str | None
) -> web.StreamResponse:
    # {name}-{profiles} splits at the LAST hyphen (reference §1.2).
    name, sep, profiles = stem.rpartition("-")
    if not sep or not name or not profiles:  # no {name}-{profiles} pattern: no such endpoint, as in Spring
        raise NotFound(
            f"No endpoint for {request.rel_url.raw_path} (expected {{application}}-{{profiles}}.{ext})"
        )
    req = env_request(name, profiles, label)
    reps = await state.service.environment(req, token=request.headers.get("X-Config-Token"))
    resolve = _truthy(request.query.get("resolvePlaceholders"), True)
    base = "yml" if ext in ("yml", "yaml") else ext
    kind: Kind = base if resolve else f"{base}-raw"  # type: ignore[assignment]
    return _respond(request, reps.get(kind), {"Warning": STALE_WARNING} if reps.stale else {})


async def _resource(
    request: web.Request, state: State, name: str, profile: str, label: str | None, path: str
) -> web.StreamResponse:
    req = env_request(name, profile, label)
    path = parse_resource_path(path)
    data, _found = await state.service.resource(req, path)
    accept = request.headers.get("Accept", "")
    if "application/octet-stream" in accept:
        raw = Rendered(data, etag_of("resource-raw", data), "application/octet-stream")
        return _respond(request, raw, {})
    charset = _charset(request.headers.get("Accept-Charset"))
    text = data.decode(charset, errors="replace")
    headers: dict[str, str] = {}
    if _truthy(request.query.get("resolvePlaceholders"), True):
        reps = await state.service.environment(req, token=request.headers.get("X-Config-Token"))
        text = resolve_placeholders(text, lookup_from_sources(reps.environment.property_sources))
        if reps.stale:
            headers["Warning"] = STALE_WARNING
    body = text.encode(charset, errors="replace")
    rendered = Rendered(body, etag_of(f"resource-{charset}", body), f"text/plain; charset={charset}")
    return _respond(request, rendered, headers)


def _charset(header: str | None) -> str:
    if header:
        first = header.split(",")[0].split(";")[0].strip()
        try:
            return codecs.lookup(first).name
        except LookupError:
            pass
    return "utf-8"


def _respond(request: web.Request, rendered: Rendered, headers: dict[str, str]) -> web.Response:
    headers = {**headers, "ETag": rendered.etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("If-None-Match"), rendered.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=rendered.body, headers={**headers, "Content-Type": rendered.content_type})
