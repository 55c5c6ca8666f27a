"""The one reader of dates and times people type (:func:`parse_when`, used by the magics and
the server), and the reader of stored timestamps (:func:`from_iso`)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from activemirror_jupyter.core.timeutil import (
    WHEN_FORMS,
    WHEN_FORMS_WITH_ZONE,
    from_iso,
    parse_when,
    to_iso,
)

UTC = timezone.utc

#: Text a person may type, and the moment it means; every form has a zone or is a date.
WITH_ZONE = [
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    (" 2024-05-01 ", datetime(2024, 5, 1, tzinfo=UTC)),
    ("2024-05-01T14:30Z", datetime(2024, 5, 1, 14, 30, tzinfo=UTC)),
    ("2024-05-01t14:30:15z", datetime(2024, 5, 1, 14, 30, 15, tzinfo=UTC)),
    ("2024-05-01 14:30:15.5+02:00", datetime(2024, 5, 1, 12, 30, 15, 500000, tzinfo=UTC)),
    ("2000-01-01 00:00:00.5-0130", datetime(2000, 1, 1, 1, 30, 0, 500000, tzinfo=UTC)),
    ("2024-05-01T14:30:15.123456+00:00", datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=UTC)),
]
#: Times without a zone: UTC for the magics, a mistake where a zone is required.
NAIVE = [
    ("2024-05-01T14:30", datetime(2024, 5, 1, 14, 30, tzinfo=UTC)),
    ("2024-05-01 14:30:15.25", datetime(2024, 5, 1, 14, 30, 15, 250000, tzinfo=UTC)),
]
BAD = ["yesterday", "2024-13-01", "2024-02-30", "", "  ", "２０２４-05-01", "2024-05-01T25:00Z"]
BAD += ["2024-05-01T08:00:00+25:00", "2024-04-31T10:00Z", "2024-05-01T14:30+2"]


@pytest.mark.parametrize(("text", "expected"), WITH_ZONE + NAIVE)
def test_a_date_or_time_is_read_as_an_aware_utc_moment(text, expected):
    when = parse_when(text)
    assert when == expected and when.tzinfo is UTC


@pytest.mark.parametrize(("text", "expected"), WITH_ZONE)
def test_a_required_zone_takes_dates_and_times_with_a_zone(text, expected):
    assert parse_when(text, zone_required=True) == expected


@pytest.mark.parametrize(("text", "_"), NAIVE)
def test_a_required_zone_refuses_a_time_without_one(text, _):
    with pytest.raises(ValueError) as raised:
        parse_when(text, zone_required=True)
    assert str(raised.value) == f"expected {WHEN_FORMS_WITH_ZONE}, not {text!r}"


@pytest.mark.parametrize("text", BAD)
def test_anything_else_is_a_value_error_naming_the_forms(text):
    for zone_required, forms in ((False, WHEN_FORMS), (True, WHEN_FORMS_WITH_ZONE)):
        with pytest.raises(ValueError) as raised:
            parse_when(text, zone_required=zone_required)
        assert str(raised.value) == f"expected {forms}, not {text!r}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="fromisoformat reads these from 3.11")
def test_other_iso_forms_python_reads_are_taken_too():
    assert parse_when("20240501", zone_required=True) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-W18-3") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-05-01T14") == datetime(2024, 5, 1, 14, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_when("2024-05-01T14", zone_required=True)


def test_what_to_iso_writes_reads_back_and_naive_stored_times_are_utc():
    moment = datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert from_iso(to_iso(moment)) == moment == parse_when(to_iso(moment))
    assert from_iso("2024-05-01T12:30:15") == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    with pytest.raises(ValueError):
        from_iso(20240501)  # type: ignore[arg-type]
