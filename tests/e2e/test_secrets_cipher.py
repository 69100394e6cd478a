"""``{cipher}`` values and the encryption endpoints, end to end: real server, real git, real OpenBao."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from yarl import URL

from config_server.cli import main
from config_server.secret import Secret
from tests.e2e.conftest import TRANSIT_KEY, AppRole
from tests.http.conftest import Serve
from tests.support import VECTORS as SUPPORT_VECTORS
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao

VECTORS = SUPPORT_VECTORS
JKS = VECTORS / "spring-server.jks"
# Reference §5.4: key "mykey", salt deadbeef.
SYMMETRIC_VECTOR = "6defc102cd76752fcf4c78231ed82ead85133a09741d9a1442595b4800e2b3d1"
# Reference §13: spring-server.jks (letmein / mytestkey / changeme) decrypts this to "foo".
RSA_VECTOR = (
    "{key:mytestkey}AQCohs2V6P8/UiG6a4TF/CZTCBdt5Q7wvNvcyf6vs2ByK2ZYSM77Nu0sOAduxUpMbVwJ/syecmkIXR+hU3EfT2uqPie"
    "A7/v5n33ppqIQ9JAt5JggdYIGe+wX25zU3DTXOOJdAAMzNX+zjOVyCh0QtmJf/kFslg6NqQq0E+kSg3zBi3AnkKj5BLnLIxkjxzKA4mnD"
    "XpSm7ekLZZP2iQSYSW/82AC7UOLLzTqwInMI3tJLW1e9Ne+LDsjmSxA+nkK9zhidtXPwb/SPaNF74cJCEf9mgzzKYwJlwqChLzJt8UQ1j"
    "HwRc8B6FufmizUHSp27nxdtVB4HMqh3nNsMCy137Ces58T09ZS/y/cYNRxcFbp78MHFHUqAgbC0B/p5t6h4XbQ="
)
TEXT = {"Content-Type": "text/plain"}
JKS_SETTINGS: dict[str, Any] = {
    "encrypt_keystore": JKS,
    "encrypt_keystore_password": Secret("letmein"),
    "encrypt_key_alias": "mytestkey",
    "encrypt_key_secret": Secret("changeme"),
}


def spring_symmetric_decrypt(key: str, hex_text: str, salt: str = "deadbeef") -> str:
    """Spring's Encryptors.text decryption written out from §5.4 (independent of our code)."""
    k = hashlib.pbkdf2_hmac("sha1", key.encode(), bytes.fromhex(salt), 1024, 32)
    raw = bytes.fromhex(hex_text)
    dec = Cipher(algorithms.AES(k), modes.CBC(raw[:16])).decryptor()
    padded = dec.update(raw[16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


async def source_of(client: Any, path: str, index: int = 0) -> dict[str, Any]:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["propertySources"][index]["source"]  # type: ignore[no-any-return]


async def test_symmetric_vector_is_decrypted_in_yaml_and_properties(
    serve: Serve, git_remote: GitRemote
) -> None:
    """The reference's symmetric ciphertext is served decrypted from .yml and .properties files."""
    git_remote.write(
        {
            "orders.yml": f"db:\n  password: '{{cipher}}{SYMMETRIC_VECTOR}'\n  user: app\n",
            "application.properties": f"shared.password={{cipher}}{SYMMETRIC_VECTOR.upper()}\n",
        }
    )
    client = await serve(git_remote, encrypt_key=Secret("mykey"))
    assert await source_of(client, "/orders/default") == {"db.user": "app", "db.password": "password"}
    assert await source_of(client, "/orders/default", 1) == {"shared.password": "password"}
    yml = await (await client.get("/orders-default.yml")).text()
    assert "password: password" in yml
    assert "cipher" not in yml


async def test_symmetric_encrypt_is_springs_scheme(serve: Serve, git_remote: GitRemote) -> None:
    """/encrypt gives hex(IV || AES-CBC) under PBKDF2(key, salt), and custom salts are honoured."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_salt="cafebabe")
    out = await (await client.post("/encrypt", data="héllo wörld", headers=TEXT)).text()
    assert spring_symmetric_decrypt("mykey", out, "cafebabe") == "héllo wörld"
    back = await client.post("/decrypt", data=out, headers=TEXT)
    assert await back.text() == "héllo wörld"
    # curl -d sends a form body ending in '=': Spring strips it, and so do we.
    form = await client.post(
        "/encrypt", data=b"plain=", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert spring_symmetric_decrypt("mykey", await form.text(), "cafebabe") == "plain"


async def test_jks_vector_key_endpoint_and_alias_selection(serve: Serve, git_remote: GitRemote) -> None:
    """The §13 JKS vector decrypts to foo; /key is ssh-rsa; {key:mykey} encrypts with another alias."""
    git_remote.write({"orders.yml": f"secret: '{{cipher}}{RSA_VECTOR}'\n"})
    client = await serve(git_remote, **JKS_SETTINGS)
    assert await source_of(client, "/orders/default") == {"secret": "foo"}
    key = await (await client.get("/key")).text()
    assert key.startswith("ssh-rsa AAAA") and key.endswith(" application")
    other = await (await client.post("/encrypt", data="{key:mykey}bar", headers=TEXT)).text()
    assert other.startswith("{key:mykey}AQ")
    mine = await (await client.post("/encrypt", data="baz", headers=TEXT)).text()
    assert mine.startswith("AQ")  # the default key writes no prefix, as Spring does
    git_remote.write({"orders.yml": f"a: '{{cipher}}{other}'\nb: '{{cipher}}{mine}'\n"})
    await client.post("/monitor", data={"path": "orders.yml"})
    assert await source_of(client, "/orders/default") == {"a": "bar", "b": "baz"}
    assert await (await client.post("/decrypt", data=RSA_VECTOR, headers=TEXT)).text() == "foo"
    cert_only = await client.post("/decrypt", data="{key:myencryptionkey}" + mine, headers=TEXT)
    assert cert_only.status == 400
    assert await cert_only.json() == {
        "status": "BAD_REQUEST",
        "description": "Server-side decryption is not supported",
    }


async def test_transit_with_approle_login(
    serve: Serve, git_remote: GitRemote, bao: OpenBao, approle: AppRole
) -> None:
    """{key:transit:cfg}: /encrypt gives vault:v1 text, git values decrypt through transit, with AppRole."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote,
        vault_url=bao.url,
        vault_role_id=Secret(approle.role_id),
        vault_secret_id=Secret(approle.secret_id),
    )
    resp = await client.post("/encrypt", data=f"{{key:transit:{TRANSIT_KEY}}}s3cr3t", headers=TEXT)
    assert resp.status == 200
    value = await resp.text()
    assert value.startswith(f"{{key:transit:{TRANSIT_KEY}}}vault:v")
    assert "s3cr3t" not in value
    assert (await client.get("/encrypt/status")).status == 200
    git_remote.write(
        {
            "orders.properties": f"db.password={{cipher}}{value}\nbroken={{cipher}}{{key:transit:"
            f"{TRANSIT_KEY}}}vault:v1:AAAA\n"
        }
    )
    await client.post("/monitor", data={"path": "orders.properties"})
    assert await source_of(client, "/orders/default") == {"db.password": "s3cr3t", "invalid.broken": "<n/a>"}
    assert await (await client.post("/decrypt", data=value, headers=TEXT)).text() == "s3cr3t"


async def test_transit_primary_and_rotation(serve: Serve, git_remote: GitRemote, bao: OpenBao) -> None:
    """--encrypt-primary transit:NAME makes /encrypt use transit; old versions decrypt after rotation."""
    bao.enable_transit("rot")
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote, vault_url=bao.url, vault_token=Secret(bao.root_token), encrypt_primary="transit:rot"
    )
    v1 = await (await client.post("/encrypt", data="one", headers=TEXT)).text()
    assert v1.startswith("{key:transit:rot}vault:v1:")
    bao.rotate_transit_key("rot")
    v2 = await (await client.post("/encrypt", data="two", headers=TEXT)).text()
    assert v2.startswith("{key:transit:rot}vault:v2:")
    git_remote.write({"orders.yml": f"one: '{{cipher}}{v1}'\ntwo: '{{cipher}}{v2}'\n"})
    await client.post("/monitor", data={"path": "orders.yml"})
    assert await source_of(client, "/orders/default") == {"one": "one", "two": "two"}


