"""Start-up imports only what a command uses: the config loads no protocol stack, `--help` no pydantic,
and `check-config`, `schema`, `deadlines` and `maintenance list` none of the stacks, clients or page rendering.

Each check runs a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.cli.commands import health_report, sla
from agent.contract.format import FORMATS as SLA_FORMATS
from agent.probes import KINDS, PROBE_CONFIGS
from agent.snmp.health_format import FORMATS as HEALTH_FORMATS

ROOT = Path(__file__).resolve().parents[2]
STACKS = (
    "agent.sip.transport",
    "agent.sip.ua",
    "agent.voice",
    "agent.snmp.client",
    "pysnmp",
    "aiomqtt",
    "aiohttp",
    "jinja2",
    "statuspage.render",
)


HEAVY = (
    *STACKS,
    "agent.sip.transaction",
    "agent.probes.sip",
    "agent.probes.http.probe",
    "agent.probes.pstn.probe",
    "agent.net.httpwire",
    "agent.net.netconn",
    "agent.net.tlsinfo",
    "agent.aggregate.payload",
    "agent.contract.sla",
    "agent.runtime.app",
    "agent.sinks.prometheus",
    "agent.sinks.mqtt",
    "agent.sinks.outbox",
    "agent.history",
    "prometheus_client",
    "asyncio",
    "ssl",
    "logging",
    "markdown",
    "statuspage.safe_markdown",
    "statuspage.site",
)
"""What no quick command uses: protocol stacks, probes, the asyncio client, the agent, sinks, the SLA
calculation, page rendering, and logging (none of them logs)."""


def loaded_after(code: str) -> list[str]:
    """The module names a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    names: list[str] = json.loads(out.stdout.splitlines()[-1])
    return names


def under(names: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The names that are one of `prefixes` or inside one of them."""
    return [n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)]


def test_loading_the_shipped_config_imports_no_protocol_stack() -> None:
    names = loaded_after("from agent.runtime.config import load_config\nload_config('config/dialtone.yaml')")
    assert "agent.runtime.config" in names
    assert under(names, STACKS) == []


def test_help_registers_every_command_without_pydantic_or_the_config() -> None:
    names = loaded_after("from agent.cli.entry import build_parser\nbuild_parser()")
    assert "agent.cli.commands.check_config" in names and "agent.cli.commands.sla" in names
    assert under(names, ("pydantic", "yaml", "agent.runtime", "agent.probes", "statuspage", *STACKS)) == []


def test_a_probe_module_loads_when_its_kind_is_first_built() -> None:
    names = loaded_after("from agent.probes import PROBES\nPROBES['tcp']")
    assert "agent.probes.tcp" in names and "agent.probes.sip" not in names and under(names, ("pysnmp",)) == []


def test_lazy_command_modules_offer_the_formats_their_work_renders() -> None:
    assert sla.FORMATS == SLA_FORMATS
    assert health_report.FORMATS == HEALTH_FORMATS


def test_every_kind_names_a_target_key_its_config_has() -> None:
    assert list(KINDS) == list(PROBE_CONFIGS)
    for kind in KINDS.values():
        assert kind.target_key in kind.config.model_fields, kind.name
        assert kind.kind_metrics() is not None and callable(kind.factory())


def loaded_by_command(*argv: str) -> list[str]:
    """The module names a fresh `dialtone ARGV` holds when it has finished (it must exit 0)."""
    return loaded_after(f"from agent.cli.entry import main\nassert main({list(argv)!r}) == 0")


def test_check_config_loads_the_config_and_the_posts_but_no_stack_or_rendering() -> None:
    names = loaded_by_command("check-config", "config/dialtone.yaml")
    assert {"agent.runtime.config", "statuspage.incidents"} <= set(names)
    assert under(names, HEAVY) == []


def test_schema_loads_the_config_models_only() -> None:
    names = loaded_by_command("schema")
    assert "agent.runtime.config" in names
    assert under(names, (*HEAVY, "statuspage.incidents")) == []


def test_deadlines_and_maintenance_list_load_neither_the_config_nor_the_page() -> None:
    unused = (*HEAVY, "yaml", "agent.runtime", "agent.probes", "agent.notify", "statuspage")
    deadlines = loaded_by_command("deadlines", "--priority", "P2", "--opened", "2026-11-20T17:30-08:00")
    assert "agent.contract.priority" in deadlines
    assert under(deadlines, (*unused, "dateutil.rrule", "agent.maintenance.calendar")) == []
    windows = loaded_by_command("maintenance", "list")
    assert "agent.maintenance.calendar" in windows
    assert under(windows, (*unused, "agent.contract")) == []
