"""The probe registry's typed context: each kind's setup adds what its probes share, once; aclose closes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.probes import COSTLY_KINDS, KINDS, PROBE_CONFIGS, ProbeContext

ROOT = Path(__file__).resolve().parents[2]
SNMP_TARGET = """  - id: gw-snmp
    component: voice
    kind: snmp
    interval: 60s
    timeout: 5s
    snmp: {address: 127.0.0.1:1161, community: public}
"""
PSTN = {
    "number": "+18015550100",
    "trunk": "sip:carrier.example.net",
    "route": "carrier-a",
    "from_number": "+18015559999",
    "answer": {"registrar": "sip:pbx.example.net", "extension": "1001"},
}


def test_a_pstn_target_is_labelled_with_its_route_unless_it_sets_one() -> None:
    block = PROBE_CONFIGS["pstn_call"].model_validate(PSTN)
    assert KINDS["pstn_call"].target_labels(block, {"team": "voice"}) == {"team": "voice", "route": "carrier-a"}
    assert KINDS["pstn_call"].target_labels(block, {"route": "mine"}) == {"route": "mine"}
    http = PROBE_CONFIGS["http"].model_validate({"url": "http://127.0.0.1/"})
    assert KINDS["http"].target_labels(http, {"team": "web"}) == {"team": "web"}


def test_only_the_kinds_that_place_calls_are_costly() -> None:
    assert sorted(COSTLY_KINDS) == ["pstn_call", "sip_call"]
    assert not KINDS["sip_options"].costly and not KINDS["http"].costly


async def test_setup_fills_each_shared_resource_once_and_aclose_closes_them() -> None:
    context = ProbeContext()
    await context.setup(["http", "tcp"])
    assert (context.sip_pool, context.snmp_engines, context.call_counters) == (None, None, None)
    await context.setup(["sip_options", "snmp", "pstn_call"])
    pool, engines, counters = context.sip_pool, context.snmp_engines, context.call_counters
    assert pool is not None and engines is not None and counters is not None
    await context.setup(["sip_call", "sip_register", "snmp"])  # already made: the same objects
    assert (context.sip_pool, context.snmp_engines, context.call_counters) == (pool, engines, counters)
    await pool.open_socket(("127.0.0.1", 9), max_size=65535)
    assert len(pool.sockets()) == 1
    await context.aclose()
    assert pool.closed and pool.sockets() == [] and len(engines) == 0


async def test_the_owner_s_resources_are_kept() -> None:
    from agent.probes.calls import CallCounters

    mine = CallCounters()
    context = ProbeContext(call_counters=mine)
    await context.setup(["pstn_call", "sip_call"])
    assert context.call_counters is mine
    await context.aclose()


def test_loading_a_config_with_every_kind_imports_no_probe_module(tmp_path: Path) -> None:
    """Validating targets of every kind needs their config models only: no probe module, no stack."""
    config = tmp_path / "every-kind.yaml"
    shipped = (ROOT / "config" / "dialtone.yaml").read_text()
    config.write_text(shipped + SNMP_TARGET)
    code = (
        "import json, sys\n"
        "from agent.runtime.config import load_config\n"
        f"config = load_config({str(config)!r})\n"
        "print(json.dumps([sorted({t.kind for t in config.targets}), sorted(sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    kinds, modules = json.loads(out.stdout.splitlines()[-1])
    assert kinds == sorted(KINDS), "the config must hold a target of every registered kind"
    assert [KINDS[k].module for k in KINDS if KINDS[k].module in modules] == []
