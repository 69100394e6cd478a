"""``{vault}:path#key`` values in git files, end to end: real server, real git, real OpenBao."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from config_server.components import SERVICE
from config_server.secret import Secret
from config_server.sources.git.repos import parse_composite
from tests.e2e.conftest import AppRole, unique, write
from tests.http.conftest import Serve, app_of
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao

FILE = "db:\n  password: '{vault}:accounts/db#password'\n  user: app\nbroken: '{vault}:accounts/db'\n"


def git_source(body: dict[str, Any]) -> dict[str, Any]:
    (source,) = [ps["source"] for ps in body["propertySources"] if ps["name"].endswith("orders.yml")]
    return dict(source)


async def test_reference_in_a_git_file_is_served_resolved_with_the_servers_login(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, approle: AppRole
) -> None:
    """The git value is replaced by the Vault key, read with the server's AppRole login; a malformed
    reference is invalid.<key>. Spring's VaultEnvironmentEncryptor (its docs' application.yml example)."""
    mount = unique("kv2")
    await asyncio.to_thread(bao.mount_kv, mount, version=2)
    await asyncio.to_thread(write, bao, mount, "accounts/db", {"password": "s3cr3t-one"})
    git_remote.write({"orders.yml": FILE})
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_role_id=Secret(approle.role_id),
        vault_secret_id=Secret(approle.secret_id),
        vault_reference_paths=("accounts/*",),
    )
    resp = await client.get("/orders/default")
    assert resp.status == 200
    assert git_source(await resp.json()) == {
        "db.user": "app",
        "db.password": "s3cr3t-one",
        "invalid.broken": "<n/a>",
    }


async def test_a_new_secret_version_is_served_without_a_commit(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, kv_version: int
) -> None:
    """References are resolved per request after the per-commit cache: a new secret shows at once,
    the ETag changes, and the cached git part keeps the reference (KV v2 and v1)."""
    mount = unique(f"kv{kv_version}")
    await asyncio.to_thread(bao.mount_kv, mount, version=kv_version)
    await asyncio.to_thread(write, bao, mount, "accounts/db", {"password": "one"}, version=kv_version)
    git_remote.write({"orders.yml": FILE})
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_kv_version=kv_version,
        vault_token=Secret(bao.root_token),
        vault_order="after",
        vault_reference_paths=("accounts/*",),
    )
    first = await client.get("/orders/default")
    assert git_source(await first.json())["db.password"] == "one"
    await asyncio.to_thread(write, bao, mount, "accounts/db", {"password": "two"}, version=kv_version)
    second = await client.get("/orders/default")
    assert git_source(await second.json())["db.password"] == "two"
    assert second.headers["ETag"] != first.headers["ETag"]
    # The per-commit cache holds the git part with the reference, never the secret.
    parts = app_of(client)[SERVICE]._parts  # the per-commit cache itself, to show what it holds
    cached = [v.value for part in parts.values() for ps in part.sources for v in ps.source.values()]
    assert "{vault}:accounts/db#password" in cached and "one" not in cached and "two" not in cached


async def test_git_only_server_with_references_never_caches_the_resolved_environment(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """With git as the only source (composite without vault) every source is pinned, yet a new
    secret version still shows: an environment with references is not kept in the whole-response cache."""
    await asyncio.to_thread(write, bao, mount, "accounts/db", {"password": "one"})
    git_remote.write({"orders.yml": FILE})
    client = await serve(
        git_remote,
        composite=parse_composite([{"type": "git", "uri": git_remote.uri}]),
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_token=Secret(bao.root_token),
        vault_reference_paths=("accounts/**",),
    )
    assert [s.name for s in app_of(client)[SERVICE].sources] == ["git"]
    assert git_source(await (await client.get("/orders/default")).json())["db.password"] == "one"
    await asyncio.to_thread(write, bao, mount, "accounts/db", {"password": "two"})
    assert git_source(await (await client.get("/orders/default")).json())["db.password"] == "two"


async def test_a_pusher_cannot_read_another_applications_secret_through_a_reference(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str
) -> None:
    """orders.yml naming {vault}:payments#password gets invalid.<key>, though the server's login can
    read it; payments' own file resolves it, and orders' own and the shared key resolve for orders."""
    await asyncio.to_thread(write, bao, mount, "payments", {"password": "pay-secret"})
    await asyncio.to_thread(write, bao, mount, "orders,prod", {"password": "orders-secret"})
    await asyncio.to_thread(write, bao, mount, "application", {"shared": "shared-value"})
    git_remote.write(
        {
            "orders.yml": "stolen: '{vault}:payments#password'\nmine: '{vault}:orders,prod#password'\n"
            "shared: '{vault}:application#shared'\nescape: '{vault}:orders/../payments#password'\n",
            "payments.yml": "db: '{vault}:payments#password'\n",
        }
    )
    client = await serve(
        git_remote,
        composite=parse_composite([{"type": "git", "uri": git_remote.uri}]),
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_token=Secret(bao.root_token),
    )
    body = await (await client.get("/orders/prod")).json()
    assert git_source(body) == {
        "mine": "orders-secret",
        "shared": "shared-value",
        "invalid.stolen": "<n/a>",
        "invalid.escape": "<n/a>",
    }
    assert "pay-secret" not in json.dumps(body)
    (payments,) = [
        ps["source"] for ps in (await (await client.get("/payments/default")).json())["propertySources"]
    ]
    assert payments == {"db": "pay-secret"}
