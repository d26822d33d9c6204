"""`dialtone render --out DIR` and the agent's own rendering never remove what dialtone did not write
(issue 16, break 5), against the real CLI and a real `dialtone run` process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from statuspage.output import MARKER
from tests.faults.test_history_and_signals import ROOT
from tests.peers.base import free_port


def render(cfg: Path, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "agent", "render", "-c", str(cfg), "--now", "2026-03-16T18:00Z"]
    return subprocess.run(
        [*args, *(["--out", str(out)] if out else [])], cwd=ROOT, text=True, capture_output=True, timeout=120
    )


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def config(tmp: Path, history: Path, out: str = "site") -> Path:
    cfg = tmp / "dialtone.yaml"
    cfg.write_text(
        f"history: {{path: {history}}}\nsite: {{out: {out}, incidents: {tmp / 'incidents'}}}\n"
        "components: [{id: web, name: Web, tier: core}]\n"
    )
    return cfg


def test_out_holding_the_history_is_refused_and_left_alone(tmp_path: Path) -> None:
    """The reported case: --out var beside history at var/dialtone.sqlite. The history is kept, byte for byte."""
    var = tmp_path / "var"
    var.mkdir()
    history = var / "dialtone.sqlite"
    history.write_bytes(b"SQLite format 3\x00 stand-in for a year of history")
    cfg = config(tmp_path, history, out=str(tmp_path / "elsewhere"))
    before = tree(var)
    done = render(cfg, var)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "overlaps history.path" in done.stderr
    assert tree(var) == before and not var.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dialtone.yaml", "var"]


def test_a_folder_of_someone_elses_files_is_refused_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "www"
    (out / "docs").mkdir(parents=True)
    (out / "index.html").write_text("the operator's own page")
    (out / "docs" / "notes.txt").write_text("notes")
    before = tree(out)
    done = render(config(tmp_path, tmp_path / "h.sqlite"), out)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"render: site output {out}: refusing to replace a folder that dialtone did not write (no {MARKER} in "
        "it); choose another folder, or empty or remove this one"
    )
    assert tree(out) == before and not out.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".www")] == []  # nothing moved aside


def test_a_file_or_a_foreign_link_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path, tmp_path / "h.sqlite")
    (tmp_path / "afile").write_text("keep")
    assert render(cfg, tmp_path / "afile").returncode == 2
    assert (tmp_path / "afile").read_text() == "keep"
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "x.html").write_text("keep")
    (tmp_path / "link").symlink_to("theirs")
    done = render(cfg, tmp_path / "link")
    assert done.returncode == 2 and "refusing to replace a link" in done.stderr
    assert (tmp_path / "theirs" / "x.html").read_text() == "keep"


def test_an_empty_folder_is_taken_and_its_own_output_rerendered(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    cfg = config(tmp_path, tmp_path / "h.sqlite")
    for _ in range(3):  # each run is a new process: ownership is read from the marker, not remembered
        done = render(cfg, out)
        assert done.returncode == 0, done.stderr
        assert out.is_symlink() and (out / MARKER).is_file() and (out / "index.html").is_file()
    gens = [p for p in tmp_path.iterdir() if p.name.startswith(".site.gen-")]
    assert len(gens) == 2 and all((g / MARKER).is_file() for g in gens)


def test_the_agent_refuses_to_start_on_a_folder_it_does_not_own(tmp_path: Path) -> None:
    out = tmp_path / "public"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    cfg = config(tmp_path, tmp_path / "h.sqlite", out=str(out))
    cfg.write_text(cfg.read_text() + f"listen: 127.0.0.1:{free_port()}\n")
    done = subprocess.run(
        [sys.executable, "-m", "agent", "run", "-c", str(cfg)], cwd=ROOT, text=True, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert f"dialtone: cannot start: site output {out}: refusing to replace a folder" in done.stderr
    assert tree(out) == {"keep.txt": b"keep"}


def test_check_config_refuses_the_reported_layout(tmp_path: Path) -> None:
    """`site.out: var` with `history.path: var/dialtone.sqlite`, as reported: check-config used to accept it."""
    (tmp_path / "dialtone.yaml").write_text("history: {path: var/dialtone.sqlite}\nsite: {out: var}\n")
    done = subprocess.run(
        [sys.executable, "-m", "agent", "check-config", str(tmp_path / "dialtone.yaml")],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"{tmp_path / 'dialtone.yaml'}: site.out: overlaps history.path (var/dialtone.sqlite): the site folder "
        "is public and replaced at every render; give it a folder of its own"
    )
