"""The backup command line: ``python -m activemirror_jupyter`` / ``activemirror``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from activemirror_jupyter import ActiveMirror, VaultMemory
from activemirror_jupyter.cli import main


def make_store(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "a.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        parent = mirror.create_session("Project Alpha")
        parent.send("Kick-off")
        parent.save()
        child = mirror.create_session("Sprint 1", parent.id)
        child.send("First task")
        child.save()
    return db, [parent.id, child.id]


def test_help_everywhere(capsys):
    for argv in ([], ["list"], ["export"], ["import"], ["backup"], ["restore"]):
        with pytest.raises(SystemExit) as info:
            main([*argv, "--help"])
        assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "export", "import", "backup", "restore"):
        assert command in out
    assert "--json-dir" in out and "--on-conflict" in out


def test_python_dash_m_runs(tmp_path):
    env = dict(os.environ, ACTIVEMIRROR_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-m", "activemirror_jupyter", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0
    assert "backup" in result.stdout


def test_list(tmp_path, capsys):
    db, ids = make_store(tmp_path)
    assert main(["list", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [ids[1], ids[0]]
    assert lines[1].endswith("\t1\tProject Alpha")
    assert main(["list", "--db", str(db), "--json", "--limit", "1"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == ids[1] and row["parent_session_id"] == ids[0]


def test_default_store_is_used_without_options(activemirror_home, capsys):
    with ActiveMirror() as mirror:
        session_id = mirror.create_session("Default").save()
    assert main(["list"]) == 0
    assert session_id in capsys.readouterr().out


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("json", '"title": "Project Alpha"'),
        ("markdown", "# Project Alpha"),
        ("txt", "user: Kick-off"),
    ],
)
def test_export_to_stdout_and_file(tmp_path, capsys, fmt, expected):
    db, ids = make_store(tmp_path)
    assert main(["export", ids[0], "--db", str(db), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert expected in out
    target = tmp_path / "out" / f"export.{fmt}"
    assert main(["export", ids[0], "--db", str(db), "-f", fmt, "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == out


def test_export_then_import_into_a_json_folder(tmp_path, capsys):
    db, ids = make_store(tmp_path)
    target = tmp_path / "s.json"
    assert main(["export", ids[0], "--db", str(db), "-o", str(target)]) == 0
    folder = tmp_path / "conversations"
    assert main(["import", str(target), "--json-dir", str(folder)]) == 0
    assert f"imported {ids[0]}" in capsys.readouterr().out
    with ActiveMirror("json", storage_path=folder) as mirror:
        assert mirror.load_session(ids[0]).export("json") == target.read_text(encoding="utf-8")
    # a second time: the id exists, one clear line and status 1
    assert main(["import", str(target), "--json-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("activemirror: error:") and "already exists" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["import", str(target), "--json-dir", str(folder), "--on-conflict", "new_id"]) == 0


def test_backup_and_restore_move_a_store_with_its_vault(tmp_path, capsys):
    db, ids = make_store(tmp_path)
    vault = VaultMemory("pw", vault_path=tmp_path / "vault", kdf_iterations=1_000)
    vault.store("api_key", "sk-secret")
    backup = tmp_path / "backup.json"
    assert main(["backup", str(backup), "--db", str(db), "--vault", str(tmp_path / "vault")]) == 0
    assert "sk-secret" not in backup.read_text(encoding="utf-8")
    folder = tmp_path / "restored"
    new_vault = tmp_path / "restored-vault"
    assert main(["restore", str(backup), "--json-dir", str(folder), "--vault", str(new_vault)]) == 0
    assert "restored 2 sessions (2 messages) and 2 vault files" in capsys.readouterr().err
    with ActiveMirror("json", storage_path=folder) as mirror:
        assert sorted(s.session_id for s in mirror.list_sessions()) == sorted(ids)
    assert VaultMemory("pw", vault_path=new_vault).retrieve("api_key") == "sk-secret"
    # The restored store backs up to the same text.
    again = tmp_path / "again.json"
    assert main(["backup", str(again), "--json-dir", str(folder), "--vault", str(new_vault)]) == 0
    assert again.read_bytes() == backup.read_bytes()


def test_backup_without_vault_and_restore_refusals(tmp_path, capsys):
    db, _ = make_store(tmp_path)
    backup = tmp_path / "backup.json"
    assert main(["backup", str(backup), "--db", str(db), "--no-vault"]) == 0
    assert json.loads(backup.read_text(encoding="utf-8"))["vault"] is None
    assert main(["restore", str(backup), "--db", str(db)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["restore", str(backup), "--db", str(tmp_path / "b.db"), "--max-bytes", "10"]) == 1
    assert "over the import limit" in capsys.readouterr().err


def test_backup_to_stdout(tmp_path, capsys):
    db, ids = make_store(tmp_path)
    assert main(["backup", "-", "--db", str(db), "--no-vault"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert sorted(s["id"] for s in bundle["sessions"]) == sorted(ids)


def test_user_mistakes_are_one_line(tmp_path, capsys):
    assert main(["export", "../etc/passwd", "--db", str(tmp_path / "x.db")]) == 1
    assert main(["export", "missing", "--db", str(tmp_path / "x.db")]) == 1
    assert main(["import", str(tmp_path / "nope.json"), "--db", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("activemirror: error:") for line in err)
    with pytest.raises(SystemExit) as info:
        main(["list", "--db", "a.db", "--json-dir", "b"])
    assert info.value.code == 2
