"""Which files make up an environment, and in what order: Spring Boot's ConfigData rules, pure.

The server hands Boot ``spring.config.name=application,{app}``, the requested profiles as active,
and the locations ``/`` then each search path (reference §3.1). The resulting precedence, highest
first:

1. profile-specific files ``{name}-{profile}.{ext}``: last profile first, then later location first,
   then the application before ``application``, then ``.properties`` > ``.yml`` > ``.yaml`` > ``.json``;
2. non-profile files ``{name}.{ext}``: later location first, application before ``application``,
   same extension order.

Profiles: the requested ones, unless the first is ``default`` (Boot's ``IGNORE_PROFILES``), are
widened by ``spring.profiles.include`` and ``spring.profiles.group.<name>`` found in the always-active
documents of the non-profile files, as Boot does: included profiles come before the requested ones
(so they rank lower), and each profile is followed by its group's members. ``spring.profiles.active``
in a file changes nothing, because the server sets the active profiles above every file.

Inside a multi-document file later documents come first, and a document whose
``spring.config.activate.on-profile`` does not match the active profiles is left out: it stays in its
file's slot (an ``on-profile: dev`` document in ``application.yml`` never beats ``foo.yml``).

A document's ``spring.config.import`` (``config_server.imports``) places the files it imports
immediately above that document, the last import highest (see :func:`plan`). Imports nest at most
``MAX_IMPORT_DEPTH`` files deep and one document names at most ``MAX_IMPORT_LOCATIONS`` locations:
whoever can push must not be able to make one request plan thousands of files (Spring has no such
bound; its stack would overflow first).

``.json`` is not a Boot format; we accept it as a YAML dialect ranked below ``.yaml``.

Everything here is plain data in, data out: the git source supplies the tree listing and the parsed
documents, the HTTP layer supplies validated names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config_client.wire import PropertySource

from config_server.errors import InvalidConfiguration
from config_server.formats.flatten import scalar_text
from config_server.imports import IMPORT_KEY, ImportLocation, import_locations
from config_server.profiles import MalformedProfileExpression, matches_any

if TYPE_CHECKING:
    from config_server.formats.documents import Document

__all__ = [
    "EXTENSIONS",
    "Candidate",
    "MissingImport",
    "Plan",
    "Step",
    "assemble",
    "candidates",
    "config_names",
    "environment",
    "expand_profiles",
    "glob_to_regex",
    "plan",
    "resource_candidates",
    "search_locations",
    "source_name",
    "source_path",
]

EXTENSIONS: tuple[str, ...] = ("properties", "yml", "yaml", "json")
"""Config file extensions, highest precedence first."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that may take part in an environment, in precedence order."""

    path: str
    profile: str | None  # the profile it is specific to, None for a non-profile file


def config_names(applications: Sequence[str]) -> list[str]:
    """``application`` plus the requested applications, de-duplicated, lowest precedence first."""
    names = ["application"]
    for app in applications:
        if app not in names:
            names.append(app)
    return names


def search_locations(
    search_paths: Sequence[str],
    *,
    applications: Sequence[str],
    profiles: Sequence[str],
    label: str | None,
    dirs: Collection[str],
) -> list[str]:
    """The directories to look in, lowest precedence first, each ``""`` (root) or ending in ``/``.

    The repository root always comes first. Each search path has ``{application}``, ``{profile}``
    and ``{label}`` expanded once per application x profile, and ``*``/``**``/``?`` wildcards
    matched against ``dirs`` (the tree's directories). Paths that do not exist are skipped, and so
    is anything that would leave the repository.
    """
    out: list[str] = [""]
    for raw in search_paths:
        for prof in profiles or [""]:
            for app in applications or [""]:
                value = raw.replace("{application}", app).replace("{profile}", prof)
                value = value.replace("{label}", label or "")
                for loc in _expand(value, dirs):
                    if loc not in out:
                        out.append(loc)
    return out


