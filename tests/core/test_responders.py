"""Assistant replies with the real ``llm`` library: the ``llm-echo`` plugin's echo models
and small test plugins (tests/llm_models.py) registered in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import llm_models
import pytest
from llm_models import SECRET, STREAMED

from activemirror_jupyter import ActiveMirror, LLMResponder, Message, ResponderError
from activemirror_jupyter.core.replies import streaming_replies
from activemirror_jupyter.core.responders import REDACTED

# fixtures shared with the magic tests
llm_user_dir = llm_models.llm_user_dir
test_models = llm_models.test_models
key_vault = llm_models.key_vault


def echoed(message: Message) -> dict:
    """What the echo model was sent, from its reply."""
    return json.loads(message.content)


def store_bytes(root: Path) -> bytes:
    """Every byte the store and the vault wrote under ``root``."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


# -- replies ---------------------------------------------------------------------------------


def test_reply_is_stored_as_assistant_with_model_duration_and_usage(mirror_factory):
    mirror = mirror_factory(autosave=True, responder=LLMResponder("echo"))
    session = mirror.create_session("Echo")

    reply = session.send("What did I say?")

    assert reply.role == "assistant"
    assert echoed(reply)["prompt"] == "What did I say?"
    assert reply.metadata["responder"] == "echo"
    assert reply.metadata["model"] == "echo"
    assert reply.metadata["duration_ms"] >= 0
    assert reply.metadata["usage"]["input_tokens"] > 0
    assert reply.metadata["usage"]["output_tokens"] > 0
    # autosave wrote both: a fresh mirror on the same store sees them
    stored = mirror_factory().load_session(session.id).get_messages()
    assert [(m.role, m.id) for m in stored] == [("user", stored[0].id), ("assistant", reply.id)]
    assert stored[1].metadata == reply.metadata
    assert stored[0].content == "What did I say?"


def test_without_autosave_both_messages_wait_for_save(mirror_factory):
    mirror = mirror_factory(responder=LLMResponder("echo"))
    session = mirror.create_session("Unsaved")
    session.send("hello")
    assert session.unsaved_count == 2
    session.save()
    assert [m.role for m in mirror_factory().load_session(session.id).get_messages()] == [
        "user",
        "assistant",
    ]


def test_system_and_assistant_roles_do_not_trigger_a_reply():
    mirror = ActiveMirror("memory", responder=LLMResponder("echo"))
    session = mirror.create_session("Roles")
    assert session.send("be terse", role="system").role == "system"
    assert session.send("an answer I wrote", role="assistant").role == "assistant"
    assert session.message_count == 2


def test_a_plain_callable_is_a_responder():
    seen: list[list[tuple[str, str]]] = []

    def shout(context: list[Message]) -> str:
        seen.append([(m.role, m.content) for m in context])
        return context[-1].content.upper()

    session = ActiveMirror("memory", responder=shout).create_session("Plain")
    reply = session.send("quiet please")
    assert (reply.role, reply.content) == ("assistant", "QUIET PLEASE")
    assert reply.metadata["responder"].endswith("shout")
    assert seen == [[("user", "quiet please")]]


def test_system_prompt_and_options_reach_the_model():
    responder = LLMResponder("echo", system="You are a mirror.", options={"example_bool": True})
    reply = ActiveMirror("memory", responder=responder).create_session("S").send("hi")
    assert echoed(reply)["system"] == "You are a mirror."
    assert echoed(reply)["options"] == {"example_bool": True}


# -- the context window ------------------------------------------------------------------------


def test_context_is_the_last_max_context_messages_in_order_with_roles(test_models):
    mirror = ActiveMirror("memory")
    session = mirror.create_session("Window", max_context_messages=5)
    for content, role in [
        ("too old to be seen", "user"),
        ("also too old", "assistant"),
        ("Answer in French.", "system"),
        ("first question", "user"),
        ("first answer", "assistant"),
        ("a note without a reply", "user"),
    ]:
        session.send(content, role=role)
    mirror.responder = LLMResponder("recorder", system="Be kind.")

    reply = session.send("second question")

    assert reply.content == "ok"
    # the responder's system prompt, then exactly the session's last 5 messages, roles kept
    assert test_models.messages == [
        [
            ("system", "Be kind."),
            ("system", "Answer in French."),
            ("user", "first question"),
            ("assistant", "first answer"),
            ("user", "a note without a reply"),
            ("user", "second question"),
        ]
    ]
    # plugins that read the older conversation.responses get the same turns
    assert test_models.previous == [
        [("first question", "first answer"), ("a note without a reply", "")]
    ]
    assert test_models.systems == ["Be kind.\n\nAnswer in French."]
    assert reply.metadata["usage"] == {"input_tokens": 3, "output_tokens": 1}


