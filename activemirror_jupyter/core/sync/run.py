"""Running a sync: which remote, with which identity, and what the store records of it
(its last sync, for the surfaces); and the quiet sync of ``sync_enabled`` mirrors, whose
failures are warnings."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from os import PathLike
from typing import Any

from ..errors import ActiveMirrorError, SyncError, SyncWarning, VaultError
from ..storage.base import Storage
from ..timeutil import to_iso, utcnow
from .exchange import SyncReport, sync_folder
from .folder import Folder
from .identity import Identity
from .remotes import DSN_SCHEMES, remote_text
from .state import record_last

__all__ = ["SyncReport", "check_sync_settings", "run_sync", "sync_quietly"]


def check_sync_settings(identity: Any) -> None:
    """``sync_enabled=True`` needs an identity with a remote."""
    if not isinstance(identity, Identity):
        raise ValueError(
            "sync_enabled=True needs an identity: ActiveMirror(identity=Identity.load(vault), "
            "sync_enabled=True)"
        )
    if identity.remote is None:
        raise ValueError(
            "sync_enabled=True needs an identity with a remote: identity.set_remote(folder)"
        )


def run_sync(
    store: Storage, identity: Any, remote: str | PathLike[str] | None, progress: Any = None
) -> SyncReport:
    target = _remote(identity, remote)
    try:
        report = _run(store, identity, target, progress)
    except ActiveMirrorError as exc:
        _record(store, target, None, str(exc))
        raise
    _record(store, target, report, None)
    return report


def _remote(identity: Any, remote: str | PathLike[str] | None) -> str:
    if remote is None:
        if not isinstance(identity, Identity) or identity.remote is None:
            raise SyncError(
                "sync() was given no remote and the mirror has no identity with one: "
                "sync(folder), or ActiveMirror(identity=…) with identity.set_remote(folder)"
            )
        return identity.remote
    if not isinstance(remote, (str, PathLike)):
        raise TypeError(
            f"remote must be a folder or a postgresql:// DSN, not {type(remote).__name__}"
        )
    return os.fspath(remote)


def _run(store: Storage, identity: Any, remote: str, progress: Any) -> SyncReport:
    if remote.startswith(DSN_SCHEMES):
        return _run_hub(store, remote, progress)
    if not isinstance(identity, Identity):
        raise SyncError(
            "syncing through a folder needs an identity (its key encrypts the folder): "
            "ActiveMirror(..., identity=Identity.load(vault)), after Identity.create(vault, "
            "name) on your first device or Identity.join(vault, code) on the others"
        )
    try:
        folder = Folder(remote, identity)  # reads the key from the vault
    except VaultError as exc:
        raise SyncError(
            f"the vault holding your identity cannot give its key ({exc}): unlock it, then "
            "sync again"
        ) from None
    with one_sync_at_a_time(store):
        return sync_folder(store, folder, progress)


#: How long a sync waits for another sync of the same store to end.
SYNC_LOCK_TIMEOUT_S = 120.0


@contextlib.contextmanager
def one_sync_at_a_time(store: Storage) -> Iterator[None]:
    """Two processes syncing one store take turns (each would otherwise record only its
    own part of what they wrote). The lock is a file in this machine's temporary folder,
    named after the store: never in the sync folder, which a sync service copies."""
    from filelock import FileLock  # (and asyncio): only when a sync runs
    from filelock import Timeout as LockTimeout

    name = hashlib.sha256(store.description.encode()).hexdigest()[:24]
    user = os.getuid() if hasattr(os, "getuid") else 0  # /tmp's files are their user's
    lock = FileLock(os.path.join(tempfile.gettempdir(), f"activemirror-sync-{user}-{name}.lock"))
    try:
        lock.acquire(timeout=SYNC_LOCK_TIMEOUT_S)
    except LockTimeout:
        raise SyncError(
            f"another sync of {store.description} has been running for more than "
            f"{SYNC_LOCK_TIMEOUT_S:.0f} s; nothing was synced: try again when it has ended"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _run_hub(store: Storage, dsn: str, progress: Any) -> SyncReport:
    """Sync with the team store at ``dsn`` (no identity: its row security guards it)."""
    from ..storage import open_storage
    from .hub import sync_hub

    if _is_team_store(store):
        raise SyncError(f"{store.description} is a team store itself: it is the hub")
    try:
        hub = open_storage("postgresql", dsn=dsn)
    except (ActiveMirrorError, ImportError) as exc:
        raise SyncError(f"cannot reach the team store {remote_text(dsn)}: {exc}") from None
    try:
        with one_sync_at_a_time(store):
            return sync_hub(store, hub, dsn, progress)
    finally:
        hub.close()


def _is_team_store(store: Storage) -> bool:
    return type(store).__name__ == "PostgreSQLStorage"


def _record(store: Storage, remote: str, report: SyncReport | None, error: str | None) -> None:
    last = {
        "at": to_iso(utcnow()),
        "remote": remote_text(remote),
        "pushed": report.pushed if report else 0,
        "pulled": report.pulled if report else 0,
        "error": error,
    }
    try:
        record_last(store, last)
    except ActiveMirrorError:
        pass  # a store that cannot keep it (read-only): the sync's own outcome stands


def sync_quietly(store: Storage, identity: Any) -> SyncReport | None:
    try:
        return run_sync(store, identity, None)
    except ActiveMirrorError as exc:
        warnings.warn(
            f"sync failed ({exc}); what was saved stays saved, and the next save or sync() "
            "catches up",
            SyncWarning,
            stacklevel=3,
        )
        return None
