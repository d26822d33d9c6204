"""Start-up imports only what a command uses: the config loads no protocol stack, `--help` no pydantic.

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
