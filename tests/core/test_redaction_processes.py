"""kill -9 in the middle of a redaction, in a real process: the store opens to the old
message or the redacted one — never a half — verifies, and once it has been opened again,
a redacted message's bytes are in none of its files. (The JSON folder is also killed before
each of its file changes in turn: tests/core/test_faults.py, operation ``redact``.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from waiting import DEADLINE, read_line

from activemirror_jupyter import ActiveMirror, Attachment

SECRET = "Zq7killedSECRET"

REDACTOR = textwrap.dedent(
    """
    import json, sys
    from activemirror_jupyter import ActiveMirror
    options, session_id, message_id = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    mirror = ActiveMirror(**options)
    session = mirror.load_session(session_id)
    print("ready", flush=True)
    sys.stdin.readline()
    session.redact(message_id, "killed mid-way")
    print("done", flush=True)
    """
)


def _options(kind: str, root: Path) -> dict:
    if kind == "sqlite":
        return {"storage_type": "sqlite", "db_path": str(root / "c.db")}
    return {"storage_type": "json", "storage_path": str(root / "conversations")}


def _build(options: dict) -> tuple[str, str]:
    with ActiveMirror(**options) as mirror:
        session = mirror.create_session("to be killed")
        for r in range(10):
            for i in range(200):
                session.send(f"round {r} note {i} about the samples and the weather")
            session.save()
            if r == 4:
                secret = session.send(
                    f"the password is {SECRET}",
                    attachments=[Attachment.from_bytes("k.txt", "text/plain", SECRET.encode())],
                )
                session.save()
        return session.id, secret.id


def _holding_secret(root: Path) -> list[str]:
    needle = SECRET.lower().encode()
    return [p.name for p in root.rglob("*") if p.is_file() and needle in p.read_bytes().lower()]


@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_kill_9_mid_redaction_leaves_the_old_message_or_the_redacted_one(kind, tmp_path):
    script = tmp_path / "redactor.py"
    script.write_text(REDACTOR)
    # How long a whole redaction takes here, so the kills land across all of it.
    options = _options(kind, tmp_path / "timing")
    sid, mid = _build(options)
    with ActiveMirror(**options) as mirror:
        started = time.perf_counter()
        mirror.load_session(sid).redact(mid, "timing")
        took = time.perf_counter() - started
    outcomes = set()
    for k, fraction in enumerate([0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, None]):
        root = tmp_path / f"kill-{k}"
        options = _options(kind, root)
        sid, mid = _build(options)
        proc = subprocess.Popen(
            [sys.executable, str(script), json.dumps(options), sid, mid],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert read_line(proc, "the redactor ready").strip() == "ready"
            proc.stdin.write("go\n")
            proc.stdin.flush()
            if fraction is None:  # killed once it has said it is done (the time it took
                # to redact here may not be the time it takes in a busier moment)
                assert read_line(proc, "the redactor done").strip() == "done"
            else:
                time.sleep(took * fraction)
            proc.send_signal(signal.SIGKILL)
            proc.wait(DEADLINE)
        finally:
            proc.kill()
            proc.communicate()
        with ActiveMirror(**options) as mirror:  # opening finishes what the kill left
            message = mirror.saved_messages(sid, 1000, 1001)[0]
            share = "all" if fraction is None else f"{fraction:.0%}"
            where = f"{kind}, killed after {share} of a redaction"
            assert message.id == mid, where
            report = mirror.verify(sid)
            assert report.ok, (where, report.problems)
            if message.redacted is None:
                outcomes.add("old")
                assert message.content == f"the password is {SECRET}", where
                assert message.attachments[0].read() == SECRET.encode(), where
                assert report.redacted == 0
            else:
                outcomes.add("redacted")
                assert message.content == "" and message.attachments == (), where
                assert message.redacted["reason"] == "killed mid-way", where
                assert report.redacted == 1
                assert mirror.search(SECRET) == []
        if message.redacted is not None:
            assert _holding_secret(root) == [], where
    assert "redacted" in outcomes  # the last kills come after it finished
