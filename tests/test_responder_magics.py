"""``%mirror_session responder`` and ``%%mirror_send`` with a responder, in a real
InteractiveShell, with the real ``llm`` library and the echo / test models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm_models
import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from llm_models import SECRET, STREAMED
from traitlets.config import Config

from activemirror_jupyter import assistant
from activemirror_jupyter.core.markup import safe_markdown
from activemirror_jupyter.core.responders import REDACTED, LLMResponder
from activemirror_jupyter.core.vault import VaultMemory

llm_user_dir = llm_models.llm_user_dir
test_models = llm_models.test_models


def make_shell(config: Config | None = None) -> InteractiveShell:
    config = config or Config()
    config.HistoryManager.enabled = False
    # the singleton: IPython.display.display publishes through InteractiveShell.instance()
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.display_pub = CapturingDisplayPublisher()
    shell.run_line_magic("load_ext", "activemirror_jupyter")
    return shell


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = make_shell()
    yield shell
    shell.run_line_magic("unload_ext", "activemirror_jupyter")
    shell.clear_instance()


def magics(shell: InteractiveShell) -> Any:
    return shell.magics_manager.registry["MirrorMagics"]


def outputs(shell: InteractiveShell) -> list[dict[str, Any]]:
    return shell.display_pub.outputs


def markdown_outputs(shell: InteractiveShell) -> list[str]:
    return [o["data"]["text/markdown"] for o in outputs(shell) if "text/markdown" in o["data"]]


def send(shell: InteractiveShell, body: str, line: str = "") -> None:
    shell.run_cell_magic("mirror_send", line, body)


# -- choosing the responder ----------------------------------------------------------------


def test_without_a_responder_nothing_is_asked_or_shown(ip, capsys):
    ip.run_line_magic("mirror_session", "responder")
    assert "No responder" in capsys.readouterr().out
    send(ip, "just a note")
    assert outputs(ip) == []
    assert [m.role for m in magics(ip).session.get_messages()] == ["user"]


def test_responder_model_then_mirror_send_shows_the_reply_as_markdown(ip, capsys):
    ip.run_line_magic("mirror_session", 'new "Assistant"')
    ip.run_line_magic("mirror_session", 'responder echo --system "Be brief."')
    assert "Replies come from the model 'echo', with a system prompt." in capsys.readouterr().out

    send(ip, "What is 2 + 2?")

    messages = magics(ip).session.get_messages()
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = json.loads(messages[1].content)
    assert (reply["prompt"], reply["system"]) == ("What is 2 + 2?", "Be brief.")
    shown = markdown_outputs(ip)[-1]
    assert shown.startswith("**assistant** · `echo`\n\n")
    assert '"prompt": "What is 2 + 2?"' in shown.replace("&quot;", '"')
    assert "Added a user message to 'Assistant' (2 messages, saved)." in capsys.readouterr().out


def test_reply_markdown_renders_but_its_html_is_inert(ip):
    ip.run_line_magic("mirror_session", "responder echo")
    hostile = (
        "# Result\n\n"
        "- <img src=x onerror=alert(1)>\n"
        "- [click](javascript:alert(1)) and `a < b` inline\n\n"
        "```python\nif a < b:\n    print('<b>')\n```\n"
    )
    send(ip, json.dumps({"raw": hostile}))  # echo replies with "raw" as it is
    shown = markdown_outputs(ip)[-1]
    assert "# Result" in shown and "\n- " in shown  # Markdown structure kept
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "](javascript:" not in shown
    assert "`a < b`" in shown  # code is shown as written
    assert "```python\nif a < b:\n    print('<b>')\n```" in shown


def test_a_streaming_reply_is_shown_before_it_is_finished(ip, test_models, monkeypatch):
    monkeypatch.setattr(assistant, "REDRAW_INTERVAL", 0.0)
    ip.run_line_magic("mirror_session", "responder streamer")
    send(ip, "stream it")
    shown = [o for o in outputs(ip) if "text/markdown" in o["data"]]
    first, *updates = shown
    assert not first["update"] and all(o["update"] for o in updates)
    ids = {o["transient"]["display_id"] for o in shown}
    assert len(ids) == 1  # one display, updated in place
    assert first["data"]["text/markdown"].endswith(STREAMED[0])
    assert shown[-1]["data"]["text/markdown"].endswith("".join(STREAMED))
    assert len(shown) >= len(STREAMED)


def test_responder_off_stops_replies(ip, capsys):
    ip.run_line_magic("mirror_session", "responder echo")
    ip.run_line_magic("mirror_session", "responder off")
    assert "nothing leaves this machine" in capsys.readouterr().out
    send(ip, "no reply now")
    assert [m.role for m in magics(ip).session.get_messages()] == ["user"]


def test_responder_survives_a_store_change(ip):
    ip.run_line_magic("mirror_session", "responder echo")
    ip.run_line_magic("config", "MirrorMagics.storage_type = 'memory'")
    send(ip, "still answered?")
    assert [m.role for m in magics(ip).session.get_messages()] == ["user", "assistant"]


def test_model_options_are_passed(ip):
    ip.run_line_magic("mirror_session", "responder echo -o example_bool true")
    send(ip, "hi")
    assert json.loads(magics(ip).session.get_messages()[-1].content)["options"] == {
        "example_bool": True
    }


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("responder no-such-model", "unknown model 'no-such-model'"),
        ("responder echo -o no_such_option 1", "invalid options for model 'echo'"),
        ("responder --system hi", "name the model"),
    ],
)
def test_bad_responder_lines_are_one_line_errors(ip, line, error):
    with pytest.raises(UsageError, match=error):
        ip.run_line_magic("mirror_session", line)
    assert magics(ip).responder is None


def test_responder_help(ip, capsys):
    ip.run_line_magic("mirror_session", "responder --help")
    out = capsys.readouterr().out
    assert "--key-from-vault NAME" in out and "--system TEXT" in out
    assert "responder" in type(magics(ip)).mirror_session.__doc__


# -- failures ----------------------------------------------------------------------------------


def test_a_failing_model_keeps_the_message_and_says_so(ip, test_models):
    ip.run_line_magic("mirror_session", 'new "Failing"')
    ip.run_line_magic("mirror_session", "responder failing")
    with pytest.raises(UsageError) as failure:
        send(ip, "hello?")
    message = str(failure.value)
    assert "model 'failing' failed: ModelError: the model server said no (503)" in message
    assert "your message was added to 'Failing'; no reply was stored" in message
    session = magics(ip).session
    reopened = magics(ip).mirror.load_session(session.id)  # autosave: it is on disk
    assert [m.role for m in reopened.get_messages()] == ["user"]


# -- the API key from the vault ------------------------------------------------------------------


def test_key_from_the_vault_reaches_the_model_and_is_never_shown_or_stored(
    ip, test_models, tmp_path, monkeypatch, capsys
):
    vault_dir = tmp_path / "vault"
    with VaultMemory("pw for tests", vault_dir, kdf_iterations=1_000) as vault:
        vault.store("llm_key", SECRET)
    monkeypatch.setenv("AM_TEST_VAULT_PASSWORD", "pw for tests")
    ip.run_line_magic("config", f"MirrorMagics.vault_path = {str(vault_dir)!r}")
    ip.run_line_magic("mirror_session", 'new "Keys"')
    ip.run_line_magic("mirror_session", "responder key-leaker --key-from-vault llm_key")

    with pytest.raises(UsageError, match="vault is locked: unlock the vault"):
        send(ip, "before unlocking")
    ip.run_line_magic("vault", "unlock --env AM_TEST_VAULT_PASSWORD")
    send(ip, "after unlocking")

    session = magics(ip).session
    contents = [(m.role, m.content) for m in session.get_messages()]
    assert contents[-1] == ("assistant", f"Your key is {REDACTED}, keep it safe.")
    everything = json.dumps(
        [
            [(m.role, m.content, m.metadata) for m in session.get_messages()],
            outputs(ip),
            capsys.readouterr(),
            repr(magics(ip).responder),
        ],
        default=str,
    )
    assert SECRET not in everything and SECRET[:6] not in everything


def test_key_recorder_gets_the_vault_key(ip, test_models, tmp_path, monkeypatch):
    vault_dir = tmp_path / "vault"
    with VaultMemory("pw for tests", vault_dir, kdf_iterations=1_000) as vault:
        vault.store("llm_key", SECRET)
    monkeypatch.setenv("AM_TEST_VAULT_PASSWORD", "pw for tests")
    ip.run_line_magic("config", f"MirrorMagics.vault_path = {str(vault_dir)!r}")
    ip.run_line_magic("vault", "unlock --env AM_TEST_VAULT_PASSWORD")
    ip.run_line_magic("mirror_session", "responder key-recorder --key-from-vault llm_key")
    send(ip, "hi")
    assert test_models.keys == [SECRET]
    # locking the vault again stops replies, with the reason
    ip.run_line_magic("vault", "lock")
    with pytest.raises(UsageError, match="unlock the vault"):
        send(ip, "hi again")


# -- the default model option ----------------------------------------------------------------------


def test_default_model_from_the_configuration(tmp_path: Path):
    config = Config()
    config.MirrorMagics.default_model = "echo"
    config.MirrorMagics.default_key_from_vault = "llm_key"
    shell = make_shell(config)
    try:
        responder = magics(shell).responder
        assert isinstance(responder, LLMResponder)
        assert (responder.model_id, responder.key_from_vault) == ("echo", "llm_key")
    finally:
        shell.run_line_magic("unload_ext", "activemirror_jupyter")
        InteractiveShell.clear_instance()


def test_default_model_with_config_magic_and_a_typo(ip, capsys):
    ip.run_line_magic("config", "MirrorMagics.default_model = 'echo'")
    assert magics(ip).responder.model_id == "echo"
    send(ip, "hi")
    assert magics(ip).session.get_messages()[-1].role == "assistant"
    ip.run_line_magic("config", "MirrorMagics.default_model = 'ecko'")
    assert "MirrorMagics.default_model is not used: unknown model 'ecko'" in capsys.readouterr().out
    assert magics(ip).responder is None


# -- Markdown of a reply -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("**bold** & <b>tag</b>", "**bold** &amp; &lt;b&gt;tag&lt;/b&gt;"),
        ("`<code>` stays", "`<code>` stays"),
        ("~~~\n<x>\n~~~\n<y>", "~~~\n<x>\n~~~\n&lt;y&gt;"),
        ("[a](JavaScript:alert(1))", "[a]\\(JavaScript:alert(1))"),
        ("[a](https://example.org)", "[a](https://example.org)"),
    ],
)
def test_reply_markdown_renders_but_html_is_inert(reply, shown):
    assert safe_markdown(reply) == shown
