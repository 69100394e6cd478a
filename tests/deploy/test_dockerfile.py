"""The Dockerfile's promises, read from its text (``make image-test`` builds and runs it for real)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from config_server.settings import OPTIONS
from tests.deploy.conftest import DOCKERFILE
from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process

TEXT = DOCKERFILE.read_text()
# Instructions with their continuation lines joined, comments dropped.
_CODE = "\n".join(line for line in TEXT.splitlines() if not line.lstrip().startswith("#"))
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n", " ", _CODE).splitlines() if line.strip()]


def _all(keyword: str) -> list[str]:
    return [i.split(None, 1)[1] for i in INSTRUCTIONS if i.split(None, 1)[0] == keyword]


def test_the_base_image_is_an_argument_used_by_every_stage() -> None:
    """ARG BASE_IMAGE=python:3.12-slim comes first, and every FROM builds on it (two stages)."""
    assert INSTRUCTIONS[0] == "ARG BASE_IMAGE=python:3.12-slim"
    froms = _all("FROM")
    assert len(froms) == 2 and all(f.startswith("${BASE_IMAGE}") for f in froms)


def test_it_installs_as_ci_does_without_the_test_extra() -> None:
    """pip installs ./client then . into /opt/venv, with python3 (not python: Debian's has none)."""
    [build] = [run for run in _all("RUN") if "pip install" in run]
    assert "python3 -m venv /opt/venv" in build
    assert re.search(r"/opt/venv/bin/pip install (-q )?\./client \.( |$)", build)
    assert "[test]" not in TEXT


def test_it_runs_as_a_non_root_user() -> None:
    """USER is a numeric non-zero uid (Kubernetes' runAsNonRoot can check it)."""
    [user] = _all("USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)


def test_port_health_check_and_stop_signal() -> None:
    """Port 8888, a HEALTHCHECK on liveness (Python, no curl), SIGTERM to stop, config-server serve."""
    assert _all("EXPOSE") == ["8888"]
    [health] = _all("HEALTHCHECK")
    assert "/actuator/health/liveness" in health and "urllib.request" in health
    assert _all("STOPSIGNAL") == ["SIGTERM"]
    assert _all("ENTRYPOINT") == ['["config-server", "serve"]']


def test_no_secret_setting_is_baked_in() -> None:
    """No ENV or ARG sets a secret option: secrets come from the environment or mounted files at run time."""
    secrets = {option.env for option in OPTIONS if option.secret}
    baked = " ".join(_all("ENV") + _all("ARG"))
    assert not {name for name in secrets if name in baked}


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_the_healthcheck_command_passes_against_a_live_server(tmp_path: Path, tls: bool) -> None:
    """The HEALTHCHECK's own Python, run with the image's variables, passes against a real server:
    over HTTP, and over HTTPS when CONFIG_SERVER_TLS_CERT is set (and fails when nothing listens)."""
    [health] = _all("HEALTHCHECK")
    code = json.loads(health.split("CMD", 1)[1])[-1]
    remote = GitRemote(tmp_path / "remote")
    remote.write({"a.yml": "a: 1\n"})
    env: dict[str, str] = {}
    if tls:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
        env = {
            "CONFIG_SERVER_TLS_CERT": str(tmp_path / "server.pem"),
            "CONFIG_SERVER_TLS_KEY": str(tmp_path / "server.pem"),
        }
    with server_process(
        ["--repo", remote.path, "--basedir", str(tmp_path / "clone"), "--port", "0"], env=env
    ) as server:
        port = server.url.rsplit(":", 1)[1]
        probe = {**os.environ, **env, "CONFIG_SERVER_PORT": port}
        assert server.url.startswith("https" if tls else "http:")
        assert subprocess.run([sys.executable, "-c", code], env=probe, timeout=10).returncode == 0
    closed = {**os.environ, **env, "CONFIG_SERVER_PORT": port}
    assert (
        subprocess.run([sys.executable, "-c", code], env=closed, capture_output=True, timeout=10).returncode
        != 0
    )
