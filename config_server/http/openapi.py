"""``GET /openapi.json``: the OpenAPI 3.1 document of the whole API, built from one table.

Each row of ``OPERATIONS`` is one (route template, method) of the route table (``routes``): its
endpoint kind, parameters, request body and answers, named by the reusable parts under
``components``. ``document()`` turns the table into the document; the handler serves its bytes,
serialised once. ``tests/http/test_openapi.py`` holds the table to the route table (every template both
ways) and runs schemathesis against a real server, so a status the server answers that is not
written here fails a test.

Two shapes of the Spring grammar cannot be separate OpenAPI paths: ``/{application}/{profiles}/
{path}?useDefaultLabel`` has the same shape as ``/{application}/{profiles}/{label}``, so it is that
operation's ``useDefaultLabel`` parameter (and its ``text/plain`` answer). GET implies HEAD
everywhere (same headers, no body); HEAD is not listed separately.

Security (``components.securitySchemes``): HTTP Basic, bearer JWT and mutual TLS, any one of them
or none (``{}``: a server started without authentication lets everyone in). Health and this
document are public; credentials that are sent are checked everywhere (a bad one is a 401).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from config_client.wire import V2_MEDIA_TYPE

from config_server import __version__
from config_server.http.routes import Endpoint, EndpointKind

__all__ = ["DESCRIPTION", "OPERATIONS", "Operation", "document", "openapi"]

DESCRIPTION = """\
A Spring Cloud Config server: environments, renderings and plain-text resources from git (and
Vault), `{cipher}` values, push webhooks and long polls (`Prefer: wait=N` with `If-None-Match`).

- GET implies HEAD on every GET operation (same status and headers, no body).
- `/{application}/{profiles}/{path}?useDefaultLabel` is the resource `{path}` at the default label:
  the `useDefaultLabel` parameter of `/{application}/{profiles}/{label}`.
- Errors are Spring Boot's `{timestamp, status, error, message, path}`; the encryption endpoints
  answer key problems as `{status, description}` (`NO_KEY`, `NOT_FOUND`, `INVALID`, `BAD_REQUEST`).
- Authentication, when the server has any: HTTP Basic, a bearer JWT, or a client certificate; an
  access policy then decides who may read which applications and use which endpoints. Without
  any, everyone is let in. Health and this document are public (anonymous callers see only the
  health status); credentials sent anywhere are checked, and bad ones are a 401.
"""

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented operation: a route template of ``routes`` and one of its methods.

    ``parameters`` name ``components.parameters``; ``responses`` map a status to a name under
    ``components.responses``; ``body`` names a ``components.requestBodies`` entry.
    """

    template: str
    method: str
    kind: EndpointKind
    operation_id: str
    summary: str
    tag: str
    parameters: tuple[str, ...] = ()
    responses: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    public: bool = False


# Statuses the security layer adds: to every protected operation all four; to a public one only
# what a bad credential gets (it is checked wherever it is sent).
_GUARDED = {"401": "Unauthorized", "403": "Forbidden", "429": "TooManyRequests", "503": "Unavailable"}
_PUBLIC = {"401": "Unauthorized", "429": "TooManyRequests"}

_CONFIG = {  # environments, renderings and resources
    "304": "NotModified",
    "400": "BadRequest",
    "404": "NotFound",
    "500": "InvalidConfiguration",
}
_SCOPE = ("application", "profiles")
_CONDITIONAL = ("If-None-Match", "X-Config-Token")


def _environment(
    template: str, operation_id: str, summary: str, *extra: str, ok: str = "Environment"
) -> Operation:
    return Operation(
        template,
        "get",
        EndpointKind.ENVIRONMENT,
        operation_id,
        summary,
        "environment",
        parameters=(*_SCOPE, *extra, *_CONDITIONAL, "Prefer"),
        responses={"200": ok, **_CONFIG},
    )


def _rendering(template: str, operation_id: str, summary: str, *extra: str) -> Operation:
    return Operation(
        template,
        "get",
        EndpointKind.RENDERING,
        operation_id,
        summary,
        "environment",
        parameters=(*extra, *_SCOPE, "format", "resolvePlaceholders", *_CONDITIONAL),
        responses={"200": "Rendering", **_CONFIG},
    )


