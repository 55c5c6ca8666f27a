"""Migration from ActiveMirrorOS vaults. The legacy vaults are built here byte by byte from
the contract's description of each SDK's format, with cryptography's Fernet and AESGCM."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from activemirror_jupyter import (
    VaultAuthError,
    VaultCategory,
    VaultError,
    VaultIntegrityError,
    VaultMemory,
)

LEGACY_PASSWORD = "old sdk password"
FAST = 1_000

ENTRIES = {
    "health_goal": ("Run marathon in 2024", {"category": "goals", "tags": ["health"]}),
    "salary_target": (150000, {"category": "private"}),
    "insight": ({"insight": "Focus", "confidence": 0.9}, {"tags": ["productivity", "2024"]}),
    "no_meta": ([1, None, True], {}),
    "odd category": ("x", {"category": "finance", "source": "old app"}),
}


def legacy_raw_key(password: str) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=b"activemirror_vault", iterations=100_000
    )
    return kdf.derive(password.encode())


def make_python_sdk_vault(folder: Path, password: str = LEGACY_PASSWORD) -> Path:
    """Python SDK 0.2.0: Fernet tokens; key = urlsafe-base64 of the PBKDF2 key; files
    ``<key>.vault`` and ``.vault_index.enc`` whose paths point where the folder used to be."""
    folder.mkdir(parents=True)
    fernet = Fernet(base64.urlsafe_b64encode(legacy_raw_key(password)))
    index: dict = {"entries": {}, "created_at": "2024-01-15T09:00:00.000001"}
    for key, (value, metadata) in ENTRIES.items():
        stamp = "2024-01-15T10:01:00.123456"  # naive local time, as that SDK wrote
        entry = {
            "key": key,
            "value": value,
            "metadata": metadata,
            "created_at": stamp,
            "updated_at": stamp,
        }
        (folder / f"{key}.vault").write_bytes(fernet.encrypt(json.dumps(entry, indent=2).encode()))
        index["entries"][key] = {
            "file": f"/home/someone/old-place/vault/{key}.vault",  # stale absolute path
            "created_at": stamp,
            "updated_at": stamp,
            "metadata": metadata,
        }
    (folder / ".vault_index.enc").write_bytes(fernet.encrypt(json.dumps(index).encode()))
    return folder


def js_encrypt(raw_key: bytes, text: str) -> bytes:
    """The JavaScript SDK's layout: iv (16) ‖ tag (16) ‖ ciphertext, no associated data."""
    iv = os.urandom(16)
    sealed = AESGCM(raw_key).encrypt(iv, text.encode("utf-8"), None)
    return iv + sealed[-16:] + sealed[:-16]


