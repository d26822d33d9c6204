"""Status page render cost: 500 components x 90 days x 1,000 incidents, in English and French.

Figures, measured in the same run:
- full render (cold caches): StatusModel -> every file, both languages, written and swapped into place;
  anchor: writing the same bytes into a fresh folder with no rendering at all (the I/O floor).
- re-render after one transition (warm caches): one component goes to major outage and opens an incident;
  anchor: the cold full render above (what a renderer without fragment reuse would pay).

Usage: .venv/bin/python bench/statuspage_render.py [--components N] [--incidents N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.model import Status
from agent.sinks.history_reader import StatusInterval
from bench.common import Row, Stopwatch, machine, report
from statuspage.config import SiteConfig
from statuspage.days import component_days, uptime
from statuspage.model import ComponentView, GroupView, Incident, StatusModel, Update
from statuspage.output import AtomicSite
from statuspage.render import Renderer

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
SITE = SiteConfig.model_validate({"out": "unused", "languages": ["en", "fr"]})


def _incidents(n: int, comps: int, rng: random.Random) -> list[Incident]:
    out = []
    for k in range(n):
        start = NOW - timedelta(minutes=rng.randrange(60, 89 * 1440))
        end = start + timedelta(minutes=rng.randrange(5, 240))
        cid = f"c{rng.randrange(comps)}"
        ups = (Update(end, "resolved", "Recovered.", "<p>Recovered.</p>"),
               Update(start, "investigating", "Calls fail in one region.", "<p>Calls fail in one region.</p>"))
        out.append(Incident(f"i{k}", f"Incident {k} on {cid}", "resolved", "major", start, end, start, (cid,),
                            ups, resolved_at=end, priority="P2"))
    return sorted(out, key=lambda i: i.started_at, reverse=True)


def model(components: int, incidents: int, seed: int = 7) -> StatusModel:
    """A synthetic model with random outages per component and incidents spread over 90 days."""
    rng = random.Random(seed)
    zone = SITE.zone
    today = NOW.astimezone(zone).date()
    days = tuple(today - timedelta(days=89 - i) for i in range(90))
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=zone)
    incs = _incidents(incidents, components, rng)
    spans: dict[str, list[tuple[datetime, datetime, str, str]]] = {}
    for i in incs:
        spans.setdefault(i.components[0], []).append((i.started_at, i.resolved_at or NOW, i.id, i.name))
    views = []
    for c in range(components):
        cid = f"c{c}"
        ivs, t = [], start
        for s, e, _, _ in sorted(spans.get(cid, [])):
            if s > t:
                ivs.append(StatusInterval(t, s, Status.OPERATIONAL))
                ivs.append(StatusInterval(s, e, Status.PARTIAL_OUTAGE))
                t = e
        ivs.append(StatusInterval(t, NOW, Status.OPERATIONAL))
        cells = component_days(ivs, days, zone, NOW, spans.get(cid, []))
        views.append(ComponentView(cid, f"Component {c}", f"Group {c // 25}", Status.OPERATIONAL, NOW, start,
                                   c + 1, cells, uptime(cells[-30:]), uptime(cells), 99.95))
    groups = tuple(GroupView(f"g{g}", f"Group {g}", tuple(v for v in views if v.group == f"Group {g}"))
                   for g in range((components + 24) // 25))
    return StatusModel("bench", "Bench", "", SITE.time_zone, NOW, days, groups, tuple(incs))


def one_transition(m: StatusModel) -> StatusModel:
    """The same model after component c0 went to major outage a minute ago, opening an incident."""
    at = m.generated_at + timedelta(minutes=1)
    g0 = m.groups[0]
    c0 = g0.components[0]
    cell = replace(c0.days[-1], status=Status.MAJOR_OUTAGE, down_minutes=1, incidents=(("new", "New outage"),))
    c0 = replace(c0, status=Status.MAJOR_OUTAGE, updated_at=at, days=(*c0.days[:-1], cell))
    new = Incident("new", "New outage", "investigating", "critical", at, at, at, (c0.id,),
                   (Update(at, "investigating", "Down.", "<p>Down.</p>"),), priority="P1")
    groups = (replace(g0, components=(c0, *g0.components[1:])), *m.groups[1:])
    return replace(m, generated_at=at, groups=groups, incidents=(new, *m.incidents))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", type=int, default=500)
    ap.add_argument("--incidents", type=int, default=1000)
    args = ap.parse_args()
    base = model(args.components, args.incidents)
    with tempfile.TemporaryDirectory() as tmp:
        out = AtomicSite(Path(tmp) / "site")
        renderer = Renderer(SITE)
        with Stopwatch() as full:
            files = renderer.files(base)
            out.write(files)
        floor = AtomicSite(Path(tmp) / "floor")
        with Stopwatch() as io:
            floor.write(files)
        changed = one_transition(base)
        with Stopwatch() as again:
            stats = out.write(renderer.files(changed))
    size = sum(len(b) for b in files.values()) / 1e6
    report(
        f"status page render ({args.components} components x 90 days x {args.incidents} incidents, en+fr; "
        f"{len(files)} files, {size:.1f} MB) on {machine()}",
        [
            Row("full render, both languages (s)", f"{full.wall:.3f}", f"{io.wall:.3f} (write only)",
                f"{full.wall / io.wall:.1f}x", "< 1 s", full.wall < 1.0),
            Row("re-render after one transition (s)", f"{again.wall:.3f}", f"{full.wall:.3f} (cold render)",
                f"{again.wall / full.wall:.2f}x", "< 0.2 s", again.wall < 0.2),
            Row("files rewritten / hard-linked on re-render", f"{stats.written} / {stats.linked}"),
        ],
    )


if __name__ == "__main__":
    main()
