"""Release metadata: the two distributions' names, versions, pin and licence agree."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path
from typing import Any

import config_server
from tests.support.containment import REPO

# Unrelated projects own these names on PyPI: installing under them fetches someone else's code.
TAKEN_ON_PYPI = {"config-client", "config-server"}


def project(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(path.read_text())["project"]
    return data


SERVER = project(REPO / "pyproject.toml")
CLIENT = project(REPO / "client" / "pyproject.toml")


def client_pin() -> str:
    """The version the server requires of the client (its ``name==X`` dependency)."""
    pins = [d for d in SERVER["dependencies"] if re.split(r"[=<>!~ ;\[]", d, maxsplit=1)[0] == CLIENT["name"]]
    assert len(pins) == 1, SERVER["dependencies"]
    match = re.fullmatch(rf"{re.escape(CLIENT['name'])}==([\w.]+)", pins[0])
    assert match, f"the client must be pinned exactly, not {pins[0]!r}"
    return match.group(1)


def test_neither_distribution_uses_a_name_taken_on_pypi() -> None:
    """`pip install` of either name gets this project, not an unrelated one."""
    assert {SERVER["name"], CLIENT["name"]}.isdisjoint(TAKEN_ON_PYPI)


def test_the_server_pins_the_client_at_the_clients_version() -> None:
    """Installing the server alone installs exactly the client it was tested with."""
    assert client_pin() == CLIENT["version"]


def test_server_and_client_are_released_with_one_version() -> None:
    """config_server.__version__ (the server's dynamic version) is the client's version too."""
    assert SERVER["dynamic"] == ["version"]
    assert config_server.__version__ == CLIENT["version"]


def test_the_installed_metadata_matches_the_sources() -> None:
    """What pip installed in this environment is what the pyproject files say (re-run make install)."""
    assert importlib.metadata.version(SERVER["name"]) == config_server.__version__
    assert importlib.metadata.version(CLIENT["name"]) == CLIENT["version"]


def test_the_command_is_still_config_server() -> None:
    """The rename keeps the ``config-server`` command."""
    assert SERVER["scripts"] == {"config-server": "config_server.cli:main"}


def test_both_distributions_ship_the_apache_licence() -> None:
    """Apache-2.0 as an SPDX expression, with the full text in each distribution's folder."""
    text = (REPO / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert (REPO / "client" / "LICENSE").read_text() == text
    for meta in (SERVER, CLIENT):
        assert (meta["license"], meta["license-files"]) == ("Apache-2.0", ["LICENSE"])
