"""GET /{application}-{profiles}.{yml,yaml,properties,json} and the /{label}/ variants."""

from __future__ import annotations

import json

from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

FILES = {
    "application.yml": "info:\n  company: ACME\nlist: [a, b, c]\n",
    "orders.yml": "orders:\n  banner: Orders for ${info.company}\n  missing: ${nope:fallback}\nlist: [x]\n",
    "orders-prod.properties": "orders.level=prod\n",
}


async def test_yaml_rendering_merges_and_resolves(git_remote: GitRemote, serve: Serve) -> None:
    """The .yml view is the merged, nested configuration with placeholders resolved; lists replaced whole."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/orders-prod.yml")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert await resp.text() == (
        "info:\n  company: ACME\norders:\n  banner: Orders for ACME\n  missing: fallback\n  level: prod\n"
        "list:\n- x\n"
    )
    assert await (await client.get("/orders-prod.yaml")).text() == await resp.text()


async def test_properties_rendering(git_remote: GitRemote, serve: Serve) -> None:
    """The .properties view: key: value lines, no trailing newline; resolvePlaceholders=false keeps ${}."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    text = await (await client.get("/orders-prod.properties")).text()
    assert text.splitlines()[0] == "info.company: ACME"
    assert "orders.banner: Orders for ACME" in text and not text.endswith("\n")
    raw = await (await client.get("/orders-prod.properties?resolvePlaceholders=false")).text()
    assert "orders.banner: Orders for ${info.company}" in raw


async def test_json_rendering(git_remote: GitRemote, serve: Serve) -> None:
    """The .json view is the same nested structure as compact JSON."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/orders-prod.json")
    assert resp.content_type == "application/json"
    assert json.loads(await resp.text()) == {
        "info": {"company": "ACME"},
        "orders": {"banner": "Orders for ACME", "missing": "fallback", "level": "prod"},
        "list": ["x"],
    }


async def test_labelled_rendering_and_last_hyphen_split(git_remote: GitRemote, serve: Serve) -> None:
    """/{label}/{name}-{profiles}.yml splits name and profiles at the LAST hyphen."""
    git_remote.write({"my-app.yml": "a: on-main\n"})
    git_remote.tag("rel")
    git_remote.write({"my-app.yml": "a: later\n"})
    client = await serve(git_remote)
    assert await (await client.get("/rel/my-app-default.yml")).text() == "a: on-main\n"
    assert await (await client.get("/my-app-default.yml")).text() == "a: later\n"


async def test_rendering_etag_and_errors(git_remote: GitRemote, serve: Serve) -> None:
    """Renderings carry ETags too; a name without profiles matches no endpoint (404), nor an unknown label."""
    git_remote.write(FILES)
    client = await serve(git_remote)
    resp = await client.get("/orders-prod.yml")
    assert (
        await client.get("/orders-prod.yml", headers={"If-None-Match": resp.headers["ETag"]})
    ).status == 304
    assert (await client.get("/orders.yml")).status == 404
    assert (await client.get("/nope/orders-prod.yml")).status == 404
