"""The built-in responder, :class:`LLMResponder`, over Simon Willison's ``llm`` library,
which is imported only when an ``LLMResponder`` is made: without one nothing leaves the
machine. (What any responder is, and how a session calls it: :mod:`.replies`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

from .errors import ResponderError, VaultError, VaultLockedError
from .models import Message
from .replies import Reply, reply_listener

if TYPE_CHECKING:
    from .vault import VaultMemory


VaultSource = Union["VaultMemory", Callable[[], "VaultMemory | None"], None]

REDACTED = "[redacted: vault key]"


class _Redactor:
    """Keeps a secret out of text that will be stored or shown."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret or None

    def __call__(self, text: str) -> str:
        return text.replace(self.secret, REDACTED) if self.secret else text

    def visible(self, text: str) -> str:
        """``text`` redacted, minus any tail that could be the start of the secret: while
        streaming, the rest of a key may be in the next chunk."""
        text = self(text)
        if self.secret:
            for n in range(min(len(self.secret) - 1, len(text)), 0, -1):
                if text.endswith(self.secret[:n]):
                    return text[:-n]
        return text


def _import_llm() -> Any:
    try:
        import llm
    except ImportError:
        raise ResponderError(
            "LLMResponder needs the llm library: pip install 'activemirror-jupyter[llm]'"
        ) from None
    return llm


