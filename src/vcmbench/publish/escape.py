"""Escaping for each place a record's strings end up: HTML, Markdown, matplotlib labels, CSV cells.

Codec names, parameters, citations and error messages come from files anyone can write, so
none of them may turn into markup, a table column, a math expression or a spreadsheet formula.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

# Inside a table cell only these can change what renders: emphasis, code, links, math, columns.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~$])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def html_text(value: Any) -> str:
    """Text for an HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def markdown_text(value: Any) -> str:
    """Text for a Markdown table cell: no raw HTML, no column breaks, no formatting, one line."""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)  # & < > become entities, which Markdown shows as text
    return _MD_SPECIAL.sub(r"\\\1", text)


def plot_label(value: Any) -> str:
    """Text for a matplotlib label: a ``$`` would otherwise start mathtext."""
    return str(value).replace("\\", "\\\\").replace("$", r"\$")


def csv_cell(value: Any) -> Any:
    """A string cell a spreadsheet will not run as a formula (OWASP CSV injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def params_text(params: dict[str, Any]) -> str:
    """Operating-point parameters as one short line (``q=10 n=3``); values in JSON spelling."""
    if not params:
        return "-"
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in params.items())
