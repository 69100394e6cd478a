"""``check``: every problem of a repository's configuration, from its files' bytes (pure but for keys).

What is checked, in the order a request meets it:

1. every configuration file parses (``formats.parse_document_file``: YAML, ``.properties``, JSON);
2. every ``{cipher}`` value decrypts with the key ring (the only impure step: a Vault transit key
   calls Vault); without a ring the values are counted as unchecked, not reported; with
   ``Options.decrypt`` false (``--encrypt-enabled false``) they are left as the server serves
   them, neither checked nor counted;
3. every application found (``discover``) is resolved with each of its profiles, ``default``,
   the shared ones and ``--profile``, by the server's own rules (``config_server.resolve``: the
   same steps as ``GitConfigSource``), each file parsed once for all of them;
4. each such environment, merged as a client merges it, validates against
   ``schemas/{application}.schema.json`` when there is one (``schema``).

An environment that includes a file that does not parse is not schema-checked (the parse error is
already reported, and a schema check of the rest would only add noise).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from config_client.wire import PropertySource, PropertyValue

from config_server import resolve
from config_server.crypto.environment import CIPHER
from config_server.crypto.keyring import KeyRing
from config_server.errors import CryptoError, InvalidConfiguration
from config_server.formats import parse_document_file
from config_server.formats.documents import Document, origin_line
from config_server.imports import IMPORT_KEY
from config_server.validation import discover
from config_server.validation.problems import Problem, problem_of, sorted_problems
from config_server.validation.schema import Schema, load_schema, schema_problems

__all__ = ["Options", "Report", "check"]

_PROFILE_WORD = re.compile(r"[\w.+@-]+")
_URI = ""  # property-source names are "/<path>", mapped back to paths exactly (not parsed)
_MAX_CONTEXTS = 3


@dataclass(frozen=True, slots=True)
class Options:
    """What to check besides what the files name; ``label`` fills ``{label}`` in search paths.
    ``decrypt`` is the server's ``encrypt_enabled``: false serves ``{cipher}`` values as they are
    (clients decrypt them), so they are not checked."""

    search_paths: tuple[str, ...] = ()
    applications: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    label: str = "main"
    decrypt: bool = True


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome: ``problems`` sorted by path and line; counts for the summary line."""

    problems: tuple[Problem, ...]
    files: int
    """Configuration files parsed."""
    applications: int
    environments: int
    """Application x profile pairs resolved."""
    schemas: int
    unchecked_ciphers: int
    """``{cipher}`` values not checked because no key is configured."""


def check(
    files: Mapping[str, bytes], dirs: Collection[str], options: Options, *, ring: KeyRing | None
) -> Report:
    """Check a tree: ``files`` (path -> bytes) holds at least ``discover.layout(...).wanted``,
    ``dirs`` every directory (``""`` the root). Raises only what the ring raises besides crypto
    errors (``Unavailable`` when Vault's transit engine cannot be reached)."""
    layout = discover.layout(files.keys(), dirs, options.search_paths)
    problems: list[Problem] = []
    decrypted = _Decryptor(ring, enabled=options.decrypt)
    secret_keys: dict[str, set[str]] = {}
    loader = _Loader(files, decrypted, problems, secret_keys)
    for path in layout.config_files:
        loader.load(path)
    documents = loader.documents

    schemas: dict[str, Schema] = {}
    for app, path in layout.schemas.items():
        loaded = load_schema(path, files[path])
        if isinstance(loaded, Problem):
            problems.append(loaded)
        else:
            schemas[app] = loaded

    known = {*options.applications, *layout.directory_apps, *layout.schemas}
    names = discover.file_names(layout.config_files, known)
    problems.extend(names.problems)
    apps = {app: set(profiles) for app, profiles in names.applications.items()}
    for app in known:
        if app not in apps and discover.valid_app(app) is None:
            apps[app] = set()
    if not apps:
        apps[discover.BASE] = set()
    shared = set(names.shared_profiles)
    for path, docs in documents.items():  # profiles that only on-profile documents name
        words = {w for doc in docs for e in doc.on_profile or () for w in _PROFILE_WORD.findall(e)}
        words = {w for w in words if discover.valid_profile(w) is None}
        owner = names.owners.get(path)
        (shared if owner is None else apps.setdefault(owner, set())).update(words)

    present = set(layout.config_files) | set(layout.importable)
    environments = 0
    found: dict[Problem, list[tuple[str, str]]] = {}
    for app in sorted(apps):
        for profile in sorted({"default", *apps[app], *shared, *options.profiles}):
            environments += 1
            try:
                sources = _environment(app, profile, options, dirs, present, loader)
            except InvalidConfiguration as exc:
                problems.append(problem_of(exc))
                continue
            schema = schemas.get(app)
            if sources is None or schema is None:
                continue
            source_paths = loader.source_paths
            secrets = {key for source in sources for key in secret_keys.get(source_paths[source.name], ())}
            for problem in schema_problems(schema, sources, paths=source_paths, secret_keys=secrets):
                found.setdefault(problem, []).append((app, profile))
    problems.extend(
        Problem(p.path, p.line, f"{p.message} [{_contexts(where)}]") for p, where in found.items()
    )
    return Report(
        problems=sorted_problems(problems),
        files=len(layout.config_files),
        applications=len(apps),
        environments=environments,
        schemas=len(layout.schemas),
        unchecked_ciphers=decrypted.unchecked,
    )