def _transform(template: str, kind: EndpointKind, operation_id: str, summary: str, *scope: str) -> Operation:
    return Operation(
        template,
        "post",
        kind,
        operation_id,
        summary,
        "encryption",
        parameters=scope,
        body="Text",
        responses={
            "200": "CipherText" if kind is EndpointKind.ENCRYPT else "PlainText",
            "400": "EncryptionBadRequest",
            "404": "NoKey",
            "413": "PayloadTooLarge",
        },
    )


def _key(template: str, operation_id: str, *scope: str) -> Operation:
    return Operation(
        template,
        "get",
        EndpointKind.KEY,
        operation_id,
        "The RSA public key (OpenSSH format)",
        "encryption",
        parameters=scope,
        responses={"200": "PublicKey", "404": "NoKey", **({"400": "BadRequest"} if scope else {})},
    )


def _health(template: str, operation_id: str) -> Operation:
    return Operation(
        template,
        "get",
        EndpointKind.HEALTH,
        operation_id,
        "Health: the overall status; its components for a caller allowed health-details",
        "server",
        responses={"200": "Health", "503": "HealthDown"},
        public=True,
    )


def _probe(template: str, kind: EndpointKind, operation_id: str, summary: str) -> Operation:
    return Operation(
        template,
        "get",
        kind,
        operation_id,
        summary,
        "server",
        responses={"200": "Probe", "503": "ProbeDown"},
        public=True,
    )


OPERATIONS: tuple[Operation, ...] = (
    _health("/actuator/health", "health"),
    _health("/health", "healthAlias"),
    _probe(
        "/actuator/health/liveness",
        EndpointKind.LIVENESS,
        "liveness",
        "Liveness: DOWN while the event loop is, or was in the last 10 s, blocked over 2 s",
    ),
    _probe(
        "/actuator/health/readiness",
        EndpointKind.READINESS,
        "readiness",
        "Readiness: repositories cloned and fetched within --max-staleness, Vault and the audit log usable",
    ),
    Operation(
        "/actuator/prometheus",
        "get",
        EndpointKind.PROMETHEUS,
        "prometheus",
        "Metrics in the Prometheus text format (OpenMetrics when Accept asks for it); needs admin",
        "server",
        responses={"200": "Metrics"},
    ),
    Operation(
        "/actuator/clients",
        "get",
        EndpointKind.CLIENTS,
        "clients",
        "The fleet view: instances polling now or in the last 5 minutes, and the commit each holds; "
        "needs admin",
        "server",
        responses={"200": "Clients"},
    ),
    _transform("/encrypt", EndpointKind.ENCRYPT, "encrypt", "Encrypt the body with the primary key"),
    _transform(
        "/encrypt/{application}/{profiles}",
        EndpointKind.ENCRYPT,
        "encryptFor",
        "Encrypt the body with the key for an application and profiles",
        *_SCOPE,
    ),
    _transform("/decrypt", EndpointKind.DECRYPT, "decrypt", "Decrypt a {cipher} value"),
    _transform(
        "/decrypt/{application}/{profiles}",
        EndpointKind.DECRYPT,
        "decryptFor",
        "Decrypt a value with the key for an application and profiles",
        *_SCOPE,
    ),
    Operation(
        "/encrypt/status",
        "get",
        EndpointKind.ENCRYPT_STATUS,
        "encryptStatus",
        "Whether a key is installed",
        "encryption",
        responses={"200": "EncryptStatus", "404": "NoKey"},
    ),
    _key("/key", "key"),
    _key("/key/{application}/{profiles}", "keyFor", *_SCOPE),
    Operation(
        "/monitor",
        "post",
        EndpointKind.MONITOR,
        "monitor",
        "Push webhook (GitHub, GitLab, Gitea, Gitee, Gogs, Bitbucket, or a form): fetch now",
        "server",
        body="Webhook",
        responses={
            "200": "ServiceNames",
            "400": "BadRequest",
            "401": "WebhookUnauthorized",
            "413": "PayloadTooLarge",
        },
    ),
    Operation(
        "/openapi.json",
        "get",
        EndpointKind.OPENAPI,
        "openapi",
        "This document",
        "server",
        responses={"200": "OpenApi"},
        public=True,
    ),
    _rendering("/{application}-{profiles}.{format}", "rendering", "The merged configuration as one file"),
    _rendering(
        "/{label}/{application}-{profiles}.{format}",
        "renderingAt",
        "The merged configuration at a label, as one file",
        "label",
    ),
    _environment("/{application}/{profiles}", "environment", "The Environment (default label)"),
    _environment(
        "/{application}/{profiles}/{label}",
        "environmentAt",
        "The Environment at a label; with useDefaultLabel, the resource {label} at the default label",
        "label",
        "useDefaultLabel",
        ok="EnvironmentOrResource",
    ),
    Operation(
        "/{application}/{profiles}/{label}/{path}",
        "get",
        EndpointKind.RESOURCE,
        "resource",
        "A plain-text resource at a label, placeholders resolved",
        "environment",
        parameters=(*_SCOPE, "label", "path", "resolvePlaceholders", "Accept-Charset", *_CONDITIONAL),
        responses={"200": "Resource", **_CONFIG},
    ),
)
"""Every documented operation, in the route table's order."""


