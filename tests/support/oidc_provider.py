"""A real OAuth 2.0 authorization server for tests: the npm package ``oidc-provider`` under Node.

``tests/support/node/oidc_server.mjs`` runs it on a loopback port with one confidential client
(``client_id``, authenticating with ``client_secret_basic``) and its twin ``client_id + "-post"``
(same secret, ``client_secret_post``), both allowed the client-credentials grant. Access tokens
are RS256 JWTs with audience ``AUDIENCE``, valid ``access_token_ttl`` seconds; the public keys
are at ``jwks_url``::

    with OidcProvider(access_token_ttl=3) as idp:
        OAuth2(token_url=idp.token_url, client_id=idp.client_id, client_secret=idp.client_secret)

The secret is handed to Node in its environment, never on a command line. When ``node`` or the
installed packages are missing, ``start()`` skips the test and says which command installs them.
"""

from __future__ import annotations

import secrets
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.support.node import NODE_DIR, node_env, require_node
from tests.support.processes import read_log, stop_process

SCRIPT = NODE_DIR / "oidc_server.mjs"
AUDIENCE = "config-server"
SCOPE = "config.read"
_START_TIMEOUT = 20.0


class OidcProvider:
    """One ``oidc-provider`` process; ``start()``/``stop()`` or a context manager.

    ``url`` (= ``issuer``), ``token_url``, ``jwks_url``; ``client_id`` and ``client_secret``
    (random per instance, with characters that Basic authentication must form-encode).
    """

    def __init__(self, *, access_token_ttl: int = 300, client_id: str = "config-client") -> None:
        self.access_token_ttl = access_token_ttl
        self.client_id = client_id
        self.client_secret = "s3cr:et/+ " + secrets.token_urlsafe(16)
        self.issuer = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
        self._log_path = self._log_dir / "stderr.log"

    @property
    def url(self) -> str:
        """The provider's base URL, which is also its issuer."""
        return self.issuer

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def start(self) -> OidcProvider:
        """Start Node and wait for its ready line; skips the test if Node or the packages are missing."""
        node = require_node("oidc-provider")
        env = node_env(OIDC_CLIENT_ID=self.client_id, OIDC_CLIENT_SECRET=self.client_secret)
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [node, str(SCRIPT), "0", str(self.access_token_ttl)],
                cwd=NODE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            self.issuer = self._wait_ready()
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"oidc-provider {exc}; stderr:\n{self.log()}") from None
        return self

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        """Stop and remove the log directory."""
        self.stop()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def log(self) -> str:
        """What Node printed on stderr (warnings, crashes), for failure messages."""
        return read_log(self._log_path)

    def _wait_ready(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT
        out = self._proc.stdout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                break
            line = out.readline().decode(errors="replace").strip()
            if line.startswith("READY "):
                return line.removeprefix("READY ")
            if not line and self._proc.poll() is not None:
                raise RuntimeError(f"exited with status {self._proc.returncode} during start-up")
        raise RuntimeError(f"printed no ready line within {_START_TIMEOUT:.0f} s")
