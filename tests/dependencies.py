"""Skipping a test whose outside dependency is missing — and making that loud under ``make test``.

Run a part of the suite (``pytest tests/core/test_ids.py``) on a machine without PostgreSQL,
psycopg or Chromium and the tests that need them are skipped, with the reason. ``make test``
passes ``--require-all`` (see ``tests/conftest.py``): there every such skip is turned into a
failure, because ``make test`` installs everything and CI must never silently skip.

A missing dependency is reported with :func:`missing_dependency` (its reason starts with
:data:`MISSING`) or with ``pytest.importorskip`` (its reason starts with "could not import").
"""

from __future__ import annotations

from typing import NoReturn

import pytest

MISSING = "missing dependency:"


def missing_dependency(what: str) -> NoReturn:
    """Skip this test because ``what`` (a program, server or package, and how to get it) is
    missing; a failure instead under ``--require-all``."""
    pytest.skip(f"{MISSING} {what}")


def is_missing_dependency(reason: str) -> bool:
    reason = reason.removeprefix("Skipped: ")
    return reason.startswith((MISSING, "could not import"))
