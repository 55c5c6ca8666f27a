"""The exceptions of activemirror_jupyter: one base class, one class per thing that can go wrong.

Every message names what was involved (the id, the file, the store) so a user can act on it.
"""

from __future__ import annotations

# What a sealed session still allows: what SessionSealedError says unless told more.
_UNCHANGEABLE = "it can be read, exported and deleted, not changed"


class ActiveMirrorError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidIdError(ActiveMirrorError, ValueError):
    """An id from outside (API, magics, imports, HTTP) is not a safe identifier."""


class SessionNotFoundError(ActiveMirrorError, LookupError):
    """No session with this id exists in the store."""

    def __init__(self, session_id: str, store: str, *, detail: str | None = None) -> None:
        shown = f"Session not found: {session_id!r} in {store}"
        super().__init__(f"{shown}: {detail}" if detail else shown)
        self.session_id = session_id
        self.store = store


class MessageNotFoundError(ActiveMirrorError, KeyError, ValueError):
    """No saved message with this id is in the session (a bad argument, so also a
    ``ValueError``; a failed look-up, so also a ``KeyError``)."""

    def __init__(self, message_id: str, session_id: str, store: str) -> None:
        super().__init__(f"Message not found: {message_id!r} in session {session_id!r} of {store}")
        self.message_id = message_id
        self.session_id = session_id
        self.store = store

    def __str__(self) -> str:  # a KeyError would show its text quoted
        return str(self.args[0])


class StorageError(ActiveMirrorError):
    """The store could not be read or written (bad file, full disk, busy database, lost server)."""


class InvalidImportError(ActiveMirrorError, ValueError):
    """Data given to an import is malformed; nothing was written."""


class SessionSealedError(ActiveMirrorError):
    """The session is sealed: it can be read, exported and deleted, never changed.

    ``detail`` says what that means for what was tried (default: it cannot be changed).
    """

    def __init__(
        self,
        session_id: str,
        title: str | None = None,
        *,
        store: str | None = None,
        detail: str | None = None,
    ) -> None:
        named = f"session {session_id!r}" if title is None else f"session {title!r} ({session_id})"
        where = f" in {store}" if store else ""
        super().__init__(f"{named}{where} is sealed: {detail or _UNCHANGEABLE}")
        self.session_id = session_id
        self.title = title
        self.store = store


class ResponderError(ActiveMirrorError):
    """The configured responder failed to produce a reply; the user's message is kept."""


class VaultError(ActiveMirrorError):
    """Base class of the vault's errors."""


class VaultAuthError(VaultError):
    """Wrong password or recovery key; nothing on disk changed."""


class VaultIntegrityError(VaultError):
    """A vault file is damaged, truncated, tampered with or swapped."""


class VaultLockedError(VaultError):
    """The vault is locked: unlock it before use."""


class SyncError(ActiveMirrorError):
    """A sync failed (remote missing or unreachable, a file changed by someone without the
    key, a folder of another identity, a copied store); the message says what to do."""


class SyncWarning(UserWarning):
    """A sync run on its own (on opening a mirror, after a save) failed: the save stands,
    nothing is lost, and the next save or ``sync()`` catches up."""


class PairingCodeError(ActiveMirrorError, ValueError):
    """A pairing code is mistyped, incomplete or not a pairing code; nothing was stored.
    The message never repeats the code (it holds the sync key)."""
