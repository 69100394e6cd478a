"""The server's TLS: an ``SSLContext`` that follows its files, and client certificates as principals.

``ServerTLS`` loads ``--tls-cert``/``--tls-key`` (and ``--tls-client-ca`` for mutual TLS) into
a context for new connections; ``reload()`` builds a fresh one from the files and, if it loads,
puts it in force for the next handshake, while open connections keep the one they started with
(cert-manager and Kubernetes rotate the files in place; nothing is dropped). The listening socket
keeps one *front* context whose server-name callback hands each new handshake the current one;
OpenSSL calls it with or without SNI.

TLS 1.2 is the minimum. With a client CA, ``optional`` asks for a certificate and ``required``
demands one; a certificate that is presented but does not verify (another CA, expired) fails the
handshake either way. A verified certificate is a principal (:func:`peer_principal`): its SAN URI
when that is a SPIFFE ID (what Istio and Linkerd issue), else its subject CN.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config_server.auth.principal import Principal
from config_server.errors import InvalidConfiguration, Unauthenticated

__all__ = ["ServerTLS", "peer_principal"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Files:
    cert: Path
    key: Path
    client_ca: Path | None
    client_auth: str  # "optional" or "required"


class ServerTLS:
    """The TLS material of the server, reloadable; ``context`` goes to the listening socket."""

    def __init__(
        self, *, cert: Path, key: Path, client_ca: Path | None = None, client_auth: str = "optional"
    ) -> None:
        if client_auth not in ("optional", "required"):
            raise ValueError("client_auth must be 'optional' or 'required'")
        self._files = _Files(cert, key, client_ca, client_auth)
        self._current = self._build()  # InvalidConfiguration at start-up: never start open
        self.context = self._build()
        self.context.sni_callback = self._select

    @property
    def paths(self) -> tuple[Path, ...]:
        """The files to watch."""
        files = self._files
        return (files.cert, files.key) + ((files.client_ca,) if files.client_ca else ())

    @property
    def mutual(self) -> bool:
        """Whether clients are asked for certificates."""
        return self._files.client_ca is not None

    def reload(self) -> bool:
        """Load the files again; True if the new material is in force (else logged, old kept)."""
        try:
            self._current = self._build()
        except InvalidConfiguration as exc:
            log.error("TLS files not reloaded, keeping the previous ones: %s", exc.message)
            return False
        log.info("TLS certificate %s reloaded", self._files.cert)
        return True

    def _select(self, ssl_object: ssl.SSLObject, server_name: str | None, front: ssl.SSLContext) -> None:
        ssl_object.context = self._current

    def _build(self) -> ssl.SSLContext:
        files = self._files
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(files.cert, files.key)
        except FileNotFoundError as exc:
            raise InvalidConfiguration(str(exc.filename or files.cert), "no such file") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise InvalidConfiguration(
                f"{files.cert} / {files.key}", f"cannot load the TLS certificate and key: {_reason(exc)}"
            ) from None
        if files.client_ca is not None:
            try:
                context.load_verify_locations(cafile=files.client_ca)
            except FileNotFoundError:
                raise InvalidConfiguration(str(files.client_ca), "no such file") from None
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise InvalidConfiguration(
                    str(files.client_ca), f"cannot load the client CA: {_reason(exc)}"
                ) from None
            context.verify_mode = ssl.CERT_REQUIRED if files.client_auth == "required" else ssl.CERT_OPTIONAL
        return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


def peer_principal(peercert: dict[str, Any] | None) -> Principal | None:
    """The principal of a verified client certificate (``getpeercert()``), or None without one.

    Raises ``Unauthenticated`` for a certificate with more than one SPIFFE ID, or with neither
    a SPIFFE ID nor a CN (nothing to name it by).
    """
    if not peercert:
        return None
    spiffe = [
        value
        for kind, value in peercert.get("subjectAltName", ())
        if kind == "URI" and value.startswith("spiffe://")
    ]
    if len(spiffe) > 1:
        raise Unauthenticated("Bad credentials", reason="client certificate with several SPIFFE IDs")
    common_name = next(
        (value for rdn in peercert.get("subject", ()) for key, value in rdn if key == "commonName"), None
    )
    if not spiffe and not common_name:
        raise Unauthenticated(
            "Bad credentials", reason="client certificate with neither a SPIFFE ID nor a CN"
        )
    return Principal.certificate(spiffe_id=spiffe[0] if spiffe else None, common_name=common_name)
