"""The example notebooks run top to bottom in a real kernel (nbclient) against a temporary
ACTIVEMIRROR_HOME, and their outputs show what each notebook promises."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from activemirror_jupyter import ActiveMirror, Identity, VaultMemory

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PASSWORD = "notebook vault passphrase 1"
API_KEY = "sk-demo-5c1f-very-distinctive"


@pytest.fixture(autouse=True)
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this process's environment: a private IPython folder (no history
    # written to the user's), and the secrets the vault notebook reads.
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("ACTIVEMIRROR_VAULT_PASSWORD", PASSWORD)
    monkeypatch.setenv("DEMO_API_KEY", API_KEY)


def run(name: str, workdir: Path) -> dict[str, Any]:
    """Execute notebook ``name``; return its code cells by tag."""
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        book,
        timeout=120,  # per cell; generous for a loaded machine
        startup_timeout=120,  # the kernel's start
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    cells = {}
    for cell in book.cells:
        if cell.cell_type == "code":
            for tag in cell.metadata.get("tags", []):
                if tag != "raises-exception":
                    cells[tag] = cell
    return cells


def text(cell: Any, stream: str = "stdout") -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == stream)


def data(cell: Any, mime: str) -> str:
    found = [o["data"][mime] for o in cell.outputs if mime in o.get("data", {})]
    assert found, f"no {mime} output in {cell.source!r}"
    return "".join(found[-1]) if isinstance(found[-1], list) else found[-1]


def everything(cells: dict[str, Any]) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=list(cells.values())))


def test_quickstart(tmp_path: Path, activemirror_home: Path) -> None:
    cells = run("01_quickstart.ipynb", tmp_path)
    assert "Started session 'Daily Planning'" in text(cells["new"])
    assert "saved" in text(cells["send-2"])
    assert "12 messages" in data(cells["python-api"], "text/plain")
    page_1 = data(cells["page-1"], "text/html")
    assert "page 1 of 3" in text(cells["page-1"])
    assert "Idea 10" in page_1 and "Idea 5" not in page_1
    assert "page 2 of 3" in text(cells["page-2"]) and "Idea 5" in data(cells["page-2"], "text/html")
    assert data(cells["assign"], "text/plain") == "['Idea 8', 'Idea 9', 'Idea 10']"
    listing = data(cells["list"], "text/html")
    assert "Daily Planning" in listing and "message_count" in listing
    found = data(cells["search"], "text/html")
    assert "First thought" in found and "Idea" not in found
    markdown = data(cells["export-markdown"], "text/markdown")
    assert markdown.startswith("# Daily Planning") and "write the tests **first**" in markdown
    assert "Wrote the json export" in text(cells["export-json"])
    error = text(cells["mistake"], "stderr").strip().splitlines()
    assert len(error) == 1 and "Session not found: 'session_that_does_not_exist'" in error[0]
    assert not any(
        o.output_type == "error" and o.get("traceback") for o in cells["mistake"].outputs
    )

    # the notes outlive the kernel: a fresh mirror on the same home finds them
    with ActiveMirror() as mirror:
        (meta,) = mirror.list_sessions()
        assert (meta.title, meta.message_count) == ("Daily Planning", 12)


def test_research_log(
    tmp_path: Path, activemirror_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = NOTEBOOKS / "02_research_log.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))  # as Jupyter Server tells a kernel
    cells = run("02_research_log.ipynb", tmp_path)
    assert "Autolog is on (with outputs)" in text(cells["autolog-on"])
    assert data(cells["analysis"], "text/plain") == "(6, 5)"
    assert "python" in data(cells["provenance"], "text/html")
    assert data(cells["figure"], "image/png")  # the inline figure the notebook shows
    assert data(cells["attachments"], "text/plain") == (
        "[('summary', 'text/csv', True), ('fig', 'image/png', True)]"
    )
    log = data(cells["log"], "text/html")
    assert "readings = pd.DataFrame" in log and "Dropped one Pune reading" in log
    family = data(cells["family"], "text/html")
    assert "Weather study: cleaning" in family and "Weather study: next steps" in family
    tagged = data(cells["tagged"], "text/html")
    assert "Weather study: next steps" in tagged and "Weather study: cleaning" not in tagged
    found = data(cells["search"], "text/html")
    assert "Dropped one Pune reading" in found and "full year of monthly readings" in found
    assert "readings = pd.DataFrame" not in found  # the logged code is role system
    assert "# Weather study: cleaning" in data(cells["export"], "text/markdown")

    with ActiveMirror() as mirror:
        (study,) = [s for s in mirror.list_sessions() if s.title == "Weather study"]
        assert study.tags == ("weather",)
        children = {c.title: c for c in mirror.load_session(study.session_id).children()}
        assert sorted(children) == ["Weather study: cleaning", "Weather study: next steps"]
        cleaning = mirror.load_session(children["Weather study: cleaning"].session_id)
        assert cleaning.tags == ("weather", "cleaning")
        assert children["Weather study: next steps"].tags == ("weather", "todo")
        check_provenance(cleaning.metadata["provenance"], notebook)

        messages = cleaning.get_messages()
        cells_logged = [m for m in messages if m.metadata.get("kind") == "cell"]
        assert [m.content.splitlines()[0] for m in cells_logged] == [
            "readings = pd.DataFrame({",
            'summary = clean.groupby("city")["temp_c"].agg(["mean", "max"]).round(1).reset_index()',
            "fig, ax = plt.subplots(figsize=(4, 2.5))",
        ]
        analysis, summary, figure = cells_logged
        assert all(m.role == "system" and m.metadata["status"] == "ok" for m in cells_logged)
        assert all(m.metadata["notebook"] == str(notebook) for m in cells_logged)
        assert kept(analysis) == [("execute_result", "text/plain", b"(6, 5)")]
        ((kind, mime, table),) = kept(summary)
        assert (kind, mime) == ("execute_result", "text/html") and b"Oslo" in table
        assert kept(figure)[0] == ("stream", "text/plain", b"cities: Lima, Oslo, Pune\n")
        assert kept(figure)[1][:2] == ("display_data", "image/png")
        assert kept(figure)[1][2].startswith(b"\x89PNG\r\n\x1a\n")

        (note,) = [m for m in messages if m.metadata.get("source") == "mirror_send"]
        csv, png = note.attachments
        assert (csv.name, csv.mime_type) == ("summary", "text/csv")
        assert csv.read().decode().splitlines() == [
            ",city,mean,max",
            "0,Lima,20.2,23.5",
            "1,Oslo,6.8,17.8",
            "2,Pune,21.4,21.4",
        ]
        assert (png.name, png.mime_type) == ("fig", "image/png")
        assert png.read().startswith(b"\x89PNG\r\n\x1a\n")
        assert mirror.verify().ok


def kept(message: Any) -> list[tuple[str, str, bytes]]:
    """A logged cell's outputs: (output type, mime type, bytes), in order."""
    found = []
    for entry in message.metadata["outputs"]:
        attachment = message.attachment(entry["attachment"])
        found.append((entry["output_type"], attachment.mime_type, attachment.read()))
    return found


