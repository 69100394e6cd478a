"""Where a bearer token comes from when it can change: the seam between the transport and auth.

The transport asks :meth:`BearerTokens.token` before every request, so a provider can refresh
ahead of expiry or re-read a rotated file. After a ``401`` it calls :meth:`BearerTokens.renew`
with the token that was refused and retries once with what comes back. Implementations:
:class:`config_client.oauth2.OAuth2Tokens` (client-credentials grant) and
:class:`config_client.tokenfile.FileToken` (a file rotated in place). A fixed ``token=`` needs
neither and stays a plain header (:class:`config_client.transport.Credentials`).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["BearerTokens"]


class BearerTokens(Protocol):
    """A source of bearer tokens, used from one event loop (the client's)."""

    async def token(self) -> str:
        """The token to send now; raises a ``ConfigClientError`` when none can be had."""
        ...

    async def renew(self, rejected: str) -> str | None:
        """A token to retry with after ``rejected`` drew a 401, or ``None`` when there is no other."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (an HTTP session); idempotent."""
        ...
