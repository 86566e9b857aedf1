"""SqliteStore's SQL filters mean exactly what ``tether.store.filters.matches_filter`` means.

Hypothesis writes random items and filters; the keys SQLite returns must be the keys whose
values ``matches_filter`` accepts, for every operator, type mix and field spelling.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tether.store.base import PutOp
from tether.store.filters import matches_filter
from tether.store.sqlite import SqliteStore

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 1),
    st.sampled_from([1.0, 1.5, 2**60, 2**53 + 1]),
    st.sampled_from(["", "a", "9", "10", "a'b"]),
)
leaves = st.one_of(scalars, scalars, scalars, st.lists(scalars, max_size=2))
nested = st.fixed_dictionaries({}, optional={"x": leaves, "y": scalars})
values = st.fixed_dictionaries(
    {}, optional={"a": leaves, "b": scalars, "a.b": scalars, 'q"': scalars, "n": nested}
)
fields = st.sampled_from(["a", "b", "a.b", 'q"', "n", "n.x", "missing"])
ordered = st.one_of(st.integers(-1, 1), st.sampled_from([1.5, 2**60, "9", "a"]))
ordering = st.builds(
    lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), ordered
)
conditions = st.one_of(
    leaves,
    nested,
    st.builds(lambda op, v: {op: v}, st.sampled_from(["$eq", "$ne"]), leaves),
    ordering,
    ordering,
    st.builds(
        lambda op, v: {op: v}, st.sampled_from(["$in", "$nin"]), st.lists(scalars, max_size=3)
    ),
    st.builds(lambda lo, hi: {"$gt": lo, "$lte": hi}, ordered, ordered),
)
filters = st.dictionaries(fields, conditions, min_size=1, max_size=2)


@settings(max_examples=400, deadline=None)
@example(items=[{"a": 1}, {"a": 2}], filter={"a": {"$gt": 1}})
@example(items=[{"a": "9"}, {"a": 10}], filter={"a": {"$gt": 1}})
@example(items=[{"a": 1}, {"a": "8"}], filter={"a": {"$lt": "9"}})
@example(items=[{"a": "10"}, {"a": "9"}], filter={"a": {"$gt": "9"}})
@example(items=[{"a": None}, {"a": False}, {}], filter={"a": None})
@example(items=[{"a": True}, {"a": 1}, {"a": 1.0}], filter={"a": 1})
@example(items=[{"a": True}, {"a": 1}], filter={"a": {"$gte": 1}})
@example(items=[{"a": 1.0}, {"a": "1"}, {}], filter={"a": {"$in": [1]}})
@example(items=[{"a": 1.0}, {"a": "1"}, {}], filter={"a": {"$nin": [1, None]}})
@example(items=[{"n": {"x": 5}}, {"n.x": 5}, {"n": {"x": "5"}}], filter={"n.x": 5})
@example(items=[{'q"': 1}, {}], filter={'q"': {"$ne": 1}})
@example(items=[{"a": [1, 2]}, {"a": [1]}], filter={"a": [1.0, 2]})
@example(items=[{"a": 2**60 + 1}, {"a": 2**60}], filter={"a": {"$gte": 2**60 + 1}})
@example(items=[{"n": {"x": 1, "y": 2}}], filter={"n": {"x": 1}})
@given(items=st.lists(values, min_size=1, max_size=8), filter=filters)
def test_sql_filters_match_python(items: list[dict[str, Any]], filter: dict[str, Any]) -> None:
    with SqliteStore.from_conn_string(":memory:") as store:
        store.batch([PutOp(("ns",), f"k{i}", value) for i, value in enumerate(items)])

        found = sorted(item.key for item in store.search(("ns",), filter=filter, limit=100))

    expected = sorted(f"k{i}" for i, value in enumerate(items) if matches_filter(value, filter))
    assert found == expected