def _expand(pattern: str, dirs: Collection[str]) -> list[str]:
    norm = pattern.strip().strip("/")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return []
    norm = "/".join(parts)
    if not any(ch in norm for ch in "*?"):
        return [norm + "/" if norm else ""] if norm in dirs else []
    regex = re.compile(glob_to_regex(norm))
    return [d + "/" for d in sorted(dirs) if d and regex.fullmatch(d)]


def glob_to_regex(glob: str) -> str:
    """A regular expression (for ``fullmatch``) of a search-path glob: ``*`` and ``?`` stay within
    one directory, ``**`` crosses them."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def candidates(names: Sequence[str], profiles: Sequence[str], locations: Sequence[str]) -> list[Candidate]:
    """Every file that could contribute, highest precedence first (whether or not it exists)."""
    out: list[Candidate] = []
    for profile in reversed(profiles):
        for loc in reversed(locations):
            for name in reversed(names):
                out.extend(Candidate(f"{loc}{name}-{profile}.{ext}", profile) for ext in EXTENSIONS)
    for loc in reversed(locations):
        for name in reversed(names):
            out.extend(Candidate(f"{loc}{name}.{ext}", None) for ext in EXTENSIONS)
    seen: set[str] = set()
    unique: list[Candidate] = []
    for c in out:  # a profile named like a file stem could repeat a path; the first slot wins
        if c.path not in seen:
            seen.add(c.path)
            unique.append(c)
    return unique


MAX_IMPORT_DEPTH = 16
"""How many files deep ``spring.config.import`` may nest (a file its own level 0)."""
MAX_IMPORT_LOCATIONS = 64
"""How many locations (``;`` parts counted) one document's ``spring.config.import`` may name."""

INCLUDE_KEY = "spring.profiles.include"
GROUP_PREFIX = "spring.profiles.group."
_INDEXED = re.compile(r"^(?P<key>.+?)(?:\[\d+\])?$")


def expand_profiles(requested: Sequence[str], base_documents: Sequence[Document]) -> list[str]:
    """The active profiles Boot ends up with for ``requested`` (reference §3.1, §3.4).

    ``base_documents`` are the documents of the existing non-profile files, highest precedence
    first. Only documents without ``on-profile`` count, and nothing changes when the first
    requested profile is ``default``. A group defined in several places takes the highest one.
    """
    if not requested or requested[0] == "default":
        return list(requested)
    includes: list[str] = []
    groups: dict[str, list[str]] = {}
    for doc in base_documents:
        if doc.on_profile is not None:
            continue
        found: dict[str, list[str]] = {}
        for key, value in doc.properties.items():
            if not key.startswith("spring.profiles."):
                continue
            m = _INDEXED.match(key)
            base = m.group("key") if m else key
            names = [p.strip() for p in scalar_text(value.value).split(",") if p.strip()]
            if base == INCLUDE_KEY:
                includes.extend(names)
            elif base.startswith(GROUP_PREFIX) and len(base) > len(GROUP_PREFIX):
                found.setdefault(base[len(GROUP_PREFIX) :], []).extend(names)
        for name, members in found.items():
            groups.setdefault(name, members)
    if not includes and not groups:
        return list(requested)
    stack = list(reversed(list(dict.fromkeys([*includes, *requested]))))
    expanded: dict[str, None] = {}
    while stack:
        current = stack.pop()
        if current not in expanded:
            expanded[current] = None
            stack.extend(reversed(groups.get(current, [])))
    return list(expanded)


