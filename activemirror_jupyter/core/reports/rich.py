"""Rich text for the HTML report: notes rendered from Markdown (mistune) with their raw HTML
escaped, and code highlighted by Pygments.

Notes are Markdown, and Markdown lets HTML through; here it never does — raw HTML is shown
as text. A report references nothing outside itself, so links are written as their text
followed by the address (no ``href``), and only inline ``data:`` images (PNG, JPEG, GIF,
WebP) are shown as images; any other image is its alt text and address.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from typing import Any

_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.I)
_TAGS = re.compile(r"<[^>]*>")
MARKDOWN_PLUGINS = ("table", "strikethrough", "task_lists")


def markdown_html(text: str) -> str:
    """A note's Markdown as HTML; raw HTML in it is escaped, never passed through."""
    return _markdown()(text)


@lru_cache(maxsize=1)
def _markdown() -> Any:
    import mistune
    from mistune.renderers.html import HTMLRenderer

    class NoteRenderer(HTMLRenderer):
        """mistune's HTML renderer with nothing that points outside the report."""

        def link(self, text: str, url: str, title: str | None = None) -> str:
            address = escape(url.strip())
            plain = _TAGS.sub("", text).strip()
            if not address or plain == address or plain == escape(url.strip(), quote=False):
                return f'<span class="am-link">{text or address}</span>'
            return f'<span class="am-link">{text}</span> <span class="am-url">({address})</span>'

        def image(self, text: str, url: str, title: str | None = None) -> str:
            alt = escape(_TAGS.sub("", text))
            if _DATA_IMAGE.fullmatch(url.strip()):
                return f'<img src="{escape(url.strip())}" alt="{alt}">'
            return f'<span class="am-url">[image{": " + alt if alt else ""}] ({escape(url)})</span>'

    renderer = NoteRenderer(escape=True)
    return mistune.create_markdown(escape=True, renderer=renderer, plugins=list(MARKDOWN_PLUGINS))


def highlight_python(code: str) -> str:
    """``code`` highlighted as Python: ``<div class="highlight"><pre>…</pre></div>``."""
    from pygments import highlight

    lexer, formatter = _pygments()
    return highlight(code, lexer, formatter)


@lru_cache(maxsize=1)
def _pygments() -> tuple[Any, Any]:
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return PythonLexer(stripnl=False, ensurenl=False), HtmlFormatter(cssclass="highlight")


@lru_cache(maxsize=1)
def code_css() -> str:
    """Pygments' rules for ``.highlight``: a light style, and a dark one under
    ``prefers-color-scheme: dark`` (more specific, so it wins there)."""
    from pygments.formatters import HtmlFormatter
    from pygments.styles import get_all_styles

    dark_style = "github-dark" if "github-dark" in set(get_all_styles()) else "monokai"
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style=dark_style).get_style_defs(":root .highlight")
    # IPython syntax (%magic, !shell) is not Python: no red boxes around it.
    return (
        f"{light}\n.highlight .err {{ border: 0; }}\n"
        "@media (prefers-color-scheme: dark) {\n"
        ":root .highlight span { color: inherit; background: transparent; border: 0;"
        " font-weight: inherit; font-style: inherit; }\n"
        f"{dark}\n:root .highlight .err {{ border: 0; }}\n}}\n"
    )
