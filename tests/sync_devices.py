"""Devices for sync tests: real stores (SQLite files, JSON folders) sharing one identity,
and the checks of the contract's guarantees over them."""

from __future__ import annotations

from pathlib import Path

from activemirror_jupyter import ActiveMirror, Identity, VaultMemory, verify_export

FAST = 1_000  # PBKDF2 iterations for throw-away test vaults
PASSWORD = "correct horse"


def identities(root: Path, count: int) -> list[Identity]:
    """One identity on ``count`` vaults: made on the first, joined by the others."""
    first = Identity.create(VaultMemory(PASSWORD, root / "vault-0", kdf_iterations=FAST), "Ada")
    code = first.pairing_code()
    joined = [
        Identity.join(VaultMemory(PASSWORD, root / f"vault-{i}", kdf_iterations=FAST), code)
        for i in range(1, count)
    ]
    return [first, *joined]


def device(root: Path, kind: str, name: str, identity: Identity) -> ActiveMirror:
    if kind == "sqlite":
        return ActiveMirror("sqlite", db_path=root / f"{name}.db", identity=identity, autosave=True)
    return ActiveMirror("json", storage_path=root / name, identity=identity, autosave=True)


def devices(root: Path, kinds: list[str]) -> list[ActiveMirror]:
    ids = identities(root, len(kinds))
    return [device(root, k, f"device-{i}", ids[i]) for i, k in enumerate(kinds)]


def state(mirror: ActiveMirror) -> dict:
    """What a user sees of a store: sessions, their fields, messages in order, heads."""
    found = {}
    for meta in mirror.list_sessions():
        messages = mirror.saved_messages(meta.session_id)
        found[meta.session_id] = {
            "title": meta.title,
            "tags": meta.tags,
            "parent": meta.parent_session_id,
            "status": meta.status,
            "head": meta.head,
            "messages": [
                (
                    m.id,
                    m.role,
                    m.content,
                    m.timestamp,
                    m.metadata,
                    m.origin,
                    m.hash,
                    tuple((a.name, a.read()) for a in m.attachments),
                )
                for m in messages
            ],
        }
    return found


def check_one_record(mirrors: list[ActiveMirror]) -> dict:
    """The guarantees once every device has synced twice: one state, verify ok, exports
    pass verify_export, nothing twice."""
    states = [state(m) for m in mirrors]
    for other in states[1:]:
        assert other == states[0]
    for mirror in mirrors:
        report = mirror.verify()
        assert report.ok, report.lines()
    for sid, session in states[0].items():
        ids = [m[0] for m in session["messages"]]
        assert len(ids) == len(set(ids)), "a message twice"
        assert verify_export(mirrors[0].load_session(sid).export("json")).ok
    return states[0]


def sync_all(mirrors: list[ActiveMirror], folder: Path, rounds: int = 2) -> None:
    for _ in range(rounds):
        for mirror in mirrors:
            mirror.sync(folder)


def desk_synced(root: Path):
    """Two devices' identities and a desk (SQLite) that has synced a session of two notes
    into ``root/Dropbox/mirror``: ``(laptop identity, desk, folder)``."""
    laptop_id, desk_id = identities(root / "vaults", 2)
    desk = device(root, "sqlite", "desk", desk_id)
    notes = desk.create_session("From the desk")
    notes.send("one")
    notes.send("two")
    folder = root / "Dropbox" / "mirror"
    folder.mkdir(parents=True)
    desk.sync(folder)
    return laptop_id, desk, folder
