"""Spring's property names in the ``--config`` file: one table from each Spring option to ours.

A Spring user copies their ``application.yml`` section across: the nested form
(``spring: cloud: config: server: git: uri: ...``), dotted keys
(``spring.cloud.config.server.git.uri: ...``) and Spring Cloud Commons' root ``encrypt.*`` keys
are all read, with Spring's relaxed names (``tryMasterBranch``, ``try_master_branch`` and
``try-master-branch`` are one option). ``SPRING_NAMES`` says what each option is here:

- a ``str``: the ``Settings`` field it sets, with the same meaning;
- ``Setting``: that field, with Spring's value converted to ours;
- ``Fixed``: what this server always does; accepted when the value asks for that, else refused;
- ``Unsupported``: refused, saying why and what to use instead.

A key ending in ``.*`` covers a whole subtree (another backend, a login method). An option in
no row is refused too: nothing a Spring user sets is silently ignored. ``translate`` turns the
Spring part of a ``--config`` file into ``{field: (value, spring name)}``; it is pure and raises
``SpringNameError`` naming the option. To support a new Spring option, add (or change) its row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ROOTS",
    "SPRING_NAMES",
    "Fixed",
    "Setting",
    "SpringNameError",
    "Unsupported",
    "kebab",
    "lookup",
    "translate",
]

S = "spring.cloud.config.server."
ROOTS = ("spring", "encrypt", "server")
"""Top-level ``--config`` keys (or dotted-key first segments) that hold Spring's options."""


class SpringNameError(ValueError):
    """A Spring option is unknown, unsupported, malformed or given twice; the message names it."""


