"""The composition root: every resource the server runs on, built once from ``Settings``.

``install(app, settings)`` puts each resource on the application under a typed ``AppKey`` and
opens it in a ``cleanup_ctx`` of its own, in dependency order; aiohttp closes them in reverse::

    GIT       GitSource            the default repository's clone, worker threads, background fetch
    REPOSITORIES Repositories      every git repository (pattern, template clones, composite
                                   entries): /monitor's routing, opened and closed with GIT
    VAULT     VaultClientManager   the server's Vault login and renewal (None without --vault-url)
    KEYRING   KeyRing              {cipher} keys, Vault transit when logged in (None without keys)
    SERVICE   EnvironmentService   built once with its ordered Sources, overrides and decryption
    LAST_GOOD LastGoodSources      each repository's --serve-last-good guard (None without it); the
                                   extra checks come from LAST_GOOD_CHECKS, set before start-up
    LIVE      LiveUpdates          long polls, woken by the sources' change signals and polls
    QUOTA     WatchQuota           how many long polls are held, in all and per principal
    FLEET     Fleet                which client instances hold which ETag and commit (/actuator/clients)
    AUDITOR   AuditLog             the tamper-evident audit log (None without --audit-log)
    GATE      Gate                 authentication methods and the access policy, files watched
    LOOP      LoopMonitor          the event loop's heartbeat (liveness, ``probes``)
    METRICS   ServerMetrics        this app's Prometheus registry and event counters; the
                                   ``StateCollector`` reads the others at scrape time (``metrics``)
    PEERS     Peers                the other replicas, told of every accepted webhook (None
                                   without --peers); PEER_VERIFIER checks what they forward
                                   (None without --cluster-secret)

``TLS`` (``ServerTLS``, None without ``--tls-cert``) is built by ``install`` itself, since the
listening socket needs its context before the app starts; its files are watched with the gate's.

A start-up that fails halfway (a bad key after git started) raises from ``runner.setup()``; the
resources opened before it are closed by ``runner.cleanup()``, which the CLI always calls (see
``cli``). The crypto subcommands build the same key ring from the same settings
(``start_vault``, ``build_keyring``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from config_client.wire import PropertySource

from config_server import __version__
from config_server.auth.basic import UsersFile
from config_server.auth.gate import Gate
from config_server.auth.tls import ServerTLS
from config_server.checks import Check
from config_server.cluster.peers import Peers
from config_server.cluster.signing import PeerVerifier
from config_server.crypto.keyring import KeyRing
from config_server.errors import ConfigServerError, InvalidConfiguration, KeyFormatError
from config_server.filewatch import FileWatch
from config_server.healthchecks import EnvironmentChecks
from config_server.live.fleet import Fleet
from config_server.live.quota import WatchQuota
from config_server.live.updates import LiveUpdates
from config_server.metrics.server import ServerMetrics
from config_server.probes import LoopMonitor
from config_server.service import Decryptor, EnvironmentService, ReferenceResolver, overrides_source
from config_server.settings import Settings
from config_server.sources.base import Query, Source, SourceHealth
from config_server.sources.git.files import GitConfigSource
from config_server.sources.git.lastgood import LastGoodSources
from config_server.sources.git.patterns import GitRepositories
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repos import RepoSpec
from config_server.sources.git.source import GitSource
from config_server.vault.client import VaultClientManager

if TYPE_CHECKING:
    from config_server.policy import PolicyFile
    from config_server.vault.kv import VaultSource
    from config_server.vault.settings import VaultSettings

__all__ = [
    "AUDITOR",
    "FLEET",
    "GATE",
    "GIT",
    "KEYRING",
    "LAST_GOOD",
    "LAST_GOOD_CHECKS",
    "LIVE",
    "LOOP",
    "METRICS",
    "PEERS",
    "PEER_VERIFIER",
    "QUOTA",
    "REPOSITORIES",
    "SERVICE",
    "SETTINGS",
    "STOPPING",
    "TLS",
    "VAULT",
    "WORKER_PORT",
    "Repositories",
    "build_keyring",
    "git_access",
    "install",
    "load_overrides",
    "start_vault",
    "vault_settings",
]

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
GIT = web.AppKey("git", GitSource)
REPOSITORIES: web.AppKey[Repositories] = web.AppKey("repositories")
VAULT: web.AppKey[VaultClientManager | None] = web.AppKey("vault")
KEYRING: web.AppKey[KeyRing | None] = web.AppKey("keyring")
SERVICE = web.AppKey("service", EnvironmentService)
LAST_GOOD: web.AppKey[LastGoodSources | None] = web.AppKey("last_good")
LAST_GOOD_CHECKS: web.AppKey[Sequence[Check]] = web.AppKey("last_good_checks")
"""Extra checks for --serve-last-good (e.g. JSON Schema), set on the app before it starts."""
LIVE = web.AppKey("live", LiveUpdates)
QUOTA = web.AppKey("quota", WatchQuota)
FLEET = web.AppKey("fleet", Fleet)
TLS: web.AppKey[ServerTLS | None] = web.AppKey("tls")
GATE = web.AppKey("gate", Gate)
AUDITOR: web.AppKey[Auditor | None] = web.AppKey("auditor")
HEALTH_ENVIRONMENTS = web.AppKey("health_environments", EnvironmentChecks)
STOPPING = web.AppKey("stopping", asyncio.Event)
PEERS: web.AppKey[Peers | None] = web.AppKey("peers")
PEER_VERIFIER: web.AppKey[PeerVerifier | None] = web.AppKey("peer_verifier")
WORKER_PORT: web.AppKey[tuple[Any, ...]] = web.AppKey("worker_port")
"""A ``--workers`` worker's private (host, port), set by ``cli.serve``: only peer webhooks there."""
"""Set when the server begins to stop (``on_shutdown``): it accepts no more connections."""
LOOP = web.AppKey("loop", LoopMonitor)
METRICS = web.AppKey("metrics", ServerMetrics)


