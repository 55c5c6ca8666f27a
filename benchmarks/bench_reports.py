"""Reports: the HTML and notebook exports of a 10,000-message session with 50 images.

Every figure is measured in this one run, against the JSON export of the same session
(the baseline: ``Session.export("json")``, which already reads every message and every
attachment's bytes and writes them all):

1. Seconds (best of ``--repeat``) and peak memory (``tracemalloc``, in its own run) of
   ``export("html")`` and ``export("ipynb")`` — the text returned whole, as the API does —
   and of the same exports streamed to a file (``export_to_path``, as the command line and
   ``--output`` do), each with its ratio to JSON.
2. The path not taken for HTML: the notebook export rendered by nbconvert
   (``HTMLExporter``, template ``basic`` — the one without JavaScript), time and peak
   memory, and whether its page holds a ``<script>``. (``--no-nbconvert`` skips it.)

The session (SQLite): 5,000 notes of Markdown (a paragraph with emphasis, some lists and
code spans) and 5,000 autologged cells (a few lines of Python; every third with a stdout
output, every fifth with a result), 50 of which show a 640x480 PNG figure (about 40 KB
each, like matplotlib's).

Run: ``python benchmarks/bench_reports.py`` (about a minute; writes only to a temporary
folder).
"""

from __future__ import annotations

import argparse
import math
import struct
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timing import best_of

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.transfer.exports import export_to_path

MESSAGES = 10_000
IMAGES = 50


def figure_png(seed: int, width: int = 640, height: int = 480) -> bytes:
    """A PNG shaped like a plot: white, axes, a curve, some noise (about 40 KB)."""
    rows = []
    state = seed * 2654435761 % 2**32
    for y in range(height):
        row = bytearray(b"\x00" + b"\xff" * (3 * width))
        for x in range(0, width, 7):
            state = (state * 1103515245 + 12345) % 2**31
            if state % 5 == 0:
                row[1 + 3 * x : 4 + 3 * x] = bytes((state % 256, 200, 255 - state % 256))
        curve = int(width / 2 + width / 3 * math.sin((y + seed * 9) / 40))
        row[1 + 3 * curve : 4 + 3 * curve] = b"\x1f\x77\xb4"
        if y == height - 40:
            row[1:] = b"\x00" * (3 * width)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"".join(rows), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def note(i: int) -> str:
    extra = ""
    if i % 4 == 1:
        extra = "\n\n- first point\n- second point with `code`\n- third"
    return (
        f"Note {i}: the **mean** went up by {i % 17}% after the *second* change; "
        "see the plot below and compare with last week's numbers before deciding." + extra
    )


def build(path: Path) -> str:
    """The session; returns its id."""
    figures = [figure_png(seed) for seed in range(IMAGES)]
    image_every = MESSAGES // 2 // IMAGES  # cells between two figures
    with ActiveMirror(db_path=path) as mirror:
        session = mirror.create_session("Ten thousand messages, fifty figures")
        for i in range(MESSAGES):
            if i % 2:
                session.send(note(i))
                continue
            n = i // 2
            outputs, attachments = [], []
            if n % 3 == 0:
                attachments.append(
                    Attachment.from_bytes(
                        f"out-{len(attachments) + 1}", "text/plain", f"value {n}\n".encode()
                    )
                )
                outputs.append({"output_type": "stream", "stream": "stdout"})
            if n % image_every == 0 and n // image_every < IMAGES:
                png = figures[n // image_every]
                attachments.append(
                    Attachment.from_bytes(f"out-{len(attachments) + 1}", "image/png", png)
                )
                outputs.append({"output_type": "display_data"})
            if n % 5 == 0:
                attachments.append(
                    Attachment.from_bytes(
                        f"out-{len(attachments) + 1}", "text/plain", str(n * 2).encode()
                    )
                )
                outputs.append({"output_type": "execute_result"})
            for k, entry in enumerate(outputs, start=1):
                entry["attachment"] = f"out-{k}"
            metadata = {
                "kind": "cell",
                "execution_count": n + 1,
                "duration_s": 0.01,
                "status": "ok",
                "notebook": "study.ipynb",
                "outputs": outputs,
            }
            source = (
                f"x_{n} = compute({n}, window=7)\nfor k in range(3):\n    x_{n} += k\nprint(x_{n})"
            )
            session.send(source, "system", metadata, attachments=attachments)
        session.save()
        return session.id


def timed(fn: Callable[[], Any], repeat: int) -> float:
    return best_of(fn, repeat)


def peak_of(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated while ``fn`` runs (tracemalloc; a run of its own)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def nbconvert_html(notebook_text: str) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(
        nbformat.reads(notebook_text, as_version=4)
    )
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best kept)")
    parser.add_argument("--no-nbconvert", action="store_true", help="skip the nbconvert path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        session_id = build(root / "store.db")
        built = time.perf_counter() - start
        print(f"built {MESSAGES:,} messages with {IMAGES} figures in {built:.1f} s")
        with ActiveMirror(db_path=root / "store.db") as mirror:
            session = mirror.load_session(session_id)
            sizes: dict[str, int] = {}

            def whole(fmt: str) -> Callable[[], Any]:
                def run() -> None:
                    sizes[fmt] = len(session.export(fmt).encode("utf-8"))

                return run

            def streamed(fmt: str) -> Callable[[], Any]:
                return lambda: export_to_path(session, fmt, root / f"report.{fmt}")

            whole("html")()  # Pygments, mistune and their caches, loaded once
            rows: list[tuple[str, float, int, int]] = []
            for label, fn, fmt in (
                ("json, returned", whole("json"), "json"),
                ("html, returned", whole("html"), "html"),
                ("ipynb, returned", whole("ipynb"), "ipynb"),
                ("html, to a file", streamed("html"), "html"),
                ("ipynb, to a file", streamed("ipynb"), "ipynb"),
            ):
                seconds = timed(fn, args.repeat)
                rows.append((label, seconds, peak_of(fn), sizes[fmt]))
            base_s, base_peak = rows[0][1], rows[0][2]
            heads = ("seconds", "x json", "peak MB", "x json", "output MB")
            print(f"{'export':<18} " + " ".join(f"{h:>9}" for h in heads))
            for label, seconds, peak, size in rows:
                print(
                    f"{label:<18} {seconds:9.2f} {seconds / base_s:9.2f} {peak / 1e6:9.1f} "
                    f"{peak / base_peak:9.2f} {size / 1e6:9.1f}"
                )
            if not args.no_nbconvert:
                notebook = session.export("ipynb")
                nbconvert_html(notebook)  # templates loaded once
                page: dict[str, str] = {}

                def via_nbconvert() -> None:
                    page["html"] = nbconvert_html(session.export("ipynb"))

                seconds = timed(via_nbconvert, 1)
                peak = peak_of(via_nbconvert)
                ours = next(r for r in rows if r[0] == "html, returned")
                print(
                    f"html via nbconvert (ipynb export + HTMLExporter 'basic'): {seconds:.2f} s "
                    f"({seconds / ours[1]:.1f}x ours), peak {peak / 1e6:.1f} MB "
                    f"({peak / ours[2]:.1f}x ours); its page holds <script>: "
                    f"{'<script' in page['html'].lower()}"
                )


if __name__ == "__main__":
    main()
