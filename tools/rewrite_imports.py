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

import io
import re
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path

IMPORT_LINE = re.compile(r"^\s*(from [\w.]+ import |import [\w.])")
NEW_MARK = "\x00new\x00"  # marks lines already written in the new layout during one pass
MAP_FILE = Path(__file__).resolve().parent.parent / "docs" / "module-map.tsv"


def load_map(path: Path = MAP_FILE) -> dict[str, str]:
    """old dotted module -> new dotted module, from the TSV file."""
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            old, new = line.split("\t")
            pairs[old.strip()] = new.strip()
    return pairs


def _submodules(dotted: str, root: Path = MAP_FILE.parent.parent) -> set[str]:
    """The modules and packages inside `dotted` when it is a package of the tree now (else none)."""
    folder = root.joinpath(*dotted.split("."))
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in folder.iterdir() if (p / "__init__.py").is_file()
    }


def _pattern(mapping: dict[str, str], sep: str) -> re.Pattern[str]:
    """One alternation, longest names first; a name that became a package never matches its own children.

    Its children are the moved modules it now holds and every module of that package in the tree (such as
    `agent.probes.http.config`, which is new, not moved): a path through them is already the new layout.
    """
    parts = []
    for old in sorted(mapping, key=len, reverse=True):
        children = {new[len(old) + 1 :].split(".")[0] for new in mapping.values() if new.startswith(old + ".")}
        children |= _submodules(old)
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


def _literal_parts(token: str, offset: int) -> list[tuple[int, int]]:
    """The spans of a string token outside f-string replacement fields (`{agent.config.x}` is code)."""
    prefix = token[: len(token) - len(token.lstrip("rbfuRBFU"))]
    if "f" not in prefix.lower():
        return [(offset, offset + len(token))]
    parts, depth, begin, i = [], 0, 0, 0
    while i < len(token):
        pair = token[i : i + 2]
        if depth == 0 and pair in ("{{", "}}"):
            i += 2
            continue
        if token[i] == "{":
            if depth == 0:
                parts.append((offset + begin, offset + i))
            depth += 1
        elif token[i] == "}" and depth:
            depth -= 1
            begin = i + 1
        i += 1
    parts.append((offset + begin, offset + len(token)))
    return parts


def _allowed_spans(text: str) -> list[tuple[int, int]] | None:
    """Where a Python file mentions modules: strings, comments and import lines; None when it does not parse.

    Code elsewhere is left alone: `agent.config` there is an attribute of a variable named `agent`."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    spans: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT):
                r0, c0 = tok.start
                spans.extend(_literal_parts(tok.string, starts[r0 - 1] + c0))
    except (tokenize.TokenError, SyntaxError):
        return None
    for i, line in enumerate(text.split("\n")):
        if IMPORT_LINE.match(line):
            spans.append((starts[i], starts[i + 1]))
    return spans


def rewrite(text: str, mapping: dict[str, str], imports_only: bool = False, python: bool = True) -> str:
    """The text with every old module path replaced by its new one (in Python: imports, strings, comments)."""
    lines = []
    for line in text.split("\n"):
        if IMPORT_LINE.match(line) and _already_new(line, mapping):
            lines.append(NEW_MARK + line)
        elif IMPORT_LINE.match(line):
            kept, moved = _from_pkg(line, mapping)
            lines.extend(([kept] if kept or not moved else []) + [NEW_MARK + m for m in moved])
        else:
            lines.append(line)
    text = "\n".join(lines)
    dotted, slashed = _pattern(mapping, "."), _pattern(mapping, "/")
    # The spans are found anew for each pass: the dotted pass changes lengths, so old offsets would point
    # into other text (a doc path after a rewritten import was then missed).
    text = _sub_inside(dotted, lambda old: mapping[old], text, python, imports_only)
    text = _sub_inside(
        slashed, lambda old: mapping[old.replace("/", ".")].replace(".", "/"), text, python, imports_only
    )
    return text.replace(NEW_MARK, "")


def _sub_inside(
    pattern: re.Pattern[str], new: Callable[[str], str], text: str, python: bool, imports_only: bool
) -> str:
    """Replace the matches of `pattern` that lie where rewriting is allowed and not on a line already new."""
    spans = _allowed_spans(text) if python else None
    if spans is None:  # not Python, or Python that does not parse: everywhere
        spans = [(0, len(text))]
    if imports_only:
        spans = [(a, b) for a, b in spans if IMPORT_LINE.match(text[a:b])]

    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in spans) and not text.startswith(NEW_MARK, text.rfind("\n", 0, pos) + 1)

    return pattern.sub(lambda m: new(m.group(0)) if inside(m.start()) else m.group(0), text)


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
        after = rewrite(before, mapping, imports_only, python=name.endswith(".py"))
        if after != before:
            changed += 1
            print(name)
            if not check:
                path.write_text(after, encoding="utf-8")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
