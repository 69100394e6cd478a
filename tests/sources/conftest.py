"""Fixtures for the git backend specs: opened repositories and started sources, always closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config_server.sources.git.patterns import MAX_CLONES, GitRepositories
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repos import RepoSpec
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


def pattern_group(
    default_uri: str,
    spec: RepoSpec,
    tmp_path: Path,
    *,
    access: RemoteAccess | None = None,
    refresh_rate: float = 3600.0,
    max_clones: int = MAX_CLONES,
) -> GitRepositories:
    """A GitRepositories (not started) of a default repository and ``spec``, both resolved as the
    server resolves them with ``access`` and ``refresh_rate`` (label ``main``, no search paths)."""
    resolved: dict[str, Any] = {
        "access": access or RemoteAccess(),
        "default_label": "main",
        "refresh_rate": refresh_rate,
        "search_paths": (),
    }
    return GitRepositories(
        default=RepoSpec(name="git", uri=default_uri).resolved(**resolved),
        repos=[spec.resolved(**resolved)],
        basedir=tmp_path / "clone",
        repos_dir=tmp_path / "repos",
        max_clones=max_clones,
    )
