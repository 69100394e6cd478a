"""The TLS context for https: which CAs to trust, and the client certificate to present.

Built once, when the client is constructed, so a wrong path fails at start-up with a
``ValueError`` naming the file (never its content) instead of at the first request.
"""

from __future__ import annotations

import os
import ssl

__all__ = ["PathLike", "client_ssl_context"]

PathLike = str | os.PathLike[str]


def client_ssl_context(
    *, ca: PathLike | None = None, cert: PathLike | None = None, key: PathLike | None = None
) -> ssl.SSLContext | None:
    """A verifying client-side context, or ``None`` when nothing is asked (aiohttp's default).

    ``ca``: PEM file of the CAs to trust *instead of* the system's. ``cert``: PEM certificate
    chain to present (mutual TLS); ``key``: its private key, when not in ``cert`` (unencrypted:
    a service has no one to type a passphrase). Raises ``ValueError`` naming the offending file.
    """
    if key is not None and cert is None:
        raise ValueError("key needs cert: give the client certificate (PEM) as cert=")
    if ca is None and cert is None:
        return None
    if ca is not None:
        path = os.fspath(ca)
        try:
            context = ssl.create_default_context(cafile=path)
        except OSError as exc:  # missing or unreadable, or ssl.SSLError: no certificate in it
            raise ValueError(f"ca {path!r} is not a readable PEM file of CA certificates") from exc
    else:
        context = ssl.create_default_context()
    if cert is not None:
        cert_path = os.fspath(cert)
        key_path = os.fspath(key) if key is not None else None
        try:
            context.load_cert_chain(cert_path, key_path, password=_no_passphrase)
        except (OSError, _Encrypted) as exc:
            # Both files are named: OpenSSL does not say which of the two is wrong.
            with_key = f" with key {key_path!r}" if key_path else ""
            raise ValueError(
                f"cannot load the client certificate {cert_path!r}{with_key}: "
                "need a readable PEM certificate and its matching, unencrypted private key"
            ) from exc
    return context


class _Encrypted(Exception):
    """Raised from OpenSSL's passphrase callback, so it never prompts on a terminal."""


def _no_passphrase() -> str:
    raise _Encrypted("the private key is encrypted")
