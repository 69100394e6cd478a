"""Real git repositories for tests: a bare "remote" plus a work clone, changed by commit and push.

Uses the git command line (not the code under test), exactly as users change configuration.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stripped stdout; raises on failure."""
    env = {**os.environ, **_ENV}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


class GitRemote:
    """A bare repository (the remote the server clones) and a work clone to edit and push from.

    ``uri`` is a ``file://`` URL of the bare repository; ``path`` its plain path.
    """

    def __init__(self, root: Path, *, branch: str = "main") -> None:
        self.root = root
        self.bare = root / "remote.git"
        self.work = root / "work"
        self.branch_name = branch
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--bare", "-q", f"--initial-branch={branch}", str(self.bare))
        git(root, "init", "-q", f"--initial-branch={branch}", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.bare))

    @property
    def uri(self) -> str:
        return self.bare.as_uri()

    @property
    def path(self) -> str:
        return str(self.bare)

    def write(
        self,
        files: Mapping[str, str | bytes],
        *,
        message: str = "change config",
        push: bool = True,
    ) -> str:
        """Write files (relative paths) in the work clone, commit, push; returns the commit id."""
        for rel, content in files.items():
            target = self.work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.push()
        return self.head()

    def delete(self, *paths: str, message: str = "delete config", push: bool = True) -> str:
        """Remove files, commit, push; returns the commit id."""
        git(self.work, "rm", "-q", "--", *paths)
        git(self.work, "commit", "-q", "-m", message)
        if push:
            self.push()
        return self.head()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def current_branch(self) -> str:
        return git(self.work, "rev-parse", "--abbrev-ref", "HEAD")

    def push(self) -> None:
        """Push the current branch and all tags (force, so rewritten history is pushed too)."""
        git(self.work, "push", "-q", "--force", "origin", "HEAD", "--tags")

    def checkout(self, branch: str, *, create: bool = False) -> None:
        """Switch the work clone to ``branch`` (creating it from the current commit if asked)."""
        if create:
            git(self.work, "checkout", "-q", "-b", branch)
        else:
            git(self.work, "checkout", "-q", branch)

    def tag(self, name: str, ref: str = "HEAD", *, push: bool = True) -> None:
        """Create (or move) a lightweight tag and push it."""
        git(self.work, "tag", "-f", name, ref)
        if push:
            git(self.work, "push", "-q", "--force", "origin", f"refs/tags/{name}")
