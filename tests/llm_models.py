"""Small ``llm`` model plugins for the responder tests, registered in-process with llm's
plugin manager (the way an installed plugin registers), plus the fixtures that use them.

* ``recorder`` — replies "ok" and records what it was sent: ``prompt.messages`` (the
  multi-turn chain), the legacy ``conversation.responses`` and the prompt's system.
* ``key-recorder`` — needs a key (like every hosted model); records the key it was called
  with, and replies without it.
* ``key-leaker`` — needs a key and puts it in its reply and its error, as a careless
  plugin might.
* ``failing`` — raises ``llm.ModelError`` before any output; ``failing-midway`` streams a
  chunk, then raises.
* ``streamer`` — streams its reply word by word.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llm
import pytest

from activemirror_jupyter.core.vault import VaultMemory

SECRET = "sk-test-0123456789abcdefSECRET"
STREAMED = ["Hello", " from", " a", " streaming", " model."]


@dataclass
class Calls:
    messages: list[list[tuple[str, str]]] = field(default_factory=list)
    previous: list[list[tuple[str, str]]] = field(default_factory=list)
    systems: list[str | None] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)

    def clear(self) -> None:
        for value in vars(self).values():
            value.clear()


CALLS = Calls()


def _chain(prompt: llm.Prompt) -> list[tuple[str, str]]:
    return [
        (message.role, "".join(getattr(part, "text", "") or "" for part in message.parts))
        for message in prompt.messages
    ]


class Recorder(llm.Model):
    model_id = "recorder"
    can_stream = True

    def execute(self, prompt, stream, response, conversation=None) -> Iterator[str]:
        CALLS.messages.append(_chain(prompt))
        CALLS.previous.append(
            [(r.prompt.prompt, r.text()) for r in (conversation.responses if conversation else [])]
        )
        CALLS.systems.append(prompt.system)
        response.set_usage(input=3, output=1)
        yield "ok"


class KeyRecorder(llm.KeyModel):
    model_id = "key-recorder"
    needs_key = "key-recorder"
    key_env_var = "KEY_RECORDER_TEST_KEY"

    def execute(self, prompt, stream, response, conversation=None, key=None) -> Iterator[str]:
        CALLS.keys.append(key)
        yield f"I was given a key of {len(key or '')} characters."


class KeyLeaker(llm.KeyModel):
    model_id = "key-leaker"
    needs_key = "key-leaker"
    can_stream = True

    def execute(self, prompt, stream, response, conversation=None, key=None) -> Iterator[str]:
        if prompt.prompt == "fail":
            raise llm.ModelError(f"401 Unauthorized: invalid key {key}")
        # the key arrives split over chunks, as it could from a streaming API
        yield f"Your key is {key[:6]}"
        yield f"{key[6:]}, keep it safe."


class Failing(llm.Model):
    model_id = "failing"

    def execute(self, prompt, stream, response, conversation=None) -> Iterator[str]:
        raise llm.ModelError("the model server said no (503)")
        yield  # a generator, like every model's execute


class FailingMidway(llm.Model):
    model_id = "failing-midway"
    can_stream = True

    def execute(self, prompt, stream, response, conversation=None) -> Iterator[str]:
        yield "The answer is"
        raise TimeoutError("read timed out")


class Streamer(llm.Model):
    model_id = "streamer"
    can_stream = True

    def execute(self, prompt, stream, response, conversation=None) -> Iterator[str]:
        yield from STREAMED


class ModelsPlugin:
    @llm.hookimpl
    def register_models(self, register: Any) -> None:
        for model in (Recorder(), KeyRecorder(), KeyLeaker(), Failing(), FailingMidway()):
            register(model)
        register(Streamer())


@pytest.fixture(autouse=True)
def llm_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """llm reads keys, aliases and its log from here: never the real user's folder."""
    path = tmp_path / "llm-user"
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    for name in ("KEY_RECORDER_TEST_KEY", "LLM_ECHO_NEEDS_KEY_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def test_models() -> Iterator[Calls]:
    plugin = ModelsPlugin()
    llm.plugins.pm.register(plugin, name="activemirror-test-models")
    CALLS.clear()
    try:
        yield CALLS
    finally:
        llm.plugins.pm.unregister(plugin)
        CALLS.clear()


@pytest.fixture
def key_vault(tmp_path: Path) -> Iterator[VaultMemory]:
    """An unlocked vault holding ``SECRET`` under ``test_api_key``."""
    vault = VaultMemory("vault password", tmp_path / "vault", kdf_iterations=1_000)
    vault.store("test_api_key", SECRET)
    yield vault
    vault.lock()
