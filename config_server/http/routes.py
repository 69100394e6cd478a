"""The route table: a request's method and raw path become a typed :class:`Endpoint`, once.

The first middleware parses every request here, before any handler runs, and stores the result
on the request (``request[ENDPOINT]``); handlers, and any later middleware (authorisation,
metrics, audit), read the application, profiles, label, route template and action from it
without parsing again. The table is the only place that knows the URL grammar:

====================================================  ==============  ========================
route template                                        kind            methods
====================================================  ==============  ========================
``/actuator/health``, ``/health``                     health          GET
``/actuator/health/liveness``                         liveness        GET
``/actuator/health/readiness``                        readiness       GET
``/actuator/prometheus``                              prometheus      GET
``/actuator/clients``                                 clients         GET
``/encrypt``, ``/encrypt/{application}/{profiles}``   encrypt         POST
``/decrypt``, ``/decrypt/{application}/{profiles}``   decrypt         POST
``/encrypt/status``                                   encrypt-status  GET
``/key``, ``/key/{application}/{profiles}``           key             GET
``/monitor``                                          monitor         POST
``/openapi.json``                                     openapi         GET
``/actuator/...``, ``/v3/...``                        (reserved)      404
``/{application}-{profiles}.{format}``                rendering       GET
``/{label}/{application}-{profiles}.{format}``        rendering       GET
``/{application}/{profiles}``                         environment     GET
``/{application}/{profiles}/{label}``                 environment     GET
``/{application}/{profiles}/{path}?useDefaultLabel``  resource        GET
``/{application}/{profiles}/{label}/{path...}``       resource        GET
====================================================  ==============  ========================

GET implies HEAD. The fixed routes come first and match the path exactly; any other GET falls to
the Spring grammar below them. A method no matching route takes is 405 with ``Allow``.

The raw (still percent-encoded) path is split on ``/`` and then each segment is decoded, so an
encoded ``%2F`` can never change which endpoint a request reaches. Names, profiles, labels and
resource paths are validated here (``names``): a hostile one is a 400 before any handler.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from aiohttp import web

from config_server.errors import InvalidRequest, MethodNotAllowed, NotFound
from config_server.names import EnvRequest, env_request, parse_resource_path

__all__ = ["ENDPOINT", "RESERVED_PREFIXES", "Action", "Endpoint", "EndpointKind", "parse_endpoint"]

MAX_PATH = 2048
RESERVED_PREFIXES = ("actuator", "v3")
"""First path segments kept for the server's own endpoints (probes, metrics, OpenAPI): never an
application name, so ``/actuator/prometheus`` is a 404 until it exists, not an Environment."""

_EXT = re.compile(r"^(?P<stem>.+)\.(?P<ext>yml|yaml|properties|json)$")
_PROFILE_WITH_EXT = re.compile(r".*\b\.(?:ya?ml|properties|json)\b.*")
_READ = frozenset({"GET", "HEAD"})
_POST = frozenset({"POST"})


class EndpointKind(StrEnum):
    """What a request asks for."""

    ENVIRONMENT = "environment"
    RENDERING = "rendering"
    RESOURCE = "resource"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    ENCRYPT_STATUS = "encrypt-status"
    KEY = "key"
    MONITOR = "monitor"
    HEALTH = "health"
    LIVENESS = "liveness"
    READINESS = "readiness"
    PROMETHEUS = "prometheus"
    CLIENTS = "clients"
    OPENAPI = "openapi"


class Action(StrEnum):
    """What a caller must be allowed to do for a request (what an access policy grants)."""

    READ = "read"  # configuration of the named application(s): environments, renderings, resources
    ENCRYPT = "encrypt"  # make {cipher} values (and ask whether a key is installed)
    DECRYPT = "decrypt"  # turn {cipher} values back into plain text
    KEY = "key"  # the RSA public key
    MONITOR = "monitor"  # a push webhook not signed with --monitor-secret: fetch now, wake watchers
    HEALTH_DETAILS = "health-details"  # the components of /actuator/health (its status is public)
    ADMIN = "admin"  # the /actuator endpoints beyond health: /actuator/prometheus (a scraper's), clients


_ACTIONS: Mapping[EndpointKind, Action] = {
    EndpointKind.ENVIRONMENT: Action.READ,
    EndpointKind.RENDERING: Action.READ,
    EndpointKind.RESOURCE: Action.READ,
    EndpointKind.ENCRYPT: Action.ENCRYPT,
    EndpointKind.ENCRYPT_STATUS: Action.ENCRYPT,
    EndpointKind.KEY: Action.KEY,
    EndpointKind.DECRYPT: Action.DECRYPT,
    EndpointKind.MONITOR: Action.MONITOR,
    EndpointKind.HEALTH: Action.HEALTH_DETAILS,
    EndpointKind.LIVENESS: Action.HEALTH_DETAILS,  # public, as health's status: named for audit only
    EndpointKind.READINESS: Action.HEALTH_DETAILS,
    EndpointKind.PROMETHEUS: Action.ADMIN,
    EndpointKind.CLIENTS: Action.ADMIN,
    EndpointKind.OPENAPI: Action.READ,  # public (the API's shape, no configuration): named for audit only
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One parsed request: its kind, route template, action, and what it names.

    ``request`` holds the validated application(s), profiles and label for the endpoints that
    name them (the encryption endpoints' ``{application}/{profiles}`` scope too; no label there).
    ``path`` is a resource's validated path; ``format`` a rendering's extension as requested.
    """

    kind: EndpointKind
    route: str
    request: EnvRequest | None = None
    path: str | None = None
    format: str | None = None

    @property
    def action(self) -> Action:
        """What the caller needs to be allowed to do."""
        return _ACTIONS[self.kind]

    @property
    def applications(self) -> tuple[str, ...]:
        """The application names the request is for (empty when it names none)."""
        return () if self.request is None else self.request.applications

    @property
    def profiles(self) -> tuple[str, ...]:
        """The requested profiles, in request order (empty when it names none)."""
        return () if self.request is None else self.request.profiles

    @property
    def label(self) -> str | None:
        """The requested label (None: the default label, or an endpoint without one)."""
        return None if self.request is None else self.request.label


