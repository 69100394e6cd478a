"""Specification of ``config-server validate``: every problem at its file and line, exit 0/1/2.

The command runs in-process (``cli.main``) on real files and real git repositories.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config_server.cli import main
from config_server.crypto.symmetric import SymmetricEncryptor
from tests.support.gitrepo import GitRemote, git

KEY = "validate-test-key"

GOOD = {
    "application.yml": "logging:\n  level: INFO\n",
    "application-prod.yml": "logging:\n  level: WARN\n",
    "orders.yml": "server:\n  port: 8080\npool-size: 5\n",
    "orders-dev.yml": "pool-size: 2\n",
    "payments.properties": "currency=EUR\n",
    "schemas/orders.schema.json": json.dumps(
        {
            "type": "object",
            "required": ["server"],
            "properties": {
                "server": {"type": "object", "properties": {"port": {"type": "integer", "maximum": 65535}}},
                "pool-size": {"type": "integer", "minimum": 1},
            },
        },
        indent=2,
    ),
}


@pytest.fixture(autouse=True)
def _no_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONFIG_SERVER_ENCRYPT_KEY", "CONFIG_SERVER_CONFIG", "CONFIG_SERVER_SEARCH_PATHS"):
        monkeypatch.delenv(name, raising=False)


def tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Exit status, stdout lines, stderr."""
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_good_repository_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing wrong: no output, a summary on stderr, exit 0."""
    code, out, err = validate(capsys, str(tree(tmp_path, GOOD)))
    assert (code, out) == (0, [])
    assert "no problems" in err and "1 schema(s)" in err


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        ("orders-dev.yml", "a: 1\nb: 2\na: 3\n", "orders-dev.yml:3: duplicate key 'a'"),
        ("payments.properties", "currency=EUR\nbad=\\u12\n", "payments.properties:2: "),
        ("gateway.json", '{\n  "a": 1,\n  "b": \n}\n', "gateway.json:4: invalid JSON"),
    ],
)
def test_a_file_that_does_not_parse_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, content: str, expected: str
) -> None:
    """Broken YAML (a duplicate key), .properties (a bad escape) and JSON each give file:line, exit 1."""
    code, out, _ = validate(capsys, str(tree(tmp_path, {**GOOD, path: content})))
    assert code == 1
    assert len(out) == 1 and out[0].startswith(expected), out


def test_a_cipher_that_does_not_decrypt_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key configured, a {cipher} value made with another key is file:line; a good one passes."""
    good = SymmetricEncryptor(KEY).encrypt("s3cret-value")
    other = SymmetricEncryptor("another-key").encrypt("x")
    dev = f"pool-size: 2\ndb:\n  password: '{{cipher}}{good}'\n  token: '{{cipher}}{other}'\n"
    files = {**GOOD, "orders-dev.yml": dev}
    monkeypatch.setenv("CONFIG_SERVER_ENCRYPT_KEY", KEY)
    code, out, err = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out == [f"orders-dev.yml:4: db.token: the {{cipher}} value does not decrypt: {_message(other)}"]
    assert "s3cret-value" not in "".join(out) + err


def _message(cipher: str) -> str:
    from config_server.errors import CryptoError

    try:
        SymmetricEncryptor(KEY).decrypt(cipher)
    except CryptoError as exc:
        return exc.message
    raise AssertionError("decrypted with the wrong key")


def test_without_a_key_cipher_values_are_counted_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key configured: {cipher} values are not problems; the summary says how many went unchecked."""
    files = {**GOOD, "orders-dev.yml": "password: '{cipher}abcdef'\n"}
    code, out, err = validate(capsys, str(tree(tmp_path, files)))
    assert (code, out) == (0, [])
    assert "1 {cipher} value(s) not checked: no key configured" in err


def test_with_encryption_disabled_cipher_values_are_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--encrypt-enabled false (Spring's encrypt.enabled=false): the server serves {cipher} values as
    they are for clients to decrypt, so one made with another key is no problem and not counted."""
    other = SymmetricEncryptor("another-key").encrypt("x")
    files = {**GOOD, "orders-dev.yml": f"pool-size: 2\ntoken: '{{cipher}}{other}'\n"}
    monkeypatch.setenv("CONFIG_SERVER_ENCRYPT_KEY", KEY)
    code, out, err = validate(capsys, str(tree(tmp_path, files)), "--encrypt-enabled", "false")
    assert (code, out) == (0, []), err
    assert "not checked" not in err