async def test_transit_needs_the_servers_own_login(serve: Serve, git_remote: GitRemote, bao: OpenBao) -> None:
    """With only callers' tokens (no server login) there is no transit key: a transit value is
    invalid.<key> for every caller, and /encrypt with a transit key is NO_KEY."""
    bao.enable_transit("solo")
    value = await asyncio.to_thread(bao.client().secrets.transit.encrypt_data, "solo", "eA==")
    ciphertext = value["data"]["ciphertext"]
    git_remote.write({"orders.yml": f"a: 1\nkey: '{{cipher}}{{key:transit:solo}}{ciphertext}'\n"})
    client = await serve(git_remote, vault_url=bao.url)
    resp = await client.get("/orders/default", headers={"X-Config-Token": bao.root_token})
    assert resp.status == 200
    assert (await resp.json())["propertySources"][-1]["source"] == {"a": 1, "invalid.key": "<n/a>"}
    enc = await client.post("/encrypt", data="{key:transit:solo}x", headers=TEXT)
    assert enc.status == 404 and (await enc.json())["status"] == "NO_KEY"


async def test_encrypting_with_a_frozen_vault_never_stalls_other_requests(
    serve: Serve, git_remote: GitRemote, bao: OpenBao
) -> None:
    """A transit primary encrypts in a worker thread: while Vault hangs, /encrypt/status still
    answers at once (the autouse guard also fails the test if the loop blocks)."""
    bao.enable_transit("slow")
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(
        git_remote, vault_url=bao.url, vault_token=Secret(bao.root_token), encrypt_primary="transit:slow"
    )
    assert (await client.post("/encrypt", data="warm", headers=TEXT)).status == 200
    bao.pause()
    try:
        pending = asyncio.ensure_future(client.post("/encrypt", data="plain", headers=TEXT))
        await asyncio.sleep(0.2)
        started = asyncio.get_running_loop().time()
        assert (await client.get("/encrypt/status")).status == 200
        assert asyncio.get_running_loop().time() - started < 2.0  # Vault stays frozen until resumed
    finally:
        bao.resume()
    assert (await pending).status == 200


