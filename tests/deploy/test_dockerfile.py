"""The Dockerfile's promises, read from its text (``make image-test`` builds and runs it for real)."""

from __future__ import annotations

import re

from config_server.settings import OPTIONS
from tests.deploy.conftest import DOCKERFILE

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
