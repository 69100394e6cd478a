"""The aiohttp application: state on the app (typed ``AppKey``), resources in ``cleanup_ctx``.

``create_app(settings)`` wires the git source, the optional Vault source and key ring, the
environment service and live updates, and the routes. Handlers are thin: they parse, call the
service, serialise; the error middleware owns every error status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from config_client.wire import PropertySource

from config_server import wiring
from config_server.errors import InvalidConfiguration
from config_server.http import encryption, environment, monitor
from config_server.http.errors import error_middleware, quiet_raw_requests
from config_server.http.health import health
from config_server.http.routes import ENDPOINT, Endpoint, EndpointKind, parse_endpoint
from config_server.live.updates import LiveUpdates
from config_server.service import EnvironmentService, overrides_source
from config_server.settings import Settings
from config_server.sources.git.files import GitConfigSource
from config_server.sources.git.source import GitSource

__all__ = ["STATE", "State", "create_app"]

log = logging.getLogger(__name__)


@dataclass
class State:
    """Everything the handlers need, owned by the application."""

    settings: Settings
    git: GitSource
    service: EnvironmentService
    live: LiveUpdates | None = None
    vault: Any = None  # config_server.vault.client.VaultClientManager when --vault-url is set
    keyring: Any = None  # config_server.crypto.KeyRing when a key is configured
    extras: dict[str, Any] = field(default_factory=dict)


STATE = web.AppKey("state", State)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EndpointHandler = Callable[[web.Request, Endpoint], Awaitable[web.StreamResponse]]

RUNNER_OPTIONS: dict[str, Any] = {
    # A client that disconnects cancels its handler, so an abandoned long poll frees its watcher at
    # once instead of holding it (and being recomputed for) the rest of its wait.
    "handler_cancellation": True,
}
"""Options for aiohttp's runner (``web.run_app`` / ``AppRunner``) that the app relies on."""


def load_overrides(settings: Settings) -> PropertySource | None:
    """The ``overrides`` source from ``--overrides-file`` (YAML, .properties or JSON)."""
    path = settings.overrides_file
    if path is None:
        return None
    from config_server.formats import parse_document_file
    from config_server.formats.flatten import scalar_text

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidConfiguration(str(path), f"cannot read overrides file: {exc.strerror}") from None
    try:
        documents = parse_document_file(str(path), data)
    except ValueError as exc:  # an extension no parser knows
        raise InvalidConfiguration(str(path), str(exc)) from None
    values: dict[str, Any] = {}
    for doc in documents:
        # Spring binds overrides to a Map<String, String>: every value is served as text.
        values.update({k: scalar_text(v.value) for k, v in doc.properties.items()})
    return overrides_source(values)


def create_app(settings: Settings) -> web.Application:
    """Build the server application for ``settings`` (resources start with the app)."""
    quiet_raw_requests()
    app = web.Application(middlewares=[error_middleware, endpoint_middleware], client_max_size=1024 * 1024)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        git = GitSource(
            uri=settings.repo,
            basedir=settings.clone_dir,
            default_label=settings.default_label,
            refresh_rate=settings.refresh_rate,
        )
        await git.start()
        try:
            overrides = load_overrides(settings)
            secrets = await wiring.start_secrets(settings)
        except BaseException:
            await git.close()
            raise
        files = GitConfigSource(git=git, search_paths=settings.search_paths, cache_size=settings.cache_size)
        service = EnvironmentService(
            sources=wiring.ordered_sources(files, secrets.source, vault_order=settings.vault_order),
            overrides=overrides,
            decrypt=secrets.decrypt,
            cache_size=settings.cache_size,
        )
        live = LiveUpdates(service)
        state = State(
            settings=settings,
            git=git,
            service=service,
            live=live,
            vault=secrets.vault,
            keyring=secrets.keyring,
        )
        await live.start()
        app[STATE] = state
        try:
            yield
        finally:
            await live.close()
            await wiring.stop_secrets(secrets)
            await git.close()

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    return app


@web.middleware
async def endpoint_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Parse the request's endpoint once (``request[ENDPOINT]``) for every later layer."""
    request[ENDPOINT] = parse_endpoint(request.method, request.rel_url.raw_path, request.query)
    return await handler(request)


async def _health(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    return await health(request, request.app[STATE])


HANDLERS: Mapping[EndpointKind, EndpointHandler] = {
    EndpointKind.ENVIRONMENT: environment.environment,
    EndpointKind.RENDERING: environment.rendering,
    EndpointKind.RESOURCE: environment.resource,
    EndpointKind.ENCRYPT: encryption.encrypt,
    EndpointKind.DECRYPT: encryption.decrypt,
    EndpointKind.ENCRYPT_STATUS: encryption.status,
    EndpointKind.KEY: encryption.key,
    EndpointKind.MONITOR: monitor.monitor,
    EndpointKind.HEALTH: _health,
}
"""The handler of each endpoint kind: the route table (``routes``) decides which kind a request is."""


async def _route(request: web.Request) -> web.StreamResponse:
    endpoint = request[ENDPOINT]
    return await HANDLERS[endpoint.kind](request, endpoint)


def add_routes(app: web.Application) -> None:
    """One aiohttp route takes every method and path: ``routes.parse_endpoint`` is the table."""
    app.router.add_route("*", "/{tail:[\\s\\S]*}", _route)  # newlines too: routes/names judge them
