"""Propagation benchmark: how long a ``git push`` takes to reach clients' ``on_change`` callbacks.

Starts the real server (``python -m config_server serve``, a subprocess) on a fresh local bare
repository, then for each mode and each fleet size runs ``--rounds`` pushes and records, for every
client, the time from the push command returning to that client's callback seeing the new value:

* ``long poll``: ``AsyncConfigClient`` with ``long_poll_wait`` (``If-None-Match`` + ``Prefer: wait``);
* ``polling``: ``AsyncConfigClient`` with ``long_poll_wait=0`` and ``poll_interval=--poll-interval``,
  i.e. a plain ``If-None-Match`` GET every second, as a Spring client with polling does. Their
  phases are spread uniformly over one interval, as a real fleet's are.

All clients share this process's event loop (the server has its own process). Times come from
``time.monotonic()``, which is one clock for the whole machine on Linux. Prints a Markdown table
(p50/p95/p99 in milliseconds, and polling's p50/p99 divided by long poll's) and, with ``--json``,
the raw figures.

    .venv/bin/python bench/propagation.py                  # N = 1 and 1,000, 5 rounds each
    .venv/bin/python bench/propagation.py --watchers 1,100 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from config_client import AsyncConfigClient, ChangeEvent

KEY = "bench.round"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass(frozen=True, slots=True)
class Result:
    """One (mode, fleet size) cell: latencies in milliseconds over all rounds and clients."""

    mode: str
    watchers: int
    rounds: int
    samples: int
    missed: int
    p50: float
    p95: float
    p99: float
    max: float
    server_cpu_percent: float
    """The server process's CPU use during the rounds, in percent of one core."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- the repository and the server --------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV}, check=True, capture_output=True)


class Repository:
    """A bare remote and a work clone; ``push(value)`` commits ``bench.round: value`` and pushes."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "config.git"
        self.work = root / "work"
        git(root, "init", "-q", "--bare", "--initial-branch=main", str(self.bare))
        git(root, "init", "-q", "--initial-branch=main", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.bare))
        # A realistically sized file, so responses are not trivially small (about 4 KiB of JSON).
        filler = "".join(f"orders.setting-{i}: value-{i}\n" for i in range(100))
        (self.work / "application.yml").write_text("shared: true\n", encoding="utf-8")
        (self.work / "orders-filler.yml").write_text(filler, encoding="utf-8")
        self.write(0)

    def write(self, value: int) -> None:
        (self.work / "orders.yml").write_text(f"{KEY}: {value}\n", encoding="utf-8")
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", f"round {value}")
        git(self.work, "push", "-q", "origin", "HEAD:main")

    async def push(self, value: int) -> float:
        """Commit and push ``value``; the monotonic time the push command returned."""
        await asyncio.to_thread(self.write, value)
        return time.monotonic()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(repo: Repository, root: Path) -> Iterator[tuple[str, int]]:
    """The config server as a subprocess; yields its URL and process id."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "config_server",
        "serve",
        "--repo",
        str(repo.bare),
        "--basedir",
        str(root / "clone"),
        "--port",
        str(port),
        "--refresh-rate",
        "3600",
        "--log-level",
        "WARNING",
        "--search-paths",
        "",
        # Every simulated client connects from 127.0.0.1, as through a proxy: lift the per-address cap.
        "--max-connections-per-address",
        "0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url + "/actuator/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not become healthy in 30 s") from None
                time.sleep(0.05)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one measurement cell -------------------------------------------------------------------------


