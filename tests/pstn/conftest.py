"""Fixtures of the PSTN loop tests: a carrier and a platform Kamailio, a probe runner, the cleanup check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.model import ProbeResult, Target
from agent.probes import PROBE_CONFIGS, PROBES, ProbeContext
from agent.probes.calls import CallCounters
from agent.probes.pstn.probe import PstnCallProbe
from tests.peers.base import wait_until
from tests.pstn.peers import (
    DID,
    TRUNK_PASSWORD,
    TRUNK_USER,
    KamailioPeer,
    extension_password,
    start_carrier,
    start_platform,
)
from tests.sip.conftest import sipp  # noqa: F401  (the SIPp UAS factory, as voicemail or an echo number)

EXTENSION = "1001"


class Loop:
    """The two peers of one test, and a factory for probe config blocks that call through them."""

    def __init__(self, platform: KamailioPeer, carrier: KamailioPeer) -> None:
        self.platform = platform
        self.carrier = carrier

    def block(self, number: str = DID, *, answer: bool = True, extension: str = EXTENSION, **kw: Any) -> dict[str, Any]:
        """A pstn_call config block: trunk on the carrier, the answering extension on the platform."""
        block: dict[str, Any] = {
            "route": "carrier-a", "number": number, "trunk": self.carrier.uri(),
            "username": TRUNK_USER, "password": TRUNK_PASSWORD, "from_number": "+18015559999",
            "duration": "1.5s", "settle": "0.1s",
        }  # fmt: skip
        if answer:
            block["answer"] = {
                "registrar": self.platform.uri(), "extension": extension, "password": extension_password(extension),
            }  # fmt: skip
        block.update(kw)
        return block

    def assert_clean(self) -> None:
        """No dialog on either Kamailio and no registration on the platform (their own state)."""
        for peer in (self.platform, self.carrier):
            wait_until(lambda p=peer: p.dialogs() == "", timeout=10, what=f"no dialogs on {peer.uri()}")  # type: ignore[misc]
        wait_until(lambda: self.platform.registrations() == [], timeout=5, what="no registrations")


@pytest.fixture
def pstn_loop(tmp_path: Path) -> Iterator[Callable[..., Loop]]:
    """Factory: pstn_loop(dids={DID: "1001"}, voicemail_port=..., relay=(a, b)) starts both Kamailios."""
    started: list[KamailioPeer] = []

    def start(dids: dict[str, str] | None = None, **kw: Any) -> Loop:
        platform = start_platform(tmp_path / "platform", dids or {DID: EXTENSION}, **kw)
        started.append(platform)
        carrier = start_carrier(tmp_path / "carrier", platform.port)
        started.append(carrier)
        return Loop(platform, carrier)

    yield start
    for peer in started:
        peer.stop()


async def run_pstn(block: dict[str, Any], timeout: float = 6.0, counters: CallCounters | None = None) -> ProbeResult:
    """Validate the block, build the probe as the composition root would, run it once."""
    return await make_probe(block, counters).probe(target(timeout))


def make_probe(
    block: dict[str, Any], counters: CallCounters | None = None, context: ProbeContext | None = None
) -> PstnCallProbe:
    """The probe as the composition root builds it (probes of one agent share its `context`)."""
    config = PROBE_CONFIGS["pstn_call"].model_validate(block)
    if context is None:
        context = ProbeContext(call_counters=counters or CallCounters())
    probe = PROBES["pstn_call"](config, context)
    assert isinstance(probe, PstnCallProbe), probe  # the registry's pstn_call kind, with its aclose()
    return probe


def target(timeout: float = 6.0, name: str = "loop") -> Target:
    """A pstn_call target."""
    return Target(id=name, component="voice", kind="pstn_call", timeout=timeout)
