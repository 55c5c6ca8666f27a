"""What the writers show of a message beyond its text: each attachment as a checked image,
a CSV preview, text, or a line naming the file; an autologged cell's facts and outputs (the
outputs convention of the autolog); and the variable snapshots of 0.1 messages.

An image is shown as an image only when its bytes are one: a PNG is walked chunk by chunk
(signature, IHDR first, every CRC, an IEND), the other types checked by their signature. An
attachment whose bytes cannot be read, or are not what their type says, is shown as a file
line saying so — never as a broken image, never as an error.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ActiveMirrorError
from ..models import Attachment, Message
from ..search.text import decode_text

#: Rows of a CSV attachment shown as a table (the row count is always given).
PREVIEW_ROWS = 20
#: Characters of a text attachment shown in HTML and Markdown (notebooks keep it whole).
MAX_TEXT_CHARS = 100_000

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
OUTPUT_TYPES = ("stream", "display_data", "execute_result")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SVG_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S
)


@dataclass(frozen=True)
class Csv:
    """The first rows of a CSV attachment and how many rows (after the header) it has."""

    header: list[str]
    rows: list[list[str]]
    total: int


@dataclass(frozen=True)
class Shown:
    """How one attachment is shown: ``kind`` is ``"image"`` (``data`` is a checked image),
    ``"csv"`` (``table``, and its ``text``), ``"text"``, ``"markdown"``, ``"html"``,
    ``"json"`` (``text``), or ``"file"`` (a line; ``problem`` says why, unless it is only
    a type not shown). ``data`` is the bytes, when they could be read (``readable``)."""

    attachment: Attachment
    kind: str
    data: bytes = b""
    text: str = ""
    table: Csv | None = None
    problem: str = ""
    readable: bool = True

    @property
    def name(self) -> str:
        return self.attachment.name

    @property
    def mime_type(self) -> str:
        return self.attachment.mime_type

    @property
    def bare_type(self) -> str:
        return self.attachment.bare_type


def show(attachment: Attachment) -> Shown:
    """Read ``attachment`` once and decide how to show it, by its bare type (its text
    decoded by its ``charset``, if it names one)."""
    mime = attachment.bare_type
    try:
        data = attachment.read()
    except (ActiveMirrorError, OSError) as error:
        problem = f"its bytes cannot be read: {error}"
        return Shown(attachment, "file", problem=problem, readable=False)
    if mime in IMAGE_TYPES:
        problem = image_problem(mime, data)
        return Shown(attachment, "file" if problem else "image", data, problem=problem)
    if mime == "text/csv":
        text = decode_text(attachment.mime_type, data)
        return Shown(attachment, "csv", data, text=text, table=csv_preview(text))
    if mime in ("text/markdown", "text/html", "application/json"):
        kind = {"text/markdown": "markdown", "text/html": "html"}.get(mime, "json")
        return Shown(attachment, kind, data, text=decode_text(attachment.mime_type, data))
    if attachment.is_text:
        return Shown(attachment, "text", data, text=decode_text(attachment.mime_type, data))
    return Shown(attachment, "file", data)


def decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters, and a note saying so (empty when whole)."""
    if len(text) <= limit:
        return text, ""
    return text[:limit], f"first {limit:,} of {len(text):,} characters"


