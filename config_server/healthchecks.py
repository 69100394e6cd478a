"""Named environments whose failure makes health DOWN (Spring's ``health.repositories``).

By default health is UP while the sources have data to serve, whatever any one application's
configuration looks like. An operator who wants the probe to fail when a given environment
cannot be built names it in the ``--config`` file::

    health-repositories:            # or Spring's spring.cloud.config.server.health.repositories
      orders: {profiles: prod}      # name defaults to the key, profiles to default
      shop: {name: shop, profiles: "eu,prod", label: release}

Health calls resolve every named environment through the service (cached like any request,
so cheap while nothing changed), concurrently, each bounded by ``TIMEOUT_S``. ``/actuator/health``
answers anyone, so ``EnvironmentChecks`` lets concurrent calls share one run and reuses its
answer for ``MIN_INTERVAL_S``: a flood of anonymous probes cannot turn into a flood of builds (a
Vault source is read on every build). Each gets its own
essential health entry ``environment:<key>``: UP with Spring's details (name, profiles, label,
the property sources' names), or DOWN with the application, the profiles and why, which makes
the server DOWN (HTTP 503), as Spring's ``ConfigServerHealthIndicator``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config_server.caching import SingleFlight
from config_server.errors import ConfigServerError
from config_server.names import env_request
from config_server.sources.base import SourceHealth

if TYPE_CHECKING:  # the settings import this module; the service is only needed by the checks
    from config_server.service import EnvironmentService

__all__ = [
    "MIN_INTERVAL_S",
    "TIMEOUT_S",
    "EnvironmentChecks",
    "HealthEnvironment",
    "check_environments",
    "parse_health_repositories",
]

TIMEOUT_S = 3.0
"""Seconds one named environment may take to build before its entry is DOWN."""
MIN_INTERVAL_S = 1.0
"""Seconds an ``EnvironmentChecks`` answer is reused by later health calls."""


@dataclass(frozen=True, slots=True)
class HealthEnvironment:
    """One environment health builds: ``key`` names the entry; ``label`` None: the default."""

    key: str
    name: str
    profiles: str = "default"
    label: str | None = None


def parse_health_repositories(
    raw: object, *, where: str = "health-repositories"
) -> tuple[HealthEnvironment, ...]:
    """The mapping of keys to ``{name, profiles, label}`` (each optional), in file order.

    Raises ``ValueError`` naming the entry for anything malformed or unknown, or for a name,
    profile or label no request could carry.
    """
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping of names to {{name, profiles, label}}")
    out: list[HealthEnvironment] = []
    for key, value in raw.items():
        at = f"{where}.{key}"
        if value is not None and not isinstance(value, Mapping):
            raise ValueError(f"{at} must be a mapping of name, profiles and label")
        entry: Mapping[object, object] = value or {}
        unknown = sorted(str(k) for k in entry if k not in ("name", "profiles", "label"))
        if unknown:
            raise ValueError(f"{at}: unknown key '{unknown[0][:80]}' (name, profiles, label)")
        fields: dict[str, str] = {}
        for name in ("name", "profiles", "label"):
            item = entry.get(name)
            if item is None:
                continue
            if isinstance(item, list):  # Spring binds a list as a comma string
                item = ",".join(str(i) for i in item)
            if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
                raise ValueError(f"{at}.{name} must be a non-empty string")
            fields[name] = str(item).strip()
        env = HealthEnvironment(
            key=str(key),
            name=fields.get("name", str(key)),
            profiles=fields.get("profiles", "default"),
            label=fields.get("label"),
        )
        try:
            env_request(env.name, env.profiles, env.label)
        except ConfigServerError as exc:
            raise ValueError(f"{at}: {exc.message}") from None
        out.append(env)
    return tuple(out)


async def check_environments(
    service: EnvironmentService,
    environments: Sequence[HealthEnvironment],
    *,
    accept_empty: bool = True,
    timeout: float = TIMEOUT_S,
) -> list[SourceHealth]:
    """One essential entry per named environment: UP when it builds within ``timeout`` seconds.

    With ``accept_empty`` false (Spring's ``health.accept-empty``, which follows ``accept-empty``)
    and no named environment having a property source, those entries are DOWN too; one
    environment with sources is enough, as Spring's indicator decides over all of them. Never
    raises (a failure is the entry's DOWN). Sources needing a caller's token are read without
    one, as a request without ``X-Config-Token``.
    """
    found = list(await asyncio.gather(*(_check(service, env, timeout) for env in environments)))
    if accept_empty or any(e.details.get("sources") for e in found if e.status == "UP"):
        return found
    by_key = {f"environment:{env.key}": env for env in environments}
    return [
        _down(e.name, by_key[e.name], "no property source (accept-empty is false)") if e.status == "UP" else e
        for e in found
    ]


async def _check(service: EnvironmentService, env: HealthEnvironment, timeout: float) -> SourceHealth:
    name = f"environment:{env.key}"
    try:
        # Spring's indicator builds it whatever accept-empty says; emptiness is judged over all.
        reps = await asyncio.wait_for(
            service.environment(env_request(env.name, env.profiles, env.label), allow_empty=True), timeout
        )
    except ConfigServerError as exc:
        return _down(name, env, exc.message)
    except TimeoutError:
        return _down(name, env, f"not built within {timeout:g} seconds")
    found = reps.environment
    return SourceHealth(
        name=name,
        status="UP",
        details={
            "name": found.name,
            "profiles": ",".join(found.profiles),
            "label": found.label,
            "sources": ",".join(ps.name for ps in found.property_sources),
        },
    )


def _down(name: str, env: HealthEnvironment, why: str) -> SourceHealth:
    details = {"application": env.name, "profiles": env.profiles, "label": env.label, "error": why}
    return SourceHealth(name=name, status="DOWN", details=details)


class EnvironmentChecks:
    """``check_environments`` for health calls (``accept_empty`` as there): concurrent calls share
    one run, and its answer is reused for ``min_interval`` seconds (``clock`` in seconds,
    monotonic). Use from one event loop."""

    def __init__(
        self,
        service: EnvironmentService,
        environments: Sequence[HealthEnvironment],
        *,
        accept_empty: bool = True,
        timeout: float = TIMEOUT_S,
        min_interval: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._environments = tuple(environments)
        self._accept_empty = accept_empty
        self._timeout = timeout
        self._min_interval = min_interval
        self._clock = clock
        self._flight: SingleFlight[None, list[SourceHealth]] = SingleFlight()
        self._last: tuple[float, list[SourceHealth]] | None = None

    async def run(self) -> list[SourceHealth]:
        """The entries (never raises: a failure is an entry's DOWN)."""
        if not self._environments:
            return []
        if self._last is not None and self._clock() - self._last[0] < self._min_interval:
            return list(self._last[1])
        return list(await self._flight.do(None, self._check))

    async def _check(self) -> list[SourceHealth]:
        entries = await check_environments(
            self._service, self._environments, accept_empty=self._accept_empty, timeout=self._timeout
        )
        self._last = (self._clock(), entries)
        return entries
