"""health-repositories (Spring's health.repositories): named environments whose failure is DOWN."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from config_server.healthchecks import (
    MIN_INTERVAL_S,
    EnvironmentChecks,
    HealthEnvironment,
    parse_health_repositories,
)
from config_server.service import EnvironmentService
from config_server.settings import SettingsError, load_settings
from tests.http.conftest import Serve
from tests.http.test_authorization import users_file
from tests.support.gitrepo import GitRemote
from tests.support.memory_source import MemorySource


async def test_without_named_environments_a_broken_file_leaves_health_up(
    git_remote: GitRemote, serve: Serve
) -> None:
    """By default health is UP while data can be served, even if an application's file is broken."""
    git_remote.write({"orders.yml": "a: [1\n"})
    client = await serve(git_remote)
    resp = await client.get("/actuator/health")
    assert resp.status == 200 and (await resp.json())["status"] == "UP"


async def test_a_named_environment_that_builds_is_up_with_details(
    git_remote: GitRemote, serve: Serve
) -> None:
    """name, profiles and label are used as given (ConfigServerHealthIndicatorTests#customLabelWorks)."""
    git_remote.write({"myname-myprofile.yml": "a: 1\n"})
    git_remote.checkout("mylabel", create=True)
    git_remote.push()
    env = HealthEnvironment(key="mine", name="myname", profiles="myprofile", label="mylabel")
    client = await serve(git_remote, health_repositories=(env,))
    resp = await client.get("/actuator/health")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "UP"
    entry = body["components"]["environment:mine"]
    assert entry["status"] == "UP"
    assert entry["details"]["name"] == "myname" and entry["details"]["label"] == "mylabel"
    assert entry["details"]["sources"].endswith("myname-myprofile.yml")


async def test_a_named_environment_that_fails_makes_health_down(git_remote: GitRemote, serve: Serve) -> None:
    """A failing one is DOWN, 503 (ConfigServerHealthIndicatorTests#exceptionStatusIsDownByDefault)."""
    git_remote.write({"orders.yml": "a: [1\n", "shop.yml": "b: 2\n"})
    envs = (HealthEnvironment(key="shop", name="shop"), HealthEnvironment(key="orders", name="orders"))
    client = await serve(git_remote, health_repositories=envs)
    resp = await client.get("/actuator/health")
    body = await resp.json()
    assert resp.status == 503 and body["status"] == "DOWN"
    assert body["components"]["environment:shop"]["status"] == "UP"
    down = body["components"]["environment:orders"]
    assert down["status"] == "DOWN"
    assert down["details"]["application"] == "orders" and down["details"]["profiles"] == "default"
    assert "orders.yml" in down["details"]["error"]


async def test_a_named_environment_with_a_missing_label_is_down(git_remote: GitRemote, serve: Serve) -> None:
    """A label that does not exist is a failure too: DOWN, 503."""
    git_remote.write({"shop.yml": "b: 2\n"})
    env = HealthEnvironment(key="shop", name="shop", label="release")
    client = await serve(git_remote, health_repositories=(env,))
    assert (await client.get("/actuator/health")).status == 503


async def test_accept_empty_false_and_no_sources_is_down(git_remote: GitRemote, serve: Serve) -> None:
    """accept-empty=false and no named environment has a source: DOWN, 503
    (ConfigServerHealthIndicatorTests#acceptEmptyFalseNoPropertySources)."""
    git_remote.write({"shop.yml": "b: 2\n"})
    env = HealthEnvironment(key="myname", name="myname", profiles="myprofile")
    client = await serve(git_remote, accept_empty=False, health_repositories=(env,))
    resp = await client.get("/actuator/health")
    assert resp.status == 503
    assert (await resp.json())["components"]["environment:myname"]["status"] == "DOWN"


async def test_accept_empty_true_and_no_sources_is_up(git_remote: GitRemote, serve: Serve) -> None:
    """accept-empty=true: a named environment without sources is UP
    (ConfigServerHealthIndicatorTests#acceptEmptyTrueNoPropertySources)."""
    git_remote.write({"shop.yml": "b: 2\n"})
    env = HealthEnvironment(key="myname", name="myname", profiles="myprofile")
    client = await serve(git_remote, accept_empty=True, health_repositories=(env,))
    assert (await client.get("/actuator/health")).status == 200


