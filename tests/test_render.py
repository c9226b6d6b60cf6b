"""Rendering the digest: escaping of untrusted log content in every format, and what a reader sees in a
real headless chromium (DOM text after rendering, and a non-blank screenshot)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers import digest_docs as docs
from matplotlib import image as mpimg

from analyzers.digest import Digest, build_digest
from analyzers.digest_model import GroupRow
from analyzers.render import fence, md, status_note
from analyzers.store import Store
from kibana.setup import install_template

NOW = docs.UNTIL + timedelta(hours=8)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class _Reader(HTMLParser):
    """What a reader sees: visible text (no head/style), and which elements exist."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.classes: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.classes += (dict(attrs).get("class") or "").split()
        if tag in ("head", "style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    return reader


@pytest.fixture(scope="module")
def digest(es: Any) -> Iterator[Digest]:
    """The scenario's digest, built once for the module (its indices are deleted afterwards)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    docs.index_docs(es, prefix, docs.scenario())
    try:
        yield build_digest(Store(es, prefix), docs.WINDOW, docs.UNTIL, NOW, title="billing weekly")
    finally:
        names = list(es.indices.get(index=f"{prefix}-*"))
        if names:
            es.indices.delete(index=",".join(names))
        es.indices.delete_index_template(name=f"{prefix}-events")


@pytest.mark.es
def test_html_escapes_log_content(digest: Digest) -> None:
    """A `<script>` in an error message is text in the HTML, never an element."""
    html = digest.render("html")
    reader = read(html)
    assert "script" not in reader.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert docs.NEW_TITLE in reader.visible


@pytest.mark.es
def test_html_is_self_contained(digest: Digest) -> None:
    """The file version has inline styles and data: images only: no stylesheet, script or remote URL."""
    html = digest.render("html")
    reader = read(html)
    assert not {"link", "script", "iframe"} & set(reader.tags)
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == len(digest.images) > 1


@pytest.mark.es
def test_text_stands_on_its_own(digest: Digest) -> None:
    """The text digest carries every section, the counts and the sample traceback, and no markup."""
    text = digest.render("text")
    headings = ("TOTALS", "TOP GROUPS", "NEW THIS WEEK", "ERROR LINES", "SLOWEST", "USER FEEDBACK", "SHIPPER")
    for heading in headings:
        assert heading in text
    assert "[NEW] " + docs.NEW_TITLE in text and "[ONGOING] KeyError: 'user'" in text
    assert "builtins.KeyError: 'user'" in text
    assert "3 dropped, 1 dead-lettered, spool backlog 2" in text
    assert "<td" not in text and "cid:" not in text


@pytest.mark.es
def test_markdown_escapes_log_content(digest: Digest) -> None:
    """Markdown output escapes inline HTML from log content and indents tracebacks as code."""
    markdown = digest.render("markdown")
    outside_code = [line for line in markdown.splitlines() if not line.startswith("    ")]
    assert not [line for line in outside_code if "<script>" in line]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "\n\n    Traceback (most recent call last):" in markdown


@pytest.mark.es
def test_json_keeps_raw_values(digest: Digest) -> None:
    """JSON is data: raw titles (consumers escape), ISO times, the emptiness flag."""
    document = json.loads(digest.render("json"))
    assert document["top_groups"][0]["title"] == docs.NEW_TITLE
    assert document["top_groups"][0]["first_seen"].endswith("+00:00")
    assert document["is_empty"] is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("a <b>|c & d", r"a &lt;b&gt;\|c &amp; d", id="html-and-table-pipe"),
        pytest.param("line\n# heading", r"line \# heading", id="newline-cannot-start-a-block"),
        pytest.param("[x](http://e)", r"\[x\](http://e)", id="link"),
    ],
)
def test_md_filter(value: str, expected: str) -> None:
    """The markdown filter neutralises markup and block starts in untrusted values."""
    assert md(value) == expected


def test_code_block_holds_anything_verbatim() -> None:
    """A traceback becomes an indented code block: backticks or HTML inside cannot end it or render."""
    assert fence("x = '```'\n```\n\n<b>") == "    x = '```'\n    ```\n\n    <b>"


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    )


@pytest.mark.es
@pytest.mark.browser
def test_chromium_shows_groups_counts_and_badges(digest: Digest, tmp_path: Path) -> None:
    """In a real browser the DOM shows the top group's title as text, the counts and the status badges."""
    page = tmp_path / "digest.html"
    page.write_text(digest.render("html"), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri(), cwd=tmp_path).stdout
    reader = read(dom)
    seen = reader.visible
    top = digest.report.top_groups[0]
    assert top.title == docs.NEW_TITLE and top.title in seen
    assert "script" not in reader.tags  # the title's <script> stayed text after parsing
    assert "21 Errors" in seen and "54 Log events" in seen
    assert f"new {docs.NEW_TITLE}" in seen and "ongoing KeyError: 'user'" in seen  # badge, then title
    assert {"badge-new", "badge-ongoing", "badge-escalating"} <= set(reader.classes)
    assert "3 dropped · 1 dead-lettered" in seen


@pytest.mark.es
@pytest.mark.browser
def test_chromium_screenshot_is_not_blank(digest: Digest, tmp_path: Path) -> None:
    """A headless screenshot of the digest has many distinct colours (text, badges, chart): not blank."""
    page = tmp_path / "digest.html"
    page.write_text(digest.render("html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    _chromium(
        "--hide-scrollbars", "--window-size=800,1200", f"--screenshot={shot}", page.as_uri(), cwd=tmp_path
    )
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[:2] == (1200, 800)
    colours = {tuple(p) for p in (pixels[::7, ::7, :3] * 255).astype(int).reshape(-1, 3).tolist()}
    assert len(colours) > 50


CAME_BACK = "came back 2026-12-02 08:00 UTC"


def _regressed(came_back_on: str | None, resolved_in: str | None) -> GroupRow:
    return GroupRow(
        key="k", title="Timeout", status="regressed", category="traceback", error_type=None, count=3,
        previous_count=0, first_seen=None, last_seen=None, versions=(), hosts=(), host_count=1,
        services=(), sample_trace=None, sample_message=None, priority=1.0, daily=(),
        regressed_at=datetime(2026, 12, 2, 8, tzinfo=UTC), regressed_in_version=came_back_on,
        resolved_in_version=resolved_in,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("came_back_on", "resolved_in", "note"),
    [
        (
            "1.4.2",
            "1.4",
            "came back 2026-12-02 08:00 UTC on version 1.4.2 (had been resolved in version 1.4)",
        ),
        (
            "1.4",
            "1.4",
            "came back 2026-12-02 08:00 UTC on version 1.4 (resolved in that version: its fix did not hold)",
        ),
        (None, "1.4", f"{CAME_BACK} (had been resolved in version 1.4)"),
        ("1.4", None, f"{CAME_BACK} on version 1.4"),
    ],
)
def test_a_regression_says_whether_the_fix_itself_failed(
    came_back_on: str | None, resolved_in: str | None, note: str
) -> None:
    """A group back on the very version that was to fix it says that fix did not hold; one back on a
    later version names the version that had fixed it."""
    assert status_note(_regressed(came_back_on, resolved_in)) == note
