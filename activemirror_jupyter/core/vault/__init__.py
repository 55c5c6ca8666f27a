"""Tier 3, the vault: an encrypted key/value store.

- :mod:`.format` — the one byte layout of every file (versioned, documented).
- :mod:`.header` — the index file's header (password part, recovery part), built and checked.
- :mod:`.entries` — what an entry is, and the checks on names, values and metadata.
- :mod:`.memory` — :class:`VaultMemory`, the API.
- :mod:`.legacy` — reading ActiveMirrorOS vaults (``VaultMemory.import_legacy``).
- :mod:`.files` — a vault's files copied still encrypted, for bundles.
"""

from __future__ import annotations

from .entries import VaultCategory, VaultEntry
from .memory import VaultMemory

__all__ = ["VaultCategory", "VaultEntry", "VaultMemory"]
