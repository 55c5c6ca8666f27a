# ruff: noqa: F811
"""Autolog with outputs, in a real IPython shell: each cell a ``system`` message with the
convention's metadata and its outputs as attachments ``out-1``, ``out-2``, … in order —
and a cell whose capture fails still runs, shows and returns exactly what it would."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

# The fixtures `ipython` and `shell` come from there (so tests name them as parameters).
from ipython_shell import SECRET, Shell, ipython, shell  # noqa: F401

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def logged(shell: Shell) -> list[Message]:
    """The autologged cells of the current session, as the store has them."""
    session = shell.magics.session
    with ActiveMirror(db_path=shell.magics.mirror.store.path) as mirror:  # type: ignore[attr-defined]
        messages = mirror.load_session(session.id).get_messages()
        for message in messages:
            for attachment in message.attachments:
                attachment.read()  # the bytes are really in the store
    return [m for m in messages if m.metadata.get("kind") == "cell"]


def outputs(message: Message) -> list[tuple[str, str, bytes]]:
    """``(output_type, mime_type, bytes)`` of each output, in the metadata's order."""
    found = []
    for entry in message.metadata["outputs"]:
        attachment = message.attachment(entry["attachment"])
        assert attachment is not None, entry
        kind = entry["output_type"] + (f":{entry['stream']}" if "stream" in entry else "")
        found.append((kind, attachment.mime_type, attachment.read()))
    return found


def no_wrappers_left(shell: Shell) -> None:
    """No method of the output paths is one of the recorder's wrappers any more."""

    def wrapped(target: object) -> list[str]:
        return [
            name
            for name, value in vars(target).items()
            if getattr(value, "__qualname__", "").startswith("OutputRecorder.")
        ]

    for target in (sys.stdout, sys.stderr, shell.ip.display_pub, shell.ip.displayhook):
        assert wrapped(target) == [], target


@pytest.fixture
def autolog(shell: Shell) -> Shell:
    shell.run("%mirror_session new Logged analysis")
    assert "Autolog is on (with outputs)" in shell.run("%mirror_session autolog on").out
    return shell


def test_each_cell_is_a_system_message_with_its_outputs_in_order(autolog: Shell) -> None:
    shell = autolog
    shell.ns["__session__"] = "/home/me/study.ipynb"
    source = (
        "import sys\n"
        "from IPython.display import display, HTML, Markdown\n"
        "print('first line')\n"
        "display(HTML('<b>shown</b>'))\n"
        "print('to stderr', file=sys.stderr)\n"
        "display(Markdown('*md*'))\n"
        "print('after')\n"
        "21 * 2"
    )
    ran = shell.run(source)
    assert ran.success and ran.result == 42
    (cell,) = logged(shell)
    assert cell.role == "system" and cell.content == source
    meta = cell.metadata
    assert meta["kind"] == "cell" and meta["status"] == "ok" and "error" not in meta
    assert meta["execution_count"] == ran.count
    assert isinstance(meta["duration_s"], float) and meta["duration_s"] >= 0
    assert meta["notebook"] == "/home/me/study.ipynb"
    assert [e["attachment"] for e in meta["outputs"]] == [f"out-{i}" for i in range(1, 7)]
    assert outputs(cell) == [
        ("stream:stdout", "text/plain", b"first line\n"),
        ("display_data", "text/html", b"<b>shown</b>"),
        ("stream:stderr", "text/plain", b"to stderr\n"),
        ("display_data", "text/markdown", b"*md*"),
        ("stream:stdout", "text/plain", b"after\n"),
        ("execute_result", "text/plain", b"42"),
    ]
    assert [a.name for a in cell.attachments] == [f"out-{i}" for i in range(1, 7)]
    no_wrappers_left(shell)


def test_a_failing_cell_is_recorded_with_its_error_and_what_it_printed(autolog: Shell) -> None:
    ran = autolog.run("print('before the failure')\n1 / 0")
    assert not ran.success
    (cell,) = logged(autolog)
    assert cell.metadata["status"] == "error"
    assert cell.metadata["error"] == "ZeroDivisionError: division by zero"
    assert outputs(cell) == [("stream:stdout", "text/plain", b"before the failure\n")]
    syntax = autolog.run("def broken(:")
    assert not syntax.success
    assert logged(autolog)[-1].metadata["error"].startswith("SyntaxError")


