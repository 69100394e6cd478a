"""An example aiohttp service configured by the config server, with live reload.

Run a config server (``make run`` in the repository root), then::

    .venv/bin/python examples/orders_service.py --config-url http://127.0.0.1:8888 --port 8080
    curl http://127.0.0.1:8080/health        # {"status": "UP", "config": {"version": "<sha>", ...}}

Push a change to the configuration repository and watch the log line that names the changed keys.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from config_client import AsyncConfigClient, ChangeEvent

log = logging.getLogger("orders")


@dataclass(frozen=True)
class OrdersSettings:
    """What this service needs from its configuration (bound with Spring's relaxed names)."""

    greeting: str = "hello"
    max_items: int = 100


CONFIG = web.AppKey("config", AsyncConfigClient)


def config_ctx(
    url: str, profiles: list[str], cache_dir: str | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Open the config client with the app and close it (stopping the long poll) on shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        client = AsyncConfigClient(url, application="orders", profiles=profiles, cache_dir=cache_dir)

        def announce(event: ChangeEvent) -> None:
            # Key names only: values may be secrets.
            log.info(
                "configuration %s -> %s: changed %s, added %s, removed %s",
                event.previous_version,
                event.version,
                sorted(event.changed),
                sorted(event.added),
                sorted(event.removed),
            )

        client.on_change(announce)
        async with client:
            log.info("configuration version %s loaded (%s)", client.version, client.snapshot.origin)
            app[CONFIG] = client
            yield

    return ctx


async def health(request: web.Request) -> web.Response:
    """Liveness plus which configuration this instance runs with."""
    config = request.app[CONFIG]
    return web.json_response(
        {"status": "UP", "config": {"version": config.version, "origin": config.snapshot.origin}}
    )


async def orders(request: web.Request) -> web.Response:
    """A toy endpoint reading the current, typed settings on every request."""
    settings = request.app[CONFIG].bind(OrdersSettings, prefix="orders")
    return web.json_response({"greeting": settings.greeting, "max_items": settings.max_items})


def make_app(url: str, profiles: list[str], cache_dir: str | None = None) -> web.Application:
    """The service: /health and /orders, configured from ``url``."""
    app = web.Application()
    app.cleanup_ctx.append(config_ctx(url, profiles, cache_dir))
    app.router.add_get("/health", health)
    app.router.add_get("/orders", orders)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-url", default="http://127.0.0.1:8888")
    parser.add_argument("--profiles", default="default", help="comma-separated")
    parser.add_argument("--cache-dir", default=None, help="last-known-good cache (holds secrets)")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    web.run_app(
        make_app(args.config_url, args.profiles.split(","), args.cache_dir), host="127.0.0.1", port=args.port
    )


if __name__ == "__main__":
    main()
