"""Authentication fixtures: a local JWT issuer and JWKS server, and one OpenBao issuing real tokens.

The shared OpenBao (``identity_bao``) has key ``config-server`` and role ``orders`` whose tokens
carry ``aud: config-server``, ``service: orders`` and ``roles: [reader]``; ``workload_token`` is
the AppRole token that may ask for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.jwt_issuer import JwksServer, LocalIssuer
from tests.support.openbao import OpenBao

ROLE = "orders"
TEMPLATE = {"service": "orders", "roles": ["reader"]}


class FakeClock:
    """A monotonic clock that moves only when told (``advance``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def identity_bao() -> Iterator[OpenBao]:
    """The session's OpenBao dev server, issuing identity tokens from role ``orders``."""
    with OpenBao() as bao:
        yield bao


@pytest.fixture(scope="session")
def workload_token(identity_bao: OpenBao) -> str:
    """An AppRole token that may read ``identity/oidc/token/orders``."""
    return identity_bao.setup_identity_tokens(ROLE, template=TEMPLATE)


@pytest.fixture(scope="session")
def issuer() -> LocalIssuer:
    """The local issuer's keys (made once: RSA key generation takes a moment)."""
    return LocalIssuer()


@pytest.fixture
async def jwks_server(issuer: LocalIssuer) -> AsyncIterator[JwksServer]:
    """A running JWKS server publishing every key of ``issuer``."""
    server = await JwksServer(issuer.jwks()).start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves itself."""
    return FakeClock()
