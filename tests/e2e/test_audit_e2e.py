"""The audit log end to end: a real server writes one sealed line per audited request.

One server (Basic users, a policy, an RSA key, ``--audit-log``) serves a request of every
audited kind; the tests then read its file: the fields of each line, no secret anywhere, and
``config-server audit verify`` finding every kind of tampering. Then: failing closed when the
log cannot be written (503, health DOWN, and back), and rotation by ``mv`` + SIGHUP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from config_server.secret import Secret
from tests.e2e.conftest import root_token
from tests.http.conftest import Serve, threaded_server
from tests.http.test_authorization import FILES, PASSWORDS, POLICY, basic, users_file
from tests.http.test_openapi import rsa_pem
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao
from tests.support.polling import eventually
from tests.support.server_process import server_process

AUDIT_KEY = "audit-key-4b1d9e0c-never-in-a-line"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"
PLAINTEXT = "plaintext-7e2c-never-in-a-line"
WRONG_PASSWORD = "wrong-password-91f3"


@dataclass(frozen=True)
class Audited:
    """What the scenario left: the audit file, its key file, its lines and the commit served."""

    path: Path
    key_file: Path
    lines: list[dict[str, Any]]
    commit: str


def verify(key_file: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """``config-server audit verify --audit-key-file K FILE...`` as an operator runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFIG_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "config_server", "audit", "verify", "--audit-key-file", str(key_file)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
    )


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_line(path: Path, event: str, timeout: float = 10.0) -> None:
    assert eventually(lambda: any(line["event"] == event for line in read_lines(path)), timeout=timeout), (
        f"no {event} line"
    )


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Audited:
    """Run the server through a request of every audited kind, stop it, and read its audit file."""
    tmp = tmp_path_factory.mktemp("audit")
    remote = GitRemote(tmp / "git")
    commit = remote.write(FILES)
    policy = tmp / "policy.yml"
    policy.write_text(POLICY, encoding="utf-8")
    path, key_file = tmp / "audit.log", tmp / "audit.key"
    key_file.write_text(AUDIT_KEY + "\n")
    traced = {"traceparent": TRACEPARENT}
    with threaded_server(
        remote,
        tmp / "clone",
        auth_users=users_file(tmp / "users", PASSWORDS),
        access_policy=policy,
        encrypt_key=Secret(rsa_pem()),
        audit_log=str(path),
        audit_key=Secret(AUDIT_KEY),
    ) as (url, _app):

        def call(method: str, route: str, who: str | None = None, **kwargs: Any) -> requests.Response:
            headers = {**traced, **(basic(who) if who else {}), **kwargs.pop("headers", {})}
            return requests.request(method, url + route, headers=headers, timeout=10, **kwargs)

        text = {"Content-Type": "text/plain"}
        assert call("GET", "/orders/dev", "orders").status_code == 200
        assert call("GET", "/orders/dev/main/notes.txt", "orders").status_code == 200
        cipher = call("POST", "/encrypt", "ops", data=PLAINTEXT, headers=text)
        assert cipher.status_code == 200
        assert call("POST", "/decrypt", "ops", data=cipher.content, headers=text).text == PLAINTEXT
        assert call("GET", "/key", "ops").status_code == 200
        hook = {"Content-Type": "application/json"}
        assert call("POST", "/monitor", "ci", data=b'{"path": "orders.yml"}', headers=hook).status_code == 200
        assert (
            call("GET", "/orders/dev", "orders", headers=basic("orders", WRONG_PASSWORD)).status_code == 401
        )
        assert call("GET", "/orders/dev", "payments").status_code == 403
        assert call("GET", "/actuator/health").status_code == 200  # not audited
        policy.write_text(POLICY + "  - {principals: ['user:payments'], actions: [key]}\n", encoding="utf-8")
        wait_for_line(path, "policy-reloaded")
    return Audited(path, key_file, read_lines(path), commit)


def the_line(audited: Audited, event: str) -> dict[str, Any]:
    found = [line for line in audited.lines if line["event"] == event]
    assert len(found) == 1, [line["event"] for line in audited.lines]
    return found[0]


