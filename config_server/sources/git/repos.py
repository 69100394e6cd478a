"""Spring's pattern and composite repositories as values: the ``--config`` keys, parsed, and the rules.

Pure (no I/O). ``parse_repos`` reads the ``repos:`` mapping and ``parse_composite`` the
``composite:`` list of a ``--config`` file, with Spring's key names (reference §6.4, §3.6), into
frozen specs; ``RepoSpec.matches`` / ``serves`` are Spring's ``PatternMatchingJGitEnvironmentRepository``
rules; ``expand`` fills a URI template; ``repository_key`` normalises a remote URL so a webhook's
clone URL can be compared with a configured one.

Matching (Spring's): a pattern is an ``{application}/{profile}`` glob whose only wildcard is ``*``
(any run of characters, ``/`` and ``,`` included); a pattern without ``/`` also gets ``/*`` (any
profile) and one not ending in ``*`` also gets ``,*`` (more profiles after it). A repository
*matches* a request when any one of its profiles, tested last first, matches
``application/profile``; a repository with a fixed URI then *serves* it only if the whole
``application/profiles`` (comma-joined) matches too, which is what Spring's ``findOne`` checks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from config_server.secret import Secret
from config_server.sources.git.refs import redact
from config_server.sources.git.remote import RemoteAccess

__all__ = [
    "CompositeEntry",
    "RepoSpec",
    "RepoSpecError",
    "expand",
    "expand_patterns",
    "parse_composite",
    "parse_repos",
    "placeholders",
    "repository_key",
    "simple_match",
]

PLACEHOLDERS = ("{application}", "{profile}", "{label}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
# What a placeholder may expand to inside a URI: names as the request grammar allows them, minus
# anything that could change a URL's meaning (query, fragment, authority, whitespace, escapes).
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._@+/-]+")


class RepoSpecError(ValueError):
    """A ``repos:`` or ``composite:`` entry is malformed; the message names the entry and key."""


@dataclass(frozen=True, slots=True)
class RepoSpec:
    """One git repository of the ``--config`` file: its URI and what it sets itself.

    ``None`` (and an unset field of ``access``) means inherited from the server's settings
    (``resolved``). ``patterns`` are already expanded (``expand_patterns``); empty for the default
    repository of a composite ``git`` entry.
    """

    name: str
    uri: str
    patterns: tuple[str, ...] = ()
    search_paths: tuple[str, ...] | None = None
    default_label: str | None = None
    refresh_rate: float | None = None
    access: RemoteAccess = dataclasses.field(default_factory=RemoteAccess)

    def __repr__(self) -> str:
        # Every field, but no URL user-info (a token in a URI or a proxy URL); Secrets hide themselves.
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
        return redact(f"{type(self).__name__}({shown})")

    @property
    def is_template(self) -> bool:
        """Whether the URI holds ``{application}``, ``{profile}`` or ``{label}``: one clone per expansion."""
        return bool(placeholders(self.uri))

    def matches(self, application: str, profiles: Sequence[str]) -> bool:
        """Spring's ``matches``: some single profile (last first) fits ``application/profile``."""
        return any(simple_match(self.patterns, f"{application}/{profile}") for profile in reversed(profiles))

    def serves(self, application: str, profiles: Sequence[str]) -> bool:
        """Spring's ``findOne`` check of a fixed-URI repository: the whole request fits."""
        return simple_match(self.patterns, f"{application}/{','.join(profiles)}")

    def resolved(
        self, *, access: RemoteAccess, default_label: str, refresh_rate: float, search_paths: Sequence[str]
    ) -> RepoSpec:
        """This spec with every unset setting taken from the server's (Spring's inheritance).

        As Spring does, a repository that names its own ``username`` keeps its own password too
        (none), rather than receiving the server's password for a different account.
        """
        own = self.access
        merged = own.inherit(access)
        if own.username is not None:
            merged = dataclasses.replace(merged, password=own.password, password_file=own.password_file)
        return dataclasses.replace(
            self,
            access=merged,
            default_label=self.default_label or default_label,
            refresh_rate=refresh_rate if self.refresh_rate is None else self.refresh_rate,
            search_paths=tuple(search_paths) if self.search_paths is None else self.search_paths,
        )


