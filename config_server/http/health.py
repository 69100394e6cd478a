"""``/actuator/health``: Spring Boot style status with git (and Vault) details.

Overall status: ``DOWN`` (HTTP 503) when the server has no git data to serve; ``UP`` otherwise,
even while the remote is unreachable (the last fetched state is served; ``git.details`` shows the
error and the data's age). A Vault outage shows ``vault: DOWN`` and makes the overall status
``DEGRADED`` with HTTP 200: git-only requests still work, so load balancers should keep the
instance, while monitoring sees the problem. Nothing here ever contains a token or secret.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from config_server.http.app import State

__all__ = ["health"]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def health(request: web.Request, state: State) -> web.Response:
    status = state.git.status
    age = status.age_seconds()
    git_up = state.git.has_data
    components: dict[str, Any] = {
        "git": {
            "status": "UP" if git_up else "DOWN",
            "details": {
                "repository": state.git.display_uri,
                "lastSuccessfulFetch": _iso(status.last_success),
                "ageSeconds": None if age is None else round(age, 1),
                "lastAttempt": _iso(status.last_attempt),
                "lastError": status.last_error,
            },
        }
    }
    overall = "UP" if git_up else "DOWN"
    if state.vault is not None:
        vault = await state.vault.health()
        components["vault"] = vault
        if vault.get("status") != "UP" and overall == "UP":
            overall = "DEGRADED"
    if state.keyring is not None:
        ring_status = state.keyring.status()
        components["encryption"] = {
            "status": "UP",
            "details": {"keys": len(ring_status.aliases), "transit": ring_status.transit},
        }
    body = {"status": overall, "components": components}
    return web.Response(
        status=503 if overall == "DOWN" else 200,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
