"""Exports, reports and backups on disk: a link planted at a path is replaced, never written
through; a file keeps the permissions of the file it replaces (else the umask's), while the
vault and the JSON store stay private; what a killed export leaves is removed by the next
one, but never a live writer's file; and names made from titles show what they are."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from activemirror_jupyter import ActiveMirror, VaultMemory
from activemirror_jupyter.cli import main
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.transfer.exports import export_to_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and permissions")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
#: Characters a title may hide in a file name: every bidi control (U+202E shows
#: "gnp.exe.md" as "dm.exe.png"), a zero-width space, an escape, DEL.
HIDDEN = [*"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"]
HIDDEN += ["\u200b", "\x1b", "\x7f"]


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[ActiveMirror]:
    with ActiveMirror(db_path=tmp_path / "store.db") as mirror:
        yield mirror


def figures(mirror: ActiveMirror, title: str = "Figures") -> object:
    session = mirror.create_session(title)
    session.send(
        "a figure and its data",
        attachments=[
            Attachment.from_bytes("fig", "image/png", PNG),
            Attachment.from_bytes("df", "text/csv", b"site,value\nA,1\n"),
        ],
    )
    session.save()
    return session


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


def temporary_sizes(folder: Path) -> list[int]:
    sizes = []
    for name in temporary_files(folder):
        with contextlib.suppress(FileNotFoundError):  # renamed meanwhile
            sizes.append((folder / name).stat().st_size)
    return sizes


# -- links ----------------------------------------------------------------------------------


def test_links_planted_in_a_markdown_export_folder_are_replaced_not_written_through(
    mirror, tmp_path
) -> None:
    session = figures(mirror)
    out = tmp_path / "out"
    first = export_to_path(session, "markdown", f"{out}/")
    attachments = sorted((out / "attachments").iterdir())
    assert len(attachments) == 2
    victims = {}
    for path in [first, *attachments]:  # each file of the export becomes a link elsewhere
        victim = tmp_path / f"victim-{path.name}"
        victim.write_text("the user's own file")
        victims[path] = path.read_bytes()
        path.unlink()
        path.symlink_to(victim)

    assert export_to_path(session, "markdown", f"{out}/") == first

    for path, data in victims.items():
        assert not path.is_symlink() and path.read_bytes() == data
    for victim in tmp_path.glob("victim-*"):
        assert victim.read_text() == "the user's own file"


def test_an_attachments_folder_that_is_a_link_is_refused(mirror, tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "attachments").symlink_to(elsewhere)

    with pytest.raises(FileExistsError, match="symbolic link"):
        export_to_path(figures(mirror), "markdown", f"{out}/")

    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("how", ["export", "backup"])
def test_a_link_at_the_output_path_is_replaced(mirror, tmp_path, how) -> None:
    session = figures(mirror)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    target = tmp_path / "out.html"
    target.symlink_to(victim)

    if how == "export":
        export_to_path(session, "html", target)
    else:
        assert main(["backup", str(target), "--db", str(tmp_path / "store.db"), "--no-vault"]) == 0

    assert not target.is_symlink() and target.stat().st_size > 100
    assert victim.read_text() == "the user's own file"


# -- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("before", [0o644, 0o640, 0o600, 0o664])
def test_an_export_keeps_the_permissions_of_the_file_it_replaces(mirror, tmp_path, before):
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(before)
    with umask(0o077):
        export_to_path(figures(mirror), "html", target)
    assert mode(target) == before and "Figures" in target.read_text()


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_exports_and_backups_get_the_umask_permissions(mirror, tmp_path, mask, expected):
    session = figures(mirror)
    with umask(mask):
        report = export_to_path(session, "ipynb", tmp_path / "r.ipynb")
        md = export_to_path(session, "markdown", f"{tmp_path / 'md'}/")
        backup = tmp_path / "backup.json"
        assert main(["backup", str(backup), "--db", str(tmp_path / "store.db"), "--no-vault"]) == 0
    written = [report, md, backup, *(tmp_path / "md" / "attachments").iterdir()]
    assert {path.name: mode(path) for path in written} == {p.name: expected for p in written}


def test_a_backup_keeps_the_permissions_of_the_backup_it_replaces(mirror, tmp_path) -> None:
    figures(mirror)
    backup = tmp_path / "backup.json"
    backup.write_text("{}")
    backup.chmod(0o640)
    assert main(["backup", str(backup), "--db", str(tmp_path / "store.db"), "--no-vault"]) == 0
    assert mode(backup) == 0o640 and "Figures" in backup.read_text()


def test_the_vault_and_the_json_store_stay_private_whatever_the_umask(tmp_path) -> None:
    with umask(0o000):
        vault = VaultMemory("pw", vault_path=tmp_path / "vault", kdf_iterations=1_000)
        vault.store("api_key", "sk-secret")
        with ActiveMirror("json", storage_path=tmp_path / "json") as mirror:
            figures(mirror)
    files = [p for p in (tmp_path / "vault").iterdir() if p.is_file()]
    files += [p for p in (tmp_path / "json").rglob("*") if p.is_file()]
    assert len(files) >= 4
    for path in files:
        if path.suffix in (".vault", ".json"):
            assert mode(path) == 0o600, path


# -- what killed writers leave ----------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from activemirror_jupyter.core.reports.files import replacing

    with replacing(Path(sys.argv[1])) as out:
        out.write("<p>" + "partial report " * 500_000)  # 7 MB, not finished
        out.flush()
        print("writing", flush=True)
        sys.stdin.readline()  # the parent says when to finish (or kills us first)
    print("done", flush=True)
    """
)


