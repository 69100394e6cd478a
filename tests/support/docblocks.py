"""Run a Markdown document's fenced code blocks, in order, the way a reader would.

``extract`` finds every fenced block; ``run_document`` runs them one after the other in a copy of
the repository (the working tree's files, so uncommitted edits are what is tested), against the
real server the document itself starts, with real git and real curl. Blocks tagged ``sh``,
``bash`` or ``console`` (its ``$ `` lines) run with ``bash -euo pipefail``; ``python`` blocks with
the suite's interpreter. A block fails the run (with its line number and output) when it exits
non-zero or takes longer than ``BLOCK_TIMEOUT`` seconds.

An HTML comment on the line right before a fence says how to treat that block:

* ``<!-- doctest: skip (reason) -->``: not run; the reason is required and counted.
* ``<!-- doctest: background (ready: URL) -->``: started and left running (a server); the next
  block runs once ``URL`` answers 200.

Any other block (a language that cannot run, ``yaml``, no language at all) without a skip is an
error, so no block can go unchecked by accident.

What the harness changes, and why: the machine is shared, so the well-known ports of the
documents (``PORTS``) become free ones and each ``/tmp/NAME`` becomes a private temporary
directory, in every block's text; ``HOME`` is a temporary directory whose ``.gitconfig`` names a
committer and whose ``.curlrc`` adds ``--fail --silent --show-error`` (so an HTTP error fails the
block, as a reader would notice it); the copy's ``.venv`` is a link to the suite's own, already
installed, and ``make`` is told that installation is done (``RUN_STAMP``) so it never installs
into the suite's environment from the copy. Everything a block starts is killed at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import free_port

RUNNABLE = {"sh": "bash", "bash": "bash", "console": "bash", "python": "python"}
PORTS = (8888, 8889, 8890, 8200, 8080)
BLOCK_TIMEOUT = 60.0
READY_TIMEOUT = 60.0

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:\s*(?P<what>[a-z]+)\s*(?:\((?P<arg>.*)\))?\s*-->\s*$")


class DocumentError(AssertionError):
    """A block failed, or cannot be judged (no way to run it and no skip reason)."""


@dataclass(frozen=True)
class Block:
    """One fenced block: ``line`` is the 1-based line of its opening fence."""

    line: int
    language: str
    text: str
    directive: str = ""
    argument: str = ""


@dataclass
class Outcome:
    """What ``run_document`` did: the blocks it ran and the ones it skipped, with reasons."""

    ran: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def extract(markdown: str) -> list[Block]:
    """Every fenced block of ``markdown``, with the directive comment just before it, if any."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, start = opening.group("fence"), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(fence) and set(lines[i].strip()) == {fence[0]}
        ):
            body.append(lines[i])
            i += 1
        directive = _DIRECTIVE.match(lines[start - 1]) if start > 0 else None
        blocks.append(
            Block(
                line=start + 1,
                language=opening.group("info").strip().split(" ")[0].lower(),
                text="\n".join(body) + "\n",
                directive=directive.group("what") if directive else "",
                argument=(directive.group("arg") or "").strip() if directive else "",
            )
        )
        i += 1
    return blocks


def check(blocks: list[Block], name: str) -> None:
    """Raise DocumentError for a block that would be neither run nor explicitly skipped."""
    for block in blocks:
        where = f"{name}:{block.line}"
        if block.directive == "skip":
            if not block.argument:
                raise DocumentError(f"{where}: a skipped block needs a reason: <!-- doctest: skip (why) -->")
        elif block.directive not in ("", "background"):
            raise DocumentError(f"{where}: unknown directive {block.directive!r}")
        elif block.language not in RUNNABLE:
            raise DocumentError(
                f"{where}: a {block.language or 'plain'!r} block cannot run; make it sh/bash/console/python "
                "or mark it <!-- doctest: skip (why) -->"
            )
        elif block.directive == "background" and not block.argument.startswith("ready: "):
            raise DocumentError(f"{where}: background blocks say when they are up: (ready: URL)")