ROTATION: dict[str, Any] = {
    "encrypt_key": Secret("old-key"),
    "encrypt_keys": Secret("new=new-key,spare=spare-key"),
    "encrypt_primary": "new",
}


async def test_rotation_old_and_new_keys_at_once(serve: Serve, git_remote: GitRemote) -> None:
    """With old and new keys, both kinds of values decrypt and /encrypt uses the primary."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, **ROTATION)
    new = await (await client.post("/encrypt", data="fresh", headers=TEXT)).text()
    assert new.startswith("{key:new}")
    assert spring_symmetric_decrypt("new-key", new.removeprefix("{key:new}")) == "fresh"
    spare = await (await client.post("/encrypt", data="{key:spare}other", headers=TEXT)).text()
    git_remote.write(
        {
            "orders.yml": f"old: '{{cipher}}{SYMMETRIC_VECTOR_OLD}'\nnew: '{{cipher}}{new}'\n"
            f"spare: '{{cipher}}{spare}'\n"
        }
    )
    await client.post("/monitor", data={"path": "orders.yml"})
    assert await source_of(client, "/orders/default") == {"old": "stale", "new": "fresh", "spare": "other"}


def _encrypt_old(plaintext: str) -> str:
    from config_server.crypto.symmetric import SymmetricEncryptor

    return SymmetricEncryptor("old-key", "deadbeef").encrypt(plaintext)


SYMMETRIC_VECTOR_OLD = _encrypt_old("stale")


async def test_undecryptable_values_become_invalid_and_are_logged_by_key(
    serve: Serve, git_remote: GitRemote, caplog: pytest.LogCaptureFixture
) -> None:
    """A value that fails becomes invalid.<key>: <n/a>, the rest is served, the log names the key only."""
    bad = "{cipher}" + "ab" * 32
    unknown = "{cipher}{key:nope}" + SYMMETRIC_VECTOR
    git_remote.write(
        {
            "orders.yml": f"good: '{{cipher}}{SYMMETRIC_VECTOR}'\nbad: '{bad}'\n"
            f"unknown: '{unknown}'\nplain: yes\n"
        }
    )
    # Two keys: a single --encrypt-key would ignore {key:nope}, as Spring's single-key setup does.
    client = await serve(git_remote, encrypt_key=Secret("mykey"), encrypt_keys=Secret("other=k2"))
    with caplog.at_level(logging.DEBUG):
        body = await source_of(client, "/orders/default")
    assert body == {"plain": True, "good": "password", "invalid.bad": "<n/a>", "invalid.unknown": "<n/a>"}
    failures = [r.getMessage() for r in caplog.records if "cannot decrypt" in r.getMessage()]
    assert sorted(failures) == [
        f"cannot decrypt bad in {git_remote.uri}/orders.yml (key default)",
        f"cannot decrypt unknown in {git_remote.uri}/orders.yml (key nope)",
    ]
    assert "ab" * 32 not in caplog.text and SYMMETRIC_VECTOR not in caplog.text


@pytest.mark.parametrize(
    ("settings", "method", "path", "body", "status", "expected"),
    [
        (
            {},
            "POST",
            "/encrypt",
            "x",
            404,
            {"status": "NO_KEY", "description": "No key was installed for encryption service"},
        ),
        (
            {},
            "POST",
            "/decrypt",
            "x",
            404,
            {"status": "NO_KEY", "description": "No key was installed for encryption service"},
        ),
        (
            {},
            "GET",
            "/encrypt/status",
            None,
            404,
            {"status": "NO_KEY", "description": "No key was installed for encryption service"},
        ),
        ({}, "GET", "/key", None, 404, {"status": "NOT_FOUND", "description": "No public key available"}),
        (
            {"encrypt_key": Secret("k")},
            "GET",
            "/key",
            None,
            404,
            {"status": "NOT_FOUND", "description": "No public key available"},
        ),
        ({"encrypt_key": Secret("k")}, "GET", "/encrypt/status", None, 200, {"status": "OK"}),
        (
            {"encrypt_key": Secret("k")},
            "POST",
            "/decrypt",
            "zz-not-hex",
            400,
            {"status": "INVALID", "description": "Text not encrypted with this key"},
        ),
        (
            {"encrypt_key": Secret("k")},
            "POST",
            "/decrypt",
            SYMMETRIC_VECTOR,
            400,
            {"status": "INVALID", "description": "Text not encrypted with this key"},
        ),
        (
            JKS_SETTINGS,
            "POST",
            "/decrypt",
            "AQ" + "A" * 40,
            400,
            {"status": "INVALID", "description": "Text not encrypted with this key"},
        ),
    ],
)
async def test_encryption_endpoint_statuses(
    serve: Serve,
    git_remote: GitRemote,
    settings: dict[str, Any],
    method: str,
    path: str,
    body: str | None,
    status: int,
    expected: dict[str, str],
) -> None:
    """The encryption endpoints answer the reference's status codes and JSON bodies."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, **settings)
    resp = await client.request(method, path, data=body, headers=TEXT if body is not None else {})
    assert resp.status == status
    assert await resp.json() == expected


