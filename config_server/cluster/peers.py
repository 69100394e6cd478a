"""``--peers``: the other replicas, and the forwarding of an accepted webhook to each of them.

A peer is ``HOST:PORT`` (``[::1]:8888`` for IPv6), or ``dns:NAME:PORT``: every address ``NAME``
resolves to, re-resolved every :data:`RESOLVE_SECONDS` (in Kubernetes, a headless Service, whose
name resolves to every ready pod). When this replica accepts a webhook, :meth:`Peers.forward`
posts what to fetch to every peer at once, in the background (the webhook's answer does not
wait), signed with ``--cluster-secret`` (``signing``). A peer that does not answer within
:data:`TIMEOUT_SECONDS` is skipped, and logged once until it answers again. A replica that
receives its own call (a DNS name that includes it) ignores it: the body names its ``origin``.

A forwarded call goes one hop, except into a host's ``--workers``: a call to another replica has
the scope ``cluster``, and the worker that receives it passes it on to its own siblings (the
plain loopback peers) with the scope ``host``, which no one passes on. So every worker of every
replica fetches, and each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
import socket
import ssl
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import aiohttp

from config_server.cluster.signing import PEER_SIGNATURE_HEADER, sign

__all__ = [
    "CLUSTER_SCOPE",
    "HOST_SCOPE",
    "RESOLVE_SECONDS",
    "TIMEOUT_SECONDS",
    "PeerPush",
    "PeerSpec",
    "Peers",
    "parse_peer",
    "parse_peers",
]

log = logging.getLogger(__name__)

RESOLVE_SECONDS = 10.0
"""How often a ``dns:NAME:PORT`` peer is resolved again."""
TIMEOUT_SECONDS = 2.0
"""How long a forwarded call may take before its peer is skipped (a peer that is down)."""


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """One ``--peers`` entry: a fixed ``host`` and ``port``, or (``dns``) a name to resolve."""

    host: str
    port: int
    dns: bool = False
    plain: bool = False
    """Plain HTTP even when the server speaks TLS: the loopback port of a sibling worker
    (``--workers``), never from ``--peers``."""

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"dns:{host}:{self.port}" if self.dns else f"{host}:{self.port}"


def parse_peer(text: str) -> PeerSpec:
    """``HOST:PORT``, ``[V6]:PORT`` or ``dns:NAME:PORT`` as a ``PeerSpec``; raises ``ValueError``."""
    raw = text.strip()
    dns = raw.startswith("dns:")
    rest = raw.removeprefix("dns:")
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"a peer is HOST:PORT or dns:NAME:PORT, not {raw!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # raises ValueError
    elif ":" in host or "/" in host or "@" in host or any(c.isspace() for c in host):
        raise ValueError(f"a peer is HOST:PORT or dns:NAME:PORT, not {raw!r}")
    return PeerSpec(host, int(port_text), dns)


def parse_peers(text: str) -> tuple[PeerSpec, ...]:
    """A comma list of peers (``--peers``); raises ``ValueError`` naming the bad entry."""
    return tuple(parse_peer(part) for part in text.split(",") if part.strip())


CLUSTER_SCOPE = "cluster"
"""A call to another replica: its receiver passes it on to its sibling workers."""
HOST_SCOPE = "host"
"""A call to a sibling worker on this host: passed on to no one."""


@dataclass(frozen=True, slots=True)
class PeerPush:
    """What a forwarded call says: fetch these repositories (all when empty); sent by ``origin``;
    ``scope`` says whether its receiver tells its sibling workers (see the module)."""

    repositories: tuple[str, ...]
    origin: str
    scope: str = CLUSTER_SCOPE

    def encode(self) -> bytes:
        """The body of the forwarded call (JSON)."""
        body = {"repositories": list(self.repositories), "origin": self.origin, "scope": self.scope}
        return json.dumps(body).encode()

    @classmethod
    def decode(cls, body: bytes) -> PeerPush:
        """The push in a forwarded call's body; raises ``ValueError`` when it is not one."""
        data = json.loads(body)
        repos, origin = data.get("repositories"), data.get("origin")
        if not isinstance(repos, list) or not all(isinstance(r, str) for r in repos):
            raise ValueError("repositories must be a list of strings")
        if not isinstance(origin, str):
            raise ValueError("origin must be a string")
        scope = data.get("scope", CLUSTER_SCOPE)  # a replica from before scopes: a cluster call
        if scope not in (CLUSTER_SCOPE, HOST_SCOPE):
            raise ValueError("scope must be cluster or host")
        return cls(tuple(repos), origin, scope)


