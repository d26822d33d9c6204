"""TCP probe (placeholder until the core-probes work lands)."""

from __future__ import annotations

from agent.config_base import ConfigModel
from agent.model import KindMetrics


class TcpConfig(ConfigModel):
    """TCP probe settings."""

    address: str = ""


class TcpProbe:
    """TCP probe."""

    kind = "tcp"


METRICS = KindMetrics()