@dataclass(frozen=True, slots=True)
class Setting:
    """A Spring option setting one of our fields, its value converted (raises ``ValueError``)."""

    name: str
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Fixed:
    """What this server always does: accepted when the value is one of ``accepts`` (any: None)."""

    reason: str
    accepts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A Spring option this server does not offer; ``instead`` names what to use, if anything."""

    reason: str
    instead: str | None = None


Row = str | Setting | Fixed | Unsupported


# --- value conversions ------------------------------------------------------------------------


def _not(value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError("must be true or false")
    return text == "false"


def _refresh_rate(value: Any) -> Any:
    if str(value).strip() in ("0", "0.0"):
        raise ValueError(
            "Spring's 0 fetches on every request; here it is the seconds between background "
            "fetches (0: never), and /monitor webhooks fetch at once: give a number of seconds"
        )
    return value


def _resource(value: Any) -> str:
    text = str(value).strip()
    if text.startswith("classpath:"):
        raise ValueError("a classpath: resource has no meaning here: give the file's path")
    return text.removeprefix("file:")


def _upper(value: Any) -> str:
    return str(value).strip().upper()


def _lower(value: Any) -> str:
    return str(value).strip().lower()


def _proxy(value: Any) -> str:
    from config_server.sources.git.repos import RepoSpecError, _proxy

    if isinstance(value, Mapping):  # nothing of Spring's map may be dropped silently
        for scheme, entry in value.items():
            if kebab(str(scheme)) not in ("http", "https") or not isinstance(entry, Mapping):
                raise ValueError("expected https: and http: maps of host, port, username, password")
            extra = sorted(
                str(k) for k in entry if kebab(str(k)) not in ("host", "port", "username", "password")
            )
            if extra:
                raise ValueError(
                    f"'{extra[0][:40]}' is not supported (non-proxy-hosts: the proxy is used for every host)"
                )
    try:
        return _proxy(value, "proxy")
    except RepoSpecError as exc:
        raise ValueError(str(exc)) from None


def _repos(value: Any) -> Any:
    """Spring's ``repos`` map with each entry's keys in kebab case (``searchPaths`` too)."""
    if not isinstance(value, Mapping):
        return value
    return {
        name: {kebab(str(k)): v for k, v in entry.items()} if isinstance(entry, Mapping) else entry
        for name, entry in value.items()
    }


_BACKEND = "this server serves git (and Vault): give the configuration as a git repository"
_VAULT_LOGIN = (
    "the Vault login methods here are a token (vault-token) and AppRole (vault-role-id, vault-secret-id)"
)
_TOP_LEVEL = "it applies to every repository here"

SPRING_NAMES: dict[str, Row] = {
    # --- spring.cloud.config.server.git (JGitEnvironmentProperties, AbstractScmAccessorProperties)
    S + "git.uri": "repo",
    S + "git.repos": Setting("repos", _repos),
    S + "git.search-paths": "search_paths",
    S + "git.default-label": "default_label",
    S + "git.basedir": "basedir",
    S + "git.username": "git_username",
    S + "git.password": "git_password",
    S + "git.passphrase": "git_ssh_passphrase",
    S + "git.timeout": "git_timeout",
    S + "git.refresh-rate": Setting("refresh_rate", _refresh_rate),
    S + "git.skip-ssl-validation": "git_skip_ssl_validation",
    S + "git.proxy": Setting("git_proxy", _proxy),
    S + "git.known-hosts-file": "git_known_hosts",
    S + "git.strict-host-key-checking": "git_strict_host_key_checking",
    S + "git.ignore-local-ssh-settings": Setting("git_use_ssh_config", _not),
    S + "git.try-master-branch": "git_try_master_branch",
    S + "git.continue-on-multiple-label-failure": "git_continue_on_multiple_label_failure",
    S + "git.delete-untracked-branches": "git_delete_untracked_branches",
    S + "git.clone-on-start": Fixed(
        "the default repository is always cloned at start (templates at first use)"
    ),
    S + "git.force-pull": Fixed(
        "fetches always replace the local copy (the clone is bare, nothing local to keep)"
    ),
    S + "git.clone-submodules": Fixed("submodules are never cloned", ("false",)),
    S + "git.private-key": Unsupported(
        "an inline key would be written to disk", "git-ssh-key (the key's file)"
    ),
    S + "git.host-key": Unsupported("host keys are trusted from a known_hosts file", "git-known-hosts"),
    S + "git.host-key-algorithm": Unsupported(
        "host keys are trusted from a known_hosts file", "git-known-hosts"
    ),
    S + "git.preferred-authentications": Unsupported("ssh offers the deploy key given as git-ssh-key"),
    S + "git.order": Unsupported(
        "repositories are ordered by their place in composite:", "composite: (list order)"
    ),
    # --- spring.cloud.config.server.* (ConfigServerProperties)
    S + "enabled": Fixed("this server always serves", ("true",)),
    S + "bootstrap": Fixed(
        "the server never reads its own settings from the repository it serves", ("false",)
    ),
    S + "prefix": Unsupported(
        "the endpoints are served at the root; put a reverse proxy in front for a path prefix"
    ),
    S + "default-label": "default_label",
    S + "overrides": Unsupported(
        "overrides come from a file", "overrides-file (a YAML file of the same map)"
    ),
    S + "default-application-name": Fixed("the shared configuration name is application", ("application",)),
    S + "default-profile": Fixed(
        "a request without a profile is an error here, so this has no use", ("default",)
    ),
    S + "fail-on-composite-error": Fixed(
        "a failing source fails the request (Vault after vault-stale-ttl)", ("true",)
    ),
    S + "accept-empty": "accept_empty",
    S + "strip-document-from-yaml": "strip_document_from_yaml",
    S + "reverse-location-order": "reverse_location_order",
    S + "composite": "composite",
    S + "encrypt.enabled": "encrypt_enabled",
    S + "encrypt.plain-text-encrypt": "encrypt_plain_text",
    S + "encrypt.prefix-invalid-properties": "encrypt_prefix_invalid_properties",
    # --- spring.cloud.config.server.health (ConfigServerHealthIndicator)
    S + "health.repositories": "health_repositories",
    S + "health.enabled": Fixed("the sources' health is always reported", ("true",)),
    S + "health.down-health-status": Fixed("a failing environment is DOWN (HTTP 503)", ("DOWN",)),
    S + "health.accept-empty": "health_accept_empty",
    # --- spring.cloud.config.server.vault (VaultEnvironmentProperties)
    S + "vault.host": Setting("vault_url"),  # with scheme and port: see _vault_url
    S + "vault.port": Setting("vault_url"),
    S + "vault.scheme": Setting("vault_url"),
    S + "vault.backend": "vault_kv_mount",
    S + "vault.kv-version": "vault_kv_version",
    S + "vault.default-key": "vault_default_key",
    S + "vault.profile-separator": "vault_profile_separator",
    S + "vault.enable-label": "vault_enable_label",
    S + "vault.default-label": "vault_default_label",
    S + "vault.path-to-key": "vault_path_to_key",
    S + "vault.namespace": "vault_namespace",
    S + "vault.token": "vault_token",
    S + "vault.app-role.role-id": "vault_role_id",
    S + "vault.app-role.secret-id": "vault_secret_id",
    S + "vault.app-role.app-role-path": Fixed("AppRole logs in at the mount approle", ("approle",)),
    S + "vault.app-role.role": Fixed("AppRole logs in with vault-role-id and vault-secret-id", ("",)),
    S + "vault.authentication": Fixed(
        "the login follows the credentials given: vault-token, or vault-role-id and vault-secret-id",
        ("token", "approle"),
    ),
    S + "vault.full-key-path": Fixed("property sources are always named vault:<key>", ("false",)),
    S + "vault.order": Unsupported(
        "Vault comes before or after git", "vault-order (before, after) or composite:"
    ),
    S + "vault.timeout": Unsupported("the Vault client's timeouts are fixed"),
    S + "vault.skip-ssl-validation": Unsupported("Vault's certificate is always checked"),
    S + "vault.proxy": Unsupported("Vault is reached directly"),
    S + "vault.ssl.*": Unsupported("Vault TLS certificate login and trust stores are not offered"),
    S + "vault.aws-ec2.*": Unsupported(_VAULT_LOGIN),
    S + "vault.aws-iam.*": Unsupported(_VAULT_LOGIN),
    S + "vault.azure-msi.*": Unsupported(_VAULT_LOGIN),
    S + "vault.gcp-gce.*": Unsupported(_VAULT_LOGIN),
    S + "vault.gcp-iam.*": Unsupported(_VAULT_LOGIN),
    S + "vault.kubernetes.*": Unsupported(_VAULT_LOGIN),
    S + "vault.pcf.*": Unsupported(_VAULT_LOGIN),
    # --- Spring Cloud Commons' encrypt.* (KeyProperties, RsaProperties)
    "encrypt.key": "encrypt_key",
    "encrypt.salt": "encrypt_salt",
    "encrypt.fail-on-error": Fixed("a value that does not decrypt is served as invalid.<key>", ("true",)),
    "encrypt.key-store.location": Setting("encrypt_keystore", _resource),
    "encrypt.key-store.password": "encrypt_keystore_password",
    "encrypt.key-store.alias": "encrypt_key_alias",
    "encrypt.key-store.secret": "encrypt_key_secret",
    "encrypt.key-store.type": Setting("encrypt_keystore_type", _lower),
    "encrypt.rsa.algorithm": Setting("encrypt_rsa_algorithm", _upper),
    "encrypt.rsa.strong": "encrypt_rsa_strong",
    "encrypt.rsa.salt": "encrypt_rsa_salt",
    # --- other backends and features of spring.cloud.config.server
    **{
        S + f"monitor.{forge}.enabled": Fixed("every /monitor payload format is always accepted", ("true",))
        for forge in ("github", "gitlab", "bitbucket", "gitea", "gitee", "gogs")
    },
    S + "monitor.*": Unsupported("/monitor takes webhooks only (no file watching)"),
    S + "native.*": Unsupported(_BACKEND, "repo"),
    S + "svn.*": Unsupported(_BACKEND, "repo"),
    S + "jdbc.*": Unsupported(_BACKEND, "repo"),
    S + "redis.*": Unsupported(_BACKEND, "repo"),
    S + "mongodb.*": Unsupported(_BACKEND, "repo"),
    S + "credhub.*": Unsupported(_BACKEND, "repo"),
    S + "consul.*": Unsupported(_BACKEND, "repo"),
    S + "awss3.*": Unsupported(_BACKEND, "repo"),
    S + "awsparamstore.*": Unsupported(_BACKEND, "repo"),
    S + "aws-secretsmanager.*": Unsupported(_BACKEND, "repo"),
    S + "gcp-secret-manager.*": Unsupported(_BACKEND, "repo"),
    # --- Spring Boot's own, often in the same file
    "server.port": "port",
    "server.address": "host",
    "spring.application.name": Fixed("names the Spring application itself; it changes nothing here"),
    "spring.profiles.validate": "validate_profiles",  # read by Spring's ConfigServerMvcConfiguration
    # Checked against the sections given (_check_profiles): git is always served here.
    "spring.profiles.active": Fixed("the backends follow the settings: repo (git), vault-url, composite:"),
}
_PROFILES = "spring.profiles.active"
_WILD = tuple(k.removesuffix("*") for k in SPRING_NAMES if k.endswith(".*"))
_NODES = frozenset(
    ".".join(k.split(".")[:i]) for k in SPRING_NAMES for i in range(1, len(k.removesuffix(".*").split(".")))
)


def kebab(name: str) -> str:
    """Spring's canonical form of one name segment: ``tryMasterBranch`` → ``try-master-branch``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).replace("_", "-").lower()


