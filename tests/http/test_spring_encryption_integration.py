"""Spring's EncryptionIntegrationTests over real HTTP, each set up from Spring's own bootstrap file
(``keystore-bootstrap.yml``, its keystore and its ``encrypt-repo``) read through ``--config``.

Real git (a bare remote on this host) and the real server on loopback.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from config_server.settings import load_settings
from tests.crypto.conftest import SPRING_JKS, SPRING_RSA_VECTOR
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

Client = TestClient[Any, Any]

# spring-cloud-config-server/src/test/resources/keystore-bootstrap.yml, the keystore's location
# made a file (classpath: is refused here), the git uri given by the test, and without
# server.bootstrap: true (the server reading its own settings from the repository is refused here,
# naming the option).
KEYSTORE_BOOTSTRAP = """\
encrypt:
  keyStore:
    location: file:{jks}
    password: letmein
    alias: myKey
"""

# R/encrypt-repo/application.yml: a document for the 'encrypt' profile holds Spring's value.
ENCRYPT_REPO = {
    "application.yml": f"info:\n  foo: bar\n\n---\nspring.config.activate.on-profile: encrypt\n"
    f"config:\n  foo: '{SPRING_RSA_VECTOR}'\n",
}


async def _serve(serve: Serve, remote: GitRemote, tmp_path: Path, text: str = KEYSTORE_BOOTSTRAP) -> Client:
    """The server as ``--config`` with ``text`` (its keystore path filled in) sets it up."""
    config = tmp_path / "bootstrap.yml"
    config.write_text(text.format(jks=SPRING_JKS), encoding="utf-8")
    loaded = load_settings({"config": str(config), "repo": remote.uri}, environ={})
    given = {f.name: getattr(loaded, f.name) for f in fields(loaded) if f.name.startswith("encrypt")}
    return await serve(remote, **given)


async def test_keystore_alias_in_another_case_starts_and_decrypts(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """EncryptionIntegrationTests.KeystoreConfigurationIntegrationTests#keystoreBootstrapConfig:
    alias myKey (the entry is mykey, under the store password) starts; /encrypt/status is 200."""
    git_remote.write(ENCRYPT_REPO)
    client = await _serve(serve, git_remote, tmp_path)
    assert (await client.get("/encrypt/status")).status == 200
    resp = await client.post("/encrypt", data=b"foo", headers={"Content-Type": "text/plain"})
    assert resp.status == 200
    back = await client.post("/decrypt", data=await resp.read(), headers={"Content-Type": "text/plain"})
    assert (back.status, await back.text()) == (200, "foo")


async def test_an_encryption_only_key_with_encryption_disabled(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """EncryptionIntegrationTests.KeystoreConfigurationEncryptionOnlyIntegrationTests
    #shouldOnlySupportEncryption: encrypt.enabled=false and the certificate-only alias
    myencryptionkey: /keystore-bootstrap/encrypt serves Spring's {cipher} value as it is,
    /encrypt answers 200 and /decrypt of its output 400."""
    git_remote.write(ENCRYPT_REPO)
    # Spring's test overrides the bootstrap file's alias with a property; here: the same file, edited.
    text = KEYSTORE_BOOTSTRAP.replace("alias: myKey", "alias: myencryptionkey")
    client = await _serve(
        serve, git_remote, tmp_path, text + "spring.cloud.config.server.encrypt.enabled: false\n"
    )
    resp = await client.get("/keystore-bootstrap/encrypt")
    assert resp.status == 200 and SPRING_RSA_VECTOR in await resp.text()
    encrypted = await client.post("/encrypt", data=b"valueToBeEncrypted")
    assert encrypted.status == 200
    decrypted = await client.post(
        "/decrypt", data=await encrypted.read(), headers={"Content-Type": "text/plain"}
    )
    assert decrypted.status == 400