async def test_scoped_forms_and_bad_requests(serve: Serve, git_remote: GitRemote) -> None:
    """/encrypt/{name}/{profiles} works like /encrypt; bad names and missing Content-Type are 400."""
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, encrypt_key=Secret("mykey"))
    scoped = await (await client.post("/encrypt/orders/dev", data="v", headers=TEXT)).text()
    assert await (await client.post("/decrypt/orders/dev", data=scoped, headers=TEXT)).text() == "v"
    bare = await client.post("/encrypt", data=b"v", skip_auto_headers=["Content-Type"])
    assert bare.status == 400
    assert (await bare.json())["message"] == "Required header 'Content-Type' is not present"
    base = str(client.make_url("/")).rstrip("/")
    bad = await client.session.post(URL(base + "/encrypt/..%2Fx/dev", encoded=True), data="v", headers=TEXT)
    assert bad.status == 400
    big = await client.post("/encrypt", data="x" * (1024 * 1024 + 1), headers=TEXT)
    assert big.status == 413


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_encrypt_decrypt_with_the_server_key_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """config-server encrypt/decrypt read the same key settings (flags or environment) as serve."""
    code, out, _ = cli(capsys, "encrypt", "hello", "--encrypt-key", "mykey")
    assert code == 0 and out.startswith("{cipher}")
    assert spring_symmetric_decrypt("mykey", out.strip().removeprefix("{cipher}")) == "hello"
    monkeypatch.setenv("CONFIG_SERVER_ENCRYPT_KEY", "mykey")
    assert cli(capsys, "decrypt", "{cipher}" + SYMMETRIC_VECTOR)[:2] == (0, "password\n")
    code, out, _ = cli(
        capsys,
        "decrypt",
        RSA_VECTOR,
        "--encrypt-keystore",
        str(JKS),
        "--encrypt-keystore-password",
        "letmein",
        "--encrypt-key-alias",
        "mytestkey",
        "--encrypt-key-secret",
        "changeme",
    )
    assert (code, out) == (0, "foo\n")
    code, out, err = cli(capsys, "decrypt", "garbage")
    assert (code, out) == (1, "")
    assert err.startswith("config-server: ") and "garbage" not in err


