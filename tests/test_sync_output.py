"""What a sync shows: its line, a remote without a DSN's password, and a bar made only for
a sync of thousands of messages — driven by a real sync."""

from __future__ import annotations

from pathlib import Path

from sync_devices import devices

from activemirror_jupyter.core.sync.exchange import SyncReport
from activemirror_jupyter.sync_output import SHOWN_FROM, GrowingBar, remote_text, report_line


def test_the_line_and_the_remote_as_shown() -> None:
    assert report_line(SyncReport(1234, 0, "/srv/share")) == "pushed 1,234, pulled 0 ↔ /srv/share"
    assert remote_text(None) == "(none)"
    assert remote_text("/home/ada/a=b/share") == "/home/ada/a=b/share"
    hidden = {
        "postgresql://ada:hunter22@db/x": "postgresql://ada:***@db/x",
        "postgres://ada:hunter22@db:5432/x?sslmode=require": "postgres://ada:***@db:5432/x?sslmode=require",
        "postgresql://db/x?user=ada&password=hunter22": "postgresql://db/x?user=ada&password=***",
        "host=db user=ada password=hunter22 dbname=x": "host=db user=ada password=*** dbname=x",
        "postgresql://ada@db/x": "postgresql://ada@db/x",
    }
    for dsn, shown in hidden.items():
        assert remote_text(dsn) == shown


class Bar:
    """What tqdm offers the engine: total, update, refresh, close."""

    def __init__(self, total: int) -> None:
        self.total, self.n, self.closed = total, 0, False

    def update(self, n: int) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_bar_is_made_only_from_the_threshold_and_catches_up(tmp_path: Path) -> None:
    made: list[Bar] = []

    def make(total: int) -> Bar:
        made.append(Bar(total))
        return made[-1]

    a, b = devices(tmp_path, ["sqlite", "sqlite"])
    a.autosave = False
    session = a.create_session("Many")
    for i in range(30):
        session.send(f"note {i}")
    session.save()
    (tmp_path / "share").mkdir()
    with GrowingBar(make) as quiet:
        a.sync(tmp_path / "share", progress=quiet)
    assert SHOWN_FROM == 1_000 and made == [] and quiet.n == 30 and quiet.total == 30
    with GrowingBar(make, shown_from=10) as shown:
        report = b.sync(tmp_path / "share", progress=shown)
    [bar] = made
    assert report.pulled == 30 and (bar.total, bar.n, bar.closed) == (30, 30, True)
    a.close()
    b.close()
