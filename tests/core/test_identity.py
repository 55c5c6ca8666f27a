"""The sync identity: made once per vault, carried by a pairing code that refuses typos,
kept in the vault, and never showing its key."""

from __future__ import annotations

import base64
import pickle
import re
from pathlib import Path

import pytest

from activemirror_jupyter import (
    ActiveMirrorError,
    Identity,
    PairingCodeError,
    VaultCategory,
    VaultError,
    VaultLockedError,
    VaultMemory,
)
from activemirror_jupyter.core.sync import pairing
from activemirror_jupyter.core.sync.identity import ENTRY_KEY

FAST = 1_000  # PBKDF2 iterations for throw-away test vaults
PASSWORD = "correct horse"
NAME = "Ada Lovelace (unusual-name-7q)"
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def open_vault(path: Path) -> VaultMemory:
    return VaultMemory(PASSWORD, path, kdf_iterations=FAST)


@pytest.fixture
def vault(tmp_path: Path) -> VaultMemory:
    return open_vault(tmp_path / "vault")


@pytest.fixture
def other(tmp_path: Path) -> VaultMemory:
    return open_vault(tmp_path / "other")


def key_of(vault: VaultMemory) -> bytes:
    """The sync key as the vault entry keeps it (the entry's format is documented)."""
    return bytes.fromhex(vault.retrieve(ENTRY_KEY)["key"])


def key_forms(key: bytes) -> list[str]:
    return [
        key.hex(),
        key.hex().upper(),
        base64.b64encode(key).decode().rstrip("="),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        base64.b32encode(key).decode().rstrip("="),
    ]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ------------------------------------------------------------------ create and load


def test_create_then_load_from_a_reopened_vault(vault: VaultMemory, tmp_path: Path) -> None:
    made = Identity.create(vault, NAME)
    assert made.name == NAME
    assert made.remote is None
    assert re.fullmatch(r"[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}", made.fingerprint)
    vault.lock()
    loaded = Identity.load(open_vault(tmp_path / "vault"))
    assert (loaded.name, loaded.fingerprint, loaded.remote) == (NAME, made.fingerprint, None)
    assert loaded.created_at == made.created_at
    assert len(key_of(open_vault(tmp_path / "vault"))) == 32


def test_the_entry_is_private_and_named_as_documented(vault: VaultMemory) -> None:
    Identity.create(vault, NAME)
    (entry,) = vault.list_entries()
    assert entry.key == ENTRY_KEY == "activemirror.identity"
    assert entry.category is VaultCategory.PRIVATE
    assert set(vault.retrieve(ENTRY_KEY)) == {"format", "name", "key", "remote", "created_at"}


def test_one_identity_per_vault(vault: VaultMemory) -> None:
    first = Identity.create(vault, NAME)
    with pytest.raises(VaultError, match="already has an identity") as info:
        Identity.create(vault, "Someone else")
    assert first.fingerprint in str(info.value)
    assert Identity.load(vault).fingerprint == first.fingerprint


def test_two_identities_have_different_keys_and_fingerprints(
    vault: VaultMemory, other: VaultMemory
) -> None:
    a = Identity.create(vault, NAME)
    b = Identity.create(other, NAME)
    assert a.fingerprint != b.fingerprint
    assert key_of(vault) != key_of(other)
    assert a.cipher_key("folder-files") != b.cipher_key("folder-files")


def test_load_without_an_identity_says_how_to_make_one(vault: VaultMemory) -> None:
    with pytest.raises(VaultError, match=r"no identity.*Identity\.create.*Identity\.join"):
        Identity.load(vault)


