"""The PostgreSQL store's schema: named migrations (applied once each, in order, recorded in
``activemirror_migrations`` under an advisory lock), row-level security, and the search
functions (the store itself is :mod:`.postgresql`; a message's words as a ``tsvector``,
:mod:`.postgresql_words`).
"""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from ..errors import StorageError
from ..ids import new_device_id
from ..journal import link
from ..mime import bare_type
from ..search import attachment_text
from .postgresql_connections import first_line
from .postgresql_tables import redactions_table, vectors_table
from .postgresql_words import search_vector
from .rows import MESSAGE_COLUMNS_02, Migrations, message_from_row

# Every query also says so, not only the policies: a superuser or BYPASSRLS role (an admin
# trying the API) must get the same answers as everyone else.
# current_user is a `name`, whose collation is "C"; compared as is, the comparison takes that
# collation and no index on `owner` (default collation) can serve it: every read would scan.
OWN = 'owner = current_user::text COLLATE "default"'
# The search functions' role parameter in the column's collation (a caller's current_user
# is a name: the parameter would take its "C" collation, which no index on owner serves).
ROLE = '(for_role COLLATE "default")'


MIGRATIONS = Migrations()
migration = MIGRATIONS.register


def migrate(conn: psycopg.Connection, where: str, role: str) -> None:
    """Apply the migrations not yet applied; ``where`` and ``role`` name the database and the
    connection's role in the error if the role may not change the schema."""
    if all(name in applied(conn) for name, _ in MIGRATIONS):
        return  # the usual case; needs no rights beyond reading the migrations table
    try:
        with conn.transaction():
            # Concurrent first opens queue here; the loser finds the work done.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('activemirror_migrations'))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS activemirror_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = applied(conn)
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(conn)
                    conn.execute("INSERT INTO activemirror_migrations (name) VALUES (%s)", (name,))
    except pg_errors.InsufficientPrivilege as exc:
        pending = [name for name, _ in MIGRATIONS if name not in applied(conn)]
        raise StorageError(
            f"{where} needs schema changes ({', '.join(pending)}) that role {role!r} may not "
            f"make ({first_line(exc)}); the database's owner must open the store once to apply "
            "them (see postgresql_setup.sql)"
        ) from None


def applied(conn: psycopg.Connection) -> set[str]:
    """The names of the migrations applied to the database."""
    exists = conn.execute("SELECT to_regclass('activemirror_migrations')").fetchone()
    if not exists or exists[0] is None:
        return set()
    return {r[0] for r in conn.execute("SELECT name FROM activemirror_migrations")}


@migration
def m001_tables(db: psycopg.Connection) -> None:
    """The SQLite store's tables and columns, keyed by owner."""
    db.execute(
        "CREATE TABLE sessions ("
        " id text NOT NULL,"
        " user_id text,"
        " title text NOT NULL DEFAULT '',"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now(),"
        " status text NOT NULL DEFAULT 'active',"
        " parent_session_id text,"
        " metadata json,"
        " max_context_messages integer,"
        " message_count integer NOT NULL DEFAULT 0,"
        " owner text NOT NULL DEFAULT current_user,"
        " PRIMARY KEY (owner, id))"
    )
    db.execute(
        "CREATE TABLE messages ("
        " id text NOT NULL,"
        " session_id text NOT NULL,"
        " role text NOT NULL,"
        " content text NOT NULL,"
        " timestamp timestamptz NOT NULL DEFAULT now(),"
        " metadata json,"
        " seq integer,"
        " owner text NOT NULL DEFAULT current_user,"
        " PRIMARY KEY (owner, id),"
        " FOREIGN KEY (owner, session_id) REFERENCES sessions (owner, id))"
    )


@migration
def m002_indexes(db: psycopg.Connection) -> None:
    """Paging is an index range: messages by (session, seq), sessions by update time."""
    db.execute("CREATE UNIQUE INDEX messages_session_seq ON messages (owner, session_id, seq)")
    db.execute("CREATE INDEX sessions_updated ON sessions (owner, updated_at DESC, id DESC)")
    db.execute("CREATE INDEX sessions_parent ON sessions (owner, parent_session_id)")