def test_a_schema_violation_is_reported_where_the_value_was_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong type in a profile file points at that file and line, naming application and profile."""
    files = {**GOOD, "orders-dev.yml": "# dev\npool-size: many\n"}
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out == [
        "orders-dev.yml:2: pool-size: 'many' is not of type 'integer' "
        "(schemas/orders.schema.json) [orders: dev]"
    ]


def test_a_schema_violation_of_a_decrypted_value_does_not_show_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema sees the decrypted value, and its message never quotes it."""
    secret = SymmetricEncryptor(KEY).encrypt("not-a-number")
    files = {**GOOD, "orders.yml": f"server:\n  port: '{{cipher}}{secret}'\n"}
    monkeypatch.setenv("CONFIG_SERVER_ENCRYPT_KEY", KEY)
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out[0].startswith("orders.yml:2: server.port: the value (from a {cipher}, not shown) fails")
    assert not any("not-a-number" in line for line in out)


def test_a_missing_required_key_is_reported_at_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A required key set nowhere points at the schema file's required keyword."""
    files = {**GOOD, "orders.yml": "pool-size: 5\n"}
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out == [
        "schemas/orders.schema.json:4: 'server' is a required property [orders: default, dev, prod]"
    ]


def test_a_broken_schema_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A schema that is not valid JSON, or not a valid schema, is reported at its line."""
    broken = {"schemas/payments.schema.json": '{\n  "type": "strin"\n}\n', "schemas/x.schema.json": "{"}
    files = {**GOOD, **broken}
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out[0].startswith("schemas/payments.schema.json:2: not a valid JSON Schema: 'strin' is not valid")
    assert out[1].startswith("schemas/x.schema.json:1: invalid JSON")


def test_search_paths_and_application_directories_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files under --search-paths are parsed and {application} directories name applications."""
    files = {
        **GOOD,
        "teams/billing/application.yml": "rate: high\n",
        "schemas/billing.schema.json": '{"properties": {"rate": {"type": "number"}}}',
        "elsewhere/broken.yml": "a: [\n",  # in no search location: the server never reads it
    }
    code, out, _ = validate(capsys, str(tree(tmp_path, files)), "--search-paths", "teams/{application}")
    assert code == 1
    assert out == [
        "teams/billing/application.yml:1: rate: 'high' is not of type 'number' "
        "(schemas/billing.schema.json) [billing: default, prod]"
    ]


def test_github_format_prints_escaped_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format github prints ::error file=F,line=L::message with GitHub's escaping."""
    files = {**GOOD, "orders-dev.yml": "pool-size: 'a,b: 100%'\n"}
    code, out, _ = validate(capsys, str(tree(tmp_path, files)), "--format", "github")
    assert code == 1
    assert out == [
        "::error file=orders-dev.yml,line=1::pool-size: 'a,b: 100%25' is not of type 'integer' "
        "(schemas/orders.schema.json) [orders: dev]"
    ]


def test_ref_reads_the_revision_not_the_working_copy(
    git_remote: GitRemote, capsys: pytest.CaptureFixture[str]
) -> None:
    """--ref checks the committed tree; a broken uncommitted edit does not count, and vice versa."""
    git_remote.write(GOOD)
    git_remote.write({"orders.yml": "server: [\n"}, message="broken")
    git(git_remote.work, "tag", "broken")
    (git_remote.work / "orders.yml").write_text(GOOD["orders.yml"], encoding="utf-8")  # fixed, uncommitted
    work = str(git_remote.work)
    assert validate(capsys, work)[0] == 0
    code, out, _ = validate(capsys, work, "--ref", "broken")
    assert code == 1 and out[0].startswith("orders.yml:2: ")
    assert validate(capsys, work, "--ref", "HEAD~1")[0] == 0
    assert validate(capsys, git_remote.path, "--ref", "main")[0] == 1  # the bare remote: main is broken
    assert validate(capsys, git_remote.path, "--ref", "main~1")[0] == 0
    code, _, err = validate(capsys, work, "--ref", "nosuch")
    assert code == 2 and "No such revision" in err


