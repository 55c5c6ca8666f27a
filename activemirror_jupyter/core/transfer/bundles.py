"""Bundles: every session of a store (and, if given, the vault's files still encrypted) in
one JSON document, restored exactly by :func:`import_all_data`; and deleting everything.

A bundle holds every session, sorted by id, in the export's shape (:mod:`.exports`)::

    {"format": "activemirror-bundle", "version": 1,
     "sessions": [<session export>, …], "vault": null | {"files": {name: base64}}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from ..limits import MAX_BUNDLE_BYTES
from ..mirror import ActiveMirror
from ..paths import default_vault_path
from ..vault.files import (
    delete_vault_files,
    parse_vault_files,
    read_vault_files,
    vault_file_names,
    vault_folder,
    write_vault_files,
)
from .exports import BUNDLE_FORMAT, FORMAT_VERSION, dumps, session_document
from .imports import (
    Progress,
    check_on_conflict,
    plan_import,
    write_import,
)
from .parsing import import_error, parse_session, read_input


def export_all_data(
    mirror: ActiveMirror, vault: Any = None, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Every session of ``mirror`` with its messages and, if ``vault`` is given, the vault's
    files still encrypted: one JSON-serialisable bundle for :func:`import_all_data`.

    ``progress`` (e.g. a ``tqdm`` bar) is advanced by one per session. The bundle is built
    in memory; :func:`write_bundle` writes the same text a session at a time."""
    return {
        "format": BUNDLE_FORMAT,
        "version": FORMAT_VERSION,
        "sessions": list(_session_documents(mirror, progress)),
        "vault": _vault_member(vault),
    }


def write_bundle(
    mirror: ActiveMirror, out: TextIO, vault: Any = None, *, progress: Progress | None = None
) -> int:
    """Write the text of ``dumps(export_all_data(mirror, vault))`` to ``out`` holding one
    session in memory at a time (a store of any size backs up in bounded memory); returns
    how many sessions it wrote."""
    out.write(f'{{\n  "format": {json.dumps(BUNDLE_FORMAT)},\n  "sessions": [')
    count = 0
    for document in _session_documents(mirror, progress):
        out.write(",\n    " if count else "\n    ")
        out.write(dumps(document).replace("\n", "\n    "))
        count += 1
    out.write("\n  ]" if count else "]")
    vault_text = dumps(_vault_member(vault)).replace("\n", "\n  ")
    out.write(f',\n  "vault": {vault_text},\n  "version": {FORMAT_VERSION}\n}}')
    return count


def _session_documents(mirror: ActiveMirror, progress: Progress | None) -> Iterator[dict]:
    for meta in sorted(mirror.list_sessions(), key=lambda s: s.session_id):
        messages = mirror.saved_messages(meta.session_id)
        yield session_document(meta, messages)
        if progress is not None:
            progress.update(1)


def _vault_member(vault: Any) -> dict[str, Any] | None:
    return None if vault is None else {"files": read_vault_files(vault_folder(vault))}


def import_all_data(
    bundle: Any,
    mirror: ActiveMirror,
    vault_path: str | os.PathLike[str] | None = None,
    *,
    on_conflict: str = "error",
    max_bytes: int = MAX_BUNDLE_BYTES,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Restore a bundle from :func:`export_all_data` (a dict, JSON text, bytes or a path)
    into ``mirror``, and its vault files into ``vault_path`` (default: the default vault
    folder). Everything is validated first; an existing session (``on_conflict="error"``)
    or an existing vault (unless ``"replace"``) is an :class:`InvalidImportError` and
    nothing is written. Returns counts: ``{"sessions", "messages", "vault_files"}``."""
    check_on_conflict(on_conflict)
    doc, source = read_input(bundle, max_bytes, "import_all_data")
    if not isinstance(doc, Mapping):
        raise import_error(source, f"a bundle must be a JSON object, not {type(doc).__name__}")
    if doc.get("format") != BUNDLE_FORMAT:
        raise import_error("format", f"is {doc.get('format')!r}, not {BUNDLE_FORMAT!r}")
    if doc.get("version") != FORMAT_VERSION:
        raise import_error(
            "version", f"is {doc.get('version')!r}; this version reads {FORMAT_VERSION}"
        )
    sessions = doc.get("sessions")
    if not isinstance(sessions, list):
        raise import_error("sessions", f"must be a list, not {type(sessions).__name__}")
    parsed = [parse_session(s, f"sessions[{i}]") for i, s in enumerate(sessions)]
    files = parse_vault_files(doc.get("vault"))
    target = None
    if files:
        target = Path(vault_path).expanduser() if vault_path is not None else default_vault_path()
        existing = vault_file_names(target)
        if existing and on_conflict != "replace":
            raise import_error(
                "vault",
                f"{target} already holds a vault ({len(existing)} files); restore into an "
                "empty folder, or pass on_conflict='replace' to overwrite it",
            )
    planned = plan_import(parsed, mirror, on_conflict)
    messages = write_import(planned, mirror, on_conflict, progress)
    if files and target is not None:
        write_vault_files(target, files)
    return {"sessions": len(planned), "messages": messages, "vault_files": len(files)}


def delete_all_data(mirror: ActiveMirror, vault: Any = None) -> dict[str, int]:
    """Delete every session of ``mirror`` and, if ``vault`` is given, every vault file (the
    vault is locked afterwards). Returns counts: ``{"sessions", "vault_files"}``."""
    deleted = 0
    for meta in mirror.list_sessions():
        deleted += bool(mirror.delete_session(meta.session_id))
    removed = 0
    if vault is not None:
        removed = delete_vault_files(vault_folder(vault))
        lock = getattr(vault, "lock", None)
        if callable(lock):
            lock()
    return {"sessions": deleted, "vault_files": removed}