class Auditor(Protocol):
    """What the server needs of the audit log (``config_server.audit.AuditLog``)."""

    async def record(self, event: str, **fields: Any) -> None: ...

    def health(self) -> SourceHealth: ...

    def reopen(self) -> None: ...


def install(app: web.Application, settings: Settings) -> None:
    """Register every resource of the server on ``app`` (they open when the app starts).

    Raises ``InvalidConfiguration`` when the TLS files cannot be loaded (never start open).
    """
    from config_server.metrics.collector import StateCollector

    app[SETTINGS] = settings
    app[TLS] = _server_tls(settings)
    app[METRICS] = metrics = ServerMetrics()
    metrics.registry.register(StateCollector(app))
    app.cleanup_ctx.extend([_loop, _audit, _gate, _git, _vault, _keyring, _service, _live, _peers])
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_release_watchers)
    app.on_response_prepare.append(_close_when_stopping)


def _server_tls(settings: Settings) -> ServerTLS | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return ServerTLS(
        cert=settings.tls_cert,
        key=settings.tls_key,
        client_ca=settings.tls_client_ca,
        client_auth=settings.tls_client_auth,
    )


async def _loop(app: web.Application) -> AsyncIterator[None]:
    monitor = app[LOOP] = LoopMonitor()
    await monitor.start()
    try:
        yield
    finally:
        await monitor.close()


