"""Responder benchmark: what a responder adds to ``Session.send``, and how soon a streaming
reply is on screen.

Run: ``.venv/bin/python benchmarks/bench_responder.py``. Offline: the models are the
``llm-echo`` plugin's echo and a streaming echo registered here; llm's user folder is a
temporary one.

1. ``send()`` with a responder that returns at once, against ``send()`` without one, measured
   in the same run (memory store, and SQLite with autosave as the magics use it). A reply
   means a second stored message, so the fairer baseline is also shown: sending the user
   message and an assistant message by hand.
2. ``%%mirror_send`` with a streaming echo model in a real InteractiveShell: the time to the
   first rendered chunk against the time to the whole reply.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("LLM_USER_PATH", tempfile.mkdtemp(prefix="bench-llm-"))
os.environ["ACTIVEMIRROR_HOME"] = tempfile.mkdtemp(prefix="bench-am-")

import llm  # noqa: E402
from IPython.core.displaypub import CapturingDisplayPublisher  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from llm_echo import Echo  # noqa: E402
from traitlets.config import Config  # noqa: E402

from activemirror_jupyter import ActiveMirror, LLMResponder, Message  # noqa: E402

CONTEXT = 20  # max_context_messages: what a responder sees
CHUNK_CHARS = 12  # a streaming echo chunk, roughly a few tokens
CHUNK_DELAY = 0.002  # seconds between chunks, as a fast model streams


def instant(context: list[Message]) -> str:
    return "ok"


def send_overhead(label: str, storage: str, batches: int, **options: Any) -> None:
    """Median seconds per send() of batches of 100, the three variants taking turns so that
    noise from other processes falls on all of them alike."""
    variants = {
        "none": (ActiveMirror(storage, **options), False),
        "by hand": (ActiveMirror(storage, **options), True),
        "instant": (ActiveMirror(storage, **options, responder=instant), False),
    }
    sessions = {
        name: (mirror.create_session("bench", max_context_messages=CONTEXT), by_hand)
        for name, (mirror, by_hand) in variants.items()
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(batches):
        for name, (session, by_hand) in sessions.items():
            start = time.perf_counter()
            for i in range(100):
                session.send(f"message {i} about the plan")
                if by_hand:
                    session.send("ok", role="assistant")
            times[name].append((time.perf_counter() - start) / 100)
    for mirror, _ in variants.values():
        mirror.close()
    plain, by_hand, replied = (statistics.median(times[n]) for n in variants)
    print(
        f"send() on {label:<17} without a responder {plain * 1e6:8.1f} µs | "
        f"user + assistant by hand {by_hand * 1e6:8.1f} µs | "
        f"instant responder {replied * 1e6:8.1f} µs"
    )
    print(
        f"    ratio responder / none = {replied / plain:.2f}x;  "
        f"responder / by hand = {replied / by_hand:.2f}x"
    )


# -- streaming ---------------------------------------------------------------------------------


class StreamingEcho(Echo):
    """llm-echo's echo, streamed a few characters at a time like a real model."""

    model_id = "echo-stream"

    def execute(self, prompt, stream, response, conversation=None) -> Iterator[str]:
        text = "".join(super().execute(prompt, stream, response, conversation))
        for start in range(0, len(text), CHUNK_CHARS):
            if start:
                time.sleep(CHUNK_DELAY)
            yield text[start : start + CHUNK_CHARS]


class StreamingPlugin:
    @llm.hookimpl
    def register_models(self, register: Callable[..., None]) -> None:
        register(StreamingEcho())


class TimedDisplay(CapturingDisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
        super().publish(data, metadata, source, transient=transient, update=update)
        self.outputs[-1]["at"] = time.perf_counter()


def streaming(runs: int = 5) -> None:
    llm.plugins.pm.register(StreamingPlugin(), name="bench-streaming-echo")
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.display_pub = TimedDisplay()
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("load_ext", "activemirror_jupyter")
        shell.run_line_magic("config", "MirrorMagics.storage_type = 'memory'")
        shell.run_line_magic("mirror_session", "new bench")
        shell.run_line_magic("mirror_session", "responder echo-stream")
    first, total, draws, chunks = [], [], [], 0
    body = "Summarise the plan for the week in a few lines, please. " * 4
    for _ in range(runs):
        shell.display_pub.outputs.clear()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the magic's "Added a message" line
            shell.run_cell_magic("mirror_send", "", body)
        end = time.perf_counter()
        shown = shell.display_pub.outputs
        first.append(shown[0]["at"] - start)
        total.append(end - start)
        draws.append(len(shown))
        reply = shell.magics_manager.registry["MirrorMagics"].session.get_messages(limit=1)[0]
        chunks = -(-len(reply.content) // CHUNK_CHARS)
    ttfc, whole = statistics.median(first), statistics.median(total)
    print(
        f"streaming echo via %%mirror_send ({chunks} chunks, {CHUNK_DELAY * 1e3:.0f} ms apart): "
        f"first chunk on screen after {ttfc * 1e3:.1f} ms, whole reply {whole * 1e3:.1f} ms "
        f"(first/total = {ttfc / whole:.2f}; {statistics.median(draws):.0f} redraws)"
    )
    shell.run_line_magic("unload_ext", "activemirror_jupyter")


def main() -> int:
    print(f"Python {sys.version.split()[0]}, llm {version('llm')}, llm-echo {version('llm-echo')}")
    send_overhead("memory", "memory", batches=30)
    with tempfile.TemporaryDirectory() as folder:
        send_overhead(
            "sqlite + autosave", "sqlite", 5, db_path=Path(folder) / "bench.db", autosave=True
        )
    # the real LLMResponder with llm-echo, for scale (no network; JSON of the context)
    session = ActiveMirror("memory", responder=LLMResponder("echo")).create_session(
        "echo", max_context_messages=CONTEXT
    )
    start = time.perf_counter()
    for i in range(200):
        session.send(f"message {i}")
    print(f"send() with LLMResponder('echo'): {(time.perf_counter() - start) / 200 * 1e3:.2f} ms")
    streaming()
    return 0


if __name__ == "__main__":
    sys.exit(main())
