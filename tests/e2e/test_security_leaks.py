"""Secrets of the security layer never leak: not in the log, the audit file, an error body or ``ps``.

Seeded: a Basic password (and a wrong one), a bearer token (a JWT-looking string no key signed),
an ``X-Config-Token``, the ``--encrypt-key``, the ``--audit-key``, the ``--monitor-secret`` and
the plaintext behind a ``{cipher}`` value. The server runs as a process at DEBUG with every secret
given by file (flag or ``CONFIG_SERVER_*_FILE``); it is driven through successes and failures (bad
passwords, bad tokens, denials, a bad webhook signature, an oversized header); then its output,
its audit file, every error body and its ``/proc/<pid>/cmdline`` are searched for each seed.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config_server.cli import main
from config_server.crypto.symmetric import SymmetricEncryptor
from tests.http.test_authorization import POLICY, users_file
from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process

TEXT = {"Content-Type": "text/plain"}


def seed() -> str:
    return "LEAK" + secrets.token_hex(10)


def _jwt_looking() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join(
        [part(b'{"alg":"ES256","typ":"JWT"}'), part(f'{{"sub":"{seed()}"}}'.encode()), part(b"sig")]
    )


@dataclass(frozen=True)
class Seeds:
    """Every secret the server is given or sees; none may appear in what it writes."""

    password: str = field(default_factory=seed)
    wrong_password: str = field(default_factory=seed)
    bearer: str = field(default_factory=_jwt_looking)
    config_token: str = field(default_factory=seed)
    encrypt_key: str = field(default_factory=seed)
    audit_key: str = field(default_factory=seed)
    monitor_secret: str = field(default_factory=seed)
    plaintext: str = field(default_factory=seed)

    def all(self) -> dict[str, str]:
        return dict(vars(self))


@dataclass
class Run:
    """What the driven server left: its output, its audit file, every error body, its command line."""

    output: str
    audit: str
    errors: list[str]
    cmdline: bytes
    oversized: str  # the raw answer to a request whose header line is over 8 KiB


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _oversized_header(url: str, token: str) -> bytes:
    """A request whose X-Config-Token line is over aiohttp's 8 KiB limit; the raw answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"GET /orders/dev HTTP/1.1\r\nHost: x\r\nX-Config-Token: "
            + token.encode()
            + b"x" * 9000
            + b"\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def seeds() -> Seeds:
    return Seeds()