async def _peers(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    secret = settings.cluster_secret
    app[PEER_VERIFIER] = PeerVerifier(secret.reveal()) if secret is not None else None
    if not settings.peers or secret is None:
        app[PEERS] = None
        yield
        return
    peers = Peers(settings.peers, secret=secret.reveal(), ssl_context=_peer_tls(settings))
    await peers.start()
    app[PEERS] = peers
    try:
        yield
    finally:
        await peers.close()


def _peer_tls(settings: Settings) -> ssl.SSLContext | None:
    """Peers speak TLS when this server does: their certificates chain to --tls-client-ca, else
    to the system's CAs; with --tls-client-auth required, this server's certificate is its own."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(cafile=settings.tls_client_ca)
    if settings.tls_client_ca is not None and settings.tls_client_auth == "required":
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


async def _audit(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.audit_log is None or settings.audit_key is None:
        app[AUDITOR] = None
        yield
        return
    from config_server.audit import AuditLog

    audit = AuditLog(target=settings.audit_log, key=settings.audit_key.reveal().encode())
    await audit.open()
    app[AUDITOR] = audit
    try:
        await audit.record("start", version=__version__)
        yield
    finally:
        with contextlib.suppress(ConfigServerError):
            await audit.record("stop")
        await audit.close()


async def _gate(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    users = None
    if settings.auth_users is not None:
        users = UsersFile(settings.auth_users)
        users.load()
    policy = None
    if settings.access_policy is not None:
        from config_server.policy import PolicyFile

        policy = PolicyFile(settings.access_policy)
        policy.load()
    bearer = None
    if settings.jwt_jwks_url is not None or settings.jwt_public_key is not None:
        from config_server.auth.jwt import JwtAuthenticator

        bearer = JwtAuthenticator.from_settings(settings)
    tls = app[TLS]
    app[GATE] = Gate(
        users=users,
        bearer=bearer,
        certificates=tls is not None and tls.mutual,
        policy=policy,
        default_label=settings.default_label,
        signed_webhooks=settings.monitor_secret is not None,
    )
    watches: list[FileWatch] = []
    try:
        if bearer is not None:
            await bearer.start()
        if users is not None:
            watches.append(FileWatch([users.path], users.reload, name="users file"))
        if policy is not None:
            watches.append(FileWatch([policy.path], _policy_reloader(app, policy), name="access policy"))
        if tls is not None:
            watches.append(FileWatch(tls.paths, tls.reload, name="TLS files"))
        for watch in watches:
            await watch.start()
        yield
    finally:
        for watch in watches:
            await watch.close()
        if bearer is not None:
            await bearer.close()


def _policy_reloader(app: web.Application, policy: PolicyFile) -> Callable[[], Awaitable[None]]:
    async def reload() -> None:
        before = policy.policy
        if policy.reload() and policy.policy != before:
            auditor = app[AUDITOR]
            if auditor is not None:
                with contextlib.suppress(ConfigServerError):  # the audit log says why, and health
                    await auditor.record("policy-reloaded", rules=len(policy.policy.rules))

    return reload


async def _release_watchers(app: web.Application) -> None:
    # Shutdown waits for running handlers before the cleanup contexts close: held long polls
    # are answered first, or a stop would wait out every client's Prefer: wait.
    app[STOPPING].set()
    live = app.get(LIVE)
    if live is not None:
        live.release_watchers()


async def _close_when_stopping(request: web.Request, response: web.StreamResponse) -> None:
    # Answers finished while stopping say so: the client opens its next connection elsewhere
    # instead of racing the close of this one.
    # (aiohttp has written the Connection header before this hook: set it as well.)
    if request.app[STOPPING].is_set():
        response.force_close()
        response.headers["Connection"] = "close"


class Repositories:
    """Every git ``Source`` of the server (one per composite git entry, else one), in order.

    ``refresh(urls)`` is ``/monitor``'s routing: fetch the repositories a webhook names.
    """

    def __init__(self, groups: Sequence[GitRepositories]) -> None:
        self.groups = tuple(groups)
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def refresh(self, urls: Collection[str] | None = None) -> list[str]:
        """Fetch the started repositories whose remote is one of ``urls`` (scheme, credentials,
        ``.git`` and host case ignored); all of them when ``urls`` is None or names none of
        them. Returns the health names of the repositories fetched; never raises."""
        self._running += 1
        self._idle.clear()
        try:
            return await self._refresh(urls)
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def settled(self, timeout: float) -> None:
        """Return once no ``refresh`` runs (at once when none does), or after ``timeout`` seconds.

        Replicas fetch a webhook's push at about the same time, not at the same instant: a
        watcher woken by the replica that finished first may re-poll one still fetching, which
        must not answer it the configuration it just left (a change back, then forth).
        """
        if self._idle.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()

    async def _refresh(self, urls: Collection[str] | None) -> list[str]:
        if urls:
            fetched = [name for group in self.groups for name in await group.refresh(urls)]
            if fetched:
                return fetched
        return [name for group in self.groups for name in await group.refresh(None)]


def _git_groups(
    settings: Settings, *, wrap: Callable[[GitConfigSource], Source] | None = None
) -> list[GitRepositories]:
    access = git_access(settings)

    def resolved(spec: RepoSpec) -> RepoSpec:
        return spec.resolved(
            access=access,
            default_label=settings.default_label,
            refresh_rate=settings.refresh_rate,
            search_paths=settings.search_paths,
        )

    if settings.composite:
        entries = [(e.git, e.repos) for e in settings.composite if e.git is not None]
    else:
        entries = [(RepoSpec(name="git", uri=settings.repo), settings.repos)]
    groups = []
    for n, (default, repos) in enumerate(entries):
        name = "git" if n == 0 else f"git-{n + 1}"
        basedir = (
            settings.clone_dir
            if n == 0
            else settings.clone_dir.with_name(f"{settings.clone_dir.name}-{n + 1}")
        )
        groups.append(
            GitRepositories(
                name=name,
                default=resolved(default),
                repos=[resolved(spec) for spec in repos],
                basedir=basedir,
                repos_dir=basedir.with_name(basedir.name + "-repos"),
                cache_size=settings.cache_size,
                wrap=wrap,
                shallow=settings.git_shallow,
                serve_unreachable=settings.serve_unreachable_commits,
                reverse_location_order=settings.reverse_location_order,
                try_master=settings.git_try_master_branch,
                prune=settings.git_delete_untracked_branches,
                continue_on_label_failure=settings.git_continue_on_multiple_label_failure,
            )
        )
    return groups


async def _git(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    last_good = None
    if settings.serve_last_good:
        last_good = LastGoodSources(
            checks=app.get(LAST_GOOD_CHECKS, _default_checks()), cache_size=settings.cache_size
        )
    app[LAST_GOOD] = last_good
    groups = _git_groups(settings, wrap=last_good.wrap if last_good is not None else None)
    started: list[GitRepositories] = []
    try:
        for group in groups:
            started.append(group)
            await group.start()
        app[GIT] = groups[0].default.git
        app[REPOSITORIES] = Repositories(groups)
        yield
    finally:
        for group in reversed(started):
            await group.close()


def git_access(settings: Settings) -> RemoteAccess:
    """How the server reaches its git remotes (``--git-*``): the default repository's access,
    and what pattern repositories inherit for the settings they leave unset. No I/O."""
    return RemoteAccess(
        username=settings.git_username,
        password=settings.git_password,
        password_file=settings.git_password_file,
        ca_file=settings.git_ca_file,
        skip_ssl_validation=settings.git_skip_ssl_validation,
        proxy=settings.git_proxy,
        ssh_key=settings.git_ssh_key,
        ssh_passphrase=settings.git_ssh_passphrase,
        known_hosts=settings.git_known_hosts,
        strict_host_key_checking=settings.git_strict_host_key_checking,
        use_ssh_config=settings.git_use_ssh_config,
        timeout=settings.git_timeout,
    )


async def _vault(app: web.Application) -> AsyncIterator[None]:
    manager = await start_vault(app[SETTINGS])
    app[VAULT] = manager
    try:
        yield
    finally:
        if manager is not None:
            await manager.close()


async def _keyring(app: web.Application) -> AsyncIterator[None]:
    manager = app[VAULT]
    transit = None
    if manager is not None:
        # Transit runs as the server, never as a caller: decrypted git values are cached per
        # commit and shared by every caller. Without a server login there is no transit key, so
        # such values become invalid.<key> (and /encrypt with {key:transit:...} is NO_KEY).
        if manager.settings.auth_method == "none":
            log.info("Vault transit is off: it needs the server's own Vault login (token or AppRole)")
        else:
            from config_server.vault.transit import VaultTransit

            transit = VaultTransit(manager)
    app[KEYRING] = build_keyring(app[SETTINGS], transit=transit)
    yield


async def _service(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    groups = app[REPOSITORIES].groups
    ring = app[KEYRING]
    # encrypt-enabled=false serves {cipher} values as they are (clients decrypt them), so none is
    # a problem; otherwise --serve-last-good judges with invalid.<key> marking each failure, as
    # it finds them by the keys decryption removes, whatever --encrypt-prefix-invalid-properties says.
    failures = app[METRICS].decryption_failures
    decrypt = _decryptor(
        ring, prefix_invalid=settings.encrypt_prefix_invalid_properties, failed=failures.labels("cipher").inc
    )
    last_good = app[LAST_GOOD]
    if last_good is not None:
        last_good.decrypt = _decryptor(ring, prefix_invalid=True) if settings.encrypt_enabled else _as_served
    manager = app[VAULT]
    vault: Source | None = None
    kv: VaultSource | None = None
    if manager is not None:
        from config_server.sources.vault import VaultConfigSource
        from config_server.vault.kv import VaultSource

        kv = VaultSource(manager, manager.settings)
        vault = VaultConfigSource(kv=kv, manager=manager, poll_interval=settings.vault_poll)
    sources: list[Source] = list(groups)
    if settings.composite:
        # List order is precedence (Spring's composite); vault only where an entry names it.
        if any(e.type == "vault" for e in settings.composite) and vault is None:
            raise InvalidConfiguration("--config", "a composite vault entry needs --vault-url")
        git = iter(groups)
        sources = []
        for entry in settings.composite:
            chosen = next(git) if entry.type == "git" else vault
            assert chosen is not None
            sources.append(chosen)
    elif vault is not None:
        sources = [vault, *groups] if settings.vault_order == "before" else [*groups, vault]
    app[SERVICE] = EnvironmentService(
        sources=sources,
        overrides=load_overrides(settings),
        decrypt=decrypt if settings.encrypt_enabled else None,
        references=(
            _vault_references(
                kv,
                patterns=settings.vault_reference_paths,
                prefix_invalid=settings.encrypt_prefix_invalid_properties,
                failed=failures.labels("vault-reference").inc,
            )
            if kv is not None
            else None
        ),
        cache_size=settings.cache_size,
        accept_empty=settings.accept_empty,
        reverse_location_order=settings.reverse_location_order,
        strip_document_from_yaml=settings.strip_document_from_yaml,
    )
    health_accept_empty = settings.health_accept_empty
    if health_accept_empty is None:  # Spring's health.accept-empty follows accept-empty unless given
        health_accept_empty = settings.accept_empty
    app[HEALTH_ENVIRONMENTS] = EnvironmentChecks(
        app[SERVICE], settings.health_repositories, accept_empty=health_accept_empty
    )
    yield


async def _live(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[QUOTA] = WatchQuota(total=settings.max_watchers, per_holder=settings.max_watchers_per_principal)
    app[FLEET] = Fleet()
    live = LiveUpdates(app[SERVICE])
    try:
        await live.start()
        app[LIVE] = live
        yield
    finally:
        await live.close()


def _default_checks() -> tuple[Check, ...]:
    from config_server.validation.schema import schema_check

    return (schema_check,)


def _vault_references(
    kv: VaultSource,
    *,
    patterns: Sequence[str] = (),
    prefix_invalid: bool = True,
    failed: Callable[[], None] = lambda: None,
) -> ReferenceResolver:
    """Resolves ``{vault}:path#key`` values with the server's own Vault login (per request), only
    for paths the request's own Vault keys or ``patterns`` (``--vault-reference-paths``) cover;
    ``failed()`` is called once per value that cannot be resolved (metrics)."""
    from config_server.vault.references import ReferenceScope, resolve_references

    def on_failure(source: str, key: str) -> None:
        failed()
        log.warning(
            "cannot resolve the {vault} reference of %s in %s (missing, refused or out of scope)", key, source
        )

    async def resolve(sources: Sequence[PropertySource], query: Query) -> tuple[PropertySource, ...]:
        own = kv.own_paths(query.applications, query.profiles, query.labels)
        scope = ReferenceScope(own=own, patterns=tuple(patterns))
        return await resolve_references(
            sources, kv.secret, scope=scope, prefix_invalid=prefix_invalid, on_failure=on_failure
        )

    return resolve


def _decryptor(
    ring: KeyRing | None, *, prefix_invalid: bool, failed: Callable[[], None] = lambda: None
) -> Decryptor:
    """Decrypts ``{cipher}`` values in a worker thread; ``failed()`` (thread-safe) is called
    once per value that cannot be decrypted (metrics)."""
    from config_server.crypto.environment import decrypt_sources

    def on_failure(source: str, key: str, alias: str | None) -> None:
        failed()
        log.warning("cannot decrypt %s in %s (key %s)", key, source, alias or "default")

    async def decrypt(sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
        return await asyncio.to_thread(
            decrypt_sources, sources, ring, on_failure=on_failure, prefix_invalid=prefix_invalid
        )

    return decrypt


async def _as_served(sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
    """The decryptor of ``--encrypt-enabled false``: values are served as they are."""
    return tuple(sources)


def load_overrides(settings: Settings) -> PropertySource | None:
    """The ``overrides`` source from ``--overrides-file`` (YAML, .properties or JSON)."""
    path = settings.overrides_file
    if path is None:
        return None
    from config_server.formats import parse_document_file
    from config_server.formats.flatten import scalar_text

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidConfiguration(str(path), f"cannot read overrides file: {exc.strerror}") from None
    try:
        documents = parse_document_file(str(path), data)
    except ValueError as exc:  # an extension no parser knows
        raise InvalidConfiguration(str(path), str(exc)) from None
    values: dict[str, Any] = {}
    for doc in documents:
        # Spring binds overrides to a Map<String, String>: every value is served as text.
        values.update({k: scalar_text(v.value) for k, v in doc.properties.items()})
    return overrides_source(values)


def vault_settings(settings: Settings) -> VaultSettings | None:
    """The Vault adapter's settings from the server's (None without ``--vault-url``)."""
    from config_server.vault.settings import VaultSettings

    if settings.vault_url is None:
        return None
    try:
        return VaultSettings(
            url=settings.vault_url,
            kv_mount=settings.vault_kv_mount,
            kv_version=settings.vault_kv_version,
            namespace=settings.vault_namespace,
            default_key=settings.vault_default_key,
            profile_separator=settings.vault_profile_separator,
            enable_label=settings.vault_enable_label,
            default_label=settings.vault_default_label,
            path_to_key=settings.vault_path_to_key,
            token=settings.vault_token,
            role_id=settings.vault_role_id.reveal() if settings.vault_role_id else None,
            secret_id=settings.vault_secret_id,
            stale_ttl=settings.vault_stale_ttl,
        )
    except ValueError as exc:
        raise KeyFormatError(f"invalid Vault settings: {exc}") from None


def _extra_keys(settings: Settings) -> dict[str, str]:
    if settings.encrypt_keys is None:
        return {}
    out: dict[str, str] = {}
    for item in settings.encrypt_keys.reveal().split(","):
        alias, sep, key = item.strip().partition("=")
        if not sep or not alias.strip() or not key:
            raise KeyFormatError("--encrypt-keys must be a comma list of ALIAS=KEY")
        out[alias.strip()] = key
    return out


def _alias_in(keys: Mapping[str, Any], alias: str) -> str | None:
    """The key of ``keys`` that is ``alias`` in any case (None: absent)."""
    folded = alias.casefold()
    return next((name for name in keys if name.casefold() == folded), None)


def build_keyring(settings: Settings, *, transit: Any = None) -> KeyRing | None:
    """The key ring for ``settings``; None when no key at all is configured (and no transit)."""
    from config_server.crypto.keyring import KeyRing
    from config_server.crypto.keystore import DEFAULT_ALIAS, load_rsa_keys, parse_rsa_keys
    from config_server.crypto.rsa import RsaEncryptor
    from config_server.crypto.symmetric import SymmetricEncryptor

    keys: dict[str, Any] = {}
    default: str | None = None
    primary: str | None = None
    if settings.encrypt_key is not None:
        key = settings.encrypt_key.reveal()
        if "PRIVATE KEY-----" in key:  # Spring: an inline PEM key pair is an RSA key (§5.4)
            material = next(iter(parse_rsa_keys(key.encode(), password=None).values()))
            keys["default"] = RsaEncryptor.from_key(
                material,
                algorithm=settings.encrypt_rsa_algorithm,
                strong=settings.encrypt_rsa_strong,
                salt=settings.encrypt_rsa_salt,
            )
        else:
            keys["default"] = SymmetricEncryptor(key, settings.encrypt_salt)
        default = primary = "default"

    def add(alias: str, encryptor: Any) -> None:
        # A dict would replace the first key silently; KeyRing refuses spellings differing in case.
        if alias in keys:
            raise KeyFormatError(f"the key alias '{alias}' is given twice")
        keys[alias] = encryptor

    for alias, key in _extra_keys(settings).items():
        add(alias, SymmetricEncryptor(key, settings.encrypt_salt))
    if settings.encrypt_keystore is not None:
        password = settings.encrypt_keystore_password.reveal() if settings.encrypt_keystore_password else None
        secret = settings.encrypt_key_secret.reveal() if settings.encrypt_key_secret else None
        loaded = load_rsa_keys(
            settings.encrypt_keystore,
            password=password,
            key_password=secret,
            type=settings.encrypt_keystore_type,
            alias=settings.encrypt_key_alias,
        )
        if settings.encrypt_key_alias is None and list(loaded) == [DEFAULT_ALIAS] and DEFAULT_ALIAS in keys:
            # A PEM (or unnamed PKCS#12) key has no alias of its own: beside --encrypt-key, which
            # is "default", it is "rsa", so both stay usable.
            loaded = {"rsa": loaded[DEFAULT_ALIAS]}
        for alias, material in loaded.items():
            add(
                alias,
                RsaEncryptor.from_key(
                    material,
                    algorithm=settings.encrypt_rsa_algorithm,
                    strong=settings.encrypt_rsa_strong,
                    salt=settings.encrypt_rsa_salt,
                ),
            )
        chosen = settings.encrypt_key_alias or next(iter(loaded), None)
        if chosen is not None:
            # Java's keystores match aliases in any case (JKS stores them lower-cased).
            found = _alias_in(loaded, chosen)
            if found is None:
                raise KeyFormatError(f"no key with alias '{chosen}' in the keystore")
            default = primary = found
    if settings.encrypt_primary is not None:
        primary = settings.encrypt_primary
        if _alias_in(keys, primary) is None and not primary.startswith("transit:"):
            raise KeyFormatError(f"--encrypt-primary names an unknown key alias '{primary}'")
    if not keys and transit is None:
        return None
    return KeyRing(
        keys=keys,
        default=default,
        primary=primary,
        transit=transit,
        # Only --encrypt-key, as in a plain Spring setup, where {key:...} names select nothing.
        single_key_ignores_names=settings.encrypt_keystore is None and not settings.encrypt_keys,
    )


async def start_vault(settings: Settings) -> VaultClientManager | None:
    """Start the server's Vault identity (None when Vault is not configured)."""
    if settings.vault_url is None:
        return None
    vault = vault_settings(settings)
    assert vault is not None
    manager = VaultClientManager(vault)
    await manager.start()
    return manager
