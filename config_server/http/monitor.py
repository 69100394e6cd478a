"""``POST /monitor``: push webhooks from GitHub, GitLab, Gitea, Gitee, Gogs, Bitbucket, or a form.

Verifies the forge's signature when ``--monitor-secret`` is set, fetches at once the repository
the payload names (its clone URL; every repository when it names none the server has), which
wakes the long-poll watchers whose configuration changed, and answers the affected service
names as Spring's ``PropertyPathEndpoint`` does, e.g. ``["orders-dev", "orders"]``.

Every accepted call fetches, whatever the payload names: the answer body is informational (a
broadcast such as Bitbucket's or a file-less Gitea push answers ``["*"]``), while waking follows
content: a fetch wakes exactly the watchers whose ETag changed, so "everyone" means everyone whose
configuration the push changed.

With ``--peers``, an accepted webhook is forwarded at once (in the background) to every other
replica, which fetches too (``cluster.peers``). A forwarded call carries the peer signature header
(``cluster.signing``) instead of the forge's: it is checked against ``--cluster-secret``, fetches
the repositories it names, and is forwarded again only to this host's ``--workers`` siblings,
when it came from another replica (its scope, ``cluster.peers``).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from config_server.cluster.peers import CLUSTER_SCOPE, PeerPush
from config_server.cluster.signing import PEER_SIGNATURE_HEADER
from config_server.components import PEER_VERIFIER, PEERS, REPOSITORIES, SETTINGS
from config_server.errors import InvalidRequest, WebhookSignatureInvalid
from config_server.http.bodies import body_limit, read_body
from config_server.http.routes import Endpoint, EndpointKind
from config_server.live.webhooks import parse_push, service_names, verify_signature

__all__ = ["monitor"]

log = logging.getLogger(__name__)
MAX_BODY = body_limit(EndpointKind.MONITOR)  # the endpoint's row of ``bodies.BODY_LIMITS``


async def monitor(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /monitor``: verify, parse, fetch now; answer the affected service names."""
    body = await read_body(request)
    peer_signature = request.headers.get(PEER_SIGNATURE_HEADER)
    if peer_signature is not None:
        return await _from_peer(request, body, peer_signature)
    secret = request.app[SETTINGS].monitor_secret
    verify_signature(request.headers, body, secret.reveal() if secret is not None else None)
    event = parse_push(request.headers, body, request.content_type)
    names = service_names(event.paths)
    peers = request.app[PEERS]
    if peers is not None:  # before our own fetch: every replica fetches at the same time
        peers.forward(event.repositories)
    fetched = await request.app[REPOSITORIES].refresh(event.repositories or None)
    log.info("webhook from %s: %d path(s), fetched %s", event.forge, len(event.paths), ", ".join(fetched))
    return web.Response(body=json.dumps(names).encode(), content_type="application/json")


async def _from_peer(request: web.Request, body: bytes, signature: str) -> web.Response:
    """A webhook another replica accepted and forwarded: verify, fetch, tell only our siblings."""
    verifier = request.app[PEER_VERIFIER]
    if verifier is None:
        raise WebhookSignatureInvalid("This server takes no forwarded webhooks (no --cluster-secret)")
    verifier.verify(signature, body)
    try:
        push = PeerPush.decode(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("Malformed forwarded webhook") from None
    peers = request.app[PEERS]
    if peers is not None and push.origin == peers.origin:  # our own call, through a DNS name
        return web.Response(body=b"[]", content_type="application/json")
    if peers is not None and push.scope == CLUSTER_SCOPE:  # our --workers siblings fetch too
        peers.forward(push.repositories, siblings_only=True)
    fetched = await request.app[REPOSITORIES].refresh(push.repositories or None)
    log.info("webhook forwarded by a peer: fetched %s", ", ".join(fetched))
    return web.Response(body=json.dumps(["*"]).encode(), content_type="application/json")
