"""A vault's files copied as they are, still encrypted: what bundles carry (see
:mod:`..bundles`). Nothing here decrypts anything or needs the password.

Copies are made holding the vault's own writer lock (:data:`.format.LOCK_FILE`), so files
are copied between a writer's steps, never in the middle of one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..errors import InvalidImportError
from ..fsutil import PRIVATE, TMP_PREFIX, atomic_write
from .format import INDEX_FILE, LOCK_FILE, is_vault_file


def vault_folder(vault: Any) -> Path:
    """The folder of ``vault``: a :class:`VaultMemory` (locked or not) or a path."""
    folder = getattr(vault, "vault_path", None)
    if folder is not None:
        return Path(folder)
    if isinstance(vault, (str, os.PathLike)):
        return Path(vault).expanduser()
    raise TypeError(f"vault must be a VaultMemory, not {type(vault).__name__}")


def vault_file_names(folder: Path) -> list[str]:
    """The vault's own files in ``folder`` (index and entries), sorted."""
    try:
        return sorted(n for n in os.listdir(folder) if is_vault_file(n))
    except (FileNotFoundError, NotADirectoryError):
        return []


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with FileLock(str(folder / LOCK_FILE)):
        yield


def read_vault_files(folder: Path) -> dict[str, str]:
    """Every vault file of ``folder`` as base64 text, by name ({} if there is no vault)."""
    if not folder.is_dir():
        return {}
    with _locked(folder):
        return {
            name: base64.b64encode((folder / name).read_bytes()).decode("ascii")
            for name in vault_file_names(folder)
        }


def parse_vault_files(vault: Any) -> dict[str, bytes]:
    """A bundle's ``vault`` member (``null`` or ``{"files": {name: base64}}``) as bytes by
    name; anything else is an :class:`InvalidImportError` naming the field."""
    if vault is None:
        return {}
    if not isinstance(vault, Mapping) or not isinstance(vault.get("files"), Mapping):
        raise InvalidImportError("vault: must be null or an object with a 'files' object")
    files: dict[str, bytes] = {}
    for name, text in vault["files"].items():
        where = f"vault.files[{name!r}]"
        if not isinstance(name, str) or not is_vault_file(name):
            raise InvalidImportError(f"{where}: is not the name of a vault file")
        if not isinstance(text, str):
            raise InvalidImportError(f"{where}: must be base64 text, not {type(text).__name__}")
        try:
            files[name] = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise InvalidImportError(f"{where}: is not valid base64") from None
    if files and INDEX_FILE not in files:
        raise InvalidImportError(f"vault.files: has entry files but no {INDEX_FILE}")
    return files


def write_vault_files(folder: Path, files: dict[str, bytes]) -> None:
    """Make ``folder`` hold exactly ``files`` (entries first, then the index that names
    them, as the vault itself writes)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(folder):
        stale = set(vault_file_names(folder)) - set(files)
        for name in sorted(files, key=lambda n: n == INDEX_FILE):
            atomic_write(folder / name, files[name], mode=PRIVATE)
        for name in sorted(stale):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()


def delete_vault_files(folder: Path) -> int:
    """Remove the vault in ``folder`` (and the folder, if nothing else is in it); returns
    how many vault files there were."""
    if not folder.is_dir():
        return 0
    with _locked(folder):
        names = vault_file_names(folder)
        # The index first: without it no entry file can be read, even if we stop halfway.
        for name in sorted(names, key=lambda n: n != INDEX_FILE):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
        for leftover in folder.glob(TMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
    with contextlib.suppress(OSError):
        (folder / LOCK_FILE).unlink()
        folder.rmdir()  # only if nothing else is in it
    return len(names)
