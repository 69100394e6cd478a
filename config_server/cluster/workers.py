"""``--workers N``: N server processes on one host and one port, as peers of each other.

A supervisor (this module, in the process that was started) binds nothing it serves: it
reserves the port with ``SO_REUSEPORT`` (so ``--port 0`` picks one port for all), binds one
private loopback port per worker, and forks the workers. Each worker listens on the shared port
with ``SO_REUSEPORT`` (the kernel spreads connections over them) and on its private port, holds
its own long-poll watchers and its own clone (``<clone dir>-worker<i>`` beyond the first), and
has the others' private ports as ``--peers`` (plain HTTP on loopback, signed with
``--cluster-secret``, or a random one of this run), so a webhook landing on any worker is fetched
by all. SIGTERM, SIGINT and SIGHUP are passed to every worker; the supervisor exits when they
have: with the first non-zero status, and when one worker ends on its own the others are stopped
(an orchestrator restarts the whole).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import secrets
import signal
import socket
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

from config_server.cluster.peers import PeerSpec
from config_server.secret import Secret
from config_server.settings import Settings

__all__ = ["WorkerPlan", "plan_workers", "run_workers"]

log = logging.getLogger(__name__)

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

WorkerMain = Callable[[Settings, socket.socket], int]
"""What a worker runs: serve ``Settings`` (with ``workers=1``) and also on the private socket."""


class WorkerPlan:
    """The sockets and settings of N workers; ``close`` releases the supervisor's sockets."""

    def __init__(
        self, reserved: socket.socket, private: list[socket.socket], settings: list[Settings]
    ) -> None:
        self.reserved = reserved
        self.private = private
        self.settings = settings

    def close(self) -> None:
        """Close the port reservation and the private sockets in this process."""
        for sock in (self.reserved, *self.private):
            sock.close()


def plan_workers(settings: Settings) -> WorkerPlan:
    """Reserve the shared port, bind a private loopback port per worker, derive each one's settings.

    Raises ``OSError`` when the port cannot be bound (in use without ``SO_REUSEPORT``).
    """
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    private: list[socket.socket] = []
    try:
        reserved.bind((settings.host, settings.port))  # never listens: it only holds the port
        port = int(reserved.getsockname()[1])
        for _ in range(settings.workers):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            private.append(sock)
    except OSError:
        for sock in (reserved, *private):
            sock.close()
        raise
    secret = settings.cluster_secret or Secret(secrets.token_hex(32))
    ports = [int(sock.getsockname()[1]) for sock in private]
    planned = []
    for n in range(settings.workers):
        siblings = tuple(PeerSpec("127.0.0.1", p, plain=True) for i, p in enumerate(ports) if i != n)
        clone = settings.clone_dir
        planned.append(
            replace(
                settings,
                workers=1,
                port=port,
                basedir=clone if n == 0 else clone.with_name(f"{clone.name}-worker{n + 1}"),
                peers=settings.peers + siblings,
                cluster_secret=secret,
            )
        )
    return WorkerPlan(reserved, private, planned)


def run_workers(settings: Settings, worker: WorkerMain) -> int:
    """Run ``settings.workers`` workers until they exit; returns the exit status for the process."""
    plan = plan_workers(settings)
    context = multiprocessing.get_context("fork")  # the settings and sockets are inherited as they are
    # Signals wait until every worker is forked and the forwarding handlers are in place.
    signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
    processes = []
    try:
        for n, worker_settings in enumerate(plan.settings):
            process = context.Process(
                target=_worker,
                args=(worker, worker_settings, plan.private[n]),
                name=f"config-server-worker-{n + 1}",
            )
            process.start()
            processes.append(process)
        plan.close()
        stopping = False

        def forward(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = stopping or signum != signal.SIGHUP
            for process in processes:
                if process.pid is not None and process.exitcode is None:
                    os.kill(process.pid, signum)

        previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
    try:
        status = 0
        running = list(processes)
        while running:
            multiprocessing.connection.wait([p.sentinel for p in running])
            for process in [p for p in running if p.exitcode is not None]:
                running.remove(process)
                code = process.exitcode or 0  # negative: killed by that signal (shell: 128 + n)
                status = status or (128 - code if code < 0 else code)
                if not stopping:
                    log.error("%s exited (%s): stopping the others", process.name, process.exitcode)
                    stopping = True
                    for other in running:
                        other.terminate()
        return status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _worker(worker: WorkerMain, settings: Settings, private: socket.socket) -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
    raise SystemExit(worker(settings, private))
