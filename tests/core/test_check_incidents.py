"""`dialtone check-config` reads the site's incident posts: a post naming a component that is not configured
is refused (the page would show its raw id, as the shipped post's `core` once did), and so is a broken post."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.core.test_cli import ROOT, dialtone

SHIPPED = ROOT / "config"


def _copy_shipped(tmp: Path) -> Path:
    for name in ("dialtone.yaml", "exclusions.yaml"):
        shutil.copy(SHIPPED / name, tmp / name)
    shutil.copytree(SHIPPED / "incidents", tmp / "incidents")
    return tmp / "dialtone.yaml"


def test_the_shipped_posts_name_configured_components(tmp_path: Path) -> None:
    r = dialtone("check-config", str(_copy_shipped(tmp_path)))
    assert r.returncode == 0, r.stderr


def test_a_post_naming_an_unknown_component_is_refused(tmp_path: Path) -> None:
    config = _copy_shipped(tmp_path)
    post = tmp_path / "incidents" / "2026-03-06-core-outage.md"
    post.write_text(post.read_text().replace("components: [calling]", "components: [core]"))
    r = dialtone("check-config", str(config))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        f"site.incidents: {tmp_path / 'incidents'}: incident 'post-2026-03-06-core-outage' (Calls failing to "
        "connect): components: unknown component 'core'; configured: portal, api, voice, sip-edge, calling, inbound"
    ]


def test_a_broken_post_is_refused(tmp_path: Path) -> None:
    config = _copy_shipped(tmp_path)
    (tmp_path / "incidents" / "bad.md").write_text("title: no front matter\n")
    r = dialtone("check-config", str(config))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"site.incidents: {tmp_path / 'incidents' / 'bad.md'}: must start with a '---' "
        "line opening the YAML front matter"
    )
