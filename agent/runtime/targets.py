"""From configured targets to what runs: model components and targets, probes and their jobs.

Kept apart from the Agent (runtime/app.py) so that `dialtone probe`, `render` and `aggregate` build what
they need without loading the Agent's listeners, sinks and page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.contract.sla import percent_ratio
from agent.core.model import Component, Target
from agent.probes import PROBES, ProbeContext
from agent.runtime.config import Config, TargetBase
from agent.runtime.scheduler import Job
from agent.runtime.shard import select_targets


def components_of(config: Config) -> list[Component]:
    """Model components from config."""
    return [
        Component(c.id, c.name, c.group, c.tier or "custom", percent_ratio(c.target_percent), c.description)
        for c in config.components
    ]


def own_targets(config: Config) -> list[TargetBase]:
    """The targets this agent probes: all of them, or its shard's (`shard: i/n`)."""
    return select_targets(config.targets, config.shard)


def target_of(t: TargetBase) -> Target:
    """The model target a probe sees."""
    return Target(t.id, t.component, t.kind, t.timeout, dict(t.labels))


def build_probe(t: TargetBase, context: ProbeContext) -> Any:
    """A probe instance for one configured target."""
    return PROBES[t.kind](t.block, context)


def build_jobs(
    targets: Iterable[TargetBase], context: ProbeContext, keep: Iterable[tuple[TargetBase, Job]] = ()
) -> list[Job]:
    """Jobs for the targets, reusing the running job of any target whose config is unchanged."""
    previous = {t.id: (t, job) for t, job in keep}
    jobs = []
    for t in targets:
        old = previous.get(t.id)
        jobs.append(old[1] if old and old[0] == t else Job(target_of(t), build_probe(t, context), t.interval))
    return jobs
