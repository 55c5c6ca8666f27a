"""The notebook export runs: cells recorded by autolog in a real kernel come back as a
notebook that ``nbformat`` validates and that a real kernel (nbclient) runs top to bottom,
past the cells that failed, giving the same results again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Attachment


@pytest.fixture(autouse=True)
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels inherit this environment: the test's store and a private IPython folder.
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def execute(nb: Any, workdir: Path) -> Any:
    """Run ``nb`` in a python3 kernel, top to bottom; errors stop it unless a cell is tagged
    ``raises-exception`` (as JupyterLab's Run All does)."""
    NotebookClient(
        nb,
        timeout=120,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    return nb


def stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def result(cell: Any) -> str:
    (found,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return found.data["text/plain"]


def test_an_exported_log_runs_top_to_bottom_past_its_errors(tmp_path: Path) -> None:
    with ActiveMirror(db_path=tmp_path / "store.db") as mirror:
        session = mirror.create_session("Re-run me")
        session.send("Setting up", attachments=[Attachment.from_bytes("t", "text/csv", b"a\n1\n")])
        for count, (source, status) in enumerate(
            [("x = 6 * 7", "ok"), ("print(x)", "ok"), ("1 / 0", "error"), ("x + 1", "ok")],
            start=1,
        ):
            error = {"error": "ZeroDivisionError: division by zero"} if status == "error" else {}
            session.send(
                source,
                "system",
                {"kind": "cell", "execution_count": count, "status": status, **error},
            )
        session.save()
        nb = nbformat.reads(session.export("ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c for c in execute(nb, tmp_path).cells if c.cell_type == "code"]
    attached, define, show, fail, use = code
    assert attached.source.startswith("#") and attached.outputs == []  # a comment: nothing runs
    assert stdout(show) == "42\n"
    assert [o.output_type for o in fail.outputs] == ["error"] and fail.outputs[0].ename == (
        "ZeroDivisionError"
    )
    assert result(use) == "43"


def test_cells_autologged_in_a_kernel_come_back_as_a_notebook_that_reruns(
    tmp_path: Path, activemirror_home: Path
) -> None:
    sources = [
        "%load_ext activemirror_jupyter",
        "%mirror_session new Autologged study",
        "%mirror_session autolog on",
        "x = 6 * 7\nprint('x is', x)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()",
        "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['<b>bold?</b>', 'y']})",
        "1 / 0",
        "x + 1",
    ]
    recorded = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    recorded.cells[6].metadata["tags"] = ["raises-exception"]
    assert os.environ["ACTIVEMIRROR_HOME"] == str(activemirror_home)
    execute(recorded, tmp_path)
    with ActiveMirror() as mirror:  # the store the kernel wrote to
        (meta,) = mirror.list_sessions()
        text = mirror.load_session(meta.session_id).export("ipynb")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code] == sources[3:]
    assert [c.execution_count for c in code] == [4, 5, 6, 7, 8]
    printed, figure, frame, failed, last = code
    assert stdout(printed) == "x is 42\n"
    assert [o.output_type for o in figure.outputs] == ["display_data"]
    assert figure.outputs[0].data["image/png"]  # the inline figure, as base64 PNG
    html = frame.outputs[0].data["text/html"]
    assert "<table>" in html and "&lt;b&gt;bold?&lt;/b&gt;" in html and "class=" not in html
    assert failed.metadata.tags == ["raises-exception"] and failed.outputs[-1].ename == (
        "ZeroDivisionError"
    )
    assert result(last) == "43"
    # Run again, top to bottom: the log's code gives the same results.
    rerun = [c for c in execute(nb, tmp_path).cells if c.cell_type == "code"]
    assert stdout(rerun[0]) == "x is 42\n"
    assert "image/png" in rerun[1].outputs[0].data
    assert result(rerun[4]) == "43"
