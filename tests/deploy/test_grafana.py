"""deploy/grafana: the dashboards are current, well formed, and every expression runs on a real Prometheus."""

from __future__ import annotations

import importlib.util
import json
import re
import urllib.error
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import DEPLOY
from tests.deploy.stack import Stack, running_stack

GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# Grafana's own variables, as Grafana would fill them in; ours become "All" (the regex .*).
BUILTIN = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "$__range_s": "3600"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def expressions(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target, annotation and query variable, variables substituted."""
    names = [v["name"] for v in board["templating"]["list"]]
    found: list[tuple[str, str]] = []
    for p in board["panels"]:
        found += [(f"panel {p['title']!r}", t["expr"]) for t in p["targets"]]
    found += [(f"annotation {a['name']!r}", a["expr"]) for a in board["annotations"]["list"] if "expr" in a]
    for v in board["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.+), *\w+\)", v["query"]["query"])
            assert m, v["query"]
            found.append((f"variable {v['name']}", m.group(1)))
    out = []
    for where, expr in found:
        for key, value in BUILTIN.items():
            expr = expr.replace(key, value)
        for name in names:
            expr = expr.replace(f"${name}", ".*")
        assert "$" not in expr, (where, expr)
        out.append((where, expr))
    return out


def test_dashboards_are_current() -> None:
    gen = _generator()
    assert sorted(gen.DASHBOARDS) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == gen.render(path.name), f"regenerate: python {GRAFANA / 'generate.py'}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    board = _load(path)
    assert board["uid"].startswith("dialtone-") and board["panels"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]


def test_dashboard_uids_are_unique_and_provisioned() -> None:
    uids = [_load(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids)) == 4
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/dialtone.yml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]
    (ds,) = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())["datasources"]
    assert ds["type"] == "prometheus"


def test_overview_shows_maintenance_as_an_annotation() -> None:
    board = _load(GRAFANA / "dashboards/overview.json")
    assert any("maintenance" in a.get("expr", "") for a in board["annotations"]["list"])


def voice_b_in_maintenance(component: str, now: object) -> bool:
    return component == "voice-b"


async def _errors(stack: Stack, exprs: list[tuple[str, str]]) -> list[str]:
    errors = []
    for where, expr in exprs:
        try:
            await stack.query(expr)
        except (RuntimeError, urllib.error.HTTPError) as exc:
            body = exc.read().decode() if isinstance(exc, urllib.error.HTTPError) else str(exc)
            errors.append(f"{where}: {expr}\n  {body}")
    return errors


async def test_every_expression_runs_on_prometheus(tmp_path: Path) -> None:
    async with running_stack(tmp_path, maintenance=voice_b_in_maintenance) as stack:
        # Wait for data and for the recording rules, so the panels built on them return something.
        await stack.until("component:dialtone_status:code")
        await stack.until('component:dialtone_sli_errors:ratio_avg1h{component="voice-a"}')
        every = [(f"{p.name} {where}", e) for p in DASHBOARDS for where, e in expressions(_load(p))]
        assert len(every) > 40
        assert await _errors(stack, every) == []
        # ... and the check can fail: a malformed expression is reported.
        assert await _errors(stack, [("broken", "sum by (component (probe_success)")])
        overview = dict(expressions(_load(GRAFANA / "dashboards/overview.json")))
        status = await stack.query(overview["panel 'Component status'"])
        assert {s["metric"]["component"]: s["value"][1] for s in status} == {
            "voice-a": "0",
            "voice-b": "4",
            "portal": "0",
        }
        assert await stack.query(overview["annotation 'Maintenance'"])
        agent = dict(expressions(_load(GRAFANA / "dashboards/agent.json")))
        rate = await stack.until(agent["panel 'Probes per second by kind and result'"])
        assert {(r["metric"]["kind"], r["metric"]["result"]) for r in rate} == {("http", "success")}
