"""How a git process reaches one remote: a URI plus a ``RemoteAccess`` turned into an environment.

Everything reaches git through the environment of its own child process, never its argument list
(readable by every local user in ``/proc/*/cmdline``) and never a file under the clone:

* credentials through ``GIT_ASKPASS`` (and ``SSH_ASKPASS`` for a key's passphrase): a fixed shell
  script holding no secret, written 0700 into a private 0700 directory, that prints the answer
  from an environment variable set only for the git process (``credentials``);
* TLS and proxy settings as ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``
  (the proxy, whose URL may hold a password, only with the credentials);
* SSH options as ``GIT_SSH_COMMAND`` (paths shell-quoted);
* the transports git may use as ``GIT_ALLOW_PROTOCOL`` (``allowed_protocols``): the configured
  URI's own only, so neither a hostile remote (redirects, alternates) nor a user's or the
  system's ``protocol.*.allow`` can make git run a command (``ext::``), talk over the server's
  file descriptors (``fd::``) or read local repositories (``file``) for a remote repository.

``explain`` turns git's, curl's and OpenSSH's stderr into the words a user can act on
("authentication failed", "host key unknown", "certificate not trusted", "timed out after 10s",
"repository not found", "cannot connect"), without any secret.
"""

from __future__ import annotations

import math
import re
import shlex
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from config_server.errors import InvalidConfiguration, Unavailable
from config_server.secret import Secret
from config_server.sources.git.refs import local_path, one_line, redact
from config_server.sources.git.remote import RemoteAccess

__all__ = ["Transport", "allowed_protocols", "explain", "split_userinfo", "ssh_command"]

_USERNAME_VAR = "CONFIG_SERVER_GIT_USERNAME"
_PASSWORD_VAR = "CONFIG_SERVER_GIT_PASSWORD"
_PASSPHRASE_VAR = "CONFIG_SERVER_GIT_SSH_PASSPHRASE"

# Answers git's "Username for ..."/"Password for ..." and ssh's "Enter passphrase for key ..."
# prompts; anything else (a host-key confirmation) gets no answer, so it fails.
_ASKPASS = f"""#!/bin/sh
# config-server: answers git's and ssh's prompts from variables set for that one git process.
case "$1" in
  Username*) printf '%s\\n' "${_USERNAME_VAR}" ;;
  Password*) printf '%s\\n' "${_PASSWORD_VAR}" ;;
  *passphrase*) printf '%s\\n' "${_PASSPHRASE_VAR}" ;;
  *) exit 1 ;;
esac
"""

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)
_MIN_SCRUBBED = 3  # shorter "secrets" would blank out ordinary words of a message
# A URL's scheme -> what GIT_ALLOW_PROTOCOL allows for it (http may be redirected to https).
_PROTOCOLS = {
    "https": "https",
    "http": "http:https",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git": "git",
}


def allowed_protocols(url: str) -> str | None:
    """The ``GIT_ALLOW_PROTOCOL`` value for a remote at ``url``: its own transport only.

    ``file`` for a local path or ``file:`` URL, ``ssh`` for scp-like ``host:path``; None for a
    transport the server never uses (``ext::``, ``fd::``, any ``helper::address``, ``ftp``...).
    """
    if local_path(url) is not None:
        return "file"
    if "://" in url:
        return _PROTOCOLS.get(url.partition("://")[0].lower())
    head = url.split("/", 1)[0]
    if ":" in head and "::" not in head:
        return "ssh"
    return None


def split_userinfo(uri: str) -> tuple[str, str | None, str | None]:
    """``(uri without credentials, user, password)`` for a ``scheme://user:password@host/...`` URI.

    For HTTP(S) the whole user-info goes (git asks for it through askpass); for other schemes
    (``ssh://git@host``) the user stays in the URI, since it names the account, and only a
    password is dropped. scp-like ``git@host:path`` and paths are returned unchanged.
    """
    match = _URL.fullmatch(uri.strip())
    if match is None:
        return uri, None, None
    userinfo, at, host = match["authority"].rpartition("@")
    if not at:
        return uri, None, None
    user_part, colon, password_part = userinfo.partition(":")
    user = unquote(user_part) or None
    password = unquote(password_part) if colon else None
    scheme = match["scheme"]
    if scheme.lower() in ("http", "https"):
        return f"{scheme}://{host}{match['rest']}", user, password
    kept = f"{user_part}@" if user_part else ""
    return f"{scheme}://{kept}{host}{match['rest']}", user, password