def test_cli_transit_with_approle(capsys: pytest.CaptureFixture[str], bao: OpenBao, approle: AppRole) -> None:
    """config-server encrypt '{key:transit:cfg}...' logs in with AppRole and gives a {cipher} value."""
    login = [
        "--vault-url",
        bao.url,
        "--vault-role-id",
        approle.role_id,
        "--vault-secret-id",
        approle.secret_id,
    ]
    code, out, _ = cli(capsys, "encrypt", f"{{key:transit:{TRANSIT_KEY}}}t0p", *login)
    assert code == 0 and out.startswith(f"{{cipher}}{{key:transit:{TRANSIT_KEY}}}vault:v")
    assert cli(capsys, "decrypt", out.strip(), *login)[:2] == (0, "t0p\n")


async def test_cli_reencrypt_a_working_copy_then_serve_it(
    serve: Serve, git_remote: GitRemote, capsys: pytest.CaptureFixture[str]
) -> None:
    """reencrypt moves a working copy's {cipher} values to the primary key; pushed, they still serve."""
    old = SYMMETRIC_VECTOR_OLD
    git_remote.write(
        {
            "orders.yml": f"# keep me\ndb:\n  password: '{{cipher}}{old}'\n  user: app\n",
            "teams/pay.properties": f"api.key={{cipher}}{old}\n",
            "plain.json": '{"a": 1}\n',
        }
    )
    args = [
        "reencrypt",
        str(git_remote.work),
        "--encrypt-key",
        "old-key",
        "--encrypt-keys",
        "new=new-key",
        "--encrypt-primary",
        "new",
    ]
    code, out, _ = await asyncio.to_thread(cli, capsys, *args)
    assert code == 0
    assert out.splitlines()[-1] == "2 value(s) re-encrypted"
    yml = (git_remote.work / "orders.yml").read_text()
    assert yml.startswith("# keep me\ndb:\n  password: '{cipher}{key:new}") and "user: app" in yml
    assert old not in yml
    assert "{cipher}{key:new}" in (git_remote.work / "teams/pay.properties").read_text()
    again = await asyncio.to_thread(cli, capsys, *args)
    assert again[1].splitlines()[-1] == "0 value(s) re-encrypted"
    import subprocess

    subprocess.run(["git", "commit", "-qam", "rotate"], cwd=git_remote.work, check=True)
    git_remote.push()
    client = await serve(
        git_remote,
        encrypt_key=Secret("retired-and-gone"),
        encrypt_keys=Secret("new=new-key"),
        search_paths=("teams",),
    )
    assert await source_of(client, "/pay/default") == {"api.key": "stale"}
    assert await source_of(client, "/orders/default") == {"db.user": "app", "db.password": "stale"}


