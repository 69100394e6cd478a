"""The server's own settings: command-line flags, environment variables and an optional YAML file.

Precedence: flag beats environment variable beats ``--config`` file beats default. Every option is
declared once, as a field of ``Settings`` (type, default, help, converter), and ``OPTIONS``, the
``argparse`` parser, the environment reader and the file reader are all derived from it.
Secret options are held as ``Secret`` so the settings repr, logs and ``--help`` never show them.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from config_server import spring_names
from config_server.cluster.peers import PeerSpec, parse_peers
from config_server.healthchecks import HealthEnvironment
from config_server.secret import Secret
from config_server.sources.git.refs import redact
from config_server.sources.git.repos import CompositeEntry, RepoSpec

__all__ = [
    "OPTIONS",
    "Option",
    "Settings",
    "SettingsError",
    "add_arguments",
    "authenticates",
    "check_security",
    "is_loopback",
    "load_settings",
    "secret_flags",
]

ENV_PREFIX = "CONFIG_SERVER_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the option."""


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _list(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(f"must be a port number from 0 to 65535 (0: any free port), not {port}")
    return port


def _at_least(minimum: int) -> Callable[[str], int]:
    def conv(value: str) -> int:
        count = int(value)
        if count < minimum:
            raise ValueError(f"must be {minimum} or more, not {count}")
        return count

    return conv


_count = _at_least(0)
_positive_int = _at_least(1)


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"must be more than 0, not {value}")
    return number


def _label(value: str) -> str:
    from config_server.errors import InvalidRequest
    from config_server.sources.git.refs import check_label

    try:
        return check_label(value)
    except InvalidRequest as exc:
        raise ValueError(exc.message) from None


