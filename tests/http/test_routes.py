"""Specification of the route table: a method and raw path become one typed Endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config_server.errors import InvalidRequest, MethodNotAllowed, NotFound
from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.http.routes import ENDPOINT, Action, Endpoint, EndpointKind, parse_endpoint
from config_server.settings import Settings
from tests.http.conftest import raw_get
from tests.support.gitrepo import GitRemote

E = EndpointKind


@pytest.mark.parametrize(
    ("method", "path", "kind", "route", "apps", "profiles", "label"),
    [
        ("GET", "/orders/dev", E.ENVIRONMENT, "/{application}/{profiles}", ("orders",), ("dev",), None),
        (
            "HEAD",
            "/orders/dev,prod/main",
            E.ENVIRONMENT,
            "/{application}/{profiles}/{label}",
            ("orders",),
            ("dev", "prod"),
            "main",
        ),
        (
            "GET",
            "/orders,shared/dev/",
            E.ENVIRONMENT,
            "/{application}/{profiles}",
            ("orders", "shared"),
            ("dev",),
            None,
        ),
        (
            "GET",
            "/orders/dev/feature(_)x",
            E.ENVIRONMENT,
            "/{application}/{profiles}/{label}",
            ("orders",),
            ("dev",),
            "feature/x",
        ),
        ("GET", "/orders%2Fx/dev", E.ENVIRONMENT, "/{application}/{profiles}", ("orders/x",), ("dev",), None),
        (
            "GET",
            "/orders-dev.yml",
            E.RENDERING,
            "/{application}-{profiles}.{format}",
            ("orders",),
            ("dev",),
            None,
        ),
        (
            "GET",
            "/my-app-dev,prod.properties",
            E.RENDERING,
            "/{application}-{profiles}.{format}",
            ("my-app",),
            ("dev", "prod"),
            None,
        ),
        (
            "GET",
            "/main/orders-dev.json",
            E.RENDERING,
            "/{label}/{application}-{profiles}.{format}",
            ("orders",),
            ("dev",),
            "main",
        ),
        (
            "GET",
            "/orders/default/main/nginx.conf",
            E.RESOURCE,
            "/{application}/{profiles}/{label}/{path}",
            ("orders",),
            ("default",),
            "main",
        ),
        (
            "GET",
            "/orders/default/nginx.conf?useDefaultLabel",
            E.RESOURCE,
            "/{application}/{profiles}/{path}",
            ("orders",),
            ("default",),
            None,
        ),
        ("POST", "/encrypt", E.ENCRYPT, "/encrypt", (), (), None),
        (
            "POST",
            "/encrypt/orders/dev",
            E.ENCRYPT,
            "/encrypt/{application}/{profiles}",
            ("orders",),
            ("dev",),
            None,
        ),
        ("POST", "/decrypt", E.DECRYPT, "/decrypt", (), (), None),
        (
            "POST",
            "/decrypt/orders/dev",
            E.DECRYPT,
            "/decrypt/{application}/{profiles}",
            ("orders",),
            ("dev",),
            None,
        ),
        ("GET", "/encrypt/status", E.ENCRYPT_STATUS, "/encrypt/status", (), (), None),
        ("GET", "/key", E.KEY, "/key", (), (), None),
        ("GET", "/key/orders/dev", E.KEY, "/key/{application}/{profiles}", ("orders",), ("dev",), None),
        ("POST", "/monitor", E.MONITOR, "/monitor", (), (), None),
        ("GET", "/actuator/health", E.HEALTH, "/actuator/health", (), (), None),
        ("HEAD", "/health", E.HEALTH, "/health", (), (), None),
    ],
)
def test_route_table(
    method: str,
    path: str,
    kind: EndpointKind,
    route: str,
    apps: tuple[str, ...],
    profiles: tuple[str, ...],
    label: str | None,
) -> None:
    """Each endpoint parses to its kind, route template, applications, profiles and label."""
    raw, _, query = path.partition("?")
    endpoint = parse_endpoint(method, raw, {query: ""} if query else {})
    assert (endpoint.kind, endpoint.route) == (kind, route)
    assert (endpoint.applications, endpoint.profiles, endpoint.label) == (apps, profiles, label)


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (E.ENVIRONMENT, Action.READ),
        (E.RENDERING, Action.READ),
        (E.RESOURCE, Action.READ),
        (E.ENCRYPT, Action.ENCRYPT),
        (E.ENCRYPT_STATUS, Action.ENCRYPT),
        (E.KEY, Action.KEY),
        (E.DECRYPT, Action.DECRYPT),
        (E.MONITOR, Action.MONITOR),
        (E.HEALTH, Action.HEALTH_DETAILS),
    ],
)
def test_every_kind_names_the_action_it_needs(kind: EndpointKind, action: Action) -> None:
    """An authorisation layer reads the action from the endpoint, never from the path."""
    assert Endpoint(kind, "/x").action == action


def test_resource_and_rendering_carry_their_path_and_format() -> None:
    """A resource's validated path and a rendering's extension are on the endpoint."""
    assert parse_endpoint("GET", "/orders/default/main/conf(_)nginx.conf", {}).path == "conf/nginx.conf"
    assert parse_endpoint("GET", "/orders-dev.yaml", {}).format == "yaml"


@pytest.mark.parametrize(
    "path",
    [
        "/actuator",
        "/actuator/info",
        "/actuator/env",
        "/actuator/refresh",
        "/actuator/health/startup",
        "/actuator/health/",
        "/v3/api-docs",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
def test_reserved_paths_are_not_applications(path: str, method: str) -> None:
    """/actuator/... and /v3/... are kept for the server's own endpoints: 404 for every method,
    never an Environment, and no 405 advertising a GET that is not there."""
    with pytest.raises(NotFound):
        parse_endpoint(method, path, {})


def test_a_reserved_route_that_exists_names_only_its_own_methods() -> None:
    """POST /actuator/health is 405 with Allow: GET,HEAD (the health route's methods)."""
    with pytest.raises(MethodNotAllowed) as caught:
        parse_endpoint("POST", "/actuator/health", {})
    assert caught.value.headers["Allow"] == "GET,HEAD"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/orders/dev", "GET,HEAD"),
        ("DELETE", "/encrypt/status", "GET,HEAD"),
        ("PUT", "/encrypt", "GET,HEAD,POST"),
        ("GET", "/monitor/x", None),
    ],
)
def test_a_method_no_route_takes_is_405_with_allow(method: str, path: str, allow: str | None) -> None:
    """Wrong methods are 405 naming the allowed ones; any GET is left to the Spring grammar."""
    if allow is None:
        assert parse_endpoint(method, path, {}).kind == E.ENVIRONMENT
        return
    with pytest.raises(MethodNotAllowed) as caught:
        parse_endpoint(method, path, {})
    assert caught.value.headers["Allow"] == allow


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/" + "a" * 3000, InvalidRequest),
        ("/orders/../dev", InvalidRequest),
        ("/orders/-dev", InvalidRequest),
        ("/key/-x/dev", InvalidRequest),
        ("/orders/dev/main/WEB-INF/x", InvalidRequest),
        ("/orders", NotFound),
        ("/-dev.yml", NotFound),
        ("/orders/dev.yml", NotFound),
        ("//", NotFound),
    ],
)
def test_bad_paths_fail_before_any_handler(path: str, error: type[Exception]) -> None:
    """Hostile names are 400 and unknown shapes 404, decided by the route table alone."""
    with pytest.raises(error):
        parse_endpoint("GET", path, {})