def _environment(
    app: str,
    profile: str,
    options: Options,
    dirs: Collection[str],
    present: Collection[str],
    loader: _Loader,
) -> list[PropertySource] | None:
    """The property sources of ``/{app}/{profile}``, as ``GitConfigSource._files`` builds them
    (``resolve.environment``: imports included, a missing non-optional import reported); None
    when a file it includes does not parse."""
    documents = loader.documents
    names = resolve.config_names([app])
    locations = resolve.search_locations(
        options.search_paths, applications=[app], profiles=[profile], label=options.label, dirs=dirs
    )
    while True:
        step = resolve.environment(names, [profile], locations, documents=documents, present=present)
        for missing in step.missing:
            loader.problems.append(
                Problem(
                    missing.importer,
                    missing.line,
                    f"{IMPORT_KEY} '{missing.location}': there is no file {missing.path} "
                    "(the server skips it; mark it 'optional:' if that is meant)",
                )
            )
        if not step.needed:
            break
        if not all(loader.load(path) for path in step.needed):
            return None
    return resolve.assemble(
        step.ordered, documents, profiles=step.profiles, uri=_URI, names=names, present=present
    )


class _Loader:
    """Parses (and decrypts) each file once, on first use; records parse failures as problems."""

    def __init__(
        self,
        files: Mapping[str, bytes],
        decryptor: _Decryptor,
        problems: list[Problem],
        secret_keys: dict[str, set[str]],
    ) -> None:
        self.files = files
        self.decryptor = decryptor
        self.problems = problems
        self.secret_keys = secret_keys
        self.documents: dict[str, list[Document]] = {}
        self.broken: set[str] = set()
        self.source_paths: dict[str, str] = {}
        """Property-source name -> the path of its file."""

    def load(self, path: str) -> bool:
        """Parse ``path`` if not yet done; False when it does not parse."""
        if path in self.broken:
            return False
        if path in self.documents:
            return True
        try:
            docs = parse_document_file(path, self.files[path])
        except InvalidConfiguration as exc:
            self.problems.append(problem_of(exc))
            self.broken.add(path)
            return False
        self.documents[path] = [
            self.decryptor.document(path, doc, self.problems, self.secret_keys) for doc in docs
        ]
        for index in range(len(docs)):
            self.source_paths[resolve.source_name(_URI, path, index, len(docs))] = path
        return True


def _contexts(where: list[tuple[str, str]]) -> str:
    by_app: dict[str, list[str]] = {}
    for app, profile in where:
        by_app.setdefault(app, []).append(profile)
    shown = [f"{app}: {', '.join(profiles)}" for app, profiles in list(by_app.items())[:_MAX_CONTEXTS]]
    more = len(by_app) - _MAX_CONTEXTS
    return "; ".join(shown) + (f"; and {more} more application(s)" if more > 0 else "")


class _Decryptor:
    """Decrypts each distinct ``{cipher}`` text once; counts what it could not check."""

    def __init__(self, ring: KeyRing | None, *, enabled: bool = True) -> None:
        self.ring = ring
        self.enabled = enabled
        self.unchecked = 0
        self._cache: dict[str, str | CryptoError] = {}

    def document(
        self, path: str, doc: Document, problems: list[Problem], secret_keys: dict[str, set[str]]
    ) -> Document:
        """``doc`` with its ``{cipher}`` values decrypted (those that fail are left out, as the
        server leaves them out); each failure becomes a problem at its line."""
        if not self.enabled:  # served as they are, as the server's last-good check sees them
            return doc
        ciphered = [k for k, v in doc.properties.items() if str(v.value).startswith(CIPHER)]
        if not ciphered:
            return doc
        if self.ring is None:
            self.unchecked += len(ciphered)
            return doc
        properties: dict[str, PropertyValue] = dict(doc.properties)
        for key in ciphered:
            value = properties.pop(key)
            plain = self._decrypt(str(value.value)[len(CIPHER) :])
            if isinstance(plain, CryptoError):
                line = origin_line(value.origin)
                problems.append(
                    Problem(path, line, f"{key}: the {{cipher}} value does not decrypt: {plain.message}")
                )
                continue
            properties[key] = PropertyValue(plain, value.origin)
            secret_keys.setdefault(path, set()).add(key)
        return Document(MappingProxyType(properties), doc.on_profile)

    def _decrypt(self, text: str) -> str | CryptoError:
        assert self.ring is not None
        found = self._cache.get(text)
        if found is None:
            try:
                found = self.ring.decrypt(text)
            except CryptoError as exc:
                found = exc
            self._cache[text] = found
        return found
