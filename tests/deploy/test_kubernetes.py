"""``deploy/kubernetes/``: valid for Kubernetes 1.30 (offline schemas, strict), and consistent.

Core objects are checked with ``kubernetes-validate`` against the Kubernetes 1.30 OpenAPI schemas
in strict mode (a misspelt field fails). The ServiceMonitor is a CRD those schemas do not know: it
is checked against ``servicemonitor.schema.json`` here, a subset of prometheus-operator's CRD.
The rest checks what no schema can: selectors that pick the pods, probes on the server's paths,
secrets only as mounted files, a grace period that covers the stop, settings that exist.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from config_server.auth.principal import Principal
from config_server.http.routes import Action
from config_server.policy import parse_policy
from config_server.settings import OPTIONS
from tests.deploy.conftest import DOCKERFILE, Manifest, manifests, one

KUBERNETES_VERSION = "1.30.0"
CRD_KINDS = {"ServiceMonitor"}
SCHEMA = json.loads((Path(__file__).parent / "servicemonitor.schema.json").read_text())


def _container() -> dict[str, Any]:
    containers = one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _pod_labels() -> dict[str, str]:
    return dict(one("Deployment")["spec"]["template"]["metadata"]["labels"])


def _env() -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in _container()["env"]}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _mounted_under(path: str) -> dict[str, Any]:
    """The volume whose mount holds ``path`` (the longest mount path that is a prefix)."""
    mounts = [
        m for m in _container()["volumeMounts"] if (path + "/").startswith(m["mountPath"].rstrip("/") + "/")
    ]
    assert mounts, f"{path} is on no mounted volume"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    volumes = {v["name"]: v for v in one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    return dict(volumes[mount["name"]])


@pytest.mark.parametrize("manifest", [m for m in manifests() if m.kind not in CRD_KINDS], ids=str)
def test_each_core_object_is_valid_for_kubernetes(manifest: Manifest) -> None:
    """Every core object passes kubernetes-validate (strict) for Kubernetes 1.30."""
    kubernetes_validate.validate(manifest.body, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_the_validation() -> None:
    """The validation can fail: ``replica`` for ``replicas`` is refused in strict mode."""
    deployment = copy.deepcopy(one("Deployment"))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_service_monitor_matches_its_schema() -> None:
    """The ServiceMonitor passes the bundled subset of its CRD's schema (and a typo would not)."""
    monitor = one("ServiceMonitor")
    jsonschema.validate(monitor, SCHEMA)
    typo = copy.deepcopy(monitor)
    typo["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(typo, SCHEMA)


def test_every_object_the_deployment_needs_is_there() -> None:
    """A Deployment, a Service, a headless Service for peers, a PDB, a NetworkPolicy, a ServiceMonitor."""
    kinds = sorted(m.kind for m in manifests())
    for kind in ("Deployment", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"):
        assert kinds.count(kind) == 1, kind
    assert kinds.count("Service") == 2


def test_three_replicas_with_requests_and_limits() -> None:
    """Three replicas, rolled one at a time with none unavailable; CPU and memory requested and limited."""
    spec = one("Deployment")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    resources = _container()["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[bound]), bound


def test_probes_ask_liveness_and_readiness_on_the_http_port() -> None:
    """Readiness on /actuator/health/readiness; liveness and start-up on /actuator/health/liveness."""
    container = _container()
    assert container["ports"] == [{"name": "http", "containerPort": 8888, "protocol": "TCP"}]
    paths = {
        probe: (container[probe]["httpGet"]["path"], container[probe]["httpGet"]["port"])
        for probe in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert paths == {
        "readinessProbe": ("/actuator/health/readiness", "http"),
        "livenessProbe": ("/actuator/health/liveness", "http"),
        "startupProbe": ("/actuator/health/liveness", "http"),
    }


def test_the_pod_runs_as_the_images_user_on_a_read_only_root() -> None:
    """Non-root as the Dockerfile's uid, no privilege escalation, no capability, read-only root."""
    pod = one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    user = re.search(r"^USER (\d+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert user is not None
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == int(user.group(1))
    container = _container()["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]


def test_the_clone_and_tmp_are_empty_dirs() -> None:
    """Under the read-only root the clone (basedir) and /tmp are writable emptyDirs."""
    basedir = _env()["CONFIG_SERVER_BASEDIR"]["value"]
    assert "emptyDir" in _mounted_under(basedir)
    assert "emptyDir" in _mounted_under("/tmp")


def test_secrets_are_mounted_files_never_environment_values() -> None:
    """Vault AppRole, git token, users and audit key come from Secret volumes via *_FILE variables."""
    env = _env()
    secret_envs = {option.env for option in OPTIONS if option.secret}
    assert not secret_envs & set(env), "a secret setting as an environment value"
    for name in (
        "CONFIG_SERVER_VAULT_ROLE_ID_FILE",
        "CONFIG_SERVER_VAULT_SECRET_ID_FILE",
        "CONFIG_SERVER_GIT_PASSWORD_FILE",
        "CONFIG_SERVER_AUDIT_KEY_FILE",
        "CONFIG_SERVER_AUTH_USERS",
    ):
        assert "secret" in _mounted_under(env[name]["value"]), name


def test_every_config_server_variable_names_a_setting() -> None:
    """Each CONFIG_SERVER_* variable of the Deployment and the ConfigMap is a setting (or its _FILE form)."""
    known = {option.env for option in OPTIONS} | {option.env + "_FILE" for option in OPTIONS if option.secret}
    names = set(_env()) | set(one("ConfigMap", "config-server")["data"])
    unknown = {name for name in names if name.startswith("CONFIG_SERVER_")} - known
    assert not unknown


def test_the_grace_period_covers_the_pause_and_the_shutdown_timeout() -> None:
    """terminationGracePeriodSeconds > preStop sleep + --shutdown-timeout: never a SIGKILL mid-stop."""
    pod = one("Deployment")["spec"]["template"]["spec"]
    pause = _container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep" and 0 < int(pause[1]) <= 10
    timeout = float(_env()["CONFIG_SERVER_SHUTDOWN_TIMEOUT"]["value"])
    assert pod["terminationGracePeriodSeconds"] > int(pause[1]) + timeout


def test_selectors_pick_the_servers_pods() -> None:
    """The Deployment, both Services, the PDB and the NetworkPolicy select the pod template's labels."""
    labels = _pod_labels()
    assert _selects(one("Deployment")["spec"]["selector"]["matchLabels"], labels)
    for service in ("config-server", "config-server-peers"):
        assert _selects(one("Service", service)["spec"]["selector"], labels), service
    assert _selects(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
    assert _selects(one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"], labels)


def test_the_service_monitor_scrapes_the_service_once() -> None:
    """The ServiceMonitor picks the Service (not the peers one) by port name, on /actuator/prometheus."""
    monitor = one("ServiceMonitor")["spec"]
    selector = monitor["selector"]["matchLabels"]
    service = one("Service", "config-server")
    assert _selects(selector, service["metadata"]["labels"])
    assert not _selects(selector, one("Service", "config-server-peers")["metadata"]["labels"])
    [endpoint] = monitor["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/actuator/prometheus"


def test_the_peers_service_is_headless_and_lists_every_replica() -> None:
    """clusterIP None (DNS answers each pod) and not-ready pods listed (a stale one needs the push)."""
    spec = one("Service", "config-server-peers")["spec"]
    assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True


def test_the_access_policy_of_the_config_map_parses() -> None:
    """The policy.yml the pods mount is one the server accepts."""
    text = one("ConfigMap", "config-server-policy")["data"]["policy.yml"]
    parse_policy(text, source="policy.yml")


def test_the_scraper_of_the_service_monitor_may_scrape_and_nothing_more() -> None:
    """The policy gives the Secret's scraper user (``prometheus``, as the README creates it) the
    ``admin`` action that /actuator/prometheus needs, and no configuration or keys."""
    policy = parse_policy(one("ConfigMap", "config-server-policy")["data"]["policy.yml"], source="policy.yml")
    scraper = Principal.user("prometheus")
    assert policy.decide(scraper, Action.ADMIN).allowed
    for action in (Action.READ, Action.DECRYPT, Action.KEY):
        assert not policy.decide(scraper, action, applications=["prometheus"]).allowed
    monitor = one("ServiceMonitor", "config-server")["spec"]["endpoints"][0]
    assert monitor["path"] == "/actuator/prometheus"
    assert monitor["basicAuth"]["username"]["name"] == "config-server-scraper"
