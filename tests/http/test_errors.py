"""Specification of the one error mapping: exception -> status, body and headers, through the middleware."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.test_utils import TestClient

from config_server.errors import (
    ConfigServerError,
    CryptoError,
    DecryptionFailed,
    Forbidden,
    InvalidConfiguration,
    InvalidRequest,
    KeyFormatError,
    LabelNotFound,
    MethodNotAllowed,
    NoKey,
    NoPublicKey,
    NotFound,
    PayloadTooLarge,
    ResourceNotFound,
    ServerSideDecryptionUnsupported,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    WeakEncryption,
    WebhookSignatureInvalid,
)
from config_server.http.errors import (
    ENCRYPTION_BODIES,
    STATUSES,
    RawRequestFilter,
    error_middleware,
    status_of,
)
from tests.test_errors import TREE

Client = TestClient[Any, Any]
Raiser = Callable[[BaseException], Awaitable[Client]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def raising(aiohttp_client: Any) -> Raiser:
    """A tiny app behind the error middleware whose one route, /x/y, raises the given exception."""

    async def start(exc: BaseException) -> Client:
        async def handler(request: web.Request) -> web.Response:
            raise exc

        app = web.Application(middlewares=[error_middleware])
        app.router.add_get("/x/y", handler)
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return start


def test_every_class_of_the_tree_has_its_own_status() -> None:
    """Each class in config_server.errors has a row in STATUSES (none falls back by accident)."""
    assert sorted(cls.__name__ for cls in TREE) == sorted(cls.__name__ for cls in STATUSES)


def test_every_crypto_error_has_its_own_encryption_body() -> None:
    """Each CryptoError class has a row in ENCRYPTION_BODIES."""
    crypto = [cls for cls in TREE if issubclass(cls, CryptoError)]
    assert sorted(cls.__name__ for cls in crypto) == sorted(cls.__name__ for cls in ENCRYPTION_BODIES)


def test_a_subclass_defined_elsewhere_takes_its_bases_status() -> None:
    """An error class outside the tree module maps like its nearest mapped base."""

    class VaultPathMissing(NotFound):
        pass

    assert status_of(VaultPathMissing("no such path")) == 404


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (InvalidRequest("Invalid name: .."), 400, "Bad Request"),
        (MethodNotAllowed("PUT", ["GET", "HEAD"]), 405, "Method Not Allowed"),
        (PayloadTooLarge(65536), 413, "Request Entity Too Large"),
        (TooManyRequests("Too many failed logins", retry_after=2.5), 429, "Too Many Requests"),
        (Unauthenticated("Credentials required"), 401, "Unauthorized"),
        (WebhookSignatureInvalid("Webhook rejected: wrong X-Gitlab-Token"), 401, "Unauthorized"),
        (Forbidden("Vault refused the token"), 403, "Forbidden"),
        (NotFound("Not here"), 404, "Not Found"),
        (LabelNotFound("v9"), 404, "Not Found"),
        (ResourceNotFound("No such resource: a.txt"), 404, "Not Found"),
        (InvalidConfiguration("a.yml", "bad indent", line=3), 500, "Internal Server Error"),
        (Unavailable("Cannot reach git"), 503, "Service Unavailable"),
        (ConfigServerError("Vault rejected the request: nope"), 500, "Internal Server Error"),
        (CryptoError("crypto"), 400, "Bad Request"),
        (NoKey("No key was installed for encryption service"), 404, "Not Found"),
        (NoPublicKey(), 404, "Not Found"),
        (DecryptionFailed("Text not encrypted with this key"), 400, "Bad Request"),
        (ServerSideDecryptionUnsupported(), 400, "Bad Request"),
        (KeyFormatError("Key data not in correct format (PEM or jks keystore)"), 400, "Bad Request"),
        (WeakEncryption(), 400, "Bad Request"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
async def test_mapping(raising: Raiser, exc: ConfigServerError, status: int, error: str) -> None:
    """Each error of the tree is answered with its status in Spring Boot's body, message kept."""
    client = await raising(exc)
    resp = await client.get("/x/y")
    body = await resp.json()
    assert resp.status == status and resp.content_type == "application/json"
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert (body["status"], body["error"], body["message"], body["path"]) == (
        status,
        error,
        exc.message,
        "/x/y",
    )


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            NoKey("No key named 'x' in the key ring"),
            404,
            ("NO_KEY", "No key was installed for encryption service"),
        ),
        (NoPublicKey(), 404, ("NOT_FOUND", "No public key available")),
        (
            DecryptionFailed("No key named 'x' in the key ring"),
            400,
            ("INVALID", "Text not encrypted with this key"),
        ),
        (CryptoError("anything else"), 400, ("INVALID", "Text not encrypted with this key")),
        (ServerSideDecryptionUnsupported(), 400, ("BAD_REQUEST", "Server-side decryption is not supported")),
        (
            KeyFormatError("Vault transit key 'sig' cannot encrypt"),
            400,
            ("BAD_REQUEST", "Vault transit key 'sig' cannot encrypt"),
        ),
        (WeakEncryption(), 404, ("INVALID", "The encryption algorithm is not strong enough")),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
