"""Fixtures for the git backend specs: opened repositories that are always closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config_server.sources.git.repository import GitRepository

OpenRepo = Callable[..., GitRepository]


@pytest.fixture
def open_repo(tmp_path: Path) -> Iterator[OpenRepo]:
    """``open_repo(uri, basedir=..., **kw)``: a GitRepository, opened; closed after the test."""
    made: list[GitRepository] = []

    def make(uri: str, *, basedir: Path | None = None, **kwargs: Any) -> GitRepository:
        repo = GitRepository(uri=uri, basedir=basedir or tmp_path / "clone", **kwargs)
        made.append(repo)
        repo.open()
        return repo

    yield make
    for repo in made:
        repo.close()
