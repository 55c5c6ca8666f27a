"""Autolog in a real kernel (nbclient): the inline backend's figures, results and printed
text are kept exactly as the notebook shows them, and the notebook shows exactly what it
shows without autolog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.capture.values import MIME_ORDER, encode

ANALYSIS = [
    "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nprint('plotted')",
    "fig, ax = plt.subplots(figsize=(3, 2))\nax.bar([1, 2], [3, 4])\nplt.show()\n'a result'",
    "from IPython.display import display, Markdown\n"
    "display(Markdown('**bold** <b>x</b>'))\n"
    "import sys\nprint('warned', file=sys.stderr)\n"
    "{'answer': 6 * 7}",
]


def execute(cells: list[str], workdir: Path) -> nbformat.NotebookNode:
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        book,
        timeout=120,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    return book


def shown(output: Any) -> tuple[str, str, bytes]:
    """What the notebook shows for one output: its type, the representation autolog keeps
    (the best of the contract's order) and its bytes."""
    if output.output_type == "stream":
        return f"stream:{output.name}", "text/plain", output.text.encode()
    data = output.data
    mime = next(m for m in MIME_ORDER if m in data)
    raw = encode(mime, data[mime])  # base64 PNG decoded, lists of lines joined
    assert raw is not None
    return output.output_type, mime, raw


def test_the_log_holds_what_the_notebook_shows(tmp_path: Path, activemirror_home: Path) -> None:
    setup = ["%load_ext activemirror_jupyter", '%mirror_session new "Kernel study"']
    book = execute([*setup, "%mirror_session autolog on", *ANALYSIS], tmp_path)
    analysis_cells = book.cells[3:]
    assert all(o.output_type != "error" for c in analysis_cells for o in c.outputs)

    with ActiveMirror() as mirror:
        (meta,) = mirror.list_sessions()
        messages = mirror.load_session(meta.session_id).get_messages()
        cells = [m for m in messages if m.metadata.get("kind") == "cell"]
        assert [m.content for m in cells] == ANALYSIS
        for message, cell in zip(cells, analysis_cells, strict=True):
            assert message.metadata["execution_count"] == cell.execution_count
            kept = []
            for entry in message.metadata["outputs"]:
                attachment = message.attachment(entry["attachment"])
                kind = entry["output_type"] + (f":{entry['stream']}" if "stream" in entry else "")
                kept.append((kind, attachment.mime_type, attachment.read()))
            assert kept == [shown(o) for o in cell.outputs], cell.source

    figures = [shown(o) for c in analysis_cells[:2] for o in c.outputs if "data" in o]
    assert [mime for _, mime, _ in figures] == ["image/png", "image/png", "text/plain"]
    assert all(
        raw.startswith(b"\x89PNG\r\n\x1a\n") for _, mime, raw in figures if mime != "text/plain"
    )


def test_autolog_changes_nothing_the_notebook_shows(tmp_path: Path) -> None:
    setup = ["%load_ext activemirror_jupyter", '%mirror_session new "Same either way"']
    logged = execute([*setup, "%mirror_session autolog on", *ANALYSIS], tmp_path)
    plain = execute([*setup, "%mirror_session autolog off", *ANALYSIS], tmp_path)

    def outputs(book: nbformat.NotebookNode) -> list[list[dict]]:
        found = []
        for cell in book.cells[3:]:
            found.append(
                [{k: v for k, v in o.items() if k != "execution_count"} for o in cell.outputs]
            )
        return found

    assert outputs(logged) == outputs(plain)
