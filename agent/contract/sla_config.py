"""The `sla:` block: the month's zone, the exclusions file, how service credits are counted, support hours.

Apart from agent.contract.sla so that validating a config never loads the SLA calculation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from agent.contract.support_hours import SupportConfig
from agent.core.config_base import ConfigModel, Duration, config_relative
from agent.maintenance.rules import zone


class SlaConfig(ConfigModel):
    """The `sla:` block."""

    zone: str = "America/Denver"
    exclusions_file: Path | None = None
    credit_rounding: Literal["floor", "ceil", "exact"] = "floor"
    credit_unit: Duration = 3600.0
    credit_cap_days: float | None = Field(default=None, gt=0)
    support: SupportConfig = SupportConfig()

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v

    @field_validator("credit_unit")
    @classmethod
    def _unit(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("credit_unit must be greater than 0")
        return v

    @field_validator("exclusions_file")
    @classmethod
    def _relative(cls, v: Path | None) -> Path | None:
        # Relative to the config file, like every other path in it.
        return None if v is None else config_relative(v)