def ssh_command(access: RemoteAccess, *, askpass: bool) -> str:
    """The ``GIT_SSH_COMMAND`` for ``access`` (a shell command line; every path quoted).

    Without ``use_ssh_config`` ssh reads no configuration file (``-F /dev/null``). With
    ``askpass`` (a key passphrase), ssh may prompt, but only through ``SSH_ASKPASS``; password
    and keyboard-interactive logins stay off, so nothing else can ever be asked.
    """
    q = shlex.quote
    seconds = max(1, math.ceil(access.timeout))
    args = ["ssh"]
    if not access.use_ssh_config:
        args += ["-F", "/dev/null"]
    if access.ssh_key is not None:
        args += ["-i", q(str(access.ssh_key)), "-o", "IdentitiesOnly=yes"]
    if access.known_hosts is not None:
        args += ["-o", q(f"UserKnownHostsFile={access.known_hosts}"), "-o", "GlobalKnownHostsFile=/dev/null"]
    elif not access.strict_host_key_checking:
        args += ["-o", "UserKnownHostsFile=/dev/null"]  # never write to the user's own file
    args += ["-o", f"StrictHostKeyChecking={'yes' if access.strict_host_key_checking else 'no'}"]
    if askpass:
        args += ["-o", "BatchMode=no", "-o", "PasswordAuthentication=no"]
        args += ["-o", "KbdInteractiveAuthentication=no"]
    else:
        args += ["-o", "BatchMode=yes"]
    # ConnectTimeout also bounds the banner exchange; keep-alives end a session that went silent.
    args += ["-o", f"ConnectTimeout={seconds}", "-o", f"ServerAliveInterval={seconds}"]
    args += ["-o", "ServerAliveCountMax=1"]
    return " ".join(args)


