"""Tables a migration makes in several steps, apart from :mod:`.postgresql_schema`."""

from __future__ import annotations

import psycopg


def vectors_table(db: psycopg.Connection, own: str) -> None:
    """The table of search by meaning's vectors, under the messages' row security (``own``:
    the condition that a row is the role's own)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS message_vectors (owner text NOT NULL DEFAULT current_user,"
        " session_id text NOT NULL, message_id text NOT NULL, model text NOT NULL,"
        " text_sha256 text NOT NULL, vector bytea NOT NULL,"
        " PRIMARY KEY (owner, session_id, message_id))"
    )
    db.execute("ALTER TABLE message_vectors ENABLE ROW LEVEL SECURITY")
    db.execute("DROP POLICY IF EXISTS message_vectors_own_rows ON message_vectors")
    db.execute(
        "CREATE POLICY message_vectors_own_rows ON message_vectors "
        f"USING ({own}) WITH CHECK ({own})"
    )
    db.execute("REVOKE ALL ON message_vectors FROM PUBLIC")
    if db.execute("SELECT 1 FROM pg_roles WHERE rolname = 'activemirror_users'").fetchone():
        db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON message_vectors TO activemirror_users")
