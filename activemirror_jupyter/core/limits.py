"""The limits on what the record keeps, in one place.

Each is checked where data comes in — ``send``, ``save``, an import, the vault — so that
whatever one path accepts, every other path (export, backup, restore, ``verify`` of a
file) accepts too.
"""

from __future__ import annotations

from typing import Any

#: Deepest nesting of lists and objects in metadata (and vault values): ``{"a": [1]}`` is 2.
MAX_JSON_DEPTH = 100
#: Largest attachment a store takes by default (``ActiveMirror(max_attachment_bytes=…)``).
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 2**20
#: Largest import accepted by ``import_session``, checked before parsing (bytes).
MAX_IMPORT_BYTES = 100 * 1024 * 1024
#: Largest bundle accepted by ``import_all_data`` or ``verify_export`` (bytes).
MAX_BUNDLE_BYTES = 1024 * 1024 * 1024


def check_json_depth(value: Any, what: str) -> None:
    """Raise ValueError if ``value`` nests lists and objects more than
    :data:`MAX_JSON_DEPTH` deep (a value that contains itself counts as too deep). Walks
    without recursion, so no depth makes it fail otherwise."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        if level > MAX_JSON_DEPTH:
            raise ValueError(
                f"{what} is nested more than {MAX_JSON_DEPTH} levels deep (or contains itself)"
            )
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