@dataclass(frozen=True, slots=True)
class MissingImport:
    """A non-optional ``spring.config.import`` of a file the tree does not hold (the server skips
    it, as Spring's does; ``validate`` reports it)."""

    importer: str
    line: int | None
    location: str
    path: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Which documents make up an environment, highest precedence first.

    ``placed`` holds ``(path, document index)`` pairs; ``base`` those of them active before
    profiles apply (the documents whose ``spring.profiles.include`` and groups count, for
    :func:`expand_profiles`); ``needed`` the imported files that exist but whose documents were not
    supplied (parse them and plan again); ``missing`` the non-optional imports of absent files.
    """

    placed: tuple[tuple[str, int], ...]
    base: tuple[tuple[str, int], ...]
    needed: frozenset[str]
    missing: tuple[MissingImport, ...]


def plan(
    ordered: Sequence[Candidate],
    documents: Mapping[str, Sequence[Document]],
    *,
    profiles: Sequence[str],
    names: Sequence[str],
    present: Collection[str] | None = None,
) -> Plan:
    """Place the documents of the existing candidates and of the files they import.

    ``ordered`` are the candidates that exist, highest precedence first (``documents`` holds their
    parsed files); ``present`` every path of the tree (default: the keys of ``documents``);
    ``names`` the config names, lowest first (for directory imports); ``profiles`` the active ones,
    lowest first.

    Boot's order (``ConfigDataEnvironmentContributors``): a document's imports sit immediately
    above it, the last import highest. A document active before profiles are applied (no
    ``on-profile``, in a non-profile file, imported by such a document) gets its imports' profile
    variants above all its plain imports; any other document gets each import followed by its
    variants. A file is loaded once: the main candidates first, then imports in precedence order.
    Raises ``InvalidConfiguration`` for a malformed ``on-profile`` expression, a refused import,
    or imports beyond ``MAX_IMPORT_DEPTH`` or ``MAX_IMPORT_LOCATIONS``.
    """
    exists = frozenset(documents) if present is None else present
    active = frozenset(profiles)
    loaded = {c.path for c in ordered}
    placed: list[tuple[str, int]] = []
    base: list[tuple[str, int]] = []
    needed: set[str] = set()
    missing: list[MissingImport] = []

    def place_file(path: str, docs: Sequence[Document], before: bool, depth: int = 0) -> None:
        if depth > MAX_IMPORT_DEPTH:
            raise InvalidConfiguration(
                path, f"{IMPORT_KEY} nests more than {MAX_IMPORT_DEPTH} files deep here"
            )
        for index in range(len(docs) - 1, -1, -1):
            doc = docs[index]
            if doc.on_profile is not None:
                try:
                    if not matches_any(doc.on_profile, active):
                        continue
                except MalformedProfileExpression as exc:
                    raise InvalidConfiguration(path, str(exc)) from exc
            doc_before = before and doc.on_profile is None
            place_imports(path, doc, doc_before, depth)
            placed.append((path, index))
            if doc_before:
                base.append((path, index))

    def place_imports(path: str, doc: Document, before: bool, depth: int) -> None:
        locations = import_locations(path, doc)
        if sum(len(loc.parts) for loc in locations) > MAX_IMPORT_LOCATIONS:
            raise InvalidConfiguration(
                path, f"{IMPORT_KEY} names more than {MAX_IMPORT_LOCATIONS} locations in one document"
            )
        children: list[tuple[str, bool, ImportLocation | None]] = []  # lowest precedence first
        if before:
            children = [(ref, True, loc) for loc in locations for ref in loc.references(names, None)]
            children += [
                (ref, False, None)
                for loc in locations
                for profile in profiles
                for ref in loc.references(names, profile)
            ]
        else:
            for loc in locations:
                children += [(ref, False, loc) for ref in loc.references(names, None)]
                children += [(ref, False, None) for p in profiles for ref in loc.references(names, p)]
        for ref, child_before, plain in reversed(children):
            if ref in loaded:
                continue
            if ref not in exists:
                # Only a named file can be missing: directory and profile variants are optional.
                if plain is not None and not plain.optional and ref in plain.parts:
                    missing.append(MissingImport(path, plain.line, plain.text, ref))
                continue
            loaded.add(ref)
            found = documents.get(ref)
            if found is None:
                needed.add(ref)
            else:
                place_file(ref, found, child_before, depth + 1)

    for cand in ordered:
        docs = documents.get(cand.path)
        if docs:
            place_file(cand.path, docs, cand.profile is None)
    return Plan(tuple(placed), tuple(base), frozenset(needed), tuple(missing))


def assemble(
    ordered: Sequence[Candidate],
    documents: Mapping[str, Sequence[Document]],
    *,
    profiles: Sequence[str],
    uri: str,
    names: Sequence[str] = ("application",),
    present: Collection[str] | None = None,
) -> list[PropertySource]:
    """Turn the existing candidates (``documents`` holds the parsed files that exist, imported ones
    included) into property sources, highest precedence first, named ``<uri>/<path>``
    (`` (document #N)`` for files with more than one document); see :func:`plan`. An imported file
    that exists but is not in ``documents`` is left out. Raises ``InvalidConfiguration`` for a
    malformed ``on-profile`` expression or a refused import."""
    out: list[PropertySource] = []
    for path, index in plan(ordered, documents, profiles=profiles, names=names, present=present).placed:
        docs = documents[path]
        out.append(PropertySource(source_name(uri, path, index, len(docs)), docs[index].properties))
    return out


_DOCUMENT = re.compile(r" \(document #\d+\)$")


def source_name(uri: str, path: str, index: int, count: int) -> str:
    """The property-source name of document ``index`` of the ``count`` in the file ``path``:
    ``<uri>/<path>``, with `` (document #<index>)`` when the file holds more than one."""
    return f"{uri}/{path}" + (f" (document #{index})" if count > 1 else "")


def source_path(name: str, uri: str) -> str:
    """The file path in a property-source name that :func:`source_name` made with ``uri``."""
    return _DOCUMENT.sub("", name).removeprefix(uri.rstrip("/") + "/")


def resource_candidates(path: str, profiles: Sequence[str], locations: Sequence[str]) -> list[str]:
    """Plain-text resource lookup order (reference §1.3): for each location in order, first
    ``{stem}-{profile}.{ext}`` for each profile in the given order (``default`` skipped), then the
    path itself. The first that exists wins."""
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = path, ""
    out: list[str] = []
    for loc in locations:
        for profile in profiles:
            if profile == "default":
                continue
            out.append(f"{loc}{stem}-{profile}" + (f".{ext}" if ext else ""))
        out.append(f"{loc}{path}")
    return out


@dataclass(frozen=True, slots=True)
class Step:
    """Where resolving an environment stands (see :func:`environment`): ``needed`` the files to
    parse next, in this order (empty: done); ``ordered`` and ``profiles`` what to
    :func:`assemble` once done; ``missing`` the non-optional imports of absent files found so far."""

    needed: tuple[str, ...]
    ordered: list[Candidate]
    profiles: list[str]
    missing: tuple[MissingImport, ...]


def environment(
    names: Sequence[str],
    profiles: Sequence[str],
    locations: Sequence[str],
    *,
    documents: Mapping[str, Sequence[Document]],
    present: Collection[str],
) -> Step:
    """The candidates of ``profiles`` in ``locations``, the files they import, then the same for
    the profiles that ``spring.profiles.include`` and groups add (:func:`expand_profiles`).

    The caller parses ``Step.needed`` into ``documents`` and calls again until nothing is needed:
    the candidates first, in precedence order, then each level of imports, sorted. Raises as
    :func:`plan`."""
    missing: list[MissingImport] = []

    def step(active: Sequence[str]) -> tuple[list[Candidate], Plan | None, tuple[str, ...]]:
        ordered = [c for c in candidates(names, active, locations) if c.path in present]
        unread = tuple(c.path for c in ordered if c.path not in documents)
        if unread:
            return ordered, None, unread
        planned = plan(ordered, documents, profiles=active, names=names, present=present)
        missing.extend(planned.missing)
        return ordered, planned, tuple(sorted(planned.needed))

    requested = list(profiles)
    ordered, planned, needed = step(requested)
    if needed or planned is None:
        return Step(needed, ordered, requested, tuple(missing))
    expanded = expand_profiles(requested, [documents[path][index] for path, index in planned.base])
    if expanded != requested:
        ordered, _, needed = step(expanded)
    return Step(needed, ordered, expanded, tuple(missing))
