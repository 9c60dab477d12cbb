"""Every Python snippet of README.md and docs/ runs as written: the snippets of one page run in order in
one namespace, as a reader would paste them into one session."""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def snippets(page):
    return FENCE.findall(page.read_text(encoding="utf-8"))


def test_pages_have_snippets():
    assert len(PAGES) >= 6
    assert sum(len(snippets(page)) for page in PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "snippets"}
    for index, code in enumerate(snippets(page)):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"{page.name} snippet {index + 1}", "exec"), namespace)