def _rsa_material(tmp_path: Path, kind: str) -> tuple[dict[str, Any], str]:
    """Server settings for a fresh RSA key stored as ``kind``, and its OpenSSH public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    if kind == "pkcs12":
        path = tmp_path / "keys.p12"
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"configkey", key, None, None, serialization.BestAvailableEncryption(b"p12-pass")
            )
        )
        return {
            "encrypt_keystore": path,
            "encrypt_keystore_password": Secret("p12-pass"),
            "encrypt_key_alias": "configkey",
        }, ssh.decode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    if kind == "inline-pem":
        return {"encrypt_key": Secret(pem.decode())}, ssh.decode()
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    return {"encrypt_keystore": path}, ssh.decode()


@pytest.mark.parametrize("kind", ["pem", "pkcs12", "inline-pem"])
async def test_rsa_keys_from_pem_and_pkcs12(
    serve: Serve, git_remote: GitRemote, tmp_path: Path, kind: str
) -> None:
    """RSA keys from a PEM file, a PKCS#12 keystore or an inline PEM encrypt.key serve {cipher} values."""
    settings, ssh = _rsa_material(tmp_path, kind)
    git_remote.write({"application.yml": "x: 1\n"})
    client = await serve(git_remote, **settings)
    assert await (await client.get("/key")).text() == f"{ssh} application"
    value = await (await client.post("/encrypt", data="rsa-secret", headers=TEXT)).text()
    assert base64.b64decode(value)[:2] == b"\x01\x00"  # uint16 length of a 2048-bit RSA block (§5.5)
    git_remote.write({"orders.yml": f"s: '{{cipher}}{value}'\n"})
    await client.post("/monitor", data={"path": "orders.yml"})
    assert await source_of(client, "/orders/default") == {"s": "rsa-secret"}


def test_cli_reencrypt_keeps_line_ends_and_refuses_bad_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reencrypt leaves CRLF line ends as they were; a missing path is a clear error, not a traceback."""
    keys = ["--encrypt-key", "old-key", "--encrypt-keys", "new=new-key", "--encrypt-primary", "new"]
    file = tmp_path / "app.properties"
    file.write_bytes(f"# c\r\na=1\r\nb={{cipher}}{SYMMETRIC_VECTOR_OLD}\r\n".encode())
    assert cli(capsys, "reencrypt", str(file), *keys)[0] == 0
    lines = file.read_bytes().split(b"\r\n")
    assert lines[:2] == [b"# c", b"a=1"] and lines[2].startswith(b"b={cipher}{key:new}") and lines[3] == b""
    code, out, err = cli(capsys, "reencrypt", str(tmp_path / "missing"), *keys)
    assert (code, out) == (1, "")
    assert err == f"config-server: No such file or directory: {tmp_path / 'missing'}\n"