def check_provenance(facts: dict[str, Any], notebook: Path) -> None:
    assert facts["notebook"] == str(notebook)
    assert facts["python"] and facts["hostname"] and facts["user"]
    assert {"pandas", "matplotlib", "ipykernel"} <= set(facts["packages"])
    in_git = subprocess.run(
        ["git", "-C", str(notebook.parent), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if in_git.returncode == 0:  # a clone (CI, a developer): the commit the notebook is at
        assert facts["git"]["commit"] == in_git.stdout.strip()
    else:  # an unpacked sdist, or no git: no record, and no error
        assert facts["git"] is None


def test_vault_notebook_keeps_secrets_out_of_outputs(
    tmp_path: Path, activemirror_home: Path
) -> None:
    cells = run("03_vault.ipynb", tmp_path)
    assert "Created a new vault" in text(cells["unlock"])
    assert "unlocked" in text(cells["status"])
    listing = data(cells["list"], "text/html")
    for key in ("api_key", "salary_target", "core_insight_2024_01"):
        assert key in listing
    assert "productivity" in listing and "private" in listing
    assert "core_insight_2024_01" in data(cells["search"], "text/html")
    assert data(cells["get"], "text/plain") == "(True, 150001)"
    assert "hidden" in text(cells["get-bare"]) and not cells["get-bare"].outputs[-1].get("data")
    assert "Focus beats multitasking" in data(cells["get-show"], "text/plain")
    assert "Vault locked" in text(cells["lock"])
    assert "the vault is locked" in text(cells["locked-mistake"], "stderr")

    saved = everything(cells)
    assert "Focus beats multitasking" in saved  # the --show output is there
    assert PASSWORD not in saved and API_KEY not in saved
    assert (activemirror_home / "vault" / ".vault_index.enc").exists()


SYNC_NOTES = [
    "Read the three papers on soil moisture sensors.",
    "Plan: calibrate sensors before the field trip.",
    "Train: sketched the calibration curve.",
    "Lab: sensor 3 reads 4% high, recalibrated.",
]


def test_sync_two_machines_in_one_notebook(
    tmp_path: Path, activemirror_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The notebook makes its demo folder with tempfile.mkdtemp(): TMPDIR (the kernel
    # inherits it) puts it where this test can look at the stores, vaults and folder.
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    cells = run("05_sync.ipynb", tmp_path)
    assert not [o for c in cells.values() for o in c.outputs if o.output_type == "error"]
    (demo,) = temp.glob("activemirror-sync-demo-*")
    shared = demo / "Dropbox" / "activemirror"

    # one identity on both: the fingerprints match, and the pairing code is nowhere
    laptop_line, workstation_line = text(cells["fingerprints"]).splitlines()
    fingerprint = laptop_line.split()[-1]
    assert workstation_line.split()[-1] == fingerprint
    assert data(cells["fingerprints"], "text/plain") == "True"
    assert not cells["join"].outputs
    laptop_vault = VaultMemory("laptop demo password", demo / "laptop" / "vault")
    me = Identity.load(laptop_vault)
    assert me.fingerprint == fingerprint
    saved = everything(cells)
    assert me.pairing_code() not in saved and "amid1" not in saved

    # the same session, the same messages in the same order, on both stores
    # (the train's and the lab's notes, written before either machine synced, have no order
    # of their own: both stores put them the same way, by clock and then device id)
    for tag in ("laptop-messages", "workstation-messages"):
        table = data(cells[tag], "text/html")
        first, second, train, lab = (table.index(note) for note in SYNC_NOTES)
        assert first < second < min(train, lab), tag
    assert data(cells["laptop-messages"], "text/html") == data(
        cells["workstation-messages"], "text/html"
    )
    assert "the same messages in the same order: True" in text(cells["workstation-messages"])

    # the title changed later (on the workstation) won on both
    assert text(cells["titles"]).splitlines() == [
        "laptop:      Chapter 2: sensors and methods",
        "workstation: Chapter 2: sensors and methods",
    ]

    # the folder: file names that say nothing, and none of the text in its bytes
    listed = text(cells["folder"]).splitlines()
    assert any(line.endswith("activemirror-sync/v1/IDENTITY") for line in listed)
    assert sum(line.endswith(".ams") for line in listed) >= 3
    unreadable = text(cells["unreadable"]).splitlines()
    assert len(unreadable) == 4 and all(
        line.endswith("in the folder: False") for line in unreadable
    )
    in_folder = b"".join(p.read_bytes() for p in shared.rglob("*") if p.is_file())
    for secret in [*SYNC_NOTES, "Chapter 2", "Field trip checklist", "spare batteries"]:
        assert secret.encode() not in in_folder

    # sync_enabled: the autosaved send went out by itself, and the workstation pulled it
    assert not text(cells["sync-enabled"], "stderr")  # no SyncWarning
    last = data(cells["sync-enabled"], "text/plain")
    assert "'pushed': 1" in last and "'error': None" in last
    assert "pushed=0, pulled=1" in text(cells["arrived"])
    assert data(cells["arrived"], "text/plain") == "'Autosaved, and already in the shared folder.'"

    # the magics: %vault identity shows the fingerprint, %mirror_session sync pushes the note
    assert f"Fingerprint: {fingerprint}" in text(cells["magics-setup"])
    assert text(cells["magics-sync"]).startswith("pushed 1, pulled 0 ↔ ")
    listing = data(cells["sessions"], "text/html")
    assert "Field trip checklist" in listing and "Chapter 2: sensors and methods" in listing

    # the two stores, opened afresh, hold one state
    with (
        ActiveMirror("sqlite", db_path=demo / "laptop" / "conversations.db") as laptop,
        ActiveMirror("json", storage_path=demo / "workstation" / "conversations") as workstation,
    ):
        stores = [laptop, workstation]
        listings = [
            sorted((s.session_id, s.title, s.message_count) for s in m.list_sessions())
            for m in stores
        ]
        assert listings[0] == listings[1]
        assert sorted(title for _, title, _ in listings[0]) == [
            "Chapter 2: sensors and methods",
            "Field trip checklist",
        ]
        thesis = next(s for s in listings[0] if s[1].startswith("Chapter 2"))[0]
        contents = [[m.content for m in s.load_session(thesis).get_messages()] for s in stores]
        assert contents[0] == contents[1]
        assert contents[0][:2] == SYNC_NOTES[:2] and set(contents[0][2:4]) == set(SYNC_NOTES[2:])
        assert contents[0][4:] == ["Autosaved, and already in the shared folder."]
        assert all(m.verify().ok for m in stores)