def test_echo_sees_previous_turns_as_a_conversation():
    session = ActiveMirror("memory", responder=LLMResponder("echo")).create_session(
        "Turns", max_context_messages=3
    )
    session.send("one")
    second = session.send("two")
    third = session.send("three")
    assert echoed(second)["previous"] == [{"prompt": "one"}]
    # context = [two, reply to two, three]: "one" has left the window
    assert echoed(third)["previous"] == [{"prompt": "two"}]
    assert echoed(third)["prompt"] == "three"


def test_replies_become_history_for_the_next_turn(test_models):
    session = ActiveMirror("memory", responder=LLMResponder("recorder")).create_session("T")
    session.send("a")
    session.send("b")
    assert test_models.messages[-1] == [("user", "a"), ("assistant", "ok"), ("user", "b")]


# -- keys from the vault ----------------------------------------------------------------------------


def test_vault_key_reaches_the_model_and_is_stored_nowhere(tmp_path, test_models, key_vault):
    db = tmp_path / "store.db"
    responder = LLMResponder("key-recorder", key_from_vault="test_api_key", vault=key_vault)
    with ActiveMirror("sqlite", db, autosave=True, responder=responder) as mirror:
        session = mirror.create_session("Keys")
        reply = session.send("use the key")
        assert test_models.keys == [SECRET]
        assert reply.content == f"I was given a key of {len(SECRET)} characters."
        messages = session.get_messages()
        assert len(messages) == 2
    for message in messages:
        assert SECRET not in message.content
        assert SECRET not in json.dumps(message.metadata)
    assert SECRET.encode() not in store_bytes(tmp_path)
    assert SECRET not in repr(responder) and SECRET not in str(vars(responder))


def test_vault_key_is_read_at_each_call(test_models, key_vault):
    responder = LLMResponder("key-recorder", key_from_vault="test_api_key", vault=key_vault)
    session = ActiveMirror("memory", responder=responder).create_session("Rotate")
    session.send("one")
    key_vault.store("test_api_key", "sk-rotated-key")
    session.send("two")
    assert test_models.keys == [SECRET, "sk-rotated-key"]


def test_vault_can_be_given_as_a_function_returning_the_current_one(test_models, key_vault):
    current = {"vault": None}
    responder = LLMResponder(
        "key-recorder", key_from_vault="test_api_key", vault=lambda: current["vault"]
    )
    session = ActiveMirror("memory", responder=responder).create_session("Later")
    with pytest.raises(ResponderError, match="unlock the vault"):
        session.send("no vault yet")
    current["vault"] = key_vault
    session.send("now")
    assert test_models.keys == [SECRET]


def test_a_key_the_model_echoes_back_is_redacted_everywhere(test_models, key_vault):
    responder = LLMResponder("key-leaker", key_from_vault="test_api_key", vault=key_vault)
    session = ActiveMirror("memory", responder=responder).create_session("Leak")
    shown: list[str] = []
    with streaming_replies(shown.append):
        reply = session.send("what is my key?")
    assert reply.content == f"Your key is {REDACTED}, keep it safe."
    # while streaming, the first part of the key was held back, never shown
    assert shown and all(SECRET[:6] not in text for text in shown)
    assert shown[-1] == reply.content

    with pytest.raises(ResponderError) as failure:
        session.send("fail")
    assert SECRET not in str(failure.value) and REDACTED in str(failure.value)
    assert failure.value.__cause__ is None  # the plugin's own exception carried the key
    assert all(SECRET not in m.content for m in session.get_messages())


def test_echo_needs_key_gets_the_vault_key_but_stores_it_redacted(key_vault):
    responder = LLMResponder("echo-needs-key", key_from_vault="test_api_key", vault=key_vault)
    reply = ActiveMirror("memory", responder=responder).create_session("E").send("hi")
    assert echoed(reply)["key"] == REDACTED  # it arrived (echo shows it), and was not kept
    assert SECRET not in reply.content


def test_locked_vault_says_to_unlock_it_and_keeps_the_user_message(test_models, key_vault):
    responder = LLMResponder("key-recorder", key_from_vault="test_api_key", vault=key_vault)
    session = ActiveMirror("memory", responder=responder).create_session("Locked")
    key_vault.lock()
    with pytest.raises(ResponderError, match="vault is locked: unlock the vault"):
        session.send("hello?")
    assert [m.role for m in session.get_messages()] == ["user"]
    assert test_models.keys == []  # the model was never called


