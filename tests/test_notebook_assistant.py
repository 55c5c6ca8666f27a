"""notebooks/04_assistant.ipynb runs headless, top to bottom, with the llm-echo models."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_assistant.ipynb"


@pytest.fixture
def executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm-user"))  # the kernel inherits it
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
    ).execute()
    return notebook


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        for kind in ("text/plain", "text/markdown"):
            if kind in output.get("data", {}):
                parts.append(output["data"][kind])
    return "\n".join(parts)


def test_assistant_notebook_runs_headless(executed):
    cells = [c for c in executed.cells if c.cell_type == "code"]
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    everything = "\n".join(text_of(c) for c in cells)
    # the first reply came from the echo model, with its metadata
    assert "assistant" in text_of(cells[0])
    assert "'model': 'echo'" in text_of(cells[1])
    # the vault key reached echo-needs-key and was not kept
    assert "[redacted: vault key]" in everything
    assert "sk-demo-not-a-real-key-1234" not in everything
    assert "unlock the vault" in everything
    # %%mirror_send rendered the reply as Markdown
    markdown = [
        o["data"]["text/markdown"]
        for c in cells
        for o in c.get("outputs", [])
        if "text/markdown" in o.get("data", {})
    ]
    assert any(m.startswith("**assistant** · `echo`") for m in markdown)
    sent = json.loads(
        next(m for m in markdown if m.startswith("**assistant**")).split("\n\n", 1)[1]
    )
    assert sent["system"] == "Reply in one sentence."
