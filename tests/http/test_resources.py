"""GET /{application}/{profile}/{label}/{path}: plain-text files with placeholders, or raw bytes."""

from __future__ import annotations

from config_server.components import GIT
from tests.http.conftest import Serve, app_of, raw_get
from tests.support.gitrepo import GitRemote

FILES = {
    "application.yml": "server:\n  port: 8080\n",
    "nginx.conf": "listen ${server.port};\nliteral \\${server.port};\nhome ${HOME};\n",
    "nginx-prod.conf": "prod ${server.port}\n",
    "conf/app.txt": "nested ${server.port}\n",
}


async def test_plain_text_with_placeholders(git_remote: GitRemote, serve: Serve) -> None:
    """Placeholders resolve from the environment only; \\${ stays literal; ${HOME} is not the OS env."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/gateway/default/main/nginx.conf")
    assert resp.status == 200
    assert await resp.text() == "listen 8080;\nliteral ${server.port};\nhome ${HOME};\n"


async def test_profile_variant_and_nested_paths(git_remote: GitRemote, serve: Serve) -> None:
    """nginx-prod.conf is preferred for profile prod; paths may contain / or (_)."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    assert await (await client.get("/gateway/prod/main/nginx.conf")).text() == "prod 8080\n"
    assert await (await client.get("/gateway/default/main/conf/app.txt")).text() == "nested 8080\n"
    assert await (await client.get("/gateway/default/main/conf(_)app.txt")).text() == "nested 8080\n"


async def test_use_default_label(git_remote: GitRemote, serve: Serve) -> None:
    """/{name}/{profile}/{path}?useDefaultLabel reads the file at the default label."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/gateway/default/nginx.conf?useDefaultLabel")
    assert resp.status == 200 and (await resp.text()).startswith("listen 8080;")


async def test_octet_stream_gives_raw_bytes(git_remote: GitRemote, serve: Serve) -> None:
    """Accept: application/octet-stream returns the file's bytes untouched."""
    blob = bytes(range(256))
    git_remote.write({**FILES, "cert.der": blob})
    client = await serve(git_remote)
    resp = await client.get("/gateway/default/main/cert.der", headers={"Accept": "application/octet-stream"})
    assert resp.status == 200 and await resp.read() == blob
    raw = await client.get("/gateway/default/main/nginx.conf", headers={"Accept": "application/octet-stream"})
    assert (await raw.read()).startswith(b"listen ${server.port};")


async def test_missing_and_hostile_paths(git_remote: GitRemote, serve: Serve) -> None:
    """A missing file is 404; traversal is 400; an unknown label is 404."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    assert (await client.get("/gateway/default/main/nope.txt")).status == 404
    assert (await client.get("/gateway/default/main/..%2F..%2Fetc%2Fpasswd")).status == 400
    assert (await raw_get(client, "/gateway/default/main/a/../../b")).status == 400
    assert (await client.get("/gateway/default/nobranch/nginx.conf")).status == 404


async def test_resources_carry_a_content_etag_and_answer_304(git_remote: GitRemote, serve: Serve) -> None:
    """A resource's ETag follows its served bytes: 304 while they stand, a new tag when a
    placeholder's value changes, and raw bytes have a tag of their own."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    path = "/gateway/default/main/nginx.conf"
    first = await client.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert (await client.get(path, headers={"If-None-Match": etag})).status == 304
    raw = await client.get(path, headers={"Accept": "application/octet-stream"})
    assert raw.headers["ETag"] != etag
    git_remote.write({"application.yml": "server:\n  port: 9090\n"})
    await app_of(client)[GIT].refresh()
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status == 200 and again.headers["ETag"] != etag
    assert (await again.text()).startswith("listen 9090;")
