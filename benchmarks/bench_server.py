"""How fast the sidebar's API answers on a big store, each figure a ratio to Jupyter's own
trivial ``/api/status`` measured in the same run (the cost of HTTP and auth itself; the
target is at most 3x).

The store is the million-message SQLite store of ``million_store.py`` (1,000,000 messages in
10,000 sessions, plus a 20,000-message session; built once and cached), copied to
a temporary folder so the server may write to it. A real ``jupyter server`` serves it on
loopback; each endpoint is asked ``--requests`` times over one keep-alive connection, after
a warm-up, and the median is reported.

Also measured: the sidebar's page right after another process saved a note or made a new
session (the roots are the store's own query, so neither costs a walk of all sessions),
against ``/api/status`` asked right after the same write.

    python benchmarks/bench_server.py [--requests 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from million_store import BIG_TITLE, RARE_WORD, build

from activemirror_jupyter.core.mirror import ActiveMirror


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(root: Path, port: int, token: str, db_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["ACTIVEMIRROR_HOME"] = str(root / "home")
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR"):
        env[name] = str(root / name.lower())
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.log_level=WARN",
        "--ServerApp.jpserver_extensions={'activemirror_jupyter': True}",
        f"--MirrorServer.db_path={db_path}",
    ]
    log = (root / "server.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("jupyter server exited early; see server.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("jupyter server did not start within 120 s")


def median_ms(fn: Callable[[], object], requests: int, warmup: int = 3) -> float:
    for _ in range(warmup):  # first-use costs: opening the store, the family index, caches
        fn()
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def find_session(db_path: Path, title: str) -> tuple[str, list[str]]:
    """The id of the session called ``title`` (among the newest) and its oldest messages' ids."""
    with ActiveMirror(db_path=db_path) as mirror:
        meta = next(m for m in mirror.list_sessions(limit=10) if m.title == title)
        session = mirror.load_session(meta.session_id)
        oldest = session.get_messages(limit=50, offset=session.message_count - 50)
        return meta.session_id, [m.id for m in oldest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    cached = build()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        db_path = root / "home" / "conversations.db"
        shutil.copyfile(cached, db_path)
        big_id, oldest = find_session(db_path, BIG_TITLE)
        port, token = free_port(), secrets.token_hex(16)
        process = start_server(root, port, token, db_path)
        try:
            wait_ready(port, token, process)
            results, cold = run_cases(port, token, big_id, oldest, db_path, args.requests)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    report(results, cold, args.requests)


def run_cases(
    port: int, token: str, big_id: str, oldest: list[str], db_path: Path, requests: int
) -> tuple[dict[str, float], dict[str, float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"token {token}"}

    def get(path: str) -> Callable[[], object]:
        def call() -> object:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (path, response.status, body[:300])
            return json.loads(body)

        return call

    api = "/activemirror/api"
    deep = 20_000 - 50
    cases = {
        "GET /api/status (the floor)": get("/api/status"),
        "GET changes": get(f"{api}/changes"),
        "GET sessions?roots=1&limit=20 (sidebar page)": get(f"{api}/sessions?roots=1&limit=20"),
        "GET sessions?roots=1&limit=50": get(f"{api}/sessions?roots=1&limit=50"),
        "GET sessions?limit=50": get(f"{api}/sessions?limit=50"),
        f"GET messages?limit=50&offset={deep}": get(
            f"{api}/sessions/{big_id}/messages?limit=50&offset={deep}"
        ),
        "GET messages/{id} (a hit's page)": get(f"{api}/sessions/{big_id}/messages/{oldest[0]}"),
        f"GET search?q={RARE_WORD}": get(f"{api}/search?q={RARE_WORD}&limit=20"),
    }
    hits = cases[f"GET search?q={RARE_WORD}"]()
    assert hits["total"] > 0, hits  # type: ignore[index]
    results = {name: median_ms(fn, requests) for name, fn in cases.items()}

    # The sidebar's page right after another process saved: a note, or a new session (the
    # roots change). Each is timed against /api/status asked right after the same kind of
    # write, since a request that follows a write to disk (fsync) is slower whatever it
    # asks: the floor is measured in the same conditions.
    roots = get(f"{api}/sessions?roots=1&limit=20")
    status = cases["GET /api/status (the floor)"]
    after: dict[str, list[float]] = {
        "a note": [],
        "a new session": [],
        "a note (floor)": [],
        "a new session (floor)": [],
    }

    def timed(what: str, fn: Callable[[], object]) -> None:
        start = time.perf_counter()
        fn()
        after[what].append((time.perf_counter() - start) * 1000)

    with ActiveMirror(db_path=db_path) as mirror:
        session = mirror.create_session("Written while benchmarking")
        for i in range(max(10, requests // 2)):
            for what, fn in (("", roots), (" (floor)", status)):
                session.send(f"note {i}")
                session.save()
                timed(f"a note{what}", fn)
                mirror.create_session(f"New session {i}{what}").save()
                timed(f"a new session{what}", fn)
    conn.close()
    return results, {what: statistics.median(ms) for what, ms in after.items()}


def report(results: dict[str, float], after: dict[str, float], requests: int) -> None:
    floor = results["GET /api/status (the floor)"]
    print(
        f"million-message SQLite store; median of {requests} requests on loopback "
        "(one keep-alive connection):"
    )
    worst = 0.0
    for name, ms in results.items():
        ratio = ms / floor
        if name != "GET /api/status (the floor)":
            worst = max(worst, ratio)
        print(f"  {name:<46} {ms:7.2f} ms   {ratio:5.1f}x /api/status")
    for what in ("a note", "a new session"):
        ms, floor_after = after[what], after[f"{what} (floor)"]
        label = f"GET sessions?roots=1 after {what} elsewhere"
        print(
            f"  {label:<46} {ms:7.2f} ms   {ms / floor_after:5.1f}x /api/status after the "
            f"same write ({floor_after:.2f} ms; {ms / floor:.1f}x the idle floor)"
        )
    verdict = "within" if worst <= 3 else "OVER"
    print(f"\nworst endpoint, store unchanged: {worst:.1f}x /api/status ({verdict} the 3x target)")


if __name__ == "__main__":
    main()
