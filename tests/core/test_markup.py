"""Markdown we emit renders, and the HTML in user text stays inert — also where text only
looks like code to a naive reader (CommonMark decides what is code)."""

from __future__ import annotations

import pytest

from activemirror_jupyter.core.markup import safe_markdown, safe_markdown_line

XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (XSS, ESCAPED),
        ("**bold** & <b>tag</b>", "**bold** &amp; &lt;b&gt;tag&lt;/b&gt;"),
        ("`a < b` in code", "`a < b` in code"),
        ("```python\nif a < b:\n```\n<i>", "```python\nif a < b:\n```\n&lt;i&gt;"),
        ("[a](javascript:alert(1))", "[a]\\(javascript:alert(1))"),
        # a backtick run closed by a longer run is no code span in CommonMark
        (f"`{XSS}``", f"`{ESCAPED}``"),
        # an info string with a backtick makes no fence, so the next line is not code
        (f"```x`\n{XSS}\n```", f"```x`\n{ESCAPED}\n```"),
        # a shorter run does not close a longer fence
        (f"````\n```\n{XSS}\n````\n{XSS}", f"````\n```\n{XSS}\n````\n{ESCAPED}"),
    ],
)
def test_safe_markdown(text, shown):
    assert safe_markdown(text) == shown


def test_one_line_folds_whitespace():
    assert safe_markdown_line(f"a\n  b\t{XSS}") == f"a b {ESCAPED}"