def test_every_audited_kind_writes_one_line_in_order(audited: Audited) -> None:
    """start, each request in the order served, policy-reloaded, stop; health is not audited."""
    assert [line["event"] for line in audited.lines] == [
        "start",
        "read",
        "resource",
        "encrypt",
        "decrypt",
        "key",
        "monitor",
        "auth-failure",
        "denied",
        "policy-reloaded",
        "stop",
    ]
    assert [line["seq"] for line in audited.lines] == list(range(1, 12))


def test_a_read_line_names_who_what_which_commit_and_the_trace(audited: Audited) -> None:
    """The read line carries principal, auth, address, application, profiles, label, commit, status, trace."""
    line = the_line(audited, "read")
    expected = {
        "principal": "user:orders",
        "auth": "basic",
        "address": "127.0.0.1",
        "application": "orders",
        "profiles": "dev",
        "label": "main",
        "commit": audited.commit,
        "status": 200,
        "action": "read",
        "trace_id": TRACE,
    }
    assert {k: line.get(k) for k in expected} == expected


def test_a_resource_line_names_the_commit(audited: Audited) -> None:
    """The resource line is the read of its application with the commit served."""
    line = the_line(audited, "resource")
    assert (line["principal"], line["application"], line["commit"], line["status"]) == (
        "user:orders",
        "orders",
        audited.commit,
        200,
    )


@pytest.mark.parametrize(
    ("event", "principal"),
    [("encrypt", "user:ops"), ("decrypt", "user:ops"), ("key", "user:ops"), ("monitor", "user:ci")],
)
def test_the_key_endpoints_and_the_webhook_are_audited(audited: Audited, event: str, principal: str) -> None:
    """Encrypt, decrypt, key and monitor lines name the principal, the action and the status."""
    line = the_line(audited, event)
    assert (line["principal"], line["auth"], line["status"], line["trace_id"]) == (
        principal,
        "basic",
        200,
        TRACE,
    )
    assert "application" not in line


def test_an_authentication_failure_is_audited_with_its_reason(audited: Audited) -> None:
    """A wrong password: 401, anonymous principal, the reason (the user name, never the password)."""
    line = the_line(audited, "auth-failure")
    assert (line["status"], line["principal"], line["auth"]) == (401, "anonymous", "anonymous")
    assert line["reason"] == "wrong password 'orders'"


def test_a_denial_is_audited_with_who_and_what(audited: Audited) -> None:
    """payments reading orders: 403, user:payments, the application and the reason."""
    line = the_line(audited, "denied")
    assert (line["status"], line["principal"], line["application"]) == (403, "user:payments", "orders")
    assert line["reason"] == "Access denied: user:payments may not read orders"


def test_a_policy_reload_is_audited(audited: Audited) -> None:
    """Changing the policy file writes policy-reloaded with the new number of rules."""
    assert the_line(audited, "policy-reloaded")["rules"] == 5


def test_no_line_holds_a_password_the_key_or_a_plaintext(audited: Audited) -> None:
    """Neither the passwords, the wrong one, the audit key nor the encrypted plaintext is in the file."""
    text = audited.path.read_text()
    for secret in [*PASSWORDS.values(), WRONG_PASSWORD, AUDIT_KEY, PLAINTEXT]:
        assert secret not in text


