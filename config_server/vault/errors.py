"""The one place hvac and requests errors become ``config_server.errors``.

Every blocking Vault call runs inside ``translate_errors`` (``VaultClientManager.run`` does it),
so each error is translated exactly once:

=====================================================  =========================================
hvac / requests                                        config_server.errors
=====================================================  =========================================
connection refused, timeout, bad response              ``Unavailable("Vault is unavailable: …")``
sealed (503), 5xx, 429, not initialised                ``Unavailable("Vault is unavailable: …")``
permission denied / invalid token (401, 403)           ``Forbidden("Vault refused the token")``
no such path (404)                                     ``NotFound``
anything else (400, 405, 412, …)                       ``ConfigServerError`` (500)
=====================================================  =========================================

Messages are built from status codes and names only: never a token, a secret value, or the text
Vault sent back (which can echo request data).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import hvac.exceptions
import requests

from config_server.errors import ConfigServerError, Forbidden, NotFound, Unavailable

__all__ = ["call_translated", "translate_errors"]

T = TypeVar("T")


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn hvac and requests exceptions raised inside the block into ``config_server.errors``."""
    try:
        yield
    except requests.exceptions.Timeout as exc:
        raise Unavailable("Vault is unavailable: the request timed out") from exc
    except requests.exceptions.ConnectionError as exc:
        raise Unavailable("Vault is unavailable: cannot connect") from exc
    except requests.exceptions.RequestException as exc:
        raise Unavailable(f"Vault is unavailable: bad response ({type(exc).__name__})") from exc
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
        raise Forbidden("Vault refused the token") from exc
    except hvac.exceptions.VaultDown as exc:
        raise Unavailable("Vault is unavailable: sealed or down (HTTP 503)") from exc
    except (
        hvac.exceptions.InternalServerError,
        hvac.exceptions.BadGateway,
        hvac.exceptions.VaultNotInitialized,
        hvac.exceptions.RateLimitExceeded,
        hvac.exceptions.UnexpectedError,
    ) as exc:
        raise Unavailable(f"Vault is unavailable: {_describe(exc)}") from exc
    except hvac.exceptions.InvalidPath as exc:
        raise NotFound("Vault has no such path") from exc
    except hvac.exceptions.VaultError as exc:
        raise ConfigServerError(f"Vault rejected the request: {_describe(exc)}") from exc


def _describe(exc: hvac.exceptions.VaultError) -> str:
    codes = {
        hvac.exceptions.InvalidRequest: "HTTP 400",
        hvac.exceptions.InvalidPath: "HTTP 404",
        hvac.exceptions.UnsupportedOperation: "HTTP 405",
        hvac.exceptions.PreconditionFailed: "HTTP 412",
        hvac.exceptions.RateLimitExceeded: "HTTP 429",
        hvac.exceptions.InternalServerError: "HTTP 500",
        hvac.exceptions.VaultNotInitialized: "not initialised (HTTP 501)",
        hvac.exceptions.BadGateway: "HTTP 502",
    }
    return codes.get(type(exc), type(exc).__name__)


def call_translated(fn: Callable[[], T]) -> T:
    """``fn()`` inside ``translate_errors`` (what the manager's executor runs)."""
    with translate_errors():
        return fn()
