"""Redaction as a user reaches it outside Python: ``%mirror_session redact MESSAGE_ID
--reason TEXT`` in a real IPython shell, and ``python -m activemirror_jupyter redact SESSION
MESSAGE --reason TEXT`` in a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ipython_shell import Shell, ipython, shell  # noqa: F401

from activemirror_jupyter import ActiveMirror


def test_the_magic_redacts_a_message_of_the_current_session(shell: Shell, activemirror_home):  # noqa: F811
    shell.run("%mirror_session new Keys")
    shell.run("%%mirror_send\nthe token is hunter2")
    shell.run("%%mirror_send\nkeep this")
    session = shell.magics.session
    target = session.get_messages()[0]

    ran = shell.run(f'%mirror_session redact {target.id} --reason "pasted a password"')

    assert ran.success, ran.err
    assert f"Message {target.id}" in ran.out and "redacted: pasted a password, " in ran.out
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        stored = other.load_session(session.id).get_messages()
        assert stored[0].content == "" and stored[0].redacted["reason"] == "pasted a password"
        assert stored[1].content == "keep this"
        assert other.search("hunter2") == []
    ran = shell.run("%mirror_session verify")
    assert ran.out.strip() == "verified: 1 sessions, 2 messages (1 redacted), no changes"


def test_the_magic_finds_a_message_in_another_session_and_refuses_bad_input(shell: Shell):  # noqa: F811
    shell.run("%mirror_session new Old")
    shell.run("%%mirror_send\nold secret")
    old = shell.magics.session.get_messages()[0]
    shell.run("%mirror_session new Current")
    shell.run("%%mirror_send\ncurrent note")
    ran = shell.run(f"%mirror_session redact {old.id} --reason leaked")
    assert ran.success and "redacted: leaked" in ran.out

    assert "--reason" in shell.error(f"%mirror_session redact {old.id}")
    assert "reason" in shell.error(f'%mirror_session redact {old.id} --reason " "')
    assert "msg_nope" in shell.error("%mirror_session redact msg_nope --reason x")
    ran = shell.run("%mirror_session redact --help")
    assert "MESSAGE_ID" in ran.out and "--reason" in ran.out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "activemirror_jupyter", *args], capture_output=True, text=True
    )


def test_the_command_line_redacts_and_says_what_is_wrong(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.create_session("Keys")
        target = session.send("the key is sk-live-123")
        session.send("other")
        session.save()

    done = cli("redact", session.id, target.id, "--reason", "a live key", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "redacted: a live key" in done.stdout
    with ActiveMirror(db_path=db) as mirror:
        message = mirror.load_session(session.id).get_messages()[0]
        assert message.content == "" and message.redacted["reason"] == "a live key"
    assert cli("verify", "--db", str(db)).returncode == 0
    assert b"sk-live-123" not in db.read_bytes()

    empty = cli("redact", session.id, target.id, "--reason", "", "--db", str(db))
    assert empty.returncode == 1 and "reason" in empty.stderr
    unknown = cli("redact", session.id, "msg_nope", "--reason", "x", "--db", str(db))
    assert unknown.returncode == 1 and "msg_nope" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    missing = cli("redact", session.id, target.id, "--db", str(db))
    assert missing.returncode == 2 and "--reason" in missing.stderr