ENDPOINT = web.RequestKey("endpoint", Endpoint)
"""Where the first middleware stores a request's parsed :class:`Endpoint`."""


@dataclass(frozen=True, slots=True)
class _Fixed:
    literal: tuple[str, ...]  # the route's segments; "" marks a parameter
    methods: frozenset[str]
    kind: EndpointKind
    route: str

    def matches(self, segments: list[str]) -> bool:
        if len(segments) != len(self.literal):
            return False
        # A parameter is a non-empty segment without braces (aiohttp's ``{name}`` matcher).
        return all(
            seg == lit if lit else (seg != "" and "{" not in seg and "}" not in seg)
            for lit, seg in zip(self.literal, segments, strict=True)
        )


def _fixed(route: str, methods: frozenset[str], kind: EndpointKind) -> _Fixed:
    literal = tuple("" if s.startswith("{") else s for s in route.split("/")[1:])
    return _Fixed(literal, methods, kind, route)


_FIXED: tuple[_Fixed, ...] = (
    _fixed("/actuator/health", _READ, EndpointKind.HEALTH),
    _fixed("/health", _READ, EndpointKind.HEALTH),
    _fixed("/actuator/health/liveness", _READ, EndpointKind.LIVENESS),
    _fixed("/actuator/health/readiness", _READ, EndpointKind.READINESS),
    _fixed("/actuator/prometheus", _READ, EndpointKind.PROMETHEUS),
    _fixed("/actuator/clients", _READ, EndpointKind.CLIENTS),
    _fixed("/encrypt", _POST, EndpointKind.ENCRYPT),
    _fixed("/encrypt/{application}/{profiles}", _POST, EndpointKind.ENCRYPT),
    _fixed("/decrypt", _POST, EndpointKind.DECRYPT),
    _fixed("/decrypt/{application}/{profiles}", _POST, EndpointKind.DECRYPT),
    _fixed("/encrypt/status", _READ, EndpointKind.ENCRYPT_STATUS),
    _fixed("/key", _READ, EndpointKind.KEY),
    _fixed("/key/{application}/{profiles}", _READ, EndpointKind.KEY),
    _fixed("/monitor", _POST, EndpointKind.MONITOR),
    _fixed("/openapi.json", _READ, EndpointKind.OPENAPI),
)


