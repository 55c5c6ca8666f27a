"""attachment_from: figures, DataFrames and rich reprs as attachments, stored and read back
from a real store — and the clear errors and documented fallbacks for what cannot be one."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from activemirror_jupyter import ActiveMirror, attachment_from
from activemirror_jupyter.capture.values import MIME_ORDER, best_representation, encode
from activemirror_jupyter.core.models import Attachment

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16  # the signature is what is checked
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'


class Rich:
    """An object with every rich repr of the contract; ``drop`` removes some."""

    def __init__(self, *drop: str) -> None:
        self.drop = set(drop)

    def _repr_png_(self) -> bytes | None:
        return None if "png" in self.drop else PNG

    def _repr_svg_(self) -> str | None:
        return None if "svg" in self.drop else SVG

    def _repr_markdown_(self) -> str | None:
        return None if "markdown" in self.drop else "**bold**"

    def _repr_json_(self) -> dict | None:
        return None if "json" in self.drop else {"a": [1, 2]}

    def _repr_html_(self) -> str | None:
        return None if "html" in self.drop else "<b>html</b>"

    def __repr__(self) -> str:
        return "Rich()"


def stored(attachment: Attachment, tmp_path: Path) -> Attachment:
    """The attachment as a fresh store hands it back (sent, saved, reopened)."""
    db = tmp_path / "values.db"
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.create_session("values")
        session.send("with an attachment", attachments=[attachment])
        session.save()
    with ActiveMirror(db_path=db) as mirror:
        (message,) = mirror.load_session(session.id).get_messages()
        (kept,) = message.attachments
        assert kept.read() == attachment.read()  # read before the store closes
        return kept


def test_a_figure_is_a_png_of_what_was_drawn(tmp_path: Path) -> None:
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([1, 3, 2])
    attachment = attachment_from(fig, "fig")
    assert (attachment.name, attachment.mime_type) == ("fig", "image/png")
    data = attachment.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = plt.imread(io.BytesIO(data))
    assert image.shape[0] > 20 and image.shape[1] > 20  # a real picture, not a placeholder
    kept = stored(attachment, tmp_path)
    assert (kept.name, kept.mime_type, kept.sha256) == ("fig", "image/png", attachment.sha256)
    plt.close(fig)


def test_a_figure_that_cannot_be_saved_is_a_clear_error() -> None:
    fig, ax = plt.subplots()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("renderer exploded")

    fig.savefig = broken  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="attachment 'fig'.*could not be saved as PNG.*exploded"):
        attachment_from(fig, "fig")
    plt.close(fig)


def test_a_dataframe_is_the_whole_frame_as_csv_with_its_index(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"city": ["Oslo", "Lima", "<b>x</b>"] * 100, "temp": [3.5, None, 19.0] * 100},
        index=pd.Index([f"r{i}" for i in range(300)], name="row"),
    )
    attachment = attachment_from(frame, "df")
    assert attachment.mime_type == "text/csv"
    back = pd.read_csv(io.StringIO(stored(attachment, tmp_path).read().decode()), index_col="row")
    pd.testing.assert_frame_equal(back, frame)  # every row, the index kept


def test_rich_reprs_in_the_contracts_order() -> None:
    expected = [
        ((), "image/png", PNG),
        (("png",), "image/svg+xml", SVG.encode()),
        (("png", "svg"), "text/markdown", b"**bold**"),
        (("png", "svg", "markdown"), "application/json", b'{"a": [1, 2]}'),
        (("png", "svg", "markdown", "json"), "text/html", b"<b>html</b>"),
        (("png", "svg", "markdown", "json", "html"), "text/plain", b"Rich()"),
    ]
    for drop, mime, data in expected:
        attachment = attachment_from(Rich(*drop), "obj")
        assert (attachment.mime_type, attachment.read()) == (mime, data), drop
    assert [m for _, m, _ in expected] == list(MIME_ORDER)


def test_a_mimebundle_counts_and_base64_png_is_decoded() -> None:
    class Bundle:
        def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
            return {"text/plain": "plain", "image/png": base64.b64encode(PNG).decode()}

    attachment = attachment_from(Bundle(), "b")
    assert (attachment.mime_type, attachment.read()) == ("image/png", PNG)


def test_a_failing_or_lying_repr_falls_back_to_the_next_one() -> None:
    class Flaky:
        def _repr_png_(self) -> bytes:
            return b"<script>alert(1)</script>"  # not a PNG: never kept as one

        def _repr_svg_(self) -> str:
            raise RuntimeError("svg broke")

        def _repr_json_(self) -> object:
            return {1, 2}  # not JSON

        def _repr_html_(self) -> str:
            return "<i>fallback</i>"

    attachment = attachment_from(Flaky(), "flaky")
    assert (attachment.mime_type, attachment.read()) == ("text/html", b"<i>fallback</i>")

    class Hopeless:
        def _repr_html_(self) -> str:
            raise RuntimeError("html broke")

        def __repr__(self) -> str:
            raise RuntimeError("repr broke")

    attachment = attachment_from(Hopeless(), "h")
    assert attachment.mime_type == "text/plain"
    text = attachment.read().decode()
    assert "Hopeless object" in text and "repr failed: RuntimeError" in text


def test_plain_values_and_text() -> None:
    assert attachment_from({"b": 2, "a": [1]}, "d").read() == b"{'b': 2, 'a': [1]}"
    long = attachment_from(list(range(40)), "xs").read().decode()
    assert long.startswith("[0,\n 1,\n")  # as IPython shows it (pretty), not one long line
    assert attachment_from(42, "n").read() == b"42"
    note = attachment_from("Grüße <b>", "note")
    assert (note.mime_type, note.read()) == ("text/plain", "Grüße <b>".encode())
    copy = attachment_from(Attachment.from_bytes("orig", "image/png", PNG), "renamed")
    assert (copy.name, copy.mime_type, copy.read()) == ("renamed", "image/png", PNG)


def test_bytes_need_an_explicit_attachment() -> None:
    for data in (b"\x89PNG", bytearray(b"x"), memoryview(b"x")):
        with pytest.raises(TypeError, match=r"Attachment\.from_bytes\(name, mime_type, data\)"):
            attachment_from(data, "raw")


def test_names_follow_the_id_rule() -> None:
    for bad in ("", "../etc", "_private", "a b", "x" * 200):
        with pytest.raises(ValueError, match="attachment name"):
            attachment_from(1, bad)


def test_an_oversized_value_is_refused_when_sent_and_nothing_is_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(5000)})
    with ActiveMirror(db_path=tmp_path / "small.db", max_attachment_bytes=1000) as mirror:
        session = mirror.create_session("small")
        with pytest.raises(ValueError, match="over the limit of 1,000 bytes"):
            session.send("too big", attachments=[attachment_from(frame, "df")])
        assert session.message_count == 0


def test_best_representation_of_an_output_bundle() -> None:
    assert best_representation({"text/plain": "x", "text/html": "<p>x</p>"}) == (
        "text/html",
        b"<p>x</p>",
    )
    assert best_representation({"image/png": "not base64!", "text/plain": "x"}) == (
        "text/plain",
        b"x",
    )
    assert best_representation({"application/vnd.custom+json": {}}) is None
    assert encode("text/plain", ["a\n", "b"]) == b"a\nb"  # nbformat's list of lines
    assert encode("application/json", '{"ok": true}') == b'{"ok": true}'
    assert encode("application/json", "{nope") is None
    assert json.loads(encode("application/json", {"nan": 1.5}) or b"") == {"nan": 1.5}


def test_importing_attachment_from_loads_no_jupyter_layer() -> None:
    code = (
        "import sys\nfrom activemirror_jupyter import attachment_from, provenance\n"
        "attachment_from('text', 'n')\n"
        "heavy = sorted(k for k in sys.modules if k.split('.')[0] in "
        "('IPython', 'pandas', 'ipywidgets', 'matplotlib'))\nprint(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
