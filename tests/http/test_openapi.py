"""``GET /openapi.json``: a valid OpenAPI 3.1 document that matches the route table and the server.

Schemathesis generates requests from the document and sends them to a real server on loopback
(real git repository; an RSA key, and no key at all, for the encryption endpoints): no answer may
be a 5xx, and every status, content type, body and header must be one the document promises.
The other direction (every documented status is one the server really answers) is a table of
witness requests, one per operation and status.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import hypothesis
import pytest
import requests
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config_server.components import LIVE, LOOP
from config_server.errors import ConfigServerError
from config_server.http import encryption, monitor
from config_server.http.openapi import document
from config_server.http.routes import EndpointKind, parse_endpoint
from config_server.secret import Secret
from tests.http.conftest import Serve, threaded_server
from tests.support.gitrepo import GitRemote

CONFIG = schemathesis.Config()  # no discovery of a schemathesis.toml outside the repository
SCHEMA = schemathesis.openapi.from_dict(document(), config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
FUZZ = hypothesis.settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
FILES = {
    "application.yml": "greeting: hello\nshared: ${greeting} world\n",
    "orders.yml": "orders:\n  limit: 10\n  name: orders\n",
    "orders-dev.yml": "orders:\n  limit: 20\n",
    "orders.properties": "orders.region=eu\n",
    "nginx.conf": "server_name ${orders.name};\n",
}


def rsa_pem() -> str:
    """A fresh RSA private key, PEM (an inline --encrypt-key pair is an RSA key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def _server(tmp: Path, files: dict[str, str] = FILES, **settings: Any) -> Iterator[str]:
    remote = GitRemote(tmp / "git")
    if files:
        remote.write(files)
    with threaded_server(remote, tmp / "clone", **settings) as (url, app):
        # A generated If-None-Match: * with Prefer: wait=N would hold a request N seconds.
        app[LIVE].max_wait = 0.05
        yield url


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with an RSA key: every encryption endpoint can succeed."""
    yield from _server(tmp_path_factory.mktemp("keyed"), encrypt_key=Secret(rsa_pem()))


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server without a key (NO_KEY), with a webhook secret and a broken ``broken.yml``."""
    files = {**FILES, "broken.yml": "a: [\n"}
    yield from _server(tmp_path_factory.mktemp("keyless"), files, monitor_secret=Secret("hook-secret"))


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server of a remote without a commit: nothing to serve, health DOWN."""
    yield from _server(tmp_path_factory.mktemp("empty"), {})


@pytest.fixture(scope="module")
def stalled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose loop monitor counts any lag as a block: liveness and readiness DOWN."""
    tmp = tmp_path_factory.mktemp("stalled")
    remote = GitRemote(tmp / "git")
    remote.write(FILES)
    with threaded_server(remote, tmp / "clone") as (url, app):
        app[LOOP].block_limit = -1.0
        yield url


SECURITY_POLICY = "rules:\n  - {principals: ['user:reader'], applications: [orders], actions: [read]}\n"
BAD_PASSWORD = {"Authorization": "Basic " + base64.b64encode(b"reader:wrong").decode()}
NOBODY = {"Authorization": "Basic " + base64.b64encode(b"nobody:pw").decode()}


def _secured(tmp: Path, **settings: Any) -> Iterator[str]:
    users = "".join(f"{u}:{bcrypt.hashpw(b'pw', bcrypt.gensalt(4)).decode()}\n" for u in ("reader", "nobody"))
    (tmp / "users").write_text(users, encoding="utf-8")
    (tmp / "policy.yml").write_text(SECURITY_POLICY, encoding="utf-8")
    yield from _server(tmp, auth_users=tmp / "users", access_policy=tmp / "policy.yml", **settings)


@pytest.fixture(scope="module")
def authed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with Basic users and a policy that lets only ``reader`` read only orders."""
    yield from _secured(tmp_path_factory.mktemp("authed"))


@pytest.fixture(scope="module")
def unaudited_authed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``authed`` server with an audit log whose directory was removed: a denial is 503."""
    tmp = tmp_path_factory.mktemp("unaudited-authed")
    (tmp / "logs").mkdir()
    for base in _secured(tmp, audit_log=str(tmp / "logs" / "audit.log"), audit_key=Secret("k")):
        shutil.rmtree(tmp / "logs")
        yield base


def _trip(base: str) -> None:
    """Eleven failed logins from this address: its requests are refused (429) for a minute."""
    for _ in range(11):
        requests.get(f"{base}/orders/dev", headers=BAD_PASSWORD, timeout=10)


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``authed`` server's twin, past its failed-login limit for 127.0.0.1."""
    for base in _secured(tmp_path_factory.mktemp("throttled")):
        _trip(base)
        yield base


@pytest.fixture(scope="module")
def unaudited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose audit log's directory was removed after start: audited requests are 503."""
    tmp = tmp_path_factory.mktemp("unaudited")
    (tmp / "logs").mkdir()
    for base in _server(tmp, audit_log=str(tmp / "logs" / "audit.log"), audit_key=Secret("k")):
        shutil.rmtree(tmp / "logs")
        yield base


@SCHEMA.parametrize()
@FUZZ
def test_the_server_answers_as_documented(case: schemathesis.Case, keyed: str) -> None:
    """No 5xx; every status, content type, body and header is one the document promises."""
    case.call_and_validate(base_url=keyed, checks=CHECKS, timeout=10)


@SCHEMA.include(tag="encryption").parametrize()
@FUZZ
def test_without_a_key_the_encryption_endpoints_answer_as_documented(
    case: schemathesis.Case, keyless: str
) -> None:
    """Without a key, the encryption endpoints too answer only what the document promises."""
    case.call_and_validate(base_url=keyless, checks=CHECKS, timeout=10)


def test_the_document_is_valid_openapi_3_1() -> None:
    """The document validates against the OpenAPI 3.1 schema."""
    SCHEMA.validate()


def test_an_invalid_document_is_refused() -> None:
    """The validation can fail: a response without its description is not OpenAPI 3.1."""
    broken = copy.deepcopy(document())
    del broken["components"]["responses"]["NotFound"]["description"]
    with pytest.raises(Exception, match="description"):
        schemathesis.openapi.from_dict(broken, config=CONFIG).validate()


async def test_the_server_serves_the_document(git_remote: GitRemote, serve: Serve) -> None:
    """GET /openapi.json answers the document as JSON."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.json() == document()


# ---------------------------------------------------------------------------------------------
# The document and the route table (routes.parse_endpoint) name the same routes

EXAMPLES = {
    "application": "orders",
    "profiles": "dev",
    "label": "main",
    "path": "nginx.conf",
    "format": "yml",
}


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in document()["paths"].items():
        for method, operation in item.items():
            yield template, method.upper(), operation


def _example(template: str) -> str:
    return template.format(**EXAMPLES)


def _documented_routes() -> set[tuple[str, str]]:
    routes = set()
    for template, method, operation in _operations():
        routes.add((parse_endpoint(method, _example(template), {}).route, method))
        if {"$ref": "#/components/parameters/useDefaultLabel"} in operation.get("parameters", []):
            routes.add((parse_endpoint(method, _example(template), {"useDefaultLabel": ""}).route, method))
    return routes


@pytest.mark.parametrize(("template", "method", "operation"), list(_operations()), ids=lambda v: str(v)[:40])
def test_a_documented_path_is_that_route_of_the_route_table(
    template: str, method: str, operation: dict[str, Any]
) -> None:
    """Each documented path, filled with examples, parses to that route template and endpoint kind."""
    endpoint = parse_endpoint(method, _example(template), {})
    assert (endpoint.route, endpoint.kind.value) == (template, operation["x-endpoint-kind"])


def test_every_route_of_the_route_table_is_documented() -> None:
    """Every (route template, method) the route table answers, over paths of up to four segments
    drawn from names that reach each route, is documented, and nothing else is."""
    words = ["orders", "dev", "main", "orders-dev.yml", "encrypt", "decrypt", "key", "status"]
    words += ["actuator", "health", "monitor", "openapi.json", "a.txt"]
    # The server's own endpoints below /actuator, in a smaller product of their own (speed).
    actuator = ["actuator", "health", "liveness", "readiness", "prometheus", "clients", "orders"]
    products = [itertools.product(words, repeat=n) for n in range(1, 5)]
    products += [itertools.product(actuator, repeat=n) for n in range(1, 4)]
    reached = set()
    for product in products:
        for segments in product:
            path = "/" + "/".join(segments)
            for method, query in itertools.product(("GET", "POST"), ({}, {"useDefaultLabel": ""})):
                with contextlib.suppress(ConfigServerError):  # not an endpoint at all
                    reached.add((parse_endpoint(method, path, query).route, method))
    assert reached == _documented_routes()


def test_every_endpoint_kind_is_documented() -> None:
    """No endpoint kind of the route table is missing from the document."""
    assert {op["x-endpoint-kind"] for _, _, op in _operations()} == {kind.value for kind in EndpointKind}


# ---------------------------------------------------------------------------------------------
# Every documented status is one the server answers: a witness request for each

SECURITY = {
    f"#/components/responses/{name}": status
    for name, status in (
        ("Unauthorized", 401),
        ("Forbidden", 403),
        ("TooManyRequests", 429),
        ("Unavailable", 503),
    )
}
"""Answers of the security layer (credentials, policy, throttling, audit): witnessed by the
``authed``, ``throttled`` and ``unaudited`` servers, for every operation that documents them."""

CIPHERTEXT = b"<ciphertext of 'secret'>"  # replaced by the keyed server's own /encrypt answer
TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
ANY = {"If-None-Match": "*"}


@dataclass(frozen=True)
class Witness:
    """A request that the named server (fixture) answers with ``status`` for ``operation``."""

    operation: str
    status: int
    server: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


def _config(op: str, ok: str, bad: str, missing: tuple[str, str], broken: str) -> list[Witness]:
    return [
        Witness(op, 200, "keyed", "GET", ok),
        Witness(op, 304, "keyed", "GET", ok, ANY),
        Witness(op, 400, "keyed", "GET", bad),
        Witness(op, 404, missing[0], "GET", missing[1]),
        Witness(op, 500, "keyless", "GET", broken),
    ]


def _transform(op: str, path: str, ok: bytes, bad: bytes, bad_path: str | None = None) -> list[Witness]:
    return [
        Witness(op, 200, "keyed", "POST", path, TEXT, ok),
        Witness(op, 400, "keyed", "POST", bad_path or path, TEXT if bad_path else {}, bad),
        Witness(op, 404, "keyless", "POST", path, TEXT, b"secret"),
        Witness(op, 413, "keyed", "POST", path, TEXT, b"x" * (encryption.MAX_BODY + 1)),
    ]


WITNESSES = [
    Witness("health", 200, "keyed", "GET", "/actuator/health"),
    Witness("health", 503, "empty", "GET", "/actuator/health"),
    Witness("healthAlias", 200, "keyed", "GET", "/health"),
    Witness("healthAlias", 503, "empty", "GET", "/health"),
    *_transform("encrypt", "/encrypt", b"secret", b"no content type"),
    *_transform("encryptFor", "/encrypt/orders/dev", b"secret", b"secret", "/encrypt/orders/-dev"),
    *_transform("decrypt", "/decrypt", CIPHERTEXT, b"not a ciphertext"),
    *_transform("decryptFor", "/decrypt/orders/dev", CIPHERTEXT, b"not a ciphertext"),
    Witness("encryptStatus", 200, "keyed", "GET", "/encrypt/status"),
    Witness("encryptStatus", 404, "keyless", "GET", "/encrypt/status"),
    Witness("key", 200, "keyed", "GET", "/key"),
    Witness("key", 404, "keyless", "GET", "/key"),
    Witness("keyFor", 200, "keyed", "GET", "/key/orders/dev"),
    Witness("keyFor", 400, "keyed", "GET", "/key/orders/-dev"),
    Witness("keyFor", 404, "keyless", "GET", "/key/orders/dev"),
    Witness("monitor", 200, "keyed", "POST", "/monitor", JSON, b'{"path": "orders.yml"}'),
    Witness("monitor", 400, "keyed", "POST", "/monitor", JSON, b"not json"),
    Witness("monitor", 401, "keyless", "POST", "/monitor", JSON, b'{"path": "orders.yml"}'),
    Witness("monitor", 413, "keyed", "POST", "/monitor", JSON, b" " * (monitor.MAX_BODY + 1)),
    Witness("openapi", 200, "keyed", "GET", "/openapi.json"),
    Witness("liveness", 200, "keyed", "GET", "/actuator/health/liveness"),
    Witness("liveness", 503, "stalled", "GET", "/actuator/health/liveness"),
    Witness("readiness", 200, "keyed", "GET", "/actuator/health/readiness"),
    Witness("readiness", 503, "empty", "GET", "/actuator/health/readiness"),
    Witness("prometheus", 200, "keyed", "GET", "/actuator/prometheus"),
    Witness("clients", 200, "keyed", "GET", "/actuator/clients"),
    *_config(
        "rendering", "/orders-dev.yml", "/orders-d%7Cev.yml", ("empty", "/orders-dev.yml"), "/broken-dev.yml"
    ),
    *_config(
        "renderingAt",
        "/main/orders-dev.yml",
        "/main/orders-d%7Cev.yml",
        ("keyed", "/nope/orders-dev.yml"),
        "/main/broken-dev.yml",
    ),
    *_config("environment", "/orders/dev", "/orders/-dev", ("empty", "/orders/dev"), "/broken/dev"),
    *_config(
        "environmentAt",
        "/orders/dev/main",
        "/orders/-dev/main",
        ("keyed", "/orders/dev/nope"),
        "/broken/dev/main",
    ),
    *_config(
        "resource",
        "/orders/dev/main/nginx.conf",
        "/orders/dev/main/WEB-INF%2Fweb.xml",
        ("keyed", "/orders/dev/main/missing.txt"),
        "/broken/dev/main/nginx.conf",
    ),
]


def _security_witness(operation: str, method: str, path: str, status: int) -> Witness:
    body = b"secret" if method == "POST" else None
    headers = JSON if operation == "monitor" else TEXT if method == "POST" else {}
    if status == 401:  # anonymous on a guarded endpoint; a bad password on a public one
        public = operation in ("health", "healthAlias", "openapi", "liveness", "readiness")
        return Witness(
            operation, 401, "authed", method, path, {**headers, **(BAD_PASSWORD if public else {})}, body
        )
    server = {403: "authed", 429: "throttled", 503: "unaudited"}[status]
    if operation in ("prometheus", "clients") and status == 503:  # not audited; a denial is
        server = "unaudited_authed"
    return Witness(operation, status, server, method, path, {**headers, **NOBODY}, body)


WITNESSES += [
    _security_witness(operation["operationId"], method, _example(template), SECURITY[response["$ref"]])
    for template, method, operation in _operations()
    for response in operation["responses"].values()
    if response["$ref"] in SECURITY
]


def _documented_statuses() -> set[tuple[str, int]]:
    return {
        (operation["operationId"], int(status))
        for _, _, operation in _operations()
        for status in operation["responses"]
    }


def test_every_documented_status_has_a_witness() -> None:
    """The witnesses are exactly the documented (operation, status) pairs, the security layer's too."""
    assert {(w.operation, w.status) for w in WITNESSES} == _documented_statuses()


@pytest.mark.parametrize("witness", WITNESSES, ids=lambda w: f"{w.operation}-{w.status}")
def test_a_documented_status_is_answered(witness: Witness, request: pytest.FixtureRequest) -> None:
    """The witness request gets the documented status from the real server."""
    base: str = request.getfixturevalue(witness.server)
    if witness.server == "throttled":
        _trip(base)  # again, in case a slow run outlived the minute of the first failures
    body = witness.body
    if body == CIPHERTEXT:
        body = requests.post(f"{base}/encrypt", data=b"secret", headers=TEXT, timeout=10).content
    # A prepared request: requests would normalise neither %-escapes nor add a Content-Type.
    resp = requests.request(
        witness.method, base + witness.path, headers=witness.headers, data=body, timeout=10
    )
    assert resp.status_code == witness.status, resp.text[:200]
