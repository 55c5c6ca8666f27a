"""Jupyter server extension: a read-only HTTP API over the session store.

``GET /activemirror/api/sessions``, ``…/sessions/{id}``, ``…/sessions/{id}/messages`` and
``…/sessions/{id}/export``, for the JupyterLab "Mirror" sidebar. Enabled on install by
``jupyter-config/jupyter_server_config.d/activemirror_jupyter.json``; configured through
:class:`MirrorServer`. The vault is never served.
"""

from __future__ import annotations

from .app import MirrorServer

__all__ = ["MirrorServer"]
