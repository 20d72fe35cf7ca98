"""Reads on the posting path in SQL written once: the locks a payment takes and the rows it reads.

A payment is a handful of short statements, and the ORM's building and compiling of each query
cost several times the database's executing it. These helpers write the SELECT out (the model's
own table and columns, values converted as the ORM converts them for the database in use,
PostgreSQL or SQLite) and build instances with `Model.from_db`, as a queryset would.

The lock clause is PostgreSQL's (`FOR UPDATE` or `FOR NO KEY UPDATE OF` the model's own table, in
primary key order, as `chama.locking` documents); on a database without row locks (SQLite, one
writer at a time) it is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, Model

_M = TypeVar("_M", bound=Model)

UPDATE = "UPDATE"
NO_KEY_UPDATE = "NO KEY UPDATE"

Converter = Callable[[Any, Any, Any], Any]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def col(model: type[Model], column: str) -> str:
    """`"table"."column"` of `model` (qualified, as the ORM writes it)."""
    return f"{quote(model._meta.db_table)}.{quote(column)}"


def in_list(values: Sequence[Any]) -> str:
    """`(%s, %s, …)` for `values` (at least one)."""
    return f"({', '.join(['%s'] * len(values))})"


def _converters(field: Field) -> tuple[Any, list[Converter]]:
    """(the column expression, what the ORM applies to a value of `field` read from the current
    connection's database): converters are called with the value, that expression and the connection."""
    column = field.get_col(field.model._meta.db_table)
    return column, [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]


def _convert(values: list[Any], converters: Sequence[tuple[Any, list[Converter]]]) -> list[Any]:
    for index, (column, field_converters) in enumerate(converters):
        for convert in field_converters:
            values[index] = convert(values[index], column, connection)
    return values


def columns(model: type[Model], fields: Sequence[Field] | None = None) -> str:
    """`"table"."column", …` of `fields` (default: every concrete field of `model`)."""
    table = quote(model._meta.db_table)
    return ", ".join(f"{table}.{quote(field.column)}" for field in fields or model._meta.concrete_fields)


def lock_clause(model: type[Model], lock: str | None) -> str:
    """` FOR [NO KEY] UPDATE OF "table"`, or nothing where the database has no row locks."""
    if lock is None or not connection.features.has_select_for_update:
        return ""
    return f" FOR {lock} OF {quote(model._meta.db_table)}"


class Reader:
    """Turns a result row's columns (`columns(model)`, in order) into an instance of `model`."""

    def __init__(self, model: type[_M]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.converters = [_converters(field) for field in self.fields]

    def build(self, values: Sequence[Any]) -> _M:
        return self.model.from_db(connection.alias, self.attnames, _convert(list(values), self.converters))


@cache
def _reader(model: type[_M], vendor: str) -> Reader:
    return Reader(model)


def reader(model: type[_M]) -> Reader:
    """The model's `Reader` for the database in use (its converters depend only on the backend and
    the settings, so one is kept per model and backend)."""
    return _reader(model, connection.vendor)


def _select(model: type[Model], fields: Sequence[Field], where: str, params: Sequence[Any], lock: str | None) -> list:
    """The rows of `fields` of `model` matching `where`, in primary key order, locked when `lock` says."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(model, fields)} FROM {quote(model._meta.db_table)} WHERE {where} "
            f"ORDER BY {col(model, model._meta.pk.column)}{lock_clause(model, lock)}",
            list(params),
        )
        return cursor.fetchall()


def fetch(model: type[_M], where: str, params: Sequence[Any], *, lock: str | None = None) -> list[_M]:
    """Instances of `model` whose rows match `where`, in primary key order, locked when `lock` says."""
    model_reader = reader(model)
    return [model_reader.build(row) for row in _select(model, model_reader.fields, where, params, lock)]


def fetch_values(
    model: type[Model], names: Sequence[str], where: str, params: Sequence[Any], *, lock: str | None = None
) -> list[tuple[Any, ...]]:
    """The fields `names` of `model`'s rows matching `where` (tuples, converted as the ORM would),
    in primary key order, locked when `lock` says."""
    fields = [model._meta.get_field(name) for name in names]
    converters = [_converters(field) for field in fields]
    rows = _select(model, fields, where, params, lock)
    if not any(field_converters for _, field_converters in converters):
        return [tuple(row) for row in rows]
    return [tuple(_convert(list(row), converters)) for row in rows]
