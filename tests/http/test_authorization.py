"""Authorisation end to end: every principal against every endpoint, allowed or denied as the policy says.

One real server (Basic users, the policy of ``config_server.policy``'s docstring plus rules for
``ci``, ``monitor`` and ``health-details``, an RSA key) answers the whole table; each row is one
(principal, method, path) and the status and body shape it must get.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests

from config_server.secret import Secret
from tests.http.conftest import Serve, threaded_server
from tests.http.test_monitor_endpoint import sign
from tests.http.test_openapi import rsa_pem
from tests.support.gitrepo import GitRemote

PASSWORDS = {"orders": "orders-pw", "payments": "payments-pw", "ops": "ops-pw", "ci": "ci-pw"}

POLICY = """
roles:
  config-admin: ["user:ops"]
  ci: ["user:ci"]
rules:
  - principals: ["user:*", "jwt:*", "spiffe://cluster.local/ns/*/sa/*"]
    applications: ["{name}"]
    profiles: ["*"]
    labels: ["main", "release-*"]
    actions: [read]
  - principals: ["role:config-admin"]
    applications: ["*"]
    actions: [read, encrypt, decrypt, key]
  - principals: ["role:ci"]
    actions: [monitor]
  - principals: ["user:ops"]
    actions: [health-details]
"""

FILES = {
    "application.yml": "shared: everyone\n",
    "orders.yml": "orders:\n  limit: 10\n",
    "orders-dev.yml": "orders:\n  limit: 20\n",
    "payments.yml": "payments:\n  limit: 5\n",
    "notes.txt": "notes of ${orders.limit}\n",
}


def users_file(path: Path, passwords: dict[str, str]) -> Path:
    """An htpasswd file of bcrypt hashes (4 rounds: fast, and still what htpasswd -B writes)."""
    lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}" for u, p in passwords.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def basic(user: str, password: str | None = None) -> dict[str, str]:
    """The Authorization header of ``user`` (with its own password unless another is given)."""
    secret = PASSWORDS[user] if password is None else password
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def make_remote(root: Path) -> GitRemote:
    """The table's repository: main, release-1 and feature/x branches."""
    remote = GitRemote(root)
    remote.write(FILES)
    for branch in ("release-1", "feature/x"):
        remote.checkout(branch, create=True)
        remote.write({"orders-dev.yml": f"orders:\n  branch: {branch}\n"})
    remote.checkout("main")
    return remote


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The table's server: Basic users, the policy, an RSA key; no webhook secret."""
    tmp = tmp_path_factory.mktemp("authz")
    (tmp / "policy.yml").write_text(POLICY, encoding="utf-8")
    with threaded_server(
        make_remote(tmp / "git"),
        tmp / "clone",
        auth_users=users_file(tmp / "users", {**PASSWORDS, STAR: "star-pw"}),
        access_policy=tmp / "policy.yml",
        encrypt_key=Secret(rsa_pem()),
    ) as (url, _app):
        yield url


STAR = "o*"  # a user whose name looks like a glob
ALL = ("orders", "payments", "ops", "ci", None)  # None: anonymous
READ_ORDERS = {"orders", "ops"}
ADMIN = {"ops"}
TEXT = {"Content-Type": "text/plain"}
HOOK = {"Content-Type": "application/json"}

# (method, path, body, headers, who may)
ENDPOINTS: list[tuple[str, str, bytes | None, dict[str, str], set[str]]] = [
    ("GET", "/orders/dev", None, {}, READ_ORDERS),
    ("GET", "/orders/dev/main", None, {}, READ_ORDERS),
    ("GET", "/orders/dev/release-1", None, {}, READ_ORDERS),
    ("GET", "/orders/dev/feature(_)x", None, {}, ADMIN),  # the label is not main or release-*
    ("GET", "/orders,payments/dev", None, {}, ADMIN),  # each application must be allowed
    ("GET", "/payments/dev", None, {}, {"payments", "ops"}),
    ("GET", "/orders-dev.yml", None, {}, READ_ORDERS),
    ("GET", "/main/orders-dev.yml", None, {}, READ_ORDERS),
    ("GET", "/orders/dev/main/notes.txt", None, {}, READ_ORDERS),
    ("POST", "/encrypt", b"secret", TEXT, ADMIN),
    ("POST", "/encrypt/orders/dev", b"secret", TEXT, ADMIN),
    ("POST", "/decrypt", b"CIPHERTEXT", TEXT, ADMIN),
    ("GET", "/encrypt/status", None, {}, ADMIN),
    ("GET", "/key", None, {}, ADMIN),
    ("POST", "/monitor", b'{"path": "orders.yml"}', HOOK, {"ci"}),
]

TABLE = [
    pytest.param(who, method, path, body, headers, who in may, id=f"{who or 'anonymous'}-{method}-{path}")
    for method, path, body, headers, may in ENDPOINTS
    for who in ALL
]


