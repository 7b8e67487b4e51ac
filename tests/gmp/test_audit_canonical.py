"""Canonical JSON and the hashed form of an audit record."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmatwin.gmp.audit_schema import FORMAT, record_hash, record_message
from pharmatwin.gmp.canonical import canonical_json, canonical_text, content_hash

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_keys_are_sorted_without_whitespace_in_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1.5, None, True], "é": "ü"}) == (
        '{"a":[1.5,null,true],"b":1,"é":"ü"}'.encode()
    )


def test_floats_use_the_shortest_round_trip_form_and_differ_from_integers() -> None:
    assert canonical_json([0.1, 1.0, 1, 1e16, 1e-7]) == b"[0.1,1.0,1,1e+16,1e-07]"
    assert content_hash(1.0) != content_hash(1)


def test_a_datetime_becomes_utc_text_and_tuples_become_arrays() -> None:
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 1, 5, 7, 0, tzinfo=paris)
    assert (
        canonical_text({"t": when, "p": (1, 2)}) == '{"p":[1,2],"t":"2026-01-05T06:00:00.000000Z"}'
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {"b": [1, float("nan")]}}, "value.a.b[1]: nan is not a finite number"),
        ({"a": float("inf")}, "value.a: inf is not a finite number"),
        ({1: "x"}, "value: key 1 is not a string"),
        ({"s": {1, 2}}, "value.s: a set is not JSON data"),
        ([datetime(2026, 1, 5)], "value[0]: a naive datetime"),
        ("\ud800", "value: text that is not valid Unicode"),
    ],
)
def test_values_json_cannot_hold_are_refused_naming_where(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")):
        canonical_json(value)


@given(json_values)
def test_canonical_json_round_trips_and_is_stable(value: object) -> None:
    data = canonical_json(value)
    assert canonical_json(json.loads(data)) == data
    assert content_hash(value) == hashlib.sha256(data).hexdigest()


@given(
    st.integers(1, 2**62),
    st.integers(-(2**62), 2**62),
    st.lists(st.text(), min_size=5, max_size=5),
    json_values,
    json_values,
)
def test_the_hashed_record_is_the_canonical_json_of_its_fields(
    seq: int, at_us: int, texts: list[str], old: object, new: object
) -> None:
    user, action, record_type, record_id, reason = texts
    previous = "ab" * 32
    row = (
        seq,
        at_us,
        user,
        action,
        record_type,
        record_id,
        canonical_text(old),
        canonical_text(new),
        reason,
        previous,
    )
    expected = canonical_json(
        [FORMAT, seq, at_us, user, action, record_type, record_id, old, new, reason, previous]
    )
    assert record_message(row) == expected
    assert record_hash(row) == hashlib.sha256(expected).hexdigest()


def test_every_field_and_the_position_change_the_hash() -> None:
    row = (17, 1_767_592_800_000_000, "alice", "change", "recipe", "r1", "1", "2", "why", "0" * 64)
    digests = {record_hash(row)}
    for i, other in enumerate(
        (18, 1_767_592_800_000_001, "bob", "create", "spec", "r2", "3", "4", "because", "1" * 64)
    ):
        changed = list(row)
        changed[i] = other
        digests.add(record_hash(tuple(changed)))  # type: ignore[arg-type]
    assert len(digests) == 11