# ---------------------------------------------------------------------------------------------
# Reusable parts (components)


def _ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> Json:
    return _ref("schemas", name)


_SPRING_NAME = "Spring's rule: no `..` or `#`, no leading `(_)`; `(_)` stands for `/`"
_NO_EXTENSION = r"(?!.*\b\.(?:ya?ml|properties|json)\b)"  # such a profile is a rendering (routes)
_PROFILE = r"[A-Za-z0-9](?:[\w.+@-]*[A-Za-z0-9])?"

_PARAMETERS: Json = {
    "application": {
        "name": "application",
        "in": "path",
        "required": True,
        "description": f"Application name, or a comma list of them. {_SPRING_NAME}.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "example": "orders",
    },
    "profiles": {
        "name": "profiles",
        "in": "path",
        "required": True,
        "description": "Comma list of profiles: letters, digits and `- _ . + @`, starting and ending "
        "with a letter or digit. A profile with a file extension (`x.yml`) names a rendering instead.",
        "schema": {
            "type": "string",
            "maxLength": 255,
            "pattern": f"^{_NO_EXTENSION}{_PROFILE}(?:,{_PROFILE})*$",
        },
        "example": "dev",
    },
    "label": {
        "name": "label",
        "in": "path",
        "required": True,
        "description": f"Branch, tag or commit id, or a comma list of them (the last wins). {_SPRING_NAME}.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "example": "main",
    },
    "path": {
        "name": "path",
        "in": "path",
        "required": True,
        "description": f"Resource file path (may hold `/`). {_SPRING_NAME}.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "example": "nginx.conf",
    },
    "format": {
        "name": "format",
        "in": "path",
        "required": True,
        "description": "`yml`/`yaml` and `properties` as text/plain, `json` as application/json.",
        "schema": {"type": "string", "enum": ["yml", "yaml", "properties", "json"]},
    },
    "resolvePlaceholders": {
        "name": "resolvePlaceholders",
        "in": "query",
        "description": "Resolve `${...}` placeholders (default true).",
        "schema": {"type": "boolean", "default": True},
    },
    "useDefaultLabel": {
        "name": "useDefaultLabel",
        "in": "query",
        "description": "Present (any value): the last segment is a resource path at the default label, "
        "answered as text/plain (or application/octet-stream when accepted).",
        "schema": {"type": "string"},
    },
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "description": "ETags of a representation the caller holds: an unchanged one is a 304.",
        "schema": {"type": "string"},
        "example": '"e3b0c44298fc1c14"',
    },
    "Prefer": {
        "name": "Prefer",
        "in": "header",
        "description": "RFC 7240 `wait=N`: with a matching If-None-Match, hold the request up to N seconds "
        "(capped by the server) until the configuration changes; the wait granted is in Preference-Applied.",
        "schema": {"type": "string"},
        "example": "wait=30",
    },
    "X-Config-Token": {
        "name": "X-Config-Token",
        "in": "header",
        "description": "The caller's Vault token, for Vault-backed property sources.",
        "schema": {"type": "string"},
    },
    "Accept-Charset": {
        "name": "Accept-Charset",
        "in": "header",
        "description": "The charset a text resource is served in (its first entry; default UTF-8).",
        "schema": {"type": "string"},
        "example": "utf-8",
    },
}

