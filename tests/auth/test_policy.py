"""The access policy (``config_server.policy``): what a file may say, and how rules match requests."""

from __future__ import annotations

import pytest

from config_server.auth.principal import Principal
from config_server.errors import InvalidConfiguration
from config_server.http.routes import Action
from config_server.policy import Policy, parse_policy

READ = Action.READ


def policy(text: str) -> Policy:
    return parse_policy(text, source="policy.yml")


def refusal(text: str) -> str:
    with pytest.raises(InvalidConfiguration) as caught:
        policy(text)
    assert caught.value.path == "policy.yml"
    return caught.value.message


# --- parse errors: the file is refused, naming the rule and the problem


def test_an_unknown_top_level_key_is_refused_by_name() -> None:
    """A top-level key other than roles and rules (a typo: 'rule:') is named."""
    assert "unknown key(s) rule" in refusal("rule:\n  - principals: ['user:a']\n    actions: [read]\n")


def test_an_unknown_rule_key_is_refused_naming_the_rule() -> None:
    """'application:' (for applications) in rule 2 is refused as rule 2's unknown key."""
    text = (
        "rules:\n"
        "  - {principals: ['user:a'], actions: [read]}\n"
        "  - {principals: ['user:b'], application: [orders], actions: [read]}\n"
    )
    assert "rule 2: unknown key(s) application" in refusal(text)


def test_an_unknown_action_is_refused_naming_the_rule_and_the_known_ones() -> None:
    """'write' is no action: the message names the rule, the action and the known actions."""
    message = refusal("rules:\n  - {principals: ['user:a'], actions: [read, write]}\n")
    assert "rule 1: unknown action 'write'" in message
    assert "health-details" in message


def test_a_principal_of_no_known_form_is_refused() -> None:
    """'orders' (no user:, jwt:, role:, cert: or spiffe://) is refused, naming the rule's field."""
    message = refusal("rules:\n  - {principals: ['orders'], actions: [read]}\n")
    assert "rule 1.principals: 'orders' is no principal form" in message


def test_a_role_cannot_be_a_member_of_a_role() -> None:
    """roles.admin listing role:ops is refused (no nesting)."""
    text = "roles:\n  admin: ['role:ops']\nrules:\n  - {principals: ['role:admin'], actions: [read]}\n"
    assert "roles.admin: a role cannot be a member of a role" in refusal(text)


@pytest.mark.parametrize("text", ["rules: []\n", "roles: {}\n", "{}\n"])
def test_a_policy_without_rules_is_refused(text: str) -> None:
    """No rules at all is an error, not a policy that denies everything by accident."""
    assert "'rules' must be a non-empty list" in refusal(text)


def test_a_rule_without_actions_is_refused() -> None:
    """A rule must say what it allows."""
    assert "rule 1: 'actions' is required" in refusal("rules:\n  - {principals: ['user:a']}\n")


def test_an_empty_field_list_is_refused() -> None:
    """applications: [] would match nothing (or, read carelessly, everything): refused."""
    text = "rules:\n  - {principals: ['user:a'], applications: [], actions: [read]}\n"
    assert "rule 1.applications must be a non-empty list of strings" in refusal(text)


def test_invalid_yaml_names_the_line() -> None:
    """A YAML syntax error is refused with its line."""
    with pytest.raises(InvalidConfiguration) as caught:
        policy("rules:\n  - {principals: [\n")
    assert caught.value.line is not None


# --- matching


def test_a_star_does_not_cross_a_slash() -> None:
    """labels: ['release-*'] matches release-1 but not release-1/hotfix."""
    p = policy("rules:\n  - {principals: ['user:*'], labels: ['release-*'], actions: [read]}\n")
    ada = Principal.user("ada")
    assert p.decide(ada, READ, applications=["a"], labels=["release-1"]).allowed
    assert not p.decide(ada, READ, applications=["a"], labels=["release-1/hotfix"]).allowed


def test_a_bare_star_crosses_slashes() -> None:
    """labels: ['*'] matches feature/x too."""
    p = policy("rules:\n  - {principals: ['user:*'], labels: ['*'], actions: [read]}\n")
    assert p.decide(Principal.user("ada"), READ, applications=["a"], labels=["feature/x"]).allowed


def test_a_principal_star_does_not_cross_a_spiffe_segment() -> None:
    """spiffe://cluster.local/ns/*/sa/* matches one namespace segment, not two."""
    p = policy("rules:\n  - {principals: ['spiffe://cluster.local/ns/*/sa/*'], actions: [read]}\n")
    one = Principal.certificate(spiffe_id="spiffe://cluster.local/ns/prod/sa/orders", common_name=None)
    two = Principal.certificate(spiffe_id="spiffe://cluster.local/ns/a/b/sa/orders", common_name=None)
    assert p.decide(one, READ, applications=["orders"]).allowed
    assert not p.decide(two, READ, applications=["orders"]).allowed


def test_name_is_the_principals_own_name() -> None:
    """applications: ['{name}'] lets orders read orders and not payments."""
    p = policy("rules:\n  - {principals: ['user:*'], applications: ['{name}'], actions: [read]}\n")
    orders = Principal.user("orders")
    assert p.decide(orders, READ, applications=["orders"]).allowed
    assert not p.decide(orders, READ, applications=["payments"]).allowed


