"""The ``validate`` and ``hook`` subcommands: argparse, settings and keys, output and exit status.

Exit status: 0 when the configuration is clean, 1 with problems, 2 for a usage or infrastructure
error (a bad flag, an unknown revision, an unreachable remote, a key that cannot be loaded).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from config_server.crypto.keyring import KeyRing
from config_server.errors import ConfigServerError, InvalidRequest
from config_server.names import parse_names, parse_profiles
from config_server.settings import Settings, SettingsError, add_arguments, load_settings, secret_flags
from config_server.validation.check import Options, Report, check
from config_server.validation.hook import install_hook, parse_updates
from config_server.validation.problems import FORMATS, format_text

if TYPE_CHECKING:
    from config_server.validation.snapshot import Snapshot

__all__ = ["add_hook_parser", "add_validate_parser", "hook_command", "validate_command"]

EXIT_PROBLEMS = 1
EXIT_USAGE = 2

_T = TypeVar("_T")
log = logging.getLogger(__name__)


def _add_names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--application",
        action="append",
        default=[],
        metavar="NAME",
        help="also check this application (repeatable; the files name the others)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="also resolve every application with this profile (repeatable)",
    )


def add_validate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate`` to the ``config-server`` subcommands."""
    parser = sub.add_parser(
        "validate",
        help="check a configuration repository: parsing, {cipher} values, JSON Schemas",
        description="Check every configuration file of a working copy, a revision or a remote the "
        "way the server reads them: each file parses, each {cipher} value decrypts with the "
        "configured keys, each application and profile resolves, and each application's merged "
        "configuration validates against schemas/{application}.schema.json when there is one. "
        "Prints FILE:LINE: MESSAGE per problem; exit 0 clean, 1 problems, 2 usage or I/O errors "
        "or no configuration file found. "
        "Keys and --search-paths are read as `serve` reads them (flags, CONFIG_SERVER_*, --config).",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a working copy, or a git repository with --ref (default: the current directory)",
    )
    parser.add_argument("--ref", metavar="REF", help="check this branch, tag or commit, not the working copy")
    _add_names(parser)
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text: FILE:LINE: MESSAGE lines; github: GitHub Actions annotations (default: text)",
    )
    add_arguments(parser)


def add_hook_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hook install`` and ``hook pre-receive`` to the ``config-server`` subcommands."""
    hook = sub.add_parser("hook", help="a git pre-receive hook that refuses pushes that do not validate")
    actions = hook.add_subparsers(dest="hook_command", required=True, metavar="ACTION")
    install = actions.add_parser(
        "install",
        help="install the pre-receive hook into a bare repository",
        description="Write BARE_REPO/hooks/pre-receive: every push is validated as `config-server "
        "validate` would (at each pushed commit) and refused with the problems. The hook records "
        "the --config path, never its content: keys are read at push time.",
    )
    install.add_argument("repository", type=Path, metavar="BARE_REPO")
    install.add_argument("--config", type=Path, metavar="FILE", help="settings file read at each push (keys)")
    install.add_argument("--search-paths", metavar="LIST", help="as `serve --search-paths`")
    _add_names(install)
    install.add_argument("--force", action="store_true", help="replace a hook that is not ours")
    run = actions.add_parser(
        "pre-receive", help="what the installed hook runs (reads git's ref updates on standard input)"
    )
    _add_names(run)
    add_arguments(run)


def _settings(args: argparse.Namespace) -> Settings:
    given = dict(vars(args))
    given["repo"] = "-"  # the repository is PATH or --repo, read below, never the server's setting
    settings = load_settings(given)
    for flag in secret_flags(args):
        log.warning("%s was given on the command line, where every local user can read it", flag)
    return settings


def _options(args: argparse.Namespace, settings: Settings, label: str) -> Options:
    apps = tuple(app for name in args.application for app in parse_names(name)[1])
    profiles = tuple(p for name in args.profile for p in parse_profiles(name))
    return Options(settings.search_paths, apps, profiles, label, decrypt=settings.encrypt_enabled)


def _with_ring(settings: Settings, work: Callable[[KeyRing | None], _T]) -> _T:
    """Run ``work(ring)`` with the configured key ring (None: no key), Vault transit included."""
    from config_server import components

    if settings.vault_url is None:
        return work(components.build_keyring(settings))

    async def run() -> _T:
        manager = await components.start_vault(settings)
        try:
            from config_server.vault.transit import VaultTransit

            transit = VaultTransit(manager) if manager is not None else None
            ring = components.build_keyring(settings, transit=transit)
            return await asyncio.to_thread(work, ring)
        finally:
            if manager is not None:
                await manager.close()

    return asyncio.run(run())


def _snapshot(args: argparse.Namespace, settings: Settings) -> Snapshot:
    # Imported here: GitPython looks for git at import, and `--help` must work without it.
    from config_server.validation.snapshot import is_git_directory, read_git, read_remote, read_worktree

    if args.repo is not None:
        if args.path is not None:
            raise InvalidRequest("give PATH or --repo, not both")
        from config_server.components import git_access

        return read_remote(
            args.repo,
            args.ref,
            settings.search_paths,
            default_label=settings.default_label,
            access=git_access(settings),  # --git-* credentials and timeout, as the server's
            try_master=settings.git_try_master_branch,
        )
    path = args.path or Path()
    if args.ref is not None:
        if not is_git_directory(path):
            raise InvalidRequest(f"--ref needs a git repository, and {path} is not one")
        return read_git(path, args.ref, settings.search_paths)
    if (path / "HEAD").is_file() and (path / "objects").is_dir():  # a bare repository: its HEAD
        return read_git(path, "HEAD", settings.search_paths)
    return read_worktree(path, settings.search_paths)


def _fail(message: str) -> int:
    print(f"config-server: {message}", file=sys.stderr)
    return EXIT_USAGE


def _summary(report: Report, seconds: float) -> str:
    counts = (
        f"{report.files} file(s), {report.applications} application(s), "
        f"{report.environments} environment(s), {report.schemas} schema(s) in {seconds:.2f} s"
    )
    if report.problems:
        files = len({p.path for p in report.problems})
        head = f"{len(report.problems)} problem(s) in {files} file(s)"
    else:
        head = "no problems"
    out = f"config-server validate: {head} ({counts})"
    if report.unchecked_ciphers:
        out += (
            f"; {report.unchecked_ciphers} {{cipher}} value(s) not checked: no key configured "
            "(--encrypt-key, --encrypt-keystore or --config)"
        )
    return out


def _nothing_found(args: argparse.Namespace, settings: Settings) -> str:
    from config_server.sources.git.refs import display_uri

    where = display_uri(args.repo) if args.repo is not None else str(args.path or Path())
    at = f" at {args.ref}" if args.ref else ""
    paths = f" (search paths: {','.join(settings.search_paths)})" if settings.search_paths else ""
    return (
        f"no configuration file found in {where}{at}{paths}: give the configuration repository as "
        "PATH or --repo (the --config file's repo is not read)"
    )


def validate_command(args: argparse.Namespace) -> int:
    """``config-server validate``; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="config-server: %(message)s")
    started = time.perf_counter()
    try:
        settings = _settings(args)
        label = args.ref or settings.default_label
        options = _options(args, settings, label)
        snapshot = _snapshot(args, settings)
        report = _with_ring(settings, lambda ring: check(snapshot.files, snapshot.dirs, options, ring=ring))
    except SettingsError as exc:
        return _fail(str(exc))
    except ConfigServerError as exc:
        return _fail(exc.message)
    if report.files == 0:  # a wrong directory (or --ref) in CI must not pass for a clean repository
        return _fail(_nothing_found(args, settings))
    show = FORMATS[args.format]
    for problem in report.problems:
        print(show(problem))
    print(_summary(report, time.perf_counter() - started), file=sys.stderr)
    return EXIT_PROBLEMS if report.problems else 0


