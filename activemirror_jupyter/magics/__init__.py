"""IPython magics: ``%mirror_session``, ``%%mirror_send`` and ``%vault``.

``%load_ext activemirror_jupyter`` registers :class:`MirrorMagics`. The magics are thin:
they parse a line, call the core API and render the result through
:mod:`activemirror_jupyter.display`.

- :mod:`.args` — the small argument framework (a table of subcommands per magic).
- :mod:`.mirror_magics` — the class: options, state, cell hooks.
- :mod:`.session_commands` — ``%mirror_session …`` and ``%%mirror_send``.
- :mod:`.import_commands` — ``%mirror_session import-from`` (history from other tools).
- :mod:`.redact_command` — ``%mirror_session redact`` (a message removed for good).
- :mod:`.vault_commands` — ``%vault …``.
- :mod:`.sync_commands` — ``%vault identity …`` and ``%mirror_session sync``.
"""

from __future__ import annotations

from typing import Any

from .mirror_magics import MirrorMagics, redact

__all__ = ["MirrorMagics", "load_ipython_extension", "redact", "unload_ipython_extension"]


def load_ipython_extension(shell: Any) -> None:
    """Register :class:`MirrorMagics`; loading again keeps the one already there."""
    if shell.magics_manager.registry.get(MirrorMagics.__name__) is not None:
        return
    shell.register_magics(MirrorMagics(shell))


def unload_ipython_extension(shell: Any) -> None:
    """Remove the magics, release the store and lock the vault."""
    magics = shell.magics_manager.registry.pop(MirrorMagics.__name__, None)
    if magics is None:
        return
    magics.close()
    for kind, names in magics.magics.items():
        table = shell.magics_manager.magics[kind]
        for name in names:
            if table.get(name) == names[name]:
                del table[name]