def make_js_sdk_vault(folder: Path, password: str = LEGACY_PASSWORD) -> Path:
    folder.mkdir(parents=True)
    raw = legacy_raw_key(password)
    index: dict = {"entries": {}, "createdAt": "2024-02-01T08:00:00.000Z"}
    for key, (value, metadata) in ENTRIES.items():
        stamp = "2024-02-01T08:30:00.000Z"
        entry = {
            "key": key,
            "value": value,
            "metadata": metadata,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        (folder / f"{key}.vault").write_bytes(js_encrypt(raw, json.dumps(entry, indent=2)))
        index["entries"][key] = {"file": f"C:\\Users\\old\\vault\\{key}.vault", "metadata": {}}
    (folder / ".vault_index.enc").write_bytes(js_encrypt(raw, json.dumps(index)))
    return folder


@pytest.fixture
def vault(tmp_path: Path) -> VaultMemory:
    return VaultMemory("new password", tmp_path / "vault", kdf_iterations=FAST)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("maker", [make_python_sdk_vault, make_js_sdk_vault])
def test_import_legacy_copies_every_entry(vault: VaultMemory, tmp_path: Path, maker) -> None:
    legacy = maker(tmp_path / "moved" / "old-vault")
    legacy_before = snapshot(legacy)

    imported = vault.import_legacy(legacy, LEGACY_PASSWORD)

    assert imported == sorted(ENTRIES)
    for key, (value, _) in ENTRIES.items():
        back = vault.retrieve(key)
        assert back == value and type(back) is type(value)
    entries = {e.key: e for e in vault.list_entries()}
    assert entries["health_goal"].category is VaultCategory.GOALS
    assert entries["health_goal"].tags == ["health"]
    assert entries["salary_target"].category is VaultCategory.PRIVATE
    assert entries["insight"].tags == ["productivity", "2024"]
    assert entries["odd category"].metadata == {
        "legacy_category": "finance",
        "source": "old app",
    }
    expected = (
        datetime(2024, 1, 15, 10, 1, 0, 123456, tzinfo=timezone.utc)
        if maker is make_python_sdk_vault
        else datetime(2024, 2, 1, 8, 30, tzinfo=timezone.utc)
    )
    assert entries["health_goal"].created_at == expected
    assert [e.key for e in vault.search("productivity")] == ["insight"]
    assert snapshot(legacy) == legacy_before  # the old vault is only read

    # what was imported is in this vault's format: reopen with its own password
    reopened = VaultMemory("new password", vault.vault_path)
    assert reopened.retrieve("salary_target") == 150000


@pytest.mark.parametrize("maker", [make_python_sdk_vault, make_js_sdk_vault])
def test_wrong_legacy_password_imports_nothing(vault: VaultMemory, tmp_path: Path, maker) -> None:
    legacy = maker(tmp_path / "old")
    before = snapshot(vault.vault_path)
    with pytest.raises(VaultAuthError, match="wrong password"):
        vault.import_legacy(legacy, "not it")
    assert snapshot(vault.vault_path) == before
    assert vault.list_entries() == []


def test_a_damaged_legacy_file_is_named_and_nothing_is_imported(
    vault: VaultMemory, tmp_path: Path
) -> None:
    legacy = make_js_sdk_vault(tmp_path / "old")
    damaged = legacy / "insight.vault"
    data = bytearray(damaged.read_bytes())
    data[40] ^= 1
    damaged.write_bytes(bytes(data))
    before = snapshot(vault.vault_path)
    with pytest.raises(VaultIntegrityError, match="insight.vault"):
        vault.import_legacy(legacy, LEGACY_PASSWORD)
    assert snapshot(vault.vault_path) == before


def test_conflicting_keys(vault: VaultMemory, tmp_path: Path) -> None:
    legacy = make_python_sdk_vault(tmp_path / "old")
    vault.store("salary_target", 1)
    before = snapshot(vault.vault_path)
    with pytest.raises(VaultError, match="already in the vault: 'salary_target'"):
        vault.import_legacy(legacy, LEGACY_PASSWORD)
    assert snapshot(vault.vault_path) == before

    skipped = vault.import_legacy(legacy, LEGACY_PASSWORD, on_conflict="skip")
    assert "salary_target" not in skipped and len(skipped) == len(ENTRIES) - 1
    assert vault.retrieve("salary_target") == 1
    replaced = vault.import_legacy(legacy, LEGACY_PASSWORD, on_conflict="replace")
    assert replaced == sorted(ENTRIES)
    assert vault.retrieve("salary_target") == 150000
    with pytest.raises(ValueError, match="on_conflict"):
        vault.import_legacy(legacy, LEGACY_PASSWORD, on_conflict="merge")


def test_not_a_legacy_vault(vault: VaultMemory, tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="no legacy vault folder"):
        vault.import_legacy(tmp_path / "missing", LEGACY_PASSWORD)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaultError, match="holds no ActiveMirrorOS vault"):
        vault.import_legacy(tmp_path / "empty", LEGACY_PASSWORD)


def test_a_legacy_entry_this_vault_cannot_hold_is_refused_before_writing(
    vault: VaultMemory, tmp_path: Path
) -> None:
    legacy = make_python_sdk_vault(tmp_path / "old")
    fernet = Fernet(base64.urlsafe_b64encode(legacy_raw_key(LEGACY_PASSWORD)))
    bad = {"key": "nan value", "value": float("nan"), "metadata": {}}
    (legacy / "nan value.vault").write_bytes(fernet.encrypt(json.dumps(bad).encode()))
    before = snapshot(vault.vault_path)
    with pytest.raises(VaultError, match="nan value.vault.*NaN"):
        vault.import_legacy(legacy, LEGACY_PASSWORD)
    assert snapshot(vault.vault_path) == before
