"""PostgreSQL keeps the ledger's rules itself, for whoever reaches the database without the
application: no journal or entry is ever updated or deleted, and a transaction cannot commit a
journal without entries or one whose entries do not add up to zero. The balance triggers are
deferred to the commit; `SET CONSTRAINTS ALL IMMEDIATE` runs them at that point of the test instead."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from chama.roles import Role
from finance.models import Account, Entry, Journal
from finance.services import dues, ledger
from tests.factories import ChamaFactory, joined

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the ledger's triggers are PostgreSQL's"),
    pytest.mark.django_db,
]


def check_now():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def refused_by_database(sql, params):
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)


@pytest.fixture
def paid():
    chama = ChamaFactory()
    treasurer = joined(chama, Role.TREASURER)
    journal = dues.payment_record(membership=joined(chama), amount=D("500"), method="cash", by=treasurer.user)
    return journal


def test_no_journal_or_entry_is_updated_or_deleted_even_in_sql(paid):
    entry = paid.entries.first()
    refused_by_database("UPDATE finance_journal SET amount = 5000 WHERE id = %s", [paid.pk])
    refused_by_database("DELETE FROM finance_journal WHERE id = %s", [paid.pk])
    refused_by_database("UPDATE finance_entry SET amount = 5000 WHERE id = %s", [entry.pk])
    refused_by_database("DELETE FROM finance_entry WHERE id = %s", [entry.pk])
    assert Entry.objects.filter(journal=paid).count() == 2
    check_now()  # the posting itself is balanced


def test_a_journal_must_balance_by_its_commit(paid):
    chama = paid.chama
    cash = ledger.chama_account(chama, Account.Purpose.CASH)
    with pytest.raises(IntegrityError, match="is unbalanced: its entries add up to 100.00"), transaction.atomic():
        lopsided = Journal.objects.create(chama=chama, kind="income", value_date=date(2026, 1, 5), amount=D("100"))
        Entry.objects.create(chama=chama, journal=lopsided, account=cash, amount=D("100"), balance_after=D("600"))
        check_now()


def test_a_journal_without_entries_is_refused_at_its_commit(paid):
    with pytest.raises(IntegrityError, match="has no entries"), transaction.atomic():
        Journal.objects.create(chama=paid.chama, kind="income", value_date=date(2026, 1, 5), amount=D("100"))
        check_now()