async def test_encryption_endpoint_mapping(
    aiohttp_client: Any, exc: CryptoError, status: int, body: tuple[str, str]
) -> None:
    """A CryptoError from an encryption endpoint gets Spring's {"status", "description"} body (§1.4)."""
    client = await _encryption_app(aiohttp_client, exc)
    resp = await client.post("/encrypt", data=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status == status and resp.content_type == "application/json"
    assert await resp.json() == {"status": body[0], "description": body[1]}


async def test_a_crypto_error_elsewhere_gets_the_generic_body(aiohttp_client: Any) -> None:
    """Only encryption endpoints answer in the encryption controller's shape; others in Spring Boot's."""
    client = await _encryption_app(aiohttp_client, NoKey("No key named 'x'"))
    resp = await client.get("/orders/dev")
    assert resp.status == 404
    assert (await resp.json())["message"] == "No key named 'x'"


async def _encryption_app(aiohttp_client: Any, exc: CryptoError) -> Client:
    """Every request parsed by the route table, then answered by raising ``exc``."""
    from config_server.http.app import endpoint_middleware

    async def handler(request: web.Request) -> web.Response:
        raise exc

    app = web.Application(middlewares=[error_middleware, endpoint_middleware])
    app.router.add_route("*", "/{tail:.*}", handler)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def test_unauthenticated_sends_its_challenge(raising: Raiser) -> None:
    """A 401 for the caller carries WWW-Authenticate, so clients know to send credentials."""
    resp = await (await raising(Unauthenticated("Token required", challenge="Bearer"))).get("/x/y")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("exc", "header", "value"),
    [
        (MethodNotAllowed("PUT", ["HEAD", "GET", "POST"]), "Allow", "GET,HEAD,POST"),
        (TooManyRequests("Slow down", retry_after=2.5), "Retry-After", "3"),
        (TooManyRequests("Slow down", retry_after=0), "Retry-After", "1"),
    ],
    ids=["allow", "retry-after", "retry-after-at-least-1"],
)
async def test_an_error_carries_its_response_headers(
    raising: Raiser, exc: ConfigServerError, header: str, value: str
) -> None:
    """405 names the allowed methods; 429 says when to retry, in whole seconds."""
    resp = await (await raising(exc)).get("/x/y")
    assert resp.headers[header] == value


async def test_a_bad_webhook_signature_sends_no_challenge(raising: Raiser) -> None:
    """A 401 for a webhook is not a login prompt: no WWW-Authenticate."""
    resp = await (await raising(WebhookSignatureInvalid("Webhook rejected: wrong X-Gitlab-Token"))).get(
        "/x/y"
    )
    assert resp.status == 401 and "WWW-Authenticate" not in resp.headers


