"""Log content that is hostile to an output, end to end on the real node: grouping keys (any text
another shipper wrote), titles and fields of other JSON kinds reach the digest's commands and Kibana
links, `logloop group show|ticket`, `analyze`'s listing and the mail headers, as one rule per output
kind (`analyzers/escaping.py`) makes them: a command quoted for the shell, a KQL phrase, a code span,
one header line."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import smtplib
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.smtp_inbox import plain_smtp
from markdown_it import MarkdownIt

from analyzers import digest, mailer, ticket
from analyzers.analyze import title_of
from analyzers.digest_data import DigestData
from analyzers.digest_model import Report, build_report
from analyzers.digest_options import DEFAULT_OPTIONS
from analyzers.digest_window import Window
from analyzers.escaping import markdown_code_span, shell_command, source_text, text_line
from analyzers.group_report import build as build_group_report
from analyzers.render import environment, render
from analyzers.store import Store
from kibana.setup import install_template
from shipper.schema import index_for

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KIBANA = "http://kibana.test:5601"
KEYS = (
    pytest.param("k`x`; touch /tmp/pwned #", id="backquotes-semicolon-comment"),
    pytest.param("k$(id)|x && y", id="substitution-pipe"),
    pytest.param("k\"q\\b*(x):!'y", id="kql-rison-specials"),
    pytest.param("k) [a](javascript:x) <b>", id="markdown-link-and-paren"),
    pytest.param("k ``` ` `` end", id="backquote-runs"),
    pytest.param("ключ-键-🔑 \u202ereversed", id="cjk-emoji-bidi"),
    pytest.param("k\n# heading\r\nBcc: x@y", id="newlines"),
)


def _event(key: str, at: datetime, **error: Any) -> dict[str, Any]:
    return {
        "@timestamp": at.isoformat().replace("+00:00", "Z"),
        "message": "m",
        "event": {"id": uuid.uuid4().hex, "dataset": "logloop.log"},
        "log": {"level": "error", "logger": "app"},
        "service": {"name": "svc", "version": "1.0"},
        "host": {"name": "h"},
        "process": {"pid": 7},
        "error": {"type": "ValueError", "message": "m", "grouping_key": key, **error},
        "logloop": {"grouping_version": 3},
    }


def _seed(es: Any, prefix: str, docs: list[dict[str, Any]]) -> Store:
    install_template(es, prefix)
    operations: list[dict[str, Any]] = []
    for doc in docs:
        at = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        operations += [{"create": {"_index": index_for(at, prefix), "_id": doc["event"]["id"]}}, doc]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response["items"][:2]
    return Store(es, prefix)


@pytest.fixture
def keyed(es: Any, index_prefix: str, request: pytest.FixtureRequest) -> tuple[Store, str]:
    key = request.param
    docs = [_event(key, NOW - timedelta(hours=2, seconds=i), grouping_name="ValueError: m") for i in range(3)]
    return _seed(es, index_prefix, docs), key


def _digest(store: Store) -> digest.Digest:
    options = dataclasses.replace(DEFAULT_OPTIONS, kibana_url=KIBANA)
    return digest.build_digest(store, timedelta(days=1), NOW, NOW, options=options)


def _typed(key: str) -> str:
    """The key as a reader can type it on one line (a control character or override is U+FFFD)."""
    return re.sub(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", "\ufffd", key)


class _Elements(HTMLParser):
    """The text of every `code` element and the `href` of every link of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[str] = []
        self.hrefs: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "code":
            self._in_code = True
            self.codes.append("")
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_code = self._in_code and tag != "code"

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.codes[-1] += data


