"""The `aggregate:` block: quorum, expected vantages and the limits on what the aggregator accepts.

Apart from agent.aggregate.payload so that validating a config loads no wire-format code.
"""

from __future__ import annotations

from pydantic import Field

from agent.core.config_base import ConfigModel, Duration, Identifier


class AggregateConfig(ConfigModel):
    """`dialtone aggregate`: N-of-M quorum over the vantages publishing to the broker in the `mqtt` block."""

    quorum: int = Field(default=2, ge=1, le=1000, description="N: online vantages that must agree")
    vantages: list[Identifier] = Field(default_factory=list, description="expected vantages; empty: any")
    listen: str = Field(default="127.0.0.1:9479", pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$")
    max_payload: int = Field(default=16_384, ge=256, le=1_048_576, description="bytes")
    max_vantages: int = Field(default=1000, ge=1)
    max_components: int = Field(default=10_000, ge=1)
    max_seq_jump: int = Field(
        default=1_000_000, ge=1, description="most a stream's seq may rise past the last seen, plus max_seq_rate"
    )
    max_seq_rate: float = Field(
        default=10_000.0, ge=0, description="seq rise allowed per second of `at` since the last event seen"
    )
    max_clock_skew: Duration = Field(default=300.0, description="an event's `at` may be this far ahead of ours")
