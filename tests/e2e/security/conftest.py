"""Security end-to-end fixtures: the real server (in a thread of its own, or a subprocess), real git.

``config_repo`` is one git remote per module holding ``orders``, ``payments`` and ``catalog``
configuration, each with a secret value the tests look for (or must not find) in answers.
``running_server`` serves it on ``127.0.0.1`` (HTTPS when ``tls_cert`` is set, with the context
the server built itself), so synchronous clients (requests, http.client, ssl, a subprocess) can
talk to it from the test. ``POLICY`` is the access policy of ``config_server.policy``'s docstring
plus a ``role:reader`` rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config_server import components
from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.settings import Settings
from tests.support.gitrepo import GitRemote
from tests.support.paths import REPO_ROOT

HTPASSWD = "/usr/bin/htpasswd"

SECRETS = {"orders": "orders-db-secret", "payments": "payments-db-secret", "catalog": "catalog-db-secret"}
"""Each application's ``db.password``: an answer may show only its own caller's."""

POLICY = """
roles:
  config-admin: ["user:ops"]
rules:
  - principals: ["user:*", "jwt:*", "cert:*", "spiffe://cluster.local/ns/*/sa/*"]
    applications: ["{name}"]
    profiles: ["*"]
    labels: ["main", "release-*"]
    actions: [read]
  - principals: ["role:reader"]
    applications: ["catalog"]
    actions: [read]
  - principals: ["role:config-admin"]
    applications: ["*"]
    actions: [read, encrypt, decrypt, key]
"""


@pytest.fixture(scope="module")
def config_repo(tmp_path_factory: pytest.TempPathFactory) -> GitRemote:
    """A remote with ``orders``, ``payments`` and ``catalog`` (each its own ``db.password``)."""
    remote = GitRemote(tmp_path_factory.mktemp("git"))
    files = {f"{app}.yml": f"db:\n  password: {secret}\nservice: {app}\n" for app, secret in SECRETS.items()}
    remote.write({"application.yml": "greeting: hello\n", **files})
    return remote


@dataclass(frozen=True)
class Server:
    """A running server: its base URL and its application."""

    url: str
    app: web.Application

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def running_server(remote: GitRemote, basedir: Path, **settings: Any) -> Iterator[Server]:
    """The server for ``remote`` on ``127.0.0.1`` (a free port), its event loop in a thread of its own.

    Keyword arguments are ``Settings`` fields. With ``tls_cert`` it serves HTTPS with the
    ``ServerTLS`` context ``install`` built (so certificate reloads are the product's own).
    """
    settings.setdefault("refresh_rate", 3600)
    app = create_app(Settings(repo=remote.uri, basedir=basedir, port=0, **settings))
    tls = app[components.TLS]
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1, **RUNNER_OPTIONS)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="security-server", daemon=True)
    thread.start()

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.context if tls else None)
        await site.start()
        return int(runner.addresses[0][1])

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        yield Server(f"{'https' if tls else 'http'}://127.0.0.1:{port}", app)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def htpasswd(path: Path, user: str, password: str, *, scheme: str = "-B", create: bool = False) -> None:
    """Add ``user`` to ``path`` with Apache's own ``htpasswd`` (``scheme``: -B, -m, -s, -d, -p)."""
    args = [HTPASSWD, "-b", scheme] + (["-c"] if create else []) + [str(path), user, password]
    subprocess.run(args, check=True, capture_output=True, timeout=10)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, as editors and config management do."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def config_server_command(
    *args: str, stdin: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m config_server ARGS`` from this checkout (its own package and client)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "client"), str(REPO_ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "config_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=timeout,
    )