_HEADERS: Json = {
    "ETag": {
        "description": "The representation's entity tag.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": "Caching directives.", "required": True, "schema": {"type": "string"}},
    "Warning": {
        "description": (
            'RFC 7234 warnings, comma-separated: `110 - "Response is Stale..."` (Vault is down, its last'
            ' answer is served); `199 - "serving <sha>: <file>:<line>: <reason>"` (--serve-last-good:'
            " the label's head breaks this application, its last good commit is served)."
        ),
        "schema": {"type": "string"},
    },
    "Preference-Applied": {"description": "The `wait=N` granted.", "schema": {"type": "string"}},
    "WWW-Authenticate": {
        "description": "The challenge: every enabled HTTP scheme (Basic, Bearer).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}

_SCALAR: Json = {"type": ["string", "number", "boolean"]}


def _environment_schema(source: str) -> Json:
    nullable = {"type": ["string", "null"]}
    return {
        "type": "object",
        "description": "Property sources highest precedence first.",
        "required": ["name", "profiles", "label", "version", "state", "propertySources"],
        "properties": {
            "name": {"type": "string"},
            "profiles": {"type": "array", "items": {"type": "string"}},
            "label": nullable,
            "version": nullable,
            "state": nullable,
            "propertySources": {"type": "array", "items": _schema(source)},
        },
    }


_SCHEMAS: Json = {
    "Error": {
        "type": "object",
        "description": "Spring Boot's error body.",
        "required": ["timestamp", "status", "error", "message", "path"],
        "properties": {
            "timestamp": {"type": "string", "format": "date-time"},
            "status": {"type": "integer"},
            "error": {"type": "string"},
            "message": {"type": "string"},
            "path": {"type": "string"},
        },
    },
    "EncryptionError": {
        "type": "object",
        "description": "Spring's encryption-controller error body.",
        "required": ["status", "description"],
        "properties": {
            "status": {"type": "string", "enum": ["NO_KEY", "NOT_FOUND", "INVALID", "BAD_REQUEST"]},
            "description": {"type": "string"},
        },
    },
    "PropertySource": {
        "type": "object",
        "required": ["name", "source"],
        "properties": {
            "name": {"type": "string"},
            "source": {"type": "object", "additionalProperties": _SCALAR},
        },
    },
    "PropertySourceV2": {
        "type": "object",
        "required": ["name", "source"],
        "properties": {
            "name": {"type": "string"},
            "source": {
                "type": "object",
                "description": "A value with a known origin is `{value, origin}`; others stay plain.",
                "additionalProperties": {
                    "oneOf": [
                        _SCALAR,
                        {
                            "type": "object",
                            "required": ["value", "origin"],
                            "properties": {"value": _SCALAR, "origin": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    ]
                },
            },
        },
    },
    "Environment": _environment_schema("PropertySource"),
    "EnvironmentV2": _environment_schema("PropertySourceV2"),
    "Probe": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["UP", "DOWN"]},
            "checks": {
                "type": "object",
                "description": "Only for a caller allowed health-details.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    },
    "Fleet": {
        "type": "object",
        "description": "Instances holding a long poll or seen polling within `windowSeconds`, "
        "per application, profiles and label.",
        "required": ["windowSeconds", "tracked", "dropped", "environments"],
        "properties": {
            "windowSeconds": {"type": "integer"},
            "tracked": {"type": "integer", "description": "Instances listed."},
            "dropped": {
                "type": "integer",
                "description": "Instances ever dropped at the cap of 10,000 (least recently seen first).",
            },
            "environments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["application", "profiles", "label", "versions", "instances"],
                    "properties": {
                        "application": {"type": "string"},
                        "profiles": {"type": "string"},
                        "label": {"type": ["string", "null"], "description": "null: the default label."},
                        "versions": {
                            "type": "object",
                            "description": 'Instances per commit (`""`: a commit unknown).',
                            "additionalProperties": {"type": "integer"},
                        },
                        "instances": {"type": "array", "items": _schema("FleetInstance")},
                    },
                },
            },
        },
    },
    "FleetInstance": {
        "type": "object",
        "required": [
            "id",
            "principal",
            "address",
            "userAgent",
            "etag",
            "version",
            "polling",
            "since",
            "lastSeen",
        ],
        "properties": {
            "id": {
                "type": ["string", "null"],
                "description": "Its X-Config-Client-Id (null: none, or an invalid one).",
            },
            "principal": {"type": "string"},
            "address": {"type": ["string", "null"]},
            "userAgent": {"type": ["string", "null"], "description": "Truncated to 200 characters."},
            "etag": {"type": ["string", "null"], "description": "The ETag it holds."},
            "version": {"type": ["string", "null"], "description": "The commit it holds."},
            "polling": {"type": "boolean", "description": "It holds a long poll now."},
            "since": {
                "type": "string",
                "format": "date-time",
                "description": "First seen holding this ETag.",
            },
            "lastSeen": {"type": "string", "format": "date-time"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["UP", "DEGRADED", "DOWN"]},
            "components": {
                "type": "object",
                "description": "Only for a caller allowed health-details.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string"}, "details": {"type": "object"}},
                },
            },
        },
    },
}


