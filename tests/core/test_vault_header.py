"""The index file's header in two parts: damage to what the password reads never stops the
recovery key (and the other way round), damage to what both read stops both, always as a
clear error naming the file. Version 1 vaults, kept in ``vault_v1/`` as the code before the
split wrote them, still open, stay version 1 through writes, and change_password upgrades
them."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from activemirror_jupyter import (
    VaultAuthError,
    VaultCategory,
    VaultIntegrityError,
    VaultMemory,
)
from activemirror_jupyter.core.vault import format as vault_format
from activemirror_jupyter.core.vault import header as vault_header

FAST = 1_000
PASSWORD = "Tr0ub4dor&3-unique-pw"
INDEX = ".vault_index.enc"
ENTRIES = {"alpha": "first secret", "beta": {"n": 2}, "gamma": [3]}

# version 2 offsets (the docstring of activemirror_jupyter.core.vault.format)
RECOVERY_PART = range(5, 53)  # key check, recovery checksum
PASSWORD_PART = range(53, 170)  # KDF algorithm, iterations, salt, wrap nonce, key, checksum
HEADER_SIZE = 170

# tests/core/vault_v1: made by the vault code at commit 5cf5b68 (format version 1)
V1_FOLDER = Path(__file__).parent / "vault_v1"
V1_PASSWORD = "version one password"
V1_RECOVERY = "amvk1-65s0aN-dFbrdgLR7UqMU0tK1zuiEPeroQydVF1wz6GUZZTp1"
V1_ENTRIES = {
    "alpha": ("first secret", {"category": "private", "tags": ["v1"]}),
    "beta": ({"n": 2, "nested": [1.5, None, True]}, {}),
    "gamma": ([3], {}),
    "delta": (150000, {"category": "goals"}),
}


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def recovery(vault_dir: Path) -> str:
    """A version 2 vault with ENTRIES; returns its recovery key."""
    vault = VaultMemory(PASSWORD, vault_dir, kdf_iterations=FAST)
    for key, value in ENTRIES.items():
        vault.store(key, value, metadata={"category": VaultCategory.PRIVATE})
    return vault.export_key()


@pytest.fixture
def v1_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "vault-v1"
    shutil.copytree(V1_FOLDER, folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def flip(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def open_with_key(folder: Path, key: str, **kwargs: object) -> VaultMemory:
    """Open with a recovery key, expecting the warning that the password part is damaged."""
    with pytest.warns(RuntimeWarning, match=r"\.vault_index\.enc: .*password part") as seen:
        vault = VaultMemory(vault_path=folder, key=key, **kwargs)  # type: ignore[arg-type]
    ours = [w for w in seen if issubclass(w.category, RuntimeWarning)]  # not another test's
    assert any("recovery key still can" in str(w.message) for w in ours)
    return vault


# ------------------------------------------------------------------ the layout


def test_the_header_is_laid_out_as_documented(recovery: str, vault_dir: Path) -> None:
    data = (vault_dir / INDEX).read_bytes()
    data_key = vault_format.decode_recovery_key(recovery)
    sha = hashlib.sha256
    assert data[:5] == b"AMVI\x02"
    assert data[5:21] == vault_header.key_check(data_key)
    assert data[21:53] == sha(data[:21]).digest()
    assert data[53] == 1 and struct.unpack(">Q", data[54:62]) == (FAST,)
    assert data[138:170] == sha(data[:5] + data[53:138]).digest()
    header = vault_header.parse_header(data, vault_dir / INDEX)
    assert (header.size, header.salt, header.wrap_nonce) == (HEADER_SIZE, data[62:78], data[78:90])
    assert header.wrapped_key == data[90:138] and header.wrap_aad == data[:5] + data[53:78]
    plain = AESGCM(data_key).decrypt(data[170:182], data[182:], b"AMVI\x02index")
    assert set(json.loads(plain)["entries"]) == set(ENTRIES)


# ------------------------------------------------------------------ the password part


@pytest.mark.parametrize("offset", PASSWORD_PART)
def test_any_bit_of_the_password_part_flipped_the_recovery_key_still_reads_everything(
    recovery: str, vault_dir: Path, offset: int
) -> None:
    index = vault_dir / INDEX
    sound = index.read_bytes()
    for bit in range(8):
        flip(index, offset, bit)
        before = snapshot(vault_dir)
        vault = open_with_key(vault_dir, recovery)
        assert {key: vault.retrieve(key) for key in ENTRIES} == ENTRIES
        assert [e.key for e in vault.list_entries(category="private")] == sorted(ENTRIES)
        with pytest.raises(VaultIntegrityError, match="password part is damaged") as info:
            VaultMemory(PASSWORD, vault_dir)
        assert not isinstance(info.value, VaultAuthError)
        assert info.value.path == str(index)  # type: ignore[attr-defined]
        assert snapshot(vault_dir) == before
        index.write_bytes(sound)


def test_through_the_recovery_key_a_damaged_vault_is_written_and_then_repaired(
    recovery: str, vault_dir: Path
) -> None:
    index = vault_dir / INDEX
    flip(index, 60, 7)  # the iteration count: 1,000 reads as 33,768, so it is not trusted
    vault = open_with_key(vault_dir, recovery, kdf_iterations=FAST)
    vault.store("delta", 4)
    other = open_with_key(vault_dir, recovery)  # the damage stays, and is still reported
    assert other.retrieve("delta") == 4
    vault.store("epsilon", 5)
    assert other.retrieve("epsilon") == 5  # a damage the open vault knew: no error
    vault.change_password(recovery, "fresh password")
    assert vault_header.parse_header(index.read_bytes(), index).iterations == FAST
    assert VaultMemory("fresh password", vault_dir).retrieve("alpha") == "first secret"
    assert VaultMemory(vault_path=vault_dir, key=recovery).retrieve("epsilon") == 5


def test_the_password_cannot_change_a_damaged_password_part(recovery: str, vault_dir: Path) -> None:
    vault = VaultMemory(PASSWORD, vault_dir)
    flip(vault_dir / INDEX, 100)
    before = snapshot(vault_dir)
    with pytest.raises(VaultIntegrityError, match="password part is damaged"):
        vault.change_password(PASSWORD, "next")
    assert snapshot(vault_dir) == before


def test_a_hostile_iteration_count_with_a_valid_checksum_stops_only_the_password(
    recovery: str, vault_dir: Path
) -> None:
    index = vault_dir / INDEX
    data = bytearray(index.read_bytes())
    data[54:62] = struct.pack(">Q", 10**12)
    data[138:170] = hashlib.sha256(bytes(data[:5] + data[53:138])).digest()
    index.write_bytes(bytes(data))
    with pytest.raises(VaultIntegrityError, match="1,000,000,000,000 PBKDF2 iterations"):
        VaultMemory(PASSWORD, vault_dir)  # would run for days if it derived
    with pytest.warns(RuntimeWarning, match="1,000,000,000,000 PBKDF2 iterations"):
        assert VaultMemory(vault_path=vault_dir, key=recovery).retrieve("gamma") == [3]


# ------------------------------------------------------------------ the recovery part


@pytest.mark.parametrize("offset", RECOVERY_PART)
def test_any_byte_of_the_recovery_part_flipped_is_a_clear_error_for_the_recovery_key(
    recovery: str, vault_dir: Path, offset: int
) -> None:
    index = vault_dir / INDEX
    flip(index, offset)
    before = snapshot(vault_dir)
    with pytest.raises(VaultIntegrityError, match="recovery part is damaged") as info:
        VaultMemory(vault_path=vault_dir, key=recovery)
    assert not isinstance(info.value, VaultAuthError)
    assert info.value.path == str(index)  # type: ignore[attr-defined]
    with pytest.warns(RuntimeWarning, match=r"\.vault_index\.enc: .*recovery part is damaged"):
        vault = VaultMemory(PASSWORD, vault_dir)
    assert {key: vault.retrieve(key) for key in ENTRIES} == ENTRIES
    assert snapshot(vault_dir) == before
    vault.change_password(PASSWORD, PASSWORD)  # writes a sound header
    assert VaultMemory(vault_path=vault_dir, key=recovery).retrieve("beta") == {"n": 2}


@pytest.mark.parametrize(("offset", "message"), [(1, "bad magic"), (4, "version 3")])
def test_the_magic_and_version_bytes_stop_both_ways_in(
    recovery: str, vault_dir: Path, offset: int, message: str
) -> None:
    flip(vault_dir / INDEX, offset)
    for opening in ({"password": PASSWORD}, {"key": recovery}):
        with pytest.raises(VaultIntegrityError, match=message):
            VaultMemory(vault_path=vault_dir, **opening)


def test_both_parts_damaged_stops_both_and_says_so(recovery: str, vault_dir: Path) -> None:
    flip(vault_dir / INDEX, 10)
    flip(vault_dir / INDEX, 80)
    for opening in ({"password": PASSWORD}, {"key": recovery}):
        with pytest.raises(VaultIntegrityError, match="neither the password nor a recovery key"):
            VaultMemory(vault_path=vault_dir, **opening)


def test_a_wrong_recovery_key_is_still_an_auth_error(recovery: str, vault_dir: Path) -> None:
    other = VaultMemory("pw", vault_dir.parent / "other", kdf_iterations=FAST).export_key()
    flip(vault_dir / INDEX, 100)  # the password part: no bearing on the recovery key
    with pytest.raises(VaultAuthError, match="does not open"):
        VaultMemory(vault_path=vault_dir, key=other)


def test_new_damage_under_an_open_vault_is_reported(recovery: str, vault_dir: Path) -> None:
    vault = VaultMemory(vault_path=vault_dir, key=recovery)
    flip(vault_dir / INDEX, 30)
    with pytest.raises(VaultIntegrityError, match="recovery part is damaged"):
        vault.retrieve("alpha")


# ------------------------------------------------------------------ version 1 vaults


def test_a_version_1_vault_opens_with_its_password_and_its_recovery_key(v1_dir: Path) -> None:
    for vault in (
        VaultMemory(V1_PASSWORD, v1_dir),
        VaultMemory(vault_path=v1_dir, key=V1_RECOVERY),
    ):
        assert {key: vault.retrieve(key) for key in V1_ENTRIES} == {
            key: value for key, (value, _) in V1_ENTRIES.items()
        }
        assert {e.key: e.metadata for e in vault.list_entries()} == {
            key: metadata for key, (_, metadata) in V1_ENTRIES.items()
        }
        assert vault.export_key() == V1_RECOVERY
    with pytest.raises(VaultAuthError, match="wrong password"):
        VaultMemory("not it", v1_dir)


def test_writes_keep_a_version_1_vault_at_version_1(v1_dir: Path) -> None:
    index = v1_dir / INDEX
    header = vault_header.parse_header(index.read_bytes(), index).raw
    vault = VaultMemory(vault_path=v1_dir, key=V1_RECOVERY)
    vault.store("epsilon", {"new": True})
    vault.delete("gamma")
    assert index.read_bytes()[: len(header)] == header  # the header, byte for byte
    reopened = VaultMemory(V1_PASSWORD, v1_dir)
    assert reopened.retrieve("epsilon") == {"new": True} and reopened.retrieve("gamma") is None


def test_change_password_upgrades_a_version_1_vault(v1_dir: Path) -> None:
    entry_files = {n: b for n, b in snapshot(v1_dir).items() if n.endswith(".vault")}
    watcher = VaultMemory(V1_PASSWORD, v1_dir)  # open while another writer upgrades
    VaultMemory(V1_PASSWORD, v1_dir).change_password(V1_PASSWORD, V1_PASSWORD)
    index = v1_dir / INDEX
    header = vault_header.parse_header(index.read_bytes(), index)
    assert (header.version, header.size, header.iterations) == (2, HEADER_SIZE, FAST)
    assert {n: b for n, b in snapshot(v1_dir).items() if n.endswith(".vault")} == entry_files
    assert watcher.retrieve("delta") == 150000
    flip(index, 100)  # now the recovery key survives damage to the password part
    assert open_with_key(v1_dir, V1_RECOVERY).retrieve("alpha") == "first secret"


@pytest.mark.parametrize("offset", [5, 14, 20, 40, 80, 100, 130])
def test_a_damaged_version_1_header_is_still_a_clear_error(v1_dir: Path, offset: int) -> None:
    flip(v1_dir / INDEX, offset)
    for opening in ({"password": V1_PASSWORD}, {"key": V1_RECOVERY}):
        with pytest.raises(VaultIntegrityError, match=r"\.vault_index\.enc"):
            VaultMemory(vault_path=v1_dir, **opening)


def test_a_version_1_header_with_an_empty_salt_is_refused(v1_dir: Path) -> None:
    index = v1_dir / INDEX
    data = index.read_bytes()
    header = vault_header.parse_header(data, index)
    fixed = struct.pack(">4sBBQB", b"AMVI", 1, 1, FAST, 0)
    body = fixed + header.wrap_nonce + header.wrapped_key + header.key_check
    index.write_bytes(body + hashlib.sha256(body).digest() + data[header.size :])
    with pytest.raises(VaultIntegrityError, match="0-byte salt"):
        VaultMemory(V1_PASSWORD, v1_dir)
