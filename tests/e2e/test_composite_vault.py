"""Spring's composite with a real Vault: ``composite:`` in a ``--config`` file, list order = precedence.

Real server, real git, the e2e session's real OpenBao. The application ``orders`` has ``who`` in
both Vault (``vault:orders``) and git (``orders.yml``); whichever entry comes first wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config_server.cli import main
from config_server.http.app import create_app
from config_server.http.protocol import ConnectionLimits
from config_server.settings import load_settings
from tests.e2e.conftest import write
from tests.http.conftest import HardenedTestServer
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao


def composite(path: Path, order: list[str], git_uri: str) -> Path:
    """A ``--config`` file whose ``composite:`` lists the entries in ``order`` (vault, git)."""
    entries = {"vault": "  - type: vault\n", "git": f"  - type: git\n    uri: {git_uri}\n"}
    path.write_text("composite:\n" + "".join(entries[kind] for kind in order), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("order", "winner"),
    [(["vault", "git"], "vault"), (["git", "vault"], "git")],
    ids=["vault-first", "git-first"],
)
async def test_the_first_composite_entry_wins(
    aiohttp_client: Any,
    bao: OpenBao,
    mount: str,
    tmp_path: Path,
    order: list[str],
    winner: str,
) -> None:
    """composite [vault, git] serves Vault's value, [git, vault] git's; sources named and ordered so."""
    remote = GitRemote(tmp_path / "remote")
    remote.write({"orders.yml": "who: git\nonly-git: 1\n"})
    write(bao, mount, "orders", {"who": "vault", "only-vault": "1"})
    config = composite(tmp_path / "config.yml", order, remote.uri)
    settings = load_settings(
        {
            "config": str(config),
            "basedir": str(tmp_path / "clone"),
            "refresh_rate": "3600",
            "vault_url": bao.url,
            "vault_kv_mount": mount,
            "vault_token": bao.root_token,
        },
        environ={},
    )
    client: TestClient[Any, Any] = await aiohttp_client(
        HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    )
    body = await (await client.get("/orders/default")).json()
    names = {"vault": "vault:orders", "git": f"{remote.uri}/orders.yml"}
    assert [ps["name"] for ps in body["propertySources"]] == [names[kind] for kind in order]
    merged = await (await client.get("/orders-default.properties")).text()
    assert f"who: {winner}" in merged.splitlines()
    assert {"only-git: 1", "only-vault: 1"} <= set(merged.splitlines())  # both still contribute


def test_a_composite_vault_entry_without_vault_url_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``config-server serve`` with a composite vault entry and no --vault-url exits 2, saying why."""
    config = composite(tmp_path / "config.yml", ["git", "vault"], "file:///nowhere")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--config", str(config), "--basedir", str(tmp_path / "clone")])
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert "composite[1] is a vault entry, which needs --vault-url" in message
    assert str(config) in message
    assert not (tmp_path / "clone").exists()  # refused before anything was cloned