async def test_accept_empty_false_is_up_while_one_environment_has_sources(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Spring's indicator is DOWN for accept-empty only when none of the named environments has a
    source (ConfigServerHealthIndicator: details.stream().noneMatch(sources))."""
    git_remote.write({"shop.yml": "b: 2\n"})
    envs = (HealthEnvironment(key="shop", name="shop"), HealthEnvironment(key="myname", name="myname"))
    client = await serve(git_remote, accept_empty=False, health_repositories=envs)
    assert (await client.get("/actuator/health")).status == 200


async def test_health_accept_empty_overrides_accept_empty(git_remote: GitRemote, serve: Serve) -> None:
    """health.accept-empty=true keeps health UP for an environment without sources while
    accept-empty=false (Spring's health-indicator.adoc note)."""
    git_remote.write({"shop.yml": "b: 2\n"})
    env = HealthEnvironment(key="myname", name="myname")
    client = await serve(git_remote, accept_empty=False, health_accept_empty=True, health_repositories=(env,))
    assert (await client.get("/actuator/health")).status == 200
    assert (await client.get("/myname/default")).status == 404


def test_spring_health_accept_empty_is_read(tmp_path: Path) -> None:
    """spring.cloud.config.server.health.accept-empty in --config sets health-accept-empty."""
    config = tmp_path / "s.yml"
    config.write_text("spring.cloud.config.server:\n  accept-empty: false\n  health.accept-empty: true\n")
    s = load_settings({"config": str(config), "repo": "-"}, environ={})
    assert (s.accept_empty, s.health_accept_empty) == (False, True)


def test_entries_default_name_to_the_key_and_profiles_to_default() -> None:
    """Spring's Repository defaults: name is the map key, profiles default, label the default label."""
    (env,) = parse_health_repositories({"orders": None})
    assert env == HealthEnvironment(key="orders", name="orders", profiles="default", label=None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"a": {"nmae": "x"}}, "unknown key 'nmae'"),
        ({"a": "orders"}, "must be a mapping"),
        ({"a": {"label": "../x"}}, "Invalid label"),
    ],
)
def test_malformed_entries_are_refused(raw: object, message: str) -> None:
    """A misspelt key, a scalar entry or a name no request could carry stops the start."""
    with pytest.raises(ValueError, match=message):
        parse_health_repositories(raw)


def test_springs_health_repositories_read_from_config(tmp_path: Path) -> None:
    """spring.cloud.config.server.health.repositories in --config sets the same setting."""
    cfg = tmp_path / "s.yml"
    cfg.write_text(
        "repo: r\nspring.cloud.config.server.health.repositories:\n  shop: {profiles: prod, label: v1}\n"
    )
    settings = load_settings({"config": str(cfg)}, environ={})
    assert settings.health_repositories == (HealthEnvironment("shop", "shop", "prod", "v1"),)


def test_health_repositories_given_both_ways_is_refused(tmp_path: Path) -> None:
    """Our health-repositories and Spring's key together stop the start naming both."""
    cfg = tmp_path / "s.yml"
    cfg.write_text(
        "repo: r\nhealth-repositories: {a: {}}\nspring.cloud.config.server.health.repositories: {a: {}}\n"
    )
    with pytest.raises(
        SettingsError,
        match=re.escape(
            "'health-repositories' and Spring's 'spring.cloud.config.server.health.repositories'"
        ),
    ):
        load_settings({"config": str(cfg)}, environ={})


async def test_concurrent_health_calls_share_one_build_of_each_named_environment() -> None:
    """A flood of anonymous probes builds each named environment once per MIN_INTERVAL_S, not once
    per call (an unpinned source, such as Vault, is read on every build)."""
    now = [0.0]
    memory = MemorySource(values={"orders": {"a": 1}}, pinned=False)
    checks = EnvironmentChecks(
        EnvironmentService(sources=[memory]),
        (HealthEnvironment(key="orders", name="orders"),),
        clock=lambda: now[0],
    )
    results = await asyncio.gather(*(checks.run() for _ in range(50)))
    assert len(memory.reads) == 1
    assert all(r[0].status == "UP" for r in results)
    now[0] = MIN_INTERVAL_S / 2
    await checks.run()
    assert len(memory.reads) == 1
    now[0] = MIN_INTERVAL_S
    await checks.run()
    assert len(memory.reads) == 2


async def test_anonymous_health_shows_no_named_environment_details(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With authentication on, an anonymous probe sees the status alone, never an entry's error."""
    git_remote.write({"orders.yml": "a: [1\n"})
    env = HealthEnvironment(key="orders", name="orders")
    client = await serve(
        git_remote, health_repositories=(env,), auth_users=users_file(tmp_path / "users", {"ops": "pw"})
    )
    resp = await client.get("/actuator/health")
    assert resp.status == 503 and await resp.json() == {"status": "DOWN"}
