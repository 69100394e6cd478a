"""VaultClientManager against a real OpenBao: token and AppRole login, renewal, re-login, health."""

from __future__ import annotations

import asyncio
import logging
import time

import hvac.exceptions
import pytest

from config_server.errors import Forbidden, InvalidRequest, Unavailable
from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings, VaultSource
from tests.support.openbao import OpenBao, free_port
from tests.vault.conftest import unique


def reader_policy(openbao: OpenBao, mount: str) -> str:
    name = unique("reader")
    openbao.write_policy(name, f'path "{mount}/data/*" {{ capabilities = ["read"] }}')
    return name


async def eventually_reads(vault: VaultSource, app: str, *, within: float) -> list[str]:
    """Retry a read until it succeeds or ``within`` seconds pass (then re-raise)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return [ps.name for ps in await vault.property_sources([app], [])]
        except (Forbidden, Unavailable):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_approle_login_reads_secrets(openbao: OpenBao, mount: str) -> None:
    """The server logs in with AppRole and reads with the role's policy."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    role_id, secret_id = openbao.create_approle(unique("cfg"), policies=[reader_policy(openbao, mount)])
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        assert manager.logins == 1
        assert [ps.name for ps in await VaultSource(manager, settings).property_sources(["myapp"], [])] == [
            "vault:myapp"
        ]
    finally:
        await manager.close()


async def test_wrong_approle_credentials_fail_start(openbao: OpenBao, mount: str) -> None:
    """Credentials Vault refuses are a configuration error at start-up: Forbidden."""
    role_id, _ = openbao.create_approle(unique("cfg"), policies=["default"])
    settings = VaultSettings(url=openbao.url, role_id=role_id, secret_id=Secret("00000000-wrong"))
    manager = VaultClientManager(settings)
    with pytest.raises(Forbidden, match="Vault refused the AppRole credentials"):
        await manager.start()
    await manager.close()


async def test_short_lived_token_is_renewed(openbao: OpenBao, mount: str) -> None:
    """A 3 s server token is renewed in the background, so reads still work after 5 s."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    policy = reader_policy(openbao, mount)
    token = openbao.create_token(policies=[policy, "default"], ttl="3s")
    unmanaged = openbao.create_token(policies=[policy, "default"], ttl="3s")
    settings = VaultSettings(url=openbao.url, kv_mount=mount, token=Secret(token))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        await asyncio.sleep(5)
        assert [ps.name for ps in await vault.property_sources(["myapp"], [])] == ["vault:myapp"]
        # The same kind of token without renewal has expired by now.
        with pytest.raises(Forbidden):
            await vault.property_sources(["myapp"], [], token=unmanaged)
        remaining = manager.token_ttl_remaining()
        assert remaining is not None and 0 < remaining <= 3
    finally:
        await manager.close()


async def test_failed_renewal_logs_in_again_with_approle(openbao: OpenBao, mount: str) -> None:
    """When Vault refuses a renewal (token revoked), the manager logs in again with AppRole."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    role_id, secret_id = openbao.create_approle(
        unique("cfg"), policies=[reader_policy(openbao, mount)], token_ttl="3s"
    )
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        first_token = manager.server_client().token
        openbao.client().auth.token.revoke(first_token)
        with pytest.raises(Unavailable, match="no longer accepts the server's token"):
            await vault.property_sources(["myapp"], [])
        assert await eventually_reads(vault, "myapp", within=5) == ["vault:myapp"]
        assert manager.logins == 2
        assert manager.server_client().token != first_token
    finally:
        await manager.close()


async def test_revoked_long_lived_token_is_unavailable_and_replaced_at_once(
    openbao: OpenBao, mount: str
) -> None:
    """A server token revoked long before renewal is due: the read that meets it is 503, health
    says Vault is DOWN, and the AppRole login is made again at once, not at two thirds of the TTL."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    role_id, secret_id = openbao.create_approle(
        unique("cfg"), policies=[reader_policy(openbao, mount)], token_ttl="768h", token_max_ttl="768h"
    )
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        await asyncio.to_thread(openbao.client().auth.token.revoke, manager.server_client().token)
        with pytest.raises(Unavailable):
            await vault.property_sources(["myapp"], [])
        assert await eventually_reads(vault, "myapp", within=5) == ["vault:myapp"]
        assert manager.logins == 2
        assert (await manager.health()).status == "UP"
    finally:
        await manager.close()


async def test_server_token_denied_by_policy_is_forbidden(openbao: OpenBao, mount: str) -> None:
    """A valid server token whose policy does not cover a key stays logged in: 403 naming the policy."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    token = openbao.create_token(policies=["default"])
    settings = VaultSettings(url=openbao.url, kv_mount=mount, token=Secret(token))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        for _ in range(2):  # the second verdict comes from the recheck window, without asking Vault
            with pytest.raises(Forbidden, match="check its policy"):
                await vault.property_sources(["myapp"], [])
        assert manager.logins == 1 and (await manager.health()).status == "UP"
    finally:
        await manager.close()


async def test_renewal_capped_by_max_ttl_logs_in_again(openbao: OpenBao, mount: str) -> None:
    """When renewals stop buying time (the role's max TTL), the manager logs in afresh in time."""
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    role_id, secret_id = openbao.create_approle(
        unique("cfg"), policies=[reader_policy(openbao, mount)], token_ttl="2s", token_max_ttl="3s"
    )
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        # Renewals get capped (then refused) as the 3 s max TTL nears; the manager must log in
        # again while its token is still valid, so not a single read fails.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert [ps.name for ps in await vault.property_sources(["myapp"], [])] == ["vault:myapp"]
            await asyncio.sleep(0.05)
        assert manager.logins >= 2
    finally:
        await manager.close()


