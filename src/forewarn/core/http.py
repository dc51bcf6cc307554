"""What every app's HTTP API shares and that needs no app: the input document that must be an object, and
pages of a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ModelWrapValidatorHandler, model_validator
from pydantic_core import PydanticCustomError

MAX_PAGE = 500
T = TypeVar("T")


class InputSchema(Schema):
    """A document a client sends: it must be a JSON object.

    ninja's ``Schema`` also reads attributes of any object (to shape models on the way out), so without
    this a list or a number sent as a body would be read as "every field left at its default".
    """

    @model_validator(mode="wrap")
    @classmethod
    def _require_object(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(value, dict | cls):
            raise PydanticCustomError("dict_type", _("Send a JSON object."))
        return handler(value)


class Page(Schema, Generic[T]):
    items: list[T]
    count: int
    limit: int
    offset: int
    next_offset: int | None


def paginate(rows: QuerySet[Any], *, limit: int, offset: int, shape: Callable[[Any], T]) -> dict[str, Any]:
    """One page of ``rows`` with the total count; limits are clamped to 1..500."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    count = rows.count()
    items = [shape(row) for row in rows[offset : offset + limit]]
    next_offset = offset + limit if offset + limit < count else None
    return {
        "items": items,
        "count": count,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }
