"""Specification of the exception tree: its shape, its messages and the headers errors carry."""

from __future__ import annotations

import inspect

import pytest

from config_server import errors
from config_server.errors import (
    ConfigServerError,
    CryptoError,
    DecryptionFailed,
    InvalidConfiguration,
    LabelNotFound,
    NoKey,
    NoPublicKey,
    ServerSideDecryptionUnsupported,
    Unauthenticated,
    WeakEncryption,
    WebhookSignatureInvalid,
)

TREE = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, ConfigServerError) and cls.__module__ == errors.__name__
]


def test_every_class_is_exported() -> None:
    """__all__ lists exactly the classes of the tree."""
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls in TREE)


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_no_class_carries_an_http_status(cls: type[ConfigServerError]) -> None:
    """Statuses live in http/errors.py only, not on the exception classes."""
    assert not hasattr(cls, "status") and not hasattr(cls, "reason")


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (NoPublicKey, NoKey),
        (ServerSideDecryptionUnsupported, DecryptionFailed),
        (WeakEncryption, CryptoError),
        (NoKey, CryptoError),
    ],
)
def test_typed_crypto_errors_stay_under_their_branch(cls: type[Exception], base: type[Exception]) -> None:
    """Code that catches NoKey, DecryptionFailed or CryptoError still catches the narrower classes."""
    assert issubclass(cls, base)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (NoPublicKey(), "No public key available"),
        (ServerSideDecryptionUnsupported(), "Server-side decryption is not supported"),
        (WeakEncryption(), "The encryption algorithm is not strong enough"),
        (LabelNotFound("v9"), "No such label: v9"),
        (
            InvalidConfiguration("a.yml", "bad indent", line=3, column=2),
            "Invalid configuration in a.yml:3:2: bad indent",
        ),
    ],
)
def test_message_is_kept_for_the_cli(error: ConfigServerError, message: str) -> None:
    """.message (which the CLI prints) and str() are the caller-safe message."""
    assert error.message == message == str(error)


def test_errors_carry_no_headers_by_default() -> None:
    """An error puts no header on its response unless it says so."""
    assert dict(WebhookSignatureInvalid("Webhook rejected: wrong X-Gitlab-Token").headers) == {}


def test_unauthenticated_carries_a_basic_challenge_by_default() -> None:
    """Unauthenticated asks for credentials with WWW-Authenticate: Basic realm="config-server"."""
    assert dict(Unauthenticated("Credentials required").headers) == {
        "WWW-Authenticate": 'Basic realm="config-server"'
    }


def test_unauthenticated_takes_another_challenge() -> None:
    """The challenge names the scheme the caller should use, e.g. Bearer."""
    assert Unauthenticated("Token required", challenge="Bearer").headers["WWW-Authenticate"] == "Bearer"


def test_headers_of_one_error_do_not_leak_into_another() -> None:
    """Headers are per instance: a challenge set on one error is not on the class or its siblings."""
    Unauthenticated("x", challenge="Bearer")
    assert dict(Unauthenticated("y").headers)["WWW-Authenticate"].startswith("Basic")
    assert dict(ConfigServerError("z").headers) == {}