def image_problem(mime: str, data: bytes) -> str:
    """Why ``data`` is not an image of type ``mime`` ("" when it is one)."""
    if mime == "image/png":
        ok = png_is_whole(data)
    elif mime == "image/jpeg":
        ok = data.startswith(b"\xff\xd8\xff")
    elif mime == "image/gif":
        ok = data[:6] in (b"GIF87a", b"GIF89a")
    elif mime == "image/webp":
        ok = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    else:
        ok = bool(_SVG_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")))
    return "" if ok else f"its bytes are not a valid {mime.split('/')[1].upper()} image"


def png_is_whole(data: bytes) -> bool:
    """A PNG from signature to IEND: IHDR first with a non-zero size, every chunk's CRC
    right. (Reads the chunks without copying them.)"""
    if not data.startswith(_PNG_SIGNATURE):
        return False
    view = memoryview(data)
    pos, first = len(_PNG_SIGNATURE), True
    while pos + 12 <= len(data):
        length = int.from_bytes(view[pos : pos + 4], "big")
        end = pos + 12 + length
        kind = bytes(view[pos + 4 : pos + 8])
        if end > len(data) or (first and (kind != b"IHDR" or length != 13)):
            return False
        if first and (
            not int.from_bytes(view[pos + 8 : pos + 12], "big")
            or not int.from_bytes(view[pos + 12 : pos + 16], "big")
        ):
            return False
        if zlib.crc32(view[pos + 4 : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
            return False
        if kind == b"IEND":
            return True
        pos, first = end, False
    return False


def csv_preview(text: str, rows: int = PREVIEW_ROWS) -> Csv:
    """The header, the first ``rows`` rows and the row count of CSV ``text``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        first = [row for _, row in zip(range(rows), reader, strict=False)]
        total = len(first) + sum(1 for _ in reader)
    except csv.Error:  # not CSV after all: an empty table with what was read
        return Csv([], [], 0)
    return Csv(header, first, total)


# -- autologged cells ---------------------------------------------------------------------


@dataclass(frozen=True)
class CellFacts:
    """What the autolog recorded about a cell besides its source."""

    execution_count: int | None
    duration_s: float | None
    failed: bool
    error: str
    notebook: str
    not_kept: int = 0  # outputs past the autolog's limit, counted but not kept


def cell_facts(message: Message) -> CellFacts:
    """The facts of a cell message, 0.2's (``status``, ``error``…) or 0.1's (``success``)."""
    meta = message.metadata
    count, duration = _number(meta.get("execution_count")), _number(meta.get("duration_s"))
    failed = meta.get("status") == "error" or meta.get("success") is False
    error, notebook = meta.get("error"), meta.get("notebook")
    not_kept = _number(meta.get("outputs_not_kept"))
    return CellFacts(
        int(count) if isinstance(count, int) and count >= 0 else None,
        float(duration) if duration is not None else None,
        failed,
        str(error) if error is not None and failed else "",
        notebook if isinstance(notebook, str) else "",
        int(not_kept) if isinstance(not_kept, int) and not_kept > 0 else 0,
    )


def _number(value: Any) -> int | float | None:
    """``value`` if it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value == value and abs(value) != float("inf") else None


@dataclass(frozen=True)
class Output:
    """One output of a cell: its type (``stream``, ``display_data``, ``execute_result``),
    the stream's name, and the attachment holding it (None when it is missing)."""

    output_type: str
    name: str
    attachment: Attachment | None
    stream: str = "stdout"
    truncated: bool = False


def cell_outputs(message: Message) -> list[Output]:
    """The cell's outputs in the order the autolog listed them, then any attachment no
    entry names (as ``display_data``)."""
    entries = message.metadata.get("outputs")
    outputs: list[Output] = []
    named: set[str] = set()
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("attachment"), str):
            continue
        name = entry["attachment"]
        named.add(name)
        kind = entry.get("output_type")
        stream = entry.get("stream")
        outputs.append(
            Output(
                kind if kind in OUTPUT_TYPES else "display_data",
                name,
                message.attachment(name),
                stream if stream in ("stdout", "stderr") else "stdout",
                entry.get("truncated") is True,
            )
        )
    for attachment in message.attachments:
        if attachment.name not in named:
            outputs.append(Output("display_data", attachment.name, attachment))
    return outputs


def split_error(error: str) -> tuple[str, str]:
    """``"ZeroDivisionError: division by zero"`` → ``("ZeroDivisionError", "division by zero")``."""
    name, sep, value = error.partition(": ")
    if sep and name and " " not in name.strip():
        return name.strip(), value
    return "Error", error


def snapshots(message: Message) -> list[Mapping[str, Any]]:
    """0.1's variable snapshots (``%%mirror_send --attach``) in ``metadata["attachments"]``."""
    items = message.metadata.get("attachments")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def size_text(size: int) -> str:
    return count_text(size, "byte")


def count_text(n: int, noun: str) -> str:
    """``1 message``, ``2,000 messages``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