@dataclass(frozen=True, slots=True)
class CompositeEntry:
    """One entry of ``composite:``: a git repository (with its own ``repos``) or the Vault source."""

    type: Literal["git", "vault"]
    git: RepoSpec | None = None
    repos: tuple[RepoSpec, ...] = ()


# --- patterns ---------------------------------------------------------------------------------


def expand_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """Spring's ``setPattern``: add ``p/*`` to a pattern without ``/`` and ``p,*`` to one not
    ending in ``*``; the originals first, the ``,*`` forms last, duplicates dropped."""
    out: list[str] = []
    more_profiles: list[str] = []
    for p in patterns:
        if "/" not in p:
            out.append(p + "/*")
        if not p.endswith("*"):
            more_profiles.append(p + ",*")
        out.append(p)
    return tuple(dict.fromkeys(out + more_profiles))


def simple_match(patterns: str | Sequence[str], text: str) -> bool:
    """Whether ``text`` matches any of ``patterns``, where ``*`` matches any run of characters."""
    if isinstance(patterns, str):
        patterns = (patterns,)
    return any(_glob(p).fullmatch(text) is not None for p in patterns)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


# --- URI templates ----------------------------------------------------------------------------


def placeholders(uri: str) -> tuple[str, ...]:
    """The placeholders a URI holds, e.g. ``("{application}",)``."""
    return tuple(p for p in PLACEHOLDERS if p in uri)


def expand(uri: str, *, application: str, profile: str, label: str) -> str | None:
    """The URI with its placeholders filled (Spring's ``getRepository``), or None when a value
    could change the URL's meaning (a ``?``, ``#``, ``:``, space, a ``.`` or ``..`` segment...):
    such a request is served as if the repository did not exist. ``(_)`` in names was already
    turned into ``/``."""
    for placeholder, value in (
        ("{application}", application),
        ("{profile}", profile),
        ("{label}", label),
    ):
        if placeholder in uri:
            if not _SAFE_VALUE.fullmatch(value) or value.startswith(("-", "/")):
                return None
            if any(segment in (".", "..") for segment in value.split("/")):
                return None  # git and curl resolve dot segments: no climbing out of the template
            uri = uri.replace(placeholder, value)
    return uri


def _check_template(name: str, uri: str) -> None:
    """Placeholders may only stand in the path (Spring refuses them in a URL's authority)."""
    if not placeholders(uri):
        return
    if "://" in uri:
        authority = uri.split("://", 1)[1].split("/", 1)[0]
        if "{" in authority:
            raise RepoSpecError(f"repos.{name}.uri: a placeholder may only stand in the path, not the host")
    elif "{" in uri.split(":", 1)[0] and ":" in uri.split("/", 1)[0]:
        raise RepoSpecError(f"repos.{name}.uri: a placeholder may only stand in the path, not the host")
    if uri.startswith("{"):
        raise RepoSpecError(f"repos.{name}.uri: a URI may not start with a placeholder")


