"""Remotes as people see them: a folder as it is, a ``postgresql://`` DSN without its
password (never printed, logged or kept in what the store records of its syncs)."""

from __future__ import annotations

import re

DSN_SCHEMES = ("postgresql://", "postgres://")

_DSN_PASSWORD = re.compile(r"\A([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:)[^@/]*@")
_DSN_PASSWORD_PARAMETER = re.compile(r"(?i)((?:[?&]|\A|\s)password\s*=\s*)[^&\s]*")


def remote_text(remote: str | None) -> str:
    """A remote as shown to people: a folder as it is, a ``postgresql://`` DSN with its
    password (if it holds one) replaced by ``***``."""
    if remote is None:
        return "(none)"
    if "://" not in remote and "=" not in remote:
        return remote
    return _DSN_PASSWORD_PARAMETER.sub(r"\1***", _DSN_PASSWORD.sub(r"\1***@", remote))
