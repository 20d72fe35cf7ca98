"""The statements that record posted journals, in SQL written once here: a journal's row, entries,
the accounts' new balances, and the head of the chama's chain of journals.

`finance.services.ledger.post_journal` calls them under the accounts' locks, once it has worked
out every balance and the guard has passed (inside `all_or_nothing()` the entries and balances of
all its journals are written together when the block ends). The statements are the ORM's own in
meaning (the same columns, values prepared by each field for the database in use, PostgreSQL or
SQLite); they are written out because a payment is mostly these writes and the ORM's compiling of
them cost more than the database's executing. Balances are set to the values computed under the
lock (not incremented), so no database adds money in floating point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from chama import rows
from finance.models import Account, Entry, Journal, LedgerChain

JOURNAL_FIELDS = [
    field
    for field in Journal._meta.concrete_fields
    if not field.primary_key  # the database numbers the journal
]
ENTRY_FIELDS = [field for field in Entry._meta.concrete_fields if not field.primary_key]


def _columns(model: type[Model], fields: Sequence[Field]) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"


def _values(row: Model, fields: Sequence[Field]) -> list[Any]:
    return [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]


def insert_journal(journal: Journal) -> None:
    """Insert `journal` (unsaved); its primary key and stamps are set here."""
    journal.created_date = journal.updated_date = timezone.now()
    one_row = f"({', '.join(['%s'] * len(JOURNAL_FIELDS))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_columns(Journal, JOURNAL_FIELDS)} VALUES {one_row} RETURNING id",
            _values(journal, JOURNAL_FIELDS),
        )
        journal.pk = cursor.fetchone()[0]
    journal._state.adding, journal._state.db = False, connection.alias


def entries_of(journal: Journal, *, deltas: Mapping[int, Decimal], after: Mapping[int, Decimal]) -> list[Entry]:
    """The journal's entries (unsaved), one per account of `deltas` ({account id: amount}), by account."""
    return [
        Entry(
            chama_id=journal.chama_id,
            journal_id=journal.pk,
            account_id=pk,
            amount=deltas[pk],
            balance_after=after[pk],
            created_date=journal.created_date,
            updated_date=journal.created_date,
        )
        for pk in sorted(deltas)
    ]


def insert_entries(entries: Sequence[Entry]) -> None:
    """Insert entries (of one journal or of many), in one statement."""
    row = f"({', '.join(['%s'] * len(ENTRY_FIELDS))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_columns(Entry, ENTRY_FIELDS)} VALUES {', '.join([row] * len(entries))}",
            [value for entry in entries for value in _values(entry, ENTRY_FIELDS)],
        )


def case_by_id(values: Mapping[int, Decimal], field: Field) -> tuple[str, list[Any]]:
    """(`CASE "id" WHEN … THEN … END`, its parameters): each row's value of `values` ({id: value}),
    prepared as `field` prepares it."""
    quote = connection.ops.quote_name
    cases = " ".join(["WHEN %s THEN %s"] * len(values))
    params = [item for pk, value in values.items() for item in (pk, field.get_db_prep_save(value, connection))]
    return f"CASE {quote('id')} {cases} END", params


def chama_rows(model: type[Model], chama_id: int, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """(a WHERE clause, its parameters) for the rows `ids` of `model`, and only the chama's:
    routable by chama."""
    return f"{rows.col(model, 'chama_id')} = %s AND {rows.col(model, 'id')} IN {rows.in_list(ids)}", [chama_id, *ids]


def set_balances(chama_id: int, after: Mapping[int, Decimal]) -> None:
    """Set the balance of each of the chama's accounts in `after` ({account id: balance}), in one
    statement. The caller holds their locks."""
    balance = Account._meta.get_field("balance")
    quote = connection.ops.quote_name
    new, new_params = case_by_id(after, balance)
    where, where_params = chama_rows(Account, chama_id, list(after))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Account._meta.db_table)} SET {quote(balance.column)} = {new} WHERE {where}",
            [*new_params, *where_params],
        )


def set_chain_head(chama_id: int, head: Sequence) -> None:
    """Move the chama's chain head to `head` ([position, hash]); the caller holds its lock."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(LedgerChain._meta.db_table)} SET {quote('position')} = %s, {quote('head_hash')} = %s "
            f"WHERE {rows.col(LedgerChain, 'chama_id')} = %s",
            [head[0], head[1], chama_id],
        )
