"""The server's own settings: command-line flags, environment variables and an optional YAML file.

Precedence: flag beats environment variable beats ``--config`` file beats default. Every option is
declared once in ``OPTIONS`` (flag, environment variable, type, default, help) and the
``argparse`` parser, the environment reader and the file reader are all derived from it.
Secret options are held as ``Secret`` so the settings repr, logs and ``--help`` never show them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from config_server.secret import Secret

__all__ = ["OPTIONS", "Option", "Settings", "SettingsError", "add_arguments", "load_settings"]

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

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    # --- git (core) ---
    Option(
        "repo",
        "git URL (file://, https://, ssh://) or local path of the configuration repository. Required.",
        metavar="URI",
    ),
    Option(
        "search_paths",
        "comma list of directories to search besides the root; {application}, {profile}, "
        "{label} placeholders and * wildcards",
        _list,
        (),
        metavar="LIST",
    ),
    Option(
        "default_label",
        "label served when a request has none (falls back to master when main is absent)",
        _label,
        "main",
        metavar="NAME",
    ),
    Option("host", "address to listen on", default="127.0.0.1"),
    Option("port", "port to listen on", int, 8888),
    Option(
        "basedir",
        "where the server keeps its clone (default: under the user's cache dir)",
        Path,
        metavar="DIR",
    ),
    Option(
        "refresh_rate",
        "seconds between background fetches of the remote (0: never)",
        float,
        5.0,
        metavar="SECONDS",
    ),
    Option(
        "overrides_file",
        "YAML or .properties file of properties forced on every client (the 'overrides' source)",
        Path,
        metavar="FILE",
    ),
    Option("cache_size", "how many resolved environments to keep in memory", int, 2048, metavar="N"),
    Option("log_level", "logging level", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
    # --- vault (secrets) ---
    Option(
        "vault_url",
        "Vault (or OpenBao) address, e.g. http://127.0.0.1:8200; enables the Vault source",
        metavar="URL",
    ),
    Option("vault_kv_mount", "KV secrets engine mount", default="secret", metavar="MOUNT"),
    Option("vault_kv_version", "KV engine version (1 or 2)", int, 2, metavar="N"),
    Option("vault_namespace", "Vault Enterprise namespace", metavar="NS"),
    Option("vault_token", "the server's own Vault token", Secret, secret=True, metavar="TOKEN"),
    Option("vault_role_id", "AppRole role id for the server's own Vault login", metavar="ID"),
    Option("vault_secret_id", "AppRole secret id", Secret, secret=True, metavar="ID"),
    Option(
        "vault_order",
        "Vault sources before (above) or after (below) git sources",
        _choice("before", "after"),
        "before",
    ),
    Option(
        "vault_stale_ttl",
        "seconds the last good Vault answer may be served (marked stale) while Vault "
        "is unavailable (0: never)",
        float,
        30.0,
        metavar="SECONDS",
    ),
    Option(
        "vault_poll",
        "seconds between polls of the Vault KV metadata of watched environments; a new "
        "version recomputes and wakes them (0: never)",
        float,
        10.0,
        metavar="SECONDS",
    ),
    # --- {cipher} ---
    Option(
        "encrypt_key",
        "symmetric key for {cipher} values (Spring's encrypt.key)",
        Secret,
        secret=True,
        metavar="KEY",
    ),
    Option("encrypt_salt", "hex salt for the symmetric key", default="deadbeef", metavar="HEX"),
    Option(
        "encrypt_keys",
        "more symmetric keys for rotation, comma list of ALIAS=KEY",
        Secret,
        secret=True,
        metavar="LIST",
    ),
    Option(
        "encrypt_primary",
        "alias of the key /encrypt uses (default: the keystore alias, else the symmetric key)",
        metavar="ALIAS",
    ),
    Option("encrypt_keystore", "RSA key: PEM file, PKCS#12 or JKS keystore", Path, metavar="FILE"),
    Option("encrypt_keystore_password", "keystore password", Secret, secret=True, metavar="PASSWORD"),
    Option("encrypt_keystore_type", "keystore type (pem, pkcs12, jks; default: detected)", metavar="TYPE"),
    Option("encrypt_key_alias", "alias of the RSA key in the keystore", metavar="ALIAS"),
    Option(
        "encrypt_key_secret",
        "password of the RSA key entry (default: the keystore password)",
        Secret,
        secret=True,
        metavar="PASSWORD",
    ),
    Option(
        "encrypt_rsa_algorithm",
        "RSA padding: DEFAULT (PKCS#1 v1.5) or OAEP",
        _choice("DEFAULT", "OAEP"),
        "DEFAULT",
    ),
    Option("encrypt_rsa_strong", "RSA scheme uses AES-GCM instead of CBC", _bool, False, metavar="BOOL"),
    Option("encrypt_rsa_salt", "salt of the RSA scheme's AES layer", default="deadbeef", metavar="SALT"),
    # --- live configuration ---
    Option(
        "monitor_secret",
        "secret that /monitor webhooks must be signed with",
        Secret,
        secret=True,
        metavar="SECRET",
    ),
)

_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The server's settings. ``repr`` hides every secret (they are ``Secret`` values)."""

    repo: str
    search_paths: tuple[str, ...] = ()
    default_label: str = "main"
    host: str = "127.0.0.1"
    port: int = 8888
    basedir: Path | None = None
    refresh_rate: float = 5.0
    overrides_file: Path | None = None
    cache_size: int = 2048
    log_level: str = "INFO"
    vault_url: str | None = None
    vault_kv_mount: str = "secret"
    vault_kv_version: int = 2
    vault_namespace: str | None = None
    vault_token: Secret | None = None
    vault_role_id: str | None = None
    vault_secret_id: Secret | None = None
    vault_order: str = "before"
    vault_stale_ttl: float = 30.0
    vault_poll: float = 10.0
    encrypt_key: Secret | None = None
    encrypt_salt: str = "deadbeef"
    encrypt_keys: Secret | None = None
    encrypt_primary: str | None = None
    encrypt_keystore: Path | None = None
    encrypt_keystore_password: Secret | None = None
    encrypt_keystore_type: str | None = None
    encrypt_key_alias: str | None = None
    encrypt_key_secret: Secret | None = None
    encrypt_rsa_algorithm: str = "DEFAULT"
    encrypt_rsa_strong: bool = False
    encrypt_rsa_salt: str = "deadbeef"
    monitor_secret: Secret | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def clone_dir(self) -> Path:
        """Where the clone lives: ``basedir`` or a per-repository folder in the user's cache dir."""
        if self.basedir is not None:
            return self.basedir
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        digest = hashlib.sha256(self.repo.encode()).hexdigest()[:16]
        return Path(cache) / "config-server" / digest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option to ``parser`` (defaults stay ``None`` so precedence can be applied later)."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="YAML file of settings (keys as the flags)"
    )
    for opt in OPTIONS:
        shown = "" if opt.secret or opt.default in (None, ()) else f" (default: {_show(opt.default)})"
        parser.add_argument(
            opt.flag,
            dest=opt.name,
            default=None,
            metavar=opt.metavar,
            help=f"{opt.help}{shown} [env {opt.env}]",
        )


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
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
    config_path = given.get("config") or env.get(ENV_PREFIX + "CONFIG")
    if config_path:
        file_values = _read_file(Path(config_path))
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw: Any = given.get(opt.name)
        origin = opt.flag
        if raw is None and opt.env in env:
            raw, origin = env[opt.env], opt.env
        if raw is None and opt.name in file_values:
            raw, origin = file_values[opt.name], f"{config_path}: {opt.name.replace('_', '-')}"
        if raw is None:
            continue
        values[opt.name] = _convert(opt, raw, origin)
    if not values.get("repo"):
        raise SettingsError(f"--repo is required (or {ENV_PREFIX}REPO, or 'repo' in --config)")
    if values.get("vault_kv_version", 2) not in (1, 2):
        raise SettingsError("--vault-kv-version must be 1 or 2")
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def _convert(opt: Option, raw: Any, origin: str) -> Any:
    if isinstance(raw, list | tuple) and opt.convert is _list:
        return tuple(str(v).strip() for v in raw if str(v).strip())
    if isinstance(raw, Path | Secret):
        return raw
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    try:
        return opt.convert(str(raw))
    except (ValueError, TypeError) as exc:
        detail = "" if opt.secret else f": {exc}"
        raise SettingsError(f"invalid value for {origin}{detail}") from None


def _read_file(path: Path) -> dict[str, Any]:
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
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"--config {path} must be a mapping of setting names to values")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in _BY_NAME:
            raise SettingsError(f"--config {path}: unknown setting '{key}'")
        out[name] = value
    return out


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as a JSON-able dict for logs, with secrets masked."""
    out: dict[str, Any] = {}
    for f in fields(settings):
        if f.name == "extra":
            continue
        v = getattr(settings, f.name)
        out[f.name] = "**********" if isinstance(v, Secret) else (str(v) if isinstance(v, Path) else v)
    return out


def option_names() -> Sequence[str]:
    return [o.name for o in OPTIONS]
