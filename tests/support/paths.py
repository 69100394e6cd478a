"""Where the repository's own files are, for tests that read them (README, manifests, packages)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this test suite belongs to (``tests/support/`` is two levels below it)."""
