"""HTTP Basic against an htpasswd file (``config_server.auth.basic``): strong hashes only."""

from __future__ import annotations

import stat
from pathlib import Path

import argon2
import bcrypt
import pytest

from config_server.auth import basic
from config_server.auth.basic import UsersFile, parse_users, set_user
from config_server.errors import InvalidConfiguration, Unauthenticated

FAST_ARGON2 = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def bcrypt_hash(password: bytes, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(4, prefix=prefix)).decode()


@pytest.mark.parametrize(
    ("hashed", "scheme"),
    [
        ("$apr1$salt$Oy8iS2pu6ch3nY5qp5E1b.", "MD5"),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "SHA1"),
        ("abJnggxhB/yWI", "crypt"),
        ("hunter2", "plain text"),
        ("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "argon2 other than argon2id"),
    ],
)
def test_a_weak_hash_is_refused_naming_the_line_and_the_scheme(hashed: str, scheme: str) -> None:
    """MD5, {SHA}, crypt, plain text and argon2i are refused: the message names line 3 and the scheme."""
    text = f"# users\nada:{bcrypt_hash(b'x')}\nbob:{hashed}\n"
    with pytest.raises(InvalidConfiguration) as caught:
        parse_users(text, source="users")
    assert caught.value.line == 3
    assert f"user 'bob' has a {scheme}" in caught.value.message
    assert hashed not in caught.value.message


def test_bcrypt_and_argon2id_entries_are_accepted() -> None:
    """$2y$ (htpasswd -B), $2b$ and $argon2id$ entries are read."""
    y = "$2y$" + bcrypt_hash(b"x")[4:]
    text = f"a:{y}\nb:{bcrypt_hash(b'x')}\nc:{FAST_ARGON2.hash('x')}\n"
    assert set(parse_users(text, source="users")) == {"a", "b", "c"}


def test_a_user_given_twice_is_refused() -> None:
    """Two lines for one user would make the file's meaning depend on order: refused."""
    with pytest.raises(InvalidConfiguration) as caught:
        parse_users(f"a:{bcrypt_hash(b'x')}\na:{bcrypt_hash(b'y')}\n", source="users")
    assert caught.value.line == 2


def users(tmp_path: Path, text: str) -> UsersFile:
    path = tmp_path / "users"
    path.write_text(text, encoding="utf-8")
    file = UsersFile(path)
    file.load()
    return file


async def test_a_long_password_counts_its_first_72_bytes_as_htpasswd_does(tmp_path: Path) -> None:
    """Against a bcrypt hash, a password over 72 bytes is checked on its first 72 (as htpasswd -B)."""
    long = "p" * 72
    file = users(tmp_path, f"ada:{bcrypt_hash(long.encode())}\n")
    assert (await file.authenticate("ada", long + "anything after")).id == "user:ada"
    with pytest.raises(Unauthenticated):
        await file.authenticate("ada", "q" + long[1:] + "anything after")


async def test_an_argon2id_password_is_checked(tmp_path: Path) -> None:
    """An argon2id entry accepts its password and refuses another."""
    file = users(tmp_path, f"ada:{FAST_ARGON2.hash('right')}\n")
    assert (await file.authenticate("ada", "right")).name == "ada"
    with pytest.raises(Unauthenticated) as caught:
        await file.authenticate("ada", "wrong")
    assert "wrong" not in caught.value.message


async def test_an_unknown_user_is_refused(tmp_path: Path) -> None:
    """A name not in the file is 401, like a wrong password."""
    file = users(tmp_path, f"ada:{bcrypt_hash(b'x')}\n")
    with pytest.raises(Unauthenticated):
        await file.authenticate("eve", "x")


async def test_a_successful_check_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second request with the same credentials costs no hash check."""
    checks: list[str] = []
    real = basic._check
    monkeypatch.setattr(basic, "_check", lambda h, p: checks.append(h) or real(h, p))
    file = users(tmp_path, f"ada:{bcrypt_hash(b'pw')}\n")
    await file.authenticate("ada", "pw")
    await file.authenticate("ada", "pw")
    assert len(checks) == 1


async def test_a_changed_hash_forgets_the_remembered_password(tmp_path: Path) -> None:
    """After the entry changes, the old password (remembered a moment ago) is refused."""
    file = users(tmp_path, f"ada:{bcrypt_hash(b'old')}\n")
    await file.authenticate("ada", "old")
    file.path.write_text(f"ada:{bcrypt_hash(b'new')}\n", encoding="utf-8")
    file.reload()
    with pytest.raises(Unauthenticated):
        await file.authenticate("ada", "old")
    assert (await file.authenticate("ada", "new")).id == "user:ada"


def test_an_invalid_new_file_keeps_the_old_users(tmp_path: Path) -> None:
    """A reload of a file with an MD5 entry logs and keeps the users as they were."""
    file = users(tmp_path, f"ada:{bcrypt_hash(b'x')}\n")
    file.path.write_text("ada:$apr1$salt$Oy8iS2pu6ch3nY5qp5E1b.\nbob:x\n", encoding="utf-8")
    file.reload()
    assert file.users == frozenset({"ada"})


def test_set_user_creates_the_file_with_mode_0600(tmp_path: Path) -> None:
    """A new file is private to its owner and holds an argon2id entry the server accepts."""
    path = tmp_path / "users"
    assert set_user(path, "ada", "pw") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse_users(path.read_text(), source="users")["ada"].startswith("$argon2id$")


def test_set_user_changes_a_password_in_place_and_keeps_the_rest(tmp_path: Path) -> None:
    """Changing ada's password keeps bob's line and the comment, and leaves no temporary file."""
    path = tmp_path / "users"
    bob = f"bob:{bcrypt_hash(b'x')}"
    path.write_text(f"# team\nada:{bcrypt_hash(b'old')}\n{bob}\n", encoding="utf-8")
    assert set_user(path, "ada", "new") is False
    lines = path.read_text().splitlines()
    assert lines[0] == "# team" and lines[2] == bob
    assert lines[1].startswith("ada:$argon2id$")
    assert [p.name for p in tmp_path.iterdir()] == ["users"]


async def test_set_user_changes_what_the_server_accepts(tmp_path: Path) -> None:
    """The password set_user wrote is the one a UsersFile accepts."""
    path = tmp_path / "users"
    set_user(path, "ada", "first")
    set_user(path, "ada", "second")
    file = UsersFile(path)
    file.load()
    assert (await file.authenticate("ada", "second")).id == "user:ada"
    with pytest.raises(Unauthenticated):
        await file.authenticate("ada", "first")


def test_set_user_refuses_to_extend_a_file_the_server_would_refuse(tmp_path: Path) -> None:
    """A file with an MD5 entry is not extended (the server would not start on it)."""
    path = tmp_path / "users"
    before = "old:$apr1$salt$Oy8iS2pu6ch3nY5qp5E1b.\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(InvalidConfiguration):
        set_user(path, "ada", "pw")
    assert path.read_text() == before


@pytest.mark.parametrize("name", ["", "a:b", "a\nb", " a"])
def test_set_user_refuses_a_name_that_would_break_the_file(tmp_path: Path, name: str) -> None:
    """A name with ':', a line break or outer spaces is refused before anything is written."""
    with pytest.raises(ValueError):
        set_user(tmp_path / "users", name, "pw")
    assert not (tmp_path / "users").exists()