def _choice(*allowed: str) -> Callable[[str], str]:
    def conv(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return conv


@dataclass(frozen=True)
class Option:
    """One setting: its flag, environment variable, converter, default and help text."""

    name: str  # the Settings field, e.g. "search_paths"
    help: str
    convert: Callable[[str], Any] = str
    default: Any = None
    secret: bool = False
    metavar: str | None = None
    file_form: bool = True
    """For a secret: whether ``--X-file`` (and ``X_FILE``) is derived. Off where a separate
    option of that name exists with a meaning of its own (``--git-password-file``)."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_REQUIRED: Any = object()


def _option(
    help: str,
    convert: Callable[[str], Any] = str,
    default: Any = None,
    *,
    secret: bool = False,
    metavar: str | None = None,
    required: bool = False,
    file_form: bool = True,
) -> Any:
    """A ``Settings`` field declared with what its flag, variable and file key need."""
    meta = {"help": help, "convert": convert, "secret": secret, "metavar": metavar, "file_form": file_form}
    if required:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """The server's settings, each declared once here with its help, converter and default.

    The ``argparse`` flags, the ``CONFIG_SERVER_*`` environment variables and the ``--config``
    file keys are all derived from these fields. ``repr`` hides every secret (``Secret`` values,
    and the user-info of URLs: ``--repo https://user:token@host/...``, a proxy's password).
    """

    def __repr__(self) -> str:
        # Every field, but no URL user-info (a token in a URI or a proxy URL); Secrets hide themselves.
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return redact(f"{type(self).__name__}({shown})")

    repo: str = _option(
        "git URL (file://, https://, ssh://) or local path of the configuration repository. Required.",
        metavar="URI",
        required=True,
    )
    search_paths: tuple[str, ...] = _option(
        "comma list of directories to search besides the root; {application}, {profile}, "
        "{label} placeholders and * wildcards",
        _list,
        (),
        metavar="LIST",
    )
    default_label: str = _option(
        "label served when a request has none (falls back to master when main is absent)",
        _label,
        "main",
        metavar="NAME",
    )
    host: str = _option("address to listen on", default="127.0.0.1")
    port: int = _option("port to listen on (0: any free port)", _port, 8888)
    basedir: Path | None = _option(
        "where the server keeps its clone (default: under the user's cache dir)", Path, metavar="DIR"
    )
    refresh_rate: float = _option(
        "seconds between background fetches of the remote (0: never)", float, 5.0, metavar="SECONDS"
    )
    max_staleness: float = _option(
        "readiness is DOWN while a repository's last successful fetch is older than this "
        "(a quiet repository is fetched, so fresh; an unreachable one ages)",
        float,
        600.0,
        metavar="SECONDS",
    )
    git_shallow: bool = _option(
        "fetch branches and tags with depth 1 (very large histories); a commit-id label outside "
        "that history is fetched on demand once, where the host allows it",
        _bool,
        False,
        metavar="BOOL",
    )
    serve_unreachable_commits: bool = _option(
        "keep serving commit ids (and their objects) that a force-push left unreachable from "
        "every branch and tag (default: 404, and the objects are pruned)",
        _bool,
        False,
        metavar="BOOL",
    )
    git_try_master_branch: bool = _option(
        "when the default label is main and the remote has no main, serve master"
        " (Spring's git.try-master-branch)",
        _bool,
        True,
        metavar="BOOL",
    )
    git_continue_on_multiple_label_failure: bool = _option(
        "with comma labels, leave out a label that cannot be read instead of failing the request"
        " (Spring's git.continue-on-multiple-label-failure)",
        _bool,
        False,
        metavar="BOOL",
    )
    git_delete_untracked_branches: bool = _option(
        "forget branches and tags deleted at the remote at the next fetch; false keeps serving the"
        " last fetched copy (Spring's git.delete-untracked-branches, whose default is false)",
        _bool,
        True,
        metavar="BOOL",
    )
    overrides_file: Path | None = _option(
        "YAML or .properties file of properties forced on every client (the 'overrides' source)",
        Path,
        metavar="FILE",
    )
    # --- git remotes (HTTPS and SSH) ---
    git_username: str | None = _option("user name for an HTTPS git remote", metavar="NAME")
    git_password: Secret | None = _option(
        "password or token for an HTTPS git remote (prefer --git-password-file)",
        Secret,
        secret=True,
        metavar="TOKEN",
        file_form=False,  # --git-password-file is its own option: re-read at each fetch
    )
    git_password_file: Path | None = _option(
        "file holding the HTTPS password or token, re-read at each fetch (a rotated token needs no restart)",
        Path,
        metavar="FILE",
    )
    git_ca_file: Path | None = _option(
        "PEM bundle of the CAs trusted for the HTTPS git remote (a company CA)", Path, metavar="FILE"
    )
    git_skip_ssl_validation: bool = _option(
        "do not check the HTTPS git remote's certificate (logged as a warning)", _bool, False, metavar="BOOL"
    )
    git_proxy: str | None = _option("HTTP(S) proxy for the git remote, http://host:port", metavar="URL")
    git_ssh_key: Path | None = _option(
        "private key (OpenSSH or PEM) for an SSH git remote (a deploy key)", Path, metavar="FILE"
    )
    git_ssh_passphrase: Secret | None = _option(
        "passphrase of --git-ssh-key", Secret, secret=True, metavar="PASSPHRASE"
    )
    git_known_hosts: Path | None = _option(
        "known_hosts file trusted for the SSH git remote (e.g. from ssh-keyscan)", Path, metavar="FILE"
    )
    git_strict_host_key_checking: bool = _option(
        "refuse an SSH git remote whose host key is unknown or changed", _bool, True, metavar="BOOL"
    )
    git_use_ssh_config: bool = _option(
        "let ssh read the user's ~/.ssh/config for the git remote (ignored otherwise)",
        _bool,
        False,
        metavar="BOOL",
    )
    git_timeout: float = _option(
        "seconds after which a clone or fetch of the git remote is killed", _positive, 10.0, metavar="SECONDS"
    )
    cache_size: int = _option("how many resolved environments to keep in memory", int, 2048, metavar="N")
    serve_last_good: bool = _option(
        "when a label's head breaks an application's configuration (a file that does not parse, a"
        " {cipher} value that does not decrypt, a schemas/{application}.schema.json violation), serve"
        " that application its last good commit with a"
        " Warning header, and report it in health",
        _bool,
        False,
        metavar="BOOL",
    )
    log_level: str = _option("logging level", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
    log_format: str | None = _option(
        "log lines as json (one object per line, OpenTelemetry field names) or text; default: text"
        " when standard error is a terminal, json otherwise",
        _choice("json", "text"),
        metavar="FORMAT",
    )
    log_exception_messages: bool = _option(
        "write every exception's message to the log and to Sentry; by default a message that may"
        " quote a configuration value (anything but the server's own errors and OS errors) is"
        " withheld, with its length",
        _bool,
        False,
        metavar="BOOL",
    )
    # --- vault (secrets) ---
    vault_url: str | None = _option(
        "Vault (or OpenBao) address, e.g. http://127.0.0.1:8200; enables the Vault source", metavar="URL"
    )
    vault_kv_mount: str = _option("KV secrets engine mount", default="secret", metavar="MOUNT")
    vault_kv_version: int = _option("KV engine version (1 or 2)", int, 2, metavar="N")
    vault_default_key: str = _option(
        "the Vault key shared by every application (Spring's vault.default-key; empty: none)",
        default="application",
        metavar="KEY",
    )
    vault_profile_separator: str = _option(
        "joins application, profile (and label) in Vault keys (Spring's vault.profile-separator)",
        default=",",
        metavar="SEP",
    )
    vault_enable_label: bool = _option(
        "put the profile and the label in every Vault key, app,profile,label (Spring's vault.enable-label)",
        _bool,
        False,
        metavar="BOOL",
    )
    vault_default_label: str = _option(
        "the label in Vault keys when a request names none, with --vault-enable-label"
        " (Spring's vault.default-label)",
        default="main",
        metavar="LABEL",
    )
    vault_path_to_key: str = _option(
        "a folder of the KV v2 mount holding the keys, read as <mount>/data/<folder>/<key>; ignored"
        " for KV v1 (Spring's vault.path-to-key)",
        default="",
        metavar="PATH",
    )
    vault_namespace: str | None = _option("Vault Enterprise namespace", metavar="NS")
    vault_token: Secret | None = _option("the server's own Vault token", Secret, secret=True, metavar="TOKEN")
    vault_role_id: Secret | None = _option(
        "AppRole role id for the server's own Vault login", Secret, secret=True, metavar="ID"
    )
    vault_secret_id: Secret | None = _option("AppRole secret id", Secret, secret=True, metavar="ID")
    vault_order: str = _option(
        "Vault sources before (above) or after (below) git sources", _choice("before", "after"), "before"
    )
    vault_stale_ttl: float = _option(
        "seconds the last good Vault answer may be served (marked stale) while Vault "
        "is unavailable (0: never)",
        float,
        30.0,
        metavar="SECONDS",
    )
    vault_poll: float = _option(
        "seconds between polls of the Vault KV metadata of watched environments; a new "
        "version recomputes and wakes them (0: never)",
        float,
        10.0,
        metavar="SECONDS",
    )
    vault_reference_paths: tuple[str, ...] = _option(
        "comma list of Vault paths (under the mount; * within a segment, ** across) that {vault}:"
        " references in git files may read besides the request's own Vault keys; ** alone is"
        " Spring's behaviour (any path the server's login can read)",
        _list,
        (),
        metavar="LIST",
    )
    # --- {cipher} ---
    encrypt_key: Secret | None = _option(
        "symmetric key for {cipher} values (Spring's encrypt.key)", Secret, secret=True, metavar="KEY"
    )
    encrypt_salt: str = _option("hex salt for the symmetric key", default="deadbeef", metavar="HEX")
    encrypt_keys: Secret | None = _option(
        "more symmetric keys for rotation, comma list of ALIAS=KEY", Secret, secret=True, metavar="LIST"
    )
    encrypt_primary: str | None = _option(
        "alias of the key /encrypt uses (default: the keystore alias, else the symmetric key)",
        metavar="ALIAS",
    )
    encrypt_keystore: Path | None = _option(
        "RSA key: PEM file, PKCS#12 or JKS keystore", Path, metavar="FILE"
    )
    encrypt_keystore_password: Secret | None = _option(
        "keystore password", Secret, secret=True, metavar="PASSWORD"
    )
    encrypt_keystore_type: str | None = _option(
        "keystore type (pem, pkcs12, jks; default: detected)", metavar="TYPE"
    )
    encrypt_key_alias: str | None = _option("alias of the RSA key in the keystore", metavar="ALIAS")
    encrypt_key_secret: Secret | None = _option(
        "password of the RSA key entry (default: the keystore password)",
        Secret,
        secret=True,
        metavar="PASSWORD",
    )
    encrypt_rsa_algorithm: str = _option(
        "RSA padding: DEFAULT (PKCS#1 v1.5) or OAEP", _choice("DEFAULT", "OAEP"), "DEFAULT"
    )
    encrypt_rsa_strong: bool = _option("RSA scheme uses AES-GCM instead of CBC", _bool, False, metavar="BOOL")
    encrypt_rsa_salt: str = _option("salt of the RSA scheme's AES layer", default="deadbeef", metavar="SALT")
    encrypt_enabled: bool = _option(
        "decrypt {cipher} values before serving them (false: serve them as they are, for clients "
        "that decrypt themselves; /encrypt and /decrypt still work)",
        _bool,
        True,
        metavar="BOOL",
    )
    encrypt_prefix_invalid_properties: bool = _option(
        "serve a value that does not decrypt as invalid.KEY: <n/a> (false: under its own key, "
        "its ciphertext without {cipher})",
        _bool,
        True,
        metavar="BOOL",
    )
    encrypt_plain_text: bool = _option(
        "decrypt {cipher} values in .yml, .yaml, .properties and .json plain-text resources",
        _bool,
        False,
        metavar="BOOL",
    )
    # --- live configuration ---
    monitor_secret: Secret | None = _option(
        "secret that /monitor webhooks must be signed with", Secret, secret=True, metavar="SECRET"
    )
    max_watchers: int = _option(
        "most long polls held at once, in all (a further one is answered 429)", _count, 20000, metavar="N"
    )
    max_watchers_per_principal: int = _option(
        "most long polls one principal (or, without authentication, one address) holds at once",
        _count,
        100,
        metavar="N",
    )
    # --- authentication ---
    allow_anonymous: bool = _option(
        "serve without authentication on an address other than loopback (logged as a warning)",
        _bool,
        False,
        metavar="BOOL",
    )
    auth_users: Path | None = _option(
        "htpasswd file of HTTP Basic users (bcrypt or argon2id hashes; re-read when it changes)",
        Path,
        metavar="FILE",
    )
    jwt_jwks_url: str | None = _option(
        "URL of the JSON Web Key Set that verifies bearer JWTs (an OAuth 2.0 issuer's jwks_uri)",
        metavar="URL",
    )
    jwt_public_key: Path | None = _option(
        "PEM public key (or JWKS file) that verifies bearer JWTs, instead of --jwt-jwks-url",
        Path,
        metavar="FILE",
    )
    jwt_issuer: str | None = _option("the iss every bearer JWT must carry", metavar="ISSUER")
    jwt_audience: tuple[str, ...] = _option(
        "comma list: a bearer JWT's aud must name one of these", _list, (), metavar="LIST"
    )
    jwt_algorithms: tuple[str, ...] = _option(
        "comma list of accepted JWT signature algorithms (none and HMAC are refused)",
        _list,
        ("RS256", "ES256", "EdDSA"),
        metavar="LIST",
    )
    jwt_principal_claim: str = _option(
        "claim naming a JWT's principal (jwt:NAME)", default="sub", metavar="CLAIM"
    )
    jwt_roles_claim: str = _option(
        "claim listing a JWT's roles (a dotted path such as realm_access.roles is allowed)",
        default="roles",
        metavar="CLAIM",
    )
    # --- TLS ---
    tls_cert: Path | None = _option(
        "PEM certificate chain: serve HTTPS (re-read when it changes)", Path, metavar="FILE"
    )
    tls_key: Path | None = _option("PEM private key of --tls-cert", Path, metavar="FILE")
    tls_client_ca: Path | None = _option(
        "PEM CA bundle that client certificates must chain to (mutual TLS)", Path, metavar="FILE"
    )
    tls_client_auth: str = _option(
        "with --tls-client-ca: ask for a client certificate (optional) or demand one (required)",
        _choice("optional", "required"),
        "optional",
    )
    # --- authorization and audit ---
    access_policy: Path | None = _option(
        "YAML access policy: who may read, encrypt, decrypt... what (re-read when it changes)",
        Path,
        metavar="FILE",
    )
    audit_log: str | None = _option(
        "file of tamper-evident audit lines (JSON), or - for standard output", metavar="FILE"
    )
    audit_key: Secret | None = _option(
        "key of the audit log's HMAC chain (required with --audit-log)", Secret, secret=True, metavar="KEY"
    )
    # --- connections ---
    header_timeout: float = _option(
        "seconds a client has to send a request's headers, from its first byte (0: no limit)",
        float,
        10.0,
        metavar="SECONDS",
    )
    max_connections_per_address: int = _option(
        "most open connections from one client address (0: no limit; raise it behind a proxy)",
        _count,
        256,
        metavar="N",
    )
    shutdown_timeout: float = _option(
        "on SIGTERM, the most seconds until exit: held long polls are answered 304 at once, "
        "requests in flight get this much less two seconds to finish, then are cancelled",
        _positive,
        20.0,
        metavar="SECONDS",
    )
    # --- replicas ---
    peers: tuple[PeerSpec, ...] = _option(
        "comma list of the other replicas, HOST:PORT or dns:NAME:PORT (every address NAME resolves "
        "to, re-resolved every 10 s: a headless Service); a webhook accepted here is forwarded to "
        "each, signed with --cluster-secret, so every replica fetches at once",
        parse_peers,
        (),
        metavar="LIST",
    )
    cluster_secret: Secret | None = _option(
        "shared secret of the replicas: signs the webhooks they forward each other (required with --peers)",
        Secret,
        secret=True,
        metavar="SECRET",
    )
    workers: int = _option(
        "server processes on this host, sharing --port (SO_REUSEPORT), each with its own watchers "
        "and clone, as peers of each other",
        _positive_int,
        1,
        metavar="N",
    )
    # --- Spring's server-wide switches (spring.cloud.config.server.*, spring.profiles.validate) ---
    accept_empty: bool = _option(
        "answer an application without any property source with 200 and no sources; "
        "false: 404 'Application Not Found' (Spring's accept-empty)",
        _bool,
        True,
        metavar="BOOL",
    )
    health_accept_empty: bool | None = _option(
        "health with --health-repositories: false makes health DOWN when none of the named "
        "environments has a property source (Spring's health.accept-empty; default: as --accept-empty)",
        _bool,
        None,
        metavar="BOOL",
    )
    strip_document_from_yaml: bool = _option(
        "render a YAML file whose top level is not a map (key 'document') as that value in "
        ".yml renderings (Spring's strip-document-from-yaml)",
        _bool,
        True,
        metavar="BOOL",
    )
    reverse_location_order: bool = _option(
        "look for plain-text resources in the last search path (and last backend) first "
        "(Spring's reverse-location-order)",
        _bool,
        False,
        metavar="BOOL",
    )
    validate_profiles: bool = _option(
        "Spring's spring.profiles.validate; only true is supported: profiles name files and "
        "Vault paths, so they are always validated",
        _bool,
        True,
        metavar="BOOL",
    )
    # --- many repositories (only in the --config file: they are structured) ---
    repos: tuple[RepoSpec, ...] = field(default=(), metadata={"file_only": True})
    """Spring's pattern repositories (``repos:``), in declaration order; see ``sources.git.repos``."""
    composite: tuple[CompositeEntry, ...] = field(default=(), metadata={"file_only": True})
    """Spring's composite backends (``composite:``), list order = precedence; empty: git (+ Vault)."""
    health_repositories: tuple[HealthEnvironment, ...] = field(default=(), metadata={"file_only": True})
    """Environments whose failure makes health DOWN (``health-repositories:``); see ``healthchecks``."""

    @property
    def clone_dir(self) -> Path:
        """Where the clone lives: ``basedir`` or a per-repository folder in the user's cache dir."""
        if self.basedir is not None:
            return self.basedir
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        digest = hashlib.sha256(self.repo.encode()).hexdigest()[:16]
        return Path(cache) / "config-server" / digest


OPTIONS: tuple[Option, ...] = tuple(
    Option(
        f.name,
        f.metadata["help"],
        f.metadata["convert"],
        None if f.default is MISSING else f.default,
        f.metadata["secret"],
        f.metadata["metavar"],
        f.metadata["file_form"],
    )
    for f in fields(Settings)
    if not f.metadata.get("file_only")
)
"""Every setting, in declaration order, as the flag/environment/file readers see it."""

_BY_NAME = {o.name: o for o in OPTIONS}
_FILE_ONLY = frozenset(f.name for f in fields(Settings) if f.metadata.get("file_only"))
_SECRET_NAMES = frozenset(o.name for o in OPTIONS if o.secret and o.file_form)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option to ``parser`` (defaults stay ``None`` so precedence can be applied later)."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="YAML file of settings (keys as the flags); also the only place for Spring's "
        "pattern repositories (repos:) and composite backends (composite:), see README",
    )
    for opt in OPTIONS:
        shown = "" if opt.secret or opt.default in (None, ()) else f" (default: {_show(opt.default)})"
        # A yes/no option works as a bare flag too: --allow-anonymous means --allow-anonymous=true.
        flag_style: dict[str, Any] = {"nargs": "?", "const": "true"} if opt.convert is _bool else {}
        parser.add_argument(
            opt.flag,
            dest=opt.name,
            default=None,
            metavar=opt.metavar,
            help=f"{opt.help}{shown} [env {opt.env}]",
            **flag_style,
        )
        if opt.secret and opt.file_form:
            # A flag's value is readable by every local user in /proc/<pid>/cmdline: each secret
            # can come from a file instead (a mounted Kubernetes or Docker secret).
            parser.add_argument(
                opt.flag + "-file",
                dest=opt.name + "_file",
                default=None,
                metavar="FILE",
                help=f"read {opt.flag} from FILE (one line) [env {opt.env}_FILE]",
            )


def secret_flags(args: argparse.Namespace | Mapping[str, Any]) -> list[str]:
    """The secret options given as command-line flags (their values show in ``ps``)."""
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    return [opt.flag for opt in OPTIONS if opt.secret and isinstance(given.get(opt.name), str)]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def load_settings(
    args: argparse.Namespace | Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build ``Settings`` from parsed flags, the environment and the ``--config`` file.

    Raises ``SettingsError`` naming the option that is missing or malformed (never its value when
    the option is secret).
    """
    env = os.environ if environ is None else environ
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    file_values: dict[str, Any] = {}
    file_origins: dict[str, str] = {}
    config_path = given.get("config") or env.get(ENV_PREFIX + "CONFIG")
    if config_path:
        file_values, file_origins = _read_file(Path(config_path))
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw: Any = given.get(opt.name)
        origin = opt.flag
        if raw is None and opt.env in env:
            raw, origin = env[opt.env], opt.env
        if raw is None and opt.name in file_values:
            raw = file_values[opt.name]
            origin = file_origins.get(opt.name, f"{config_path}: {opt.name.replace('_', '-')}")
        if raw is None and opt.secret and opt.file_form:
            raw, origin = _secret_from_file(opt, given, env, file_values)
        if raw is None:
            continue
        values[opt.name] = _convert(opt, raw, origin)
    values.update(_repositories(file_values, values, config_path))
    if not values.get("repo"):
        raise SettingsError(f"--repo is required (or {ENV_PREFIX}REPO, or 'repo' in --config)")
    if values.get("vault_kv_version", 2) not in (1, 2):
        raise SettingsError("--vault-kv-version must be 1 or 2")
    if values.get("validate_profiles") is False:
        raise SettingsError(
            "--validate-profiles=false (Spring's spring.profiles.validate=false) is not supported: "
            "profiles name files and Vault paths, so every request's profiles are validated"
        )
    settings = Settings(**values)
    check_security(settings)
    return settings


def _repositories(file_values: Mapping[str, Any], values: Mapping[str, Any], path: Any) -> dict[str, Any]:
    """``repos``, ``composite`` and ``health-repositories`` from the ``--config`` file, parsed."""
    from config_server.healthchecks import parse_health_repositories
    from config_server.sources.git.repos import RepoSpecError, parse_composite, parse_repos

    out: dict[str, Any] = {}
    try:
        if file_values.get("repos") is not None:
            out["repos"] = parse_repos(file_values["repos"])
        if file_values.get("composite") is not None:
            if values.get("repo") or out.get("repos"):
                raise RepoSpecError(
                    "composite replaces repo and repos: give the git repositories as composite entries"
                )
            out["composite"] = entries = parse_composite(file_values["composite"])
            vault = next((n for n, e in enumerate(entries) if e.type == "vault"), None)
            if vault is not None and not values.get("vault_url"):
                raise RepoSpecError(
                    f"composite[{vault}] is a vault entry, which needs --vault-url "
                    f"(or {ENV_PREFIX}VAULT_URL, or vault-url in --config)"
                )
            first = next(e.git for e in entries if e.git is not None)
            out["repo"] = first.uri  # the default repository (its clone directory, app[GIT])
        if file_values.get("health_repositories") is not None:
            out["health_repositories"] = parse_health_repositories(file_values["health_repositories"])
    except (RepoSpecError, ValueError) as exc:
        raise SettingsError(f"--config {path}: {exc}") from None
    return out


def authenticates(settings: Settings) -> bool:
    """Whether any authentication method is configured (Basic, JWT, client certificates)."""
    return any((settings.auth_users, settings.jwt_jwks_url, settings.jwt_public_key, settings.tls_client_ca))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``): only this machine can connect."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_security(settings: Settings) -> None:
    """Refuse settings that would serve openly or half-secured; raises ``SettingsError``.

    Without authentication the server listens only on loopback unless ``--allow-anonymous``.
    """
    if not authenticates(settings) and not is_loopback(settings.host) and not settings.allow_anonymous:
        raise SettingsError(
            f"refusing to serve without authentication on --host {settings.host}: anyone who can "
            "reach it would read every service's configuration and secrets. Configure "
            "--auth-users, --jwt-jwks-url/--jwt-public-key or --tls-client-ca, or pass "
            "--allow-anonymous to serve openly anyway"
        )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SettingsError("--tls-cert and --tls-key go together")
    if settings.tls_client_ca is not None and settings.tls_cert is None:
        raise SettingsError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)")
    if settings.jwt_jwks_url is not None and settings.jwt_public_key is not None:
        raise SettingsError("give --jwt-jwks-url or --jwt-public-key, not both")
    if settings.access_policy is not None and not authenticates(settings):
        raise SettingsError("--access-policy needs an authentication method to know who is calling")
    if settings.peers and settings.cluster_secret is None:
        raise SettingsError(
            "--peers needs --cluster-secret (or --cluster-secret-file, or CONFIG_SERVER_CLUSTER_SECRET): "
            "the replicas sign the webhooks they forward each other with it"
        )
    if settings.workers > 1 and settings.audit_log is not None:
        raise SettingsError(
            "--workers with --audit-log: one HMAC chain cannot be written by several processes; "
            "run one worker per replica instead"
        )
    if settings.audit_log is not None and settings.audit_key is None:
        raise SettingsError(
            "--audit-log needs --audit-key (or --audit-key-file, or CONFIG_SERVER_AUDIT_KEY): "
            "the key of the lines' HMAC chain"
        )


def _secret_from_file(
    opt: Option, given: Mapping[str, Any], env: Mapping[str, str], file_values: Mapping[str, Any]
) -> tuple[str | None, str]:
    """A secret option's value from its ``--X-file`` (flag, then environment, then --config)."""
    name = opt.name + "_file"
    for path, origin in (
        (given.get(name), opt.flag + "-file"),
        (env.get(opt.env + "_FILE"), opt.env + "_FILE"),
        (file_values.get(name), f"--config: {name.replace('_', '-')}"),
    ):
        if path is None or path == "":
            continue
        try:
            text = Path(str(path)).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"cannot read {origin} {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SettingsError(f"{origin} {path} is not UTF-8 text") from None
        value = text.rstrip("\r\n")
        if not value:
            raise SettingsError(f"{origin} {path} is empty")
        return value, origin
    return None, opt.flag


def _convert(opt: Option, raw: Any, origin: str) -> Any:
    if isinstance(raw, list | tuple) and opt.convert is _list:
        return tuple(str(v).strip() for v in raw if str(v).strip())
    if isinstance(raw, list | tuple) and opt.convert is parse_peers:
        raw = ",".join(str(v) for v in raw)
    if isinstance(raw, Path | Secret):
        return raw
    if isinstance(raw, dict | list | tuple):  # from --config; str() would turn it into a "value"
        kind = "mapping" if isinstance(raw, dict) else "list"
        raise SettingsError(f"invalid value for {origin}: expected one value, not a {kind}")
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    try:
        return opt.convert(str(raw))
    except (ValueError, TypeError) as exc:
        detail = "" if opt.secret else f": {exc}"
        raise SettingsError(f"invalid value for {origin}{detail}") from None


def _read_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``--config`` file's values by field name, and where each Spring-named one came from.

    Our own keys (as the flags, without ``--``) and Spring's names (``spring_names``) are both
    read; the same setting given both ways is refused, naming both.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read --config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        # PyYAML's message quotes the offending line, which may hold a key or token: name the
        # place and the kind of problem only.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SettingsError(f"--config {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise SettingsError(f"--config {path} must be a mapping of setting names to values")
    out: dict[str, Any] = {}
    origins: dict[str, str] = {}
    spring: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if str(key).split(".", 1)[0] in spring_names.ROOTS:
            spring[str(key)] = value  # Spring's names, nested or dotted: translated below
            continue
        if name.endswith("_file") and name.removesuffix("_file") in _SECRET_NAMES:
            out[name] = value
            continue
        if name not in _BY_NAME and name not in _FILE_ONLY:
            row = spring_names.lookup(spring_names.S + "git." + str(key))
            ours = None if row is None else spring_names.target(row)
            hint = f" (Spring's git.{key} is '{ours.replace('_', '-')}' here)" if ours else ""
            raise SettingsError(f"--config {path}: unknown setting '{key}'{hint}")
        out[name] = value
    try:
        translated = spring_names.translate(spring)
    except spring_names.SpringNameError as exc:
        raise SettingsError(f"--config {path}: {exc}") from None
    for name, (value, spring_name) in translated.items():
        ours = name.replace("_", "-")
        if name in out or (name + "_file") in out:
            if spring_name.endswith("(Spring's default, 1)"):
                continue  # our own key given: Spring's default does not apply
            raise SettingsError(
                f"--config {path}: '{ours}' and Spring's '{spring_name}' are the same setting: give one"
            )
        out[name] = value
        origins[name] = f"{path}: {spring_name}"
    return out, origins
