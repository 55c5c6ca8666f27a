"""HTML outputs (a DataFrame's table, a rich repr) reduced to markup that cannot do anything.

:func:`sanitize_html` parses the HTML and writes back only plain structural tags — tables,
lists, paragraphs, emphasis, code — **without any attribute** (but a numeric ``colspan`` /
``rowspan``). Script-like elements (``script``, ``style``, ``iframe``, ``object``, ``svg``,
…) are dropped with their content; any other tag is shown as the text it was
(``<img src=x onerror=…>`` appears as that text). All text is escaped again on the way out,
so nothing the input says can become markup, a URL or an event handler.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

ALLOWED = frozenset(
    "table thead tbody tfoot tr th td caption colgroup col p br hr div span pre code b i em "
    "strong u s small sub sup ul ol li dl dt dd h1 h2 h3 h4 h5 h6 blockquote".split()
)
VOID = frozenset({"br", "hr", "col"})
DROPPED = frozenset(
    "script style template noscript iframe frame frameset object embed applet svg math "
    "head title textarea select button form audio video canvas".split()
)
SPAN_ATTRIBUTES = ("colspan", "rowspan")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping or tag in DROPPED:
            if tag in DROPPED and tag not in VOID:
                self.dropping.append(tag)
            return
        if tag not in ALLOWED:
            self.out.append(escape(self.get_starttag_text() or f"<{tag}>"))
            return
        spans = "".join(
            f' {name}="{value}"'
            for name, value in attrs
            if name in SPAN_ATTRIBUTES and value and value.isdigit() and len(value) <= 4
        )
        self.out.append(f"<{tag}{spans}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping or tag in DROPPED:
            return
        if tag in VOID:
            self.out.append(f"<{tag}>")
        elif tag in ALLOWED:
            self.out.append(f"<{tag}></{tag}>")
        else:
            self.out.append(escape(self.get_starttag_text() or f"<{tag}/>"))

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag == self.dropping[-1]:
                self.dropping.pop()
            return
        if tag in ALLOWED and tag in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == tag:
                    break
        elif tag not in ALLOWED and tag not in DROPPED:
            self.out.append(escape(f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def close(self) -> None:
        super().close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        self.open.clear()


def sanitize_html(html: str) -> str:
    """``html`` as plain, attribute-free structural markup with every text escaped."""
    parser = _Sanitizer()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
