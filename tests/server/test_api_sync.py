"""``GET /activemirror/api/sync``: the store's last sync, as any process recorded it — null
before the first, then when, where (as the sync was given it), pushed and pulled, or the
error of a sync that failed."""

from __future__ import annotations

import re

import pytest
from sync_devices import desk_synced, device, identities

from activemirror_jupyter import ActiveMirror, SyncError

# Sync keeps its record in the store a device syncs from: SQLite (the default) and JSON.
device_stores = pytest.mark.parametrize("store", ["default", "json"], indirect=True)
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def served_device(store, identity) -> ActiveMirror:
    """The store the server serves, opened as a syncing device (a kernel would)."""
    mirror = ActiveMirror(**store.options, identity=identity, autosave=True)
    store._opened.append(mirror)
    return mirror


@device_stores
async def test_before_any_sync_there_is_none(store, api):
    notes = store.open().create_session("Notes")
    notes.send("saved, never synced")
    notes.save()
    status, body, headers = await api("sync")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body == {"last": None}


@device_stores
async def test_a_sync_by_another_process_is_shown_with_its_counts(store, api, tmp_path):
    laptop_id, desk, folder = desk_synced(tmp_path)
    _, before, _ = await api("sync")  # the server has opened its store by now

    laptop = served_device(store, laptop_id)
    laptop.create_session("On the laptop").send("three")
    report = laptop.sync(str(folder))
    status, body, _ = await api("sync")

    assert before == {"last": None}
    assert (report.pushed, report.pulled) == (1, 2)
    last = body["last"]
    assert status == 200 and ISO_Z.fullmatch(last["at"])
    assert {k: last[k] for k in ("remote", "pushed", "pulled", "error")} == {
        "remote": str(folder),
        "pushed": 1,
        "pulled": 2,
        "error": None,
    }
    desk.close()


@device_stores
async def test_a_failed_sync_is_shown_with_its_error(store, api, tmp_path, monkeypatch):
    (mine,) = identities(tmp_path / "mine", 1)
    (stranger_id,) = identities(tmp_path / "theirs", 1)
    stranger = device(tmp_path, "sqlite", "stranger", stranger_id)
    stranger.create_session("Theirs").send("not yours")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared").mkdir()
    stranger.sync("shared")
    laptop = served_device(store, mine)
    laptop.create_session("Mine").send("hello")

    _, before, _ = await api("changes")
    with pytest.raises(SyncError, match="another identity"):
        laptop.sync("shared")  # a relative folder: shown as it was given
    status, body, _ = await api("sync")
    _, after, _ = await api("changes")

    last = body["last"]
    assert status == 200 and last["remote"] == "shared"
    assert (last["pushed"], last["pulled"]) == (0, 0)
    assert "another identity" in last["error"]
    assert after != before  # no session changed, yet the sidebar hears of it
    stranger.close()


@pytest.mark.parametrize("store", ["default"], indirect=True)
async def test_a_stranger_learns_nothing(store, raw_get):
    status, _, _ = await raw_get("/activemirror/api/sync", auth=False)
    assert status == 403
