"""The peer signature of a forwarded webhook: who may tell this replica to fetch now.

A replica that accepted a webhook forwards what it learnt (which repositories to fetch) to every
peer, signed in the header :data:`PEER_SIGNATURE_HEADER` as ``t=<unix seconds>,n=<nonce>,v1=<hex>``
where ``v1`` is HMAC-SHA256 under ``--cluster-secret`` of ``"<t>.<n>." + body``. A peer accepts it
once: a call older (or newer) than :data:`MAX_AGE_SECONDS`, or whose nonce it has seen, is refused
(``WebhookSignatureInvalid``, 401). Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict

from config_server.errors import WebhookSignatureInvalid

__all__ = ["MAX_AGE_SECONDS", "PEER_SIGNATURE_HEADER", "PeerVerifier", "sign"]

PEER_SIGNATURE_HEADER = "X-Config-Peer-Signature"
"""The header that marks a ``POST /monitor`` as forwarded by a peer (passed on only to the
receiver's own ``--workers`` siblings: ``cluster.peers``)."""
MAX_AGE_SECONDS = 60.0
"""How far a signature's timestamp may be from this replica's clock (either way)."""
MAX_NONCES = 100_000
"""Nonces remembered at most; beyond it the oldest go (they are past their age by then in practice)."""

_HEADER = re.compile(r"^t=(?P<t>\d{1,12}),n=(?P<n>[0-9a-f]{32}),v1=(?P<v>[0-9a-f]{64})$")


def _mac(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}.{nonce}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, now: float | None = None, nonce: str | None = None) -> str:
    """The :data:`PEER_SIGNATURE_HEADER` value for ``body`` (a fresh nonce unless given)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16) if nonce is None else nonce
    return f"t={timestamp},n={nonce},v1={_mac(secret, timestamp, nonce, body)}"


class PeerVerifier:
    """Checks peer signatures and remembers the nonces it accepted (for :data:`MAX_AGE_SECONDS`).

    Thread-safe. ``verify`` raises ``WebhookSignatureInvalid`` whose message never holds the
    secret or the expected MAC.
    """

    def __init__(self, secret: str, *, max_age: float = MAX_AGE_SECONDS) -> None:
        self._secret = secret
        self._max_age = max_age
        self._seen: OrderedDict[str, float] = OrderedDict()  # nonce -> when it expires (monotonic order)
        self._lock = threading.Lock()

    def verify(self, header: str | None, body: bytes, *, now: float | None = None) -> None:
        """Accept ``body`` signed by ``header`` once, or raise ``WebhookSignatureInvalid``."""
        match = _HEADER.match((header or "").strip())
        if match is None:
            raise WebhookSignatureInvalid("Invalid peer signature")
        clock = time.time() if now is None else now
        timestamp, nonce = match.group("t"), match.group("n")
        if abs(clock - int(timestamp)) > self._max_age:
            raise WebhookSignatureInvalid("Stale peer signature (check the replicas' clocks)")
        if not hmac.compare_digest(_mac(self._secret, timestamp, nonce, body), match.group("v")):
            raise WebhookSignatureInvalid("Invalid peer signature")
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < clock or len(self._seen) >= MAX_NONCES):
                self._seen.popitem(last=False)
            if nonce in self._seen:
                raise WebhookSignatureInvalid("Replayed peer signature")
            # Kept until its timestamp can no longer pass the age check.
            self._seen[nonce] = int(timestamp) + self._max_age
