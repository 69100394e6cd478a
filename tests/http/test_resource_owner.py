"""Resources belong to the application their name says; an unknown user costs a real hash check.

Each test is one finding of the independent security review of issue 8.
"""

from __future__ import annotations

from collections.abc import Iterator

import argon2
import pytest
import requests

from config_server.auth.basic import _dummy_hash
from tests.http.conftest import threaded_server
from tests.http.test_authorization import POLICY, basic, make_remote, users_file

PASSWORDS = {"orders": "orders-pw", "payments": "payments-pw", "ops": "ops-pw", "ci": "ci-pw"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Basic users and the README's policy over a repository with orders.yml and payments.yml."""
    tmp = tmp_path_factory.mktemp("review")
    (tmp / "policy.yml").write_text(POLICY, encoding="utf-8")
    remote = make_remote(tmp / "git")
    remote.write({"teams/payments/payments.yml": "payments:\n  password: team-secret\n"})
    with threaded_server(
        remote,
        tmp / "clone",
        search_paths=("teams/{application}",),
        auth_users=users_file(tmp / "users", PASSWORDS),
        access_policy=tmp / "policy.yml",
    ) as (url, _app):
        yield url


@pytest.mark.parametrize(
    "path",
    [
        "/orders/default/main/payments.yml",
        "/orders/default/payments.yml?useDefaultLabel",
        "/orders/default/main/teams/payments/payments.yml",
        "/orders/default/main/teams(_)payments(_)payments.yml",
    ],
)
def test_a_service_cannot_read_another_services_file_as_a_resource(server: str, path: str) -> None:
    """A caller allowed to read only orders does not get payments' files through the resource endpoint."""
    answer = requests.get(server + path, headers=basic("orders"), timeout=10)
    assert answer.status_code in (403, 404), answer.text
    assert "payments" not in answer.text or "Access denied" in answer.text


def test_the_unknown_user_hash_is_a_real_hash_check() -> None:
    """An unknown user costs a real hash check (a malformed dummy hash answers at once: enumeration)."""
    hasher = argon2.PasswordHasher()
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        hasher.verify(_dummy_hash(), "any password")
