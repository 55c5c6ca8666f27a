"""The base of every handler: checking what a request carries (ids, numbers, JSON bodies)
before it reaches the store, running store calls on the store thread, and answering errors
as JSON ``{"message", "reason"}``.

Statuses: 400 for a bad id, parameter or body; 404 for an unknown session, message or
attachment; 409 for a change to a sealed session; 413 for a body over
:data:`MAX_BODY_BYTES`; 500 only when the store itself fails (its explanation, with every
path cut to its file name: the folders are in the server's log only).

Bodies are streamed in (``stream_request_body``), so a body too large is refused as soon as
its ``Content-Length`` says so, before any of it is read, or (chunked, or without a
length) as soon as that many bytes have arrived; the connection is then closed rather than
the rest read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ..core.errors import InvalidIdError, SessionNotFoundError, SessionSealedError, StorageError
from ..core.ids import validate_id
from ..core.mirror import ActiveMirror
from ..core.session import Session
from .store import StoreThread

T = TypeVar("T")

API_PREFIX = "/activemirror/api"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
#: The largest request body a write takes (a note of about a million characters).
MAX_BODY_BYTES = 2**20
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: int() would also take "٣" or "1_0"


def bad_request(message: str) -> tornado.web.HTTPError:
    # The message goes in args, never in the format string: user text may contain '%'.
    return tornado.web.HTTPError(400, "%s", message)


def not_found(message: str) -> tornado.web.HTTPError:
    return tornado.web.HTTPError(404, "%s", message)


def shown(value: str, width: int = 40) -> str:
    """``value`` cut for an error message (a hostile parameter can be megabytes long)."""
    return repr(value if len(value) <= width else value[:width] + "…")


@tornado.web.stream_request_body
class MirrorHandler(APIHandler):
    """Base of the API's handlers: parameter checks and access to the store."""

    def initialize(self, store: StoreThread) -> None:
        self.store = store
        self._body = bytearray()
        self._body_refused = False

    # -- the request body, as it arrives ----------------------------------------------------

    async def prepare(self) -> None:
        await super().prepare()  # authentication first: a stranger learns nothing here
        length = self.request.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._body_refused = True
            raise _too_large(f"{int(length):,} bytes")

    def data_received(self, chunk: bytes) -> None:
        if self._body_refused:
            return
        if len(self._body) + len(chunk) > MAX_BODY_BYTES:
            self._body_refused = True
            self._body.clear()
            error = _too_large(f"more than {MAX_BODY_BYTES:,} bytes")
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._body += chunk

    # -- what the request carries ---------------------------------------------------------

    def int_argument(self, name: str, default: int, maximum: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if not _DIGITS.fullmatch(raw) or int(raw) > maximum:
            raise bad_request(
                f"{name} must be a whole number from 0 to {maximum}, not {shown(raw, 20)}"
            )
        return int(raw)

    def page_arguments(self) -> tuple[int, int]:
        return (
            self.int_argument("limit", DEFAULT_LIMIT, MAX_LIMIT),
            self.int_argument("offset", 0, MAX_OFFSET),
        )

    def flag_argument(self, name: str) -> bool:
        raw = self.get_query_argument(name, None)
        if raw in (None, "", "0", "false"):
            return False
        if raw in ("1", "true"):
            return True
        raise bad_request(f"{name} must be true or false (1 or 0), not {shown(raw, 20)}")

    def valid_id(self, raw: object, what: str = "session id") -> str:
        try:
            return validate_id(raw, what)
        except InvalidIdError as error:
            raise bad_request(str(error)) from None

    # Kept under its 0.1 name: the session id from the path.
    def session_id(self, raw: str, what: str = "session id") -> str:
        return self.valid_id(raw, what)

    def json_body(self, fields: Mapping[str, tuple[type, ...]], required: tuple[str, ...]) -> dict:
        """The request's JSON object, with only ``fields`` (name → accepted types), the
        ``required`` ones present, each of its type. Anything else is a 400; a body over
        :data:`MAX_BODY_BYTES` a 413, already answered as it arrived."""
        if self._body_refused:
            raise tornado.web.Finish()
        try:
            data = json.loads(self._body.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise bad_request("the request body must be a JSON object (UTF-8)") from None
        if not isinstance(data, dict):
            raise bad_request(f"the request body must be a JSON object, not {_kind(data)}")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise bad_request(
                f"unknown field {shown(unknown[0])}: the fields are {', '.join(fields)}"
            )
        for name in required:
            if name not in data:
                raise bad_request(f"{name} is required")
        for name, value in data.items():
            types = fields[name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                wanted = " or ".join(_TYPE_NAMES[t] for t in types)
                raise bad_request(f"{name} must be {wanted}, not {_kind(value)}")
        return data

    # -- the store --------------------------------------------------------------------------

    async def call(self, fn: Callable[[ActiveMirror], T]) -> T:
        """``fn(mirror)`` on the store thread. A change to a sealed session is a 409; a store
        that cannot be read is the server's problem (500): its explanation goes to the
        server's log whole, and into the answer without the folders it names."""
        try:
            return await self.store.call(fn)
        except SessionSealedError as error:
            raise tornado.web.HTTPError(409, "%s", str(error)) from None
        except StorageError as error:
            self.log.error("activemirror_jupyter: %s", error)
            shown = without_paths(str(error))
            raise tornado.web.HTTPError(500, "%s", f"The session store failed: {shown}") from None

    async def load(self, session_id: str, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` on the store thread; 404 if there is no such session."""

        def run(mirror: ActiveMirror) -> T:
            return fn(mirror.load_session(session_id))

        try:
            return await self.call(run)
        except SessionNotFoundError:
            raise not_found(f"No session {session_id!r}") from None

    # -- answers ----------------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # APIHandler would send the raw format string ("%s"); send the formatted message.
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, tornado.web.HTTPError) and error.log_message:
            message = error.log_message % error.args if error.args else error.log_message
            self.set_status(status_code)
            self.write_json({"message": message, "reason": error.reason})
            return
        super().write_error(status_code, **kwargs)

    def write_json(self, data: dict[str, Any], status: int | None = None) -> None:
        if status is not None:
            self.set_status(status)
        self.finish(
            json.dumps(data, ensure_ascii=False), set_content_type="application/json; charset=UTF-8"
        )


def _too_large(size: str) -> tornado.web.HTTPError:
    return tornado.web.HTTPError(
        413, "%s", f"the request body is {size}, over the {MAX_BODY_BYTES:,} bytes a write takes"
    )


_TYPE_NAMES = {str: "text", list: "a list", type(None): "null", int: "a number", bool: "true/false"}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "a number"
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: An absolute path (POSIX or Windows): the folders before its last part are left out.
_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/](?:[^\s\\/'\"]+[\\/])+(?=[^\s\\/'\"])")


def without_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (``/home/u/x.db`` → ``x.db``)."""
    return _PATH.sub("", text)
