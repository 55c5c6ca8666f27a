"""The SQLite store's schema: named migrations, applied once each, in order, inside the
transaction that records them in ``activemirror_migrations`` (see :class:`.rows.Migrations`).

A database made with the spec's schema or with the ActiveMirrorOS Python SDK 0.2.0 schema
(NOT NULLs, naive local timestamps, extra columns) is upgraded in place, keeping every row.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import StorageError
from ..ids import new_device_id
from ..journal import link
from ..timeutil import from_iso, to_iso
from . import sqlite_changes, sqlite_redact
from .rows import MESSAGE_COLUMNS_02, Migrations, message_from_row
from .sqlite_connection import Connection
from .sqlite_search import ATTACHMENT_TEXT, TEXT_ATTACHMENT, add_functions

#: How the search indexes tokenize (as :func:`..search.search_words` does) and what they
#: keep: only which rows hold a word (no positions, no sizes).
SEARCH_INDEX_OPTIONS = "tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0"

MIGRATIONS = Migrations()
migration = MIGRATIONS.register


@migration
def m001_spec_tables(db: sqlite3.Connection) -> None:
    """The spec's two tables, as a fresh database would have them."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, "
        "created_at TEXT, updated_at TEXT, status TEXT)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, session_id TEXT, role TEXT, "
        "content TEXT, timestamp TEXT, FOREIGN KEY (session_id) REFERENCES sessions(id))"
    )


_CANONICAL_SESSIONS = {
    "id": "TEXT PRIMARY KEY",
    "user_id": "TEXT",
    "title": "TEXT",
    "created_at": "TEXT",
    "updated_at": "TEXT",
    "status": "TEXT",
    "parent_session_id": "TEXT",
    "metadata": "TEXT",
    "max_context_messages": "INTEGER",
    "message_count": "INTEGER NOT NULL DEFAULT 0",
}
_CANONICAL_MESSAGES = {
    "id": "TEXT PRIMARY KEY",
    "session_id": "TEXT",
    "role": "TEXT",
    "content": "TEXT",
    "timestamp": "TEXT",
    "metadata": "TEXT",
    "seq": "INTEGER",
}


def _normal_time(value: Any) -> Any:
    """Older databases hold naive local ISO text; ours is UTC ending in Z (naive read as UTC)."""
    if not isinstance(value, str):
        return value
    try:
        return to_iso(from_iso(value))
    except ValueError:
        return value  # kept verbatim rather than lost


