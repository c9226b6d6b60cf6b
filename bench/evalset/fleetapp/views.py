"""Views: templates and markup (jinja2, markupsafe, string formatting, pygments, docutils)."""

from __future__ import annotations

import io
from typing import Any

from fleetapp.registry import bug, need


def _env(strict: bool = False) -> Any:
    need("jinja2")
    import jinja2

    loader = jinja2.DictLoader(
        {
            "base.html": "<h1>{% block title %}{% endblock %}</h1>{{ user.name.first }}",
            "broken.html": "{% for item in items %}{{ item }}",
            "filter.html": "{{ total | money }}",
            "include.html": "{% include 'missing.html' %}",
        }
    )
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)


@bug("jinja2")
def render_dashboard(v: str) -> str:
    return str(_env().get_template("base.html").render(user=None))


@bug("jinja2")
def render_orders(v: str) -> str:
    return str(_env().get_template("broken.html").render(items=[v]))


@bug("jinja2")
def render_invoice_page(v: str) -> str:
    return str(_env().get_template("filter.html").render(total=v))


@bug("jinja2")
def render_help(v: str) -> str:
    return str(_env().get_template(f"help-{v}.html").render())


@bug("jinja2")
def render_profile(v: str) -> str:
    return str(_env(strict=True).from_string("Hello {{ name }}").render(nick=v))


@bug("jinja2")
def render_sidebar(v: str) -> str:
    return str(_env().get_template("include.html").render())


@bug("jinja2")
def render_inline(v: str) -> str:
    return str(_env().from_string("{{ " + v + " + }}").render())


@bug("markupsafe")
def escape_comment(v: str) -> str:
    need("markupsafe")
    import markupsafe

    return str(markupsafe.Markup("<b>%(name)s</b>") % v)


@bug("pygments")
def highlight_snippet(v: str) -> Any:
    need("pygments")
    import pygments.lexers

    return pygments.lexers.get_lexer_by_name(f"{v}-lang")


@bug("docutils")
def render_rst(v: str) -> Any:
    need("docutils")
    import docutils.core

    return docutils.core.publish_string(
        f"Title\n===\n\n.. {v}-directive::\n",
        settings_overrides={"halt_level": 2, "report_level": 5, "warning_stream": io.StringIO()},
    )