class Transport:
    """What git needs to reach one remote: its credential-free URL and the child's environment.

    Owns a private temporary directory (the askpass script), made on first use and removed by
    ``close``. ``environment`` holds no secret and may be given to every git command of the
    clone; ``credentials`` holds them and goes only to commands that talk to the remote. Not
    thread-safe (one per repository, used by its fetch thread).
    """

    def __init__(self, uri: str, access: RemoteAccess) -> None:
        url, user, password = split_userinfo(uri)
        if user is not None and access.username is None:
            access = replace(access, username=user)
        if password is not None and access.password is None and access.password_file is None:
            access = replace(access, password=Secret(password))
        self.access = access
        self.url = url
        """The URI as stored in git's config: no password, and for HTTP(S) no user either."""
        self._scheme = url.partition("://")[0].lower() if "://" in url else ""
        self._secrets = [s for s in (password, _proxy_password(access.proxy)) if s]
        self._dir: Path | None = None

    def check(self) -> None:
        """Raise ``InvalidConfiguration`` naming the first file of the access that is not readable
        (key, known_hosts, CA bundle, password file): a start-up fails on it, not a fetch."""
        if allowed_protocols(self.url) is None:
            raise InvalidConfiguration(
                self.url,
                "git transport not allowed: use an https, http, ssh or git URL, user@host:path, "
                "or a local path (never ext::, fd:: or another remote helper)",
            )
        a = self.access
        for path, what in (
            (a.ssh_key, "git SSH key"),
            (a.known_hosts, "git known_hosts file"),
            (a.ca_file, "git CA file"),
            (a.password_file, "git password file"),
        ):
            if path is None:
                continue
            try:
                with path.open("rb"):
                    pass
            except OSError as exc:
                raise InvalidConfiguration(
                    str(path), f"cannot read the {what}: {exc.strerror or exc}"
                ) from None

    @property
    def tls_unverified(self) -> bool:
        """Whether HTTPS certificates go unchecked (``skip_ssl_validation``): callers log it loudly."""
        return self.access.skip_ssl_validation and self._scheme in ("https", "")

    def environment(self) -> dict[str, str]:
        """Variables for every git process of this clone (no secret among them)."""
        access = self.access
        # Nothing (not even "file") when the URI is refused: ``check`` says why before git runs.
        env: dict[str, str] = {"GIT_ALLOW_PROTOCOL": allowed_protocols(self.url) or "none"}
        if access.ca_file is not None:
            env["GIT_SSL_CAINFO"] = str(access.ca_file)  # the variable would beat the config key
        if access.skip_ssl_validation:
            env["GIT_SSL_NO_VERIFY"] = "1"
        env.update(_config_env(self._config()))
        passphrase = access.ssh_passphrase is not None
        env["GIT_SSH_COMMAND"] = ssh_command(access, askpass=passphrase)
        env["GIT_SSH_VARIANT"] = "ssh"
        if self._has_login() or passphrase:
            script = str(self._askpass())
            env["GIT_ASKPASS"] = script
            if passphrase:
                env.update(SSH_ASKPASS=script, SSH_ASKPASS_REQUIRE="force")  # no DISPLAY needed
        return env

    def credentials(self) -> dict[str, str]:
        """The secret variables the askpass script reads; the password file is read now.

        Raises ``Unavailable`` if the password file cannot be read or is empty.
        """
        access = self.access
        env: dict[str, str] = {}
        if access.proxy is not None:  # environment()'s GIT_CONFIG_* entries and one more
            env.update(_config_env([*self._config(), ("http.proxy", access.proxy)]))
        if access.username is not None:
            env[_USERNAME_VAR] = access.username
        password = self._password()
        if password is not None:
            env[_PASSWORD_VAR] = password
        if access.ssh_passphrase is not None:
            env[_PASSPHRASE_VAR] = access.ssh_passphrase.reveal()
        return env

    def explain(self, stderr: str) -> str:
        """git's stderr as one line starting with what failed (see ``explain``), without secrets."""
        return self.scrub(explain(stderr, timeout=self.access.timeout))

    def scrub(self, text: str) -> str:
        """``text`` without URL user-info and without any secret this transport knows."""
        text = redact(text)
        for secret in self._known_secrets():
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Remove the askpass directory (made again if the transport is used afterwards)."""
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------------

    def _config(self) -> list[tuple[str, str]]:
        """git config entries for every git process (no secret among them)."""
        access = self.access
        config: list[tuple[str, str]] = [("credential.helper", "")]  # no helper may store the token
        if access.ca_file is not None:
            config.append(("http.sslCAInfo", str(access.ca_file)))
        if access.skip_ssl_validation:
            config.append(("http.sslVerify", "false"))
        # A remote that stops sending is dropped by curl itself, before the kill.
        config += [("http.lowSpeedLimit", "1"), ("http.lowSpeedTime", str(max(1, math.ceil(access.timeout))))]
        return config

    def _has_login(self) -> bool:
        a = self.access
        return a.username is not None or a.password is not None or a.password_file is not None

    def _password(self) -> str | None:
        path = self.access.password_file
        if path is None:
            return self.access.password.reveal() if self.access.password is not None else None
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise Unavailable(f"cannot read the git password file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise Unavailable(f"the git password file {path} is not UTF-8 text") from None
        if not value:
            raise Unavailable(f"the git password file {path} is empty")
        if len(value) >= _MIN_SCRUBBED and value not in self._secrets:
            self._secrets.append(value)  # a rotated token is scrubbed from messages too
        return value

    def _known_secrets(self) -> list[str]:
        found = list(self._secrets)
        for secret in (self.access.password, self.access.ssh_passphrase):
            if secret is not None:
                found.append(secret.reveal())
        return sorted({s for s in found if len(s) >= _MIN_SCRUBBED}, key=len, reverse=True)

    def _askpass(self) -> Path:
        if self._dir is None or not self._dir.is_dir():
            self._dir = Path(tempfile.mkdtemp(prefix="config-server-git-"))  # 0700
        script = self._dir / "askpass"
        if not script.is_file():
            script.write_text(_ASKPASS, encoding="utf-8")
            script.chmod(0o700)
        return script


def _config_env(config: list[tuple[str, str]]) -> dict[str, str]:
    """``GIT_CONFIG_COUNT`` and ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` for ``config``."""
    env = {"GIT_CONFIG_COUNT": str(len(config))}
    for n, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
    return env


def _proxy_password(proxy: str | None) -> str | None:
    if proxy is None:
        return None
    return split_userinfo(proxy)[2]


# (words, patterns): the first entry with a pattern found in git's stderr names the failure.
_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("timed out", ("timeout: the command", "operation too slow", "timed out")),
    ("host key changed", ("remote host identification has changed", "has changed and you have requested")),
    (
        "host key unknown (not in known_hosts; add it with ssh-keyscan)",
        ("host key is known for", "host key verification failed"),
    ),
    (
        "certificate not trusted",
        ("certificate verification failed", "ssl certificate problem", "certificate verify"),
    ),
    (
        "authentication failed",
        (
            "authentication failed",
            "permission denied",
            "could not read username",
            "could not read password",
            "incorrect passphrase",
            "http 401",
            "http 403",
        ),
    ),
    ("repository not found", ("not found", "does not appear to be a git repository", "does not exist")),
    (
        "cannot connect",
        (
            "could not resolve",
            "connection refused",
            "failed to connect",
            "couldn't connect",
            "no route to host",
            "network is unreachable",
            "connection reset",
            "connection closed",
        ),
    ),
)


def explain(stderr: str, *, timeout: float) -> str:
    """One line: what failed in a user's words, then the line of stderr that shows it.

    ``"authentication failed: root@127.0.0.1: Permission denied (publickey)."``; a timeout is
    ``"timed out after 10s"``. Unknown failures keep git's own most telling line. User-info of
    URLs is removed; secrets are the caller's to scrub (``Transport.explain``).
    """
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    lowered = [ln.lower() for ln in lines]
    for words, patterns in _REASONS:
        for line, low in zip(lines, lowered, strict=True):
            if any(p in low for p in patterns):
                if words == "timed out":
                    return f"timed out after {timeout:g}s"
                return f"{words}: {one_line(line)}"
    return one_line(stderr)
