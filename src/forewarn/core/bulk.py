"""Plain multi-row INSERTs and UPDATEs for the few places that write many rows at once (the customer
import, broadcast planning), with every value prepared by its field as the ORM would (ADR 0007), and
``fetch`` for the reads of many rows that go with them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from itertools import chain
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.constants import OnConflict


class Rows:
    """Plain INSERTs and UPDATEs of one model's table, each value prepared for the database as the ORM would.

    ``bulk_create`` and ``bulk_update`` compile every value of every row through the ORM, which on a large
    import costs several times what the database does. Here the preparation is chosen once per column, and
    a value repeated down a column (the time stamp of a chunk, a date of birth) is prepared once. Values
    must already be of the field's Python type; ``pre_save`` hooks (``auto_now``) do not run, so such
    fields are refused.
    """

    PLAIN = frozenset(
        {
            "AutoField",
            "BigAutoField",
            "BigIntegerField",
            "BooleanField",
            "CharField",
            "FloatField",
            "ForeignKey",
            "IntegerField",
            "PositiveBigIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SlugField",
            "SmallIntegerField",
            "TextField",
        }
    )
    REPEATED = frozenset({"DateField", "DateTimeField", "TimeField"})

    def __init__(self, model: type[models.Model], names: Sequence[str], *, ignore_conflicts: bool = False):
        meta = model._meta
        self.fields: list[models.Field[Any, Any]] = []
        for name in names:
            f = meta.get_field(name)
            assert isinstance(f, models.Field), f
            assert not getattr(f, "auto_now", False), f
            self.fields.append(f)
        assert meta.pk is not None
        self.db = connections[DEFAULT_DB_ALIAS]
        # How each column that needs it is prepared, a whole column at a time.
        self._work: list[tuple[int, Callable[[Sequence[Any], Any], list[Any]]]] = []
        for at, f in enumerate(self.fields):
            kind = f.get_internal_type()
            if kind in self.REPEATED:
                self._work.append((at, _each_value_once(f.get_db_prep_save)))
            elif kind == "JSONField":
                self._work.append((at, _each_document_once(f.get_db_prep_save)))
            elif kind not in self.PLAIN:
                self._work.append((at, _every_value(f.get_db_prep_save)))
        ops = self.db.ops
        on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        table = ops.quote_name(meta.db_table)
        columns = [ops.quote_name(f.column) for f in self.fields]
        self.head = f"{ops.insert_statement(on_conflict=on_conflict)} {table} ({', '.join(columns)})"
        self.tail = ops.on_conflict_suffix_sql(self.fields, on_conflict, None, None)
        # Django's SQLite cursor turns each %s into ? with a regular expression over the whole statement,
        # which on a statement of thousands of parameters costs a good part of the insert itself; written
        # with ? already, the statement passes through as it is.
        mark = "?" if self.db.vendor == "sqlite" else "%s"
        self.placeholders = "(" + ", ".join([mark] * len(self.fields)) + ")"
        self.unnest: str | None = None
        if self.db.vendor == "postgresql":
            # Array types without their length (varchar[], not varchar(100)[]), as bulk_create does; the
            # arrays travel in binary (%b), which the driver builds much faster than quoted text.
            types = [str(f.db_type(self.db)).split("(")[0] for f in self.fields]
            arrays = ", ".join(f"(%b)::{db_type}[]" for db_type in types)
            self.unnest = f"{self.head} SELECT * FROM UNNEST({arrays}) {self.tail}"  # noqa: S608 - names only
        self.pk_column = f"{table}.{ops.quote_name(meta.pk.column)}"
        assignments = ", ".join(f"{c} = %s" for c in columns)
        # Names come from the model and every value is bound.
        self.update_sql = f"UPDATE {table} SET {assignments} WHERE {ops.quote_name(meta.pk.column)} = %s"  # noqa: S608 - names quoted by the backend; values are parameters

    def adapt(self, name: str, value: Any) -> Any:
        """One value as the database takes it, for a value that every row shares (pass ``prepared=True``)."""
        return next(f for f in self.fields if f.name == name).get_db_prep_save(value, self.db)

    def prepare(self, rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
        """Every value as the database takes it, column by column: a column of plain values (text,
        numbers, keys) is passed through, each distinct time stamp or JSON value is prepared once."""
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows or not self._work:
            return rows
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for at, prepare in self._work:
            columns[at] = prepare(columns[at], self.db)
        return list(zip(*columns, strict=True))

    def insert(self, rows: Iterable[Sequence[Any]], *, prepared: bool = False) -> None:
        """Insert with multi-row statements (fewer round trips than one statement per row)."""
        ready = list(rows) if prepared else self.prepare(rows)
        with self._cursor() as cursor:
            for sql, params, _count in self._statements(ready, returning=""):
                cursor.execute(sql, params)

    def insert_returning_pks(self, rows: Iterable[Sequence[Any]]) -> list[int]:
        """Insert as :meth:`insert` does; the new primary keys in the order of ``rows``.

        Keys come from a sequence (PostgreSQL) or the row id (SQLite), both handed out in the order the
        rows of one statement are inserted, so the sorted keys of a statement follow its rows whatever
        order RETURNING lists them in.
        """
        ready = self.prepare(rows)
        pks: list[int] = []
        with self._cursor() as cursor:
            for sql, params, count in self._statements(ready, returning=f" RETURNING {self.pk_column}"):
                cursor.execute(sql, params)
                returned = sorted(row[0] for row in cursor.fetchall())
                assert len(returned) == count
                pks.extend(returned)
        return pks

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """The driver's own cursor. On PostgreSQL it binds on the server and sends the column arrays in
        binary (Django's cursor quotes each value into the statement text, in Python); on SQLite it takes
        the statement with ``?`` as written (Django's cursor would rewrite it, and its query log, when on,
        cannot format ``?``)."""
        self.db.ensure_connection()
        if self.unnest is None:
            with self.db.wrap_database_errors, closing(self.db.connection.cursor()) as cursor:
                yield cursor
            return
        import psycopg  # noqa: PLC0415 - PostgreSQL only

        self.db.ensure_connection()
        with self.db.wrap_database_errors, psycopg.Cursor(self.db.connection) as cursor:
            yield cursor

    def _statements(
        self, rows: list[Sequence[Any]], *, returning: str
    ) -> Iterator[tuple[str, list[Any], int]]:
        """The statements that insert ``rows``, each with its parameters and how many rows it inserts."""
        if not rows:
            return
        if self.unnest is not None:
            # One statement with an array per column, as bulk_create does on PostgreSQL: the text stays
            # short whatever the number of rows, so neither the driver nor the planner work per value.
            yield f"{self.unnest}{returning}", [list(column) for column in zip(*rows, strict=True)], len(rows)
            return
        # Fewer, longer statements are faster. Django assumes SQLite's old limit of 999 parameters; the
        # library at hand says what it takes.
        limit = self.db.features.max_query_params or 65535
        if self.db.vendor == "sqlite":
            self.db.ensure_connection()
            limit = self.db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per_statement = max(1, min(500, limit // len(self.fields)))
        sql: dict[int, str] = {}
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            if len(part) not in sql:
                values = ", ".join([self.placeholders] * len(part))
                sql[len(part)] = f"{self.head} VALUES {values} {self.tail}{returning}"
            yield sql[len(part)], list(chain.from_iterable(part)), len(part)

    def update(self, rows: Iterable[Sequence[Any]]) -> None:
        """Set the columns of existing rows: each row is the values followed by the primary key."""
        prepared = self.prepare(rows)
        if prepared:
            with self.db.cursor() as cursor:
                cursor.executemany(self.update_sql, prepared)


Prepare = Callable[[Any, Any], Any]


def _every_value(prepare: Prepare) -> Callable[[Sequence[Any], Any], list[Any]]:
    def column(values: Sequence[Any], db: Any) -> list[Any]:
        return [prepare(value, db) for value in values]

    return column


def _each_value_once(prepare: Prepare) -> Callable[[Sequence[Any], Any], list[Any]]:
    """For a column whose values repeat (the time stamp of a chunk, a date of birth): each distinct
    value is prepared once."""

    def column(values: Sequence[Any], db: Any) -> list[Any]:
        seen: dict[Any, Any] = {}
        out = []
        for value in values:
            try:
                out.append(seen[value])
            except KeyError:
                seen[value] = result = prepare(value, db)
                out.append(result)
        return out

    return column


def _each_document_once(prepare: Prepare) -> Callable[[Sequence[Any], Any], list[Any]]:
    """For JSON, which rows often share (one context, one trail): each distinct value is encoded once.
    Text is told apart by value, anything else by identity, which is exact (True == 1, yet they are
    different JSON) and safe, because every value stays alive while its column is prepared. Callers
    whose rows hold equal documents as different objects can intern them (``planning`` does)."""

    def column(values: Sequence[Any], db: Any) -> list[Any]:
        seen: dict[Any, Any] = {}
        out = []
        for value in values:
            key = value if type(value) is str else id(value)
            try:
                result = seen[key]
            except KeyError:
                seen[key] = result = prepare(value, db)
            out.append(result)
        return out

    return column


# Columns whose converted values are immutable and repeat down a column (a few quiet-hour settings, the
# time stamp a batch was planned at, true and false): each distinct value is converted once.
SHARED_VALUES = frozenset({"BooleanField", "DateField", "DateTimeField", "TimeField"})


def fetch(queryset: models.QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query, converted as Django converts them (SQLite's time stamps,
    dates and booleans, JSON), in one round trip.

    Django converts each value of each row through a chain of converter calls; for the hundreds of
    thousands of rows a broadcast reads, that costs more than the query. Here a column of booleans,
    dates or times converts each distinct value once, and a column without converters is left alone.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    with compiler.connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = compiler.get_converters(fields)
    if not converters or not rows:
        return [tuple(row) for row in rows]
    columns = [list(column) for column in zip(*rows, strict=True)]
    connection = compiler.connection
    for at, (chain_of, expression) in converters.items():
        kind = expression.output_field.get_internal_type()
        memo: dict[Any, Any] | None = {} if kind in SHARED_VALUES else None
        column = columns[at]
        for i, value in enumerate(column):
            if memo is not None and value in memo:
                column[i] = memo[value]
                continue
            converted = value
            for converter in chain_of:
                converted = converter(converted, expression, connection)
            column[i] = converted
            if memo is not None:
                memo[value] = converted
    return list(zip(*columns, strict=True))
