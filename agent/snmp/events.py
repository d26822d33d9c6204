"""Device events raised by SNMP polls and traps, for the state machine and `history.record_event`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

EventData = Mapping[str, str | int | float | bool]

REBOOT = "snmp.reboot"
LINK_DOWN = "snmp.link_down"
LINK_UP = "snmp.link_up"
THRESHOLD = "snmp.threshold"
TRAP = "snmp.trap"
EVENT_KINDS = (REBOOT, LINK_DOWN, LINK_UP, THRESHOLD, TRAP)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something that happened to a device: `kind` is one of EVENT_KINDS, `target` the target id."""

    kind: str
    target: str
    at: datetime
    data: EventData = field(default_factory=dict)


EventHook = Callable[[DeviceEvent], None]
"""Called synchronously; must not block (queue the I/O elsewhere), like a Sink callback."""


def no_events(_event: DeviceEvent) -> None:
    """The default hook: drop the event."""
