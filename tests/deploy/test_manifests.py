"""deploy/docker, deploy/kubernetes, deploy/systemd: schema-valid, consistent with each other, and hardened.

No Docker engine or Kubernetes cluster runs here, so nothing is built or applied: compose is validated against
the Compose Specification's JSON Schema (vendored in tests/deploy/schemas from check-jsonschema), the
manifests against Kubernetes' own schemas (kubernetes-validate, offline), the units by systemd-analyze.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import kubernetes_validate  # type: ignore[import-untyped]  # ships no py.typed
import pytest
import yaml

from agent.runtime.config import load_config
from tests.deploy.helpers import DEPLOY, REPO, run
from tests.peers.base import require_binary

DOCKER = DEPLOY / "docker"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.30"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
UNITS = sorted(SYSTEMD.glob("*.service"))


# --- Docker ----------------------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yaml").read_text()))


def _compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def test_compose_matches_the_compose_spec_schema() -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _compose_validator().iter_errors(_compose())
    ]
    assert errors == []


def test_compose_schema_catches_mistakes() -> None:
    bad = copy.deepcopy(_compose())
    bad["services"]["agent"]["restart_policy"] = "always"  # not a service key
    assert list(_compose_validator().iter_errors(bad))


def test_compose_runs_the_whole_stack() -> None:
    services = _compose()["services"]
    assert set(services) == {"agent", "mosquitto", "prometheus", "alertmanager", "grafana", "site"}
    assert services["site"]["image"].startswith("nginx")
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_compose_mounts_exist_in_the_repository() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), (name, volume)
    # Prometheus gets deploy/ at /deploy, so its config's relative rule path holds inside the container too.
    prom = _compose()["services"]["prometheus"]
    assert "..:/deploy:ro" in prom["volumes"]
    assert "--config.file=/deploy/docker/prometheus.yml" in prom["command"]


def _dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    return [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"(?m)^\s*([A-Za-z]+)\s+(.*)$", text)
        if not m.group(0).lstrip().startswith("#")
    ]


def test_dockerfile_is_slim_non_root_with_a_healthcheck() -> None:
    steps = _dockerfile()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    (base,) = [arg for op, arg in final if op == "FROM"]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, users
    (health,) = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert "/-/healthy" in health and "--timeout=" in health
    copies = [arg.split()[0] for op, arg in steps if op == "COPY" and not arg.startswith("--")]
    for source in copies:
        assert (REPO / source).exists(), source
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text()
    for source in copies:
        assert f"!{source.rstrip('/')}" in ignore.replace("/\n", "\n"), source


@pytest.mark.parametrize("path", [DOCKER / "dialtone.yaml"], ids=lambda p: p.name)
def test_shipped_agent_configs_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_SIP_PASSWORD", "not-a-real-one")
    monkeypatch.setenv("DIALTONE_MQTT_PASSWORD", "not-a-real-one")
    config = load_config(path)
    assert config.listen.startswith("0.0.0.0:")  # reachable from the other containers and the healthcheck
    assert str(config.history.path).startswith("/var/lib/dialtone/")


# --- Kubernetes ------------------------------------------------------------------------------------------


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kind(kind: str) -> dict[str, Any]:
    (doc,) = [d for p in MANIFESTS for d in _docs(p) if d["kind"] == kind]
    return doc


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_matches_the_kubernetes_schema(path: Path) -> None:
    for doc in _docs(path):
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked against the Service below
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_schema_catches_mistakes() -> None:
    bad = copy.deepcopy(_kind("Deployment"))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}  # misspelt key
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS if "example" not in p.name)


def test_deployment_is_hardened_and_references_the_secret() -> None:
    spec = _kind("Deployment")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    (container,) = spec["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    secret = _docs(K8S / "secret.example.yaml")[0]
    assert refs and all(r["name"] == secret["metadata"]["name"] and r["key"] in secret["stringData"] for r in refs)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/lib/dialtone"] == "data"
    config_map = {v["name"]: v for v in spec["volumes"]}[mounts["/etc/dialtone"]]["configMap"]["name"]
    assert config_map == _kind("ConfigMap")["metadata"]["name"]


def test_configmap_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_SIP_PASSWORD", "not-a-real-one")
    monkeypatch.setenv("DIALTONE_MQTT_PASSWORD", "not-a-real-one")
    path = tmp_path / "dialtone.yaml"
    path.write_text(_kind("ConfigMap")["data"]["dialtone.yaml"])
    config = load_config(path)
    assert config.listen == "0.0.0.0:9469"
    assert str(config.history.path).startswith("/var/lib/dialtone/")


def test_service_and_servicemonitor_select_the_agent() -> None:
    pod_labels = _kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = _kind("Service")
    monitor = _kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    container_ports = {p["name"] for p in _kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"]}
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports and endpoint["path"] == "/metrics"


# --- systemd ---------------------------------------------------------------------------------------------


def _installed_copy(unit: Path, dst: Path) -> Path:
    """The unit with ExecStart pointed at this venv's dialtone (verify checks the binary exists)."""
    dst.mkdir(parents=True, exist_ok=True)
    name = unit.name.replace("@.", "@pop-den.")
    binary = shutil.which("dialtone", path=str(REPO / ".venv/bin")) or str(REPO / ".venv/bin/dialtone")
    (dst / name).write_text(unit.read_text().replace("/opt/dialtone/bin/dialtone", binary))
    return dst / name


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze", "systemd")
    got = run([analyze, "verify", str(_installed_copy(unit, tmp_path))])
    assert got.returncode == 0 and got.stderr.strip() == "", got.stderr


def test_systemd_analyze_verify_catches_mistakes(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze", "systemd")
    unit = _installed_copy(SYSTEMD / "dialtone.service", tmp_path)
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=strictly"))
    assert "protect system value" in run([analyze, "verify", str(unit)]).stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_are_hardened(unit: Path, tmp_path: Path) -> None:
    text = unit.read_text()
    for line in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "LimitNOFILE=65536\n",
    ):
        assert line in text, line
    assert re.search(r"(?m)^StateDirectory=dialtone", text)
    analyze = require_binary("systemd-analyze", "systemd")
    got = run([analyze, "security", "--offline=true", str(_installed_copy(unit, tmp_path))])
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", got.stdout)
    assert m, got.stdout + got.stderr
    assert float(m.group(1)) <= 2.0, got.stdout  # systemd rates <= 2.0 "OK"
