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


def redactions_table(db: psycopg.Connection, own: str) -> None:
    """When and why each redacted message was redacted, and the digest its hash chains
    from, under the messages' row security (``own``: a row is the role's own)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS redactions ("
        " owner text NOT NULL DEFAULT current_user,"
        " message_id text NOT NULL,"
        " session_id text NOT NULL,"
        " at timestamptz NOT NULL,"
        " reason text NOT NULL,"
        " digest text NOT NULL,"
        " PRIMARY KEY (owner, message_id),"
        " FOREIGN KEY (owner, message_id) REFERENCES messages (owner, id) ON DELETE CASCADE)"
    )
    db.execute("ALTER TABLE redactions ENABLE ROW LEVEL SECURITY")
    db.execute(f"CREATE POLICY redactions_own_rows ON redactions USING ({own}) WITH CHECK ({own})")
    # Members of a team database get the rights they have on the other tables (a database
    # set up later gets them from postgresql_setup.sql).
    db.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'activemirror_users') "
        "THEN GRANT SELECT, INSERT, UPDATE, DELETE ON redactions TO activemirror_users; "
        "END IF; END $$"
    )