async def test_a_later_middleware_reads_the_parsed_endpoint(
    git_remote: GitRemote, aiohttp_client: Any, tmp_path: Path
) -> None:
    """The endpoint is on the request for every middleware after the first: parsed once."""
    git_remote.write({"orders.yml": "a: 1\n"})
    seen: list[Endpoint] = []

    @web.middleware
    async def spy(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request[ENDPOINT])
        return await handler(request)  # type: ignore[no-any-return]

    app = create_app(Settings(repo=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600))
    app.middlewares.append(spy)  # after the parsing middleware
    client = await aiohttp_client(app, server_kwargs=RUNNER_OPTIONS)
    resp = await raw_get(client, "/orders/dev/main")
    assert resp.status == 200
    assert [(e.kind, e.route, e.applications, e.label) for e in seen] == [
        (E.ENVIRONMENT, "/{application}/{profiles}/{label}", ("orders",), "main")
    ]


async def test_a_scrape_of_an_unknown_actuator_path_is_a_json_404(
    git_remote: GitRemote, aiohttp_client: Any, tmp_path: Path
) -> None:
    """/actuator/info (an actuator endpoint this server has not) is a 404 body a scraper reports,
    not an Environment."""
    git_remote.write({"application.yml": "a: 1\n"})
    app = create_app(Settings(repo=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600))
    client = await aiohttp_client(app, server_kwargs=RUNNER_OPTIONS)
    for path in ("/actuator/info", "/actuator/metrics", "/v3/api-docs"):
        resp = await raw_get(client, path)
        assert (resp.status, (await resp.json())["status"]) == (404, 404), path
