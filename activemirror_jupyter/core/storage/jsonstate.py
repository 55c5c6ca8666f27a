"""The JSON folder's own small settings, in ``.activemirror-state.json``: its device id
(``{"deviceId": "<32 hex>"}``), made when the folder is first opened, and whatever sync
keeps about what it has sent and received. Written atomically; read under the folder's
lock. A folder this user cannot write gets a device id for this process only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..errors import InvalidIdError, StorageError
from ..fsutil import atomic_write
from ..ids import new_device_id, validate_device_id

STATE_FILE = ".activemirror-state.json"


class State:
    """The settings file of a JSON folder."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._data: dict[str, Any] | None = None

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise StorageError(f"{self.path} is damaged (not JSON)") from None
        if not isinstance(data, dict):
            raise StorageError(f"{self.path} is damaged (not a JSON object)")
        return data

    def set(self, key: str, value: Any) -> None:
        data = {**self.read(), key: value}
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)
        atomic_write(self.path, text.encode("utf-8"))
        self._data = data

    def device_id(self) -> str:
        """The folder's device id, made (and kept) on first use."""
        data = self.read()
        found = data.get("deviceId")
        if found is None:
            found = new_device_id()
            if not self.read_only:
                self.set("deviceId", found)
            return found
        try:
            return validate_device_id(found, "deviceId")
        except InvalidIdError as exc:
            raise StorageError(f"{self.path} is damaged: {exc}") from None


#: What the sync layer keeps (:meth:`Storage.write_state`): ``.activemirror-<key>.json``.
KEPT_PREFIX = ".activemirror-"


class KeptState:
    """``read_state``/``write_state`` of the JSON folder: one small file per key."""

    path: Path
    description: str
    _writing: Callable[[str], AbstractContextManager[None]]

    def read_state(self, key: str) -> str | None:
        try:
            return (self.path / f"{KEPT_PREFIX}{key}.json").read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StorageError(f"{self.description}: cannot read its {key}: {exc}") from None

    def write_state(self, key: str, value: str) -> None:
        with self._writing(f"keep {key}"):
            atomic_write(self.path / f"{KEPT_PREFIX}{key}.json", value.encode("utf-8"))
