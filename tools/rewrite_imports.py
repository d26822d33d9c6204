"""Rewrite old dotted module paths to the layered layout, by docs/module-map.tsv (old TAB new per line).

Usage: python tools/rewrite_imports.py [--imports-only] [--check] FILE...

By default every dotted mention of an old module is rewritten: ``from X import``, ``import X``, strings
such as ``"agent.app.components_of"`` for monkeypatching, docstrings, and slash paths (``agent/sla.py``).
``from PKG import sub`` is rewritten when ``PKG.sub`` moved (``from agent.probes import http`` becomes
``from agent.probes.http import probe as http``). Running it twice changes nothing the second time.
With --imports-only only ``from``/``import`` lines change; with --check nothing is written and the exit
status is 1 when a file would change.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAP_FILE = Path(__file__).resolve().parent.parent / "docs" / "module-map.tsv"


def load_map(path: Path = MAP_FILE) -> dict[str, str]:
    """old dotted module -> new dotted module, from the TSV file."""
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            old, new = line.split("\t")
            pairs[old.strip()] = new.strip()
    return pairs


def _pattern(mapping: dict[str, str], sep: str) -> re.Pattern[str]:
    """One alternation, longest names first; a name that became a package never matches its own new children."""
    parts = []
    for old in sorted(mapping, key=len, reverse=True):
        children = {new[len(old) + 1 :].split(".")[0] for new in mapping.values() if new.startswith(old + ".")}
        guard = "".join(f"(?!{re.escape(sep + c)}\\b)" for c in sorted(children))
        parts.append(re.escape(old.replace(".", sep)) + r"(?![\w])" + guard)
    return re.compile(r"(?<![\w./])(?:" + "|".join(parts) + ")")


def _from_pkg(line: str, mapping: dict[str, str]) -> tuple[str, list[str]]:
    """`from PKG import a, b` where PKG.a moved: what is left of the line, and one new line per moved name."""
    m = re.match(r"^(\s*)from ([\w.]+) import ([\w ,]+?)\s*(#.*)?$", line)
    if not m:
        return line, []
    indent, pkg, names = m.group(1), m.group(2), [n.strip() for n in m.group(3).split(",") if n.strip()]
    moved, kept = [], []
    for item in names:
        name, _, alias = item.partition(" as ")
        target = mapping.get(f"{pkg}.{name.strip()}")
        if target is None:
            kept.append(item)
            continue
        parent, leaf = target.rsplit(".", 1)
        bound = alias.strip() or name.strip()
        moved.append(f"{indent}from {parent} import {leaf}" + ("" if leaf == bound else f" as {bound}"))
    if not moved:
        return line, []
    return (f"{indent}from {pkg} import {', '.join(kept)}" if kept else ""), moved


def _already_new(line: str, mapping: dict[str, str]) -> bool:
    """`from agent.probes.http import probe`: a package that took an old module's name, imported the new way."""
    m = re.match(r"^\s*from ([\w.]+) import ([\w]+)", line)
    return bool(m) and f"{m.group(1)}.{m.group(2)}" in set(mapping.values())


def rewrite(text: str, mapping: dict[str, str], imports_only: bool = False) -> str:
    """The text with every old module path replaced by its new one."""
    dotted = _pattern(mapping, ".")
    slashed = _pattern(mapping, "/")
    out = []
    for line in text.split("\n"):
        is_import = bool(re.match(r"^\s*(from [\w.]+ import |import [\w.])", line))
        if imports_only and not is_import:
            out.append(line)
            continue
        moved: list[str] = []
        if is_import:
            if _already_new(line, mapping):
                out.append(line)
                continue
            line, moved = _from_pkg(line, mapping)
        line = dotted.sub(lambda m: mapping[m.group(0)], line)
        if not imports_only:
            line = slashed.sub(lambda m: mapping[m.group(0).replace("/", ".")].replace(".", "/"), line)
        out.extend(([line] if line or not moved else []) + moved)
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Rewrite the files named on the command line in place; print each one that changed."""
    imports_only = "--imports-only" in argv
    check = "--check" in argv
    files = [a for a in argv if not a.startswith("--")]
    mapping = load_map()
    changed = 0
    for name in files:
        path = Path(name)
        before = path.read_text(encoding="utf-8")
        after = rewrite(before, mapping, imports_only)
        if after != before:
            changed += 1
            print(name)
            if not check:
                path.write_text(after, encoding="utf-8")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
