"""The three statements that record a posted journal, in SQL written once here: the journal's row,
its entries, and the accounts' new balances.

`finance.services.ledger.post_journal` calls `write_journal` under the accounts' locks, once it
has worked out every balance and the guard has passed. The statements are the ORM's own in
meaning (the same columns, values prepared by each field for the database in use, PostgreSQL or
SQLite); they are written out because a payment is mostly these writes and the ORM's compiling of
them cost more than the database's executing. Balances are set to the values computed under the
lock (not incremented), so no database adds money in floating point.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from finance.models import Account, Entry, Journal

JOURNAL_FIELDS = [
    field
    for field in Journal._meta.concrete_fields
    if not field.primary_key  # the database numbers the journal
]
ENTRY_FIELDS = [field for field in Entry._meta.concrete_fields if not field.primary_key]


def _columns(model, fields) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"


def _values(row, fields) -> list:
    return [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]


def write_journal(journal: Journal, *, deltas: Mapping[int, Decimal], after: Mapping[int, Decimal]) -> None:
    """Insert `journal` (unsaved; its primary key is set here) and its entries, one per account of
    `deltas` ({account id: amount}), and set each account's balance to `after[id]`. The caller holds
    the accounts' locks, inside its own transaction."""
    now = timezone.now()
    journal.created_date = journal.updated_date = now
    one_row = f"({', '.join(['%s'] * len(JOURNAL_FIELDS))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_columns(Journal, JOURNAL_FIELDS)} VALUES {one_row} RETURNING id",
            _values(journal, JOURNAL_FIELDS),
        )
        journal.pk = cursor.fetchone()[0]
        journal._state.adding, journal._state.db = False, connection.alias

        entries = [
            Entry(
                chama_id=journal.chama_id,
                journal_id=journal.pk,
                account_id=pk,
                amount=deltas[pk],
                balance_after=after[pk],
                created_date=now,
                updated_date=now,
            )
            for pk in sorted(deltas)
        ]
        entry_row = f"({', '.join(['%s'] * len(ENTRY_FIELDS))})"
        cursor.execute(
            f"INSERT INTO {_columns(Entry, ENTRY_FIELDS)} VALUES {', '.join([entry_row] * len(entries))}",
            [value for entry in entries for value in _values(entry, ENTRY_FIELDS)],
        )

        balance = Account._meta.get_field("balance")
        quote = connection.ops.quote_name
        cases = " ".join(["WHEN %s THEN %s"] * len(after))
        cursor.execute(
            f"UPDATE {quote(Account._meta.db_table)} SET {quote(balance.column)} = CASE {quote('id')} {cases} END "
            f"WHERE {quote('id')} IN ({', '.join(['%s'] * len(after))})",
            [
                *(value for pk, new in after.items() for value in (pk, balance.get_db_prep_save(new, connection))),
                *after,
            ],
        )