def hook_command(args: argparse.Namespace) -> int:
    """``config-server hook install`` and ``hook pre-receive``; returns the exit status."""
    if args.hook_command == "install":
        return _install(args)
    return _pre_receive(args)


def _install(args: argparse.Namespace) -> int:
    arguments: list[str] = []
    try:
        if args.config is not None:
            config = args.config.resolve()
            _settings(argparse.Namespace(config=config))  # refuse a file the hook could not read
            arguments += ["--config", str(config)]
        if args.search_paths is not None:
            arguments += ["--search-paths", args.search_paths]
        for name in args.application:
            parse_names(name)
            arguments += ["--application", name]
        for name in args.profile:
            parse_profiles(name)
            arguments += ["--profile", name]
        target = install_hook(args.repository, arguments, force=args.force)
    except SettingsError as exc:
        return _fail(str(exc))
    except ConfigServerError as exc:
        return _fail(exc.message)
    except OSError as exc:
        return _fail(f"cannot write the hook: {exc.strerror} {exc.filename or ''}".rstrip())
    print(f"installed {target}")
    return 0


def _pre_receive(args: argparse.Namespace) -> int:
    # git runs the hook in the repository; the pushed objects are visible through the quarantine
    # variables git set in this environment, which the git commands below inherit.
    from config_server.validation.snapshot import read_git

    repository = Path(os.environ.get("GIT_DIR", "."))
    updates = [u for u in parse_updates(sys.stdin.read()) if not u.deletes]
    refused = False
    try:
        settings = _settings(args)

        def validate_all(ring: KeyRing | None) -> list[tuple[str, str, Report]]:
            out = []
            for update in updates:
                snapshot = read_git(repository, update.new, settings.search_paths)
                options = _options(args, settings, update.label)
                report = check(snapshot.files, snapshot.dirs, options, ring=ring)
                out.append((update.ref, update.new, report))
            return out

        reports = _with_ring(settings, validate_all)
    except SettingsError as exc:
        return _fail(f"cannot validate this push, so it is refused: {exc}")
    except ConfigServerError as exc:
        return _fail(f"cannot validate this push, so it is refused: {exc.message}")
    for ref, commit, report in reports:
        if report.problems:
            refused = True
            print(
                f"config-server: {ref} ({commit[:12]}) has {len(report.problems)} configuration "
                "problem(s); the push is refused:",
                file=sys.stderr,
            )
            for problem in report.problems:
                print(format_text(problem), file=sys.stderr)
    return EXIT_PROBLEMS if refused else 0