def test_a_locked_vault_refuses_create_load_join_and_the_key(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    identity = Identity.create(other, NAME)
    code = identity.pairing_code()
    vault.lock()
    with pytest.raises(VaultLockedError):
        Identity.create(vault, NAME)
    with pytest.raises(VaultLockedError):
        Identity.load(vault)
    with pytest.raises(VaultLockedError):
        Identity.join(vault, code)
    other.lock()  # the identity holds no key of its own: locking the vault locks it too
    with pytest.raises(VaultLockedError):
        identity.pairing_code()
    with pytest.raises(VaultLockedError):
        identity.cipher_key("folder-files")
    with pytest.raises(VaultLockedError):
        identity.set_remote(None)
    assert VaultMemory(vault_path=tmp_path / "vault").exists
    assert open_vault(tmp_path / "vault").list_entries() == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a dict", "not an object"),
        (None, "not an object"),
        ({"name": NAME}, "no known format"),
        ({"format": 2, "name": NAME}, "newer"),
        ({"format": True, "name": NAME, "key": "00" * 32}, "no known format"),
        ({"format": 1, "name": NAME, "key": "abc", "remote": None}, "64 hex"),
        (
            {"format": 1, "name": "", "key": "00" * 32, "remote": None, "created_at": "x"},
            "name",
        ),
        (
            {"format": 1, "name": NAME, "key": "00" * 32, "remote": 3, "created_at": "x"},
            "remote",
        ),
    ],
)
def test_a_damaged_or_foreign_entry_is_a_vault_error_saying_so(
    vault: VaultMemory, value: object, message: str
) -> None:
    vault.store(ENTRY_KEY, value)
    with pytest.raises(VaultError, match="not an identity this version can read") as info:
        Identity.load(vault)
    assert message in str(info.value)
    with pytest.raises(VaultError, match="not an identity"):
        Identity.create(vault, NAME)  # never written over: it might be someone's identity
    assert vault.retrieve(ENTRY_KEY) == value


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", ValueError),
        ("   ", ValueError),
        ("x" * 65, ValueError),
        ("a\nb", ValueError),
        ("a\x00b", ValueError),
        ("a\x85b", ValueError),
        ("a\u2028b", ValueError),
        ("\ud800", ValueError),
        (None, TypeError),
        (b"bytes", TypeError),
    ],
)
def test_bad_names_are_refused(vault: VaultMemory, name: object, error: type) -> None:
    with pytest.raises(error, match="name"):
        Identity.create(vault, name)  # type: ignore[arg-type]
    assert vault.list_entries() == []


def test_names_keep_their_text_without_surrounding_spaces(vault: VaultMemory) -> None:
    assert Identity.create(vault, "  Émilie du Châtelet 🙂 ").name == "Émilie du Châtelet 🙂"


# ------------------------------------------------------------------ remotes


