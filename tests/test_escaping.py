"""Log content in the text and Markdown digests: control characters and ANSI escapes never reach a
terminal or break the text layout, and Markdown renderers of several dialects (CommonMark via
markdown-it-py, Python-Markdown) turn no log content into HTML elements, links or images, checked in
the DOM of a real headless chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt

from analyzers.digest_data import DigestData
from analyzers.digest_model import build_report
from analyzers.digest_window import Window
from analyzers.escaping import markdown_code, markdown_inline, terminal_safe, text_line
from analyzers.render import render

DATA = Path(__file__).parent / "data" / "digest"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = (
    "bad <img src=x onerror=alert(1)> [click](javascript:alert(2)) ![pixel](http://e.invalid/p.png) "
    "<https://e.invalid> | a | b | \x1b[31mRED\x1b[0m \u202eevil\n# fake heading <script>alert(3)</script>"
)
HOSTILE_HOST = "web-1\n\nNEW THIS WEEK\x1b[2J\r"


def _render(fmt: str) -> str:
    """The recorded digest scenario rendered with its error message and a host name made hostile."""
    raw = (DATA / "scenario_data.json").read_text(encoding="utf-8")
    raw = raw.replace(json.dumps("bad <script>alert(1)</script> input")[1:-1], json.dumps(HOSTILE)[1:-1])
    raw = raw.replace('"web-1"', json.dumps(HOSTILE_HOST))
    document = json.loads(raw)
    window = document.pop("window")
    start, end = (datetime.fromisoformat(window[name]) for name in ("start", "end"))
    data = DigestData(window=Window(start, end), **document)
    return render(build_report(data, title="hostile", generated_at=datetime(2026, 11, 23, tzinfo=UTC)), fmt)


class _Elements(HTMLParser):
    """The elements of an HTML page, with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(html)
    return parsed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("red \x1b[31mALERT\x1b[0m\x00", "red \ufffd[31mALERT\ufffd[0m\ufffd", id="ansi-and-nul"),
        pytest.param("a\u202eb\u2066c", "a\ufffdb\ufffdc", id="direction-overrides"),
        pytest.param("line 1\n\tline 2", "line 1\n\tline 2", id="newline-and-tab-kept"),
        pytest.param("\x85next-line \x9bcsi", "\ufffdnext-line \ufffdcsi", id="c1-controls"),
    ],
)
def test_terminal_safe(value: str, expected: str) -> None:
    """Control characters and direction overrides become U+FFFD; newlines and tabs stay."""
    assert terminal_safe(value) == expected


def test_text_line_cannot_start_a_new_line() -> None:
    """CR, LF and other whitespace runs become one space, so a value stays on its line."""
    assert text_line("a\r\nTOP GROUPS\x0b\x1b[2J b") == "a TOP GROUPS \ufffd[2J b"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", id="html"),
        pytest.param("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))", id="link"),
        pytest.param("![x](http://e/p.png)", r"!\[x\](http://e/p.png)", id="image"),
        pytest.param("a|b", r"a\|b", id="table-pipe"),
        pytest.param("*a* _b_ `c` ~d~", r"\*a\* \_b\_ \`c\` \~d\~", id="emphasis-and-code"),
        pytest.param("x\n# heading", r"x \# heading", id="newline-cannot-start-a-block"),
        pytest.param("&lt; &", "&amp;lt; &amp;", id="entities-stay-text"),
    ],
)
def test_markdown_inline(value: str, expected: str) -> None:
    """Inline values: HTML as entities, Markdown punctuation escaped, one line."""
    assert markdown_inline(value) == expected


def test_markdown_code_is_an_indented_block() -> None:
    """A traceback is an indented code block, whatever it holds (fences, HTML, control characters)."""
    assert markdown_code("```\n<b>\x1b[1m\n\nend") == "    ```\n    <b>\ufffd[1m\n\n    end"


def test_text_digest_layout_survives_hostile_content() -> None:
    """Hostile titles and host names add no line that looks like a section and no control character."""
    text = _render("text")
    assert not any(c in text for c in "\x1b\r\x00\u202e")
    assert [line for line in text.splitlines() if line.startswith("NEW THIS")] == ["NEW THIS WEEK"]
    assert not any(line.startswith("# fake heading") for line in text.splitlines())
    assert "<img src=x onerror=alert(1)>" in text  # plain text: shown as it is, readable


@pytest.mark.parametrize(
    "renderer",
    [
        pytest.param(lambda source: MarkdownIt("commonmark", {"html": True}).render(source), id="commonmark"),
        pytest.param(
            lambda source: (
                MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(source)
            ),
            id="commonmark-with-tables",
        ),
        pytest.param(markdown.markdown, id="python-markdown"),
    ],
)
@pytest.mark.browser
def test_markdown_digest_renders_no_log_content_as_html(renderer: object, tmp_path: Path) -> None:
    """Rendered by a Markdown library that passes raw HTML through, then parsed by chromium: no element,
    link or image comes from log content, and the hostile text is shown as text."""
    source = _render("markdown")
    assert callable(renderer)
    page = tmp_path / "digest.html"
    page.write_text(f"<!doctype html><meta charset=utf-8><body>{renderer(source)}</body>", encoding="utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = _parse(result.stdout)
    tags = {tag for tag, _ in dom.elements}
    assert not tags & {"script", "img", "iframe", "a"}
    assert [attrs for _, attrs in dom.elements if any(name.startswith("on") for name in attrs)] == []
    headings = [tag for tag, _ in dom.elements if tag in ("h1", "h2", "h3")]
    assert len(headings) == len([line for line in source.splitlines() if line.startswith("#")])
    visible = " ".join(" ".join(dom.text).split())
    assert "<img src=x onerror=alert(1)>" in visible and "[click](javascript:alert(2))" in visible