def test_what_the_user_sees_is_the_same_with_autolog_on(shell: Shell) -> None:
    cells = [
        "print('a'); import sys; print('b', file=sys.stderr)",
        "from IPython.display import display, HTML\ndisplay(HTML('<i>x</i>'), display_id='d')",
        "{'k': list(range(3))}",
        "1 / 0",
    ]

    def seen() -> list[tuple[Any, ...]]:
        runs = [shell.run(c) for c in cells]
        # Execution counts differ between the two runs; everything else must not.
        return [
            (r.success, repr(r.result), r.out.replace(f"[{r.count}]", "[n]"), r.err.count("\n"))
            for r in runs
        ]

    shell.run("%mirror_session new Plain")
    without = seen()
    shell.run("%mirror_session autolog on")
    with_autolog = seen()
    assert with_autolog == without
    assert len(logged(shell)) == len(cells)
    no_wrappers_left(shell)


@pytest.fixture
def inline_backend(shell: Shell) -> Iterator[None]:
    """matplotlib's inline backend in the shell, as ipykernel sets it up (the plain shell
    cannot run ``%matplotlib inline``: it has no GUI loop to enable)."""
    import matplotlib
    from IPython.core.pylabtools import activate_matplotlib
    from matplotlib_inline.backend_inline import configure_inline_support

    inline = "module://matplotlib_inline.backend_inline"
    previous, interactive = matplotlib.get_backend(), matplotlib.is_interactive()
    activate_matplotlib(inline)  # what %matplotlib inline does before it enables a GUI loop
    configure_inline_support(shell.ip, inline)
    yield
    configure_inline_support(shell.ip, "agg")
    matplotlib.use(previous)
    matplotlib.interactive(interactive)


