"""The pure half of the transport: credential-free URLs, the ssh command line, error words."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from config_server.secret import Secret
from config_server.sources.git.refs import display_uri, local_path
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.transport import Transport, explain, split_userinfo, ssh_command


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://svc:t%40k@git.example.com/org/r.git", ("https://git.example.com/org/r.git", "svc", "t@k")),
        ("https://tok@git.example.com:8443/r", ("https://git.example.com:8443/r", "tok", None)),
        ("https://git.example.com/r", ("https://git.example.com/r", None, None)),
        ("ssh://git:pw@host:2222/org/r.git", ("ssh://git@host:2222/org/r.git", "git", "pw")),
        ("ssh://git@host/org/r.git", ("ssh://git@host/org/r.git", "git", None)),
        ("git@github.com:org/repo.git", ("git@github.com:org/repo.git", None, None)),
        ("/srv/repo.git", ("/srv/repo.git", None, None)),
    ],
)
def test_userinfo_is_split_off_https_urls(uri: str, expected: tuple[str, str | None, str | None]) -> None:
    """HTTP(S) user-info is taken out whole; ssh keeps its user; scp-like and paths are untouched."""
    assert split_userinfo(uri) == expected


def test_scp_like_uris_are_remote_not_paths() -> None:
    """git@host:org/repo.git is ssh: no local path, shown as written, stored as written."""
    uri = "git@github.com:org/repo.git"
    assert local_path(uri) is None
    assert display_uri(uri) == uri
    assert Transport(uri, RemoteAccess()).url == uri


def test_the_transport_takes_credentials_from_the_uri_unless_set() -> None:
    """A URI's user and token are used when the access sets none; explicit ones win."""
    t = Transport("https://u:tok-123@h/r", RemoteAccess())
    assert t.url == "https://h/r" and t.credentials() == {
        "CONFIG_SERVER_GIT_USERNAME": "u",
        "CONFIG_SERVER_GIT_PASSWORD": "tok-123",
    }
    t = Transport("https://u:tok-123@h/r", RemoteAccess(username="me", password=Secret("mine")))
    assert t.credentials()["CONFIG_SERVER_GIT_USERNAME"] == "me"
    assert t.credentials()["CONFIG_SERVER_GIT_PASSWORD"] == "mine"


def test_the_environment_holds_no_secret_and_the_askpass_script_neither() -> None:
    """environment() (given to every git process) and the askpass script hold no secret."""
    t = Transport(
        "https://u:tok-123@h/r",
        RemoteAccess(ssh_passphrase=Secret("pp-456"), proxy="http://pu:px-789@proxy:3128"),
    )
    try:
        env = t.environment()
        script = Path(env["GIT_ASKPASS"])
        assert script.stat().st_mode & 0o777 == 0o700 and script.parent.stat().st_mode & 0o777 == 0o700
        text = " ".join(env.values()) + script.read_text()
        assert "tok-123" not in text and "pp-456" not in text
        assert env["SSH_ASKPASS"] == str(script) and env["SSH_ASKPASS_REQUIRE"] == "force"
    finally:
        t.close()
    assert not script.parent.exists()  # close() removed it


def test_messages_are_scrubbed_of_every_secret_known() -> None:
    """scrub() removes URL user-info, the token, the passphrase and the proxy password."""
    t = Transport(
        "https://u:tok-123@h/r", RemoteAccess(ssh_passphrase=Secret("pp-456"), proxy="http://pu:px-789@p")
    )
    scrubbed = t.scrub("https://u:tok-123@h/r tok-123 pp-456 px-789")
    assert scrubbed == "https://h/r *** *** ***"


def test_the_ssh_command_is_strict_batch_and_quoted() -> None:
    """Default ssh: no config file, only the given key, strict host keys, batch mode, quoted paths."""
    access = RemoteAccess(ssh_key=Path("/keys/my key"), known_hosts=Path("/k h/known_hosts"), timeout=7.2)
    argv = shlex.split(ssh_command(access, askpass=False))
    assert argv[:3] == ["ssh", "-F", "/dev/null"]
    assert argv[argv.index("-i") + 1] == "/keys/my key"
    options = [argv[i + 1] for i, a in enumerate(argv) if a == "-o"]
    assert "UserKnownHostsFile=/k h/known_hosts" in options and "GlobalKnownHostsFile=/dev/null" in options
    assert {"IdentitiesOnly=yes", "StrictHostKeyChecking=yes", "BatchMode=yes", "ConnectTimeout=8"} <= set(
        options
    )


def test_the_ssh_command_honours_the_users_config_only_when_asked() -> None:
    """use_ssh_config drops ``-F /dev/null`` (ssh then reads ~/.ssh/config of the account)."""
    assert "-F /dev/null" in ssh_command(RemoteAccess(), askpass=False)
    assert "-F" not in shlex.split(ssh_command(RemoteAccess(use_ssh_config=True), askpass=False))


def test_a_passphrase_lets_ssh_prompt_only_through_askpass() -> None:
    """With a passphrase, batch mode is off but password and keyboard-interactive logins are too."""
    options = shlex.split(ssh_command(RemoteAccess(), askpass=True))
    assert "BatchMode=no" in options and "PasswordAuthentication=no" in options
    assert "KbdInteractiveAuthentication=no" in options


@pytest.mark.parametrize(
    ("stderr", "words"),
    [
        ("fatal: Authentication failed for 'https://h/r/'", "authentication failed"),
        ("fatal: could not read Username for 'https://h': terminal prompts disabled", "authentication"),
        ("git@h: Permission denied (publickey).\nfatal: Could not read from remote", "authentication"),
        ("No ED25519 host key is known for [h]:22 and...\nHost key verification failed.", "host key unk"),
        ("@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key verification failed.", "host key ch"),
        ("fatal: unable to access 'https://h/': server certificate verification failed.", "certificate not"),
        ("fatal: unable to access 'https://h/': SSL certificate problem: unable to get", "certificate not"),
        ("fatal: repository 'https://h/r/' not found", "repository not found"),
        ("fatal: '/r.git' does not appear to be a git repository", "repository not found"),
        ("ssh: connect to host h port 1: Connection refused", "cannot connect"),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", "cannot connect"),
        ('Timeout: the command "git fetch" did not complete in 3 secs.', "timed out after 3s"),
        ("ssh: connect to host h port 22: Connection timed out during banner exchange", "timed out after 3s"),
        ("fatal: unable to access 'https://h/': Operation too slow. Less than 1", "timed out after 3s"),
    ],
)  # fmt: skip
def test_failures_are_named_in_a_users_words(stderr: str, words: str) -> None:
    """git's, curl's and OpenSSH's messages start with what failed, in words a user can act on."""
    assert explain(stderr, timeout=3).startswith(words)


def test_an_unknown_failure_keeps_gits_own_line() -> None:
    """A failure with no known words is git's fatal line, redacted."""
    assert (
        explain("noise\nfatal: something odd at https://u:p@h/r", timeout=1)
        == "fatal: something odd at https://h/r"
    )
