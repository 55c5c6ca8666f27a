"""Persistent stores behind one protocol (:class:`~.base.Storage`), one module per backend."""

from __future__ import annotations

from importlib import import_module
from os import PathLike

from .base import Storage

# storage_type -> (module, class); modules are imported only when used
BACKENDS = {
    "sqlite": ("activemirror_jupyter.core.storage.sqlite", "SQLiteStorage"),
    "json": ("activemirror_jupyter.core.storage.jsonfiles", "JSONStorage"),
    "memory": ("activemirror_jupyter.core.storage.memory", "MemoryStorage"),
    "postgresql": ("activemirror_jupyter.core.storage.postgresql", "PostgreSQLStorage"),
}


def open_storage(
    storage_type: str,
    *,
    db_path: str | PathLike[str] | None = None,
    storage_path: str | PathLike[str] | None = None,
    dsn: str | None = None,
) -> Storage:
    """Open the store named by ``storage_type`` at its configured or default location."""
    if storage_type not in BACKENDS:
        raise ValueError(f"unknown storage_type {storage_type!r}: use one of {', '.join(BACKENDS)}")
    module, name = BACKENDS[storage_type]
    cls = getattr(import_module(module), name)
    if storage_type == "sqlite":
        from ..paths import default_db_path

        return cls(db_path if db_path is not None else default_db_path())
    if storage_type == "json":
        from ..paths import default_json_path

        return cls(storage_path if storage_path is not None else default_json_path())
    if storage_type == "postgresql":
        if not dsn:
            raise ValueError('storage_type="postgresql" needs a dsn="postgresql://…"')
        return cls(dsn)
    return cls()


__all__ = ["BACKENDS", "Storage", "open_storage"]
