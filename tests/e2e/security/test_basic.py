"""HTTP Basic end to end: a users file written by Apache's ``htpasswd``, the access policy, reloads.

One server (module scope) answers the read-only tests; tests that change the users file start
their own. Start-up failures run ``config-server serve`` as a real subprocess.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.security.conftest import (
    POLICY,
    SECRETS,
    Server,
    config_server_command,
    htpasswd,
    running_server,
    write_atomically,
)
from tests.support.gitrepo import GitRemote
from tests.support.polling import eventually

ORDERS_PASSWORD = "orders-pw-1"


@pytest.fixture(scope="module")
def users_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file made by ``htpasswd -B -c`` for ``orders``, and the policy, in one folder."""
    folder = tmp_path_factory.mktemp("basic")
    htpasswd(folder / "users", "orders", ORDERS_PASSWORD, create=True)
    (folder / "policy.yml").write_text(POLICY)
    return folder


@pytest.fixture(scope="module")
def server(config_repo: GitRemote, users_dir: Path) -> Iterator[Server]:
    """The server with the htpasswd users and the policy (read-only tests share it)."""
    with running_server(
        config_repo,
        users_dir / "clone",
        auth_users=users_dir / "users",
        access_policy=users_dir / "policy.yml",
    ) as running:
        yield running


def test_a_user_reads_its_own_configuration(server: Server) -> None:
    """orders, with the password htpasswd -B hashed, reads orders: 200 with its own secret."""
    resp = requests.get(f"{server.url}/orders/default", auth=("orders", ORDERS_PASSWORD), timeout=10)
    assert resp.status_code == 200, resp.text
    assert SECRETS["orders"] in resp.text


def test_a_user_is_refused_another_services_configuration(server: Server) -> None:
    """orders asking for payments: 403 naming the principal and the action, and no value."""
    resp = requests.get(f"{server.url}/payments/default", auth=("orders", ORDERS_PASSWORD), timeout=10)
    assert resp.status_code == 403
    message = resp.json()["message"]
    assert "user:orders" in message and "read" in message and "payments" in message
    assert SECRETS["payments"] not in resp.text and "hello" not in resp.text


def test_a_wrong_password_is_401_with_the_basic_challenge(server: Server) -> None:
    """A wrong password: 401 and WWW-Authenticate: Basic realm="config-server"."""
    resp = requests.get(f"{server.url}/orders/default", auth=("orders", "not-it"), timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Basic realm="config-server"')
    assert SECRETS["orders"] not in resp.text


def test_empty_basic_credentials_are_anonymous_and_may_not_read(server: Server) -> None:
    """Authorization: Basic Og== (":") is no credential: a read is 401 Full authentication is required."""
    resp = requests.get(f"{server.url}/orders/default", headers={"Authorization": "Basic Og=="}, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["message"] == "Full authentication is required"
    assert resp.headers["WWW-Authenticate"].startswith('Basic realm="config-server"')


def test_empty_basic_credentials_get_only_the_health_status(server: Server) -> None:
    """Basic Og== on /actuator/health: 200 with the status and nothing else."""
    resp = requests.get(f"{server.url}/actuator/health", headers={"Authorization": "Basic Og=="}, timeout=10)
    assert resp.status_code == 200
    assert list(resp.json()) == ["status"]


@pytest.mark.parametrize(
    ("scheme", "name"),
    [("-m", "MD5"), ("-s", "SHA1"), ("-d", "crypt"), ("-p", "plain text")],
    ids=["md5", "sha1", "crypt", "plain"],
)
def test_a_weak_hash_stops_the_start_naming_file_and_line(
    config_repo: GitRemote, tmp_path: Path, scheme: str, name: str
) -> None:
    """An htpasswd -m/-s/-d/-p entry: serve exits 2 with one stderr line naming the file and line."""
    users = tmp_path / "users"
    htpasswd(users, "orders", ORDERS_PASSWORD, create=True)
    htpasswd(users, "weak", "weak-pw", scheme=scheme)  # line 2
    done = config_server_command(
        "serve",
        "--repo",
        config_repo.uri,
        "--port",
        "0",
        "--basedir",
        str(tmp_path / "clone"),
        "--auth-users",
        str(users),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{users}:2" in lines[0] and name in lines[0] and "weak" in lines[0]
    assert "weak-pw" not in done.stderr


def test_config_server_passwd_writes_argon2id(tmp_path: Path) -> None:
    """config-server passwd FILE USER (password on stdin) writes an argon2id entry, mode 0600."""
    users = tmp_path / "users"
    done = config_server_command("passwd", str(users), "billing", stdin="billing-pw\n")
    assert done.returncode == 0, done.stderr
    assert "billing-pw" not in done.stdout + done.stderr
    (line,) = users.read_text().splitlines()
    assert line.startswith("billing:$argon2id$")
    assert users.stat().st_mode & 0o777 == 0o600


@pytest.fixture
def own_server(config_repo: GitRemote, tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A server of this test alone, and its users file (orders only)."""
    users = tmp_path / "users"
    htpasswd(users, "orders", ORDERS_PASSWORD, create=True)
    (tmp_path / "policy.yml").write_text(POLICY)
    with running_server(
        config_repo, tmp_path / "clone", auth_users=users, access_policy=tmp_path / "policy.yml"
    ) as running:
        yield running, users


def test_a_user_added_with_passwd_can_read_without_a_restart(own_server: tuple[Server, Path]) -> None:
    """config-server passwd adds payments to the running server's file: it reads without a restart."""
    server, users = own_server

    def status() -> int:
        return requests.get(
            f"{server.url}/payments/default", auth=("payments", "pay-pw"), timeout=10
        ).status_code

    assert status() == 401
    assert config_server_command("passwd", str(users), "payments", stdin="pay-pw\n").returncode == 0
    assert eventually(lambda: status() == 200)


def test_an_invalid_new_users_file_keeps_the_old_users(
    own_server: tuple[Server, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A users file rewritten with an MD5 entry is refused: the old users still log in, the log says so."""
    server, users = own_server
    caplog.set_level(logging.INFO, logger="config_server.auth.basic")
    good = users.read_text()
    htpasswd(users, "intruder", "intruder-pw", scheme="-m")

    def refused() -> bool:
        return any("users file not reloaded" in r.getMessage() for r in caplog.records)

    assert eventually(refused)
    message = next(r.getMessage() for r in caplog.records if "users file not reloaded" in r.getMessage())
    assert f"{users}:2" in message and "keeping the previous users" in message
    resp = requests.get(f"{server.url}/orders/default", auth=("orders", ORDERS_PASSWORD), timeout=10)
    assert resp.status_code == 200
    resp = requests.get(f"{server.url}/intruder/default", auth=("intruder", "intruder-pw"), timeout=10)
    assert resp.status_code == 401
    write_atomically(users, good)
