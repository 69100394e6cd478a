"""``Principal``: the one shape every authentication method produces, and the anonymous caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ANONYMOUS", "AuthMethod", "Principal"]


class AuthMethod(StrEnum):
    """How a principal proved who it is (written to the audit log as ``auth``)."""

    ANONYMOUS = "anonymous"
    BASIC = "basic"
    JWT = "jwt"
    MTLS = "mtls"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``id`` is what a policy's ``principals:`` patterns match: ``user:NAME`` (Basic), ``jwt:SUBJECT``,
    ``cert:CN``, or a SPIFFE ID as it is (``spiffe://cluster.local/ns/prod/sa/orders``).
    ``name`` is what ``{name}`` stands for in a policy: the user, the JWT subject, the last
    segment of a SPIFFE ID, the CN. ``roles`` are the ones the credential carries itself (a JWT's
    roles claim); a policy's ``roles:`` map may add more.
    """

    method: AuthMethod
    id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def user(cls, name: str) -> Principal:
        """A Basic user."""
        return cls(AuthMethod.BASIC, f"user:{name}", name)

    @classmethod
    def jwt(cls, subject: str, roles: frozenset[str] = frozenset()) -> Principal:
        """The subject of a verified bearer JWT, with the roles its claim lists."""
        return cls(AuthMethod.JWT, f"jwt:{subject}", subject, roles)

    @classmethod
    def certificate(cls, *, spiffe_id: str | None, common_name: str | None) -> Principal:
        """A verified client certificate: its SPIFFE ID when it has one, else its subject CN."""
        if spiffe_id:
            return cls(AuthMethod.MTLS, spiffe_id, spiffe_id.rstrip("/").rsplit("/", 1)[-1])
        if not common_name:
            raise ValueError("a client certificate principal needs a SPIFFE ID or a CN")
        return cls(AuthMethod.MTLS, f"cert:{common_name}", common_name)

    @property
    def anonymous(self) -> bool:
        """Whether no credential was presented."""
        return self.method is AuthMethod.ANONYMOUS


ANONYMOUS = Principal(AuthMethod.ANONYMOUS, "anonymous", "anonymous")
"""The caller that presented no credentials (every caller, when no authentication is configured)."""