def holder(tmp_path: Path, target: Path) -> subprocess.Popen[str]:
    """A process in the middle of writing ``target`` the way every export writes."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    return proc


def test_a_file_left_by_a_killed_export_is_removed_by_the_next_export(mirror, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = holder(tmp_path, out / "old.html")
    [left] = temporary_files(out)
    assert (out / left).stat().st_size > 7_000_000
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    export_to_path(figures(mirror), "markdown", f"{out}/")

    assert temporary_files(out) == [] and sorted(p.name for p in out.iterdir()) == [
        "Figures.md",
        "attachments",
    ]


def test_a_live_writer_s_file_is_kept(mirror, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = holder(tmp_path, out / "theirs.html")
    try:
        [theirs] = temporary_files(out)
        export_to_path(figures(mirror), "html", f"{out}/")
        assert temporary_files(out) == [theirs]
        out_text, _ = proc.communicate("go\n", timeout=30)
        assert out_text == "done\n" and proc.returncode == 0
    finally:
        proc.kill()
        proc.communicate()
    assert temporary_files(out) == []
    assert (out / "theirs.html").read_text().startswith("<p>partial report")


def test_another_host_s_file_is_kept_until_it_is_hours_old(mirror, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    foreign = out / ".tmp-0badf00d-12345-abcdef01.tmp"  # written on another machine
    foreign.write_text("half")
    export_to_path(figures(mirror), "html", f"{out}/")
    assert foreign.exists()
    day_ago = time.time() - 24 * 3600
    os.utime(foreign, (day_ago, day_ago))
    export_to_path(figures(mirror), "html", f"{out}/")
    assert temporary_files(out) == []


def test_a_report_killed_mid_write_leaves_nothing_after_the_next_backup(tmp_path) -> None:
    db = tmp_path / "store.db"
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.create_session("Big report")
        for i in range(400):
            session.send(f"note {i}: " + "words around it " * 3000)  # a 19 MB report
        session.save()
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "-m", "activemirror_jupyter", "export", session.id]
    proc = subprocess.Popen(
        [*command, "--db", str(db), "--format", "html", "--output", f"{out}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        partial = False
        while not partial and proc.poll() is None:  # kill it once a megabyte is written
            partial = any(size > 2**20 for size in temporary_sizes(out))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)
    assert partial, "the export finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL and temporary_files(out) != []

    assert main(["backup", str(out / "backup.json"), "--db", str(db), "--no-vault"]) == 0

    assert temporary_files(out) == [] and [p.name for p in out.iterdir()] == ["backup.json"]


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_names_made_from_titles_show_no_hidden_characters(mirror, tmp_path, hidden) -> None:
    session = figures(mirror, f"{hidden}gnp{hidden}.exe{hidden}")
    path = export_to_path(session, "markdown", f"{tmp_path / 'out'}/")
    assert path.name == "gnp.exe.md"
    assert (
        main(
            [
                "export",
                session.id,
                "--db",
                str(tmp_path / "store.db"),
                "--format",
                "html",
                "--output",
                f"{tmp_path / 'cli'}/",
            ]
        )
        == 0
    )
    assert [p.name for p in (tmp_path / "cli").iterdir()] == ["gnp.exe.html"]


def test_line_breaks_in_a_title_are_spaces_in_its_file_name(mirror, tmp_path) -> None:
    session = figures(mirror, "Line one\nLine\u2028two\ttoo")
    path = export_to_path(session, "markdown", f"{tmp_path}/")
    assert path.name == "Line one Line two too.md"