def test_inline_figures_are_kept_as_png(autolog: Shell, inline_backend: None) -> None:
    ran = autolog.run(
        "import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 2))\nplt.plot([1, 3, 2])\nNone"
    )
    assert ran.success, ran.err
    (cell,) = logged(autolog)
    ((kind, mime, data),) = outputs(cell)
    assert (kind, mime) == ("display_data", "image/png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_long_output_is_cut_with_a_note_and_the_user_sees_all_of_it(autolog: Shell) -> None:
    autolog.magics.mirror.max_attachment_bytes = 10_000
    ran = autolog.run("print('é' * 30_000, end='')\nprint('\\nthe end')")
    assert ran.success and ran.out.count("é") == 30_000 and "the end" in ran.out
    (cell,) = logged(autolog)
    (entry,) = cell.metadata["outputs"]
    assert entry == {
        "attachment": "out-1",
        "output_type": "stream",
        "stream": "stdout",
        "truncated": True,
    }
    (out,) = cell.attachments
    text = out.read().decode("utf-8")  # cut at a character, not inside one
    assert out.size <= 10_000 and text.startswith("éé")
    assert "[output truncated: 60,009 bytes in all" in text


def test_a_cell_printing_50_mb_is_unaffected_and_its_log_is_truncated(autolog: Shell) -> None:
    limit = autolog.magics.mirror.max_attachment_bytes  # the default, 20 MiB
    ran = autolog.run("import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 2**20)\n'done'")
    assert ran.success and ran.result == "done" and len(ran.out) >= 50 * 2**20
    (cell,) = logged(autolog)
    first, result = cell.metadata["outputs"]
    assert first["truncated"] is True and "truncated" not in result
    stream = cell.attachment("out-1")
    assert stream is not None and stream.size <= limit
    assert stream.read().endswith(b"kept]\n")


def test_big_displays_keep_a_representation_that_fits(autolog: Shell) -> None:
    autolog.magics.mirror.max_attachment_bytes = 1_000
    autolog.ns["png"] = PNG + b"\x00" * 5_000
    autolog.run(
        "from IPython.display import display\n"
        "display({'image/png': png, 'text/plain': '<Figure>'}, raw=True)\n"
        "display({'image/png': png}, raw=True)"
    )
    (cell,) = logged(autolog)
    (kind1, mime1, data1), (kind2, mime2, data2) = outputs(cell)
    assert (mime1, data1) == ("text/plain", b"<Figure>")  # the text that fits
    assert mime2 == "text/plain" and b"image/png output of 5,072 bytes not kept" in data2
    assert all(e["truncated"] for e in cell.metadata["outputs"])


def test_a_widget_is_kept_as_a_line_naming_it(autolog: Shell) -> None:
    autolog.run("%%mirror_send\na note for the panel")
    ran = autolog.run("%mirror_session browse")
    assert type(ran.result).__name__ == "SessionBrowser"
    cell = logged(autolog)[-1]
    assert outputs(cell) == [("execute_result", "text/plain", b"[SessionBrowser widget]")]


def test_cleared_and_updated_displays_are_kept_as_finally_shown(autolog: Shell) -> None:
    autolog.run(
        "from IPython.display import display, clear_output, update_display\n"
        "print('progress 1')\n"
        "clear_output()\n"
        "print('progress 2')\n"
        "clear_output(wait=True)\n"
        "display('final', display_id='status')\n"
        "update_display('final, updated', display_id='status')"
    )
    (cell,) = logged(autolog)
    assert outputs(cell) == [("display_data", "text/plain", b"'final, updated'")]


def test_captured_output_is_not_recorded(autolog: Shell) -> None:
    autolog.run("%%capture hidden\nprint('not shown')\n'also not shown'")
    (cell,) = logged(autolog)
    assert cell.metadata["outputs"] == [] and cell.attachments == ()


def test_no_outputs_skip_errors_and_skip_magics(shell: Shell) -> None:
    shell.run("%mirror_session new Options")
    ran = shell.run("%mirror_session autolog on --no-outputs --skip-errors --skip-magics")
    assert "without outputs, skipping cells that fail, skipping magic-only cells" in ran.out
    shell.run("print('kept as code only')\n7")
    shell.run("1 / 0")
    shell.run("%time x = 1\n# a comment\n!true")
    shell.run("%%timeit -n1 -r1\npass")
    shell.run("y = 2\n%time z = 3")
    cells = logged(shell)
    assert [c.content for c in cells] == ["print('kept as code only')\n7", "y = 2\n%time z = 3"]
    assert all("outputs" not in c.metadata and not c.attachments for c in cells)
    line = shell.error("%mirror_session autolog off --skip-errors")
    assert "go with `autolog on`" in line
    assert "Autolog is on" in shell.run("%mirror_session autolog").out  # unchanged


def test_vault_cells_keep_no_outputs(shell: Shell) -> None:
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    shell.ns["token"] = SECRET
    shell.run("%vault store api_key $token")
    del shell.ns["token"]
    shell.run("%mirror_session new Secrets stay out")
    shell.run("%mirror_session autolog on")
    ran = shell.run("%vault get api_key --show")
    assert SECRET in ran.out  # the user asked to see it
    shell.run("k = %vault get api_key\nprint(len(k))\nk")
    (shown, assigned) = logged(shell)
    assert shown.content == "%vault [arguments not logged]"
    assert shown.metadata["outputs"] == [] and shown.attachments == ()
    assert assigned.metadata["outputs"] == [] and assigned.attachments == ()
    export = shell.run("%mirror_session export --format json").out
    assert SECRET not in export and "api_key" not in export


def test_a_cell_run_by_a_cell_is_part_of_it(autolog: Shell) -> None:
    autolog.run("get_ipython().run_cell(\"print('inner')\")\nprint('outer')")
    (cell,) = logged(autolog)
    assert outputs(cell) == [("stream:stdout", "text/plain", b"inner\nouter\n")]


def test_a_capture_problem_is_one_warning_line_and_the_cell_stands(
    autolog: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the encoder of displays and results breaks. The cell still shows
    and returns what it would; the log keeps the rest; the user gets one warning line."""
    from activemirror_jupyter.capture import outputs as outputs_module

    def broken(bundle: object) -> list:
        raise RuntimeError("encoder broke")

    monkeypatch.setattr(outputs_module, "representations", broken)
    ran = autolog.run(
        "from IPython.display import display\nprint('still printed')\ndisplay(1)\n6 * 7"
    )
    assert ran.success and ran.result == 42
    assert "still printed" in ran.out and "Out[" in ran.out
    (warning,) = [line for line in ran.err.splitlines() if line.strip()]
    assert warning == (
        "autolog: some of this cell's output was not recorded: RuntimeError: encoder broke"
    )
    (cell,) = logged(autolog)
    assert outputs(cell) == [("stream:stdout", "text/plain", b"still printed\n")]
    no_wrappers_left(autolog)


def test_a_capture_that_cannot_start_is_one_warning_line(
    autolog: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activemirror_jupyter.capture import outputs as outputs_module

    def broken(self: object) -> None:
        raise RuntimeError("cannot wrap")

    monkeypatch.setattr(outputs_module.OutputRecorder, "start", broken)
    ran = autolog.run("print('runs anyway')\n5")
    assert ran.success and ran.result == 5 and "runs anyway" in ran.out
    (warning,) = [line for line in ran.err.splitlines() if line.strip()]
    assert warning == (
        "autolog: some of this cell's output was not recorded: RuntimeError: cannot wrap"
    )
    (cell,) = logged(autolog)  # the cell is in the log, without outputs
    assert cell.content == "print('runs anyway')\n5" and "outputs" not in cell.metadata


def test_a_session_sealed_elsewhere_is_one_warning_line(autolog: Shell) -> None:
    session = autolog.magics.session
    autolog.run("a = 1")
    with ActiveMirror(db_path=autolog.magics.mirror.store.path) as other:  # type: ignore[attr-defined]
        other.load_session(session.id).seal()
    ran = autolog.run("b = 2\nb")
    assert ran.success and ran.result == 2
    (line,) = [line for line in ran.err.splitlines() if line.strip()]
    assert line.startswith("autolog: this cell was not recorded:") and "sealed" in line


def test_unloading_inside_a_cell_removes_every_wrapper(autolog: Shell) -> None:
    ran = autolog.run("print('x')\n%unload_ext activemirror_jupyter")
    assert ran.success
    no_wrappers_left(autolog)


# -- provenance ---------------------------------------------------------------------------------


def test_new_and_the_first_autolog_store_provenance(shell: Shell) -> None:
    shell.run("%mirror_session new With provenance")
    facts = shell.magics.session.metadata["provenance"]
    assert set(facts) == {"notebook", "python", "platform", "hostname", "user", "packages", "git"}
    assert "ipython" in facts["packages"]

    with ActiveMirror(db_path=shell.magics.mirror.store.path) as other:  # type: ignore[attr-defined]
        older = other.create_session("Made without provenance")
        older.save()
    shell.run(f"%mirror_session load {older.id}")
    assert "provenance" not in shell.magics.session.metadata
    shell.run("%mirror_session autolog on")
    assert shell.magics.session.metadata["provenance"]["python"] == facts["python"]
    table = shell.run("%mirror_session provenance").result
    assert list(table.columns) == ["field", "value"]
    rows = dict(zip(table["field"], table["value"], strict=True))
    assert rows["python"] == facts["python"] and "package ipython" in rows


def test_autolog_without_a_session_gives_the_new_session_provenance(shell: Shell) -> None:
    shell.run("%mirror_session autolog on")
    shell.run("value = 3")
    assert "provenance" in shell.magics.session.metadata
    assert [c.content for c in logged(shell)] == ["value = 3"]


def test_provenance_subcommand_without_a_session_and_now(shell: Shell) -> None:
    ran = shell.run("%mirror_session provenance")
    assert "No current session" in ran.out and "python" in list(ran.result["field"])
    shell.run("%mirror_session new Fresh")
    ran = shell.run("%mirror_session provenance --now")
    assert "python" in list(ran.result["field"])
    assert "no current session" not in ran.out.lower()


def test_a_sealed_session_refuses_autolog(shell: Shell) -> None:
    shell.run("%mirror_session new To seal")
    shell.run("%%mirror_send\nfinal words")
    shell.run("%mirror_session seal")
    line = shell.error("%mirror_session autolog on")
    assert "is sealed" in line and "%mirror_session new" in line
    assert "To seal' (session_" in line  # which session, by its title and id
