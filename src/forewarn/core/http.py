"""What every app's HTTP API shares and that needs no app: the input document (an object with only the
fields it declares), and pages of a list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic_core import PydanticCustomError

from forewarn.core.errors import FieldError

MAX_PAGE = 500
T = TypeVar("T")


class InputSchema(Schema):
    """A document a client sends: it must be a JSON object, and hold only the fields it declares.

    ninja's ``Schema`` also reads attributes of any object (to shape models on the way out), so without
    this a list or a number sent as a body would be read as "every field left at its default". A field
    the document does not declare is refused (422, the field named) rather than ignored: a misspelt or
    guessed name (``"kind": "note"`` for ``"note": true``) would otherwise be a request that does
    something else than its sender meant, such as an internal note sent to the customer as an answer.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _require_object(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(value, dict | cls):
            raise PydanticCustomError("dict_type", _("Send a JSON object."))
        return handler(value)


def _schema_messages() -> dict[str, str]:
    """Pydantic words its messages in English only: the ones clients meet, in the reader's language."""
    whole, yes_no = _("Must be a whole number."), _("Must be true or false.")
    a_date, a_time = _("Must be a date (YYYY-MM-DD)."), _("Must be a time (HH:MM).")
    a_moment = _("Must be a date and time (ISO 8601, such as 2030-01-31T09:00:00+02:00).")
    an_object, a_number = _("Must be an object."), _("Must be a number.")
    return {
        "missing": _("This field is required."),
        "extra_forbidden": _(
            "Not a field of this document; the API's schema (/api/v1/docs) lists its fields."
        ),
        "string_type": _("Must be text."),
        "string_too_short": _("At least %(min_length)s characters."),
        "string_too_long": _("At most %(max_length)s characters."),
        "too_short": _("At least %(min_length)s items."),
        "too_long": _("At most %(max_length)s items."),
        "int_type": whole,
        "int_parsing": whole,
        "int_from_float": whole,
        "float_type": a_number,
        "float_parsing": a_number,
        "greater_than": _("Must be more than %(gt)s."),
        "greater_than_equal": _("Must be %(ge)s or more."),
        "less_than": _("Must be less than %(lt)s."),
        "less_than_equal": _("Must be %(le)s or less."),
        "bool_type": yes_no,
        "bool_parsing": yes_no,
        "list_type": _("Must be a list."),
        "dict_type": an_object,
        "model_type": an_object,
        "model_attributes_type": an_object,
        "literal_error": _("Must be one of %(expected)s."),
        "date_type": a_date,
        "date_parsing": a_date,
        "date_from_datetime_parsing": a_date,
        "date_from_datetime_inexact": a_date,
        "time_type": a_time,
        "time_parsing": a_time,
        "datetime_type": a_moment,
        "datetime_parsing": a_moment,
        "datetime_from_date_parsing": a_moment,
        "timezone_aware": _("Must include its offset from UTC (such as +02:00 or Z)."),
    }


def _schema_message(error: Mapping[str, Any], messages: dict[str, str]) -> str:
    template = messages.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", ""))
    context: dict[str, Any] = error.get("ctx", {})  # pydantic's ErrorDetails.ctx
    try:
        return template % context
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", ""))


def dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def schema_field_errors(
    errors: Iterable[Mapping[str, Any]], *, path: Callable[[Sequence[Any]], str] = dotted
) -> list[FieldError]:
    """Pydantic's errors as the one error shape's fields: each at its path, with pydantic's code and a
    message in the reader's language."""
    messages = _schema_messages()
    return [
        FieldError(path(e.get("loc", ())), str(e.get("type", "invalid")), _schema_message(e, messages))
        for e in errors
    ]


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