def parse_endpoint(method: str, raw_path: str, query: Mapping[str, str]) -> Endpoint:
    """The endpoint ``method`` and ``raw_path`` (percent-encoded, as sent) address.

    Raises ``InvalidRequest`` (a hostile or malformed part, or a path over 2 KiB), ``NotFound``
    (no such endpoint, or a reserved path, whatever the method) and ``MethodNotAllowed`` (its
    headers carry ``Allow``).
    """
    segments = [unquote(s) for s in raw_path.split("/")[1:]]
    allowed: set[str] = set()
    for route in _FIXED:
        if route.matches(segments):
            if method in route.methods:
                return _fixed_endpoint(route, segments)
            allowed |= route.methods
    reserved = len(segments) > 0 and segments[0] in RESERVED_PREFIXES
    if reserved and allowed:  # e.g. POST /actuator/health: only what its route takes
        raise MethodNotAllowed(method, allowed)
    if reserved:  # the server's own, none of them here (yet): no method reaches an application
        raise NotFound(f"No endpoint for {raw_path}")
    if method not in _READ:  # only the Spring grammar is left, and it is read-only
        raise MethodNotAllowed(method, allowed | _READ)
    return _spring_endpoint(raw_path, segments, query)


def _fixed_endpoint(route: _Fixed, segments: list[str]) -> Endpoint:
    scope = None
    if len(segments) == 3:  # /encrypt|/decrypt|/key/{application}/{profiles}
        scope = env_request(segments[1], segments[2], None)
    return Endpoint(route.kind, route.route, scope)


def _spring_endpoint(raw: str, segments: list[str], query: Mapping[str, str]) -> Endpoint:
    if len(raw) > MAX_PATH:
        raise InvalidRequest("Request path too long")
    if segments and segments[-1] == "":
        segments = segments[:-1]  # tolerate one trailing slash
    if not segments or any(s == "" for s in segments):
        raise NotFound(f"No endpoint for {raw}")
    n = len(segments)
    if n == 1 or (n == 2 and _EXT.match(segments[1])):
        return _rendering(raw, segments)
    if _PROFILE_WITH_EXT.fullmatch(segments[1]) and (n == 2 or (n == 3 and "useDefaultLabel" not in query)):
        raise NotFound(f"No endpoint for {raw}")
    if n == 2:
        return Endpoint(
            EndpointKind.ENVIRONMENT, "/{application}/{profiles}", env_request(segments[0], segments[1], None)
        )
    if n == 3 and "useDefaultLabel" not in query:
        return Endpoint(
            EndpointKind.ENVIRONMENT,
            "/{application}/{profiles}/{label}",
            env_request(segments[0], segments[1], segments[2]),
        )
    if n == 3:
        req = env_request(segments[0], segments[1], None)
        return Endpoint(
            EndpointKind.RESOURCE, "/{application}/{profiles}/{path}", req, parse_resource_path(segments[2])
        )
    req = env_request(segments[0], segments[1], segments[2])
    path = parse_resource_path("/".join(segments[3:]))
    return Endpoint(EndpointKind.RESOURCE, "/{application}/{profiles}/{label}/{path}", req, path)


def _rendering(raw: str, segments: list[str]) -> Endpoint:
    m = _EXT.match(segments[-1])
    if m is None:
        raise NotFound(f"No endpoint for {raw}")
    stem, ext = m.group("stem"), m.group("ext")
    # {application}-{profiles} splits at the LAST hyphen (reference §1.2).
    name, sep, profiles = stem.rpartition("-")
    if not sep or not name or not profiles:  # no {application}-{profiles}: no such endpoint, as in Spring
        raise NotFound(f"No endpoint for {raw} (expected {{application}}-{{profiles}}.{ext})")
    if len(segments) == 2:
        req = env_request(name, profiles, segments[0])
        return Endpoint(EndpointKind.RENDERING, "/{label}/{application}-{profiles}.{format}", req, format=ext)
    req = env_request(name, profiles, None)
    return Endpoint(EndpointKind.RENDERING, "/{application}-{profiles}.{format}", req, format=ext)
