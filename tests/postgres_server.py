"""A throwaway PostgreSQL cluster for the tests and the benchmark, plus its pytest fixtures.

:class:`PostgresServer` runs Debian's ``initdb``/``pg_ctl`` (``/usr/lib/postgresql/<version>/bin``,
installed by ``make system-deps``) on a data folder in a temporary directory, listening on a
unix socket in that directory (or on a free loopback port), and removes everything on stop.
PostgreSQL refuses to run as root, so under root the server runs as the unprivileged user
``nobody``, which owns the temporary directory.

Fixtures: ``postgres_server`` (one cluster per test run) and ``postgres_dsn`` (a fresh, empty
database for each test, owned by an ordinary login role, so row-level security applies to the
store exactly as it would for a team member). Without psycopg or PostgreSQL's programs, or when
the server cannot start, the tests that need it are skipped with the reason — and fail under
``make test`` (``--require-all``), which installs everything they need.

psycopg is imported only when a server is used, so the rest of the suite runs without it.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dependencies import missing_dependency

if TYPE_CHECKING:
    import psycopg

SUPERUSER = "postgres"
#: The login role the behaviour tests connect as: it owns each test database and its tables.
TEST_ROLE = "activemirror_tester"
RUN_AS = "nobody"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def postgres_bin_dir() -> Path:
    """The newest Debian PostgreSQL bin folder (or the one holding ``pg_ctl`` on PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH): "
        "run `make system-deps` (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway cluster. ``tcp=True`` listens on 127.0.0.1 (a free port) instead of a
    unix socket; ``durable=True`` keeps PostgreSQL's default fsync settings (for benchmarks),
    otherwise fsync is off for speed."""

    def __init__(self, *, tcp: bool = False, durable: bool = False) -> None:
        self.bin = postgres_bin_dir()
        self.tcp = tcp
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="am-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = _free_port() if tcp else 5432
        self.host = "127.0.0.1" if tcp else str(self.dir)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", RUN_AS, "--"]
        os.chmod(self.dir, 0o700)
        self._names = itertools.count(1)
        self.running = False

    # -- process control -----------------------------------------------------------------

    def _run(self, *args: str) -> None:
        cmd = [*self._as_user, *args]
        result = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log}"
            )

    def initdb(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        if not self.data.exists():
            self.initdb()
        options = [
            f"-c listen_addresses={'127.0.0.1' if self.tcp else ''!r}",
            f"-c unix_socket_directories='{self.dir}'",
            f"-c port={self.port}",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.log), "-o", " ".join(options),
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, clients are disconnected."""
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data))
            self.running = False

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- connecting ----------------------------------------------------------------------

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, **extra: object) -> str:
        from psycopg.conninfo import make_conninfo

        params = {"host": self.host, "port": self.port, "dbname": dbname, "user": user, **extra}
        return make_conninfo(**{k: str(v) for k, v in params.items()})

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER) -> psycopg.Connection:
        import psycopg

        return psycopg.connect(self.dsn(dbname, user), autocommit=True)

    def create_role(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))

    def create_database(self, owner: str = SUPERUSER) -> str:
        from psycopg import sql

        name = f"test_{os.getpid()}_{next(self._names)}"
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole test run. If psycopg or PostgreSQL is missing, or
    the server cannot start, every test that needs it is skipped with the reason (pytest
    keeps the skip for the session: one attempt per run) — a failure under --require-all."""
    try:
        import psycopg  # noqa: F401
    except ImportError as error:
        missing_dependency(f"psycopg ({error}); pip install -e '.[postgresql]'")
    try:
        server = PostgresServer()
    except PostgresUnavailable as error:
        missing_dependency(str(error))
    try:
        server.start()
        server.create_role(TEST_ROLE)
    except Exception as error:  # any reason at all: say it, and skip (or fail) the tests
        server.cleanup()
        missing_dependency(f"the PostgreSQL test server could not start: {error}")
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for this test, reached as the ordinary role that owns it."""
    if not postgres_server.running:  # a fault test stopped it and failed before restarting
        postgres_server.start()
    name = postgres_server.create_database(owner=TEST_ROLE)
    yield postgres_server.dsn(name, TEST_ROLE, connect_timeout=5)
    postgres_server.drop_database(name)


@pytest.fixture
def team(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    """A team database set up the way the README says: owned by an admin role, tables made
    by opening the store as that role, then postgresql_setup.sql, then the login roles
    alice and bob as members. Yields the database's name (``db``) and a DSN per role
    (``admin``, ``alice``, ``bob``, ``superuser``)."""
    from activemirror_jupyter import ActiveMirror
    from activemirror_jupyter.core.storage.postgresql import SETUP_SQL

    for role in ("activemirror_admin", "alice", "bob"):
        postgres_server.create_role(role)
    db = postgres_server.create_database(owner="activemirror_admin")
    ActiveMirror("postgresql", dsn=postgres_server.dsn(db, "activemirror_admin")).close()
    with postgres_server.connect(db) as conn:
        conn.execute(SETUP_SQL.read_text())
        conn.execute("GRANT activemirror_users TO alice, bob")
    yield {
        "db": db,
        "admin": postgres_server.dsn(db, "activemirror_admin"),
        "alice": postgres_server.dsn(db, "alice"),
        "bob": postgres_server.dsn(db, "bob"),
        "superuser": postgres_server.dsn(db, SUPERUSER),
    }
    postgres_server.drop_database(db)
