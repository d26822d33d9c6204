"""Issue 17: SLA months are kept as long as history keeps them, not only the bars' 90 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent.contract.sla import SlaCalculator
from agent.contract.sla_config import SlaConfig
from agent.core.model import Component, Transition
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from agent.maintenance.calendar import MaintenanceCalendar
from statuspage.build import ModelBuilder
from statuspage.render import Renderer
from tests.fakeclock import FakeClock
from tests.statuspage.fixture import site_config

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
CORE = Component("core", "Core call processing", "", "core", 0.9999)


def test_a_month_older_than_ninety_days_keeps_its_sla_row(tmp_path: Path) -> None:
    outage = datetime(2025, 7, 10, 12, 0, tzinfo=UTC)  # eight months before NOW
    writer = HistoryWriter(tmp_path / "h.sqlite", clock=FakeClock(NOW), transitions_retention=800 * 86400)
    for at, old, new in (
        (datetime(2025, 6, 1, 6, 0, tzinfo=UTC), "unknown", "operational"),
        (outage, "operational", "major_outage"),
        (outage + timedelta(minutes=90), "major_outage", "operational"),
    ):
        writer.on_transition(Transition("component", "core", at, old, new, "test", "core"))
    assert writer.flush_sync()
    site = site_config(tmp_path / "site", tmp_path / "incidents")
    calendar = MaintenanceCalendar()
    with HistoryReader(tmp_path / "h.sqlite") as reader:
        model = ModelBuilder(site, [CORE], reader, calendar=calendar, sla=SlaCalculator(SlaConfig(), calendar)).build(
            NOW
        )
    months = [m.month for m in model.sla_months]
    assert months[0] == date(2026, 3, 1) and months[-1] == date(2025, 6, 1) and len(months) == 10
    july = next(m for m in model.sla_months if m.month == date(2025, 7, 1))
    assert july.complete and july.rows[0].unavailable_minutes == 90 and not july.rows[0].met
    files = Renderer(site).files(model)
    assert "sla/2025-07.html" in files and "fr/sla/2025-07.html" in files
