"""``/actuator/health``: Spring Boot style status with one component per source (and encryption).

Each source gives typed ``SourceHealth`` entries (git one per repository: ``git``, ``git:payments``,
a pattern repository's being non-essential); this module owns the JSON: components by name, detail
names camelCased (``last_error`` → ``lastError``), times as ISO-8601 UTC. Overall status:
``DOWN`` (HTTP 503) when an essential source is down (git with no data to serve); ``UP``
otherwise, even while the git remote is unreachable (the last fetched state is served;
``git.details`` shows the error and the data's age). A non-essential source down (``vault:
DOWN``) makes the overall status ``DEGRADED`` with HTTP 200: git-only requests still work, so
load balancers should keep the instance, while monitoring sees the problem. With
``--serve-last-good``, ``lastGood`` is ``DEGRADED`` (and so the overall status) while an
application is served from an older commit than its label's head; its details name the
applications, the files and the problems. Each environment named in ``health-repositories``
(``config_server.healthchecks``) is built on every call and has an essential entry
``environment:<key>``: one that cannot be built makes the server DOWN, as in Spring. Nothing here
ever contains a token or secret.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from config_server.components import AUDITOR, GATE, HEALTH_ENVIRONMENTS, KEYRING, LAST_GOOD, SERVICE
from config_server.http.routes import Action, Endpoint
from config_server.http.security import PRINCIPAL
from config_server.sources.base import Detail, SourceHealth, source_healths

__all__ = ["health", "render"]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _value(value: Detail) -> Any:
    return _iso(value) if isinstance(value, datetime) else value


def render(entry: SourceHealth) -> dict[str, Any]:
    """One component: ``{"status": …, "details": {…}}`` in Spring Boot's shape."""
    return {
        "status": entry.status,
        "details": {_camel(name): _value(value) for name, value in entry.details.items()},
    }


def overall_status(entries: list[SourceHealth]) -> str:
    """``DOWN`` if an essential source is down, else ``DEGRADED`` if any source is, else ``UP``."""
    if any(e.essential and e.status != "UP" for e in entries):
        return "DOWN"
    return "DEGRADED" if any(e.status != "UP" for e in entries) else "UP"


async def health(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /actuator/health``: every source's entry, the key ring, and the overall status.

    Only a caller allowed ``health-details`` sees the components; anyone sees the status (a
    load balancer's probe needs no credentials).
    """
    service, keyring, auditor = request.app[SERVICE], request.app[KEYRING], request.app[AUDITOR]
    found = await asyncio.gather(*(source_healths(source) for source in service.sources))
    entries = [entry for group in found for entry in group]
    # Environments the operator named (health-repositories): each one that cannot be built is DOWN.
    entries.extend(await request.app[HEALTH_ENVIRONMENTS].run())
    last_good = request.app.get(LAST_GOOD)
    if last_good is not None:
        # DEGRADED (not essential) while an application is served from an older commit.
        entries.append(last_good.degraded_health())
    if auditor is not None:
        # An audit log that cannot be written refuses every audited request: the server is DOWN.
        entries.append(auditor.health())
    components: dict[str, Any] = {e.name: render(e) for e in sorted(entries, key=lambda e: e.name)}
    overall = overall_status(entries)
    if keyring is not None:
        ring_status = keyring.status()
        components["encryption"] = {
            "status": "UP",
            "details": {"keys": len(ring_status.aliases), "transit": ring_status.transit},
        }
    details = request.app[GATE].may(request[PRINCIPAL], Action.HEALTH_DETAILS)
    body: dict[str, Any] = {"status": overall, "components": components} if details else {"status": overall}
    return web.Response(
        status=503 if overall == "DOWN" else 200,
        body=json.dumps(body).encode(),
        content_type="application/json",
    )