def _parsed(html: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(html)
    return parsed


def _commands(texts: list[str]) -> list[list[str]]:
    """Every `logloop group ACTION KEY` among `texts`, each text split as a shell splits it."""
    found = []
    for text in texts:
        if "logloop group" in text:
            words = shlex.split(text[text.index("logloop group") :])
            found += [words[i : i + 4] for i in range(len(words)) if words[i : i + 2] == ["logloop", "group"]]
    return found


def _kibana_key(url: str) -> str:
    """The key a Discover URL filters on, read as Kibana reads it: the fragment's query decoded, the
    rison string unescaped, then the KQL phrase unescaped."""
    state = parse_qs(urlsplit(url).fragment.partition("?")[2])["_a"][0]
    rison = re.search(r"query:'((?:[^'!]|!.)*)'\)\)$", state)
    assert rison, state
    query = re.sub(r"!(.)", r"\1", rison.group(1))
    phrase = re.fullmatch(r'error\.grouping_key:"((?:[^"\\]|\\.)*)"', query)
    assert phrase, query
    return re.sub(r"\\(.)", r"\1", phrase.group(1))


@pytest.mark.es
@pytest.mark.parametrize("keyed", KEYS, indirect=True)
def test_digest_commands_and_links_name_exactly_the_key(keyed: tuple[Store, str]) -> None:
    """In the text, Markdown and HTML digests every suggested command splits, as a shell splits it,
    into `logloop group show|ticket KEY`, and every Kibana link filters on exactly that key."""
    store, key = keyed
    built = _digest(store)
    want = {("show", _typed(key)), ("ticket", _typed(key))}
    text = built.render("text")
    assert {(c[2], c[3]) for c in _commands(text.splitlines())} == want
    assert len(_commands(text.splitlines())) == 2
    markdown_html = MarkdownIt("commonmark", {"html": True}).render(built.render("markdown"))
    rendered = _parsed(markdown_html)
    assert {(c[2], c[3]) for c in _commands(rendered.codes)} == want and len(_commands(rendered.codes)) == 2
    assert [_kibana_key(href) for href in rendered.hrefs] == [key]
    html = _parsed(built.render("html"))
    assert {(c[2], c[3]) for c in _commands(html.codes)} == want and len(_commands(html.codes)) == 2
    assert [_kibana_key(href) for href in html.hrefs] == [key]
    kibana_lines = [line.split("kibana: ", 1)[1] for line in text.splitlines() if "kibana: " in line]
    assert [_kibana_key(url) for url in kibana_lines] == [key]


@pytest.mark.es
@pytest.mark.parametrize("keyed", KEYS, indirect=True)
def test_group_show_and_ticket_quote_the_key(keyed: tuple[Store, str]) -> None:
    """`logloop group show` prints the key on one line and a ticket command that names it; the ticket's
    Markdown keeps the key in one table cell, its command in one code span and its link whole."""
    store, key = keyed
    options = dataclasses.replace(DEFAULT_OPTIONS, kibana_url=KIBANA)
    report = build_group_report(store, key, window=timedelta(days=1), until=NOW, now=NOW, options=options)
    shown = environment().get_template("group_show.txt.j2").render(r=report)
    assert [line for line in shown.splitlines() if line.startswith("key:")] == [
        f"key:        {text_line(key)}"
    ]
    assert _commands([line for line in shown.splitlines() if line.startswith("ticket:")]) == [
        ["logloop", "group", "ticket", _typed(key)]
    ]
    rendered = MarkdownIt("commonmark").enable("table").render(ticket.markdown(report))
    cells = re.findall(r"<tr>\s*<td>Group</td>\s*<td>(.*?)</td>\s*</tr>", rendered, re.S)
    assert len(cells) == 1 and "<" not in cells[0].replace("&lt;", "")
    parsed = _parsed(rendered)
    assert _commands(parsed.codes) == [["logloop", "group", "show", _typed(key)]]
    sent = ticket.payload(dataclasses.replace(report, group=dataclasses.replace(report.group, title=key)))
    assert not re.search(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", sent["title"]) and sent["group"] == key
    assert [_kibana_key(href) for href in parsed.hrefs] == [key]


@pytest.mark.es
@pytest.mark.parametrize("keyed", [KEYS[-1], KEYS[0]], indirect=True)
def test_analyze_listing_is_one_line_per_group(keyed: tuple[Store, str], es_url: str, tmp_path: Path) -> None:
    """`logloop analyze` lists each group on one line whatever its key holds."""
    store, _key = keyed
    env = {"LOGLOOP_ELASTICSEARCH_URL": es_url, "LOGLOOP_INDEX_PREFIX": store.prefix, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "logloop.cli", "analyze", "--until", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("analyzed 1 group up"), result.stdout


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("boom\r\nBcc: x@example.com\r\nX-Evil: 1", id="crlf-headers"),
        pytest.param("paid \u202egnp.exe\u2066 \u2069", id="bidi-overrides"),
        pytest.param("a\x00b\x1b[31mc\x85d\u2028e", id="controls-and-separators"),
        pytest.param("错误 エラー 💥 " * 40, id="long-cjk-emoji"),
        pytest.param("=?utf-8?q?Bcc=3A_x=40y?= " + "E" * 300, id="encoded-word-lookalike"),
    ],
)
def test_digest_subject_is_one_clean_header_through_smtp(title: str) -> None:
    """A top group's title reaches the Subject on one line without control characters or direction
    overrides, within the length limit, folded and encoded so a real SMTP server receives exactly
    one Subject and no injected header."""
    report = _report_with_top_title(title)
    message = mailer.build_message(report, {}, sender="a@example.com", recipient="b@example.com", now=NOW)
    with plain_smtp() as (inbox, port), smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)
    [(_rcpts, received)] = inbox.messages
    assert received.get_all("Subject") is not None and len(received.get_all("Subject")) == 1
    assert received.get_all("Bcc") is None and received.get_all("X-Evil") is None
    subject = str(received["Subject"])
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", subject)
    assert len(subject) <= mailer.HEADER_CHARS and subject.startswith("[logloop] ")
    raw = message.as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and raw.isascii()


