"""A fixture site rendered once per module from a real SQLite history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from statuspage.model import StatusModel
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.statuspage.fixture import build_model


class Rendered:
    """The fixture's model, its files and the folder they were written to."""

    def __init__(self, tmp: Path) -> None:
        self.site, self.model, self.calendar = build_model(tmp)
        self.renderer = Renderer(self.site, calendar=self.calendar)
        self.files = self.renderer.files(self.model)
        AtomicSite(self.site.out).write(self.files)
        self.out = self.site.out

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    yield Rendered(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def model(rendered: Rendered) -> StatusModel:
    return rendered.model