def test_remotes_folders_become_absolute_paths_and_dsns_stay(
    vault: VaultMemory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    identity = Identity.create(vault, NAME, remote="shared")
    assert identity.remote == str(tmp_path / "shared")
    identity.set_remote(tmp_path / "Dropbox" / "am")  # a PathLike
    assert identity.remote == str(tmp_path / "Dropbox" / "am")
    dsn = "postgresql://alice:s3cret@db.example.org:5432/activemirror"
    identity.set_remote(dsn)
    assert identity.remote == dsn
    identity.set_remote("POSTGRES://bob@localhost/x")
    assert identity.remote == "POSTGRES://bob@localhost/x"
    identity.set_remote("~/sync")
    assert identity.remote == str(Path.home() / "sync")


def test_set_remote_persists_across_reopening(vault: VaultMemory, tmp_path: Path) -> None:
    identity = Identity.create(vault, NAME, remote=tmp_path / "a")
    identity.set_remote(tmp_path / "b")
    assert Identity.load(open_vault(tmp_path / "vault")).remote == str(tmp_path / "b")
    identity.set_remote(None)
    assert identity.remote is None
    assert Identity.load(open_vault(tmp_path / "vault")).remote is None
    assert Identity.load(open_vault(tmp_path / "vault")).fingerprint == identity.fingerprint


@pytest.mark.parametrize(
    ("remote", "error", "message"),
    [
        ("", ValueError, "empty"),
        ("  ", ValueError, "empty"),
        ("https://example.org/x", ValueError, "https:// is neither"),
        ("mysql://u:pw@h/db", ValueError, "mysql:// is neither"),
        ("file:///tmp/x", ValueError, "as a path"),
        ("/tmp/a\nb", ValueError, "control"),
        ("/tmp/\x00", ValueError, "control"),
        ("/" + "x" * 5000, ValueError, "at most"),
        (42, TypeError, "folder"),
        (b"/tmp/x", TypeError, "folder"),
    ],
)
def test_bad_remotes_are_refused_without_repeating_them(
    vault: VaultMemory, remote: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        Identity.create(vault, NAME, remote=remote)  # type: ignore[arg-type]
    assert "pw@" not in str(info.value)
    assert vault.list_entries() == []
    identity = Identity.create(vault, NAME, remote="/srv/sync")
    with pytest.raises(error, match=message):
        identity.set_remote(remote)  # type: ignore[arg-type]
    assert Identity.load(vault).remote == "/srv/sync"


# ------------------------------------------------------------------ pairing codes


def test_a_pairing_code_carries_the_identity_to_another_vault(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    first = Identity.create(vault, NAME, remote=tmp_path / "laptop-view")
    code = first.pairing_code()
    assert re.fullmatch(r"amid1(-[0-9a-z]{1,4})+", code)
    second = Identity.join(other, code, remote=tmp_path / "desktop-view")
    assert (second.name, second.fingerprint) == (first.name, first.fingerprint)
    assert second.remote == str(tmp_path / "desktop-view")  # each device its own remote
    assert key_of(other) == key_of(vault)
    for purpose in ("folder-files", "file-names"):
        assert second.cipher_key(purpose) == first.cipher_key(purpose)
    reopened = Identity.load(open_vault(tmp_path / "other"))
    assert (reopened.name, reopened.fingerprint) == (NAME, first.fingerprint)
    assert reopened.pairing_code() == code


def test_codes_are_read_in_any_case_with_any_spacing_and_crockford_aliases(
    vault: VaultMemory, tmp_path: Path
) -> None:
    code = Identity.create(vault, NAME).pairing_code()
    body = code.removeprefix("amid1-").replace("-", "")
    typed = [
        code.upper(),
        code.replace("-", ""),
        code.replace("-", " "),
        "  " + code.replace("-", " - ") + "\n",
        "AMID1" + " ".join(body[i : i + 5] for i in range(0, len(body), 5)),
        "amid1-" + body.replace("0", "O").replace("1", "l"),  # what people type for 0 and 1
        "AMID1-" + body.replace("1", "I").upper(),
    ]
    fingerprint = Identity.load(vault).fingerprint
    for n, text in enumerate(typed):
        joined = Identity.join(open_vault(tmp_path / f"device{n}"), text)
        assert joined.fingerprint == fingerprint, text


def mistakes(code: str) -> list[tuple[str, str]]:
    """Every single-character substitution (two per place), deletion and adjacent swap of
    the code's characters, and a few insertions, as ``(what, mistyped code)``."""
    compact = code.replace("-", "")
    out = []
    for i, char in enumerate(compact):
        others = [c for c in ALPHABET if c != char]
        for sub in (others[i % len(others)], others[(7 * i + 3) % len(others)]):
            out.append((f"substitute {i}", compact[:i] + sub + compact[i + 1 :]))
        out.append((f"delete {i}", compact[:i] + compact[i + 1 :]))
        if i + 1 < len(compact) and compact[i] != compact[i + 1]:
            swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
            out.append((f"swap {i}", swapped))
    for i in (5, 6, len(compact) // 2, len(compact) - 8, len(compact) - 1, len(compact)):
        out.append((f"insert {i}", compact[:i] + "q" + compact[i:]))
    return out


def test_every_single_mistake_in_a_code_is_refused_and_stores_nothing(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    for name in (NAME, "x"):  # a long and a short name: different code lengths
        source = open_vault(tmp_path / f"source-{name}")
        code = Identity.create(source, name).pairing_code()
        before = snapshot(other.vault_path)
        tried = mistakes(code)
        assert len(tried) > 4 * len(code.replace("-", "")) - 10
        for what, typed in tried:
            with pytest.raises(PairingCodeError) as info:
                Identity.join(other, typed)
            assert isinstance(info.value, ValueError)
            assert isinstance(info.value, ActiveMirrorError)
            assert typed not in str(info.value), what
        assert other.list_entries() == []
        assert snapshot(other.vault_path) == before


def test_a_swap_across_the_data_and_check_boundary_is_always_caught() -> None:
    # The one swap the CRC's burst rule does not cover by itself, settled for every value.
    assert pairing.boundary_swaps_are_caught()


def test_what_a_refused_code_is_told(other: VaultMemory) -> None:
    with pytest.raises(PairingCodeError, match=r"not a pairing code.*amid1-"):
        Identity.join(other, "amvk1-recoverykeyinstead")
    with pytest.raises(PairingCodeError, match="version 2"):
        Identity.join(other, "amid2-abcd-efgh")
    with pytest.raises(PairingCodeError, match="'u' is not one"):
        Identity.join(other, "amid1-abcd-uuuu")
    with pytest.raises(PairingCodeError, match="mistyped or incomplete"):
        Identity.join(other, "amid1-abcd")
    with pytest.raises(PairingCodeError, match="mistyped or incomplete"):
        Identity.join(other, "amid1")
    with pytest.raises(TypeError, match="text"):
        Identity.join(other, b"amid1-abcd")  # type: ignore[arg-type]
    assert other.list_entries() == []


def test_a_well_formed_code_without_a_usable_name_is_refused(other: VaultMemory) -> None:
    key = bytes(range(32))
    for raw_name in (b"", b"\xff\xfe", b"a\nb"):
        values = pairing._to_values(raw_name + key)
        body = "".join(ALPHABET[v] for v in values + pairing.check(values))
        with pytest.raises(PairingCodeError, match="pairing code"):
            Identity.join(other, "amid1-" + body)
    assert other.list_entries() == []


def test_joining_the_same_identity_again_is_fine(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    code = Identity.create(vault, NAME).pairing_code()
    first = Identity.join(other, code, remote=tmp_path / "a")
    again = Identity.join(other, code)  # no remote given: the kept one stays
    assert again.fingerprint == first.fingerprint
    assert again.remote == str(tmp_path / "a")
    assert again.created_at == first.created_at
    moved = Identity.join(other, code, remote=tmp_path / "b")
    assert moved.remote == str(tmp_path / "b")
    assert Identity.load(other).remote == str(tmp_path / "b")
    assert Identity.join(vault, code).fingerprint == first.fingerprint  # on its own vault too


def test_joining_where_another_identity_lives_changes_nothing(
    vault: VaultMemory, other: VaultMemory
) -> None:
    mine = Identity.create(other, "Mine")
    code = Identity.create(vault, NAME).pairing_code()
    before = snapshot(other.vault_path)
    with pytest.raises(VaultError, match="another identity") as info:
        Identity.join(other, code)
    assert mine.fingerprint in str(info.value)
    assert Identity.load(vault).fingerprint in str(info.value)
    assert snapshot(other.vault_path) == before
    assert Identity.load(other).fingerprint == mine.fingerprint


def test_an_identity_replaced_underneath_is_noticed(vault: VaultMemory, tmp_path: Path) -> None:
    stale = Identity.create(vault, NAME)
    vault.delete(ENTRY_KEY)
    fresh = Identity.create(open_vault(tmp_path / "vault"), "New")
    for use in (stale.pairing_code, lambda: stale.cipher_key("folder-files")):
        with pytest.raises(VaultError, match=r"no longer in the vault.*Identity\.load"):
            use()
    with pytest.raises(VaultError, match="no longer in the vault"):
        stale.set_remote("/srv/x")
    assert Identity.load(vault).fingerprint == fresh.fingerprint
    assert Identity.load(vault).remote is None


# ------------------------------------------------------------------ keys for the sync code


def test_cipher_keys_are_per_purpose_and_never_the_key(vault: VaultMemory) -> None:
    identity = Identity.create(vault, NAME)
    keys = {p: identity.cipher_key(p) for p in ("folder-files", "file-names", "a.b-2")}
    assert all(len(k) == 32 for k in keys.values())
    assert len(set(keys.values())) == 3
    assert key_of(vault) not in keys.values()
    assert identity.cipher_key("folder-files") == keys["folder-files"]
    for bad in ("", "Folder", "folder files", "-x", "x" * 65, "é", None):
        with pytest.raises(ValueError, match="purpose"):
            identity.cipher_key(bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the key stays secret


def test_the_key_is_in_no_repr_str_or_error_message(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    identity = Identity.create(vault, NAME, remote="postgresql://alice:pw@db/x")
    code = identity.pairing_code()
    forms = key_forms(key_of(vault)) + [code, code.replace("-", "")]
    shown = [repr(identity), str(identity), f"{identity}", repr([identity])]
    assert repr(identity) == f"Identity(name={NAME!r}, fingerprint={identity.fingerprint!r})"
    assert all("pw@" not in text for text in shown)  # the remote may hold a password

    messages = []

    def failing(call) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(Exception) as info:  # noqa: PT011 - any error: its message counts
            call()
        messages.append(str(info.value))
        messages.append(repr(info.value))

    failing(lambda: Identity.create(vault, "Again"))
    Identity.create(other, "Other")
    failing(lambda: Identity.join(other, code))
    body = code.replace("-", "")
    failing(lambda: Identity.join(other, body[:-1]))
    failing(lambda: Identity.join(other, body[:20] + "u" + body[21:]))
    failing(lambda: identity.cipher_key("Bad Purpose"))
    failing(lambda: pickle.dumps(identity))
    vault.lock()
    failing(identity.pairing_code)
    failing(lambda: Identity.load(vault))
    for text in shown + messages:
        for form in forms:
            assert form not in text
    assert identity.fingerprint not in key_forms(key_of(open_vault(tmp_path / "vault")))


def test_the_vault_files_hold_neither_the_key_nor_the_name(
    vault: VaultMemory, other: VaultMemory, tmp_path: Path
) -> None:
    identity = Identity.create(vault, NAME, remote=tmp_path / "visible-remote-name")
    identity.set_remote(tmp_path / "visible-remote-name-2")
    Identity.join(other, identity.pairing_code())
    key = key_of(vault)
    needles = [key, NAME.encode(), NAME.encode("utf-16-le"), b"visible-remote-name"]
    needles += [form.encode() for form in key_forms(key)]
    for folder in (vault.vault_path, other.vault_path):
        for name, data in snapshot(folder).items():
            for needle in needles:
                assert needle not in data, (folder, name)
