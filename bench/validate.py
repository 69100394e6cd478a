"""Validation benchmark: ``config-server validate`` on a repository of many services, per push.

Generates a git repository of ``--apps`` applications, each with ``{app}.yml`` and one file per
profile (``dev``, ``prod``, ``staging``), a shared ``application.yml`` and ``application-{profile}``
files, one application in ``--schema-every`` with ``schemas/{app}.schema.json`` (and ``{cipher}``
values, decrypted with the configured key). Then times, best of ``--rounds``:

* ``parse only`` (the baseline): read the same blobs from git and parse each file once
  (``formats.parse_document_file``), nothing else;
* ``validate --ref`` in-process: what the pre-receive hook does after Python has started (git
  read, parse, {cipher}, every application x profile resolved, schemas);
* ``hook process``: ``python -m config_server validate --ref`` as a new process (what each push
  pays, interpreter start-up and imports included).

Prints a Markdown table with each time and its ratio to the baseline measured in the same run.

    .venv/bin/python bench/validate.py                    # 1,000 applications x 3 profiles
    .venv/bin/python bench/validate.py --apps 200 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from config_server.cli import main as cli_main
from config_server.crypto.symmetric import SymmetricEncryptor
from config_server.formats import parse_document_file
from config_server.validation.snapshot import read_git

KEY = "bench-validate-key"
PROFILES = ("dev", "prod", "staging")


def generate(root: Path, apps: int, schema_every: int) -> None:
    """Write and commit the repository."""
    cipher = "{cipher}" + SymmetricEncryptor(KEY).encrypt("db-password")
    files: dict[str, str] = {
        "application.yml": "logging:\n  level:\n    root: INFO\nmanagement:\n  endpoints: [health, info]\n",
    }
    for profile in PROFILES:
        files[f"application-{profile}.yml"] = f"logging:\n  level:\n    root: {profile.upper()}\n"
    schema = {
        "type": "object",
        "required": ["server", "datasource"],
        "properties": {
            "server": {"type": "object", "properties": {"port": {"type": "integer", "maximum": 65535}}},
            "datasource": {
                "type": "object",
                "properties": {"url": {"type": "string"}, "pool": {"type": "integer", "minimum": 1}},
            },
        },
    }
    for n in range(apps):
        app = f"service-{n:04d}"
        files[f"{app}.yml"] = (
            f"server:\n  port: {8000 + n % 1000}\ndatasource:\n  url: jdbc:postgresql://db/{app}\n"
            f"  pool: 5\n  password: '{cipher}'\nfeatures:\n"
            + "".join(f"  flag-{i}: {str(i % 2 == 0).lower()}\n" for i in range(10))
        )
        for profile in PROFILES:
            files[f"{app}-{profile}.yml"] = f"datasource:\n  pool: {3 + len(profile)}\nregion: eu-{profile}\n"
        if n % schema_every == 0:
            files[f"schemas/{app}.schema.json"] = json.dumps(schema, indent=2)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "services"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


def best(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def parse_only(root: Path) -> None:
    snapshot = read_git(root, "main", ())
    for path, data in snapshot.files.items():
        if not path.startswith("schemas/"):
            parse_document_file(path, data)


def validate_in_process(root: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["validate", str(root), "--ref", "main"])
    if code != 0:
        raise SystemExit(f"validate found problems in the generated repository (exit {code})")


def validate_process(root: Path) -> None:
    env = {**os.environ, "CONFIG_SERVER_ENCRYPT_KEY": KEY}
    subprocess.run(
        [sys.executable, "-m", "config_server", "validate", str(root), "--ref", "main"],
        env=env,
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--schema-every", type=int, default=10, help="one application in N has a schema")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["CONFIG_SERVER_ENCRYPT_KEY"] = KEY
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        root = Path(tmp)
        generate(root, args.apps, args.schema_every)
        files = 4 + args.apps * (1 + len(PROFILES))
        print(
            f"{args.apps} applications x {len(PROFILES)} profiles: {files} files, "
            f"{args.apps // args.schema_every + (args.apps % args.schema_every > 0)} schemas; "
            f"Python {platform.python_version()}, best of {args.rounds}\n"
        )
        baseline = best(args.rounds, lambda: parse_only(root))
        rows = [
            ("parse only (baseline)", baseline),
            ("validate --ref, in-process", best(args.rounds, lambda: validate_in_process(root))),
            ("validate --ref, new process", best(args.rounds, lambda: validate_process(root))),
        ]
    print("| | seconds | x baseline |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / baseline:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
