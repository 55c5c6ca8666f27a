"""``python -m activemirror_jupyter verify [FILE]`` and streaming backups, as a user runs them:
real processes, real stores, exit statuses."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.transfer.bundles import export_all_data
from activemirror_jupyter.core.transfer.exports import dumps


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "activemirror_jupyter", *args], capture_output=True, text=True
    )


def seeded(db: Path) -> list[str]:
    with ActiveMirror(db_path=db) as mirror:
        ids = []
        for title in ("One", "Two"):
            session = mirror.create_session(title)
            session.send(
                f"{title} note", attachments=[Attachment.from_bytes("n.txt", "text/plain", b"n")]
            )
            session.send("more")
            session.save()
            ids.append(session.id)
        return ids


def test_verify_a_store_then_a_change_behind_its_back(tmp_path):
    db = tmp_path / "c.db"
    seeded(db)
    ok = cli("verify", "--db", str(db))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "verified: 2 sessions, 4 messages, no changes"
    with sqlite3.connect(db) as raw:
        (message_id,) = raw.execute("SELECT id FROM messages WHERE content = 'One note'").fetchone()
        raw.execute("UPDATE messages SET content = 'Edited' WHERE id = ?", (message_id,))
    raw.close()
    bad = cli("verify", "--db", str(db))
    assert bad.returncode == 1
    (line,) = bad.stdout.strip().splitlines()  # one line per problem, on stdout
    assert line.startswith("changed: session ") and message_id in line


def test_verify_a_file_needs_no_store(tmp_path):
    db = tmp_path / "c.db"
    ids = seeded(db)
    export = tmp_path / "one.json"
    with ActiveMirror(db_path=db) as mirror:
        export.write_text(mirror.load_session(ids[0]).export("json"))
    assert cli("verify", str(export)).returncode == 0
    data = json.loads(export.read_text())
    data["messages"][1]["content"] = "changed in the file"
    export.write_text(json.dumps(data))
    bad = cli("verify", str(export))
    assert bad.returncode == 1 and "changed" in bad.stdout
    missing = cli("verify", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "nope.json" in missing.stderr


def test_a_backup_streams_the_same_text_the_bundle_makes_and_verifies(tmp_path):
    db = tmp_path / "c.db"
    seeded(db)
    backup = tmp_path / "backup.json"
    done = cli("backup", str(backup), "--db", str(db), "--no-vault")
    assert done.returncode == 0, done.stderr
    assert "backed up 2 sessions and 0 vault files" in done.stderr
    with ActiveMirror(db_path=db) as mirror:
        assert backup.read_text() == dumps(export_all_data(mirror)) + "\n"
    assert cli("verify", str(backup)).returncode == 0
    restored = tmp_path / "restored.db"
    assert cli("restore", str(backup), "--db", str(restored)).returncode == 0
    assert cli("verify", "--db", str(restored)).returncode == 0
