"""A real OpenSSH server on a loopback port serving bare git repositories by absolute path.

By default it listens on a free port of 127.0.0.1; ``start_sshd(root, address=..., port=22)`` puts
it on port 22 of another loopback address (all of 127/8 is loopback on Linux), the only place an
scp-like ``user@host:path`` URI, which cannot name a port, can reach.

Everything is generated under one directory: the host key, the user keys (a plain ed25519 key in
``authorized_keys``, one that is not, one protected by a passphrase, one in PEM format), the
``sshd_config`` and the pid file. The server runs in the foreground (``-D -e``) as the current
user (root here and in CI: ``PermitRootLogin prohibit-password``), never as the system service.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, stop_process, wait_started

__all__ = ["SSHD", "Sshd", "start_sshd"]

SSHD = "/usr/sbin/sshd"
PASSPHRASE = "correct horse battery staple"


def _keygen(path: Path, *, kind: str = "ed25519", passphrase: str = "", pem: bool = False) -> Path:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", path.name, "-f", str(path)]
    if pem:
        args[4:4] = ["-b", "2048", "-m", "PEM"]
    subprocess.run(args, check=True, capture_output=True)
    return path


@dataclass
class Sshd:
    """A running sshd: its port, keys and a ``known_hosts`` file trusting its host key."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    host_key: Path
    key: Path
    """Authorized, no passphrase (OpenSSH format)."""
    wrong_key: Path
    """Not in ``authorized_keys``."""
    passphrase_key: Path
    """Authorized, protected by ``PASSPHRASE``."""
    pem_key: Path
    """Authorized, RSA in the old PEM format."""
    known_hosts: Path
    """The server's real host key for ``[address]:port`` (plain ``address`` on port 22)."""
    other_known_hosts: Path
    """Another key for the same host: what a changed host key looks like."""
    address: str = "127.0.0.1"

    def uri(self, path: Path) -> str:
        """``ssh://root@ADDRESS:PORT/abs/path``: the repository at ``path`` over this server."""
        return f"ssh://root@{self.address}:{self.port}{path.resolve()}"

    def scp_uri(self, path: Path) -> str:
        """``root@ADDRESS:/abs/path``: scp-like, so only right when the server is on port 22."""
        return f"root@{self.address}:{path.resolve()}"

    def stop(self) -> None:
        stop_process(self.process)


def start_sshd(root: Path, *, address: str = "127.0.0.1", port: int | None = None) -> Sshd:
    """Generate keys and a config under ``root`` and start sshd on ``address`` and ``port`` (a
    free port of 127.0.0.1 by default); waits until it accepts connections. Raises
    ``RuntimeError`` if it does not start within 10 s (say, the port is taken: the log says)."""
    root.mkdir(parents=True, exist_ok=True)
    # sshd refuses to start without its privilege-separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key = _keygen(root / "host_ed25519")
    other_host_key = _keygen(root / "other_host_ed25519")
    key = _keygen(root / "id_ed25519")
    wrong_key = _keygen(root / "id_wrong")
    passphrase_key = _keygen(root / "id_passphrase", passphrase=PASSPHRASE)
    pem_key = _keygen(root / "id_pem", kind="rsa", pem=True)
    authorized = root / "authorized_keys"
    authorized.write_text(
        "".join(Path(f"{k}.pub").read_text() for k in (key, passphrase_key, pem_key)), encoding="utf-8"
    )
    port = free_port() if port is None else port
    known_hosts = root / "known_hosts"
    known_hosts.write_text(_known_line(address, port, host_key), encoding="utf-8")
    other = root / "other_known_hosts"
    other.write_text(_known_line(address, port, other_host_key), encoding="utf-8")
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                f"ListenAddress {address}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {root / 'sshd.pid'}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "LogLevel ERROR",
                "",
            ]
        ),
        encoding="utf-8",
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    log = root / "sshd.log"  # a file, not a pipe nobody drains
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stderr=out, env=env
        )
    wait_started(process, lambda: _greets(address, port), name="sshd", log=log)
    return Sshd(
        root=root,
        port=port,
        process=process,
        host_key=host_key,
        key=key,
        wrong_key=wrong_key,
        passphrase_key=passphrase_key,
        pem_key=pem_key,
        known_hosts=known_hosts,
        other_known_hosts=other,
        address=address,
    )


def _greets(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _known_line(address: str, port: int, host_key: Path) -> str:
    kind, blob = Path(f"{host_key}.pub").read_text(encoding="utf-8").split()[:2]
    host = address if port == 22 else f"[{address}]:{port}"  # OpenSSH's own form for each
    return f"{host} {kind} {blob}\n"
