"""PostgreSQL hub benchmark: ``sync("postgresql://…")`` pushing 10,000 new messages from a
SQLite store against ``save()`` of the same messages straight into the same server, as the
same member role, measured in one run (ratio = save time / push time; target ≥ 0.5x).

Run: ``.venv/bin/python benchmarks/bench_sync_hub.py``. It starts its own throwaway
PostgreSQL cluster (tests/postgres_server.py), durable and on TCP, set up as a team store.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import psycopg  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402

from activemirror_jupyter import ActiveMirror  # noqa: E402
from activemirror_jupyter.core.storage.postgresql import SETUP_SQL  # noqa: E402

SESSIONS, PER = 100, 100


def team(server: PostgresServer) -> tuple[str, str]:
    for role in ("bench_admin", "bench_member"):
        server.create_role(role)
    dbs = []
    for _ in range(2):
        db = server.create_database(owner="bench_admin")
        ActiveMirror("postgresql", dsn=server.dsn(db, "bench_admin")).close()
        with server.connect(db) as conn:
            conn.execute(SETUP_SQL.read_text())
            conn.execute("GRANT activemirror_users TO bench_member")
        dbs.append(server.dsn(db, "bench_member"))
    return dbs[0], dbs[1]


def url(dsn: str) -> str:
    p = psycopg.conninfo.conninfo_to_dict(dsn)
    host = f"{p['host']}:{p['port']}" if not p["host"].startswith("/") else ""
    query = f"?host={quote(p['host'])}&port={p['port']}" if not host else ""
    return f"postgresql://{p['user']}@{host}/{p['dbname']}{query}"


def fill(mirror: ActiveMirror) -> list:
    sessions = []
    for i in range(SESSIONS):
        s = mirror.create_session(f"session {i}")
        for j in range(PER):
            s.send(f"note {j} of session {i}: the reading was {j * 0.37:.2f}")
        sessions.append(s)
    return sessions


def main() -> None:
    with PostgresServer(tcp=True, durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        hub_dsn, direct_dsn = team(server)
        local = ActiveMirror("sqlite", db_path=Path(tmp) / "laptop.db")
        for s in fill(local):
            s.save()
        start = time.perf_counter()
        report = local.sync(url(hub_dsn))
        push_s = time.perf_counter() - start
        direct = ActiveMirror("postgresql", dsn=direct_dsn)
        sessions = fill(direct)
        start = time.perf_counter()
        for s in sessions:
            s.save()
        save_s = time.perf_counter() - start
        print(f"push of {report.pushed:,} messages to the hub: {push_s:.2f} s; ", end="")
        print(f"save() of them into the server: {save_s:.2f} s")
        print(f"  ratio {save_s / push_s:.2f}x (target >= 0.5x)")
        start = time.perf_counter()
        again = local.sync(url(hub_dsn))
        print(f"a sync with nothing new: {(time.perf_counter() - start) * 1000:.1f} ms {again}")


if __name__ == "__main__":
    main()
