"""Parsing configuration files (YAML, ``.properties``, JSON) into flattened documents.

Pure code, no I/O: callers read the bytes (from git, a directory, ...) and pass them in.
:func:`parse_document_file` chooses the parser by extension and returns the file's non-empty
documents; every problem with the content is an
:class:`~config_server.errors.InvalidConfiguration` naming the file and, where known, the line.
:func:`flatten` turns nested data from other backends into the same dotted keys.
"""

from __future__ import annotations

from collections.abc import Callable

from config_client.wire import PropertyValue

from config_server.formats.documents import ON_PROFILE_KEY, Document, build_document
from config_server.formats.flatten import Located, flatten
from config_server.formats.json_loader import load_json
from config_server.formats.properties import load_properties
from config_server.formats.text import decode_latin1, decode_unicode
from config_server.formats.yaml_loader import load_yaml

__all__ = ["EXTENSIONS", "ON_PROFILE_KEY", "Document", "Located", "flatten", "parse_document_file"]

# Highest precedence first, as Boot orders loaders within one location and name.
EXTENSIONS: tuple[str, ...] = ("properties", "yml", "yaml", "json")

_Loader = Callable[[str, str], list[dict[str, PropertyValue]]]
_PARSERS: dict[str, tuple[Callable[[str, bytes], str], _Loader]] = {
    "properties": (decode_latin1, load_properties),
    "yml": (decode_unicode, load_yaml),
    "yaml": (decode_unicode, load_yaml),
    "json": (decode_unicode, load_json),
}


def parse_document_file(path: str, data: bytes) -> list[Document]:
    """Parse a configuration file by its extension into its non-empty documents, in file order.

    Documents without any property are skipped and do not count. ``path`` names the file in
    errors. Raises :class:`~config_server.errors.InvalidConfiguration` (with ``line`` and
    ``column`` where known) for any problem with the content, and ``ValueError`` for an
    extension not in :data:`EXTENSIONS` (a programming error).
    """
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if extension not in _PARSERS:
        raise ValueError(f"no parser for {path!r}: the extension must be one of {', '.join(EXTENSIONS)}")
    decode, load = _PARSERS[extension]
    text = decode(path, data)
    return [build_document(path, properties) for properties in load(path, text) if properties]
