"""bind(): dataclasses filled from flat keys with Spring's relaxed names and conversions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, make_dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from config_client import BindError, bind
from config_client.wire import Scalar


class Mode(enum.Enum):
    FAST = "fast"
    SLOW_START = "slow"


@dataclass(frozen=True)
class Pool:
    size: int = 5
    timeout: timedelta = timedelta(seconds=3)


@dataclass(frozen=True)
class Db:
    url: str
    pool: Pool = field(default_factory=Pool)


@dataclass(frozen=True)
class Server:
    host: str
    port: int


@dataclass(frozen=True)
class Settings:
    db: Db
    servers: list[Server]
    debug: bool = False
    mode: Mode = Mode.FAST
    tags: tuple[str, ...] = ()
    home: Path | None = None
    ratio: float = 1.0
    labels: dict[str, int] = field(default_factory=dict)
    replica: Db | None = None


def one(tp: Any, raw: Scalar) -> Any:
    holder = make_dataclass("Holder", [("value", tp)])  # a real annotation object, not a string
    return bind(holder, {"value": raw}).value


@pytest.mark.parametrize(
    ("tp", "raw", "expected"),
    [
        (int, "42", 42),
        (int, 7, 7),
        (int, 3.0, 3),
        (float, "2.5", 2.5),
        (float, 2, 2.0),
        (bool, "TRUE", True),
        (bool, "off", False),
        (bool, True, True),
        (str, True, "true"),
        (str, 8080, "8080"),
        (Mode, "slow-start", Mode.SLOW_START),
        (Mode, "fast", Mode.FAST),
        (Path, "/etc/app", Path("/etc/app")),
        (timedelta, 30, timedelta(seconds=30)),
        (timedelta, "1.5", timedelta(seconds=1.5)),
        (timedelta, "500ms", timedelta(milliseconds=500)),
        (timedelta, "2h", timedelta(hours=2)),
        (int | None, "", None),
        (int | str, "x", "x"),
        (list[int], "1, 2,3", [1, 2, 3]),
        (list[str], "", []),
        (Literal["a", "b"], "b", "b"),
        (Any, 1.5, 1.5),
    ],
)
def test_scalar_conversions(tp: Any, raw: Scalar, expected: Any) -> None:
    """Each supported type converts from the values a server sends."""
    assert one(tp, raw) == expected


@pytest.mark.parametrize(
    ("tp", "raw", "problem"),
    [
        (int, "abc", "expected an integer"),
        (int, True, "got a boolean"),
        (int, 1.5, "expected an integer"),
        (bool, "maybe", "expected a boolean"),
        (float, "not-a-number", "expected a number"),
        (Mode, "medium", "expected one of ['FAST', 'SLOW_START']"),
        (timedelta, "soon", "expected a duration"),
        (Literal["a"], "zzz", "expected one of"),
        (Path, "", "expected a path"),
    ],
)
def test_scalar_conversion_errors_name_the_key_not_the_value(tp: Any, raw: Scalar, problem: str) -> None:
    """A bad value is reported under its key, and the value itself (maybe a secret) is not shown."""
    with pytest.raises(BindError) as info:
        one(tp, raw)
    assert info.value.problems[0][0] == "value"
    assert problem in info.value.problems[0][1]
    if isinstance(raw, str) and raw:
        assert raw not in str(info.value)


def test_nested_lists_and_relaxed_names_bind() -> None:
    """db_url ~ db-url ~ dbUrl; a[0].b lists of dataclasses; maps; Optional nested stays None."""
    values: dict[str, Scalar] = {
        "db.url": "jdbc:x",
        "db.pool.SIZE": "9",
        "servers[0].host": "a",
        "servers[0].port": 1,
        "servers[1].host": "b",
        "servers[1].port": "2",
        "Debug": "yes",
        "tags[0]": "x",
        "tags[1]": "y",
        "labels.team-a": 1,
        "labels.teamB": "2",
    }
    settings = bind(Settings, values)
    assert settings == Settings(
        db=Db("jdbc:x", Pool(size=9)),
        servers=[Server("a", 1), Server("b", 2)],
        debug=True,
        tags=("x", "y"),
        labels={"team-a": 1, "teamB": 2},
    )


@pytest.mark.parametrize("spelling", ["pool-size", "poolSize", "pool_size", "POOLSIZE"])
def test_relaxed_spellings_match_a_snake_case_field(spelling: str) -> None:
    """Every Spring spelling of a field name binds to it."""

    @dataclass
    class C:
        pool_size: int

    assert bind(C, {spelling: 3}).pool_size == 3


def test_prefix_binds_a_subtree() -> None:
    """prefix= selects the section to bind."""
    assert bind(Db, {"orders.db.url": "u"}, prefix="orders.db") == Db("u")


def test_an_absent_prefix_is_an_empty_section() -> None:
    """A prefix with no keys gives the defaults, and names each missing required field."""

    @dataclass
    class Greeting:
        text: str = "hello"
        times: int = 1

    assert bind(Greeting, {}, prefix="orders") == Greeting()
    with pytest.raises(BindError) as info:
        bind(Db, {"other.url": "u"}, prefix="orders.db")
    assert "orders.db.url" in str(info.value)


def test_every_problem_is_reported_with_its_dotted_key() -> None:
    """Missing and invalid keys are all listed, each under its dotted path."""
    values: dict[str, Scalar] = {
        "db.pool.size": "big",
        "servers[0].host": "a",
        "servers[2].host": "c",
        "servers[2].port": 3,
        "mode": "x",
    }
    with pytest.raises(BindError) as info:
        bind(Settings, values)
    assert dict(info.value.problems) == {
        "db.url": "missing (required, type str)",
        "db.pool.size": "expected an integer, got a str that is not one",
        "servers[0].port": "missing (required, type int)",
        "servers[1]": "missing list element (the list has a gap)",
        "mode": "expected one of ['FAST', 'SLOW_START']",
    }
    assert "db.url" in str(info.value) and "Settings" in str(info.value)


def test_section_versus_value_mismatches_are_errors() -> None:
    """A value where a section belongs (and the reverse) is reported, not guessed."""
    with pytest.raises(BindError) as info:
        bind(Settings, {"db": "jdbc:x", "servers[0].host": "h", "servers[0].port": 1, "debug.x": "1"})
    assert dict(info.value.problems) == {
        "db": "expected a section, found a single value",
        "debug": "expected a single bool value, found a section",
    }


def test_bind_refuses_non_dataclasses() -> None:
    """Only dataclass types can be bound."""
    with pytest.raises(TypeError):
        bind(dict, {})  # type: ignore[type-var]