@migration
def m003_full_text_search(db: psycopg.Connection) -> None:
    """A GIN-indexed tsvector per message; a trigger numbers and indexes raw SQL inserts."""
    db.execute("ALTER TABLE messages ADD COLUMN search_vector tsvector")
    db.execute("CREATE INDEX messages_search ON messages USING gin (search_vector)")
    # The store always sends seq and search_vector; this only fills them for rows that other
    # SQL inserts. Its word split is PostgreSQL's approximation of search_words (ASCII-exact).
    db.execute(
        r"""
        CREATE FUNCTION activemirror_fill_message() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.search_vector IS NULL THEN
                NEW.search_vector := array_to_tsvector(array_remove(regexp_split_to_array(
                    regexp_replace(lower(normalize(NEW.content, NFKD)), '[\u0300-\u036f]', '',
                                   'g'),
                    '[^[:alnum:]]+'), ''));
            END IF;
            IF NEW.seq IS NULL THEN
                -- lock the session row so concurrent inserts number in turn
                PERFORM 1 FROM sessions
                    WHERE owner = NEW.owner AND id = NEW.session_id FOR UPDATE;
                SELECT coalesce(max(seq) + 1, 0) INTO NEW.seq FROM messages
                    WHERE owner = NEW.owner AND session_id = NEW.session_id;
                UPDATE sessions SET message_count = NEW.seq + 1,
                                    updated_at = greatest(updated_at, NEW.timestamp)
                    WHERE owner = NEW.owner AND id = NEW.session_id;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    db.execute(
        "CREATE TRIGGER messages_fill BEFORE INSERT ON messages FOR EACH ROW "
        "WHEN (NEW.seq IS NULL OR NEW.search_vector IS NULL) "
        "EXECUTE FUNCTION activemirror_fill_message()"
    )
    db.execute(
        "CREATE TRIGGER messages_refill BEFORE UPDATE OF content ON messages FOR EACH ROW "
        "WHEN (NEW.content IS DISTINCT FROM OLD.content "
        "AND NEW.search_vector IS NOT DISTINCT FROM OLD.search_vector) "
        "EXECUTE FUNCTION activemirror_fill_message()"
    )


@migration
def m004_row_level_security(db: psycopg.Connection) -> None:
    """Each role sees and changes only its own rows. (The tables' owner, the administrator,
    is exempt, as PostgreSQL makes it by default: search below relies on that.)"""
    for table in ("sessions", "messages"):
        db.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        db.execute(
            f"CREATE POLICY {table}_own_rows ON {table} "
            "USING (owner = current_user) WITH CHECK (owner = current_user)"
        )


@migration
def m005_search_under_row_security(db: psycopg.Connection) -> None:
    """Search through a function that runs as the tables' owner.

    PostgreSQL evaluates a query's non-leakproof conditions, such as ``@@``, only after a
    row passed its policies, so under row-level security the GIN index could never be used
    and every search would read all of a person's messages. This function runs as the owner
    (exempt from the policies) and applies the same rule itself: it returns only rows owned
    by ``for_role``, and only if the connected (login) role is, or may act as, ``for_role``.
    """
    (schema,) = db.execute("SELECT current_schema()").fetchone()  # type: ignore[misc]
    db.execute(
        sql.SQL(
            "CREATE FUNCTION activemirror_search("
            " for_role text, query tsquery, in_session text, max_rows integer)"
            " RETURNS SETOF messages LANGUAGE sql STABLE SECURITY DEFINER"
            " SET search_path = {}, pg_temp AS $$"
            " SELECT * FROM messages"
            " WHERE owner = for_role AND pg_has_role(session_user, for_role, 'MEMBER')"
            " AND search_vector @@ query AND (in_session IS NULL OR session_id = in_session)"
            " ORDER BY timestamp DESC, id DESC LIMIT max_rows $$"
        ).format(sql.Identifier(schema))
    )


@migration
def m006_indexable_row_policies(db: psycopg.Connection) -> None:
    """The policies compare ``owner`` in its own collation (see OWN), so the indexes that
    lead with ``owner`` serve every read instead of a scan of all of a role's rows."""
    for table in ("sessions", "messages"):
        db.execute(f"ALTER POLICY {table}_own_rows ON {table} USING ({OWN}) WITH CHECK ({OWN})")


@migration
def m007_research_record(db: psycopg.Connection) -> None:
    """0.2: message hashes, session tags and heads, attachments (bytes in their own table,
    with a tsvector of text attachments), and a per-role change counter (``changes``)."""
    db.execute("ALTER TABLE messages ADD COLUMN hash text")
    db.execute("ALTER TABLE sessions ADD COLUMN tags text[] NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE sessions ADD COLUMN head text")
    db.execute("CREATE INDEX sessions_tags ON sessions USING gin (tags)")
    db.execute(
        "CREATE TABLE attachments ("
        " owner text NOT NULL DEFAULT current_user,"
        " message_id text NOT NULL,"
        " position integer NOT NULL,"
        " name text NOT NULL,"
        " mime_type text NOT NULL,"
        " size integer NOT NULL,"
        " sha256 text NOT NULL,"
        " data bytea NOT NULL,"
        " search_vector tsvector,"
        " PRIMARY KEY (owner, message_id, position),"
        " FOREIGN KEY (owner, message_id) REFERENCES messages (owner, id))"
    )
    db.execute("CREATE INDEX attachments_search ON attachments USING gin (search_vector)")
    db.execute(
        "CREATE TABLE activemirror_versions ("
        " owner text PRIMARY KEY DEFAULT current_user, version bigint NOT NULL DEFAULT 0)"
    )
    for table in ("attachments", "activemirror_versions"):
        db.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        db.execute(f"CREATE POLICY {table}_own_rows ON {table} USING ({OWN}) WITH CHECK ({OWN})")


@migration
def m008_hash_chains(db: psycopg.Connection) -> None:
    """Chain the messages of stores written before 0.2, session by session, in saved order
    (run by the tables' owner, who sees every role's rows)."""
    sessions = db.execute("SELECT owner, id FROM sessions").fetchall()
    for owner, session_id in sessions:
        rows = db.execute(
            f"SELECT {MESSAGE_COLUMNS_02} FROM messages WHERE owner = %s AND session_id = %s "
            "ORDER BY seq",
            (owner, session_id),
        ).fetchall()
        previous = session_id
        updates = []
        for row in rows:
            previous = link(previous, message_from_row(row, as_utc))
            updates.append((previous, owner, row[0]))
        with db.cursor() as cur:
            cur.executemany("UPDATE messages SET hash = %s WHERE owner = %s AND id = %s", updates)
        db.execute(
            "UPDATE sessions SET head = %s WHERE owner = %s AND id = %s",
            (previous if updates else None, owner, session_id),
        )


@migration
def m009_filtered_search(db: psycopg.Connection) -> None:
    """Search with filters, over message content and text attachments, as two functions
    that run as the tables' owner (see m005 for why) and return only ``for_role``'s rows."""
    db.execute("DROP FUNCTION activemirror_search(text, tsquery, text, integer)")
    by_attachment = (
        f" FROM messages AS m WHERE m.owner = {ROLE} AND m.id = ANY(ARRAY("
        f"SELECT message_id FROM in_files WHERE owner = {ROLE}))"
        " AND NOT coalesce(m.search_vector @@ query, false)"
    )
    _search_functions(db, by_attachment, "CREATE")


def _search_functions(db: psycopg.Connection, by_attachment: str, create: str) -> None:
    """``activemirror_find`` and ``activemirror_count``, with ``by_attachment`` as the
    branch of messages that hold the words only in a text attachment."""
    (schema,) = db.execute("SELECT current_schema()").fetchone()  # type: ignore[misc]
    # Two branches, each driven by a GIN index: messages whose content holds the words, and
    # (UNION ALL, not counting them twice) messages that hold them only in a text
    # attachment. Each branch first looks the words up (a MATERIALIZED CTE, and with
    # enable_seqscan off only the GIN index can serve it), then checks the owner and the
    # filters on those rows: the planner would otherwise start from the owner's btree, which
    # right after a bulk save (no statistics yet) it takes for selective, and filter every
    # row of the owner. jit off: nothing worth compiling. The role check depends on no row,
    # so PostgreSQL evaluates it once. A caller's ``current_user`` is a ``name``, whose "C"
    # collation the parameter would take (see OWN): compared in the column's collation.
    role = ROLE
    filters = (
        " AND pg_has_role(session_user, for_role, 'MEMBER')"
        " AND (in_session IS NULL OR m.session_id = in_session)"
        " AND (in_role IS NULL OR m.role = in_role)"
        " AND (with_tag IS NULL OR m.session_id IN"
        f"  (SELECT id FROM sessions WHERE owner = {role} AND tags @> ARRAY[with_tag]))"
        " AND (since IS NULL OR m.timestamp >= since)"
        " AND (until IS NULL OR m.timestamp < until)"
    )
    words = (
        " WITH by_words AS MATERIALIZED (SELECT * FROM messages WHERE search_vector @@ query),"
        " in_files AS MATERIALIZED"
        "  (SELECT owner, message_id FROM attachments WHERE search_vector @@ query)"
    )
    by_content = f" FROM by_words AS m WHERE m.owner = {role}"
    arguments = (
        "for_role text, query tsquery, in_session text, in_role text, with_tag text,"
        " since timestamptz, until timestamptz"
    )
    settings = " SET search_path = {}, pg_temp SET enable_seqscan = off SET jit = off"
    db.execute(
        sql.SQL(
            create
            + " FUNCTION activemirror_find("
            + arguments
            + ", max_rows integer, skip integer)"
            " RETURNS SETOF messages LANGUAGE sql STABLE SECURITY DEFINER"
            + settings
            + " AS $$"
            + words
            + " SELECT m.*"
            + by_content
            + filters
            + " UNION ALL SELECT m.*"
            + by_attachment
            + filters
            + " ORDER BY timestamp DESC, id DESC LIMIT max_rows OFFSET skip $$"
        ).format(sql.Identifier(schema))
    )
    db.execute(
        sql.SQL(
            create + " FUNCTION activemirror_count(" + arguments + ")"
            " RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
            + settings
            + " AS $$"
            + words
            + " SELECT (SELECT count(*)"
            + by_content
            + filters
            + ")"
            " + (SELECT count(*)" + by_attachment + filters + ") $$"
        ).format(sql.Identifier(schema))
    )


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@migration
def m010_devices(db: psycopg.Connection) -> None:
    """0.3's devices: the store's device id in ``activemirror_state`` (readable by every
    role: it is no secret), and each message's ``origin`` — NULL for the messages this
    store saved itself, else the id of the device that first saved it."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS activemirror_state (key text PRIMARY KEY, value text NOT NULL)"
    )
    db.execute(
        "INSERT INTO activemirror_state VALUES ('device_id', %s) ON CONFLICT DO NOTHING",
        (new_device_id(),),
    )
    db.execute("GRANT SELECT ON activemirror_state TO PUBLIC")
    db.execute("ALTER TABLE messages ADD COLUMN IF NOT EXISTS origin text")


@migration
def m011_search_by_attachment_from_its_hits(db: psycopg.Connection) -> None:
    """The attachment branch of search starts from the attachments that hold the words (a
    join on the messages' primary key) instead of asking for messages whose id is in that
    list, which the planner could serve by scanning all of a role's messages."""
    by_attachment = (
        " FROM (SELECT DISTINCT owner, message_id FROM in_files) AS f"
        " JOIN messages AS m ON m.owner = f.owner AND m.id = f.message_id"
        f" WHERE f.owner = {ROLE} AND NOT coalesce(m.search_vector @@ query, false)"
    )
    _search_functions(db, by_attachment, "CREATE OR REPLACE")


@migration
def m012_one_order_across_devices(db: psycopg.Connection) -> None:
    """0.3's journal across devices (as SQLite's m009): each message's clock, and each
    session's tips — its devices' last hashes, NULL while its head alone says it."""
    db.execute("ALTER TABLE messages ADD COLUMN IF NOT EXISTS clock bigint")
    db.execute("UPDATE messages SET clock = seq + 1 WHERE clock IS NULL")
    db.execute("ALTER TABLE sessions ADD COLUMN IF NOT EXISTS tips text")


@migration
def m013_redactions(db: psycopg.Connection) -> None:
    """0.3's redactions: when and why a message was redacted, and the digest its hash
    chains from (see :mod:`.postgresql_redact`), under the messages' row security."""
    redactions_table(db, OWN)


@migration
def m014_attachment_text_and_vectors(db: psycopg.Connection) -> None:
    """0.3: an HTML attachment's words are its text's (:func:`..search.attachment_text`),
    not its markup's: those of every role (run by the tables' owner) are made again. The
    other text attachments' words are what they were.

    And the vectors of search by meaning (:mod:`.postgresql_vectors`), under the messages'
    row security, granted to the team's role where it exists (as postgresql_setup.sql)."""
    vectors_table(db, OWN)
    with db.cursor(name="activemirror_html_attachments") as rows:
        rows.execute(
            "SELECT owner, message_id, position, mime_type, data FROM attachments "
            "WHERE mime_type LIKE 'text/html%'"
        )
        while batch := rows.fetchmany(200):
            updates = [
                (search_vector(attachment_text(mime, bytes(data)) or ""), owner, mid, position)
                for owner, mid, position, mime, data in batch
                if bare_type(mime) == "text/html"
            ]
            with db.cursor() as cur:
                cur.executemany(
                    "UPDATE attachments SET search_vector = %s::tsvector "
                    "WHERE owner = %s AND message_id = %s AND position = %s",
                    updates,
                )


@migration
def m015_session_changes(db: psycopg.Connection) -> None:
    """0.3: the number of each session's last change, from its role's count of changes, and
    the sessions each role deleted, so a hub sync asks what changed after a point instead
    of comparing every session (:mod:`.postgresql_changes`). Columns of granted tables:
    a team's roles need no new grant."""
    db.execute("ALTER TABLE sessions ADD COLUMN IF NOT EXISTS change bigint")
    db.execute("CREATE INDEX IF NOT EXISTS sessions_change ON sessions (owner, change)")
    db.execute(
        "ALTER TABLE activemirror_versions "
        "ADD COLUMN IF NOT EXISTS deleted jsonb NOT NULL DEFAULT '{}'::jsonb"
    )