def test_name_of_a_spiffe_id_is_its_last_segment() -> None:
    """A workload's {name} is the service account at the end of its SPIFFE ID."""
    p = policy(
        "rules:\n  - principals: ['spiffe://cluster.local/ns/*/sa/*']\n"
        "    applications: ['{name}-*']\n    actions: [read]\n"
    )
    sa = Principal.certificate(spiffe_id="spiffe://cluster.local/ns/prod/sa/orders", common_name=None)
    assert p.decide(sa, READ, applications=["orders-api"]).allowed


def test_a_glob_looking_user_name_is_literal_in_name() -> None:
    """A user called 'o*' is {name} = 'o*' literally: it does not read orders."""
    p = policy("rules:\n  - {principals: ['user:*'], applications: ['{name}'], actions: [read]}\n")
    starry = Principal.user("o*")
    assert not p.decide(starry, READ, applications=["orders"]).allowed
    assert p.decide(starry, READ, applications=["o*"]).allowed


def test_the_roles_map_gives_roles_to_principals() -> None:
    """roles: maps user:ops to config-admin, and a role: rule then applies to it."""
    p = policy(
        "roles:\n  config-admin: ['user:ops']\n"
        "rules:\n  - {principals: ['role:config-admin'], actions: [encrypt]}\n"
    )
    assert p.decide(Principal.user("ops"), Action.ENCRYPT).allowed
    assert not p.decide(Principal.user("dev"), Action.ENCRYPT).allowed


def test_a_jwt_role_claim_counts_as_a_role() -> None:
    """A JWT's own roles match role: rules without any roles: map."""
    p = policy("rules:\n  - {principals: ['role:reader'], actions: [read]}\n")
    assert p.decide(Principal.jwt("svc", frozenset({"reader"})), READ, applications=["a"]).allowed
    assert not p.decide(Principal.jwt("svc"), READ, applications=["a"]).allowed


def test_several_applications_need_each_allowed_by_some_rule() -> None:
    """orders,payments is allowed when each is allowed (by different rules), denied when one is not."""
    p = policy(
        "rules:\n"
        "  - {principals: ['user:ada'], applications: [orders], actions: [read]}\n"
        "  - {principals: ['user:ada'], applications: [payments], actions: [read]}\n"
    )
    ada = Principal.user("ada")
    decision = p.decide(ada, READ, applications=["orders", "payments"])
    assert (decision.allowed, decision.rule) == (True, 0)
    assert not p.decide(ada, READ, applications=["orders", "billing"]).allowed


def test_fields_left_out_match_anything() -> None:
    """A rule with principals and actions only allows every application, profile and label."""
    p = policy("rules:\n  - {principals: ['user:ada'], actions: [read]}\n")
    decision = p.decide(
        Principal.user("ada"), READ, applications=["x"], profiles=["prod"], labels=["feature/y"]
    )
    assert decision.allowed


@pytest.mark.parametrize(
    ("applications", "allowed"),
    [("", True), ("applications: ['*'],", True), ("applications: [orders],", False)],
)
def test_a_request_naming_no_application_needs_star_or_the_field_left_out(
    applications: str, allowed: bool
) -> None:
    """POST /encrypt names no application: only a rule leaving it out or listing * covers it."""
    p = policy(f"rules:\n  - {{principals: ['user:ada'], {applications} actions: [encrypt]}}\n")
    assert p.decide(Principal.user("ada"), Action.ENCRYPT).allowed is allowed


def test_the_first_allowing_rule_is_reported() -> None:
    """The decision names the first rule that allows (index from 0)."""
    p = policy(
        "rules:\n"
        "  - {principals: ['user:bob'], actions: [read]}\n"
        "  - {principals: ['user:*'], actions: [read]}\n"
        "  - {principals: ['user:ada'], actions: [read]}\n"
    )
    assert p.decide(Principal.user("ada"), READ, applications=["a"]).rule == 1


def test_an_action_not_listed_is_denied() -> None:
    """read does not imply decrypt."""
    p = policy("rules:\n  - {principals: ['user:ada'], actions: [read]}\n")
    assert not p.decide(Principal.user("ada"), Action.DECRYPT).allowed


def test_no_rule_matching_denies() -> None:
    """A principal no rule names is denied."""
    p = policy("rules:\n  - {principals: ['user:ada'], actions: [read]}\n")
    decision = p.decide(Principal.user("eve"), READ, applications=["a"])
    assert (decision.allowed, decision.rule) == (False, None)


def test_admin_is_granted_only_where_a_rule_names_it() -> None:
    """``admin`` (the scraper's action) is its own: a rule with every older action grants it not."""
    p = policy(
        "rules:\n"
        "  - {principals: ['user:ops'], actions: [read, encrypt, decrypt, key, monitor, health-details]}\n"
        "  - {principals: ['user:prometheus'], actions: [admin]}\n"
    )
    assert p.decide(Principal.user("prometheus"), Action.ADMIN).allowed
    assert not p.decide(Principal.user("ops"), Action.ADMIN).allowed
    assert not p.decide(Principal.user("prometheus"), Action.READ, applications=("orders",)).allowed
