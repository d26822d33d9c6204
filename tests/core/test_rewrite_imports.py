"""tools/rewrite_imports.py: old module paths become the layered ones, and new paths are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD = """from agent.probes.http import HttpProbe
from agent.sip.pstn_loop import LoopCall
import agent.sla
PATCH = "agent.app.components_of"
DOC = "see agent/probes/http.py"
"""
NEW = """from agent.probes.http.probe import HttpProbe
from agent.probes.pstn.loop import LoopCall
import agent.contract.sla
PATCH = "agent.runtime.app.components_of"
DOC = "see agent/probes/http/probe.py"
"""
ALREADY_NEW = """from agent.probes.http.config import HttpConfig
from agent.probes.pstn.plan import CallPlan
import agent.probes.http.config
NAME = "agent.probes.http.config.HttpConfig"
DOC = "see agent/probes/http/config.py and agent/probes/pstn/session.py"
"""


def _rewrite(tmp_path: Path, text: str) -> tuple[str, int]:
    path = tmp_path / "sample.py"
    path.write_text(text)
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "rewrite_imports.py"), "--check", str(path)])
    subprocess.run([sys.executable, str(ROOT / "tools" / "rewrite_imports.py"), str(path)], check=True)
    return path.read_text(), check.returncode


def test_old_paths_are_rewritten_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    assert _rewrite(tmp_path, OLD) == (NEW, 1)
    assert _rewrite(tmp_path, NEW) == (NEW, 0)


def test_modules_new_in_a_package_that_took_an_old_name_are_left_alone(tmp_path: Path) -> None:
    # agent.probes.http was a module; it is a package now, and its config module never moved.
    assert _rewrite(tmp_path, ALREADY_NEW) == (ALREADY_NEW, 0)