def _rebuild(db: sqlite3.Connection, table: str, canonical: dict[str, str], fk: str) -> list[str]:
    """Recreate ``table`` with the canonical columns (no legacy NOT NULLs), keeping any
    extra columns a user added, and copy every row. Returns the columns it had before."""
    old = [(r[1], r[2]) for r in db.execute(f"PRAGMA table_info({table})")]
    old_names = [name for name, _ in old]
    extras = {name: decl or "" for name, decl in old if name not in canonical}
    columns = {**canonical, **extras}
    body = ", ".join(f'"{n}" {d}'.strip() for n, d in columns.items())
    db.execute(f"CREATE TABLE {table}_new ({body}{fk})")
    shared = ", ".join(f'"{n}"' for n in old_names if n in columns)
    db.execute(f"INSERT INTO {table}_new ({shared}) SELECT {shared} FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
    return old_names


@migration
def m002_canonical_tables(db: sqlite3.Connection) -> None:
    """Add our columns, drop the SDK 0.2.0 NOT NULLs, number messages, normalise timestamps."""
    _rebuild(db, "sessions", _CANONICAL_SESSIONS, "")
    _rebuild(
        db,
        "messages",
        _CANONICAL_MESSAGES,
        ", FOREIGN KEY (session_id) REFERENCES sessions(id)",
    )
    for row_id, created, updated in db.execute(
        "SELECT id, created_at, updated_at FROM sessions"
    ).fetchall():
        db.execute(
            "UPDATE sessions SET created_at = ?, updated_at = ? WHERE id = ?",
            (_normal_time(created), _normal_time(updated), row_id),
        )
    rows = db.execute(
        "SELECT rowid, session_id, timestamp FROM messages ORDER BY session_id, timestamp, rowid"
    ).fetchall()
    seq: dict[str, int] = {}
    for rowid, session_id, timestamp in rows:
        n = seq.get(session_id, 0)
        seq[session_id] = n + 1
        db.execute(
            "UPDATE messages SET seq = ?, timestamp = ? WHERE rowid = ?",
            (n, _normal_time(timestamp), rowid),
        )
    db.execute(
        "UPDATE sessions SET message_count = "
        "(SELECT count(*) FROM messages WHERE messages.session_id = sessions.id)"
    )
    db.execute("UPDATE sessions SET status = 'active' WHERE status IS NULL")


@migration
def m003_indexes(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS messages_session_seq ON messages(session_id, seq)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS sessions_updated ON sessions(updated_at, id)")
    db.execute("CREATE INDEX IF NOT EXISTS sessions_parent ON sessions(parent_session_id)")


@migration
def m004_full_text_search(db: sqlite3.Connection) -> None:
    """FTS5 over message content, kept in step with ``messages`` by triggers."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, "
        "content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.rowid, old.content); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages "
        "BEGIN INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.rowid, old.content); "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
    )
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


@migration
def m005_research_record(db: sqlite3.Connection) -> None:
    """0.2: message hashes, session tags and heads, attachments (bytes in their own table,
    so paging never reads them) and a search index over text attachments."""
    db.execute("ALTER TABLE messages ADD COLUMN hash TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN tags TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN head TEXT")
    db.execute(
        "CREATE TABLE attachments (message_id TEXT NOT NULL, position INTEGER NOT NULL, "
        "name TEXT NOT NULL, mime_type TEXT NOT NULL, size INTEGER NOT NULL, "
        "sha256 TEXT NOT NULL, data BLOB NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX attachments_message ON attachments(message_id, position)")
    db.execute(
        "CREATE TABLE session_tags (tag TEXT NOT NULL, session_id TEXT NOT NULL, "
        "PRIMARY KEY (tag, session_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX session_tags_session ON session_tags(session_id)")
    # Contentless: the text stays in attachments.data only; rows are added and removed by
    # the store with the same text it indexed.
    db.execute(
        f"CREATE VIRTUAL TABLE attachments_fts USING fts5(text, content='', {SEARCH_INDEX_OPTIONS})"
    )


@migration
def m006_hash_chains(db: sqlite3.Connection) -> None:
    """Chain the messages stores written before 0.2 hold, session by session, in the order
    they were saved (see :mod:`..journal`); heads follow."""
    sessions = [r[0] for r in db.execute("SELECT id FROM sessions")]
    for session_id in sessions:
        previous = session_id
        rows = db.execute(
            f"SELECT rowid, {MESSAGE_COLUMNS_02} FROM messages WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        updates = []
        for rowid, *columns in rows:
            previous = link(previous, message_from_row(columns, from_iso))
            updates.append((previous, rowid))
        db.executemany("UPDATE messages SET hash = ? WHERE rowid = ?", updates)
        db.execute(
            "UPDATE sessions SET head = ? WHERE id = ?",
            (previous if updates else None, session_id),
        )


@migration
def m007_bulk_search_index(db: sqlite3.Connection) -> None:
    """The search index is kept by the store, one statement per save, instead of a trigger
    per row; and it records which messages hold a word, not where in them (``detail=none``:
    a search is for whole words), which makes indexing about four times cheaper. The index
    of an older store is built again once, in this new form, from its messages."""
    for trigger in ("messages_fts_insert", "messages_fts_delete", "messages_fts_update"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS messages_fts")
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', "
        f"content_rowid='rowid', {SEARCH_INDEX_OPTIONS})"
    )
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


@migration
def m008_devices(db: sqlite3.Connection) -> None:
    """0.3's devices: the store's device id, kept in ``activemirror_state`` (the store's own
    small settings), and each message's ``origin`` — NULL for the messages this store saved
    itself (all of them, in a store written before 0.3), else the id of the device that
    first saved it."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS activemirror_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    )
    db.execute(
        "INSERT OR IGNORE INTO activemirror_state VALUES ('device_id', ?)", (new_device_id(),)
    )
    db.execute("ALTER TABLE messages ADD COLUMN origin TEXT")


@migration
def m009_one_order_across_devices(db: sqlite3.Connection) -> None:
    """0.3's journal across devices: each message's clock (its place in the session's one
    order; a store written before 0.3 saved on one device, so its place is its ``seq``),
    and each session's tips — its devices' last hashes, NULL while its head alone says it
    (saved on this device only)."""
    db.execute("ALTER TABLE messages ADD COLUMN clock INTEGER")
    db.execute("UPDATE messages SET clock = seq + 1")
    db.execute("ALTER TABLE sessions ADD COLUMN tips TEXT")


@migration
def m010_redactions(db: sqlite3.Connection) -> None:
    """0.3's redactions: when and why a message was redacted, and the digest its hash
    chains from (see :mod:`.sqlite_redact`)."""
    sqlite_redact.create_table(db)


@migration
def m011_attachment_text_and_vectors(db: sqlite3.Connection) -> None:
    """0.3: a text attachment is indexed by its text as :func:`..search.attachment_text`
    reads it — HTML without its markup — instead of ``CAST(data AS TEXT)``, which made
    ``td`` or ``class`` find every table. The index is contentless, so a row is removed by
    telling it the words it was given: every entry is made again, from the attachments
    ('delete-all', then each text attachment's text), so each is what a delete will tell.

    And the table of the vectors of search by meaning (:mod:`.sqlite_vectors`), one row per
    message, made when a search asks for them."""
    add_functions(db)
    db.execute("INSERT INTO attachments_fts(attachments_fts) VALUES ('delete-all')")
    db.execute(
        f"INSERT INTO attachments_fts(rowid, text) SELECT rowid, {ATTACHMENT_TEXT} "
        f"FROM attachments WHERE {TEXT_ATTACHMENT}"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS message_vectors (session_id TEXT NOT NULL, "
        "message_id TEXT NOT NULL, model TEXT NOT NULL, text_sha256 TEXT NOT NULL, "
        "vector BLOB NOT NULL, "
        "PRIMARY KEY (session_id, message_id))"
    )


@migration
def m012_session_changes(db: sqlite3.Connection) -> None:
    """0.3: the number of each session's last change, so sync, the sidebar and search by
    meaning ask what changed after a point instead of reading every session
    (:mod:`.sqlite_changes`). Sessions saved before it count as changed at the start."""
    sqlite_changes.create_table(db)


def migrate(conn: Connection) -> None:
    """Apply the migrations ``conn``'s database has not had, in order, in one write, each
    recorded in ``activemirror_migrations``; a read-only database that needs any is a
    StorageError (it cannot be read with an older schema)."""
    if conn.read_only:
        if _pending(conn.db):
            raise StorageError(
                f"{conn.description} is read-only and was written by an older version: "
                "open it once where it can be written, so its schema is brought up to date"
            )
        return
    conn.db.execute(
        "CREATE TABLE IF NOT EXISTS activemirror_migrations "
        "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    if not _pending(conn.db):
        return
    with conn.write("migrate the schema") as db:
        # Re-read inside the write lock: another process may have just migrated.
        applied = {r[0] for r in db.execute("SELECT name FROM activemirror_migrations")}
        for name, fn in MIGRATIONS:
            if name not in applied:
                fn(db)
                db.execute(
                    "INSERT INTO activemirror_migrations VALUES (?, datetime('now'))", (name,)
                )


def _pending(db: sqlite3.Connection) -> bool:
    if not db.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'activemirror_migrations'"
    ).fetchone():
        return True
    applied = {r[0] for r in db.execute("SELECT name FROM activemirror_migrations")}
    return not all(name in applied for name, _ in MIGRATIONS)