class LLMResponder:
    """A responder that asks any model Simon Willison's ``llm`` library knows: hosted ones
    (OpenAI built in; Anthropic, Gemini, … through plugins) or local ones (``llm-ollama``,
    ``llm-gpt4all``). ``llm models`` lists what is installed.

    The model sees only the context it is given (``session.context``), as a multi-turn
    conversation with each message's role kept; ``system`` is the system prompt and
    ``options`` the model's options (``llm models --options``), checked here.

    The API key: with ``key_from_vault="openai_api_key"`` it is read from the vault at each
    call (``vault`` is a :class:`VaultMemory`, or a function returning the current one) and
    forgotten afterwards; it is never stored on the responder, logged, or kept in a reply or
    its metadata (a model that echoes it back gets it replaced by a marker). Without it,
    ``llm``'s own keys apply (``llm keys set openai`` or the provider's environment variable).

    Nothing is sent anywhere until the responder is called.
    """

    def __init__(
        self,
        model_id: str,
        system: str | None = None,
        key_from_vault: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        vault: VaultSource = None,
    ) -> None:
        if not isinstance(model_id, str) or not model_id.strip():
            raise ValueError(f"model_id must be a model name, not {model_id!r}")
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be text (str) or None, not {type(system).__name__}")
        if key_from_vault is not None and (
            not isinstance(key_from_vault, str) or not key_from_vault.strip()
        ):
            raise ValueError(f"key_from_vault must be a vault key name, not {key_from_vault!r}")
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict, not {type(options).__name__}")
        llm = _import_llm()
        try:
            self._model = llm.get_model(model_id)
        except llm.UnknownModelError:
            raise ResponderError(
                f"unknown model {model_id!r}: `llm models` lists the installed ones; "
                "plugins add more (e.g. `llm install llm-ollama`)"
            ) from None
        self.options = dict(options or {})
        try:
            self._model.Options(**self.options)
        except Exception as exc:  # pydantic's ValidationError, a plugin's own checks
            raise ResponderError(f"invalid options for model {model_id!r}: {exc}") from None
        self.model_id = model_id
        self.system = system or None
        self.key_from_vault = key_from_vault
        self.vault = vault

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={value!r}"
            for name, value in (("system", self.system), ("key_from_vault", self.key_from_vault))
            if value is not None
        )
        return f"LLMResponder({self.model_id!r}{extras})"

    def __call__(self, context: Sequence[Message]) -> Reply:
        if not context:
            raise ResponderError(f"model {self.model_id!r}: there is no message to reply to")
        key = self._vault_key()
        redact = _Redactor(key)
        listener = reply_listener()
        try:
            response = self._prompt(context, key)
            chunks = iter(response)
        except Exception as exc:
            raise self._failure(exc, redact) from (None if key else exc)
        parts: list[str] = []
        shown = ""
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception as exc:
                raise self._failure(exc, redact) from (None if key else exc)
            parts.append(chunk)
            if listener is not None:
                visible = redact.visible("".join(parts))
                if visible != shown:
                    shown = visible
                    listener(visible)
        text = redact("".join(parts)).replace("\x00", "")
        if listener is not None and text != shown:
            listener(text)
        return Reply(text, self._metadata(response))

    # -- helpers ----------------------------------------------------------------------------

    def _vault_key(self) -> str | None:
        """The API key from the vault, read now (None when no key_from_vault is set)."""
        name = self.key_from_vault
        if name is None:
            return None
        vault = self.vault() if callable(self.vault) else self.vault
        if vault is None:
            raise ResponderError(
                f"model {self.model_id!r} needs the key {name!r} from the vault, and no vault "
                "is open: unlock the vault (%vault unlock) first"
            )
        try:
            value = vault.retrieve(name)
        except VaultLockedError:
            raise ResponderError(
                f"the vault is locked: unlock the vault (%vault unlock) so model "
                f"{self.model_id!r} can use its key {name!r}"
            ) from None
        except VaultError as exc:
            raise ResponderError(f"could not read the key {name!r} from the vault: {exc}") from None
        if value is None:
            raise ResponderError(
                f"the vault has no key {name!r} for model {self.model_id!r}: store it with "
                f"vault.store({name!r}, …) or %vault store {name} …"
            )
        if not isinstance(value, str) or not value.strip():
            raise ResponderError(f"the vault entry {name!r} is not an API key (non-empty text)")
        return value.strip()

    def _prompt(self, context: Sequence[Message], key: str | None) -> Any:
        """Start (lazily) the model's response to ``context``.

        llm 0.36 takes a conversation as ``messages=``: the list with every role kept,
        ending in the user's new message, is exactly what the model is sent. Plugins written
        before that API read the history from ``conversation.responses`` instead, so the
        same turns are given there too (see :meth:`_past_turns`)."""
        llm = _import_llm()
        history = list(context)
        prompt = history.pop().content if history[-1].role == "user" else None
        system_parts = [self.system] if self.system else []
        chain = [llm.system(self.system)] if self.system else []
        for message in history:
            chain.append(_LLM_ROLES[message.role](llm, message.content))
            if message.role == "system":
                system_parts.append(message.content)
        system = "\n\n".join(system_parts) or None
        conversation = self._model.conversation()
        conversation.responses = self._past_turns(chain, system)
        return conversation.prompt(
            prompt,
            system=system,
            messages=chain,
            key=key,
            stream=bool(self._model.can_stream),
            options=self.options,
        )

    def _past_turns(self, chain: list[Any], system: str | None) -> list[Any]:
        """The history as finished ``llm`` responses, one per assistant message: its prompt
        is the user text since the previous one. User messages still unanswered make a turn
        with an empty reply, so such plugins lose no user text either."""
        llm = _import_llm()
        turns: list[Any] = []
        asked: list[str] = []
        for index, message in enumerate([*chain, None]):
            if message is not None and message.role == "user":
                asked.append(_text_of(message))
                continue
            if message is None and not asked:
                break
            if message is not None and message.role != "assistant":
                continue
            reply = _text_of(message) if message is not None else ""
            response = llm.Response.from_dict(
                {
                    "model": self.model_id,
                    "prompt": {"messages": []},
                    "messages": [llm.assistant(reply).to_dict()],
                },
                model=self._model,
            )
            response.prompt = llm.Prompt(
                "\n\n".join(asked),
                self._model,
                system=system,
                messages=chain[:index],
                options=self._model.Options(**self.options),
            )
            turns.append(response)
            asked = []
        return turns

    def _metadata(self, response: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {"model": self.model_id}
        resolved = getattr(response, "resolved_model", None)
        if isinstance(resolved, str) and resolved and resolved != self.model_id:
            metadata["resolved_model"] = resolved
        usage = response.usage()
        tokens: dict[str, Any] = {}
        if usage.input is not None:
            tokens["input_tokens"] = usage.input
        if usage.output is not None:
            tokens["output_tokens"] = usage.output
        if usage.details:
            try:
                tokens["details"] = json.loads(json.dumps(usage.details))
            except (TypeError, ValueError):
                pass  # a plugin's exotic details are not worth failing a reply over
        if tokens:
            metadata["usage"] = tokens
        return metadata

    def _failure(self, exc: Exception, redact: _Redactor) -> ResponderError:
        cause = redact(f"{type(exc).__name__}: {exc}")
        llm = _import_llm()
        if isinstance(exc, llm.NeedsKeyException) and self.key_from_vault is None:
            cause += " (or keep the key in the vault and pass key_from_vault=NAME)"
        elif isinstance(exc, llm.ConversationNotSupported):
            cause += " (a single-turn model: set the session's max_context_messages to 1)"
        return ResponderError(f"model {self.model_id!r} failed: {cause}")


_LLM_ROLES: dict[str, Callable[[Any, str], Any]] = {
    "user": lambda llm, text: llm.user(text),
    "assistant": lambda llm, text: llm.assistant(text),
    "system": lambda llm, text: llm.system(text),
}


def _text_of(message: Any) -> str:
    return "".join(getattr(part, "text", "") or "" for part in message.parts)
