"""Module-wide real snmpds: a plain one, and one with `pass` scripts whose values tests move by rewriting files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.core.model import Target
from agent.probes import ProbeContext
from agent.probes.snmp import SnmpProbe
from agent.probes.snmp_config import SnmpConfig
from agent.snmp.events import DeviceEvent
from tests.peers.snmpd import Snmpd, write_pass_script

IF_IN_ERRORS = ".1.3.6.1.2.1.2.2.1.14"
IF_OPER_STATUS = ".1.3.6.1.2.1.2.2.1.8"
ACTIVE_CALLS = ".1.3.6.1.4.1.99999.7"
CALLS_TOTAL = ".1.3.6.1.4.1.99999.8"


@dataclass
class Agent:
    """The running snmpd and the files behind its `pass` OIDs."""

    snmpd: Snmpd
    files: dict[str, Path]

    def set(self, oid: str, value: int) -> None:
        """Make the agent serve `value` at `<oid>.1` from the next request on."""
        self.files[oid].write_text(f"{value}\n")


def start_agent(tmp: Path) -> Agent:
    """snmpd with pass_persist scripts: lo's ifInErrors and ifOperStatus, a gauge and a counter under 99999."""
    files: dict[str, Path] = {}
    extra: list[str] = []
    for n, (oid, kind, initial) in enumerate(
        [
            (IF_IN_ERRORS, "counter", 4294967290),
            (IF_OPER_STATUS, "integer", 1),
            (ACTIVE_CALLS, "gauge", 120),
            (CALLS_TOTAL, "counter", 1000),
        ]
    ):
        files[oid] = tmp / f"value{n}"
        files[oid].write_text(f"{initial}\n")
        script = write_pass_script(tmp / f"pass{n}.sh", oid, files[oid], kind)
        extra.append(f"pass_persist {oid} /bin/sh {script}")
    return Agent(Snmpd(tmp, extra=extra).start(), files)


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A plain real net-snmp agent (no pass_persist scripts) for the module."""
    agent = Snmpd(tmp_path_factory.mktemp("snmpd-plain")).start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """One snmpd for the module."""
    a = start_agent(tmp_path_factory.mktemp("snmpd"))
    try:
        yield a
    finally:
        a.snmpd.stop()


def target(timeout: float = 2.0, tid: str = "sbc1") -> Target:
    """A target for the snmp kind."""
    return Target(id=tid, component="voice", kind="snmp", timeout=timeout)


@pytest.fixture
async def make_probe() -> AsyncIterator[Callable[..., tuple[SnmpProbe, list[DeviceEvent]]]]:
    """Build probes from config dicts; each records its events; all are closed at the end."""
    probes: list[SnmpProbe] = []

    def build(**block: Any) -> tuple[SnmpProbe, list[DeviceEvent]]:
        events: list[DeviceEvent] = []
        probe = SnmpProbe(SnmpConfig.model_validate(block), ProbeContext(device_events=events.append))
        probes.append(probe)
        return probe, events

    yield build
    for p in probes:
        await p.aclose()
