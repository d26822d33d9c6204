"""Status page render cost: 500 components x 90 days x 1,000 incidents, in English and French.

Figures, measured in the same run:
- full render (cold caches, a new Renderer): StatusModel -> every file, both languages, written and swapped
  into place; anchor: writing the same bytes into a fresh folder with no rendering at all (the I/O floor).
  The rendering alone is shown beside it, and what one new file costs on the output's file system.
- history to site: the same outages written as transitions into a real SQLite history, then what
  `dialtone render` does: read 90 days (HistoryReader), build the model (ModelBuilder), render and write.
- re-render after one transition (warm caches): one more component goes to major outage and opens an
  incident, in a model built afresh (equal values, new objects, as ModelBuilder makes them). The first
  re-render has to make the second generation folder (hard links); later ones update the older generation
  in place. Anchor: the cold full render above (what a renderer without fragment reuse would pay).
- page weight: what a reader downloads, gzipped at level 6 as the built-in server sends it (the front page in
  each language, and the whole site); anchor: the same bytes uncompressed.

Usage: .venv/bin/python bench/statuspage_render.py [--components N] [--incidents N] [--dir FOLDER]
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.core.model import Component, Status, Transition
from agent.history.reader import HistoryReader, StatusInterval
from agent.history.schema import open_history
from agent.history.writer import HistoryWriter
from bench.common import Row, Stopwatch, report
from statuspage.build import ModelBuilder
from statuspage.config import SiteConfig
from statuspage.days import component_days, uptime
from statuspage.model import ComponentView, GroupView, Incident, StatusModel, Update
from statuspage.output import AtomicSite, WriteStats
from statuspage.render import TEMPLATES, Renderer

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
SITE = SiteConfig.model_validate({"out": "unused", "languages": ["en", "fr"]})


def _incidents(n: int, comps: int, rng: random.Random) -> list[Incident]:
    out = []
    for k in range(n):
        start = NOW - timedelta(minutes=rng.randrange(60, 89 * 1440))
        end = start + timedelta(minutes=rng.randrange(5, 240))
        cid = f"c{rng.randrange(comps)}"
        ups = (
            Update(end, "resolved", "Recovered.", "<p>Recovered.</p>"),
            Update(start, "investigating", "Calls fail in one region.", "<p>Calls fail in one region.</p>"),
        )
        out.append(
            Incident(
                f"i{k}", f"Incident {k} on {cid}", "resolved", "major", start, end, start, (cid,), ups, resolved_at=end
            )
        )
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
        views.append(
            ComponentView(
                cid,
                f"Component {c}",
                f"Group {c // 25}",
                Status.OPERATIONAL,
                NOW,
                start,
                c + 1,
                cells,
                uptime(cells[-30:]),
                uptime(cells),
                99.95,
            )
        )
    groups = tuple(
        GroupView(f"g{g}", f"Group {g}", tuple(v for v in views if v.group == f"Group {g}"))
        for g in range((components + 24) // 25)
    )
    return StatusModel("bench", "Bench", "", SITE.time_zone, NOW, days, groups, tuple(incs))


def one_transition(m: StatusModel, k: int = 0) -> StatusModel:
    """The same model after component c<k> went to major outage a minute ago, opening an incident."""
    at = m.generated_at + timedelta(minutes=1 + k)
    g = m.groups[k // 25]
    pos = k % 25
    c = g.components[pos]
    cell = c.days[-1]._replace(status=Status.MAJOR_OUTAGE, down_minutes=1, incidents=((f"new{k}", "New outage"),))
    c = replace(c, status=Status.MAJOR_OUTAGE, updated_at=at, days=(*c.days[:-1], cell))
    new = Incident(
        f"new{k}",
        "New outage",
        "investigating",
        "critical",
        at,
        at,
        at,
        (c.id,),
        (Update(at, "investigating", "Down.", "<p>Down.</p>"),),
    )
    comps = (*g.components[:pos], c, *g.components[pos + 1 :])
    groups = tuple(replace(x, components=comps) if x is g else x for x in m.groups)
    return replace(m, generated_at=at, groups=groups, incidents=(new, *m.incidents))


def history_file(path: Path, components: int, incidents: int) -> Path:
    """A real SQLite history holding the model's outages as component transitions (the same seed)."""
    db = open_history(path)
    writer = HistoryWriter(db, batch_interval=3600)
    for c in range(components):  # each component's first status, as the agent records it at install
        writer.on_transition(
            Transition("component", f"c{c}", NOW - timedelta(days=100), "unknown", "operational", "bench")
        )
    for inc in _incidents(incidents, components, random.Random(7)):
        cid, end = inc.components[0], inc.resolved_at or NOW
        writer.on_transition(Transition("component", cid, inc.started_at, "operational", "partial_outage", "bench"))
        writer.on_transition(Transition("component", cid, end, "partial_outage", "operational", "bench"))
    writer.flush_sync()
    return db


def _compile_seconds() -> float:
    """Compiling every template from source, as the very first run after an install does (later runs load
    Jinja's cached bytecode)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    with Stopwatch() as sw:
        for name in env.list_templates():
            env.get_template(name)
    return sw.wall


def _new_file_ms(folder: Path, n: int = 200) -> float:
    """What creating one new small file costs on the output's file system (the floor under a cold render)."""
    probe = folder / "probe"
    probe.mkdir()
    with Stopwatch() as sw:
        for i in range(n):
            (probe / f"f{i}").write_bytes(b"x" * 4096)
    shutil.rmtree(probe)
    return sw.wall / n * 1000


