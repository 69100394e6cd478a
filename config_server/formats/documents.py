"""The parsed form of one document of a configuration file, and the checks every format shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats.flatten import scalar_text
from config_server.profiles import MalformedProfileExpression, matches

__all__ = ["ON_PROFILE_KEY", "Document", "build_document", "origin_line"]

ON_PROFILE_KEY = "spring.config.activate.on-profile"
# Boot 4 refuses the pre-2.4 activation key; spring.profiles.active/include/default/group.* are fine.
_LEGACY_KEY = re.compile(r"spring\.profiles(?:\[\d+\])*\Z")
_ON_PROFILE_ITEM = re.compile(re.escape(ON_PROFILE_KEY) + r"(?:\[\d+\])+\Z")


@dataclass(frozen=True, slots=True)
class Document:
    """One non-empty document of a configuration file.

    ``properties`` are the flattened keys in document order, each with its origin
    (``"line:column"``, 1-based). ``on_profile`` holds the profile expressions of
    ``spring.config.activate.on-profile`` (a YAML list or a comma-separated string gives several;
    the document is active if any matches), unevaluated, or ``None`` when the key is absent or
    empty (Boot treats an empty list as "always active").
    """

    properties: Mapping[str, PropertyValue]
    on_profile: tuple[str, ...] | None


def build_document(path: str, properties: dict[str, PropertyValue]) -> Document:
    """Wrap flattened properties as a :class:`Document`, reading its activation.

    Raises :class:`InvalidConfiguration` (with the line) when the legacy ``spring.profiles`` key
    is used.
    """
    expressions: list[str] = []
    on_profile_line: int | None = None
    for key, value in properties.items():
        if _LEGACY_KEY.match(key):
            line = origin_line(value.origin)
            raise InvalidConfiguration(
                path,
                "'spring.profiles' is not supported to activate a document; "
                "use 'spring.config.activate.on-profile' instead",
                line=line,
            )
        if key == ON_PROFILE_KEY or _ON_PROFILE_ITEM.match(key):
            text = scalar_text(value.value)
            expressions.extend(item.strip() for item in text.split(",") if item.strip())
            on_profile_line = on_profile_line or origin_line(value.origin)
    if expressions:
        try:  # check the syntax now, while the line is known; evaluation comes per request
            for expression in expressions:
                matches(expression, ())
        except MalformedProfileExpression as exc:
            raise InvalidConfiguration(path, str(exc), line=on_profile_line) from None
    return Document(MappingProxyType(dict(properties)), tuple(expressions) or None)


def origin_line(origin: str | None) -> int | None:
    """The line of a value's ``line:column`` origin (None without one)."""
    if origin is None:
        return None
    head = origin.split(":", 1)[0]
    return int(head) if head.isdigit() else None