def test_missing_vault_entry_is_named(test_models, key_vault):
    responder = LLMResponder("key-recorder", key_from_vault="no_such_key", vault=key_vault)
    with pytest.raises(ResponderError, match="no key 'no_such_key'"):
        ActiveMirror("memory", responder=responder).create_session("M").send("hi")


def test_missing_key_without_the_vault_is_a_clear_error(test_models):
    responder = LLMResponder("key-recorder")
    with pytest.raises(ResponderError) as failure:
        ActiveMirror("memory", responder=responder).create_session("K").send("hi")
    message = str(failure.value)
    assert "'key-recorder'" in message and "No key found" in message
    assert "key_from_vault" in message


def test_llm_own_key_store_still_works(test_models, llm_user_dir):
    llm_user_dir.mkdir(parents=True, exist_ok=True)
    (llm_user_dir / "keys.json").write_text(json.dumps({"key-recorder": "from-llm-keys"}))
    ActiveMirror("memory", responder=LLMResponder("key-recorder")).create_session("L").send("x")
    assert test_models.keys == ["from-llm-keys"]


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "cause"),
    [
        ("failing", "ModelError: the model server said no (503)"),
        ("failing-midway", "TimeoutError: read timed out"),
    ],
)
def test_failing_model_keeps_the_user_message_and_stores_no_reply(
    mirror_factory, test_models, model, cause
):
    mirror = mirror_factory(autosave=True, responder=LLMResponder(model))
    session = mirror.create_session("Failing")
    with pytest.raises(ResponderError) as failure:
        session.send("will this work?")
    assert str(failure.value) == f"model {model!r} failed: {cause}"
    assert failure.value.__cause__ is not None  # no key involved: the cause is kept
    stored = mirror_factory().load_session(session.id).get_messages()
    assert [(m.role, m.content) for m in stored] == [("user", "will this work?")]
    assert session.message_count == 1


def test_failing_model_without_autosave_leaves_the_user_message_unsaved(test_models):
    session = ActiveMirror("memory", responder=LLMResponder("failing")).create_session("F")
    with pytest.raises(ResponderError, match="'failing'"):
        session.send("hello")
    assert [m.role for m in session.get_messages()] == ["user"]
    assert session.unsaved_count == 1


def test_unknown_model_and_bad_options_are_refused_up_front():
    with pytest.raises(ResponderError, match="unknown model 'no-such-model'.*llm models"):
        LLMResponder("no-such-model")
    with pytest.raises(ResponderError, match="invalid options for model 'echo'"):
        LLMResponder("echo", options={"temperature_typo": 1})


@pytest.mark.parametrize(
    "call",
    [
        lambda: LLMResponder(""),
        lambda: LLMResponder("echo", key_from_vault=""),
        lambda: LLMResponder("echo", system=3),  # type: ignore[arg-type]
        lambda: LLMResponder("echo", options=["x"]),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_refused(call: Callable[[], object]):
    with pytest.raises((ValueError, TypeError)):
        call()


def test_empty_context_is_a_responder_error():
    with pytest.raises(ResponderError, match="no message to reply to"):
        LLMResponder("echo")([])


# -- streaming ---------------------------------------------------------------------------------


def test_a_streaming_model_is_shown_as_it_streams(test_models):
    session = ActiveMirror("memory", responder=LLMResponder("streamer")).create_session("S")
    shown: list[str] = []
    with streaming_replies(shown.append):
        reply = session.send("stream please")
    full = "".join(STREAMED)
    assert shown == ["".join(STREAMED[: i + 1]) for i in range(len(STREAMED))]
    assert reply.content == full
    # outside the block nobody is called
    session.send("again")
    assert len(shown) == len(STREAMED)


# -- staying local -----------------------------------------------------------------------------


def test_importing_the_package_or_the_core_does_not_import_llm():
    code = (
        "import sys, activemirror_jupyter as a\n"
        "from activemirror_jupyter.core import responders, session, mirror\n"
        "a.ActiveMirror('memory').create_session('x').send('y')\n"
        "assert 'llm' not in sys.modules, 'llm imported'\n"
        "a.LLMResponder\n"
        "assert 'llm' not in sys.modules, 'llm imported by the name'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_llm_logs_nothing_to_the_user_dir(llm_user_dir):
    ActiveMirror("memory", responder=LLMResponder("echo")).create_session("Q").send("hi")
    assert not (llm_user_dir / "logs.db").exists()