def repository_key(url: str) -> str:
    """A remote URL normalised for comparison: no scheme, credentials, port (each scheme has
    its own), trailing ``.git`` or ``/``; host in lower case. scp-like ``git@host:org/repo`` and
    ``ssh://git@host/org/repo`` give the same key, and so does ``https://host/org/repo.git``."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        path = parts.path
    elif ":" in text.split("/", 1)[0]:  # scp-like user@host:path
        hostpart, _, path = text.partition(":")
        host = hostpart.rpartition("@")[2].lower()
        path = "/" + path.lstrip("/")
    else:  # a local path
        host, path = "", text
    path = path.rstrip("/")
    path = path.removesuffix(".git").rstrip("/")
    return f"{host}{quote(path, safe='/@:+~')}"


# --- parsing the --config file ----------------------------------------------------------------

# Spring keys accepted for what this server always does: clones are made at start (or at first
# request for templates), fetches are forced.
# Spring's other git keys (JGitEnvironmentProperties), so a copied section says what to do instead.
_SPRING_UNSUPPORTED = {
    "host-key": ": put the host key in a known_hosts file, known-hosts-file",
    "host-key-algorithm": ": put the host key in a known_hosts file, known-hosts-file",
    "preferred-authentications": "",
    "basedir": ": every clone lives under the server's --basedir",
    "clone-submodules": "",
    "try-master-branch": ": it applies to every repository here, set git-try-master-branch at the top level",
    "continue-on-multiple-label-failure": (
        ": it applies to every repository here, set git-continue-on-multiple-label-failure at the top level"
    ),
    "delete-untracked-branches": (
        ": it applies to every repository here, set git-delete-untracked-branches at the top level"
    ),
    "order": ": in composite:, list order is precedence",
}
_NO_OP_KEYS = frozenset({"clone-on-start", "force-pull", "name"})
_REPO_KEYS = frozenset(
    {
        "uri",
        "pattern",
        "search-paths",
        "default-label",
        "refresh-rate",
        "timeout",
        "username",
        "password",
        "password-file",
        "passphrase",
        "private-key-file",
        "ssh-key",
        "known-hosts-file",
        "strict-host-key-checking",
        "ignore-local-ssh-settings",
        "skip-ssl-validation",
        "ca-file",
        "proxy",
    }
)


def parse_repos(raw: object, *, where: str = "repos") -> tuple[RepoSpec, ...]:
    """The ``repos:`` mapping (name → URI, or name → mapping of Spring's keys), in file order.

    Raises ``RepoSpecError`` naming the entry and key for anything malformed or unknown.
    """
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise RepoSpecError(f"{where} must be a mapping of repository names to a URI or settings")
    specs: list[RepoSpec] = []
    for key, value in raw.items():
        name = str(key)
        if not _NAME.fullmatch(name):
            raise RepoSpecError(f"{where}: '{name[:80]}' is not a repository name (letters, digits, . _ -)")
        if isinstance(value, str):  # Spring's short form: the name is the pattern
            value = {"uri": value}
        if not isinstance(value, Mapping):
            raise RepoSpecError(f"{where}.{name} must be a URI or a mapping of settings")
        spec = _repo_spec(name, value, where=f"{where}.{name}")
        if not spec.patterns:
            spec = dataclasses.replace(spec, patterns=expand_patterns([name]))
        specs.append(spec)
    return tuple(specs)


def parse_composite(raw: object, *, where: str = "composite") -> tuple[CompositeEntry, ...]:
    """The ``composite:`` list (``type: git`` with a repository's keys and optional ``repos``, or
    ``type: vault``, which uses the server's Vault settings), in list order = precedence."""
    if not isinstance(raw, list) or not raw:
        raise RepoSpecError(f"{where} must be a non-empty list of entries with a type (git or vault)")
    entries: list[CompositeEntry] = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise RepoSpecError(f"{at} must be a mapping with a type (git or vault)")
        kind = item.get("type")
        if kind == "vault":
            extra = sorted(str(k) for k in item if k != "type")
            if extra:
                raise RepoSpecError(
                    f"{at}: unknown key '{extra[0]}' (a vault entry uses the server's --vault-* settings)"
                )
            entries.append(CompositeEntry("vault"))
        elif kind == "git":
            settings = {k: v for k, v in item.items() if k not in ("type", "repos")}
            spec = _repo_spec(f"git{index}", settings, where=at)
            entries.append(
                CompositeEntry("git", git=spec, repos=parse_repos(item.get("repos"), where=f"{at}.repos"))
            )
        else:
            raise RepoSpecError(f"{at}: type must be git or vault, not {str(kind)[:40]!r}")
    if not any(e.type == "git" for e in entries):
        raise RepoSpecError(f"{where} needs at least one git entry")
    if sum(e.type == "vault" for e in entries) > 1:
        raise RepoSpecError(f"{where} may hold one vault entry (the server has one Vault identity)")
    return tuple(entries)


def _repo_spec(name: str, raw: Mapping[Any, Any], *, where: str) -> RepoSpec:
    values = {str(k): v for k, v in raw.items()}
    for key in values:
        if key == "private-key":
            raise RepoSpecError(
                f"{where}: private-key (an inline key) is not accepted, so no key is written to disk; "
                "give the key's file as private-key-file"
            )
        if key not in _REPO_KEYS and key not in _NO_OP_KEYS:
            hint = _SPRING_UNSUPPORTED.get(key)
            more = "" if hint is None else f" (a Spring key this server does not support{hint})"
            raise RepoSpecError(f"{where}: unknown key '{key[:80]}'{more}")
    uri = values.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise RepoSpecError(f"{where}.uri is required (the repository's git URL)")
    uri = uri.strip()
    _check_template(name, uri)
    access: dict[str, Any] = {}
    if "username" in values:
        access["username"] = _text(values, "username", where)
    if "proxy" in values:
        access["proxy"] = _proxy(values["proxy"], f"{where}.proxy")
    for key in ("password", "passphrase"):
        if key in values:
            access["password" if key == "password" else "ssh_passphrase"] = Secret(_text(values, key, where))
    for key, fname in (
        ("password-file", "password_file"),
        ("private-key-file", "ssh_key"),
        ("ssh-key", "ssh_key"),
        ("known-hosts-file", "known_hosts"),
        ("ca-file", "ca_file"),
    ):
        if key in values:
            access[fname] = Path(_text(values, key, where))
    for key, fname in (
        ("strict-host-key-checking", "strict_host_key_checking"),
        ("skip-ssl-validation", "skip_ssl_validation"),
    ):
        if key in values:
            access[fname] = _flag(values, key, where)
    if "ignore-local-ssh-settings" in values:
        access["use_ssh_config"] = not _flag(values, "ignore-local-ssh-settings", where)
    if "timeout" in values:
        access["timeout"] = _seconds(values, "timeout", where, positive=True)
    pattern = values.get("pattern")
    patterns: tuple[str, ...] = ()
    if pattern is not None:
        patterns = expand_patterns(_string_list(pattern, f"{where}.pattern"))
    search = values.get("search-paths")
    return RepoSpec(
        name=name,
        uri=uri,
        patterns=patterns,
        search_paths=None if search is None else _string_list(search, f"{where}.search-paths"),
        default_label=_text(values, "default-label", where) if "default-label" in values else None,
        refresh_rate=_seconds(values, "refresh-rate", where) if "refresh-rate" in values else None,
        access=RemoteAccess(**access),
    )


def _text(values: Mapping[str, Any], key: str, where: str) -> str:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
        raise RepoSpecError(f"{where}.{key} must be a non-empty string")
    return str(value).strip()


def _flag(values: Mapping[str, Any], key: str, where: str) -> bool:
    value = values[key]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise RepoSpecError(f"{where}.{key} must be true or false")


def _seconds(values: Mapping[str, Any], key: str, where: str, *, positive: bool = False) -> float:
    value = values[key]
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise RepoSpecError(f"{where}.{key} must be a number of seconds") from None
    if seconds < 0 or (positive and seconds == 0):
        raise RepoSpecError(f"{where}.{key} must be {'more than' if positive else 'at least'} 0")
    return seconds


def _string_list(value: object, where: str) -> tuple[str, ...]:
    """A list of strings, or one string of comma-separated items (Spring binds both)."""
    items: list[object]
    if isinstance(value, str):
        items = list(value.split(","))
    elif isinstance(value, list):
        items = list(value)
    else:
        raise RepoSpecError(f"{where} must be a string or a list of strings")
    if not all(isinstance(item, str) for item in items):
        raise RepoSpecError(f"{where} must be a string or a list of strings")
    out = tuple(str(item).strip() for item in items if str(item).strip())
    if not out:
        raise RepoSpecError(f"{where} is empty")
    return out


def _proxy(value: object, where: str) -> str:
    """A proxy URL, or Spring's ``proxy: {https|http: {host, port, username, password}}`` map."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, Mapping):
        for scheme in ("https", "http"):
            entry = value.get(scheme)
            if isinstance(entry, Mapping) and entry.get("host"):
                host, port = str(entry["host"]), entry.get("port")
                user, password = entry.get("username"), entry.get("password")
                auth = ""
                if user:
                    auth = quote(str(user), safe="")
                    if password:
                        auth += ":" + quote(str(password), safe="")
                    auth += "@"
                return f"http://{auth}{host}" + (f":{port}" if port else "")
    raise RepoSpecError(f"{where} must be a URL or Spring's map of https/http host and port")
