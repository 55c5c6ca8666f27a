"""``%mirror_session import-from SOURCE [PATH]``: another tool's history as tagged sessions,
one function registered on :data:`~.session_commands.SESSION`."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from ..core.transfer.importers import IMPORTERS, import_history
from .args import MagicsAPI, arg, frames, plural
from .session_commands import SESSION

#: Fewer messages than this are imported without a progress bar.
BAR_FROM = 1_000


@SESSION.command(
    "import-from",
    "Import another tool's history as sessions tagged with its name: ipython (this "
    "profile's history.sqlite: each session's cells, with the outputs IPython logged), llm "
    "(its logs.db: each conversation's prompts and responses) or jupyter-chat (a "
    "jupyterlab-chat .chat file). The file is only read; importing again adds only what is "
    "new. Shows the sessions it created or added to.",
    arg("source", metavar="SOURCE", help=f"one of {', '.join(IMPORTERS)}"),
    arg("path", nargs="?", metavar="PATH", help="the file (default: the tool's own)"),
)
def _import_from(m: MagicsAPI, args: argparse.Namespace) -> Any:
    path = args.path
    if path is None and args.source == "ipython":
        path = _current_history(m)
    with contextlib.ExitStack() as bars:

        def progress(total: int) -> Any:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc="import", unit="message", disable=total < BAR_FROM)
            return bars.enter_context(bar)

        report = import_history(m.mirror, args.source, path, progress=progress)
    skipped = f"; {plural(report.skipped, 'session')} skipped" if report.skipped else ""
    if not report.messages:
        print(f"Nothing new to import from {args.source}{skipped}.")
        return None
    print(
        f"Imported {plural(report.messages, 'message')} into "
        f"{plural(report.sessions, 'session')} tagged {args.source!r}{skipped}."
    )
    metas = [m.mirror.session_metadata(i) for i in report.session_ids]
    return frames().sessions_frame([meta for meta in metas if meta is not None])


def _current_history(m: MagicsAPI) -> str | None:
    """This shell's own history file (its profile's), when it keeps one on disk."""
    history = getattr(m.shell, "history_manager", None)
    hist_file = getattr(history, "hist_file", None)
    if hist_file is None or str(hist_file) == ":memory:" or not Path(hist_file).is_file():
        return None
    return str(hist_file)
