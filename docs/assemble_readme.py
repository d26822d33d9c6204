"""`make readme`: README.md is the hand-written core plus two spliced blocks.

- Between `<!-- SECTIONS ... -->` and `<!-- /SECTIONS -->`: the per-area pages of docs/, in the order of
  PAGES, their headings demoted one level and their first heading replaced by the README's title for it.
  Subsections meant for contributors (benchmarks, test helpers, internal APIs) stay in docs/ only.
- Between `<!-- PERFORMANCE ... -->` and `<!-- /PERFORMANCE -->`: bench/results/latest.md as `make bench`
  last wrote it (one `###` table per benchmark). Without it the block is left as it is.

    python docs/assemble_readme.py [--check]

`--check` exits 1 when the SECTIONS block is not what docs/ gives (tests/docs/test_readme.py runs it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ("demo.md", "The demo services of `make run`"),
    ("probes-http-tcp.md", "HTTP and TCP probes"),
    ("sip.md", "SIP probes: `sip_options`, `sip_register`, `sip_call`"),
    ("voice.md", "Voice quality measurement"),
    ("pstn.md", "PSTN loop calls: `pstn_call`"),
    ("snmp.md", "SNMP equipment monitoring"),
    ("calendar-sla.md", "Maintenance calendar, SLA, credits and deadlines"),
    ("statuspage.md", "The status page"),
    ("notifications.md", "Notifications: e-mail subscriptions, webhooks and chat"),
    ("mqtt.md", "MQTT events, multi-vantage aggregation and sharding"),
    ("history.md", "History (SQLite)"),
    ("deploy.md", "Deploying: Prometheus, Alertmanager, Grafana, containers and units"),
    ("reliability.md", "Reliability and security"),
    ("isolation.md", "Isolation: hostile input never delays a probe"),
]
CONTRIBUTOR_ONLY = re.compile(
    r"^(Performance|Benchmarks?|Bench|Test helpers|Tests and benchmark|Wiring.*|In the running agent \(for app\.py\)"
    r"|API \(for probe authors\)|Reading \(Python API\))$"
)
HEADING = re.compile(r"^(#+) (.*)$")


def page(text: str, title: str) -> str:
    """One docs page as a README section."""
    out: list[str] = []
    skip: int | None = None  # level of the contributor-only heading being skipped
    fenced = False
    for i, line in enumerate(text.splitlines()):
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else HEADING.match(line)
        if m:
            level = len(m.group(1))
            if skip is not None and level <= skip:
                skip = None
            if i == 0:
                out.append(f"## {title}")
                continue
            if CONTRIBUTOR_ONLY.match(m.group(2).strip()):
                skip = level
                continue
            if skip is None:
                out.append("#" + line)
            continue
        if skip is None:
            out.append(line)
    return "\n".join(out).rstrip() + "\n"


LOCAL_LINK = re.compile(r"\]\((?!https?:|#|/|docs/)([\w./-]+\.md(?:#[\w-]*)?)\)")
"""A link from one docs page to another (`[x](isolation.md)`): from the README, the page is under docs/."""


def sections() -> str:
    """Every docs page as a README section, its links to sibling pages made relative to the README."""
    text = "\n".join(page((ROOT / "docs" / name).read_text(), title) for name, title in PAGES)
    return LOCAL_LINK.sub(r"](docs/\1)", text)


def splice(text: str, tag: str, content: str) -> str:
    start = text.index("-->", text.index(f"<!-- {tag}")) + len("-->")
    end = text.index(f"<!-- /{tag} -->")
    return text[:start] + "\n\n" + content + "\n" + text[end:]


def block(text: str, tag: str) -> str:
    start = text.index("-->", text.index(f"<!-- {tag}")) + len("-->")
    return text[start : text.index(f"<!-- /{tag} -->")]


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if "--check" in sys.argv[1:]:
        if block(text, "SECTIONS").strip() != sections().strip():
            print("README.md is not current with docs/: run `make readme`")
            return 1
        return 0
    text = splice(text, "SECTIONS", sections())
    perf = ROOT / "bench" / "results" / "latest.md"
    if perf.exists():
        text = splice(text, "PERFORMANCE", perf.read_text())
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
