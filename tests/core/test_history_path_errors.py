"""A report run from another folder than the agent's: the error says where a relative history.path led.

history.path is relative to the working directory (unlike the site's paths, relative to the config file): run
from elsewhere, `dialtone sla report -c config/dialtone.yaml` only said `history var/dialtone.sqlite: no such
file`, with nothing to tell the reader which folder it looked in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.test_cli import ROOT


def _sla_report(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agent", "sla", "report", "--month", "2026-12", "-c", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd, env={"PYTHONPATH": str(ROOT)})


def test_a_relative_history_path_names_the_folder_it_looked_in(tmp_path: Path) -> None:
    r = _sla_report(ROOT / "config" / "dialtone.yaml", tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"dialtone sla report: history var/dialtone.sqlite: no such file: {tmp_path / 'var' / 'dialtone.sqlite'} "
        "(history.path is relative to the working directory; has the agent run from there yet?)"
    )


def test_an_absolute_history_path_is_named_as_written(tmp_path: Path) -> None:
    config = tmp_path / "dialtone.yaml"
    config.write_text(f"history: {{path: {tmp_path / 'none.sqlite'}}}\n")
    r = _sla_report(config, tmp_path)
    assert r.returncode == 2
    missing = tmp_path / "none.sqlite"
    assert r.stderr.strip() == f"dialtone sla report: history {missing}: no such file (has the agent run yet?)"
