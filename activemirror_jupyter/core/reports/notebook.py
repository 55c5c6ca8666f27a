"""The notebook export: an nbformat 4.5 notebook of the session, written cell by cell.

- A session starts with a Markdown cell: its title (a heading one level below its parent's
  in a family), dates, tags, seal and provenance.
- A note becomes a Markdown cell headed by its role and time; its text is made inert by
  :func:`~..markup.safe_markdown` (no live HTML in a generated notebook). Its attachments
  follow as the outputs of a code cell that holds only a comment, so they show under it.
- An autologged cell becomes a code cell with its execution count and its outputs: text as
  ``stream`` or ``execute_result``, images as ``display_data`` (base64). A cell that
  failed keeps its error as an ``error`` output and the ``raises-exception`` tag, so
  running the notebook top to bottom (JupyterLab's "Run All", nbclient) goes past it.

HTML outputs are reduced by :mod:`.sanitize`: a notebook that is later trusted (a save in
JupyterLab signs it) must not bring a stored ``<script>`` to life. Images whose bytes are
not an image become a text line. The file is written a cell at a time with the same JSON
layout as ``nbformat.write`` (one-space indent, sorted keys); it is not held whole.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any, TextIO

from ..markup import safe_markdown
from ..models import Message, SessionMetadata, is_cell
from ..redaction import shown_content
from .attachments import (
    Output,
    Shown,
    cell_facts,
    cell_outputs,
    decode,
    show,
    size_text,
    snapshots,
    split_error,
)
from .family import Part
from .markdown import csv_lines, header_lines, snapshot_lines, when
from .sanitize import sanitize_html

NBFORMAT_MINOR = 5
ERROR_TAG = "raises-exception"
_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def write_notebook(parts: Iterable[Part], out: TextIO) -> None:
    """Write the sessions of ``parts`` as one notebook, a cell at a time."""
    out.write('{\n "cells": [')
    separator = "\n  "
    sessions = []
    for index, part in enumerate(parts):
        sessions.append(part.meta.session_id)
        level = min(1 + part.depth, 6)
        out.write(separator + _dumps(header_cell(part.meta, level, index), 2))
        separator = ",\n  "
        for message in part.messages():
            for cell in message_cells(message, index):
                out.write(separator + _dumps(cell, 2))
    metadata = {**NOTEBOOK_METADATA, "activemirror": {"sessions": sessions}}
    out.write(
        f'\n ],\n "metadata": {_dumps(metadata, 1)},\n "nbformat": 4,\n'
        f' "nbformat_minor": {NBFORMAT_MINOR}\n}}\n'
    )


def _dumps(value: Any, depth: int) -> str:
    text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * depth)


def cell_id(ident: str, part: int = 0, kind: str = "m") -> str:
    """A cell id (``[A-Za-z0-9_-]{1,64}``) unique in the notebook without remembering the
    ones given: a message's own id for the first session's messages (ids are unique in a
    session); ``_<part><kind>_<id>`` for everything else (``kind``: ``s`` a session's
    header, ``a`` a note's attachments, ``m`` a message) — no id starts with ``_`` — and
    a hash of that when it does not fit."""
    base = ident if part == 0 and kind == "m" else f"_{part}{kind}_{ident}"
    if _CELL_ID.fullmatch(base):
        return base
    return "_h" + hashlib.sha256(f"{part}/{kind}/{ident}".encode()).hexdigest()[:32]


def _source(text: str) -> list[str]:
    """Cell source as nbformat writes it: a list of lines, each keeping its newline."""
    return text.splitlines(keepends=True)


def markdown_cell(
    text: str, cell_id: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "cell_type": "markdown",
        "id": cell_id,
        "metadata": metadata or {},
        "source": _source(text),
    }


def header_cell(meta: SessionMetadata, level: int, part: int = 0) -> dict[str, Any]:
    lines = header_lines(meta, level)
    return markdown_cell(
        "\n".join(lines).rstrip("\n"),
        cell_id(meta.session_id, part, "s"),
        {"activemirror": {"session_id": meta.session_id}},
    )


def message_cells(message: Message, part: int = 0) -> list[dict[str, Any]]:
    tag = {"message_id": message.id, "role": message.role, "timestamp": when(message.timestamp)}
    if is_cell(message):
        return [code_cell(message, cell_id(message.id, part), tag)]
    lines = [
        f"**{message.role.capitalize()} · {when(message.timestamp)}**",
        "",
        safe_markdown(shown_content(message)),
    ]
    for item in snapshots(message):
        lines += ["", *snapshot_lines(item)]
    cells = [
        markdown_cell(
            "\n".join(lines).rstrip("\n"), cell_id(message.id, part), {"activemirror": tag}
        )
    ]
    if message.attachments:
        names = ", ".join(a.name for a in message.attachments)
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": cell_id(message.id, part, "a"),
                "metadata": {"activemirror": {**tag, "attachments_of": message.id}},
                "outputs": [display_output(show(a)) for a in message.attachments],
                "source": _source(f"# Attached to the note above: {names}"),
            }
        )
    return cells


def code_cell(message: Message, cell_id: str, tag: dict[str, Any]) -> dict[str, Any]:
    facts = cell_facts(message)
    outputs = [cell_output(output, facts.execution_count) for output in cell_outputs(message)]
    metadata: dict[str, Any] = {
        "activemirror": {**tag, "status": "error" if facts.failed else "ok"}
    }
    if facts.duration_s is not None:
        metadata["activemirror"]["duration_s"] = facts.duration_s
    if facts.failed:
        name, value = split_error(facts.error or "Error: the cell raised an error")
        outputs.append(
            {
                "ename": name,
                "evalue": value,
                "output_type": "error",
                "traceback": [facts.error or name],
            }
        )
        metadata["tags"] = [ERROR_TAG]
    return {
        "cell_type": "code",
        "execution_count": facts.execution_count,
        "id": cell_id,
        "metadata": metadata,
        "outputs": outputs,
        "source": _source(message.content),
    }


def cell_output(output: Output, execution_count: int | None) -> dict[str, Any]:
    """One recorded output as nbformat has it."""
    if output.attachment is None:
        return _stream(f"[output {output.name} is missing]\n", "stderr")
    shown = show(output.attachment)
    if output.output_type == "stream" and shown.kind in ("text", "json", "markdown", "csv", "html"):
        return _stream(shown.text, output.stream)
    result = display_output(shown)
    if output.output_type == "execute_result":
        result["execution_count"] = execution_count
        result["output_type"] = "execute_result"
    if output.truncated:
        result["metadata"] = {"activemirror": {"truncated": True}}
    return result


def _stream(text: str, name: str) -> dict[str, Any]:
    return {"name": name, "output_type": "stream", "text": _source(text)}


def display_output(shown: Shown) -> dict[str, Any]:
    """An attachment as a ``display_data`` output, in its own type where that is safe."""
    a = shown.attachment
    data: dict[str, Any] = {"text/plain": _source(f"{a.name} ({a.mime_type}, {size_text(a.size)})")}
    if shown.kind == "image" and a.bare_type == "image/svg+xml":
        data[a.bare_type] = _source(decode(shown.data))
    elif shown.kind == "image":
        data[a.bare_type] = base64.b64encode(shown.data).decode("ascii")
    elif shown.kind == "csv":
        data["text/markdown"] = _source("\n".join(csv_lines(shown)))
    elif shown.kind == "markdown":
        data["text/markdown"] = _source(safe_markdown(shown.text))
    elif shown.kind == "html":
        data["text/html"] = _source(sanitize_html(shown.text))
    elif shown.kind == "json":
        try:
            data["application/json"] = json.loads(shown.text)
        except ValueError:
            data["text/plain"] = _source(shown.text)
    elif shown.kind == "text":
        data["text/plain"] = _source(shown.text)
    else:
        line = f"{a.name} ({a.mime_type}, {size_text(a.size)})"
        data["text/plain"] = _source(f"{line}: {shown.problem}" if shown.problem else line)
    return {"data": data, "metadata": {}, "output_type": "display_data"}
