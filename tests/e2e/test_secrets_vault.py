"""Vault as a property source, end to end: real server, real git, real OpenBao."""

from __future__ import annotations

from typing import Any

import pytest

from config_server.components import VAULT
from config_server.secret import Secret
from tests.e2e.conftest import AppRole, root_token, unique, write
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao


def names(body: dict[str, Any]) -> list[str]:
    return [ps["name"] for ps in body["propertySources"]]


@pytest.mark.parametrize(
    ("app", "profiles", "expected"),
    [
        ("orders", "default", ["vault:orders", "vault:application"]),
        ("orders", "dev", ["vault:orders,dev", "vault:application,dev", "vault:orders", "vault:application"]),
        (
            "orders",
            "dev,prod",
            [
                "vault:orders,prod",
                "vault:application,prod",
                "vault:orders,dev",
                "vault:application,dev",
                "vault:orders",
                "vault:application",
            ],
        ),
        ("orders,payments", "default", ["vault:payments", "vault:orders", "vault:application"]),
    ],
)
async def test_vault_keys_and_order_match_reference(
    serve: Serve,
    git_remote: GitRemote,
    bao: OpenBao,
    kv_version: int,
    app: str,
    profiles: str,
    expected: list[str],
) -> None:
    """Keys read and their order are §7's, named vault:{key}, above git, on KV v2 and v1."""
    mount = unique(f"kv{kv_version}")
    bao.mount_kv(mount, version=kv_version)
    for key in (
        "orders",
        "payments",
        "application",
        "orders,dev",
        "application,dev",
        "orders,prod",
        "application,prod",
        "other",
    ):
        write(bao, mount, key, {"from": key}, version=kv_version)
    git_remote.write({"application.yml": "from: git\n"})
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_kv_version=kv_version,
        vault_token=root_token(bao),
    )
    resp = await client.get(f"/{app}/{profiles}")
    assert resp.status == 200
    body = await resp.json()
    assert names(body) == [*expected, f"{git_remote.uri}/application.yml"]
    assert body["propertySources"][0]["source"] == {"from": expected[0].removeprefix("vault:")}


async def test_vault_order_after_puts_git_first(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """--vault-order after ranks the Vault sources below the git sources."""
    bao.write_kv2("orders", {"db.password": "from-vault"}, mount=mount)
    git_remote.write({"orders.yml": "db:\n  password: from-git\n"})
    client = await serve(
        git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao), vault_order="after"
    )
    body = await (await client.get("/orders/default")).json()
    assert names(body) == [f"{git_remote.uri}/orders.yml", "vault:orders"]
    yml = await (await client.get("/orders-default.properties")).text()
    assert "db.password: from-git" in yml


async def test_nested_secret_is_flattened_and_sorted(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """A secret's JSON is flattened like YAML and its keys sorted, as Spring does."""
    bao.write_kv2("orders", {"z": 1, "db": {"user": "u", "hosts": ["a", "b"]}}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao))
    body = await (await client.get("/orders/default")).json()
    assert body["propertySources"][0]["source"] == {
        "db.hosts[0]": "a",
        "db.hosts[1]": "b",
        "db.user": "u",
        "z": 1,
    }