async def test_close_revokes_the_approle_token(openbao: OpenBao, mount: str) -> None:
    """Closing the manager revokes the token it got from AppRole, so it cannot be reused."""
    role_id, secret_id = openbao.create_approle(unique("cfg"), policies=[reader_policy(openbao, mount)])
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    token = manager.server_client().token
    await manager.close()
    with pytest.raises(hvac.exceptions.Forbidden):
        openbao.client(token).auth.token.lookup_self()


async def test_close_leaves_a_static_token_alone(openbao: OpenBao, mount: str) -> None:
    """A configured static token belongs to the operator: closing does not revoke it."""
    token = openbao.create_token(policies=[reader_policy(openbao, mount), "default"], ttl="5m")
    manager = VaultClientManager(VaultSettings(url=openbao.url, token=Secret(token)))
    await manager.start()
    await manager.close()
    assert openbao.client(token).auth.token.lookup_self()["data"]["ttl"] > 0


async def test_static_token_without_lookup_rights_fails_start(openbao: OpenBao, mount: str) -> None:
    """A server token that may not look itself up is refused at start-up (grant 'default')."""
    token = openbao.create_token(policies=[reader_policy(openbao, mount)], ttl="5m")
    manager = VaultClientManager(VaultSettings(url=openbao.url, token=Secret(token)))
    with pytest.raises(Forbidden):
        await manager.start()
    await manager.close()


async def test_server_client_without_identity_is_forbidden(openbao: OpenBao) -> None:
    """With no token or AppRole configured there is no server identity to use."""
    manager = VaultClientManager(VaultSettings(url=openbao.url))
    await manager.start()
    try:
        with pytest.raises(Forbidden, match="No Vault server identity"):
            manager.server_client()
    finally:
        await manager.close()


async def test_client_for_token_is_cached_per_token(root_manager: VaultClientManager) -> None:
    """The same caller token gets the same client; another token a different one."""
    first = root_manager.client_for_token("hvs.aaaa")
    assert root_manager.client_for_token("hvs.aaaa") is first
    assert root_manager.client_for_token("hvs.bbbb") is not first
    with pytest.raises(InvalidRequest):
        root_manager.client_for_token("bad token")


async def test_run_before_start_is_a_programming_error(root_settings: VaultSettings) -> None:
    """Using the manager before start() fails loudly rather than blocking the loop."""
    with pytest.raises(RuntimeError, match="start"):
        await VaultClientManager(root_settings).run(lambda: None)


async def test_health_is_up_with_details_and_no_token(root_manager: VaultClientManager) -> None:
    """Health reports UP with Vault's state and the auth method, never the token."""
    health = await root_manager.health()
    assert health.status == "UP"
    details = health.details
    assert details["sealed"] is False and details["initialized"] is True
    assert details["authentication"] == "token" and details["logged_in"] is True
    assert "root" not in repr(health).replace(root_manager.settings.url, "")


async def test_health_is_down_when_vault_is_unreachable() -> None:
    """Health reports DOWN with a reason when nothing listens at the URL; start() does not fail."""
    settings = VaultSettings(url=f"http://127.0.0.1:{free_port()}", token=Secret("s.whatever"), timeout=1)
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        health = await manager.health()
        assert health.status == "DOWN"
        assert health.details["error"] == "Vault is unavailable: cannot connect"
        with pytest.raises(Unavailable, match="not logged in"):
            manager.server_client()
    finally:
        await manager.close()


async def test_nothing_logged_or_raised_contains_secrets_or_tokens(
    openbao: OpenBao, mount: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Logins, reads, refusals and repr()s never show a token, a secret id or a secret value."""
    caplog.set_level(logging.DEBUG)
    value = "s3cr3t-value-do-not-leak"
    openbao.write_kv2("myapp", {"password": value}, mount=mount)
    role_id, secret_id = openbao.create_approle(unique("cfg"), policies=[reader_policy(openbao, mount)])
    settings = VaultSettings(url=openbao.url, kv_mount=mount, role_id=role_id, secret_id=Secret(secret_id))
    manager = VaultClientManager(settings)
    await manager.start()
    seen: list[str] = [repr(settings), repr(manager)]
    try:
        vault = VaultSource(manager, settings)
        token = manager.server_client().token
        (source,) = await vault.property_sources(["myapp"], [])
        assert source.values() == {"password": value}
        for bad in ("hvs.garbage-token-xyz", "bad token"):
            with pytest.raises((Forbidden, InvalidRequest)) as info:
                await vault.property_sources(["myapp"], [], token=bad)
            seen += [str(info.value), repr(info.value)]
        seen.append(repr(await manager.health()))
    finally:
        await manager.close()
    text = caplog.text + "\n".join(seen)
    assert "Logged in to Vault with approle" in caplog.text
    for secret in (value, secret_id, token, "garbage-token-xyz"):
        assert secret not in text


async def test_close_returns_while_a_relogin_is_being_woken(openbao: OpenBao, mount: str) -> None:
    """close() returns promptly whichever loop step it lands on after a dead token woke the renewal."""
    # A cancel landing in the loop steps between the wake and the renewal task running is the one
    # Python 3.11's asyncio.wait_for swallowed; the task then retried its login forever.
    for steps in range(5):
        token = openbao.create_token(policies=["default"], ttl="5m")
        manager = VaultClientManager(VaultSettings(url=openbao.url, token=Secret(token)))
        await manager.start()
        await asyncio.to_thread(openbao.client().auth.token.revoke, token)
        assert isinstance(await manager.server_refused(), Unavailable)  # wakes the renewal task
        for _ in range(steps):
            await asyncio.sleep(0)
        started = time.monotonic()
        async with asyncio.timeout(5):
            await manager.close()
        assert time.monotonic() - started < 4, f"close() hung when called {steps} loop steps after the wake"
