"""The access policy: which principal may do which action on which applications (pure, but ``PolicyFile``).

The policy is a YAML file (``--access-policy``)::

    roles:                       # roles for principals that carry none themselves
      config-admin: ["user:ops"]
    rules:
      - principals: ["user:*", "jwt:*", "spiffe://cluster.local/ns/*/sa/*"]
        applications: ["{name}"]        # the principal's own name
        profiles: ["*"]
        labels: ["main", "release-*"]
        actions: [read]
      - principals: ["role:config-admin"]
        applications: ["*"]
        actions: [read, encrypt, decrypt, key]

Principals: ``user:NAME`` (Basic), ``jwt:SUBJECT``, ``cert:CN``, a SPIFFE ID as it is, and
``role:ROLE`` (a role from the JWT roles claim or from ``roles:``). Actions: ``read``,
``encrypt``, ``decrypt``, ``key``, ``monitor``, ``health-details``, ``admin`` (the ``/actuator``
endpoints beyond health and the probes: ``/actuator/prometheus`` today; give it to a scraper's
principal with no ``applications`` field, as such a request names none). Files written before
``admin`` existed mean what they meant: no rule of theirs grants it.

Matching:
- In every pattern ``*`` matches any run of characters except ``/``; a pattern that is ``*``
  alone matches everything (labels such as ``feature/x`` too). ``{name}`` is the principal's own
  name (the user, the JWT subject, the last segment of a SPIFFE ID, the CN), matched literally.
- A rule applies when one of its principals matches, its actions include the action, and every
  application, profile and label the request names matches one of the rule's patterns. A field
  left out matches anything. A request that names no application (``POST /encrypt``), no profile
  or no label is matched only by rules that leave that field out or list ``*``.
- A request without a label is matched as the default label. A request for several
  applications (``orders,payments``) needs each of them allowed, by one rule or another.
- The first rule that allows wins; when none does, the request is denied.

A file that does not follow this format (an unknown key, an unknown action, a principal of no known
form) is refused as a whole, naming the rule and the problem: a typo must never widen access.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config_server.auth.principal import Principal
from config_server.errors import InvalidConfiguration
from config_server.filewatch import read_text
from config_server.http.routes import Action

__all__ = ["Decision", "Policy", "PolicyFile", "Rule", "parse_policy"]

log = logging.getLogger(__name__)

_PRINCIPAL_FORMS = ("user:", "jwt:", "role:", "cert:", "spiffe://")
_RULE_KEYS = frozenset({"principals", "applications", "profiles", "labels", "actions"})
_ACTIONS = {a.value: a for a in Action}


def _glob_regex(pattern: str) -> str:
    return "[^/]*".join(re.escape(part) for part in pattern.split("*"))


@lru_cache(maxsize=4096)
def _compile(pattern: str, name: str) -> re.Pattern[str]:
    if pattern == "*":
        return re.compile(r".*", re.DOTALL)
    # {name} is the principal's own name, matched as written (never as a pattern of its own).
    regex = re.escape(name).join(_glob_regex(part) for part in pattern.split("{name}"))
    return re.compile(regex, re.DOTALL)


def _glob(pattern: str, value: str, name: str = "") -> bool:
    return _compile(pattern, name if "{name}" in pattern else "").fullmatch(value) is not None


def _matches_any(patterns: Iterable[str], value: str, name: str) -> bool:
    return any(_glob(pattern, value, name) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow rule; ``None`` fields match anything."""

    principals: tuple[str, ...]
    actions: frozenset[Action]
    applications: tuple[str, ...] | None = None
    profiles: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None

    def admits(self, principal: Principal, roles: frozenset[str]) -> bool:
        """Whether one of the rule's principal patterns matches ``principal`` (with ``roles``)."""
        for pattern in self.principals:
            if pattern.startswith("role:"):
                if any(_glob(pattern[5:], role) for role in roles):
                    return True
            elif _glob(pattern, principal.id):
                return True
        return False

    def covers(self, field: tuple[str, ...] | None, values: Sequence[str], name: str) -> bool:
        """Whether the patterns ``field`` admit every one of ``values`` (see the module)."""
        if field is None:
            return True
        if not values:
            return "*" in field
        return all(_matches_any(field, value, name) for value in values)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one request: allowed or not, and by which rule (its index, from 0)."""

    allowed: bool
    rule: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed access policy: the ``roles:`` map and the ordered allow ``rules``."""

    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def roles_of(self, principal: Principal) -> frozenset[str]:
        """The principal's own roles plus those the ``roles:`` map gives it."""
        mapped = {
            role
            for role, members in self.roles.items()
            if any(_glob(member, principal.id) for member in members)
        }
        return principal.roles | frozenset(mapped)

    def decide(
        self,
        principal: Principal,
        action: Action,
        *,
        applications: Sequence[str] = (),
        profiles: Sequence[str] = (),
        labels: Sequence[str] = (),
    ) -> Decision:
        """Whether ``principal`` may do ``action`` on what the request names (see the module)."""
        roles = self.roles_of(principal)
        candidates = [
            (index, rule)
            for index, rule in enumerate(self.rules)
            if action in rule.actions
            and rule.admits(principal, roles)
            and rule.covers(rule.profiles, profiles, principal.name)
            and rule.covers(rule.labels, labels, principal.name)
        ]
        if not applications:
            for index, rule in candidates:
                if rule.covers(rule.applications, (), principal.name):
                    return Decision(True, index, roles)
            return Decision(False, None, roles)
        first: int | None = None
        for application in applications:
            allowing = next(
                (i for i, r in candidates if r.covers(r.applications, (application,), principal.name)), None
            )
            if allowing is None:
                return Decision(False, None, roles)
            first = allowing if first is None else first
        return Decision(True, first, roles)


