"""``GET /actuator/clients``: the fleet view (``live.fleet``), as JSON.

The instances holding a long poll or seen polling in the last 5 minutes, grouped by application,
profiles and label; per group the number of instances on each commit, so an instance still on an
old configuration stands out. Needs the ``admin`` action once authentication is on::

    {"windowSeconds": 300, "tracked": 3, "dropped": 0,
     "environments": [{"application": "orders", "profiles": "prod", "label": null,
                       "versions": {"3f2c…": 2, "9ab1…": 1},
                       "instances": [{"id": "orders-7d9f:1", "principal": "user:orders",
                                      "address": "10.0.3.7", "userAgent": "config-client/0.1 (python)",
                                      "etag": "\\"…\\"", "version": "3f2c…", "polling": true,
                                      "since": "2026-12-03T14:02:11Z", "lastSeen": "2026-12-03T14:05:40Z"}]}]}

Times are UTC, RFC 3339, to the second. ``id`` is null for an instance that sent no valid
``X-Config-Client-Id``.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections import Counter
from typing import Any

from aiohttp import web

from config_server.components import FLEET
from config_server.http.routes import Endpoint
from config_server.live.fleet import Instance

__all__ = ["clients"]


def _time(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _instance(i: Instance) -> dict[str, Any]:
    return {
        "id": i.client_id,
        "principal": i.principal,
        "address": i.address,
        "userAgent": i.user_agent,
        "etag": i.etag,
        "version": i.version,
        "polling": i.polling,
        "since": _time(i.since),
        "lastSeen": _time(i.last_seen),
    }


def view(instances: list[Instance], *, window: float, dropped: int) -> dict[str, Any]:
    """The answer's JSON for ``instances`` (sorted by environment, as ``Fleet.instances`` gives them)."""
    environments = []
    for (application, profiles, label), group in itertools.groupby(
        instances, key=lambda i: (i.application, i.profiles, i.label)
    ):
        members = list(group)
        versions = Counter(i.version or "" for i in members)
        environments.append(
            {
                "application": application,
                "profiles": profiles,
                "label": label,
                "versions": dict(versions.most_common()),
                "instances": [_instance(i) for i in members],
            }
        )
    return {
        "windowSeconds": int(window),
        "tracked": len(instances),
        "dropped": dropped,
        "environments": environments,
    }


async def clients(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /actuator/clients``: who holds which configuration now."""
    fleet = request.app[FLEET]
    body = view(fleet.instances(), window=fleet.window, dropped=fleet.dropped)
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")