def _report_with_top_title(title: str) -> Report:
    """The recorded scenario's report with its top group titled `title`."""
    report = build_report(_scenario(), title="t", generated_at=NOW)
    top = dataclasses.replace(report.top_groups[0], title=title)
    return dataclasses.replace(report, top_groups=(top, *report.top_groups[1:]))


def _scenario() -> DigestData:
    """The recorded digest scenario (tests/data/digest)."""
    document = json.loads((Path(__file__).parent / "data" / "digest" / "scenario_data.json").read_text())
    window = document.pop("window")
    return DigestData(
        window=Window(*(datetime.fromisoformat(window[n]) for n in ("start", "end"))), **document
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(["ValueError: a", "b"], "ValueError: a, b", id="list"),
        pytest.param(True, "true", id="bool"),
        pytest.param(0, "0", id="zero"),
        pytest.param(12.5, "12.5", id="float"),
        pytest.param({"k": "<i>v</i>"}, '{"k": "<i>v</i>"}', id="object"),
        pytest.param([None, "x", []], "x", id="list-with-nulls"),
    ],
)
def test_fields_of_other_json_kinds_read_as_text(value: Any, text: str) -> None:
    """A title field that is not a string reads as its JSON text, never Python's repr (`['a']`, `True`)."""
    assert source_text(value) == text
    assert title_of({"error": {"grouping_name": value}}, "key") == text


@pytest.mark.es
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"message": ["first", "second"]}, id="message-list"),
        pytest.param({"type": ["A", "B"], "message": ["x"]}, id="type-and-message-lists"),
        pytest.param(
            {"stack_trace": ["Traceback (most recent call last):", "ValueError: x"]}, id="trace-list"
        ),
        pytest.param({"message": 404}, id="message-number"),
    ],
)
def test_digest_of_fields_of_other_kinds_renders(es: Any, index_prefix: str, fields: dict[str, Any]) -> None:
    """An error whose message, type or traceback another shipper sent as a list or a number is titled
    and shown as text in every format (it made the digest fail with a TypeError)."""
    doc = _event("k-lists", NOW - timedelta(hours=1), **fields)
    store = _seed(es, index_prefix, [doc])
    built = digest.build_digest(store, timedelta(days=1), NOW, NOW)
    title = built.report.top_groups[0].title
    assert "[" not in title and "'" not in title
    for fmt in ("html", "text", "markdown", "json"):
        assert built.render(fmt)


@pytest.mark.parametrize(
    "value",
    ["a`b", "``x", "x`", "` `", "plain", "a ``` b ` c"],
)
def test_code_span_holds_any_backquotes(value: str) -> None:
    """A code span shows its value verbatim, however many backquotes the value holds."""
    html = MarkdownIt("commonmark").render(markdown_code_span(value))
    assert re.fullmatch(r"<p><code>(.*)</code></p>\n", html, re.S)
    inner = re.fullmatch(r"<p><code>(.*)</code></p>\n", html, re.S)
    assert inner and inner.group(1).replace("&quot;", '"') == value


