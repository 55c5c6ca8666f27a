"""A real IPython shell for tests: cells run the way a notebook runs them (history kept,
``pre_run_cell``/``post_run_cell`` fired), with what the user would see captured.

The ``ipython`` and ``shell`` fixtures are imported by the test modules that drive the magics
(``from ipython_shell import ipython, shell``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from activemirror_jupyter.magics import MirrorMagics, load_ipython_extension
from activemirror_jupyter.magics import unload_ipython_extension as unload

PASSWORD = "correct horse battery staple 7"
SECRET = "sk-live-4242-very-secret-token"


@pytest.fixture(scope="session")
def ipython(tmp_path_factory: pytest.TempPathFactory) -> InteractiveShell:
    """One real shell for the run (IPython keeps one per process), history in memory, its
    own IPython folder (read once, when the shell starts; the variable is restored then)."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipythondir")))
        return InteractiveShell.instance(config=config)


@dataclass
class Ran:
    result: Any
    out: str
    err: str
    success: bool
    count: int | None


class Shell:
    """Runs cells the way a notebook does and captures what the user would see."""

    def __init__(self, ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
        self.ip = ip
        self._capsys = capsys

    def run(self, source: str) -> Ran:
        self._capsys.readouterr()
        result = self.ip.run_cell(source, store_history=True)
        out, err = self._capsys.readouterr()
        return Ran(result.result, out, err, result.success, result.execution_count)

    def error(self, source: str) -> str:
        """Run a cell that must fail with one clear line; return that line."""
        ran = self.run(source)
        assert not ran.success, ran.out
        lines = [line for line in ran.err.splitlines() if line.strip()]
        assert len(lines) == 1, ran.err
        assert "Traceback" not in ran.err + ran.out
        assert lines[0].startswith("UsageError: ")
        return lines[0]

    @property
    def magics(self) -> MirrorMagics:
        return self.ip.magics_manager.registry["MirrorMagics"]

    @property
    def ns(self) -> dict[str, Any]:
        return self.ip.user_ns

    def history_text(self) -> str:
        hm = self.ip.history_manager
        stored = [repr(row) for row in hm.get_range(raw=True, output=True)]
        return "\n".join([*hm.input_hist_raw, *hm.input_hist_parsed, *stored])


@pytest.fixture
def shell(
    ipython: InteractiveShell,
    activemirror_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Shell]:
    monkeypatch.setenv("AM_VAULT_PASSWORD", PASSWORD)
    monkeypatch.setenv("AM_SECRET", SECRET)
    reset(ipython)
    # reset() runs full garbage collections, which walk everything alive: what lives now
    # (the shell, modules imported since the last freeze) stays, so take it out of their way
    gc.collect()
    gc.freeze()
    load_ipython_extension(ipython)
    yield Shell(ipython, capsys)
    unload(ipython)
    ipython.config.pop("MirrorMagics", None)
    reset(ipython)


def reset(ipython: InteractiveShell) -> None:
    """A new session. IPython 9's ``reset`` keeps the text of earlier outputs
    (``output_hist_reprs``), which the history then shows beside this test's cells of the
    same numbers: a secret an earlier test displayed at In [6] seemed to be this one's."""
    ipython.reset(new_session=True)
    getattr(ipython.history_manager, "output_hist_reprs", {}).clear()
