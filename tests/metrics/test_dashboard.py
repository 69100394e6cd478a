"""``deploy/grafana/config-server.json``: every PromQL expression names only metrics the server
exports, and (with a real Prometheus) every one of them parses."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote
from tests.support.paths import REPO_ROOT
from tests.support.prometheus import Prometheus, prometheus_binary

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "config-server.json"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "rate", "increase", "irate",
    "histogram_quantile", "label_values", "and", "or", "unless", "on", "ignoring", "offset",
}  # fmt: skip


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and template variable queries."""
    board = json.loads(DASHBOARD.read_text())
    found = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (label matchers, ranges, groupings and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", text)
    text = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", text)
    return {word for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text) if word not in PROMQL_WORDS}


def exported(exposition: str) -> set[str]:
    """Every series name a scrape can hold, from its families (those without samples too)."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_dashboard_has_the_promised_panels() -> None:
    """Request rate and latency by route, fetch age, Vault errors, long polls, notifications,
    authentication failures: each is a panel reading its metric."""
    text = " ".join(expressions())
    for name in (
        "http_server_request_duration_seconds_count",
        "http_server_request_duration_seconds_bucket",
        "config_git_fetch_age_seconds",
        "config_vault_request_errors_total",
        "config_long_polls_open",
        "config_notifications_total",
        "config_auth_failures_total",
    ):
        assert name in text, name


async def test_every_expression_names_only_exported_metrics(git_remote: GitRemote, serve: Serve) -> None:
    """Each metric name in the dashboard's PromQL is one a real server's scrape lists."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    await client.get("/a/default")
    names = exported(await (await client.get("/actuator/prometheus")).text())
    used = set().union(*(metric_names(expr) for expr in expressions()))
    assert used, "no metric found in the dashboard"
    assert used <= names, sorted(used - names)


def _concrete(expr: str) -> str:
    """An expression as Grafana sends it: its variables replaced."""
    return expr.replace("$__rate_interval", "1m").replace("$job", ".*")


@pytest.mark.skipif(
    prometheus_binary() is None, reason="prometheus is not installed (apt-get install prometheus)"
)
async def test_every_expression_parses_in_prometheus(tmp_path: Path) -> None:
    """A real Prometheus accepts every panel expression (a syntax error is a 400 there)."""
    prom = Prometheus(tmp_path / "prometheus", target="127.0.0.1:9", path="/actuator/prometheus")
    await asyncio.to_thread(prom.start)
    try:
        for expr in expressions():
            if expr.startswith("label_values("):
                continue  # a Grafana function, not PromQL
            result: Any = await asyncio.to_thread(prom.query, _concrete(expr))
            assert isinstance(result, list), expr
    finally:
        await asyncio.to_thread(prom.stop)
