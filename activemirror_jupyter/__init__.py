"""activemirror_jupyter — local-first memory for Jupyter.

Three tiers: sessions of messages in RAM, persistent storage (SQLite, a JSON folder,
PostgreSQL) and an encrypted vault. ``%load_ext activemirror_jupyter`` adds the magics.

Importing this package imports neither IPython, pandas nor ipywidgets: names are resolved
lazily (PEP 562), and the Jupyter layers are imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._version import __version__ as __version__

# public name -> module that defines it
_EXPORTS = {
    "ActiveMirror": "activemirror_jupyter.core.mirror",
    "Session": "activemirror_jupyter.core.session",
    "Message": "activemirror_jupyter.core.models",
    "SessionMetadata": "activemirror_jupyter.core.models",
    "Attachment": "activemirror_jupyter.core.models",
    "SearchHit": "activemirror_jupyter.core.models",
    "VerifyReport": "activemirror_jupyter.core.journal",
    "IntegrityProblem": "activemirror_jupyter.core.journal",
    "import_session": "activemirror_jupyter.core.transfer.imports",
    "verify_export": "activemirror_jupyter.core.transfer.imports",
    "export_all_data": "activemirror_jupyter.core.transfer.bundles",
    "import_all_data": "activemirror_jupyter.core.transfer.bundles",
    "delete_all_data": "activemirror_jupyter.core.transfer.bundles",
    "ImportReport": "activemirror_jupyter.core.transfer.importers",
    "VaultMemory": "activemirror_jupyter.core.vault",
    "VaultCategory": "activemirror_jupyter.core.vault",
    "VaultEntry": "activemirror_jupyter.core.vault",
    "LLMResponder": "activemirror_jupyter.core.responders",
    "Identity": "activemirror_jupyter.core.sync.identity",
    "SyncReport": "activemirror_jupyter.core.sync.exchange",
    "Changes": "activemirror_jupyter.core.storage.base",
    # the notebook layer: imported when used, and then without IPython or pandas
    "attachment_from": "activemirror_jupyter.capture.values",
    "provenance": "activemirror_jupyter.capture.provenance",
    "ActiveMirrorError": "activemirror_jupyter.core.errors",
    "InvalidIdError": "activemirror_jupyter.core.errors",
    "SessionNotFoundError": "activemirror_jupyter.core.errors",
    "MessageNotFoundError": "activemirror_jupyter.core.errors",
    "SessionSealedError": "activemirror_jupyter.core.errors",
    "StorageError": "activemirror_jupyter.core.errors",
    "InvalidImportError": "activemirror_jupyter.core.errors",
    "ResponderError": "activemirror_jupyter.core.errors",
    "VaultError": "activemirror_jupyter.core.errors",
    "VaultAuthError": "activemirror_jupyter.core.errors",
    "VaultIntegrityError": "activemirror_jupyter.core.errors",
    "VaultLockedError": "activemirror_jupyter.core.errors",
    "SyncError": "activemirror_jupyter.core.errors",
    "SyncWarning": "activemirror_jupyter.core.errors",
    "PairingCodeError": "activemirror_jupyter.core.errors",
}

__all__ = sorted(_EXPORTS) + ["load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'activemirror_jupyter' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext activemirror_jupyter``: register the magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Jupyter Server: the HTTP API behind the JupyterLab sidebar (imported only when called)."""
    from .server import MirrorServer

    return [{"module": "activemirror_jupyter.server", "app": MirrorServer}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """JupyterLab: where the built frontend lives (for ``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "activemirror-jupyter"}]
