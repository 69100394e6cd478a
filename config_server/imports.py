"""``spring.config.import`` inside served files: which repository paths a document imports. Pure.

Spring's git and native repositories load the served files with Spring Boot's ConfigData rules, so
a document's ``spring.config.import`` pulls further files into the environment (Boot's
``StandardConfigDataLocationResolver``):

* the value is a comma-separated string or a list; each entry is a location, and an entry may
  hold several locations separated by ``;``;
* ``optional:`` marks a location whose absence is fine; ``resource:`` is accepted and dropped;
* a location is relative to the directory of the importing file (``import/foo.yml`` in
  ``teams/app.yml`` is ``teams/import/foo.yml``); one ending in ``/`` is a directory searched for
  the config names (``application`` and the requested applications);
* a file location must end in a config extension, else the import is an error (an optional one is
  skipped);
* every location also has profile-specific variants (``foo-{profile}.yml``) for the active profiles.

A location outside the repository (``../``, an absolute path, any ``scheme:`` such as ``file:``,
``classpath:``, ``http:`` or ``configserver:``) is refused with an error naming the file and line.
Spring would resolve it against the server's own file system or class path and then quietly drop
the result (it is outside the search locations); we say so instead. A location that names a missing
file is skipped, optional or not: the Spring server sets ``spring.config.on-not-found=IGNORE``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from config_server.errors import InvalidConfiguration
from config_server.formats.documents import Document, origin_line
from config_server.formats.flatten import scalar_text

__all__ = ["IMPORT_KEY", "ImportLocation", "import_locations"]

IMPORT_KEY = "spring.config.import"
_IMPORT_ITEM = re.compile(re.escape(IMPORT_KEY) + r"\[\d+\]\Z")
_OPTIONAL = "optional:"
_RESOURCE = "resource:"
_URL_PREFIX = re.compile(r"[a-zA-Z][a-zA-Z0-9*]*?:")  # Boot's test for a fixed (non-relative) location
_USERINFO = re.compile(r"//[^/@]*@")
# Highest precedence first, as resolve.EXTENSIONS (not imported: resolve imports this module).
_EXTENSIONS: tuple[str, ...] = ("properties", "yml", "yaml", "json")


@dataclass(frozen=True, slots=True)
class ImportLocation:
    """One entry of a document's ``spring.config.import``, resolved against the repository.

    ``parts`` are repository paths (a directory ends in ``/``), lowest precedence first.
    """

    text: str
    """The entry as written (for messages)."""
    parts: tuple[str, ...]
    optional: bool
    line: int | None

    def references(self, names: Sequence[str], profile: str | None) -> list[str]:
        """The paths this location loads for ``profile`` (None: the plain files), lowest
        precedence first: per part, a file's variant, or a directory's files for each config
        name (``names`` lowest first) and each extension."""
        out: list[str] = []
        for part in self.parts:
            if part.endswith("/"):
                for name in names:
                    stem = f"{part}{name}" if profile is None else f"{part}{name}-{profile}"
                    out.extend(f"{stem}.{ext}" for ext in reversed(_EXTENSIONS))
            elif profile is None:
                out.append(part)
            else:
                root, _, ext = part.rpartition(".")
                out.append(f"{root}-{profile}.{ext}")
        return out


def import_locations(path: str, document: Document) -> list[ImportLocation]:
    """The locations ``document`` (of the file at ``path``) imports, in the order written (the
    last has the highest precedence). Raises ``InvalidConfiguration`` (with the line) for a
    location outside the repository, or a non-optional file location without a config extension."""
    out: list[ImportLocation] = []
    for key, value in document.properties.items():
        if key != IMPORT_KEY and not _IMPORT_ITEM.match(key):
            continue
        line = origin_line(value.origin)
        for entry in scalar_text(value.value).split(","):
            location = _location(path, entry.strip(), line)
            if location is not None:
                out.append(location)
    return out


def _location(path: str, entry: str, line: int | None) -> ImportLocation | None:
    text = entry
    optional = entry.startswith(_OPTIONAL)
    if optional:
        entry = entry[len(_OPTIONAL) :].strip()
    if entry.startswith(_RESOURCE):
        entry = entry[len(_RESOURCE) :]
    if not entry:
        return None
    directory = posixpath.dirname(path)
    parts: list[str] = []
    for raw in entry.split(";"):
        part = raw.strip()
        if not part:
            continue
        if part.startswith(("/", "\\")) or _URL_PREFIX.match(part):
            raise InvalidConfiguration(path, _outside(text), line=line)
        joined = posixpath.normpath(posixpath.join(directory, part))
        if joined == ".." or joined.startswith("../"):
            raise InvalidConfiguration(path, _outside(text), line=line)
        if part.endswith("/"):
            parts.append("" if joined == "." else joined + "/")
            continue
        if joined.rpartition(".")[2] not in _EXTENSIONS or "/" in joined.rpartition(".")[2]:
            if optional:
                continue
            raise InvalidConfiguration(
                path,
                f"{IMPORT_KEY} '{text}': the file extension is not one of "
                f"{', '.join('.' + e for e in _EXTENSIONS)}; a directory must end in '/'",
                line=line,
            )
        parts.append(joined)
    if not parts:
        return None
    return ImportLocation(text, tuple(parts), optional, line)


def _outside(text: str) -> str:
    text = _USERINFO.sub("//***@", text)  # a URL's user:password never reaches a message
    return (
        f"{IMPORT_KEY} '{text}' is outside the repository; "
        "only paths relative to the importing file are served"
    )
