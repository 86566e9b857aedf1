"""Pydantic models read back exactly as ``model_construct`` would build them, fast path or not."""

from __future__ import annotations

from typing import Any

import ormsgpack
import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from tether.checkpoint.serde import MsgpackSerializer
from tether.checkpoint.serde.allowlist import qualified_name
from tether.errors import SerializationError


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


def test_a_model_whose_instance_dict_is_not_its_fields_stores_its_fields() -> None:
    """Fields are read from the instance dict only when it holds exactly the fields, in order;
    otherwise (an attribute set around pydantic, fields in another order) field by field, and
    the same model stores the same bytes either way."""
    serde = MsgpackSerializer().with_allowlist([Plain])
    usual = Plain(name="a", score=2, tags=["x"])
    stray = Plain(name="a", score=2, tags=["x"])
    object.__setattr__(stray, "__dict__", {**stray.__dict__, "not_a_field": 1})
    reordered = Plain(name="a", score=2, tags=["x"])
    object.__setattr__(reordered, "__dict__", {"tags": ["x"], "score": 2, "name": "a"})
    assert list(reordered.__dict__) != list(usual.__dict__)
    expected = serde.dumps_typed(usual)
    assert serde.dumps_typed(stray) == expected
    assert serde.dumps_typed(reordered) == expected
    back = serde.loads_typed(expected)
    assert back.__dict__ == {"name": "a", "score": 2, "tags": ["x"]}


@pytest.mark.parametrize(
    "fields", [["not", "a", "map"], {"name": "a"}], ids=["fields-not-a-map", "no-fields-set"]
)
def test_a_tampered_model_of_a_known_class_is_refused_with_the_usual_error(fields: Any) -> None:
    """Models of a class already read once take a shorter path; a stored model whose fields are
    not what the class needs still fails with the error the general path gives."""
    serde = MsgpackSerializer().with_allowlist([Plain])
    serde.loads_typed(serde.dumps_typed(Plain(name="a")))  # the class is now known
    payload = [qualified_name(Plain), fields] + ([[]] if isinstance(fields, list) else [])
    tampered = ormsgpack.packb(ormsgpack.Ext(35, ormsgpack.packb(payload)))
    with pytest.raises(SerializationError, match="cannot rebuild"):
        serde.loads_typed(("msgpack", tampered))