def test_shell_command_round_trips_through_a_shell(tmp_path: Path) -> None:
    """A real shell running `printf '%s\\n'` with the quoted words prints each word as it was."""
    words = ["a b", "$(touch x)", "`id`", "'", '"', "#c", "*", "~", ";", "|", "\\", "-n", "ключ"]
    result = subprocess.run(
        ["sh", "-c", shell_command("printf", "%s\\n", *words)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=10,
    )
    assert result.stdout.splitlines() == words and not list(tmp_path.iterdir())


@pytest.mark.parametrize("listed", ["regressed_groups", "resolved_groups"])
@pytest.mark.parametrize(
    "title",
    [
        pytest.param("x\n\nNEW THIS WEEK\n  - fake group", id="fake-section"),
        pytest.param("x\r\x1b[2J\u202eflipped", id="cr-ansi-bidi"),
    ],
)
def test_text_digest_lists_each_group_on_one_line(listed: str, title: str) -> None:
    """A regressed or resolved group's title and version add no line to the text digest."""
    report = build_report(_scenario(), title="t", generated_at=NOW)
    versions = {"regressed_in_version": title, "resolved_in_version": title}
    row = dataclasses.replace(report.top_groups[0], title=title, status="regressed", **versions)
    text = render(dataclasses.replace(report, **{listed: (row,)}), "text")
    heading = {"regressed_groups": "REGRESSED (1)", "resolved_groups": "RESOLVED (1)"}[listed]
    lines = text.splitlines()
    after = lines[lines.index(heading) + 1 : lines.index(heading) + 3]
    assert after[0].lstrip().startswith("- x") and after[1] in (
        "",
        "RESOLVED (0)",
        "ERROR LINES WITHOUT TRACEBACK",
    )
    assert [line for line in lines if line.startswith("NEW THIS")] == ["NEW THIS WEEK"]
    assert not re.search(r"[\r\x1b\u202e]", text)


HTML_KEYS = (
    pytest.param('k"><img src=x onerror="document.title=\'PWNED\'">', id="attribute-break"),
    pytest.param("k</code><script>document.title='PWNED'</script>", id="script"),
    pytest.param("javascript:document.title='PWNED'//", id="javascript-url"),
)


@pytest.mark.es
@pytest.mark.browser
@pytest.mark.parametrize("keyed", HTML_KEYS, indirect=True)
def test_html_digest_runs_no_log_content_in_chromium(keyed: tuple[Store, str], tmp_path: Path) -> None:
    """The HTML digest of a group whose key and title are HTML, opened in headless chromium with
    scripts enabled, keeps its title (no script ran), holds no element or attribute from log content,
    and links only to Kibana."""
    store, key = keyed
    built = _digest(store)
    report = built.report
    top = dataclasses.replace(report.top_groups[0], title=key, hosts=(key,), versions=(key,))
    page = tmp_path / "digest.html"
    page.write_text(render(dataclasses.replace(report, top_groups=(top,), partial=(key,)), "html"), "utf-8")
    chromium = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = chromium.stdout
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)  # type: ignore[union-attr]
    assert "<script" not in dom and not re.search(r"<[^>]+\son[a-z]+=", dom)
    hrefs = _parsed(dom).hrefs
    assert hrefs and all(href.startswith(f"{KIBANA}/app/discover#/") for href in hrefs)
    assert [_kibana_key(href) for href in hrefs] == [key]


# Every character a reader cannot see: direction marks, embeddings, overrides and isolates (Trojan
# Source), zero-width space/joiners, the word joiner and the byte order mark.
INVISIBLE = [
    *map(chr, range(0x200B, 0x2010)),
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
    "\u2060",
    "\ufeff",
]
_INVISIBLE_RE = re.compile("[" + "".join(INVISIBLE) + "]")


@pytest.mark.parametrize("char", [pytest.param(c, id=f"U+{ord(c):04X}") for c in INVISIBLE])
def test_every_output_rule_shows_an_invisible_character(char: str) -> None:
    """Each escaping rule (text line, Markdown, code span, indented code, shell word, mail header,
    HTML through the digest's environment, JSON) leaves no invisible character as it is: it is shown
    as U+FFFD, or a space in a header, or its `\\uXXXX` escape in JSON, which still reads back exactly."""
    from analyzers.escaping import header_line, json_text, markdown_code, markdown_inline, terminal_safe

    value = f"admin{char}.exe"
    outputs = [
        text_line(value),
        terminal_safe(value),
        markdown_inline(value),
        markdown_code_span(value),
        markdown_code(value),
        shell_command(value),
        header_line(value, 100),
        environment().from_string("<p>{{ v }}</p>").render(v=value),
    ]
    assert not [out for out in outputs if char in out]
    assert all("\ufffd" in out for out in outputs if out is not outputs[6])
    encoded = json_text(json.dumps({"v": value}, ensure_ascii=False))
    assert char not in encoded and f"\\u{ord(char):04x}" in encoded and json.loads(encoded) == {"v": value}


