"""The example notebooks run top to bottom in a real kernel (nbclient) against a temporary
ACTIVEMIRROR_HOME, and their outputs show what each notebook promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from activemirror_jupyter import ActiveMirror

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


def test_research_log(tmp_path: Path, activemirror_home: Path) -> None:
    cells = run("02_research_log.ipynb", tmp_path)
    assert "Autolog is on" in text(cells["autolog-on"])
    assert data(cells["analysis"], "text/plain") == "(6, 5)"
    log = data(cells["log"], "text/html")
    assert "readings = pd.DataFrame" in log and "Dropped one Pune reading" in log
    family = data(cells["family"], "text/html")
    assert "Weather study: cleaning" in family and "Weather study: next steps" in family
    markdown = data(cells["export"], "text/markdown")
    assert "# Weather study: cleaning" in markdown
    assert "| city | mean | max |" in markdown and "| Oslo | 6.8 | 17.8 |" in markdown

    with ActiveMirror() as mirror:
        (study,) = [s for s in mirror.list_sessions() if s.title == "Weather study"]
        children = mirror.load_session(study.session_id).children()
        assert sorted(c.title for c in children) == [
            "Weather study: cleaning",
            "Weather study: next steps",
        ]
        cleaning = next(c for c in children if c.title.endswith("cleaning"))
        messages = mirror.load_session(cleaning.session_id).get_messages()
        logged = [m for m in messages if m.metadata.get("autolog")]
        assert any("summary = clean.groupby" in m.content for m in logged)
        assert all(isinstance(m.metadata["execution_count"], int) for m in logged)
        (note,) = [m for m in messages if m.metadata.get("source") == "mirror_send"]
        assert note.metadata["attachments"][0]["shape"] == [3, 3]


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
