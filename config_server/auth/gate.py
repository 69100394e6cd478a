"""``Gate``: the authentication methods and the policy together: who is calling, may they do this.

The HTTP layer (``config_server.http.security``) hands the gate what a request carries (its
``Authorization`` header, its verified client certificate, its address) and the parsed endpoint;
the gate answers with a ``Principal`` or raises:

- ``TooManyRequests`` for an address past its failed-attempt limit (checked first),
- ``Unauthenticated`` for bad credentials, or none where the endpoint needs some (the challenge
  names every method enabled),
- ``Forbidden`` when the policy does not allow the action (or there is no policy).

Which credential counts: an ``Authorization`` header when there is one (``Basic Og==``, the
empty credentials some clients always send, counts as none), else the client certificate.
Without any authentication method configured every caller is anonymous and everything is
allowed (the server then listens only on loopback, unless ``--allow-anonymous``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from config_server.auth.basic import BASIC_CHALLENGE, UsersFile
from config_server.auth.jwt import BEARER_CHALLENGE
from config_server.auth.principal import ANONYMOUS, Principal
from config_server.auth.throttle import FailureThrottle
from config_server.auth.tls import peer_principal
from config_server.errors import Forbidden, Unauthenticated
from config_server.http.routes import Action, Endpoint, EndpointKind
from config_server.policy import Decision, PolicyFile

__all__ = ["Gate", "Verdict"]

_CERT_CHALLENGE = 'Mutual realm="config-server"'  # mTLS only: no HTTP scheme can answer it

PUBLIC_KINDS = frozenset(
    {EndpointKind.HEALTH, EndpointKind.LIVENESS, EndpointKind.READINESS, EndpointKind.OPENAPI}
)
"""Endpoints anyone may call (health shows its details only to ``health-details``; the probes; the
API document). ``/actuator/prometheus`` is not one: it needs ``admin`` once authentication is on."""


class BearerAuthenticator(Protocol):
    """What the gate needs of bearer-token authentication (``config_server.auth.jwt``)."""

    async def authenticate(self, token: str) -> Principal: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """A request let through: who, and (with a policy) by which rule."""

    principal: Principal
    decision: Decision | None


class Gate:
    """Authentication (Basic, bearer JWT, client certificate) and authorisation (the policy)."""

    def __init__(
        self,
        *,
        users: UsersFile | None = None,
        bearer: BearerAuthenticator | None = None,
        certificates: bool = False,
        policy: PolicyFile | None = None,
        default_label: str = "main",
        signed_webhooks: bool = False,
        throttle: FailureThrottle | None = None,
    ) -> None:
        self.users = users
        self.bearer = bearer
        self.certificates = certificates
        self.policy = policy
        self.default_label = default_label
        self.signed_webhooks = signed_webhooks
        self.throttle = throttle or FailureThrottle()
        challenges = [BASIC_CHALLENGE] if users else []
        challenges += [BEARER_CHALLENGE] if bearer else []
        self.challenge = ", ".join(challenges) or _CERT_CHALLENGE

    @property
    def enabled(self) -> bool:
        """Whether any authentication method is configured."""
        return self.users is not None or self.bearer is not None or self.certificates

    async def authenticate(
        self, *, authorization: str | None, peercert: dict[str, Any] | None, address: str
    ) -> Principal:
        """The caller's principal (``ANONYMOUS`` without credentials); raises as the module says."""
        if not self.enabled:
            return ANONYMOUS
        self.throttle.check(address)
        try:
            return await self._identify(authorization, peercert)
        except Unauthenticated:
            self.throttle.failed(address)
            raise

    async def _identify(self, authorization: str | None, peercert: dict[str, Any] | None) -> Principal:
        if authorization is not None and authorization.strip():
            scheme, _, credentials = authorization.strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":
                user, password = _basic_credentials(credentials.strip(), self.challenge)
                if user or password:
                    if self.users is None:
                        raise self._refuse("Basic credentials, but Basic authentication is not enabled")
                    try:
                        return await self.users.authenticate(user, password)
                    except Unauthenticated as exc:
                        raise self._refuse(exc.reason) from None
            elif scheme == "bearer":
                if self.bearer is None:
                    raise self._refuse("a bearer token, but JWT authentication is not enabled")
                try:
                    return await self.bearer.authenticate(credentials.strip())
                except Unauthenticated as exc:
                    challenge = exc.headers.get("WWW-Authenticate", BEARER_CHALLENGE)
                    raise Unauthenticated("Bad credentials", challenge=challenge, reason=exc.reason) from None
            else:
                raise self._refuse("an Authorization scheme the server does not take")
        if self.certificates:
            principal = peer_principal(peercert)
            if principal is not None:
                return principal
        return ANONYMOUS

    def _refuse(self, reason: str) -> Unauthenticated:
        return Unauthenticated("Bad credentials", challenge=self.challenge, reason=reason)

    def authorize(self, principal: Principal, endpoint: Endpoint) -> Verdict:
        """Let ``principal`` do what ``endpoint`` asks, or raise ``Unauthenticated``/``Forbidden``.

        Health is public here (the handler shows details only to ``health-details``), and so is a
        webhook while ``--monitor-secret`` is set (its signature is checked by the handler).
        """
        if not self.enabled or endpoint.kind not in _GUARDED:
            return Verdict(principal, None)
        if endpoint.kind is EndpointKind.MONITOR and self.signed_webhooks:
            return Verdict(principal, None)
        if principal.anonymous:
            raise Unauthenticated("Full authentication is required", challenge=self.challenge)
        decision = self.decide(principal, endpoint.action, endpoint)
        if not decision.allowed:
            raise Forbidden(_denial(principal, endpoint))
        if endpoint.kind is EndpointKind.RESOURCE and endpoint.path is not None:
            self._check_resource_owner(principal, endpoint, endpoint.path)
        return Verdict(principal, decision)

    def _check_resource_owner(self, principal: Principal, endpoint: Endpoint, path: str) -> None:
        """A resource in a configuration format belongs to the application its name says.

        Resources are found from the repository's search paths, not only the requested
        application's, so ``/orders/default/main/payments.yml`` would hand ``orders`` the file
        of ``payments``. A ``.yml``/``.yaml``/``.properties``/``.json`` file named
        ``{application}[-{profile}]`` (any split at a ``-``; ``application`` is every requested
        application) is served only to a principal that may read that application with that
        profile, as the environment endpoint would require: ``orders-api.yml`` is orders' profile
        ``api`` (or an ``orders-api`` application), and with ``--encrypt-plain-text`` it is
        served decrypted.
        """
        name = path.replace("(_)", "/").rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        if not dot or ext.lower() not in _CONFIG_EXTENSIONS or not stem:
            return
        parts = stem.split("-")
        labels = self.labels_of(endpoint)
        for i in range(len(parts), 0, -1):
            owner, profile = "-".join(parts[:i]), "-".join(parts[i:])
            if i < len(parts) and not profile:
                continue  # "orders-.yml": no profile is empty
            applications = endpoint.applications if owner == "application" else (owner,)
            if set(applications) <= set(endpoint.applications) and (
                not profile or profile in endpoint.profiles
            ):
                return  # what the request itself names, which authorize() has allowed
            if (
                self.policy is not None
                and self.policy.policy.decide(
                    principal,
                    Action.READ,
                    applications=applications,
                    profiles=(profile,) if profile else endpoint.profiles,
                    labels=labels,
                ).allowed
            ):
                return
        raise Forbidden(f"Access denied: {principal.id} may not read {parts[0]} (resource {name})")

    def may(self, principal: Principal, action: Action) -> bool:
        """Whether ``principal`` may do an ``action`` that names nothing (``health-details``)."""
        if not self.enabled:
            return True
        if principal.anonymous or self.policy is None:
            return False
        return self.policy.policy.decide(principal, action).allowed

    def decide(self, principal: Principal, action: Action, endpoint: Endpoint) -> Decision:
        """The policy's decision (a denial when there is no policy)."""
        if self.policy is None:
            return Decision(False)
        return self.policy.policy.decide(
            principal,
            action,
            applications=endpoint.applications,
            profiles=endpoint.profiles,
            labels=self.labels_of(endpoint),
        )

    def labels_of(self, endpoint: Endpoint) -> Sequence[str]:
        """The labels a request is matched with: as asked (each of a comma list), else the default."""
        if endpoint.kind not in _LABELLED:
            return ()
        if endpoint.label is None:
            return (self.default_label,)
        return tuple(label for label in endpoint.label.split(",") if label)


_GUARDED = frozenset(EndpointKind) - PUBLIC_KINDS
_CONFIG_EXTENSIONS = frozenset({"yml", "yaml", "properties", "json"})
_LABELLED = frozenset({EndpointKind.ENVIRONMENT, EndpointKind.RENDERING, EndpointKind.RESOURCE})


def _basic_credentials(encoded: str, challenge: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Unauthenticated(
            "Bad credentials", challenge=challenge, reason="malformed Basic credentials"
        ) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthenticated("Bad credentials", challenge=challenge, reason="malformed Basic credentials")
    return user, password


def _denial(principal: Principal, endpoint: Endpoint) -> str:
    what = ",".join(endpoint.applications)
    return f"Access denied: {principal.id} may not {endpoint.action.value}" + (f" {what}" if what else "")
