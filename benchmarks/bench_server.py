"""How fast the sidebar's API answers on a big store, measured against the same calls made
in-process and against Jupyter's own trivial ``/api/status`` (the cost of HTTP itself).

Starts a real ``jupyter server`` on loopback over a temporary SQLite store holding 10,000
sessions, one of them with 10,000 messages, then times 50 requests of each kind over one
keep-alive connection and prints the median in milliseconds.

    python benchmarks/bench_server.py [--store sqlite|json] [--sessions N] [--messages N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from activemirror_jupyter.core.mirror import ActiveMirror


def store_options(store: str, root: Path) -> dict[str, str]:
    if store == "json":
        return {"storage_type": "json", "storage_path": str(root / "home" / "conversations")}
    return {"storage_type": "sqlite", "db_path": str(root / "home" / "conversations.db")}


def seed(options: dict[str, str], sessions: int, messages: int) -> str:
    """``sessions`` saved sessions; the last-saved one holds ``messages`` messages."""
    with ActiveMirror(**options) as mirror:
        for i in range(sessions - 1):
            session = mirror.create_session(f"Session {i}")
            session.send(f"first note of session {i}")
            session.save()
        big = mirror.create_session("Big session")
        for i in range(messages):
            big.send(f"message {i}: " + "lorem ipsum " * 8, role="user" if i % 2 else "assistant")
        big.save()
        return big.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    root: Path, port: int, token: str, options: dict[str, str]
) -> subprocess.Popen[bytes]:
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
        *(f"--MirrorServer.{name}={value}" for name, value in options.items()),
    ]
    log = (root / "server.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
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
    raise SystemExit("jupyter server did not start within 60 s")


def median_ms(fn: Callable[[], object], requests: int) -> float:
    for _ in range(3):  # warm-up: first-use costs (opening the store, caches)
        fn()
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "json"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        root = Path(tmp)
        options = store_options(args.store, root)
        t0 = time.perf_counter()
        big_id = seed(options, args.sessions, args.messages)
        print(
            f"{args.store} store: seeded {args.sessions} sessions and a "
            f"{args.messages}-message session "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        port, token = free_port(), secrets.token_hex(16)
        process = start_server(root, port, token, options)
        try:
            wait_ready(port, token, process)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"token {token}"}

            def get(path: str) -> Callable[[], object]:
                def call() -> object:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                    assert response.status == 200, (path, response.status, body[:200])
                    return json.loads(body)

                return call

            deep = args.messages - 50
            last_sessions = args.sessions - 50
            http_cases = {
                "GET /api/status (HTTP floor)": get("/api/status"),
                "GET sessions?limit=50": get("/activemirror/api/sessions?limit=50"),
                f"GET sessions?limit=50&offset={last_sessions}": get(
                    f"/activemirror/api/sessions?limit=50&offset={last_sessions}"
                ),
                "GET messages?limit=50": get(
                    f"/activemirror/api/sessions/{big_id}/messages?limit=50"
                ),
                f"GET messages?limit=50&offset={deep}": get(
                    f"/activemirror/api/sessions/{big_id}/messages?limit=50&offset={deep}"
                ),
            }
            results = {name: median_ms(fn, args.requests) for name, fn in http_cases.items()}
            conn.close()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        # The same reads in-process: what the handlers cost on top of the store.
        with ActiveMirror(**options) as mirror:
            direct = {
                "sessions": median_ms(
                    lambda: (mirror.list_sessions(limit=50), mirror.count_sessions()),
                    args.requests,
                ),
                "messages": median_ms(
                    lambda: mirror.load_session(big_id).get_messages(limit=50, offset=deep),
                    args.requests,
                ),
            }

    floor = results["GET /api/status (HTTP floor)"]
    print(f"\nmedian of {args.requests} requests on loopback (one keep-alive connection):")
    for name, ms in results.items():
        print(f"  {name:<45} {ms:7.2f} ms   {ms / floor:5.1f}x /api/status")
    print("in-process baseline (same store, no HTTP):")
    print(f"  list_sessions(limit=50) + count_sessions()    {direct['sessions']:7.2f} ms")
    label = f"get_messages(limit=50, offset={deep})"
    print(f"  {label:<45} {direct['messages']:7.2f} ms")
    sessions_ms = results["GET sessions?limit=50"]
    messages_ms = results[f"GET messages?limit=50&offset={deep}"]
    print(
        f"\nsessions?limit=50 over {args.sessions} sessions: {sessions_ms:.2f} ms "
        f"({sessions_ms / direct['sessions']:.1f}x in-process)\n"
        f"messages?limit=50&offset={deep} on {args.messages} messages: {messages_ms:.2f} ms "
        f"({messages_ms / direct['messages']:.1f}x in-process)"
    )


if __name__ == "__main__":
    main()
