from __future__ import annotations

import pytest

from activemirror_jupyter.core.errors import InvalidIdError
from activemirror_jupyter.core.ids import new_id, validate_id


@pytest.mark.parametrize(
    "good", ["session_123", "msg_1", "a", "A.b-c_d", "x" * 128, "session_1705312800000_abc"]
)
def test_safe_ids_pass(good):
    assert validate_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../x",
        "..",
        "a/b",
        "a\\b",
        "/abs",
        "a\x00b",
        "x" * 129,
        "-lead",
        "_lead",
        ".lead",
        "a b",
        "a..b",
        "é",
        None,
        3,
    ],
)
def test_unsafe_ids_fail_with_a_reason(bad):
    with pytest.raises(InvalidIdError) as info:
        validate_id(bad, "session id")
    assert "session id" in str(info.value)


def test_new_ids_are_valid_sorted_and_unique():
    ids = [new_id("msg") for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(validate_id(i) for i in ids)
