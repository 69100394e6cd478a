"""What a repository holds, read from its file names alone: configuration files, schemas, names.

Pure. The server is never told which applications exist: clients name them. So ``validate`` takes
them from the files, as a client would request them:

* a configuration file is one with a config extension (``.properties``, ``.yml``, ``.yaml``,
  ``.json``) in a search location: the root, or a directory a ``--search-paths`` entry matches
  with ``{application}``, ``{profile}`` and ``{label}`` standing for any one directory name;
* ``application.{ext}`` and ``application-{profile}.{ext}`` are the shared base;
* ``{app}-{profile}.{ext}`` is a profile file of ``app`` when ``app`` is known (it has a file of its
  own, a schema, a directory bound to ``{application}``, or was named with ``--application``);
  any other file stem is an application of its own (``order-service.yml`` is not ``order`` with
  profile ``service``);
* ``schemas/{application}.schema.json`` is an application's JSON Schema (never a config file).

Every name taken from a file is checked as the server checks a request's names
(``config_server.names``): a file no request can reach is a problem, not a name to use.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from config_server.errors import InvalidRequest
from config_server.formats import EXTENSIONS
from config_server.names import parse_names, parse_profiles
from config_server.resolve import glob_to_regex
from config_server.validation.problems import Problem

__all__ = [
    "BASE",
    "SCHEMA_DIR",
    "SCHEMA_SUFFIX",
    "Layout",
    "Names",
    "file_names",
    "layout",
    "stem",
    "valid_app",
    "valid_profile",
]

SCHEMA_DIR = "schemas/"
SCHEMA_SUFFIX = ".schema.json"
BASE = "application"

_PLACEHOLDER = re.compile(r"\{(application|profile|label)\}")


@dataclass(frozen=True, slots=True)
class Layout:
    """Which files of a tree matter, and the application names its directories give."""

    config_files: tuple[str, ...]
    """Paths of the configuration files (in a search location, with a config extension), sorted."""
    schemas: Mapping[str, str]
    """Application name -> path of its ``schemas/{application}.schema.json``."""
    directory_apps: frozenset[str]
    """Names that ``{application}`` in a search path matched as a directory (unchecked)."""
    importable: tuple[str, ...] = ()
    """Files with a config extension outside the search locations, sorted: only a
    ``spring.config.import`` can reach them."""

    @property
    def wanted(self) -> tuple[str, ...]:
        """Every file whose content validation may read."""
        return (*self.config_files, *self.importable, *sorted(self.schemas.values()))


def _location_pattern(raw: str) -> re.Pattern[str] | None:
    """A search path as a regex over directory paths; group ``app`` captures ``{application}``."""
    parts = [p for p in raw.strip().strip("/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    out: list[str] = []
    named = False
    pieces = _PLACEHOLDER.split("/".join(parts))
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(glob_to_regex(piece))
        elif piece == "application" and not named:
            out.append("(?P<app>[^/]+)")
            named = True
        elif piece == "application":
            out.append("(?P=app)")
        else:
            out.append("[^/]+")
    return re.compile("".join(out))


def layout(paths: Collection[str], dirs: Collection[str], search_paths: Sequence[str]) -> Layout:
    """Pick the configuration files and schemas out of a tree's ``paths`` (files) and ``dirs``."""
    locations: set[str] = {""}
    apps: set[str] = set()
    for raw in search_paths:
        pattern = _location_pattern(raw)
        if pattern is None:
            continue
        for directory in dirs:
            match = pattern.fullmatch(directory) if directory else None
            if match is not None:
                locations.add(directory)
                if match.groupdict().get("app"):
                    apps.add(match.group("app"))
    config: list[str] = []
    importable: list[str] = []
    schemas: dict[str, str] = {}
    for path in paths:
        if path.startswith(SCHEMA_DIR) and path.endswith(SCHEMA_SUFFIX):
            name = path[len(SCHEMA_DIR) : -len(SCHEMA_SUFFIX)]
            if name:
                schemas[name] = path
            continue
        directory, _, filename = path.rpartition("/")
        if "." in filename and filename.rsplit(".", 1)[1] in EXTENSIONS:
            (config if directory in locations else importable).append(path)
    return Layout(tuple(sorted(config)), schemas, frozenset(apps), tuple(sorted(importable)))


def stem(path: str) -> str:
    """``teams/orders/orders-dev.yml`` -> ``orders-dev``."""
    return posixpath.basename(path).rsplit(".", 1)[0]


@dataclass(slots=True)
class Names:
    """Applications and profiles named by the files (mutable while being gathered)."""

    applications: dict[str, set[str]] = field(default_factory=dict)
    """Application -> the profiles of its own profile files."""
    shared_profiles: set[str] = field(default_factory=set)
    """Profiles of ``application-{profile}`` files: every application is resolved with them."""
    owners: dict[str, str | None] = field(default_factory=dict)
    """File path -> the application it belongs to (None: the shared base, every application)."""
    problems: list[Problem] = field(default_factory=list)


def valid_app(name: str) -> str | None:
    """The reason ``name`` cannot be requested as an application, or None."""
    try:
        _, apps = parse_names(name)
    except InvalidRequest as exc:
        return exc.message
    if len(apps) != 1:
        return "Invalid application name: a ',' makes it several applications"
    return None


def valid_profile(name: str) -> str | None:
    try:
        profiles = parse_profiles(name)
    except InvalidRequest as exc:
        return exc.message
    if len(profiles) != 1:
        return "Invalid profile: a ',' makes it several profiles"
    return None


def file_names(config_files: Sequence[str], known: Collection[str]) -> Names:
    """Applications and profiles from the files' names; ``known`` adds applications named
    elsewhere (schemas, directories, ``--application``) that profile files may belong to."""
    stems = {stem(path) for path in config_files}
    names = {*stems, *known}
    out = Names()
    for path in config_files:
        s = stem(path)
        if s == BASE:
            out.owners[path] = None
            continue
        if s.startswith(BASE + "-"):
            out.owners[path] = None
            shared = s[len(BASE) + 1 :]
            reason = valid_profile(shared)
            if reason is not None:
                out.problems.append(Problem(path, None, f"no request can reach this file: {reason}"))
            else:
                out.shared_profiles.add(shared)
            continue
        app, profile = _split(s, names)
        reason = valid_app(app)
        if reason is not None:
            out.problems.append(Problem(path, None, f"no request can reach this file: {reason}"))
            continue
        out.owners[path] = app
        profiles = out.applications.setdefault(app, set())
        if profile is not None:
            profiles.add(profile)
    return out


def _split(s: str, names: Collection[str]) -> tuple[str, str | None]:
    """``{app}-{profile}`` with the longest known ``app`` and a valid profile, else ``(s, None)``."""
    index = s.rfind("-")
    while index > 0:
        app, profile = s[:index], s[index + 1 :]
        if app in names and valid_profile(profile) is None:
            return app, profile
        index = s.rfind("-", 0, index)
    return s, None
