"""The deployment files as data: every document of ``deploy/kubernetes/`` and the Dockerfile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
MANIFESTS = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and the file it came from."""

    file: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def __str__(self) -> str:
        return f"{self.file}:{self.kind}/{self.name}"


def manifests() -> list[Manifest]:
    """Every object of every ``*.yaml`` file under ``deploy/kubernetes/``, in file order."""
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body is not None:
                found.append(Manifest(path.name, body))
    return found


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of ``kind`` (and ``name``); AssertionError when not exactly one."""
    bodies = [m.body for m in manifests() if m.kind == kind and (name is None or m.name == name)]
    assert len(bodies) == 1, f"{len(bodies)} {kind} {name or ''}"
    return bodies[0]
