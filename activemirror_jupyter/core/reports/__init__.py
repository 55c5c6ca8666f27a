"""Reports: a session (and its family) written out as a standalone HTML page, a runnable
notebook, or Markdown with its images — and the Markdown and text transcripts.

One module per writer, over what they share:

- :mod:`.family` — the sessions to write (a session and, if asked, its descendants depth
  first, oldest first; a cycle in parent links is refused) and their messages, read a page
  at a time so that no writer holds a whole session;
- :mod:`.attachments` — what an attachment can be shown as (a checked image, the first rows
  of a CSV, text), and a cell's outputs in the order they were produced;
- :mod:`.sanitize` — HTML outputs reduced to attribute-free structural markup;
- :mod:`.markdown`, :mod:`.text`, :mod:`.html` (with :mod:`.page` for its head, styles and
  the sandboxed frame it is shown in, and :mod:`.rich` for Markdown notes and highlighted
  code), :mod:`.notebook` — the writers. Each
  writes to a text stream as it reads, so a report is as big in memory as one page of
  messages plus what the caller keeps of the output;
- :mod:`.files` — writing an export to a file, or to a folder with its attachments.

The format registry and the JSON export are in :mod:`..transfer.exports`, which dispatches here.
Nothing in this package imports IPython, pandas or widgets; Pygments, mistune and nbformat
are imported by the writers that need them, when they run.
"""
