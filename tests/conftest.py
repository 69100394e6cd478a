"""Fixtures shared by the whole suite. Area-specific fixtures live in each folder's conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitrepo import GitRemote


@pytest.fixture
def git_remote(tmp_path: Path) -> GitRemote:
    """An empty bare remote on branch ``main`` with a work clone; write() commits and pushes."""
    return GitRemote(tmp_path / "git")
