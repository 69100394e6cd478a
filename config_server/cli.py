"""``config-server``: ``serve``; ``encrypt``, ``decrypt``, ``reencrypt`` values; ``passwd``; ``audit verify``;
``validate`` a repository; ``hook install`` (a pre-receive hook that runs validate on every push).

The serving and {cipher} subcommands read the same settings (flags, ``CONFIG_SERVER_*`` environment
variables, an optional ``--config`` YAML file); see ``config-server serve --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from config_server import __version__, errortracking, logs, tracing
from config_server.audit_verify import add_audit_parser, audit_command
from config_server.errors import ConfigServerError, InvalidRequest, Unavailable
from config_server.settings import (
    Settings,
    SettingsError,
    add_arguments,
    authenticates,
    load_settings,
    secret_flags,
)
from config_server.validation.command import (
    add_hook_parser,
    add_validate_parser,
    hook_command,
    validate_command,
)

__all__ = ["drain_seconds", "main", "serve"]

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="config-server",
        description="A configuration server for microservices that speaks the Spring Cloud Config protocol.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Each option's help states its own default: argparse's defaults are all None so that the
    # environment and the --config file can be told apart from an explicit flag.
    serve = sub.add_parser(
        "serve",
        help="serve configuration over HTTP",
        description="Serve configuration from a git repository (and Vault) over HTTP. "
        "Each flag can also be set with the environment variable shown, or in the "
        "--config file; flag beats environment beats file beats default.",
    )
    add_arguments(serve)
    enc = sub.add_parser("encrypt", help="print the {cipher} form of a value")
    enc.add_argument("value", help="the plain text; '-' reads standard input")
    add_arguments(enc)
    dec = sub.add_parser("decrypt", help="print the plain text of an encrypted value")
    dec.add_argument("value", help="the cipher text, with or without the {cipher} prefix; '-' reads stdin")
    add_arguments(dec)
    re_ = sub.add_parser("reencrypt", help="rewrite the {cipher} values of files to the primary key")
    re_.add_argument("path", type=Path, help="a file or a directory of a working copy")
    add_arguments(re_)
    pw = sub.add_parser(
        "passwd",
        help="add a Basic user to an htpasswd file, or change its password (argon2id)",
        description="Add USER to the htpasswd FILE (--auth-users), or change its password. The "
        "password is read from the terminal (twice), or as one line from standard input when "
        "that is not a terminal. A running server re-reads the file by itself.",
    )
    pw.add_argument("file", type=Path, help="the htpasswd file (created if absent, mode 0600)")
    pw.add_argument("user", help="the user name (the principal user:NAME in the access policy)")
    add_audit_parser(sub)
    add_validate_parser(sub)
    add_hook_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "passwd":
        return _passwd(args.file, args.user)
    if args.command == "audit":  # reads its key only, not the server's settings
        return audit_command(args)
    if args.command == "validate":  # reads a repository of its own (PATH or --repo)
        return validate_command(args)
    if args.command == "hook":
        return hook_command(args)
    needs_repo = args.command == "serve"
    try:
        if not needs_repo and args.repo is None:
            args.repo = "-"  # the crypto commands do not read git
        settings = load_settings(args)
    except SettingsError as exc:
        parser.exit(2, f"config-server: {exc}\n")
    logs.configure(
        settings.log_level, settings.log_format, exception_messages=settings.log_exception_messages
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every change at INFO
    for flag in secret_flags(args):
        log.warning(
            "%s was given on the command line, where every local user can read it (ps, "
            "/proc/<pid>/cmdline): use %s-file or the environment instead",
            flag,
            flag,
        )
    if args.command == "serve" and settings.workers > 1:
        from config_server.cluster.workers import run_workers

        try:
            return run_workers(settings, _serve_command)
        except OSError as exc:
            return _fail(EXIT_UNAVAILABLE, _os_error(exc, settings))
    if args.command == "serve":
        return _serve_command(settings)
    try:
        return _crypto_command(args, settings)
    except ConfigServerError as exc:  # the value, the key or the file: the command failed
        return _fail(1, exc.message)


def _serve_command(settings: Settings, private: socket.socket | None = None) -> int:
    """``serve`` with its exit statuses: 0, or ``EXIT_SETTINGS``/``EXIT_UNAVAILABLE`` and one line."""
    try:
        return _serve(settings, private)
    except Unavailable as exc:  # a resource (git remote, Vault, a port) is not there now: retry
        return _fail(EXIT_UNAVAILABLE, exc.message)
    except ConfigServerError as exc:  # a setting, key, file or credential is wrong: fix it
        return _fail(EXIT_SETTINGS, exc.message)
    except OSError as exc:
        # A host name that cannot exist is a setting to fix; a resolver that failed for now is not.
        bad_host = isinstance(exc, socket.gaierror) and exc.errno != socket.EAI_AGAIN
        return _fail(EXIT_SETTINGS if bad_host else EXIT_UNAVAILABLE, _os_error(exc, settings))


EXIT_SETTINGS = 2
"""Exit status of a start-up that failed on a bad setting, file, key or credential."""
EXIT_UNAVAILABLE = 1
"""Exit status of a start-up that failed on a resource that is not available now."""


def _fail(code: int, message: str) -> int:
    """One line on stderr, never a traceback: what failed and, where we know, how to fix it."""
    print(f"config-server: {message}", file=sys.stderr)
    return code


def _os_error(exc: OSError, settings: Settings) -> str:
    if isinstance(exc, socket.gaierror):  # its errno is an EAI_* code, not an errno
        return f"cannot resolve --host {settings.host}: {exc.strerror or 'unknown host'} (check --host)"
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or type(exc).__name__)
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {settings.host}:{settings.port}: {reason} "
            "(another process has the port: stop it or choose another --port)"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES) and exc.filename is None:
        return f"cannot listen on {settings.host}:{settings.port}: {reason} (check --host and --port)"
    where = f" {exc.filename}" if exc.filename else ""
    return f"{reason}{where}"


def _serve(settings: Settings, private: socket.socket | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C during shutdown
        asyncio.run(serve(settings, private=private))
    return 0


async def serve(settings: Settings, *, private: socket.socket | None = None) -> None:
    """Run the server until SIGTERM or SIGINT; every resource opened is closed on the way out.

    ``private`` is a ``--workers`` worker's own loopback socket (bound, plain HTTP), where its
    siblings forward webhooks; such a worker shares ``--port`` with them (``SO_REUSEPORT``).

    aiohttp's ``web.run_app`` calls ``runner.setup()`` outside its cleanup, so a start-up that
    fails halfway (a bad key after git started) would leave the resources opened before it
    running; here ``runner.cleanup()`` closes them, in reverse order, whatever happened. A signal
    only sets an event: shutdown then runs in this task, while the loop is still whole, so no
    task or worker thread is left for ``asyncio.run`` to cancel (a watcher thread left behind
    would keep the process from exiting).

    The stop, in order (aiohttp's ``runner.cleanup()``): the listening socket closes (new
    connections are refused; the orchestrator sends them to another replica), idle keep-alive
    connections close, held long polls are answered 304 at once (``on_shutdown``: their clients
    re-poll elsewhere), requests in flight get ``drain_seconds(settings.shutdown_timeout)`` to
    finish and are cancelled after it, then every resource closes (the audit log last: its
    ``stop`` line follows the lines of those requests, and is flushed).
    """
    from aiohttp import web

    from config_server import components
    from config_server.http.app import RUNNER_OPTIONS, create_app
    from config_server.http.protocol import ConnectionLimits, HardenedAppRunner

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tracing.configure()  # OTEL_* variables; a no-op without the otel extra
    errortracking.configure_sentry(settings)  # SENTRY_DSN; a no-op without it
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    app = create_app(settings)
    if private is not None:
        app[components.WORKER_PORT] = private.getsockname()
    runner = HardenedAppRunner(
        app,
        limits=ConnectionLimits.from_settings(settings),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=drain_seconds(settings.shutdown_timeout),
        **RUNNER_OPTIONS,
    )
    try:
        await runner.setup()
        tls = app[components.TLS]
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            ssl_context=tls.context if tls else None,
            reuse_port=True if private is not None else None,
        )
        await site.start()
        if private is not None:
            await web.SockSite(runner, private).start()
        auditor = app[components.AUDITOR]
        if auditor is not None:
            loop.add_signal_handler(signal.SIGHUP, auditor.reopen)  # logrotate's postrotate
        if not authenticates(settings):
            log.warning(
                "serving WITHOUT authentication: anyone who can connect reads every configuration"
                + (" (--allow-anonymous)" if settings.allow_anonymous else " (loopback only)")
            )
        for address in runner.addresses:
            host, port = address[:2]
            if private is not None and address == private.getsockname():
                log.info("worker %d: its siblings forward webhooks to http://%s:%d", os.getpid(), host, port)
                continue
            scheme = "https" if tls else "http"
            log.info("serving on %s://%s:%d", scheme, f"[{host}]" if ":" in host else host, port)
        await stop.wait()
        log.info(
            "stopping: answering held long polls, up to %.1f s for requests in flight",
            drain_seconds(settings.shutdown_timeout),
        )
    finally:
        for signum in (*_STOP_SIGNALS, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
        await asyncio.to_thread(tracing.shutdown)  # export the spans still queued
        await asyncio.to_thread(errortracking.close_sentry)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def drain_seconds(shutdown_timeout: float) -> float:
    """Of ``--shutdown-timeout`` seconds, those requests in flight get: all but the last two
    (half, below four seconds), kept for cancelling them, closing git, Vault and the audit log,
    and the interpreter's exit (over a second on a loaded machine)."""
    return shutdown_timeout - min(2.0, shutdown_timeout / 2)


