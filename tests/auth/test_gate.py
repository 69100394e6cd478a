"""``Gate``: which credential counts, what an unusable one is answered with, and the challenge."""

from __future__ import annotations

import base64
from pathlib import Path

import bcrypt
import pytest

from config_server.auth.basic import UsersFile
from config_server.auth.gate import Gate
from config_server.auth.principal import ANONYMOUS, Principal
from config_server.auth.throttle import FailureThrottle
from config_server.errors import Forbidden, TooManyRequests, Unauthenticated
from config_server.http.routes import parse_endpoint
from config_server.policy import PolicyFile


class Bearer:
    """A bearer authenticator that knows one token (the gate's collaborator, not under test)."""

    async def authenticate(self, token: str) -> Principal:
        if token != "good-token":
            raise Unauthenticated("Bad credentials", challenge='Bearer error="invalid_token"', reason="bad")
        return Principal.jwt("svc")


@pytest.fixture
def users(tmp_path: Path) -> UsersFile:
    path = tmp_path / "users"
    path.write_text(f"ada:{bcrypt.hashpw(b'pw', bcrypt.gensalt(4)).decode()}\n", encoding="utf-8")
    file = UsersFile(path)
    file.load()
    return file


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


async def identify(gate: Gate, authorization: str | None) -> Principal:
    return await gate.authenticate(authorization=authorization, peercert=None, address="10.0.0.1")


async def test_empty_basic_credentials_count_as_none(users: UsersFile) -> None:
    """``Basic Og==`` (':' encoded), which some clients always send, is the anonymous caller."""
    assert await identify(Gate(users=users), "Basic Og==") is ANONYMOUS


async def test_a_good_basic_password_is_the_user(users: UsersFile) -> None:
    """Basic ada:pw is user:ada."""
    assert (await identify(Gate(users=users), basic("ada:pw"))).id == "user:ada"


@pytest.mark.parametrize("header", ["Digest username=ada", "Negotiate abc", "ada:pw"])
async def test_an_unknown_scheme_is_401_with_the_challenge(users: UsersFile, header: str) -> None:
    """A scheme the server does not take is refused (never read as anonymous)."""
    with pytest.raises(Unauthenticated) as caught:
        await identify(Gate(users=users), header)
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()])
async def test_malformed_basic_credentials_are_401(users: UsersFile, header: str) -> None:
    """Not base64, or no ':' between user and password: 401."""
    with pytest.raises(Unauthenticated):
        await identify(Gate(users=users), header)


async def test_a_bearer_token_without_jwt_configured_is_401(users: UsersFile) -> None:
    """A bearer token where only Basic is enabled is refused, not ignored."""
    with pytest.raises(Unauthenticated) as caught:
        await identify(Gate(users=users), "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig")
    assert "JWT authentication is not enabled" in caught.value.reason


async def test_basic_credentials_without_basic_configured_are_401() -> None:
    """A Basic password where only JWT is enabled is refused with the Bearer challenge."""
    with pytest.raises(Unauthenticated) as caught:
        await identify(Gate(bearer=Bearer()), basic("ada:pw"))
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer realm=")


async def test_a_bad_bearer_token_keeps_the_authenticators_challenge() -> None:
    """The JWT layer's ``error="invalid_token"`` challenge reaches the client."""
    with pytest.raises(Unauthenticated) as caught:
        await identify(Gate(bearer=Bearer()), "Bearer nope")
    assert caught.value.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("methods", "challenge"),
    [
        ({"users"}, ["Basic"]),
        ({"bearer"}, ["Bearer"]),
        ({"users", "bearer"}, ["Basic", "Bearer"]),
        ({"certificates"}, ["Mutual"]),
    ],
)
def test_the_challenge_lists_the_enabled_methods(
    users: UsersFile, methods: set[str], challenge: list[str]
) -> None:
    """WWW-Authenticate names every enabled HTTP scheme (mTLS alone: a scheme no client answers)."""
    gate = Gate(
        users=users if "users" in methods else None,
        bearer=Bearer() if "bearer" in methods else None,
        certificates="certificates" in methods,
    )
    schemes = [part.strip().split(" ")[0] for part in gate.challenge.split(", ") if " realm=" in part]
    assert schemes == challenge


