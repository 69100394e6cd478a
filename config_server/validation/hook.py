"""``config-server hook install``: a git ``pre-receive`` hook that refuses pushes that do not validate.

The hook is a short shell script that runs ``config-server hook pre-receive`` with the Python
interpreter and the package that installed it (their paths are written into the script, so a
virtualenv need not be on the git server's ``PATH``). It holds no secret: keys come, at push
time, from the ``--config`` file it names (the path is recorded, never the content) and from the
``CONFIG_SERVER_*`` environment of the git server. Every ref update of a push (deletions aside)
is validated at its new commit, read from the pushed objects (git's quarantine directory, which
the hook's environment points at); any problem refuses the whole push, and the messages go to
standard error, which ``git push`` shows as ``remote: ...`` lines.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import config_client

import config_server
from config_server import __version__
from config_server.errors import InvalidRequest

__all__ = ["MARKER", "RefUpdate", "hook_script", "install_hook", "parse_updates"]

MARKER = "# installed by `config-server hook install`"
"""The line that tells our hook from someone else's (``install_hook`` replaces only ours)."""
ZERO = "0" * 40


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """One line of a ``pre-receive`` hook's input: ``old new ref``."""

    old: str
    new: str
    ref: str

    @property
    def deletes(self) -> bool:
        return set(self.new) == {"0"}

    @property
    def label(self) -> str:
        """The label a client would name it by (``refs/heads/x`` -> ``x``)."""
        for prefix in ("refs/heads/", "refs/tags/"):
            if self.ref.startswith(prefix):
                return self.ref[len(prefix) :]
        return self.ref


def parse_updates(text: str) -> list[RefUpdate]:
    """The ref updates of a ``pre-receive`` input (one ``old new ref`` per line)."""
    out: list[RefUpdate] = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.append(RefUpdate(*parts))
    return out


def hook_script(arguments: Sequence[str]) -> str:
    """The hook's text: this interpreter and this package, then ``arguments`` (already checked)."""
    roots = dict.fromkeys(
        str(Path(module.__file__ or "").resolve().parent.parent) for module in (config_server, config_client)
    )
    command = [sys.executable, "-m", "config_server", "hook", "pre-receive", *arguments]
    return (
        "#!/bin/sh\n"
        f"{MARKER} (config-server {__version__}).\n"
        "# Refuses a push whose configuration does not validate (see `config-server validate --help`).\n"
        "# Keys come from the --config file below and the CONFIG_SERVER_* environment at push time.\n"
        f"PYTHONPATH={shlex.quote(os.pathsep.join(roots))} exec {shlex.join(command)}\n"
    )


def install_hook(repository: Path, arguments: Sequence[str], *, force: bool = False) -> Path:
    """Write ``hooks/pre-receive`` (mode 0755) into the bare ``repository``; returns its path.

    Raises ``InvalidRequest`` when ``repository`` is not a bare repository, or when a hook that
    this command did not install is there already and ``force`` is false. One it installed
    (other options, another interpreter) is replaced.
    """
    try:
        bare = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "--is-bare-repository"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        hooks = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "--git-path", "hooks"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        raise InvalidRequest(f"Not a git repository: {repository}") from None
    if bare != "true":
        raise InvalidRequest(f"Not a bare repository: {repository} (install the hook where pushes land)")
    target = Path(repository, hooks, "pre-receive")  # core.hooksPath may make it absolute
    text = hook_script(arguments)
    if target.exists() and not force:
        second_line = target.read_text(encoding="utf-8", errors="replace").split("\n")[1:2]
        if not (second_line and second_line[0].startswith(MARKER)):
            raise InvalidRequest(
                f"{target} exists and was not installed by config-server: refusing to replace it "
                "(--force does)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(".pre-receive.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    partial.replace(target)
    return target
