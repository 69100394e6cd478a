"""``/actuator/health/liveness`` and ``/actuator/health/readiness``: the probes (``config_server.probes``).

Both are public, like ``/actuator/health``'s status, and answer ``{"status": "UP"}`` (200) or
``{"status": "DOWN"}`` (503). A caller allowed ``health-details`` also sees each check as
``{"name": {"status": …, "detail": …}}``; a detail may name a repository or an error, never a
secret. Liveness never waits for anything but the loop; readiness asks Vault for its health
(bounded by the Vault client's timeout).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from config_server.components import AUDITOR, GATE, LOOP, REPOSITORIES, SETTINGS, VAULT
from config_server.http.routes import Action, Endpoint
from config_server.http.security import PRINCIPAL
from config_server.probes import ProbeCheck, readiness

__all__ = ["liveness", "readiness_probe"]


async def liveness(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /actuator/health/liveness``: DOWN while the event loop is or was just blocked over 2 s."""
    return _answer(request, [request.app[LOOP].check()])


async def readiness_probe(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /actuator/health/readiness``: UP when the process is live, every repository cloned,
    not empty and fresh, Vault (if configured) usable and the audit log (if configured) writable."""
    app = request.app
    checks = await readiness(
        groups=app[REPOSITORIES].groups,
        max_staleness=app[SETTINGS].max_staleness,
        loop=app[LOOP],
        vault=app[VAULT],
        auditor=app[AUDITOR],
    )
    return _answer(request, checks)


def _answer(request: web.Request, checks: Sequence[ProbeCheck]) -> web.Response:
    up = all(check.up for check in checks)
    body: dict[str, Any] = {"status": "UP" if up else "DOWN"}
    if request.app[GATE].may(request[PRINCIPAL], Action.HEALTH_DETAILS):
        body["checks"] = {
            c.name: {"status": "UP" if c.up else "DOWN", **({"detail": c.detail} if c.detail else {})}
            for c in checks
        }
    return web.Response(
        status=200 if up else 503, body=json.dumps(body).encode(), content_type="application/json"
    )