def _json(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _text(description: str, *media: str) -> Json:
    return {m: {"schema": {"type": "string", "description": description}} for m in ("text/plain", *media)}


def _answer(description: str, content: Json | None = None, *headers: str) -> Json:
    out: Json = {"description": description}
    if headers:
        out["headers"] = {h: _ref("headers", h) for h in headers}
    if content is not None:
        out["content"] = content
    return out


_REPRESENTATION = ("ETag", "Cache-Control", "Warning")
_ENVIRONMENT_CONTENT: Json = {
    "application/json": {"schema": _schema("Environment")},
    V2_MEDIA_TYPE: {"schema": _schema("EnvironmentV2")},
}
_ERROR = _json(_schema("Error"))

_RESPONSES: Json = {
    "Environment": _answer(
        "The Environment; V2 (`{value, origin}`) when Accept asks for it.",
        _ENVIRONMENT_CONTENT,
        *_REPRESENTATION,
        "Preference-Applied",
    ),
    "EnvironmentOrResource": _answer(
        "The Environment; with useDefaultLabel, the resource.",
        {**_ENVIRONMENT_CONTENT, **_text("The resource", "application/octet-stream")},
        *_REPRESENTATION,
        "Preference-Applied",
    ),
    "Rendering": _answer(
        "The merged configuration: YAML or .properties as text, or nested JSON.",
        {**_text("YAML or .properties"), "application/json": {"schema": {"type": "object"}}},
        *_REPRESENTATION,
    ),
    "Resource": _answer(
        "The resource: text in the accepted charset, or its bytes when application/octet-stream is accepted.",
        _text("The resource", "application/octet-stream"),
        *_REPRESENTATION,
    ),
    "NotModified": _answer(
        "The caller's ETag is current (after any Prefer wait).", None, *_REPRESENTATION, "Preference-Applied"
    ),
    "BadRequest": _answer("A malformed or hostile name, profile, label, path or body.", _ERROR),
    "EncryptionBadRequest": _answer(
        "Not encrypted with this key, a key that cannot decrypt, or a malformed request.",
        _json({"anyOf": [_schema("EncryptionError"), _schema("Error")]}),
    ),
    "NotFound": _answer("No such application configuration, label or resource.", _ERROR),
    "NoKey": _answer(
        "No key installed (NO_KEY), none with a public half (NOT_FOUND).", _json(_schema("EncryptionError"))
    ),
    "InvalidConfiguration": _answer("A configuration file cannot be parsed (the message names it).", _ERROR),
    "Unavailable": _answer("A backend (git, Vault, the audit log) cannot be used now; retry later.", _ERROR),
    "Unauthorized": _answer("No credentials where some are needed, or bad ones.", _ERROR, "WWW-Authenticate"),
    "WebhookUnauthorized": {
        **_answer("The webhook's signature or token is missing or wrong, or bad credentials.", _ERROR),
        "headers": {"WWW-Authenticate": {**_HEADERS["WWW-Authenticate"], "required": False}},
    },
    "Forbidden": _answer("The access policy does not let the caller do this.", _ERROR),
    "TooManyRequests": _answer("Too many failed authentications from this address.", _ERROR, "Retry-After"),
    "PayloadTooLarge": _answer("The body is larger than the endpoint takes.", _ERROR),
    "Health": _answer("UP or DEGRADED (a non-essential source is down).", _json(_schema("Health"))),
    "Probe": _answer("UP.", _json(_schema("Probe"))),
    "ProbeDown": _answer(
        "DOWN (the body's checks, for health-details, say which failed).", _json(_schema("Probe"))
    ),
    "Metrics": {
        "description": "Every metric (the README's metrics table).",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/openmetrics-text": {"schema": {"type": "string"}},
        },
    },
    "Clients": _answer("The fleet view.", _json(_schema("Fleet"))),
    "HealthDown": _answer("DOWN: an essential source has nothing to serve.", _json(_schema("Health"))),
    "CipherText": _answer("The ciphertext (without the `{cipher}` prefix).", _text("Ciphertext")),
    "PlainText": _answer("The plain text.", _text("Plain text")),
    "PublicKey": _answer("The RSA public key.", _text("ssh-rsa ...")),
    "EncryptStatus": _answer(
        "A key is installed.",
        _json({"type": "object", "required": ["status"], "properties": {"status": {"const": "OK"}}}),
    ),
    "ServiceNames": _answer(
        "The service names whose configuration the push changed.",
        _json({"type": "array", "items": {"type": "string"}}),
    ),
    "OpenApi": _answer("This OpenAPI 3.1 document.", _json({"type": "object"})),
}

