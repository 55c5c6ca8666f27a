"""What a vault entry is, and the checks on what goes into one: names, JSON values,
metadata (category, tags). Nothing here touches a file or a key."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ..limits import MAX_JSON_DEPTH
from ..models import check_unicode

__all__ = [
    "VaultCategory",
    "VaultEntry",
    "check_json_value",
    "check_key",
    "normalise_metadata",
    "shown_metadata",
    "value_text",
]

MAX_KEY_LENGTH = 256
MAX_TAG_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON_TYPES = "str, int, float, bool, None, list or dict"


class VaultCategory(str, Enum):
    """The categories of vault entries (``metadata={"category": VaultCategory.PRIVATE}``)."""

    GOALS = "goals"
    REFLECTIONS = "reflections"
    PREFERENCES = "preferences"
    PRIVATE = "private"
    KNOWLEDGE = "knowledge"
    RELATIONSHIPS = "relationships"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def coerce(cls, value: VaultCategory | str) -> VaultCategory:
        """A category from an enum member, its value or its name (any case)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            wanted = value.strip().lower()
            for member in cls:
                if wanted in (member.value, member.name.lower()):
                    return member
        valid = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown vault category {value!r}; valid categories: {valid}")


@dataclass(frozen=True)
class VaultEntry:
    """One vault entry. ``value`` is None in ``list_entries`` (metadata only) and hidden
    from ``repr`` so that showing an entry in a notebook does not show the secret."""

    key: str
    value: Any = field(repr=False)
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def category(self) -> VaultCategory | None:
        return self.metadata.get("category")

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags", []))


# ---------------------------------------------------------------------------- validation


def check_key(key: object) -> str:
    """Return ``key`` if it is a usable entry name, else raise TypeError/ValueError.

    Names never reach a path or any plaintext (files are named by random ids), so any
    printable text works, ``../x`` included; empty names, control characters (NUL, newline…)
    and names over 256 characters are refused.
    """
    if not isinstance(key, str):
        raise TypeError(f"a vault key must be a string, not {type(key).__name__}")
    if not key:
        raise ValueError("a vault key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"a vault key is a name: at most {MAX_KEY_LENGTH} characters, not {len(key):,}"
        )
    if _CONTROL.search(key):
        raise ValueError("a vault key must not contain control characters (NUL, newline, tab…)")
    check_unicode(key, "the vault key")
    return key


def check_json_value(value: Any, where: str = "value") -> None:
    """Raise TypeError/ValueError, naming the place, unless ``value`` is plain JSON that
    comes back from the vault as the same Python type."""
    _check_json(value, where, 0)


def _check_json(value: Any, where: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"{where} is nested more than {MAX_JSON_DEPTH} levels deep (or contains itself)"
        )
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, str):
        check_unicode(value, where)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}; NaN and infinity are not JSON values")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"{where} has a {type(k).__name__} key {k!r}; JSON object keys are strings"
                )
            check_unicode(k, f"a key of {where}")
            _check_json(item, f"{where}[{k!r}]", depth + 1)
        return
    hint = " (use a list)" if isinstance(value, (tuple, set, frozenset)) else ""
    if isinstance(value, (bytes, bytearray)):
        hint = " (decode it to text, e.g. base64)"
    raise TypeError(
        f"{where} is a {type(value).__name__}, which is not a JSON value{hint}; "
        f"vault values are {_JSON_TYPES}"
    )


def normalise_metadata(metadata: object) -> dict[str, Any]:
    """Metadata as stored: a JSON dict; ``category`` as its string value, ``tags`` a list."""
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
    out: dict[str, Any] = {}
    for k, item in metadata.items():
        if not isinstance(k, str):
            raise TypeError(f"metadata keys must be strings, not {type(k).__name__}")
        if k == "category":
            out[k] = None if item is None else VaultCategory.coerce(item).value
        elif k == "tags":
            out[k] = _normalise_tags(item)
        else:
            _check_json(item, f"metadata[{k!r}]", 1)
            out[k] = copy.deepcopy(item)
    return out


def _normalise_tags(tags: object) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise TypeError(f"metadata['tags'] must be a list of strings, not {type(tags).__name__}")
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"every tag must be a non-empty string, not {tag!r}")
        if len(tag) > MAX_TAG_LENGTH or _CONTROL.search(tag):
            raise ValueError(
                f"tags are at most {MAX_TAG_LENGTH} characters, without control characters"
            )
        check_unicode(tag, "a tag")
    return list(tags)


def shown_metadata(stored: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(stored)  # the caller may change it; our records must not change
    if isinstance(out.get("category"), str):
        with contextlib.suppress(ValueError):
            out["category"] = VaultCategory.coerce(out["category"])
    return out


def value_text(value: Any) -> str:
    """A vault value as the user would type it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
