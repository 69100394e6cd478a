"""Decrypting ``{cipher}`` values inside plain-text resources, layout kept (Spring's
``CipherResource{Yaml,Properties,Json}Encryptor``, behind ``encrypt.plain-text-encrypt``).

As in Spring, the file is parsed only to find its string values that start with ``{cipher}``
(trimmed, for YAML and JSON, as Jackson's tokens are; mapping keys are never values); each such
value is then decrypted and every occurrence of its text in the file replaced by the plaintext,
so comments, order, quoting and indentation stay as written. The plaintext goes in as it is for
YAML and ``.properties`` (so a plaintext holding a quote or a backslash changes how the file
reads, as in Spring); in JSON it is written as a JSON string body, so a plaintext with a quote
keeps the document valid where Spring's would break it. Pure apart from ``decrypt``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from config_client.wire import PropertyValue

from config_server.crypto.environment import CIPHER
from config_server.errors import CryptoError, InvalidConfiguration
from config_server.formats.documents import origin_line
from config_server.formats.json_loader import load_json
from config_server.formats.properties import load_properties
from config_server.formats.yaml_loader import load_yaml

__all__ = ["RESOURCE_EXTENSIONS", "decrypt_resource"]

_LOADERS: dict[str, Callable[[str, str], list[dict[str, PropertyValue]]]] = {
    "yml": load_yaml,
    "yaml": load_yaml,
    "properties": load_properties,
    "json": load_json,
}
RESOURCE_EXTENSIONS = frozenset(_LOADERS)
"""The extensions (lower case) whose ``{cipher}`` values are decrypted; other files are served as
they are (Spring logs "Cannot decrypt for extension")."""


def decrypt_resource(path: str, text: str, decrypt: Callable[[str], str]) -> str:
    """``text`` (the resource at ``path``) with every ``{cipher}`` value replaced by its plaintext.

    ``decrypt`` receives the value without its ``{cipher}`` marker (prefixes such as
    ``{key:...}`` kept) and returns the plaintext, raising a CryptoError when it cannot. A file
    whose extension is not in :data:`RESOURCE_EXTENSIONS` is returned unchanged. Raises
    InvalidConfiguration when the file does not parse or a value does not decrypt (naming the
    file and line, never the value nor the parser's message, which may quote a resolved
    placeholder), as Spring answers such a resource with an error.
    """
    name = path.rsplit("/", 1)[-1]
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    load = _LOADERS.get(extension)
    if load is None or CIPHER not in text:
        return text
    trim = extension != "properties"
    found: dict[str, str | None] = {}  # the value's text in the file -> its origin, first seen
    try:
        documents = load(path, text)
    except InvalidConfiguration as exc:
        # The text has its placeholders resolved: the parser's message could quote a secret.
        raise InvalidConfiguration(
            path,
            f"does not parse as .{extension} once its placeholders are resolved",
            line=exc.line,
            column=exc.column,
        ) from None
    for document in documents:
        for value in document.values():
            if not isinstance(value.value, str) or not value.value.startswith(CIPHER):
                continue
            found.setdefault(value.value.strip() if trim else value.value, value.origin)
    # Longest first, so a value that is a prefix of another never breaks the longer one.
    for cipher in sorted(found, key=len, reverse=True):
        try:
            plain = decrypt(cipher[len(CIPHER) :])
        except CryptoError:
            raise InvalidConfiguration(
                path, "a {cipher} value does not decrypt", line=origin_line(found[cipher])
            ) from None
        if extension == "json":
            text = text.replace(_json_body(cipher), _json_body(plain))
        else:
            text = text.replace(cipher, plain)
    return text


def _json_body(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]
