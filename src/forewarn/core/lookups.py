"""``field__among=values``: membership in a long list of keys or codes, bound as one parameter.

``field__in=values`` prepares, resolves and binds every value on its own: for the thousands of keys a
broadcast chunk asks about, Django's per-value work costs more than the query. ``among`` sends the list
as one value (a PostgreSQL array, a JSON array that SQLite's ``json_each`` unpacks), which both databases
plan as ``in``: a search of the column's index for each value. Integer columns (keys, foreign keys) take
integers; text columns take strings.

Pass the values as ``Keys(ids)``: Django walks any iterable value by value before a lookup sees it
(looking for expressions in a list or a tuple, for model instances of the wrong kind in anything a
foreign key is compared with), which for thousands of keys costs more than the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Lookup

INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


class Keys:
    """Values for ``among``, which Django hands to the lookup as they are (it is not iterable)."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[Any]):
        self.values = list(values)

    def __repr__(self) -> str:
        return f"Keys({len(self.values)} values)"


class Among(Lookup[Any]):
    lookup_name = "among"
    prepare_rhs = False

    @property
    def integers(self) -> bool:
        field = self.lhs.output_field
        if isinstance(field, models.ForeignKey):
            field = field.target_field
        return field.get_internal_type() in INTEGER_TYPES

    def get_prep_lookup(self) -> list[Any]:
        # Every value is checked and made plain (int("7") is refused below, as a bool or a str is).
        kind = int if self.integers else str
        values = self.rhs.values if isinstance(self.rhs, Keys) else list(self.rhs)
        for value in values:
            if type(value) is not kind:
                raise TypeError(f"among takes {kind.__name__} values, not {value!r}")
        return values

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            array = "bigint[]" if self.integers else "text[]"
            return f"{lhs} = ANY(%s::{array})", [*params, self.rhs]
        # The left side is a column the compiler quoted; the values are bound.
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self.rhs)]  # noqa: S608 - Django's own compiled SQL; values are parameters


def register() -> None:
    """Make ``among`` available on every column (``Field``) and on foreign keys."""
    models.Field.register_lookup(Among)
    models.ForeignKey.register_lookup(Among)
