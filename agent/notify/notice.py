"""A notice: one thing customers are told (an incident update, a maintenance step), with a stable id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS: tuple[str, ...] = (
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "incident.postmortem",
    "maintenance.scheduled",
    "maintenance.reminder",
    "maintenance.started",
    "maintenance.completed",
)


@dataclass(frozen=True, slots=True)
class Notice:
    """What is said, when it is due, whom it concerns; `id` is the same in every process that derives it."""

    id: str
    kind: str
    ref: str
    """The incident or maintenance id it is about."""
    due: datetime
    components: tuple[str, ...]
    """Components concerned; empty means every component."""
    data: dict[str, Any] = field(default_factory=dict, compare=False)
    """Everything a message is made from: title, body, times, zone and the Statuspage-shaped object."""

    def to_json(self) -> str:
        """The notice as stored in the outbox."""
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "ref": self.ref,
                "due": self.due.isoformat(),
                "components": list(self.components),
                "data": self.data,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Notice:
        """The inverse of `to_json`."""
        d = json.loads(text)
        return cls(d["id"], d["kind"], d["ref"], datetime.fromisoformat(d["due"]), tuple(d["components"]), d["data"])

    def concerns(self, chosen: tuple[str, ...] | list[str]) -> bool:
        """True when a subscriber to `chosen` components (empty: all) should hear of it."""
        return not chosen or not self.components or bool(set(chosen) & set(self.components))


@dataclass(frozen=True, slots=True)
class Recipient:
    """One destination: an e-mail subscriber, a webhook or an Apprise target."""

    channel: str
    """email, webhook or apprise."""
    target: str
    """The address, or the webhook/apprise id."""
    lang: str = "en"
    token: str = ""
    """The e-mail subscriber's unsubscribe token."""
