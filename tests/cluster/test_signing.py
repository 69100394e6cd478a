"""The peer signature: a forwarded webhook is accepted once, fresh, and only under the shared secret."""

from __future__ import annotations

import pytest

from config_server.cluster.signing import MAX_AGE_SECONDS, PeerVerifier, sign
from config_server.errors import WebhookSignatureInvalid

SECRET = "cluster-s3cret"
BODY = b'{"repositories": [], "origin": "a"}'
NOW = 1_700_000_000.0


def test_a_fresh_signature_is_accepted() -> None:
    """A body signed now under the shared secret passes."""
    PeerVerifier(SECRET).verify(sign(SECRET, BODY, now=NOW), BODY, now=NOW + 1)


def test_a_replayed_signature_is_refused() -> None:
    """The same signed call sent twice is accepted only the first time."""
    verifier = PeerVerifier(SECRET)
    header = sign(SECRET, BODY, now=NOW)
    verifier.verify(header, BODY, now=NOW)
    with pytest.raises(WebhookSignatureInvalid, match="Replayed"):
        verifier.verify(header, BODY, now=NOW + 2)


@pytest.mark.parametrize("skew", [MAX_AGE_SECONDS + 1, -(MAX_AGE_SECONDS + 1)])
def test_a_stale_or_future_signature_is_refused(skew: float) -> None:
    """A timestamp more than 60 s from our clock, either way, is refused."""
    with pytest.raises(WebhookSignatureInvalid, match="Stale"):
        PeerVerifier(SECRET).verify(sign(SECRET, BODY, now=NOW), BODY, now=NOW + skew)


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (sign("another-secret", BODY, now=NOW), BODY),
        (sign(SECRET, BODY, now=NOW), BODY + b" "),
        ("t=1,n=zz,v1=00", BODY),
        ("", BODY),
    ],
    ids=["other-secret", "body-changed", "malformed", "empty"],
)
def test_a_wrong_signature_is_refused_without_the_secret(header: str, body: bytes) -> None:
    """Another secret, a changed body or a malformed header is refused; the message holds no secret."""
    with pytest.raises(WebhookSignatureInvalid) as caught:
        PeerVerifier(SECRET).verify(header, body, now=NOW)
    assert SECRET not in caught.value.message


def test_an_expired_nonce_is_forgotten() -> None:
    """Nonces are kept only while their call could still pass the age check (bounded memory)."""
    verifier = PeerVerifier(SECRET)
    verifier.verify(sign(SECRET, BODY, now=NOW), BODY, now=NOW)
    verifier.verify(sign(SECRET, BODY, now=NOW + 200), BODY, now=NOW + 200)
    assert len(verifier._seen) == 1