def _strings(value: Any, where: str, *, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidConfiguration(source, f"{where} must be a non-empty list of strings")
    return tuple(value)


def _principal_pattern(pattern: str, where: str, *, source: str, roles: bool = True) -> str:
    if pattern == "*" or pattern.startswith(_PRINCIPAL_FORMS):
        if pattern.startswith("role:") and not roles:
            raise InvalidConfiguration(source, f"{where}: a role cannot be a member of a role ('{pattern}')")
        return pattern
    raise InvalidConfiguration(
        source,
        f"{where}: '{pattern}' is no principal form (user:, jwt:, role:, cert:, spiffe://)",
    )


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse and validate a policy document; raises ``InvalidConfiguration`` naming the problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        line = mark.line + 1 if mark is not None else None
        raise InvalidConfiguration(source, f"not valid YAML: {problem}", line=line) from None
    if not isinstance(data, dict):
        raise InvalidConfiguration(source, "a policy is a mapping with 'rules' (and 'roles')")
    unknown = set(data) - {"roles", "rules"}
    if unknown:
        raise InvalidConfiguration(source, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    roles_data = data.get("roles") or {}
    if not isinstance(roles_data, dict):
        raise InvalidConfiguration(source, "'roles' must map role names to lists of principals")
    roles: dict[str, tuple[str, ...]] = {}
    for role, members in roles_data.items():
        where = f"roles.{role}"
        patterns = _strings(members, where, source=source)
        roles[str(role)] = tuple(_principal_pattern(p, where, source=source, roles=False) for p in patterns)
    rules_data = data.get("rules")
    if not isinstance(rules_data, list) or not rules_data:
        raise InvalidConfiguration(source, "'rules' must be a non-empty list")
    rules: list[Rule] = []
    for number, item in enumerate(rules_data, start=1):
        where = f"rule {number}"
        if not isinstance(item, dict):
            raise InvalidConfiguration(source, f"{where} must be a mapping")
        unknown = set(item) - _RULE_KEYS
        if unknown:
            raise InvalidConfiguration(
                source, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}"
            )
        for required in ("principals", "actions"):
            if required not in item:
                raise InvalidConfiguration(source, f"{where}: '{required}' is required")
        principals = tuple(
            _principal_pattern(p, f"{where}.principals", source=source)
            for p in _strings(item["principals"], f"{where}.principals", source=source)
        )
        actions: set[Action] = set()
        for name in _strings(item["actions"], f"{where}.actions", source=source):
            if name not in _ACTIONS:
                known = ", ".join(_ACTIONS)
                raise InvalidConfiguration(source, f"{where}: unknown action '{name}' (known: {known})")
            actions.add(_ACTIONS[name])
        optional = {
            key: _strings(item[key], f"{where}.{key}", source=source) if key in item else None
            for key in ("applications", "profiles", "labels")
        }
        rules.append(Rule(principals, frozenset(actions), **optional))
    return Policy(roles, tuple(rules))


class PolicyFile:
    """The policy of one file; ``load()`` reads it, ``reload()`` after a change keeps the old on error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.policy = Policy()

    def load(self) -> Policy:
        """Read and validate the file; raises ``InvalidConfiguration`` (the old policy stays)."""
        text = read_text(self.path, "policy")
        self.policy = parse_policy(text, source=str(self.path))
        return self.policy

    def reload(self) -> bool:
        """Re-read after a change; True if the new policy is in force (else it is logged, old kept)."""
        try:
            self.load()
        except InvalidConfiguration as exc:
            log.error("access policy not reloaded, keeping the previous one: %s", exc.message)
            return False
        log.info("access policy %s reloaded: %d rule(s)", self.path, len(self.policy.rules))
        return True
