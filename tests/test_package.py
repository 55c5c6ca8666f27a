"""The package's surface: the contract's names, and an import that stays light."""

from __future__ import annotations

import subprocess
import sys

import activemirror_jupyter

CONTRACT_NAMES = [
    "ActiveMirror",
    "Session",
    "Message",
    "SessionMetadata",
    "VaultMemory",
    "VaultCategory",
    "VaultEntry",
    "import_session",
    "export_all_data",
    "import_all_data",
    "delete_all_data",
    "ActiveMirrorError",
    "SessionNotFoundError",
    "StorageError",
    "InvalidImportError",
    "ResponderError",
    "VaultError",
    "VaultAuthError",
    "VaultIntegrityError",
    "VaultLockedError",
    "Identity",
    "SyncError",
    "SyncWarning",
]


def test_contract_names_are_importable():
    for name in CONTRACT_NAMES:
        assert getattr(activemirror_jupyter, name) is not None, name
    errors = [getattr(activemirror_jupyter, n) for n in CONTRACT_NAMES if n.endswith("Error")]
    assert all(issubclass(e, activemirror_jupyter.ActiveMirrorError) for e in errors)
    for name in ("VaultAuthError", "VaultIntegrityError", "VaultLockedError"):
        assert issubclass(getattr(activemirror_jupyter, name), activemirror_jupyter.VaultError)
    assert issubclass(activemirror_jupyter.SyncWarning, UserWarning)


def test_import_does_not_pull_in_the_jupyter_layers():
    code = (
        "import sys, activemirror_jupyter as am\n"
        "m = am.ActiveMirror('memory'); s = m.create_session('x'); s.send('y')\n"
        "heavy = [k for k in sys.modules if k.split('.')[0] in ('IPython', 'pandas', 'ipywidgets')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute():
    try:
        activemirror_jupyter.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
