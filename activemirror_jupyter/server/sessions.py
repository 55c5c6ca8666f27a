"""``/activemirror/api/sessions``: listing sessions (all, roots, a parent's children, a tag),
creating one, describing one — and ``/activemirror/api/changes``, which says when to list
again."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..core.errors import SessionNotFoundError
from ..core.mirror import ActiveMirror
from ..core.models import SessionMetadata
from .base import API_PREFIX, MirrorHandler, bad_request, not_found
from .records import session_json
from .sync import change_token


class SessionsHandler(MirrorHandler):
    """``GET /activemirror/api/sessions?limit=&offset=[&parent=|&roots=1][&tag=]``: newest
    update first, each with its ``child_count``; ``roots=1`` lists only the sessions at the
    top of their family — no parent, or a parent that is gone — (``total`` counts those;
    ``all_total`` every session). Each listing is the store's own query.

    ``POST /activemirror/api/sessions`` ``{"title", "parent_session_id"?, "tags"?}``: a new,
    saved, empty session (201)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        limit, offset = self.page_arguments()
        parent = self.get_query_argument("parent", None)
        if parent is not None:
            parent = self.valid_id(parent, "parent session id")
        tag = self.get_query_argument("tag", None)
        if tag is not None:
            tag = self.valid_id(tag, "tag")
        roots = self.flag_argument("roots")
        if roots and (parent is not None or tag is not None):
            raise bad_request("roots=1 lists the top of every family: leave out parent and tag")

        def page(mirror: ActiveMirror) -> dict[str, Any]:
            which = {"parent_session_id": parent, "tag": tag, "roots": roots}
            metas = mirror.list_sessions(limit=limit, offset=offset, **which)
            children = mirror.child_counts(m.session_id for m in metas)
            extra = {"all_total": mirror.count_sessions()} if roots else {}
            return {
                "sessions": [session_json(m, children.get(m.session_id, 0)) for m in metas],
                "total": mirror.count_sessions(**which),
                "limit": limit,
                "offset": offset,
                **extra,
            }

        self.write_json(await self.call(page))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body(
            {"title": (str,), "parent_session_id": (str, type(None)), "tags": (list,)},
            required=("title",),
        )
        parent = body.get("parent_session_id")
        if parent is not None:
            parent = self.valid_id(parent, "parent session id")

        def create(mirror: ActiveMirror) -> SessionMetadata:
            if parent is not None:
                mirror.load_session(parent)  # SessionNotFoundError: no such parent here
            session = mirror.create_session(body["title"], parent, tags=body.get("tags", ()))
            session.save()
            return session.metadata_snapshot()

        try:
            meta = await self.call(create)
        except SessionNotFoundError:
            raise not_found(f"No parent session {parent!r}") from None
        except (ValueError, TypeError) as error:  # the core's checks of title and tags
            raise bad_request(str(error)) from None
        location = f"{self.base_url.rstrip('/')}{API_PREFIX}/sessions/{meta.session_id}"
        self.set_header("Location", location)
        self.write_json(session_json(meta, 0), status=201)


class SessionHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}``: one session's metadata."""

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.valid_id(session_id)
        meta = await self.load(session_id, lambda session: session.metadata_snapshot())
        self.write_json(session_json(meta))


class ChangesHandler(MirrorHandler):
    """``GET /activemirror/api/changes``: ``{"version"}``, an opaque token that moves
    whenever any session is saved or deleted, or the store syncs, by any process. Cheap:
    poll it."""

    @tornado.web.authenticated
    async def get(self) -> None:
        version = await self.call(change_token)
        self.write_json({"version": version})