def test_the_untouched_log_verifies(audited: Audited) -> None:
    """audit verify exits 0 with its summary on the file as written."""
    result = verify(audited.key_file, audited.path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 11 line(s) in 1 file(s), seq 1..11, from the first line ever")


def _tampered(audited: Audited, tmp_path: Path, change: str) -> Path:
    raw = audited.path.read_bytes().splitlines(keepends=True)
    if change == "edit":
        raw[2] = raw[2].replace(b'"status":200', b'"status":201')
    elif change == "truncate":
        raw = [*raw[:5], raw[5][: len(raw[5]) // 2]]
    elif change == "reorder":
        raw[3], raw[4] = raw[4], raw[3]
    elif change == "delete":
        del raw[6]
    copy = tmp_path / "audit.log"
    copy.write_bytes(b"".join(raw))
    return copy


@pytest.mark.parametrize(
    ("change", "line", "why"),
    [
        ("edit", 3, "bad mac"),
        ("truncate", 6, "cut line"),
        ("reorder", 4, "bad link"),
        ("delete", 7, "bad link"),
    ],
)
def test_audit_verify_names_the_tampered_line(
    audited: Audited, tmp_path: Path, change: str, line: int, why: str
) -> None:
    """An edited, cut, reordered or deleted line makes audit verify exit 1 naming FILE:LINE and why."""
    copy = _tampered(audited, tmp_path, change)
    result = verify(audited.key_file, copy)
    assert result.returncode == 1, result.stdout
    assert f"{copy}:{line}: {why}" in result.stderr


async def test_an_unwritable_audit_log_fails_closed_and_recovers(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """Its directory removed: audited requests 503 and health DOWN; recreated: both come back."""
    git_remote.write(FILES)
    folder = tmp_path / "logs"
    folder.mkdir()
    client = await serve(git_remote, audit_log=str(folder / "audit.log"), audit_key=Secret(AUDIT_KEY))
    assert (await client.get("/orders/dev")).status == 200
    shutil.rmtree(folder)
    refused = await client.get("/orders/dev")
    assert refused.status == 503
    body = await refused.json()
    assert (body["status"], body["error"]) == (503, "Service Unavailable")
    assert body["message"] == "The audit log cannot be written; try again later"
    assert "orders" not in body["message"]
    health = await client.get("/actuator/health")
    assert (health.status, (await health.json())["status"]) == (503, "DOWN")
    folder.mkdir()
    assert (await client.get("/orders/dev")).status == 200
    health = await client.get("/actuator/health")
    assert (health.status, (await health.json())["status"]) == (200, "UP")
    assert [line["event"] for line in read_lines(folder / "audit.log")] == ["read"]


async def test_an_audit_path_turned_into_a_directory_fails_closed(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """The file replaced by a directory: the next audited request is 503, not served unaudited."""
    git_remote.write(FILES)
    path = tmp_path / "audit.log"
    client = await serve(git_remote, audit_log=str(path), audit_key=Secret(AUDIT_KEY))
    path.unlink()
    path.mkdir()
    assert (await client.get("/orders/dev")).status == 503


def test_sighup_after_mv_continues_the_chain_in_a_new_file(git_remote: GitRemote, tmp_path: Path) -> None:
    """mv audit.log audit.log.1; kill -HUP; more requests: verify [audit.log.1, audit.log] passes."""
    git_remote.write(FILES)
    path, key_file = tmp_path / "audit.log", tmp_path / "audit.key"
    key_file.write_text(AUDIT_KEY + "\n")
    argv = ["--repo", git_remote.uri, "--basedir", str(tmp_path / "clone"), "--port", "0"]
    argv += ["--audit-log", str(path), "--audit-key-file", str(key_file)]
    with server_process(argv) as server:
        assert requests.get(f"{server.url}/orders/dev", timeout=10).status_code == 200
        path.rename(tmp_path / "audit.log.1")
        server.process.send_signal(signal.SIGHUP)
        for _ in range(2):
            assert requests.get(f"{server.url}/orders/dev", timeout=10).status_code == 200
    assert server.process.returncode == 0, server.output
    assert [line["event"] for line in read_lines(path)] == ["read", "read", "stop"]
    result = verify(key_file, tmp_path / "audit.log.1", path)
    assert result.returncode == 0, result.stderr
    assert "OK: 5 line(s) in 2 file(s), seq 1..5" in result.stdout


async def test_a_read_served_from_vault_names_the_vault_paths_but_no_value(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, mount: str, tmp_path: Path
) -> None:
    """A read with Vault sources lists the Vault paths read in 'vault', never a secret's value."""
    value = "vault-value-5d2a-never-in-a-line"
    bao.write_kv2("orders", {"db.password": value}, mount=mount)
    git_remote.write({"application.yml": "x: 1\n"})
    path = tmp_path / "audit.log"
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_kv_mount=mount,
        vault_token=root_token(bao),
        audit_log=str(path),
        audit_key=Secret(AUDIT_KEY),
    )
    assert (await client.get("/orders/default")).status == 200
    line = next(line for line in read_lines(path) if line["event"] == "read")
    # The KV paths read, with their mount ("secret/orders").
    assert line["vault"] == [f"{mount}/orders"]
    assert value not in path.read_text()
