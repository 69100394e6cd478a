"""Handlers for environments, alternative formats and plain-text resources.

Each takes the request and its parsed :class:`~config_server.http.routes.Endpoint` (the route
table in ``routes`` owns the URL grammar and the validation of names, profiles, labels and paths);
the handler calls the service and serialises, with ETags and ``304 Not Modified``.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from config_server.components import (
    FLEET,
    KEYRING,
    LIVE,
    PEER_VERIFIER,
    QUOTA,
    REPOSITORIES,
    SERVICE,
    SETTINGS,
    VAULT,
)
from config_server.crypto.keyring import NO_KEY_INSTALLED
from config_server.crypto.resources import decrypt_resource
from config_server.errors import NoKey
from config_server.formats.placeholders import lookup_from_sources, resolve_placeholders
from config_server.formats.representations import Kind, Rendered, Representations, etag_of
from config_server.http.headers import accepted_charset, etag_matches, parse_prefer_wait, wants_v2
from config_server.http.routes import Endpoint
from config_server.http.security import AUDIT_FIELDS, PRINCIPAL
from config_server.live.fleet import Sighting
from config_server.names import EnvRequest

__all__ = ["environment", "rendering", "resource"]

# RFC 7234 warn-code 110: the secrets part is the last good Vault answer (see --vault-stale-ttl).
STALE_WARNING = '110 - "Response is Stale: Vault unavailable, last known secrets served"'


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no", "off")


async def environment(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    """``/{application}/{profiles}[/{label}]``: Environment JSON (V1, or V2 by ``Accept``), long polls."""
    service, live = request.app[SERVICE], request.app[LIVE]
    assert endpoint.request is not None
    req = endpoint.request
    token = request.headers.get("X-Config-Token")
    kind: Kind = "v2" if wants_v2(request.headers.get("Accept")) else "v1"
    if_none_match = request.headers.get("If-None-Match")
    # Preferences may come in several header lines (RFC 7240 §2): read them as one list.
    wait = parse_prefer_wait(", ".join(request.headers.getall("Prefer", ())), cap=live.max_wait)
    if wait is not None and if_none_match and request.app[PEER_VERIFIER] is not None:
        # A re-poll from a watcher another replica just woke: answer after our fetch of that push.
        settings = request.app[SETTINGS]
        await request.app[REPOSITORIES].settled(settings.git_timeout)
    reps = await service.environment(req, token=token)
    rendered = reps.get(kind)
    headers: dict[str, str] = {}
    sighting = _sighting(request, req, if_none_match, wait)
    fleet = request.app[FLEET]
    if wait is not None:
        headers["Preference-Applied"] = f"wait={wait:g}"
        if etag_matches(if_none_match, rendered.etag):
            with contextlib.ExitStack() as held:
                held.enter_context(request.app[QUOTA].hold(_holder(request)))
                if sighting is not None:
                    held.enter_context(fleet.polling(sighting, rendered.etag, reps.environment.version))
                newer = await live.wait(req, kind, token, rendered.etag, wait)
            if newer is not None:
                reps, rendered = newer, newer.get(kind)
    if sighting is not None:  # what it is answered is what it holds next
        fleet.seen(sighting, rendered.etag, reps.environment.version)
    _warn(headers, reps)
    _audit_details(request, reps)
    return _respond(request, rendered, headers)


def _warn(headers: dict[str, str], reps: Representations) -> None:
    """RFC 7234 ``Warning`` values, comma-separated: stale Vault data, last good commits served."""
    warnings = ((STALE_WARNING,) if reps.stale else ()) + reps.warnings
    if warnings:
        headers["Warning"] = ", ".join(warnings)


def _sighting(
    request: web.Request, req: EnvRequest, if_none_match: str | None, wait: float | None
) -> Sighting | None:
    """The fleet view's record of this request: a client that polls (a conditional request or a
    long poll) or names itself (``X-Config-Client-Id``); None for a one-off read."""
    client_id = request.headers.get("X-Config-Client-Id")
    if if_none_match is None and wait is None and client_id is None:
        return None
    return Sighting.of(
        application=req.name,
        profiles=req.profiles_raw,
        label=req.label,
        client_id=client_id,
        principal=request[PRINCIPAL].id,
        address=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )


def _holder(request: web.Request) -> str | None:
    """Whose long poll this is: the principal; None for an anonymous caller (only the total counts,
    since behind a proxy every anonymous caller has the proxy's address)."""
    principal = request[PRINCIPAL]
    return None if principal.anonymous else principal.id


def _audit_details(request: web.Request, reps: Representations) -> None:
    """The commit served and the Vault paths read (``mount/key``), for the request's audit line."""
    fields = request.get(AUDIT_FIELDS)
    if fields is None:  # no audit log: nothing to gather
        return
    env = reps.environment
    if env.version:
        fields["commit"] = env.version
    keys = [s.name[6:] for s in env.property_sources if s.name.startswith("vault:")]
    manager = request.app[VAULT]
    if keys and manager is not None:
        vault = manager.settings
        fields["vault"] = [f"{vault.kv_mount}/{vault.key_path(key)}" for key in keys]


async def rendering(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    """``[/{label}]/{application}-{profiles}.{yml|yaml|properties|json}``: the merged rendering."""
    service = request.app[SERVICE]
    assert endpoint.request is not None and endpoint.format is not None
    reps = await service.environment(endpoint.request, token=request.headers.get("X-Config-Token"))
    resolve = _truthy(request.query.get("resolvePlaceholders"), True)
    base = "yml" if endpoint.format in ("yml", "yaml") else endpoint.format
    kind: Kind = base if resolve else f"{base}-raw"  # type: ignore[assignment]
    _audit_details(request, reps)
    headers: dict[str, str] = {}
    _warn(headers, reps)
    return _respond(request, reps.get(kind), headers)


async def resource(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    """``/{application}/{profiles}/{label}/{path}``: a plain-text file, placeholders resolved."""
    service = request.app[SERVICE]
    assert endpoint.request is not None and endpoint.path is not None
    req = endpoint.request
    data, found = await service.resource(req, endpoint.path)
    accept = request.headers.get("Accept", "")
    if "application/octet-stream" in accept:
        raw = Rendered(data, etag_of("resource-raw", data), "application/octet-stream")
        return _respond(request, raw, {})
    charset = accepted_charset(request.headers.get("Accept-Charset"))
    text = data.decode(charset, errors="replace")
    headers: dict[str, str] = {}
    if _truthy(request.query.get("resolvePlaceholders"), True):
        reps = await service.environment(req, token=request.headers.get("X-Config-Token"), allow_empty=True)
        text = resolve_placeholders(text, lookup_from_sources(reps.environment.property_sources))
        _audit_details(request, reps)
        _warn(headers, reps)
    settings = request.app[SETTINGS]
    if settings.encrypt_plain_text and settings.encrypt_enabled:
        text = await _decrypted_resource(request, found, text)
    body = text.encode(charset, errors="replace")
    rendered = Rendered(body, etag_of(f"resource-{charset}", body), f"text/plain; charset={charset}")
    return _respond(request, rendered, headers)


async def _decrypted_resource(request: web.Request, path: str, text: str) -> str:
    """``--encrypt-plain-text``: the resource's ``{cipher}`` values decrypted in place, after its
    placeholders are resolved (Spring's order). Off the loop: RSA work and transit's Vault calls
    block."""
    ring = request.app[KEYRING]

    def decrypt(ciphertext: str) -> str:
        if ring is None:
            raise NoKey(NO_KEY_INSTALLED)
        return ring.decrypt(ciphertext)

    return await asyncio.to_thread(decrypt_resource, path, text, decrypt)


def _respond(request: web.Request, rendered: Rendered, headers: dict[str, str]) -> web.Response:
    headers = {**headers, "ETag": rendered.etag}  # Cache-Control: no-store is on every answer
    if etag_matches(request.headers.get("If-None-Match"), rendered.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=rendered.body, headers={**headers, "Content-Type": rendered.content_type})
