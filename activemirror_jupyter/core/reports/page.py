"""The HTML report's page: its head (a Content-Security-Policy that forbids scripts and every
fetch but ``data:`` images, the stylesheet) and its tail.

The style is inline and uses the system's fonts, so the file opens offline and asks nothing
of the network; colours follow ``prefers-color-scheme`` (light and dark), code colours too
(:func:`.rich.code_css`).
"""

from __future__ import annotations

from html import escape

from .rich import code_css

#: Even if markup slipped through, the browser runs no script and loads nothing but the
#: ``data:`` images inside the file.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

REPORT_CSS = """
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa;
  --accent: #0969da; --user: #0969da; --assistant: #1a7f37; --system: #9a6700;
  --error: #cf222e; --error-bg: #ffebe9; --chip: #ddf4ff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --panel: #151b23;
    --accent: #4493f8; --user: #4493f8; --assistant: #3fb950; --system: #d29922;
    --error: #f85149; --error-bg: #3c1618; --chip: #1d2d44;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; }
code, pre, .highlight pre {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
}
pre { overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.am-session { margin-top: 32px; }
.am-session:first-of-type { margin-top: 0; }
.am-session-head {
  border-bottom: 1px solid var(--border); padding-bottom: 12px; margin-bottom: 16px;
}
.am-session-head h1, .am-session-head h2, .am-session-head h3,
.am-session-head h4, .am-session-head h5, .am-session-head h6 {
  margin: 0 0 8px; overflow-wrap: anywhere;
}
.am-facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
.am-facts dt { color: var(--muted); }
.am-facts dd { margin: 0; overflow-wrap: anywhere; }
.am-chip {
  display: inline-block; background: var(--chip); border-radius: 10px; padding: 0 8px;
  margin: 0 4px 2px 0; font-size: 13px;
}
.am-seal {
  margin: 8px 0; padding: 6px 10px; border: 1px solid var(--border); border-radius: 6px;
  background: var(--panel); overflow-wrap: anywhere;
}
.am-seal code { font-size: 12px; }
details { margin: 6px 0; }
summary { cursor: pointer; color: var(--muted); }
.am-muted { color: var(--muted); }
.am-toc {
  border: 1px solid var(--border); border-radius: 6px; padding: 8px 14px; margin-bottom: 24px;
  background: var(--panel);
}
.am-toc ul { margin: 4px 0; padding-left: 20px; }
.am-toc a { color: var(--accent); text-decoration: none; }
.am-msg {
  border: 1px solid var(--border); border-radius: 6px; margin: 12px 0; padding: 10px 14px;
  overflow-wrap: anywhere;
}
.am-msg-head {
  font-size: 13px; color: var(--muted); margin-bottom: 6px; display: flex; gap: 10px;
  flex-wrap: wrap; align-items: baseline;
}
.am-role { font-weight: 600; }
.am-role-user .am-role { color: var(--user); }
.am-role-assistant .am-role { color: var(--assistant); }
.am-role-system .am-role, .am-prompt {
  color: var(--system); font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace;
}
.am-md > :first-child { margin-top: 0; }
.am-md > :last-child { margin-bottom: 0; }
.am-md img, .am-figure img { max-width: 100%; height: auto; }
.am-md pre { background: var(--panel); padding: 8px 10px; border-radius: 4px; }
.am-md blockquote {
  margin: 0; padding-left: 12px; border-left: 3px solid var(--border); color: var(--muted);
}
.am-url { color: var(--muted); font-size: 13px; }
.am-link { text-decoration: underline dotted; }
.am-cell .highlight { border-radius: 4px; padding: 2px 10px; }
.am-cell .highlight pre { margin: 6px 0; }
.am-failed { border-color: var(--error); }
.am-badge {
  font-size: 12px; border-radius: 10px; padding: 0 8px; background: var(--error-bg);
  color: var(--error); font-weight: 600;
}
.am-outputs { margin-top: 8px; }
.am-output { margin: 6px 0; padding-left: 10px; border-left: 3px solid var(--border); }
.am-output pre, pre.am-text, pre.am-json {
  margin: 4px 0; background: var(--panel); padding: 6px 10px; border-radius: 4px;
}
.am-stderr pre { background: var(--error-bg); }
.am-error-box {
  margin-top: 8px; padding: 6px 10px; border-radius: 4px; background: var(--error-bg);
  color: var(--error); white-space: pre-wrap;
}
.am-attachment { margin: 10px 0 4px; }
.am-attachment-head { font-size: 13px; color: var(--muted); margin-bottom: 4px; }
.am-figure { margin: 6px 0; }
.am-figure img { display: block; background: #ffffff; border-radius: 2px; }
.am-file { margin: 6px 0; }
.am-table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td {
  border: 1px solid var(--border); padding: 3px 8px; text-align: left; vertical-align: top;
}
th { background: var(--panel); font-weight: 600; }
.am-provenance table td:first-child { color: var(--muted); white-space: nowrap; }
"""


def page_head(title: str) -> str:
    """The document up to the opening of ``<main>``; ``title`` is escaped here."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="generator" content="activemirror-jupyter">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{REPORT_CSS}\n{code_css()}</style>\n"
        '</head>\n<body>\n<main class="am-report">\n'
    )


def page_tail() -> str:
    return "</main>\n</body>\n</html>\n"


def framed(document: str, title: str, height: int = 600) -> str:
    """A report shown inside a page (a notebook output, a widget): an ``<iframe>`` whose
    ``srcdoc`` is the report, sandboxed without ``allow-scripts`` (nor same-origin, forms,
    popups) — whatever the report held, nothing in it can run."""
    return (
        f'<iframe title="{escape(title)}" sandbox="" referrerpolicy="no-referrer" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #d1d9e0; '
        f'border-radius: 4px; background: #ffffff;" srcdoc="{escape(document, quote=True)}">'
        "</iframe>"
    )