@pytest.fixture(scope="module")
def run(seeds: Seeds, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Start the server with every secret from a file, drive it through successes and failures, stop it."""
    tmp = tmp_path_factory.mktemp("leaks")
    cipher = SymmetricEncryptor(seeds.encrypt_key, "deadbeef").encrypt(seeds.plaintext)
    remote = GitRemote(tmp / "git")
    remote.write({"orders.yml": f"orders:\n  password: '{{cipher}}{cipher}'\n", "payments.yml": "p: 1\n"})
    files = {name: tmp / name for name in ("encrypt.key", "audit.key", "monitor.secret")}
    files["encrypt.key"].write_text(seeds.encrypt_key + "\n")
    files["audit.key"].write_text(seeds.audit_key + "\n")
    files["monitor.secret"].write_text(seeds.monitor_secret + "\n")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp / "jwt.pem").write_bytes(
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp / "policy.yml").write_text(POLICY)
    passwords = {"orders": seeds.password, "payments": seeds.password + "p", "ops": seeds.password + "o"}
    argv = ["--repo", remote.uri, "--basedir", str(tmp / "clone"), "--port", "0", "--log-level", "DEBUG"]
    argv += [
        "--log-format",
        "json",
    ]  # what a collector reads; the text format is grepped in test_secrets_leak
    argv += [
        "--auth-users",
        str(users_file(tmp / "users", passwords)),
        "--access-policy",
        str(tmp / "policy.yml"),
    ]
    argv += ["--jwt-public-key", str(tmp / "jwt.pem"), "--jwt-audience", "config-server"]
    argv += ["--encrypt-key-file", str(files["encrypt.key"]), "--audit-log", str(tmp / "audit.log")]
    argv += ["--audit-key-file", str(files["audit.key"])]
    env = {"CONFIG_SERVER_MONITOR_SECRET_FILE": str(files["monitor.secret"])}
    errors: list[str] = []
    with server_process(argv, env=env) as server:
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        url = server.url

        def call(
            method: str, path: str, headers: dict[str, str], data: bytes | str | None = None, *, ok: int
        ) -> str:
            resp = requests.request(method, url + path, headers=headers, data=data, timeout=10)
            assert resp.status_code == ok, (method, path, resp.status_code, resp.text[:200])
            if resp.status_code >= 400:
                errors.append(resp.text + repr(dict(resp.headers)))
            return resp.text

        token = {"X-Config-Token": seeds.config_token}
        assert seeds.plaintext in call(
            "GET", "/orders/dev", {**token, **_basic("orders", seeds.password)}, ok=200
        )
        call("GET", "/orders/dev", {**token, **_basic("orders", seeds.wrong_password)}, ok=401)
        call("GET", "/orders/dev", {**token, "Authorization": "Bearer " + seeds.bearer}, ok=401)
        call("GET", "/orders/dev", {**token, "Authorization": "Bearer " + seeds.bearer + " extra"}, ok=401)
        mangled = base64.b64encode(f"orders:{seeds.password}".encode()).decode()[:-3] + "!!!"
        call("GET", "/orders/dev", {**token, "Authorization": "Basic " + mangled}, ok=401)
        call("GET", "/orders/dev", {"Authorization": "Digest " + seeds.password}, ok=401)
        call("GET", "/orders/dev", {**token, **_basic("payments", seeds.password + "p")}, ok=403)
        call("GET", "/orders/dev", token, ok=401)
        ops = _basic("ops", seeds.password + "o")
        ciphertext = call("POST", "/encrypt", {**ops, **TEXT}, seeds.plaintext, ok=200)
        assert call("POST", "/decrypt", {**ops, **TEXT}, ciphertext, ok=200) == seeds.plaintext
        call("POST", "/decrypt", {**ops, **TEXT}, ciphertext[:-4] + "0000", ok=400)
        call("POST", "/encrypt", {**_basic("orders", seeds.password), **TEXT}, seeds.plaintext, ok=403)
        hook = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64}
        call("POST", "/monitor", {**hook, "X-GitHub-Event": "push"}, b'{"commits": []}', ok=401)
        health = requests.get(url + "/actuator/health", headers=ops, timeout=10).text
        errors.append(health)
        oversized = _oversized_header(url, seeds.config_token).decode("latin-1")
    assert server.process.returncode == 0, server.output
    return Run(server.output, (tmp / "audit.log").read_text(), errors, cmdline, oversized)


@pytest.mark.parametrize("name", list(vars(Seeds()).keys()))
def test_no_seeded_secret_is_in_the_log(run: Run, seeds: Seeds, name: str) -> None:
    """The DEBUG log of a run through successes and failures holds none of the seeded secrets."""
    assert seeds.all()[name] not in run.output


def test_the_log_is_json_lines_with_one_access_line_per_request(run: Run) -> None:
    """Every --log-format json line parses; each request has its line, with a trace id and no raw path."""
    lines = [json.loads(line) for line in run.output.splitlines()]
    assert all({"timestamp", "severity", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "config_server.access"]
    assert len(access) >= 10 and all(len(line["trace_id"]) == 32 for line in access)
    assert {line["http.route"] for line in access} >= {"/{application}/{profiles}", "/encrypt", "/decrypt"}
    assert {line.get("user.id") for line in access} >= {"user:orders", "user:ops"}
    assert not any("/orders/dev" in json.dumps(line) for line in access)  # templates, never raw paths


@pytest.mark.parametrize("name", list(vars(Seeds()).keys()))
def test_no_seeded_secret_is_in_the_audit_file(run: Run, seeds: Seeds, name: str) -> None:
    """The audit lines of every request (refused ones too) hold none of the seeded secrets."""
    assert run.audit.count("\n") >= 14
    assert seeds.all()[name] not in run.audit


@pytest.mark.parametrize("name", list(vars(Seeds()).keys()))
def test_no_seeded_secret_is_in_an_error_body(run: Run, seeds: Seeds, name: str) -> None:
    """No 401, 403 or 400 body or header, nor health with its details, echoes a seeded secret."""
    assert len(run.errors) == 11
    for body in run.errors:
        assert seeds.all()[name] not in body


def test_the_answer_to_an_oversized_header_does_not_echo_it(run: Run, seeds: Seeds) -> None:
    """A header line over 8 KiB is refused (431) without its bytes (an X-Config-Token) in the answer."""
    assert run.oversized.startswith("HTTP/1.")
    assert " 431 " in run.oversized.splitlines()[0]
    assert seeds.config_token not in run.oversized


def test_the_bearer_tokens_subject_is_not_logged_either(run: Run, seeds: Seeds) -> None:
    """Even the unverified token's claims (its subject) stay out of the log and the audit file."""
    subject = base64.urlsafe_b64decode(seeds.bearer.split(".")[1] + "==").decode()[8:-2]
    assert subject not in run.output and subject not in run.audit


@pytest.mark.parametrize("name", ["encrypt_key", "audit_key", "monitor_secret"])
def test_secrets_given_by_file_are_not_on_the_command_line(run: Run, seeds: Seeds, name: str) -> None:
    """/proc/<pid>/cmdline of a server given --X-file or CONFIG_SERVER_X_FILE names files, not secrets."""
    assert getattr(seeds, name).encode() not in run.cmdline
    assert b"--encrypt-key-file" in run.cmdline


def test_a_secret_given_as_a_flag_logs_the_warning(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """--encrypt-key VALUE works, and the log warns it is readable in ps, without the value."""
    key = seed()
    with caplog.at_level(logging.WARNING, logger="config_server.cli"):
        assert main(["encrypt", "--repo", "-", "--encrypt-key", key, "hello"]) == 0
    assert capsys.readouterr().out.startswith("{cipher}")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "--encrypt-key was given on the command line" in w and "--encrypt-key-file" in w for w in warnings
    )
    assert not any(key in w for w in warnings)