def test_repo_uri_clones_the_remote(git_remote: GitRemote, capsys: pytest.CaptureFixture[str]) -> None:
    """--repo URI reads the remote's default label (or --ref) from a temporary clone."""
    git_remote.write({**GOOD, "orders-dev.yml": "pool-size: 0\n"})
    code, out, _ = validate(capsys, "--repo", git_remote.uri)
    assert code == 1
    assert out == [
        "orders-dev.yml:1: pool-size: 0 is less than the minimum of 1 "
        "(schemas/orders.schema.json) [orders: dev]"
    ]


def test_repo_follows_the_try_master_branch_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A remote with only master validates master as the server would serve it, and with
    --git-try-master-branch false it has no default label, as for the server (exit 2)."""
    remote = GitRemote(tmp_path / "remote", branch="master")
    remote.write(GOOD)
    assert validate(capsys, "--repo", remote.uri)[0] == 0
    code, _, err = validate(capsys, "--repo", remote.uri, "--git-try-master-branch", "false")
    assert code == 2 and "main" in err


def test_hostile_file_names_are_problems_and_cannot_forge_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name no request can reach is a problem; control characters are escaped in both formats."""
    files = {**GOOD, "-rf.yml": "a: 1\n", "a#b.yml": "a: 1\n", "evil\nx.yml": "a: [\n"}
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out == [
        "-rf.yml: no request can reach this file: Invalid application name: -rf",
        "a#b.yml: no request can reach this file: Invalid application name: a#b",
        "evil\\nx.yml: no request can reach this file: Invalid application name: evil\\nx",
        "evil\\nx.yml:2: while parsing a flow node, did not find expected node content",
    ]
    code, out, _ = validate(capsys, str(tmp_path), "--format", "github")
    assert code == 1
    assert out[2:] == [
        "::error file=evil%0Ax.yml::no request can reach this file: Invalid application name: evil\\nx",
        "::error file=evil%0Ax.yml,line=2::while parsing a flow node, did not find expected node content",
    ]


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PATH with --repo, --ref outside a repository, a hostile --application: exit 2, one line."""
    tree(tmp_path, GOOD)
    assert validate(capsys, str(tmp_path), "--repo", "file:///x")[0] == 2
    assert validate(capsys, str(tmp_path), "--ref", "main")[0] == 2
    code, _, err = validate(capsys, str(tmp_path), "--application", "../etc")
    assert code == 2 and err.startswith("config-server: Invalid application name")


def test_a_tree_without_configuration_files_is_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PATH where no configuration file is found (a wrong directory in CI) exits 2, saying so."""
    tree(tmp_path, {"README.md": "not configuration\n"})
    code, out, err = validate(capsys, str(tmp_path))
    assert code == 2 and out == []
    assert err.startswith(f"config-server: no configuration file found in {tmp_path}")


def test_imported_files_are_checked_and_bad_imports_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate follows spring.config.import as the server does: a broken imported file outside
    the search locations, a missing non-optional import and a traversing one, each at file:line."""
    files = {
        **GOOD,
        "orders.yml": "server:\n  port: 8080\nspring.config.import:\n  - shared/db.yml\n  - gone.yml\n"
        "  - optional:also-gone.yml\n",
        "shared/db.yml": "a: 1\nb: 2\na: 3\n",
        "payments.properties": "currency=EUR\nspring.config.import=../outside.yml\n",
    }
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert out == [
        "orders.yml:5: spring.config.import 'gone.yml': there is no file gone.yml "
        "(the server skips it; mark it 'optional:' if that is meant)",
        "payments.properties:2: spring.config.import '../outside.yml' is outside the repository; "
        "only paths relative to the importing file are served",
        "shared/db.yml:3: duplicate key 'a'",
    ], out


def test_an_imported_value_is_schema_checked_where_it_was_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An environment's imported files take part in its schema check, at the imported file's line."""
    files = {**GOOD, "orders.yml": "server:\n  port: 8080\nspring.config.import: shared/pool.yml\n"}
    files["shared/pool.yml"] = "pool-size: 0\n"
    code, out, _ = validate(capsys, str(tree(tmp_path, files)))
    assert code == 1
    assert len(out) == 1 and out[0].startswith("shared/pool.yml:1: "), out
