"""Capture: what an analysis did, turned into records a session keeps (the notebook layer).

- :mod:`.values` — :func:`attachment_from`: any Python value (a figure, a DataFrame, an
  object with rich reprs) as an :class:`~..core.models.Attachment`; the one choice of "best
  representation" that autolog uses for outputs too.
- :mod:`.outputs` — what a running cell shows (its result, its displays, inline figures,
  what it prints), recorded without changing what the user sees.
- :mod:`.autolog` — each executed cell as a ``system`` message with its outputs attached.
- :mod:`.provenance` — :func:`provenance`: where and with what an analysis ran.

The core never imports this package; this package imports the core. The public names,
``attachment_from`` and ``provenance``, are importable from ``activemirror_jupyter``.
"""
