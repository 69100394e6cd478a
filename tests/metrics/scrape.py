"""Reading ``/actuator/prometheus`` in tests: the samples of one scrape by name and labels."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


async def scrape(client: Any, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of one scrape: ``(name, labels) -> value``."""
    resp = await client.get("/actuator/prometheus", headers=headers)
    assert resp.status == 200, await resp.text()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent: a counter not bumped yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
