"""finance_account keeps room in its pages so that the balance a posting rewrites is updated in
place (PostgreSQL's HOT updates: no index is touched), and the entries' journal index carries the
amount so that reconcile checks every journal from the index alone."""

import pytest
from django.db import connection

from tests.helpers import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


def test_the_account_table_keeps_room_for_new_balances():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'finance_account'")
        (options,) = cursor.fetchone()
    assert "fillfactor=70" in options


def test_no_index_of_the_account_table_holds_the_balance():
    # An index on `balance` would make every balance update touch every index again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'finance_account'")
        definitions = [definition for (definition,) in cursor.fetchall()]
    assert definitions and not [definition for definition in definitions if "balance" in definition]


def test_the_entries_journal_index_carries_the_amount():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'entry_journal_amount'")
        (definition,) = cursor.fetchone()
    assert "(journal_id) INCLUDE (amount)" in definition
