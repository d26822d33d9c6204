"""The burn-rate alerts' budget, computed by a real Prometheus from the agent's own /metrics.

The shipped SLO rules divide by component:dialtone_error_budget:ratio, recorded from the agent's
dialtone_component_sla_target_ratio: without that series no burn-rate alert can ever fire.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.deploy.stack import COMPONENTS, running_stack

BUDGET = {"core": 0.0001, "voice_messaging": 0.0005, "supporting": 0.02}


def never(component: str, now: datetime) -> bool:
    return False


async def test_every_component_has_its_tier_budget(tmp_path: Path) -> None:
    async with running_stack(tmp_path, maintenance=never) as stack:
        got = await stack.until(f"count(component:dialtone_error_budget:ratio) == {len(COMPONENTS)}")
        assert got
        rows = await stack.query("component:dialtone_error_budget:ratio")
        budgets = {r["metric"]["component"]: (r["metric"]["tier"], float(r["value"][1])) for r in rows}
        assert set(budgets) == set(COMPONENTS)
        for component, tier in COMPONENTS.items():
            assert budgets[component][0] == tier
            assert abs(budgets[component][1] - BUDGET[tier]) < 1e-12, (component, budgets[component])
