"""The magics class: ``%mirror_session``, ``%%mirror_send`` and ``%vault`` over one store and
one vault, configured with traitlets (``%config MirrorMagics.x = …`` or
``c.MirrorMagics.x`` in ``ipython_config.py``).

The class holds the state (the store, the current session, the vault, the responder) and
the public methods subcommands use; the subcommands themselves live in
:mod:`.session_commands` and :mod:`.vault_commands`, each one registered function.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import IPython
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, Int, TraitError, Unicode, observe, validate

from .. import assistant
from ..capture.autolog import AutologOptions, CellCapture, redact
from ..capture.provenance import notebook_path, provenance
from ..core.errors import ResponderError
from ..core.mirror import ActiveMirror
from ..core.session import Session
from ..settings import StoreSettings, expand_path
from . import (  # noqa: F401  (they register their subcommands)
    import_commands,
    record_commands,
    redact_command,
    sync_commands,
)
from .args import one_line, plural, split_line, user_errors
from .session_commands import SEND, SESSION, send_cell
from .vault_commands import VAULT, returns_secret

__all__ = ["MirrorMagics", "redact"]


def warn(text: str) -> None:
    """One warning line under the cell (autolog never raises into a cell)."""
    print(" ".join(text.split()), file=sys.stderr)


@magics_class
class MirrorMagics(Magics, StoreSettings):
    """``%mirror_session``, ``%%mirror_send`` and ``%vault`` over one store and one vault."""

    vault_path = Unicode(
        None, allow_none=True, help="Vault folder (default $ACTIVEMIRROR_HOME/vault)."
    ).tag(config=True)
    autosave = Bool(True, help="Write every message to disk as it is sent.").tag(config=True)
    page_size = Int(20, help="Rows per page of %mirror_session messages and list.").tag(config=True)
    autolog = Bool(False, help="Record every executed cell in the current session.").tag(
        config=True
    )
    autolog_outputs = Bool(
        True, help="Autolog keeps each cell's outputs (result, displays, figures, printed text)."
    ).tag(config=True)
    autolog_skip_errors = Bool(False, help="Autolog leaves out cells that fail.").tag(config=True)
    autolog_skip_magics = Bool(
        False, help="Autolog leaves out cells that are only magics or shell commands."
    ).tag(config=True)
    default_model = Unicode(
        None, allow_none=True, help="llm model that answers user messages (none: no replies)."
    ).tag(config=True)
    default_key_from_vault = Unicode(
        None, allow_none=True, help="Vault entry with the default model's API key."
    ).tag(config=True)

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        # State first: loading the configuration below already notifies the observers.
        self._mirror: ActiveMirror | None = None
        self.session: Session | None = None
        self._sessions: dict[str, Session] = {}  # opened here; keeps unsaved messages alive
        self._vault: Any = None  # VaultMemory, made on first use
        #: The source of the cell being run (None between cells).
        self.running_cell: str | None = None
        # IPython 9 counts a cell before running it, IPython 8 after: what to subtract from
        # shell.execution_count inside a cell to get its In [n] (checked after each cell).
        self._count_offset = 1 if IPython.version_info[0] >= 9 else 0
        self._count_at_start = 0
        self._depth = 0  # cells running (a cell may run cells); autolog follows the outermost
        self._capture: CellCapture | None = None  # the running cell's, while autolog is on
        #: Answers user messages; kept across store changes (``%mirror_session responder``).
        self.responder: Any = None
        # Magics.__init__ registers us in shell.configurables (so %config works) and takes
        # our configuration from the shell's.
        super().__init__(shell=shell, **kwargs)
        type(self).mirror_session.__doc__ = SESSION.doc()
        type(self).mirror_send.__doc__ = SEND.doc()
        type(self).vault.__doc__ = VAULT.doc()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)

    # -- configuration ----------------------------------------------------------------------

    @validate("page_size")
    def _check_page_size(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"page_size must be at least 1, not {proposal['value']}")
        return proposal["value"]

    @observe(*StoreSettings.STORE_TRAITS)
    def _store_changed(self, change: Any) -> None:
        self._close_store()

    @observe("autosave")
    def _autosave_changed(self, change: Any) -> None:
        if self._mirror is not None:
            self._mirror.autosave = bool(change["new"])
        if change["new"]:
            for session in self._sessions.values():
                session.save()

    @observe("default_model", "default_key_from_vault")
    def _default_model_changed(self, change: Any) -> None:
        """A model that cannot be used is reported in one line, not raised: configuration is
        read while the extension loads, and a typo there should not stop it loading."""
        responder = None
        if self.default_model:
            try:
                responder = self.make_responder(
                    self.default_model, key_from_vault=self.default_key_from_vault or None
                )
            except ResponderError as exc:
                print(f"MirrorMagics.default_model is not used: {exc}")
        self.set_responder(responder)

    @observe("vault_path")
    def _vault_path_changed(self, change: Any) -> None:
        self.lock_vault()
        self._vault = None

    # -- the store and its sessions ---------------------------------------------------------

    @property
    def mirror(self) -> ActiveMirror:
        """The store the magics use, opened on first use with the current options."""
        if self._mirror is None:
            self._mirror = self.open_mirror(autosave=self.autosave, responder=self.responder)
        return self._mirror

    def _close_store(self) -> None:
        unsaved = sum(s.unsaved_count for s in self._sessions.values())
        if unsaved:
            print(f"Note: {unsaved} unsaved message(s) were dropped with the old store.")
        self._sessions.clear()
        self.session = None
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    def close(self) -> None:
        """Release the store and lock the vault (``unload_ipython_extension``)."""
        for event, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass
        if self in self.shell.configurables:
            self.shell.configurables.remove(self)
        if self._capture is not None:  # unloaded inside a cell
            self._capture.stop()
            self._capture = None
        self.lock_vault()
        self._vault = None
        self._close_store()

    def set_current(self, session: Session) -> None:
        """Make ``session`` the one ``%%mirror_send``, ``messages`` and autolog use."""
        self._sessions[session.id] = session
        self.session = session

    def open_session(self, session_id: str) -> Session:
        """The session ``session_id``: the one opened in this kernel, or loaded from the store."""
        session = self._sessions.get(session_id)
        if session is None:
            session = self.mirror.load_session(session_id)
            self._sessions[session_id] = session
        return session

    def forget_session(self, session_id: str) -> bool:
        """Drop a (deleted) session from this kernel; True if it was the current one."""
        self._sessions.pop(session_id, None)
        if self.session is not None and self.session.id == session_id:
            self.session = None
            return True
        return False

    def current(self) -> Session:
        if self.session is None:
            raise UsageError(
                "no current session: start one with %mirror_session new TITLE "
                "or open one with %mirror_session load ID"
            )
        return self.session

    def current_or_new(self) -> Session:
        """The current session, or a new one titled after the notebook and today's date."""
        if self.session is None:
            session = self.mirror.create_session(
                f"{self.notebook_name()} {date.today().isoformat()}"
            )
            self.set_current(session)
            print(f"Started session {session.title!r} ({session.id}).")
        return self.session  # type: ignore[return-value]

    def notebook_name(self) -> str:
        """The running notebook's file name without extension, if the kernel knows it."""
        path = notebook_path()
        return (Path(path).stem or "Notebook") if path else "Notebook"

    def record_provenance(self, session: Session, *, replace: bool = False) -> bool:
        """Store :func:`~..capture.provenance` in ``session.metadata["provenance"]`` (unless
        it has one and not ``replace``); True if stored."""
        if not replace and "provenance" in session.metadata:
            return False
        session.metadata = {**session.metadata, "provenance": provenance()}
        return True

    @property
    def autolog_options(self) -> AutologOptions:
        return AutologOptions(
            outputs=self.autolog_outputs,
            skip_errors=self.autolog_skip_errors,
            skip_magics=self.autolog_skip_magics,
        )

    def set_autolog(self, options: AutologOptions | None) -> None:
        """Turn autolog on with ``options``, or off (None)."""
        if options is not None:
            self.autolog_outputs = options.outputs
            self.autolog_skip_errors = options.skip_errors
            self.autolog_skip_magics = options.skip_magics
        self.autolog = options is not None

    @staticmethod
    def describe(session: Session) -> str:
        """``'Title' (session_…): 3 messages, 1 unsaved, tags a, b, sealed``."""
        saved = "" if not session.unsaved_count else f", {session.unsaved_count} unsaved"
        tags = f", tags {', '.join(session.tags)}" if session.tags else ""
        sealed = ", sealed" if session.sealed else ""
        return (
            f"{session.title!r} ({session.id}): "
            f"{plural(session.message_count, 'message')}{saved}{tags}{sealed}"
        )

    # -- the responder ----------------------------------------------------------------------

    def make_responder(self, model: str, **options: Any) -> Any:
        """An LLMResponder whose API key, if any, comes from this kernel's vault."""
        return assistant.make_responder(model, vault=lambda: self.vault_memory, **options)

    def set_responder(self, responder: Any) -> None:
        """Use ``responder`` (None: none) for the store, now and after a store change."""
        self.responder = responder
        if self._mirror is not None:
            self._mirror.responder = responder

    # -- the vault --------------------------------------------------------------------------

    @property
    def vault_memory(self) -> Any:
        """The VaultMemory of ``vault_path`` (locked until unlocked)."""
        if self._vault is None:
            from ..core.vault import VaultMemory

            self._vault = VaultMemory(vault_path=expand_path(self.vault_path))
        return self._vault

    def unlocked_vault(self) -> Any:
        vault = self.vault_memory
        if vault.is_locked:
            raise UsageError(
                "the vault is locked: type its password in the box %vault unlock shows (or "
                "run %vault unlock --env VAR), then run this cell again"
            )
        return vault

    def lock_vault(self) -> None:
        if self._vault is not None:
            self._vault.lock()

    # -- the magics -------------------------------------------------------------------------

    @line_magic
    @user_errors
    def mirror_session(self, line: str = "") -> Any:
        argv = split_line(line)
        if not argv:
            if self.session is None:
                print(
                    "No current session. Start one with %mirror_session new TITLE "
                    "(see %mirror_session --help)."
                )
                return None
            # The Session itself: its repr says which it is, and `s = %mirror_session`
            # hands it to the Python API.
            return self.session
        args = SESSION.parse(argv)
        return args.run(self, args)

    @cell_magic
    @user_errors
    def mirror_send(self, line: str, cell: str) -> Any:
        return send_cell(self, line, cell)

    @line_magic
    @user_errors
    def vault(self, line: str = "") -> Any:
        args = VAULT.parse(split_line(line) or ["status"])
        args.shown = returns_secret(args.command) and self.result_shown()
        return args.run(self, args)

    # -- cell hooks -------------------------------------------------------------------------

    def cell_number(self) -> int:
        """The running cell's execution count (its ``In [n]``)."""
        return self.shell.execution_count - self._count_offset

    def result_shown(self) -> bool:
        """Whether a value returned by the running magic would be displayed: the call is a
        bare expression of the running cell (``%vault get KEY``) rather than an assignment
        (``x = %vault get KEY``). Unknown source (called from code) counts as not shown;
        source that cannot be parsed counts as shown."""
        from .vault_commands import is_displayed

        if self.running_cell is None:
            return False
        return is_displayed(self.shell.transform_cell, self.running_cell)

    def _pre_run_cell(self, info: Any) -> None:
        self.running_cell = getattr(info, "raw_cell", None)
        self._count_at_start = self.shell.execution_count
        self._depth += 1
        if not self.autolog or self._depth > 1 or self._capture is not None:
            return
        try:
            limit = self.mirror.max_attachment_bytes
            self._capture = CellCapture(self.shell, self.autolog_options, limit)
        except Exception as exc:  # a capture problem never stops the cell
            warn(f"autolog: this cell's outputs are not recorded: {one_line(exc)}")

    def _post_run_cell(self, result: Any) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth:
            return  # a cell run by a cell: its outputs belong to the outer one
        self.running_cell = None
        if result.info is not None and result.info.store_history and result.execution_count:
            self._count_offset = self._count_at_start - result.execution_count
        capture, self._capture = self._capture, None
        if capture is None:
            return  # autolog was off when the cell started (or turned on by it)
        if not self.autolog:
            capture.stop()
            return
        self._log_cell(capture, result)

    def _log_cell(self, capture: CellCapture, result: Any) -> None:
        """Send the finished cell to the current session; any problem is one warning line."""
        try:
            count = result.execution_count
            if not isinstance(count, int):
                count = self.cell_number()
            record = capture.finish(result, count, notebook_path())
            if record.content is not None:
                session = self.current_or_new()
                self.record_provenance(session)  # the first cell autologged in a session
                session.send(
                    record.content,
                    role="system",
                    metadata=record.metadata,
                    attachments=record.attachments,
                )
        except Exception as exc:
            capture.stop()
            warn(f"autolog: this cell was not recorded: {one_line(exc)}")
            return
        if record.problems:
            warn(f"autolog: some of this cell's output was not recorded: {record.problems[0]}")
