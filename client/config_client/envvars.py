"""Environment-variable overrides with Spring Boot's relaxed binding. Pure: the environment is a
parameter.

The rule, exactly: a variable overrides a key the merged configuration (server plus local file)
already has when its name equals ``prefix + env_name(key)`` (see :func:`config_client.keys.env_name`:
``db.url`` -> ``DB_URL``, ``my.list[0]`` -> ``MY_LIST_0_``, ``server.max-threads`` ->
``SERVER_MAXTHREADS``) or ``prefix + key`` verbatim. The value replaces the pulled one as a string,
element by element for lists. Variables cannot add keys: the mapping is one-way (``DB_URL`` could
mean ``db.url``, ``db-url`` or ``db_url``), so only names the configuration defines are looked up.
"""

from __future__ import annotations

from collections.abc import Mapping

from config_client.keys import env_name
from config_client.wire import Scalar

__all__ = ["apply_env_overrides", "env_overrides"]


def env_overrides(
    keys: Mapping[str, Scalar], environ: Mapping[str, str], *, prefix: str = ""
) -> dict[str, str]:
    """The keys of ``keys`` that ``environ`` overrides, with the overriding values."""
    found: dict[str, str] = {}
    for key in keys:
        for candidate in (prefix + env_name(key), prefix + key):
            value = environ.get(candidate)
            if value is not None:
                found[key] = value
                break
    return found


def apply_env_overrides(
    values: Mapping[str, Scalar], environ: Mapping[str, str], *, prefix: str = ""
) -> dict[str, Scalar]:
    """A copy of ``values`` with every overridden key replaced; the key order is kept."""
    merged: dict[str, Scalar] = dict(values)
    merged.update(env_overrides(values, environ, prefix=prefix))
    return merged
