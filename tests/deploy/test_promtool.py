"""promtool on deploy/prometheus: the configs load, the rules check, and their unit tests pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.deploy import burn_cases
from tests.deploy.helpers import DEPLOY, REPO, RULES, RUNBOOKS, alert_rules, run
from tests.peers.base import require_binary

UNIT_TESTS = sorted((DEPLOY / "prometheus/tests").glob("*.yml"))
CONFIGS = [DEPLOY / "prometheus/prometheus.yml", DEPLOY / "docker/prometheus.yml"]


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "prometheus")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_check_config(promtool: str, config: Path) -> None:
    got = run([promtool, "check", "config", str(config)])
    assert got.returncode == 0, got.stdout + got.stderr
    assert f"SUCCESS: {len(RULES)} rule files found" in got.stdout + got.stderr


def test_check_rules(promtool: str) -> None:
    got = run([promtool, "check", "rules", *map(str, RULES)])
    assert got.returncode == 0, got.stdout + got.stderr


@pytest.mark.parametrize("unit", UNIT_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests(promtool: str, unit: Path) -> None:
    got = run([promtool, "test", "rules", unit.name], cwd=unit.parent)
    assert got.returncode == 0, got.stdout + got.stderr


def test_burn_rate_unit_test_is_current() -> None:
    assert (DEPLOY / "prometheus/tests/slo_burn_test.yml").read_text() == burn_cases.build(), (
        "regenerate with: .venv/bin/python -m tests.deploy.burn_cases"
    )


def test_burn_cases_straddle_every_threshold() -> None:
    """Each tier and alert has a component just above and one just below `rate x budget`."""
    cases = burn_cases.cases()
    for tier, target in burn_cases.TIERS.items():
        for alert, (rate, *_rest) in burn_cases.ALERTS.items():
            name = burn_cases.SHORT[alert]
            threshold = rate * (1 - target)
            assert cases[f"{tier}-{name}-above"][1] > threshold > cases[f"{tier}-{name}-below"][1]


def test_unit_tests_cover_every_alert() -> None:
    text = "\n".join(p.read_text() for p in UNIT_TESTS)
    missing = [r["alert"] for r in alert_rules() if not re.search(rf'alertname(: |="){re.escape(r["alert"])}\b', text)]
    assert not missing, f"alerts no promtool test exercises: {missing}"


def test_every_alert_is_labelled_for_routing() -> None:
    """severity, priority, scope, a component (from the series or static) and a runbook that exists."""
    for rule in alert_rules():
        labels, name = rule.get("labels", {}), rule["alert"]
        assert labels.get("severity") in {"page", "ticket", "info"}, name
        assert labels.get("scope") in {"service", "agent"}, name
        if labels["severity"] != "info":
            assert labels.get("priority") in {"P1", "P2", "P3"}, name
        # A static component, or kept through the aggregation, or an unaggregated dialtone/probe series.
        aggregated = re.search(r"\b(sum|max|min|avg|count|histogram_quantile)\b", rule["expr"])
        assert "component" in labels or re.search(r"\bcomponent\b", rule["expr"]) or not aggregated, name
        url = rule["annotations"]["runbook_url"]
        path = url.split("/blob/main/", 1)[1]
        assert path.startswith("docs/runbooks/") and (REPO / path).is_file(), (name, url)
        assert rule["annotations"].get("summary"), name


def test_every_runbook_is_used() -> None:
    used = {r["annotations"]["runbook_url"].rsplit("/", 1)[1] for r in alert_rules()}
    assert {p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md"} == used


def test_p1_alerts_are_pages() -> None:
    for rule in alert_rules():
        if rule["labels"].get("priority") == "P1":
            assert rule["labels"]["severity"] == "page", rule["alert"]


def test_rule_files_are_all_loaded_by_the_config() -> None:
    for config in CONFIGS:
        files = yaml.safe_load(config.read_text())["rule_files"]
        matched = {p for pattern in files for p in (config.parent / pattern).parent.glob(Path(pattern).name)}
        assert {p.resolve() for p in matched} == {p.resolve() for p in RULES}, config
