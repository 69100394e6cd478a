"""A real Prometheus server for tests (Debian's ``prometheus``), scraping one target on loopback.

One ``Prometheus`` is one ``/usr/bin/prometheus`` process with its configuration and its TSDB
under the test's directory, listening on a free loopback port and scraping ``target`` every
second::

    with Prometheus(tmp_path / "prom", target="127.0.0.1:8888", path="/actuator/prometheus") as prom:
        prom.query("up")          # the instant query API's ``data.result`` list

Blocking (``subprocess`` and ``requests``): from an async test, call it through
``asyncio.to_thread`` so the scraped server keeps answering.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from tests.support.processes import answers_200, free_port, read_log, stop_process, wait_started

BINARY = "/usr/bin/prometheus"
_START_TIMEOUT = 20.0


def prometheus_binary() -> str | None:
    """The Prometheus executable, or None when the Debian package is not installed."""
    return BINARY if Path(BINARY).exists() else shutil.which("prometheus")


class Prometheus:
    """A Prometheus server scraping ``target`` (``HOST:PORT``) at ``path`` every second, with
    ``basic_auth`` (user, password) when given."""

    def __init__(
        self, root: Path, *, target: str, path: str, basic_auth: tuple[str, str] | None = None
    ) -> None:
        self.root = root
        self.target = target
        self.path = path
        self.port = 0
        self._basic_auth = basic_auth
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        """Write the configuration, start the server and wait until it is ready."""
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("prometheus is not installed (apt-get install prometheus)")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "prometheus.yml"
        auth = ""
        if self._basic_auth is not None:
            user, password = self._basic_auth
            secret = self.root / "password"  # a file of its own, never in the configuration
            secret.touch(mode=0o600)
            secret.write_text(password)
            auth = f"    basic_auth:\n      username: {user}\n      password_file: {secret}\n"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: config-server\n"
            f"    metrics_path: {self.path}\n"
            f"{auth}"
            f"    static_configs:\n      - targets: ['{self.target}']\n"
        )
        self.port = free_port()
        log = open(self.root / "prometheus.log", "wb")  # noqa: SIM115  (the process holds it)
        with log:
            self._proc = subprocess.Popen(
                [
                    prometheus_binary() or BINARY,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        wait_started(
            self._proc,
            lambda: answers_200(f"{self.url}/-/ready"),
            name="prometheus",
            log=self.root / "prometheus.log",
            timeout=_START_TIMEOUT,
            step=0.1,
        )
        return self

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query through ``/api/v1/query``: the ``data.result`` list."""
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, promql: str, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Query until the result is not empty; raises AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                assert result, f"no result for {promql} after {timeout} s; targets: {self.targets()}"
                return result
            time.sleep(0.2)

    def targets(self) -> Any:
        """The scrape targets' state (for failure messages)."""
        return requests.get(f"{self.url}/api/v1/targets", timeout=5).json()

    def log(self) -> str:
        """What the server printed."""
        return read_log(self.root / "prometheus.log")

    def stop(self) -> None:
        """Terminate the server (kill after 5 s)."""
        proc, self._proc = self._proc, None
        stop_process(proc)

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