async def test_server_logs_in_with_approle(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str, approle: AppRole
) -> None:
    """With --vault-role-id/--vault-secret-id the server reads Vault with its AppRole token."""
    bao.write_kv2("orders", {"api.key": "k-123"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_role_id=Secret(approle.role_id),
        vault_secret_id=Secret(approle.secret_id),
    )
    body = await (await client.get("/orders/default")).json()
    assert body["propertySources"][0] == {"name": "vault:orders", "source": {"api.key": "k-123"}}
    health = await (await client.get("/actuator/health")).json()
    assert health["components"]["vault"]["status"] == "UP"
    assert health["components"]["vault"]["details"]["authentication"] == "approle"


@pytest.fixture
def orders_token(bao: OpenBao, mount: str) -> str:
    """A token whose policy lets it read only the orders and shared application keys of ``mount``."""
    policy = unique("orders")
    bao.write_policy(
        policy,
        f"""
path "{mount}/data/orders" {{ capabilities = ["read"] }}
path "{mount}/data/orders,*" {{ capabilities = ["read"] }}
path "{mount}/data/application" {{ capabilities = ["read"] }}
path "{mount}/data/application,*" {{ capabilities = ["read"] }}
""",
    )
    return bao.create_token(policies=[policy])


async def test_config_token_reads_as_the_caller(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str, orders_token: str
) -> None:
    """X-Config-Token makes the server read Vault as the caller: its policy decides what it sees."""
    bao.write_kv2("orders", {"db.password": "orders-pw"}, mount=mount)
    bao.write_kv2("payments", {"db.password": "payments-pw"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao))
    mine = await client.get("/orders/default", headers={"X-Config-Token": orders_token})
    assert mine.status == 200
    assert (await mine.json())["propertySources"][0]["source"] == {"db.password": "orders-pw"}
    theirs = await client.get("/payments/default", headers={"X-Config-Token": orders_token})
    assert theirs.status == 403
    body = await theirs.json()
    assert body["message"] == (
        "Vault refused the X-Config-Token: it is not valid, or its policy does not allow "
        "reading payments, application"
    )
    assert "payments-pw" not in await theirs.text()
    # The server's own identity still reads payments for callers that send no token.
    assert (await client.get("/payments/default")).status == 200


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("hvs.not-a-real-token", 403),
        ("s.x" * 2000, 400),
        ("bad token", 400),
    ],
)
async def test_rejected_or_malformed_config_token(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str, token: str, status: int
) -> None:
    """A token Vault rejects is 403 and a malformed one 400, never 500, and never echoed back."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao))
    for path in ("/orders/default", "/orders-default.yml"):
        resp = await client.get(path, headers={"X-Config-Token": token})
        assert resp.status == status
        assert token not in await resp.text()


async def test_no_server_identity_requires_config_token(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str, orders_token: str
) -> None:
    """With no server login configured, a request without X-Config-Token is 400 (Spring's rule)."""
    bao.write_kv2("orders", {"a": "b"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount)
    resp = await client.get("/orders/default")
    assert resp.status == 400
    assert (await resp.json())["message"] == "Missing required header: X-Config-Token"
    ok = await client.get("/orders/default", headers={"X-Config-Token": orders_token})
    assert (await ok.json())["propertySources"][0]["source"] == {"a": "b"}


async def test_new_kv_version_changes_etag(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """Writing a new KV version changes the environment's ETag (and an unchanged Vault keeps it)."""
    bao.write_kv2("orders", {"db.password": "v1"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao))
    first = (await client.get("/orders/default")).headers["ETag"]
    again = await client.get("/orders/default", headers={"If-None-Match": first})
    assert again.status == 304
    bao.write_kv2("orders", {"db.password": "v2"}, mount=mount)
    changed = await client.get("/orders/default", headers={"If-None-Match": first})
    assert changed.status == 200
    assert changed.headers["ETag"] != first
    assert (await changed.json())["propertySources"][0]["source"] == {"db.password": "v2"}
    yml1 = (await client.get("/orders-default.yml")).headers["ETag"]
    bao.write_kv2("orders", {"db.password": "v3"}, mount=mount)
    assert (await client.get("/orders-default.yml")).headers["ETag"] != yml1


async def test_watcher_is_woken_by_a_new_kv_version(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """A long poll (If-None-Match + Prefer: wait) returns the new secrets after a Vault write."""
    import asyncio

    bao.write_kv2("orders", {"k": "old"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=root_token(bao), vault_poll=0.2
    )
    etag = (await client.get("/orders/default")).headers["ETag"]
    waiting = asyncio.ensure_future(
        client.get("/orders/default", headers={"If-None-Match": etag, "Prefer": "wait=10"})
    )
    await asyncio.sleep(0.3)
    await asyncio.to_thread(bao.write_kv2, "orders", {"k": "new"}, mount=mount)
    resp = await asyncio.wait_for(waiting, 5)
    assert resp.status == 200
    assert (await resp.json())["propertySources"][0]["source"] == {"k": "new"}


async def test_server_token_is_renewed_and_approle_logs_in_again(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """Short-lived tokens: a static token is renewed, an AppRole past its max TTL logs in again."""
    import asyncio

    from tests.http.conftest import app_of

    bao.write_kv2("orders", {"k": "v"}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    static = bao.create_token(policies=["config-server", "default"], ttl="2s")
    role_id, secret_id = bao.create_approle(
        unique("short"), policies=["config-server"], token_ttl="1s", token_max_ttl="2s"
    )
    by_token = await serve(git_remote, vault_url=bao.url, vault_kv_mount=mount, vault_token=Secret(static))
    by_role = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_role_id=Secret(role_id),
        vault_secret_id=Secret(secret_id),
        basedir=git_remote.root / "clone2",
    )
    for _ in range(14):  # 3.5 s: past both TTLs and the AppRole's max TTL
        for client in (by_token, by_role):
            resp = await client.get("/orders/default")
            assert resp.status == 200, await resp.text()
        await asyncio.sleep(0.25)
    assert app_of(by_token)[VAULT].logins == 1
    assert app_of(by_role)[VAULT].logins >= 2
    # Still alive 3.5 s into a 2 s TTL: lookup of an expired token is refused.
    assert bao.client().auth.token.lookup(static)["data"]["id"] == static


async def test_vault_namespace(serve: Serve, git_remote: GitRemote, bao: OpenBao) -> None:
    """--vault-namespace reads the KV mount inside that namespace."""
    namespace = unique("team")
    bao.create_namespace(namespace)
    bao.mount_kv("secret", version=2, namespace=namespace)
    bao.write_kv2("orders", {"where": "namespace"}, namespace=namespace)
    bao.write_kv2("orders", {"where": "root"})
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote, vault_url=bao.url, vault_namespace=namespace, vault_token=root_token(bao)
    )
    assert (await (await client.get("/orders/default")).json())["propertySources"][0]["source"] == {
        "where": "namespace"
    }


@pytest.mark.parametrize("policies", [["kv-only"], None], ids=["no-default-policy", "unknown-token"])
async def test_server_token_vault_refuses_stops_start_up_clearly(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, policies: list[str] | None
) -> None:
    """A server token Vault refuses at start-up is a configuration error that says what to fix."""
    from config_server.errors import Forbidden

    git_remote.write({"application.yml": "x: 1\n"})
    bao.write_policy("kv-only", 'path "secret/*" { capabilities = ["read"] }')
    bad = bao.create_token(policies=policies) if policies else "s.unknown-token"
    with pytest.raises(Forbidden, match="allowed auth/token/lookup-self and renew-self") as caught:
        await serve(git_remote, vault_url=bao.url, vault_token=Secret(bad))
    assert bad not in repr(caught.value) and bad not in str(caught.value)