async def measure(
    url: str,
    pid: int,
    repo: Repository,
    *,
    mode: str,
    watchers: int,
    rounds: int,
    poll_interval: float,
    first_value: int,
) -> Result:
    seen: dict[int, list[float]] = {}

    def on_change(event: ChangeEvent) -> None:
        value = event.snapshot.get(KEY)
        if isinstance(value, int):
            seen.setdefault(value, []).append(time.monotonic())

    polling = mode == "polling"
    clients = [
        AsyncConfigClient(
            url,
            application="orders",
            long_poll_wait=0 if polling else 60,
            poll_interval=poll_interval,
            env_overrides=False,
            retry_max_attempts=10,
            retry_initial=0.2,
        )
        for _ in range(watchers)
    ]

    async def start(client: AsyncConfigClient) -> None:
        if polling:  # spread the phases over one interval, as a real fleet's are
            await asyncio.sleep(random.uniform(0, poll_interval))
        await client.start()
        client.on_change(on_change)

    latencies: list[float] = []
    missed = 0
    try:
        for batch in range(0, watchers, 200):  # do not open 1,000 connections in the same instant
            await asyncio.gather(*(start(c) for c in clients[batch : batch + 200]))
        await asyncio.sleep(1.5)  # every client is now parked in its long poll or poll cycle
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        for value in range(first_value, first_value + rounds):
            pushed = await repo.push(value)
            deadline = time.monotonic() + 15 + poll_interval
            while len(seen.get(value, ())) < watchers and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            arrivals = seen.get(value, [])
            latencies.extend((t - pushed) * 1000 for t in arrivals)
            missed += watchers - len(arrivals)
            # Clients space requests >= 1 s apart: let them re-arm. The random part keeps pushes from
            # locking to the polling phase (with one polling client every round would wait the same).
            await asyncio.sleep(1.2 + random.uniform(0, poll_interval))
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before) * 100
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return Result(
        mode=mode,
        watchers=watchers,
        rounds=rounds,
        samples=len(latencies),
        missed=missed,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        max=max(latencies, default=float("nan")),
        server_cpu_percent=cpu,
    )


def table(results: Sequence[Result]) -> str:
    lines = [
        "| mode | watchers | samples | p50 ms | p95 ms | p99 ms | max ms | server CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.watchers:,} | {r.samples:,}{f' ({r.missed} missed)' if r.missed else ''} "
            f"| {r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} | {r.max:.0f} | {r.server_cpu_percent:.0f} |"
        )
    by = {(r.mode, r.watchers): r for r in results}
    lines.append("")
    lines.append("| watchers | polling p50 / long poll p50 | polling p99 / long poll p99 |")
    lines.append("|---:|---:|---:|")
    for n in sorted({r.watchers for r in results}):
        lp, poll = by.get(("long poll", n)), by.get(("polling", n))
        if lp and poll:
            lines.append(f"| {n:,} | {poll.p50 / lp.p50:.1f}x | {poll.p99 / lp.p99:.1f}x |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[Result]:
    root = Path(tempfile.mkdtemp(prefix="bench-propagation-"))
    results: list[Result] = []
    try:
        repo = Repository(root)
        with server(repo, root) as (url, pid):
            value = 1
            for mode in args.modes:
                for n in args.watchers:
                    print(f"... {mode}, {n} watcher(s), {args.rounds} rounds", file=sys.stderr, flush=True)
                    results.append(
                        await measure(
                            url,
                            pid,
                            repo,
                            mode=mode,
                            watchers=n,
                            rounds=args.rounds,
                            poll_interval=args.poll_interval,
                            first_value=value,
                        )
                    )
                    value += args.rounds
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", default="1,1000", help="comma list of fleet sizes (default 1,1000)")
    parser.add_argument("--rounds", type=int, default=5, help="pushes per cell (default 5)")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="polling clients' period, s")
    parser.add_argument("--modes", default="long poll,polling", help="comma list: long poll, polling")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    try:
        args.watchers = [int(n) for n in args.watchers.split(",")]
    except ValueError:
        parser.error("--watchers must be a comma list of positive integers")
    args.modes = [m.strip() for m in args.modes.split(",")]
    if not set(args.modes) <= {"long poll", "polling"}:
        parser.error("--modes takes 'long poll' and/or 'polling'")
    if any(n < 1 for n in args.watchers) or args.rounds < 1 or args.poll_interval <= 0:
        parser.error("--watchers and --rounds must be positive, --poll-interval > 0")
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(run(args))
    print(
        f"\n{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}\n"
    )
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
