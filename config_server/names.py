"""Validation of untrusted application names, profiles, labels and resource paths (pure).

Spring's rules (reference §1.6, §1.7): ``(_)`` stands for ``/`` in names, labels and paths; a value
is rejected if, raw or URL-decoded, it contains ``..`` or ``#`` or starts with ``(_)``. Profiles
must be letters/digits or ``- _ . + @`` and start and end with a letter or digit (CVE-2026-22739
hardening). On top of that we reject control characters, backslashes, a leading ``-`` (git option
injection) and absurd lengths. Every failure is ``InvalidRequest`` (400) with a message naming the
part that is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from config_server.errors import InvalidRequest

__all__ = ["EnvRequest", "parse_labels", "parse_names", "parse_profiles", "parse_resource_path"]

MAX_LENGTH = 255
_SLASH = "(_)"


@dataclass(frozen=True, slots=True)
class EnvRequest:
    """A validated environment request."""

    name: str  # as requested, after (_) -> /, e.g. "orders" or "orders,shared"
    applications: tuple[str, ...]
    profiles_raw: str
    profiles: tuple[str, ...]
    label: str | None  # after (_) -> /, e.g. "feature/x" or "v1,v2"
    labels: tuple[str | None, ...]  # split comma labels, in request order; (None,) when absent


def _check_common(what: str, value: str) -> None:
    if not value:
        raise InvalidRequest(f"Invalid {what}: empty")
    if len(value) > MAX_LENGTH:
        raise InvalidRequest(f"Invalid {what}: longer than {MAX_LENGTH} characters")
    for candidate in (value, unquote(value)):
        if ".." in candidate or "#" in candidate or candidate.startswith(_SLASH):
            raise InvalidRequest(f"Invalid {what}: {_printable(value)}")
        if "\\" in candidate or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in candidate):
            raise InvalidRequest(f"Invalid {what}: {_printable(value)}")


def _printable(value: str) -> str:
    return value.encode("unicode_escape").decode("ascii")[:80]


def parse_names(name: str) -> tuple[str, tuple[str, ...]]:
    """Validate an application name (possibly ``a,b``); returns (normalised name, applications)."""
    _check_common("application name", name)
    normalised = name.replace(_SLASH, "/")
    apps = tuple(normalised.split(","))
    for app in apps:
        if not app or app.startswith(("/", "-")) or app.endswith("/") or "//" in app:
            raise InvalidRequest(f"Invalid application name: {_printable(name)}")
    return normalised, apps


_PROFILE = re.compile(r"[\w.+@-]+")


def parse_profiles(profiles: str) -> tuple[str, ...]:
    """Validate a comma list of profiles; returns them in request order."""
    _check_common("profiles", profiles)
    out = tuple(profiles.split(","))
    for p in out:
        ok = (
            p != ""
            and _PROFILE.fullmatch(p) is not None
            and p[0] != "_"
            and p[0].isalnum()
            and p[-1].isalnum()
        )
        if not ok:
            raise InvalidRequest(f"Invalid profile: {_printable(p) if p else '(empty)'}")
    return out


def parse_labels(label: str | None) -> tuple[str | None, tuple[str | None, ...]]:
    """Validate a label (possibly a comma list); returns (normalised label, labels)."""
    if label is None:
        return None, (None,)
    _check_common("label", label)
    normalised = label.replace(_SLASH, "/")
    labels = tuple(normalised.split(","))
    for lab in labels:
        if not lab or lab.startswith(("-", "/")) or lab.endswith("/"):
            raise InvalidRequest(f"Invalid label: {_printable(label)}")
    return normalised, labels


def parse_resource_path(path: str) -> str:
    """Validate a plain-text resource path (may contain ``/`` or ``(_)``); returns it normalised."""
    _check_common("path", path)
    normalised = path.replace(_SLASH, "/")
    parts = normalised.split("/")
    if normalised.startswith("/") or any(p in ("", ".") for p in parts):
        raise InvalidRequest(f"Invalid path: {_printable(path)}")
    if any(p.upper() in ("WEB-INF", "META-INF") for p in parts) or ":" in parts[0]:
        raise InvalidRequest(f"Invalid path: {_printable(path)}")
    return normalised


def env_request(name: str, profiles: str, label: str | None) -> EnvRequest:
    """Validate all three parts of ``/{name}/{profiles}[/{label}]``."""
    normalised, apps = parse_names(name)
    profs = parse_profiles(profiles)
    lab, labels = parse_labels(label)
    return EnvRequest(normalised, apps, profiles, profs, lab, labels)
