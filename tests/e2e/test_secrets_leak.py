"""Secrets never leak: the real server as a subprocess at DEBUG level, every endpoint driven
(failing ones too, Vault stopped at the end), and everything it wrote grepped for the seeded secrets.

Seeded: the server's Vault token or AppRole secret id, a caller's X-Config-Token, bogus tokens, the
symmetric and rotation keys, the keystore and key passwords, the webhook secret, secret values in
Vault KV, and the plaintexts (and a broken ciphertext) behind ``{cipher}`` values in git. Grepped:
the server's stdout and stderr, every health body, every error body, ``--help`` with all secrets in
the environment, and the CLI's output (``encrypt``/``decrypt``/``reencrypt``) on a working copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from config_server.crypto.symmetric import SymmetricEncryptor
from tests.support import VECTORS as SUPPORT_VECTORS
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao
from tests.support.processes import answers_200, free_port, wait_started

JKS = SUPPORT_VECTORS / "spring-server.jks"
STORE_PASSWORD, KEY_PASSWORD = "letmein", "changeme"  # the Spring vector keystore's (§13)
TEXT = {"Content-Type": "text/plain"}


def token() -> str:
    return "LEAK" + secrets.token_hex(12)


@dataclass
class Seeds:
    """Every secret the server is given or serves; none may appear in what it writes."""

    encrypt_key: str = field(default_factory=token)
    rotation_key: str = field(default_factory=token)
    monitor_secret: str = field(default_factory=token)
    kv_value: str = field(default_factory=token)
    kv_nested: str = field(default_factory=token)
    cipher_plain: str = field(default_factory=token)
    rotated_plain: str = field(default_factory=token)
    transit_plain: str = field(default_factory=token)
    rsa_plain: str = field(default_factory=token)
    bogus_token: str = field(default_factory=lambda: "hvs." + token())
    malformed_token: str = field(default_factory=lambda: token() + " injected")
    broken_cipher: str = field(default_factory=lambda: secrets.token_hex(48))
    raw_header_token: str = field(default_factory=token)  # sent in headers aiohttp cannot parse
    server_token: str = ""
    role_id: str = ""
    secret_id: str = ""
    caller_token: str = ""

    def all(self) -> dict[str, str]:
        found = {k: v for k, v in vars(self).items() if v and k != "role_id"}
        found["malformed_token_head"] = self.malformed_token.split()[0]
        found["store_password"] = STORE_PASSWORD
        found["key_password"] = KEY_PASSWORD
        return found


SERVER_POLICY = """
path "secret/*" { capabilities = ["read", "list"] }
path "transit/encrypt/*" { capabilities = ["update"] }
path "transit/decrypt/*" { capabilities = ["update"] }
"""
CALLER_POLICY = """
path "secret/data/orders" { capabilities = ["read"] }
path "secret/data/application" { capabilities = ["read"] }
"""


@pytest.fixture
def bao() -> Iterator[OpenBao]:
    """A private OpenBao (the test stops it)."""
    with OpenBao() as server:
        yield server


def seed_vault(bao: OpenBao, seeds: Seeds) -> None:
    bao.write_kv2("orders", {"db": {"password": seeds.kv_value}, "other": seeds.kv_nested})
    bao.write_kv2("payments", {"key": seeds.kv_nested})
    bao.enable_transit("cfg")
    bao.write_policy("config-server", SERVER_POLICY)
    bao.write_policy("orders", CALLER_POLICY)
    seeds.server_token = bao.create_token(policies=["config-server", "default"], ttl="1h")
    seeds.role_id, seeds.secret_id = bao.create_approle("config-server", policies=["config-server"])
    seeds.caller_token = bao.create_token(policies=["orders"], ttl="1h")


def transit_encrypt(bao: OpenBao, plaintext: str) -> str:
    import base64

    resp = bao.client().secrets.transit.encrypt_data(
        name="cfg", plaintext=base64.b64encode(plaintext.encode()).decode()
    )
    return "{key:transit:cfg}" + str(resp["data"]["ciphertext"])


def seed_git(remote: GitRemote, bao: OpenBao, seeds: Seeds) -> None:
    from config_server.crypto.keystore import load_rsa_keys
    from config_server.crypto.rsa import RsaEncryptor

    rsa = RsaEncryptor.from_key(
        load_rsa_keys(JKS, password=STORE_PASSWORD, key_password=KEY_PASSWORD)["mytestkey"]
    )
    symmetric = SymmetricEncryptor(seeds.encrypt_key, "deadbeef").encrypt(seeds.cipher_plain)
    rotated = SymmetricEncryptor(seeds.rotation_key, "deadbeef").encrypt(seeds.rotated_plain)
    remote.write(
        {
            "orders.yml": (
                f"db:\n  user: app\n  sym: '{{cipher}}{{key:default}}{symmetric}'\n"
                f"  rotated: '{{cipher}}{{key:new}}{rotated}'\n"
                f"  transit: '{{cipher}}{transit_encrypt(bao, seeds.transit_plain)}'\n"
                f"  rsa: '{{cipher}}{{key:mytestkey}}{rsa.encrypt(seeds.rsa_plain)}'\n"
                f"  broken: '{{cipher}}{seeds.broken_cipher}'\n"
                f"  nokey: '{{cipher}}{{key:gone}}{seeds.broken_cipher}'\n"
            ),
            "application.yml": "greeting: hello\n",
        }
    )


@dataclass
class Server:
    """The server subprocess and everything read back from it."""

    proc: subprocess.Popen[bytes]
    base: str
    out: Path
    err: Path
    written: list[str] = field(default_factory=list)  # health and error bodies

    def raw(self, request: bytes) -> bytes:
        """Send bytes no HTTP library would send; the answer goes to the sender only (not kept)."""
        host, port = self.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(request)
            return conn.recv(65536)

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        resp = requests.request(method, self.base + path, timeout=10, **kwargs)  # type: ignore[arg-type]
        if resp.status_code >= 400 or path.startswith(("/actuator", "/health")):
            self.written.append(f"{method} {path} -> {resp.status_code} {resp.headers} {resp.text}")
        return resp


def server_env(seeds: Seeds, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFIG_SERVER_", "VAULT_", "BAO_"))}
    env["CONFIG_SERVER_ENCRYPT_KEY"] = seeds.encrypt_key
    env["CONFIG_SERVER_ENCRYPT_KEYSTORE_PASSWORD"] = STORE_PASSWORD
    if mode == "token":
        env["CONFIG_SERVER_VAULT_TOKEN"] = seeds.server_token
    else:
        env["CONFIG_SERVER_VAULT_SECRET_ID"] = seeds.secret_id
    return env


def start_server(tmp: Path, remote: GitRemote, bao: OpenBao, seeds: Seeds, mode: str) -> Server:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "config_server",
        "serve",
        "--repo",
        remote.uri,
        "--basedir",
        str(tmp / "clone"),
        "--port",
        str(port),
        "--log-level",
        "DEBUG",
        "--refresh-rate",
        "3600",
        "--vault-url",
        bao.url,
        "--vault-stale-ttl",
        "0",
        "--vault-poll",
        "0.2",
        "--encrypt-keys",
        f"new={seeds.rotation_key}",
        "--encrypt-keystore",
        str(JKS),
        "--encrypt-key-alias",
        "mytestkey",
        "--encrypt-key-secret",
        KEY_PASSWORD,
        "--encrypt-primary",
        "default",
        "--monitor-secret",
        seeds.monitor_secret,
    ]
    if mode == "approle":
        args += ["--vault-role-id", seeds.role_id]
    # Both log formats are grepped: JSON lines (a collector's) with AppRole, text with a token.
    args += ["--log-format", "json" if mode == "approle" else "text"]
    out, err = tmp / "server.out", tmp / "server.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(args, stdout=o, stderr=e, env=server_env(seeds, mode), cwd=tmp)
    server = Server(proc, f"http://127.0.0.1:{port}", out, err)
    wait_started(
        proc, lambda: answers_200(server.base + "/actuator/health"), name="server", log=err, timeout=20
    )
    return server


def drive(server: Server, bao: OpenBao, seeds: Seeds) -> None:
    """Every endpoint, succeeding and failing; asserts only what proves the request really ran."""
    ok = server.call("GET", "/orders/default")
    assert ok.status_code == 200, ok.text
    served = {k: v for ps in ok.json()["propertySources"] for k, v in ps["source"].items()}
    assert "db.sym" in served, ok.text
    assert served["db.sym"] == seeds.cipher_plain and served["db.transit"] == seeds.transit_plain
    assert served["db.rsa"] == seeds.rsa_plain and served["db.rotated"] == seeds.rotated_plain
    assert served["db.password"] == seeds.kv_value
    assert served["invalid.db.broken"] == "<n/a>" and served["invalid.db.nokey"] == "<n/a>"
    for path in (
        "/orders-default.yml",
        "/orders-default.properties",
        "/orders/default/main",
        "/payments/default",
        "/orders,payments/dev",
    ):
        assert server.call("GET", path).status_code == 200
    caller = {"X-Config-Token": seeds.caller_token}
    assert server.call("GET", "/orders/default", headers=caller).status_code == 200
    assert server.call("GET", "/payments/default", headers=caller).status_code == 403
    assert (
        server.call("GET", "/orders/default", headers={"X-Config-Token": seeds.bogus_token}).status_code
        == 403
    )
    assert (
        server.call("GET", "/orders-default.yml", headers={"X-Config-Token": seeds.bogus_token}).status_code
        == 403
    )
    # Requests the HTTP parser refuses: a control character in a header, a header line over 8 KiB.
    for header, status in (
        (f"X-Config-Token: {seeds.raw_header_token}\x01x", b"400"),
        (f"Authorization: Bearer {seeds.raw_header_token}{'x' * 9000}", b"431"),
    ):
        answer = server.raw(f"GET /orders/default HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
        assert answer.split(b" ", 2)[1] == status, answer[:80]
    malformed = server.call("GET", "/orders/default", headers={"X-Config-Token": seeds.malformed_token})
    assert malformed.status_code == 400
    assert server.call("GET", "/orders/default/main/x.conf", headers=caller).status_code == 404
    assert server.call("GET", "/orders/default/main/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)
    # encryption endpoints
    for body in (
        seeds.cipher_plain,
        "{key:new}" + seeds.rotated_plain,
        "{key:transit:cfg}" + seeds.transit_plain,
        "{key:mykey}" + seeds.rsa_plain,
    ):
        enc = server.call("POST", "/encrypt", data=body, headers=TEXT)
        assert enc.status_code == 200, enc.text
        dec = server.call("POST", "/decrypt", data=enc.text, headers=TEXT)
        assert dec.status_code == 200 and dec.text == body.rsplit("}", 1)[-1]
    for bad in (
        seeds.broken_cipher,
        "{key:gone}" + seeds.broken_cipher,
        "{key:transit:cfg}vault:v1:AAAA",
        "{key:transit:nokey}vault:v1:" + seeds.broken_cipher,
        "{key:myencryptionkey}AQ" + seeds.broken_cipher,
        "{key:mytestkey}" + seeds.broken_cipher,
    ):
        assert server.call("POST", "/decrypt", data=bad, headers=TEXT).status_code in (400, 404)
    assert server.call(
        "POST", "/encrypt", data="{key:transit:bad name}" + seeds.transit_plain, headers=TEXT
    ).status_code in (400, 404)
    assert (
        server.call("POST", "/encrypt", data="{key:gone}" + seeds.cipher_plain, headers=TEXT).status_code
        == 404
    )
    assert server.call("POST", "/encrypt", data=seeds.cipher_plain).status_code == 400  # form, no '='
    assert server.call("POST", "/encrypt/..%2F/x", data=seeds.cipher_plain, headers=TEXT).status_code in (
        400,
        404,
    )
    assert server.call("GET", "/encrypt/status").status_code == 200
    assert server.call("GET", "/key").status_code == 200
    server.call("GET", "/actuator/health")
    # webhooks: unsigned, wrongly signed, garbage, then a good one
    push = json.dumps({"ref": "refs/heads/main", "commits": [{"modified": ["orders.yml"]}]}).encode()
    github = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    assert server.call("POST", "/monitor", data=push, headers=github).status_code == 401
    wrong = hmac.new(seeds.bogus_token.encode(), push, hashlib.sha256).hexdigest()
    assert (
        server.call(
            "POST", "/monitor", data=push, headers={**github, "X-Hub-Signature-256": "sha256=" + wrong}
        ).status_code
        == 401
    )
    assert server.call(
        "POST", "/monitor", data=b"\x00garbage", headers={**github, "X-Gitlab-Token": seeds.bogus_token}
    ).status_code in (400, 401)
    assert (
        server.call(
            "POST",
            "/monitor",
            data=push,
            headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": seeds.bogus_token},
        ).status_code
        == 401
    )
    good = hmac.new(seeds.monitor_secret.encode(), push, hashlib.sha256).hexdigest()
    assert (
        server.call(
            "POST", "/monitor", data=push, headers={**github, "X-Hub-Signature-256": "sha256=" + good}
        ).status_code
        == 200
    )
    # a long poll so the Vault poller recomputes with the caller's token while Vault goes away
    etag = server.call("GET", "/orders/default", headers=caller).headers["ETag"]
    held = {**caller, "If-None-Match": etag, "Prefer": "wait=1"}
    assert server.call("GET", "/orders/default", headers=held).status_code == 304
    # Vault stopped
    bao.stop()
    for path in ("/orders/default", "/orders-default.yml", "/payments/default"):
        assert server.call("GET", path).status_code == 503
        assert server.call("GET", path, headers=caller).status_code == 503
    assert (
        server.call(
            "POST", "/encrypt", data="{key:transit:cfg}" + seeds.transit_plain, headers=TEXT
        ).status_code
        == 503
    )
    assert server.call("GET", "/actuator/health").json()["status"] == "DEGRADED"
    assert server.call("POST", "/encrypt", data=seeds.cipher_plain, headers=TEXT).status_code == 200
    time.sleep(1.0)  # let the token maintenance and the poller hit the outage and log it
    server.call("GET", "/actuator/health")


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=5)


def leaks(text: str, seeds: Seeds) -> list[str]:
    return [name for name, value in seeds.all().items() if value in text]


@pytest.mark.parametrize("mode", ["token", "approle"])
def test_no_secret_in_anything_the_server_writes(
    tmp_path: Path, git_remote: GitRemote, bao: OpenBao, mode: str
) -> None:
    """Logs (DEBUG), health and error bodies of a server driven through every endpoint hold no secret."""
    seeds = Seeds()
    seed_vault(bao, seeds)
    seed_git(git_remote, bao, seeds)
    server = start_server(tmp_path, git_remote, bao, seeds, mode)
    try:
        drive(server, bao, seeds)
    finally:
        stop(server)
    logs = server.out.read_text(errors="replace") + server.err.read_text(errors="replace")
    assert "DEBUG" in logs and "cannot decrypt db.broken" in logs  # the capture really worked
    assert "Vault is unavailable" in logs
    assert leaks(logs, seeds) == []
    assert leaks("\n".join(server.written), seeds) == []
    assert any("DEGRADED" in w for w in server.written)


def test_help_shows_no_secret_from_the_environment(tmp_path: Path) -> None:
    """serve/encrypt --help with every secret in the environment prints none of them."""
    seeds = Seeds()
    seeds.server_token, seeds.secret_id = token(), token()
    env = server_env(seeds, "token") | {
        "CONFIG_SERVER_VAULT_SECRET_ID": seeds.secret_id,
        "CONFIG_SERVER_MONITOR_SECRET": seeds.monitor_secret,
        "CONFIG_SERVER_ENCRYPT_KEYS": f"new={seeds.rotation_key}",
        "CONFIG_SERVER_ENCRYPT_KEY_SECRET": KEY_PASSWORD,
    }
    for command in ("serve", "encrypt", "decrypt", "reencrypt"):
        out = subprocess.run(
            [sys.executable, "-m", "config_server", command, "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        assert "--vault-token" in out.stdout
        assert leaks(out.stdout + out.stderr, seeds) == []


def test_cli_commands_leak_nothing_but_their_answer(
    tmp_path: Path, git_remote: GitRemote, bao: OpenBao
) -> None:
    """encrypt/decrypt/reencrypt (and their failures) at DEBUG print only the value asked for."""
    seeds = Seeds()
    seed_vault(bao, seeds)
    seed_git(git_remote, bao, seeds)
    env = server_env(seeds, "approle") | {
        "CONFIG_SERVER_ENCRYPT_KEYS": f"new={seeds.rotation_key}",
        "CONFIG_SERVER_LOG_LEVEL": "DEBUG",
    }
    vault = ["--vault-url", bao.url, "--vault-role-id", seeds.role_id]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "config_server", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
        )

    enc = run("encrypt", seeds.cipher_plain, *vault)
    assert enc.returncode == 0 and enc.stdout.startswith("{cipher}")
    assert leaks(enc.stdout + enc.stderr, seeds) == []
    transit = run("encrypt", "{key:transit:cfg}" + seeds.transit_plain, *vault)
    assert transit.returncode == 0 and "vault:v1:" in transit.stdout
    assert leaks(transit.stdout + transit.stderr, seeds) == []
    dec = run("decrypt", transit.stdout.strip(), *vault)
    assert dec.stdout == seeds.transit_plain + "\n"
    assert leaks(dec.stderr, seeds) == []
    for bad in (seeds.broken_cipher, "{key:gone}" + seeds.broken_cipher, "{key:transit:cfg}vault:v1:AAAA"):
        failed = run("decrypt", bad, *vault)
        assert failed.returncode == 1 and failed.stdout == ""
        assert leaks(failed.stderr, seeds) == [], failed.stderr
    wrong_login = run(
        "encrypt",
        "x",
        "--vault-url",
        bao.url,
        "--vault-role-id",
        seeds.role_id,
        "--vault-secret-id",
        seeds.bogus_token,
    )
    assert wrong_login.returncode == 1
    assert leaks(wrong_login.stdout + wrong_login.stderr, seeds) == []
    keystore = [
        "--encrypt-keystore",
        str(JKS),
        "--encrypt-key-alias",
        "mytestkey",
        "--encrypt-key-secret",
        KEY_PASSWORD,
        "--encrypt-primary",
        "new",
    ]
    before = (git_remote.work / "orders.yml").read_text()
    refused = run("reencrypt", str(git_remote.work), *keystore, *vault)
    assert (
        refused.returncode == 1 and "orders.yml, line 7: Text not encrypted with this key" in refused.stderr
    )
    assert leaks(refused.stdout + refused.stderr, seeds) == []
    assert (git_remote.work / "orders.yml").read_text() == before  # nothing half rotated
    (git_remote.work / "orders.yml").write_text("\n".join(before.splitlines()[:6]) + "\n")
    reenc = run("reencrypt", str(git_remote.work), *keystore, *vault)
    assert reenc.returncode == 0, reenc.stderr
    assert reenc.stdout.splitlines()[-1] == "3 value(s) re-encrypted"  # the {key:new} one already is
    assert leaks(reenc.stdout + reenc.stderr, seeds) == []
    rewritten = (git_remote.work / "orders.yml").read_text()
    assert rewritten.count("{cipher}{key:new}") == 4
    assert leaks(rewritten, seeds) == []


def test_settings_repr_hides_every_secret() -> None:
    """The settings object built from flags and environment shows no secret in its repr or str."""
    from config_server.cli import _parser
    from config_server.settings import load_settings

    seeds = Seeds()
    seeds.server_token = token()
    args = _parser().parse_args(
        [
            "serve",
            "--repo",
            "x",
            "--encrypt-keys",
            f"new={seeds.rotation_key}",
            "--monitor-secret",
            seeds.monitor_secret,
            "--vault-url",
            "http://v:8200",
        ]
    )
    env = server_env(seeds, "token") | {"CONFIG_SERVER_ENCRYPT_KEY_SECRET": KEY_PASSWORD}
    settings = load_settings(args, environ=env)
    assert settings.vault_token is not None and settings.vault_token.reveal() == seeds.server_token
    assert leaks(repr(settings) + str(settings), seeds) == []
