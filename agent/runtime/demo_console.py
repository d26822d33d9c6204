"""Demo only: one console line per test call of the embedded default, so `make run` shows the voice product.

A sink like the others: it reads each `sip_call` and `pstn_call` result and logs its headline figures (post-
dial delay, answer time, MOS, loss, jitter, round trip; both directions of a loop call) or its failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agent.core.model import ProbeResult, Transition, Value

log = logging.getLogger("dialtone.demo")
CALL_KINDS = ("sip_call", "pstn_call")


def _ms(values: Mapping[str, Value], key: str) -> str:
    value = values.get(key)
    return f"{1000 * float(value):.0f} ms" if isinstance(value, int | float) else "-"


def _pct(values: Mapping[str, Value], key: str) -> str:
    value = values.get(key)
    return f"{100 * float(value):.1f} %" if isinstance(value, int | float) else "-"


def call_line(result: ProbeResult) -> str:
    """The console line of one call result."""
    v = result.values
    if not result.ok:
        return f"{result.kind} {result.target}: {result.error}: {result.message}"
    head = f"{result.kind} {result.target}: answered, PDD {_ms(v, 'post_dial_delay_seconds')}, " \
           f"answer {_ms(v, 'answer_seconds')}"  # fmt: skip
    if result.kind == "pstn_call":
        sides = [f"{d.replace('_to_', '->')} MOS {v.get(f'mos_{d}', '-')} loss {_pct(v, f'packet_loss_ratio_{d}')}"
                 for d in ("a_to_b", "b_to_a")]  # fmt: skip
        return f"{head}, answered by our own extension, DTMF tokens both ways, {', '.join(sides)}"
    return (f"{head}, MOS {v.get('mos', '-')}, loss {_pct(v, 'packet_loss_ratio')}, "
            f"jitter {_ms(v, 'jitter_seconds')}, echo round trip {_ms(v, 'round_trip_seconds')}")  # fmt: skip


class CallConsole:
    """Logs a line for every test call result (the Sink protocol; nothing to start or close)."""

    def on_result(self, result: ProbeResult) -> None:
        """Log a call's headline figures or its failure."""
        if result.kind in CALL_KINDS:
            log.info("%s", call_line(result))

    def on_transition(self, transition: Transition) -> None:
        """Transitions are logged by the agent already."""

    async def start(self) -> None:
        """Nothing to start."""

    async def aclose(self) -> None:
        """Nothing to close."""