def lookup(name: str) -> Row | None:
    """The row of a full Spring option name (kebab case), a ``.*`` row's subtree included."""
    found = SPRING_NAMES.get(name)
    if found is not None:
        return found
    for prefix in _WILD:
        if name.startswith(prefix):
            return SPRING_NAMES[prefix + "*"]
    return None


def target(row: Row) -> str | None:
    """The ``Settings`` field a row sets (None for ``Fixed`` and ``Unsupported``)."""
    if isinstance(row, str):
        return row
    return row.name if isinstance(row, Setting) else None


def translate(tree: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """Our settings from the Spring part of a ``--config`` file: ``{field: (value, spring name)}``.

    ``tree`` holds the file's top-level keys under ``ROOTS`` (nested, dotted, or both). Values are
    in the file's form (our converters run later). Raises ``SpringNameError`` for an unknown,
    unsupported or malformed option, and for two Spring options setting one field.
    """
    given: dict[str, Any] = {}
    for key, value in tree.items():
        _walk(str(key).split("."), value, given)
    if _PROFILES in given:
        _check_profiles(given[_PROFILES], given)
    out: dict[str, tuple[Any, str]] = {}
    vault_url: dict[str, Any] = {}
    for name, value in given.items():
        row = lookup(name)
        assert row is not None  # _walk keeps only names with a row
        if isinstance(row, Unsupported):
            instead = f"; use {row.instead}" if row.instead else ""
            raise SpringNameError(f"Spring option '{name}' is not supported here: {row.reason}{instead}")
        if isinstance(row, Fixed):
            if row.accepts is not None and _text(value).lower() not in {a.lower() for a in row.accepts}:
                allowed = " or ".join(repr(a) for a in row.accepts)
                # The value is not echoed: it may be a credential pasted into the wrong option.
                raise SpringNameError(
                    f"Spring option '{name}' is not supported here with the value given: {row.reason}"
                    f" (only {allowed} is accepted)"
                )
            continue
        field = target(row)
        assert field is not None
        if field == "vault_url":
            vault_url[name.rsplit(".", 1)[1]] = value
            continue
        if isinstance(row, Setting) and row.convert is not None:
            try:
                value = row.convert(value)
            except ValueError as exc:
                raise SpringNameError(f"invalid value for Spring option '{name}': {exc}") from None
        _put(out, field, value, name)
    if vault_url:
        _put(out, "vault_url", _vault_url(vault_url), S + "vault.host")
    if any(n.startswith(S + "vault.") for n in given) and "vault_kv_version" not in out:
        out["vault_kv_version"] = (1, S + "vault.kv-version (Spring's default, 1)")
    return out


def _check_profiles(value: Any, given: Mapping[str, Any]) -> None:
    """Spring's backend profiles must name what the sections configure: ``git``, ``vault`` (with
    a vault section) and ``composite`` (with a composite list); git is always served here."""
    items = value if isinstance(value, list) else str(value).split(",")
    profiles = [_text(p).lower() for p in items if _text(p)]
    where = f"Spring option '{_PROFILES}: {_text(value)[:60]}'"
    other = next((p for p in profiles if p not in ("git", "vault", "composite")), None)
    if other is not None:
        raise SpringNameError(
            f"{where}: '{other[:40]}' is not a backend served here (git, vault and composite are)"
        )
    if "composite" in profiles and S + "composite" not in given:
        raise SpringNameError(
            f"{where} names composite, but no spring.cloud.config.server.composite list is given"
        )
    if "composite" not in profiles:
        if "git" not in profiles:
            raise SpringNameError(
                f"{where}: git is always served here; name git (or composite with a git entry)"
            )
        if "vault" in profiles and not any(n.startswith(S + "vault.") for n in given):
            raise SpringNameError(
                f"{where} names vault, but no spring.cloud.config.server.vault section is given "
                "(Spring's default is 127.0.0.1:8200: give vault.host and vault.port)"
            )


_MAPS = frozenset({S + "git.repos", S + "git.proxy", S + "health.repositories"})
"""Options whose value is a map: a dotted key below one (``git.repos.team.uri``) is one entry of it."""


def _walk(raw: list[str], value: Any, given: dict[str, Any]) -> None:
    # ``raw`` keeps the file's spelling: the names of map entries (a repository's) keep their case.
    path = [kebab(part) for part in raw]
    name = ".".join(path)
    if lookup(name) is not None:
        if value is None:  # an empty YAML key: not given, as Spring binds it
            return
        _merge(given, name, value)
        return
    if name in _NODES or any(w.startswith(name + ".") for w in _WILD):
        if value is None:
            return
        if not isinstance(value, Mapping):
            raise SpringNameError(f"Spring option '{name}' is a section: expected a mapping, not one value")
        for key, item in value.items():
            _walk(raw + str(key).split("."), item, given)
        return
    for i in range(len(path) - 1, 0, -1):
        if ".".join(path[:i]) in _MAPS and value is not None:
            for part in reversed(raw[i:]):
                value = {part: value}
            _merge(given, ".".join(path[:i]), value)
            return
    raise SpringNameError(f"unknown Spring option '{name}'{_hint(path)}")


def _merge(given: dict[str, Any], name: str, value: Any, label: str = "") -> None:
    """Put ``value`` at ``name``; two mappings for one map option merge (nested and dotted forms).
    ``label`` is the full option name for the message (default: ``name``)."""
    label = label or name
    if name not in given:
        given[name] = value
        return
    before = given[name]
    if not (isinstance(before, Mapping) and isinstance(value, Mapping)):
        raise SpringNameError(f"Spring option '{label}' is given twice")
    merged = dict(before)
    for key, item in value.items():
        inner: dict[str, Any] = {}
        if key in merged:
            inner[str(key)] = merged[key]
            _merge(inner, str(key), item, f"{label}.{key}")
            merged[key] = inner[str(key)]
        else:
            merged[key] = item
    given[name] = merged


def _hint(path: list[str]) -> str:
    """For a name with no row: the option a nearby row means, if the last segment names one."""
    last = path[-1]
    for name, row in SPRING_NAMES.items():
        field = target(row)
        if name.rsplit(".", 1)[-1] == last and field is not None:
            return f" (did you mean '{name}', which is {field.replace('_', '-')} here?)"
    return ""


def _put(out: dict[str, tuple[Any, str]], field: str, value: Any, name: str) -> None:
    if field in out:
        raise SpringNameError(
            f"Spring options '{out[field][1]}' and '{name}' both set {field.replace('_', '-')}: give one"
        )
    out[field] = (value, name)


def _vault_url(parts: Mapping[str, Any]) -> str:
    """Spring's ``vault.scheme``, ``host`` and ``port`` (defaults http, 127.0.0.1, 8200) as a URL."""
    scheme = _text(parts.get("scheme", "http")).lower()
    host = _text(parts.get("host", "127.0.0.1"))
    port = _text(parts.get("port", 8200))
    if scheme not in ("http", "https"):
        raise SpringNameError(f"Spring option '{S}vault.scheme' must be http or https")
    if not port.isdigit():
        raise SpringNameError(f"Spring option '{S}vault.port' must be a port number")
    if not re.fullmatch(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]", host):
        raise SpringNameError(f"Spring option '{S}vault.host' must be a host name or address")
    return f"{scheme}://{host}:{port}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()
