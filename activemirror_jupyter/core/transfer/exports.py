"""Exports: the formats a session is exported in, and the JSON export.

``EXPORT_FORMATS`` — ``json``, ``markdown``, ``txt``, ``html``, ``ipynb`` — each has a writer
in :data:`WRITERS` that writes the sessions of a report (:mod:`.reports.family`) to a text
stream as it reads them; :func:`export_session` returns the text, :func:`write_export`
streams it, :func:`export_to_path` writes a file (or ``<title>.<ext>`` in a folder, with an
``attachments/`` folder for Markdown). The other writers live in :mod:`.reports`.

The JSON export is the spec's session-file shape, camelCase, with our extras::

    {"format": "activemirror-session", "version": 1,
     "id", "title", "userId", "parentSessionId", "status", "createdAt", "updatedAt",
     "messageCount", "maxContextMessages", "metadata", "tags", "head",
     "messages": [{"id", "role", "content", "timestamp", "metadata", "hash",
                   "attachments": [{"name", "mimeType", "size", "sha256", "data"}]}, …]}

``data`` is the attachment's bytes in base64; ``hash`` is absent for a message that was not
saved yet; a sealed session's seal is in its ``metadata``. A family (``include_children``)
exports as a bundle of those — ``{"format": "activemirror-bundle", "version": 1,
"sessions": [the session, then its descendants depth first, oldest first], "vault":
null}`` — which :func:`~.bundles.import_all_data` takes back and
:func:`~.imports.verify_export` checks.

Exports are deterministic — sorted keys, no time-of-export field — so the same data always
gives the same text.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from ..models import Message, SessionMetadata
from ..reports.family import Exported, Part, parts_of
from ..reports.files import (
    ATTACHMENTS_FOLDER,
    AttachmentFolder,
    is_folder,
    replacing,
    target_file,
)
from ..reports.html import write_html
from ..reports.markdown import Place, write_markdown
from ..reports.notebook import write_notebook
from ..reports.text import write_text
from ..serialize import message_record, session_record

SESSION_FORMAT = "activemirror-session"
BUNDLE_FORMAT = "activemirror-bundle"
FORMAT_VERSION = 1


def dumps(document: Any) -> str:
    """The deterministic JSON text of an export or a bundle."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)


def session_document(meta: SessionMetadata, messages: Iterable[Message]) -> dict[str, Any]:
    """A session and its messages as the JSON export's object, attachments' bytes included
    (base64). Messages not saved yet have no hash."""
    documents = [message_document(m) for m in messages]
    record = session_record(replace(meta, message_count=len(documents)), camel_case=True)
    record.update(format=SESSION_FORMAT, version=FORMAT_VERSION, messages=documents)
    return record


def message_document(message: Message) -> dict[str, Any]:
    record = message_record(message, with_session=False, camel_case=True)
    if record["hash"] is None:
        del record["hash"]
    for item, attachment in zip(record["attachments"], message.attachments, strict=True):
        item["data"] = base64.b64encode(attachment.read()).decode("ascii")
    return record


def write_json(parts: Sequence[Part], out: TextIO, *, bundle: bool = False) -> None:
    """One session's JSON export; with ``bundle``, the sessions as a bundle, written one
    session at a time (the same text as :func:`dumps` of the whole bundle)."""
    if not bundle:
        part = parts[0]
        out.write(dumps(session_document(part.meta, part.messages())))
        return
    out.write(f'{{\n  "format": {json.dumps(BUNDLE_FORMAT)},\n  "sessions": [')
    for index, part in enumerate(parts):
        text = dumps(session_document(part.meta, part.messages())).replace("\n", "\n    ")
        out.write(("," if index else "") + "\n    " + text)
    out.write(f'\n  ],\n  "vault": null,\n  "version": {FORMAT_VERSION}\n}}')


@dataclass(frozen=True)
class Options:
    """How an export is written: as a family (``include_children``), and where a Markdown
    export puts its attachments (``place``; None: inline ``data:`` images)."""

    include_children: bool = False
    place: Place | None = None


Writer = Callable[[Sequence[Part], TextIO, Options], None]

#: Each export format and its writer, in the order formats are listed to users.
WRITERS: dict[str, Writer] = {
    "json": lambda parts, out, o: write_json(parts, out, bundle=o.include_children),
    "markdown": lambda parts, out, o: write_markdown(parts, out, place=o.place),
    "txt": lambda parts, out, o: write_text(parts, out),
    "html": lambda parts, out, o: write_html(parts, out),
    "ipynb": lambda parts, out, o: write_notebook(parts, out),
}
EXPORT_FORMATS = tuple(WRITERS)


def check_format(format: object) -> str:
    if format not in EXPORT_FORMATS:
        raise ValueError(
            f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}"
        )
    return format  # type: ignore[return-value]


def write_export(
    session: Exported,
    format: str,
    out: TextIO,
    *,
    include_children: bool = False,
    place: Place | None = None,
) -> None:
    """Write ``session`` (and, with ``include_children``, its descendants) to ``out`` in
    ``format``, a page of messages at a time. A cycle in the family's parent links is a
    :class:`~.reports.family.FamilyCycleError`, raised before anything is written."""
    check_format(format)
    parts = parts_of(session, include_children=bool(include_children))
    WRITERS[format](parts, out, Options(bool(include_children), place))


def export_session(
    session: Exported, format: str = "json", *, include_children: bool = False
) -> str:
    """The export as text (see :func:`write_export`)."""
    out = io.StringIO()
    write_export(session, format, out, include_children=include_children)
    return out.getvalue()


def export_to_path(
    session: Exported,
    format: str,
    path: str | os.PathLike[str],
    *,
    include_children: bool = False,
    create_folders: bool = False,
) -> Path:
    """Write the export to ``path`` and return the file written. A folder (a path ending
    with a separator, or an existing folder) gets ``<title>.<ext>`` and is made if needed;
    a Markdown export in a folder links its attachments as files in ``attachments/`` beside
    it instead of holding them as ``data:`` URIs. A file's folder must exist, unless
    ``create_folders``. The file is replaced only once the export is complete."""
    check_format(format)
    meta = session.metadata_snapshot()
    target = target_file(path, meta.title, meta.session_id, format)
    folder = is_folder(path)
    place = None
    if format == "markdown" and folder:
        place = AttachmentFolder(target.parent / ATTACHMENTS_FOLDER)
    with replacing(target, create_folders=create_folders or folder) as out:
        write_export(session, format, out, include_children=include_children, place=place)
    return target


def render(meta: SessionMetadata, messages: Iterable[Message], format: str = "json") -> str:
    """A session already in memory (``meta`` and all its ``messages``) in ``format``."""
    check_format(format)
    out = io.StringIO()
    WRITERS[format]([Part.of(meta, list(messages))], out, Options())
    return out.getvalue()
