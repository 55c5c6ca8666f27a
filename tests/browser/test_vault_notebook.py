"""notebooks/03_vault.ipynb run the way a person runs it in JupyterLab: Run All stops at the
first cell that needs the vault, with the password box above saying what to do; typing a
password and running the cells below gets through the whole notebook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_vault.ipynb"
PASSWORD = "a new vault passphrase"

CELL_STATE = """() => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    return nb.widgets.map(cell => cell.model.type !== 'code' ? null : {
        count: cell.model.executionCount,
        // a UsageError (a user's mistake) is one line on stderr, not a traceback
        errors: cell.model.outputs.toJSON().filter(o => o.output_type === 'error'
                || (o.output_type === 'stream' && o.name === 'stderr'
                    && String(o.text).includes('UsageError')))
            .map(o => o.evalue || String(o.text)),
    });
}"""


def cells(lab):  # type: ignore[no-untyped-def]
    return lab.page.evaluate(CELL_STATE)


def test_a_person_runs_the_vault_notebook(lab):  # type: ignore[no-untyped-def]
    shutil.copy(NOTEBOOK, lab.server.notebook_dir / NOTEBOOK.name)
    lab.open_notebook(NOTEBOOK.name)
    lab.execute("notebook:run-all-cells")

    # The unlock cell shows the password box and what to do next; Run All stops at the
    # first cell that needs the vault, with one clear line, and runs nothing after it.
    panel = lab.page.locator(".am-vault").first
    expect(panel).to_contain_text("No vault at")
    expect(panel.locator(".am-status")).to_contain_text("then run the cells below")
    lab.page.wait_for_function(
        f"() => ({CELL_STATE})().some(c => c && c.errors.length)", timeout=120_000
    )
    state = cells(lab)
    stopped = next(i for i, c in enumerate(state) if c and c["errors"])
    assert "the vault is locked" in state[stopped]["errors"][0]
    assert all(c is None or c["count"] is None for c in state[stopped + 1 :])
    lab.screenshot("run-all-stops-at-the-vault")
    panel.scroll_into_view_if_needed()
    lab.screenshot("the-password-box-says-what-to-do")

    # The person types a password twice (a new vault), presses Enter...
    fields = panel.locator("input[type=password]")
    fields.nth(0).fill(PASSWORD)
    fields.nth(1).fill(PASSWORD)
    fields.nth(1).press("Enter")
    expect(panel.locator(".am-status")).to_contain_text("Vault created and unlocked.")
    expect(fields.nth(0)).to_have_value("")

    # ...and runs the cells below the unlock cell.
    unlock = next(i for i, c in enumerate(state) if c and c["count"] is not None and i > 1)
    lab.page.evaluate(
        "(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }",
        unlock + 1,
    )
    lab.execute("notebook:run-all-below")
    lab.page.wait_for_function(
        f"() => ({CELL_STATE})().every(c => c === null || c.count !== null)", timeout=120_000
    )
    state = cells(lab)
    failed = [i for i, c in enumerate(state) if c and c["errors"]]
    # Only the last cell fails, as the notebook means it to: it shows the locked vault's
    # one-line mistake.
    assert failed == [len(state) - 1], state
    assert "the vault is locked" in state[-1]["errors"][0]
    notebook = lab.page.locator(".jp-NotebookPanel").first
    expect(notebook).to_contain_text("core_insight_2024_01")
    expect(notebook).to_contain_text("Vault locked")
    expect(notebook).not_to_contain_text(PASSWORD)
    lab.screenshot("vault-notebook-done")