def _passwd(path: Path, user: str) -> int:
    import getpass

    from config_server.auth.basic import set_user

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {user}: ")
        if getpass.getpass("Again: ") != password:
            return _fail(1, "the passwords differ; nothing changed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        return _fail(1, "an empty password; nothing changed")
    try:
        new = set_user(path, user, password)
    except ValueError as exc:
        return _fail(2, str(exc))
    except ConfigServerError as exc:
        return _fail(2, exc.message)
    except OSError as exc:
        return _fail(1, f"cannot write {path}: {exc.strerror}")
    print(f"{'added' if new else 'changed the password of'} {user} in {path}")
    return 0


def _read_value(value: str) -> str:
    return sys.stdin.read().rstrip("\n") if value == "-" else value


def _crypto_command(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_crypto_async(args, settings))


async def _crypto_async(args: argparse.Namespace, settings: Settings) -> int:
    from config_server import components

    manager = await components.start_vault(settings)
    try:
        transit = None
        if manager is not None:
            from config_server.vault.transit import VaultTransit

            transit = VaultTransit(manager)
        ring = components.build_keyring(settings, transit=transit)
        if ring is None:
            print("config-server: no key configured (--encrypt-key or --encrypt-keystore)", file=sys.stderr)
            return 1
        if args.command == "encrypt":
            out = await asyncio.to_thread(ring.encrypt, _read_value(args.value))
            print("{cipher}" + out)
            return 0
        if args.command == "decrypt":
            text = _read_value(args.value).removeprefix("{cipher}")
            print(await asyncio.to_thread(ring.decrypt, text))
            return 0
        return await asyncio.to_thread(_reencrypt, args.path, ring)
    finally:
        if manager is not None:
            await manager.close()


def _reencrypt(path: Path, ring: object) -> int:
    from config_server.crypto.reencrypt import reencrypt_text

    if not path.exists():
        raise InvalidRequest(f"No such file or directory: {path}")
    files = (
        [path]
        if path.is_file()
        else sorted(
            p
            for p in path.rglob("*")
            if p.suffix in (".yml", ".yaml", ".properties", ".json") and ".git" not in p.parts and p.is_file()
        )
    )
    # Every file is re-encrypted in memory first: one value that cannot be decrypted stops the
    # command before anything is written, so a working copy is never left half rotated.
    changed: list[tuple[Path, str, str, int]] = []
    for file in files:
        encoding = "iso-8859-1" if file.suffix == ".properties" else "utf-8"
        kind = file.suffix.lstrip(".")
        try:
            with file.open(encoding=encoding, newline="") as fh:  # keep CRLF line ends as they are
                text = fh.read()
        except OSError as exc:
            raise InvalidRequest(f"Cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidRequest(f"Cannot read {file}: not {encoding} text") from None
        new, count = reencrypt_text(text, ring, kind=kind, name=str(file))  # type: ignore[arg-type]
        if count:
            changed.append((file, new, encoding, count))
    for file, new, encoding, count in changed:
        with file.open("w", encoding=encoding, newline="") as fh:
            fh.write(new)
        print(f"{file}: {count} value(s) re-encrypted")
    print(f"{sum(c for *_, c in changed)} value(s) re-encrypted")
    return 0
