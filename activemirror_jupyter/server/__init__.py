"""Jupyter server extension: an HTTP API over the session store for the JupyterLab "Mirror"
sidebar — listing sessions as families, reading messages and attachments, search, exports,
verifying the journal, adding sessions and notes, and a change token to poll.

Routes are in :mod:`.handlers`. Enabled on install by
``jupyter-config/jupyter_server_config.d/activemirror_jupyter.json``; configured through
:class:`MirrorServer`. The vault is never served.
"""

from __future__ import annotations

from .app import MirrorServer

__all__ = ["MirrorServer"]
