"""Vault unreachable or sealed, end to end, on a private OpenBao (stopping the shared one would
break every other test).

What keeps working while Vault is down, with Vault configured: health, ``/monitor``, the
encryption endpoints with local keys (symmetric or RSA), plain-text resources fetched as
``application/octet-stream`` or with ``?resolvePlaceholders=false``. Everything that needs an
environment (``/{app}/{profiles}``, the renderings, resources with placeholders) reads Vault
and answers 503, unless a last-known answer younger than ``--vault-stale-ttl`` exists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao

# The stale window of test_last_known_secrets_are_served_stale_for_a_bounded_time: the seal and
# four stale reads must all fit in it (0.35 s on a loaded 2-core machine: 1 s was too close for a
# CI machine 2-3x slower).
STALE_TTL = 2.5

KEY = "e2e-outage-key"
STALE_WARNING = '110 - "Response is Stale: Vault unavailable, last known secrets served"'


def seed(bao: OpenBao) -> None:
    bao.write_kv2("orders", {"db.password": "pw-from-vault"})
    bao.enable_transit("cfg")


@pytest.fixture(scope="module")
def private_bao() -> Iterator[OpenBao]:
    """An OpenBao of this module's own with an orders secret and transit key ``cfg``."""
    with OpenBao() as bao:
        seed(bao)
        yield bao


@pytest.fixture
def outage(private_bao: OpenBao) -> Iterator[OpenBao]:
    """The private server, to be sealed or stopped by the test; restored afterwards."""
    yield private_bao
    if not private_bao.running:
        private_bao.start(port=private_bao.port)
        seed(private_bao)  # a restarted dev server has lost its data
    elif private_bao.client().sys.read_seal_status()["sealed"]:
        private_bao.unseal()


@pytest.fixture
def repo(git_remote: GitRemote) -> GitRemote:
    git_remote.write(
        {
            "application.yml": "greeting: hello\n",
            "nginx.conf": "listen ${server.port:80};\n",
        }
    )
    return git_remote


def settings(bao: OpenBao, **extra: object) -> dict[str, object]:
    return {
        "vault_url": bao.url,
        "vault_token": Secret(bao.root_token),
        "encrypt_key": Secret(KEY),
        "vault_stale_ttl": 0.0,
        **extra,
    }


async def test_sealed_vault_is_503_and_health_degraded(
    serve: Serve, repo: GitRemote, outage: OpenBao
) -> None:
    """Sealed Vault: environment requests are 503 with a clear message; health is DEGRADED, vault DOWN."""
    client = await serve(repo, **settings(outage))
    assert (await client.get("/orders/default")).status == 200
    outage.seal()
    for path in ("/orders/default", "/orders-default.yml", "/orders/default/main/nginx.conf"):
        resp = await client.get(path)
        assert resp.status == 503, path
        assert (await resp.json())["message"] == "Vault is unavailable: sealed or down (HTTP 503)"
    health = await client.get("/actuator/health")
    assert health.status == 200
    body = await health.json()
    assert body["status"] == "DEGRADED"
    assert body["components"]["git"]["status"] == "UP"
    assert body["components"]["vault"]["status"] == "DOWN"
    assert body["components"]["vault"]["details"]["sealed"] is True
    outage.unseal()
    assert (await client.get("/orders/default")).status == 200
    assert (await (await client.get("/actuator/health")).json())["status"] == "UP"


