"""``POST /monitor``: push webhooks from GitHub, GitLab, Gitea, Gitee, Gogs, Bitbucket, or a form.

Verifies the forge's signature when ``--monitor-secret`` is set, fetches at once the repository
the payload names (its clone URL; every repository when it names none the server has), which
wakes the long-poll watchers whose configuration changed, and answers the affected service
names as Spring's ``PropertyPathEndpoint`` does, e.g. ``["orders-dev", "orders"]``.

Every accepted call fetches, whatever the payload names: the answer body is informational (a
broadcast such as Bitbucket's or a file-less Gitea push answers ``["*"]``), while waking follows
content: a fetch wakes exactly the watchers whose ETag changed, so "everyone" means everyone whose
configuration the push changed.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from config_server.components import REPOSITORIES, SETTINGS
from config_server.http.bodies import body_limit, read_body
from config_server.http.routes import Endpoint, EndpointKind
from config_server.live.webhooks import parse_push, service_names, verify_signature

__all__ = ["monitor"]

log = logging.getLogger(__name__)
MAX_BODY = body_limit(EndpointKind.MONITOR)  # the endpoint's row of ``bodies.BODY_LIMITS``


async def monitor(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /monitor``: verify, parse, fetch now; answer the affected service names."""
    body = await read_body(request)
    secret = request.app[SETTINGS].monitor_secret
    verify_signature(request.headers, body, secret.reveal() if secret is not None else None)
    event = parse_push(request.headers, body, request.content_type)
    names = service_names(event.paths)
    fetched = await request.app[REPOSITORIES].refresh(event.repositories or None)
    log.info("webhook from %s: %d path(s), fetched %s", event.forge, len(event.paths), ", ".join(fetched))
    return web.Response(body=json.dumps(names).encode(), content_type="application/json")
