"""The vault's API: the spec's code blocks, types, metadata, listing, search, recovery keys,
password changes, locking."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone
from pathlib import Path

import pytest
from waiting import wait_for_clock_past

from activemirror_jupyter import (
    VaultAuthError,
    VaultCategory,
    VaultEntry,
    VaultError,
    VaultLockedError,
    VaultMemory,
)
from activemirror_jupyter.core.vault import format as vault_format
from activemirror_jupyter.core.vault import header as vault_header

FAST = 1_000  # PBKDF2 iterations for throw-away test vaults; the header records the count


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(vault_dir: Path) -> VaultMemory:
    return VaultMemory("correct horse", vault_dir, kdf_iterations=FAST)


def entry_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".vault"}


def test_spec_blocks_work_as_written_with_the_default_600k_iterations(
    activemirror_home: Path,
) -> None:
    vault = VaultMemory(password="your-password")

    vault.store("health_goal", "Run marathon in 2024")
    vault.store("salary_target", 150000, metadata={"category": VaultCategory.PRIVATE})
    goal = vault.retrieve("health_goal")

    vault.store(
        "core_insight_2024_01",
        {"insight": "Focus beats multitasking", "source_session": "s1", "confidence": "high"},
        metadata={"category": VaultCategory.KNOWLEDGE, "tags": ["productivity", "2024"]},
    )
    insights = vault.search("productivity")
    vault_key = vault.export_key()

    assert goal == "Run marathon in 2024"
    assert vault.retrieve("salary_target") == 150000
    assert type(vault.retrieve("salary_target")) is int
    assert [e.key for e in insights] == ["core_insight_2024_01"]
    assert insights[0].value["insight"] == "Focus beats multitasking"
    assert vault.delete("old_goal") is False
    assert vault_key.startswith("amvk1-")

    # the default vault lives in $ACTIVEMIRROR_HOME/vault, made with 600,000 iterations
    index = activemirror_home / "vault" / ".vault_index.enc"
    header = vault_header.parse_header(index.read_bytes(), index)
    assert header.iterations == vault_format.DEFAULT_ITERATIONS == 600_000
    assert len(header.salt) == 16


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        150000,
        2**70,
        -3,
        1.5,
        0.1,
        True,
        False,
        None,
        [1, "two", [3.0, None]],
        {"nested": {"list": [True, {"x": 1}]}, "unicode": "é ✓ 日本"},
        [],
        {},
    ],
)
def test_values_come_back_with_the_same_json_type(vault: VaultMemory, value: object) -> None:
    vault.store("k", value)
    back = vault.retrieve("k")
    assert back == value
    assert type(back) is type(value)


def test_values_survive_reopening(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("a", {"x": [1, 2.5, "三"]})
    reopened = VaultMemory("correct horse", vault_dir)
    assert reopened.retrieve("a") == {"x": [1, 2.5, "三"]}


def test_retrieve_missing_returns_default(vault: VaultMemory) -> None:
    assert vault.retrieve("nope") is None
    assert vault.retrieve("nope", default=42) == 42


def test_delete_reports_whether_the_key_existed(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("old_goal", "x")
    assert vault.delete("old_goal") is True
    assert vault.retrieve("old_goal") is None
    assert vault.delete("old_goal") is False
    assert entry_files(vault_dir) == {}


def test_overwrite_keeps_created_at_and_metadata(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("api_key", "v1", metadata={"category": "private", "tags": ["llm"]})
    first = vault.list_entries()[0]
    wait_for_clock_past(first.updated_at)
    vault.store("api_key", "v2")
    second = vault.list_entries()[0]
    assert vault.retrieve("api_key") == "v2"
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert second.metadata == {"category": VaultCategory.PRIVATE, "tags": ["llm"]}
    assert len(entry_files(vault_dir)) == 1  # the old version's file is gone
    vault.store("api_key", "v3", metadata={})
    assert vault.list_entries()[0].metadata == {}


def test_list_entries_has_metadata_without_values(vault: VaultMemory) -> None:
    vault.store("b_goal", "run", metadata={"category": VaultCategory.GOALS, "tags": ["health"]})
    vault.store("a_pref", "tea", metadata={"category": "PREFERENCES", "note": {"why": 1}})
    vault.store("c_plain", 1)

    entries = vault.list_entries()
    assert [e.key for e in entries] == ["a_pref", "b_goal", "c_plain"]
    assert all(e.value is None for e in entries)
    assert entries[0].metadata == {"category": VaultCategory.PREFERENCES, "note": {"why": 1}}
    assert entries[1].category is VaultCategory.GOALS and entries[1].tags == ["health"]
    assert entries[2].metadata == {}
    assert all(isinstance(e, VaultEntry) for e in entries)
    assert all(e.created_at.tzinfo is timezone.utc for e in entries)
    assert entries[0].created_at <= datetime.now(timezone.utc)

    assert [e.key for e in vault.list_entries(category=VaultCategory.GOALS)] == ["b_goal"]
    assert [e.key for e in vault.list_entries(category="preferences")] == ["a_pref"]
    assert [e.key for e in vault.list_entries(tag="health")] == ["b_goal"]
    assert vault.list_entries(category="goals", tag="nope") == []
    with pytest.raises(ValueError, match="valid categories"):
        vault.list_entries(category="bogus")


def test_entry_repr_hides_the_value(vault: VaultMemory) -> None:
    vault.store("token", "sk-very-secret", metadata={"tags": ["t"]})
    (entry,) = vault.search("token")
    assert entry.value == "sk-very-secret"
    assert "sk-very-secret" not in repr(entry)


def test_search_is_case_insensitive_over_key_value_category_and_tags(vault: VaultMemory) -> None:
    vault.store("Health_Goal", "Run a MARATHON", metadata={"category": VaultCategory.GOALS})
    vault.store("insight", {"text": "Focus"}, metadata={"tags": ["Productivity"]})
    vault.store("salary", 150000, metadata={"category": VaultCategory.PRIVATE})

    def keys(query: str) -> list[str]:
        return [e.key for e in vault.search(query)]

    assert keys("health") == ["Health_Goal"]  # key
    assert keys("marathon") == ["Health_Goal"]  # value text
    assert keys("focus") == ["insight"]  # inside a dict value
    assert keys("1500") == ["salary"]  # a number's text
    assert keys("PRIVATE") == ["salary"]  # category
    assert keys("productiv") == ["insight"]  # tag, substring
    assert keys("[(*") == []  # plain text, no query syntax
    assert vault.search("marathon")[0].value == "Run a MARATHON"


def test_category_is_a_str_enum() -> None:
    assert [c.name for c in VaultCategory] == [
        "GOALS",
        "REFLECTIONS",
        "PREFERENCES",
        "PRIVATE",
        "KNOWLEDGE",
        "RELATIONSHIPS",
    ]
    assert isinstance(VaultCategory.PRIVATE, str)
    assert VaultCategory.PRIVATE == "private"
    assert str(VaultCategory.PRIVATE) == "private"
    assert f"{VaultCategory.GOALS}" == "goals"


def test_recovery_key_opens_without_password(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("k", "v")
    key = vault.export_key()
    assert key.startswith("amvk1-")
    opened = VaultMemory(vault_path=vault_dir, key=key)
    assert opened.retrieve("k") == "v"


def test_wrong_or_mistyped_recovery_key_is_an_auth_error(
    vault: VaultMemory, vault_dir: Path, tmp_path: Path
) -> None:
    other = VaultMemory("pw", tmp_path / "other", kdf_iterations=FAST)
    with pytest.raises(VaultAuthError, match="does not open"):
        VaultMemory(vault_path=vault_dir, key=other.export_key())
    key = vault.export_key()
    mistyped = key[:-3] + ("A" if key[-3] != "A" else "B") + key[-2:]
    with pytest.raises(VaultAuthError, match="mistyped"):
        VaultMemory(vault_path=vault_dir, key=mistyped)
    with pytest.raises(VaultAuthError, match="amvk1-"):
        VaultMemory(vault_path=vault_dir, key="not-a-key")


def test_recovery_key_cannot_create_a_vault(tmp_path: Path, vault: VaultMemory) -> None:
    with pytest.raises(VaultError, match="no vault"):
        VaultMemory(vault_path=tmp_path / "empty", key=vault.export_key())


def test_change_password_rewraps_only(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("a", 1)
    vault.store("b", "two")
    key = vault.export_key()
    before = entry_files(vault_dir)

    vault.change_password("correct horse", "battery staple")

    assert entry_files(vault_dir) == before  # no entry re-encrypted
    with pytest.raises(VaultAuthError):
        VaultMemory("correct horse", vault_dir)
    assert VaultMemory("battery staple", vault_dir).retrieve("b") == "two"
    assert VaultMemory(vault_path=vault_dir, key=key).retrieve("a") == 1
    assert vault.retrieve("a") == 1  # the open vault keeps working


def test_change_password_with_wrong_old_changes_nothing(
    vault: VaultMemory, vault_dir: Path
) -> None:
    vault.store("a", 1)
    snapshot = {p.name: p.read_bytes() for p in vault_dir.iterdir()}
    with pytest.raises(VaultAuthError, match="nothing changed"):
        vault.change_password("wrong", "new password")
    assert {p.name: p.read_bytes() for p in vault_dir.iterdir()} == snapshot
    assert VaultMemory("correct horse", vault_dir).retrieve("a") == 1


def test_change_password_accepts_the_recovery_key_as_old(
    vault: VaultMemory, vault_dir: Path
) -> None:
    vault.store("a", 1)
    vault.change_password(vault.export_key(), "fresh")
    assert VaultMemory("fresh", vault_dir).retrieve("a") == 1


def test_change_password_keeps_the_iteration_count_and_changes_the_salt(
    vault: VaultMemory, vault_dir: Path
) -> None:
    index = vault_dir / ".vault_index.enc"
    old = vault_header.parse_header(index.read_bytes(), index)
    vault.change_password("correct horse", "new")
    new = vault_header.parse_header(index.read_bytes(), index)
    assert new.iterations == old.iterations == FAST
    assert new.salt != old.salt


def test_unlock_costs_one_derivation_and_use_none(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    VaultMemory("pw", vault_dir, kdf_iterations=FAST).store("seed", 1)
    calls: list[int] = []
    real = vault_format.derive_kek

    def counting(password: str, salt: bytes, iterations: int) -> bytes:
        calls.append(iterations)
        return real(password, salt, iterations)

    monkeypatch.setattr(vault_format, "derive_kek", counting)
    vault = VaultMemory("pw", vault_dir)
    assert calls == [FAST]
    for i in range(20):
        vault.store(f"k{i}", i, metadata={"tags": ["t"]})
        assert vault.retrieve(f"k{i}") == i
    vault.list_entries()
    vault.search("k1")
    vault.delete("k3")
    vault.export_key()
    assert calls == [FAST]


def test_locked_vault_refuses_every_use(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("a", 1)
    vault.lock()
    assert vault.is_locked
    calls = [
        lambda: vault.store("b", 2),
        lambda: vault.retrieve("a"),
        lambda: vault.delete("a"),
        lambda: vault.list_entries(),
        lambda: vault.search("a"),
        lambda: vault.export_key(),
        lambda: vault.change_password("correct horse", "x"),
        lambda: vault.import_legacy(vault_dir, "x"),
    ]
    for call in calls:
        with pytest.raises(VaultLockedError, match="locked"):
            call()
    vault.unlock("correct horse")
    assert not vault.is_locked
    assert vault.retrieve("a") == 1


def test_vault_without_credentials_starts_locked(vault: VaultMemory, vault_dir: Path) -> None:
    vault.store("a", 1)
    later = VaultMemory(vault_path=vault_dir)
    assert later.is_locked
    assert later.vault_path == vault_dir
    with pytest.raises(VaultLockedError):
        later.retrieve("a")
    later.unlock(key=vault.export_key())
    assert later.retrieve("a") == 1
    with pytest.raises(ValueError, match="not both"):
        later.unlock("pw", key=vault.export_key())


def test_context_manager_locks_on_exit(vault_dir: Path) -> None:
    with VaultMemory("pw", vault_dir, kdf_iterations=FAST) as vault:
        vault.store("a", 1)
    assert vault.is_locked


def test_two_handles_see_each_others_writes(vault: VaultMemory, vault_dir: Path) -> None:
    other = VaultMemory("correct horse", vault_dir)
    vault.store("a", 1)
    assert other.retrieve("a") == 1
    other.store("a", 2)
    other.store("b", 3)
    assert vault.retrieve("a") == 2
    assert [e.key for e in vault.list_entries()] == ["a", "b"]
    assert vault.delete("b")
    assert other.retrieve("b") is None


def test_vault_cannot_be_pickled(vault: VaultMemory) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(vault)


def test_repr_says_where_and_whether_locked(vault: VaultMemory, vault_dir: Path) -> None:
    assert str(vault_dir) in repr(vault) and "unlocked" in repr(vault)
    vault.lock()
    assert "locked" in repr(vault)


def test_bad_constructor_arguments(vault_dir: Path) -> None:
    with pytest.raises(ValueError, match="kdf_iterations"):
        VaultMemory("pw", vault_dir, kdf_iterations=10**12)
    with pytest.raises(ValueError, match="empty"):
        VaultMemory("", vault_dir)
    with pytest.raises(TypeError):
        VaultMemory(b"pw", vault_dir)  # type: ignore[arg-type]
    assert not vault_dir.exists()