async def test_vault_stopped_keeps_git_only_endpoints_working(
    serve: Serve, repo: GitRemote, outage: OpenBao
) -> None:
    """Vault stopped: health, /monitor, local-key encryption and raw resources still answer."""
    client = await serve(repo, **settings(outage))
    outage.stop()
    resp = await client.get("/orders/default")
    assert resp.status == 503
    assert (await resp.json())["message"] == "Vault is unavailable: cannot connect"
    health = await (await client.get("/actuator/health")).json()
    assert (health["status"], health["components"]["vault"]["status"]) == ("DEGRADED", "DOWN")
    assert health["components"]["vault"]["details"]["error"] == "Vault is unavailable: cannot connect"
    headers = {"Content-Type": "text/plain"}
    cipher = await client.post("/encrypt", data="s3", headers=headers)
    assert cipher.status == 200
    plain = await client.post("/decrypt", data=await cipher.text(), headers=headers)
    assert await plain.text() == "s3"
    assert (await client.get("/encrypt/status")).status == 200
    raw = await client.get("/orders/default/main/nginx.conf", headers={"Accept": "application/octet-stream"})
    assert await raw.read() == b"listen ${server.port:80};\n"
    unresolved = await client.get("/orders/default/main/nginx.conf?resolvePlaceholders=false")
    assert await unresolved.text() == "listen ${server.port:80};\n"
    hook = await client.post("/monitor", data={"path": "orders.yml"})
    assert hook.status == 200
    transit = await client.post("/encrypt", data="{key:transit:cfg}x", headers=headers)
    assert transit.status == 503
    assert (await transit.json())["message"] == "Vault is unavailable: cannot connect"


async def test_server_starts_while_vault_is_down(serve: Serve, repo: GitRemote, outage: OpenBao) -> None:
    """A server started while Vault is down serves git-only endpoints and logs in once Vault is back."""
    outage.stop()
    client = await serve(repo, **settings(outage))
    assert (await client.get("/actuator/health")).status == 200
    assert (await client.get("/orders/default")).status == 503
    await asyncio.to_thread(outage.start, port=outage.port)
    await asyncio.to_thread(seed, outage)
    for _ in range(100):  # the login is retried with back-off (0.5 s, 1 s, ...)
        resp = await client.get("/orders/default")
        if resp.status == 200:
            break
        await asyncio.sleep(0.1)
    assert resp.status == 200
    assert (await resp.json())["propertySources"][0]["source"] == {"db.password": "pw-from-vault"}


async def test_last_known_secrets_are_served_stale_for_a_bounded_time(
    serve: Serve, repo: GitRemote, outage: OpenBao
) -> None:
    """Within --vault-stale-ttl of a good read, an outage serves the last secrets with a Warning header."""
    client = await serve(repo, **settings(outage, vault_stale_ttl=STALE_TTL))
    fresh = await client.get("/orders/default")
    good_read_done = time.monotonic()
    for path in ("/orders-default.yml", "/orders-default.properties", "/orders/default/main/nginx.conf"):
        assert "Warning" not in (await client.get(path)).headers
    assert "Warning" not in fresh.headers
    outage.seal()
    stale = await client.get("/orders/default")
    assert stale.status == 200
    assert stale.headers["Warning"] == STALE_WARNING
    assert (await stale.json())["propertySources"][0]["source"] == {"db.password": "pw-from-vault"}
    for path in ("/orders-default.yml", "/orders-default.properties", "/orders/default/main/nginx.conf"):
        rendered = await client.get(path)
        assert (rendered.status, rendered.headers.get("Warning")) == (200, STALE_WARNING), path
    await asyncio.sleep(good_read_done + STALE_TTL + 0.1 - time.monotonic())
    assert (await client.get("/orders/default")).status == 503


async def test_transit_value_in_git_fails_the_request_while_vault_is_down(
    serve: Serve, repo: GitRemote, outage: OpenBao
) -> None:
    """A {cipher} transit value is never turned into <n/a> by an outage: the request is 503."""
    client = await serve(repo, **settings(outage, vault_stale_ttl=30.0))
    assert (await client.get("/orders/default")).status == 200  # KV secrets now cached (stale-able)
    value = await (
        await client.post("/encrypt", data="{key:transit:cfg}pw", headers={"Content-Type": "text/plain"})
    ).text()
    repo.write({"orders.yml": f"db:\n  transit: '{{cipher}}{value}'\n"})
    assert (await client.post("/monitor", data={"path": "orders.yml"})).status == 200
    outage.seal()
    resp = await client.get("/orders/default")
    assert resp.status == 503
    assert (await resp.json())["message"] == "Vault is unavailable: sealed or down (HTTP 503)"
    outage.unseal()
    body = await (await client.get("/orders/default")).json()
    assert body["propertySources"][1]["source"] == {"db.transit": "pw"}
