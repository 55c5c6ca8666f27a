"""What every importer of another tool's history shares: the records it reads a source
into (:class:`SourceSession`, :class:`SourceMessage`), the protocol an importer follows,
the report of an import, and reading a SQLite file of another tool strictly read-only.

An importer only reads. It reads the whole source before anything is written, so a file
that is not what it should be is an :class:`~...errors.InvalidImportError` naming it, and
nothing is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ...errors import InvalidImportError
from ...ids import ID_PATTERN
from ...models import Attachment

T = TypeVar("T")


@dataclass(frozen=True)
class ImportReport:
    """What an import of another tool's history added: ``sessions`` created or added to,
    ``messages`` added, and ``skipped`` sessions of the source left out (nothing in them to
    import, or sealed here since an earlier import). ``session_ids`` are the sessions
    created or added to, in the source's order."""

    sessions: int
    messages: int
    skipped: int
    session_ids: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(slots=True)  # one per message read: made as cheaply as a tuple
class SourceMessage:
    """One message as read from a source; ``key`` is its own id there (a line number, a
    response id, a chat message id), which makes its message id."""

    key: str
    role: str
    content: str
    timestamp: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class SourceSession:
    """One session of a source: ``key`` is the source's own id for it (kept, with the
    path, as the imported session's ``metadata["source"]``); no messages: skipped."""

    key: dict[str, Any]
    title: str
    created_at: datetime
    messages: list[SourceMessage]


class Importer(Protocol):
    """One source of history (the registry :data:`~.IMPORTERS` names each)."""

    #: What the source's files are, for messages: "an IPython history database".
    kind: str

    def default_path(self) -> Path:
        """Where the tool keeps its history when no path is given."""

    def read(self, path: Path) -> list[SourceSession]:
        """Every session in the file at ``path`` (which exists); raises
        :class:`InvalidImportError` naming it when it is not this source's kind."""


def not_a(path: Path, kind: str, why: str) -> InvalidImportError:
    return InvalidImportError(f"{path} is not {kind}: {why}; nothing was imported")


def read_database(path: Path, kind: str, read: Callable[[sqlite3.Connection], T]) -> T:
    """``read(db)`` on the SQLite file at ``path`` opened read-only (never created, never
    written, safe while its tool has it open: reads wait for a writer's lock and then see
    one consistent snapshot), inside one read transaction. Anything SQLite cannot read —
    not a database, a truncated or damaged one — is an :class:`InvalidImportError` naming
    the file. Text that is not UTF-8 is read again with the bad bytes replaced."""
    try:
        return _read_database(path, kind, read, lenient=False)
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise not_a(path, kind, f"SQLite cannot read it: {exc}") from None
        return _read_database(path, kind, read, lenient=True)


def _read_database(
    path: Path, kind: str, read: Callable[[sqlite3.Connection], T], *, lenient: bool
) -> T:
    uri = path.absolute().as_uri() + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise not_a(path, kind, f"SQLite cannot open it: {exc}") from None
    if lenient:
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        db.execute("BEGIN")  # one snapshot for every query of the import
        return read(db)
    except sqlite3.OperationalError as exc:
        if not lenient and "decode" in str(exc):
            raise  # read again, leniently
        raise not_a(path, kind, f"SQLite cannot read it: {exc}") from None
    except sqlite3.Error as exc:
        raise not_a(path, kind, f"SQLite cannot read it: {exc}") from None
    finally:
        with contextlib.suppress(sqlite3.Error):
            db.execute("COMMIT")
        db.close()


def table_columns(db: sqlite3.Connection) -> dict[str, set[str]]:
    """The database's tables, each with its column names."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        name: {row[1] for row in db.execute("SELECT * FROM pragma_table_info(?)", (name,))}
        for name in names
    }


def has_tables(columns: dict[str, set[str]], wanted: dict[str, set[str]]) -> bool:
    """Whether every table of ``wanted`` is there with at least those columns."""
    return all(name in columns and cols <= columns[name] for name, cols in wanted.items())


def clean_text(value: object) -> str:
    """Text a store keeps verbatim: None is empty, NUL is replaced (SQLite's text is decoded
    with replacement already; JSON's lone surrogates are replaced by :func:`clean_json`)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def clean_json(text: str) -> str:
    """Text from JSON, where ``"\\ud800"`` is a lone surrogate no store can keep: replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def message_key(value: object) -> str:
    """A source's id as the tail of a message id: itself when it is a safe id of at most 80
    characters, else :func:`digest_key` of it (the same every time)."""
    text = str(value)
    if text.isascii() and text.isdigit() and len(text) <= 80:  # a line number: made fast
        return text
    if len(text) <= 80 and ".." not in text and ID_PATTERN.fullmatch(text):
        return text
    return digest_key(text)


def digest_key(text: str) -> str:
    """A safe id of 33 characters standing for ``text``."""
    return "h" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def utc_from_iso(text: object) -> datetime | None:
    """A logged time (ISO 8601; naive ones are UTC) as an aware datetime, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def file_time(path: Path) -> datetime:
    """When the file was last changed: the time of what has no time of its own."""
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
