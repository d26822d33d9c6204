"""README.md carries the docs/ pages (docs/assemble_readme.py): they must not drift apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "assemble_readme.py"


def test_readme_sections_are_current_with_docs() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_notices_a_stale_readme(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import assemble_readme  # type: ignore[import-not-found]  # docs/ is put on sys.path just above
    finally:
        sys.path.remove(str(SCRIPT.parent))
    current = assemble_readme.sections()
    readme = (ROOT / "README.md").read_text()
    stale = assemble_readme.splice(readme, "SECTIONS", current.replace("## SNMP equipment monitoring", "## SNMP"))
    assert assemble_readme.block(stale, "SECTIONS").strip() != current.strip()
    # Only the docs-derived block is checked: a different Performance block is not drift.
    other_perf = assemble_readme.splice(assemble_readme.splice(readme, "SECTIONS", current), "PERFORMANCE", "x\n")
    assert assemble_readme.block(other_perf, "SECTIONS").strip() == current.strip()


def test_contributor_only_subsections_stay_in_docs() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import assemble_readme
    finally:
        sys.path.remove(str(SCRIPT.parent))
    doc = "# SIP\n\nintro\n\n## Config\n\nkeys\n\n## Performance\n\nnumbers\n\n### detail\n\nmore\n\n## Metrics\n\nm\n"
    got = assemble_readme.page(doc, "SIP probes")
    assert got == "## SIP probes\n\nintro\n\n### Config\n\nkeys\n\n### Metrics\n\nm\n"
    fenced = "# T\n\n```yaml\n# a comment, not a heading\n```\n"
    assert "# a comment, not a heading" in assemble_readme.page(fenced, "T")