class Workspace:
    """A copy of the repository and a private HOME, with the substitutions described above."""

    def __init__(self, repo: Path, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "repo"
        self.home = tmp / "home"
        self.ports = {port: free_port() for port in PORTS}
        self._started: list[subprocess.Popen[bytes]] = []
        self._copy(repo)
        self.home.mkdir()
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Doc Reader\n\temail = reader@example.com\n[init]\n\tdefaultBranch = main\n"
        )
        (self.home / ".curlrc").write_text("fail\nsilent\nshow-error\n")
        stamp = tmp / "installed"
        stamp.touch()
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "CONFIG_SERVER_"))
        }
        inherited.pop("MAKEFLAGS", None)
        self.env = {
            **inherited,
            "HOME": str(self.home),
            "MAKEFLAGS": f"RUN_STAMP={stamp}",
            "PORT": str(self.ports[8888]),
            "PYTHONUNBUFFERED": "1",
        }

    def _copy(self, repo: Path) -> None:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            check=True,
            capture_output=True,
        ).stdout.decode()
        for name in filter(None, listed.split("\0")):
            source = repo / name
            if source.is_file():
                target = self.root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        (self.root / ".venv").symlink_to(repo / ".venv")

    def adapt(self, text: str) -> str:
        """The block's text with private ports and temporary paths."""
        text = re.sub(r"(?<![\w.])/tmp/(?=[\w.-])", f"{self.tmp}/", text)
        for port, private in self.ports.items():
            text = re.sub(rf"(?<!\d){port}(?!\d)", str(private), text)
        return text

    def start(self, block: Block, log: Path) -> subprocess.Popen[bytes]:
        """Start ``block`` in a session of its own (so everything it starts can be killed)."""
        script = self.tmp / f"block-{block.line}.{'py' if RUNNABLE[block.language] == 'python' else 'sh'}"
        script.write_text(self.adapt(_script(block)))
        command = (
            [sys.executable, str(script)]
            if RUNNABLE[block.language] == "python"
            else ["bash", "-euo", "pipefail", str(script)]
        )
        with open(log, "wb") as out:  # a file, not a pipe: background children keep it open
            proc = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._started.append(proc)
        return proc

    def close(self) -> None:
        """Stop everything the blocks started: TERM each session, then KILL what is left."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for proc in self._started:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signum)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(_alive(p) for p in self._started):
                time.sleep(0.05)
            if not any(_alive(p) for p in self._started):
                return


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    """Whether anything of the session ``proc`` leads still runs (``proc`` itself is reaped)."""
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _script(block: Block) -> str:
    if block.language == "console":
        return "\n".join(line[2:] for line in block.text.splitlines() if line.startswith("$ ")) + "\n"
    return block.text


def _wait_ready(url: str, proc: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def run_document(path: Path, *, repo: Path, tmp: Path, name: str | None = None) -> Outcome:
    """Run every block of the Markdown file ``path`` in order; raise DocumentError at the first failure."""
    name = name or path.name
    blocks = extract(path.read_text())
    check(blocks, name)
    outcome = Outcome()
    workspace = Workspace(repo, tmp)
    try:
        for block in blocks:
            if block.directive == "skip":
                outcome.skipped[block.line] = block.argument
                continue
            log = tmp / f"block-{block.line}.log"
            proc = workspace.start(block, log)
            if block.directive == "background":
                url = workspace.adapt(block.argument.removeprefix("ready: ").strip())
                if not _wait_ready(url, proc, time.monotonic() + READY_TIMEOUT):
                    raise DocumentError(_failure(name, block, f"never answered {url}", log))
            else:
                try:
                    code = proc.wait(timeout=BLOCK_TIMEOUT)
                except subprocess.TimeoutExpired:
                    what = f"still running after {BLOCK_TIMEOUT:.0f} s"
                    raise DocumentError(_failure(name, block, what, log)) from None
                if code != 0:
                    raise DocumentError(_failure(name, block, f"exited {code}", log))
            outcome.ran.append(block.line)
    finally:
        workspace.close()
    return outcome


def _failure(name: str, block: Block, what: str, log: Path) -> str:
    output = log.read_text(errors="replace")[-4000:]
    return f"{name}:{block.line}: the ```{block.language} block {what}; its output:\n{output}"