@pytest.mark.parametrize(
    "word",
    [
        pytest.param("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", id="persian-zwnj"),
        pytest.param("\u0915\u094d\u200d\u0937", id="devanagari-zwj"),
        pytest.param("\U0001f468\u200d\U0001f469\u200d\U0001f467", id="emoji-family"),
        pytest.param("\U0001f3f3\ufe0f\u200d\U0001f308", id="emoji-flag"),
    ],
)
def test_a_joiner_that_a_script_or_emoji_needs_reaches_every_output(word: str) -> None:
    """A zero-width (non-)joiner between two non-ASCII letters or emoji (Persian, Devanagari, an emoji
    family or flag) reaches every output as it is, where it was shown as U+FFFD and broke the word."""
    from analyzers.escaping import header_line, markdown_code, markdown_inline, terminal_safe

    value = f"ValueError: {word} failed"
    outputs = [
        text_line(value),
        terminal_safe(value),
        markdown_inline(value),
        markdown_code_span(value),
        markdown_code(value),
        shell_command(value),
        header_line(value, 100),
        environment().from_string("<p>{{ v }}</p>").render(v=value),
    ]
    assert [out for out in outputs if word not in out] == []


@pytest.mark.es
def test_invisible_characters_in_every_field_reach_no_output(es: Any, index_prefix: str) -> None:
    """A group whose key, title, message, trace, host, service, version and logger hold every invisible
    character (the title a Trojan Source `admin\\u202e gnp.exe`): the digest in every format, its
    subject, `group show`, the ticket and an alert email show none of them as they are
    (zero-width ones and U+FEFF passed through all of them), and the JSON digest still holds the exact key."""
    from analyzers import alerts, analyze
    from analyzers.config import AnalyzeConfig

    hidden = "".join(INVISIBLE)
    key = f"k{hidden}"
    docs = []
    for i in range(3):
        doc = _event(
            key,
            NOW - timedelta(hours=2, seconds=i),
            grouping_name=f"ValueError: admin\u202e gnp.exe{hidden}",
            message=f"m{hidden}",
            stack_trace=f'Traceback (most recent call last):\n  File "/a.py", line 1, in f{hidden}\nE: x',
        )
        doc["host"]["name"] = f"h{hidden}"
        doc["service"] = {"name": f"svc{hidden}", "version": f"1.0{hidden}"}
        doc["log"]["logger"] = f"app{hidden}"
        docs.append(doc)
    store = _seed(es, index_prefix, docs)
    group = analyze.run(store, config=AnalyzeConfig(), until=NOW).groups[0]
    built = _digest(store)
    options = dataclasses.replace(DEFAULT_OPTIONS, kibana_url=KIBANA)
    report = build_group_report(store, key, window=timedelta(days=1), until=NOW, now=NOW, options=options)
    alert = alerts.Alert(
        status="new",
        group_id=group.group_id,
        title=group.title,
        count=3,
        since=NOW,
        services=group.services,
        versions=group.versions,
        hosts=group.hosts,
    )
    outputs = {
        **{fmt: built.render(fmt) for fmt in ("html", "text", "markdown", "json")},
        "subject": mailer.subject(built.report),
        "group show": environment().get_template("group_show.txt.j2").render(r=report),
        "ticket": ticket.markdown(report),
        "ticket title": ticket.payload(report)["title"],
    }
    outputs["alert text"] = alerts.email_text(alert, "OK")
    outputs["alert html"] = alerts.email_html(alert, "OK")
    assert {
        name: _INVISIBLE_RE.findall(text) for name, text in outputs.items() if _INVISIBLE_RE.search(text)
    } == {}
    assert [row["key"] for row in json.loads(outputs["json"])["top_groups"]] == [key]
