"""Spring's encryption behaviours over real HTTP: a lone key ignores {key:NAME} names, and the
options encrypt-enabled, prefix-invalid-properties and plain-text-encrypt (with --serve-last-good).

Real git (a bare remote on this host) and the real server on loopback.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from config_server.crypto.symmetric import SymmetricEncryptor
from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

Client = TestClient[Any, Any]
MINE = SymmetricEncryptor("mykey", "deadbeef")
OTHER = SymmetricEncryptor("not-mine", "deadbeef")
TEXT = {"Content-Type": "text/plain"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _post(client: Client, path: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    resp = await client.post(path, data=body.encode(), headers=headers)
    return resp.status, await resp.text()


async def _source(client: Client, path: str) -> dict[str, Any]:
    resp = await client.get(path)
    assert resp.status == 200
    body = await resp.json()
    merged: dict[str, Any] = {}
    for source in reversed(body["propertySources"]):
        merged.update(source["source"])
    return merged


# --- /encrypt with a lone key ---------------------------------------------------------------------


async def test_encrypt_with_a_key_name_and_a_lone_key(git_remote: GitRemote, serve: Serve) -> None:
    """EncryptionControllerTests#prefixStrippedBeforeEncrypt: /encrypt of {key:test}foo answers
    {key:test}<cipher of foo>, which /decrypt turns back into foo."""
    git_remote.write({"application.yml": "a: 1\n"})
    client = await serve(git_remote, encrypt_key=Secret("mykey"))
    status, cipher = await _post(client, "/encrypt", "{key:test}foo", TEXT)
    assert status == 200 and cipher.startswith("{key:test}")
    assert MINE.decrypt(cipher.removeprefix("{key:test}")) == "foo"
    assert await _post(client, "/decrypt", cipher, TEXT) == (200, "foo")


async def test_form_data_with_a_key_name_and_a_lone_key(git_remote: GitRemote, serve: Serve) -> None:
    """EncryptionControllerTests#formDataInWithPrefix: form-encoded {key:test}foo bar= round-trips."""
    git_remote.write({"application.yml": "a: 1\n"})
    client = await serve(git_remote, encrypt_key=Secret("mykey"))
    status, cipher = await _post(client, "/encrypt/app/default", "{key:test}foo bar=", FORM)
    assert status == 200 and cipher.startswith("{key:test}")
    assert await _post(client, "/decrypt/app/default", cipher + "=", FORM) == (200, "foo bar")


# --- encrypt-enabled and prefix-invalid-properties ------------------------------------------------


async def test_encrypt_disabled_serves_cipher_values_as_they_are(git_remote: GitRemote, serve: Serve) -> None:
    """spring.cloud.config.server.encrypt.enabled=false: {cipher} values reach the client
    untouched (it decrypts them); /encrypt and /decrypt keep working."""
    cipher = MINE.encrypt("s3cret")
    git_remote.write({"application.yml": f"password: '{{cipher}}{cipher}'\n"})
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_enabled=False)
    assert (await _source(client, "/app/default"))["password"] == "{cipher}" + cipher
    assert await _post(client, "/decrypt", cipher, TEXT) == (200, "s3cret")


async def test_prefix_invalid_off_keeps_the_key(git_remote: GitRemote, serve: Serve) -> None:
    """encrypt.prefix-invalid-properties=false (Spring's documented example): a value that does
    not decrypt is served under its own key, as its ciphertext without {cipher}; no invalid.<key>."""
    leaked = OTHER.encrypt("hunter2")
    git_remote.write(
        {"application.yml": f"password: '{{cipher}}{leaked}'\nok: '{{cipher}}{MINE.encrypt('x')}'\n"}
    )
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_prefix_invalid_properties=False)
    values = await _source(client, "/app/default")
    assert values == {"password": leaked, "ok": "x"}


# --- --serve-last-good under both options ---------------------------------------------------------


async def test_last_good_ignores_cipher_values_when_encryption_is_off(
    git_remote: GitRemote, serve: Serve
) -> None:
    """With encrypt-enabled false a value another key encrypted is no problem: the head is served."""
    git_remote.write({"foo.yml": f"a: 1\npassword: '{{cipher}}{MINE.encrypt('s3cret')}'\n"})
    leaked = OTHER.encrypt("hunter2")
    head = git_remote.write({"foo.yml": f"a: 2\npassword: '{{cipher}}{leaked}'\n"})
    client = await serve(git_remote, serve_last_good=True, encrypt_key=Secret("mykey"), encrypt_enabled=False)
    resp = await client.get("/foo/default")
    body = await resp.json()
    assert resp.status == 200 and body["version"] == head and "Warning" not in resp.headers
    assert body["propertySources"][0]["source"]["password"] == "{cipher}" + leaked


async def test_last_good_still_finds_failures_without_the_invalid_prefix(
    git_remote: GitRemote, serve: Serve
) -> None:
    """With prefix-invalid-properties false a value that does not decrypt still makes the head bad:
    the last good commit is served, with the 199 Warning naming the file."""
    good = git_remote.write({"foo.yml": f"a: 1\npassword: '{{cipher}}{MINE.encrypt('s3cret')}'\n"})
    git_remote.write({"foo.yml": f"a: 2\npassword: '{{cipher}}{OTHER.encrypt('hunter2')}'\n"})
    client = await serve(
        git_remote, serve_last_good=True, encrypt_key=Secret("mykey"), encrypt_prefix_invalid_properties=False
    )
    resp = await client.get("/foo/default")
    body = await resp.json()
    assert resp.status == 200 and body["version"] == good
    assert body["propertySources"][0]["source"]["password"] == "s3cret"
    assert resp.headers["Warning"].startswith(f'199 - "serving {good}: foo.yml:2: ')


# --- plain-text-encrypt ----------------------------------------------------------------------------

RESOURCE = "# the database\ndb:\n  user: ${user}  # placeholder\n  password: '{cipher}%s'\n"


async def test_plain_text_resources_are_decrypted_in_place(git_remote: GitRemote, serve: Serve) -> None:
    """encrypt.plain-text-encrypt: /{app}/{profile}/{label}/{path} serves the file with its
    placeholders resolved and its {cipher} values decrypted, comments and layout kept."""
    git_remote.write({"application.yml": "user: app\n", "db.yml": RESOURCE % MINE.encrypt("s3cret")})
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_plain_text=True)
    resp = await client.get("/app/default/main/db.yml")
    assert resp.status == 200
    assert await resp.text() == "# the database\ndb:\n  user: app  # placeholder\n  password: 's3cret'\n"


async def test_plain_text_resources_are_served_as_written_by_default(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Without plain-text-encrypt (Spring's default), or with encrypt-enabled false, {cipher} stays."""
    cipher = MINE.encrypt("s3cret")
    git_remote.write({"application.yml": "user: app\n", "db.yml": RESOURCE % cipher})
    for options in ({}, {"encrypt_plain_text": True, "encrypt_enabled": False}):
        client = await serve(git_remote, encrypt_key=Secret("mykey"), **options)
        text = await (await client.get("/app/default/main/db.yml")).text()
        assert f"'{{cipher}}{cipher}'" in text
        await client.close()


async def test_a_plain_text_value_that_does_not_decrypt_is_an_error(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A resource value another key encrypted is a 500 naming the file and line, never the value."""
    leaked = OTHER.encrypt("hunter2")
    git_remote.write({"application.yml": "user: app\n", "db.yml": RESOURCE % leaked})
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_plain_text=True)
    resp = await client.get("/app/default/main/db.yml")
    text = await resp.text()
    assert resp.status == 500 and "db.yml:4" in text and leaked not in text