@pytest.mark.parametrize(
    ("exc", "status", "header"),
    [
        (Unauthenticated("Credentials required"), 401, 'Basic realm="config-server"'),
        (Forbidden("The policy does not allow orders/prod"), 403, None),
    ],
    ids=["unauthenticated", "forbidden"],
)
async def test_errors_raised_by_an_inner_middleware_are_mapped(
    aiohttp_client: Any, exc: ConfigServerError, status: int, header: str | None
) -> None:
    """A security middleware after the error middleware can raise Unauthenticated or Forbidden."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        raise exc

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="secret configuration")

    app = web.Application(middlewares=[error_middleware, guard])
    app.router.add_get("/orders/prod", handler)
    client = await aiohttp_client(app)
    resp = await client.get("/orders/prod", headers={"Authorization": "Basic dXNlcjpodW50ZXIy"})
    text = await resp.text()
    assert resp.status == status and (await resp.json())["message"] == exc.message
    assert resp.headers.get("WWW-Authenticate") == header
    assert "secret configuration" not in text and "dXNlcjpodW50ZXIy" not in text


async def test_request_headers_are_not_echoed(raising: Raiser) -> None:
    """Neither the body nor the response headers repeat what the caller sent."""
    client = await raising(Unauthenticated("Credentials required"))
    resp = await client.get(
        "/x/y", headers={"Authorization": "Bearer tok-123456", "X-Config-Token": "s.vault"}
    )
    text = await resp.text() + repr(dict(resp.headers))
    assert "tok-123456" not in text and "s.vault" not in text


async def test_unknown_exception_is_a_generic_500_logged_with_its_traceback(
    raising: Raiser, caplog: pytest.LogCaptureFixture
) -> None:
    """Not in the tree: 500 "Internal error" with an error id, no detail in the body, the trace logged."""
    client = await raising(KeyError("password=hunter2"))
    with caplog.at_level(logging.ERROR, logger="config_server.errortracking"):
        resp = await client.get("/x/y")
    text = await resp.text()
    error_id = resp.headers["X-Error-Id"]
    assert resp.status == 500 and (await resp.json())["message"] == f"Internal error (error id {error_id})"
    assert "hunter2" not in text and "Traceback" not in text and "KeyError" not in text
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


async def test_server_errors_of_the_tree_are_logged(
    raising: Raiser, caplog: pytest.LogCaptureFixture
) -> None:
    """A 5xx of the tree is logged as a warning with its message; a 4xx is not."""
    with caplog.at_level(logging.WARNING, logger="config_server.http.errors"):
        await (await raising(Unavailable("Cannot reach git"))).get("/x/y")
        await (await raising(NotFound("Not here"))).get("/x/y")
    messages = [r.getMessage() for r in caplog.records if r.name == "config_server.http.errors"]
    assert messages == ["GET /x/y -> 503: Cannot reach git"]


async def test_http_exception_keeps_its_status_reason_and_allow_header(raising: Raiser) -> None:
    """aiohttp's own errors (405) get the same body shape and keep the Allow header."""
    resp = await (await raising(web.HTTPMethodNotAllowed("GET", ["POST"]))).get("/x/y")
    body = await resp.json()
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    assert (body["status"], body["error"], body["message"]) == (
        405,
        "Method Not Allowed",
        "Method Not Allowed",
    )


async def test_http_exception_drops_other_headers(raising: Raiser) -> None:
    """Only Allow and WWW-Authenticate survive from an HTTPException's headers."""
    exc = web.HTTPBadRequest(reason="Body is not UTF-8 text", headers={"X-Debug": "internal"})
    resp = await (await raising(exc)).get("/x/y")
    assert resp.status == 400 and "X-Debug" not in resp.headers
    assert (await resp.json())["message"] == "Body is not UTF-8 text"


async def test_redirects_pass_through(raising: Raiser) -> None:
    """An HTTPException below 400 is not an error: it is answered as raised."""
    resp = await (await raising(web.HTTPFound("/elsewhere"))).get("/x/y", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/elsewhere"


def test_raw_request_filter_drops_the_bytes_of_an_unparseable_request() -> None:
    """An aiohttp parser error is logged by kind only: the offending bytes and traceback go."""
    try:
        raise BadHttpMessage("Invalid header value char")
    except BadHttpMessage as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "X-Config-Token: s.sec\x01", (), exc_info
    )
    assert RawRequestFilter().filter(record)
    assert record.getMessage() == "unparseable HTTP request: BadHttpMessage (HTTP 400)"
    assert record.exc_info is None and "s.sec" not in record.getMessage()
