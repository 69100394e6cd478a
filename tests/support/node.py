"""Node for the tests that run real npm packages (oidc-provider, the Node Spring config client).

``make`` installs ``tests/support/node/package-lock.json`` into the virtualenv (``.venv/node``),
outside the test tree; the scripts here load their packages from ``NODE_MODULES`` (``modules.mjs``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

__all__ = ["NODE_DIR", "NODE_MODULES", "node_env", "require_node"]

NODE_DIR = Path(__file__).parent / "node"
NODE_MODULES = Path(sys.prefix) / "node" / "node_modules"


def require_node(package: str) -> str:
    """The ``node`` executable; skips the test when Node or ``package`` is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"node is not installed: the test runs the npm package {package} (Node 20+)")
    if not (NODE_MODULES / package).is_dir():
        pytest.skip(f"{package} is not installed in {NODE_MODULES}: `make test` installs it (npm ci)")
    return node


def node_env(**values: str) -> dict[str, str]:
    """A minimal environment for a Node script: PATH, NODE_MODULES and ``values``."""
    return {"PATH": os.environ.get("PATH", ""), "NODE_MODULES": str(NODE_MODULES), **values}
