"""Start-up refuses settings that would serve openly or half-secured, and files that cannot be used.

Each case runs the real ``config-server serve`` entry point (``cli.main``) in this process: a
refusal is exit status 2 with one line on stderr naming the option or the file and why, never a
traceback. Secret options also come from files (``--X-file``, ``CONFIG_SERVER_X_FILE``).
"""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from config_server.cli import main
from config_server.settings import OPTIONS, SettingsError, load_settings
from tests.support.gitrepo import GitRemote

SECRETS = [o for o in OPTIONS if o.secret and o.file_form]  # --git-password-file is a path of its own


def start(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run ``config-server serve ARGV`` to its (failed) end: the exit status and stderr."""
    try:
        code = main(["serve", *argv])
    except SystemExit as exc:  # argparse-level refusals exit from the parser
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    return code, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one stderr line of a start-up refused with exit status 2."""
    code, err = start(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("config-server:")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_public_address_without_authentication_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--host 0.0.0.0 with no authentication method stops with a line naming --allow-anonymous."""
    line = refused(capsys, "--repo", "/nonexistent", "--host", "0.0.0.0")
    assert "--allow-anonymous" in line and "0.0.0.0" in line


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "config.example.com"])
def test_allow_anonymous_accepts_a_public_address(host: str) -> None:
    """With --allow-anonymous the same settings load (the server warns when it starts)."""
    settings = load_settings({"repo": "r", "host": host, "allow_anonymous": "true"}, environ={})
    assert settings.allow_anonymous


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.8.9.10"])
def test_loopback_needs_no_authentication(host: str) -> None:
    """Loopback addresses are served without authentication (only this machine can connect)."""
    load_settings({"repo": "r", "host": host}, environ={})


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--audit-log", "audit.log"], "--audit-log needs --audit-key"),
        (["--access-policy", "policy.yml"], "--access-policy needs an authentication method"),
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "key.pem"], "--tls-cert and --tls-key go together"),
    ],
)
def test_half_secured_settings_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    """An audit log without key, a policy without authentication, a certificate without key: exit 2."""
    assert says in refused(capsys, "--repo", "/nonexistent", *argv)


@pytest.fixture
def repo(tmp_path: Path) -> GitRemote:
    remote = GitRemote(tmp_path / "git")
    remote.write({"application.yml": "a: 1\n"})
    return remote


def good_users(tmp_path: Path) -> Path:
    path = tmp_path / "users.htpasswd"
    path.write_text(f"ada:{bcrypt.hashpw(b'pw', bcrypt.gensalt(4)).decode()}\n", encoding="utf-8")
    return path


def serve_args(repo: GitRemote, tmp_path: Path, *extra: str) -> list[str]:
    return ["--repo", repo.uri, "--basedir", str(tmp_path / "clone"), "--port", "0", *extra]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the users file"),  # a directory where the file should be
        ("ada:$apr1$salt$Oy8iS2pu6ch3nY5qp5E1b.\n", "MD5"),
        ("just a line\n", "not a user:hash line"),
    ],
    ids=["unreadable", "md5", "garbage"],
)
def test_an_unusable_users_file_stops_the_start(
    capsys: pytest.CaptureFixture[str], repo: GitRemote, tmp_path: Path, content: str | None, says: str
) -> None:
    """A users file that cannot be read or holds a refused line stops the server, naming file and reason."""
    path = tmp_path / "users.htpasswd"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content, encoding="utf-8")
    line = refused(capsys, *serve_args(repo, tmp_path, "--auth-users", str(path)))
    assert str(path) in line and says in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the policy"),
        ("rules:\n  - {principals: ['user:ada'], actions: [raed]}\n", "unknown action 'raed'"),
        ("rules: [\n", "not valid YAML"),
    ],
    ids=["unreadable", "unknown-action", "yaml"],
)
def test_an_unusable_policy_stops_the_start(
    capsys: pytest.CaptureFixture[str], repo: GitRemote, tmp_path: Path, content: str | None, says: str
) -> None:
    """A policy that cannot be read or parsed stops the server, naming the file and the problem."""
    path = tmp_path / "policy.yml"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content, encoding="utf-8")
    argv = serve_args(repo, tmp_path, "--auth-users", str(good_users(tmp_path)), "--access-policy", str(path))
    line = refused(capsys, *argv)
    assert str(path) in line and says in line


@pytest.mark.parametrize("broken", ["cert", "key", "missing"])
def test_unusable_tls_files_stop_the_start(
    capsys: pytest.CaptureFixture[str], repo: GitRemote, tmp_path: Path, broken: str
) -> None:
    """A garbage PEM certificate or key, or a missing one, stops the server naming the file."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    bad = cert_path if broken == "cert" else key_path
    if broken == "missing":
        bad.unlink()
    else:
        bad.write_text("-----BEGIN GARBAGE-----\nnot pem\n-----END GARBAGE-----\n")
    line = refused(
        capsys, *serve_args(repo, tmp_path, "--tls-cert", str(cert_path), "--tls-key", str(key_path))
    )
    assert "cert.pem" in line or "key.pem" in line, line


@pytest.mark.parametrize("opt", SECRETS, ids=lambda o: o.name)
def test_a_secret_option_comes_from_its_file_flag(tmp_path: Path, opt: object) -> None:
    """--X-file FILE gives the option its first line (without the newline)."""
    name = opt.name  # type: ignore[attr-defined]
    path = tmp_path / "secret"
    path.write_text(f"value-of-{name}\n", encoding="utf-8")
    settings = load_settings({"repo": "r", f"{name}_file": str(path)}, environ={})
    assert getattr(settings, name).reveal() == f"value-of-{name}"


@pytest.mark.parametrize("opt", SECRETS, ids=lambda o: o.name)
def test_a_secret_option_comes_from_its_file_variable(tmp_path: Path, opt: object) -> None:
    """CONFIG_SERVER_X_FILE=FILE gives the option its first line."""
    name, env = opt.name, opt.env  # type: ignore[attr-defined]
    path = tmp_path / "secret"
    path.write_text(f"from-env-{name}", encoding="utf-8")
    settings = load_settings({"repo": "r"}, environ={env + "_FILE": str(path)})
    assert getattr(settings, name).reveal() == f"from-env-{name}"


@pytest.mark.parametrize("state", ["empty", "missing"])
def test_an_empty_or_missing_secret_file_is_a_clear_error(tmp_path: Path, state: str) -> None:
    """An empty or absent --audit-key-file is refused naming the flag and the file, not served keyless."""
    path = tmp_path / "audit.key"
    if state == "empty":
        path.write_text("\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({"repo": "r", "audit_key_file": str(path)}, environ={})
    message = str(caught.value)
    assert "--audit-key-file" in message and str(path) in message
    assert ("is empty" if state == "empty" else "cannot read") in message


def test_an_empty_secret_file_given_by_variable_names_the_variable(tmp_path: Path) -> None:
    """CONFIG_SERVER_ENCRYPT_KEY_FILE naming an empty file is refused naming the variable."""
    path = tmp_path / "k"
    path.write_text("")
    with pytest.raises(SettingsError, match="CONFIG_SERVER_ENCRYPT_KEY_FILE"):
        load_settings({"repo": "r"}, environ={"CONFIG_SERVER_ENCRYPT_KEY_FILE": str(path)})


def test_a_flag_beats_the_file_form(tmp_path: Path) -> None:
    """--monitor-secret given directly wins over CONFIG_SERVER_MONITOR_SECRET_FILE."""
    path = tmp_path / "s"
    path.write_text("from-file")
    settings = load_settings(
        {"repo": "r", "monitor_secret": "from-flag"}, environ={"CONFIG_SERVER_MONITOR_SECRET_FILE": str(path)}
    )
    assert settings.monitor_secret is not None and settings.monitor_secret.reveal() == "from-flag"


def test_a_server_started_with_allow_anonymous_warns(repo: GitRemote, tmp_path: Path) -> None:
    """--allow-anonymous starts the server and logs that it serves without authentication.

    (On 127.0.0.1: the tests listen on loopback only; the flag, not the address, picks the warning.)
    """
    from tests.support.server_process import server_process

    with server_process(serve_args(repo, tmp_path, "--host", "127.0.0.1", "--allow-anonymous")) as server:
        server.wait_for("serving WITHOUT authentication")
    assert "WARNING" in server.output and "(--allow-anonymous)" in server.output
