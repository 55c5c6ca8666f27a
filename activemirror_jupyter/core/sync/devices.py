"""A store given a new device id (it was copied as files): the messages it saved that a
sync has sent somewhere keep the old id — other devices hold them under it — and the
rest move to the new id, chained anew there (no one else has seen them)."""

from __future__ import annotations

import dataclasses

from ..ids import new_device_id
from ..models import Message
from ..storage.base import Storage
from .state import all_remotes


def give_new_device_id(store: Storage) -> str:
    old = store.device_id
    remotes = all_remotes(store)
    sent: dict[str, int] = {}
    for remote in remotes:
        for sid, entry in remote.sessions.items():
            sent[sid] = max(sent.get(sid, 0), int(entry.get("n", 0)))
    rewrites = []
    for sid, n in sent.items():
        meta = store.get_session(sid)
        if meta is None or n == 0:
            continue
        messages = store.get_messages(sid, 0, meta.message_count)
        keep = len(messages) if meta.sealed else n  # a seal keeps its chain as it is
        rewrites.append((meta, [_moved(m, old, i < keep) for i, m in enumerate(messages)]))
    device_id = new_device_id()
    store.set_device_id(device_id)
    for meta, messages in rewrites:
        if meta.sealed:
            store.delete_session(meta.session_id)
        store.save(meta, messages, replace=True)
    for remote in remotes:
        if remote.written:
            remote.applied[old] = len(remote.written)  # what it wrote there: all applied
        remote.written = []
        remote.version = None
        remote.save(store, sessions=False)
    return device_id


def _moved(message: Message, old: str, sent: bool) -> Message:
    if message.origin != old:
        return dataclasses.replace(message, hash=None)
    return dataclasses.replace(message, origin=old if sent else None, hash=None)
