"""Fixtures for the git backend specs: opened repositories and started sources, always closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config_server.sources.git.repository import GitRepository
from config_server.sources.git.source import GitSource

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


MakeSource = Callable[..., Awaitable[GitSource]]


@pytest.fixture
async def make_source(tmp_path: Path) -> AsyncIterator[MakeSource]:
    """``await make_source(uri, **kw)``: a started GitSource, closed after the test."""
    started: list[GitSource] = []

    async def make(uri: str, **kwargs: Any) -> GitSource:
        kwargs.setdefault("basedir", tmp_path / "clone")
        kwargs.setdefault("refresh_rate", 3600)
        source = GitSource(uri=uri, **kwargs)
        await source.start()
        started.append(source)
        return source

    yield make
    for source in started:
        await source.close()
