"""Pydantic models read back exactly as ``model_construct`` would build them, fast path or not."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from tether.checkpoint.serde import MsgpackSerializer


class Plain(BaseModel):
    name: str
    score: int = 0
    tags: list[str] = []


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


class WithPrivate(BaseModel):
    name: str
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)


@pytest.mark.parametrize(
    "value",
    [
        Plain(name="a"),
        Plain(name="b", score=3, tags=["x"]),
        Extra(name="c"),
        Extra(name="d", mood="glad"),
        WithPrivate(name="e"),
    ],
    ids=["defaults", "all-set", "extra-allowed", "extra-present", "private-attr"],
)
def test_models_round_trip_like_model_construct(value: BaseModel) -> None:
    serde = MsgpackSerializer().with_allowlist([Plain, Extra, WithPrivate])
    back = serde.loads_typed(serde.dumps_typed(value))
    assert type(back) is type(value)
    assert back == value
    assert back.model_fields_set == value.model_fields_set
    assert back.model_extra == value.model_extra
    assert back.model_dump() == value.model_dump()
    if isinstance(value, WithPrivate):
        assert back._cache == {}
    back_copy = back.model_copy(update={"name": "z"})
    assert back_copy.name == "z" and back.name == value.name
