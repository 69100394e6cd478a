"""Validation of a configuration repository before it is served: ``config-server validate`` and
the ``pre-receive`` hook (``config-server hook install``).

::

    problems.py   Problem (path, line, message); text and GitHub-annotation forms, escaped
    discover.py   from file names alone: configuration files, schemas, applications, profiles (pure)
    schema.py     JSON Schema (draft 2020-12) of a merged environment -> problems at file:line (pure)
    check.py      check(): parse, {cipher}, resolve every application x profile, schemas (pure but keys)
    snapshot.py   the files of a working copy, a local revision or a remote (git I/O)
    hook.py       the pre-receive hook's text and its installation
    command.py    the subcommands: argparse, settings and keys, output, exit status
"""

from __future__ import annotations

from config_server.validation.check import Options, Report, check
from config_server.validation.problems import Problem, format_github, format_text

__all__ = ["Options", "Problem", "Report", "check", "format_github", "format_text"]