def _call(
    base: str, who: str | None, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> Any:
    if body == b"CIPHERTEXT":
        body = requests.post(
            f"{base}/encrypt", data=b"secret", headers={**TEXT, **basic("ops")}, timeout=10
        ).content
    auth = basic(who) if who else {}
    return requests.request(method, base + path, data=body, headers={**headers, **auth}, timeout=10)


@pytest.mark.parametrize(("who", "method", "path", "body", "headers", "allowed"), TABLE)
def test_the_policy_allows_and_denies_each_principal_each_endpoint(
    secured: str,
    who: str | None,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    allowed: bool,
) -> None:
    """Allowed: 200 with the endpoint's answer; anonymous: 401 with a Basic challenge; else 403."""
    resp = _call(secured, who, method, path, body, headers)
    if allowed:
        assert resp.status_code == 200, resp.text[:300]
        if path == "/decrypt":
            assert resp.text == "secret"
        elif path.startswith("/orders/dev") and not path.endswith(".txt"):
            assert resp.json()["name"] == "orders"
        return
    error = resp.json()
    if who is None:
        assert (resp.status_code, error["status"]) == (401, 401), resp.text[:300]
        assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
        return
    assert (resp.status_code, error["status"], error["error"]) == (403, 403, "Forbidden"), resp.text[:300]
    assert error["message"].startswith(f"Access denied: user:{who} may not ")
    assert "WWW-Authenticate" not in resp.headers


def test_a_read_carries_the_shared_application_files(secured: str) -> None:
    """Allowed to read orders means the shared application.yml comes with it, without a rule of its own."""
    resp = requests.get(f"{secured}/orders/dev", headers=basic("orders"), timeout=10)
    names = [source["name"] for source in resp.json()["propertySources"]]
    assert any(name.endswith("/application.yml") for name in names), names


def test_a_resource_resolves_placeholders_for_an_allowed_reader(secured: str) -> None:
    """The resource answer is the file with the reader's configuration filled in."""
    resp = requests.get(f"{secured}/orders/dev/main/notes.txt", headers=basic("orders"), timeout=10)
    assert resp.text == "notes of 20\n"


@pytest.mark.parametrize("who", ALL)
def test_the_api_document_is_public(secured: str, who: str | None) -> None:
    """/openapi.json answers 200 to everyone, anonymous included."""
    resp = requests.get(f"{secured}/openapi.json", headers=basic(who) if who else {}, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["openapi"].startswith("3.1")


@pytest.mark.parametrize("who", ["orders", "ci", None])
def test_health_shows_only_its_status_without_health_details(secured: str, who: str | None) -> None:
    """Without health-details (anonymous included) /actuator/health is the status alone."""
    resp = requests.get(f"{secured}/actuator/health", headers=basic(who) if who else {}, timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "UP"}


def test_health_shows_its_components_to_health_details(secured: str) -> None:
    """A principal allowed health-details sees every component."""
    resp = requests.get(f"{secured}/actuator/health", headers=basic("ops"), timeout=10)
    assert resp.status_code == 200
    assert {"git", "encryption"} <= set(resp.json()["components"])


def test_a_glob_looking_user_name_is_literal_in_name(secured: str) -> None:
    """User 'o*' reads the application 'o*' (its {name}) but not orders: {name} is never a pattern."""
    star = {"Authorization": "Basic " + base64.b64encode(f"{STAR}:star-pw".encode()).decode()}
    assert requests.get(f"{secured}/o*/dev", headers=star, timeout=10).status_code == 200
    assert requests.get(f"{secured}/orders/dev", headers=star, timeout=10).status_code == 403


def test_a_wrong_password_is_401_with_the_challenge(secured: str) -> None:
    """A known user with a wrong password is 401, never 403, and the body does not echo it."""
    resp = requests.get(f"{secured}/orders/dev", headers=basic("orders", "not-the-password"), timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "not-the-password" not in resp.text


async def test_without_a_policy_every_guarded_endpoint_is_denied(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """Authentication without a policy: 403 everywhere but health and the API document."""
    git_remote.write(FILES)
    client = await serve(
        git_remote, auth_users=users_file(tmp_path / "users", {"ops": "ops-pw"}), encrypt_key=Secret("k" * 32)
    )
    auth = basic("ops")
    for method, path in [
        ("GET", "/orders/dev"),
        ("GET", "/orders-dev.yml"),
        ("GET", "/orders/dev/main/notes.txt"),
        ("POST", "/encrypt"),
        ("POST", "/decrypt"),
        ("GET", "/encrypt/status"),
        ("GET", "/key"),
        ("POST", "/monitor"),
    ]:
        resp = await client.request(
            method, path, headers={**auth, **TEXT}, data=b"x" if method == "POST" else None
        )
        assert resp.status == 403, (method, path, await resp.text())
    health = await client.get("/actuator/health", headers=auth)
    assert (health.status, await health.json()) == (200, {"status": "UP"})
    assert (await client.get("/openapi.json", headers=auth)).status == 200


async def test_a_signed_webhook_needs_no_principal_with_a_monitor_secret(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With --monitor-secret, /monitor is judged by its signature alone: unsigned 401, signed 200."""
    git_remote.write(FILES)
    client = await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", {"ops": "ops-pw"}),
        monitor_secret=Secret("hook-key"),
    )
    body = json.dumps({"ref": "refs/heads/main", "commits": [{"modified": ["orders.yml"]}]}).encode()
    unsigned = await client.post(
        "/monitor", data=body, headers={"Content-Type": "application/json", "X-GitHub-Event": "push"}
    )
    assert unsigned.status == 401
    signature = sign("hook-key", body)
    signed = await client.post(
        "/monitor",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": signature,
        },
    )
    assert signed.status == 200, await signed.text()
    assert "orders" in await signed.json()
