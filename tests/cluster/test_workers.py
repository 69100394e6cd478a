"""``--workers N``: N processes on one port (SO_REUSEPORT), peers of each other, one supervisor."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config_server.settings import SettingsError, load_settings
from tests.support.gitdaemon import git_daemon
from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process


@pytest.fixture
def remote(git_remote: GitRemote) -> Iterator[str]:
    git_remote.write({"orders.yml": "greeting: one\n"})
    with git_daemon(git_remote) as uri:
        yield uri


def _greeting(url: str) -> object:
    request = urllib.request.Request(url + "/orders/default", headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["propertySources"][0]["source"]["greeting"]


def test_workers_share_one_port_and_forward_webhooks_to_each_other(
    git_remote: GitRemote, remote: str, tmp_path: Path
) -> None:
    """Two workers serve one port; a webhook on either is fetched by both; SIGTERM stops all."""
    argv = ["--repo", remote, "--basedir", str(tmp_path / "clone"), "--refresh-rate", "3600"]
    with server_process([*argv, "--workers", "2", "--port", "0"]) as server:
        deadline = time.monotonic() + 20
        while server.output.count("its siblings forward webhooks") < 2:  # both workers serve
            assert time.monotonic() < deadline, server.output
            time.sleep(0.05)
        assert re.findall(r'serving on (https?://[^\s"]+)', server.output) == [server.url] * 2
        assert (tmp_path / "clone-worker2").is_dir()  # each worker has its own clone
        git_remote.write({"orders.yml": "greeting: two\n"})
        request = urllib.request.Request(server.url + "/monitor", data=b"path=orders.yml", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        server.wait_for("webhook forwarded by a peer: fetched", timeout=5)
        # Fresh connections land on both workers (the kernel hashes their source ports).
        assert {_greeting(server.url) for _ in range(20)} == {"two"}
        # A worker's private port (plain HTTP on loopback) takes only its siblings' signed
        # webhooks: a local process must not reach the API there, around TLS and client certs.
        private = re.findall(r"its siblings forward webhooks to (http://[^\s\"]+)", server.output)
        assert len(private) == 2
        for url in private:
            with pytest.raises(urllib.error.HTTPError) as refused:
                _greeting(url)
            assert refused.value.code == 403
            unsigned = urllib.request.Request(url + "/monitor", data=b"path=orders.yml", method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(unsigned, timeout=5)
            assert refused.value.code == 403
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
    assert server.output.count("stopping: answering held long polls") == 2


def test_workers_refuse_an_audit_log() -> None:
    """One audit chain cannot be written by several processes: --workers with --audit-log is refused."""
    with pytest.raises(SettingsError, match="--workers with --audit-log"):
        load_settings({"repo": "/r", "workers": "2", "audit_log": "-", "audit_key": "k"}, environ={})
