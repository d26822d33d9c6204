"""HTTP probe (placeholder until the core-probes work lands)."""

from __future__ import annotations

from agent.config_base import ConfigModel
from agent.model import KindMetrics


class HttpConfig(ConfigModel):
    """HTTP probe settings."""

    url: str = ""


class HttpProbe:
    """HTTP probe."""

    kind = "http"


METRICS = KindMetrics()