@dataclass(frozen=True, slots=True)
class _Target:
    host: str  # where to connect (an address once resolved)
    port: int
    server_name: str  # the name the peer's certificate is checked against
    plain: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Peers:
    """The other replicas: resolved in the background, each told of every accepted webhook.

    ``start`` and ``close`` run on the event loop that calls ``forward``. ``origin`` (random per
    process) names this replica in the calls it sends, so it can ignore its own.
    """

    def __init__(
        self,
        specs: Sequence[PeerSpec],
        *,
        secret: str,
        ssl_context: ssl.SSLContext | None,
        timeout: float = TIMEOUT_SECONDS,
        resolve_every: float = RESOLVE_SECONDS,
    ) -> None:
        self.specs = tuple(specs)
        self.origin = secrets.token_hex(8)
        self._secret = secret
        self._ssl = ssl_context
        self._timeout = timeout
        self._resolve_every = resolve_every
        self._resolved: dict[PeerSpec, tuple[_Target, ...]] = {
            spec: (_Target(spec.host, spec.port, spec.host, spec.plain),)
            for spec in self.specs
            if not spec.dns
        }
        self._down: set[_Target] = set()
        self._unresolved: set[PeerSpec] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resolver: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def targets(self) -> tuple[_Target, ...]:
        """Every peer address known now (a name resolved to three pods is three)."""
        return tuple(dict.fromkeys(t for spec in self.specs for t in self._resolved.get(spec, ())))

    async def start(self) -> None:
        """Open the client session and resolve the DNS peers once (a failure is logged, not raised)."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        if any(spec.dns for spec in self.specs):
            await self._resolve_all()
            self._resolver = asyncio.create_task(self._resolve_forever(), name="peers-resolve")

    async def close(self) -> None:
        """Stop resolving, wait briefly for calls in flight, close the session."""
        if self._resolver is not None:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self._timeout)
        for task in self._tasks:
            task.cancel()
        if self._session is not None:
            await self._session.close()

    def forward(self, repositories: Collection[str], *, siblings_only: bool = False) -> asyncio.Task[None]:
        """Tell every peer (only the sibling workers with ``siblings_only``) to fetch
        ``repositories`` (all when empty), in the background.

        Returns the task (callers need not await it: ``close`` does); never raises.
        """
        names = tuple(repositories)
        bodies = {
            plain: PeerPush(names, self.origin, HOST_SCOPE if plain else CLUSTER_SCOPE).encode()
            for plain in (False, True)
        }
        targets = [t for t in self.targets if t.plain or not siblings_only]
        task = asyncio.create_task(self._forward(targets, bodies), name="peers-forward")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _forward(self, targets: Sequence[_Target], bodies: dict[bool, bytes]) -> None:
        await asyncio.gather(*(self._send(target, bodies[target.plain]) for target in targets))

    async def _send(self, target: _Target, body: bytes) -> None:
        assert self._session is not None, "Peers.start() was not awaited"
        tls = self._ssl is not None and not target.plain
        scheme = "https" if tls else "http"
        headers = {PEER_SIGNATURE_HEADER: sign(self._secret, body), "Content-Type": "application/json"}
        try:
            async with self._session.post(
                f"{scheme}://{target.url}/monitor",
                data=body,
                headers=headers,
                ssl=self._ssl if tls and self._ssl is not None else False,
                server_hostname=target.server_name if tls else None,
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            if target not in self._down:
                self._down.add(target)
                log.warning("peer %s skipped: %s", target.url, type(exc).__name__)
            return
        if status >= 300:
            if target not in self._down:
                self._down.add(target)
                log.warning("peer %s refused the forwarded webhook: HTTP %d", target.url, status)
            return
        if target in self._down:
            self._down.discard(target)
            log.info("peer %s answers again", target.url)

    async def _resolve_forever(self) -> None:
        while True:
            await asyncio.sleep(self._resolve_every)
            await self._resolve_all()

    async def _resolve_all(self) -> None:
        loop = asyncio.get_running_loop()
        for spec in self.specs:
            if not spec.dns:
                continue
            try:
                infos = await loop.getaddrinfo(spec.host, spec.port, type=socket.SOCK_STREAM)
            except OSError as exc:  # keep the last answer: a resolver hiccup is not a peer gone
                if spec not in self._unresolved:
                    self._unresolved.add(spec)
                    log.warning("peer %s does not resolve: %s", spec, exc.strerror or type(exc).__name__)
                continue
            self._unresolved.discard(spec)
            addresses = dict.fromkeys(str(info[4][0]) for info in infos)
            self._resolved[spec] = tuple(_Target(a, spec.port, spec.host) for a in addresses)