async def test_without_any_method_everyone_is_anonymous_and_allowed() -> None:
    """No authentication configured: any header is ignored and every endpoint allowed (loopback)."""
    gate = Gate()
    principal = await identify(gate, "Bearer whatever")
    assert principal is ANONYMOUS
    assert gate.authorize(principal, parse_endpoint("POST", "/decrypt", {})).principal is ANONYMOUS


async def test_a_throttled_address_is_refused_before_its_password_is_checked(users: UsersFile) -> None:
    """Past the failure limit even the right password gets 429 (the guesser learns nothing)."""
    gate = Gate(users=users, throttle=FailureThrottle(limit=2))
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await identify(gate, basic("ada:wrong"))
    with pytest.raises(TooManyRequests):
        await identify(gate, basic("ada:pw"))


def test_anonymous_on_a_guarded_endpoint_is_401_and_denied_is_403(users: UsersFile, tmp_path: Path) -> None:
    """Anonymous must authenticate (401); an authenticated caller the policy denies is 403."""
    (tmp_path / "policy.yml").write_text("rules:\n  - {principals: ['user:bob'], actions: [read]}\n")
    policy = PolicyFile(tmp_path / "policy.yml")
    policy.load()
    gate = Gate(users=users, policy=policy)
    endpoint = parse_endpoint("GET", "/orders/dev", {})
    with pytest.raises(Unauthenticated):
        gate.authorize(ANONYMOUS, endpoint)
    with pytest.raises(Forbidden) as caught:
        gate.authorize(Principal.user("ada"), endpoint)
    assert caught.value.message == "Access denied: user:ada may not read orders"


def test_a_request_without_a_label_is_matched_as_the_default_label(users: UsersFile) -> None:
    """/orders/dev is judged as label 'trunk' when that is the default label; a comma list is each."""
    gate = Gate(users=users, default_label="trunk")
    assert gate.labels_of(parse_endpoint("GET", "/orders/dev", {})) == ("trunk",)
    assert gate.labels_of(parse_endpoint("GET", "/orders/dev/a,b", {})) == ("a", "b")
    assert gate.labels_of(parse_endpoint("POST", "/encrypt", {})) == ()


PROD_ONLY = """
rules:
  - principals: ["user:ada"]
    applications: ["orders"]
    profiles: ["prod"]
    actions: [read]
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/orders/prod/main/orders.yml", True),
        ("/orders/prod/main/orders-prod.yml", True),
        ("/orders/prod/main/application.yml", True),
        ("/orders/prod/main/application-prod.yml", True),
        # orders-api.yml is orders' profile api (or an orders-api application): ada may read neither.
        ("/orders/prod/main/orders-api.yml", False),
        ("/orders/prod/main/application-secret.properties", False),
        ("/orders/prod/main/notes.txt", True),
    ],
)
def test_a_resource_named_for_a_profile_needs_that_profile_allowed(
    users: UsersFile, tmp_path: Path, path: str, allowed: bool
) -> None:
    """A config-format resource {app}-{profile}.ext is served only when the policy lets the caller read
    that application with that profile (with --encrypt-plain-text it is served decrypted)."""
    (tmp_path / "policy.yml").write_text(PROD_ONLY)
    policy = PolicyFile(tmp_path / "policy.yml")
    policy.load()
    gate = Gate(users=users, policy=policy)
    endpoint = parse_endpoint("GET", path, {})
    if allowed:
        gate.authorize(Principal.user("ada"), endpoint)
    else:
        with pytest.raises(Forbidden):
            gate.authorize(Principal.user("ada"), endpoint)
