"""The audit log's chain: how a line is sealed, and ``verify`` (``config-server audit verify``).

A line is one JSON object, compact, UTF-8, ending in ``\\n``, whose last two members are::

    ..., "prev": HMAC(key, previous line), "mac": HMAC(key, this line without its "mac" member)}

``prev`` is the HMAC-SHA256 (hex) of the previous line's exact bytes (without its newline); the
first line ever has ``prev`` = ``genesis(key)``, the HMAC of the empty string. ``mac`` is the HMAC
of the line's own bytes up to ``,"mac":`` followed by ``}``, so the newest line, which no later
``prev`` covers yet, cannot be edited either. ``seq`` counts lines from 1 across files and
restarts. All HMACs are under the ``--audit-key``: nobody without it can rebuild the chain.

``verify`` walks files given oldest first, checking each line's ``mac``, its ``prev`` against the
line before (across files), and that ``seq`` grows by one. It stops at the first bad line and
names it ``FILE:LINE`` with why. A cut last line (no newline) is an error.

What the files alone cannot show: lines removed from the END of the newest file (or the newest
files deleted) leave a shorter chain that is still whole. Ship the lines off the host as they are
written (``--audit-log -`` to a collector) and compare the last ``seq`` there. Likewise the oldest
files may be deleted by rotation: when the first line given does not link to the genesis value
its link is reported as not checked, not as an error. A server that crashed between a rotation
and its next line finds no file to continue at its next start and begins a new chain (seq 1);
verify across that place reports the restart as an error, and each side verifies alone.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Problem",
    "VerifyResult",
    "add_audit_parser",
    "audit_command",
    "genesis",
    "link",
    "seal",
    "unseal",
    "verify",
]

_MAC = re.compile(rb',"mac":"([0-9a-f]{64})"\}\Z')


def link(key: bytes, line: bytes) -> str:
    """The ``prev`` of the line after ``line`` (its exact bytes, without the newline)."""
    return hmac.new(key, line, hashlib.sha256).hexdigest()


def genesis(key: bytes) -> str:
    """The ``prev`` of the first line ever: the HMAC of the empty string."""
    return link(key, b"")


def seal(key: bytes, fields: dict[str, Any]) -> bytes:
    """The line (without newline) for ``fields`` (``prev`` included, last): its ``mac`` appended.

    Raises ``TypeError``/``ValueError`` when a field is not JSON-serialisable.
    """
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return body[:-1] + b',"mac":"' + link(key, body).encode() + b'"}'


def unseal(key: bytes, line: bytes) -> dict[str, Any]:
    """The fields of a sealed line whose ``mac`` checks; raises ``ValueError`` saying why not."""
    match = _MAC.search(line)
    try:
        fields = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not JSON") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    if match is None:
        raise ValueError('no "mac" at the end of the line')
    body = line[: match.start()] + b"}"
    if not hmac.compare_digest(match.group(1).decode(), link(key, body)):
        raise ValueError("bad mac: the line was edited, or this is not the key it was written with")
    if not isinstance(fields.get("seq"), int) or isinstance(fields["seq"], bool):
        raise ValueError('no integer "seq"')
    if not isinstance(fields.get("prev"), str):
        raise ValueError('no "prev"')
    return fields


@dataclass(frozen=True, slots=True)
class Problem:
    """The first bad line: its file, its line number (from 1) and why."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What ``verify`` found: ``problem`` is None when every line checked."""

    files: int
    lines: int  # lines checked (up to, not including, the bad one)
    first_seq: int | None
    last_seq: int | None
    anchored: bool  # the first line links to the genesis value (the log is complete from its start)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """One line for the operator."""
        if self.problem is not None:
            return f"{self.problem} (after {self.lines} good line(s))"
        if self.first_seq is None:
            return f"OK: 0 lines in {self.files} file(s)"
        start = (
            "from the first line ever"
            if self.anchored
            else f"from seq {self.first_seq} (its link to older files was not checked)"
        )
        return (
            f"OK: {self.lines} line(s) in {self.files} file(s), seq {self.first_seq}..{self.last_seq}, "
            f"{start}"
        )


