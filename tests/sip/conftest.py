"""Fixtures for the SIP tests: SIPp UAS factories and a probe runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.model import ProbeResult, Target
from agent.probes import PROBE_CONFIGS, PROBES, ProbeContext
from tests.sip.sipp import Sipp, start_sipp


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Factory: sipp("options", transport="tcp", echo=True) starts a UAS; all are stopped afterwards."""
    started: list[Sipp] = []

    def start(scenario: str, **kw: Any) -> Sipp:
        peer = start_sipp(scenario, tmp_path / f"sipp{len(started)}", **kw)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


async def run_probe(
    kind: str, block: dict[str, Any], timeout: float = 3.0, context: ProbeContext | None = None
) -> ProbeResult:
    """Validate `block` as the kind's config, build the probe as the composition root would, run it once."""
    config = PROBE_CONFIGS[kind].model_validate(block)
    probe = PROBES[kind](config, context or ProbeContext())
    target = Target(id="t1", component="voice", kind=kind, timeout=timeout)
    return await probe.probe(target)