def _weights(files: dict[str, bytes]) -> list[Row]:
    """Page weight as served: each front page and the whole site, gzipped (level 6, as statuspage.server)."""
    rows = []
    for path in ("index.html", "fr/index.html"):
        raw, packed = len(files[path]), len(gzip.compress(files[path], 6))
        rows.append(
            Row(
                f"page weight: {path}, gzipped (kB)",
                f"{packed / 1e3:.0f}",
                f"{raw / 1e3:.0f} kB raw",
                f"{raw / packed:.1f}x smaller",
            )
        )
    raw = sum(len(b) for b in files.values())
    packed = sum(len(gzip.compress(b, 6)) for b in files.values())
    rows.append(
        Row(
            "  whole site, every file gzipped (MB)",
            f"{packed / 1e6:.1f}",
            f"{raw / 1e6:.1f} MB raw",
            f"{raw / packed:.1f}x smaller",
        )
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", type=int, default=500)
    ap.add_argument("--incidents", type=int, default=1000)
    ap.add_argument("--transitions", type=int, default=5, help="transitions rendered one after another")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: the system temp folder)")
    args = ap.parse_args()
    base = model(args.components, args.incidents)
    # Each transition's model is built afresh, as ModelBuilder does: equal values, new objects.
    steps = []
    for k in range(args.transitions):
        m = model(args.components, args.incidents)
        for j in range(k + 1):
            m = one_transition(m, j)
        steps.append(m)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        per_file = _new_file_ms(Path(tmp))
        out = AtomicSite(Path(tmp) / "site")
        with Stopwatch() as full:
            renderer = Renderer(SITE)
            with Stopwatch() as cpu:
                files = renderer.files(base)
            out.write(files)
        floor = AtomicSite(Path(tmp) / "floor")
        with Stopwatch() as io:
            floor.write(files)
        again: list[tuple[float, float, WriteStats, int]] = []
        for m in steps:
            with Stopwatch() as sw:
                with Stopwatch() as render:
                    changed = renderer.files(m)
                stats = out.write(changed)
            again.append((sw.wall, render.wall, stats, renderer.made))
        # The whole path `dialtone render` takes: read 90 days of history, build the model, render, write.
        db = history_file(Path(tmp) / "history.sqlite", args.components, args.incidents)
        comps = [Component(f"c{c}", f"Component {c}", f"Group {c // 25}", "voice_messaging", 0.9995)
                 for c in range(args.components)]  # fmt: skip
        with Stopwatch() as whole:
            with Stopwatch() as build:
                built = ModelBuilder(SITE, comps, HistoryReader(db)).build(NOW)
            AtomicSite(Path(tmp) / "from-history").write(Renderer(SITE).files(built))
        auto = len(built.incidents)
    compile_s = _compile_seconds()
    weight = _weights(files)
    size = sum(len(b) for b in files.values()) / 1e6
    first, rest = again[0], again[1:] or again
    steady = sorted(rest, key=lambda a: a[0])[len(rest) // 2]
    worst = max(a[0] for a in again)
    s = steady[2]
    report(
        f"status page render ({args.components} components x 90 days x {args.incidents} incidents, en+fr; "
        f"{len(files)} files, {size:.1f} MB; index {len(files['index.html']) / 1e6:.1f} MB per language)",
        [
            Row(
                "full render, both languages (s)",
                f"{full.wall:.3f}",
                f"{io.wall:.3f} (write only)",
                f"{full.wall / io.wall:.1f}x",
                "< 1 s",
                full.wall < 1.0,
            ),
            Row(
                "  of which rendering, no I/O (s)",
                f"{cpu.wall:.3f}",
                f"{compile_s:.3f} (+ template compile, first run ever)",
                "-",
                "< 1 s",
                cpu.wall < 1.0,
            ),
            Row(
                "  new file on this file system (ms)",
                f"{per_file:.2f}",
                f"x {len(files)} files = {per_file * len(files) / 1000:.2f} s",
            ),
            Row(
                f"history to site: read 90 days, build the model, full render ({auto} incidents from history) (s)",
                f"{whole.wall:.3f}",
                f"{full.wall:.3f} (render from a ready model)",
                f"{whole.wall / full.wall:.2f}x",
                "< 1 s",
                whole.wall < 1.0,
            ),
            Row("  of which reading history and building the model (s)", f"{build.wall:.3f}"),
            Row(
                "first re-render after one transition (s)",
                f"{first[0]:.3f}",
                f"{full.wall:.3f} (cold render)",
                f"{first[0] / full.wall:.2f}x",
                "< 0.2 s",
                first[0] < 0.2,
            ),
            Row(
                f"  later re-renders, median of {len(rest)} (s)",
                f"{steady[0]:.3f}",
                f"max {worst:.3f}",
                f"{steady[0] / full.wall:.2f}x",
                "< 0.2 s",
                steady[0] < 0.2,
            ),
            Row("  of which rendering, no I/O (s)", f"{steady[1]:.3f}", f"{steady[3]} fragments rebuilt"),
            Row(
                "files written / unchanged on a re-render",
                f"{s.written} / {s.linked}",
                f"first: {first[2].written} / {first[2].linked} (hard-linked)",
            ),
            *weight,
        ],
    )


if __name__ == "__main__":
    main()