def verify(paths: Sequence[Path], key: bytes) -> VerifyResult:
    """Check the chain through ``paths``, oldest first; stops at the first bad line.

    Blocking (reads the files line by line; any size). A file that cannot be read is reported as
    the problem at its line 0.
    """
    chain = _Chain(key)

    def result(problem: Problem | None = None) -> VerifyResult:
        return VerifyResult(len(paths), chain.lines, chain.first, chain.last, chain.anchored, problem)

    for path in paths:
        try:
            with path.open("rb") as fh:
                for number, raw in enumerate(fh, start=1):
                    if not raw.endswith(b"\n"):
                        return result(Problem(path, number, "cut line: no newline at its end"))
                    why = chain.add(raw[:-1])
                    if why is not None:
                        return result(Problem(path, number, why))
        except OSError as exc:
            return result(Problem(path, 0, f"cannot read: {exc.strerror}"))
    return result()


@dataclass
class _Chain:
    """The walk through the lines so far."""

    key: bytes
    lines: int = 0
    first: int | None = None
    last: int | None = None
    anchored: bool = False
    prev: str | None = None  # the link the next line must carry; None before the first line

    def add(self, line: bytes) -> str | None:
        """Why ``line`` does not continue the chain, or None (and the chain moves on)."""
        try:
            fields = unseal(self.key, line)
        except ValueError as exc:
            return str(exc)
        seq, claimed = fields["seq"], fields["prev"]
        if self.prev is None:
            self.anchored = claimed == genesis(self.key)
            if self.anchored != (seq == 1):
                return f"seq {seq} with {'the' if self.anchored else 'no'} link to the genesis value"
            self.first = seq
        elif claimed != self.prev:
            if claimed == genesis(self.key):
                return (
                    f"a new chain starts here (seq {seq} after {self.last}): lines before it may be missing"
                )
            return "bad link: prev does not match the line before (a line was removed, inserted or reordered)"
        elif self.last is not None and seq != self.last + 1:
            return f"seq gap: expected {self.last + 1}, found {seq}"
        self.prev, self.last = link(self.key, line), seq
        self.lines += 1
        return None


_KEY_ENV = ("CONFIG_SERVER_AUDIT_KEY", "CONFIG_SERVER_AUDIT_KEY_FILE", "CONFIG_SERVER_CONFIG")


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify FILE...`` to the ``config-server`` subcommands."""
    audit = sub.add_parser("audit", help="work with the tamper-evident audit log")
    verbs = audit.add_subparsers(dest="audit_command", required=True, metavar="VERB")
    check = verbs.add_parser(
        "verify",
        help="check the HMAC chain of audit files",
        description="Check the chain of audit log files, given oldest first (rotated files, then the "
        "current one). Exit 0 and one summary line when every line checks; exit 1 naming the first "
        "bad line (FILE:LINE: why); exit 2 when the key is missing.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audit files, oldest first")
    check.add_argument("--audit-key", metavar="KEY", help="the chain's key [env CONFIG_SERVER_AUDIT_KEY]")
    check.add_argument(
        "--audit-key-file",
        metavar="FILE",
        help="read --audit-key from FILE (one line) [env CONFIG_SERVER_AUDIT_KEY_FILE]",
    )
    check.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file that holds audit-key")


def audit_command(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None) -> int:
    """Run ``config-server audit verify``; returns the exit status (0 good, 1 bad line, 2 no key)."""
    from config_server.settings import SettingsError, load_settings

    env = os.environ if environ is None else environ
    given = {
        "repo": "-",  # required by Settings, unused here
        "config": args.config,
        "audit_key": args.audit_key,
        "audit_key_file": args.audit_key_file,
    }
    try:
        secret = load_settings(given, environ={k: env[k] for k in _KEY_ENV if k in env}).audit_key
    except SettingsError as exc:
        print(f"config-server: {exc}", file=sys.stderr)
        return 2
    if not secret:
        print(
            "config-server: audit verify needs the log's key: --audit-key-file FILE, --audit-key, "
            "or CONFIG_SERVER_AUDIT_KEY(_FILE)",
            file=sys.stderr,
        )
        return 2
    result = verify(args.files, secret.reveal().encode())
    if result.ok:
        print(result.summary())
        return 0
    print(f"config-server: audit verify: {result.summary()}", file=sys.stderr)
    return 1