_REQUEST_BODIES: Json = {
    "Text": {
        "required": True,
        "description": "The text, as text/plain (or form-encoded with a trailing `=`, as `curl -d` does).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    "Webhook": {
        "required": True,
        "description": "A forge's push payload (the forge named by its event header), "
        'or `{"path": [...]}` / form fields `path=`.',
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"path": {"type": "array", "items": {"type": "string"}}},
                }
            },
        },
    },
}

_SECURITY_SCHEMES: Json = {
    "basicAuth": {"type": "http", "scheme": "basic", "description": "A user of --auth-users."},
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT signed by --jwt-public-key or a key of --jwt-jwks-url.",
    },
    "mutualTLS": {"type": "mutualTLS", "description": "A client certificate signed by --tls-client-ca."},
}
_ANY_CREDENTIALS: list[Json] = [{"basicAuth": []}, {"bearerAuth": []}, {"mutualTLS": []}, {}]


def _operation(op: Operation) -> Json:
    responses = {**(_PUBLIC if op.public else _GUARDED), **op.responses}
    out: Json = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "x-endpoint-kind": op.kind.value,
    }
    if op.parameters:
        out["parameters"] = [_ref("parameters", name) for name in op.parameters]
    if op.body is not None:
        out["requestBody"] = _ref("requestBodies", op.body)
    out["responses"] = {status: _ref("responses", responses[status]) for status in sorted(responses)}
    if op.public:
        out["security"] = [{}, *_ANY_CREDENTIALS[:-1]]
    return out


def document() -> Json:
    """The OpenAPI 3.1 document of the whole API (a new dict each call)."""
    paths: Json = {}
    for op in OPERATIONS:
        paths.setdefault(op.template, {})[op.method] = _operation(op)
    return copy.deepcopy(  # the parts are module constants: a caller may change its copy freely
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Config server",
                "version": __version__,
                "summary": "Spring Cloud Config's protocol: environments, renderings, resources, {cipher}.",
                "description": DESCRIPTION,
                "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"},
            },
            "tags": [
                {"name": "environment", "description": "Configuration: environments, renderings, resources"},
                {"name": "encryption", "description": "{cipher} values and keys"},
                {"name": "server", "description": "Health, webhooks, this document"},
            ],
            "security": _ANY_CREDENTIALS,
            "paths": paths,
            "components": {
                "schemas": _SCHEMAS,
                "parameters": _PARAMETERS,
                "headers": _HEADERS,
                "responses": _RESPONSES,
                "requestBodies": _REQUEST_BODIES,
                "securitySchemes": _SECURITY_SCHEMES,
            },
        }
    )


@functools.cache
def _serialised() -> bytes:
    return json.dumps(document(), indent=1).encode()


async def openapi(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /openapi.json``: the document (built once per process)."""
    return web.Response(body=_serialised(), content_type="application/json")
