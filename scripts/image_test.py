"""`make image-test`: build the Dockerfile without a Docker engine and serve from the image.

1. A minimal Debian bookworm root file system with python3, its venv module, git, ssh and the CA
   certificates, made by ``debootstrap`` from the Debian mirror apt uses here (``DEBIAN_MIRROR``
   overrides it). The CAs this host trusts (``/usr/local/share/ca-certificates``: a company
   proxy's) are added, so pip in the build reaches PyPI the way the host does. Kept as a tarball
   under ``.cache/image-test/`` (gitignored): reruns skip this minute.
2. That tarball imported as a base image (``buildah from scratch``, ``add``, ``commit``), kept in
   a private buildah store under the same folder (``--storage-driver vfs``: no overlay needed).
3. ``buildah bud --isolation chroot --build-arg BASE_IMAGE=<that image>``: the real Dockerfile.
   The image's configuration is checked: non-root user, port 8888, the liveness HEALTHCHECK,
   SIGTERM as stop signal.
4. ``buildah run`` (the host's network) serves a sample repository (``config-repo/`` as a bare
   repository, mounted read-only) on 127.0.0.1; from the host, ``/actuator/health`` and its
   liveness and readiness probes are UP and ``/orders/dev`` is served. Then SIGTERM to the
   server: it exits 0 with "stopping" logged.
5. The container and the built image are removed (the base image stays cached).

Needs root (debootstrap, chroot), ``buildah`` and ``debootstrap`` (Debian packages; ``.ci/run``
installs them). Prints how long each step took. Exit status 0 when every check passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "image-test"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "git", "openssh-client", "ca-certificates")
IMAGE = "localhost/config-server:image-test"
UID = 10001  # the Dockerfile's user
STORE = [
    "--root",
    str(CACHE / "storage"),
    "--runroot",
    str(CACHE / "run"),
    "--storage-driver",
    "vfs",
]


T = TypeVar("T")


class Failed(Exception):
    """A step or a check failed; the message says which."""


def main() -> int:
    if os.geteuid() != 0:
        print("image-test: needs root (debootstrap and buildah's chroot isolation)", file=sys.stderr)
        return 2
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            print(f"image-test: {tool} not found (apt-get install {tool})", file=sys.stderr)
            return 2
    started = time.monotonic()
    try:
        tarball = _step("base root file system", _rootfs)
        base = _step("base image", lambda: _base_image(tarball))
        _step("buildah bud", lambda: _build(base))
        _step("image configuration", _check_config)
        _step("serve from the image", _serve)
    except Failed as failure:
        print(f"image-test: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        _buildah("rmi", "--force", IMAGE, check=False)
    print(f"image-test: passed in {time.monotonic() - started:.0f} s")
    return 0


def _step(name: str, run: Callable[[], T]) -> T:
    print(f"image-test: {name}...", flush=True)
    began = time.monotonic()
    result = run()
    print(f"image-test: {name}: {time.monotonic() - began:.1f} s", flush=True)
    return result


# --- 1. the base root file system ---


def _rootfs() -> Path:
    """The cached tarball of a minbase bookworm with PACKAGES (made when missing)."""
    key = hashlib.sha256(" ".join((SUITE, *PACKAGES, *_host_cas())).encode()).hexdigest()[:12]
    tarball = CACHE / f"{SUITE}-rootfs-{key}.tar"
    if tarball.exists():
        print(f"  cached: {tarball.relative_to(ROOT)}")
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"{SUITE}-rootfs-*.tar"):
        stale.unlink()
    mirror = os.environ.get("DEBIAN_MIRROR") or _apt_mirror()
    print(f"  debootstrap {SUITE} from {mirror}")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run(
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            mirror,
        )
        for cert in _host_cas():
            shutil.copy(cert, rootfs / "usr/local/share/ca-certificates")
        _run("chroot", str(rootfs), "update-ca-certificates")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        partial = tarball.with_suffix(".partial")
        _run("tar", "-C", str(rootfs), "-cf", str(partial), ".")
        partial.rename(tarball)
    return tarball


def _host_cas() -> list[str]:
    return sorted(str(p) for p in Path("/usr/local/share/ca-certificates").glob("*.crt"))


def _apt_mirror() -> str:
    """The first Debian mirror apt uses for SUITE here (deb822 .sources or one-line lists)."""
    apt = Path("/etc/apt")
    for sources in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in sources.read_text().split("\n\n"):
            fields = dict(
                (m.group(1).lower(), m.group(2).split())
                for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE)
            )
            if SUITE in fields.get("suites", []) and "deb" in fields.get("types", []):
                return fields["uris"][0]
    for listing in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]:
        if listing.exists():
            for line in listing.read_text().splitlines():
                words = [w for w in line.split() if not w.startswith("[")]
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    return "http://deb.debian.org/debian"


# --- 2 and 3. the images ---


def _base_image(tarball: Path) -> str:
    name = f"localhost/config-server-base:{tarball.stem}"
    if _buildah("images", "--quiet", name, check=False).returncode == 0:
        print(f"  cached: {name}")
        return name
    container = _buildah("from", "--quiet", "scratch").stdout.strip()
    try:
        _buildah("add", container, str(tarball), "/")
        _buildah(
            "config",
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--cmd",
            "/bin/sh",
            container,
        )
        _buildah("commit", "--quiet", container, name)
    finally:
        _buildah("rm", container, check=False)
    return name


def _build(base: str) -> None:
    _buildah(
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",  # OCI image configs have no HEALTHCHECK
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--tag",
        IMAGE,
        str(ROOT),
        capture=False,
    )


def _check_config() -> None:
    inspected = json.loads(_buildah("inspect", "--type", "image", IMAGE).stdout)
    config = inspected["Docker"]["config"]
    health = " ".join((config.get("Healthcheck") or {}).get("Test") or [])
    checks = {
        "runs as a non-root user": config.get("User", "").split(":")[0] not in ("", "0", "root"),
        "exposes 8888/tcp": "8888/tcp" in (config.get("ExposedPorts") or {}),
        "health check on liveness": "/actuator/health/liveness" in health,
        "stop signal SIGTERM": config.get("StopSignal") == "SIGTERM",
        "entrypoint config-server serve": config.get("Entrypoint") == ["config-server", "serve"],
    }
    for check, passed in checks.items():
        print(f"  {'ok' if passed else 'FAILED'}: {check}")
    if not all(checks.values()):
        raise Failed("the image's configuration")


# --- 4. serving ---


def _serve() -> None:
    with tempfile.TemporaryDirectory(prefix="image-test-") as tmp:
        _run(sys.executable, str(ROOT / "scripts" / "sample_repo.py"), tmp)
        repo = Path(tmp) / "config-repo.git"
        _chown(repo, UID)  # git refuses a repository another user owns
        port = _free_port()
        container = _buildah("from", "--quiet", IMAGE).stdout.strip()
        log = Path(tmp) / "server.log"
        try:
            with log.open("w") as out:
                runner = subprocess.Popen(
                    [
                        "buildah",
                        *STORE,
                        "run",
                        "--isolation",
                        "chroot",
                        "--network",
                        "host",
                        "--volume",
                        f"{repo}:/srv/config-repo.git:ro",
                        "--env",
                        "CONFIG_SERVER_HOST=127.0.0.1",  # loopback: serves without authentication
                        "--env",
                        f"CONFIG_SERVER_PORT={port}",
                        "--env",
                        "CONFIG_SERVER_REPO=/srv/config-repo.git",
                        "--env",
                        "CONFIG_SERVER_SEARCH_PATHS=shared,teams/{application}",
                        container,
                        "--",
                        "config-server",
                        "serve",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                _check_http(port, runner)
                _stop(runner)
            finally:
                if runner.poll() is None:
                    runner.kill()
                    runner.wait()
                print("  server log:\n    " + log.read_text().strip().replace("\n", "\n    "))
        finally:
            _buildah("rm", container, check=False)
        if "stopping" not in log.read_text():
            raise Failed("the server did not log 'stopping' on SIGTERM")


def _check_http(port: int, runner: subprocess.Popen[bytes]) -> None:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/actuator/health", timeout=5) as answer:
                health = json.load(answer)
            break
        except OSError:
            if runner.poll() is not None:
                raise Failed(f"the server exited with status {runner.returncode}") from None
            if time.monotonic() > deadline:
                raise Failed("the server did not answer /actuator/health within 90 s") from None
            time.sleep(0.5)
    print(f"  GET /actuator/health: {health['status']}")
    if health["status"] != "UP":
        raise Failed(f"health is {health['status']}")
    for probe in ("liveness", "readiness"):  # what the image's HEALTHCHECK and Kubernetes ask
        with urllib.request.urlopen(f"{base}/actuator/health/{probe}", timeout=5) as answer:
            status = json.load(answer)["status"]
        print(f"  GET /actuator/health/{probe}: {status}")
        if status != "UP":
            raise Failed(f"{probe} is {status}")
    with urllib.request.urlopen(f"{base}/orders/dev", timeout=10) as answer:
        environment = json.load(answer)
    sources = [source["name"] for source in environment["propertySources"]]
    print(f"  GET /orders/dev: version {environment['version'][:12]}, sources {sources}")
    if environment["name"] != "orders" or not any(s.endswith("orders-dev.yml") for s in sources):
        raise Failed("/orders/dev does not serve orders-dev.yml")


def _stop(runner: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server itself: ``buildah run`` kills its command instead of passing a signal on."""
    server = _server_pid(runner.pid)
    os.kill(server, signal.SIGTERM)
    try:
        status = runner.wait(timeout=25)
    except subprocess.TimeoutExpired:
        raise Failed("the server did not exit within 25 s of SIGTERM") from None
    print(f"  SIGTERM: exited with status {status}")
    if status != 0:
        raise Failed(f"the server exited with status {status} on SIGTERM")


def _server_pid(ancestor: int) -> int:
    """The config-server process under ``ancestor`` (buildah, its chroot runtime, the exec)."""
    pending = [ancestor]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            # python3 /opt/venv/bin/config-server serve (not buildah-chroot-exec, its parent)
            if b"python" in command[0] and command[1:2] and command[1].endswith(b"/config-server"):
                return pid
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in task.read_text().split())
    raise Failed("no config-server process under buildah run")


# --- helpers ---


def _buildah(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
    return _run("buildah", *STORE, *args, check=check, capture=capture)


def _run(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, text=True, capture_output=capture, check=False)
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip()[-2000:] if capture else ""
        raise Failed(f"{' '.join(args[:3])}... exited with {done.returncode}\n{detail}")
    return done


def _chown(tree: Path, uid: int) -> None:
    for path in [tree, *tree.rglob("*")]:
        os.lchown(path, uid, uid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    raise SystemExit(main())
