"""``config-server serve`` as a real process: its URL, its pid and everything it logs.

For what only a process shows: its command line in ``/proc/<pid>/cmdline``, signals (SIGHUP
reopens the audit log, SIGTERM stops), and its log on stderr exactly as an operator sees it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from tests.support.polling import eventually
from tests.support.processes import stop_process

__all__ = ["ServerProcess", "server_process"]

_SERVING = re.compile(r'serving on (https?://[^\s"]+)')  # a text line or a JSON message


@dataclass
class ServerProcess:
    """A running server: ``url``, the ``process`` and the log lines read so far (``output``)."""

    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        """Wait until ``text`` appears in the output; raises AssertionError on timeout."""
        assert eventually(lambda: text in self.output, timeout=timeout, step=0.02), (
            f"{text!r} not logged:\n{self.output}"
        )


@contextlib.contextmanager
def server_process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> Iterator[ServerProcess]:
    """Start ``python -m config_server serve ARGV`` (add ``--port 0``) and yield it once it serves.

    ``env`` is added to a copy of the environment without any ``CONFIG_SERVER_*`` variable. On exit
    the server gets SIGTERM (if still running) and its remaining output is collected.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFIG_SERVER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "config_server", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**clean, **(env or {})},
    )
    lines: list[str] = []
    assert process.stdout is not None
    stream = process.stdout

    def read() -> None:
        for line in stream:
            lines.append(line)

    reader = threading.Thread(target=read, name="server-output", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            match = _SERVING.search("".join(lines))
            if match:
                url = match.group(1)
                break
            assert process.poll() is None, f"the server exited {process.returncode}:\n{''.join(lines)}"
            assert time.monotonic() < deadline, f"the server did not start:\n{''.join(lines)}"
            time.sleep(0.02)
        yield ServerProcess(url, process, lines)
    finally:
        stop_process(process, timeout=15)
        reader.join(timeout=5)
